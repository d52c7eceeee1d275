//! Hot loops on plain slices, with no knowledge of graphs: GEMM with pre-packed
//! operands, and the vectorized math the CPU provider's kernels call.

pub mod gemm;
