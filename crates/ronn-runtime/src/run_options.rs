//! [`RunOptions`]: settings of one run rather than of the session — a profiler
//! for just this run and a [`CancelToken`] another thread can use to stop it.

use ronn_core::Profiler;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Stops a run from another thread. A run not yet started never starts; a
/// running one stops before its next node. Either way it answers `Cancelled`.
///
/// ```
/// # use ronn_runtime::CancelToken;
/// let token = CancelToken::new();
/// let for_the_run = token.clone();
/// token.cancel();
/// assert!(for_the_run.is_cancelled());
/// ```
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not cancelled yet.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks every run holding a clone of this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// The flag the executor polls.
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.0
    }
}

/// Options of a single run ([`crate::Session::run_with_options`]).
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Times this run's nodes into this profiler (instead of the session's, if it has one).
    pub profiler: Option<Arc<Profiler>>,
    /// Lets another thread stop the run.
    pub cancel: Option<CancelToken>,
}

impl RunOptions {
    /// No profiler, not cancellable.
    pub fn new() -> RunOptions {
        RunOptions::default()
    }

    /// The same options, timing this run into `profiler`.
    pub fn with_profiler(mut self, profiler: Arc<Profiler>) -> RunOptions {
        self.profiler = Some(profiler);
        self
    }

    /// The same options, stoppable through `token`.
    pub fn with_cancel(mut self, token: CancelToken) -> RunOptions {
        self.cancel = Some(token);
        self
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
    }
}
