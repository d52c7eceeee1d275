//! Async completions (C_ABI.md, "Async runs: the callback contract"): a run
//! submitted with `ronn_session_run_async` or `ronn_batch_queue_submit` reports
//! exactly once on RONN's completion thread. The callback here takes the GIL
//! (`Python::try_attach`, so a finalizing interpreter is left alone), turns the
//! outputs into arrays (or the status into a `RonnError`), and hands the value
//! to a future: an asyncio future through `loop.call_soon_threadsafe` (the loop
//! thread sets it), a `concurrent.futures.Future` directly. A future that is
//! already done (cancelled) is left alone, a closed loop is ignored, nothing is
//! raised inside the callback and no panic crosses into C.
//!
//! The callback's `user_data` is a `Pending` box holding the input tensors and
//! the feed values, so every input array stays alive until the callback starts.
//! `Request` wraps the `ronn_request` handle (cancel, wait).
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyDict};
use ronn_sys as sys;

use crate::error::{check, Failure};
use crate::run::PreparedRun;
use crate::session::Session;
use crate::tensor::{output_array, OwnedTensor};
use crate::SendPtr;

/// Where a result goes: `future` (asyncio's when `event_loop` is set, else a
/// `concurrent.futures.Future`).
pub struct Target {
    pub event_loop: Option<Py<PyAny>>,
    pub future: Py<PyAny>,
}

/// What the callback needs, owned by the callback once the submit succeeded.
struct Pending {
    target: Target,
    names: Vec<String>,
    /// The input tensors: they (and through their deleters the arrays) live
    /// until the callback starts.
    inputs: Vec<OwnedTensor>,
    /// The feed values themselves, held as well (the brief's belt and braces).
    feeds: Py<PyAny>,
    /// The session whose counters the run updates (None for batched requests).
    session: Option<Py<Session>>,
    started: Instant,
}

/// Sets `future` to `value` (a result when `ok`, else an exception) unless it is
/// done already; never raises.
#[pyfunction]
fn resolve_future(future: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) {
    let done = future.call_method0("done").and_then(|d| d.is_truthy()).unwrap_or(true);
    if done {
        return;
    }
    let method = if ok { "set_result" } else { "set_exception" };
    // InvalidStateError (cancelled meanwhile by another thread) is ignored.
    let _ = future.call_method1(method, (value,));
}

/// The resolver function, made once.
fn resolver(py: Python<'_>) -> PyResult<&Py<PyCFunction>> {
    static RESOLVER: PyOnceLock<Py<PyCFunction>> = PyOnceLock::new();
    RESOLVER.get_or_try_init(py, || wrap_pyfunction!(resolve_future, py).map(Bound::unbind))
}

/// The completion callback given to RONN.
unsafe extern "C" fn on_complete(
    user_data: *mut c_void,
    status: sys::ronn_status,
    message: *const c_char,
    outputs: *const *mut ronn_sys::ronn_tensor,
    n_outputs: usize,
) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // The outputs are ours: own them first, so they are freed whatever happens.
        let outs: Vec<OwnedTensor> = if outputs.is_null() {
            Vec::new()
        } else {
            // SAFETY: RONN passes `n_outputs` tensor handles at `outputs`, borrowed
            // for this call; each handle now belongs to us.
            unsafe { std::slice::from_raw_parts(outputs, n_outputs) }
                .iter()
                .map(|&t| OwnedTensor::from_raw(t))
                .collect()
        };
        let message = if message.is_null() {
            String::new()
        } else {
            // SAFETY: non-NULL and NUL-terminated, borrowed for this call; copied now.
            unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
        };
        if user_data.is_null() {
            return;
        }
        // SAFETY: `user_data` is the `Pending` box leaked by `submit`, and RONN calls
        // this callback exactly once per accepted run.
        let pending = unsafe { Box::from_raw(user_data as *mut Pending) };
        // When the interpreter is finalizing, the box drops without the GIL (its
        // Python references go to pyo3's pool) and the future stays unresolved.
        let _ = Python::try_attach(move |py| deliver(py, *pending, status, message, outs));
    }));
}

/// Builds the value (GIL held) and hands it to the future.
fn deliver(py: Python<'_>, pending: Pending, status: sys::ronn_status, message: String, outs: Vec<OwnedTensor>) {
    let Pending { target, names, inputs, feeds, session, started } = pending;
    let ok_value: PyResult<Bound<'_, PyAny>> = if status == sys::RONN_STATUS_OK {
        (|| {
            let d = PyDict::new(py);
            for (name, t) in names.iter().zip(outs) {
                d.set_item(name, output_array(py, t)?)?;
            }
            Ok(d.into_any())
        })()
    } else {
        drop(outs);
        Err(Failure::new(status, message).into_pyerr(py))
    };
    if let Some(s) = &session {
        s.get().record(started.elapsed().as_secs_f64(), ok_value.is_ok());
    }
    let (ok, value) = match ok_value {
        Ok(v) => (true, v),
        Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
    };
    // The inputs are no longer read: free them (and the feeds) with the GIL held.
    drop(inputs);
    drop(feeds);
    let Ok(resolve) = resolver(py) else { return };
    let future = target.future.bind(py);
    let _ = match &target.event_loop {
        // A closed loop raises RuntimeError: nobody is waiting any more.
        Some(l) => l.bind(py).call_method1("call_soon_threadsafe", (resolve, future, ok, value)),
        None => resolve.bind(py).call1((future, ok, value)),
    };
}

/// Submits a prepared run through `call` (which receives the raw name and
/// tensor arrays, the completion and the request out-pointer and returns the
/// C status). On success the callback owns the inputs; returns the request.
pub fn submit(
    py: Python<'_>,
    prepared: PreparedRun,
    feeds: Py<PyAny>,
    target: Target,
    session: Option<Py<Session>>,
    call: impl FnOnce(
        &[*const c_char],
        &[*const sys::ronn_tensor],
        &[*const c_char],
        *const sys::ronn_completion,
        *mut *mut sys::ronn_request,
    ) -> sys::ronn_status,
) -> PyResult<Request> {
    resolver(py)?;
    let names = prepared.output_names();
    let (in_names, inputs, out_names): (Vec<CString>, Vec<OwnedTensor>, Vec<CString>) = prepared.into_parts();
    let in_ptrs: Vec<*const c_char> = in_names.iter().map(|c| c.as_ptr()).collect();
    let out_ptrs: Vec<*const c_char> = out_names.iter().map(|c| c.as_ptr()).collect();
    let tensors: Vec<*const sys::ronn_tensor> = inputs.iter().map(|t| t.as_ptr() as *const _).collect();
    let pending = Box::new(Pending { target, names, inputs, feeds, session, started: Instant::now() });
    let user_data = Box::into_raw(pending);
    let done = sys::ronn_completion {
        struct_size: std::mem::size_of::<sys::ronn_completion>() as u32,
        callback: Some(on_complete),
        user_data: user_data as *mut c_void,
    };
    let mut req = ptr::null_mut();
    // The tensor handles in `tensors` stay valid while the box lives: the callback
    // frees them only after taking the GIL, which this thread holds until return.
    let status = call(&in_ptrs, &tensors, &out_ptrs, &done, &mut req);
    if let Err(f) = check(status) {
        // SAFETY: on failure the callback never runs, so the box is still ours.
        drop(unsafe { Box::from_raw(user_data) });
        return Err(f.into_pyerr(py));
    }
    Ok(Request { ptr: RequestPtr(req) })
}

/// One request handle, freed on drop (the run goes on).
struct RequestPtr(*mut sys::ronn_request);

// SAFETY: every request function is documented thread-safe; freed once, in Drop.
unsafe impl Send for RequestPtr {}
// SAFETY: as above.
unsafe impl Sync for RequestPtr {}

impl Drop for RequestPtr {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once; NULL is accepted; does not block.
        unsafe { sys::ronn_request_free(self.0) };
    }
}

/// A submitted async run or batched request: cancel it, or wait for it.
#[pyclass(frozen, module = "ronn._ronn", name = "Request")]
pub struct Request {
    ptr: RequestPtr,
}

#[pymethods]
impl Request {
    /// Asks the run to stop; its future then fails with `Cancelled` (unless the
    /// results were already being delivered). Cancelling a finished run does nothing.
    fn cancel(&self, py: Python<'_>) -> PyResult<()> {
        // SAFETY: live handle (self is borrowed); thread-safe, non-blocking.
        crate::error::check_py(py, unsafe { sys::ronn_request_cancel(self.ptr.0) })
    }

    /// Waits (GIL released) until the completion callback has returned, at most
    /// `timeout` seconds (None: no limit); True when it has.
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> bool {
        let ms: i64 = match timeout {
            None => -1,
            Some(t) if t <= 0.0 => 0,
            Some(t) => (t * 1e3).ceil().min(i64::MAX as f64) as i64,
        };
        let req = SendPtr(self.ptr.0 as *const sys::ronn_request);
        let st = py.detach(move || {
            let req = req;
            // SAFETY: live handle (self is borrowed for the call); thread-safe.
            unsafe { sys::ronn_request_wait(req.0, ms) }
        });
        st != sys::RONN_STATUS_TIMEOUT
    }

    /// True when the completion callback has returned.
    fn done(&self) -> bool {
        // SAFETY: live handle; a zero timeout only looks.
        unsafe { sys::ronn_request_wait(self.ptr.0, 0) != sys::RONN_STATUS_TIMEOUT }
    }
}
