//! Tests of the Winograd kernel against im2col (`crate::conv::conv_fused`), and the
//! hand-run timing, breakdown and accuracy reports (`#[ignore]`d).

use super::*;
use crate::conv::conv_fused;

fn geom(n: usize, c: usize, m: usize, i: [usize; 2], pb: [usize; 2], pe: [usize; 2]) -> ConvGeom {
    ConvGeom {
        batch: n,
        c_in: c,
        c_out: m,
        group: 1,
        in_spatial: i.to_vec(),
        out_spatial: vec![i[0] + pb[0] + pe[0] - 2, i[1] + pb[1] + pe[1] - 2],
        kernel: vec![3, 3],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        pads_begin: pb.to_vec(),
    }
}

/// Deterministic pseudo-random values in [-1, 1).
fn rand(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Max |got - want| relative to `scale` (the largest pre-activation magnitude).
fn compare(got: &[f32], want: &[f32], scale: f32) -> f32 {
    let scale = scale.max(1e-6);
    got.iter().zip(want).map(|(a, b)| (a - b).abs() / scale).fold(0f32, f32::max)
}

fn check(g: &ConvGeom, act: Activation, with_bias: bool, with_res: bool, seed: u64) -> f32 {
    let x = rand(g.batch * g.c_in * g.in_size(), seed);
    let w = rand(g.c_out * g.c_in * 9, seed + 1);
    let b = rand(g.c_out, seed + 2);
    let z = rand(g.batch * g.c_out * g.out_size(), seed + 3);
    let bias = with_bias.then_some(&b[..]);
    let res = with_res.then_some(&z[..]);
    let mut want = vec![0f32; z.len()];
    conv_fused(g, &x, &w, bias, res, &mut want, Activation::None).unwrap();
    let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
    conv_fused(g, &x, &w, bias, res, &mut want, act).unwrap();
    let wino = Winograd::new(g.c_out, g.c_in, &w).unwrap();
    let mut got = vec![f32::NAN; z.len()];
    wino.run(g, &x, bias, res, &mut got, act).unwrap();
    let e = compare(&got, &want, scale);
    assert!(e < 1e-4, "max rel error {e} for {g:?} {act:?} bias {with_bias} res {with_res}");
    // Portable shuffles (no AVX-512) give the same result.
    let mut got2 = vec![f32::NAN; z.len()];
    wino.run_with(g, &x, bias, res, &mut got2, act, false).unwrap();
    assert_eq!(got, got2, "portable path differs for {g:?}");
    e
}

#[test]
fn matches_im2col() {
    let cases = [
        geom(1, 3, 4, [7, 9], [1, 1], [1, 1]),
        geom(1, 8, 8, [8, 8], [1, 1], [1, 1]),
        geom(2, 5, 7, [11, 13], [1, 1], [1, 1]),
        geom(1, 9, 3, [10, 6], [0, 0], [0, 0]),
        geom(2, 4, 6, [9, 10], [0, 1], [1, 0]),
        geom(1, 6, 5, [12, 7], [2, 0], [0, 2]),
        geom(1, 2, 2, [3, 3], [0, 0], [0, 0]),
        geom(1, 2, 3, [1, 1], [1, 1], [1, 1]),
        geom(3, 17, 19, [5, 6], [1, 1], [1, 1]),
        geom(1, 33, 31, [30, 29], [1, 1], [1, 1]),
        geom(2, 16, 16, [57, 23], [1, 1], [1, 1]),
        geom(1, 64, 64, [14, 14], [1, 1], [1, 1]),
    ];
    let acts = [
        Activation::None,
        Activation::Relu,
        Activation::Clip { min: -0.5, max: 0.7 },
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::HardSigmoid { alpha: 0.2, beta: 0.5 },
        Activation::HardSwish,
    ];
    let mut worst = 0f32;
    for (i, g) in cases.iter().enumerate() {
        worst = worst.max(check(g, Activation::None, false, false, i as u64));
        worst = worst.max(check(g, acts[i % acts.len()], true, i % 2 == 0, i as u64 + 100));
        worst = worst.max(check(g, acts[(i + 3) % acts.len()], i % 3 == 0, true, i as u64 + 200));
    }
    eprintln!("winograd max rel error {worst:e}");
}

#[test]
fn threads_and_blocks() {
    // Several blocks per image, parallel over blocks and (batch 1, tiny map) over GEMMs.
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            check(&geom(1, 12, 10, [70, 45], [1, 1], [1, 1]), Activation::Relu, true, true, 7);
            check(&geom(2, 12, 10, [60, 61], [1, 0], [1, 2]), Activation::None, true, false, 8);
            check(&geom(1, 40, 24, [7, 7], [1, 1], [1, 1]), Activation::None, false, false, 9);
            // Several small images per block (and per thread).
            check(&geom(5, 9, 11, [7, 9], [1, 1], [1, 1]), Activation::Relu, true, true, 10);
            check(&geom(4, 6, 5, [13, 3], [0, 1], [2, 1]), Activation::None, true, true, 11);
            check(&geom(9, 16, 16, [14, 14], [1, 1], [1, 1]), Activation::None, false, true, 12);
        });
    }
}

#[test]
fn output_size_not_from_symmetric_pads() {
    // Output smaller than the pads allow (trailing pad cut), and larger.
    let mut g = geom(1, 4, 5, [9, 9], [1, 1], [1, 1]);
    g.out_spatial = vec![7, 8];
    check(&g, Activation::None, true, false, 1);
    g.out_spatial = vec![10, 11];
    check(&g, Activation::Relu, true, true, 2);
    // Pads larger than the kernel, and far larger than the image.
    check(&geom(1, 3, 4, [5, 4], [3, 2], [4, 5]), Activation::None, true, false, 3);
    check(&geom(1, 2, 3, [2, 2], [100, 1], [0, 90]), Activation::None, true, true, 4);
    let mut g = geom(1, 2, 3, [4, 4], [1, 200], [1, 0]);
    g.out_spatial = vec![2, 3];
    check(&g, Activation::None, true, false, 5);
}

#[test]
fn shuffles_match_scalar() {
    let o: [[f32; L]; 4] = std::array::from_fn(|j| std::array::from_fn(|l| (j * 100 + l) as f32));
    let (mut a, mut b) = ([0f32; 4 * L], [0f32; 4 * L]);
    interleave4(&o, &mut a, has_avx512());
    interleave4_scalar(&o, &mut b);
    assert_eq!(a, b);
    assert_eq!(&b[..6], &[0.0, 100.0, 200.0, 300.0, 1.0, 101.0]);
    let twp = 3 * L;
    for (len, pl) in [(4 * twp, 0), (50, 1), (17, 3), (0, 2), (3, 0), (200, 5), (7, 300)] {
        let row: Vec<f32> = (1..=len).map(|i| i as f32).collect();
        let cnt = len.min((4 * twp).saturating_sub(pl));
        let (mut a, mut b) = (vec![f32::NAN; 4 * twp], vec![f32::NAN; 4 * twp]);
        let mut rb = vec![0f32; 4 * twp];
        deinterleave_row(&row, pl, cnt, &mut rb, &mut a, twp, has_avx512());
        let mut rb = vec![0f32; 4 * twp];
        deinterleave_row(&row, pl, cnt, &mut rb, &mut b, twp, false);
        assert_eq!(a, b, "len {len} pl {pl}");
        if len == 4 * twp {
            assert_eq!((b[1], b[twp], b[3 * twp + 2]), (5.0, 2.0, 12.0));
        }
    }
}

#[test]
fn errors() {
    let g = geom(1, 4, 5, [6, 6], [1, 1], [1, 1]);
    assert!(Winograd::new(5, 4, &[0.0; 179]).is_err());
    let w = Winograd::new(5, 4, &[0.0; 180]).unwrap();
    let x = vec![0f32; 4 * 36];
    let mut y = vec![0f32; 5 * 36];
    assert!(w.run(&g, &x, None, None, &mut y, Activation::None).is_ok());
    assert!(w.run(&g, &x[1..], None, None, &mut y, Activation::None).is_err());
    assert!(w.run(&g, &x, None, None, &mut y[1..], Activation::None).is_err());
    assert!(w.run(&g, &x, Some(&[0.0; 4]), None, &mut y, Activation::None).is_err());
    assert!(w.run(&g, &x, None, Some(&[0.0; 5]), &mut y, Activation::None).is_err());
    let other = ConvGeom { c_in: 3, ..g.clone() };
    assert!(w.run(&other, &x[..3 * 36], None, None, &mut y, Activation::None).is_err());
    let strided = ConvGeom { strides: vec![2, 2], out_spatial: vec![3, 3], ..g.clone() };
    assert!(w.run(&strided, &x, None, None, &mut y[..45], Activation::None).is_err());
    let grouped = ConvGeom { group: 2, c_in: 4, c_out: 4, ..g.clone() };
    assert!(!Winograd::supports(&grouped));
    assert!(!Winograd::supports(&strided));
    assert!(Winograd::supports(&geom(1, 64, 64, [56, 56], [1, 1], [1, 1])));
    assert!(Winograd::supports(&geom(1, 128, 128, [28, 28], [1, 1], [1, 1])));
    assert!(Winograd::supports(&geom(1, 512, 512, [28, 28], [1, 1], [1, 1])));
    // 14x14 and smaller (16 tiles or fewer): im2col (cold transformed weights, see supports()).
    assert!(!Winograd::supports(&geom(1, 128, 128, [14, 14], [1, 1], [1, 1])));
    assert!(!Winograd::supports(&geom(1, 256, 256, [14, 14], [1, 1], [1, 1])));
    assert!(!Winograd::supports(&geom(1, 512, 512, [7, 7], [1, 1], [1, 1])));
    assert!(!Winograd::supports(&geom(4, 512, 512, [7, 7], [1, 1], [1, 1])));
    assert!(!Winograd::supports(&geom(1, 1024, 1024, [14, 14], [1, 1], [1, 1])));
    assert!(!Winograd::supports(&geom(1, 8, 8, [32, 32], [1, 1], [1, 1])));
    // Empty output is fine.
    let empty = ConvGeom { batch: 0, ..g };
    assert!(w.run(&empty, &[], None, None, &mut [], Activation::None).is_ok());
}

/// Hand-run timings (not part of the suite):
/// `cargo test -p ronn-kernels --release winograd_timing -- --ignored --nocapture`.
mod timing {
    use super::super::*;
    use crate::conv::conv_fused;
    use std::time::Instant;

    fn best<F: FnMut()>(reps: usize, mut f: F) -> f64 {
        f();
        let mut b = f64::MAX;
        for _ in 0..reps {
            let t = Instant::now();
            f();
            b = b.min(t.elapsed().as_secs_f64());
        }
        b
    }

    #[test]
    #[ignore]
    fn winograd_timing() {
        // (c, hw, batch)
        let shapes = [
            (64, 56, 1),
            (128, 28, 1),
            (256, 14, 1),
            (512, 7, 1),
            (512, 14, 1),
            (64, 224, 1),
            (512, 28, 1),
            (256, 56, 1),
            (128, 112, 1),
            (32, 28, 1),
            (16, 56, 1),
            (8, 32, 1),
            (8, 56, 1),
            (512, 7, 4),
            (512, 7, 8),
            (512, 14, 4),
            (256, 7, 8),
            (256, 14, 2),
            (64, 56, 2),
        ];
        let only: Option<usize> = std::env::var("WINO_SHAPE").ok().and_then(|s| s.parse().ok());
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                for (si, &(c, hw, n)) in shapes.iter().enumerate() {
                    if only.is_some_and(|o| o != si) {
                        continue;
                    }
                    let g = ConvGeom {
                        batch: n,
                        c_in: c,
                        c_out: c,
                        group: 1,
                        in_spatial: vec![hw, hw],
                        out_spatial: vec![hw, hw],
                        kernel: vec![3, 3],
                        strides: vec![1, 1],
                        dilations: vec![1, 1],
                        pads_begin: vec![1, 1],
                    };
                    let x: Vec<f32> = (0..n * c * hw * hw).map(|i| ((i * 37 % 101) as f32) * 0.01 - 0.5).collect();
                    let w: Vec<f32> = (0..c * c * 9).map(|i| ((i * 13 % 29) as f32) * 0.01 - 0.14).collect();
                    let b = vec![0.1f32; c];
                    let mut y0 = vec![0f32; n * c * hw * hw];
                    let mut y1 = y0.clone();
                    let reps = if c * c * hw * hw > 100_000_000 { 5 } else { 20 };
                    let ti = best(reps, || conv_fused(&g, &x, &w, Some(&b), None, &mut y0, Activation::Relu).unwrap());
                    let wino = Winograd::new(c, c, &w).unwrap();
                    let tw = best(reps, || wino.run(&g, &x, Some(&b), None, &mut y1, Activation::Relu).unwrap());
                    let scale = y0.iter().fold(0f32, |a, v| a.max(v.abs()));
                    let err = y0.iter().zip(&y1).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max) / scale;
                    println!(
                        "t{threads} n{n} {c:>3}@{hw:<3}: im2col {:>8.3} ms  winograd {:>8.3} ms  x{:.2}  supports {}  err {err:.1e}",
                        ti * 1e3,
                        tw * 1e3,
                        ti / tw,
                        Winograd::supports(&g)
                    );
                }
            });
        }
    }
}

mod breakdown {
    use super::super::*;
    use std::time::Instant;

    fn best<F: FnMut()>(mut f: F) -> f64 {
        f();
        (0..30)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    }

    #[test]
    #[ignore]
    fn winograd_breakdown() {
        let c: usize = std::env::var("WINO_C").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
        let hw: usize = std::env::var("WINO_HW").ok().and_then(|s| s.parse().ok()).unwrap_or(56);
        let rows: usize = std::env::var("WINO_ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(14);
        let tw = hw.div_ceil(4);
        let ldv = (rows * tw).next_multiple_of(L);
        let (vs, ms) = (xi_stride(c, ldv), xi_stride(c, ldv));
        let p = Plan {
            ih: hw,
            iw: hw,
            oh: hw,
            ow: hw,
            pt: 1,
            pl: 1,
            tw,
            c_in: c,
            ldv,
            avx512: has_avx512() && std::env::var("WINO_PORTABLE").is_err(),
            vs,
            ms,
        };
        let x: Vec<f32> = (0..c * hw * hw).map(|i| ((i * 37 % 101) as f32) * 0.01 - 0.5).collect();
        let w: Vec<f32> = (0..c * c * 9).map(|i| ((i * 13 % 29) as f32) * 0.01 - 0.14).collect();
        let wino = Winograd::new(c, c, &w).unwrap();
        let mut v = vec![0f32; 36 * vs];
        let mut m = vec![0f32; 36 * ms];
        let mut y = vec![0f32; c * hw * hw];
        let mut ph = vec![0f32; input_scratch(tw, rows)];
        let nb = tw.div_ceil(rows);
        let ti = best(|| {
            for b in 0..nb {
                transform_input(&p, &x, b * rows, ((b + 1) * rows).min(tw), 0, &mut v, &mut ph)
            }
        });
        let tg = best(|| {
            for b in 0..nb {
                let nt = (((b + 1) * rows).min(tw) - b * rows) * tw;
                wino.gemms(&p, nt, &v, &mut m, false).unwrap()
            }
        });
        let to = best(|| {
            for b in 0..nb {
                let (ty0, ty1) = (b * rows, ((b + 1) * rows).min(tw));
                let mut ys: Vec<&mut [f32]> =
                    y.chunks_mut(hw * hw).map(|pl| &mut pl[4 * ty0 * hw..(4 * ty1).min(hw) * hw]).collect();
                transform_output(&p, &m, ty0, ty1, 0, &mut ys, None, None, Activation::None)
            }
        });
        println!("rows {rows}: input {:.3} ms, gemms {:.3} ms, output {:.3} ms", ti * 1e3, tg * 1e3, to * 1e3);
    }
}

/// Hand-run accuracy report on network-like data (inputs in [-1, 1), weights
/// scaled like He init): `cargo test -p ronn-kernels --release winograd_accuracy -- --ignored --nocapture`.
mod accuracy {
    use super::super::*;
    use crate::conv::conv_fused;

    #[test]
    #[ignore]
    fn winograd_accuracy() {
        for (c, hw) in [(64usize, 56usize), (128, 28), (256, 14), (512, 28), (512, 14)] {
            let g = ConvGeom {
                batch: 1,
                c_in: c,
                c_out: c,
                group: 1,
                in_spatial: vec![hw, hw],
                out_spatial: vec![hw, hw],
                kernel: vec![3, 3],
                strides: vec![1, 1],
                dilations: vec![1, 1],
                pads_begin: vec![1, 1],
            };
            let mut s = 0x1234_5678_9abc_def1u64 ^ (c * hw) as u64;
            let mut rnd = move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            };
            let x: Vec<f32> = (0..c * hw * hw).map(|_| rnd()).collect();
            let scale = (6.0 / (9.0 * c as f32)).sqrt();
            let w: Vec<f32> = (0..c * c * 9).map(|_| rnd() * scale).collect();
            let mut want = vec![0f32; c * hw * hw];
            conv_fused(&g, &x, &w, None, None, &mut want, Activation::None).unwrap();
            let mut got = vec![0f32; want.len()];
            Winograd::new(c, c, &w).unwrap().run(&g, &x, None, None, &mut got, Activation::None).unwrap();
            let max = want.iter().fold(0f32, |a, v| a.max(v.abs()));
            let abs = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            let tol = got.iter().zip(&want).map(|(a, b)| (a - b).abs() / (1e-4 + 1e-3 * b.abs())).fold(0f32, f32::max);
            println!(
                "{c:>3}@{hw:<2}: max |y| {max:.2}, max abs err {abs:.2e}, rel to max {:.2e}, worst |err|/(1e-4+1e-3|y|) {tol:.3}",
                abs / max
            );
        }
    }
}
