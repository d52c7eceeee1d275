//! `NativeSession`: one `ronn_session` handle and the metadata of its inputs
//! and outputs (copied once at creation). Created synchronously from a path or
//! from the bytes of a model; `run` submits an async run (see `run.rs`).
//! Dropped by the GC or by `release()`; runs in flight keep the C session
//! alive on their own (the C API holds a reference per run).
use std::ffi::{CStr, CString};
use std::ptr;

use napi::bindgen_prelude::{Object, Uint8Array};
use napi::Env;
use napi_derive::napi;
use ronn_sys as sys;

use crate::error::{self, check, invalid_argument, Result};

/// One session handle, freed on drop.
pub struct SessionPtr(pub *mut sys::ronn_session);

impl Drop for SessionPtr {
    fn drop(&mut self) {
        // SAFETY: an owned handle, freed once; NULL is accepted; runs in
        // progress hold their own reference inside RONN.
        unsafe { sys::ronn_session_free(self.0) };
    }
}

/// Session options, freed on drop (a session copies them).
struct OptionsPtr(*mut sys::ronn_session_options);

impl Drop for OptionsPtr {
    fn drop(&mut self) {
        // SAFETY: an owned handle, freed once; NULL is accepted.
        unsafe { sys::ronn_session_options_free(self.0) };
    }
}

/// Settings of a new session (each optional: RONN's default when absent).
#[napi(object)]
pub struct SessionConfig {
    /// 0..3 (O0..O3).
    pub optimization_level: Option<u32>,
    /// "cpu", "gpu", "bitnet", "wasm".
    pub provider: Option<String>,
    /// Threads of the session's pool; 0 means one per core.
    pub num_threads: Option<u32>,
}

/// Name, element type and shape of a model input or output.
#[napi(object)]
#[derive(Clone)]
pub struct ValueInfo {
    /// The value's name.
    pub name: String,
    /// ONNX element type number (`ronn_dtype`; 0 when unknown).
    pub dtype: u32,
    /// Number of dims, -1 when unknown.
    pub rank: i64,
    /// `rank` dims, -1 for a symbolic or unknown one.
    pub shape: Vec<i64>,
    /// `rank` entries: the symbol of a symbolic dim, null otherwise.
    pub dim_names: Vec<Option<String>>,
}

/// A loaded model, ready to run.
#[napi]
pub struct NativeSession {
    handle: Option<SessionPtr>,
    inputs: Vec<ValueInfo>,
    outputs: Vec<ValueInfo>,
}

/// A NUL-terminated copy of `s`; INVALID_ARGUMENT if it holds a NUL.
pub fn c_string(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| invalid_argument(format!("{what} {s:?} contains a NUL character")))
}

/// Options with `config` applied.
fn options(config: &SessionConfig) -> Result<OptionsPtr> {
    let mut raw = ptr::null_mut();
    // SAFETY: `raw` is a valid out-pointer.
    check(unsafe { sys::ronn_session_options_new(&mut raw) })?;
    let opts = OptionsPtr(raw);
    if let Some(level) = config.optimization_level {
        // SAFETY: `opts.0` is a live options handle used by this thread only.
        check(unsafe { sys::ronn_session_options_set_optimization_level(opts.0, level) })?;
    }
    if let Some(provider) = &config.provider {
        let p = c_string(provider, "provider")?;
        // SAFETY: live handle; `p` is NUL-terminated and read during the call only.
        check(unsafe { sys::ronn_session_options_set_provider(opts.0, p.as_ptr()) })?;
    }
    if let Some(n) = config.num_threads {
        // SAFETY: live handle.
        check(unsafe { sys::ronn_session_options_set_num_threads(opts.0, n as usize) })?;
    }
    Ok(opts)
}

/// Reads input (`output == false`) or output `index` of `session`.
fn read_info(session: *const sys::ronn_session, index: usize, output: bool) -> Result<ValueInfo> {
    let mut info = sys::ronn_value_info {
        struct_size: std::mem::size_of::<sys::ronn_value_info>() as u32,
        dtype: 0,
        name: ptr::null(),
        rank: -1,
        shape: ptr::null(),
        dim_names: ptr::null(),
    };
    // SAFETY: `session` is live; `info` is a valid out-struct with struct_size set.
    let status = unsafe {
        if output {
            sys::ronn_session_output_info(session, index, &mut info)
        } else {
            sys::ronn_session_input_info(session, index, &mut info)
        }
    };
    check(status)?;
    let name = if info.name.is_null() {
        String::new()
    } else {
        // SAFETY: a NUL-terminated string borrowed from the live session.
        unsafe { CStr::from_ptr(info.name) }.to_string_lossy().into_owned()
    };
    let rank = usize::try_from(info.rank).unwrap_or(0);
    let mut shape = Vec::with_capacity(rank);
    let mut dim_names = Vec::with_capacity(rank);
    for i in 0..rank {
        if !info.shape.is_null() {
            // SAFETY: `shape` holds `rank` dims, borrowed from the live session.
            shape.push(unsafe { *info.shape.add(i) });
        } else {
            shape.push(-1);
        }
        let sym = if info.dim_names.is_null() {
            ptr::null()
        } else {
            // SAFETY: `dim_names` holds `rank` entries, borrowed from the live session.
            unsafe { *info.dim_names.add(i) }
        };
        dim_names.push(if sym.is_null() {
            None
        } else {
            // SAFETY: a non-NULL entry is a NUL-terminated string owned by the session.
            Some(unsafe { CStr::from_ptr(sym) }.to_string_lossy().into_owned())
        });
    }
    Ok(ValueInfo { name, dtype: info.dtype, rank: info.rank, shape, dim_names })
}

impl NativeSession {
    /// Wraps a new handle and reads its metadata.
    fn wrap(raw: *mut sys::ronn_session) -> Result<NativeSession> {
        let handle = SessionPtr(raw);
        let (mut n_in, mut n_out) = (0usize, 0usize);
        // SAFETY: live session; valid out-pointers.
        check(unsafe { sys::ronn_session_input_count(handle.0, &mut n_in) })?;
        // SAFETY: as above.
        check(unsafe { sys::ronn_session_output_count(handle.0, &mut n_out) })?;
        let inputs = (0..n_in).map(|i| read_info(handle.0, i, false)).collect::<Result<_>>()?;
        let outputs = (0..n_out).map(|i| read_info(handle.0, i, true)).collect::<Result<_>>()?;
        Ok(NativeSession { handle: Some(handle), inputs, outputs })
    }

    /// The live handle, or INVALID_HANDLE after `release()`.
    pub(crate) fn raw(&self) -> Result<*const sys::ronn_session> {
        match &self.handle {
            Some(h) => Ok(h.0),
            None => Err(error::failure(sys::RONN_STATUS_INVALID_HANDLE, "the session was released")),
        }
    }
}

#[napi]
impl NativeSession {
    /// Loads the ONNX model at `path` (IO, INVALID_MODEL, UNSUPPORTED_OP, ...).
    #[napi(factory)]
    pub fn from_path(path: String, config: SessionConfig) -> Result<NativeSession> {
        let opts = options(&config)?;
        let p = c_string(&path, "model path")?;
        let mut raw = ptr::null_mut();
        // SAFETY: `p` is NUL-terminated; `opts.0` is live; `raw` is a valid out-pointer.
        check(unsafe { sys::ronn_session_new(ptr::null(), p.as_ptr(), opts.0, &mut raw) })?;
        NativeSession::wrap(raw)
    }

    /// Loads a model from the bytes of an ONNX file (read during the call only).
    #[napi(factory)]
    pub fn from_bytes(bytes: Uint8Array, config: SessionConfig) -> Result<NativeSession> {
        let opts = options(&config)?;
        let data: &[u8] = &bytes;
        let mut raw = ptr::null_mut();
        // SAFETY: `data` is valid for `data.len()` bytes during the call (the
        // Uint8Array holds a reference to its buffer); `raw` is a valid out-pointer.
        check(unsafe {
            sys::ronn_session_new_from_memory(ptr::null(), data.as_ptr().cast(), data.len(), opts.0, &mut raw)
        })?;
        NativeSession::wrap(raw)
    }

    /// The model's inputs.
    #[napi]
    pub fn inputs(&self) -> Vec<ValueInfo> {
        self.inputs.clone()
    }

    /// The model's outputs.
    #[napi]
    pub fn outputs(&self) -> Vec<ValueInfo> {
        self.outputs.clone()
    }

    /// Frees the handle now (runs in flight finish first); later runs fail
    /// with INVALID_HANDLE.
    #[napi]
    pub fn release(&mut self) {
        self.handle = None;
    }

    /// Submits a run; the Promise resolves with a `RunResult` (outputs, or a
    /// `code` and `message`) from RONN's completion thread. `data[i]` holds
    /// the bytes of input `names[i]`; `zero_copy` wraps them without a copy
    /// (the caller keeps them unchanged until the Promise settles).
    #[napi(ts_return_type = "Promise<RunResult>")]
    #[allow(clippy::too_many_arguments)]
    pub fn run<'env>(
        &self,
        env: &'env Env,
        names: Vec<String>,
        dtypes: Vec<u32>,
        dims: Vec<Vec<i64>>,
        data: Vec<Uint8Array>,
        out_names: Vec<String>,
        zero_copy: bool,
    ) -> Result<Object<'env>> {
        let session = self.raw()?;
        crate::run::submit(env, session, names, dtypes, dims, data, out_names, zero_copy)
    }
}
