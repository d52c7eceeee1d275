//! `ronn_session`: a model prepared for running, its inputs' and outputs'
//! metadata, and `ronn_session_run`.

use crate::env::{env_or_default, ronn_env, Env};
use crate::error::{boundary, ronn_status, CError, CResult};
use crate::handle::{self, Kind, Object};
use crate::memory_pool::{ronn_memory_pool, Pool};
use crate::run_options::{ronn_run_options, run_options_arg};
use crate::session_options::{ronn_session_options, Options};
use crate::tensor::{copy_into, cstr_arg, ronn_tensor, TensorObj};
use ronn::{Dim, Model, Outputs, Session, SessionOptions, Tensor, TensorInfo, Value};
use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

/// Opaque session handle.
pub struct ronn_session {
    _private: [u8; 0],
}

/// Name, dtype and shape of a model input or output. Set `struct_size =
/// sizeof(ronn_value_info)` before the call. Every pointer is borrowed and lives
/// as long as the session.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_value_info {
    /// `sizeof(ronn_value_info)`, so the struct can grow.
    pub struct_size: u32,
    /// Element type (`ronn_dtype`; `RONN_DTYPE_UNDEFINED` when unknown or not a tensor).
    pub dtype: u32,
    /// The value's name (NUL-terminated UTF-8).
    pub name: *const c_char,
    /// Number of dimensions, or -1 when even the rank is unknown.
    pub rank: i64,
    /// `rank` dims; -1 for a symbolic or unknown dim. NULL when rank <= 0.
    pub shape: *const i64,
    /// `rank` names: the symbol of a symbolic dim (`"batch"`), NULL for a fixed
    /// or unknown one. NULL when rank <= 0.
    pub dim_names: *const *const c_char,
}

/// C copies of one value's metadata, kept for the session's lifetime.
struct InfoC {
    name: CString,
    dtype: u32,
    rank: i64,
    shape: Vec<i64>,
    dim_names: Vec<Option<CString>>,
    dim_name_ptrs: Vec<*const c_char>,
}

// SAFETY: the raw pointers in `dim_name_ptrs` point into `dim_names` (owned by
// the same struct, never mutated after construction); only read access is given.
unsafe impl Send for InfoC {}
// SAFETY: as above.
unsafe impl Sync for InfoC {}

impl InfoC {
    fn new(i: &TensorInfo) -> InfoC {
        let name = CString::new(i.name.replace('\0', "")).unwrap_or_default();
        let dtype = i.dtype.map(|d| d.to_onnx() as u32).unwrap_or(0);
        let (rank, shape, dim_names) = match &i.shape {
            None => (-1, Vec::new(), Vec::new()),
            Some(dims) => (
                dims.len() as i64,
                dims.iter().map(|d| if let Dim::Known(n) = d { *n as i64 } else { -1 }).collect(),
                dims.iter()
                    .map(|d| match d {
                        Dim::Symbolic(s) => CString::new(s.replace('\0', "")).ok(),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            ),
        };
        let dim_name_ptrs = dim_names.iter().map(|n| n.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())).collect();
        InfoC { name, dtype, rank, shape, dim_names, dim_name_ptrs }
    }

    fn to_c(&self) -> ronn_value_info {
        let _ = &self.dim_names;
        ronn_value_info {
            struct_size: std::mem::size_of::<ronn_value_info>() as u32,
            dtype: self.dtype,
            name: self.name.as_ptr(),
            rank: self.rank,
            shape: if self.shape.is_empty() { std::ptr::null() } else { self.shape.as_ptr() },
            dim_names: if self.dim_name_ptrs.is_empty() { std::ptr::null() } else { self.dim_name_ptrs.as_ptr() },
        }
    }
}

/// The object behind a `ronn_session`.
pub struct SessionObj {
    /// The engine's session (an `Arc`: async runs and batch queues hold it too).
    pub session: Arc<Session>,
    inputs: Vec<InfoC>,
    outputs: Vec<InfoC>,
    _env: Arc<Env>,
}

impl Object for SessionObj {
    const KIND: Kind = Kind::Session;
}

fn options_arg(opts: *const ronn_session_options) -> CResult<SessionOptions> {
    if opts.is_null() {
        Ok(SessionOptions::default())
    } else {
        Ok(handle::get::<Options, _>(opts, "opts")?.snapshot())
    }
}

fn make_session(env: Arc<Env>, model: Model, opts: SessionOptions, out: *mut *mut ronn_session) -> CResult {
    let session = model.create_session(opts)?;
    let inputs = session.inputs().iter().map(InfoC::new).collect();
    let outputs = session.outputs().iter().map(InfoC::new).collect();
    let h = handle::new_handle::<SessionObj, ronn_session>(Arc::new(SessionObj {
        session: Arc::new(session),
        inputs,
        outputs,
        _env: env,
    }));
    // SAFETY: callers check `out` is non-NULL first.
    unsafe { *out = h };
    Ok(())
}

/// Loads the ONNX model at `model_path` and prepares a session for it.
/// `env` NULL means the default env; `opts` NULL means the default options.
///
/// Thread-safe. Strings are read during the call only. `*out` is a new handle
/// freed with `ronn_session_free`; it keeps `env` and the options' memory pool
/// alive (they may be freed first). Errors: `RONN_STATUS_IO`,
/// `RONN_STATUS_INVALID_MODEL`, `RONN_STATUS_UNSUPPORTED_OP`.
#[no_mangle]
pub extern "C" fn ronn_session_new(
    env: *const ronn_env,
    model_path: *const c_char,
    opts: *const ronn_session_options,
    out: *mut *mut ronn_session,
) -> ronn_status {
    boundary("ronn_session_new", || {
        let e = env_or_default(env)?;
        let path = cstr_arg(model_path, "model_path")?;
        let o = options_arg(opts)?;
        if out.is_null() {
            return Err(CError::null("out"));
        }
        make_session(e, Model::load(path)?, o, out)
    })
}

/// As `ronn_session_new`, from the `len` bytes of an ONNX model in memory
/// (read during the call only; the caller keeps ownership).
///
/// Thread-safe. `*out` is a new handle freed with `ronn_session_free`.
#[no_mangle]
pub extern "C" fn ronn_session_new_from_memory(
    env: *const ronn_env,
    data: *const c_void,
    len: usize,
    opts: *const ronn_session_options,
    out: *mut *mut ronn_session,
) -> ronn_status {
    boundary("ronn_session_new_from_memory", || {
        let e = env_or_default(env)?;
        if data.is_null() {
            return Err(CError::null("data"));
        }
        let o = options_arg(opts)?;
        if out.is_null() {
            return Err(CError::null("out"));
        }
        // SAFETY: non-NULL; the caller promises `len` readable bytes during the call.
        let bytes = unsafe { std::slice::from_raw_parts(data as *const u8, len) };
        make_session(e, Model::from_bytes(bytes)?, o, out)
    })
}

fn count(session: *const ronn_session, out: *mut usize, outputs: bool) -> CResult {
    let s = handle::get::<SessionObj, _>(session, "session")?;
    if out.is_null() {
        return Err(CError::null("out"));
    }
    let n = if outputs { s.outputs.len() } else { s.inputs.len() };
    // SAFETY: non-NULL out-parameter.
    unsafe { *out = n };
    Ok(())
}

fn info(session: *const ronn_session, index: usize, out: *mut ronn_value_info, outputs: bool) -> CResult {
    let s = handle::get::<SessionObj, _>(session, "session")?;
    if out.is_null() {
        return Err(CError::null("out"));
    }
    // SAFETY: non-NULL; the caller promises a ronn_value_info whose first field is struct_size.
    let size = unsafe { (*out).struct_size } as usize;
    if size < std::mem::size_of::<ronn_value_info>() {
        return Err(CError::arg("out->struct_size is smaller than sizeof(ronn_value_info)"));
    }
    let list = if outputs { &s.outputs } else { &s.inputs };
    let i = list.get(index).ok_or_else(|| {
        CError::new(
            ronn_status::RONN_STATUS_NOT_FOUND,
            format!(
                "index {index} out of range: the model has {} {}",
                list.len(),
                if outputs { "outputs" } else { "inputs" }
            ),
        )
    })?;
    // SAFETY: checked non-NULL and large enough; the pointers inside live as long as the session object.
    unsafe { out.write(i.to_c()) };
    Ok(())
}

/// The number of inputs the model takes (constant initializers excluded).
///
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ronn_session_input_count(session: *const ronn_session, out: *mut usize) -> ronn_status {
    boundary("ronn_session_input_count", || count(session, out, false))
}

/// The number of outputs a run returns.
///
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ronn_session_output_count(session: *const ronn_session, out: *mut usize) -> ronn_status {
    boundary("ronn_session_output_count", || count(session, out, true))
}

/// Name, dtype and shape (symbolic dims named) of input `index`.
///
/// Thread-safe. Borrowed strings and arrays live as long as the session.
#[no_mangle]
pub extern "C" fn ronn_session_input_info(
    session: *const ronn_session,
    index: usize,
    out: *mut ronn_value_info,
) -> ronn_status {
    boundary("ronn_session_input_info", || info(session, index, out, false))
}

/// Name, dtype and shape (symbolic dims named) of output `index`.
///
/// Thread-safe. Borrowed strings and arrays live as long as the session.
#[no_mangle]
pub extern "C" fn ronn_session_output_info(
    session: *const ronn_session,
    index: usize,
    out: *mut ronn_value_info,
) -> ronn_status {
    boundary("ronn_session_output_info", || info(session, index, out, true))
}

/// A new handle to the memory pool the session's runs use (its own or a
/// shared one). `RONN_STATUS_NOT_FOUND` when the session runs without a pool.
///
/// Thread-safe. `*out` is freed with `ronn_memory_pool_free`.
#[no_mangle]
pub extern "C" fn ronn_session_memory_pool(
    session: *const ronn_session,
    out: *mut *mut ronn_memory_pool,
) -> ronn_status {
    boundary("ronn_session_memory_pool", || {
        let s = handle::get::<SessionObj, _>(session, "session")?;
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let p = s
            .session
            .memory_pool()
            .ok_or_else(|| CError::new(ronn_status::RONN_STATUS_NOT_FOUND, "the session runs without a memory pool"))?;
        let h = handle::new_handle::<Pool, _>(Arc::new(Pool(p.clone())));
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = h };
        Ok(())
    })
}

fn names<'a>(p: *const *const c_char, n: usize, arg: &str) -> CResult<Vec<&'a str>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(CError::null(arg));
    }
    // SAFETY: non-NULL; the caller promises `n` readable pointers.
    let ptrs = unsafe { std::slice::from_raw_parts(p, n) };
    ptrs.iter().enumerate().map(|(i, &s)| cstr_arg(s, &format!("{arg}[{i}]"))).collect()
}

/// The `n_in` named inputs of a run as engine values: views of the tensors (no
/// copy) that keep their handles' objects alive, so the handles may be freed
/// once the call returns.
pub(crate) fn feeds_arg(
    in_names: *const *const c_char,
    inputs: *const *const ronn_tensor,
    n_in: usize,
) -> CResult<Vec<(String, Value)>> {
    let in_names = names(in_names, n_in, "in_names")?;
    if n_in > 0 && inputs.is_null() {
        return Err(CError::null("inputs"));
    }
    let in_handles: &[*const ronn_tensor] =
        // SAFETY: non-NULL when n_in > 0; the caller promises n_in readable handles.
        if n_in == 0 { &[] } else { unsafe { std::slice::from_raw_parts(inputs, n_in) } };
    let mut feeds = Vec::with_capacity(n_in);
    for (i, (&name, &h)) in in_names.iter().zip(in_handles).enumerate() {
        let t = handle::get::<TensorObj, _>(h, &format!("inputs[{i}]"))?;
        feeds.push((name.to_string(), Value::Tensor(t.view()?)));
    }
    Ok(feeds)
}

impl SessionObj {
    /// The `n_out` output names asked for, each checked against the model;
    /// `n_out == 0` with `all_if_none` means every output in the model's order.
    pub(crate) fn output_names_arg(
        &self,
        out_names: *const *const c_char,
        n_out: usize,
        all_if_none: bool,
    ) -> CResult<Vec<String>> {
        if n_out == 0 && all_if_none {
            return Ok(self.outputs.iter().map(|o| o.name.to_string_lossy().into_owned()).collect());
        }
        let wanted = names(out_names, n_out, "out_names")?;
        for &name in &wanted {
            if !self.outputs.iter().any(|o| o.name.to_bytes() == name.as_bytes()) {
                let known: Vec<_> = self.outputs.iter().map(|o| o.name.to_string_lossy().into_owned()).collect();
                return Err(CError::new(
                    ronn_status::RONN_STATUS_NOT_FOUND,
                    format!("the model has no output named '{name}'; its outputs are {known:?}"),
                ));
            }
        }
        Ok(wanted.into_iter().map(str::to_string).collect())
    }
}

/// Picks `names` out of a run's outputs, in that order, moving each tensor out
/// (no copy); a name asked twice gets a cheap clone.
pub(crate) fn select_outputs(result: Outputs, names: &[String]) -> CResult<Vec<Tensor>> {
    let mut values: Vec<(String, Option<Value>)> = result.into_iter().map(|(k, v)| (k, Some(v))).collect();
    let mut got: Vec<Tensor> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let slot = values.iter_mut().find(|(k, _)| k == name).ok_or_else(|| {
            CError::new(ronn_status::RONN_STATUS_NOT_FOUND, format!("the run returned no output '{name}'"))
        })?;
        let t = match slot.1.take() {
            Some(Value::Tensor(t)) => t,
            Some(_) => {
                return Err(CError::new(
                    ronn_status::RONN_STATUS_TYPE_MISMATCH,
                    format!("output '{name}' is not a tensor (sequences and optionals are not in the C API yet)"),
                ))
            }
            None => match names[..i].iter().position(|n| n == name) {
                Some(j) => got[j].clone(),
                None => return Err(CError::new(ronn_status::RONN_STATUS_INTERNAL, "output taken twice")),
            },
        };
        got.push(t);
    }
    Ok(got)
}

/// Runs the model.
///
/// `in_names[i]` names the input `inputs[i]` (`n_in` of each). `out_names`
/// lists the `n_out` outputs wanted; for each, `outputs[i]` is either NULL, and
/// receives a new tensor the caller frees with `ronn_tensor_free`, or a tensor
/// from `ronn_tensor_new` with the output's exact dtype and shape, written in
/// place. `run_options` may be NULL (defaults) or attach a profiler to this run.
///
/// Thread-safe: many threads may run one session at once. Inputs are only
/// read; their memory must stay unchanged during the call. On failure no
/// output slot is written (preallocated outputs are checked for dtype and shape
/// before any is written).
#[no_mangle]
pub extern "C" fn ronn_session_run(
    session: *const ronn_session,
    run_options: *const ronn_run_options,
    in_names: *const *const c_char,
    inputs: *const *const ronn_tensor,
    n_in: usize,
    out_names: *const *const c_char,
    outputs: *mut *mut ronn_tensor,
    n_out: usize,
) -> ronn_status {
    boundary("ronn_session_run", || {
        let s = handle::get::<SessionObj, _>(session, "session")?;
        let run_opts = run_options_arg(run_options)?;
        let feeds = feeds_arg(in_names, inputs, n_in)?;
        let out_names = s.output_names_arg(out_names, n_out, false)?;
        if n_out > 0 && outputs.is_null() {
            return Err(CError::null("outputs"));
        }
        // SAFETY: non-NULL when n_out > 0; the caller promises n_out read/write slots.
        let slots: &mut [*mut ronn_tensor] =
            if n_out == 0 { &mut [] } else { unsafe { std::slice::from_raw_parts_mut(outputs, n_out) } };
        // Check the preallocated outputs before running.
        let mut pre: Vec<Option<Arc<TensorObj>>> = Vec::with_capacity(n_out);
        for (i, &slot) in slots.iter().enumerate() {
            pre.push(if slot.is_null() {
                None
            } else {
                Some(handle::get::<TensorObj, _>(slot, &format!("outputs[{i}]"))?)
            });
        }
        let result = s.session.run_with_options(feeds, &run_opts)?;
        let got = select_outputs(result, &out_names)?;
        for (p, t) in pre.iter().zip(&got) {
            if let Some(p) = p {
                let d = p.read();
                if d.dtype() != t.dtype() || d.shape() != t.shape() {
                    drop(d);
                    copy_into(p, t)?; // reports the mismatch
                }
            }
        }
        for (p, t) in pre.iter().zip(&got) {
            if let Some(p) = p {
                copy_into(p, t)?;
            }
        }
        for ((p, t), slot) in pre.into_iter().zip(got).zip(slots.iter_mut()) {
            if p.is_none() {
                *slot = handle::new_handle::<TensorObj, ronn_tensor>(Arc::new(TensorObj::new(t)));
            }
        }
        Ok(())
    })
}

/// Frees a session handle. NULL is accepted. Runs in progress on other threads
/// finish first (they hold their own reference); outputs already returned stay valid.
///
/// Thread-safe, but a handle must be freed once.
#[no_mangle]
pub extern "C" fn ronn_session_free(session: *mut ronn_session) {
    boundary("ronn_session_free", || handle::remove::<SessionObj, _>(session, "session"));
}
