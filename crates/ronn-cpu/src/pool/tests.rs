//! Pooling kernel tests: hand values, the f32 fast paths against the generic
//! kernels, and the global pools.

use super::*;
use crate::testing::{assert_close, run_node};
use ronn_ir::Attribute;

fn t(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
    Tensor::from_vec(shape, v).unwrap()
}
fn f(t: &Tensor) -> &[f32] {
    t.as_slice::<f32>().unwrap()
}
fn ints(v: &[i64]) -> Attribute {
    Attribute::Ints(v.to_vec())
}
fn x44() -> Tensor {
    t(vec![1, 1, 4, 4], (1..=16).map(|v| v as f32).collect())
}

#[test]
fn maxpool_2d_default_and_strides() {
    let n = Node::new("MaxPool", &["x"], &["y"], 12).with_attr("kernel_shape", ints(&[2, 2]));
    let y = run_node(&n, vec![x44()]).unwrap();
    assert_eq!(y[0].shape(), &[1, 1, 3, 3]);
    assert_eq!(f(&y[0]), &[6., 7., 8., 10., 11., 12., 14., 15., 16.]);
    let n = n.with_attr("strides", ints(&[2, 2]));
    let y = run_node(&n, vec![x44()]).unwrap();
    assert_eq!(f(&y[0]), &[6., 8., 14., 16.]);
}

#[test]
fn maxpool_indices_both_storage_orders() {
    let n = Node::new("MaxPool", &["x"], &["y", "i"], 12)
        .with_attr("kernel_shape", ints(&[2, 2]))
        .with_attr("strides", ints(&[2, 2]));
    let x = t(vec![1, 2, 4, 4], (1..=32).map(|v| v as f32).collect());
    let y = run_node(&n, vec![x.clone()]).unwrap();
    assert_eq!(y[1].as_slice::<i64>().unwrap(), &[5, 7, 13, 15, 21, 23, 29, 31]);
    let n = n.with_attr("storage_order", Attribute::Int(1));
    let y = run_node(&n, vec![x]).unwrap();
    // column-major within the plane: h + w * H
    assert_eq!(y[1].as_slice::<i64>().unwrap(), &[5, 13, 7, 15, 21, 29, 23, 31]);
}

#[test]
fn maxpool_pads_same_upper_ceil_dilation_uint8() {
    // SAME_UPPER 3x3 stride 1 on 4x4 -> 4x4 (numpy reference)
    let n = Node::new("MaxPool", &["x"], &["y"], 12)
        .with_attr("kernel_shape", ints(&[3, 3]))
        .with_attr("auto_pad", Attribute::String(b"SAME_UPPER".to_vec()));
    let y = run_node(&n, vec![x44()]).unwrap();
    assert_eq!(f(&y[0]), &[6., 7., 8., 8., 10., 11., 12., 12., 14., 15., 16., 16., 14., 15., 16., 16.]);
    // ceil mode: 4x4, k 3, s 2 -> 2x2 (floor would be 1x1)
    let n = Node::new("MaxPool", &["x"], &["y"], 12)
        .with_attr("kernel_shape", ints(&[3, 3]))
        .with_attr("strides", ints(&[2, 2]))
        .with_attr("ceil_mode", Attribute::Int(1));
    let y = run_node(&n, vec![x44()]).unwrap();
    assert_eq!(f(&y[0]), &[11., 12., 15., 16.]);
    // dilation 2, kernel 2 on 4x4 -> 2x2
    let n = Node::new("MaxPool", &["x"], &["y"], 12)
        .with_attr("kernel_shape", ints(&[2, 2]))
        .with_attr("dilations", ints(&[2, 2]));
    let y = run_node(&n, vec![x44()]).unwrap();
    assert_eq!(f(&y[0]), &[11., 12., 15., 16.]);
    // uint8 1-D
    let n = Node::new("MaxPool", &["x"], &["y"], 12).with_attr("kernel_shape", ints(&[2]));
    let x = Tensor::from_vec(vec![1, 1, 4], vec![3u8, 200, 7, 9]).unwrap();
    assert_eq!(run_node(&n, vec![x]).unwrap()[0].as_slice::<u8>().unwrap(), &[200, 200, 9]);
}

#[test]
fn averagepool_pads_count_include_pad() {
    let base = Node::new("AveragePool", &["x"], &["y"], 19)
        .with_attr("kernel_shape", ints(&[3, 3]))
        .with_attr("strides", ints(&[3, 3]))
        .with_attr("pads", ints(&[1, 1, 1, 1]));
    let y = run_node(&base, vec![x44()]).unwrap();
    // windows rows {-1,0,1}, {2,3,4}: valid {0,1}, {2,3}
    assert_close(f(&y[0]), &[3.5, 5.5, 11.5, 13.5]);
    let n = base.clone().with_attr("count_include_pad", Attribute::Int(1));
    let y = run_node(&n, vec![x44()]).unwrap();
    assert_close(f(&y[0]), &[14. / 9., 22. / 9., 46. / 9., 54. / 9.]);
    // 1-D with f64
    let n = Node::new("AveragePool", &["x"], &["y"], 11).with_attr("kernel_shape", ints(&[2]));
    let x = Tensor::from_vec(vec![1, 1, 3], vec![1f64, 2., 4.]).unwrap();
    assert_eq!(run_node(&n, vec![x]).unwrap()[0].as_slice::<f64>().unwrap(), &[1.5, 3.0]);
}

#[test]
fn averagepool_ceil_last_window_starts_on_pad() {
    // ONNX case: 4x4? use 1x1x2x2 k3 s3 pads 1 ceil: only one window.
    let n = Node::new("AveragePool", &["x"], &["y"], 19)
        .with_attr("kernel_shape", ints(&[3, 3]))
        .with_attr("strides", ints(&[3, 3]))
        .with_attr("pads", ints(&[1, 1, 1, 1]))
        .with_attr("ceil_mode", Attribute::Int(1))
        .with_attr("count_include_pad", Attribute::Int(1));
    let y = run_node(&n, vec![t(vec![1, 1, 2, 2], vec![1., 2., 3., 4.])]).unwrap();
    assert_eq!(y[0].shape(), &[1, 1, 1, 1]);
    assert_close(f(&y[0]), &[10. / 9.]);
}

#[test]
fn f32_flat_pools_match_generic() {
    // The f32 flat-plane path (row folds, then shifted column folds; averages scaled
    // by per-row and per-column counts) against the generic per-output kernel on
    // f64, for MaxPool and AveragePool: square and rectangular kernels, column
    // strides 1, 2 (even/odd halves) and 3, row strides 1 and 2, pads up to k - 1,
    // ceil mode, both count_include_pad settings, a 1-D pool.
    // Rows from 32 wide are folded straight from the input, narrower ones through a padded copy.
    // (spatial dims, kernel_shape, strides, pads, ceil_mode)
    type Case = (&'static [usize], &'static [i64], &'static [i64], &'static [i64], i64);
    let cases: [Case; 15] = [
        (&[14, 14], &[3, 3], &[1, 1], &[1, 1, 1, 1], 0),
        (&[9, 11], &[3, 3], &[2, 2], &[0, 0, 0, 0], 1),
        (&[8, 8], &[3, 3], &[2, 2], &[1, 1, 1, 1], 1),
        (&[7, 12], &[2, 2], &[2, 2], &[0, 0, 0, 0], 0),
        (&[6, 13], &[4, 4], &[3, 3], &[1, 1, 1, 1], 1),
        (&[7, 7], &[7, 7], &[1, 1], &[0, 0, 0, 0], 0),
        (&[5, 5], &[3, 3], &[2, 2], &[2, 2, 2, 2], 0),
        (&[10, 9], &[2, 3], &[2, 1], &[1, 0, 0, 2], 0),
        (&[9, 10], &[3, 2], &[1, 2], &[0, 1, 2, 0], 1),
        (&[15, 17], &[3, 5], &[1, 3], &[1, 2, 1, 2], 0),
        (&[19], &[3], &[2], &[1, 1], 1),
        (&[11, 40], &[3, 3], &[2, 2], &[1, 1, 1, 1], 0),
        (&[12, 33], &[3, 3], &[1, 1], &[1, 1, 1, 1], 1),
        (&[6, 35], &[3, 2], &[2, 3], &[1, 0, 2, 1], 1),
        (&[50], &[4], &[1], &[2, 1], 0),
    ];
    for (spatial, k, s, p, ceil) in cases {
        for (op, include_pad) in [("MaxPool", 0), ("AveragePool", 0), ("AveragePool", 1)] {
            let n = Node::new(op, &["x"], &["y"], 19)
                .with_attr("kernel_shape", ints(k))
                .with_attr("strides", ints(s))
                .with_attr("pads", ints(p))
                .with_attr("ceil_mode", Attribute::Int(ceil))
                .with_attr("count_include_pad", Attribute::Int(include_pad));
            let shape = [&[2, 3][..], spatial].concat();
            let v: Vec<f64> =
                (0..shape.iter().product::<usize>()).map(|i| ((i * 53 % 97) as f64) / 8.0 - 6.0).collect();
            let x32 = Tensor::from_vec(shape.clone(), v.iter().map(|&a| a as f32).collect::<Vec<f32>>()).unwrap();
            let x64 = Tensor::from_vec(shape, v).unwrap();
            let y32 = run_node(&n, vec![x32]).unwrap();
            let y64 = run_node(&n, vec![x64]).unwrap();
            assert_eq!(y32[0].shape(), y64[0].shape());
            let got = y32[0].as_slice::<f32>().unwrap();
            let want = y64[0].as_slice::<f64>().unwrap();
            let case = format!("{op} {spatial:?} k{k:?} s{s:?} p{p:?} ceil{ceil} include_pad{include_pad}");
            for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
                assert!((g as f64 - w).abs() <= 1e-5 * (1.0 + w.abs()), "{case} [{i}]: {g} vs {w}");
            }
        }
    }
}

#[test]
fn lppool_and_globals() {
    let n = Node::new("LpPool", &["x"], &["y"], 18).with_attr("kernel_shape", ints(&[2]));
    let y = run_node(&n, vec![t(vec![1, 1, 3], vec![3., 4., 0.])]).unwrap();
    assert_close(f(&y[0]), &[5., 4.]);
    let n = n.with_attr("p", Attribute::Int(1));
    let y = run_node(&n, vec![t(vec![1, 1, 3], vec![3., -4., 0.])]).unwrap();
    assert_close(f(&y[0]), &[7., 4.]);

    let x = t(vec![1, 2, 2, 1], vec![1., 2., -3., 5.]);
    let ga = run_node(&Node::new("GlobalAveragePool", &["x"], &["y"], 1), vec![x.clone()]).unwrap();
    assert_eq!(ga[0].shape(), &[1, 2, 1, 1]);
    assert_close(f(&ga[0]), &[1.5, 1.0]);
    let gm = run_node(&Node::new("GlobalMaxPool", &["x"], &["y"], 1), vec![x.clone()]).unwrap();
    assert_close(f(&gm[0]), &[2., 5.]);
    let gl = run_node(&Node::new("GlobalLpPool", &["x"], &["y"], 2), vec![x]).unwrap();
    assert_close(f(&gl[0]), &[5f32.sqrt(), 34f32.sqrt()]);

    // Planes longer than the 32 summing lanes, with a ragged tail (77 = 2 * 32 + 13).
    let v: Vec<f32> = (0..2 * 3 * 77).map(|i| ((i * 37 % 101) as f32) * 0.25 - 12.0).collect();
    let want: Vec<f32> = v.chunks(77).map(|c| (c.iter().map(|&x| x as f64).sum::<f64>() / 77.0) as f32).collect();
    let ga = run_node(&Node::new("GlobalAveragePool", &["x"], &["y"], 1), vec![t(vec![2, 3, 7, 11], v)]).unwrap();
    assert_eq!(ga[0].shape(), &[2, 3, 1, 1]);
    assert_close(f(&ga[0]), &want);
}

#[test]
fn maxunpool_roundtrip_and_output_shape() {
    let n = Node::new("MaxUnpool", &["x", "i"], &["y"], 11)
        .with_attr("kernel_shape", ints(&[2, 2]))
        .with_attr("strides", ints(&[2, 2]));
    let x = t(vec![1, 1, 2, 2], vec![5., 6., 7., 8.]);
    let i = Tensor::from_vec(vec![1, 1, 2, 2], vec![5i64, 7, 13, 15]).unwrap();
    let y = run_node(&n, vec![x.clone(), i.clone()]).unwrap();
    assert_eq!(y[0].shape(), &[1, 1, 4, 4]);
    let mut want = [0f32; 16];
    want[5] = 5.;
    want[7] = 6.;
    want[13] = 7.;
    want[15] = 8.;
    assert_eq!(f(&y[0]), &want[..]);
    let n3 = Node::new("MaxUnpool", &["x", "i", "s"], &["y"], 11)
        .with_attr("kernel_shape", ints(&[2, 2]))
        .with_attr("strides", ints(&[2, 2]));
    let s = Tensor::from_vec(vec![4], vec![1i64, 1, 5, 5]).unwrap();
    let y = run_node(&n3, vec![x.clone(), i, s]).unwrap();
    assert_eq!(y[0].shape(), &[1, 1, 5, 5]);
    assert_eq!(f(&y[0])[6], 5.);
    assert_eq!(f(&y[0])[18], 8.);
    let bad = Tensor::from_vec(vec![1, 1, 2, 2], vec![5i64, 7, 13, 99]).unwrap();
    assert!(run_node(&n, vec![x, bad]).is_err());
}

#[test]
fn max_roi_pool() {
    let n = Node::new("MaxRoiPool", &["x", "r"], &["y"], 1).with_attr("pooled_shape", ints(&[2, 2]));
    // roi covering the whole 4x4 image: bins are the four 2x2 quadrants.
    let r = t(vec![2, 5], vec![0., 0., 0., 3., 3., 0., 1., 1., 2., 2.]);
    let y = run_node(&n, vec![x44(), r]).unwrap();
    assert_eq!(y[0].shape(), &[2, 1, 2, 2]);
    // second roi: rows/cols 1..=2 -> bins of one pixel each.
    assert_eq!(f(&y[0]), &[6., 8., 14., 16., 6., 7., 10., 11.]);
    let bad = t(vec![1, 5], vec![3., 0., 0., 1., 1.]);
    assert!(run_node(&n, vec![x44(), bad]).is_err());
    let bad_shape = t(vec![1, 4], vec![0., 0., 1., 1.]);
    assert!(run_node(&n, vec![x44(), bad_shape]).is_err());
}

#[test]
fn pool_errors() {
    let n = Node::new("MaxPool", &["x"], &["y"], 12);
    assert!(run_node(&n, vec![x44()]).is_err()); // no kernel_shape
    let n = Node::new("MaxPool", &["x"], &["y"], 12).with_attr("kernel_shape", ints(&[2, 2, 2]));
    assert!(run_node(&n, vec![x44()]).is_err()); // rank mismatch
    let n = Node::new("MaxPool", &["x"], &["y"], 12).with_attr("kernel_shape", ints(&[5, 5]));
    assert!(run_node(&n, vec![x44()]).is_err()); // window too large
    let n = Node::new("AveragePool", &["x"], &["y"], 12)
        .with_attr("kernel_shape", ints(&[2, 2]))
        .with_attr("auto_pad", Attribute::String(b"BOGUS".to_vec()));
    assert!(run_node(&n, vec![x44()]).is_err());
    let n = Node::new("AveragePool", &["x"], &["y"], 12).with_attr("kernel_shape", ints(&[2, 2]));
    let xi = Tensor::from_vec(vec![1, 1, 2, 2], vec![1i32, 2, 3, 4]).unwrap();
    assert!(run_node(&n, vec![xi]).is_err());
    // empty batch
    let y = run_node(&n, vec![t(vec![0, 1, 4, 4], vec![])]).unwrap();
    assert_eq!(y[0].shape(), &[0, 1, 3, 3]);
}

#[test]
fn large_parallel_maxpool_matches_small() {
    let (c, h, w) = (64usize, 32usize, 32usize);
    let v: Vec<f32> = (0..c * h * w).map(|i| ((i * 37) % 101) as f32).collect();
    let n = Node::new("MaxPool", &["x"], &["y"], 12)
        .with_attr("kernel_shape", ints(&[3, 3]))
        .with_attr("strides", ints(&[2, 2]))
        .with_attr("pads", ints(&[1, 1, 1, 1]));
    let big = run_node(&n, vec![t(vec![1, c, h, w], v.clone())]).unwrap();
    let plane = h * w;
    let last = run_node(&n, vec![t(vec![1, 1, h, w], v[(c - 1) * plane..].to_vec())]).unwrap();
    let op = 16 * 16;
    assert_eq!(&f(&big[0])[(c - 1) * op..], f(&last[0]));
}
