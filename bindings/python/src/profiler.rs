//! `Profiler` (a `ronn_profiler`: per-node timings, exported as Chrome trace JSON
//! or a per-op-type report) and `RunOptions` (a `ronn_run_options`, which
//! attaches a profiler to single runs). Sessions, run options and runs keep the
//! profiler alive on the C side, so either may be dropped first.
use std::ffi::c_char;
use std::ptr;

use pyo3::prelude::*;
use ronn_sys as sys;

use crate::error::{check, check_py};
use crate::session::c_string;
use crate::SendPtr;

/// One profiler handle, freed on drop.
pub struct ProfilerPtr(pub *mut sys::ronn_profiler);

// SAFETY: every profiler function is documented thread-safe; freed once, in Drop.
unsafe impl Send for ProfilerPtr {}
// SAFETY: as above.
unsafe impl Sync for ProfilerPtr {}

impl Drop for ProfilerPtr {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once; NULL is accepted.
        unsafe { sys::ronn_profiler_free(self.0) };
    }
}

/// Reads a `ronn_buffer` filled by `fill` into a String and frees it.
fn read_buffer(py: Python<'_>, fill: impl FnOnce(*mut sys::ronn_buffer) -> sys::ronn_status) -> PyResult<String> {
    let mut buf = sys::ronn_buffer { data: ptr::null_mut(), len: 0 };
    check_py(py, fill(&mut buf))?;
    let text = if buf.data.is_null() {
        String::new()
    } else {
        // SAFETY: RONN gave `len` bytes at `data`, valid until ronn_buffer_free.
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(buf.data, buf.len) }).into_owned()
    };
    // SAFETY: a buffer RONN gave, freed once.
    unsafe { sys::ronn_buffer_free(&mut buf) };
    Ok(text)
}

/// Records how long each node (and, by category, allocation and transfer
/// work) takes in the runs it is attached to.
#[pyclass(frozen, module = "ronn._ronn", name = "Profiler")]
pub struct Profiler {
    pub(crate) ptr: ProfilerPtr,
}

#[pymethods]
impl Profiler {
    /// A profiler recording the chosen categories; `max_events` events at most
    /// (later ones are counted as dropped), none shorter than `min_duration_us`;
    /// recording from the start unless `start=False`.
    #[new]
    #[pyo3(signature = (ops=true, memory=true, transfer=true, max_events=1_000_000, min_duration_us=0, start=true))]
    fn new(
        py: Python<'_>,
        ops: bool,
        memory: bool,
        transfer: bool,
        max_events: usize,
        min_duration_us: u64,
        start: bool,
    ) -> PyResult<Profiler> {
        let mut c = sys::ronn_profiler_config {
            struct_size: std::mem::size_of::<sys::ronn_profiler_config>() as u32,
            start_active: 0,
            categories: 0,
            min_duration_us: 0,
            max_events: 0,
        };
        // SAFETY: valid out-struct.
        check_py(py, unsafe { sys::ronn_profiler_config_default(&mut c) })?;
        c.struct_size = std::mem::size_of::<sys::ronn_profiler_config>() as u32;
        c.start_active = start as u32;
        c.categories = (if ops { sys::RONN_PROFILE_OPS } else { 0 })
            | (if memory { sys::RONN_PROFILE_MEMORY } else { 0 })
            | (if transfer { sys::RONN_PROFILE_TRANSFER } else { 0 });
        c.max_events = max_events;
        c.min_duration_us = min_duration_us;
        let mut out = ptr::null_mut();
        // SAFETY: the config is read during the call; valid out-pointer.
        check_py(py, unsafe { sys::ronn_profiler_new(&c, &mut out) })?;
        Ok(Profiler { ptr: ProfilerPtr(out) })
    }

    /// Starts (or resumes) recording.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        // SAFETY: live handle.
        check_py(py, unsafe { sys::ronn_profiler_start(self.ptr.0) })
    }

    /// Stops recording; the events so far are kept.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        // SAFETY: live handle.
        check_py(py, unsafe { sys::ronn_profiler_stop(self.ptr.0) })
    }

    /// Forgets the events so far and the dropped count.
    fn clear(&self, py: Python<'_>) -> PyResult<()> {
        // SAFETY: live handle.
        check_py(py, unsafe { sys::ronn_profiler_clear(self.ptr.0) })
    }

    /// The number of events kept.
    #[getter]
    fn event_count(&self, py: Python<'_>) -> PyResult<usize> {
        let mut n = 0usize;
        // SAFETY: live handle, valid out-pointer; NULL `dropped` is allowed.
        check_py(py, unsafe { sys::ronn_profiler_counts(self.ptr.0, &mut n, ptr::null_mut()) })?;
        Ok(n)
    }

    /// The number of events dropped because `max_events` was reached.
    #[getter]
    fn dropped_events(&self, py: Python<'_>) -> PyResult<u64> {
        let mut n = 0u64;
        // SAFETY: live handle, valid out-pointer; NULL `events` is allowed.
        check_py(py, unsafe { sys::ronn_profiler_counts(self.ptr.0, ptr::null_mut(), &mut n) })?;
        Ok(n)
    }

    /// The events as Chrome trace JSON (`{"traceEvents": [...]}`), for
    /// chrome://tracing or Perfetto.
    fn chrome_trace(&self, py: Python<'_>) -> PyResult<String> {
        // SAFETY: live handle; `b` is a valid out-buffer.
        read_buffer(py, |b| unsafe { sys::ronn_profiler_export_chrome_trace(self.ptr.0, b) })
    }

    /// Writes the Chrome trace JSON to `path` (IoError when it cannot).
    fn write_chrome_trace(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        let c = c_string(py, &path.to_string_lossy(), "path")?;
        let (p, cp) = (SendPtr(self.ptr.0 as *const sys::ronn_profiler), SendPtr(c.as_ptr()));
        py.detach(move || {
            let (p, cp): (SendPtr<sys::ronn_profiler>, SendPtr<c_char>) = (p, cp);
            // SAFETY: live handle (self is borrowed); `c` outlives the call.
            check(unsafe { sys::ronn_profiler_write_chrome_trace(p.0, cp.0) })
        })
        .map_err(|f| f.into_pyerr(py))
    }

    /// The per-op-type summary: a dict with `entries` (name, category, count,
    /// total/avg/min/max/std-dev µs, share), `total_us`, `event_count`, `dropped_events`.
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: live handle; `b` is a valid out-buffer.
        let text = read_buffer(py, |b| unsafe { sys::ronn_profiler_export_report(self.ptr.0, b) })?;
        py.import("json")?.call_method1("loads", (text,))
    }
}

/// One run options handle, freed on drop.
pub struct RunOptionsPtr(pub *mut sys::ronn_run_options);

// SAFETY: the handle is only read by runs (which copy it) after construction, and
// freed once, in Drop.
unsafe impl Send for RunOptionsPtr {}
// SAFETY: as above: no setter is called after construction.
unsafe impl Sync for RunOptionsPtr {}

impl Drop for RunOptionsPtr {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once; NULL is accepted.
        unsafe { sys::ronn_run_options_free(self.0) };
    }
}

/// Per-run settings (immutable once made): a profiler for this run.
#[pyclass(frozen, module = "ronn._ronn", name = "RunOptions")]
pub struct RunOptions {
    pub(crate) ptr: RunOptionsPtr,
}

#[pymethods]
impl RunOptions {
    /// Options timing the runs made with them into `profiler` (instead of the
    /// session's profiler, if any).
    #[new]
    #[pyo3(signature = (profiler=None))]
    fn new(py: Python<'_>, profiler: Option<PyRef<'_, Profiler>>) -> PyResult<RunOptions> {
        let mut out = ptr::null_mut();
        // SAFETY: valid out-pointer.
        check_py(py, unsafe { sys::ronn_run_options_new(&mut out) })?;
        let opts = RunOptionsPtr(out);
        if let Some(p) = profiler {
            // SAFETY: live handles, used by this thread only; the options keep the profiler alive.
            check_py(py, unsafe { sys::ronn_run_options_set_profiler(opts.0, p.ptr.0) })?;
        }
        Ok(RunOptions { ptr: opts })
    }
}
