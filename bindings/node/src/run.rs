//! One async run: the inputs are wrapped on the JS thread (copied, or borrowed
//! when zero-copy is asked for), submitted with `ronn_session_run_async`, and
//! the completion callback — on a RONN completion thread, never the JS thread
//! nor the libuv pool — copies the outputs out of their tensors, frees them and
//! settles the Promise through a napi deferred (a threadsafe function that is
//! released once it has been called, so the process can exit afterwards).
//!
//! Errors are not rejections here: the Promise resolves with a `RunResult`
//! holding `code` and `message`, and `index.js` throws the `Error` with that
//! `code` (napi's deferred rejects only with napi's own status codes). Nothing
//! panics across the callback: its body runs under `catch_unwind`.
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::{Buffer, Object, Uint8Array};
use napi::Env;
use napi::JsDeferred;
use napi_derive::napi;
use ronn_sys as sys;

use crate::error::{self, check, invalid_argument, status_name, Result};
use crate::session::c_string;

/// One output of a run, its bytes copied out of RONN's tensor.
#[napi(object)]
pub struct NativeTensor {
    /// The output's name.
    pub name: String,
    /// ONNX element type number.
    pub dtype: u32,
    /// The dims.
    pub dims: Vec<i64>,
    /// The elements, row-major.
    pub data: Buffer,
}

/// What a run's Promise resolves with: outputs, or a failure's `code` and `message`.
#[napi(object)]
pub struct RunResult {
    /// The outputs asked for, in order (empty on failure).
    pub outputs: Vec<NativeTensor>,
    /// The status name on failure ("SHAPE_MISMATCH", ...).
    pub code: Option<String>,
    /// RONN's message on failure.
    pub message: Option<String>,
}

/// An output read on the completion thread (plain data: Send).
struct Output {
    dtype: u32,
    dims: Vec<i64>,
    data: Vec<u8>,
}

/// The outcome handed from the completion thread to the JS thread.
type Outcome = std::result::Result<Vec<Output>, (String, String)>;

/// Runs on the JS thread when the deferred is settled.
type Resolver = Box<dyn FnOnce(Env) -> napi::Result<RunResult>>;
type Deferred = JsDeferred<RunResult, Resolver>;

/// Everything the callback needs, boxed and passed as `user_data`.
struct Pending {
    deferred: Deferred,
    /// The JS arrays the inputs came from: referenced until the Promise
    /// settles, so borrowed (zero-copy) memory outlives the run.
    keep: Vec<Uint8Array>,
    out_names: Vec<String>,
}

/// An input tensor handle, freed on drop (right after submission: the run
/// holds its own reference).
struct TensorPtr(*mut sys::ronn_tensor);

impl Drop for TensorPtr {
    fn drop(&mut self) {
        // SAFETY: an owned handle, freed once; NULL is accepted.
        unsafe { sys::ronn_tensor_free(self.0) };
    }
}

/// Settles the deferred with `outcome`; `keep` is dropped on the JS thread.
fn settle(deferred: Deferred, keep: Vec<Uint8Array>, out_names: Vec<String>, outcome: Outcome) {
    deferred.resolve(Box::new(move |_env: Env| {
        drop(keep);
        Ok(match outcome {
            Ok(outs) => RunResult {
                outputs: out_names
                    .into_iter()
                    .zip(outs)
                    .map(|(name, o)| NativeTensor { name, dtype: o.dtype, dims: o.dims, data: Buffer::from(o.data) })
                    .collect(),
                code: None,
                message: None,
            },
            Err((code, message)) => RunResult { outputs: Vec::new(), code: Some(code), message: Some(message) },
        })
    }));
}

/// Copies one output tensor out (the caller frees it).
fn read_output(t: *const sys::ronn_tensor) -> std::result::Result<Output, (String, String)> {
    let fail = |status: u32| (status_name(status), error::last_message());
    let mut dtype = 0u32;
    // SAFETY: `t` is a live tensor handle owned by this callback; valid out-pointer.
    let s = unsafe { sys::ronn_tensor_dtype(t, &mut dtype) };
    if s != sys::RONN_STATUS_OK {
        return Err(fail(s));
    }
    let (mut shape, mut rank) = (ptr::null::<i64>(), 0usize);
    // SAFETY: as above; the shape array is borrowed for the handle's life.
    let s = unsafe { sys::ronn_tensor_shape(t, &mut shape, &mut rank) };
    if s != sys::RONN_STATUS_OK {
        return Err(fail(s));
    }
    let dims = if shape.is_null() || rank == 0 {
        Vec::new()
    } else {
        // SAFETY: `shape` holds `rank` dims while the handle lives.
        unsafe { std::slice::from_raw_parts(shape, rank) }.to_vec()
    };
    let mut bytes = 0usize;
    // SAFETY: live handle; NULL is allowed for the element count.
    let s = unsafe { sys::ronn_tensor_size(t, ptr::null_mut(), &mut bytes) };
    if s != sys::RONN_STATUS_OK {
        return Err(fail(s));
    }
    let mut data = Vec::new();
    if bytes > 0 {
        let mut p = ptr::null::<c_void>();
        // SAFETY: live handle; valid out-pointer.
        let s = unsafe { sys::ronn_tensor_data(t, &mut p) };
        if s != sys::RONN_STATUS_OK {
            return Err(fail(s));
        }
        if p.is_null() {
            return Err((status_name(sys::RONN_STATUS_INTERNAL), "an output has no data".to_owned()));
        }
        // SAFETY: `p` points at `bytes` readable bytes while the handle lives.
        data.extend_from_slice(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), bytes) });
    }
    Ok(Output { dtype, dims, data })
}

/// Reads and frees every output; the outcome of the run.
fn collect(
    status: u32,
    message: *const c_char,
    outputs: *const *mut sys::ronn_tensor,
    n: usize,
    want: usize,
) -> Outcome {
    let tensors: Vec<*mut sys::ronn_tensor> = if outputs.is_null() || n == 0 {
        Vec::new()
    } else {
        // SAFETY: the callback contract: `outputs` holds `n` entries, borrowed for the call.
        unsafe { std::slice::from_raw_parts(outputs, n) }.to_vec()
    };
    // Each tensor now belongs to us: free every one, whatever happens below.
    let owned: Vec<TensorPtr> = tensors.into_iter().map(TensorPtr).collect();
    if status != sys::RONN_STATUS_OK {
        let msg = if message.is_null() {
            String::new()
        } else {
            // SAFETY: a NUL-terminated string borrowed for the call.
            unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
        };
        return Err((status_name(status), msg));
    }
    if owned.len() != want {
        return Err((
            status_name(sys::RONN_STATUS_INTERNAL),
            format!("{} outputs asked for, {} delivered", want, owned.len()),
        ));
    }
    owned.iter().map(|t| read_output(t.0)).collect()
}

/// The completion callback (a RONN completion thread; runs exactly once).
unsafe extern "C" fn on_complete(
    user_data: *mut c_void,
    status: sys::ronn_status,
    message: *const c_char,
    outputs: *const *mut sys::ronn_tensor,
    n: usize,
) {
    if user_data.is_null() {
        return;
    }
    // SAFETY: `user_data` is the Box<Pending> leaked by `submit`, and the
    // callback runs exactly once, so it is reclaimed exactly once.
    let pending = unsafe { Box::from_raw(user_data.cast::<Pending>()) };
    let Pending { deferred, keep, out_names } = *pending;
    let want = out_names.len();
    let outcome = catch_unwind(AssertUnwindSafe(|| collect(status, message, outputs, n, want)))
        .unwrap_or_else(|_| Err((status_name(sys::RONN_STATUS_PANIC), "panic while reading the outputs".to_owned())));
    // Settling only queues a call to the JS thread; a panic here would abort
    // (extern "C"), so it is caught and dropped too.
    let _ = catch_unwind(AssertUnwindSafe(move || settle(deferred, keep, out_names, outcome)));
}

/// Wraps one input: a borrowed tensor over `bytes` (zero-copy) or a copy.
fn wrap_input(name: &str, dtype: u32, dims: &[i64], bytes: &[u8], zero_copy: bool) -> Result<TensorPtr> {
    let mut raw = ptr::null_mut();
    if zero_copy && !bytes.is_empty() {
        // SAFETY: `dims` holds `dims.len()` entries; `bytes` stays valid and
        // unchanged until the run's callback has run (its JS array is referenced
        // by `Pending::keep`, and the caller promises not to write it). No deleter:
        // the output tensors (which may alias it) are freed inside the callback.
        let s = unsafe {
            sys::ronn_tensor_new_borrowed(
                dtype,
                dims.as_ptr(),
                dims.len(),
                bytes.as_ptr().cast(),
                bytes.len(),
                None,
                ptr::null_mut(),
                &mut raw,
            )
        };
        check(s).map_err(|e| named(name, e))?;
        return Ok(TensorPtr(raw));
    }
    // SAFETY: `dims` holds `dims.len()` entries; `raw` is a valid out-pointer.
    check(unsafe { sys::ronn_tensor_new(dtype, dims.as_ptr(), dims.len(), &mut raw) }).map_err(|e| named(name, e))?;
    let t = TensorPtr(raw);
    let mut size = 0usize;
    // SAFETY: live handle; NULL allowed for the element count.
    check(unsafe { sys::ronn_tensor_size(t.0, ptr::null_mut(), &mut size) })?;
    if size != bytes.len() {
        return Err(invalid_argument(format!(
            "input '{name}': {} bytes of data for dims {dims:?} ({size} bytes expected)",
            bytes.len()
        )));
    }
    if size > 0 {
        let mut p = ptr::null_mut::<c_void>();
        // SAFETY: a tensor RONN allocated, not yet shared: writable.
        check(unsafe { sys::ronn_tensor_data_mut(t.0, &mut p) })?;
        if p.is_null() {
            return Err(error::failure(sys::RONN_STATUS_INTERNAL, "a new tensor has no data"));
        }
        // SAFETY: `p` points at `size` writable bytes that no one else uses yet.
        let dst = unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), size) };
        if dtype == sys::RONN_DTYPE_BOOL {
            // RONN reads bools as Rust `bool`: only 0 and 1 are valid.
            for (d, s) in dst.iter_mut().zip(bytes) {
                *d = u8::from(*s != 0);
            }
        } else {
            dst.copy_from_slice(bytes);
        }
    }
    Ok(t)
}

/// Prefixes an error with the input it concerns.
fn named(name: &str, e: napi::Error<String>) -> napi::Error<String> {
    let status = e.status.clone();
    napi::Error::new(status, format!("input '{name}': {}", e.reason))
}

/// Builds the inputs, submits the run and returns its Promise.
#[allow(clippy::too_many_arguments)]
pub fn submit<'env>(
    env: &'env Env,
    session: *const sys::ronn_session,
    names: Vec<String>,
    dtypes: Vec<u32>,
    dims: Vec<Vec<i64>>,
    data: Vec<Uint8Array>,
    out_names: Vec<String>,
    zero_copy: bool,
) -> Result<Object<'env>> {
    let n = names.len();
    if dtypes.len() != n || dims.len() != n || data.len() != n {
        return Err(invalid_argument("names, dtypes, dims and data differ in length"));
    }
    let c_in: Vec<CString> = names.iter().map(|s| c_string(s, "input name")).collect::<Result<_>>()?;
    let c_out: Vec<CString> = out_names.iter().map(|s| c_string(s, "output name")).collect::<Result<_>>()?;
    let mut inputs = Vec::with_capacity(n);
    for i in 0..n {
        inputs.push(wrap_input(&names[i], dtypes[i], &dims[i], &data[i], zero_copy)?);
    }
    let in_ptrs: Vec<*const c_char> = c_in.iter().map(|c| c.as_ptr()).collect();
    let out_ptrs: Vec<*const c_char> = c_out.iter().map(|c| c.as_ptr()).collect();
    let t_ptrs: Vec<*const sys::ronn_tensor> = inputs.iter().map(|t| t.0 as *const _).collect();

    let (deferred, promise) = env
        .create_deferred::<RunResult, Resolver>()
        .map_err(|e| error::failure(sys::RONN_STATUS_INTERNAL, e.reason.clone()))?;
    let pending = Box::into_raw(Box::new(Pending { deferred, keep: data, out_names }));
    let done = sys::ronn_completion {
        struct_size: std::mem::size_of::<sys::ronn_completion>() as u32,
        callback: Some(on_complete),
        user_data: pending.cast(),
    };
    // SAFETY: `session` is live (the NativeSession holds it); every array holds
    // the stated number of valid entries for the call; `done` is copied during
    // the call; the borrowed input memory is kept alive by `Pending::keep`.
    let status = unsafe {
        sys::ronn_session_run_async(
            session,
            ptr::null(),
            in_ptrs.as_ptr(),
            t_ptrs.as_ptr(),
            t_ptrs.len(),
            out_ptrs.as_ptr(),
            out_ptrs.len(),
            &done,
            ptr::null_mut(),
        )
    };
    if status != sys::RONN_STATUS_OK {
        let message = error::last_message();
        // SAFETY: submission failed, so the callback never runs and `pending`
        // (leaked just above) is still ours to reclaim, once.
        let Pending { deferred, keep, out_names } = *unsafe { Box::from_raw(pending) };
        settle(deferred, keep, out_names, Err((status_name(status), message)));
    }
    // The input handles go now: the run holds its own references.
    drop(inputs);
    Ok(promise)
}
