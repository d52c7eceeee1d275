//! [`AsyncSession`]: awaitable runs on a [`Session`] (feature `async`).
//!
//! A run executes on the session's own rayon threads through
//! [`Session::run_with_callback`]; the future only waits for the answer, so it
//! never blocks the executor's threads and works under any executor (tokio,
//! async-std, a hand-written one). Many runs may be in flight on one session at
//! once (`tokio::join!`, `join_all`); they queue on the session's pool, which is
//! what keeps the machine from being oversubscribed.

use crate::completion::{self, Completion};
use crate::session::{Outputs, Session};
use ronn_core::{Result, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// An async front of a shared [`Session`]. Cheap to clone.
#[derive(Clone)]
pub struct AsyncSession {
    session: Arc<Session>,
}

impl AsyncSession {
    /// Wraps a session (which may still be used synchronously elsewhere).
    pub fn new(session: Arc<Session>) -> AsyncSession {
        AsyncSession { session }
    }

    /// The wrapped session.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Starts a run now and returns a future of its outputs. Dropping the
    /// future does not stop the run; its result is then discarded.
    pub fn run<K, V>(&self, inputs: impl IntoIterator<Item = (K, V)>) -> RunFuture
    where
        K: AsRef<str>,
        V: Into<Value>,
    {
        let inputs: Vec<(String, Value)> =
            inputs.into_iter().map(|(k, v)| (k.as_ref().to_string(), v.into())).collect();
        let (promise, completion) = completion::pair();
        self.session.run_with_callback(inputs, move |r| promise.complete(r));
        RunFuture { completion }
    }
}

/// The outputs of a run started by [`AsyncSession::run`].
pub struct RunFuture {
    completion: Completion,
}

impl Future for RunFuture {
    type Output = Result<Outputs>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.completion).poll(cx)
    }
}
