//! Indexing operators: Gather, GatherElements, GatherND, ScatterElements, Scatter,
//! ScatterND, Slice, Compress, OneHot, Trilu, NonZero.
//!
//! See <https://onnx.ai/onnx/operators/>. Opset changes handled: Slice `starts`/`ends`/
//! `axes` attributes (<10) then inputs with `steps`; ScatterElements/ScatterND
//! `reduction` (16, max/min at 18); GatherND `batch_dims` (12); negative indices
//! everywhere they are allowed (11+).

use crate::helpers::{input, kernel, opt_input, output};
use crate::shape::util::{axis, dispatch_any, ints, mk, numel, sl, strided_tensor, Item, PAR_MIN};
use rayon::prelude::*;
use ronn_core::{bail, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Gather", gather);
    r.register_all("GatherElements", gather_elements);
    r.register_all("GatherND", gather_nd);
    r.register_all("ScatterElements", scatter_elements);
    r.register_all("Scatter", scatter_elements);
    r.register_all("ScatterND", scatter_nd);
    r.register_all("Slice", slice);
    r.register_all("Compress", compress);
    r.register_all("OneHot", one_hot);
    r.register_all("Trilu", trilu);
    r.register_all("NonZero", nonzero);
    r.register_all("ReverseSequence", reverse_sequence);
    r.register_all("Unique", unique);
}

fn reverse_sequence(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let ta = ctx.node.attr_i_or("time_axis", 0)?;
    let ba = ctx.node.attr_i_or("batch_axis", 1)?;
    if !matches!((ta, ba), (0, 1) | (1, 0)) {
        return Err(ctx.node.unsupported(format!("time_axis {ta} / batch_axis {ba} (must be 0/1 or 1/0)")));
    }
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let lens = ints(input(inp, 1)?)?;
        if x.rank() < 2 {
            bail!(ShapeMismatch, "ReverseSequence needs rank >= 2, got {:?}", x.shape());
        }
        let (d0, d1) = (x.shape()[0], x.shape()[1]);
        let (nt, nb) = if ta == 0 { (d0, d1) } else { (d1, d0) };
        if lens.len() != nb {
            bail!(ShapeMismatch, "sequence_lens has {} entries for a batch of {nb}", lens.len());
        }
        if lens.iter().any(|&l| l < 0 || l as usize > nt) {
            bail!(InvalidArgument, "sequence_lens {lens:?} must be within 0..={nt}");
        }
        let inner: usize = x.shape()[2..].iter().product();
        dispatch_any!(x.dtype(), T => {
            let src = sl::<T>(x)?;
            let mut out = Vec::with_capacity(src.len());
            for i0 in 0..d0 {
                for i1 in 0..d1 {
                    let (t, b) = if ta == 0 { (i0, i1) } else { (i1, i0) };
                    let l = lens[b] as usize;
                    let st = if t < l { l - 1 - t } else { t };
                    let (s0, s1) = if ta == 0 { (st, i1) } else { (i0, st) };
                    let o = (s0 * d1 + s1) * inner;
                    out.extend_from_slice(&src[o..o + inner]);
                }
            }
            output(mk::<T>(x.shape().to_vec(), out)?)
        })
    })
}

fn unique(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let sorted = ctx.node.attr_i_or("sorted", 1)? != 0;
    let a = ctx.node.attr_i("axis")?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let (src, ax) = match a {
            Some(a) => (x.clone(), axis(a, x.rank())?),
            None => (x.clone().reshape(vec![x.len()])?, 0),
        };
        let dim = src.shape()[ax];
        let outer: usize = src.shape()[..ax].iter().product();
        let inner: usize = src.shape()[ax + 1..].iter().product();
        dispatch_any!(src.dtype(), T => {
            let s = sl::<T>(&src)?;
            let key = |k: usize| -> Vec<T> {
                let mut v = Vec::with_capacity(outer * inner);
                for o in 0..outer {
                    let b = (o * dim + k) * inner;
                    v.extend_from_slice(&s[b..b + inner]);
                }
                v
            };
            let keys: Vec<Vec<T>> = (0..dim).map(key).collect();
            let cmp = |p: &Vec<T>, q: &Vec<T>| p.partial_cmp(q).unwrap_or(std::cmp::Ordering::Equal);
            let mut order: Vec<usize> = (0..dim).collect();
            order.sort_by(|&i, &j| cmp(&keys[i], &keys[j]));
            // groups of equal keys: (first occurrence, members)
            let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
            for &i in &order {
                match groups.last_mut() {
                    Some(g) if keys[g.0] == keys[i] => g.1.push(i),
                    _ => groups.push((i, vec![i])),
                }
            }
            if !sorted {
                groups.sort_by_key(|g| g.0);
            }
            let mut inverse = vec![0i64; dim];
            for (gi, g) in groups.iter().enumerate() {
                for &m in &g.1 {
                    inverse[m] = gi as i64;
                }
            }
            let first: Vec<i64> = groups.iter().map(|g| g.0 as i64).collect();
            let counts: Vec<i64> = groups.iter().map(|g| g.1.len() as i64).collect();
            let it = Tensor::from_vec(vec![first.len()], first.clone())?;
            let y = gather_tensor(&src, &it, ax as i64)?;
            let u = first.len();
            Ok(vec![
                y.into(),
                Tensor::from_vec(vec![u], first)?.into(),
                Tensor::from_vec(vec![dim], inverse)?.into(),
                Tensor::from_vec(vec![u], counts)?.into(),
            ])
        })
    })
}

/// Normalizes index `i` into `0..dim` (negative counts from the end).
#[inline]
fn norm_idx(i: i64, dim: usize) -> Result<usize> {
    let v = if i < 0 { i + dim as i64 } else { i };
    if v < 0 || v >= dim as i64 {
        bail!(InvalidArgument, "index {i} is out of range for a dim of size {dim}");
    }
    Ok(v as usize)
}

fn gather(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_i_or("axis", 0)?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let idx = input(inp, 1)?;
        output(gather_tensor(x, idx, a)?)
    })
}

/// Gather along axis `a`.
pub(crate) fn gather_tensor(x: &Tensor, idx: &Tensor, a: i64) -> Result<Tensor> {
    let ax = axis(a, x.rank())?;
    let dim = x.shape()[ax];
    let ids: Vec<usize> = ints(idx)?.into_iter().map(|i| norm_idx(i, dim)).collect::<Result<_>>()?;
    let outer: usize = x.shape()[..ax].iter().product();
    let inner: usize = x.shape()[ax + 1..].iter().product();
    let mut shape = x.shape()[..ax].to_vec();
    shape.extend_from_slice(idx.shape());
    shape.extend_from_slice(&x.shape()[ax + 1..]);
    dispatch_any!(x.dtype(), T => {
        let s = sl::<T>(x)?;
        let total = outer * ids.len() * inner;
        let mut out: Vec<T>;
        if total >= PAR_MIN && inner > 0 {
            out = vec![T::default(); total];
            out.par_chunks_mut(inner).enumerate().for_each(|(k, dst)| {
                let (o, j) = (k / ids.len(), k % ids.len());
                let b = (o * dim + ids[j]) * inner;
                dst.clone_from_slice(&s[b..b + inner]);
            });
        } else {
            out = Vec::with_capacity(total);
            for o in 0..outer {
                for &i in &ids {
                    let b = (o * dim + i) * inner;
                    out.extend_from_slice(&s[b..b + inner]);
                }
            }
        }
        mk::<T>(shape.clone(), out)
    })
}

/// For each element of `shape` (row-major), the flat offset into a tensor of
/// `dshape` where dim `ax` is replaced by `ids[k]` (already normalized).
fn elements_offsets(shape: &[usize], dshape: &[usize], ax: usize, ids: &[usize]) -> Vec<usize> {
    let dst = ronn_core::strides_of(dshape);
    let n = ids.len();
    let mut offs = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for &id in ids.iter().take(n) {
        let mut off = 0;
        for (d, &i) in idx.iter().enumerate() {
            off += if d == ax { id } else { i } * dst[d];
        }
        offs.push(off);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    offs
}

fn check_elements_shapes(x: &Tensor, idx: &Tensor, ax: usize, op: &str) -> Result<Vec<usize>> {
    if idx.rank() != x.rank() {
        bail!(ShapeMismatch, "{op}: indices {:?} must have the rank of data {:?}", idx.shape(), x.shape());
    }
    for d in 0..x.rank() {
        if d != ax && idx.shape()[d] > x.shape()[d] {
            bail!(ShapeMismatch, "{op}: indices {:?} exceed data {:?} at dim {d}", idx.shape(), x.shape());
        }
    }
    let dim = x.shape()[ax];
    let ids: Vec<usize> = ints(idx)?.into_iter().map(|i| norm_idx(i, dim)).collect::<Result<_>>()?;
    Ok(elements_offsets(idx.shape(), x.shape(), ax, &ids))
}

fn gather_elements(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_i_or("axis", 0)?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let idx = input(inp, 1)?;
        let ax = axis(a, x.rank())?;
        let offs = check_elements_shapes(x, idx, ax, "GatherElements")?;
        dispatch_any!(x.dtype(), T => {
            let s = sl::<T>(x)?;
            let v: Vec<T> = offs.iter().map(|&o| s[o].clone()).collect();
            output(mk::<T>(idx.shape().to_vec(), v)?)
        })
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Red {
    None,
    Add,
    Mul,
    Max,
    Min,
}

fn reduction(ctx: &BuildCtx) -> Result<Red> {
    Ok(match ctx.node.attr_s_or("reduction", "none")?.as_str() {
        "none" => Red::None,
        "add" => Red::Add,
        "mul" => Red::Mul,
        "max" => Red::Max,
        "min" => Red::Min,
        r => return Err(ctx.node.unsupported(format!("reduction '{r}'"))),
    })
}

fn combine<T: Element>(r: Red, a: T, b: T) -> T {
    match r {
        Red::None => b,
        Red::Add => T::from_f64(a.to_f64() + b.to_f64()),
        Red::Mul => T::from_f64(a.to_f64() * b.to_f64()),
        Red::Max => {
            if b > a {
                b
            } else {
                a
            }
        }
        Red::Min => {
            if b < a {
                b
            } else {
                a
            }
        }
    }
}

/// Copies `x` and applies `f(dst, update)` at each (offset, update) pair.
fn scatter_apply<T: Item>(
    x: &Tensor,
    upd: &Tensor,
    offs: &[usize],
    block: usize,
    f: impl Fn(&T, &T) -> T,
) -> Result<Tensor> {
    let mut out = sl::<T>(x)?.to_vec();
    let u = sl::<T>(upd)?;
    for (k, &o) in offs.iter().enumerate() {
        for j in 0..block {
            let d = &mut out[o + j];
            *d = f(d, &u[k * block + j]);
        }
    }
    mk::<T>(x.shape().to_vec(), out)
}

fn scatter_dispatch(x: &Tensor, upd: &Tensor, offs: &[usize], block: usize, red: Red) -> Result<Tensor> {
    if upd.dtype() != x.dtype() {
        bail!(TypeMismatch, "updates ({}) must have the data's type ({})", upd.dtype(), x.dtype());
    }
    if red == Red::None {
        return dispatch_any!(x.dtype(), T => scatter_apply::<T>(x, upd, offs, block, |_, b| b.clone()));
    }
    ronn_core::dispatch_dtype!(x.dtype(), T => scatter_apply::<T>(x, upd, offs, block, |a, b| combine(red, *a, *b)),
        _ => bail!(TypeMismatch, "scatter reduction is not defined for {}", x.dtype()))
}

fn scatter_elements(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_i_or("axis", 0)?;
    let red = reduction(ctx)?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let idx = input(inp, 1)?;
        let upd = input(inp, 2)?;
        let ax = axis(a, x.rank())?;
        if upd.shape() != idx.shape() {
            bail!(ShapeMismatch, "updates {:?} must have the shape of indices {:?}", upd.shape(), idx.shape());
        }
        let offs = check_elements_shapes(x, idx, ax, "ScatterElements")?;
        output(scatter_dispatch(x, upd, &offs, 1, red)?)
    })
}

/// Offsets of the index tuples of a GatherND/ScatterND `indices` tensor, per batch.
fn nd_offsets(x: &Tensor, idx: &Tensor, b: usize) -> Result<(Vec<usize>, usize, usize)> {
    let r = idx.rank();
    if r == 0 {
        bail!(ShapeMismatch, "indices must have rank >= 1");
    }
    let k = idx.shape()[r - 1];
    if b + k > x.rank() || b >= r {
        bail!(ShapeMismatch, "indices {:?} (batch_dims {b}) do not fit data {:?}", idx.shape(), x.shape());
    }
    if idx.shape()[..b] != x.shape()[..b] {
        bail!(ShapeMismatch, "batch dims of indices {:?} and data {:?} differ", idx.shape(), x.shape());
    }
    let st = ronn_core::strides_of(x.shape());
    let block: usize = x.shape()[b + k..].iter().product();
    let batch_size: usize = x.shape()[b..].iter().product();
    let nb: usize = x.shape()[..b].iter().product();
    let v = ints(idx)?;
    let tuples = if k == 0 { numel(&idx.shape()[..r - 1])? } else { v.len() / k };
    let per_batch = if nb == 0 { 0 } else { tuples / nb };
    let mut offs = Vec::with_capacity(tuples);
    for t in 0..tuples {
        let bi = t.checked_div(per_batch).unwrap_or(0);
        let mut o = bi * batch_size;
        for j in 0..k {
            o += norm_idx(v[t * k + j], x.shape()[b + j])? * st[b + j];
        }
        offs.push(o);
    }
    Ok((offs, block, k))
}

fn gather_nd(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let b = ctx.node.attr_i_or("batch_dims", 0)?;
    if b < 0 {
        return Err(ctx.node.unsupported("negative batch_dims"));
    }
    let b = b as usize;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let idx = input(inp, 1)?;
        let (offs, block, k) = nd_offsets(x, idx, b)?;
        let mut shape = idx.shape()[..idx.rank() - 1].to_vec();
        shape.extend_from_slice(&x.shape()[b + k..]);
        dispatch_any!(x.dtype(), T => {
            let s = sl::<T>(x)?;
            let mut v = Vec::with_capacity(offs.len() * block);
            for &o in &offs {
                v.extend_from_slice(&s[o..o + block]);
            }
            output(mk::<T>(shape.clone(), v)?)
        })
    })
}

fn scatter_nd(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let red = reduction(ctx)?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let idx = input(inp, 1)?;
        let upd = input(inp, 2)?;
        let (offs, block, k) = nd_offsets(x, idx, 0)?;
        let mut want = idx.shape()[..idx.rank() - 1].to_vec();
        want.extend_from_slice(&x.shape()[k..]);
        if upd.shape() != want.as_slice() {
            bail!(ShapeMismatch, "ScatterND updates {:?} must have shape {want:?}", upd.shape());
        }
        output(scatter_dispatch(x, upd, &offs, block, red)?)
    })
}

enum SliceSrc {
    Attrs(Vec<i64>, Vec<i64>, Option<Vec<i64>>),
    Inputs,
}

fn slice(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let src = if node.opset < 10 {
        let s = node.attr_ints("starts")?.ok_or_else(|| node.unsupported("Slice needs 'starts'"))?;
        let e = node.attr_ints("ends")?.ok_or_else(|| node.unsupported("Slice needs 'ends'"))?;
        SliceSrc::Attrs(s, e, node.attr_ints("axes")?)
    } else {
        SliceSrc::Inputs
    };
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let t = match &src {
            SliceSrc::Attrs(s, e, a) => slice_tensor(x, s, e, a.as_deref(), None)?,
            SliceSrc::Inputs => {
                let s = ints(input(inp, 1)?)?;
                let e = ints(input(inp, 2)?)?;
                let a = opt_input(inp, 3)?.map(ints).transpose()?;
                let st = opt_input(inp, 4)?.map(ints).transpose()?;
                slice_tensor(x, &s, &e, a.as_deref(), st.as_deref())?
            }
        };
        output(t)
    })
}

/// ONNX Slice semantics (clamping, negative steps).
pub(crate) fn slice_tensor(
    x: &Tensor,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<Tensor> {
    let n = starts.len();
    if ends.len() != n || axes.is_some_and(|a| a.len() != n) || steps.is_some_and(|s| s.len() != n) {
        bail!(InvalidArgument, "Slice starts/ends/axes/steps must have one length");
    }
    let shape = x.shape();
    let r = shape.len();
    let st = ronn_core::strides_of(shape);
    let mut out: Vec<usize> = shape.to_vec();
    let mut strides: Vec<isize> = st.iter().map(|&s| s as isize).collect();
    let mut offset: isize = 0;
    let mut seen = vec![false; r];
    for i in 0..n {
        let ax = match axes {
            Some(a) => axis(a[i], r)?,
            None => {
                if i >= r {
                    bail!(InvalidArgument, "Slice has more starts than input dims");
                }
                i
            }
        };
        if seen[ax] {
            bail!(InvalidArgument, "Slice axes repeat axis {ax}");
        }
        seen[ax] = true;
        let step = steps.map(|s| s[i]).unwrap_or(1);
        if step == 0 {
            bail!(InvalidArgument, "Slice step must not be 0");
        }
        let d = shape[ax] as i64;
        let fix = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
        let (s, e) = (fix(starts[i]), fix(ends[i]));
        let (s, e) = if step > 0 { (s.clamp(0, d), e.clamp(0, d)) } else { (s.clamp(0, d - 1), e.clamp(-1, d - 1)) };
        let len = if step > 0 {
            if e > s {
                ((e - s) + step - 1) / step
            } else {
                0
            }
        } else if s > e {
            ((s - e) + (-step) - 1) / (-step)
        } else {
            0
        };
        out[ax] = len as usize;
        if len > 0 {
            offset += s as isize * st[ax] as isize;
        }
        strides[ax] = st[ax] as isize * step as isize;
    }
    if out.as_slice() == shape {
        return Ok(x.clone());
    }
    if out.iter().any(|&d| d == 0) {
        return Tensor::zeros(x.dtype(), out);
    }
    strided_tensor(x, offset, &out, &strides)
}

fn compress(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_i("axis")?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let c = input(inp, 1)?;
        let cond: Vec<bool> = match c.dtype() {
            DType::Bool => c.as_slice::<bool>()?.to_vec(),
            _ => c.to_f64_vec()?.iter().map(|&v| v != 0.0).collect(),
        };
        let (src, ax) = match a {
            Some(a) => (x.clone(), axis(a, x.rank())?),
            None => (x.clone().reshape(vec![x.len()])?, 0),
        };
        let dim = src.shape()[ax];
        if cond.len() > dim {
            bail!(ShapeMismatch, "Compress condition has {} entries for a dim of {dim}", cond.len());
        }
        let ids: Vec<i64> = cond.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| i as i64).collect();
        let it = Tensor::from_vec(vec![ids.len()], ids)?;
        output(gather_tensor(&src, &it, ax as i64)?)
    })
}

fn one_hot(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_i_or("axis", -1)?;
    kernel(move |_, inp| {
        let idx = input(inp, 0)?;
        let depth = input(inp, 1)?.to_f64_vec()?;
        let vals = input(inp, 2)?;
        let depth = *depth.first().ok_or_else(|| Error::InvalidArgument("OneHot depth is empty".into()))?;
        if depth < 1.0 {
            bail!(InvalidArgument, "OneHot depth {depth} must be positive");
        }
        let depth = depth as usize;
        if vals.len() != 2 {
            bail!(ShapeMismatch, "OneHot values must hold 2 elements, got {}", vals.len());
        }
        let r = idx.rank() + 1;
        let ax = axis(a, r)?;
        let ids: Vec<i64> = idx.to_f64_vec()?.iter().map(|&v| v as i64).collect();
        let outer: usize = idx.shape()[..ax].iter().product();
        let inner: usize = idx.shape()[ax..].iter().product();
        let mut shape = idx.shape().to_vec();
        shape.insert(ax, depth);
        dispatch_any!(vals.dtype(), T => {
            let v = sl::<T>(vals)?;
            let mut out = vec![v[0].clone(); outer * depth * inner];
            for o in 0..outer {
                for i in 0..inner {
                    let mut k = ids[o * inner + i];
                    if k < 0 {
                        k += depth as i64;
                    }
                    if k >= 0 && (k as usize) < depth {
                        out[(o * depth + k as usize) * inner + i] = v[1].clone();
                    }
                }
            }
            output(mk::<T>(shape.clone(), out)?)
        })
    })
}

fn trilu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let upper = ctx.node.attr_i_or("upper", 1)? != 0;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let k = match opt_input(inp, 1)? {
            Some(t) => *ints(t)?.first().ok_or_else(|| Error::InvalidArgument("Trilu k is empty".into()))?,
            None => 0,
        };
        if x.rank() < 2 {
            bail!(ShapeMismatch, "Trilu needs rank >= 2, got {:?}", x.shape());
        }
        let (n, m) = (x.shape()[x.rank() - 2], x.shape()[x.rank() - 1]);
        dispatch_any!(x.dtype(), T => {
            let mut v = sl::<T>(x)?.to_vec();
            if n * m > 0 {
                for mat in v.chunks_mut(n * m) {
                    for i in 0..n {
                        for j in 0..m {
                            let d = j as i64 - i as i64;
                            let keep = if upper { d >= k } else { d <= k };
                            if !keep {
                                mat[i * m + j] = T::default();
                            }
                        }
                    }
                }
            }
            output(mk::<T>(x.shape().to_vec(), v)?)
        })
    })
}

fn nonzero(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let x = input(inp, 0)?;
        let flat: Vec<usize> = ronn_core::dispatch_dtype!(x.dtype(), T => {
            let z = T::default();
            x.as_slice::<T>()?.iter().enumerate().filter(|(_, v)| **v != z).map(|(i, _)| i).collect()
        }, _ => match x.dtype() {
            DType::String => x.as_strings()?.iter().enumerate().filter(|(_, s)| !s.is_empty()).map(|(i, _)| i).collect(),
            d => bail!(TypeMismatch, "NonZero does not support {d}"),
        });
        let r = x.rank().max(1);
        let nz = flat.len();
        let mut out = vec![0i64; r * nz];
        let shape: Vec<usize> = if x.rank() == 0 { vec![1] } else { x.shape().to_vec() };
        for (c, &f) in flat.iter().enumerate() {
            let mut rem = f;
            for d in (0..r).rev() {
                out[d * nz + c] = (rem % shape[d]) as i64;
                rem /= shape[d];
            }
        }
        output(Tensor::from_vec(vec![r, nz], out)?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn iota(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::from_vec(shape.to_vec(), (0..n).map(|i| i as f32).collect()).unwrap()
    }
    fn i64t(shape: &[usize], v: &[i64]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }
    fn f(t: &Tensor) -> Vec<f32> {
        t.as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn gather_axes_and_negative_indices() {
        let n = Node::new("Gather", &["x", "i"], &["y"], 13).with_attr("axis", Attribute::Int(1));
        let y = &run_node(&n, vec![iota(&[2, 3]), i64t(&[2, 1], &[-1, 0])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 2, 1]);
        assert_eq!(f(y), vec![2., 0., 5., 3.]);
        assert!(run_node(&n, vec![iota(&[2, 3]), i64t(&[1], &[3])]).is_err());
        let n0 = Node::new("Gather", &["x", "i"], &["y"], 13);
        let y = &run_node(&n0, vec![i64t(&[3], &[7, 8, 9]), i64t(&[], &[2])]).unwrap()[0];
        assert_eq!(y.shape(), &[] as &[usize]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[9]);
    }

    #[test]
    fn gather_scatter_elements() {
        let n = Node::new("GatherElements", &["x", "i"], &["y"], 13).with_attr("axis", Attribute::Int(1));
        let y = &run_node(&n, vec![iota(&[2, 2]), i64t(&[2, 2], &[0, 0, 1, -2])]).unwrap()[0];
        assert_eq!(f(y), vec![0., 0., 3., 2.]);
        let n = Node::new("ScatterElements", &["x", "i", "u"], &["y"], 18)
            .with_attr("axis", Attribute::Int(1))
            .with_attr("reduction", Attribute::String(b"add".to_vec()));
        let u = Tensor::from_vec(vec![1, 2], vec![1.1f32, 2.1]).unwrap();
        let y = &run_node(&n, vec![iota(&[1, 5]), i64t(&[1, 2], &[1, 1]), u]).unwrap()[0];
        crate::testing::assert_close(&f(y), &[0., 4.2, 2., 3., 4.]);
    }

    #[test]
    fn nd_ops() {
        let n = Node::new("GatherND", &["x", "i"], &["y"], 13).with_attr("batch_dims", Attribute::Int(1));
        let x = iota(&[2, 2, 2]);
        let y = &run_node(&n, vec![x, i64t(&[2, 1], &[1, 0])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 2]);
        assert_eq!(f(y), vec![2., 3., 4., 5.]);
        let n = Node::new("ScatterND", &["x", "i", "u"], &["y"], 13);
        let u = Tensor::from_vec(vec![2], vec![9f32, 10.]).unwrap();
        let y = &run_node(&n, vec![iota(&[4]), i64t(&[2, 1], &[3, 1]), u.clone()]).unwrap()[0];
        assert_eq!(f(y), vec![0., 10., 2., 9.]);
        assert!(run_node(&n, vec![iota(&[4]), i64t(&[2, 1], &[4, 1]), u]).is_err());
    }

    #[test]
    fn slice_clamps_and_steps() {
        let n = Node::new("Slice", &["x", "s", "e", "a", "t"], &["y"], 13);
        let y = &run_node(
            &n,
            vec![iota(&[2, 4]), i64t(&[1], &[-1]), i64t(&[1], &[-1000]), i64t(&[1], &[1]), i64t(&[1], &[-2])],
        )
        .unwrap()[0];
        assert_eq!(y.shape(), &[2, 2]);
        assert_eq!(f(y), vec![3., 1., 7., 5.]);
        let n3 = Node::new("Slice", &["x", "s", "e"], &["y"], 13);
        let y = &run_node(&n3, vec![iota(&[5]), i64t(&[1], &[1]), i64t(&[1], &[1000])]).unwrap()[0];
        assert_eq!(f(y), vec![1., 2., 3., 4.]);
        let y = &run_node(&n3, vec![iota(&[5]), i64t(&[1], &[10]), i64t(&[1], &[1000])]).unwrap()[0];
        assert_eq!(y.shape(), &[0]);
        let old = Node::new("Slice", &["x"], &["y"], 1)
            .with_attr("starts", Attribute::Ints(vec![1]))
            .with_attr("ends", Attribute::Ints(vec![3]))
            .with_attr("axes", Attribute::Ints(vec![1]));
        assert_eq!(f(&run_node(&old, vec![iota(&[2, 4])]).unwrap()[0]), vec![1., 2., 5., 6.]);
        let z = Node::new("Slice", &["x", "s", "e", "a", "t"], &["y"], 13);
        assert!(run_node(&z, vec![iota(&[3]), i64t(&[1], &[0]), i64t(&[1], &[2]), i64t(&[1], &[0]), i64t(&[1], &[0])])
            .is_err());
    }

    #[test]
    fn misc_ops() {
        let n = Node::new("Compress", &["x", "c"], &["y"], 13).with_attr("axis", Attribute::Int(0));
        let c = Tensor::from_vec(vec![2], vec![false, true]).unwrap();
        assert_eq!(f(&run_node(&n, vec![iota(&[3, 2]), c]).unwrap()[0]), vec![2., 3.]);
        let n = Node::new("OneHot", &["i", "d", "v"], &["y"], 11);
        let v = Tensor::from_vec(vec![2], vec![0f32, 1.]).unwrap();
        let y = &run_node(&n, vec![i64t(&[2], &[-1, 5]), i64t(&[], &[3]), v]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(f(y), vec![0., 0., 1., 0., 0., 0.]);
        let n = Node::new("Trilu", &["x", "k"], &["y"], 14).with_attr("upper", Attribute::Int(0));
        let y = &run_node(&n, vec![iota(&[2, 3]), i64t(&[], &[0])]).unwrap()[0];
        assert_eq!(f(y), vec![0., 0., 0., 3., 4., 0.]);
        let n = Node::new("NonZero", &["x"], &["y"], 13);
        let y = &run_node(&n, vec![iota(&[2, 2])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1, 1, 1, 0, 1]);
    }

    #[test]
    fn reverse_sequence_and_unique() {
        let n = Node::new("ReverseSequence", &["x", "l"], &["y"], 10);
        // time-major [3 time, 2 batch], lens [3, 1]
        let y = &run_node(&n, vec![iota(&[3, 2]), i64t(&[2], &[3, 1])]).unwrap()[0];
        assert_eq!(f(y), vec![4., 1., 2., 3., 0., 5.]);
        assert!(run_node(&n, vec![iota(&[3, 2]), i64t(&[2], &[4, 1])]).is_err());
        let n = Node::new("Unique", &["x"], &["y", "i", "v", "c"], 11).with_attr("sorted", Attribute::Int(0));
        let x = Tensor::from_vec(vec![6], vec![2f32, 1., 1., 3., 4., 3.]).unwrap();
        let ys = run_node(&n, vec![x.clone()]).unwrap();
        assert_eq!(f(&ys[0]), vec![2., 1., 3., 4.]);
        assert_eq!(ys[1].as_slice::<i64>().unwrap(), &[0, 1, 3, 4]);
        assert_eq!(ys[2].as_slice::<i64>().unwrap(), &[0, 1, 1, 2, 3, 2]);
        assert_eq!(ys[3].as_slice::<i64>().unwrap(), &[1, 2, 2, 1]);
        let n = Node::new("Unique", &["x"], &["y", "i", "v", "c"], 11);
        let ys = run_node(&n, vec![x]).unwrap();
        assert_eq!(f(&ys[0]), vec![1., 2., 3., 4.]);
        assert_eq!(ys[1].as_slice::<i64>().unwrap(), &[1, 0, 3, 4]);
        let n = Node::new("Unique", &["x"], &["y"], 11).with_attr("axis", Attribute::Int(0));
        let x = Tensor::from_vec(vec![3, 2], vec![1f32, 0., 0., 1., 1., 0.]).unwrap();
        assert_eq!(f(&run_node(&n, vec![x]).unwrap()[0]), vec![0., 1., 1., 0.]);
    }
}
