//! Pooling operators (<https://onnx.ai/onnx/operators/>): MaxPool, AveragePool,
//! LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool, MaxUnpool, MaxRoiPool.
//!
//! Windowed pools take 1 to 3 spatial dims (`kernel_shape`, `strides`, `pads`,
//! `dilations`, `auto_pad` NOTSET/SAME_UPPER/SAME_LOWER/VALID, `ceil_mode`).
//! Opset changes handled: MaxPool `storage_order` and the optional Indices output
//! (opset 8), `dilations`/`ceil_mode` (opsets 10/11 for MaxPool, 19 for
//! AveragePool dilations), int8/uint8 MaxPool (opset 12), AveragePool
//! `count_include_pad` (opset 7), LpPool `p` (a float at opset 1, an int later).
//! Window sizes follow the ONNX reference: in ceil mode a last window that would
//! start in the end padding is dropped, and with `count_include_pad` only the taps
//! inside the declared padding are counted.
//!
//! Types: MaxPool / GlobalMaxPool on every numeric type (f32, f64, f16, bf16, int8,
//! uint8, ...); the averaging pools on f32, f64, f16, bf16 (f16/bf16 in f32). Planes
//! (N x C) run in parallel for large inputs.

mod flat;

use crate::helpers::{input, ints_of, kernel, opt_input, output, outputs};
use crate::softmax::{check_float, Load, Real, PAR_THRESHOLD};
use flat::{FlatPool, Fold2d, MaxFold, SumFold};
use rayon::prelude::*;
use ronn_core::{DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry, Node};

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("MaxPool", |c| build_pool(c, Kind::Max));
    r.register_all("AveragePool", |c| build_pool(c, Kind::Avg));
    r.register_all("LpPool", |c| build_pool(c, Kind::Lp));
    r.register_all("GlobalMaxPool", |c| build_global(c, Kind::Max));
    r.register_all("GlobalAveragePool", |c| build_global(c, Kind::Avg));
    r.register_all("GlobalLpPool", |c| build_global(c, Kind::Lp));
    r.register_all("MaxUnpool", build_unpool);
    r.register_all("MaxRoiPool", build_max_roi_pool);
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Max,
    Avg,
    Lp,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

/// Planning-time attributes of a windowed pool.
#[derive(Clone, Debug)]
struct Attrs {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: Vec<usize>,
    auto_pad: AutoPad,
    ceil: bool,
}

fn positive(node: &Node, name: &str, v: Option<Vec<i64>>, n: usize) -> Result<Vec<usize>> {
    match v {
        None => Ok(vec![1; n]),
        Some(v) => {
            if v.len() != n {
                return Err(node.unsupported(format!("{name} has {} values, kernel_shape has {n}", v.len())));
            }
            if v.iter().any(|&x| x < 1) {
                return Err(node.unsupported(format!("{name} must be positive, got {v:?}")));
            }
            Ok(v.into_iter().map(|x| x as usize).collect())
        }
    }
}

fn parse_attrs(node: &Node) -> Result<Attrs> {
    let kernel =
        node.attr_ints("kernel_shape")?.ok_or_else(|| node.unsupported("missing required attribute kernel_shape"))?;
    let k = kernel.len();
    if k == 0 || k > 3 {
        return Err(node.unsupported(format!("{k} spatial dims (1 to 3 are supported)")));
    }
    let kernel = positive(node, "kernel_shape", Some(kernel), k)?;
    let strides = positive(node, "strides", node.attr_ints("strides")?, k)?;
    let dilations = positive(node, "dilations", node.attr_ints("dilations")?, k)?;
    let pads = match node.attr_ints("pads")? {
        None => vec![0; 2 * k],
        Some(p) => {
            if p.len() != 2 * k || p.iter().any(|&x| x < 0) {
                return Err(node.unsupported(format!("pads must be {} non-negative values, got {p:?}", 2 * k)));
            }
            p.into_iter().map(|x| x as usize).collect()
        }
    };
    let auto_pad = match node.attr_s_or("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" | "" => AutoPad::NotSet,
        "SAME_UPPER" => AutoPad::SameUpper,
        "SAME_LOWER" => AutoPad::SameLower,
        "VALID" => AutoPad::Valid,
        s => return Err(node.unsupported(format!("auto_pad {s}"))),
    };
    let ceil = match node.attr_i_or("ceil_mode", 0)? {
        0 => false,
        1 => true,
        v => return Err(node.unsupported(format!("ceil_mode must be 0 or 1, got {v}"))),
    };
    Ok(Attrs { kernel, strides, dilations, pads, auto_pad, ceil })
}

/// Geometry of one pool call, padded to 3 spatial dims (leading dims of size 1).
#[derive(Clone, Copy, Debug)]
struct Geo {
    ins: [usize; 3],
    outs: [usize; 3],
    k: [usize; 3],
    s: [usize; 3],
    d: [usize; 3],
    pb: [usize; 3],
    pe: [usize; 3],
}

#[allow(clippy::needless_range_loop)]
fn geometry(a: &Attrs, spatial: &[usize]) -> Result<Geo> {
    let n = a.kernel.len();
    if spatial.len() != n {
        return Err(Error::ShapeMismatch(format!("input has {} spatial dims, kernel_shape has {n}", spatial.len())));
    }
    let off = 3 - n;
    let mut g = Geo { ins: [1; 3], outs: [1; 3], k: [1; 3], s: [1; 3], d: [1; 3], pb: [0; 3], pe: [0; 3] };
    for i in 0..n {
        let (inp, k, s, d) = (spatial[i], a.kernel[i], a.strides[i], a.dilations[i]);
        let ext = (k - 1) * d + 1;
        let (out, pb, pe) = match a.auto_pad {
            AutoPad::NotSet => {
                let (pb, pe) = (a.pads[i], a.pads[n + i]);
                let span = inp + pb + pe;
                if span < ext {
                    return Err(Error::ShapeMismatch(format!(
                        "spatial dim {i}: window of {ext} does not fit padded size {span}"
                    )));
                }
                let mut out = if a.ceil { (span - ext).div_ceil(s) + 1 } else { (span - ext) / s + 1 };
                if a.ceil && (out - 1) * s >= inp + pb {
                    out -= 1;
                }
                (out, pb, pe)
            }
            AutoPad::Valid => {
                if inp < ext {
                    return Err(Error::ShapeMismatch(format!("spatial dim {i}: window of {ext} exceeds input {inp}")));
                }
                ((inp - ext) / s + 1, 0, 0)
            }
            AutoPad::SameUpper | AutoPad::SameLower => {
                let out = inp.div_ceil(s);
                let total = ((out.max(1) - 1) * s + ext).saturating_sub(inp);
                let small = total / 2;
                if a.auto_pad == AutoPad::SameUpper {
                    (out, small, total - small)
                } else {
                    (out, total - small, small)
                }
            }
        };
        let j = off + i;
        g.ins[j] = inp;
        g.outs[j] = out;
        g.k[j] = k;
        g.s[j] = s;
        g.d[j] = d;
        g.pb[j] = pb;
        g.pe[j] = pe;
    }
    Ok(g)
}

/// Per output index along one dim: the first input position (may be negative),
/// the range of taps that land inside the input, and the taps inside the padding.
#[derive(Clone, Copy)]
struct Span {
    start: i64,
    t0: usize,
    t1: usize,
    padded: usize,
}

fn spans(g: &Geo, dim: usize) -> Vec<Span> {
    let (inp, k, s, d) = (g.ins[dim] as i64, g.k[dim], g.s[dim] as i64, g.d[dim] as i64);
    let (pb, pe) = (g.pb[dim] as i64, g.pe[dim] as i64);
    (0..g.outs[dim])
        .map(|o| {
            let start = o as i64 * s - pb;
            let mut t0 = k;
            let mut t1 = 0;
            let mut padded = 0;
            for t in 0..k {
                let p = start + t as i64 * d;
                if p >= 0 && p < inp {
                    t0 = t0.min(t);
                    t1 = t + 1;
                }
                if p >= -pb && p < inp + pe {
                    padded += 1;
                }
            }
            if t0 >= t1 {
                t0 = 0;
                t1 = 0;
            }
            Span { start, t0, t1, padded }
        })
        .collect()
}

/// Runs `f(plane_in, plane_out)` over every (n, c) plane, in parallel when large.
fn for_planes<A: Sync, B: Send>(x: &[A], y: &mut [B], ip: usize, op: usize, f: impl Fn(&[A], &mut [B]) + Sync + Send) {
    for_planes_with(x, y, ip, op, || (), |_, a, b| f(a, b));
}

/// [`for_planes`] with a scratch value made by `init` once per task, not per plane.
fn for_planes_with<A: Sync, B: Send, S>(
    x: &[A],
    y: &mut [B],
    ip: usize,
    op: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, &[A], &mut [B]) + Sync + Send,
) {
    if ip == 0 || op == 0 {
        return;
    }
    if x.len() >= PAR_THRESHOLD && x.len() / ip > 1 {
        x.par_chunks(ip).zip(y.par_chunks_mut(op)).for_each_init(init, |s, (a, b)| f(s, a, b));
    } else {
        let mut s = init();
        x.chunks(ip).zip(y.chunks_mut(op)).for_each(|(a, b)| f(&mut s, a, b));
    }
}

/// `a > b` (a function so the bool instantiation of generic code reads plainly).
#[inline(always)]
fn gt<T: PartialOrd>(a: T, b: T) -> bool {
    a > b
}

/// Max pool of one plane without indices (the common case).
fn max_plane_fast<T: Element>(x: &[T], y: &mut [T], g: &Geo, sp: &[Vec<Span>; 3]) {
    let [_, ih, iw] = g.ins;
    let dw = g.d[2];
    let mut yi = y.iter_mut();
    for sd in &sp[0] {
        for sh in &sp[1] {
            for sw in &sp[2] {
                let mut best: Option<T> = None;
                if sw.t1 > sw.t0 {
                    let w0 = (sw.start + (sw.t0 * dw) as i64) as usize;
                    let w1 = (sw.start + ((sw.t1 - 1) * dw) as i64) as usize + 1;
                    for td in sd.t0..sd.t1 {
                        let pd = (sd.start + (td * g.d[0]) as i64) as usize;
                        for th in sh.t0..sh.t1 {
                            let ph = (sh.start + (th * g.d[1]) as i64) as usize;
                            let row = (pd * ih + ph) * iw;
                            if let Some(seg) = x.get(row + w0..row + w1) {
                                let mut m = best.unwrap_or(seg[0]);
                                for &v in seg.iter().step_by(dw) {
                                    m = if gt(v, m) { v } else { m };
                                }
                                best = Some(m);
                            }
                        }
                    }
                }
                if let Some(slot) = yi.next() {
                    *slot = best.unwrap_or_default();
                }
            }
        }
    }
}

/// Max pool of one plane; writes values and the plane-local argmax (row-major).
fn max_plane<T: Element>(x: &[T], y: &mut [T], idx: Option<&mut [usize]>, g: &Geo, sp: &[Vec<Span>; 3]) {
    let [_, ih, iw] = g.ins;
    let mut o = 0;
    let mut idx = idx;
    for sd in &sp[0] {
        for sh in &sp[1] {
            for sw in &sp[2] {
                let mut best: Option<(T, usize)> = None;
                for td in sd.t0..sd.t1 {
                    let pd = (sd.start + (td * g.d[0]) as i64) as usize;
                    for th in sh.t0..sh.t1 {
                        let ph = (sh.start + (th * g.d[1]) as i64) as usize;
                        let row = (pd * ih + ph) * iw;
                        for tw in sw.t0..sw.t1 {
                            let pw = (sw.start + (tw * g.d[2]) as i64) as usize;
                            let at = row + pw;
                            if let Some(&v) = x.get(at) {
                                if best.is_none_or(|(b, _)| gt(v, b)) {
                                    best = Some((v, at));
                                }
                            }
                        }
                    }
                }
                let (v, at) = best.unwrap_or((T::default(), 0));
                if let Some(slot) = y.get_mut(o) {
                    *slot = v;
                }
                if let Some(ix) = idx.as_deref_mut() {
                    if let Some(slot) = ix.get_mut(o) {
                        *slot = at;
                    }
                }
                o += 1;
            }
        }
    }
}

/// Average / Lp pool of one plane.
fn avg_plane<R: Real>(x: &[R], y: &mut [R], g: &Geo, sp: &[Vec<Span>; 3], kind: Kind, include_pad: bool, p: f64) {
    let [_, ih, iw] = g.ins;
    let mut o = 0;
    let p_r = R::of(p);
    let inv_p = R::of(1.0 / p);
    for sd in &sp[0] {
        for sh in &sp[1] {
            for sw in &sp[2] {
                let mut acc = R::zero();
                for td in sd.t0..sd.t1 {
                    let pd = (sd.start + (td * g.d[0]) as i64) as usize;
                    for th in sh.t0..sh.t1 {
                        let ph = (sh.start + (th * g.d[1]) as i64) as usize;
                        let row = (pd * ih + ph) * iw;
                        if kind == Kind::Avg && g.d[2] == 1 {
                            let a = row + (sw.start + sw.t0 as i64) as usize;
                            let b = row + (sw.start + sw.t1 as i64) as usize;
                            if let Some(s) = x.get(a..b.max(a)) {
                                acc = s.iter().fold(acc, |u, &v| u + v);
                            }
                            continue;
                        }
                        for tw in sw.t0..sw.t1 {
                            let pw = (sw.start + (tw * g.d[2]) as i64) as usize;
                            let v = x.get(row + pw).copied().unwrap_or(R::zero());
                            acc = match kind {
                                Kind::Lp if p == 2.0 => acc + v * v,
                                Kind::Lp if p == 1.0 => acc + v.abs(),
                                Kind::Lp => acc + v.abs().powf(p_r),
                                _ => acc + v,
                            };
                        }
                    }
                }
                let val = match kind {
                    Kind::Lp if p == 2.0 => acc.sqrt(),
                    Kind::Lp if p == 1.0 => acc,
                    Kind::Lp => acc.powf(inv_p),
                    _ => {
                        let cnt = if include_pad {
                            sd.padded * sh.padded * sw.padded
                        } else {
                            (sd.t1 - sd.t0) * (sh.t1 - sh.t0) * (sw.t1 - sw.t0)
                        };
                        if cnt == 0 {
                            R::zero()
                        } else {
                            acc / R::of(cnt as f64)
                        }
                    }
                };
                if let Some(slot) = y.get_mut(o) {
                    *slot = val;
                }
                o += 1;
            }
        }
    }
}

fn build_pool(ctx: &BuildCtx, kind: Kind) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let a = parse_attrs(node)?;
    let storage_order = node.attr_i_or("storage_order", 0)?;
    if !(0..=1).contains(&storage_order) {
        return Err(node.unsupported(format!("storage_order must be 0 or 1, got {storage_order}")));
    }
    let include_pad = node.attr_i_or("count_include_pad", 0)? != 0;
    let p = if kind == Kind::Lp {
        match node.attr_i("p") {
            Ok(Some(v)) => v as f64,
            Ok(None) => 2.0,
            Err(_) => node.attr_f_or("p", 2.0)? as f64,
        }
    } else {
        2.0
    };
    if kind == Kind::Lp && p <= 0.0 {
        return Err(node.unsupported(format!("p must be positive, got {p}")));
    }
    let want_idx = kind == Kind::Max && node.outputs.get(1).is_some_and(|s| !s.is_empty());
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let shape = x.shape().to_vec();
        if shape.len() < 3 {
            return Err(Error::ShapeMismatch(format!("pool input must be N x C x spatial, got {shape:?}")));
        }
        let g = geometry(&a, &shape[2..])?;
        let sp = [spans(&g, 0), spans(&g, 1), spans(&g, 2)];
        let planes = shape[0] * shape[1];
        let ip: usize = g.ins.iter().product();
        let op: usize = g.outs.iter().product();
        let mut oshape = shape[..2].to_vec();
        oshape.extend_from_slice(&g.outs[3 - a.kernel.len()..]);
        if kind == Kind::Max {
            if x.dtype() == DType::String || x.dtype() == DType::Bool {
                return Err(Error::TypeMismatch(format!("MaxPool does not take {} tensors", x.dtype())));
            }
            if let Some(flat) = FlatPool::new(&g, &sp, None).filter(|_| !want_idx && x.dtype() == DType::Float32) {
                return flat_pool::<MaxFold>(&flat, x, planes, ip, op, oshape);
            }
            return ronn_core::dispatch_dtype!(x.dtype(), T => {
                let xv = x.as_slice::<T>()?;
                let mut y = vec![T::default(); planes * op];
                if !want_idx {
                    for_planes(xv, &mut y, ip, op, |xp, yp| max_plane_fast(xp, yp, &g, &sp));
                    return output(Tensor::from_vec(oshape, y)?);
                }
                let mut pairs: Vec<(T, usize)> = vec![(T::default(), 0); planes * op];
                for_planes(xv, &mut pairs, ip, op, |xp, pp| {
                    let mut yy = vec![T::default(); op];
                    let mut ii = vec![0usize; op];
                    max_plane(xp, &mut yy, Some(&mut ii), &g, &sp);
                    for ((slot, v), i) in pp.iter_mut().zip(yy).zip(ii) {
                        *slot = (v, i);
                    }
                });
                let [id, ih, iw] = g.ins;
                let mut ind = Vec::with_capacity(pairs.len());
                for (k, (v, at)) in pairs.into_iter().enumerate() {
                    y[k] = v;
                    let plane = (k / op.max(1)) * ip;
                    let local = if storage_order == 1 {
                        let (d, r) = (at / (ih * iw), at % (ih * iw));
                        let (h, w) = (r / iw, r % iw);
                        d + h * id + w * id * ih
                    } else {
                        at
                    };
                    ind.push((plane + local) as i64);
                }
                outputs(vec![Tensor::from_vec(oshape.clone(), y)?, Tensor::from_vec(oshape, ind)?])
            }, _ => Err(Error::TypeMismatch(format!("MaxPool does not take {} tensors", x.dtype()))));
        }
        check_float(x, "pool input")?;
        if kind == Kind::Avg && x.dtype() == DType::Float32 {
            if let Some(flat) = FlatPool::new(&g, &sp, Some(include_pad)) {
                return flat_pool::<SumFold>(&flat, x, planes, ip, op, oshape);
            }
        }
        if x.dtype() == DType::Float64 {
            let xv = f64::load(x)?;
            let mut y = vec![0f64; planes * op];
            for_planes(&xv, &mut y, ip, op, |xp, yp| avg_plane(xp, yp, &g, &sp, kind, include_pad, p));
            output(f64::store(x.dtype(), oshape, y)?)
        } else {
            let xv = f32::load(x)?;
            let mut y = vec![0f32; planes * op];
            for_planes(&xv, &mut y, ip, op, |xp, yp| avg_plane(xp, yp, &g, &sp, kind, include_pad, p));
            output(f32::store(x.dtype(), oshape, y)?)
        }
    })
}

/// An f32 max or average pool through [`FlatPool`], into the memory pool's buffer
/// (every output is written; a fresh one page-faults).
fn flat_pool<F: Fold2d>(
    flat: &FlatPool,
    x: &Tensor,
    planes: usize,
    ip: usize,
    op: usize,
    oshape: Vec<usize>,
) -> Result<Vec<ronn_core::Value>> {
    let mut y = ronn_core::pool::for_overwrite::<f32>(planes * op);
    let scratch = || flat.scratch::<F>();
    for_planes_with(x.as_slice::<f32>()?, &mut y, ip, op, scratch, |s, xp, yp| {
        ronn_core::simd::with_best_simd(
            #[inline(always)]
            || flat.plane::<F>(xp, yp, s),
        )
    });
    output(Tensor::from_vec(oshape, y)?)
}

// ---------------------------------------------------------------- global pools

fn build_global(ctx: &BuildCtx, kind: Kind) -> Result<Box<dyn Kernel>> {
    let p = if kind == Kind::Lp {
        match ctx.node.attr_i("p") {
            Ok(Some(v)) => v as f64,
            Ok(None) => 2.0,
            Err(_) => ctx.node.attr_f_or("p", 2.0)? as f64,
        }
    } else {
        2.0
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let shape = x.shape().to_vec();
        if shape.len() < 2 {
            return Err(Error::ShapeMismatch(format!("global pool input must be N x C x ..., got {shape:?}")));
        }
        let planes = shape[0] * shape[1];
        let s: usize = shape[2..].iter().product();
        let mut oshape = shape[..2].to_vec();
        oshape.extend(std::iter::repeat_n(1, shape.len() - 2));
        if kind == Kind::Max {
            if x.dtype() == DType::String || x.dtype() == DType::Bool {
                return Err(Error::TypeMismatch(format!("GlobalMaxPool does not take {} tensors", x.dtype())));
            }
            return ronn_core::dispatch_dtype!(x.dtype(), T => {
                let xv = x.as_slice::<T>()?;
                let mut y = vec![T::default(); planes];
                if s > 0 {
                    for (yv, c) in y.iter_mut().zip(xv.chunks(s)) {
                        let mut m = c.first().copied().unwrap_or_default();
                        for &v in c.iter().skip(1) {
                            if gt(v, m) {
                                m = v;
                            }
                        }
                        *yv = m;
                    }
                }
                output(Tensor::from_vec(oshape, y)?)
            }, _ => Err(Error::TypeMismatch(format!("GlobalMaxPool does not take {} tensors", x.dtype()))));
        }
        check_float(x, "global pool input")?;
        fn go<R: Load>(x: &Tensor, planes: usize, s: usize, kind: Kind, p: f64, oshape: Vec<usize>) -> Result<Tensor> {
            let xv = R::load(x)?;
            let mut y = vec![R::zero(); planes];
            if s > 0 {
                let f = |(yv, c): (&mut R, &[R])| {
                    *yv = if kind == Kind::Avg {
                        R::of(
                            ronn_core::simd::with_best_simd(
                                #[inline(always)]
                                || lane_sum(c),
                            ) / s as f64,
                        )
                    } else {
                        R::of(c.iter().map(|v| v.to64().abs().powf(p)).sum::<f64>().powf(1.0 / p))
                    };
                };
                if xv.len() >= PAR_THRESHOLD {
                    y.par_iter_mut().zip(xv.par_chunks(s)).for_each(f);
                } else {
                    y.iter_mut().zip(xv.chunks(s)).for_each(f);
                }
            }
            R::store(x.dtype(), oshape, y)
        }
        let t = if x.dtype() == DType::Float64 {
            go::<f64>(x, planes, s, kind, p, oshape)?
        } else {
            go::<f32>(x, planes, s, kind, p, oshape)?
        };
        output(t)
    })
}

/// Sum of `c` in f64, in 32 independent lanes (four AVX-512 vectors) so it
/// vectorizes and the adds do not wait on each other (a single running f64 sum
/// is one dependent add per element: EfficientNet's squeeze-excite
/// GlobalAveragePools took 1.4 ms of its 15).
#[inline(always)]
fn lane_sum<R: Real>(c: &[R]) -> f64 {
    let mut lanes = [0f64; 32];
    let chunks = c.chunks_exact(32);
    let tail: f64 = chunks.remainder().iter().map(|v| v.to64()).sum();
    for ch in chunks {
        for (l, v) in lanes.iter_mut().zip(ch) {
            *l += v.to64();
        }
    }
    lanes.iter().sum::<f64>() + tail
}

// ---------------------------------------------------------------- MaxUnpool

fn build_unpool(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let kernel_shape =
        node.attr_ints("kernel_shape")?.ok_or_else(|| node.unsupported("missing required attribute kernel_shape"))?;
    let n = kernel_shape.len();
    let ks = positive(node, "kernel_shape", Some(kernel_shape), n)?;
    let strides = positive(node, "strides", node.attr_ints("strides")?, n)?;
    let pads = match node.attr_ints("pads")? {
        None => vec![0; 2 * n],
        Some(p) if p.len() == 2 * n && p.iter().all(|&v| v >= 0) => p.into_iter().map(|v| v as usize).collect(),
        Some(p) => return Err(node.unsupported(format!("pads must be {} non-negative values, got {p:?}", 2 * n))),
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let ind = input(inputs, 1)?;
        let shape = x.shape().to_vec();
        if shape.len() != n + 2 {
            return Err(Error::ShapeMismatch(format!("X must have {} dims, got {shape:?}", n + 2)));
        }
        if ind.shape() != x.shape() {
            return Err(Error::ShapeMismatch(format!("I has shape {:?}, X has {shape:?}", ind.shape())));
        }
        let mut inferred = shape[..2].to_vec();
        for i in 0..n {
            let v = ((shape[i + 2].max(1) - 1) * strides[i] + ks[i]).checked_sub(pads[i] + pads[n + i]);
            inferred.push(v.ok_or_else(|| Error::ShapeMismatch("pads exceed the unpooled size".into()))?);
        }
        let oshape = match opt_input(inputs, 2)? {
            Some(t) => {
                let v = ints_of(t)?;
                if v.len() != n + 2 || v.iter().any(|&d| d < 0) {
                    return Err(Error::ShapeMismatch(format!(
                        "output_shape {v:?} must have {} non-negative dims",
                        n + 2
                    )));
                }
                v.into_iter().map(|d| d as usize).collect::<Vec<_>>()
            }
            None => inferred.clone(),
        };
        let idx = ints_of(ind)?;
        let total: usize = inferred.iter().product();
        if x.dtype() == DType::String {
            return Err(Error::TypeMismatch("MaxUnpool does not take string tensors".into()));
        }
        ronn_core::dispatch_dtype!(x.dtype(), T => {
            let xv = x.as_slice::<T>()?;
            let mut y = vec![T::default(); total];
            for (&v, &i) in xv.iter().zip(&idx) {
                let slot = usize::try_from(i).ok().and_then(|i| y.get_mut(i)).ok_or_else(|| {
                    Error::InvalidArgument(format!("index {i} is outside the output of {total} elements"))
                })?;
                *slot = v;
            }
            if oshape == inferred {
                return output(Tensor::from_vec(oshape, y)?);
            }
            // Place the inferred result in the top-left corner of the requested shape.
            let on: usize = oshape.iter().product();
            let mut out = vec![T::default(); on];
            let rank = inferred.len();
            let mut pos = vec![0usize; rank];
            for &v in &y {
                if pos.iter().zip(&oshape).all(|(p, d)| p < d) {
                    let mut o = 0;
                    for a in 0..rank {
                        o = o * oshape[a] + pos[a];
                    }
                    if let Some(s) = out.get_mut(o) {
                        *s = v;
                    }
                }
                for a in (0..rank).rev() {
                    pos[a] += 1;
                    if pos[a] < inferred[a] {
                        break;
                    }
                    pos[a] = 0;
                }
            }
            output(Tensor::from_vec(oshape, out)?)
        }, _ => Err(Error::TypeMismatch(format!("MaxUnpool does not take {} tensors", x.dtype()))))
    })
}

// ---------------------------------------------------------------- MaxRoiPool

fn build_max_roi_pool(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let pooled =
        node.attr_ints("pooled_shape")?.ok_or_else(|| node.unsupported("missing required attribute pooled_shape"))?;
    if pooled.len() != 2 || pooled.iter().any(|&v| v < 1) {
        return Err(node.unsupported(format!("pooled_shape must be 2 positive values, got {pooled:?}")));
    }
    let (ph_n, pw_n) = (pooled[0] as usize, pooled[1] as usize);
    let scale = node.attr_f_or("spatial_scale", 1.0)?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let rois = input(inputs, 1)?;
        check_float(x, "X")?;
        let shape = x.shape().to_vec();
        if shape.len() != 4 {
            return Err(Error::ShapeMismatch(format!("MaxRoiPool input must be N x C x H x W, got {shape:?}")));
        }
        if rois.rank() != 2 || rois.shape()[1] != 5 {
            return Err(Error::ShapeMismatch(format!("rois must be num_rois x 5, got {:?}", rois.shape())));
        }
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
        let r = rois.load_rois()?;
        fn go<R: Load>(x: &Tensor, r: &[f64], dims: [usize; 4], pooled: [usize; 2], scale: f32) -> Result<Tensor> {
            let [n, c, h, w] = dims;
            let [ph_n, pw_n] = pooled;
            let xv = R::load(x)?;
            let nr = r.len() / 5;
            let mut y = vec![R::zero(); nr * c * ph_n * pw_n];
            for (ri, roi) in r.chunks(5).enumerate() {
                let b = roi[0];
                if !(b >= 0.0 && (b as usize) < n) {
                    return Err(Error::InvalidArgument(format!("roi {ri} has batch index {b}, batch size is {n}")));
                }
                let b = b as usize;
                let s = scale as f64;
                let (x1, y1) = ((roi[1] * s).round() as i64, (roi[2] * s).round() as i64);
                let (x2, y2) = ((roi[3] * s).round() as i64, (roi[4] * s).round() as i64);
                let rh = (y2 - y1 + 1).max(1) as f64;
                let rw = (x2 - x1 + 1).max(1) as f64;
                let bh = rh / ph_n as f64;
                let bw = rw / pw_n as f64;
                for ch in 0..c {
                    let plane = (b * c + ch) * h * w;
                    for ph in 0..ph_n {
                        let hs = ((ph as f64 * bh).floor() as i64 + y1).clamp(0, h as i64) as usize;
                        let he = (((ph + 1) as f64 * bh).ceil() as i64 + y1).clamp(0, h as i64) as usize;
                        for pw in 0..pw_n {
                            let ws = ((pw as f64 * bw).floor() as i64 + x1).clamp(0, w as i64) as usize;
                            let we = (((pw + 1) as f64 * bw).ceil() as i64 + x1).clamp(0, w as i64) as usize;
                            let mut m = R::neg_infinity();
                            let mut any = false;
                            for hh in hs..he {
                                if let Some(seg) = xv.get(plane + hh * w + ws..plane + hh * w + we.max(ws)) {
                                    for &v in seg {
                                        any = true;
                                        if v > m {
                                            m = v;
                                        }
                                    }
                                }
                            }
                            let o = ((ri * c + ch) * ph_n + ph) * pw_n + pw;
                            if let Some(slot) = y.get_mut(o) {
                                *slot = if any { m } else { R::zero() };
                            }
                        }
                    }
                }
            }
            R::store(x.dtype(), vec![nr, c, ph_n, pw_n], y)
        }
        let t = if x.dtype() == DType::Float64 {
            go::<f64>(x, &r, [n, c, h, w], [ph_n, pw_n], scale)?
        } else {
            go::<f32>(x, &r, [n, c, h, w], [ph_n, pw_n], scale)?
        };
        output(t)
    })
}

/// Reads a rois tensor as f64 values.
trait LoadRois {
    fn load_rois(&self) -> Result<Vec<f64>>;
}

impl LoadRois for Tensor {
    fn load_rois(&self) -> Result<Vec<f64>> {
        check_float(self, "rois")?;
        self.to_f64_vec()
    }
}

#[cfg(test)]
mod tests;
