//! Convolution tests against a direct f64 reference, and a hand-run timing check (`#[ignore]`d).

use super::*;

/// Direct reference convolution in f64 (2-D only).
#[allow(clippy::too_many_arguments)]
fn reference(g: &ConvGeom, x: &[f64], w: &[f64], b: Option<&[f64]>) -> Vec<f64> {
    let (ih, iw) = (g.in_spatial[0], g.in_spatial[1]);
    let (oh, ow) = (g.out_spatial[0], g.out_spatial[1]);
    let (kh, kw) = (g.kernel[0], g.kernel[1]);
    let cg = g.c_in / g.group;
    let mg = g.c_out / g.group;
    let mut y = vec![0.0; g.batch * g.c_out * oh * ow];
    for n in 0..g.batch {
        for m in 0..g.c_out {
            let gi = m / mg;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = b.map_or(0.0, |b| b[m]);
                    for c in 0..cg {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * g.strides[0] + ky * g.dilations[0]) as isize - g.pads_begin[0] as isize;
                                let ix = (ox * g.strides[1] + kx * g.dilations[1]) as isize - g.pads_begin[1] as isize;
                                if iy < 0 || ix < 0 || iy >= ih as isize || ix >= iw as isize {
                                    continue;
                                }
                                let xi = ((n * g.c_in + gi * cg + c) * ih + iy as usize) * iw + ix as usize;
                                let wi = ((m * cg + c) * kh + ky) * kw + kx;
                                acc += x[xi] * w[wi];
                            }
                        }
                    }
                    y[((n * g.c_out + m) * oh + oy) * ow + ox] = acc;
                }
            }
        }
    }
    y
}

fn geom(
    n: usize,
    c: usize,
    m: usize,
    grp: usize,
    i: [usize; 2],
    k: [usize; 2],
    s: usize,
    d: usize,
    p: usize,
) -> ConvGeom {
    let o = |x: usize, kk: usize| (x + 2 * p - ((kk - 1) * d + 1)) / s + 1;
    ConvGeom {
        batch: n,
        c_in: c,
        c_out: m,
        group: grp,
        in_spatial: i.to_vec(),
        out_spatial: vec![o(i[0], k[0]), o(i[1], k[1])],
        kernel: k.to_vec(),
        strides: vec![s; 2],
        dilations: vec![d; 2],
        pads_begin: vec![p; 2],
    }
}

/// A square-kernel 2-D geometry with an explicit output grid (which may stop
/// short of the padded input), dilation 1: `(batch, c_in, c_out, group)`.
fn geom_to(
    chans: (usize, usize, usize, usize),
    i: [usize; 2],
    o: [usize; 2],
    k: usize,
    s: usize,
    p: usize,
) -> ConvGeom {
    let (batch, c_in, c_out, group) = chans;
    ConvGeom {
        batch,
        c_in,
        c_out,
        group,
        in_spatial: i.to_vec(),
        out_spatial: o.to_vec(),
        kernel: vec![k, k],
        strides: vec![s, s],
        dilations: vec![1, 1],
        pads_begin: vec![p, p],
    }
}

#[test]
fn conv_variants_match_reference() {
    let cases = [
        geom(1, 3, 4, 1, [7, 9], [3, 3], 1, 1, 1),
        geom(2, 4, 6, 2, [8, 5], [3, 2], 2, 1, 1),
        geom(1, 5, 7, 1, [6, 6], [1, 1], 1, 1, 0),
        geom(1, 6, 6, 6, [9, 7], [3, 3], 1, 1, 1),
        geom(2, 4, 4, 4, [9, 8], [3, 3], 2, 2, 2),
        geom(1, 2, 3, 1, [10, 11], [3, 3], 3, 2, 0),
        geom(1, 1, 1, 1, [1, 1], [1, 1], 1, 1, 0),
        // several im2col tiles
        geom(1, 64, 8, 1, [40, 41], [3, 3], 1, 1, 1),
        geom(2, 64, 8, 2, [41, 40], [3, 3], 2, 1, 1),
        // stride-2 im2col rows (the pairwise gather): stems, odd and even widths
        geom(1, 3, 8, 1, [23, 22], [7, 7], 2, 1, 3),
        geom(1, 3, 5, 1, [20, 21], [3, 3], 2, 1, 0),
    ];
    for g in &cases {
        let x: Vec<f64> = (0..g.batch * g.c_in * g.in_size()).map(|i| ((i * 31 % 17) as f64) - 8.0).collect();
        let w: Vec<f64> =
            (0..g.c_out * g.c_in / g.group * g.kernel_size()).map(|i| ((i * 7 % 5) as f64) - 2.0).collect();
        let b: Vec<f64> = (0..g.c_out).map(|i| i as f64 * 0.5).collect();
        let want = reference(g, &x, &w, Some(&b));
        let mut y = vec![f64::NAN; want.len()];
        conv(g, &x, &w, Some(&b), &mut y, Activation::None).unwrap();
        assert_eq!(y, want, "{g:?}");
        conv(g, &x, &w, Some(&b), &mut y, Activation::Relu).unwrap();
        let relu: Vec<f64> = want.iter().map(|v| v.max(0.0)).collect();
        assert_eq!(y, relu);
        conv(g, &x, &w, Some(&b), &mut y, Activation::Clip { min: -1.0, max: 2.0 }).unwrap();
        let clip: Vec<f64> = want.iter().map(|v| v.clamp(-1.0, 2.0)).collect();
        assert_eq!(y, clip);
        let z: Vec<f64> = (0..want.len()).map(|i| ((i * 5 % 7) as f64) - 3.0).collect();
        conv_fused(g, &x, &w, Some(&b), Some(&z), &mut y, Activation::Relu).unwrap();
        let fused: Vec<f64> = want.iter().zip(&z).map(|(v, r)| (v + r).max(0.0)).collect();
        assert_eq!(y, fused, "residual {g:?}");
        assert!(conv_fused(g, &x, &w, Some(&b), Some(&z[1..]), &mut y, Activation::None).is_err());
    }
}

#[test]
fn leaky_epilogue() {
    let mut r = [-2.0f32, 3.0];
    epilogue(&mut r, Some(1.0), None, Activation::LeakyRelu { alpha: 0.5 });
    assert_eq!(r, [-0.5, 4.0]);
    let mut r = [-2.0f32, 3.0, 9.0];
    epilogue(&mut r, Some(1.0), Some(&[1.0, -1.0, 0.0]), Activation::HardSwish);
    assert_eq!(r, [0.0, 3.0 * (3.0 / 6.0 + 0.5), 10.0]);
    let mut r = [-4.0f32, 0.0, 4.0];
    epilogue(&mut r, None, None, Activation::HardSigmoid { alpha: 0.2, beta: 0.5 });
    assert_eq!(r, [0.0, 0.5, 1.0]);
    // SiLU: x * sigmoid(x), f32 through the polynomial exp, f64 through libm.
    let xs = [-30.0f32, -2.0, 0.0, 0.5, 3.0, 40.0];
    let mut r = xs;
    epilogue(&mut r, None, None, Activation::Silu);
    let mut r64: Vec<f64> = xs.iter().map(|&v| v as f64).collect();
    epilogue(&mut r64, None, None, Activation::Silu);
    for ((&got, &x), &g64) in r.iter().zip(&xs).zip(&r64) {
        let want = x as f64 / (1.0 + (-(x as f64)).exp());
        assert!((got as f64 - want).abs() <= 1e-6 * want.abs().max(1e-6), "silu({x}) = {got}, want {want}");
        assert!((g64 - want).abs() <= 1e-12 * want.abs().max(1e-12));
    }
}

#[test]
fn transpose_1d_matches_hand_values() {
    // x = [1, 2, 3], w = [1, 1, 1], stride 1 -> full correlation [1, 3, 6, 5, 3]
    let g = ConvGeom {
        batch: 1,
        c_in: 1,
        c_out: 1,
        group: 1,
        in_spatial: vec![3],
        out_spatial: vec![5],
        kernel: vec![3],
        strides: vec![1],
        dilations: vec![1],
        pads_begin: vec![0],
    };
    let mut y = vec![0f32; 5];
    conv_transpose(&g, &[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0], None, &mut y, Activation::None).unwrap();
    assert_eq!(y, [1.0, 3.0, 6.0, 5.0, 3.0]);
    // stride 2: [1, 1, 3, 2, 5, 3, 3]
    let g2 = ConvGeom { out_spatial: vec![7], strides: vec![2], ..g };
    let mut y = vec![0f32; 7];
    conv_transpose(&g2, &[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0], Some(&[1.0]), &mut y, Activation::None).unwrap();
    assert_eq!(y, [2.0, 2.0, 4.0, 3.0, 6.0, 4.0, 4.0]);
}

#[test]
fn wrong_sizes_are_errors() {
    let g = geom(1, 1, 1, 1, [3, 3], [2, 2], 1, 1, 0);
    let mut y = vec![0f32; 4];
    assert!(conv(&g, &[0.0; 8], &[0.0; 4], None, &mut y, Activation::None).is_err());
    let bad = ConvGeom { group: 2, ..g };
    assert!(conv(&bad, &[0.0; 9], &[0.0; 4], None, &mut y, Activation::None).is_err());
}

/// Hand-run timing sanity check (not part of the suite):
/// `cargo test -p ronn-kernels --release timing_sanity -- --ignored --nocapture`.
mod timing {
    use super::super::*;
    use std::time::Instant;

    fn best<F: FnMut()>(mut f: F) -> f64 {
        f();
        let mut b = f64::MAX;
        for _ in 0..15 {
            let t = Instant::now();
            f();
            b = b.min(t.elapsed().as_secs_f64());
        }
        b
    }

    #[test]
    #[ignore]
    fn timing_sanity() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        pool.install(|| {
            let n = 1024;
            let a = vec![1.0f32; n * n];
            let b = vec![0.5f32; n * n];
            let mut c = vec![0f32; n * n];
            let t = best(|| crate::gemm::matmul(n, n, n, &a, &b, &mut c, true).unwrap());
            println!("matmul 1024^3 f32: {:.1} GFLOP/s", 2.0 * (n * n * n) as f64 / t / 1e9);
            // (c_in, c_out, hw, k, stride, pad, group)
            let shapes = [
                (3, 64, 224, 7, 2, 3, 1),
                (64, 64, 56, 1, 1, 0, 1),
                (64, 64, 56, 3, 1, 1, 1),
                (64, 256, 56, 1, 1, 0, 1),
                (256, 64, 56, 1, 1, 0, 1),
                (128, 128, 28, 3, 1, 1, 1),
                (256, 1024, 14, 1, 1, 0, 1),
                (256, 256, 14, 3, 1, 1, 1),
                (512, 512, 7, 3, 1, 1, 1),
                (2048, 512, 7, 1, 1, 0, 1),
                (256, 256, 56, 3, 2, 1, 1),
                (96, 96, 112, 3, 1, 1, 96),
            ];
            let mut total_flops = 0.0;
            let mut total_t = 0.0;
            for &(ci, co, hw, k, s, p, grp) in &shapes {
                let o = (hw + 2 * p - k) / s + 1;
                let g = super::geom_to((1, ci, co, grp), [hw, hw], [o, o], k, s, p);
                let x = vec![0.5f32; ci * hw * hw];
                let w = vec![0.25f32; co * ci / grp * k * k];
                let bias = vec![0.1f32; co];
                let mut y = vec![0f32; co * o * o];
                let t = best(|| conv(&g, &x, &w, Some(&bias), &mut y, Activation::Relu).unwrap());
                let lat = Lattice {
                    img: &g.in_spatial,
                    col: &g.out_spatial,
                    kernel: &g.kernel,
                    strides: &g.strides,
                    dilations: &g.dilations,
                    pads: &g.pads_begin,
                };
                let mut col = vec![0f32; ci / grp * k * k * o * o];
                let ti = best(|| lat.im2col(ci / grp, &x[..ci / grp * hw * hw], &mut col));
                println!("   im2col {:.3} ms", ti * 1e3);
                let flops = 2.0 * (co * o * o * ci / grp * k * k) as f64;
                if grp == 1 {
                    total_flops += flops;
                    total_t += t;
                }
                println!(
                    "conv {ci:>4}->{co:<4} {hw:>3}x{hw:<3} k{k} s{s} g{grp}: {:>7.3} ms {:>6.1} GFLOP/s",
                    t * 1e3,
                    flops / t / 1e9
                );
            }
            println!("resnet50 conv shapes overall: {:.1} GFLOP/s", total_flops / total_t / 1e9);
        });
    }
}

/// The flat-window kernels (`direct.rs`: depthwise, and few input channels per
/// group) over the shapes where their phase planes and window offsets differ:
/// 3x3, 5x5 and 7x7, strides 1-3, pads 0-3, 1-wide to 17-wide planes, an output
/// grid cut short of the padded input (pads_end smaller than pads_begin), batch 2
/// and grouped stems; f64 and f32 (integer-valued data, so both are exact).
#[test]
fn flat_window_kernels_match_reference() {
    let mut checked = 0;
    // (batch, C_in, C_out, group)
    let channels = [(1usize, 3usize, 3usize, 3usize), (1, 3, 5, 1), (2, 1, 2, 1), (1, 6, 4, 2), (2, 4, 3, 1)];
    for k in [3usize, 5, 7] {
        for s in 1..=3usize {
            for p in 0..=3usize {
                for (ih, iw) in [(1usize, 1usize), (7, 7), (14, 9), (5, 17), (12, 12)] {
                    let full = |i: usize| (i + 2 * p).checked_sub(k).map(|v| v / s + 1);
                    let (Some(oh), Some(ow)) = (full(ih), full(iw)) else { continue };
                    for (oh, ow) in [(oh, ow), (oh.saturating_sub(1).max(1), ow)] {
                        for &(batch, c_in, c_out, group) in &channels {
                            let g = geom_to((batch, c_in, c_out, group), [ih, iw], [oh, ow], k, s, p);
                            let x: Vec<f64> =
                                (0..batch * c_in * ih * iw).map(|i| ((i * 31 % 17) as f64) - 8.0).collect();
                            let w: Vec<f64> =
                                (0..c_out * c_in / group * k * k).map(|i| ((i * 7 % 5) as f64) - 2.0).collect();
                            let b: Vec<f64> = (0..c_out).map(|i| i as f64 * 1.5 - 1.0).collect();
                            let want = reference(&g, &x, &w, Some(&b));
                            let mut y = vec![f64::NAN; want.len()];
                            conv(&g, &x, &w, Some(&b), &mut y, Activation::None).unwrap();
                            assert_eq!(y, want, "{g:?}");
                            let z: Vec<f64> = (0..want.len()).map(|i| ((i * 5 % 7) as f64) - 3.0).collect();
                            conv_fused(&g, &x, &w, Some(&b), Some(&z), &mut y, Activation::Relu).unwrap();
                            let fused: Vec<f64> = want.iter().zip(&z).map(|(v, r)| (v + r).max(0.0)).collect();
                            assert_eq!(y, fused, "residual {g:?}");
                            let f = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
                            let mut yf = vec![f32::NAN; want.len()];
                            conv(&g, &f(&x), &f(&w), Some(&f(&b)), &mut yf, Activation::None).unwrap();
                            assert!(yf.iter().zip(&want).all(|(a, b)| *a as f64 == *b), "f32 {g:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 500, "{checked}");
}

/// Depthwise f32 with 16+ channels on small planes: the 16-channel blocked
/// kernel on AVX-512 CPUs (`depthwise_blocked.rs`), the flat windows for the
/// channels past the last full block; batch 2, strides 1 and 2, 3x3 and 5x5,
/// bias and activations.
#[test]
fn depthwise_channel_blocks_match_reference() {
    for (c, hw, k, s, p) in [(16, 7, 3, 1, 1), (37, 7, 5, 1, 2), (32, 14, 3, 2, 1), (21, 14, 5, 2, 2), (48, 9, 3, 1, 0)]
    {
        let o = (hw + 2 * p - k) / s + 1;
        let g = geom_to((2, c, c, c), [hw, hw], [o, o], k, s, p);
        let x: Vec<f64> = (0..2 * c * hw * hw).map(|i| ((i * 31 % 17) as f64) - 8.0).collect();
        let w: Vec<f64> = (0..c * k * k).map(|i| ((i * 7 % 5) as f64) - 2.0).collect();
        let b: Vec<f64> = (0..c).map(|i| i as f64 * 0.5 - 4.0).collect();
        let want = reference(&g, &x, &w, Some(&b));
        let f = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let (xf, wf, bf) = (f(&x), f(&w), f(&b));
        let mut y = vec![f32::NAN; want.len()];
        for act in [Activation::None, Activation::Relu, Activation::Clip { min: 0.0, max: 6.0 }, Activation::Silu] {
            conv(&g, &xf, &wf, Some(&bf), &mut y, act).unwrap();
            for (i, (&got, &v)) in y.iter().zip(&want).enumerate() {
                let exp = match act {
                    Activation::None => v,
                    Activation::Relu => v.max(0.0),
                    Activation::Clip { .. } => v.clamp(0.0, 6.0),
                    _ => v / (1.0 + (-v).exp()),
                };
                assert!(
                    (got as f64 - exp).abs() <= 1e-5 * exp.abs().max(1.0),
                    "{act:?} c={c} hw={hw} k={k} s={s} at {i}: {got} vs {exp}"
                );
            }
        }
        conv(&g, &xf, &wf, None, &mut y, Activation::None).unwrap();
        let nobias = reference(&g, &x, &w, None);
        assert!(y.iter().zip(&nobias).all(|(a, b)| *a as f64 == *b), "no bias c={c}");
    }
}

/// 1x1 convolutions on a 3-thread pool: several column tiles per image, and one
/// tile split into blocks of output rows, each task with its own epilogue.
#[test]
fn pointwise_tasks_match_reference() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    for (c, m, hw) in [(8, 40, 70), (16, 64, 9), (5, 3, 11)] {
        let g = geom_to((1, c, m, 1), [hw, hw], [hw, hw], 1, 1, 0);
        let x: Vec<f64> = (0..c * hw * hw).map(|i| ((i * 31 % 17) as f64) - 8.0).collect();
        let w: Vec<f64> = (0..m * c).map(|i| ((i * 7 % 5) as f64) - 2.0).collect();
        let b: Vec<f64> = (0..m).map(|i| i as f64 * 0.5).collect();
        let z: Vec<f64> = (0..m * hw * hw).map(|i| ((i * 5 % 7) as f64) - 3.0).collect();
        let want = reference(&g, &x, &w, Some(&b));
        let fused: Vec<f64> = want.iter().zip(&z).map(|(v, r)| (v + r).max(0.0)).collect();
        let mut y = vec![f64::NAN; want.len()];
        pool.install(|| conv(&g, &x, &w, Some(&b), &mut y, Activation::None)).unwrap();
        assert_eq!(y, want, "{g:?}");
        pool.install(|| conv_fused(&g, &x, &w, Some(&b), Some(&z), &mut y, Activation::Relu)).unwrap();
        assert_eq!(y, fused, "residual {g:?}");
    }
}

/// Depthwise 1x1 (a per-channel scale: the optimizer's form of a BatchNormalization
/// with its activation), with bias, residual and Relu, against the reference; a
/// 1x1 depthwise with padding or stride 2 still takes the general path.
#[test]
fn depthwise_1x1_scale_matches_reference() {
    for (c, hw, s, p) in [(5usize, 6usize, 1usize, 0usize), (17, 3, 1, 0), (4, 5, 2, 0), (3, 4, 1, 1)] {
        let o = (hw + 2 * p - 1) / s + 1;
        let g = geom_to((2, c, c, c), [hw, hw], [o, o], 1, s, p);
        let x: Vec<f64> = (0..2 * c * hw * hw).map(|i| ((i * 31 % 17) as f64) - 8.0).collect();
        let w: Vec<f64> = (0..c).map(|i| ((i * 7 % 5) as f64) - 2.0).collect();
        let b: Vec<f64> = (0..c).map(|i| i as f64 * 0.5 - 4.0).collect();
        let want = reference(&g, &x, &w, Some(&b));
        let z: Vec<f64> = (0..want.len()).map(|i| ((i * 5 % 7) as f64) - 3.0).collect();
        let mut y = vec![f64::NAN; want.len()];
        conv_fused(&g, &x, &w, Some(&b), Some(&z), &mut y, Activation::Relu).unwrap();
        let fused: Vec<f64> = want.iter().zip(&z).map(|(v, r)| (v + r).max(0.0)).collect();
        assert_eq!(y, fused, "{g:?}");
        let f = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let mut yf = vec![f32::NAN; want.len()];
        conv(&g, &f(&x), &f(&w), Some(&f(&b)), &mut yf, Activation::Relu).unwrap();
        assert!(yf.iter().zip(&want).all(|(a, b)| *a as f64 == b.max(0.0)), "f32 {g:?}");
    }
}
