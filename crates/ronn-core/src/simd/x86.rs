//! x86_64 kernels: SSE2 (baseline), AVX2+FMA and AVX-512F.
//!
//! Each function is `#[target_feature]`-compiled and `unsafe` only because the CPU
//! must have those features; the dispatcher in `mod.rs` checks that first. Lengths
//! are re-derived here (the shortest slice wins), so no kernel can read or write out
//! of bounds whatever it is given. Tails shorter than a register go through the
//! scalar code (SSE2, AVX2) or through masked loads/stores (AVX-512).

use super::scalar;
use std::arch::x86_64::*;

/// Sum of the four lanes.
#[inline]
#[target_feature(enable = "sse2")]
unsafe fn hsum128(v: __m128) -> f32 {
    let hi = _mm_movehl_ps(v, v);
    let s = _mm_add_ps(v, hi);
    let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
    _mm_cvtss_f32(s)
}

/// # Safety
/// The CPU must support SSE2 (every x86_64 CPU does).
#[target_feature(enable = "sse2")]
pub(super) unsafe fn dot_sse2(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let (mut acc0, mut acc1) = (_mm_setzero_ps(), _mm_setzero_ps());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n <= len of both slices; unaligned loads.
        let (x0, y0, x1, y1) = unsafe {
            (_mm_loadu_ps(pa.add(i)), _mm_loadu_ps(pb.add(i)), _mm_loadu_ps(pa.add(i + 4)), _mm_loadu_ps(pb.add(i + 4)))
        };
        acc0 = _mm_add_ps(acc0, _mm_mul_ps(x0, y0));
        acc1 = _mm_add_ps(acc1, _mm_mul_ps(x1, y1));
        i += 8;
    }
    if i + 4 <= n {
        // SAFETY: i + 4 <= n.
        let (x, y) = unsafe { (_mm_loadu_ps(pa.add(i)), _mm_loadu_ps(pb.add(i))) };
        acc0 = _mm_add_ps(acc0, _mm_mul_ps(x, y));
        i += 4;
    }
    // SAFETY: SSE2 is enabled in this function.
    let s = unsafe { hsum128(_mm_add_ps(acc0, acc1)) };
    s + scalar::dot(&a[i..n], &b[i..n])
}

/// # Safety
/// The CPU must support SSE2.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn add_sse2(a: &[f32], b: &[f32], out: &mut [f32]) {
    let n = a.len().min(b.len()).min(out.len());
    let (pa, pb, po) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n <= len of all three slices; `out` is a distinct &mut.
        unsafe { _mm_storeu_ps(po.add(i), _mm_add_ps(_mm_loadu_ps(pa.add(i)), _mm_loadu_ps(pb.add(i)))) };
        i += 4;
    }
    scalar::add(&a[i..n], &b[i..n], &mut out[i..n]);
}

/// # Safety
/// The CPU must support SSE2; `src` valid for `n` reads, `dst` for `n` writes, and
/// they are equal or disjoint.
#[target_feature(enable = "sse2")]
pub(super) unsafe fn relu_sse2(src: *const f32, dst: *mut f32, n: usize) {
    let zero = _mm_setzero_ps();
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n; each vector is loaded before it is stored, so src == dst
        // is fine. max(0, x) returns x when x is NaN or when both are zeros.
        unsafe { _mm_storeu_ps(dst.add(i), _mm_max_ps(zero, _mm_loadu_ps(src.add(i)))) };
        i += 4;
    }
    // SAFETY: the remaining n - i elements are in bounds, with the same aliasing.
    unsafe { scalar::relu_raw(src.add(i), dst.add(i), n - i) };
}

/// Sum of the eight lanes.
#[inline]
#[target_feature(enable = "avx")]
unsafe fn hsum256(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    // SAFETY: AVX implies SSE2.
    unsafe { hsum128(s) }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8k + 8 <= i + 32 <= n.
            let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i + 8 * k)), _mm256_loadu_ps(pb.add(i + 8 * k))) };
            *acc = _mm256_fmadd_ps(x, y, *acc);
        }
        i += 32;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 <= n.
        let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
        acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
        i += 8;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    // SAFETY: AVX is enabled in this function.
    let s = unsafe { hsum256(v) };
    s + scalar::dot(&a[i..n], &b[i..n])
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn add_avx2(a: &[f32], b: &[f32], out: &mut [f32]) {
    let n = a.len().min(b.len()).min(out.len());
    let (pa, pb, po) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n <= len of all three slices; `out` is a distinct &mut.
        unsafe { _mm256_storeu_ps(po.add(i), _mm256_add_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)))) };
        i += 8;
    }
    scalar::add(&a[i..n], &b[i..n], &mut out[i..n]);
}

/// # Safety
/// The CPU must support AVX2 and FMA; pointers as for [`relu_sse2`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn relu_avx2(src: *const f32, dst: *mut f32, n: usize) {
    let zero = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n; load before store, so src == dst is fine.
        unsafe { _mm256_storeu_ps(dst.add(i), _mm256_max_ps(zero, _mm256_loadu_ps(src.add(i)))) };
        i += 8;
    }
    // SAFETY: the remaining n - i elements are in bounds, with the same aliasing.
    unsafe { scalar::relu_raw(src.add(i), dst.add(i), n - i) };
}

/// Mask of the low `r` lanes (`r < 16`).
#[cfg(ronn_avx512)]
#[inline(always)]
fn tail_mask(r: usize) -> __mmask16 {
    ((1u32 << r) - 1) as __mmask16
}

/// # Safety
/// The CPU must support AVX-512F.
#[cfg(ronn_avx512)]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    while i + 64 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            // SAFETY: i + 16k + 16 <= i + 64 <= n.
            let (x, y) = unsafe { (_mm512_loadu_ps(pa.add(i + 16 * k)), _mm512_loadu_ps(pb.add(i + 16 * k))) };
            *acc = _mm512_fmadd_ps(x, y, *acc);
        }
        i += 64;
    }
    while i + 16 <= n {
        // SAFETY: i + 16 <= n.
        let (x, y) = unsafe { (_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i))) };
        acc[0] = _mm512_fmadd_ps(x, y, acc[0]);
        i += 16;
    }
    if i < n {
        let m = tail_mask(n - i);
        // SAFETY: masked-off lanes are neither read nor fault; the n - i enabled lanes
        // are in bounds.
        let (x, y) = unsafe { (_mm512_maskz_loadu_ps(m, pa.add(i)), _mm512_maskz_loadu_ps(m, pb.add(i))) };
        acc[1] = _mm512_fmadd_ps(x, y, acc[1]);
    }
    let v = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
    _mm512_reduce_add_ps(v)
}

/// # Safety
/// The CPU must support AVX-512F.
#[cfg(ronn_avx512)]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn add_avx512(a: &[f32], b: &[f32], out: &mut [f32]) {
    let n = a.len().min(b.len()).min(out.len());
    let (pa, pb, po) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n <= len of all three slices; `out` is a distinct &mut.
        unsafe { _mm512_storeu_ps(po.add(i), _mm512_add_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)))) };
        i += 16;
    }
    if i < n {
        let m = tail_mask(n - i);
        // SAFETY: only the n - i in-bounds lanes are read and written.
        unsafe {
            let v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, pa.add(i)), _mm512_maskz_loadu_ps(m, pb.add(i)));
            _mm512_mask_storeu_ps(po.add(i), m, v);
        }
    }
}

/// # Safety
/// The CPU must support AVX-512F; pointers as for [`relu_sse2`].
#[cfg(ronn_avx512)]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn relu_avx512(src: *const f32, dst: *mut f32, n: usize) {
    let zero = _mm512_setzero_ps();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: i + 16 <= n; load before store, so src == dst is fine.
        unsafe { _mm512_storeu_ps(dst.add(i), _mm512_max_ps(zero, _mm512_loadu_ps(src.add(i)))) };
        i += 16;
    }
    if i < n {
        let m = tail_mask(n - i);
        // SAFETY: only the n - i in-bounds lanes are read and written.
        unsafe { _mm512_mask_storeu_ps(dst.add(i), m, _mm512_max_ps(zero, _mm512_maskz_loadu_ps(m, src.add(i)))) };
    }
}
