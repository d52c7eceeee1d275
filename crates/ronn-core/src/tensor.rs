//! [`Tensor`]: a dtype, a shape and row-major contiguous storage.
//!
//! Storage is owned (`Vec`), shared (`Arc`, so initializers and graph constants
//! are never copied per run) or borrowed from memory someone else owns (the C ABI
//! and the SDKs wrap caller buffers this way). Mutating a shared or borrowed
//! tensor copies it first.

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use half::{bf16, f16};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Memory that something else owns, kept alive by `owner`.
pub struct Borrowed<T> {
    ptr: *const T,
    len: usize,
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: `Borrowed` only hands out shared `&[T]` views of memory that `_owner`
// keeps alive and that its creator promised not to mutate while borrowed.
unsafe impl<T: Sync> Send for Borrowed<T> {}
// SAFETY: as above; only shared access is ever given.
unsafe impl<T: Sync> Sync for Borrowed<T> {}

/// The elements of one tensor.
pub enum Storage<T> {
    /// A vector this tensor owns.
    Owned(Vec<T>),
    /// A vector shared with other tensors (constants, initializers).
    Shared(Arc<Vec<T>>),
    /// Memory owned elsewhere.
    Borrowed(Borrowed<T>),
}

impl<T: Clone> Storage<T> {
    /// Storage over `len` elements at `ptr`, kept alive by `owner`.
    ///
    /// # Safety
    /// `ptr` must be valid for reads of `len` elements, aligned for `T`, and the
    /// memory must stay valid and unchanged for as long as `owner` lives.
    pub unsafe fn borrowed(ptr: *const T, len: usize, owner: Arc<dyn Any + Send + Sync>) -> Self {
        Storage::Borrowed(Borrowed { ptr, len, _owner: owner })
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        match self {
            Storage::Owned(v) => v,
            Storage::Shared(v) => v,
            Storage::Borrowed(b) => {
                if b.len == 0 {
                    return &[];
                }
                // SAFETY: the creator of `Borrowed` guaranteed `ptr` is valid and
                // aligned for `len` reads while `_owner` (held by `b`) lives.
                unsafe { std::slice::from_raw_parts(b.ptr, b.len) }
            }
        }
    }

    /// Mutable elements; shared or borrowed storage is copied into an owned vector first.
    pub fn make_mut(&mut self) -> &mut [T] {
        if !matches!(self, Storage::Owned(_)) {
            let v = self.as_slice().to_vec();
            *self = Storage::Owned(v);
        }
        match self {
            Storage::Owned(v) => v,
            _ => unreachable!("converted to owned above"),
        }
    }

    /// The elements as an owned vector (moves when owned and unshared).
    pub fn into_vec(self) -> Vec<T> {
        match self {
            Storage::Owned(v) => v,
            Storage::Shared(a) => Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone()),
            Storage::Borrowed(b) => Storage::Borrowed(b).as_slice().to_vec(),
        }
    }

    /// Turns owned storage into shared storage, so clones are cheap.
    pub fn into_shared(self) -> Self {
        match self {
            Storage::Owned(v) => Storage::Shared(Arc::new(v)),
            other => other,
        }
    }

    /// Whether the memory is owned by someone else.
    pub fn is_borrowed(&self) -> bool {
        matches!(self, Storage::Borrowed(_))
    }

    /// The vector, when this storage owns it alone (no copy); `self` otherwise.
    pub fn take_vec(self) -> std::result::Result<Vec<T>, Self> {
        match self {
            Storage::Owned(v) => Ok(v),
            Storage::Shared(a) => Arc::try_unwrap(a).map_err(Storage::Shared),
            b @ Storage::Borrowed(_) => Err(b),
        }
    }
}

impl<T: Clone> Clone for Storage<T> {
    fn clone(&self) -> Self {
        match self {
            Storage::Owned(v) => Storage::Owned(v.clone()),
            Storage::Shared(a) => Storage::Shared(a.clone()),
            Storage::Borrowed(b) => Storage::Borrowed(Borrowed { ptr: b.ptr, len: b.len, _owner: b._owner.clone() }),
        }
    }
}

impl<T> From<Vec<T>> for Storage<T> {
    fn from(v: Vec<T>) -> Self {
        Storage::Owned(v)
    }
}

/// The typed elements of a tensor, one variant per supported [`DType`] (the
/// low-precision types share [`TensorData::Small`]).
#[derive(Clone)]
pub enum TensorData {
    F32(Storage<f32>),
    F64(Storage<f64>),
    F16(Storage<f16>),
    BF16(Storage<bf16>),
    I8(Storage<i8>),
    I16(Storage<i16>),
    I32(Storage<i32>),
    I64(Storage<i64>),
    U8(Storage<u8>),
    U16(Storage<u16>),
    U32(Storage<u32>),
    U64(Storage<u64>),
    Bool(Storage<bool>),
    Str(Storage<String>),
    /// A low-precision type (float8, float4, int4/uint4, int2/uint2), one byte per
    /// element: float codes as is, 4-/2-bit integers sign-extended (see [`crate::lowp`]).
    Small {
        dtype: DType,
        data: Storage<u8>,
    },
}

macro_rules! for_each_data {
    ($data:expr, $s:ident => $body:expr) => {
        match $data {
            TensorData::F32($s) => $body,
            TensorData::F64($s) => $body,
            TensorData::F16($s) => $body,
            TensorData::BF16($s) => $body,
            TensorData::I8($s) => $body,
            TensorData::I16($s) => $body,
            TensorData::I32($s) => $body,
            TensorData::I64($s) => $body,
            TensorData::U8($s) => $body,
            TensorData::U16($s) => $body,
            TensorData::U32($s) => $body,
            TensorData::U64($s) => $body,
            TensorData::Bool($s) => $body,
            TensorData::Str($s) => $body,
            TensorData::Small { data: $s, .. } => $body,
        }
    };
}

/// Like `for_each_data!`, rewrapping the body's `Vec` in the same variant.
macro_rules! for_each_data_map {
    ($data:expr, $s:ident => $body:expr) => {
        match $data {
            TensorData::F32($s) => TensorData::F32($body.into()),
            TensorData::F64($s) => TensorData::F64($body.into()),
            TensorData::F16($s) => TensorData::F16($body.into()),
            TensorData::BF16($s) => TensorData::BF16($body.into()),
            TensorData::I8($s) => TensorData::I8($body.into()),
            TensorData::I16($s) => TensorData::I16($body.into()),
            TensorData::I32($s) => TensorData::I32($body.into()),
            TensorData::I64($s) => TensorData::I64($body.into()),
            TensorData::U8($s) => TensorData::U8($body.into()),
            TensorData::U16($s) => TensorData::U16($body.into()),
            TensorData::U32($s) => TensorData::U32($body.into()),
            TensorData::U64($s) => TensorData::U64($body.into()),
            TensorData::Bool($s) => TensorData::Bool($body.into()),
            TensorData::Str($s) => TensorData::Str($body.into()),
            TensorData::Small { dtype, data: $s } => {
                TensorData::Small { dtype: DType::clone(&dtype), data: $body.into() }
            }
        }
    };
}

impl TensorData {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::Float32,
            TensorData::F64(_) => DType::Float64,
            TensorData::F16(_) => DType::Float16,
            TensorData::BF16(_) => DType::BFloat16,
            TensorData::I8(_) => DType::Int8,
            TensorData::I16(_) => DType::Int16,
            TensorData::I32(_) => DType::Int32,
            TensorData::I64(_) => DType::Int64,
            TensorData::U8(_) => DType::UInt8,
            TensorData::U16(_) => DType::UInt16,
            TensorData::U32(_) => DType::UInt32,
            TensorData::U64(_) => DType::UInt64,
            TensorData::Bool(_) => DType::Bool,
            TensorData::Str(_) => DType::String,
            TensorData::Small { dtype, .. } => *dtype,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        for_each_data!(self, s => s.as_slice().len())
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` default elements (zeros, false, empty strings) of `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> Result<TensorData> {
        if dtype == DType::String {
            return Ok(TensorData::Str(vec![String::new(); n].into()));
        }
        if dtype.is_small() {
            return Ok(TensorData::Small { dtype, data: vec![0u8; n].into() });
        }
        crate::dispatch_dtype!(dtype, T => Ok(T::into_data(vec![T::default(); n])),
            _ => Err(Error::TypeMismatch(format!("element type {dtype} is not supported"))))
    }

    fn into_shared(self) -> TensorData {
        match self {
            TensorData::F32(s) => TensorData::F32(s.into_shared()),
            TensorData::F64(s) => TensorData::F64(s.into_shared()),
            TensorData::F16(s) => TensorData::F16(s.into_shared()),
            TensorData::BF16(s) => TensorData::BF16(s.into_shared()),
            TensorData::I8(s) => TensorData::I8(s.into_shared()),
            TensorData::I16(s) => TensorData::I16(s.into_shared()),
            TensorData::I32(s) => TensorData::I32(s.into_shared()),
            TensorData::I64(s) => TensorData::I64(s.into_shared()),
            TensorData::U8(s) => TensorData::U8(s.into_shared()),
            TensorData::U16(s) => TensorData::U16(s.into_shared()),
            TensorData::U32(s) => TensorData::U32(s.into_shared()),
            TensorData::U64(s) => TensorData::U64(s.into_shared()),
            TensorData::Bool(s) => TensorData::Bool(s.into_shared()),
            TensorData::Str(s) => TensorData::Str(s.into_shared()),
            TensorData::Small { dtype, data } => TensorData::Small { dtype, data: data.into_shared() },
        }
    }

    fn is_borrowed(&self) -> bool {
        for_each_data!(self, s => s.is_borrowed())
    }
}

/// An n-dimensional array: element type, shape and row-major contiguous data.
#[derive(Clone)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// A tensor over `data` with `shape`; fails when the element count differs.
    pub fn new(shape: Vec<usize>, data: TensorData) -> Result<Tensor> {
        let n = checked_numel(&shape)?;
        if n != data.len() {
            return Err(Error::ShapeMismatch(format!(
                "shape {shape:?} holds {n} elements but the data has {}",
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor from a typed vector.
    pub fn from_vec<T: Element>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor> {
        Tensor::new(shape, T::into_data(v))
    }

    /// A tensor of strings.
    pub fn from_strings(shape: Vec<usize>, v: Vec<String>) -> Result<Tensor> {
        Tensor::new(shape, TensorData::Str(v.into()))
    }

    /// A rank-0 tensor.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor { shape: vec![], data: T::into_data(vec![v]) }
    }

    /// Default-filled (zeros) tensor.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Result<Tensor> {
        let n = checked_numel(&shape)?;
        Ok(Tensor { shape, data: TensorData::zeros(dtype, n)? })
    }

    /// A tensor filled with `v`.
    pub fn full<T: Element>(shape: Vec<usize>, v: T) -> Result<Tensor> {
        let n = checked_numel(&shape)?;
        Ok(Tensor { shape, data: T::into_data(vec![v; n]) })
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The storage.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// The storage, mutably.
    pub fn data_mut(&mut self) -> &mut TensorData {
        &mut self.data
    }

    /// Splits into shape and data.
    pub fn into_parts(self) -> (Vec<usize>, TensorData) {
        (self.shape, self.data)
    }

    /// Whether the elements live in memory someone else owns.
    pub fn is_borrowed(&self) -> bool {
        self.data.is_borrowed()
    }

    /// Makes clones cheap (the data moves behind an `Arc`).
    pub fn into_shared(self) -> Tensor {
        Tensor { shape: self.shape, data: self.data.into_shared() }
    }

    /// The same data with another shape of the same element count.
    pub fn reshape(self, shape: Vec<usize>) -> Result<Tensor> {
        Tensor::new(shape, self.data)
    }

    /// Typed elements; `TypeMismatch` when the tensor holds another type.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        T::slice(&self.data)
            .ok_or_else(|| Error::TypeMismatch(format!("expected a {} tensor, got {}", T::DTYPE, self.dtype())))
    }

    /// Typed mutable elements (copies shared or borrowed storage first).
    pub fn as_mut_slice<T: Element>(&mut self) -> Result<&mut [T]> {
        let dt = self.dtype();
        T::slice_mut(&mut self.data)
            .ok_or_else(|| Error::TypeMismatch(format!("expected a {} tensor, got {dt}", T::DTYPE)))
    }

    /// The strings of a string tensor.
    pub fn as_strings(&self) -> Result<&[String]> {
        match &self.data {
            TensorData::Str(s) => Ok(s.as_slice()),
            _ => Err(Error::TypeMismatch(format!("expected a string tensor, got {}", self.dtype()))),
        }
    }

    /// Typed elements as an owned vector (moves when possible).
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>> {
        let dt = self.dtype();
        let wrong = || Error::TypeMismatch(format!("expected a {} tensor, got {dt}", T::DTYPE));
        if T::DTYPE != dt {
            return Err(wrong());
        }
        // Move the storage out through the typed variant.
        macro_rules! take {
            ($s:expr) => {{
                let v = $s.into_vec();
                // SAFETY-free cast: T::DTYPE == dt guarantees the element type matches,
                // so this round trip through `into_data`/`slice` is the identity.
                let data = Element::into_data(v);
                let mut data = data;
                T::slice_mut(&mut data).map(|s| s.to_vec()).ok_or_else(wrong)
            }};
        }
        match self.data {
            TensorData::F32(s) => take!(s),
            TensorData::F64(s) => take!(s),
            TensorData::F16(s) => take!(s),
            TensorData::BF16(s) => take!(s),
            TensorData::I8(s) => take!(s),
            TensorData::I16(s) => take!(s),
            TensorData::I32(s) => take!(s),
            TensorData::I64(s) => take!(s),
            TensorData::U8(s) => take!(s),
            TensorData::U16(s) => take!(s),
            TensorData::U32(s) => take!(s),
            TensorData::U64(s) => take!(s),
            TensorData::Bool(s) => take!(s),
            TensorData::Str(_) | TensorData::Small { .. } => Err(wrong()),
        }
    }

    /// A tensor of a low-precision type from its stored bytes (one per element,
    /// see [`crate::lowp`]); `TypeMismatch` when `dtype` is not one of them.
    pub fn from_small(dtype: DType, shape: Vec<usize>, v: Vec<u8>) -> Result<Tensor> {
        if !dtype.is_small() {
            return Err(Error::TypeMismatch(format!("{dtype} is not a low-precision type")));
        }
        Tensor::new(shape, TensorData::Small { dtype, data: v.into() })
    }

    /// The stored bytes of a low-precision tensor; `TypeMismatch` for other types.
    pub fn as_small(&self) -> Result<&[u8]> {
        match &self.data {
            TensorData::Small { data, .. } => Ok(data.as_slice()),
            _ => Err(Error::TypeMismatch(format!("expected a low-precision tensor, got {}", self.dtype()))),
        }
    }

    /// The elements converted to f64 (not for strings).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        if let TensorData::Small { dtype, data } = &self.data {
            let table = crate::lowp::f32_table(*dtype);
            return Ok(data.as_slice().iter().map(|&b| table[b as usize] as f64).collect());
        }
        crate::dispatch_dtype!(self.dtype(), T => Ok(self.as_slice::<T>()?.iter().map(|x| x.to_f64()).collect()),
            _ => Err(Error::TypeMismatch(format!("cannot read {} as numbers", self.dtype()))))
    }

    /// The elements converted to i64 (integer, bool and float tensors; floats truncate).
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        if let TensorData::Small { dtype, data } = &self.data {
            let d = *dtype;
            return Ok(if crate::lowp::is_small_int(d) {
                data.as_slice().iter().map(|&b| crate::lowp::int_to_i64(d, b)).collect()
            } else {
                data.as_slice().iter().map(|&b| crate::lowp::to_f64(d, b) as i64).collect()
            });
        }
        crate::dispatch_dtype!(self.dtype(), T => Ok(self.as_slice::<T>()?.iter().map(|x| x.to_i64()).collect()),
            _ => Err(Error::TypeMismatch(format!("cannot read {} as integers", self.dtype()))))
    }

    /// Converts to another element type with Rust `as` semantics via f64 / i64.
    /// Low-precision targets follow [`crate::lowp::from_f64`] (saturating float8)
    /// and wrap integers.
    pub fn cast(&self, to: DType) -> Result<Tensor> {
        if to == self.dtype() {
            return Ok(self.clone());
        }
        let n = self.len();
        if to.is_small() {
            let v = if crate::lowp::is_small_int(to) && !self.dtype().is_float() && !self.dtype().is_small() {
                self.to_i64_vec()?.into_iter().map(|x| crate::lowp::int_from_i64(to, x)).collect()
            } else {
                self.to_f64_vec()?.into_iter().map(|x| crate::lowp::from_f64(to, x, true)).collect()
            };
            return Tensor::from_small(to, self.shape.clone(), v);
        }
        let data = if to.is_float() || self.dtype().is_float() || crate::lowp::is_small_float(self.dtype()) {
            let v = self.to_f64_vec()?;
            crate::dispatch_dtype!(to, T => T::into_data(v.into_iter().map(T::from_f64).collect()),
                _ => return Err(Error::TypeMismatch(format!("cannot cast to {to}"))))
        } else {
            let v = self.to_i64_vec()?;
            crate::dispatch_dtype!(to, T => T::into_data(v.into_iter().map(T::from_i64).collect()),
                _ => return Err(Error::TypeMismatch(format!("cannot cast to {to}"))))
        };
        debug_assert_eq!(data.len(), n);
        Tensor::new(self.shape.clone(), data)
    }
}

impl Tensor {
    /// Concatenates `parts` along axis 0: what batching does to requests' inputs.
    ///
    /// All parts need the same dtype and the same dims after the first (rank ≥ 1).
    pub fn stack(parts: &[&Tensor]) -> Result<Tensor> {
        let first = parts.first().ok_or_else(|| Error::InvalidArgument("stack needs at least one tensor".into()))?;
        if first.rank() == 0 {
            return Err(Error::ShapeMismatch("cannot stack rank-0 tensors along axis 0".into()));
        }
        let dtype = first.dtype();
        let tail = &first.shape[1..];
        let mut rows = 0usize;
        for (k, p) in parts.iter().enumerate() {
            if p.dtype() != dtype {
                return Err(Error::TypeMismatch(format!("stack: part {k} is {}, part 0 is {dtype}", p.dtype())));
            }
            if p.rank() != first.rank() || &p.shape[1..] != tail {
                return Err(Error::ShapeMismatch(format!(
                    "stack: part {k} has shape {:?}, which differs from part 0's {:?} after the first dim",
                    p.shape, first.shape
                )));
            }
            rows = rows
                .checked_add(p.shape[0])
                .ok_or_else(|| Error::OutOfMemory("stack: the total first dim overflows".into()))?;
        }
        let mut shape = first.shape.clone();
        shape[0] = rows;
        let n = checked_numel(&shape)?;
        macro_rules! cat {
            ($variant:ident) => {{
                let mut out = Vec::with_capacity(n);
                for p in parts {
                    if let TensorData::$variant(s) = &p.data {
                        out.extend_from_slice(s.as_slice());
                    }
                }
                TensorData::$variant(out.into())
            }};
        }
        let data = match &first.data {
            TensorData::F32(_) => cat!(F32),
            TensorData::F64(_) => cat!(F64),
            TensorData::F16(_) => cat!(F16),
            TensorData::BF16(_) => cat!(BF16),
            TensorData::I8(_) => cat!(I8),
            TensorData::I16(_) => cat!(I16),
            TensorData::I32(_) => cat!(I32),
            TensorData::I64(_) => cat!(I64),
            TensorData::U8(_) => cat!(U8),
            TensorData::U16(_) => cat!(U16),
            TensorData::U32(_) => cat!(U32),
            TensorData::U64(_) => cat!(U64),
            TensorData::Bool(_) => cat!(Bool),
            TensorData::Str(_) => cat!(Str),
            TensorData::Small { dtype, .. } => {
                let mut out = Vec::with_capacity(n);
                for p in parts {
                    if let TensorData::Small { data, .. } = &p.data {
                        out.extend_from_slice(data.as_slice());
                    }
                }
                TensorData::Small { dtype: *dtype, data: out.into() }
            }
        };
        Tensor::new(shape, data)
    }

    /// Splits along axis 0 into parts of `sizes` rows (they must sum to dim 0):
    /// the inverse of [`Tensor::stack`], handing each request its own rows.
    pub fn split(&self, sizes: &[usize]) -> Result<Vec<Tensor>> {
        if self.rank() == 0 {
            return Err(Error::ShapeMismatch("cannot split a rank-0 tensor along axis 0".into()));
        }
        let total = sizes.iter().try_fold(0usize, |a, &s| a.checked_add(s));
        if total != Some(self.shape[0]) {
            return Err(Error::ShapeMismatch(format!(
                "split: sizes {sizes:?} do not sum to the first dim of shape {:?}",
                self.shape
            )));
        }
        let row: usize = self.shape[1..].iter().product();
        let mut out = Vec::with_capacity(sizes.len());
        let mut start = 0;
        for &s in sizes {
            let mut shape = self.shape.clone();
            shape[0] = s;
            let range = start * row..(start + s) * row;
            start += s;
            let data = for_each_data_map!(&self.data, v => v.as_slice()[range.clone()].to_vec());
            out.push(Tensor::new(shape, data)?);
        }
        Ok(out)
    }
}

/// Product of dims, refusing overflow.
fn checked_numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::OutOfMemory(format!("shape {shape:?} has more elements than fit in memory")))
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}>{:?}", self.dtype(), self.shape)?;
        let show = 8.min(self.len());
        if self.dtype() == DType::String {
            if let Ok(s) = self.as_strings() {
                write!(f, " {:?}", &s[..show])?;
            }
        } else if let Ok(v) = self.to_f64_vec() {
            write!(f, " {:?}", &v[..show])?;
        }
        if self.len() > show {
            write!(f, " ..")?;
        }
        Ok(())
    }
}

impl PartialEq for Tensor {
    fn eq(&self, other: &Self) -> bool {
        if self.shape != other.shape || self.dtype() != other.dtype() {
            return false;
        }
        if self.dtype() == DType::String {
            return self.as_strings().ok() == other.as_strings().ok();
        }
        if self.dtype().is_small() {
            return self.as_small().ok() == other.as_small().ok();
        }
        crate::dispatch_dtype!(self.dtype(), T => self.as_slice::<T>().ok() == other.as_slice::<T>().ok(), _ => false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_must_match_data() {
        assert!(Tensor::from_vec(vec![2, 3], vec![0f32; 6]).is_ok());
        let e = Tensor::from_vec(vec![2, 3], vec![0f32; 5]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::ShapeMismatch);
    }

    #[test]
    fn typed_access_checks_dtype() {
        let t = Tensor::from_vec(vec![2], vec![1i64, 2]).unwrap();
        assert_eq!(t.as_slice::<i64>().unwrap(), &[1, 2]);
        assert_eq!(t.as_slice::<f32>().unwrap_err().code(), crate::ErrorCode::TypeMismatch);
        assert_eq!(t.clone().into_vec::<i64>().unwrap(), vec![1, 2]);
    }

    #[test]
    fn shared_clone_is_cheap_and_copy_on_write() {
        let t = Tensor::from_vec(vec![3], vec![1f32, 2., 3.]).unwrap().into_shared();
        let mut u = t.clone();
        u.as_mut_slice::<f32>().unwrap()[0] = 9.0;
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1., 2., 3.]);
        assert_eq!(u.as_slice::<f32>().unwrap(), &[9., 2., 3.]);
    }

    #[test]
    fn borrowed_storage_reads_caller_memory() {
        let owner: Arc<Vec<f32>> = Arc::new(vec![4., 5., 6.]);
        let ptr = owner.as_ptr();
        // SAFETY: `owner` keeps the vector alive and nobody mutates it.
        let s = unsafe { Storage::borrowed(ptr, 3, owner.clone()) };
        let t = Tensor::new(vec![3], TensorData::F32(s)).unwrap();
        assert!(t.is_borrowed());
        assert_eq!(t.as_slice::<f32>().unwrap().as_ptr(), ptr);
        drop(owner);
        assert_eq!(t.as_slice::<f32>().unwrap(), &[4., 5., 6.]);
    }

    #[test]
    fn cast_converts_like_as() {
        let t = Tensor::from_vec(vec![3], vec![1.7f32, -2.5, 300.0]).unwrap();
        assert_eq!(t.cast(DType::Int32).unwrap().as_slice::<i32>().unwrap(), &[1, -2, 300]);
        assert_eq!(t.cast(DType::UInt8).unwrap().as_slice::<u8>().unwrap(), &[1, 0, 255]);
        let h = t.cast(DType::Float16).unwrap();
        assert_eq!(h.dtype(), DType::Float16);
    }

    #[test]
    fn overflowing_shape_is_refused() {
        let e = Tensor::zeros(DType::Float32, vec![usize::MAX, 2]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::OutOfMemory);
    }

    #[test]
    fn stack_and_split_round_trip() {
        let a = Tensor::from_vec(vec![1, 3], vec![1f32, 2., 3.]).unwrap();
        let b = Tensor::from_vec(vec![2, 3], vec![4f32, 5., 6., 7., 8., 9.]).unwrap();
        let s = Tensor::stack(&[&a, &b]).unwrap();
        assert_eq!(s.shape(), &[3, 3]);
        assert_eq!(s.as_slice::<f32>().unwrap(), &[1., 2., 3., 4., 5., 6., 7., 8., 9.]);
        let parts = s.split(&[1, 2]).unwrap();
        assert_eq!(parts, vec![a, b]);
        let empty = s.split(&[0, 3]).unwrap();
        assert_eq!(empty[0].shape(), &[0, 3]);
    }

    #[test]
    fn stack_supports_strings() {
        let a = Tensor::from_strings(vec![1], vec!["a".into()]).unwrap();
        let b = Tensor::from_strings(vec![2], vec!["b".into(), "c".into()]).unwrap();
        let s = Tensor::stack(&[&a, &b]).unwrap();
        assert_eq!(s.as_strings().unwrap(), &["a", "b", "c"]);
        assert_eq!(s.split(&[2, 1]).unwrap()[1].as_strings().unwrap(), &["c"]);
    }

    #[test]
    fn small_types_store_cast_and_move() {
        let x = Tensor::from_vec(vec![2, 2], vec![-9.0f32, 1.5, 7.0, 0.4789]).unwrap();
        let i4 = x.cast(DType::Int4).unwrap();
        assert_eq!(i4.dtype(), DType::Int4);
        assert_eq!(i4.to_i64_vec().unwrap(), vec![7, 1, 7, 0]);
        assert_eq!(i4.cast(DType::Int8).unwrap().as_slice::<i8>().unwrap(), &[7, 1, 7, 0]);
        let f8 = x.cast(DType::Float8E4M3FN).unwrap();
        assert_eq!(f8.to_f64_vec().unwrap(), vec![-9.0, 1.5, 7.0, 0.46875]);
        assert_eq!(f8.cast(DType::Float32).unwrap().as_slice::<f32>().unwrap(), &[-9.0, 1.5, 7.0, 0.46875]);
        let u2 = Tensor::from_vec(vec![3], vec![-1i64, 2, 5]).unwrap().cast(DType::UInt2).unwrap();
        assert_eq!(u2.as_small().unwrap(), &[3, 2, 1]);
        let s = Tensor::stack(&[&f8, &f8]).unwrap();
        assert_eq!(s.shape(), &[4, 2]);
        assert_eq!(s.dtype(), DType::Float8E4M3FN);
        assert_eq!(s.split(&[2, 2]).unwrap()[1], f8);
        assert_ne!(f8, i4);
        let z = Tensor::zeros(DType::Float4E2M1, vec![3]).unwrap().into_shared();
        assert_eq!(z.clone().as_small().unwrap(), &[0, 0, 0]);
        assert!(Tensor::from_small(DType::Int8, vec![1], vec![0]).is_err());
        assert!(f8.as_slice::<u8>().is_err());
        assert!(format!("{f8:?}").contains("float8e4m3fn"));
    }

    #[test]
    fn stack_and_split_refuse_mismatches() {
        let a = Tensor::from_vec(vec![1, 3], vec![0f32; 3]).unwrap();
        let b = Tensor::from_vec(vec![1, 2], vec![0f32; 2]).unwrap();
        let c = Tensor::from_vec(vec![1, 3], vec![0i64; 3]).unwrap();
        assert_eq!(Tensor::stack(&[&a, &b]).unwrap_err().code(), crate::ErrorCode::ShapeMismatch);
        assert_eq!(Tensor::stack(&[&a, &c]).unwrap_err().code(), crate::ErrorCode::TypeMismatch);
        assert_eq!(Tensor::stack(&[]).unwrap_err().code(), crate::ErrorCode::InvalidArgument);
        assert_eq!(Tensor::scalar(1f32).split(&[1]).unwrap_err().code(), crate::ErrorCode::ShapeMismatch);
        assert_eq!(a.split(&[2]).unwrap_err().code(), crate::ErrorCode::ShapeMismatch);
    }
}
