//! Hot loops on plain slices, with no knowledge of graphs: GEMM over faer's
//! `gemm` crate ([`gemm`]), N-d convolution / transposed convolution with a
//! fusable activation epilogue ([`conv`]).

pub mod conv;
pub mod gemm;
pub mod qgemm;
pub mod rows;
pub mod winograd;

pub use conv::{conv as conv_nd, conv_fused, conv_transpose, Activation, ConvGeom};
pub use gemm::{gemm as gemm_mat, matmul, Mat, Scalar};
pub use winograd::Winograd;
