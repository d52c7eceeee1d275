//! Normalization operators (<https://onnx.ai/onnx/operators/>):
//! BatchNormalization, InstanceNormalization, LayerNormalization,
//! GroupNormalization, LpNormalization, MeanVarianceNormalization, LRN,
//! RMSNormalization.
//!
//! Opset changes handled:
//! - BatchNormalization: `spatial` (opsets 6-8; `spatial=0` takes per-element
//!   statistics of shape C x D1 x ...), `is_test`/`consumed_inputs` ignored,
//!   `training_mode=1` (opset 14+) normalizes with batch statistics and returns
//!   the running mean and variance as outputs 1 and 2.
//! - GroupNormalization: scale/bias per group (opset 18) or per channel (opset 21);
//!   the length of `scale` decides.
//! - LayerNormalization (opset 17): optional Mean and InvStdDev outputs; `stash_type`
//!   is accepted (statistics are always accumulated in f64).
//! - RMSNormalization (opset 23).
//!
//! Types: f32, f64, f16, bf16 (f16/bf16 compute in f32). LayerNormalization and
//! RMSNormalization over trailing axes run rows in parallel for large inputs.

use crate::helpers::{input, kernel, opt_input, output, outputs};
use crate::softmax::{check_float, Load, Real, PAR_THRESHOLD};
use num_traits::Zero;
use rayon::prelude::*;
use ronn_core::{normalize_axis, DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("BatchNormalization", build_batchnorm);
    r.register_all("InstanceNormalization", build_instancenorm);
    r.register_all("LayerNormalization", build_layernorm);
    r.register_all("GroupNormalization", build_groupnorm);
    r.register_all("LpNormalization", build_lpnorm);
    r.register_all("MeanVarianceNormalization", build_mvn);
    r.register_all("LRN", build_lrn);
    r.register_all("RMSNormalization", build_rmsnorm);
}

/// Runs `$body` with `$R` = f64 for f64 tensors, f32 otherwise.
macro_rules! by_real {
    ($t:expr, $R:ident => $body:expr) => {{
        if $t.dtype() == DType::Float64 {
            type $R = f64;
            $body
        } else {
            type $R = f32;
            $body
        }
    }};
}

/// Broadcasts `v` (shape `vs`) unidirectionally to `target` and returns the dense values.
fn expand_to<R: Copy>(v: &[R], vs: &[usize], target: &[usize], what: &str) -> Result<Vec<R>> {
    let n: usize = target.iter().product();
    if vs == target || (v.len() == n && vs.len() <= 1) {
        if v.len() != n {
            return Err(Error::ShapeMismatch(format!("{what}: expected {n} elements, got {}", v.len())));
        }
        return Ok(v.to_vec());
    }
    if vs.len() > target.len() {
        // Leading ones may be dropped.
        let extra = vs.len() - target.len();
        if vs[..extra].iter().all(|&d| d == 1) {
            return expand_to(v, &vs[extra..], target, what);
        }
        return Err(Error::ShapeMismatch(format!("{what}: shape {vs:?} does not broadcast to {target:?}")));
    }
    let off = target.len() - vs.len();
    let mut src_strides = vec![0usize; target.len()];
    let mut s = 1usize;
    for i in (0..vs.len()).rev() {
        let d = vs[i];
        if d != 1 && d != target[off + i] {
            return Err(Error::ShapeMismatch(format!("{what}: shape {vs:?} does not broadcast to {target:?}")));
        }
        src_strides[off + i] = if d == 1 { 0 } else { s };
        s *= d;
    }
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; target.len()];
    for _ in 0..n {
        let mut o = 0;
        for (i, &k) in idx.iter().enumerate() {
            o += k * src_strides[i];
        }
        out.push(*v.get(o).ok_or_else(|| Error::ShapeMismatch(format!("{what}: too few elements")))?);
        for a in (0..target.len()).rev() {
            idx[a] += 1;
            if idx[a] < target[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Ok(out)
}

/// Per-channel (or per-element) parameter vector of length `c`, checked.
fn param<R: Load>(t: &Tensor, len: usize, what: &str) -> Result<Vec<R>> {
    check_float(t, what)?;
    let v = R::load(t)?;
    if v.len() != len {
        return Err(Error::ShapeMismatch(format!("{what}: expected {len} elements, got shape {:?}", t.shape())));
    }
    Ok(v.into_owned())
}

// ---------------------------------------------------------------- row statistics

/// Sum of `f(x)` over a slice in f64 (8 independent lanes so the loop vectorizes).
#[inline]
fn sum64<R: Real>(x: &[R], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0f64; 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l += f(v.to64());
        }
    }
    let mut s = 0.0;
    for &v in it.remainder() {
        s += f(v.to64());
    }
    s + lanes.iter().sum::<f64>()
}

/// Mean and inverse standard deviation of a row (two passes, f64 accumulation).
#[inline]
fn row_stats<R: Real>(x: &[R], eps: f64, rms: bool) -> (f64, f64) {
    let n = x.len().max(1) as f64;
    if rms {
        let ss = sum64(x, |v| v * v);
        return (0.0, 1.0 / (ss / n + eps).sqrt());
    }
    let mean = sum64(x, |v| v) / n;
    let var = sum64(x, |v| (v - mean) * (v - mean)) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

/// Normalizes `rows` contiguous rows of length `d`: y = (x - mean) * inv * scale + bias.
/// Returns y and the per-row mean and inverse std.
fn rows_norm<R: Real>(
    x: &[R],
    d: usize,
    scale: &[R],
    bias: Option<&[R]>,
    eps: f64,
    rms: bool,
) -> (Vec<R>, Vec<R>, Vec<R>) {
    let rows = x.len().checked_div(d).unwrap_or(0);
    let mut y = ronn_core::pool::zeroed::<R>(x.len());
    let mut means = vec![R::zero(); rows];
    let mut invs = vec![R::zero(); rows];
    if d == 0 {
        return (y, means, invs);
    }
    type Item<'a, R> = ((&'a [R], &'a mut [R]), (&'a mut R, &'a mut R));
    let one = |((xr, yr), (m, iv)): Item<R>| {
        let (mean, inv) = row_stats(xr, eps, rms);
        let (mr, ir) = (R::of(mean), R::of(inv));
        *m = mr;
        *iv = ir;
        match bias {
            Some(b) => {
                for (((yv, &xv), &s), &bv) in yr.iter_mut().zip(xr).zip(scale).zip(b) {
                    *yv = (xv - mr) * ir * s + bv;
                }
            }
            None => {
                for ((yv, &xv), &s) in yr.iter_mut().zip(xr).zip(scale) {
                    *yv = (xv - mr) * ir * s;
                }
            }
        }
    };
    if x.len() >= PAR_THRESHOLD && rows > 1 {
        x.par_chunks(d)
            .zip(y.par_chunks_mut(d))
            .zip(means.par_iter_mut().zip(invs.par_iter_mut()))
            .with_min_len((4096 / d).max(1))
            .for_each(one);
    } else {
        x.chunks(d).zip(y.chunks_mut(d)).zip(means.iter_mut().zip(invs.iter_mut())).for_each(one);
    }
    (y, means, invs)
}

// ---------------------------------------------------------------- LayerNormalization / RMSNormalization

fn build_layernorm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    build_rownorm(ctx, false)
}

fn build_rmsnorm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    build_rownorm(ctx, true)
}

fn build_rownorm(ctx: &BuildCtx, rms: bool) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let axis = node.attr_i_or("axis", -1)?;
    let eps = node.attr_f_or("epsilon", 1e-5)? as f64;
    let stash = node.attr_i_or("stash_type", 1)?;
    if !matches!(stash, 1 | 11 | 10 | 16) {
        return Err(node.unsupported(format!("stash_type {stash} is not a float type")));
    }
    let n_out = node.outputs.len();
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        check_float(x, "X")?;
        let scale = input(inputs, 1)?;
        let bias = if rms { None } else { opt_input(inputs, 2)? };
        let shape = x.shape().to_vec();
        let rank = shape.len();
        let a = if rank == 0 { 0 } else { normalize_axis(axis, rank)? };
        let norm_shape = &shape[a.min(rank)..];
        let d: usize = norm_shape.iter().product();
        let mut stat_shape = shape[..a.min(rank)].to_vec();
        stat_shape.extend(std::iter::repeat_n(1, rank - a.min(rank)));
        by_real!(x, R => {
            let xv = R::load(x)?;
            check_float(scale, "Scale")?;
            let sv = expand_to(&R::load(scale)?, scale.shape(), norm_shape, "Scale")?;
            let bv = match bias {
                Some(b) => {
                    check_float(b, "B")?;
                    Some(expand_to(&R::load(b)?, b.shape(), norm_shape, "B")?)
                }
                None => None,
            };
            let (y, m, iv) = rows_norm(&xv, d, &sv, bv.as_deref(), eps, rms);
            let yt = R::store(x.dtype(), shape.clone(), y)?;
            if n_out <= 1 || rms {
                return output(yt);
            }
            let sdt = if x.dtype() == DType::Float64 { DType::Float64 } else if x.dtype() == DType::Float32 || stash == 1 { DType::Float32 } else { x.dtype() };
            outputs(vec![yt, R::store(sdt, stat_shape.clone(), m)?, R::store(sdt, stat_shape.clone(), iv)?])
        })
    })
}

// ---------------------------------------------------------------- Instance / Group normalization

/// x viewed as [n, g, blk]: normalizes each (n, g) block; then applies per-channel
/// scale/bias where each group holds `blk / s` channels of `s` elements.
fn group_norm<R: Real>(x: &[R], groups: usize, blk: usize, s: usize, scale: &[R], bias: &[R], eps: f64) -> Vec<R> {
    let mut y = ronn_core::pool::zeroed::<R>(x.len());
    if blk == 0 || s == 0 {
        return y;
    }
    let cpg = blk / s;
    let one = |(i, (xb, yb)): (usize, (&[R], &mut [R]))| {
        let g = i % groups.max(1);
        let (mean, inv) = row_stats(xb, eps, false);
        let (mr, ir) = (R::of(mean), R::of(inv));
        for (k, (xc, yc)) in xb.chunks(s).zip(yb.chunks_mut(s)).enumerate() {
            let c = g * cpg + k;
            let (sc, bc) = (scale.get(c).copied().unwrap_or(R::one()), bias.get(c).copied().unwrap_or(R::zero()));
            let a = ir * sc;
            for (yv, &xv) in yc.iter_mut().zip(xc) {
                *yv = (xv - mr) * a + bc;
            }
        }
    };
    if x.len() >= PAR_THRESHOLD {
        x.par_chunks(blk).zip(y.par_chunks_mut(blk)).enumerate().for_each(one);
    } else {
        x.chunks(blk).zip(y.chunks_mut(blk)).enumerate().for_each(one);
    }
    y
}

fn build_instancenorm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let eps = ctx.node.attr_f_or("epsilon", 1e-5)? as f64;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        check_float(x, "input")?;
        let shape = x.shape().to_vec();
        if shape.len() < 2 {
            return Err(Error::ShapeMismatch(format!("InstanceNormalization needs rank >= 2, got {shape:?}")));
        }
        let c = shape[1];
        let s: usize = shape[2..].iter().product();
        by_real!(x, R => {
            let sc = param::<R>(input(inputs, 1)?, c, "scale")?;
            let b = param::<R>(input(inputs, 2)?, c, "B")?;
            let y = group_norm(&R::load(x)?, c, s, s, &sc, &b, eps);
            output(R::store(x.dtype(), shape, y)?)
        })
    })
}

fn build_groupnorm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let eps = node.attr_f_or("epsilon", 1e-5)? as f64;
    let g = node.attr_i("num_groups")?.ok_or_else(|| node.unsupported("missing required attribute num_groups"))?;
    if g <= 0 {
        return Err(node.unsupported(format!("num_groups must be positive, got {g}")));
    }
    let g = g as usize;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        check_float(x, "X")?;
        let shape = x.shape().to_vec();
        if shape.len() < 2 {
            return Err(Error::ShapeMismatch(format!("GroupNormalization needs rank >= 2, got {shape:?}")));
        }
        let c = shape[1];
        if c % g != 0 {
            return Err(Error::InvalidArgument(format!("{c} channels do not split into {g} groups")));
        }
        let s: usize = shape[2..].iter().product();
        let cpg = c / g;
        by_real!(x, R => {
            let st = input(inputs, 1)?;
            let bt = input(inputs, 2)?;
            let (sc, b) = if st.len() == c && bt.len() == c {
                (param::<R>(st, c, "scale")?, param::<R>(bt, c, "bias")?)
            } else {
                // Opset 18: one value per group, repeated over its channels.
                let sg = param::<R>(st, g, "scale")?;
                let bg = param::<R>(bt, g, "bias")?;
                ((0..c).map(|k| sg[k / cpg]).collect(), (0..c).map(|k| bg[k / cpg]).collect())
            };
            let y = group_norm(&R::load(x)?, g, cpg * s, s, &sc, &b, eps);
            output(R::store(x.dtype(), shape, y)?)
        })
    })
}

// ---------------------------------------------------------------- BatchNormalization

fn build_batchnorm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let eps = node.attr_f_or("epsilon", 1e-5)? as f64;
    let momentum = node.attr_f_or("momentum", 0.9)? as f64;
    let training = node.opset >= 14 && node.attr_i_or("training_mode", 0)? != 0;
    let spatial = node.attr_i_or("spatial", 1)? != 0;
    let n_out = node.outputs.iter().filter(|o| !o.is_empty()).count();
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        check_float(x, "X")?;
        let shape = x.shape().to_vec();
        if shape.len() < 2 {
            return Err(Error::ShapeMismatch(format!("BatchNormalization needs rank >= 2, got {shape:?}")));
        }
        let (n, c) = (shape[0], shape[1]);
        let s: usize = shape[2..].iter().product();
        let plen = if !spatial && input(inputs, 1)?.len() == c * s && s > 1 { c * s } else { c };
        by_real!(x, R => {
            let xv = R::load(x)?;
            let sc = param::<R>(input(inputs, 1)?, plen, "scale")?;
            let b = param::<R>(input(inputs, 2)?, plen, "B")?;
            let mean_in = param::<R>(input(inputs, 3)?, plen, "input_mean")?;
            let var_in = param::<R>(input(inputs, 4)?, plen, "input_var")?;
            if training {
                // Batch statistics per channel over N and the spatial dims.
                let cnt = (n * s).max(1) as f64;
                let mut mean = vec![0f64; c];
                let mut var = vec![0f64; c];
                for (i, blk) in xv.chunks(s.max(1)).enumerate() {
                    if s == 0 { break; }
                    mean[i % c] += blk.iter().map(|v| v.to64()).sum::<f64>();
                }
                mean.iter_mut().for_each(|m| *m /= cnt);
                for (i, blk) in xv.chunks(s.max(1)).enumerate() {
                    if s == 0 { break; }
                    let m = mean[i % c];
                    var[i % c] += blk.iter().map(|v| { let d = v.to64() - m; d * d }).sum::<f64>();
                }
                var.iter_mut().for_each(|v| *v /= cnt);
                let mut y = vec![R::zero(); xv.len()];
                for (i, (xb, yb)) in xv.chunks(s.max(1)).zip(y.chunks_mut(s.max(1))).enumerate() {
                    if s == 0 { break; }
                    let k = i % c;
                    let a = sc[k].to64() / (var[k] + eps).sqrt();
                    let bb = b[k].to64() - mean[k] * a;
                    let (a, bb) = (R::of(a), R::of(bb));
                    yb.iter_mut().zip(xb).for_each(|(yv, &xv)| *yv = xv * a + bb);
                }
                let yt = R::store(x.dtype(), shape.clone(), y)?;
                if n_out <= 1 {
                    return output(yt);
                }
                let rm: Vec<R> = (0..c).map(|k| R::of(mean_in[k].to64() * momentum + mean[k] * (1.0 - momentum))).collect();
                let rv: Vec<R> = (0..c).map(|k| R::of(var_in[k].to64() * momentum + var[k] * (1.0 - momentum))).collect();
                let mdt = input(inputs, 3)?.dtype();
                let vdt = input(inputs, 4)?.dtype();
                return outputs(vec![yt, R::store(mdt, vec![c], rm)?, R::store(vdt, vec![c], rv)?]);
            }
            let a: Vec<R> = (0..plen).map(|k| R::of(sc[k].to64() / (var_in[k].to64() + eps).sqrt())).collect();
            let bb: Vec<R> = (0..plen).map(|k| R::of(b[k].to64() - mean_in[k].to64() * a[k].to64())).collect();
            // Every element is written: the pool's buffer, not a fresh page-faulting one.
            let mut y = ronn_core::pool::for_overwrite::<R>(xv.len());
            let _ = n;
            if plen == c {
                let one = |(i, (xb, yb)): (usize, (&[R], &mut [R]))| {
                    let k = i % c;
                    let (ak, bk) = (a[k], bb[k]);
                    yb.iter_mut().zip(xb).for_each(|(yv, &xv)| *yv = xv * ak + bk);
                };
                if s > 0 {
                    if xv.len() >= PAR_THRESHOLD {
                        xv.par_chunks(s).zip(y.par_chunks_mut(s)).enumerate().for_each(one);
                    } else {
                        xv.chunks(s).zip(y.chunks_mut(s)).enumerate().for_each(one);
                    }
                }
            } else {
                for (xb, yb) in xv.chunks(plen).zip(y.chunks_mut(plen)) {
                    for (((yv, &xv), &ak), &bk) in yb.iter_mut().zip(xb).zip(&a).zip(&bb) {
                        *yv = xv * ak + bk;
                    }
                }
            }
            output(R::store(x.dtype(), shape, y)?)
        })
    })
}

// ---------------------------------------------------------------- LpNormalization

fn build_lpnorm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let axis = node.attr_i_or("axis", -1)?;
    let p = node.attr_i_or("p", 2)?;
    if p != 1 && p != 2 {
        return Err(node.unsupported(format!("p must be 1 or 2, got {p}")));
    }
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        check_float(x, "input")?;
        let shape = x.shape().to_vec();
        let rank = shape.len();
        let (outer, n, inner) = if rank == 0 {
            (1, 1, 1)
        } else {
            let a = normalize_axis(axis, rank)?;
            (shape[..a].iter().product::<usize>(), shape[a], shape[a + 1..].iter().product::<usize>())
        };
        by_real!(x, R => {
            let xv = R::load(x)?;
            let mut y = vec![R::zero(); xv.len()];
            for o in 0..outer {
                for i in 0..inner {
                    let base = o * n * inner + i;
                    let mut acc = 0f64;
                    for k in 0..n {
                        let v = xv[base + k * inner].to64();
                        acc += if p == 1 { v.abs() } else { v * v };
                    }
                    let norm = if p == 1 { acc } else { acc.sqrt() };
                    for k in 0..n {
                        let idx = base + k * inner;
                        y[idx] = if norm == 0.0 { R::zero() } else { R::of(xv[idx].to64() / norm) };
                    }
                }
            }
            output(R::store(x.dtype(), shape, y)?)
        })
    })
}

// ---------------------------------------------------------------- MeanVarianceNormalization

fn build_mvn(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axes = ctx.node.attr_ints("axes")?.unwrap_or_else(|| vec![0, 2, 3]);
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        check_float(x, "X")?;
        let shape = x.shape().to_vec();
        let rank = shape.len();
        let mut red = vec![false; rank];
        for &a in &axes {
            red[normalize_axis(a, rank)?] = true;
        }
        // Group id of each element: its index over the kept axes.
        let total = x.len();
        let mut gid = Vec::with_capacity(total);
        let mut idx = vec![0usize; rank];
        let mut ngroups = 1usize;
        let mut kstride = vec![0usize; rank];
        for a in (0..rank).rev() {
            if !red[a] {
                kstride[a] = ngroups;
                ngroups *= shape[a];
            }
        }
        for _ in 0..total {
            gid.push(idx.iter().zip(&kstride).map(|(i, s)| i * s).sum::<usize>());
            for a in (0..rank).rev() {
                idx[a] += 1;
                if idx[a] < shape[a] {
                    break;
                }
                idx[a] = 0;
            }
        }
        by_real!(x, R => {
            let xv = R::load(x)?;
            let mut sum = vec![0f64; ngroups];
            let mut sq = vec![0f64; ngroups];
            let mut cnt = vec![0f64; ngroups];
            for (&g, &v) in gid.iter().zip(xv.iter()) {
                let v = v.to64();
                sum[g] += v;
                sq[g] += v * v;
                cnt[g] += 1.0;
            }
            let mean: Vec<f64> = sum.iter().zip(&cnt).map(|(s, c)| s / c.max(1.0)).collect();
            let sd: Vec<f64> = sq
                .iter()
                .zip(&cnt)
                .zip(&mean)
                .map(|((q, c), m)| (q / c.max(1.0) - m * m).max(0.0).sqrt() + 1e-9)
                .collect();
            let y: Vec<R> = gid.iter().zip(xv.iter()).map(|(&g, &v)| R::of((v.to64() - mean[g]) / sd[g])).collect();
            output(R::store(x.dtype(), shape, y)?)
        })
    })
}

// ---------------------------------------------------------------- LRN

fn build_lrn(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let alpha = node.attr_f_or("alpha", 1e-4)? as f64;
    let beta = node.attr_f_or("beta", 0.75)? as f64;
    let bias = node.attr_f_or("bias", 1.0)? as f64;
    let size = node.attr_i("size")?.ok_or_else(|| node.unsupported("missing required attribute size"))?;
    if size <= 0 {
        return Err(node.unsupported(format!("size must be positive, got {size}")));
    }
    let size = size as usize;
    let c1 = (size - 1) / 2;
    let c2 = size - 1 - c1; // ceil((size-1)/2)
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        check_float(x, "X")?;
        let shape = x.shape().to_vec();
        if shape.len() < 2 {
            return Err(Error::ShapeMismatch(format!("LRN needs rank >= 2, got {shape:?}")));
        }
        let c = shape[1];
        let s: usize = shape[2..].iter().product();
        by_real!(x, R => {
            let xv = R::load(x)?;
            let mut y = vec![R::zero(); xv.len()];
            let plane = c * s;
            if plane > 0 {
                let mut acc = vec![0f64; s];
                for (xb, yb) in xv.chunks(plane).zip(y.chunks_mut(plane)) {
                    for ch in 0..c {
                        acc.iter_mut().for_each(|a| *a = 0.0);
                        let lo = ch.saturating_sub(c1);
                        let hi = (ch + c2).min(c - 1);
                        for k in lo..=hi {
                            for (a, &v) in acc.iter_mut().zip(&xb[k * s..(k + 1) * s]) {
                                let v = v.to64();
                                *a += v * v;
                            }
                        }
                        for ((yv, &xv), &a) in yb[ch * s..(ch + 1) * s].iter_mut().zip(&xb[ch * s..(ch + 1) * s]).zip(&acc) {
                            *yv = R::of(xv.to64() / (bias + alpha / size as f64 * a).powf(beta));
                        }
                    }
                }
            }
            output(R::store(x.dtype(), shape, y)?)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, run_node};
    use ronn_ir::{Attribute, Node};

    fn t(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }
    fn f(t: &Tensor) -> &[f32] {
        t.as_slice::<f32>().unwrap()
    }

    #[test]
    fn layernorm_last_axis_with_stats() {
        let n = Node::new("LayerNormalization", &["x", "s", "b"], &["y", "m", "i"], 17);
        let x = t(vec![2, 3], vec![1., 2., 3., 2., 4., 9.]);
        let y = run_node(&n, vec![x, t(vec![3], vec![1., 2., 1.]), t(vec![3], vec![0., 0., 1.])]).unwrap();
        // numpy: (x-mean)/sqrt(var+1e-5)*s+b
        assert_close(f(&y[0]), &[-1.2247357, 0.0, 2.2247357, -1.0190487, -0.6793658, 2.3587317]);
        assert_close(f(&y[1]), &[2.0, 5.0]);
        assert_close(f(&y[2]), &[1.2247357, 0.3396829]);
        assert_eq!(y[1].shape(), &[2, 1]);
    }

    #[test]
    fn layernorm_axis0_broadcast_scale_and_no_bias() {
        let n = Node::new("LayerNormalization", &["x", "s"], &["y"], 17).with_attr("axis", Attribute::Int(0));
        let x = t(vec![2, 2], vec![1., 2., 3., 4.]);
        let y = run_node(&n, vec![x, t(vec![2], vec![1., 2.])]).unwrap();
        // normalized over all 4: mean 2.5, std sqrt(1.25+1e-5); scale [1,2] per column.
        assert_close(f(&y[0]), &[-1.3416355, -0.8944237, 0.4472118, 2.683271]);
        assert_eq!(y.len(), 1);
    }

    #[test]
    fn layernorm_errors() {
        let n = Node::new("LayerNormalization", &["x", "s"], &["y"], 17);
        assert!(run_node(&n, vec![t(vec![2, 3], vec![0.; 6]), t(vec![2], vec![1., 1.])]).is_err());
        let xi = Tensor::from_vec(vec![2], vec![1i32, 2]).unwrap();
        assert!(run_node(&n, vec![xi, t(vec![2], vec![1., 1.])]).is_err());
        let n2 = n.clone().with_attr("axis", Attribute::Int(3));
        assert!(run_node(&n2, vec![t(vec![2, 3], vec![0.; 6]), t(vec![3], vec![1.; 3])]).is_err());
    }

    #[test]
    fn layernorm_large_parallel_f64() {
        let rows = 200;
        let d = 400;
        let v: Vec<f64> = (0..rows * d).map(|i| ((i * 31) % 97) as f64 / 10.0).collect();
        let n = Node::new("LayerNormalization", &["x", "s"], &["y"], 17);
        let y = run_node(
            &n,
            vec![
                Tensor::from_vec(vec![rows, d], v.clone()).unwrap(),
                Tensor::from_vec(vec![d], vec![1f64; d]).unwrap(),
            ],
        )
        .unwrap();
        let y = y[0].as_slice::<f64>().unwrap();
        let r = 123;
        let row = &v[r * d..(r + 1) * d];
        let m = row.iter().sum::<f64>() / d as f64;
        let var = row.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / d as f64;
        for j in 0..d {
            assert!((y[r * d + j] - (row[j] - m) / (var + 1e-5).sqrt()).abs() < 1e-9);
        }
    }

    #[test]
    fn rmsnorm() {
        let n = Node::new("RMSNormalization", &["x", "s"], &["y"], 23);
        let y = run_node(&n, vec![t(vec![1, 2], vec![3., 4.]), t(vec![2], vec![1., 2.])]).unwrap();
        // rms = sqrt(12.5 + 1e-5)
        assert_close(f(&y[0]), &[0.8485278, 2.2627409]);
    }

    #[test]
    fn batchnorm_inference_and_old_opset() {
        for opset in [6, 9, 15] {
            let n = Node::new("BatchNormalization", &["x", "s", "b", "m", "v"], &["y"], opset);
            let x = t(vec![1, 2, 1, 2], vec![1., 2., 3., 4.]);
            let y = run_node(
                &n,
                vec![
                    x,
                    t(vec![2], vec![1., 2.]),
                    t(vec![2], vec![0., 1.]),
                    t(vec![2], vec![1., 2.]),
                    t(vec![2], vec![1., 4.]),
                ],
            )
            .unwrap();
            // c0: (x-1)/sqrt(1+1e-5); c1: 2*(x-2)/sqrt(4+1e-5)+1
            assert_close(f(&y[0]), &[0.0, 0.999995, 1.9999975, 2.9999938]);
        }
    }

    #[test]
    fn batchnorm_training_outputs_running_stats() {
        let n = Node::new("BatchNormalization", &["x", "s", "b", "m", "v"], &["y", "rm", "rv"], 15)
            .with_attr("training_mode", Attribute::Int(1));
        let x = t(vec![2, 1, 2], vec![1., 2., 3., 6.]);
        let y = run_node(
            &n,
            vec![x, t(vec![1], vec![1.]), t(vec![1], vec![0.]), t(vec![1], vec![0.]), t(vec![1], vec![1.])],
        )
        .unwrap();
        // batch mean 3, var 3.5
        let sd = (3.5f32 + 1e-5).sqrt();
        assert_close(f(&y[0]), &[-2. / sd, -1. / sd, 0.0, 3. / sd]);
        assert_close(f(&y[1]), &[0.3]);
        assert_close(f(&y[2]), &[0.9 + 0.35]);
    }

    #[test]
    fn batchnorm_bad_param_shape() {
        let n = Node::new("BatchNormalization", &["x", "s", "b", "m", "v"], &["y"], 15);
        let x = t(vec![1, 2, 2], vec![1., 2., 3., 4.]);
        let p3 = || t(vec![3], vec![1.; 3]);
        assert!(run_node(&n, vec![x, p3(), p3(), p3(), p3()]).is_err());
    }

    #[test]
    fn instancenorm_and_groupnorm() {
        let x = t(vec![1, 2, 2], vec![1., 3., 2., 6.]);
        let n = Node::new("InstanceNormalization", &["x", "s", "b"], &["y"], 6);
        let y = run_node(&n, vec![x.clone(), t(vec![2], vec![1., 2.]), t(vec![2], vec![0., 1.])]).unwrap();
        let a = 1.0 / (1.0f32 + 1e-5).sqrt();
        let b = 4.0 / (4.0f32 + 1e-5).sqrt();
        assert_close(f(&y[0]), &[-a, a, -b + 1., b + 1.]);
        // GroupNorm with 2 groups of 1 channel is InstanceNorm (opset 21 per-channel scale).
        let g =
            Node::new("GroupNormalization", &["x", "s", "b"], &["y"], 21).with_attr("num_groups", Attribute::Int(2));
        let y2 = run_node(&g, vec![x.clone(), t(vec![2], vec![1., 2.]), t(vec![2], vec![0., 1.])]).unwrap();
        assert_close(f(&y2[0]), f(&y[0]));
        // One group over both channels, opset 18 per-group scale.
        let g1 =
            Node::new("GroupNormalization", &["x", "s", "b"], &["y"], 18).with_attr("num_groups", Attribute::Int(1));
        let y3 = run_node(&g1, vec![x.clone(), t(vec![1], vec![1.]), t(vec![1], vec![0.])]).unwrap();
        // mean 3, var 3.5
        let sd = (3.5f32 + 1e-5).sqrt();
        assert_close(f(&y3[0]), &[-2. / sd, 0.0, -1. / sd, 3. / sd]);
        // 3 groups do not divide 2 channels.
        let g3 =
            Node::new("GroupNormalization", &["x", "s", "b"], &["y"], 21).with_attr("num_groups", Attribute::Int(3));
        assert!(run_node(&g3, vec![x, t(vec![2], vec![1.; 2]), t(vec![2], vec![0.; 2])]).is_err());
    }

    #[test]
    fn lpnorm_and_mvn_and_lrn() {
        let x = t(vec![2, 2], vec![3., -4., 0., 0.]);
        let n = Node::new("LpNormalization", &["x"], &["y"], 1);
        assert_close(f(&run_node(&n, vec![x.clone()]).unwrap()[0]), &[0.6, -0.8, 0., 0.]);
        let n1 = n.clone().with_attr("p", Attribute::Int(1)).with_attr("axis", Attribute::Int(0));
        assert_close(f(&run_node(&n1, vec![x.clone()]).unwrap()[0]), &[1., -1., 0., 0.]);
        let bad = n.with_attr("p", Attribute::Int(3));
        assert!(run_node(&bad, vec![x]).is_err());

        let m = Node::new("MeanVarianceNormalization", &["x"], &["y"], 13).with_attr("axes", Attribute::Ints(vec![1]));
        let y = run_node(&m, vec![t(vec![2, 2], vec![1., 3., 5., 5.])]).unwrap();
        assert_close(f(&y[0]), &[-1., 1., 0., 0.]);

        // LRN size 3 over 2 channels, 1 pixel: sum of squares over both channels.
        let l = Node::new("LRN", &["x"], &["y"], 13).with_attr("size", Attribute::Int(3));
        let y = run_node(&l, vec![t(vec![1, 2, 1, 1], vec![1., 2.])]).unwrap();
        let d = (1.0f32 + 1e-4 / 3.0 * 5.0).powf(0.75);
        assert_close(f(&y[0]), &[1. / d, 2. / d]);
        let l0 = Node::new("LRN", &["x"], &["y"], 13);
        assert!(run_node(&l0, vec![t(vec![1, 2, 1, 1], vec![1., 2.])]).is_err());
    }
}
