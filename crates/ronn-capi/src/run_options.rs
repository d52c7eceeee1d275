//! `ronn_run_options`: settings of single runs (today a profiler for just those
//! runs; cancellation is per request, `ronn_request_cancel`).

use crate::error::{boundary, ronn_status, CError, CResult};
use crate::handle::{self, Kind, Object};
use crate::profiler::{ronn_profiler, ProfilerObj};
use ronn::RunOptions;
use std::sync::{Arc, Mutex};

/// Opaque run options handle.
pub struct ronn_run_options {
    _private: [u8; 0],
}

/// The object behind a `ronn_run_options`.
pub struct RunOptionsObj(Mutex<RunOptions>);

impl Object for RunOptionsObj {
    const KIND: Kind = Kind::RunOptions;
}

/// The engine's options for a possibly-NULL `run_options` argument.
pub(crate) fn run_options_arg(run_options: *const ronn_run_options) -> CResult<RunOptions> {
    if run_options.is_null() {
        return Ok(RunOptions::default());
    }
    let o = handle::get::<RunOptionsObj, _>(run_options, "run_options")?;
    let snapshot = o.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(snapshot)
}

/// Creates run options with the defaults (no profiler).
///
/// Thread-safe. `*out` is freed with `ronn_run_options_free`; a run copies the
/// options when it starts, so they may be changed or freed right after.
#[no_mangle]
pub extern "C" fn ronn_run_options_new(out: *mut *mut ronn_run_options) -> ronn_status {
    boundary("ronn_run_options_new", || {
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let h = handle::new_handle::<RunOptionsObj, _>(Arc::new(RunOptionsObj(Mutex::new(RunOptions::default()))));
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = h };
        Ok(())
    })
}

/// Times the nodes of runs made with these options into `profiler` (instead of
/// the session's profiler, if it has one). NULL detaches it. The options keep
/// the profiler alive.
///
/// One thread at a time per options handle.
#[no_mangle]
pub extern "C" fn ronn_run_options_set_profiler(
    run_options: *mut ronn_run_options,
    profiler: *const ronn_profiler,
) -> ronn_status {
    boundary("ronn_run_options_set_profiler", || {
        let o = handle::get::<RunOptionsObj, _>(run_options, "run_options")?;
        let p = if profiler.is_null() {
            None
        } else {
            Some(handle::get::<ProfilerObj, _>(profiler, "profiler")?.0.clone())
        };
        o.0.lock().unwrap_or_else(|e| e.into_inner()).profiler = p;
        Ok(())
    })
}

/// Frees a run options handle. NULL is accepted.
///
/// Thread-safe, but a handle must be freed once.
#[no_mangle]
pub extern "C" fn ronn_run_options_free(run_options: *mut ronn_run_options) {
    boundary("ronn_run_options_free", || handle::remove::<RunOptionsObj, _>(run_options, "run_options"));
}
