//! Completion callbacks and the thread they run on.
//!
//! C_ABI.md's contract: a callback runs exactly once per accepted async run, on a
//! RONN completion thread — never on the caller's thread inside the submitting
//! call, never on a compute worker, never while RONN holds a lock — so a slow
//! callback (one waiting for Python's GIL) delays other callbacks, not compute.
//! Workers hand finished runs to one `ronn-completion` thread through a channel;
//! that thread makes the output handles, calls C, then marks the request done
//! (so `ronn_request_wait` returns after the callback has returned).

use crate::error::ronn_status;
use crate::request::RequestObj;
use crate::tensor::{ronn_tensor, TensorObj};
use ronn::Tensor;
use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, OnceLock};

/// Called once when an async run or a batched request ends:
/// `(user_data, status, message, outputs, n_outputs)`. `message` ("" on success)
/// and the `outputs` array are borrowed for the call; each of the `n_outputs`
/// tensors now belongs to the callee, who frees it with `ronn_tensor_free`.
/// On failure `outputs` is NULL and `n_outputs` is 0.
pub type ronn_completion_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: ronn_status,
        message: *const c_char,
        outputs: *const *mut ronn_tensor,
        n_outputs: usize,
    ),
>;

/// Where an async run reports. Set `struct_size = sizeof(ronn_completion)`;
/// the struct is copied during the submitting call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_completion {
    /// `sizeof(ronn_completion)`, so the struct can grow.
    pub struct_size: u32,
    /// The callback (required).
    pub callback: ronn_completion_fn,
    /// Passed back to the callback untouched.
    pub user_data: *mut c_void,
}

/// A checked copy of the caller's completion, movable to the completion thread.
pub(crate) struct Completion {
    callback: unsafe extern "C" fn(*mut c_void, ronn_status, *const c_char, *const *mut ronn_tensor, usize),
    user_data: *mut c_void,
}

// SAFETY: `user_data` is the caller's opaque pointer; the contract tells callers it
// is handed to the callback on a RONN completion thread, so they give one that may be.
unsafe impl Send for Completion {}

impl Completion {
    /// Copies `*done`, checking NULLs and `struct_size`.
    pub(crate) fn from_arg(done: *const ronn_completion) -> crate::error::CResult<Completion> {
        if done.is_null() {
            return Err(crate::error::CError::null("done"));
        }
        // SAFETY: non-NULL; the caller promises a readable ronn_completion.
        let c = unsafe { done.read() };
        if (c.struct_size as usize) < std::mem::size_of::<ronn_completion>() {
            return Err(crate::error::CError::arg("done->struct_size is smaller than sizeof(ronn_completion)"));
        }
        let callback = c.callback.ok_or_else(|| crate::error::CError::null("done->callback"))?;
        Ok(Completion { callback, user_data: c.user_data })
    }

    /// Calls C (taking `self` whole, so closures move the `Send` wrapper, not its fields).
    fn call(self, status: ronn_status, message: *const c_char, outputs: *const *mut ronn_tensor, n: usize) {
        // SAFETY: callback and user_data come from the caller's ronn_completion, which
        // promised a function of this signature; message and array outlive the call.
        unsafe { (self.callback)(self.user_data, status, message, outputs, n) }
    }
}

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    static ON_COMPLETION_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is the completion thread (where waiting for an
/// unfinished request would deadlock).
pub(crate) fn on_completion_thread() -> bool {
    ON_COMPLETION_THREAD.with(Cell::get)
}

fn sender() -> Option<Sender<Job>> {
    static SENDER: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    SENDER
        .get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            std::thread::Builder::new()
                .name("ronn-completion".into())
                .spawn(move || {
                    ON_COMPLETION_THREAD.with(|c| c.set(true));
                    for job in rx {
                        // A panic in RONN's own delivery code must not end the thread.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                })
                .ok()
                .map(|_| Mutex::new(tx))
        })
        .as_ref()
        .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()).clone())
}

fn dispatch(job: Job) {
    match sender() {
        Some(tx) => {
            if let Err(e) = tx.send(job) {
                // The thread is gone (cannot happen while the process runs): deliver here
                // rather than lose a callback the contract promised.
                (e.0)()
            }
        }
        // No thread could be started: deliver here rather than lose the callback.
        None => job(),
    }
}

/// Hands a finished run to the completion thread: output handles are made
/// there, the callback called, then the request marked done. A request
/// cancelled before this point is answered `CANCELLED`.
pub(crate) fn deliver(request: Arc<RequestObj>, done: Completion, result: crate::error::CResult<Vec<Tensor>>) {
    let result = match result {
        Ok(_) if request.cancel_requested() => Err(crate::error::CError::new(
            ronn_status::RONN_STATUS_CANCELLED,
            "the request was cancelled before its results were delivered",
        )),
        r => r,
    };
    dispatch(Box::new(move || {
        let (status, message) = match &result {
            Ok(_) => (ronn_status::RONN_STATUS_OK, String::new()),
            Err(e) => (e.status, e.message.clone()),
        };
        let handles: Vec<*mut ronn_tensor> = match result {
            Ok(ts) => ts
                .into_iter()
                .map(|t| crate::handle::new_handle::<TensorObj, ronn_tensor>(Arc::new(TensorObj::new(t))))
                .collect(),
            Err(_) => Vec::new(),
        };
        let c_message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
        let ptr = if handles.is_empty() { std::ptr::null() } else { handles.as_ptr() };
        done.call(status, c_message.as_ptr(), ptr, handles.len());
        request.finish(status, message);
    }));
}
