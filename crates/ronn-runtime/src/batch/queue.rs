//! The `ronn-batch` worker: takes requests off the bounded channel, groups them
//! by batch key (per input: dtype and the dims after the first), forms batches
//! by the strategy, stacks, runs, splits and answers each request in order.

use super::{deadline, BatchStrategy, Shared, CANCEL};
use crate::session::{panic_error, Outputs};
use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};
use ronn_core::{DType, Error, Result, Tensor, Value};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests with equal keys can share a batch.
pub(crate) type Key = Vec<(DType, Vec<usize>)>;

/// Where a request's answer goes.
pub(crate) type Reply = Box<dyn FnOnce(Result<Outputs>) + Send>;

/// Messages besides requests.
pub(crate) enum Control {
    /// Run every partial batch now.
    Flush,
    /// Look at the mode again (sent by `close`).
    Wake,
}

/// One queued request. Dropped unanswered, it answers `Cancelled`: every
/// accepted request gets exactly one answer, whatever happens to the worker.
pub(crate) struct Request {
    feeds: Vec<Value>,
    key: Key,
    rows: usize,
    enqueued: Instant,
    reply: Option<Reply>,
}

impl Request {
    pub fn new(feeds: Vec<Value>, key: Key, rows: usize, reply: Reply) -> Request {
        Request { feeds, key, rows, enqueued: Instant::now(), reply: Some(reply) }
    }

    fn answer(mut self, r: Result<Outputs>) {
        if let Some(f) = self.reply.take() {
            // A panicking callback must not take the worker down with it.
            let _ = catch_unwind(AssertUnwindSafe(move || f(r)));
        }
    }

    /// Forgets the reply: the submitter learns the outcome from `submit`'s return.
    pub fn disarm(mut self) {
        self.reply = None;
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Some(f) = self.reply.take() {
            let _ = catch_unwind(AssertUnwindSafe(move || f(Err(Error::Cancelled("the request was dropped".into())))));
        }
    }
}

/// Pending requests of one key, oldest first.
struct Group {
    key: Key,
    reqs: VecDeque<Request>,
    rows: usize,
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    rx: Receiver<Request>,
    control: Receiver<Control>,
    groups: Vec<Group>,
    /// Rows that make a full batch.
    target: usize,
}

impl Worker {
    pub fn new(shared: Arc<Shared>, rx: Receiver<Request>, control: Receiver<Control>) -> Worker {
        let target = match shared.strategy {
            BatchStrategy::Static { batch_size } => batch_size,
            BatchStrategy::Dynamic { max_batch_size, .. } => max_batch_size,
        };
        Worker { shared, rx, control, groups: Vec::new(), target }
    }

    pub fn run(mut self) {
        let mut open = true;
        let mut flush = false;
        loop {
            if self.shared.mode.load(Ordering::Acquire) == CANCEL {
                self.cancel_all();
                return;
            }
            if open {
                match self.receive() {
                    Received::Flush => flush = true,
                    Received::Closed => open = false,
                    Received::Other => {}
                }
            }
            // Closed with drain: everything left runs, partial batches included.
            let force = flush || !open;
            // The mode is read again before every batch: a cancel must win over
            // the end of the queue it caused.
            while self.shared.mode.load(Ordering::Acquire) != CANCEL {
                let Some(batch) = self.next_batch(Instant::now(), force) else { break };
                self.run_batch(batch);
            }
            flush = false;
            if !open && self.groups.is_empty() {
                return;
            }
        }
    }

    /// Waits for a request, a control message or the next dynamic deadline, then
    /// takes whatever else is already queued (so batches fill under load).
    fn receive(&mut self) -> Received {
        let wait = self.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
        let mut what = Received::Other;
        crossbeam_channel::select! {
            recv(self.rx) -> msg => match msg {
                Ok(r) => self.add(r),
                Err(_) => return Received::Closed,
            },
            recv(self.control) -> msg => {
                if let Ok(Control::Flush) = msg {
                    what = Received::Flush;
                }
            },
            default(wait.unwrap_or(Duration::from_secs(3600))) => {},
        }
        loop {
            match self.rx.try_recv() {
                Ok(r) => self.add(r),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Received::Closed,
            }
        }
        while let Ok(c) = self.control.try_recv() {
            if let Control::Flush = c {
                what = Received::Flush;
            }
        }
        what
    }

    fn add(&mut self, r: Request) {
        match self.groups.iter_mut().find(|g| g.key == r.key) {
            Some(g) => {
                g.rows += r.rows;
                g.reqs.push_back(r);
            }
            None => {
                let key = r.key.clone();
                let rows = r.rows;
                self.groups.push(Group { key, reqs: VecDeque::from([r]), rows });
            }
        }
    }

    /// The earliest moment a partial dynamic batch is due.
    fn next_deadline(&self) -> Option<Instant> {
        self.groups
            .iter()
            .filter_map(|g| g.reqs.front())
            .filter_map(|r| deadline(self.shared.strategy, r.enqueued))
            .min()
    }

    /// The next batch to run: from the ready group whose oldest request is oldest.
    fn next_batch(&mut self, now: Instant, force: bool) -> Option<Vec<Request>> {
        let strategy = self.shared.strategy;
        let target = self.target;
        let gi = self
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                let due = g.reqs.front().and_then(|r| deadline(strategy, r.enqueued)).is_some_and(|d| d <= now);
                !g.reqs.is_empty() && (force || g.rows >= target || due)
            })
            .min_by_key(|(_, g)| g.reqs.front().map(|r| r.enqueued))
            .map(|(i, _)| i)?;
        let g = &mut self.groups[gi];
        let mut batch = Vec::new();
        let mut rows = 0;
        while let Some(r) = g.reqs.front() {
            if !batch.is_empty() && rows + r.rows > target {
                break;
            }
            rows += r.rows;
            if let Some(r) = g.reqs.pop_front() {
                batch.push(r);
            }
        }
        g.rows -= rows;
        if g.reqs.is_empty() {
            self.groups.swap_remove(gi);
        }
        self.shared.pending.fetch_sub(batch.len(), Ordering::AcqRel);
        Some(batch)
    }

    /// Runs one batch and answers its requests. A run that fails with several
    /// requests in the batch is retried one request at a time, so one bad request
    /// (or a panic) does not decide the others' outcome; an output that is not
    /// batch-major fails every request of the batch with an error naming it.
    fn run_batch(&self, mut reqs: Vec<Request>) {
        let started = Instant::now();
        let feeds: Vec<Vec<Value>> = reqs.iter_mut().map(|r| std::mem::take(&mut r.feeds)).collect();
        let sizes: Vec<usize> = reqs.iter().map(|r| r.rows).collect();
        let waits: Vec<Duration> = reqs.iter().map(|r| started.saturating_duration_since(r.enqueued)).collect();
        let guarded = |f: &[Vec<Value>], s: &[usize]| {
            catch_unwind(AssertUnwindSafe(|| self.batched(f, s))).unwrap_or_else(|p| Err(Failure::Run(panic_error(p))))
        };
        let n = reqs.len();
        let answers: Vec<Result<Outputs>> = match guarded(&feeds, &sizes) {
            Ok(outs) => outs.into_iter().map(Ok).collect(),
            Err(Failure::Output(msg)) => (0..n).map(|_| Err(Error::ShapeMismatch(msg.clone()))).collect(),
            Err(Failure::Run(e)) if n == 1 => vec![Err(e)],
            Err(Failure::Run(_)) => feeds
                .iter()
                .zip(&sizes)
                .map(|(f, s)| match guarded(std::slice::from_ref(f), std::slice::from_ref(s)) {
                    Ok(mut v) => v.pop().ok_or_else(|| Error::Internal("a batch of one gave no outputs".into())),
                    Err(Failure::Run(e)) => Err(e),
                    Err(Failure::Output(msg)) => Err(Error::ShapeMismatch(msg)),
                })
                .collect(),
        };
        // Counted before answering, so a caller that saw its answer sees the batch in `stats`.
        self.shared.stats.batch(waits.into_iter(), started.elapsed());
        let mut answers = answers.into_iter();
        for r in reqs {
            // A missing answer (a bug) still answers: the request's Drop says Cancelled.
            if let Some(a) = answers.next() {
                r.answer(a);
            }
        }
    }

    /// Stacks the requests' inputs, runs them once and splits every output.
    fn batched(&self, feeds: &[Vec<Value>], sizes: &[usize]) -> Result<Vec<Outputs>, Failure> {
        let session = &self.shared.session;
        let names = session.inputs().iter().map(|i| i.name.as_str());
        if feeds.len() == 1 {
            // A batch of one is exactly a plain run.
            return Ok(vec![session.run(names.zip(feeds[0].iter().cloned())).map_err(Failure::Run)?]);
        }
        let mut stacked = Vec::with_capacity(session.inputs().len());
        for j in 0..session.inputs().len() {
            let parts =
                feeds.iter().map(|f| f[j].as_tensor()).collect::<Result<Vec<&Tensor>>>().map_err(Failure::Run)?;
            stacked.push(Tensor::stack(&parts).map_err(Failure::Run)?);
        }
        let total: usize = sizes.iter().sum();
        let out = session.run(names.zip(stacked)).map_err(Failure::Run)?;
        let mut per_request: Vec<Vec<(String, Value)>> = vec![Vec::with_capacity(out.len()); feeds.len()];
        for (name, v) in out {
            let t = match v {
                Value::Tensor(t) if t.shape().first() == Some(&total) => t,
                other => {
                    let got = match &other {
                        Value::Tensor(t) => format!("shape {:?}", t.shape()),
                        v => format!("a {}", v.kind()),
                    };
                    return Err(Failure::Output(format!(
                        "output '{name}' is {got}, not a tensor whose first dim is the batch of {total} rows: \
                         this model's outputs are not batch-major, so it cannot be batched"
                    )));
                }
            };
            for (k, part) in t.split(sizes).map_err(Failure::Run)?.into_iter().enumerate() {
                per_request[k].push((name.clone(), Value::Tensor(part)));
            }
        }
        Ok(per_request.into_iter().map(Outputs::from_values).collect())
    }

    /// Close with cancel: every waiting request (grouped or still queued) gets `Cancelled`.
    fn cancel_all(&mut self) {
        let mut n = 0u64;
        let cancelled = || Err(Error::Cancelled("the batch processor was closed with cancel".into()));
        for g in self.groups.drain(..) {
            for r in g.reqs {
                n += 1;
                r.answer(cancelled());
            }
        }
        // `close` dropped the sender after setting the mode, so this ends.
        loop {
            match self.rx.recv_timeout(Duration::from_secs(1)) {
                Ok(r) => {
                    n += 1;
                    r.answer(cancelled());
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => continue,
            }
        }
        self.shared.pending.fetch_sub(n as usize, Ordering::AcqRel);
        self.shared.stats.cancelled(n);
    }
}

/// Why a batch failed.
enum Failure {
    /// Stacking or running failed: worth retrying the requests one by one.
    Run(Error),
    /// An output is not batch-major: every request of the batch gets this message.
    Output(String),
}

enum Received {
    Flush,
    Closed,
    Other,
}
