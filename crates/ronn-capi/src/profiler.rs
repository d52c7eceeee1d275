//! `ronn_profiler`: per-node timings, attached to a session (through its
//! options) or to single runs (through run options), started and stopped at
//! any time, exported as Chrome trace JSON (opens in Perfetto and
//! chrome://tracing; schema in docs/C_API.md) or as a per-op-type report.

use crate::buffer::{give, ronn_buffer};
use crate::error::{boundary, ronn_status, CError};
use crate::handle::{self, Kind, Object};
use crate::tensor::cstr_arg;
use ronn::{ProfileConfig, Profiler};
use std::ffi::c_char;
use std::sync::Arc;

/// Opaque profiler handle.
pub struct ronn_profiler {
    _private: [u8; 0],
}

/// The object behind a `ronn_profiler`.
pub struct ProfilerObj(pub Arc<Profiler>);

impl Object for ProfilerObj {
    const KIND: Kind = Kind::Profiler;
}

/// Bits of `ronn_profiler_config.categories`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ronn_profile_category {
    /// Operator (node) execution.
    RONN_PROFILE_OPS = 1,
    /// Allocation and memory-pool work.
    RONN_PROFILE_MEMORY = 2,
    /// Copies between host and device.
    RONN_PROFILE_TRANSFER = 4,
}

/// What a profiler records. Set `struct_size = sizeof(ronn_profiler_config)`;
/// `ronn_profiler_config_default` fills in the development preset.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_profiler_config {
    /// `sizeof(ronn_profiler_config)`, so the struct can grow.
    pub struct_size: u32,
    /// Nonzero: recording from creation; zero: only after `ronn_profiler_start`.
    pub start_active: u32,
    /// OR of `ronn_profile_category` bits.
    pub categories: u32,
    /// Events shorter than this many microseconds are not kept.
    pub min_duration_us: u64,
    /// Most events kept; later ones are counted as dropped.
    pub max_events: usize,
}

fn to_c(c: &ProfileConfig) -> ronn_profiler_config {
    use ronn_profile_category::*;
    let bit = |on: bool, b: ronn_profile_category| if on { b as u32 } else { 0 };
    ronn_profiler_config {
        struct_size: std::mem::size_of::<ronn_profiler_config>() as u32,
        start_active: c.enabled as u32,
        categories: bit(c.ops, RONN_PROFILE_OPS)
            | bit(c.memory, RONN_PROFILE_MEMORY)
            | bit(c.transfer, RONN_PROFILE_TRANSFER),
        min_duration_us: c.min_duration_us,
        max_events: c.max_events,
    }
}

/// Fills `*config` with the development preset (active, every category, every
/// event however short, up to a million events).
///
/// Thread-safe. Writes only `*config`.
#[no_mangle]
pub extern "C" fn ronn_profiler_config_default(config: *mut ronn_profiler_config) -> ronn_status {
    boundary("ronn_profiler_config_default", || {
        if config.is_null() {
            return Err(CError::null("config"));
        }
        // SAFETY: non-NULL; the caller promises a writable ronn_profiler_config.
        unsafe { config.write(to_c(&ProfileConfig::development())) };
        Ok(())
    })
}

/// Creates a profiler (`config` NULL: the development preset).
///
/// Thread-safe. `*out` is freed with `ronn_profiler_free`; sessions and run
/// options it is attached to keep it alive.
#[no_mangle]
pub extern "C" fn ronn_profiler_new(config: *const ronn_profiler_config, out: *mut *mut ronn_profiler) -> ronn_status {
    boundary("ronn_profiler_new", || {
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let cfg = if config.is_null() {
            ProfileConfig::development()
        } else {
            // SAFETY: non-NULL; the caller promises a readable ronn_profiler_config.
            let c = unsafe { config.read() };
            if (c.struct_size as usize) < std::mem::size_of::<ronn_profiler_config>() {
                return Err(CError::arg("config->struct_size is smaller than sizeof(ronn_profiler_config)"));
            }
            if c.categories & !7 != 0 {
                return Err(CError::arg(format!("config->categories has unknown bits: {:#x}", c.categories)));
            }
            use ronn_profile_category::*;
            ProfileConfig {
                enabled: c.start_active != 0,
                min_duration_us: c.min_duration_us,
                ops: c.categories & RONN_PROFILE_OPS as u32 != 0,
                memory: c.categories & RONN_PROFILE_MEMORY as u32 != 0,
                transfer: c.categories & RONN_PROFILE_TRANSFER as u32 != 0,
                max_events: c.max_events,
            }
        };
        let h = handle::new_handle::<ProfilerObj, _>(Arc::new(ProfilerObj(Arc::new(Profiler::new(cfg)))));
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = h };
        Ok(())
    })
}

fn with_profiler(
    name: &str,
    profiler: *const ronn_profiler,
    f: impl FnOnce(&Profiler) -> crate::error::CResult,
) -> ronn_status {
    boundary(name, || f(&handle::get::<ProfilerObj, _>(profiler, "profiler")?.0))
}

/// Starts (or resumes) recording.
///
/// Thread-safe (runs may be recording meanwhile).
#[no_mangle]
pub extern "C" fn ronn_profiler_start(profiler: *const ronn_profiler) -> ronn_status {
    with_profiler("ronn_profiler_start", profiler, |p| {
        p.start();
        Ok(())
    })
}

/// Stops recording; the events so far are kept.
///
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ronn_profiler_stop(profiler: *const ronn_profiler) -> ronn_status {
    with_profiler("ronn_profiler_stop", profiler, |p| {
        p.stop();
        Ok(())
    })
}

/// Forgets the events recorded so far (and the dropped count).
///
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ronn_profiler_clear(profiler: *const ronn_profiler) -> ronn_status {
    with_profiler("ronn_profiler_clear", profiler, |p| {
        p.clear();
        Ok(())
    })
}

/// The number of events kept (`*events`, may be NULL) and of events dropped
/// because `max_events` was reached (`*dropped`, may be NULL).
///
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ronn_profiler_counts(
    profiler: *const ronn_profiler,
    events: *mut usize,
    dropped: *mut u64,
) -> ronn_status {
    with_profiler("ronn_profiler_counts", profiler, |p| {
        if !events.is_null() {
            // SAFETY: non-NULL optional out-parameter.
            unsafe { *events = p.event_count() };
        }
        if !dropped.is_null() {
            // SAFETY: non-NULL optional out-parameter.
            unsafe { *dropped = p.dropped_events() };
        }
        Ok(())
    })
}

/// The events as Chrome trace event JSON (`{"traceEvents": [...]}`: one complete
/// event per node with `name`, `cat`, `ts`/`dur` in µs, `pid`, `tid`, and `args`
/// holding the op type, input shapes and provider) in a new buffer.
///
/// Thread-safe. `*out` is freed with `ronn_buffer_free`.
#[no_mangle]
pub extern "C" fn ronn_profiler_export_chrome_trace(
    profiler: *const ronn_profiler,
    out: *mut ronn_buffer,
) -> ronn_status {
    with_profiler("ronn_profiler_export_chrome_trace", profiler, |p| give(p.to_chrome_trace().into_bytes(), out))
}

/// Writes the Chrome trace JSON to the file at `path` (created or replaced).
///
/// Thread-safe. `path` is read during the call only. Errors: `RONN_STATUS_IO`.
#[no_mangle]
pub extern "C" fn ronn_profiler_write_chrome_trace(profiler: *const ronn_profiler, path: *const c_char) -> ronn_status {
    with_profiler("ronn_profiler_write_chrome_trace", profiler, |p| {
        let path = cstr_arg(path, "path")?;
        Ok(p.write_chrome_trace(path)?)
    })
}

/// The per-op-type summary as JSON (`entries` with name, category, count,
/// total/avg/min/max/std-dev µs and share; `total_us`, `event_count`,
/// `dropped_events`) in a new buffer.
///
/// Thread-safe. `*out` is freed with `ronn_buffer_free`.
#[no_mangle]
pub extern "C" fn ronn_profiler_export_report(profiler: *const ronn_profiler, out: *mut ronn_buffer) -> ronn_status {
    with_profiler("ronn_profiler_export_report", profiler, |p| give(p.report().to_json().into_bytes(), out))
}

/// Frees a profiler handle. NULL is accepted. Sessions and run options using
/// it keep it alive.
///
/// Thread-safe, but a handle must be freed once.
#[no_mangle]
pub extern "C" fn ronn_profiler_free(profiler: *mut ronn_profiler) {
    boundary("ronn_profiler_free", || handle::remove::<ProfilerObj, _>(profiler, "profiler"));
}
