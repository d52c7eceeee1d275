//! RONN's CPU provider. One file per operator family; each file has a
//! `register(&mut KernelRegistry)` beside the kernels it registers.
//!
//! [`registry()`] collects them all.
#![forbid(unsafe_code)]

pub mod helpers;
#[doc(hidden)]
pub mod testing;

pub mod activation;
pub mod attention;
pub mod cast;
pub mod col2im;
pub mod contrib;
pub mod control;
pub mod conv;
pub mod deform;
pub mod einsum;
pub mod elementwise;
pub mod generator;
pub mod glu;
pub mod indexing;
pub mod kvcache;
pub mod linalg;
pub mod logic;
pub mod loss;
pub mod math;
pub mod matmul;
pub mod ml;
pub mod nms;
pub mod normalization;
pub mod pad;
pub mod pool;
pub mod qmatmul;
pub mod quantize;
pub mod reduction;
pub mod resize;
pub mod rnn;
pub mod roi;
pub mod rotary;
pub mod sampling;
pub mod sequence;
pub mod shape;
pub mod signal;
pub mod softmax;
pub mod strings;
pub mod topk;
pub mod training;
pub mod transpose;

use ronn_ir::KernelRegistry;

/// Every operator the CPU provider implements.
pub fn registry() -> KernelRegistry {
    let mut r = KernelRegistry::new();
    elementwise::register(&mut r);
    math::register(&mut r);
    activation::register(&mut r);
    logic::register(&mut r);
    loss::register(&mut r);
    attention::register(&mut r);
    cast::register(&mut r);
    shape::register(&mut r);
    indexing::register(&mut r);
    pad::register(&mut r);
    transpose::register(&mut r);
    generator::register(&mut r);
    matmul::register(&mut r);
    qmatmul::register(&mut r);
    conv::register(&mut r);
    pool::register(&mut r);
    quantize::register(&mut r);
    nms::register(&mut r);
    normalization::register(&mut r);
    softmax::register(&mut r);
    reduction::register(&mut r);
    topk::register(&mut r);
    einsum::register(&mut r);
    resize::register(&mut r);
    rnn::register(&mut r);
    rotary::register(&mut r);
    contrib::register(&mut r);
    control::register(&mut r);
    sequence::register(&mut r);
    col2im::register(&mut r);
    deform::register(&mut r);
    roi::register(&mut r);
    sampling::register(&mut r);
    signal::register(&mut r);
    glu::register(&mut r);
    kvcache::register(&mut r);
    linalg::register(&mut r);
    ml::register(&mut r);
    strings::register(&mut r);
    training::register(&mut r);
    r
}
