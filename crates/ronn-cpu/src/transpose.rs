//! Transpose (<https://onnx.ai/onnx/operators/onnx__Transpose.html>), every opset:
//! `perm` defaults to reversing the dims. Works for every element type, strings too.
//!
//! The permutation is first simplified (size-1 dims dropped, dims that stay adjacent
//! merged). Permutations that keep the innermost dim in place (e.g. the attention
//! `[B,S,H,D] -> [B,H,S,D]`) become row copies; those that move it right before the new
//! innermost dim (NCHW <-> NHWC, 2-D transposes, batched matrix transposes) run as
//! cache-blocked tiles; the rest fall back to a generic strided copy. Large tensors
//! run in parallel.

use crate::helpers::{input, kernel, output};
use crate::shape::util::{dispatch_any, istrides, mk, numel, sl, strided_copy, Item, PAR_MIN};
use rayon::prelude::*;
use ronn_core::{bail, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Transpose", transpose);
}

fn transpose(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let perm = ctx.node.attr_ints("perm")?;
    if let Some(p) = &perm {
        let mut seen = vec![false; p.len()];
        for &a in p {
            if a < 0 || a as usize >= p.len() || seen[a as usize] {
                return Err(ctx.node.unsupported(format!("perm {p:?} is not a permutation")));
            }
            seen[a as usize] = true;
        }
    }
    let perm: Option<Vec<usize>> = perm.map(|p| p.iter().map(|&a| a as usize).collect());
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        match &perm {
            Some(p) => output(transpose_tensor(x, p)?),
            None => {
                let p: Vec<usize> = (0..x.rank()).rev().collect();
                output(transpose_tensor(x, &p)?)
            }
        }
    })
}

/// Transposes `x` so that output dim `i` is input dim `perm[i]`.
pub fn transpose_tensor(x: &Tensor, perm: &[usize]) -> Result<Tensor> {
    let shape = x.shape();
    if perm.len() != shape.len() {
        bail!(ShapeMismatch, "perm {perm:?} has {} entries but the input has rank {}", perm.len(), shape.len());
    }
    let mut seen = vec![false; perm.len()];
    for &p in perm {
        if p >= perm.len() || seen[p] {
            bail!(InvalidArgument, "perm {perm:?} is not a permutation");
        }
        seen[p] = true;
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let st = istrides(shape);
    // Simplify in output order.
    let mut sh: Vec<usize> = Vec::with_capacity(perm.len());
    let mut ss: Vec<isize> = Vec::with_capacity(perm.len());
    for &p in perm {
        let (d, s) = (shape[p], st[p]);
        if d == 1 {
            continue;
        }
        if let (Some(&ld), Some(&ls)) = (sh.last(), ss.last()) {
            if ls == s * d as isize {
                let n = sh.len();
                sh[n - 1] = ld * d;
                ss[n - 1] = s;
                continue;
            }
        }
        sh.push(d);
        ss.push(s);
    }
    let k = sh.len();
    if k <= 1 || numel(shape)? == 0 {
        // Pure relabeling: the memory order does not change.
        return x.clone().reshape(out_shape);
    }
    dispatch_any!(x.dtype(), T => {
        let src = sl::<T>(x)?;
        let v = if ss[k - 1] != 1 && ss[k - 2] == 1 {
            tiled::<T>(src, &sh, &ss)
        } else {
            strided_copy::<T>(src, 0, &sh, &ss)?
        };
        mk::<T>(out_shape.clone(), v)
    })
}

const TILE: usize = 32;

/// Batched 2-D transpose: dims `..k-2` are the batch (any strides), dim `k-2` has
/// source stride 1 and dim `k-1` source stride `ss[k-1]`.
fn tiled<T: Item>(src: &[T], sh: &[usize], ss: &[isize]) -> Vec<T> {
    let k = sh.len();
    let (r, c) = (sh[k - 2], sh[k - 1]);
    let sc = ss[k - 1] as usize;
    // batch base offsets
    let bsh = &sh[..k - 2];
    let bst = &ss[..k - 2];
    let nb: usize = bsh.iter().product();
    let mut bases = Vec::with_capacity(nb);
    let mut idx = vec![0usize; bsh.len()];
    for _ in 0..nb {
        bases.push(idx.iter().zip(bst).map(|(&i, &s)| i as isize * s).sum::<isize>() as usize);
        for j in (0..bsh.len()).rev() {
            idx[j] += 1;
            if idx[j] < bsh[j] {
                break;
            }
            idx[j] = 0;
        }
    }
    let total = nb * r * c;
    let mut out = T::for_overwrite(total);
    // `o` holds output rows r0.. of one batch (each row c elements).
    let do_rows = |o: &mut [T], base: usize, r0: usize| {
        let rows = o.len() / c;
        let mut c0 = 0;
        while c0 < c {
            let c1 = (c0 + TILE).min(c);
            for rr in 0..rows {
                let orow = &mut o[rr * c + c0..rr * c + c1];
                let mut p = base + r0 + rr + c0 * sc;
                for dst in orow.iter_mut() {
                    *dst = src[p].clone();
                    p += sc;
                }
            }
            c0 = c1;
        }
    };
    if total >= PAR_MIN {
        out.par_chunks_mut(r * c).zip(bases.par_iter()).for_each(|(ob, &base)| {
            ob.par_chunks_mut(TILE * c).enumerate().for_each(|(t, o)| do_rows(o, base, t * TILE));
        });
    } else {
        for (ob, &base) in out.chunks_mut(r * c).zip(&bases) {
            for (t, o) in ob.chunks_mut(TILE * c).enumerate() {
                do_rows(o, base, t * TILE);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::transpose_tensor;
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    /// Reference transpose by index arithmetic.
    fn naive(x: &[f32], shape: &[usize], perm: &[usize]) -> Vec<f32> {
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let st = ronn_core::strides_of(shape);
        let n: usize = shape.iter().product();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let mut rem = i;
            let mut off = 0;
            for d in (0..out_shape.len()).rev() {
                let id = rem % out_shape[d];
                rem /= out_shape[d];
                off += id * st[perm[d]];
            }
            out.push(x[off]);
        }
        out
    }

    fn check(shape: &[usize], perm: &[usize]) {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let x = Tensor::from_vec(shape.to_vec(), v.clone()).unwrap();
        let y = transpose_tensor(&x, perm).unwrap();
        let want = naive(&v, shape, perm);
        assert_eq!(y.as_slice::<f32>().unwrap(), &want[..], "shape {shape:?} perm {perm:?}");
        let ys: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        assert_eq!(y.shape(), &ys[..]);
    }

    #[test]
    fn matches_reference_for_many_perms() {
        check(&[3, 5], &[1, 0]);
        check(&[2, 3, 4], &[2, 0, 1]);
        check(&[2, 3, 4], &[1, 2, 0]);
        check(&[2, 3, 4], &[0, 2, 1]);
        check(&[2, 3, 4], &[2, 1, 0]);
        check(&[2, 3, 4, 5], &[0, 2, 1, 3]);
        check(&[2, 3, 4, 5], &[0, 2, 3, 1]);
        check(&[2, 3, 4, 5], &[0, 3, 1, 2]);
        check(&[2, 1, 4, 5], &[3, 1, 0, 2]);
        check(&[33, 70], &[1, 0]);
        check(&[4, 300, 70], &[0, 2, 1]); // large: parallel tiled path
        check(&[2, 64, 8, 130], &[0, 2, 1, 3]); // large: parallel row copies
        check(&[5, 7, 300], &[2, 1, 0]); // generic strided
    }

    #[test]
    fn default_perm_reverses_and_strings_work() {
        let n = Node::new("Transpose", &["x"], &["y"], 13);
        let x = Tensor::from_strings(vec![2, 2], vec!["a".into(), "b".into(), "c".into(), "d".into()]).unwrap();
        let y = &run_node(&n, vec![x]).unwrap()[0];
        assert_eq!(y.as_strings().unwrap(), &["a", "c", "b", "d"]);
        let x = Tensor::from_vec(vec![2, 3], vec![true, false, true, false, false, true]).unwrap();
        let y = &run_node(&n, vec![x]).unwrap()[0];
        assert_eq!(y.as_slice::<bool>().unwrap(), &[true, false, false, false, true, true]);
    }

    #[test]
    fn bad_perm_is_an_error() {
        let n = Node::new("Transpose", &["x"], &["y"], 13).with_attr("perm", Attribute::Ints(vec![0, 0]));
        let x = Tensor::from_vec(vec![2, 2], vec![1f32; 4]).unwrap();
        assert!(run_node(&n, vec![x.clone()]).is_err());
        let n = Node::new("Transpose", &["x"], &["y"], 13).with_attr("perm", Attribute::Ints(vec![1, 0, 2]));
        assert!(run_node(&n, vec![x]).is_err());
        let e = Tensor::from_vec(vec![0, 3], Vec::<f32>::new()).unwrap();
        let n = Node::new("Transpose", &["x"], &["y"], 13);
        assert_eq!(run_node(&n, vec![e]).unwrap()[0].shape(), &[3, 0]);
    }
}
