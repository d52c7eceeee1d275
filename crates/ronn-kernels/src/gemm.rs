//! Matrix multiplication on plain slices, over faer's `gemm` crate.
//!
//! [`gemm`] computes `C = beta_c * C + alpha * op(A) * op(B)` for row-major
//! matrices with explicit leading dimensions and transpose flags, for `f32` and
//! `f64` ([`Scalar`]). Bounds are checked before the unsafe call, so a wrong
//! size is an `Err`, never undefined behaviour. Problems above
//! [`PARALLEL_FLOPS`] use the current rayon pool; small ones run inline.

use ronn_core::{Error, Result};

/// Flop count (m*n*k) above which gemm uses the rayon pool.
pub const PARALLEL_FLOPS: usize = 1 << 21;

/// Element types the gemm and conv kernels compute in.
pub trait Scalar:
    ronn_core::Element
    + Copy
    + Send
    + Sync
    + Default
    + PartialOrd
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Sub<Output = Self>
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Conversion from f32 (activation parameters).
    fn from_f32(v: f32) -> Self;
    /// `x * sigmoid(x)` (f32: the vectorizable polynomial exp).
    fn silu(self) -> Self;
    /// `self * a + b` with one rounding. Only for code compiled with FMA enabled:
    /// elsewhere it is a libm call.
    fn mul_add(self, a: Self, b: Self) -> Self;
}

impl Scalar for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn silu(self) -> Self {
        self * ronn_core::simd::sigmoid_f32(self)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f32::mul_add(self, a, b)
    }
}

impl Scalar for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v as f64
    }
    #[inline(always)]
    fn silu(self) -> Self {
        self / (1.0 + (-self).exp())
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
}

/// A row-major matrix operand: `data[i * ld + j]` is element (i, j) of the
/// stored matrix; `trans` means the operand is the transpose of what is stored.
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a, T> {
    /// The stored elements.
    pub data: &'a [T],
    /// Leading dimension (distance between stored rows).
    pub ld: usize,
    /// Whether the logical operand is the transpose of the stored matrix.
    pub trans: bool,
}

impl<'a, T> Mat<'a, T> {
    /// A plain row-major `rows x cols` operand with `ld = cols`.
    pub fn rm(data: &'a [T], cols: usize) -> Self {
        Mat { data, ld: cols, trans: false }
    }
    /// The transpose of a stored row-major matrix with `cols` columns.
    pub fn t(data: &'a [T], cols: usize) -> Self {
        Mat { data, ld: cols, trans: true }
    }
    /// (row stride, col stride) of the logical operand.
    fn strides(&self) -> (usize, usize) {
        if self.trans {
            (1, self.ld)
        } else {
            (self.ld, 1)
        }
    }
}

/// Checks that a logical `rows x cols` operand with strides fits in `len`.
fn fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize, what: &str) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|a| (cols - 1).checked_mul(cs).and_then(|b| a.checked_add(b)))
        .ok_or_else(|| Error::Internal(format!("gemm: {what} index overflow")))?;
    if last >= len {
        return Err(Error::Internal(format!(
            "gemm: {what} needs {} elements for {rows}x{cols} (strides {rs},{cs}), slice has {len}",
            last + 1
        )));
    }
    Ok(())
}

/// `C[m x n] (row-major, leading dim ldc) = beta_c * C + alpha * op(A)[m x k] * op(B)[k x n]`.
///
/// With `beta_c == 0` the old contents of C are not read (NaNs there do not leak).
/// `parallel`: allow using the rayon pool when the problem is large.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    c: &mut [T],
    ldc: usize,
    alpha: T,
    beta_c: T,
    parallel: bool,
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    if std::any::TypeId::of::<T>() != std::any::TypeId::of::<f32>()
        && std::any::TypeId::of::<T>() != std::any::TypeId::of::<f64>()
    {
        return Err(Error::Internal("gemm: only f32 and f64 are supported".into()));
    }
    fits(c.len(), m, n, ldc, 1, "C")?;
    if ldc < n {
        return Err(Error::Internal(format!("gemm: ldc {ldc} < n {n}")));
    }
    let read_dst = beta_c != T::ZERO;
    if k == 0 {
        for i in 0..m {
            for v in &mut c[i * ldc..i * ldc + n] {
                *v = if read_dst { *v * beta_c } else { T::ZERO };
            }
        }
        return Ok(());
    }
    let (ars, acs) = a.strides();
    let (brs, bcs) = b.strides();
    fits(a.data.len(), m, k, ars, acs, "A")?;
    fits(b.data.len(), k, n, brs, bcs, "B")?;
    let flops = m.saturating_mul(n).saturating_mul(k);
    let threads = rayon::current_num_threads();
    if parallel && flops >= PARALLEL_FLOPS && threads > 1 {
        split_across_threads(m, n, k, a, b, c, ldc, alpha, beta_c, threads);
    } else {
        // SAFETY: `fits` proved every element addressed lies inside A, B and C,
        // and T is f32/f64 (checked above).
        unsafe {
            gemm_block(
                m,
                n,
                k,
                a.data.as_ptr(),
                (ars, acs),
                b.data.as_ptr(),
                (brs, bcs),
                c.as_mut_ptr(),
                ldc,
                alpha,
                beta_c,
            )
        };
    }
    Ok(())
}

/// A pointer that may cross threads; every task writes a disjoint block of C.
#[derive(Clone, Copy)]
pub(crate) struct SharedPtr<T>(pub(crate) *mut T);
// SAFETY: only used to hand disjoint blocks of one `&mut [T]` to rayon tasks that
// all finish before the borrow ends.
unsafe impl<T: Send> Send for SharedPtr<T> {}
// SAFETY: see Send.
unsafe impl<T: Send> Sync for SharedPtr<T> {}

impl<T> SharedPtr<T> {
    /// The pointer (a method, so closures capture the whole Send wrapper).
    #[inline(always)]
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// Splits the larger of M and N into one block per thread, each a
/// single-threaded gemm. The gemm crate's own rayon mode packs all of N at once
/// into a fresh buffer on every call, which made conv tiles slower on two
/// threads than on one; blocks keep each task's packing small and cached.
#[allow(clippy::too_many_arguments)]
fn split_across_threads<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: Mat<'_, T>,
    b: Mat<'_, T>,
    c: &mut [T],
    ldc: usize,
    alpha: T,
    beta_c: T,
    threads: usize,
) {
    use rayon::prelude::*;
    let (ars, acs) = a.strides();
    let (brs, bcs) = b.strides();
    // Blocks aligned to the micro-kernel's width (16 f32 lanes x 2 on AVX-512).
    let split_n = n >= m;
    let len = if split_n { n } else { m };
    let align = if split_n { 32 } else { 16 };
    let block = len.div_ceil(threads).next_multiple_of(align).max(align);
    let tasks = len.div_ceil(block);
    let (ap, bp, cp) =
        (SharedPtr(a.data.as_ptr() as *mut T), SharedPtr(b.data.as_ptr() as *mut T), SharedPtr(c.as_mut_ptr()));
    (0..tasks).into_par_iter().for_each(|t| {
        let lo = t * block;
        let hi = (lo + block).min(len);
        // SAFETY: the caller's `fits` checks cover the whole problem and each
        // task takes rows (or columns) lo..hi of it; the C blocks of different
        // tasks are disjoint, and `c` stays mutably borrowed until all return.
        unsafe {
            if split_n {
                gemm_block(
                    m,
                    hi - lo,
                    k,
                    ap.get(),
                    (ars, acs),
                    bp.get().add(lo * bcs),
                    (brs, bcs),
                    cp.get().add(lo),
                    ldc,
                    alpha,
                    beta_c,
                );
            } else {
                gemm_block(
                    hi - lo,
                    n,
                    k,
                    ap.get().add(lo * ars),
                    (ars, acs),
                    bp.get(),
                    (brs, bcs),
                    cp.get().add(lo * ldc),
                    ldc,
                    alpha,
                    beta_c,
                );
            }
        }
    });
}

/// Single-threaded `C = A * B` for contiguous row-major `A[m x k]`, `B[k x n]`
/// (B's row stride `ldb`) into a C addressed by pointer (row stride `ldc`), for callers that write
/// disjoint blocks of one output from several threads.
///
/// # Safety
/// `c` must point to an `m x n` block with row stride `ldc >= n` that no other
/// thread reads or writes during the call; T must be f32 or f64.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_rm_into<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    b: &[T],
    ldb: usize,
    c: *mut T,
    ldc: usize,
) -> Result<()> {
    let b_fits = k == 0 || (ldb >= n && b.len() >= (k - 1) * ldb + n);
    if a.len() < m * k || !b_fits || ldc < n {
        return Err(Error::Internal(format!("gemm: operands too short for {m}x{n}x{k}")));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        for i in 0..m {
            // SAFETY: row i of the caller's block.
            unsafe { std::slice::from_raw_parts_mut(c.add(i * ldc), n) }.fill(T::ZERO);
        }
        return Ok(());
    }
    // SAFETY: A and B were checked above; C per this function's contract.
    unsafe { gemm_block(m, n, k, a.as_ptr(), (k, 1), b.as_ptr(), (ldb, 1), c, ldc, T::ONE, T::ZERO) };
    Ok(())
}

/// One single-threaded call of the gemm crate.
///
/// # Safety
/// `a`, `b` and `c` must address valid `m x k`, `k x n` and `m x n` operands with
/// the given (row, col) strides, `c` must not alias them, and T must be f32 or f64.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_block<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    a: *const T,
    (ars, acs): (usize, usize),
    b: *const T,
    (brs, bcs): (usize, usize),
    c: *mut T,
    ldc: usize,
    alpha: T,
    beta_c: T,
) {
    let read_dst = beta_c != T::ZERO;
    // SAFETY: guaranteed by this function's contract.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            ldc as isize,
            read_dst,
            a,
            acs as isize,
            ars as isize,
            b,
            bcs as isize,
            brs as isize,
            beta_c,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Convenience: `C = A * B` for contiguous row-major `A[m x k]`, `B[k x n]`, `C[m x n]`.
pub fn matmul<T: Scalar>(m: usize, n: usize, k: usize, a: &[T], b: &[T], c: &mut [T], parallel: bool) -> Result<()> {
    gemm(m, n, k, Mat::rm(a, k), Mat::rm(b, n), c, n, T::ONE, T::ZERO, parallel)
}

/// Transposes a row-major `rows x cols` matrix into a new `cols x rows` one.
pub fn transpose<T: Copy + Default>(src: &[T], rows: usize, cols: usize) -> Result<Vec<T>> {
    if src.len() != rows * cols {
        return Err(Error::Internal(format!("transpose: {} elements for {rows}x{cols}", src.len())));
    }
    let mut out = vec![T::default(); src.len()];
    const BS: usize = 32;
    for i0 in (0..rows).step_by(BS) {
        for j0 in (0..cols).step_by(BS) {
            for i in i0..(i0 + BS).min(rows) {
                for j in j0..(j0 + BS).min(cols) {
                    out[j * rows + i] = src[i * cols + j];
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        c
    }

    #[test]
    fn odd_shapes_match_naive() {
        for &(m, n, k) in &[(1, 1, 1), (7, 33, 1), (33, 7, 33), (1, 33, 7), (7, 1, 33), (64, 65, 66)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7 % 13) as f64) - 6.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 5 % 11) as f64) * 0.5).collect();
            let want = naive(m, n, k, &a, &b);
            let mut c = vec![f64::NAN; m * n];
            matmul(m, n, k, &a, &b, &mut c, true).unwrap();
            assert_eq!(c, want, "{m}x{n}x{k}");
            let af: Vec<f32> = a.iter().map(|&v| v as f32).collect();
            let bt = transpose(&b, k, n).unwrap();
            let btf: Vec<f32> = bt.iter().map(|&v| v as f32).collect();
            let mut cf = vec![0f32; m * n];
            gemm(m, n, k, Mat::rm(&af, k), Mat::t(&btf, k), &mut cf, n, 1.0, 0.0, false).unwrap();
            for (x, y) in cf.iter().zip(&want) {
                assert!((*x as f64 - y).abs() < 1e-3, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn alpha_beta_and_k_zero() {
        let a = [1.0f32, 2.0];
        let b = [3.0f32, 4.0];
        let mut c = [10.0f32];
        gemm(1, 1, 2, Mat::rm(&a, 2), Mat::rm(&b, 1), &mut c, 1, 2.0, 0.5, false).unwrap();
        assert_eq!(c, [5.0 + 22.0]);
        let mut c = [f32::NAN, f32::NAN];
        gemm(1, 2, 0, Mat::rm(&a, 0), Mat::rm(&b, 2), &mut c, 2, 1.0, 0.0, false).unwrap();
        assert_eq!(c, [0.0, 0.0]);
    }

    #[test]
    fn short_slices_are_errors() {
        let a = [1.0f32; 5];
        let b = [1.0f32; 6];
        let mut c = [0.0f32; 4];
        assert!(matmul(2, 2, 3, &a, &b, &mut c, false).is_err());
    }
}
