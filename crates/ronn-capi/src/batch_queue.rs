//! `ronn_batch_queue`: many small requests to one session, run as few big
//! batches along the model's symbolic first dim (the engine's `BatchProcessor`).
//! Submitting never blocks: a full queue answers `RONN_STATUS_QUEUE_FULL` at
//! once. Each request gets its own completion with its own rows of the outputs,
//! under the same callback contract as `ronn_session_run_async`.

use crate::completion::{ronn_completion, Completion};
use crate::error::{boundary, ronn_status, CError};
use crate::handle::{self, Kind, Object};
use crate::request::{answer, request_out, ronn_request, RequestObj};
use crate::session::{feeds_arg, ronn_session, SessionObj};
use crate::tensor::ronn_tensor;
use ronn::{BatchConfig, BatchProcessor, BatchStrategy, CloseMode};
use std::ffi::c_char;
use std::sync::Arc;
use std::time::Duration;

/// Opaque batch queue handle.
pub struct ronn_batch_queue {
    _private: [u8; 0],
}

/// When a batch is formed (`ronn_batch_config.strategy`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ronn_batch_strategy {
    /// Run when `max_batch` rows of one shape are waiting (or on flush/close).
    RONN_BATCH_STATIC = 0,
    /// Run when `max_batch` rows are waiting or the oldest waited `max_delay_us`.
    RONN_BATCH_DYNAMIC = 1,
}

/// Settings of a batch queue. Set `struct_size = sizeof(ronn_batch_config)`;
/// `ronn_batch_config_default` fills in dynamic, 32 rows, 5 ms, 1024 pending.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_batch_config {
    /// `sizeof(ronn_batch_config)`, so the struct can grow.
    pub struct_size: u32,
    /// A `ronn_batch_strategy`.
    pub strategy: u32,
    /// Rows (sum of the requests' first dims) per batch; at least 1.
    pub max_batch: usize,
    /// Dynamic only: longest a request waits for others to join it, in µs.
    pub max_delay_us: u64,
    /// Most requests waiting at once; one more is refused with QUEUE_FULL.
    pub max_pending: usize,
}

/// Counters of a batch queue. Set `struct_size = sizeof(ronn_batch_stats)` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_batch_stats {
    /// `sizeof(ronn_batch_stats)`.
    pub struct_size: u32,
    /// Requests accepted.
    pub requests: u64,
    /// Requests refused with QUEUE_FULL.
    pub rejected: u64,
    /// Requests answered CANCELLED by a close without drain.
    pub cancelled: u64,
    /// Batches run.
    pub batches: u64,
    /// Requests per batch, on average.
    pub average_batch_size: f64,
    /// Median time from submit to the start of the request's batch (recent requests), ms.
    pub queue_wait_p50_ms: f64,
    /// 99th percentile of the same, ms.
    pub queue_wait_p99_ms: f64,
    /// Fraction of the time since creation spent running batches.
    pub utilization: f64,
    /// Most requests ever waiting at once.
    pub max_queue_depth: u64,
    /// Requests waiting now.
    pub queue_depth: u64,
}

/// The object behind a `ronn_batch_queue`.
pub struct QueueObj {
    processor: BatchProcessor,
    session: Arc<SessionObj>,
}

impl Object for QueueObj {
    const KIND: Kind = Kind::BatchQueue;
}

/// Fills `*config` with the defaults (dynamic, 32 rows, 5 ms, 1024 pending).
///
/// Thread-safe. Writes only `*config`.
#[no_mangle]
pub extern "C" fn ronn_batch_config_default(config: *mut ronn_batch_config) -> ronn_status {
    boundary("ronn_batch_config_default", || {
        if config.is_null() {
            return Err(CError::null("config"));
        }
        let d = BatchConfig::default();
        let (strategy, max_batch, max_delay_us) = match d.strategy {
            BatchStrategy::Static { batch_size } => (ronn_batch_strategy::RONN_BATCH_STATIC, batch_size, 0),
            BatchStrategy::Dynamic { max_batch_size, max_delay } => {
                (ronn_batch_strategy::RONN_BATCH_DYNAMIC, max_batch_size, max_delay.as_micros() as u64)
            }
        };
        let c = ronn_batch_config {
            struct_size: std::mem::size_of::<ronn_batch_config>() as u32,
            strategy: strategy as u32,
            max_batch,
            max_delay_us,
            max_pending: d.queue_capacity,
        };
        // SAFETY: non-NULL; the caller promises a writable ronn_batch_config.
        unsafe { config.write(c) };
        Ok(())
    })
}

/// Starts a batch queue over `session` (`config` NULL: the defaults). Every
/// model input must have a symbolic first dim (the batch axis); otherwise
/// `RONN_STATUS_INVALID_ARGUMENT` names the input.
///
/// Thread-safe. `*out` is freed with `ronn_batch_queue_free`; the queue keeps
/// the session alive. Batches run on a `ronn-batch` thread of the queue's own.
#[no_mangle]
pub extern "C" fn ronn_batch_queue_new(
    session: *const ronn_session,
    config: *const ronn_batch_config,
    out: *mut *mut ronn_batch_queue,
) -> ronn_status {
    boundary("ronn_batch_queue_new", || {
        let s = handle::get::<SessionObj, _>(session, "session")?;
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let cfg = if config.is_null() {
            BatchConfig::default()
        } else {
            // SAFETY: non-NULL; the caller promises a readable ronn_batch_config.
            let c = unsafe { config.read() };
            if (c.struct_size as usize) < std::mem::size_of::<ronn_batch_config>() {
                return Err(CError::arg("config->struct_size is smaller than sizeof(ronn_batch_config)"));
            }
            let strategy = match c.strategy {
                0 => BatchStrategy::Static { batch_size: c.max_batch },
                1 => BatchStrategy::Dynamic {
                    max_batch_size: c.max_batch,
                    max_delay: Duration::from_micros(c.max_delay_us),
                },
                v => {
                    return Err(CError::arg(format!(
                        "config->strategy {v} is not RONN_BATCH_STATIC or RONN_BATCH_DYNAMIC"
                    )))
                }
            };
            BatchConfig { strategy, queue_capacity: c.max_pending }
        };
        let processor = BatchProcessor::new(s.session.clone(), cfg)?;
        let h = handle::new_handle::<QueueObj, _>(Arc::new(QueueObj { processor, session: s }));
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = h };
        Ok(())
    })
}

/// Queues one request without blocking. Arguments as `ronn_session_run_async`
/// (`n_out == 0`: every output); the inputs' first dim is the request's rows,
/// and the callback receives exactly those rows of each output. Requests only
/// share a batch when their dtypes and dims after the first agree.
///
/// Returns `RONN_STATUS_QUEUE_FULL` when `max_pending` requests are waiting and
/// `RONN_STATUS_SHUTTING_DOWN` after `ronn_batch_queue_close`; name, dtype and
/// shape errors are returned here too, and a request of 0 rows is refused with
/// `RONN_STATUS_INVALID_ARGUMENT`. On any error the callback never runs. The
/// session's profiler (if any) times the batches; there are no per-request run options.
///
/// Thread-safe: submit from any number of threads.
#[no_mangle]
pub extern "C" fn ronn_batch_queue_submit(
    queue: *const ronn_batch_queue,
    in_names: *const *const c_char,
    inputs: *const *const ronn_tensor,
    n_in: usize,
    out_names: *const *const c_char,
    n_out: usize,
    done: *const ronn_completion,
    req: *mut *mut ronn_request,
) -> ronn_status {
    boundary("ronn_batch_queue_submit", || {
        let q = handle::get::<QueueObj, _>(queue, "queue")?;
        let feeds = feeds_arg(in_names, inputs, n_in)?;
        let names = q.session.output_names_arg(out_names, n_out, true)?;
        let completion = Completion::from_arg(done)?;
        let request = Arc::new(RequestObj::new());
        q.processor.submit_with_callback(feeds, answer(request.clone(), completion, names))?;
        request_out(req, &request);
        Ok(())
    })
}

/// Runs every partial batch now (static batching's "no more are coming").
///
/// Thread-safe. Does not wait for the batches to finish.
#[no_mangle]
pub extern "C" fn ronn_batch_queue_flush(queue: *const ronn_batch_queue) -> ronn_status {
    boundary("ronn_batch_queue_flush", || {
        handle::get::<QueueObj, _>(queue, "queue")?.processor.flush();
        Ok(())
    })
}

/// Stops taking requests (later submits answer `RONN_STATUS_SHUTTING_DOWN`) and
/// answers every waiting one: `drain` nonzero runs them, zero answers each with
/// `RONN_STATUS_CANCELLED`. Blocks until the queue's batches have finished; their
/// callbacks follow on the completion thread. Closing twice is fine.
///
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ronn_batch_queue_close(queue: *const ronn_batch_queue, drain: u32) -> ronn_status {
    boundary("ronn_batch_queue_close", || {
        let q = handle::get::<QueueObj, _>(queue, "queue")?;
        q.processor.close(if drain != 0 { CloseMode::Drain } else { CloseMode::Cancel });
        Ok(())
    })
}

/// Reads the queue's counters into `*stats` (whose `struct_size` the caller sets).
///
/// Thread-safe. Writes only `*stats`.
#[no_mangle]
pub extern "C" fn ronn_batch_queue_stats(queue: *const ronn_batch_queue, stats: *mut ronn_batch_stats) -> ronn_status {
    boundary("ronn_batch_queue_stats", || {
        let q = handle::get::<QueueObj, _>(queue, "queue")?;
        if stats.is_null() {
            return Err(CError::null("stats"));
        }
        // SAFETY: non-NULL; the caller promises a ronn_batch_stats whose first field is struct_size.
        let size = unsafe { (*stats).struct_size } as usize;
        if size < std::mem::size_of::<ronn_batch_stats>() {
            return Err(CError::arg("stats->struct_size is smaller than sizeof(ronn_batch_stats)"));
        }
        let s = q.processor.stats();
        let out = ronn_batch_stats {
            struct_size: std::mem::size_of::<ronn_batch_stats>() as u32,
            requests: s.requests,
            rejected: s.rejected,
            cancelled: s.cancelled,
            batches: s.batches,
            average_batch_size: s.average_batch_size,
            queue_wait_p50_ms: s.queue_wait_p50_ms,
            queue_wait_p99_ms: s.queue_wait_p99_ms,
            utilization: s.utilization,
            max_queue_depth: s.max_queue_depth as u64,
            queue_depth: s.queue_depth as u64,
        };
        // SAFETY: checked non-NULL and large enough above.
        unsafe { stats.write(out) };
        Ok(())
    })
}

/// Frees a batch queue handle. NULL is accepted. Unless closed already, the
/// queue closes with drain when its last user lets go: waiting requests run and
/// their callbacks come, each exactly once.
///
/// Thread-safe, but a handle must be freed once. May block while draining.
#[no_mangle]
pub extern "C" fn ronn_batch_queue_free(queue: *mut ronn_batch_queue) {
    boundary("ronn_batch_queue_free", || handle::remove::<QueueObj, _>(queue, "queue"));
}
