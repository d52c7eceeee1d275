//! Tensors across the boundary without copies. An input numpy array that is
//! C-contiguous, aligned, native-endian and of a RONN dtype is wrapped in place
//! (`ronn_tensor_new_borrowed`; the tensor holds a reference to the array until
//! RONN lets go, even when an output aliases it); anything else is first made so
//! by numpy (one copy); a list or scalar becomes an array of the declared type.
//! An output becomes a numpy array over the RONN tensor's memory whose base
//! object owns the tensor, so the tensor is freed with the array.
use std::ffi::c_void;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use numpy::npyffi::{self, npy_intp, NpyTypes, PY_ARRAY_API};
use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use ronn_sys as sys;

use crate::dtype;
use crate::error::{check, check_py, type_mismatch};

/// One `ronn_tensor` handle, freed on drop.
pub struct OwnedTensor(*mut sys::ronn_tensor);

// SAFETY: the C API documents every tensor function, `ronn_tensor_free` included,
// as thread-safe, and a handle is freed exactly once (by this owner's Drop).
unsafe impl Send for OwnedTensor {}
// SAFETY: as above; shared access only reads through thread-safe calls.
unsafe impl Sync for OwnedTensor {}

impl OwnedTensor {
    /// Takes ownership of a handle a RONN call returned (NULL stays empty).
    pub fn from_raw(t: *mut sys::ronn_tensor) -> OwnedTensor {
        OwnedTensor(t)
    }

    /// The handle, for passing to C.
    pub fn as_ptr(&self) -> *mut sys::ronn_tensor {
        self.0
    }
}

impl Drop for OwnedTensor {
    fn drop(&mut self) {
        // SAFETY: the handle came from RONN, is owned here and freed once; NULL is accepted.
        unsafe { sys::ronn_tensor_free(self.0) };
    }
}

/// Releases the array reference an input tensor held (the `ronn_deleter`).
unsafe extern "C" fn release_array(user_data: *mut c_void, _data: *mut c_void) {
    // Never unwind into C. Dropping a `Py` off the GIL defers the decref to pyo3's
    // reference pool, so this is safe on whatever thread RONN calls it.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `user_data` is the Box leaked by `wrap_input` and RONN calls the deleter once.
        drop(unsafe { Box::from_raw(user_data as *mut Py<PyAny>) });
    }));
}

/// Wraps one input (any array-like) as a tensor; `declared` is the model's dtype
/// for it (`RONN_DTYPE_UNDEFINED` when unknown).
pub fn wrap_input(py: Python<'_>, value: &Bound<'_, PyAny>, declared: u32) -> PyResult<OwnedTensor> {
    let mut arr = match value.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        // A list or scalar becomes an array of the declared type (an ndarray of
        // the wrong type is an error instead, as in onnxruntime).
        Err(_) => {
            let want = match declared {
                sys::RONN_DTYPE_BFLOAT16 | sys::RONN_DTYPE_STRING => None,
                d => dtype::numpy_name(d),
            };
            py.import("numpy")?.call_method1("asarray", (value, want))?.cast_into::<PyUntypedArray>()?
        }
    };
    let descr = arr.dtype();
    let Some(rdt) = dtype::from_numpy(&descr, declared) else {
        let name = descr.str().map(|s| s.to_string()).unwrap_or_default();
        return Err(type_mismatch(py, format!("numpy dtype {name} has no RONN element type")));
    };
    let aligned = {
        // SAFETY: `arr` is a live ndarray; its flags field is plain data.
        let flags = unsafe { (*arr.as_array_ptr()).fields.flags };
        flags & npyffi::NPY_ARRAY_ALIGNED != 0
    };
    if !arr.is_c_contiguous() || !aligned || descr.is_native_byteorder() == Some(false) {
        let native = descr.call_method1("newbyteorder", ("=",))?;
        arr = py.import("numpy")?.call_method1("ascontiguousarray", (&arr, native))?.cast_into::<PyUntypedArray>()?;
    }
    let shape: Vec<i64> = arr.shape().iter().map(|&d| d as i64).collect();
    let byte_len = arr.len() * arr.dtype().itemsize();
    // SAFETY: `arr` is a live ndarray; `data` points at its (now contiguous) elements.
    let data = unsafe { (*arr.as_array_ptr()).fields.data } as *const c_void;
    let keep = Box::into_raw(Box::new(arr.clone().into_any().unbind()));
    let mut out = ptr::null_mut();
    // SAFETY: `data` holds `byte_len` bytes that stay valid while `keep` (a strong
    // reference to the array) lives; RONN drops `keep` through `release_array` once
    // it no longer reads them. `shape` is read during the call only.
    let status = unsafe {
        sys::ronn_tensor_new_borrowed(
            rdt,
            shape.as_ptr(),
            shape.len(),
            data,
            byte_len,
            Some(release_array),
            keep as *mut c_void,
            &mut out,
        )
    };
    if let Err(f) = check(status) {
        // SAFETY: on failure the deleter is not called, so the Box is still ours.
        drop(unsafe { Box::from_raw(keep) });
        return Err(f.into_pyerr(py));
    }
    Ok(OwnedTensor(out))
}

/// Owns the RONN tensor behind an output array (the array's base object).
#[pyclass(frozen, module = "ronn._ronn", name = "TensorOwner")]
pub struct TensorOwner {
    tensor: OwnedTensor,
}

#[pymethods]
impl TensorOwner {
    /// Number of bytes of the tensor (diagnostics).
    #[getter]
    fn nbytes(&self) -> usize {
        let mut bytes = 0usize;
        // SAFETY: live handle; NULL `elements` is allowed.
        let status = unsafe { sys::ronn_tensor_size(self.tensor.as_ptr(), ptr::null_mut(), &mut bytes) };
        if status == sys::RONN_STATUS_OK {
            bytes
        } else {
            0
        }
    }
}

/// Makes a numpy array over an output tensor (no copy); the array owns it.
pub fn output_array<'py>(py: Python<'py>, tensor: OwnedTensor) -> PyResult<Bound<'py, PyAny>> {
    let t = tensor.as_ptr();
    let mut rdt = 0u32;
    // SAFETY: live handle, valid out-pointer.
    check_py(py, unsafe { sys::ronn_tensor_dtype(t, &mut rdt) })?;
    let Some(npy) = dtype::to_numpy(rdt) else {
        let name = dtype::numpy_name(rdt).unwrap_or("undefined");
        return Err(type_mismatch(py, format!("an output of element type {name} cannot be read from Python yet")));
    };
    let (mut shape_ptr, mut rank) = (ptr::null::<i64>(), 0usize);
    // SAFETY: live handle, valid out-pointers; the shape array lives as long as the handle.
    check_py(py, unsafe { sys::ronn_tensor_shape(t, &mut shape_ptr, &mut rank) })?;
    let mut dims: Vec<npy_intp> = if rank == 0 || shape_ptr.is_null() {
        Vec::new()
    } else {
        // SAFETY: RONN returned `rank` dims at `shape_ptr`, valid while the handle lives.
        unsafe { std::slice::from_raw_parts(shape_ptr, rank) }.iter().map(|&d| d as npy_intp).collect()
    };
    let mut elements = 0usize;
    // SAFETY: live handle; NULL `bytes` is allowed.
    check_py(py, unsafe { sys::ronn_tensor_size(t, &mut elements, ptr::null_mut()) })?;
    // Writable when RONN allocated it for this output alone; read-only when it
    // aliases an input or shared memory.
    let (mut data, mut flags) = (ptr::null_mut::<c_void>(), npyffi::NPY_ARRAY_CARRAY);
    // SAFETY: live handle, valid out-pointer.
    if unsafe { sys::ronn_tensor_data_mut(t, &mut data) } != sys::RONN_STATUS_OK {
        let mut ro = ptr::null::<c_void>();
        // SAFETY: live handle, valid out-pointer.
        let status = unsafe { sys::ronn_tensor_data(t, &mut ro) };
        if elements > 0 {
            check_py(py, status)?;
        }
        data = ro as *mut c_void;
        flags = npyffi::NPY_ARRAY_CARRAY_RO;
    }
    if data.is_null() {
        // An empty tensor: numpy allocates the (zero-byte) buffer itself.
        flags = 0;
    }
    // SAFETY: the numpy C API is initialised by PY_ARRAY_API on first use; the
    // returned descriptor is a new reference that PyArray_NewFromDescr steals.
    let descr = unsafe { PY_ARRAY_API.PyArray_DescrFromType(py, npy as c_int) };
    if descr.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `dims` holds `rank` sizes; `data` (when non-NULL) holds the tensor's
    // elements, C-contiguous and aligned, valid while the tensor handle lives,
    // which the base object set below guarantees.
    let raw = unsafe {
        PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, NpyTypes::PyArray_Type),
            descr,
            dims.len() as c_int,
            dims.as_mut_ptr(),
            ptr::null_mut(),
            data,
            flags,
            ptr::null_mut(),
        )
    };
    if raw.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `raw` is a new, non-NULL reference.
    let arr = unsafe { Bound::from_owned_ptr(py, raw) };
    if !data.is_null() {
        let owner = Bound::new(py, TensorOwner { tensor })?;
        // SAFETY: `raw` is an ndarray; SetBaseObject steals the owner reference.
        let rc = unsafe { PY_ARRAY_API.PyArray_SetBaseObject(py, raw as *mut npyffi::PyArrayObject, owner.into_ptr()) };
        if rc < 0 {
            return Err(PyErr::fetch(py));
        }
    }
    Ok(arr)
}
