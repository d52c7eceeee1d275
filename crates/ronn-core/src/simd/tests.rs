//! Every level this CPU supports, against the scalar reference.

use super::*;

const LENGTHS: [usize; 15] = [0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 1000, 1023];

/// A small deterministic generator (no dependencies): values in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next_f32()).collect()
    }
}

fn levels() -> Vec<SimdLevel> {
    let v = SimdFeatures::get().available_levels();
    assert_eq!(v[0], SimdLevel::Scalar);
    v
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn detection_is_consistent() {
    let f = SimdFeatures::detect();
    eprintln!("SIMD levels on this CPU: {:?} (best {})", f.available_levels(), f.best_simd());
    assert_eq!(&f, SimdFeatures::get());
    assert_eq!(best_simd(), f.best_simd());
    assert!(best_simd().is_available());
    assert!(SimdLevel::Scalar.is_available());
    #[cfg(target_arch = "x86_64")]
    {
        assert!(f.sse2, "SSE2 is part of x86_64");
        assert!(best_simd() >= SimdLevel::Sse2);
        assert!(!f.neon);
        if f.avx2 && f.fma {
            assert!(best_simd() >= SimdLevel::Avx2Fma);
        }
        if f.avx512f && cfg!(ronn_avx512) {
            assert_eq!(best_simd(), SimdLevel::Avx512);
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert!(f.neon);
        assert_eq!(best_simd(), SimdLevel::Neon);
    }
    // The best level is the widest available one.
    for l in f.available_levels() {
        assert!(l <= f.best_simd(), "{l} vs {}", f.best_simd());
    }
}

#[test]
fn level_names_and_order() {
    let names: Vec<String> = SimdLevel::ALL.iter().map(|l| l.to_string()).collect();
    assert_eq!(names, ["scalar", "sse2", "avx2+fma", "avx512", "neon"]);
    assert_eq!(SimdLevel::Avx2Fma.name(), "avx2+fma");
    assert!(SimdLevel::Scalar < SimdLevel::Sse2);
    assert!(SimdLevel::Sse2 < SimdLevel::Avx2Fma);
    assert!(SimdLevel::Avx2Fma < SimdLevel::Avx512);
    assert!(SimdLevel::Scalar < SimdLevel::Neon);
    assert_eq!(SimdLevel::Neon.partial_cmp(&SimdLevel::Sse2), None);
    assert_eq!(SimdLevel::Avx512.partial_cmp(&SimdLevel::Neon), None);
    assert_eq!(SimdLevel::Avx512.f32_lanes(), 16);
}

#[test]
fn unavailable_level_is_an_error() {
    let f = SimdFeatures::get();
    for l in SimdLevel::ALL.into_iter().filter(|&l| !f.supports(l)) {
        assert!(dot_product_f32_with(l, &[1.0], &[1.0]).is_err(), "{l}");
        assert!(add_f32_with(l, &[1.0], &[1.0], &mut [0.0]).is_err(), "{l}");
        assert!(relu_f32_with(l, &[1.0], &mut [0.0]).is_err(), "{l}");
        assert!(relu_f32_inplace_with(l, &mut [1.0]).is_err(), "{l}");
    }
    // One of x86 / NEON is always missing.
    assert!(!f.supports(SimdLevel::Neon) || !f.supports(SimdLevel::Sse2));
}

#[test]
fn dot_matches_scalar() {
    let mut rng = Lcg(1);
    for &n in &LENGTHS {
        let (a, b) = (rng.vec(n), rng.vec(n));
        let want = scalar::dot(&a, &b);
        let mag: f32 = a.iter().zip(&b).map(|(x, y)| (x * y).abs()).sum();
        for l in levels() {
            let got = dot_product_f32_with(l, &a, &b).unwrap();
            assert!((got - want).abs() <= 1e-5 * mag + 1e-6, "{l} n={n}: {got} vs {want}");
        }
        assert!((dot_product_f32(&a, &b).unwrap() - want).abs() <= 1e-5 * mag + 1e-6);
    }
}

#[test]
fn dot_exact_on_small_integers() {
    // Integer products and sums below 2^24 are exact in every order.
    for &n in &LENGTHS {
        let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32 - 3.0).collect();
        let b: Vec<f32> = (0..n).map(|i| (i % 5) as f32).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        for l in levels() {
            assert_eq!(dot_product_f32_with(l, &a, &b).unwrap(), want, "{l} n={n}");
        }
    }
}

#[test]
fn add_matches_scalar_exactly() {
    let mut rng = Lcg(2);
    for &n in &LENGTHS {
        let (a, b) = (rng.vec(n), rng.vec(n));
        let mut want = vec![0.0; n];
        scalar::add(&a, &b, &mut want);
        for l in levels() {
            let mut got = vec![f32::MAX; n];
            add_f32_with(l, &a, &b, &mut got).unwrap();
            assert_eq!(bits(&got), bits(&want), "{l} n={n}");
        }
        let mut got = vec![0.0; n];
        add_f32(&a, &b, &mut got).unwrap();
        assert_eq!(bits(&got), bits(&want));
    }
}

/// Random values with NaNs, infinities and signed zeros mixed in.
fn relu_input(rng: &mut Lcg, n: usize) -> Vec<f32> {
    let special = [f32::NAN, -f32::NAN, 0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, -1e-45, 1e-45];
    (0..n).map(|i| if i % 5 == 2 { special[(i / 5) % special.len()] } else { rng.next_f32() }).collect()
}

#[test]
fn relu_matches_scalar_exactly() {
    let mut rng = Lcg(3);
    for &n in &LENGTHS {
        let x = relu_input(&mut rng, n);
        let mut want = vec![0.0; n];
        scalar::relu(&x, &mut want);
        for l in levels() {
            let mut got = vec![f32::MAX; n];
            relu_f32_with(l, &x, &mut got).unwrap();
            assert_eq!(bits(&got), bits(&want), "{l} n={n}");
            let mut inplace = x.clone();
            relu_f32_inplace_with(l, &mut inplace).unwrap();
            assert_eq!(bits(&inplace), bits(&want), "{l} in place, n={n}");
        }
        let mut got = vec![0.0; n];
        relu_f32(&x, &mut got).unwrap();
        assert_eq!(bits(&got), bits(&want));
        let mut inplace = x.clone();
        relu_f32_inplace(&mut inplace);
        assert_eq!(bits(&inplace), bits(&want));
    }
}

#[test]
fn relu_special_values() {
    // Long enough that every SIMD path sees these in full registers and in the tail.
    let mut x = Vec::new();
    for _ in 0..5 {
        x.extend_from_slice(&[f32::NAN, -0.0, 0.0, -2.5, 3.5, f32::NEG_INFINITY, f32::INFINITY]);
    }
    for l in levels() {
        let mut y = vec![1.0; x.len()];
        relu_f32_with(l, &x, &mut y).unwrap();
        for (i, (&xi, &yi)) in x.iter().zip(&y).enumerate() {
            match i % 7 {
                // NaN propagates, payload and all (ONNX Runtime: max(x, 0) keeps NaN).
                0 => assert_eq!(yi.to_bits(), xi.to_bits(), "{l}: relu(NaN)"),
                // -0.0 is not below zero: it passes through with its sign.
                1 => assert_eq!(yi.to_bits(), (-0.0f32).to_bits(), "{l}: relu(-0)"),
                2 => assert_eq!(yi.to_bits(), 0.0f32.to_bits(), "{l}: relu(+0)"),
                3 | 5 => assert_eq!(yi.to_bits(), 0.0f32.to_bits(), "{l}: relu({xi})"),
                _ => assert_eq!(yi, xi, "{l}"),
            }
        }
    }
}

#[test]
fn mismatched_lengths_are_errors() {
    let a = [1.0f32; 9];
    let b = [1.0f32; 8];
    let e = dot_product_f32(&a, &b).unwrap_err();
    assert_eq!(e.code(), crate::ErrorCode::ShapeMismatch);
    let mut out = [7.0f32; 9];
    assert!(add_f32(&a, &b, &mut out).is_err());
    assert!(add_f32(&a, &a, &mut out[..8]).is_err());
    assert_eq!(out, [7.0; 9], "output untouched on error");
    assert!(relu_f32(&a, &mut out[..8]).is_err());
    for l in levels() {
        assert!(dot_product_f32_with(l, &a, &b).is_err());
        assert!(add_f32_with(l, &b, &a, &mut out).is_err());
        assert!(relu_f32_with(l, &b, &mut out).is_err());
    }
}

#[test]
fn unaligned_subslices() {
    // Offsets 1..3 make every vector load unaligned.
    let mut rng = Lcg(4);
    let (a, b) = (rng.vec(130), rng.vec(130));
    for off in 0..4 {
        let (a, b) = (&a[off..off + 100], &b[off + 1..off + 101]);
        let mut want = vec![0.0; 100];
        scalar::add(a, b, &mut want);
        for l in levels() {
            let mut got = vec![0.0; 101];
            add_f32_with(l, a, b, &mut got[1..]).unwrap();
            assert_eq!(bits(&got[1..]), bits(&want), "{l} off={off}");
            assert_eq!(got[0], 0.0);
        }
    }
}
