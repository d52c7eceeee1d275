//! `ronn_env`: the process-level context sessions are created in.
//!
//! Today it holds no settings; it exists so that logging, thread-pool and
//! device settings can be added without changing session signatures. A NULL
//! env means the default env, created lazily and never torn down.

use crate::error::{boundary, ronn_status, CError};
use crate::handle::{self, Kind, Object};
use std::sync::{Arc, OnceLock};

/// Opaque environment handle.
pub struct ronn_env {
    _private: [u8; 0],
}

/// The object behind a `ronn_env`.
pub struct Env;

impl Object for Env {
    const KIND: Kind = Kind::Env;
}

/// The default env (used when a NULL env is passed).
pub fn default_env() -> Arc<Env> {
    static DEFAULT: OnceLock<Arc<Env>> = OnceLock::new();
    DEFAULT.get_or_init(|| Arc::new(Env)).clone()
}

/// Resolves a possibly-NULL env argument.
pub fn env_or_default(env: *const ronn_env) -> crate::error::CResult<Arc<Env>> {
    if env.is_null() {
        Ok(default_env())
    } else {
        handle::get::<Env, _>(env, "env")
    }
}

/// Creates an environment.
///
/// Thread-safe. On success `*out` is a new handle the caller frees with
/// `ronn_env_free`; sessions created in it keep it alive, so it may be freed
/// before them.
#[no_mangle]
pub extern "C" fn ronn_env_new(out: *mut *mut ronn_env) -> ronn_status {
    boundary("ronn_env_new", || {
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let h = handle::new_handle::<Env, ronn_env>(Arc::new(Env));
        // SAFETY: `out` is non-NULL and the caller promises it points to writable storage.
        unsafe { *out = h };
        Ok(())
    })
}

/// Frees an environment handle. NULL is accepted; a stale handle is ignored
/// (and reported through `ronn_last_error_message`).
///
/// Thread-safe, but a handle must be freed once.
#[no_mangle]
pub extern "C" fn ronn_env_free(env: *mut ronn_env) {
    boundary("ronn_env_free", || handle::remove::<Env, _>(env, "env"));
}
