//! `BatchQueue`: a `ronn_batch_queue` over one session. Requests submitted from
//! any thread are merged along the first (batch) axis and run together on the
//! queue's own thread; each request's rows come back through the completion
//! callback (`asyncrun`), to an asyncio or a `concurrent.futures` future.
//! Everything that may block (close, freeing a queue that drains) runs with the
//! GIL released, since the completion callbacks need it.
use std::ptr;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use ronn_sys as sys;

use crate::asyncrun::{submit, Request, Target};
use crate::error::{check, check_py, invalid_argument};
use crate::run::PreparedRun;
use crate::session::Session;
use crate::SendPtr;

/// One queue handle, freed on drop (with the GIL released: freeing drains).
struct QueuePtr(*mut sys::ronn_batch_queue);

// SAFETY: every batch queue function is documented thread-safe; freed once, in Drop.
unsafe impl Send for QueuePtr {}
// SAFETY: as above.
unsafe impl Sync for QueuePtr {}

/// Frees a queue handle (may block while it drains).
fn free_queue(q: SendPtr<sys::ronn_batch_queue>) {
    // SAFETY: owned handle (from QueuePtr), freed once; NULL is accepted.
    unsafe { sys::ronn_batch_queue_free(q.0 as *mut _) };
}

impl Drop for QueuePtr {
    fn drop(&mut self) {
        let raw = self.0 as *const sys::ronn_batch_queue;
        // Freeing may wait for a drain whose callbacks need the GIL: release it.
        let freed = Python::try_attach(|py| {
            let q = SendPtr(raw);
            py.detach(move || free_queue(q))
        });
        if freed.is_none() {
            // Cannot attach (the interpreter is finalizing): free as is.
            free_queue(SendPtr(raw));
        }
    }
}

/// A queue that batches requests to one session.
#[pyclass(frozen, module = "ronn._ronn", name = "BatchQueue")]
pub struct BatchQueue {
    ptr: QueuePtr,
    session: Py<Session>,
}

#[pymethods]
impl BatchQueue {
    /// A queue over `session`: `strategy` 0 (static: full batches, or on flush)
    /// or 1 (dynamic: full batches, or after `max_delay_us`), at most `max_batch`
    /// rows per batch and `max_pending` waiting requests.
    #[new]
    #[pyo3(signature = (session, strategy=1, max_batch=32, max_delay_us=5000, max_pending=1024))]
    fn new(
        py: Python<'_>,
        session: Py<Session>,
        strategy: u32,
        max_batch: usize,
        max_delay_us: u64,
        max_pending: usize,
    ) -> PyResult<BatchQueue> {
        if strategy != sys::RONN_BATCH_STATIC && strategy != sys::RONN_BATCH_DYNAMIC {
            return Err(invalid_argument(py, format!("unknown batch strategy {strategy}")));
        }
        let mut c = sys::ronn_batch_config {
            struct_size: std::mem::size_of::<sys::ronn_batch_config>() as u32,
            strategy: 0,
            max_batch: 0,
            max_delay_us: 0,
            max_pending: 0,
        };
        // SAFETY: valid out-struct.
        check_py(py, unsafe { sys::ronn_batch_config_default(&mut c) })?;
        c.struct_size = std::mem::size_of::<sys::ronn_batch_config>() as u32;
        c.strategy = strategy;
        c.max_batch = max_batch;
        c.max_delay_us = max_delay_us;
        c.max_pending = max_pending;
        let mut out = ptr::null_mut();
        // SAFETY: live session (held by `session`), config read during the call.
        check_py(py, unsafe { sys::ronn_batch_queue_new(session.get().ptr.0, &c, &mut out) })?;
        Ok(BatchQueue { ptr: QueuePtr(out), session })
    }

    /// Queues one request without blocking; `future` (asyncio's when `event_loop`
    /// is given, else a `concurrent.futures.Future`) receives `{name: array}`
    /// holding this request's rows, or its error. QueueFull / ShuttingDown and
    /// name, dtype and shape errors are raised here.
    #[pyo3(signature = (feeds, future, output_names=None, event_loop=None))]
    fn submit(
        &self,
        py: Python<'_>,
        feeds: &Bound<'_, PyDict>,
        future: Py<PyAny>,
        output_names: Option<Vec<String>>,
        event_loop: Option<Py<PyAny>>,
    ) -> PyResult<Request> {
        let prepared = PreparedRun::new(py, self.session.get(), feeds, output_names)?;
        let q = self.ptr.0 as *const sys::ronn_batch_queue;
        let target = Target { event_loop, future };
        submit(py, prepared, feeds.clone().into_any().unbind(), target, None, |ins, ts, outs, done, req| {
            // SAFETY: live queue (self is borrowed); the arrays hold `len` valid
            // entries for the call; `done` and `req` are valid.
            unsafe {
                sys::ronn_batch_queue_submit(
                    q,
                    ins.as_ptr(),
                    ts.as_ptr(),
                    ts.len(),
                    outs.as_ptr(),
                    outs.len(),
                    done,
                    req,
                )
            }
        })
    }

    /// Runs every partial batch now (does not wait for them).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        // SAFETY: live queue; does not block.
        check_py(py, unsafe { sys::ronn_batch_queue_flush(self.ptr.0) })
    }

    /// Stops taking requests and answers the waiting ones: runs them (`drain`)
    /// or fails them with Cancelled. Blocks (GIL released) until the batches finish.
    #[pyo3(signature = (drain=true))]
    fn close(&self, py: Python<'_>, drain: bool) -> PyResult<()> {
        let q = SendPtr(self.ptr.0 as *const sys::ronn_batch_queue);
        py.detach(move || {
            let q = q;
            // SAFETY: live queue (self is borrowed for the call); thread-safe.
            check(unsafe { sys::ronn_batch_queue_close(q.0, drain as u32) })
        })
        .map_err(|f| f.into_pyerr(py))
    }

    /// The queue's counters.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut s = sys::ronn_batch_stats {
            struct_size: std::mem::size_of::<sys::ronn_batch_stats>() as u32,
            requests: 0,
            rejected: 0,
            cancelled: 0,
            batches: 0,
            average_batch_size: 0.0,
            queue_wait_p50_ms: 0.0,
            queue_wait_p99_ms: 0.0,
            utilization: 0.0,
            max_queue_depth: 0,
            queue_depth: 0,
        };
        // SAFETY: live queue, valid out-struct with struct_size set.
        check_py(py, unsafe { sys::ronn_batch_queue_stats(self.ptr.0, &mut s) })?;
        let d = PyDict::new(py);
        d.set_item("requests", s.requests)?;
        d.set_item("rejected", s.rejected)?;
        d.set_item("cancelled", s.cancelled)?;
        d.set_item("batches", s.batches)?;
        d.set_item("average_batch_size", s.average_batch_size)?;
        d.set_item("queue_wait_p50_ms", s.queue_wait_p50_ms)?;
        d.set_item("queue_wait_p99_ms", s.queue_wait_p99_ms)?;
        d.set_item("utilization", s.utilization)?;
        d.set_item("max_queue_depth", s.max_queue_depth)?;
        d.set_item("queue_depth", s.queue_depth)?;
        Ok(d)
    }
}
