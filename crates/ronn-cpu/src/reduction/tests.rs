use crate::testing::{assert_close, run_node};
use ronn_core::{ErrorCode, Tensor};
use ronn_ir::{Attribute, Node};

fn t(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
}
fn ti(v: &[i64]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
}
fn node(op: &str, opset: i64, n_in: usize) -> Node {
    let ins = ["x", "axes"];
    Node::new(op, &ins[..n_in], &["y"], opset)
}
fn x3() -> Tensor {
    // np.arange(24).reshape(2,3,4) * 0.5 - 3
    let v: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
    t(&[2, 3, 4], &v)
}

#[test]
fn reduce_mean_last_axis_keepdims() {
    let n = node("ReduceMean", 18, 2);
    let y = &run_node(&n, vec![x3(), ti(&[-1])]).unwrap()[0];
    assert_eq!(y.shape(), &[2, 3, 1]);
    assert_close(y.as_slice::<f32>().unwrap(), &[-2.25, -0.25, 1.75, 3.75, 5.75, 7.75]);
}

#[test]
fn reduce_sum_middle_axis_attr_opset11() {
    let n =
        node("ReduceSum", 11, 1).with_attr("axes", Attribute::Ints(vec![1])).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![x3()]).unwrap()[0];
    assert_eq!(y.shape(), &[2, 4]);
    // np.sum(x, axis=1)
    assert_close(y.as_slice::<f32>().unwrap(), &[-3.0, -1.5, 0.0, 1.5, 15.0, 16.5, 18.0, 19.5]);
}

#[test]
fn reduce_sum_noncontiguous_axes_and_all() {
    let n = node("ReduceSum", 13, 2).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![x3(), ti(&[0, 2])]).unwrap()[0];
    assert_eq!(y.shape(), &[3]);
    // np.sum(x, axis=(0,2))
    assert_close(y.as_slice::<f32>().unwrap(), &[6.0, 22.0, 38.0]);
    // no axes: everything
    let n = node("ReduceSum", 13, 1);
    let y = &run_node(&n, vec![x3()]).unwrap()[0];
    assert_eq!(y.shape(), &[1, 1, 1]);
    assert_close(y.as_slice::<f32>().unwrap(), &[66.0]);
}

#[test]
fn reduce_sum_empty_axes_noop() {
    let n = node("ReduceSum", 13, 2).with_attr("noop_with_empty_axes", Attribute::Int(1));
    let y = &run_node(&n, vec![x3(), ti(&[])]).unwrap()[0];
    assert_eq!(y.shape(), &[2, 3, 4]);
    assert_close(y.as_slice::<f32>().unwrap(), x3().as_slice::<f32>().unwrap());
}

#[test]
fn reduce_empty_set_identities() {
    let x = Tensor::from_vec(vec![2, 0, 4], Vec::<f32>::new()).unwrap();
    let cases: [(&str, f32); 6] = [
        ("ReduceSum", 0.0),
        ("ReduceProd", 1.0),
        ("ReduceMax", f32::NEG_INFINITY),
        ("ReduceMin", f32::INFINITY),
        ("ReduceLogSum", f32::NEG_INFINITY),
        ("ReduceLogSumExp", f32::NEG_INFINITY),
    ];
    for (op, want) in cases {
        let n = node(op, 18, 2);
        let y = &run_node(&n, vec![x.clone(), ti(&[1])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 1, 4], "{op}");
        assert!(y.as_slice::<f32>().unwrap().iter().all(|&v| v == want), "{op}: {:?}", y);
    }
    // a kept axis of size zero: empty output
    let n = node("ReduceSum", 13, 2);
    let y = &run_node(&n, vec![x, ti(&[2])]).unwrap()[0];
    assert_eq!(y.shape(), &[2, 0, 1]);
}

#[test]
fn reduce_all_kinds_small() {
    let x = t(&[2, 2], &[1.0, -2.0, 3.0, 4.0]);
    let cases: [(&str, [f32; 2]); 9] = [
        ("ReduceMean", [-0.5, 3.5]),
        ("ReduceMax", [1.0, 4.0]),
        ("ReduceMin", [-2.0, 3.0]),
        ("ReduceProd", [-2.0, 12.0]),
        ("ReduceL1", [3.0, 7.0]),
        ("ReduceL2", [2.236068, 5.0]),
        ("ReduceSumSquare", [5.0, 25.0]),
        // np.log(np.sum(np.exp(x), axis=1))
        ("ReduceLogSumExp", [1.0485874, 4.3132617]),
        ("ReduceSum", [-1.0, 7.0]),
    ];
    for (op, want) in cases {
        let n = node(op, 11, 1).with_attr("axes", Attribute::Ints(vec![1])).with_attr("keepdims", Attribute::Int(0));
        let y = &run_node(&n, vec![x.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &want);
    }
    let n = node("ReduceLogSum", 18, 2);
    let y = &run_node(&n, vec![t(&[3], &[1.0, 2.0, 3.0]), ti(&[0])]).unwrap()[0];
    assert_close(y.as_slice::<f32>().unwrap(), &[6f32.ln()]);
}

#[test]
fn reduce_logsumexp_large_values_are_stable() {
    let n = node("ReduceLogSumExp", 18, 1).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![t(&[2], &[1000.0, 1000.0])]).unwrap()[0];
    assert_close(y.as_slice::<f32>().unwrap(), &[1000.0 + 2f32.ln()]);
}

#[test]
fn reduce_ints_and_bool() {
    let x = Tensor::from_vec(vec![2, 3], vec![1i32, -5, 7, 2, 2, 100]).unwrap();
    let n = node("ReduceSum", 13, 2).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![x.clone(), ti(&[1])]).unwrap()[0];
    assert_eq!(y.as_slice::<i32>().unwrap(), &[3, 104]);
    let n = node("ReduceMean", 18, 2).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![x.clone(), ti(&[1])]).unwrap()[0];
    assert_eq!(y.as_slice::<i32>().unwrap(), &[1, 34]);
    let n = node("ReduceMin", 18, 2).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![x, ti(&[0])]).unwrap()[0];
    assert_eq!(y.as_slice::<i32>().unwrap(), &[1, -5, 7]);
    let u = Tensor::from_vec(vec![3], vec![200u8, 100, 7]).unwrap();
    let n = node("ReduceMax", 18, 1).with_attr("keepdims", Attribute::Int(0));
    assert_eq!(run_node(&n, vec![u]).unwrap()[0].as_slice::<u8>().unwrap(), &[200]);
    let b = Tensor::from_vec(vec![2, 2], vec![true, false, false, false]).unwrap();
    let n = node("ReduceMax", 20, 2).with_attr("keepdims", Attribute::Int(0));
    assert_eq!(run_node(&n, vec![b.clone(), ti(&[1])]).unwrap()[0].as_slice::<bool>().unwrap(), &[true, false]);
    let n = node("ReduceSum", 13, 1);
    assert_eq!(run_node(&n, vec![b]).unwrap_err().code(), ErrorCode::TypeMismatch);
}

#[test]
fn reduce_f16_and_nan() {
    let x =
        Tensor::from_vec(vec![3], vec![half::f16::from_f32(1.0), half::f16::from_f32(2.5), half::f16::from_f32(-1.0)])
            .unwrap();
    let n = node("ReduceSum", 13, 1).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![x]).unwrap()[0];
    assert_eq!(y.as_slice::<half::f16>().unwrap()[0].to_f32(), 2.5);
    let n = node("ReduceMax", 13, 1).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![t(&[3], &[1.0, f32::NAN, 3.0])]).unwrap()[0];
    assert!(y.as_slice::<f32>().unwrap()[0].is_nan());
}

#[test]
fn reduce_errors() {
    let n = node("ReduceSum", 13, 2);
    assert_eq!(run_node(&n, vec![x3(), ti(&[3])]).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(run_node(&n, vec![x3(), ti(&[1, -2])]).unwrap_err().code(), ErrorCode::InvalidArgument);
    let f = Tensor::from_vec(vec![1], vec![1.0f32]).unwrap();
    assert_eq!(run_node(&n, vec![x3(), f]).unwrap_err().code(), ErrorCode::TypeMismatch);
    // A leftover `axes` attribute at opset 18 is used when the input is absent.
    let n = node("ReduceMean", 18, 1)
        .with_attr("axes", Attribute::Ints(vec![0, 1]))
        .with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![x3()]).unwrap()[0];
    assert_close(y.as_slice::<f32>().unwrap(), &[2.0, 2.5, 3.0, 3.5]);
    let n = node("ReduceMean", 18, 1).with_attr("axes", Attribute::Float(1.0));
    assert!(run_node(&n, vec![x3()]).is_err());
}

#[test]
fn reduce_large_parallel_paths_match_naive() {
    // [8, 96, 100] over last axis, over axis 1, over (0, 2).
    let (a, b, c) = (8usize, 96usize, 100usize);
    let v: Vec<f32> = (0..a * b * c).map(|i| ((i * 37 % 101) as f32) * 0.01 - 0.5).collect();
    let x = t(&[a, b, c], &v);
    let at = |i: usize, j: usize, k: usize| v[(i * b + j) * c + k] as f64;
    let n = node("ReduceSum", 13, 2).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![x.clone(), ti(&[2])]).unwrap()[0];
    let want: Vec<f32> = (0..a * b).map(|ij| (0..c).map(|k| at(ij / b, ij % b, k)).sum::<f64>() as f32).collect();
    assert_close(y.as_slice::<f32>().unwrap(), &want);
    let y = &run_node(&n, vec![x.clone(), ti(&[1])]).unwrap()[0];
    let want: Vec<f32> = (0..a * c).map(|ik| (0..b).map(|j| at(ik / c, j, ik % c)).sum::<f64>() as f32).collect();
    assert_close(y.as_slice::<f32>().unwrap(), &want);
    let y = &run_node(&n, vec![x.clone(), ti(&[0, 2])]).unwrap()[0];
    let want: Vec<f32> = (0..b)
        .map(|j| (0..a).flat_map(|i| (0..c).map(move |k| (i, k))).map(|(i, k)| at(i, j, k)).sum::<f64>() as f32)
        .collect();
    assert_close(y.as_slice::<f32>().unwrap(), &want);
    // outer = 1, large inner: blocked inner chunks
    let x1 = t(&[1, 4, 70000], &(0..280000).map(|i| (i % 7) as f32).collect::<Vec<_>>());
    let y = &run_node(&n, vec![x1, ti(&[1])]).unwrap()[0];
    let want: Vec<f32> = (0..70000).map(|k| (0..4).map(|j| ((j * 70000 + k) % 7) as f32).sum()).collect();
    assert_close(y.as_slice::<f32>().unwrap(), &want);
}

fn arg(op: &str, axis: i64, keep: i64, last: i64) -> Node {
    Node::new(op, &["x"], &["y"], 13)
        .with_attr("axis", Attribute::Int(axis))
        .with_attr("keepdims", Attribute::Int(keep))
        .with_attr("select_last_index", Attribute::Int(last))
}

#[test]
fn argmax_argmin() {
    let x = t(&[2, 3], &[2.0, 2.0, 1.0, 3.0, 10.0, 10.0]);
    let y = &run_node(&arg("ArgMax", 1, 1, 0), vec![x.clone()]).unwrap()[0];
    assert_eq!(y.shape(), &[2, 1]);
    assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1]);
    let y = &run_node(&arg("ArgMax", -1, 0, 1), vec![x.clone()]).unwrap()[0];
    assert_eq!(y.shape(), &[2]);
    assert_eq!(y.as_slice::<i64>().unwrap(), &[1, 2]);
    let y = &run_node(&arg("ArgMin", 0, 0, 0), vec![x.clone()]).unwrap()[0];
    assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 0, 0]);
    let y = &run_node(&arg("ArgMin", 1, 0, 0), vec![x.clone()]).unwrap()[0];
    assert_eq!(y.as_slice::<i64>().unwrap(), &[2, 0]);
    let xi = Tensor::from_vec(vec![4], vec![3i8, -1, 9, 9]).unwrap();
    let y = &run_node(&arg("ArgMax", 0, 1, 1), vec![xi]).unwrap()[0];
    assert_eq!(y.as_slice::<i64>().unwrap(), &[3]);
    let y = &run_node(&arg("ArgMax", 0, 0, 0), vec![t(&[3], &[1.0, f32::NAN, 5.0])]).unwrap()[0];
    assert_eq!(y.as_slice::<i64>().unwrap(), &[1]);
    assert_eq!(run_node(&arg("ArgMax", 2, 1, 0), vec![x]).unwrap_err().code(), ErrorCode::InvalidArgument);
    let e = Tensor::from_vec(vec![2, 0], Vec::<f32>::new()).unwrap();
    assert!(run_node(&arg("ArgMax", 1, 1, 0), vec![e]).is_err());
}

fn cum(op: &str, excl: i64, rev: i64) -> Node {
    Node::new(op, &["x", "axis"], &["y"], 26)
        .with_attr("exclusive", Attribute::Int(excl))
        .with_attr("reverse", Attribute::Int(rev))
}

#[test]
fn cumsum_cumprod() {
    let x = t(&[5], &[1.0, 2.0, 3.0, 4.0, 5.0]);
    let ax = Tensor::scalar(0i32);
    let y = &run_node(&cum("CumSum", 0, 0), vec![x.clone(), ax.clone()]).unwrap()[0];
    assert_close(y.as_slice::<f32>().unwrap(), &[1.0, 3.0, 6.0, 10.0, 15.0]);
    let y = &run_node(&cum("CumSum", 1, 0), vec![x.clone(), ax.clone()]).unwrap()[0];
    assert_close(y.as_slice::<f32>().unwrap(), &[0.0, 1.0, 3.0, 6.0, 10.0]);
    let y = &run_node(&cum("CumSum", 1, 1), vec![x.clone(), ax.clone()]).unwrap()[0];
    assert_close(y.as_slice::<f32>().unwrap(), &[14.0, 12.0, 9.0, 5.0, 0.0]);
    let y = &run_node(&cum("CumProd", 0, 1), vec![x.clone(), ax.clone()]).unwrap()[0];
    assert_close(y.as_slice::<f32>().unwrap(), &[120.0, 120.0, 60.0, 20.0, 5.0]);
    let y = &run_node(&cum("CumProd", 1, 0), vec![x, ax]).unwrap()[0];
    assert_close(y.as_slice::<f32>().unwrap(), &[1.0, 1.0, 2.0, 6.0, 24.0]);
    let x2 = Tensor::from_vec(vec![2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
    let y = &run_node(&cum("CumSum", 0, 0), vec![x2.clone(), Tensor::scalar(-1i64)]).unwrap()[0];
    assert_eq!(y.as_slice::<i32>().unwrap(), &[1, 3, 6, 4, 9, 15]);
    let y = &run_node(&cum("CumSum", 0, 0), vec![x2.clone(), ti(&[0])]).unwrap()[0];
    assert_eq!(y.as_slice::<i32>().unwrap(), &[1, 2, 3, 5, 7, 9]);
    assert_eq!(
        run_node(&cum("CumSum", 0, 0), vec![x2.clone(), ti(&[2])]).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert!(run_node(&cum("CumSum", 0, 0), vec![x2, Tensor::scalar(0.5f32)]).is_err());
}

#[test]
fn reduce_scalar_input() {
    let n = node("ReduceMean", 18, 1).with_attr("keepdims", Attribute::Int(0));
    let y = &run_node(&n, vec![Tensor::scalar(2.5f32)]).unwrap()[0];
    assert_eq!(y.shape(), &[] as &[usize]);
    assert_close(y.as_slice::<f32>().unwrap(), &[2.5]);
    let n = node("ReduceL2", 11, 1);
    let y = &run_node(&n, vec![Tensor::scalar(-3.0f64)]).unwrap()[0];
    assert_eq!(y.as_slice::<f64>().unwrap(), &[3.0]);
}
