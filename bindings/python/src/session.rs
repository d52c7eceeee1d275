//! `Session`: one `ronn_session` handle, created with the GIL released, run by
//! many Python threads at once (the C session is thread-safe and this class is
//! frozen, so no borrow flag serializes calls). The metadata of the inputs and
//! outputs is copied once at creation. `run` blocks with the GIL released;
//! `run_async` submits through `ronn_session_run_async` (see `asyncrun`).
use std::collections::HashMap;
use std::ffi::{c_void, CStr, CString};
use std::ptr;
use std::sync::Mutex;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use pyo3::IntoPyObjectExt;
use ronn_sys as sys;

use crate::asyncrun::{submit, Request, Target};
use crate::dtype;
use crate::error::{check, check_py, invalid_argument, Failure};
use crate::memory_pool::{MemoryPool, PoolPtr};
use crate::profiler::{Profiler, RunOptions};
use crate::run::PreparedRun;
use crate::SendPtr;

/// One session handle, freed on drop.
pub struct SessionPtr(pub *mut sys::ronn_session);

// SAFETY: the C API documents every session function as thread-safe ("many
// threads may run one session at once"), and the handle is freed once, in Drop.
unsafe impl Send for SessionPtr {}
// SAFETY: as above.
unsafe impl Sync for SessionPtr {}

impl Drop for SessionPtr {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once; runs in progress hold their own reference.
        unsafe { sys::ronn_session_free(self.0) };
    }
}

/// Session options, freed on drop (they are copied into the session).
struct OptionsPtr(*mut sys::ronn_session_options);

impl Drop for OptionsPtr {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once; NULL is accepted.
        unsafe { sys::ronn_session_options_free(self.0) };
    }
}

/// One dimension of a declared shape.
#[derive(Clone, Debug)]
enum Dim {
    Fixed(i64),
    Named(String),
    Unknown,
}

/// Name, element type and shape of a model input or output (what onnxruntime
/// calls a `NodeArg`: `.name`, `.type`, `.shape`).
#[pyclass(frozen, module = "ronn._ronn", name = "ValueInfo")]
pub struct ValueInfo {
    name: String,
    dtype: u32,
    /// None when even the rank is unknown.
    shape: Option<Vec<Dim>>,
}

#[pymethods]
impl ValueInfo {
    /// The value's name.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// onnxruntime's type string, e.g. "tensor(float)".
    #[getter]
    fn r#type(&self) -> &'static str {
        dtype::onnx_type(self.dtype)
    }

    /// The numpy dtype name ("float32"), or None when unknown.
    #[getter]
    fn dtype(&self) -> Option<&'static str> {
        dtype::numpy_name(self.dtype)
    }

    /// The ONNX element type number (`ronn_dtype`).
    #[getter]
    fn onnx_dtype(&self) -> u32 {
        self.dtype
    }

    /// Dims as onnxruntime gives them: int when fixed, the symbol's name when
    /// symbolic, None when unknown; an empty list when the rank is unknown.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items: Vec<Bound<'py, PyAny>> = self
            .shape
            .iter()
            .flatten()
            .map(|d| match d {
                Dim::Fixed(n) => n.into_bound_py_any(py),
                Dim::Named(s) => s.into_bound_py_any(py),
                Dim::Unknown => Ok(py.None().into_bound(py)),
            })
            .collect::<PyResult<_>>()?;
        PyList::new(py, items)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let shape = self.shape(py)?.repr()?.to_string();
        Ok(format!("ValueInfo(name={:?}, type={:?}, shape={shape})", self.name, self.r#type()))
    }
}

impl ValueInfo {
    /// The name, for lookups.
    pub(crate) fn name_str(&self) -> &str {
        &self.name
    }

    /// The declared `ronn_dtype`.
    pub(crate) fn dtype_num(&self) -> u32 {
        self.dtype
    }

    fn clone_info(&self) -> ValueInfo {
        ValueInfo { name: self.name.clone(), dtype: self.dtype, shape: self.shape.clone() }
    }
}

/// Per-session run counters (the C API has none; kept here).
#[derive(Default)]
struct Stats {
    runs: u64,
    failed: u64,
    total: f64,
    min: f64,
    max: f64,
    last: f64,
}

/// A model prepared for running.
#[pyclass(frozen, module = "ronn._ronn", name = "Session")]
pub struct Session {
    pub(crate) ptr: SessionPtr,
    pub(crate) inputs: Vec<ValueInfo>,
    pub(crate) outputs: Vec<ValueInfo>,
    stats: Mutex<Stats>,
}

/// A C string argument, or InvalidArgument when it holds a NUL.
pub fn c_string(py: Python<'_>, s: &str, what: &str) -> PyResult<CString> {
    CString::new(s).map_err(|_| invalid_argument(py, format!("{what} {s:?} contains a NUL character")))
}

/// Reads one input's or output's metadata.
fn read_info(
    py: Python<'_>,
    s: *const sys::ronn_session,
    index: usize,
    f: unsafe extern "C" fn(*const sys::ronn_session, usize, *mut sys::ronn_value_info) -> sys::ronn_status,
) -> PyResult<ValueInfo> {
    let mut v = sys::ronn_value_info {
        struct_size: std::mem::size_of::<sys::ronn_value_info>() as u32,
        dtype: 0,
        name: ptr::null(),
        rank: -1,
        shape: ptr::null(),
        dim_names: ptr::null(),
    };
    // SAFETY: live session, valid out-struct with its struct_size set.
    check_py(py, unsafe { f(s, index, &mut v) })?;
    let name = if v.name.is_null() {
        String::new()
    } else {
        // SAFETY: non-NULL, NUL-terminated, lives as long as the session.
        unsafe { CStr::from_ptr(v.name) }.to_string_lossy().into_owned()
    };
    let shape = if v.rank < 0 {
        None
    } else {
        let rank = v.rank as usize;
        let dims = (0..rank)
            .map(|i| {
                // SAFETY: `shape` and `dim_names` hold `rank` entries when rank > 0.
                let d = if v.shape.is_null() { -1 } else { unsafe { *v.shape.add(i) } };
                // SAFETY: as above.
                let n = if v.dim_names.is_null() { ptr::null() } else { unsafe { *v.dim_names.add(i) } };
                if d >= 0 {
                    Dim::Fixed(d)
                } else if !n.is_null() {
                    // SAFETY: non-NULL, NUL-terminated, lives as long as the session.
                    Dim::Named(unsafe { CStr::from_ptr(n) }.to_string_lossy().into_owned())
                } else {
                    Dim::Unknown
                }
            })
            .collect();
        Some(dims)
    };
    Ok(ValueInfo { name, dtype: v.dtype, shape })
}

#[pymethods]
impl Session {
    /// Loads `model` (a path or the bytes of an ONNX model) with these options.
    #[new]
    #[pyo3(signature = (model, optimization_level=2, provider="cpu", num_threads=0, memory_pool=None, config=None, profiler=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        model: &Bound<'_, PyAny>,
        optimization_level: u32,
        provider: &str,
        num_threads: usize,
        memory_pool: Option<PyRef<'_, MemoryPool>>,
        config: Option<HashMap<String, String>>,
        profiler: Option<PyRef<'_, Profiler>>,
    ) -> PyResult<Session> {
        let mut o = ptr::null_mut();
        // SAFETY: valid out-pointer.
        check_py(py, unsafe { sys::ronn_session_options_new(&mut o) })?;
        let opts = OptionsPtr(o);
        // SAFETY: live options handle, used by this thread only.
        check_py(py, unsafe { sys::ronn_session_options_set_optimization_level(opts.0, optimization_level) })?;
        let p = c_string(py, provider, "provider")?;
        // SAFETY: live options handle; the string is read during the call only.
        check_py(py, unsafe { sys::ronn_session_options_set_provider(opts.0, p.as_ptr()) })?;
        // SAFETY: live options handle.
        check_py(py, unsafe { sys::ronn_session_options_set_num_threads(opts.0, num_threads) })?;
        if let Some(pool) = &memory_pool {
            // SAFETY: live options and pool handles; the options keep the pool alive.
            check_py(py, unsafe { sys::ronn_session_options_set_memory_pool(opts.0, pool.ptr.0) })?;
        }
        if let Some(p) = &profiler {
            // SAFETY: live options and profiler handles; the options and the session keep it alive.
            check_py(py, unsafe { sys::ronn_session_options_set_profiler(opts.0, p.ptr.0) })?;
        }
        let mut entries: Vec<(String, String)> = config.unwrap_or_default().into_iter().collect();
        entries.sort();
        for (k, v) in entries {
            let (kc, vc) = (c_string(py, &k, "option key")?, c_string(py, &v, "option value")?);
            // SAFETY: live options handle; strings are read during the call only.
            check_py(py, unsafe { sys::ronn_session_options_set(opts.0, kc.as_ptr(), vc.as_ptr()) })?;
        }

        let opts_ptr = SendPtr(opts.0 as *const sys::ronn_session_options);
        let created: Result<SendPtr<sys::ronn_session>, Failure> = if let Ok(bytes) = model.cast::<PyBytes>() {
            let data: &[u8] = bytes.as_bytes();
            let d = SendPtr(data.as_ptr());
            let len = data.len();
            py.detach(move || {
                let (d, opts_ptr) = (d, opts_ptr);
                let mut out = ptr::null_mut();
                // SAFETY: `bytes` (immutable) is referenced by the caller for the whole
                // call, so `len` bytes at `d` stay valid; options are live.
                let st = unsafe {
                    sys::ronn_session_new_from_memory(ptr::null(), d.0 as *const c_void, len, opts_ptr.0, &mut out)
                };
                check(st).map(|_| SendPtr(out as *const _))
            })
        } else if let Ok(path) = model.extract::<String>() {
            let c = c_string(py, &path, "model path")?;
            let cp = SendPtr(c.as_ptr());
            py.detach(move || {
                let (cp, opts_ptr) = (cp, opts_ptr);
                let mut out = ptr::null_mut();
                // SAFETY: `c` outlives the call; options are live.
                let st = unsafe { sys::ronn_session_new(ptr::null(), cp.0, opts_ptr.0, &mut out) };
                check(st).map(|_| SendPtr(out as *const _))
            })
        } else {
            return Err(invalid_argument(py, "model must be a path (str) or the model's bytes"));
        };
        let ptr = SessionPtr(created.map_err(|f| f.into_pyerr(py))?.0 as *mut _);

        let (mut n_in, mut n_out) = (0usize, 0usize);
        // SAFETY: live session, valid out-pointers.
        check_py(py, unsafe { sys::ronn_session_input_count(ptr.0, &mut n_in) })?;
        // SAFETY: as above.
        check_py(py, unsafe { sys::ronn_session_output_count(ptr.0, &mut n_out) })?;
        let inputs =
            (0..n_in).map(|i| read_info(py, ptr.0, i, sys::ronn_session_input_info)).collect::<PyResult<_>>()?;
        let outputs =
            (0..n_out).map(|i| read_info(py, ptr.0, i, sys::ronn_session_output_info)).collect::<PyResult<_>>()?;
        Ok(Session { ptr, inputs, outputs, stats: Mutex::new(Stats::default()) })
    }

    /// The model's inputs (constant initializers excluded).
    fn inputs(&self) -> Vec<ValueInfo> {
        self.inputs.iter().map(ValueInfo::clone_info).collect()
    }

    /// The model's outputs.
    fn outputs(&self) -> Vec<ValueInfo> {
        self.outputs.iter().map(ValueInfo::clone_info).collect()
    }

    /// Runs the model on `feeds` (name -> array-like) and returns the outputs named
    /// in `output_names` (all when None or empty), in that order, as numpy arrays.
    /// The GIL is released while RONN computes. `run_options` may attach a profiler.
    #[pyo3(signature = (feeds, output_names=None, run_options=None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        feeds: &Bound<'py, PyDict>,
        output_names: Option<Vec<String>>,
        run_options: Option<PyRef<'py, RunOptions>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let prepared = PreparedRun::new(py, self, feeds, output_names)?;
        let session = SendPtr(self.ptr.0 as *const sys::ronn_session);
        let opts = SendPtr(run_options.as_ref().map_or(ptr::null(), |o| o.ptr.0 as *const sys::ronn_run_options));
        let t0 = Instant::now();
        let result = py.detach(move || {
            let (session, opts) = (session, opts);
            prepared.execute(session.0, opts.0).map(|outs| (outs, prepared))
        });
        let secs = t0.elapsed().as_secs_f64();
        self.record(secs, result.is_ok());
        let (outs, prepared) = result.map_err(|f| f.into_pyerr(py))?;
        let arrays = outs.into_iter().map(|t| crate::tensor::output_array(py, t)).collect::<PyResult<Vec<_>>>();
        drop(prepared); // frees the input tensors with the GIL held
        arrays
    }

    /// Submits a run to RONN's threads and returns at once. `future` (asyncio's
    /// when `event_loop` is given, else a `concurrent.futures.Future`) receives
    /// `{name: array}` or the run's `RonnError`; the returned `Request` cancels
    /// it. Name errors are raised here; shape and dtype errors reach the future.
    #[pyo3(signature = (feeds, future, output_names=None, event_loop=None, run_options=None))]
    fn run_async(
        slf: &Bound<'_, Self>,
        feeds: &Bound<'_, PyDict>,
        future: Py<PyAny>,
        output_names: Option<Vec<String>>,
        event_loop: Option<Py<PyAny>>,
        run_options: Option<PyRef<'_, RunOptions>>,
    ) -> PyResult<Request> {
        let py = slf.py();
        let this = slf.get();
        let prepared = PreparedRun::new(py, this, feeds, output_names)?;
        let s = this.ptr.0 as *const sys::ronn_session;
        let opts = run_options.as_ref().map_or(ptr::null(), |o| o.ptr.0 as *const sys::ronn_run_options);
        let target = Target { event_loop, future };
        let session = Some(slf.clone().unbind());
        submit(py, prepared, feeds.clone().into_any().unbind(), target, session, |ins, ts, outs, done, req| {
            // SAFETY: live session and options (borrowed for the call; runs copy the
            // options); the arrays hold `len` valid entries for the call; `done`
            // and `req` are valid.
            unsafe {
                sys::ronn_session_run_async(
                    s,
                    opts,
                    ins.as_ptr(),
                    ts.as_ptr(),
                    ts.len(),
                    outs.as_ptr(),
                    outs.len(),
                    done,
                    req,
                )
            }
        })
    }

    /// Run counters of this session: runs, failed_runs, total_ms, mean_ms,
    /// min_ms, max_ms, last_ms.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let d = PyDict::new(py);
        d.set_item("runs", s.runs)?;
        d.set_item("failed_runs", s.failed)?;
        d.set_item("total_ms", s.total * 1e3)?;
        d.set_item("mean_ms", if s.runs > 0 { s.total * 1e3 / s.runs as f64 } else { 0.0 })?;
        d.set_item("min_ms", s.min * 1e3)?;
        d.set_item("max_ms", s.max * 1e3)?;
        d.set_item("last_ms", s.last * 1e3)?;
        Ok(d)
    }

    /// The memory pool the session's runs use, or None when it runs without one.
    fn memory_pool(&self, py: Python<'_>) -> PyResult<Option<MemoryPool>> {
        let mut out = ptr::null_mut();
        // SAFETY: live session, valid out-pointer.
        let st = unsafe { sys::ronn_session_memory_pool(self.ptr.0, &mut out) };
        if st == sys::RONN_STATUS_NOT_FOUND {
            return Ok(None);
        }
        check_py(py, st)?;
        Ok(Some(MemoryPool { ptr: PoolPtr(out) }))
    }
}

impl Session {
    /// Records one run's wall time (successful runs only count in the times).
    pub(crate) fn record(&self, secs: f64, ok: bool) {
        let mut s = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        if !ok {
            s.failed += 1;
            return;
        }
        s.min = if s.runs == 0 { secs } else { s.min.min(secs) };
        s.max = s.max.max(secs);
        s.runs += 1;
        s.total += secs;
        s.last = secs;
    }
}
