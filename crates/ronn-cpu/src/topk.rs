//! TopK: the `k` largest (or smallest) elements along an axis, with their indices.
//! See <https://onnx.ai/onnx/operators/onnx__TopK.html>.
//!
//! Opset changes handled: opset 1 takes `k` as an attribute; from opset 10 it is
//! a 1-element int64 input; opset 11 adds `largest` and `sorted` and negative axes.
//! Results are always sorted (allowed when `sorted = 0`); equal values keep the
//! lower index first, as the spec requires. NaN orders above every number (numpy).

use crate::helpers::{input, ints_of, kernel, outputs};
use rayon::prelude::*;
use ronn_core::{normalize_axis, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use std::cmp::Ordering;

const PAR_MIN: usize = 1 << 16;

/// Total order with NaN above everything.
#[inline]
fn cmp_nan_last<T: Element>(a: T, b: T) -> Ordering {
    match a.partial_cmp(&b) {
        Some(o) => o,
        None => {
            #[allow(clippy::eq_op)]
            let (an, bn) = (a != a, b != b);
            match (an, bn) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                _ => Ordering::Less,
            }
        }
    }
}

/// Leaves in `v` the `k` elements of `it` that sort first under `cmp` (unordered).
/// `better(e, root)` must equal `cmp(e, root) == Less` for every later element
/// (it is a cheaper test the caller can give, e.g. using that indices increase).
fn heap_top_k<E: Copy, C: Fn(&E, &E) -> Ordering, B: Fn(&E, &E) -> bool>(
    v: &mut Vec<E>,
    k: usize,
    mut it: impl Iterator<Item = E>,
    cmp: &C,
    better: B,
) {
    v.clear();
    v.extend(it.by_ref().take(k));
    // Max-heap (under `cmp`) over v[..k]: the root is the worst of the kept ones.
    let sift = |h: &mut [E], mut i: usize| loop {
        let l = 2 * i + 1;
        if l >= h.len() {
            break;
        }
        let mut c = l;
        if l + 1 < h.len() && cmp(&h[l + 1], &h[l]) == Ordering::Greater {
            c = l + 1;
        }
        if cmp(&h[c], &h[i]) == Ordering::Greater {
            h.swap(c, i);
            i = c;
        } else {
            break;
        }
    };
    for i in (0..k / 2).rev() {
        sift(&mut v[..k], i);
    }
    for e in it {
        if better(&e, &v[0]) {
            v[0] = e;
            sift(&mut v[..k], 0);
        }
    }
}

/// Top-k along the middle axis of [outer, r, inner]; returns values and indices
/// laid out as [outer, k, inner].
fn topk_core<T: Element>(x: &[T], outer: usize, r: usize, inner: usize, k: usize, largest: bool) -> (Vec<T>, Vec<i64>) {
    let n_lines = outer * inner;
    // Per line: k (value, index) pairs, line-major; scattered to [outer, k, inner] after.
    let mut vals = vec![T::default(); n_lines * k];
    let mut idxs = vec![0i64; n_lines * k];
    if k == 0 || n_lines == 0 {
        return (vals, idxs);
    }
    let line = |l: usize, vd: &mut [T], id: &mut [i64], buf: &mut Vec<(T, u32)>| {
        let (o, i) = (l / inner, l % inner);
        let base = o * r * inner + i;
        let cmp = |a: &(T, u32), b: &(T, u32)| {
            let c = if largest { cmp_nan_last(b.0, a.0) } else { cmp_nan_last(a.0, b.0) };
            c.then(a.1.cmp(&b.1))
        };
        let items = (0..r).map(|j| (x[base + j * inner], j as u32));
        if k * 16 <= r {
            // Small k: keep the k best in a heap whose root is the worst kept one;
            // most elements are rejected with one comparison.
            // Later items have larger indices, so a tie never beats the root.
            #[allow(clippy::eq_op)]
            let better = |e: &(T, u32), root: &(T, u32)| {
                let (x, w) = (e.0, root.0);
                if x != x || w != w {
                    cmp(e, root) == Ordering::Less
                } else if largest {
                    x > w
                } else {
                    x < w
                }
            };
            heap_top_k(buf, k, items, &cmp, better);
        } else {
            buf.clear();
            buf.extend(items);
            if k < r {
                buf.select_nth_unstable_by(k - 1, cmp);
            }
        }
        let head = &mut buf[..k];
        head.sort_unstable_by(cmp);
        for (j, &(v, ix)) in head.iter().enumerate() {
            vd[j] = v;
            id[j] = ix as i64;
        }
    };
    if x.len() >= PAR_MIN && n_lines > 1 {
        vals.par_chunks_mut(k)
            .zip(idxs.par_chunks_mut(k))
            .enumerate()
            .for_each_init(Vec::new, |buf, (l, (vd, id))| line(l, vd, id, buf));
    } else {
        let mut buf = Vec::with_capacity(r);
        for (l, (vd, id)) in vals.chunks_mut(k).zip(idxs.chunks_mut(k)).enumerate() {
            line(l, vd, id, &mut buf);
        }
    }
    if inner == 1 {
        return (vals, idxs);
    }
    // [outer, inner, k] -> [outer, k, inner]
    let mut v2 = vec![T::default(); vals.len()];
    let mut i2 = vec![0i64; idxs.len()];
    for o in 0..outer {
        for i in 0..inner {
            for j in 0..k {
                let src = (o * inner + i) * k + j;
                let dst = (o * k + j) * inner + i;
                v2[dst] = vals[src];
                i2[dst] = idxs[src];
            }
        }
    }
    (v2, i2)
}

fn make_topk(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let axis = node.attr_i_or("axis", -1)?;
    let largest = node.attr_i_or("largest", 1)? != 0;
    let attr_k = if node.opset < 10 {
        Some(node.attr_i("k")?.ok_or_else(|| node.unsupported("TopK-1 needs the 'k' attribute"))?)
    } else {
        None
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let k = match attr_k {
            Some(k) => k,
            None => {
                let kv = ints_of(input(inputs, 1)?)?;
                if kv.len() != 1 {
                    return Err(Error::InvalidArgument(format!("K must hold one value, got {}", kv.len())));
                }
                kv[0]
            }
        };
        let rank = x.rank();
        if rank == 0 {
            return Err(Error::InvalidArgument("TopK needs an input of rank >= 1".into()));
        }
        let ax = normalize_axis(axis, rank)?;
        let shape = x.shape();
        let r = shape[ax];
        if k < 0 || k as usize > r {
            return Err(Error::InvalidArgument(format!("k = {k} is out of range for axis {ax} of size {r}")));
        }
        if r > u32::MAX as usize {
            return Err(Error::InvalidArgument(format!("axis of size {r} is too long for TopK")));
        }
        let k = k as usize;
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax + 1..].iter().product();
        let mut out_shape = shape.to_vec();
        out_shape[ax] = k;
        if x.dtype() == DType::String || x.dtype() == DType::Bool {
            return Err(Error::TypeMismatch(format!("TopK does not support element type {}", x.dtype())));
        }
        let (vals, idx) = ronn_core::dispatch_dtype!(x.dtype(), T => {
            let (v, i) = topk_core::<T>(x.as_slice::<T>()?, outer, r, inner, k, largest);
            (Tensor::from_vec(out_shape.clone(), v)?, i)
        }, _ => return Err(Error::TypeMismatch(format!("TopK does not support element type {}", x.dtype()))));
        outputs(vec![vals, Tensor::from_vec(out_shape, idx)?])
    })
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("TopK", make_topk);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, run_node};
    use ronn_core::ErrorCode;
    use ronn_ir::{Attribute, Node};

    fn node(axis: i64, largest: i64) -> Node {
        Node::new("TopK", &["x", "k"], &["v", "i"], 11)
            .with_attr("axis", Attribute::Int(axis))
            .with_attr("largest", Attribute::Int(largest))
    }
    fn k(v: i64) -> Tensor {
        Tensor::from_vec(vec![1], vec![v]).unwrap()
    }

    #[test]
    fn largest_last_axis_with_ties() {
        let x = Tensor::from_vec(vec![2, 4], vec![1f32, 3., 3., 2., 5., 5., 5., -1.]).unwrap();
        let out = run_node(&node(-1, 1), vec![x, k(3)]).unwrap();
        assert_eq!(out[0].shape(), &[2, 3]);
        assert_close(out[0].as_slice::<f32>().unwrap(), &[3., 3., 2., 5., 5., 5.]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[1, 2, 3, 0, 1, 2]);
    }

    #[test]
    fn smallest_middle_axis() {
        // x[i, j, l] = (j * 7 + l * 3) % 5 over [1, 4, 2]
        let v: Vec<i32> = (0..8).map(|n| ((n / 2) * 7 + (n % 2) * 3) % 5).collect();
        // axis 1 columns: l=0: [0, 2, 4, 1]; l=1: [3, 0, 2, 4]
        let x = Tensor::from_vec(vec![1, 4, 2], v).unwrap();
        let out = run_node(&node(1, 0), vec![x, k(2)]).unwrap();
        assert_eq!(out[0].shape(), &[1, 2, 2]);
        assert_eq!(out[0].as_slice::<i32>().unwrap(), &[0, 0, 1, 2]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[0, 1, 3, 2]);
    }

    #[test]
    fn opset1_attr_k_uint64_and_nan() {
        let x = Tensor::from_vec(vec![3], vec![5u64, u64::MAX, 7]).unwrap();
        let n = Node::new("TopK", &["x"], &["v", "i"], 1).with_attr("k", Attribute::Int(2));
        let out = run_node(&n, vec![x]).unwrap();
        assert_eq!(out[0].as_slice::<u64>().unwrap(), &[u64::MAX, 7]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[1, 2]);
        let x = Tensor::from_vec(vec![3], vec![1f32, f32::NAN, 2.]).unwrap();
        let out = run_node(&node(0, 1), vec![x, k(2)]).unwrap();
        assert!(out[0].as_slice::<f32>().unwrap()[0].is_nan());
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[1, 2]);
    }

    #[test]
    fn k_zero_and_full_and_errors() {
        let x = Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 6., 5., 4.]).unwrap();
        let out = run_node(&node(1, 1), vec![x.clone(), k(0)]).unwrap();
        assert_eq!(out[0].shape(), &[2, 0]);
        let out = run_node(&node(0, 1), vec![x.clone(), k(2)]).unwrap();
        assert_close(out[0].as_slice::<f32>().unwrap(), &[6., 5., 4., 1., 2., 3.]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[1, 1, 1, 0, 0, 0]);
        assert_eq!(run_node(&node(1, 1), vec![x.clone(), k(4)]).unwrap_err().code(), ErrorCode::InvalidArgument);
        assert_eq!(run_node(&node(2, 1), vec![x.clone(), k(1)]).unwrap_err().code(), ErrorCode::InvalidArgument);
        let kf = Tensor::from_vec(vec![1], vec![1f32]).unwrap();
        assert_eq!(run_node(&node(1, 1), vec![x, kf]).unwrap_err().code(), ErrorCode::TypeMismatch);
    }

    #[test]
    fn small_k_heap_path_keeps_tie_order() {
        // 40 elements, k = 2 (heap path): values repeat every 5, ties by lower index.
        let v: Vec<f32> = (0..40).map(|i| (i % 5) as f32).collect();
        let x = Tensor::from_vec(vec![40], v).unwrap();
        let out = run_node(&node(0, 1), vec![x.clone(), k(2)]).unwrap();
        assert_close(out[0].as_slice::<f32>().unwrap(), &[4., 4.]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[4, 9]);
        let out = run_node(&node(0, 0), vec![x, k(2)]).unwrap();
        assert_close(out[0].as_slice::<f32>().unwrap(), &[0., 0.]);
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[0, 5]);
    }

    #[test]
    fn heap_path_with_nans() {
        let mut v: Vec<f32> = (0..40).map(|i| i as f32).collect();
        v[3] = f32::NAN;
        let x = Tensor::from_vec(vec![40], v).unwrap();
        let out = run_node(&node(0, 1), vec![x.clone(), k(2)]).unwrap();
        assert!(out[0].as_slice::<f32>().unwrap()[0].is_nan());
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[3, 39]);
        let out = run_node(&node(0, 0), vec![x, k(2)]).unwrap();
        assert_eq!(out[1].as_slice::<i64>().unwrap(), &[0, 1]);
    }

    #[test]
    fn large_parallel_matches_sort() {
        let (rows, r) = (300usize, 300usize);
        let v: Vec<f32> = (0..rows * r).map(|i| ((i * 7919) % 1009) as f32).collect();
        let x = Tensor::from_vec(vec![rows, r], v.clone()).unwrap();
        let out = run_node(&node(1, 1), vec![x, k(5)]).unwrap();
        for row in [0usize, 17, 299] {
            let mut line: Vec<(f32, i64)> = (0..r).map(|j| (v[row * r + j], j as i64)).collect();
            line.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            let got_i = &out[1].as_slice::<i64>().unwrap()[row * 5..row * 5 + 5];
            let want_i: Vec<i64> = line[..5].iter().map(|p| p.1).collect();
            assert_eq!(got_i, &want_i[..]);
        }
    }
}
