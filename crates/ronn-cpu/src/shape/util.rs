//! Shared data-movement helpers for the shape/indexing/pad/transpose/generator/sequence
//! families: a type dispatch over every stored element type (strings included) and a
//! fast strided copy that most data-movement operators reduce to.

use rayon::prelude::*;
use ronn_core::{bf16, f16, DType, Error, Result, Tensor, TensorData};

/// An element type a tensor can store (every numeric type, bool and string).
pub(crate) trait Item:
    Clone + Default + Send + Sync + PartialEq + PartialOrd + std::fmt::Debug + 'static
{
    const DT: DType;
    fn slice(d: &TensorData) -> Option<&[Self]>;
    fn wrap(v: Vec<Self>) -> TensorData;
    /// `n` values of unspecified contents for an output the caller writes in full:
    /// the run's memory pool for plain numbers (a fresh buffer page-faults).
    fn for_overwrite(n: usize) -> Vec<Self>;
}

macro_rules! impl_item {
    // Plain numbers take their outputs from the run's memory pool.
    ($t:ty, $v:ident, $dt:ident) => {
        impl_item!($t, $v, $dt, ronn_core::pool::for_overwrite::<$t>);
    };
    ($t:ty, $v:ident, $dt:ident, $alloc:expr) => {
        impl Item for $t {
            const DT: DType = DType::$dt;
            #[inline]
            fn slice(d: &TensorData) -> Option<&[Self]> {
                match d {
                    TensorData::$v(s) => Some(s.as_slice()),
                    _ => None,
                }
            }
            #[inline]
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$v(v.into())
            }
            fn for_overwrite(n: usize) -> Vec<Self> {
                $alloc(n)
            }
        }
    };
}
impl_item!(f32, F32, Float32);
impl_item!(f64, F64, Float64);
impl_item!(f16, F16, Float16);
impl_item!(bf16, BF16, BFloat16);
impl_item!(i8, I8, Int8);
impl_item!(i16, I16, Int16);
impl_item!(i32, I32, Int32);
impl_item!(i64, I64, Int64);
impl_item!(u8, U8, UInt8);
impl_item!(u16, U16, UInt16);
impl_item!(u32, U32, UInt32);
impl_item!(u64, U64, UInt64);
impl_item!(bool, Bool, Bool);
impl_item!(String, Str, String, |n| vec![String::new(); n]);

/// `dispatch_any!(dtype, T => body)`: runs `body` (a `Result`) with `T` bound to the
/// Rust type of `dtype`, strings included.
macro_rules! dispatch_any {
    ($dtype:expr, $T:ident => $body:expr) => {{
        let __dt: ronn_core::DType = $dtype;
        match __dt {
            ronn_core::DType::String => {
                type $T = String;
                $body
            }
            __d => ronn_core::dispatch_dtype!(__d, $T => $body,
                _ => Err(ronn_core::Error::TypeMismatch(format!("element type {} is not supported", __d)))),
        }
    }};
}
pub(crate) use dispatch_any;

/// The typed elements of `t`.
#[inline]
pub(crate) fn sl<T: Item>(t: &Tensor) -> Result<&[T]> {
    T::slice(t.data()).ok_or_else(|| Error::TypeMismatch(format!("expected a {} tensor, got {}", T::DT, t.dtype())))
}

/// A tensor from typed elements.
#[inline]
pub(crate) fn mk<T: Item>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor> {
    Tensor::new(shape, T::wrap(v))
}

/// Element count of a shape, refusing overflow.
pub(crate) fn numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::OutOfMemory(format!("shape {shape:?} has too many elements")))
}

/// Elements above which kernels go parallel.
pub(crate) const PAR_MIN: usize = 1 << 16;

/// Drops size-1 dims and merges dims that are contiguous in the source view.
fn coalesce(shape: &[usize], strides: &[isize]) -> (Vec<usize>, Vec<isize>) {
    let mut sh: Vec<usize> = Vec::with_capacity(shape.len());
    let mut st: Vec<isize> = Vec::with_capacity(shape.len());
    for (&d, &s) in shape.iter().zip(strides) {
        if d == 1 {
            continue;
        }
        if let (Some(&ld), Some(&ls)) = (sh.last(), st.last()) {
            if ls == s * d as isize {
                let n = sh.len();
                sh[n - 1] = ld * d;
                st[n - 1] = s;
                continue;
            }
        }
        sh.push(d);
        st.push(s);
    }
    (sh, st)
}

/// Copies the view `src[offset + sum(i_k * strides[k])]` over `shape` into a new
/// row-major vector. Strides may be zero (broadcast) or negative (reversal). The
/// caller guarantees every addressed element is in bounds.
pub(crate) fn strided_copy<T: Item>(src: &[T], offset: isize, shape: &[usize], strides: &[isize]) -> Result<Vec<T>> {
    let n = numel(shape)?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let (sh, st) = coalesce(shape, strides);
    if sh.is_empty() {
        let v = src.get(offset as usize).cloned().ok_or_else(|| oob())?;
        return Ok(vec![v]);
    }
    let k = sh.len();
    let inner = sh[k - 1];
    let istride = st[k - 1];
    let rows = n / inner;
    // Bounds check of the extreme addresses once.
    let (mut lo, mut hi) = (offset, offset);
    for (&d, &s) in sh.iter().zip(&st) {
        let span = (d as isize - 1) * s;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if lo < 0 || hi as usize >= src.len() {
        return Err(oob());
    }
    let outer_sh = &sh[..k - 1];
    let outer_st = &st[..k - 1];
    let fill_rows = |out: &mut [T], first_row: usize| {
        // multi-index of first_row over the outer dims
        let mut idx = vec![0usize; outer_sh.len()];
        let mut r = first_row;
        for j in (0..outer_sh.len()).rev() {
            idx[j] = r % outer_sh[j];
            r /= outer_sh[j];
        }
        let mut base: isize = offset + idx.iter().zip(outer_st).map(|(&i, &s)| i as isize * s).sum::<isize>();
        for row in out.chunks_mut(inner) {
            let b = base as usize;
            if istride == 1 {
                row.clone_from_slice(&src[b..b + inner]);
            } else if istride == 0 {
                let v = &src[b];
                for o in row.iter_mut() {
                    *o = v.clone();
                }
            } else {
                let mut p = base;
                for o in row.iter_mut() {
                    *o = src[p as usize].clone();
                    p += istride;
                }
            }
            // advance the outer index
            for j in (0..outer_sh.len()).rev() {
                idx[j] += 1;
                base += outer_st[j];
                if idx[j] < outer_sh[j] {
                    break;
                }
                base -= outer_st[j] * outer_sh[j] as isize;
                idx[j] = 0;
            }
        }
    };
    let mut out = T::for_overwrite(n);
    if n >= PAR_MIN && rows > 1 {
        let rows_per = (PAR_MIN / 4 / inner).max(1);
        out.par_chunks_mut(rows_per * inner).enumerate().for_each(|(c, chunk)| fill_rows(chunk, c * rows_per));
    } else {
        fill_rows(&mut out, 0);
    }
    Ok(out)
}

fn oob() -> Error {
    Error::Internal("strided view addresses elements outside its source".into())
}

/// Strided copy of a whole tensor of any element type.
pub(crate) fn strided_tensor(t: &Tensor, offset: isize, shape: &[usize], strides: &[isize]) -> Result<Tensor> {
    dispatch_any!(t.dtype(), T => {
        let v = strided_copy::<T>(sl::<T>(t)?, offset, shape, strides)?;
        mk(shape.to_vec(), v)
    })
}

/// Row-major strides as isize.
pub(crate) fn istrides(shape: &[usize]) -> Vec<isize> {
    ronn_core::strides_of(shape).into_iter().map(|s| s as isize).collect()
}

/// Normalizes an axis in `[-rank, rank)`; an InvalidArgument error otherwise.
pub(crate) fn axis(a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let v = if a < 0 { a + r } else { a };
    if v < 0 || v >= r {
        return Err(Error::InvalidArgument(format!("axis {a} is out of range for rank {rank}")));
    }
    Ok(v as usize)
}

/// Reads an integer tensor (any int type) as i64 without extra conversions for i64.
pub(crate) fn ints(t: &Tensor) -> Result<Vec<i64>> {
    match t.dtype() {
        DType::Int64 => Ok(t.as_slice::<i64>()?.to_vec()),
        _ => crate::helpers::ints_of(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_copy_handles_broadcast_and_reverse() {
        let src: Vec<i32> = (0..6).collect();
        // transpose of [2,3]
        let v = strided_copy(&src, 0, &[3, 2], &[1, 3]).unwrap();
        assert_eq!(v, vec![0, 3, 1, 4, 2, 5]);
        // reverse rows
        let v = strided_copy(&src, 3, &[2, 3], &[-3, 1]).unwrap();
        assert_eq!(v, vec![3, 4, 5, 0, 1, 2]);
        // broadcast
        let v = strided_copy(&src[..3], 0, &[2, 3], &[0, 1]).unwrap();
        assert_eq!(v, vec![0, 1, 2, 0, 1, 2]);
        assert!(strided_copy(&src, 4, &[3], &[1]).is_err());
    }
}
