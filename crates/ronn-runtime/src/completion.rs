//! A one-shot completion slot: the worker side answers once, the waiting side
//! gets the answer by `.await` (any executor: a `Waker` is stored) or by
//! blocking on a `Condvar`. Std only, so the synchronous build needs no async
//! runtime, and the same slot serves [`crate::BatchTicket`] and async runs.

use crate::session::Outputs;
use ronn_core::{Error, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    result: Option<Result<Outputs>>,
    /// Set once the result was handed out, so a second take is an error, not a hang.
    taken: bool,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Slot {
    state: Mutex<State>,
    ready: Condvar,
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, but never let poison wedge a waiter.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The answering half. Dropped without answering, it answers `Cancelled`, so a
/// waiter can never hang on a request that was lost.
pub(crate) struct Promise {
    slot: Option<Arc<Slot>>,
}

impl Promise {
    /// Answers the waiter (a no-op if the waiting half is gone).
    pub fn complete(mut self, r: Result<Outputs>) {
        if let Some(slot) = self.slot.take() {
            let waker = {
                let mut st = slot.lock();
                st.result = Some(r);
                st.waker.take()
            };
            slot.ready.notify_all();
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}

impl Drop for Promise {
    fn drop(&mut self) {
        if self.slot.is_some() {
            let p = Promise { slot: self.slot.take() };
            p.complete(Err(Error::Cancelled("the request was dropped before it ran".into())));
        }
    }
}

/// The waiting half: a future, or a blocking wait.
pub(crate) struct Completion {
    slot: Arc<Slot>,
}

/// A linked (promise, completion) pair.
pub(crate) fn pair() -> (Promise, Completion) {
    let slot = Arc::new(Slot::default());
    (Promise { slot: Some(slot.clone()) }, Completion { slot })
}

fn take(st: &mut State) -> Option<Result<Outputs>> {
    if let Some(r) = st.result.take() {
        st.taken = true;
        return Some(r);
    }
    if st.taken {
        return Some(Err(Error::InvalidArgument("this request's result was already taken".into())));
    }
    None
}

impl Completion {
    /// Whether the answer is there (a wait would not block).
    pub fn is_ready(&self) -> bool {
        let st = self.slot.lock();
        st.result.is_some() || st.taken
    }

    /// Blocks until answered.
    pub fn wait(&self) -> Result<Outputs> {
        let mut st = self.slot.lock();
        loop {
            if let Some(r) = take(&mut st) {
                return r;
            }
            st = self.slot.ready.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Blocks up to `timeout`; `Timeout` leaves the request pending (wait again).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<Outputs> {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = self.slot.lock();
        loop {
            if let Some(r) = take(&mut st) {
                return r;
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return Err(Error::Timeout(format!("no answer within {timeout:?}")));
            }
            st = self.slot.ready.wait_timeout(st, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

impl Future for Completion {
    type Output = Result<Outputs>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.slot.lock();
        match take(&mut st) {
            Some(r) => Poll::Ready(r),
            None => {
                if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    st.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
