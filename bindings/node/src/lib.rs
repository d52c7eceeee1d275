//! The native addon `ronn.node`: RONN's C ABI (through `ronn-sys`) for Node.js.
//!
//! This layer is deliberately thin; `sdk/node/index.js` builds the public API
//! (`Model`, `InferenceSession`, `Tensor`) on it. What lives here:
//! - [`session::NativeSession`]: one `ronn_session`, its input/output metadata;
//! - [`run`]: `run()` submits with `ronn_session_run_async` and settles a
//!   Promise from RONN's completion thread through a napi deferred (a
//!   threadsafe function), so nothing computes on the JS thread or the libuv pool;
//! - [`error`]: statuses as JS `Error`s whose `code` is the status name.
use std::ffi::CStr;

use napi_derive::napi;
use ronn_sys as sys;

pub mod error;
pub mod run;
pub mod session;

/// The library version ("0.1.0"), from `ronn_version()`.
#[napi]
pub fn version() -> String {
    // SAFETY: ronn_version returns a static NUL-terminated string (or NULL, checked).
    let p = unsafe { sys::ronn_version() };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL, static and NUL-terminated (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The ABI version of the linked library (`ronn_api_version()`).
#[napi]
pub fn api_version() -> u32 {
    // SAFETY: no arguments; always safe to call.
    unsafe { sys::ronn_api_version() }
}

/// The ABI version of the header these bindings were written against.
#[napi]
pub fn header_api_version() -> u32 {
    sys::RONN_API_VERSION
}

/// Live RONN handles in this process (sessions, tensors, requests ...): lets
/// tests check that runs leak nothing.
#[napi]
pub fn live_handle_count() -> error::Result<u32> {
    let mut n = 0usize;
    // SAFETY: `n` is a valid out-pointer for the call.
    error::check(unsafe { sys::ronn_live_handle_count(&mut n) })?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
