//! Element-wise f32 maps compiled once per SIMD level.
//!
//! The kernels' math (`exp`, `tanh`, `erf`, sigmoid as polynomials) is written as
//! plain branch-free Rust; compiled for the portable baseline it runs 4 lanes wide
//! at best. [`map_f32`] inlines the caller's closure into `#[target_feature]`
//! copies of one loop and picks the widest this CPU has at run time, so the same
//! closure vectorizes to AVX2 (8 lanes) or AVX-512 (16 lanes).

use super::{same_len, SimdFeatures, SimdLevel};
use crate::Result;

#[inline(always)]
fn map_loop<F: Fn(f32) -> f32>(a: &[f32], out: &mut [f32], f: &F) {
    for (o, &x) in out.iter_mut().zip(a) {
        *o = f(x);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn map_avx2<F: Fn(f32) -> f32>(a: &[f32], out: &mut [f32], f: &F) {
    map_loop(a, out, f)
}

#[cfg(all(target_arch = "x86_64", ronn_avx512))]
#[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
unsafe fn map_avx512<F: Fn(f32) -> f32>(a: &[f32], out: &mut [f32], f: &F) {
    map_loop(a, out, f)
}

/// `out[i] = f(a[i])`, vectorized for this CPU (see the module doc). `f` must be
/// a pure function of its argument; every level gives the same results as long as
/// `f` does not depend on fused multiply-adds (a polynomial in Horner form may
/// round differently once FMA contracts it: within an ulp or two).
///
/// ```
/// let a = [0.0f32, 1.0, -2.0];
/// let mut out = [0.0f32; 3];
/// ronn_core::simd::map_f32(&a, &mut out, |x| 2.0 * x + 1.0)?;
/// assert_eq!(out, [1.0, 3.0, -3.0]);
/// # Ok::<(), ronn_core::Error>(())
/// ```
pub fn map_f32<F: Fn(f32) -> f32>(a: &[f32], out: &mut [f32], f: F) -> Result<()> {
    same_len("map_f32", a.len(), out.len())?;
    let feats = SimdFeatures::get();
    #[cfg(all(target_arch = "x86_64", ronn_avx512))]
    if feats.supports(SimdLevel::Avx512) && feats.avx512dq && feats.supports(SimdLevel::Avx2Fma) {
        // SAFETY: the CPU reported AVX-512F, AVX-512DQ, AVX2 and FMA.
        unsafe { map_avx512(a, out, &f) };
        return Ok(());
    }
    #[cfg(target_arch = "x86_64")]
    if feats.supports(SimdLevel::Avx2Fma) {
        // SAFETY: the CPU reported AVX, AVX2 and FMA.
        unsafe { map_avx2(a, out, &f) };
        return Ok(());
    }
    let _ = feats;
    map_loop(a, out, &f);
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<R, F: FnOnce() -> R>(f: F) -> R {
    f()
}

#[cfg(all(target_arch = "x86_64", ronn_avx512))]
#[target_feature(enable = "avx512f,avx512dq,avx512bw,avx2,fma")]
unsafe fn run_avx512<R, F: FnOnce() -> R>(f: F) -> R {
    f()
}

/// Runs `f` compiled for the widest SIMD level this CPU has: `f`'s body (and
/// what it inlines) is instantiated inside `#[target_feature]` copies, so plain
/// loops in it vectorize to AVX-512 or AVX2 instead of the SSE2 baseline. For
/// loops that are not a one-input map ([`map_f32`]): reductions, type changes.
/// The same rounding caveat applies (FMA contraction of multiply-adds).
///
/// Mark the closure `#[inline(always)]` (allowed in argument position): a closure
/// with a loop in it is otherwise often compiled as its own function, without the
/// target features, and runs at the baseline (an `f32::mul_add` in it then becomes
/// a libm call).
///
/// ```
/// let v = [3.0f32, -1.0, 2.0];
/// let max = ronn_core::simd::with_best_simd(#[inline(always)] || v.iter().fold(f32::MIN, |a, &b| a.max(b)));
/// assert_eq!(max, 3.0);
/// ```
#[inline]
pub fn with_best_simd<R, F: FnOnce() -> R>(f: F) -> R {
    let feats = SimdFeatures::get();
    #[cfg(all(target_arch = "x86_64", ronn_avx512))]
    if feats.supports(SimdLevel::Avx512) && feats.avx512dq && feats.avx512bw && feats.supports(SimdLevel::Avx2Fma) {
        // SAFETY: the CPU reported AVX-512F/DQ/BW, AVX2 and FMA.
        return unsafe { run_avx512(f) };
    }
    #[cfg(target_arch = "x86_64")]
    if feats.supports(SimdLevel::Avx2Fma) {
        // SAFETY: the CPU reported AVX, AVX2 and FMA.
        return unsafe { run_avx2(f) };
    }
    let _ = feats;
    f()
}
