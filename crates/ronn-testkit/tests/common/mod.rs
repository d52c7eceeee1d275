//! Small models shared by the batching and async tests.
#![allow(dead_code)]

use ronn::builder::{Attribute, ModelBuilder};
use ronn::{DType, Dim, Model, Session, SessionOptions, Tensor};
use std::sync::Arc;

fn sym(s: &str) -> Dim {
    Dim::Symbolic(s.into())
}

/// Y = X * 2 + 1 over X float32 [batch, F] (F symbolic too, so requests of
/// different widths can be sent and must never be mixed).
pub fn affine() -> Model {
    let two = Tensor::scalar(2.0f32);
    let one = Tensor::scalar(1.0f32);
    let bytes = ModelBuilder::new(17)
        .input("X", DType::Float32, &[sym("batch"), sym("F")])
        .output("Y", DType::Float32, &[sym("batch"), sym("F")])
        .initializer("two", &two)
        .initializer("one", &one)
        .node("Mul", &["X", "two"], &["T"], vec![])
        .node("Add", &["T", "one"], &["Y"], vec![])
        .build();
    Model::from_bytes(&bytes).unwrap()
}

/// The expected output of [`affine`].
pub fn affine_expected(x: &[f32]) -> Vec<f32> {
    x.iter().map(|v| v * 2.0 + 1.0).collect()
}

/// Y = X * 2 + 1 and Z = X·W·W·…·W (`depth` MatMuls, W [width, width]): a model
/// slow enough per row for queues to fill, whose Y still checks each request.
pub fn slow(width: usize, depth: usize) -> Model {
    let w: Vec<f32> = (0..width * width).map(|i| ((i % 7) as f32 - 3.0) / width as f32).collect();
    let w = Tensor::from_vec(vec![width, width], w).unwrap();
    let mut b = ModelBuilder::new(17)
        .input("X", DType::Float32, &[sym("batch"), Dim::Known(width)])
        .output("Y", DType::Float32, &[sym("batch"), Dim::Known(width)])
        .output("Z", DType::Float32, &[sym("batch"), Dim::Known(width)])
        .initializer("two", &Tensor::scalar(2.0f32))
        .initializer("one", &Tensor::scalar(1.0f32))
        .initializer("W", &w)
        .node("Mul", &["X", "two"], &["T"], vec![])
        .node("Add", &["T", "one"], &["Y"], vec![]);
    let mut prev = "X".to_string();
    for k in 0..depth {
        let out = if k + 1 == depth { "Z".to_string() } else { format!("M{k}") };
        b = b.node("MatMul", &[&prev, "W"], &[&out], vec![]);
        prev = out;
    }
    Model::from_bytes(&b.build()).unwrap()
}

/// Y = ReduceSum(X, axis 0, keepdims): an output that is not batch-major.
pub fn reduce_over_batch() -> Model {
    let axes = Tensor::from_vec(vec![1], vec![0i64]).unwrap();
    let bytes = ModelBuilder::new(17)
        .input("X", DType::Float32, &[sym("batch"), Dim::Known(4)])
        .output("Y", DType::Float32, &[Dim::Known(1), Dim::Known(4)])
        .initializer("axes", &axes)
        .node("ReduceSum", &["X", "axes"], &["Y"], vec![("keepdims", Attribute::Int(1))])
        .build();
    Model::from_bytes(&bytes).unwrap()
}

/// Y = Relu(X) over a fixed [2, 4] input: no batch axis.
pub fn fixed_batch() -> Model {
    let bytes = ModelBuilder::new(17)
        .input("X", DType::Float32, &[Dim::Known(2), Dim::Known(4)])
        .output("Y", DType::Float32, &[Dim::Known(2), Dim::Known(4)])
        .node("Relu", &["X"], &["Y"], vec![])
        .build();
    Model::from_bytes(&bytes).unwrap()
}

/// A shared session with `threads` threads.
pub fn session(m: &Model, threads: usize) -> Arc<Session> {
    Arc::new(m.create_session(SessionOptions { num_threads: threads, ..Default::default() }).unwrap())
}

/// `rows` rows of width `f` whose values identify `id` (row r, column c).
pub fn rows_for(id: usize, rows: usize, f: usize) -> Vec<f32> {
    (0..rows * f).map(|i| id as f32 * 1000.0 + i as f32).collect()
}
