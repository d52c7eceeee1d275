//! RONN's C ABI (`include/ronn/ronn.h` is generated from this crate by cbindgen).
//!
//! Conventions (see `C_ABI.md`): every fallible function returns a
//! [`ronn_status`]; out-parameters come last and are written only on success;
//! handles are opaque values checked in a generation-counted registry
//! ([`handle`]), so NULL, freed and wrong-type handles are answered with
//! `RONN_STATUS_INVALID_HANDLE` (or `NULL_POINTER`) and never dereferenced;
//! every function runs inside a panic boundary ([`error::boundary`]).
//! One file per handle type: `env.rs`, `session_options.rs`, `session.rs`,
//! `run_options.rs`, `tensor.rs`, `request.rs` (async runs), `batch_queue.rs`,
//! `memory_pool.rs`, `profiler.rs`; `completion.rs` is the callback contract and
//! its thread, `buffer.rs` the owned bytes RONN hands out.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]
// The exported functions take raw pointers from C by design: each checks them for
// NULL (and handles through the registry) before use, and states the caller's
// obligations in its doc comment, which is the contract C sees.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

#[cfg(not(target_pointer_width = "64"))]
compile_error!("ronn-capi encodes handles as 64-bit values");

pub mod batch_queue;
pub mod buffer;
pub mod completion;
pub mod env;
pub mod error;
pub mod handle;
pub mod memory_pool;
pub mod profiler;
pub mod request;
pub mod run_options;
pub mod session;
pub mod session_options;
pub mod tensor;
pub mod version;

pub use error::ronn_status;
