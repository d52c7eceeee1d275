//! `ronn._ronn`: RONN's native Python module, written over the C ABI (ronn-sys)
//! so that `include/ronn/ronn.h` stays the one contract every SDK exercises.
//! The pure-Python package `ronn` (sdk/python) builds the public API on it.
//!
//! - `error`: the `RonnError` hierarchy, one class per `ronn_status`;
//! - `dtype`: numpy <-> ONNX element types;
//! - `tensor`: zero-copy inputs, outputs as arrays that own their tensor;
//! - `run`: one run's steps (shared by the blocking, async and batch paths);
//! - `asyncrun`: completion callbacks handed to asyncio / concurrent futures;
//! - `session`, `memory_pool`, `batch`, `profiler`: the handles.
#![warn(missing_docs)]

use std::ffi::CStr;

use pyo3::prelude::*;
use ronn_sys as sys;

mod asyncrun;
mod batch;
mod dtype;
mod error;
mod memory_pool;
mod profiler;
mod run;
mod session;
mod tensor;

/// A raw pointer moved into code that runs with the GIL released.
pub(crate) struct SendPtr<T>(pub *const T);
// SAFETY: used only for RONN handles and buffers that the caller keeps alive
// across the detached call; RONN documents those functions as thread-safe.
unsafe impl<T> Send for SendPtr<T> {}

/// The library version ("0.1.0"), from `ronn_version()`.
#[pyfunction]
fn version() -> String {
    // SAFETY: ronn_version returns a static NUL-terminated string.
    let p = unsafe { sys::ronn_version() };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL, static, NUL-terminated.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The ABI version of the linked library (`ronn_api_version()`).
#[pyfunction]
fn api_version() -> u32 {
    // SAFETY: no arguments, thread-safe.
    unsafe { sys::ronn_api_version() }
}

/// The number of live RONN handles in the process (a leak diagnostic).
#[pyfunction]
fn live_handle_count(py: Python<'_>) -> PyResult<usize> {
    let mut n = 0usize;
    // SAFETY: valid out-pointer.
    error::check_py(py, unsafe { sys::ronn_live_handle_count(&mut n) })?;
    Ok(n)
}

/// The name of a status number ("NOT_FOUND").
#[pyfunction]
fn status_name(status: u32) -> String {
    error::status_name(status)
}

#[pymodule]
fn _ronn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Refuse a library older than the header these bindings were built from.
    if api_version() < sys::RONN_API_VERSION {
        return Err(pyo3::exceptions::PyImportError::new_err(format!(
            "libronn ABI {} is older than the bindings' {}",
            api_version(),
            sys::RONN_API_VERSION
        )));
    }
    m.add("API_VERSION", sys::RONN_API_VERSION)?;
    m.add("__version__", version())?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(api_version, m)?)?;
    m.add_function(wrap_pyfunction!(live_handle_count, m)?)?;
    m.add_function(wrap_pyfunction!(status_name, m)?)?;
    error::register(m)?;
    m.add_class::<session::Session>()?;
    m.add_class::<session::ValueInfo>()?;
    m.add_class::<memory_pool::MemoryPool>()?;
    m.add_class::<tensor::TensorOwner>()?;
    m.add_class::<asyncrun::Request>()?;
    m.add_class::<batch::BatchQueue>()?;
    m.add_class::<profiler::Profiler>()?;
    m.add_class::<profiler::RunOptions>()?;
    Ok(())
}
