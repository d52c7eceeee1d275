//! aarch64 NEON kernels (4 f32 lanes; scalar tails).
//!
//! NEON is part of the aarch64 baseline, but the functions are still compiled with
//! `#[target_feature(enable = "neon")]` and reached only after runtime detection, like
//! the x86 ones. Lengths are re-derived here (the shortest slice wins).

use super::scalar;
use std::arch::aarch64::*;

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn dot_neon(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let z = vdupq_n_f32(0.0);
    let mut acc = [z, z, z, z];
    let mut i = 0;
    while i + 16 <= n {
        for (k, acc) in acc.iter_mut().enumerate() {
            // SAFETY: i + 4k + 4 <= i + 16 <= n.
            let (x, y) = unsafe { (vld1q_f32(pa.add(i + 4 * k)), vld1q_f32(pb.add(i + 4 * k))) };
            *acc = vfmaq_f32(*acc, x, y);
        }
        i += 16;
    }
    while i + 4 <= n {
        // SAFETY: i + 4 <= n.
        let (x, y) = unsafe { (vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i))) };
        acc[0] = vfmaq_f32(acc[0], x, y);
        i += 4;
    }
    let v = vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3]));
    vaddvq_f32(v) + scalar::dot(&a[i..n], &b[i..n])
}

/// # Safety
/// The CPU must support NEON.
#[target_feature(enable = "neon")]
pub(super) unsafe fn add_neon(a: &[f32], b: &[f32], out: &mut [f32]) {
    let n = a.len().min(b.len()).min(out.len());
    let (pa, pb, po) = (a.as_ptr(), b.as_ptr(), out.as_mut_ptr());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n <= len of all three slices; `out` is a distinct &mut.
        unsafe { vst1q_f32(po.add(i), vaddq_f32(vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)))) };
        i += 4;
    }
    scalar::add(&a[i..n], &b[i..n], &mut out[i..n]);
}

/// ReLU as a compare-and-select (`x < 0 ? +0 : x`), not `vmaxq_f32`: FMAX would turn
/// `-0.0` into `+0.0`, and the result must match the scalar reference bit for bit.
///
/// # Safety
/// The CPU must support NEON; `src` valid for `n` reads, `dst` for `n` writes, and
/// they are equal or disjoint.
#[target_feature(enable = "neon")]
pub(super) unsafe fn relu_neon(src: *const f32, dst: *mut f32, n: usize) {
    let zero = vdupq_n_f32(0.0);
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n; each vector is loaded before it is stored.
        unsafe {
            let x = vld1q_f32(src.add(i));
            vst1q_f32(dst.add(i), vbslq_f32(vcltq_f32(x, zero), zero, x));
        }
        i += 4;
    }
    // SAFETY: the remaining n - i elements are in bounds, with the same aliasing.
    unsafe { scalar::relu_raw(src.add(i), dst.add(i), n - i) };
}
