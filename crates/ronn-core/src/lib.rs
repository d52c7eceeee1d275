//! RONN's foundation: [`Tensor`] and [`DType`] for every ONNX element type, the
//! [`Value`] that flows between operators (tensor, sequence or optional), and the
//! one [`Error`] type whose [`ErrorCode`]s every SDK maps to its own idiom.
//!
//! [`simd`] detects the CPU's SIMD features once and dispatches a few f32 slice
//! primitives (dot, add, ReLU) to the widest path at run time.
//!
//! Nothing here knows about graphs, ONNX files or kernels.

pub mod dtype;
pub mod error;
pub mod lowp;
pub mod pool;
pub mod profiling;
pub mod shape;
pub mod simd;
pub mod tensor;
pub mod value;

pub use dtype::{DType, Element};
pub use error::{Error, ErrorCode, Result};
pub use half::{bf16, f16};
pub use pool::{global_pool, MemoryPool, PoolConfig, PoolStats};
pub use profiling::{ProfileCategory, ProfileConfig, ProfileEvent, ProfileReport, ProfileScope, Profiler};
pub use shape::{broadcast_shapes, normalize_axis, strides_of};
pub use tensor::{Storage, Tensor, TensorData};
pub use value::Value;
