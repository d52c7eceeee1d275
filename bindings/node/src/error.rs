//! RONN's statuses as JS errors: every failure becomes an `Error` whose `code`
//! is the status name ("NOT_FOUND", "TYPE_MISMATCH", ...) and whose message is
//! RONN's detail. napi-rs sets `code` from the error's status string, so the
//! status type here is a `String`.
use std::ffi::CStr;

use ronn_sys as sys;

/// A napi result whose error carries a RONN status name as its `code`.
pub type Result<T> = napi::Result<T, String>;

/// The static name of a status ("OK", "NOT_FOUND", ...).
pub fn status_name(status: u32) -> String {
    // SAFETY: ronn_status_str returns a static NUL-terminated string for any value
    // (NULL is checked anyway).
    let p = unsafe { sys::ronn_status_str(status) };
    if p.is_null() {
        return "UNKNOWN".to_owned();
    }
    // SAFETY: non-NULL, static and NUL-terminated (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// The calling thread's last RONN error message (copied at once: it is valid
/// only until this thread's next RONN call).
pub fn last_message() -> String {
    // SAFETY: ronn_last_error_message returns a NUL-terminated thread-local string
    // or NULL (checked).
    let p = unsafe { sys::ronn_last_error_message() };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-NULL and NUL-terminated (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// An error with this status and message.
pub fn failure(status: u32, message: impl Into<String>) -> napi::Error<String> {
    napi::Error::new(status_name(status), message.into())
}

/// An INVALID_ARGUMENT raised by the bindings themselves.
pub fn invalid_argument(message: impl Into<String>) -> napi::Error<String> {
    failure(sys::RONN_STATUS_INVALID_ARGUMENT, message)
}

/// Checks a status right after the C call that returned it.
pub fn check(status: sys::ronn_status) -> Result<()> {
    if status == sys::RONN_STATUS_OK {
        return Ok(());
    }
    Err(failure(status, last_message()))
}
