//! The portable reference every SIMD path is tested against.

/// `Σ a[i]·b[i]`, summed left to right (over the shorter length).
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |s, (x, y)| s + x * y)
}

/// `out[i] = a[i] + b[i]` (over the shortest length).
pub(super) fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x + y;
    }
}

/// ReLU of one value: `+0` for negatives, `x` otherwise (NaN and `-0.0` pass through).
#[inline(always)]
pub(super) fn relu1(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// `out[i] = relu(x[i])` (over the shorter length); the tests' reference.
#[cfg(test)]
pub(super) fn relu(x: &[f32], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = relu1(v);
    }
}

/// ReLU of `n` floats from `src` to `dst`.
///
/// # Safety
/// `src` must be valid for `n` reads and `dst` for `n` writes; they are either equal
/// or do not overlap.
pub(super) unsafe fn relu_raw(src: *const f32, dst: *mut f32, n: usize) {
    for i in 0..n {
        // SAFETY: i < n, so both accesses are in bounds per the contract; element i is
        // read before it is written, so src == dst is fine.
        unsafe { *dst.add(i) = relu1(*src.add(i)) };
    }
}
