//! RONN's runtime: a [`Model`] is a loaded, validated ONNX file; a [`Session`] is
//! that model optimized and planned once for a provider and a thread count, then
//! run many times — concurrently from many threads if you like, asynchronously
//! ([`AsyncSession`], feature `async`) or batched ([`BatchProcessor`]).
#![forbid(unsafe_code)]

#[cfg(feature = "async")]
mod async_session;
mod batch;
mod completion;
mod model;
mod options;
mod plan;
mod run_options;
mod session;

#[cfg(feature = "async")]
pub use async_session::{AsyncSession, RunFuture};
pub use batch::{BatchConfig, BatchProcessor, BatchStats, BatchStrategy, BatchTicket, CloseMode, WAIT_WINDOW};
pub use model::{supported_ops, Model, OpSupport, TensorInfo};
pub use options::{MemoryPoolOption, OptimizationLevel, ProviderType, SessionOptions};
pub use run_options::{CancelToken, RunOptions};
pub use session::{Outputs, Session};
