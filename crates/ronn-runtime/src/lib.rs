//! RONN's runtime: a [`Model`] is a loaded, validated ONNX file; a [`Session`] is
//! that model optimized and planned once for a provider and a thread count, then
//! run many times — concurrently from many threads if you like.
#![forbid(unsafe_code)]

mod model;
mod options;
mod plan;
mod session;

pub use model::{Model, TensorInfo};
pub use options::{MemoryPoolOption, OptimizationLevel, ProviderType, SessionOptions};
pub use session::{Outputs, Session};
