//! Batch statistics: counters plus the last [`WAIT_WINDOW`] queue waits, kept in
//! a fixed ring so a processor that runs for days holds bounded memory.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many recent queue waits the percentiles are computed over.
pub const WAIT_WINDOW: usize = 4096;

/// A snapshot of a [`super::BatchProcessor`]'s counters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchStats {
    /// Requests accepted by `submit`.
    pub requests: u64,
    /// Requests refused with `QueueFull`.
    pub rejected: u64,
    /// Requests answered `Cancelled` (close with cancel).
    pub cancelled: u64,
    /// Batches run.
    pub batches: u64,
    /// Requests per batch, on average.
    pub average_batch_size: f64,
    /// Median time from submit to the start of the request's batch (recent requests).
    pub queue_wait_p50_ms: f64,
    /// 99th percentile of the same.
    pub queue_wait_p99_ms: f64,
    /// Fraction of the time since creation the worker spent running batches.
    pub utilization: f64,
    /// Most requests ever waiting at once (never above the queue capacity).
    pub max_queue_depth: usize,
    /// Requests waiting now.
    pub queue_depth: usize,
}

#[derive(Default)]
struct Inner {
    requests: u64,
    rejected: u64,
    cancelled: u64,
    batches: u64,
    batched_requests: u64,
    busy: Duration,
    waits_ms: Vec<f64>,
    next: usize,
    max_depth: usize,
}

/// Shared between the submitting side and the worker.
pub(crate) struct StatsCell {
    created: Instant,
    inner: Mutex<Inner>,
}

impl StatsCell {
    pub fn new() -> StatsCell {
        StatsCell { created: Instant::now(), inner: Mutex::new(Inner::default()) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn accepted(&self, depth: usize) {
        self.with(|s| {
            s.requests += 1;
            s.max_depth = s.max_depth.max(depth);
        })
    }

    pub fn rejected(&self) {
        self.with(|s| s.rejected += 1)
    }

    pub fn cancelled(&self, n: u64) {
        self.with(|s| s.cancelled += n)
    }

    /// One batch of requests that waited `waits` ran for `busy`.
    pub fn batch(&self, waits: impl Iterator<Item = Duration>, busy: Duration) {
        self.with(|s| {
            s.batches += 1;
            s.busy += busy;
            for w in waits {
                s.batched_requests += 1;
                let ms = w.as_secs_f64() * 1e3;
                if s.waits_ms.len() < WAIT_WINDOW {
                    s.waits_ms.push(ms);
                } else {
                    let i = s.next;
                    s.waits_ms[i] = ms;
                }
                s.next = (s.next + 1) % WAIT_WINDOW;
            }
        })
    }

    pub fn snapshot(&self, depth: usize) -> BatchStats {
        let elapsed = self.created.elapsed().as_secs_f64();
        self.with(|s| {
            let mut w = s.waits_ms.clone();
            w.sort_by(|a, b| a.total_cmp(b));
            BatchStats {
                requests: s.requests,
                rejected: s.rejected,
                cancelled: s.cancelled,
                batches: s.batches,
                average_batch_size: if s.batches == 0 { 0.0 } else { s.batched_requests as f64 / s.batches as f64 },
                queue_wait_p50_ms: percentile(&w, 50.0),
                queue_wait_p99_ms: percentile(&w, 99.0),
                utilization: if elapsed > 0.0 { (s.busy.as_secs_f64() / elapsed).min(1.0) } else { 0.0 },
                max_queue_depth: s.max_depth,
                queue_depth: depth,
            }
        })
    }
}

/// Nearest-rank percentile of sorted values (0 when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_stay_bounded_and_percentiles_hold() {
        let s = StatsCell::new();
        for k in 0..3 * WAIT_WINDOW {
            s.batch(std::iter::once(Duration::from_millis((k % 100) as u64)), Duration::ZERO);
        }
        let snap = s.snapshot(0);
        assert_eq!(snap.batches, 3 * WAIT_WINDOW as u64);
        assert_eq!(s.with(|i| i.waits_ms.len()), WAIT_WINDOW);
        assert!(snap.queue_wait_p50_ms >= 45.0 && snap.queue_wait_p50_ms <= 55.0, "{snap:?}");
        assert!(snap.queue_wait_p99_ms >= 97.0, "{snap:?}");
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
