//! Low-precision ONNX element types: float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ,
//! E8M0), float4 (E2M1) and the 4- and 2-bit integers.
//!
//! RONN stores them one byte per element ([`crate::TensorData::Small`]):
//! float8 and float4 as their bit code (float4 in the low nibble), int4 / int2
//! sign-extended into the byte (read it as `i8`), uint4 / uint2 as the value.
//! Packing (two 4-bit or four 2-bit elements per byte, low bits first) happens
//! only at the proto boundary ([`pack`], [`unpack`]).
//!
//! Conversions from wider floats round to nearest even, exactly (one rounding,
//! from the f64 value). Overflow, NaN and infinity follow the ONNX Cast tables
//! (<https://onnx.ai/onnx/technical/float8.html>, `float4.html`, `int4.html`):
//!
//! | type     | saturate: |x| > max, ±Inf | no saturate: |x| > max | ±Inf (no sat.) | NaN  |
//! |----------|-------------------------|------------------------|----------------|------|
//! | E4M3FN   | ±448                    | NaN                    | NaN            | NaN  |
//! | E4M3FNUZ | ±240                    | NaN                    | NaN            | NaN  |
//! | E5M2     | ±57344                  | ±Inf                   | ±Inf           | NaN  |
//! | E5M2FNUZ | ±57344                  | NaN                    | NaN            | NaN  |
//! | E2M1     | ±6 (always)             | ±6                     | ±6             | -0   |
//!
//! FNUZ types have no negative zero (it is their NaN code, 0x80). E8M0 holds
//! only the exponent (2^(code-127), 0xFF is NaN) and rounds by [`E8M0Round`].
//! Integers convert like numpy / ml_dtypes: floats truncate toward zero (NaN and
//! infinities give 0), then every integer wraps to the low bits.

use crate::dtype::DType;

/// The layout of a small float type.
#[derive(Clone, Copy, Debug)]
struct Fmt {
    mbits: u32,
    bias: i32,
    /// Largest finite value.
    max: f64,
    /// Bit code of the largest finite positive value.
    max_code: u8,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// IEEE-like: all-ones exponent is Inf (mantissa 0) or NaN (E5M2).
    Ieee,
    /// Finite, NaN = all ones (E4M3FN).
    Fn,
    /// Finite, unsigned zero, NaN = 0x80 (the FNUZ types).
    Fnuz,
    /// No Inf, no NaN (E2M1).
    NoSpecial,
}

fn fmt_of(d: DType) -> Option<Fmt> {
    Some(match d {
        DType::Float8E4M3FN => Fmt { mbits: 3, bias: 7, max: 448.0, max_code: 0x7E, kind: Kind::Fn },
        DType::Float8E4M3FNUZ => Fmt { mbits: 3, bias: 8, max: 240.0, max_code: 0x7F, kind: Kind::Fnuz },
        DType::Float8E5M2 => Fmt { mbits: 2, bias: 15, max: 57344.0, max_code: 0x7B, kind: Kind::Ieee },
        DType::Float8E5M2FNUZ => Fmt { mbits: 2, bias: 16, max: 57344.0, max_code: 0x7F, kind: Kind::Fnuz },
        DType::Float4E2M1 => Fmt { mbits: 1, bias: 1, max: 6.0, max_code: 0x7, kind: Kind::NoSpecial },
        _ => return None,
    })
}

/// Sign bit position of a small float type's code.
fn sign_bit(d: DType) -> u8 {
    if d == DType::Float4E2M1 {
        0x8
    } else {
        0x80
    }
}

/// Whether `d` is one of the types stored as one byte per element in
/// [`crate::TensorData::Small`].
pub fn is_small(d: DType) -> bool {
    bits(d).is_some()
}

/// Bits per element of a small type (8, 4 or 2); `None` for other types.
pub fn bits(d: DType) -> Option<u32> {
    use DType::*;
    match d {
        Float8E4M3FN | Float8E4M3FNUZ | Float8E5M2 | Float8E5M2FNUZ | Float8E8M0 => Some(8),
        Float4E2M1 | Int4 | UInt4 => Some(4),
        Int2 | UInt2 => Some(2),
        _ => None,
    }
}

/// Whether `d` is a small integer type (int4, uint4, int2, uint2).
pub fn is_small_int(d: DType) -> bool {
    matches!(d, DType::Int4 | DType::UInt4 | DType::Int2 | DType::UInt2)
}

/// Whether `d` is a small float type (the float8 flavours and float4).
pub fn is_small_float(d: DType) -> bool {
    is_small(d) && !is_small_int(d)
}

/// The range of a small integer type.
pub fn int_range(d: DType) -> Option<(i64, i64)> {
    Some(match d {
        DType::Int4 => (-8, 7),
        DType::UInt4 => (0, 15),
        DType::Int2 => (-2, 1),
        DType::UInt2 => (0, 3),
        _ => return None,
    })
}

/// Largest finite value of a small float type (E8M0: 2^127).
pub fn float_max(d: DType) -> Option<f64> {
    if d == DType::Float8E8M0 {
        return Some(2f64.powi(127));
    }
    fmt_of(d).map(|f| f.max)
}

/// The stored byte of a small integer type from an integer (wraps to the low bits).
#[inline]
pub fn int_from_i64(d: DType, v: i64) -> u8 {
    match d {
        DType::Int4 => (((v as u8) << 4) as i8 >> 4) as u8,
        DType::UInt4 => (v as u8) & 0xF,
        DType::Int2 => (((v as u8) << 6) as i8 >> 6) as u8,
        DType::UInt2 => (v as u8) & 0x3,
        _ => v as u8,
    }
}

/// The value of a stored small integer byte.
#[inline]
pub fn int_to_i64(d: DType, b: u8) -> i64 {
    match d {
        DType::Int4 | DType::Int2 => b as i8 as i64,
        _ => b as i64,
    }
}

/// The raw bit code (the low `bits` bits) of a stored byte.
#[inline]
pub fn code_of(d: DType, b: u8) -> u8 {
    match bits(d) {
        Some(4) => b & 0xF,
        Some(2) => b & 0x3,
        _ => b,
    }
}

/// The stored byte of a raw bit code (sign-extends int4 / int2).
#[inline]
pub fn from_code(d: DType, c: u8) -> u8 {
    match d {
        DType::Int4 | DType::UInt4 | DType::Int2 | DType::UInt2 => int_from_i64(d, c as i64),
        DType::Float4E2M1 => c & 0xF,
        _ => c,
    }
}

/// The value of a stored byte of small type `d`, as f64 (exact).
pub fn to_f64(d: DType, b: u8) -> f64 {
    if is_small_int(d) {
        return int_to_i64(d, b) as f64;
    }
    if d == DType::Float8E8M0 {
        return if b == 0xFF { f64::NAN } else { 2f64.powi(b as i32 - 127) };
    }
    let Some(f) = fmt_of(d) else { return f64::NAN };
    let sb = sign_bit(d);
    match f.kind {
        Kind::Fn if b & 0x7F == 0x7F => return f64::NAN,
        Kind::Fnuz if b == 0x80 => return f64::NAN,
        Kind::Ieee if b & 0x7C == 0x7C => {
            return if b & 0x3 != 0 {
                f64::NAN
            } else if b & 0x80 != 0 {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        _ => {}
    }
    let neg = b & sb != 0;
    let mag = b & (sb - 1);
    let e = (mag >> f.mbits) as i32;
    let m = (mag & ((1u8 << f.mbits) - 1)) as f64;
    let v = if e == 0 {
        m * 2f64.powi(1 - f.bias - f.mbits as i32)
    } else {
        (1.0 + m / (1u32 << f.mbits) as f64) * 2f64.powi(e - f.bias)
    };
    if neg {
        -v
    } else {
        v
    }
}

/// The value of a stored byte as f32 (exact for every small type but E8M0's
/// extremes 2^127 (fits) and 2^-127 (an f32 subnormal, exact too)).
#[inline]
pub fn to_f32(d: DType, b: u8) -> f32 {
    to_f64(d, b) as f32
}

/// A 256-entry table of [`to_f32`] over every byte, for fast decoding.
pub fn f32_table(d: DType) -> [f32; 256] {
    let mut t = [0f32; 256];
    for (i, v) in t.iter_mut().enumerate() {
        *v = to_f32(d, from_code(d, code_of(d, i as u8)));
    }
    t
}

/// floor(log2(a)) for a finite positive f64 (subnormals report -1023 or less).
fn floor_log2(a: f64) -> i32 {
    let e = ((a.to_bits() >> 52) & 0x7FF) as i32;
    if e == 0 {
        -1023 - (a.to_bits().leading_zeros() as i32 - 12)
    } else {
        e - 1023
    }
}

fn encode_float(f: &Fmt, sb: u8, x: f64, saturate: bool) -> u8 {
    let neg = x.is_sign_negative();
    let sign = if neg { sb } else { 0 };
    let nan = match f.kind {
        Kind::Fn => 0x7F,
        Kind::Ieee => 0x7F,
        Kind::Fnuz => 0x80,
        Kind::NoSpecial => 0x8,
    };
    if x.is_nan() {
        return nan;
    }
    let overflow = |sat: bool| -> u8 {
        if sat || f.kind == Kind::NoSpecial {
            f.max_code | sign
        } else if f.kind == Kind::Ieee {
            0x7C | sign
        } else {
            nan
        }
    };
    if x.is_infinite() {
        return overflow(saturate);
    }
    let a = x.abs();
    let emin = 1 - f.bias;
    let mb = f.mbits as i32;
    let e = floor_log2(a).max(emin);
    let q = 2f64.powi(e - mb);
    let r = (a / q).round_ties_even();
    let v = r * q;
    if v > f.max {
        return overflow(saturate);
    }
    if v == 0.0 {
        return if f.kind == Kind::Fnuz { 0 } else { sign };
    }
    let ev = floor_log2(v);
    let mag = if ev < emin {
        (v / 2f64.powi(emin - mb)) as u8
    } else {
        let m = (v / 2f64.powi(ev - mb)) as u32 - (1u32 << f.mbits);
        (((ev + f.bias) as u32) << f.mbits | m) as u8
    };
    mag | sign
}

/// How a float rounds to E8M0 (Cast's `round_mode`, opset 24).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum E8M0Round {
    /// Toward +infinity in magnitude (the default).
    Up,
    /// Toward zero in magnitude.
    Down,
    /// To nearest, ties to even.
    Nearest,
}

/// E8M0 code of `x` (its exponent, sign ignored), as the ONNX reference does it
/// on the f32 bits.
pub fn to_e8m0(x: f32, saturate: bool, round: E8M0Round) -> u8 {
    let bits = x.to_bits();
    let e = (bits >> 23) & 0xFF;
    if e == 0xFF {
        return 0xFF;
    }
    let up = match round {
        E8M0Round::Down => false,
        E8M0Round::Up => bits & 0x7F_FFFF != 0,
        E8M0Round::Nearest => {
            let g = bits & 0x40_0000 != 0;
            let r = bits & 0x20_0000 != 0;
            let s = bits & 0x1F_FFFF != 0;
            g && (r || s || e > 0)
        }
    };
    if up && !(saturate && e == 0xFE) {
        (e + 1) as u8
    } else {
        e as u8
    }
}

/// The stored byte of small type `d` for the value `x`: floats round to nearest
/// even (E8M0: rounds up) with `saturate` per the table above; integers
/// truncate then wrap.
pub fn from_f64(d: DType, x: f64, saturate: bool) -> u8 {
    if is_small_int(d) {
        let i = if x.is_finite() { x.trunc() as i64 } else { 0 };
        return int_from_i64(d, i);
    }
    if d == DType::Float8E8M0 {
        return to_e8m0(x as f32, saturate, E8M0Round::Up);
    }
    match fmt_of(d) {
        Some(f) => encode_float(&f, sign_bit(d), x, saturate),
        None => 0,
    }
}

/// [`from_f64`] for an f32 (exact widening first).
#[inline]
pub fn from_f32(d: DType, x: f32, saturate: bool) -> u8 {
    from_f64(d, x as f64, saturate)
}

/// Packs stored bytes into the ONNX wire form: float8 as is, 4-bit types two per
/// byte (low nibble first), 2-bit types four per byte (lowest bits first).
pub fn pack(d: DType, v: &[u8]) -> Vec<u8> {
    match bits(d) {
        Some(4) => v.chunks(2).map(|c| c.iter().enumerate().fold(0u8, |a, (i, &b)| a | (b & 0xF) << (4 * i))).collect(),
        Some(2) => v.chunks(4).map(|c| c.iter().enumerate().fold(0u8, |a, (i, &b)| a | (b & 0x3) << (2 * i))).collect(),
        _ => v.to_vec(),
    }
}

/// Bytes the packed form of `n` elements of `d` takes.
pub fn packed_len(d: DType, n: usize) -> usize {
    match bits(d) {
        Some(4) => n.div_ceil(2),
        Some(2) => n.div_ceil(4),
        _ => n,
    }
}

/// Unpacks `n` elements of `d` from the wire form (the inverse of [`pack`]);
/// `None` when `raw` is shorter than [`packed_len`].
pub fn unpack(d: DType, raw: &[u8], n: usize) -> Option<Vec<u8>> {
    if raw.len() < packed_len(d, n) {
        return None;
    }
    let per = match bits(d) {
        Some(4) => 2,
        Some(2) => 4,
        _ => return Some(raw[..n].to_vec()),
    };
    let w = 8 / per as u32;
    let mask = (1u8 << w) - 1;
    Some((0..n).map(|i| from_code(d, (raw[i / per] >> (w * (i % per) as u32)) & mask)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    const F8: [DType; 4] = [Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2, Float8E5M2FNUZ];

    #[test]
    fn every_code_round_trips() {
        for d in F8.into_iter().chain([Float4E2M1]) {
            let n = if d == Float4E2M1 { 16 } else { 256 };
            for c in 0..n {
                let c = c as u8;
                let v = to_f64(d, c);
                if v.is_nan() {
                    assert!(to_f64(d, from_f64(d, v, false)).is_nan(), "{d} {c:#x}");
                    continue;
                }
                assert_eq!(from_f64(d, v, false), c, "{d} code {c:#x} value {v}");
            }
        }
        // (Code 0, 2^-127, is an f32 subnormal: the reference rounds it up to 2^-126.)
        for c in 1..=254u8 {
            assert_eq!(to_e8m0(to_f32(Float8E8M0, c), true, E8M0Round::Up), c);
        }
        assert_eq!(to_e8m0(to_f32(Float8E8M0, 0), true, E8M0Round::Down), 0);
    }

    #[test]
    fn float8_special_values() {
        // Known codes.
        assert_eq!(to_f64(Float8E4M3FN, 0x7E), 448.0);
        assert_eq!(to_f64(Float8E4M3FN, 0x01), 2f64.powi(-9));
        assert!(to_f64(Float8E4M3FN, 0xFF).is_nan());
        assert_eq!(to_f64(Float8E4M3FNUZ, 0x7F), 240.0);
        assert_eq!(to_f64(Float8E4M3FNUZ, 0x01), 2f64.powi(-10));
        assert!(to_f64(Float8E4M3FNUZ, 0x80).is_nan());
        assert_eq!(to_f64(Float8E5M2, 0x7B), 57344.0);
        assert_eq!(to_f64(Float8E5M2, 0x7C), f64::INFINITY);
        assert_eq!(to_f64(Float8E5M2, 0xFC), f64::NEG_INFINITY);
        assert!(to_f64(Float8E5M2, 0x7D).is_nan());
        assert_eq!(to_f64(Float8E5M2FNUZ, 0x7F), 57344.0);
        assert_eq!(to_f64(Float8E5M2FNUZ, 0x01), 2f64.powi(-17));
        assert_eq!(to_f64(Float8E8M0, 127), 1.0);
        assert_eq!(to_f64(Float8E8M0, 0), 2f64.powi(-127));
        assert!(to_f64(Float8E8M0, 255).is_nan());
        // Values from ml_dtypes (onnx reference), no saturation.
        let xs = [1e-9, -1e-9, 0.0, -0.0, 1000.0, -1000.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        let want: [(DType, [u8; 9]); 4] = [
            (Float8E4M3FN, [0, 128, 0, 128, 127, 255, 127, 127, 255]),
            (Float8E4M3FNUZ, [0, 0, 0, 0, 128, 128, 128, 128, 128]),
            (Float8E5M2, [0, 128, 0, 128, 100, 228, 127, 124, 252]),
            (Float8E5M2FNUZ, [0, 0, 0, 0, 104, 232, 128, 128, 128]),
        ];
        for (d, w) in want {
            let got: Vec<u8> = xs.iter().map(|&x| from_f64(d, x, false)).collect();
            for (k, (&g, &e)) in got.iter().zip(&w).enumerate() {
                if to_f64(d, e).is_nan() {
                    assert!(to_f64(d, g).is_nan(), "{d} x={}", xs[k]);
                } else {
                    assert_eq!(g, e, "{d} x={}", xs[k]);
                }
            }
        }
        // Rounding at the top: ties to even, then overflow.
        let ys = [448.0, 464.0, 465.0, 480.0, 57344.0, 61439.0, 61440.0, 240.0, 247.0, 248.0];
        let w: [(DType, [u8; 10]); 4] = [
            (Float8E4M3FN, [126, 126, 127, 127, 127, 127, 127, 119, 119, 120]),
            (Float8E4M3FNUZ, [128, 128, 128, 128, 128, 128, 128, 127, 127, 128]),
            (Float8E5M2, [95, 95, 95, 96, 123, 123, 124, 92, 92, 92]),
            (Float8E5M2FNUZ, [99, 99, 99, 100, 127, 127, 128, 96, 96, 96]),
        ];
        for (d, w) in w {
            let got: Vec<u8> = ys.iter().map(|&x| from_f64(d, x, false)).collect();
            assert_eq!(got, w, "{d}");
        }
        // Subnormal ties.
        assert_eq!(from_f64(Float8E5M2FNUZ, 2f64.powi(-17), false), 1);
        assert_eq!(from_f64(Float8E5M2, 2f64.powi(-17), false), 0);
        assert_eq!(from_f64(Float8E5M2, 3.0 * 2f64.powi(-17), false), 2);
    }

    #[test]
    fn float8_saturation() {
        for d in F8 {
            let max = float_max(d).unwrap();
            for x in [1e6, f64::INFINITY, max * 1.2] {
                assert_eq!(to_f64(d, from_f64(d, x, true)), max, "{d} {x}");
                assert_eq!(to_f64(d, from_f64(d, -x, true)), -max, "{d} {x}");
            }
            assert!(to_f64(d, from_f64(d, f64::NAN, true)).is_nan());
        }
        assert_eq!(from_f64(Float8E5M2, 1e6, false), 0x7C);
        assert!(to_f64(Float8E4M3FN, from_f64(Float8E4M3FN, 1e6, false)).is_nan());
        // FNUZ has no negative zero.
        assert_eq!(from_f64(Float8E4M3FNUZ, -1e-7, true), 0);
        assert_eq!(from_f64(Float8E4M3FN, -1e-7, true), 0x80);
        // The ONNX test's values: 0.4789 -> 0.46875 (E4M3FN), 0.5 (E5M2).
        assert_eq!(to_f64(Float8E4M3FN, from_f64(Float8E4M3FN, 0.478_925_466_537_475_6, true)), 0.46875);
        assert_eq!(to_f64(Float8E5M2, from_f64(Float8E5M2, 0.478_925_466_537_475_6, true)), 0.5);
        assert_eq!(to_f64(Float8E5M2, from_f64(Float8E5M2, 0.819_105_446_338_653_6, true)), 0.875);
    }

    #[test]
    fn float4_and_e8m0() {
        let xs = [0.0, 0.3, 0.25, 0.75, 1.5, 2.5, -2.5, 5.0, 7.0, 100.0, -100.0, f64::INFINITY, f64::NAN];
        let w: Vec<f64> = xs.iter().map(|&x| to_f64(Float4E2M1, from_f64(Float4E2M1, x, false))).collect();
        assert_eq!(&w[..12], &[0.0, 0.5, 0.0, 1.0, 1.5, 2.0, -2.0, 4.0, 6.0, 6.0, -6.0, 6.0]);
        assert_eq!(from_f64(Float4E2M1, f64::NAN, true), 0x8);
        assert_eq!(to_e8m0(0.0, true, E8M0Round::Up), 0);
        assert_eq!(to_e8m0(0.124, true, E8M0Round::Up), 124);
        assert_eq!(to_e8m0(1.1, true, E8M0Round::Up), 128);
        assert_eq!(to_e8m0(1.1, true, E8M0Round::Down), 127);
        assert_eq!(to_e8m0(1.5, true, E8M0Round::Nearest), 128);
        assert_eq!(to_e8m0(1.4, true, E8M0Round::Nearest), 127);
        assert_eq!(to_e8m0(f32::MAX, true, E8M0Round::Up), 254);
        assert_eq!(to_e8m0(f32::MAX, false, E8M0Round::Up), 255);
        assert_eq!(to_e8m0(f32::INFINITY, true, E8M0Round::Up), 255);
        assert_eq!(to_e8m0(-4.0, true, E8M0Round::Up), 129);
    }

    #[test]
    fn small_ints_truncate_and_wrap() {
        let xs = [-9.0, -8.0, -2.5, 7.5, 8.0, 15.0, 16.0, 300.0, f64::NAN, f64::INFINITY];
        let g = |d| xs.iter().map(|&x| int_to_i64(d, from_f64(d, x, true))).collect::<Vec<_>>();
        assert_eq!(g(Int4), [7, -8, -2, 7, -8, -1, 0, -4, 0, 0]);
        assert_eq!(g(UInt4), [7, 8, 14, 7, 8, 15, 0, 12, 0, 0]);
        assert_eq!(g(Int2), [-1, 0, -2, -1, 0, -1, 0, 0, 0, 0]);
        assert_eq!(g(UInt2), [3, 0, 2, 3, 0, 3, 0, 0, 0, 0]);
        assert_eq!(int_from_i64(Int4, -100), (-4i8) as u8);
        assert_eq!(int_from_i64(Int2, 1), 1);
    }

    #[test]
    fn pack_round_trips() {
        let v: Vec<u8> = [-8i64, 7, -1, 0, 3].iter().map(|&x| int_from_i64(Int4, x)).collect();
        let p = pack(Int4, &v);
        assert_eq!(p, vec![0x78, 0x0F, 0x03]);
        assert_eq!(unpack(Int4, &p, 5).unwrap(), v);
        let v: Vec<u8> = [-2i64, 1, -1, 0, 1].iter().map(|&x| int_from_i64(Int2, x)).collect();
        let p = pack(Int2, &v);
        assert_eq!(p, vec![0b00_11_01_10, 0b01]);
        assert_eq!(unpack(Int2, &p, 5).unwrap(), v);
        assert_eq!(unpack(UInt2, &p, 5).unwrap(), vec![2, 1, 3, 0, 1]);
        assert!(unpack(UInt4, &[0u8], 3).is_none());
        assert_eq!(unpack(Float8E5M2, &[1, 2], 2).unwrap(), vec![1, 2]);
    }
}
