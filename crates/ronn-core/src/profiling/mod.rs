//! The profiler: timed events from RAII scopes and from the executor (one per node),
//! kept in a bounded buffer, summarized per op type ([`ProfileReport`]) and exported
//! as Chrome trace event JSON (opens in Perfetto and `chrome://tracing`).
//!
//! A [`Profiler`] is `Send + Sync` and shared as `Arc<Profiler>`; many threads record
//! into it at once. When it is stopped (or a category is switched off) recording is
//! one atomic load and a branch: no clock read, no allocation.

mod chrome;
mod report;

pub use report::{ProfileReport, ReportEntry};

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What a timed event measures, so whole kinds can be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileCategory {
    /// Operator (node) execution.
    Ops,
    /// Allocation and memory-pool work.
    Memory,
    /// Copies between host and device.
    Transfer,
}

impl ProfileCategory {
    /// The lower-case name used in reports and as the Chrome trace `cat`.
    pub fn name(self) -> &'static str {
        match self {
            ProfileCategory::Ops => "ops",
            ProfileCategory::Memory => "memory",
            ProfileCategory::Transfer => "transfer",
        }
    }
}

/// What a profiler records; presets for development and production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileConfig {
    /// Whether the profiler starts active.
    pub enabled: bool,
    /// Events shorter than this many microseconds are not kept (keeps traces small).
    pub min_duration_us: u64,
    /// Record [`ProfileCategory::Ops`] events.
    pub ops: bool,
    /// Record [`ProfileCategory::Memory`] events.
    pub memory: bool,
    /// Record [`ProfileCategory::Transfer`] events.
    pub transfer: bool,
    /// Most events kept; later ones are counted as dropped so memory stays bounded.
    pub max_events: usize,
}

impl ProfileConfig {
    /// Everything, however short: for finding where time goes while developing.
    pub fn development() -> Self {
        ProfileConfig {
            enabled: true,
            min_duration_us: 0,
            ops: true,
            memory: true,
            transfer: true,
            max_events: 1_000_000,
        }
    }

    /// Operators only, 10 µs and longer, a small buffer: cheap enough to leave on.
    pub fn production() -> Self {
        ProfileConfig {
            enabled: true,
            min_duration_us: 10,
            ops: true,
            memory: false,
            transfer: false,
            max_events: 100_000,
        }
    }

    /// Whether events of `category` are recorded under this config.
    pub fn records(&self, category: ProfileCategory) -> bool {
        match category {
            ProfileCategory::Ops => self.ops,
            ProfileCategory::Memory => self.memory,
            ProfileCategory::Transfer => self.transfer,
        }
    }
}

impl Default for ProfileConfig {
    /// The development preset: a profiler someone created is meant to see everything.
    fn default() -> Self {
        ProfileConfig::development()
    }
}

/// One timed event.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileEvent {
    /// Node name or scope name.
    pub name: String,
    /// Its category.
    pub category: ProfileCategory,
    /// The ONNX op type for node events; reports group node events by it.
    pub op_type: Option<String>,
    /// Start, in microseconds since the profiler was created.
    pub start_us: f64,
    /// Duration in microseconds.
    pub duration_us: f64,
    /// A small per-process thread number (1, 2, …), stable for a thread's life.
    pub thread_id: u64,
    /// The thread's name, if it has one.
    pub thread_name: Option<String>,
    /// Extra facts (input shapes, provider), shown as the trace event's `args`.
    pub args: Vec<(String, String)>,
}

/// Collects events; share it as `Arc<Profiler>` between a session and its callers.
#[derive(Debug)]
pub struct Profiler {
    config: ProfileConfig,
    epoch: Instant,
    active: AtomicBool,
    events: Mutex<Vec<ProfileEvent>>,
    dropped: AtomicU64,
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD: (u64, Option<String>) =
        (NEXT_THREAD.fetch_add(1, Ordering::Relaxed), std::thread::current().name().map(str::to_string));
}

/// This thread's small number and name.
fn current_thread() -> (u64, Option<String>) {
    THREAD.with(|t| t.clone())
}

impl Profiler {
    /// A profiler with `config`; active at once if `config.enabled`.
    pub fn new(config: ProfileConfig) -> Self {
        let active = AtomicBool::new(config.enabled);
        Profiler { config, epoch: Instant::now(), active, events: Mutex::new(Vec::new()), dropped: AtomicU64::new(0) }
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &ProfileConfig {
        &self.config
    }

    /// Starts (or resumes) recording.
    pub fn start(&self) {
        self.active.store(true, Ordering::Release);
    }

    /// Stops recording; the events so far are kept.
    pub fn stop(&self) {
        self.active.store(false, Ordering::Release);
    }

    /// Whether it is recording.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Whether an event of `category` would be recorded now: the one check on the hot path.
    #[inline]
    pub fn is_recording(&self, category: ProfileCategory) -> bool {
        self.is_active() && self.config.records(category)
    }

    /// Events not kept because the buffer held `max_events` already.
    pub fn dropped_events(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events kept so far.
    pub fn event_count(&self) -> usize {
        self.lock().len()
    }

    /// A copy of the events kept so far, in recording order.
    pub fn events(&self) -> Vec<ProfileEvent> {
        self.lock().clone()
    }

    /// Forgets all events and the dropped count (e.g. after warm-up runs).
    pub fn clear(&self) {
        self.lock().clear();
        self.dropped.store(0, Ordering::Relaxed);
    }

    /// Microseconds from the profiler's epoch to `t` (0 for instants before it).
    pub fn micros_since_epoch(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.epoch).as_secs_f64() * 1e6
    }

    /// Times a region until the returned guard drops. Costs one branch when not recording.
    pub fn scope<'a>(&'a self, name: impl Into<Cow<'a, str>>, category: ProfileCategory) -> ProfileScope<'a> {
        if !self.is_recording(category) {
            return ProfileScope {
                profiler: None,
                name: Cow::Borrowed(""),
                category,
                op_type: None,
                args: Vec::new(),
                start: None,
            };
        }
        ProfileScope {
            profiler: Some(self),
            name: name.into(),
            category,
            op_type: None,
            args: Vec::new(),
            start: Some(Instant::now()),
        }
    }

    /// Records a finished region from `start` to `end` on the calling thread (used by
    /// the executor, which times nodes itself). Filtered by category, `min_duration_us`
    /// and `max_events`.
    pub fn record(
        &self,
        name: &str,
        category: ProfileCategory,
        op_type: Option<&str>,
        start: Instant,
        end: Instant,
        args: Vec<(String, String)>,
    ) {
        if !self.is_recording(category) {
            return;
        }
        let duration_us = end.saturating_duration_since(start).as_secs_f64() * 1e6;
        let (thread_id, thread_name) = current_thread();
        self.push(ProfileEvent {
            name: name.to_string(),
            category,
            op_type: op_type.map(str::to_string),
            start_us: self.micros_since_epoch(start),
            duration_us,
            thread_id,
            thread_name,
            args,
        });
    }

    /// Adds a ready-made event (for tests and for events timed elsewhere), applying
    /// the same filters as [`Profiler::record`].
    pub fn push(&self, event: ProfileEvent) {
        if !self.is_recording(event.category) || event.duration_us < self.config.min_duration_us as f64 {
            return;
        }
        let mut events = self.lock();
        if events.len() >= self.config.max_events {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        events.push(event);
    }

    /// The per-op (and per-scope) statistics of the events so far.
    pub fn report(&self) -> ProfileReport {
        ProfileReport::from_events(&self.lock(), self.dropped_events())
    }

    /// The events as Chrome trace event JSON (Perfetto, `chrome://tracing`).
    pub fn to_chrome_trace(&self) -> String {
        chrome::to_chrome_trace(&self.lock(), self.dropped_events())
    }

    /// Writes [`Profiler::to_chrome_trace`] to `path`.
    pub fn write_chrome_trace(&self, path: impl AsRef<std::path::Path>) -> crate::Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_chrome_trace())
            .map_err(|e| crate::Error::Io(format!("cannot write trace to {}: {e}", path.display())))
    }

    /// The buffer; a panic elsewhere while holding it leaves plain data, so poisoning is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<ProfileEvent>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Times a region from [`Profiler::scope`] and records it when dropped.
#[must_use = "the scope records when dropped; bind it to a variable"]
#[derive(Debug)]
pub struct ProfileScope<'a> {
    profiler: Option<&'a Profiler>,
    name: Cow<'a, str>,
    category: ProfileCategory,
    op_type: Option<String>,
    args: Vec<(String, String)>,
    start: Option<Instant>,
}

impl ProfileScope<'_> {
    /// Tags the event with an op type, so reports group it with nodes of that type.
    pub fn op_type(mut self, op_type: &str) -> Self {
        if self.profiler.is_some() {
            self.op_type = Some(op_type.to_string());
        }
        self
    }

    /// Adds an argument shown in the trace (e.g. `("bytes", "4096")`).
    pub fn arg(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        if self.profiler.is_some() {
            self.args.push((key.to_string(), value.to_string()));
        }
        self
    }
}

impl Drop for ProfileScope<'_> {
    fn drop(&mut self) {
        if let (Some(p), Some(start)) = (self.profiler, self.start) {
            let op_type = self.op_type.take();
            p.record(
                &self.name,
                self.category,
                op_type.as_deref(),
                start,
                Instant::now(),
                std::mem::take(&mut self.args),
            );
        }
    }
}

#[cfg(test)]
mod tests;
