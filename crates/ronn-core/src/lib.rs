//! RONN's foundation: [`Tensor`] and [`DType`] for every ONNX element type, the
//! [`Value`] that flows between operators (tensor, sequence or optional), and the
//! one [`Error`] type whose [`ErrorCode`]s every SDK maps to its own idiom.
//!
//! Nothing here knows about graphs, ONNX files or kernels.

pub mod dtype;
pub mod error;
pub mod profiling;
pub mod shape;
pub mod tensor;
pub mod value;

pub use dtype::{DType, Element};
pub use error::{Error, ErrorCode, Result};
pub use half::{bf16, f16};
pub use profiling::{ProfileCategory, ProfileConfig, ProfileEvent, ProfileReport, ProfileScope, Profiler};
pub use shape::{broadcast_shapes, normalize_axis, strides_of};
pub use tensor::{Storage, Tensor, TensorData};
pub use value::Value;
