//! # RONN
//!
//! Runs ONNX models, fast. Load a [`Model`], make a [`Session`] with
//! [`SessionOptions`], and [`Session::run`] it on [`Tensor`]s by input name.
//!
//! ```
//! use ronn::{Model, SessionOptions, OptimizationLevel, Tensor};
//!
//! // A one-node model, Y = Relu(X), built in memory (usually: Model::load("model.onnx")).
//! use ronn::builder::ModelBuilder;
//! let n = || ronn::Dim::Symbolic("N".into());
//! let bytes = ModelBuilder::new(17)
//!     .input("X", ronn::DType::Float32, &[n(), ronn::Dim::Known(4)])
//!     .output("Y", ronn::DType::Float32, &[n(), ronn::Dim::Known(4)])
//!     .node("Relu", &["X"], &["Y"], vec![])
//!     .build();
//! let model = Model::from_bytes(&bytes)?;
//! assert_eq!(model.inputs()[0].name, "X");
//! let session = model.create_session(SessionOptions {
//!     optimization_level: OptimizationLevel::O3,
//!     num_threads: 1,
//!     ..Default::default()
//! })?;
//! let x = Tensor::from_vec(vec![1, 4], vec![-1.0f32, 2.0, -3.0, 4.0])?;
//! let out = session.run([("X", x)])?;
//! assert_eq!(out.tensor("Y")?.as_slice::<f32>()?, &[0.0, 2.0, 0.0, 4.0]);
//! # Ok::<(), ronn::Error>(())
//! ```
#![warn(missing_docs)]

pub use ronn_core::pool::{global_pool, MemoryPool, PoolConfig, PoolStats};
pub use ronn_core::{bf16, f16, DType, Element, Error, ErrorCode, Result, Tensor, TensorData, Value};
pub use ronn_core::{ProfileCategory, ProfileConfig, ProfileEvent, ProfileReport, ProfileScope, Profiler};
pub use ronn_ir::{Dim, ValueType};
pub use ronn_runtime::supported_ops;
#[cfg(feature = "async")]
pub use ronn_runtime::{AsyncSession, RunFuture};
pub use ronn_runtime::{
    BatchConfig, BatchProcessor, BatchStats, BatchStrategy, BatchTicket, CancelToken, CloseMode, MemoryPoolOption,
    Model, OpSupport, OptimizationLevel, Outputs, ProviderType, RunOptions, Session, SessionOptions, TensorInfo,
};

/// Reading and writing values as serialized ONNX protos (the backend-test `.pb` layout).
pub mod proto {
    pub use ronn_onnx::{decode_value, encode_value};
}

/// Building small ONNX models in memory (tests, examples).
pub mod builder {
    pub use ronn_ir::Attribute;
    pub use ronn_onnx::builder::ModelBuilder;
}
