//! `ronn_session_options`: how a session is built (optimization level,
//! provider, threads, memory pool, open-ended `key = value` settings).

use crate::error::{boundary, ronn_status, CError, CResult};
use crate::handle::{self, Kind, Object};
use crate::memory_pool::{ronn_memory_pool, Pool};
use crate::profiler::{ronn_profiler, ProfilerObj};
use crate::tensor::cstr_arg;
use ronn::{MemoryPoolOption, OptimizationLevel, ProviderType, SessionOptions};
use std::ffi::c_char;
use std::sync::{Arc, Mutex};

/// Opaque session options handle.
pub struct ronn_session_options {
    _private: [u8; 0],
}

/// The object behind a `ronn_session_options`.
pub struct Options(pub Mutex<SessionOptions>);

impl Object for Options {
    const KIND: Kind = Kind::SessionOptions;
}

impl Options {
    /// A copy of the current options.
    pub fn snapshot(&self) -> SessionOptions {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    fn with(&self, f: impl FnOnce(&mut SessionOptions) -> CResult) -> CResult {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn level(v: u32) -> CResult<OptimizationLevel> {
    Ok(match v {
        0 => OptimizationLevel::O0,
        1 => OptimizationLevel::O1,
        2 => OptimizationLevel::O2,
        3 => OptimizationLevel::O3,
        _ => return Err(CError::arg(format!("optimization level {v} is not 0..=3"))),
    })
}

/// Creates options with the defaults (O2, CPU, one thread per core, own pool).
///
/// Thread-safe. `*out` is a new handle freed with `ronn_session_options_free`;
/// a session copies the options when it is created.
#[no_mangle]
pub extern "C" fn ronn_session_options_new(out: *mut *mut ronn_session_options) -> ronn_status {
    boundary("ronn_session_options_new", || {
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let h = handle::new_handle::<Options, _>(Arc::new(Options(Mutex::new(SessionOptions::default()))));
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = h };
        Ok(())
    })
}

/// Sets the graph optimization level, 0 to 3 (O0..O3).
///
/// One thread at a time per options handle.
#[no_mangle]
pub extern "C" fn ronn_session_options_set_optimization_level(
    opts: *mut ronn_session_options,
    level_: u32,
) -> ronn_status {
    boundary("ronn_session_options_set_optimization_level", || {
        let o = handle::get::<Options, _>(opts, "opts")?;
        let l = level(level_)?;
        o.with(|s| {
            s.optimization_level = l;
            Ok(())
        })
    })
}

/// Sets the execution provider by name ("cpu", "gpu", "bitnet", "wasm"). A
/// provider this build lacks is reported when the session is created.
///
/// One thread at a time per options handle. `provider` is read during the call only.
#[no_mangle]
pub extern "C" fn ronn_session_options_set_provider(
    opts: *mut ronn_session_options,
    provider: *const c_char,
) -> ronn_status {
    boundary("ronn_session_options_set_provider", || {
        let o = handle::get::<Options, _>(opts, "opts")?;
        let p = ProviderType::parse(cstr_arg(provider, "provider")?)?;
        o.with(|s| {
            s.provider = p;
            Ok(())
        })
    })
}

/// Sets the number of threads of the session's pool (0: one per core).
///
/// One thread at a time per options handle.
#[no_mangle]
pub extern "C" fn ronn_session_options_set_num_threads(
    opts: *mut ronn_session_options,
    num_threads: usize,
) -> ronn_status {
    boundary("ronn_session_options_set_num_threads", || {
        let o = handle::get::<Options, _>(opts, "opts")?;
        o.with(|s| {
            s.num_threads = num_threads;
            Ok(())
        })
    })
}

/// Makes sessions built with these options take their buffers from `pool`
/// (shared with every other session using it). The options and the sessions
/// keep the pool alive; `pool` may be freed right after.
///
/// One thread at a time per options handle.
#[no_mangle]
pub extern "C" fn ronn_session_options_set_memory_pool(
    opts: *mut ronn_session_options,
    pool: *const ronn_memory_pool,
) -> ronn_status {
    boundary("ronn_session_options_set_memory_pool", || {
        let o = handle::get::<Options, _>(opts, "opts")?;
        let p = handle::get::<Pool, _>(pool, "pool")?;
        o.with(|s| {
            s.memory_pool = MemoryPoolOption::Shared(p.0.clone());
            Ok(())
        })
    })
}

/// Times every run of sessions built with these options into `profiler`
/// (NULL detaches it). The options and the sessions keep the profiler alive.
///
/// One thread at a time per options handle.
#[no_mangle]
pub extern "C" fn ronn_session_options_set_profiler(
    opts: *mut ronn_session_options,
    profiler: *const ronn_profiler,
) -> ronn_status {
    boundary("ronn_session_options_set_profiler", || {
        let o = handle::get::<Options, _>(opts, "opts")?;
        let p = if profiler.is_null() {
            None
        } else {
            Some(handle::get::<ProfilerObj, _>(profiler, "profiler")?.0.clone())
        };
        o.with(|s| {
            s.profiler = p;
            Ok(())
        })
    })
}

/// Sets an option by name. Keys and values:
/// - `"optimization_level"`: `"0"`..`"3"` (or `"O0"`..`"O3"`)
/// - `"provider"`: as `ronn_session_options_set_provider`
/// - `"num_threads"`: a decimal count, `"0"` for one per core
/// - `"memory_pool"`: `"own"` (a pool of the session's own) or `"off"` (no pool)
///
/// An unknown key is `RONN_STATUS_NOT_FOUND`; a bad value `RONN_STATUS_INVALID_ARGUMENT`.
/// One thread at a time per options handle. Strings are read during the call only.
#[no_mangle]
pub extern "C" fn ronn_session_options_set(
    opts: *mut ronn_session_options,
    key: *const c_char,
    value: *const c_char,
) -> ronn_status {
    boundary("ronn_session_options_set", || {
        let o = handle::get::<Options, _>(opts, "opts")?;
        let key = cstr_arg(key, "key")?;
        let value = cstr_arg(value, "value")?;
        let bad = || CError::arg(format!("bad value '{value}' for option '{key}'"));
        match key {
            "optimization_level" => {
                let v = value.trim_start_matches(['O', 'o']).parse::<u32>().map_err(|_| bad())?;
                let l = level(v)?;
                o.with(|s| {
                    s.optimization_level = l;
                    Ok(())
                })
            }
            "provider" => {
                let p = ProviderType::parse(value)?;
                o.with(|s| {
                    s.provider = p;
                    Ok(())
                })
            }
            "num_threads" => {
                let n = value.parse::<usize>().map_err(|_| bad())?;
                o.with(|s| {
                    s.num_threads = n;
                    Ok(())
                })
            }
            "memory_pool" => {
                let m = match value {
                    "own" => MemoryPoolOption::Own,
                    "off" => MemoryPoolOption::Off,
                    _ => return Err(bad()),
                };
                o.with(|s| {
                    s.memory_pool = m;
                    Ok(())
                })
            }
            _ => Err(CError::new(
                ronn_status::RONN_STATUS_NOT_FOUND,
                format!("unknown option '{key}'; known: optimization_level, provider, num_threads, memory_pool"),
            )),
        }
    })
}

/// Frees an options handle. NULL is accepted.
///
/// Thread-safe, but a handle must be freed once.
#[no_mangle]
pub extern "C" fn ronn_session_options_free(opts: *mut ronn_session_options) {
    boundary("ronn_session_options_free", || handle::remove::<Options, _>(opts, "opts"));
}
