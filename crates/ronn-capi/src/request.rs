//! `ronn_request`: an async run in flight — `ronn_session_run_async` submits,
//! `ronn_request_wait` / `_cancel` / `_free` follow it. The callback contract is
//! in `completion.rs`.

use crate::completion::{deliver, ronn_completion, Completion};
use crate::error::{boundary, ronn_status, CError, CResult};
use crate::handle::{self, Kind, Object};
use crate::run_options::{ronn_run_options, run_options_arg};
use crate::session::{feeds_arg, ronn_session, select_outputs, SessionObj};
use crate::tensor::ronn_tensor;
use ronn::CancelToken;
use std::ffi::c_char;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Opaque request handle.
pub struct ronn_request {
    _private: [u8; 0],
}

/// The object behind a `ronn_request`. The in-flight run holds it too, so
/// freeing the handle early changes nothing about the callback.
pub struct RequestObj {
    /// `None` while in flight; the callback's status and message once it returned.
    state: Mutex<Option<(ronn_status, String)>>,
    finished: Condvar,
    cancel: CancelToken,
}

impl Object for RequestObj {
    const KIND: Kind = Kind::Request;
}

impl RequestObj {
    pub(crate) fn new() -> RequestObj {
        RequestObj { state: Mutex::new(None), finished: Condvar::new(), cancel: CancelToken::new() }
    }

    /// The token the run polls.
    pub(crate) fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Called on the completion thread after the callback returned.
    pub(crate) fn finish(&self, status: ronn_status, message: String) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Some((status, message));
        self.finished.notify_all();
    }

    /// Waits up to `timeout` (None: forever) for the callback to have returned.
    fn wait(&self, timeout: Option<Duration>) -> CResult {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some((status, message)) = state.as_ref() {
                return match status {
                    ronn_status::RONN_STATUS_OK => Ok(()),
                    s => Err(CError::new(*s, format!("the run failed: {message}"))),
                };
            }
            if on_the_completion_thread_would_deadlock() {
                return Err(CError::arg(
                    "waiting inside a completion callback for a request that has not finished would deadlock \
                     (callbacks run one at a time on one thread)",
                ));
            }
            state = match deadline {
                None => self.finished.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(CError::new(ronn_status::RONN_STATUS_TIMEOUT, "the run has not finished yet"));
                    }
                    self.finished.wait_timeout(state, d - now).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }
}

/// What an accepted run or batched request ends in: the outputs named in
/// `names` (or the error) handed to the completion thread for `done`.
pub(crate) fn answer(
    request: Arc<RequestObj>,
    done: Completion,
    names: Vec<String>,
) -> impl FnOnce(ronn::Result<ronn::Outputs>) + Send + 'static {
    move |r| deliver(request, done, r.map_err(CError::from).and_then(|outs| select_outputs(outs, &names)))
}

fn on_the_completion_thread_would_deadlock() -> bool {
    crate::completion::on_completion_thread()
}

/// Writes a new request handle to `*req` when the caller asked for one.
pub(crate) fn request_out(req: *mut *mut ronn_request, obj: &Arc<RequestObj>) {
    if !req.is_null() {
        let h = handle::new_handle::<RequestObj, ronn_request>(obj.clone());
        // SAFETY: non-NULL optional out-parameter.
        unsafe { *req = h };
    }
}

/// Runs the model without blocking the caller; the result arrives through `done`.
///
/// Arguments as `ronn_session_run`, except that outputs are delivered to the
/// callback: `out_names` lists the `n_out` outputs wanted, in the order the
/// callback receives them (`n_out == 0`: every output, in the model's order).
/// `req` (may be NULL) receives a request handle for `ronn_request_wait` and
/// `ronn_request_cancel`, freed with `ronn_request_free`.
///
/// The callback contract: if this returns OK, `done->callback` runs exactly
/// once — on success, error, cancellation or shutdown — on a RONN completion
/// thread (never on this thread inside this call, never on a compute worker,
/// never while RONN holds a lock); if this fails it never runs and nothing is
/// written. Input handles may be freed as soon as this returns; memory that
/// inputs borrow must stay valid and unchanged until the callback starts. Names,
/// inputs and output names are checked here (`NOT_FOUND` at once); a shape or
/// dtype error arrives through the callback.
///
/// Thread-safe: any number of runs may be in flight on one session, and the
/// session (and env) may be freed while they are; they finish first.
#[no_mangle]
pub extern "C" fn ronn_session_run_async(
    session: *const ronn_session,
    run_options: *const ronn_run_options,
    in_names: *const *const c_char,
    inputs: *const *const ronn_tensor,
    n_in: usize,
    out_names: *const *const c_char,
    n_out: usize,
    done: *const ronn_completion,
    req: *mut *mut ronn_request,
) -> ronn_status {
    boundary("ronn_session_run_async", || {
        let s = handle::get::<SessionObj, _>(session, "session")?;
        let mut run_opts = run_options_arg(run_options)?;
        let feeds = feeds_arg(in_names, inputs, n_in)?;
        let names = s.output_names_arg(out_names, n_out, true)?;
        let completion = Completion::from_arg(done)?;
        let request = Arc::new(RequestObj::new());
        run_opts.cancel = Some(request.cancel_token());
        request_out(req, &request);
        s.session.run_with_callback_and_options(feeds, run_opts, answer(request, completion, names));
        Ok(())
    })
}

/// Waits until the request's callback has returned, or `timeout_ms` passed
/// (negative: no limit; 0: just look). Returns the run's status (OK, or its
/// error, with the message in `ronn_last_error_message`), or `RONN_STATUS_TIMEOUT`.
/// Inside a completion callback, waiting for a request that has not finished
/// is refused with `RONN_STATUS_INVALID_ARGUMENT` (it would deadlock).
///
/// Thread-safe: many threads may wait on one request.
#[no_mangle]
pub extern "C" fn ronn_request_wait(req: *const ronn_request, timeout_ms: i64) -> ronn_status {
    boundary("ronn_request_wait", || {
        let r = handle::get::<RequestObj, _>(req, "req")?;
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        r.wait(timeout)
    })
}

/// Asks the run to stop. A run not started yet never starts; a running one
/// stops before its next node; a batched one still computes with its batch but
/// is answered `RONN_STATUS_CANCELLED`. The callback still runs exactly once
/// (with `RONN_STATUS_CANCELLED`, or with the results if they were already
/// being delivered). Cancelling a finished request does nothing.
///
/// Thread-safe; also from inside a callback.
#[no_mangle]
pub extern "C" fn ronn_request_cancel(req: *const ronn_request) -> ronn_status {
    boundary("ronn_request_cancel", || {
        handle::get::<RequestObj, _>(req, "req")?.cancel.cancel();
        Ok(())
    })
}

/// Frees a request handle. NULL is accepted. A run in flight goes on and its
/// callback still runs; only the handle goes.
///
/// Thread-safe, but a handle must be freed once.
#[no_mangle]
pub extern "C" fn ronn_request_free(req: *mut ronn_request) {
    boundary("ronn_request_free", || handle::remove::<RequestObj, _>(req, "req"));
}
