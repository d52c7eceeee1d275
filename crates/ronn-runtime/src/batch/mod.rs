//! [`BatchProcessor`]: many small requests to one [`Session`], run as few big
//! batches.
//!
//! Requests are stacked along the model's batch axis (a symbolic first dim of
//! every input), run once, and each output is split back so every request gets
//! exactly its own rows. Only requests whose inputs agree in dtype and in every
//! dim after the first are put in one batch. The queue is bounded: a full one
//! answers `QueueFull` at once, so overload costs rejections, never memory.
//!
//! The API maps one to one onto the C ABI's batch queue: [`BatchProcessor::submit`]
//! is the non-blocking submit (QUEUE_FULL), [`BatchProcessor::submit_with_callback`]
//! the completion-callback form, then `flush`, `close` (drain or cancel) and `stats`.

mod queue;
mod stats;

pub use stats::{BatchStats, WAIT_WINDOW};

use crate::completion::{self, Completion};
use crate::session::{Outputs, Session};
use queue::{Control, Request, Worker};
use ronn_core::{DType, Error, Result, Value};
use ronn_ir::{Dim, ValueType};
use stats::StatsCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When a batch is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStrategy {
    /// Run when `batch_size` rows of one shape are pending (or on `flush`/`close`).
    Static {
        /// Rows (sum of the requests' first dims) per batch.
        batch_size: usize,
    },
    /// Run when `max_batch_size` rows of one shape are pending, or when the oldest
    /// of them has waited `max_delay`: latency is bounded, throughput adapts to load.
    Dynamic {
        /// Most rows per batch.
        max_batch_size: usize,
        /// Longest a request waits for others to join it.
        max_delay: Duration,
    },
}

/// Options of a [`BatchProcessor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchConfig {
    /// When batches form (default: dynamic, 32 rows, 5 ms).
    pub strategy: BatchStrategy,
    /// Most requests waiting at once; one more is refused with `QueueFull` (default 1024).
    pub queue_capacity: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            strategy: BatchStrategy::Dynamic { max_batch_size: 32, max_delay: Duration::from_millis(5) },
            queue_capacity: 1024,
        }
    }
}

/// What [`BatchProcessor::close`] does with requests still waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseMode {
    /// Run them all (partial batches included), then stop.
    Drain,
    /// Answer each with `Cancelled`, then stop.
    Cancel,
}

const OPEN: u8 = 0;
const DRAIN: u8 = 1;
const CANCEL: u8 = 2;

/// State shared by the processor and its worker.
pub(crate) struct Shared {
    pub session: Arc<Session>,
    pub strategy: BatchStrategy,
    pub stats: StatsCell,
    /// Requests accepted and not yet taken into a running batch.
    pub pending: AtomicUsize,
    /// OPEN, DRAIN or CANCEL.
    pub mode: AtomicU8,
}

/// Batches requests to one session on a dedicated `ronn-batch` thread.
///
/// `Send + Sync`: submit from any number of threads or tasks. Dropping it drains.
pub struct BatchProcessor {
    shared: Arc<Shared>,
    capacity: usize,
    /// `None` once closed. Submitters send under the read lock and `close` takes the
    /// sender under the write lock, so no request can slip in after the worker's
    /// last look at the queue.
    tx: RwLock<Option<crossbeam_channel::Sender<Request>>>,
    control: crossbeam_channel::Sender<Control>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl BatchProcessor {
    /// Starts a processor over `session`. Refuses (`InvalidArgument`, naming the
    /// input) a model whose inputs do not all have a symbolic first dim, and
    /// batch sizes or a queue capacity of 0.
    pub fn new(session: Arc<Session>, config: BatchConfig) -> Result<BatchProcessor> {
        let rows = match config.strategy {
            BatchStrategy::Static { batch_size } => batch_size,
            BatchStrategy::Dynamic { max_batch_size, .. } => max_batch_size,
        };
        if rows == 0 {
            return Err(Error::InvalidArgument("the batch size must be at least 1".into()));
        }
        if config.queue_capacity == 0 {
            return Err(Error::InvalidArgument("the queue capacity must be at least 1".into()));
        }
        if session.inputs().is_empty() {
            return Err(Error::InvalidArgument("a model without inputs cannot be batched".into()));
        }
        for i in session.inputs() {
            match &i.value_type {
                ValueType::Tensor { shape: Some(dims), .. } if matches!(dims.first(), Some(Dim::Symbolic(_))) => {}
                ValueType::Tensor { shape: Some(dims), .. } => {
                    let shown: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                    return Err(Error::InvalidArgument(format!(
                        "input '{}' has shape [{}]: batching needs a symbolic first (batch) dim on every input; \
                         re-export the model with a dynamic batch axis",
                        i.name,
                        shown.join(", ")
                    )));
                }
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "input '{}' is a {other} without a declared shape: batching needs a symbolic first (batch) dim",
                        i.name
                    )))
                }
            }
        }
        let shared = Arc::new(Shared {
            session,
            strategy: config.strategy,
            stats: StatsCell::new(),
            pending: AtomicUsize::new(0),
            mode: AtomicU8::new(OPEN),
        });
        let (tx, rx) = crossbeam_channel::bounded(config.queue_capacity);
        let (control, control_rx) = crossbeam_channel::unbounded();
        let worker = Worker::new(shared.clone(), rx, control_rx);
        let handle = std::thread::Builder::new()
            .name("ronn-batch".into())
            .spawn(move || worker.run())
            .map_err(|e| Error::Internal(format!("cannot start the batch thread: {e}")))?;
        Ok(BatchProcessor {
            shared,
            capacity: config.queue_capacity,
            tx: RwLock::new(Some(tx)),
            control,
            worker: Mutex::new(Some(handle)),
        })
    }

    /// Queues one request without blocking. `QueueFull` at once when
    /// `queue_capacity` requests are waiting; `ShuttingDown` after `close`;
    /// `InvalidArgument`/`TypeMismatch`/`ShapeMismatch` for inputs that do not fit
    /// the model (checked here, so one bad request cannot fail a batch).
    pub fn submit<K, V>(&self, inputs: impl IntoIterator<Item = (K, V)>) -> Result<BatchTicket>
    where
        K: AsRef<str>,
        V: Into<Value>,
    {
        let (promise, completion) = completion::pair();
        self.enqueue(inputs, Box::new(move |r| promise.complete(r)))?;
        Ok(BatchTicket { completion })
    }

    /// Like [`BatchProcessor::submit`], answering through `done` (called exactly
    /// once, on the `ronn-batch` thread, if and only if this returns `Ok`).
    pub fn submit_with_callback<K, V, F>(&self, inputs: impl IntoIterator<Item = (K, V)>, done: F) -> Result<()>
    where
        K: AsRef<str>,
        V: Into<Value>,
        F: FnOnce(Result<Outputs>) + Send + 'static,
    {
        self.enqueue(inputs, Box::new(done))
    }

    /// Submits and awaits one request.
    pub async fn process<K, V>(&self, inputs: impl IntoIterator<Item = (K, V)>) -> Result<Outputs>
    where
        K: AsRef<str>,
        V: Into<Value>,
    {
        self.submit(inputs)?.await
    }

    fn enqueue<K, V>(&self, inputs: impl IntoIterator<Item = (K, V)>, reply: queue::Reply) -> Result<()>
    where
        K: AsRef<str>,
        V: Into<Value>,
    {
        let (feeds, key, rows) = self.check(inputs)?;
        let guard = self.tx.read().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = guard.as_ref() else {
            return Err(Error::ShuttingDown("the batch processor is closed".into()));
        };
        // Reserve a place first: the counter, not the channel, bounds the requests
        // waiting, since the worker moves them out of the channel into its groups.
        let depth = self.shared.pending.fetch_add(1, Ordering::AcqRel) + 1;
        if depth > self.capacity {
            self.shared.pending.fetch_sub(1, Ordering::AcqRel);
            self.shared.stats.rejected();
            return Err(Error::QueueFull(format!("{} requests are already waiting", self.capacity)));
        }
        let req = Request::new(feeds, key, rows, reply);
        match tx.try_send(req) {
            Ok(()) => {
                self.shared.stats.accepted(depth);
                Ok(())
            }
            Err(e) => {
                self.shared.pending.fetch_sub(1, Ordering::AcqRel);
                let gone = matches!(e, crossbeam_channel::TrySendError::Disconnected(_));
                // Answered here through the return value, not through the reply.
                e.into_inner().disarm();
                if gone {
                    return Err(Error::ShuttingDown("the batch worker has stopped".into()));
                }
                self.shared.stats.rejected();
                Err(Error::QueueFull(format!("{} requests are already waiting", self.capacity)))
            }
        }
    }

    /// Validates a request's inputs against the model and computes its batch key.
    #[allow(clippy::type_complexity)]
    fn check<K, V>(
        &self,
        inputs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(Vec<Value>, Vec<(DType, Vec<usize>)>, usize)>
    where
        K: AsRef<str>,
        V: Into<Value>,
    {
        let infos = self.shared.session.inputs();
        let mut fed: Vec<Option<Value>> = vec![None; infos.len()];
        for (k, v) in inputs {
            let name = k.as_ref();
            let idx = infos.iter().position(|i| i.name == name).ok_or_else(|| {
                let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
                Error::NotFound(format!("the model has no input named '{name}'; its inputs are {names:?}"))
            })?;
            if fed[idx].is_some() {
                return Err(Error::InvalidArgument(format!("input '{name}' is given twice")));
            }
            fed[idx] = Some(v.into());
        }
        let mut rows = None;
        let mut key = Vec::with_capacity(infos.len());
        let mut feeds = Vec::with_capacity(infos.len());
        for (info, v) in infos.iter().zip(fed) {
            let name = &info.name;
            let v = v.ok_or_else(|| Error::InvalidArgument(format!("input '{name}' is missing")))?;
            let t = match &v {
                Value::Tensor(t) => t,
                other => {
                    return Err(Error::TypeMismatch(format!("input '{name}' must be a tensor, got a {}", other.kind())))
                }
            };
            if let Some(dt) = info.dtype {
                if t.dtype() != dt {
                    return Err(Error::TypeMismatch(format!("input '{name}' must be {dt}, got {}", t.dtype())));
                }
            }
            if let Some(dims) = &info.shape {
                let fits = dims.len() == t.rank()
                    && dims.iter().zip(t.shape()).all(|(d, &n)| !matches!(d, Dim::Known(k) if *k != n));
                if !fits {
                    let want: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                    return Err(Error::ShapeMismatch(format!(
                        "input '{name}' must have shape [{}], got {:?}",
                        want.join(", "),
                        t.shape()
                    )));
                }
            }
            let n = t.shape().first().copied().unwrap_or(0);
            match rows {
                None => rows = Some(n),
                Some(r) if r != n => {
                    return Err(Error::ShapeMismatch(format!(
                        "input '{name}' has {n} rows (first dim) but an earlier input has {r}"
                    )))
                }
                Some(_) => {}
            }
            if n == 0 {
                return Err(Error::InvalidArgument(format!("input '{name}' has an empty batch (first dim 0)")));
            }
            key.push((t.dtype(), t.shape()[1..].to_vec()));
            feeds.push(v);
        }
        Ok((feeds, key, rows.unwrap_or(0)))
    }

    /// Runs every partial batch now (static batching's "no more are coming").
    pub fn flush(&self) {
        let _ = self.control.send(Control::Flush);
    }

    /// Stops taking requests and answers every waiting one: `Drain` runs them,
    /// `Cancel` answers them `Cancelled`. Blocks until the worker has finished;
    /// later calls (and submits) return at once. Called by `Drop` with `Drain`.
    pub fn close(&self, mode: CloseMode) {
        let wanted = match mode {
            CloseMode::Drain => DRAIN,
            CloseMode::Cancel => CANCEL,
        };
        // A cancel may upgrade a drain in progress, never the other way round.
        let _ = self.shared.mode.compare_exchange(OPEN, wanted, Ordering::AcqRel, Ordering::Acquire);
        if wanted == CANCEL {
            self.shared.mode.store(CANCEL, Ordering::Release);
        }
        // Dropping the only sender lets the worker see the end of the queue.
        self.tx.write().unwrap_or_else(|p| p.into_inner()).take();
        let _ = self.control.send(Control::Wake);
        let handle = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            // The worker catches panics from runs; a join error would mean a bug there.
            let _ = h.join();
        }
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        self.shared.mode.load(Ordering::Acquire) != OPEN
    }

    /// Counters and recent queue-wait percentiles.
    pub fn stats(&self) -> BatchStats {
        self.shared.stats.snapshot(self.shared.pending.load(Ordering::Acquire))
    }

    /// The session batches run on.
    pub fn session(&self) -> &Arc<Session> {
        &self.shared.session
    }
}

impl Drop for BatchProcessor {
    fn drop(&mut self) {
        self.close(CloseMode::Drain);
    }
}

/// One submitted request: `.await` it, or block with [`BatchTicket::wait`].
/// Dropping it is fine; the request still runs and its result is discarded.
pub struct BatchTicket {
    completion: Completion,
}

impl BatchTicket {
    /// Blocks until answered.
    pub fn wait(self) -> Result<Outputs> {
        self.completion.wait()
    }

    /// Blocks up to `timeout`; on `Timeout` the request stays queued (wait again).
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Outputs> {
        self.completion.wait_timeout(timeout)
    }

    /// Whether the answer is there.
    pub fn is_ready(&self) -> bool {
        self.completion.is_ready()
    }
}

impl std::fmt::Debug for BatchTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchTicket").field("ready", &self.is_ready()).finish()
    }
}

impl Future for BatchTicket {
    type Output = Result<Outputs>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.completion).poll(cx)
    }
}

/// How long the oldest request of a group may still wait (dynamic batching).
pub(crate) fn deadline(strategy: BatchStrategy, enqueued: Instant) -> Option<Instant> {
    match strategy {
        BatchStrategy::Static { .. } => None,
        BatchStrategy::Dynamic { max_delay, .. } => enqueued.checked_add(max_delay),
    }
}

#[cfg(test)]
mod tests {
    fn assert_send_sync<T: Send + Sync>() {}
    #[test]
    fn processor_is_send_and_sync() {
        assert_send_sync::<super::BatchProcessor>();
        assert_send_sync::<super::BatchTicket>();
    }
}
