//! `ronn_tensor`: a dtype, a shape and contiguous row-major data, either
//! allocated by RONN (writable) or a read-only view of caller memory (borrowed,
//! with an optional deleter called exactly once when the last user drops it).

use crate::error::{boundary, ronn_status, CError, CResult};
use crate::handle::{self, Kind, Object};
use ronn::{bf16, f16, DType, Tensor, TensorData};
use ronn_core::Storage;
use std::any::Any;
use std::ffi::{c_char, c_void, CStr};
use std::sync::{Arc, RwLock};

/// Opaque tensor handle.
pub struct ronn_tensor {
    _private: [u8; 0],
}

/// Element types, numbered as ONNX's `TensorProto.DataType`. Functions take
/// them as `uint32_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ronn_dtype {
    /// Unknown or not a tensor (metadata only).
    RONN_DTYPE_UNDEFINED = 0,
    /// `float`
    RONN_DTYPE_FLOAT32 = 1,
    /// `uint8_t`
    RONN_DTYPE_UINT8 = 2,
    /// `int8_t`
    RONN_DTYPE_INT8 = 3,
    /// `uint16_t`
    RONN_DTYPE_UINT16 = 4,
    /// `int16_t`
    RONN_DTYPE_INT16 = 5,
    /// `int32_t`
    RONN_DTYPE_INT32 = 6,
    /// `int64_t`
    RONN_DTYPE_INT64 = 7,
    /// Strings (not readable through the C API yet).
    RONN_DTYPE_STRING = 8,
    /// `bool` (one byte, 0 or 1)
    RONN_DTYPE_BOOL = 9,
    /// IEEE half (`uint16_t` bits)
    RONN_DTYPE_FLOAT16 = 10,
    /// `double`
    RONN_DTYPE_FLOAT64 = 11,
    /// `uint32_t`
    RONN_DTYPE_UINT32 = 12,
    /// `uint64_t`
    RONN_DTYPE_UINT64 = 13,
    /// bfloat16 (`uint16_t` bits)
    RONN_DTYPE_BFLOAT16 = 16,
}

/// Called once with `(user_data, data)` when RONN no longer needs borrowed memory.
/// It may run on any thread (the one dropping the last reference).
pub type ronn_deleter = Option<unsafe extern "C" fn(user_data: *mut c_void, data: *mut c_void)>;

/// The object behind a `ronn_tensor`.
pub struct TensorObj {
    /// The tensor; written in place only when it is a preallocated output.
    pub tensor: RwLock<Tensor>,
    /// Shape as C sees it (borrowed by `ronn_tensor_shape`).
    pub dims: Vec<i64>,
    /// Whether RONN allocated the memory (writable through `ronn_tensor_data_mut`).
    pub writable: bool,
}

impl Object for TensorObj {
    const KIND: Kind = Kind::Tensor;
}

impl TensorObj {
    /// Wraps a tensor; owned storage stays writable, anything else is read-only.
    pub fn new(t: Tensor) -> TensorObj {
        let t = to_owned_if_unique(t);
        let writable = is_owned(&t);
        TensorObj { dims: t.shape().iter().map(|&d| d as i64).collect(), tensor: RwLock::new(t), writable }
    }

    /// Reads the tensor.
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Tensor> {
        self.tensor.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A view of this tensor that keeps `self` alive (no copy): what a run consumes.
    pub fn view(self: &Arc<Self>) -> CResult<Tensor> {
        let t = self.read();
        if !self.writable {
            return Ok(t.clone()); // borrowed or shared storage: clones are cheap
        }
        let owner: Arc<dyn Any + Send + Sync> = self.clone();
        macro_rules! v {
            ($($var:ident),*) => {
                match t.data() {
                    $(TensorData::$var(s) => {
                        let sl = s.as_slice();
                        // SAFETY: the buffer belongs to `self` (kept alive by `owner`); RONN
                        // never reallocates a writable tensor's buffer, and the C contract says
                        // the caller does not write it while a run reads it.
                        TensorData::$var(unsafe { Storage::borrowed(sl.as_ptr(), sl.len(), owner) })
                    })*
                    other => other.clone(),
                }
            };
        }
        let data = v!(F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, Bool);
        Ok(Tensor::new(t.shape().to_vec(), data)?)
    }
}

fn is_owned(t: &Tensor) -> bool {
    macro_rules! o {
        ($($var:ident),*) => {
            match t.data() {
                $(TensorData::$var(Storage::Owned(_)) => true,)*
                _ => false,
            }
        };
    }
    o!(F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, Bool)
}

/// Moves shared storage held by nobody else into owned storage (no copy).
fn to_owned_if_unique(t: Tensor) -> Tensor {
    let (shape, data) = t.into_parts();
    macro_rules! u {
        ($($var:ident),*) => {
            match data {
                $(TensorData::$var(s) => TensorData::$var(match s.take_vec() { Ok(v) => Storage::Owned(v), Err(s) => s }),)*
                other => other,
            }
        };
    }
    let data = u!(F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, Bool);
    // Shape and data came from a valid tensor, so this cannot fail.
    match Tensor::new(shape.clone(), data) {
        Ok(t) => t,
        Err(_) => Tensor::zeros(DType::Float32, vec![0]).unwrap_or_else(|_| unreachable!()),
    }
}

/// A C dtype value as a RONN dtype the C API can hold.
pub fn dtype_arg(v: u32) -> CResult<DType> {
    match DType::from_onnx(v as i32) {
        Some(d)
            if matches!(
                d,
                DType::Float32
                    | DType::Float64
                    | DType::Float16
                    | DType::BFloat16
                    | DType::Int8
                    | DType::Int16
                    | DType::Int32
                    | DType::Int64
                    | DType::UInt8
                    | DType::UInt16
                    | DType::UInt32
                    | DType::UInt64
                    | DType::Bool
            ) =>
        {
            Ok(d)
        }
        _ => Err(CError::new(
            ronn_status::RONN_STATUS_TYPE_MISMATCH,
            format!("dtype {v} is not a numeric or bool ronn_dtype"),
        )),
    }
}

/// Reads a required NUL-terminated UTF-8 string argument.
pub fn cstr_arg<'a>(p: *const c_char, arg: &str) -> CResult<&'a str> {
    if p.is_null() {
        return Err(CError::null(arg));
    }
    // SAFETY: non-NULL; the caller promises a NUL-terminated string valid during the call.
    unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| CError::arg(format!("argument '{arg}' is not UTF-8")))
}

/// Reads a shape argument (`rank` dims, none negative). `shape` may be NULL when `rank` is 0.
pub fn shape_arg(shape: *const i64, rank: usize) -> CResult<Vec<usize>> {
    if rank == 0 {
        return Ok(Vec::new());
    }
    if shape.is_null() {
        return Err(CError::null("shape"));
    }
    // SAFETY: non-NULL; the caller promises `rank` readable int64_t values.
    let dims = unsafe { std::slice::from_raw_parts(shape, rank) };
    dims.iter()
        .map(|&d| usize::try_from(d).map_err(|_| CError::arg(format!("negative dimension {d} in shape {dims:?}"))))
        .collect()
}

fn elements(shape: &[usize]) -> CResult<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| CError::arg("shape overflows"))
}

fn write_out(out: *mut *mut ronn_tensor, obj: TensorObj) {
    let h = handle::new_handle::<TensorObj, ronn_tensor>(Arc::new(obj));
    // SAFETY: callers check `out` is non-NULL before building the tensor.
    unsafe { *out = h };
}

/// Allocates a zero-filled, writable tensor.
///
/// Thread-safe. `shape` (NULL allowed when `rank` is 0) is read during the call.
/// `*out` is a new handle freed with `ronn_tensor_free`.
#[no_mangle]
pub extern "C" fn ronn_tensor_new(
    dtype: u32,
    shape: *const i64,
    rank: usize,
    out: *mut *mut ronn_tensor,
) -> ronn_status {
    boundary("ronn_tensor_new", || {
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let d = dtype_arg(dtype)?;
        let s = shape_arg(shape, rank)?;
        elements(&s)?;
        let t = Tensor::zeros(d, s)?;
        write_out(out, TensorObj::new(t));
        Ok(())
    })
}

/// The guard whose drop calls the C deleter exactly once.
struct Deleter {
    f: ronn_deleter,
    user_data: usize,
    data: usize,
}

impl Drop for Deleter {
    fn drop(&mut self) {
        if let Some(f) = self.f {
            // SAFETY: the caller gave this deleter with these arguments; it runs once, here.
            unsafe { f(self.user_data as *mut c_void, self.data as *mut c_void) };
        }
    }
}

/// Wraps `byte_len` bytes of caller memory at `data` as a read-only tensor
/// without copying. `byte_len` must equal the element count times the dtype's
/// size, and `data` must be aligned for the dtype (bool bytes must be 0 or 1).
///
/// Ownership: on success RONN calls `deleter(user_data, data)` exactly once,
/// on the thread that drops the last reference (the tensor handle, or a run's
/// output that aliases it), after which the memory is the caller's again. With a
/// NULL deleter the caller keeps the memory valid and unchanged until the
/// handle and every output of a run that used it are freed. On failure the
/// deleter is not called. Thread-safe; many runs may read the tensor at once,
/// and nobody may write the memory meanwhile.
#[no_mangle]
pub extern "C" fn ronn_tensor_new_borrowed(
    dtype: u32,
    shape: *const i64,
    rank: usize,
    data: *const c_void,
    byte_len: usize,
    deleter: ronn_deleter,
    user_data: *mut c_void,
    out: *mut *mut ronn_tensor,
) -> ronn_status {
    boundary("ronn_tensor_new_borrowed", || {
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let d = dtype_arg(dtype)?;
        let s = shape_arg(shape, rank)?;
        let n = elements(&s)?;
        let size = d.size_of();
        let want = n.checked_mul(size).ok_or_else(|| CError::arg("shape overflows"))?;
        if byte_len != want {
            return Err(CError::new(
                ronn_status::RONN_STATUS_SHAPE_MISMATCH,
                format!("byte_len {byte_len} != {want} ({n} elements of {} bytes for shape {s:?})", size),
            ));
        }
        if data.is_null() && n > 0 {
            return Err(CError::null("data"));
        }
        if n > 0 && (data as usize) % size != 0 {
            return Err(CError::arg(format!("data is not aligned to {size} bytes for {}", d.name())));
        }
        if d == DType::Bool && n > 0 {
            // SAFETY: non-NULL, `n` readable bytes as checked above.
            let bytes = unsafe { std::slice::from_raw_parts(data as *const u8, n) };
            if bytes.iter().any(|&b| b > 1) {
                return Err(CError::arg("bool data holds a byte other than 0 or 1"));
            }
        }
        let owner: Arc<dyn Any + Send + Sync> =
            Arc::new(Deleter { f: deleter, user_data: user_data as usize, data: data as usize });
        macro_rules! b {
            ($($dt:ident => $var:ident : $ty:ty),*) => {
                match d {
                    $(DType::$dt => {
                        // An empty tensor may have a NULL pointer: use a dangling aligned one.
                        let p = if n == 0 { std::ptr::NonNull::<$ty>::dangling().as_ptr() as *const $ty } else { data as *const $ty };
                        // SAFETY: the caller promises `data` is valid for `byte_len` bytes
                        // (checked equal to n elements, alignment checked) and unchanged until
                        // the deleter runs, which happens when `owner` drops.
                        TensorData::$var(unsafe { Storage::borrowed(p, n, owner) })
                    })*
                    _ => unreachable!("dtype_arg admits only the listed types"),
                }
            };
        }
        let td = b!(Float32 => F32: f32, Float64 => F64: f64, Float16 => F16: f16, BFloat16 => BF16: bf16,
            Int8 => I8: i8, Int16 => I16: i16, Int32 => I32: i32, Int64 => I64: i64, UInt8 => U8: u8,
            UInt16 => U16: u16, UInt32 => U32: u32, UInt64 => U64: u64, Bool => Bool: bool);
        let t = Tensor::new(s, td)?;
        write_out(out, TensorObj::new(t));
        Ok(())
    })
}

/// The tensor's dtype (a `ronn_dtype` value).
///
/// Thread-safe. Writes only `*out`.
#[no_mangle]
pub extern "C" fn ronn_tensor_dtype(tensor: *const ronn_tensor, out: *mut u32) -> ronn_status {
    boundary("ronn_tensor_dtype", || {
        let t = handle::get::<TensorObj, _>(tensor, "tensor")?;
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let d = t.read().dtype().to_onnx() as u32;
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = d };
        Ok(())
    })
}

/// The tensor's shape: `*rank` dims at `*shape` (NULL when the rank is 0).
///
/// Thread-safe. The array is borrowed and lives as long as the handle.
#[no_mangle]
pub extern "C" fn ronn_tensor_shape(
    tensor: *const ronn_tensor,
    shape: *mut *const i64,
    rank: *mut usize,
) -> ronn_status {
    boundary("ronn_tensor_shape", || {
        let t = handle::get::<TensorObj, _>(tensor, "tensor")?;
        if shape.is_null() {
            return Err(CError::null("shape"));
        }
        if rank.is_null() {
            return Err(CError::null("rank"));
        }
        let p = if t.dims.is_empty() { std::ptr::null() } else { t.dims.as_ptr() };
        // SAFETY: non-NULL out-parameters; `dims` lives as long as the object, which
        // the handle keeps alive.
        unsafe {
            *shape = p;
            *rank = t.dims.len();
        }
        Ok(())
    })
}

/// The number of elements and the size of the data in bytes (either may be NULL).
///
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ronn_tensor_size(tensor: *const ronn_tensor, elements: *mut usize, bytes: *mut usize) -> ronn_status {
    boundary("ronn_tensor_size", || {
        let t = handle::get::<TensorObj, _>(tensor, "tensor")?;
        let g = t.read();
        let n = g.len();
        let b = n * g.dtype().size_of();
        // SAFETY: optional out-parameters, written when non-NULL.
        unsafe {
            if !elements.is_null() {
                *elements = n;
            }
            if !bytes.is_null() {
                *bytes = b;
            }
        }
        Ok(())
    })
}

fn data_ptr(t: &Tensor) -> CResult<*const c_void> {
    macro_rules! p {
        ($($var:ident),*) => {
            match t.data() {
                $(TensorData::$var(s) => s.as_slice().as_ptr() as *const c_void,)*
                _ => return Err(CError::new(ronn_status::RONN_STATUS_TYPE_MISMATCH,
                    format!("{} data cannot be read through the C API", t.dtype().name()))),
            }
        };
    }
    Ok(p!(F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, Bool))
}

/// The tensor's elements, read-only (row-major, contiguous).
///
/// Thread-safe. Borrowed: valid as long as the handle (and, for a borrowed
/// tensor, the caller's memory).
#[no_mangle]
pub extern "C" fn ronn_tensor_data(tensor: *const ronn_tensor, out: *mut *const c_void) -> ronn_status {
    boundary("ronn_tensor_data", || {
        let t = handle::get::<TensorObj, _>(tensor, "tensor")?;
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let p = data_ptr(&t.read())?;
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = p };
        Ok(())
    })
}

/// The elements of a tensor RONN allocated (`ronn_tensor_new`, or a run's
/// output), writable. A borrowed tensor answers `RONN_STATUS_INVALID_ARGUMENT`.
///
/// Thread-safe call; borrowed pointer, valid as long as the handle. The caller
/// must not write while a run (on any thread) reads the tensor.
#[no_mangle]
pub extern "C" fn ronn_tensor_data_mut(tensor: *mut ronn_tensor, out: *mut *mut c_void) -> ronn_status {
    boundary("ronn_tensor_data_mut", || {
        let t = handle::get::<TensorObj, _>(tensor, "tensor")?;
        if out.is_null() {
            return Err(CError::null("out"));
        }
        if !t.writable {
            return Err(CError::arg("the tensor is read-only (borrowed or shared memory)"));
        }
        let p = data_ptr(&t.read())? as *mut c_void;
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = p };
        Ok(())
    })
}

/// Copies `src` into the writable tensor `dst` (same dtype and shape): how a
/// preallocated output is filled.
pub fn copy_into(dst: &TensorObj, src: &Tensor) -> CResult {
    if !dst.writable {
        return Err(CError::arg("a preallocated output must be a tensor RONN allocated (not borrowed)"));
    }
    let mut d = dst.tensor.write().unwrap_or_else(|e| e.into_inner());
    if d.dtype() != src.dtype() {
        return Err(CError::new(
            ronn_status::RONN_STATUS_TYPE_MISMATCH,
            format!("preallocated output is {} but the output is {}", d.dtype().name(), src.dtype().name()),
        ));
    }
    if d.shape() != src.shape() {
        return Err(CError::new(
            ronn_status::RONN_STATUS_SHAPE_MISMATCH,
            format!("preallocated output has shape {:?} but the output has shape {:?}", d.shape(), src.shape()),
        ));
    }
    macro_rules! c {
        ($($var:ident),*) => {
            match (d.data_mut(), src.data()) {
                $((TensorData::$var(Storage::Owned(a)), TensorData::$var(b)) => a.copy_from_slice(b.as_slice()),)*
                _ => return Err(CError::new(ronn_status::RONN_STATUS_INTERNAL, "preallocated output storage mismatch")),
            }
        };
    }
    c!(F32, F64, F16, BF16, I8, I16, I32, I64, U8, U16, U32, U64, Bool);
    Ok(())
}

/// Frees a tensor handle. NULL is accepted. Memory a run still uses stays
/// alive until that use ends; a borrowed tensor's deleter runs when the last
/// user lets go.
///
/// Thread-safe, but a handle must be freed once.
#[no_mangle]
pub extern "C" fn ronn_tensor_free(tensor: *mut ronn_tensor) {
    boundary("ronn_tensor_free", || handle::remove::<TensorObj, _>(tensor, "tensor"));
}
