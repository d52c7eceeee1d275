//! Status codes, the thread-local last error message and the panic boundary.

use crate::handle;
use ronn::{Error, ErrorCode};
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The result of every fallible RONN call. Values mirror `ronn_core::ErrorCode`
/// and are only ever appended. Returned as a `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ronn_status {
    /// Success.
    RONN_STATUS_OK = 0,
    /// An argument is out of range or malformed.
    RONN_STATUS_INVALID_ARGUMENT = 1,
    /// A required pointer argument is NULL.
    RONN_STATUS_NULL_POINTER = 2,
    /// A name (input, output, key) does not exist.
    RONN_STATUS_NOT_FOUND = 3,
    /// The model cannot be parsed or is inconsistent.
    RONN_STATUS_INVALID_MODEL = 4,
    /// An operator (or provider) is not supported by this build.
    RONN_STATUS_UNSUPPORTED_OP = 5,
    /// A shape does not match.
    RONN_STATUS_SHAPE_MISMATCH = 6,
    /// An element type does not match.
    RONN_STATUS_TYPE_MISMATCH = 7,
    /// An allocation failed or a limit was reached.
    RONN_STATUS_OUT_OF_MEMORY = 8,
    /// A device (GPU) failed.
    RONN_STATUS_DEVICE_ERROR = 9,
    /// The work was cancelled.
    RONN_STATUS_CANCELLED = 10,
    /// A wait timed out.
    RONN_STATUS_TIMEOUT = 11,
    /// A queue is full.
    RONN_STATUS_QUEUE_FULL = 12,
    /// The object is shutting down.
    RONN_STATUS_SHUTTING_DOWN = 13,
    /// The handle saw a panic earlier and refuses further use.
    RONN_STATUS_POISONED = 14,
    /// A panic was caught at the boundary; the message says where.
    RONN_STATUS_PANIC = 15,
    /// A bug in RONN.
    RONN_STATUS_INTERNAL = 16,
    /// A file could not be read or written.
    RONN_STATUS_IO = 17,
    /// A handle is freed, of the wrong type, or not a RONN handle (C ABI only).
    RONN_STATUS_INVALID_HANDLE = 18,
}

use ronn_status::*;

impl From<ErrorCode> for ronn_status {
    fn from(c: ErrorCode) -> ronn_status {
        match c {
            ErrorCode::InvalidArgument => RONN_STATUS_INVALID_ARGUMENT,
            ErrorCode::NullPointer => RONN_STATUS_NULL_POINTER,
            ErrorCode::NotFound => RONN_STATUS_NOT_FOUND,
            ErrorCode::InvalidModel => RONN_STATUS_INVALID_MODEL,
            ErrorCode::UnsupportedOp => RONN_STATUS_UNSUPPORTED_OP,
            ErrorCode::ShapeMismatch => RONN_STATUS_SHAPE_MISMATCH,
            ErrorCode::TypeMismatch => RONN_STATUS_TYPE_MISMATCH,
            ErrorCode::OutOfMemory => RONN_STATUS_OUT_OF_MEMORY,
            ErrorCode::DeviceError => RONN_STATUS_DEVICE_ERROR,
            ErrorCode::Cancelled => RONN_STATUS_CANCELLED,
            ErrorCode::Timeout => RONN_STATUS_TIMEOUT,
            ErrorCode::QueueFull => RONN_STATUS_QUEUE_FULL,
            ErrorCode::ShuttingDown => RONN_STATUS_SHUTTING_DOWN,
            ErrorCode::Poisoned => RONN_STATUS_POISONED,
            ErrorCode::Panic => RONN_STATUS_PANIC,
            ErrorCode::Internal => RONN_STATUS_INTERNAL,
            ErrorCode::Io => RONN_STATUS_IO,
            #[allow(unreachable_patterns)]
            _ => RONN_STATUS_INTERNAL,
        }
    }
}

/// An error at the boundary: a status and its message.
#[derive(Debug)]
pub struct CError {
    /// The status returned to C.
    pub status: ronn_status,
    /// The message `ronn_last_error_message` gives.
    pub message: String,
}

impl CError {
    /// An error with this status and message.
    pub fn new(status: ronn_status, message: impl Into<String>) -> CError {
        CError { status, message: message.into() }
    }
    /// A NULL_POINTER error naming the argument.
    pub fn null(arg: &str) -> CError {
        CError::new(RONN_STATUS_NULL_POINTER, format!("argument '{arg}' is NULL"))
    }
    /// An INVALID_ARGUMENT error.
    pub fn arg(message: impl Into<String>) -> CError {
        CError::new(RONN_STATUS_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for CError {
    fn from(e: Error) -> CError {
        CError::new(e.code().into(), e.to_string())
    }
}

/// What boundary closures return.
pub type CResult<T = ()> = Result<T, CError>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = c);
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs `f` as one C call: clears the last error, turns an `Err` into its status
/// (recording the message) and a panic into `RONN_STATUS_PANIC`, poisoning the
/// handles the call had looked up.
pub fn boundary(name: &str, f: impl FnOnce() -> CResult) -> ronn_status {
    set_last_error("");
    handle::begin_call();
    let r = catch_unwind(AssertUnwindSafe(f));
    match r {
        Ok(Ok(())) => {
            handle::end_call(false);
            RONN_STATUS_OK
        }
        Ok(Err(e)) => {
            handle::end_call(false);
            set_last_error(&format!("{name}: {}", e.message));
            e.status
        }
        Err(p) => {
            handle::end_call(true);
            set_last_error(&format!("{name}: panic: {}", panic_message(p.as_ref())));
            RONN_STATUS_PANIC
        }
    }
}

/// A boundary for infallible functions: a panic yields `default`.
pub fn boundary_value<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

/// The static name of a status ("OK", "INVALID_ARGUMENT", ...); "UNKNOWN" for
/// values this library does not know.
///
/// Thread-safe. The string is static: never free it.
#[no_mangle]
pub extern "C" fn ronn_status_str(status: u32) -> *const c_char {
    let s: &'static [u8] = match status {
        0 => b"OK\0",
        1 => b"INVALID_ARGUMENT\0",
        2 => b"NULL_POINTER\0",
        3 => b"NOT_FOUND\0",
        4 => b"INVALID_MODEL\0",
        5 => b"UNSUPPORTED_OP\0",
        6 => b"SHAPE_MISMATCH\0",
        7 => b"TYPE_MISMATCH\0",
        8 => b"OUT_OF_MEMORY\0",
        9 => b"DEVICE_ERROR\0",
        10 => b"CANCELLED\0",
        11 => b"TIMEOUT\0",
        12 => b"QUEUE_FULL\0",
        13 => b"SHUTTING_DOWN\0",
        14 => b"POISONED\0",
        15 => b"PANIC\0",
        16 => b"INTERNAL\0",
        17 => b"IO\0",
        18 => b"INVALID_HANDLE\0",
        _ => b"UNKNOWN\0",
    };
    s.as_ptr().cast()
}

/// The message of the calling thread's last failed RONN call ("" after a
/// successful one).
///
/// Thread-safe (per-thread storage). Borrowed: valid until this thread's next
/// RONN call; never free it.
#[no_mangle]
pub extern "C" fn ronn_last_error_message() -> *const c_char {
    LAST_ERROR.with(|l| l.borrow().as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn panics_become_status_and_message() {
        let s = boundary("test_fn", || panic!("boom"));
        assert_eq!(s, RONN_STATUS_PANIC);
        // SAFETY: the pointer is this thread's last message, valid until the next call.
        let m = unsafe { CStr::from_ptr(ronn_last_error_message()) }.to_str().unwrap().to_string();
        assert!(m.contains("boom") && m.contains("test_fn"), "{m}");
        assert_eq!(boundary("ok", || Ok(())), RONN_STATUS_OK);
        // SAFETY: as above.
        assert_eq!(unsafe { CStr::from_ptr(ronn_last_error_message()) }.to_bytes(), b"");
    }

    #[test]
    fn codes_mirror_core() {
        assert_eq!(ronn_status::from(ErrorCode::Io) as u32, ErrorCode::Io as u32);
        assert_eq!(ronn_status::from(ErrorCode::Internal) as u32, ErrorCode::Internal as u32);
    }
}
