//! Branch-free f32 transcendental functions that vectorize: written without
//! libm calls or data-dependent branches so a loop over them (inside
//! [`super::map_f32`] or [`super::with_best_simd`]) runs 8 or 16 lanes wide.
//! Shared by the CPU provider's math ops and the kernels' fused activations.

/// exp(x) for f32: Cody-Waite reduction and a degree-6 polynomial (about 1 ulp).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    let xc = x.clamp(-104.0, 88.722_83);
    // Round to nearest via the 1.5 * 2^23 trick (vectorizes, unlike round()).
    let magic = 12_582_912.0f32;
    let t = xc * LOG2E + magic;
    let n = t - magic;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * (0.001_388_889 + r * 0.000_198_412_7))))));
    // 2^n, split in two factors so n = 128 (x near 88.72) does not overflow the exponent.
    // n's integer value from t's mantissa bits (t = 1.5 * 2^23 + n with |n| < 2^22):
    // an integer op that vectorizes, unlike the saturating `n as i32`.
    let ni = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let h = ni >> 1;
    let s1 = f32::from_bits(((h + 127) as u32) << 23);
    let s2 = f32::from_bits(((ni - h + 127) as u32) << 23);
    let y = p * s1 * s2;
    let y = if x > 88.722_83 { f32::INFINITY } else { y };
    let y = if x < -104.0 { 0.0 } else { y };
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// Logistic sigmoid for f32.
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-x))
}
