//! RONN's statuses as Python exceptions: one class per `ronn_status`, all under
//! `ronn.RonnError`, each with `.code` (the status name, e.g. "NOT_FOUND") and
//! `.status` (its number), so callers can catch broadly or by kind.
use std::ffi::CStr;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyType;
use ronn_sys as sys;

create_exception!(ronn, RonnError, PyException, "Any error reported by RONN.");

/// Declares one subclass per status and the table that maps statuses to them.
macro_rules! statuses {
    ($($name:ident = $status:ident, $doc:literal;)*) => {
        $(create_exception!(ronn, $name, RonnError, $doc);)*

        /// The exception class of a status (RonnError itself for an unknown one).
        fn class_of(py: Python<'_>, status: u32) -> Bound<'_, PyType> {
            match status {
                $(sys::$status => py.get_type::<$name>(),)*
                _ => py.get_type::<RonnError>(),
            }
        }

        /// Adds every class to the module, each with its class-level `code` and `status`.
        pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            let base = py.get_type::<RonnError>();
            base.setattr("code", "UNKNOWN")?;
            base.setattr("status", -1)?;
            m.add("RonnError", base)?;
            $(
                let t = py.get_type::<$name>();
                t.setattr("code", status_name(sys::$status))?;
                t.setattr("status", sys::$status)?;
                m.add(stringify!($name), t)?;
            )*
            Ok(())
        }
    };
}

statuses! {
    InvalidArgument = RONN_STATUS_INVALID_ARGUMENT, "An argument is out of range or malformed.";
    NullPointer = RONN_STATUS_NULL_POINTER, "A required pointer was NULL (a bug in the bindings).";
    NotFound = RONN_STATUS_NOT_FOUND, "A name (input, output, option key) does not exist.";
    InvalidModel = RONN_STATUS_INVALID_MODEL, "The model cannot be parsed or is inconsistent.";
    UnsupportedOp = RONN_STATUS_UNSUPPORTED_OP, "An operator or provider is not supported by this build.";
    ShapeMismatch = RONN_STATUS_SHAPE_MISMATCH, "A shape does not match.";
    TypeMismatch = RONN_STATUS_TYPE_MISMATCH, "An element type does not match.";
    OutOfMemory = RONN_STATUS_OUT_OF_MEMORY, "An allocation failed or a limit was reached.";
    DeviceError = RONN_STATUS_DEVICE_ERROR, "A device (GPU) failed.";
    Cancelled = RONN_STATUS_CANCELLED, "The work was cancelled.";
    Timeout = RONN_STATUS_TIMEOUT, "A wait timed out.";
    QueueFull = RONN_STATUS_QUEUE_FULL, "A queue is full.";
    ShuttingDown = RONN_STATUS_SHUTTING_DOWN, "The object is shutting down.";
    Poisoned = RONN_STATUS_POISONED, "The object saw a panic earlier and refuses further use.";
    PanicError = RONN_STATUS_PANIC, "A panic inside RONN was caught at the boundary.";
    InternalError = RONN_STATUS_INTERNAL, "A bug in RONN.";
    IoError = RONN_STATUS_IO, "A file could not be read or written.";
    InvalidHandle = RONN_STATUS_INVALID_HANDLE, "A handle was freed or is not a RONN handle.";
}

/// The static name of a status ("OK", "NOT_FOUND", ...).
pub fn status_name(status: u32) -> String {
    // SAFETY: ronn_status_str returns a static NUL-terminated string for any value.
    let p = unsafe { sys::ronn_status_str(status) };
    if p.is_null() {
        return "UNKNOWN".to_owned();
    }
    // SAFETY: non-NULL, static and NUL-terminated (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// A failed call: the status and the calling thread's message, read right after
/// the call (the message is thread-local, so it is taken before any other RONN call
/// and before the thread changes, e.g. inside `py.detach`).
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u32,
    pub message: String,
}

impl Failure {
    /// A failure raised by the bindings themselves (not by a C call).
    pub fn new(status: u32, message: impl Into<String>) -> Failure {
        Failure { status, message: message.into() }
    }

    /// Converts into the matching Python exception.
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let cls = class_of(py, self.status);
        match cls.call1((self.message,)) {
            Ok(v) => {
                // Instance attributes as well, so an unknown status keeps its number.
                let _ = v.setattr("code", status_name(self.status));
                let _ = v.setattr("status", self.status);
                PyErr::from_value(v)
            }
            Err(e) => e,
        }
    }
}

/// Checks a status right after the C call that returned it.
pub fn check(status: sys::ronn_status) -> Result<(), Failure> {
    if status == sys::RONN_STATUS_OK {
        return Ok(());
    }
    // SAFETY: ronn_last_error_message returns a NUL-terminated thread-local string
    // (valid until this thread's next RONN call), which is copied at once.
    let p = unsafe { sys::ronn_last_error_message() };
    let message = if p.is_null() {
        String::new()
    } else {
        // SAFETY: non-NULL and NUL-terminated (see above).
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    };
    Err(Failure { status, message })
}

/// `check` for code that holds the GIL: raises the Python exception directly.
pub fn check_py(py: Python<'_>, status: sys::ronn_status) -> PyResult<()> {
    check(status).map_err(|f| f.into_pyerr(py))
}

/// An InvalidArgument raised by the bindings.
pub fn invalid_argument(py: Python<'_>, message: impl Into<String>) -> PyErr {
    Failure::new(sys::RONN_STATUS_INVALID_ARGUMENT, message).into_pyerr(py)
}

/// A TypeMismatch raised by the bindings (an array dtype RONN cannot take).
pub fn type_mismatch(py: Python<'_>, message: impl Into<String>) -> PyErr {
    Failure::new(sys::RONN_STATUS_TYPE_MISMATCH, message).into_pyerr(py)
}
