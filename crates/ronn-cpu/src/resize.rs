//! Resize (opsets 10, 11, 13, 18, 19) and Upsample (opsets 7-9).
//! See <https://onnx.ai/onnx/operators/onnx__Resize.html> and
//! <https://onnx.ai/onnx/operators/onnx__Upsample.html>.
//!
//! Opset changes handled:
//! - Upsample 1: `height_scale`/`width_scale` (4-D); 7: `scales` attribute; 9: `scales` input. Resize 10: inputs (X, scales).
//!   These behave as `asymmetric` coordinates with ONNX Runtime's "simple" nearest
//!   rounding (floor when upsampling, ceil when downsampling).
//! - Resize 11: inputs (X, roi, scales, sizes), `coordinate_transformation_mode`,
//!   `nearest_mode`, `cubic_coeff_a`, `exclude_outside`, `extrapolation_value`, cubic.
//! - Resize 13: roi/scales optional. 18: `axes`, `keep_aspect_ratio_policy`,
//!   `antialias`. 19: `half_pixel_symmetric`.
//!
//! Interpolation is separable, as in the ONNX reference: per resized axis, each
//! output coordinate gets a small table of (input index, weight) taps. `nearest`
//! gathers directly in the element type (any type); `linear`/`cubic` compute in
//! f32 (f64 for f64 input) and round-and-saturate back for integer types.

use crate::helpers::{input, ints_of, kernel, opt_input, output};
use rayon::prelude::*;
use ronn_core::{normalize_axis, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry, Node};

const PAR_MIN: usize = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Coord {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfCropAndResize,
    /// Opset 11 only: `(y + 0.5) / scale`.
    TfHalfPixelForNn,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Nearest {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
    /// Resize-10 / Upsample: floor when upsampling, ceil when downsampling.
    Simple,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Policy {
    Stretch,
    NotLarger,
    NotSmaller,
}

#[derive(Debug, Clone)]
struct Attrs {
    mode: Mode,
    coord: Coord,
    nearest: Nearest,
    cubic_a: f64,
    exclude_outside: bool,
    extrapolation: f64,
    antialias: bool,
    axes: Option<Vec<i64>>,
    policy: Policy,
}

/// Which inputs hold what, by opset.
#[derive(Debug, Clone, Copy)]
enum Inputs {
    /// Upsample-7: scales attribute.
    ScalesAttr,
    /// Upsample-9 / Resize-10: (X, scales).
    XScales,
    /// Resize-11+: (X, roi, scales, sizes).
    Full,
}

fn parse_mode(node: &Node) -> Result<Mode> {
    match node.attr_s_or("mode", "nearest")?.as_str() {
        "nearest" => Ok(Mode::Nearest),
        "linear" | "bilinear" => Ok(Mode::Linear),
        "cubic" if node.op_type == "Resize" && node.opset >= 11 => Ok(Mode::Cubic),
        m => Err(node.unsupported(format!("mode '{m}' is not supported"))),
    }
}

fn parse_attrs(node: &Node) -> Result<Attrs> {
    let mode = parse_mode(node)?;
    let new = node.op_type == "Resize" && node.opset >= 11;
    if !new {
        return Ok(Attrs {
            mode,
            coord: Coord::Asymmetric,
            nearest: Nearest::Simple,
            cubic_a: -0.75,
            exclude_outside: false,
            extrapolation: 0.0,
            antialias: false,
            axes: None,
            policy: Policy::Stretch,
        });
    }
    let coord = match node.attr_s_or("coordinate_transformation_mode", "half_pixel")?.as_str() {
        "half_pixel" => Coord::HalfPixel,
        "half_pixel_symmetric" => Coord::HalfPixelSymmetric,
        "pytorch_half_pixel" => Coord::PytorchHalfPixel,
        "align_corners" => Coord::AlignCorners,
        "asymmetric" => Coord::Asymmetric,
        "tf_crop_and_resize" => Coord::TfCropAndResize,
        "tf_half_pixel_for_nn" => Coord::TfHalfPixelForNn,
        m => return Err(node.unsupported(format!("coordinate_transformation_mode '{m}' is not supported"))),
    };
    let nearest = match node.attr_s_or("nearest_mode", "round_prefer_floor")?.as_str() {
        "round_prefer_floor" => Nearest::RoundPreferFloor,
        "round_prefer_ceil" => Nearest::RoundPreferCeil,
        "floor" => Nearest::Floor,
        "ceil" => Nearest::Ceil,
        m => return Err(node.unsupported(format!("nearest_mode '{m}' is not supported"))),
    };
    let policy = match node.attr_s_or("keep_aspect_ratio_policy", "stretch")?.as_str() {
        "stretch" => Policy::Stretch,
        "not_larger" => Policy::NotLarger,
        "not_smaller" => Policy::NotSmaller,
        m => return Err(node.unsupported(format!("keep_aspect_ratio_policy '{m}' is not supported"))),
    };
    let antialias = node.attr_i_or("antialias", 0)? != 0;
    if antialias && mode == Mode::Nearest {
        return Err(node.unsupported("antialias is not defined for mode 'nearest'"));
    }
    Ok(Attrs {
        mode,
        coord,
        nearest,
        cubic_a: node.attr_f_or("cubic_coeff_a", -0.75)? as f64,
        exclude_outside: node.attr_i_or("exclude_outside", 0)? != 0,
        extrapolation: node.attr_f_or("extrapolation_value", 0.0)? as f64,
        antialias,
        axes: node.attr_ints("axes")?,
        policy,
    })
}

/// Taps of one output coordinate along one axis: `None` = extrapolated.
struct AxisPlan {
    in_w: usize,
    out_w: usize,
    /// Taps per output position (fixed width `n`).
    n: usize,
    idx: Vec<usize>,
    w: Vec<f64>,
    extrap: Vec<bool>,
}

fn coeffs(a: &Attrs, ratio: f64, scale: f64, out: &mut Vec<f64>) {
    out.clear();
    match a.mode {
        Mode::Nearest => {
            let right = if ratio == 1.0 {
                true
            } else {
                match a.nearest {
                    Nearest::RoundPreferFloor => ratio > 0.5,
                    Nearest::RoundPreferCeil => ratio >= 0.5,
                    Nearest::Floor => false,
                    Nearest::Ceil => true,
                    Nearest::Simple => scale < 1.0,
                }
            };
            out.extend_from_slice(if right { &[0.0, 1.0] } else { &[1.0, 0.0] });
        }
        Mode::Linear if !a.antialias => out.extend_from_slice(&[1.0 - ratio, ratio]),
        Mode::Linear => {
            let s = scale.min(1.0);
            let start = (-1.0 / s).floor() as i64 + 1;
            let foot = 2 - 2 * start;
            for i in start..start + foot {
                out.push((1.0 - ((i as f64 - ratio) * s).abs()).clamp(0.0, 1.0));
            }
            normalize(out);
        }
        Mode::Cubic if !a.antialias => {
            let aa = a.cubic_a;
            let r = ratio;
            let q = 1.0 - r;
            out.push(((aa * (r + 1.0) - 5.0 * aa) * (r + 1.0) + 8.0 * aa) * (r + 1.0) - 4.0 * aa);
            out.push(((aa + 2.0) * r - (aa + 3.0)) * r * r + 1.0);
            out.push(((aa + 2.0) * q - (aa + 3.0)) * q * q + 1.0);
            out.push(((aa * (q + 1.0) - 5.0 * aa) * (q + 1.0) + 8.0 * aa) * (q + 1.0) - 4.0 * aa);
        }
        Mode::Cubic => {
            let aa = a.cubic_a;
            let s = scale.min(1.0);
            let start = (-2.0 / s).floor() as i64 + 1;
            let end = 2 - start;
            for i in start..end {
                let x = (s * (i as f64 - ratio)).abs();
                let (x2, x3) = (x * x, x * x * x);
                out.push(if x <= 1.0 {
                    (aa + 2.0) * x3 - (aa + 3.0) * x2 + 1.0
                } else if x < 2.0 {
                    aa * x3 - 5.0 * aa * x2 + 8.0 * aa * x - 4.0 * aa
                } else {
                    0.0
                });
            }
            normalize(out);
        }
    }
}

fn normalize(v: &mut [f64]) {
    let s: f64 = v.iter().sum();
    if s != 0.0 {
        v.iter_mut().for_each(|c| *c /= s);
    }
}

fn plan_axis(a: &Attrs, in_w: usize, out_w: usize, scale: f64, roi: (f64, f64)) -> AxisPlan {
    let out_wf = scale * in_w as f64;
    let inw = in_w as f64;
    let mut idx = Vec::new();
    let mut w = Vec::new();
    let mut extrap = vec![false; out_w];
    let mut cbuf = Vec::new();
    let mut n = 0;
    for (y, ex) in extrap.iter_mut().enumerate() {
        let yf = y as f64;
        let x_ori = match a.coord {
            Coord::AlignCorners => {
                if out_wf == 1.0 {
                    0.0
                } else {
                    yf * (inw - 1.0) / (out_wf - 1.0)
                }
            }
            Coord::Asymmetric => yf / scale,
            Coord::TfCropAndResize => {
                let x = if out_wf == 1.0 {
                    (roi.1 - roi.0) * (inw - 1.0) / 2.0
                } else {
                    yf * (roi.1 - roi.0) * (inw - 1.0) / (out_wf - 1.0)
                };
                let x = x + roi.0 * (inw - 1.0);
                *ex = x < 0.0 || x > inw - 1.0;
                x
            }
            Coord::PytorchHalfPixel => {
                if out_wf == 1.0 {
                    -0.5
                } else {
                    (yf + 0.5) / scale - 0.5
                }
            }
            Coord::HalfPixel => (yf + 0.5) / scale - 0.5,
            Coord::TfHalfPixelForNn => (yf + 0.5) / scale,
            Coord::HalfPixelSymmetric => {
                let adj = out_w as f64 / out_wf;
                let off = inw / 2.0 * (1.0 - adj);
                off + (yf + 0.5) / scale - 0.5
            }
        };
        let fl = x_ori.floor();
        let ratio = if x_ori == fl { 1.0 } else { x_ori - fl };
        coeffs(a, ratio, scale, &mut cbuf);
        n = cbuf.len();
        let pad = n.div_ceil(2) as i64;
        let xp = x_ori + pad as f64;
        let p = xp.floor();
        let frac = xp - p;
        let half = (n / 2) as i64;
        let off = if n % 2 == 0 {
            if frac == 0.0 {
                -half
            } else {
                -half + 1
            }
        } else {
            let base = -(((n - 1) / 2) as i64);
            if frac <= 0.5 {
                base
            } else {
                base + 1
            }
        };
        let start = p as i64 + off - pad;
        if a.exclude_outside {
            for (k, c) in cbuf.iter_mut().enumerate() {
                let i = start + k as i64;
                if i < 0 || i >= in_w as i64 {
                    *c = 0.0;
                }
            }
            normalize(&mut cbuf);
        }
        for (k, &c) in cbuf.iter().enumerate() {
            let i = (start + k as i64).clamp(0, in_w as i64 - 1).max(0);
            idx.push(i as usize);
            w.push(c);
        }
    }
    AxisPlan { in_w, out_w, n, idx, w, extrap }
}

/// Output sizes and per-axis scales (full rank), as the reference derives them.
fn sizes_and_scales(
    a: &Attrs,
    shape: &[usize],
    axes: &[usize],
    scales: Option<&[f64]>,
    sizes: Option<&[i64]>,
) -> Result<(Vec<usize>, Vec<f64>)> {
    let r = shape.len();
    let mut sc = vec![1.0f64; r];
    let mut out: Vec<usize> = shape.to_vec();
    if let Some(sz) = sizes {
        if sz.len() != axes.len() {
            return Err(Error::InvalidArgument(format!("sizes has {} values, expected {}", sz.len(), axes.len())));
        }
        for (i, &d) in axes.iter().enumerate() {
            if sz[i] < 0 {
                return Err(Error::InvalidArgument(format!("sizes must be non-negative, got {sz:?}")));
            }
            out[d] = sz[i] as usize;
            sc[d] = sz[i] as f64 / shape[d] as f64;
        }
        if a.policy != Policy::Stretch {
            let it = axes.iter().map(|&d| sc[d]);
            let s = if a.policy == Policy::NotLarger {
                it.fold(f64::INFINITY, f64::min)
            } else {
                it.fold(f64::NEG_INFINITY, f64::max)
            };
            for &d in axes {
                sc[d] = s;
                out[d] = (s * shape[d] as f64 + 0.5) as usize;
            }
        }
    } else if let Some(s) = scales {
        if s.len() != axes.len() {
            return Err(Error::InvalidArgument(format!("scales has {} values, expected {}", s.len(), axes.len())));
        }
        for (i, &d) in axes.iter().enumerate() {
            if s[i].is_nan() || s[i] <= 0.0 {
                return Err(Error::InvalidArgument(format!("scales must be positive, got {s:?}")));
            }
            sc[d] = s[i];
            out[d] = (s[i] * shape[d] as f64) as usize;
        }
    } else {
        return Err(Error::InvalidArgument("Resize needs either scales or sizes".into()));
    }
    Ok((out, sc))
}

/// Nearest: one gather over all axes in the element type.
fn nearest_gather<T: Element>(
    x: &[T],
    shape: &[usize],
    plans: &[Option<AxisPlan>],
    out_shape: &[usize],
    extrap: T,
) -> Vec<T> {
    let r = shape.len();
    let strides = ronn_core::strides_of(shape);
    // Per axis: source offset of each output coordinate (None = extrapolated).
    let tables: Vec<Vec<Option<usize>>> = (0..r)
        .map(|d| match &plans[d] {
            None => (0..out_shape[d]).map(|i| Some(i * strides[d])).collect(),
            Some(p) => (0..p.out_w)
                .map(|j| {
                    if p.extrap[j] {
                        return None;
                    }
                    // The one tap with weight 1 (the right one on ties).
                    let taps = &p.w[j * p.n..(j + 1) * p.n];
                    let k = taps.iter().rposition(|&c| c > 0.5).unwrap_or(0);
                    Some(p.idx[j * p.n + k] * strides[d])
                })
                .collect(),
        })
        .collect();
    let n_out: usize = out_shape.iter().product();
    let mut out = vec![extrap; n_out];
    if n_out == 0 {
        return out;
    }
    if r == 0 {
        out[0] = x[0];
        return out;
    }
    let last = out_shape[r - 1];
    if last == 0 {
        return out;
    }
    let lt = &tables[r - 1];
    // Dense table for the last axis when nothing there extrapolates (the usual case).
    let dense: Option<Vec<usize>> = lt.iter().copied().collect();
    let row_base = |row: usize| -> Option<usize> {
        let mut rem = row;
        let mut base = 0usize;
        for d in (0..r - 1).rev() {
            let i = rem % out_shape[d];
            rem /= out_shape[d];
            base += tables[d][i]?;
        }
        Some(base)
    };
    // Rows in groups, so a row reading the same source as the previous one is a copy.
    let rows_per = (PAR_MIN / last).max(1);
    let f = |(g, chunk): (usize, &mut [T])| {
        let mut prev: Option<(usize, usize)> = None; // (source base, row in chunk)
        for k in 0..chunk.len() / last {
            let row = g * rows_per + k;
            let Some(b) = row_base(row) else { continue };
            if let Some((pb, pk)) = prev {
                if pb == b {
                    chunk.copy_within(pk * last..(pk + 1) * last, k * last);
                    continue;
                }
            }
            let dst = &mut chunk[k * last..(k + 1) * last];
            match &dense {
                Some(t) => {
                    for (o, &t) in dst.iter_mut().zip(t) {
                        *o = x[b + t];
                    }
                }
                None => {
                    for (o, t) in dst.iter_mut().zip(lt) {
                        if let Some(t) = t {
                            *o = x[b + t];
                        }
                    }
                }
            }
            prev = Some((b, k));
        }
    };
    if n_out >= PAR_MIN {
        out.par_chunks_mut(rows_per * last).enumerate().for_each(f);
    } else {
        out.chunks_mut(rows_per * last).enumerate().for_each(f);
    }
    out
}

/// Float math for linear / cubic.
trait Fl: Copy + Send + Sync + Default + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> + 'static {
    fn of(v: f64) -> Self;
}
impl Fl for f32 {
    fn of(v: f64) -> Self {
        v as f32
    }
}
impl Fl for f64 {
    fn of(v: f64) -> Self {
        v
    }
}

/// Resamples axis `d` of `x` (shape `shape`) with plan `p`.
fn resample_axis<F: Fl>(x: &[F], shape: &[usize], d: usize, p: &AxisPlan, extrap: F) -> Vec<F> {
    let outer: usize = shape[..d].iter().product();
    let inner: usize = shape[d + 1..].iter().product();
    let (in_w, out_w, n) = (p.in_w, p.out_w, p.n);
    let w: Vec<F> = p.w.iter().map(|&c| F::of(c)).collect();
    let mut out = vec![F::default(); outer * out_w * inner];
    if out.is_empty() {
        return out;
    }
    let f = |(o, dst): (usize, &mut [F])| {
        let src = &x[o * in_w * inner..(o + 1) * in_w * inner];
        for j in 0..out_w {
            let drow = &mut dst[j * inner..(j + 1) * inner];
            if p.extrap[j] {
                drow.iter_mut().for_each(|v| *v = extrap);
                continue;
            }
            let taps = &p.idx[j * n..(j + 1) * n];
            let ws = &w[j * n..(j + 1) * n];
            if inner == 1 && n == 2 {
                drow[0] = src[taps[0]] * ws[0] + src[taps[1]] * ws[1];
            } else if inner == 1 {
                let mut acc = F::default();
                for (&i, &c) in taps.iter().zip(ws) {
                    acc = acc + src[i] * c;
                }
                drow[0] = acc;
            } else if n == 2 {
                let (w0, w1) = (ws[0], ws[1]);
                let s0 = &src[taps[0] * inner..(taps[0] + 1) * inner];
                let s1 = &src[taps[1] * inner..(taps[1] + 1) * inner];
                for ((v, &a), &b) in drow.iter_mut().zip(s0).zip(s1) {
                    *v = a * w0 + b * w1;
                }
            } else {
                drow.iter_mut().for_each(|v| *v = F::default());
                for (&i, &c) in taps.iter().zip(ws) {
                    let srow = &src[i * inner..(i + 1) * inner];
                    for (v, &s) in drow.iter_mut().zip(srow) {
                        *v = *v + s * c;
                    }
                }
            }
        }
    };
    if out.len() >= PAR_MIN && outer > 1 {
        out.par_chunks_mut(out_w * inner).enumerate().for_each(f);
    } else {
        out.chunks_mut(out_w * inner).enumerate().for_each(f);
    }
    out
}

fn interpolate<F: Fl>(x: &[F], shape: &[usize], plans: &[Option<AxisPlan>], order: &[usize], extrap: f64) -> Vec<F> {
    let mut cur = shape.to_vec();
    let mut v: Option<Vec<F>> = None;
    for &d in order {
        if let Some(p) = &plans[d] {
            let next = resample_axis(v.as_deref().unwrap_or(x), &cur, d, p, F::of(extrap));
            v = Some(next);
            cur[d] = p.out_w;
        }
    }
    v.unwrap_or_else(|| x.to_vec())
}

fn resize(
    a: &Attrs,
    x: &Tensor,
    roi: Option<Vec<f64>>,
    scales: Option<Vec<f64>>,
    sizes: Option<Vec<i64>>,
) -> Result<Tensor> {
    let shape = x.shape();
    let r = shape.len();
    let axes: Vec<usize> = match &a.axes {
        Some(ax) => {
            let mut v = Vec::with_capacity(ax.len());
            for &d in ax {
                let d = normalize_axis(d, r)?;
                if v.contains(&d) {
                    return Err(Error::InvalidArgument(format!("axes {ax:?} repeat an axis")));
                }
                v.push(d);
            }
            v
        }
        None => (0..r).collect(),
    };
    let (out_shape, sc) = sizes_and_scales(a, shape, &axes, scales.as_deref(), sizes.as_deref())?;
    // roi over full rank: starts then ends.
    let mut full_roi: Vec<(f64, f64)> = vec![(0.0, 1.0); r];
    if let Some(roi) = roi.filter(|v| !v.is_empty()) {
        let k = axes.len();
        if roi.len() != 2 * k {
            return Err(Error::InvalidArgument(format!("roi has {} values, expected {}", roi.len(), 2 * k)));
        }
        for (i, &d) in axes.iter().enumerate() {
            full_roi[d] = (roi[i], roi[k + i]);
        }
    }
    let mut plans: Vec<Option<AxisPlan>> = (0..r).map(|_| None).collect();
    for &d in &axes {
        let identity = (sc[d] - 1.0).abs() < 1e-9
            && out_shape[d] == shape[d]
            && (a.coord != Coord::TfCropAndResize
                || (full_roi[d].0.abs() < 1e-9 && (full_roi[d].1 - 1.0).abs() < 1e-9));
        if identity || out_shape[d] == 0 {
            if out_shape[d] == 0 {
                plans[d] = Some(AxisPlan { in_w: shape[d], out_w: 0, n: 1, idx: vec![], w: vec![], extrap: vec![] });
            }
            continue;
        }
        if shape[d] == 0 {
            return Err(Error::InvalidArgument(format!(
                "cannot resize empty axis {d} of shape {shape:?} to {}",
                out_shape[d]
            )));
        }
        plans[d] = Some(plan_axis(a, shape[d], out_shape[d], sc[d], full_roi[d]));
    }
    let ex = a.extrapolation;
    if a.mode == Mode::Nearest {
        if x.dtype() == DType::String {
            return Err(Error::TypeMismatch("Resize does not support string tensors".into()));
        }
        let data = ronn_core::dispatch_dtype!(x.dtype(), T => T::into_data(nearest_gather::<T>(x.as_slice::<T>()?, shape, &plans, &out_shape, T::from_f64(ex))),
            _ => return Err(Error::TypeMismatch(format!("Resize does not support element type {}", x.dtype()))));
        return Tensor::new(out_shape, data);
    }
    // Separable passes commute: shrink first, and among equal ratios do the later
    // (more contiguous, scalar) axes while the data is smallest. Integer and f64
    // outputs keep the reference order, so exact halves round the same way.
    let mut fast = axes.clone();
    fast.sort_by(|&a, &b| {
        let ra = out_shape[a] as f64 / shape[a].max(1) as f64;
        let rb = out_shape[b] as f64 / shape[b].max(1) as f64;
        ra.partial_cmp(&rb).unwrap_or(std::cmp::Ordering::Equal).then(b.cmp(&a))
    });
    match x.dtype() {
        DType::Float32 => {
            let v = interpolate(x.as_slice::<f32>()?, shape, &plans, &fast, ex);
            Tensor::from_vec(out_shape, v)
        }
        DType::Float64 => {
            let v = interpolate(x.as_slice::<f64>()?, shape, &plans, &axes, ex);
            Tensor::from_vec(out_shape, v)
        }
        d @ (DType::Float16 | DType::BFloat16) => {
            let v: Vec<f32> = x.to_f64_vec()?.into_iter().map(|v| v as f32).collect();
            Tensor::from_vec(out_shape, interpolate(&v, shape, &plans, &fast, ex))?.cast(d)
        }
        d if d.is_int() => {
            // f64, as the reference computes, so halves round the same way.
            let v = interpolate(&x.to_f64_vec()?, shape, &plans, &axes, ex);
            ronn_core::dispatch_int!(d, T => Tensor::from_vec(out_shape, v.into_iter().map(|f| T::from_f64(f.round_ties_even())).collect::<Vec<T>>()),
                _ => Err(Error::TypeMismatch(format!("unexpected element type {d}"))))
        }
        d => Err(Error::TypeMismatch(format!("Resize mode linear/cubic does not support element type {d}"))),
    }
}

/// A float tensor (scales, roi) read as f64s; empty tensors count as absent.
fn floats_of(t: Option<&Tensor>) -> Result<Option<Vec<f64>>> {
    match t {
        None => Ok(None),
        Some(t) if t.is_empty() => Ok(None),
        Some(t) if t.dtype().is_float() => Ok(Some(t.to_f64_vec()?)),
        Some(t) => Err(Error::TypeMismatch(format!("expected a float tensor, got {}", t.dtype()))),
    }
}

fn make_resize(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let a = parse_attrs(node)?;
    let which = if node.op_type == "Upsample" {
        if node.opset < 9 {
            Inputs::ScalesAttr
        } else {
            Inputs::XScales
        }
    } else if node.opset < 11 {
        Inputs::XScales
    } else {
        Inputs::Full
    };
    let attr_scales: Option<Vec<f64>> = match which {
        Inputs::ScalesAttr if node.opset < 7 => {
            // Upsample-1: 4-D NCHW with height_scale / width_scale.
            let h = node.attr_f("height_scale")?.ok_or_else(|| node.unsupported("Upsample-1 needs 'height_scale'"))?;
            let w = node.attr_f("width_scale")?.ok_or_else(|| node.unsupported("Upsample-1 needs 'width_scale'"))?;
            Some(vec![1.0, 1.0, h as f64, w as f64])
        }
        Inputs::ScalesAttr => Some(
            node.attr_floats("scales")?
                .ok_or_else(|| node.unsupported("Upsample-7 needs the 'scales' attribute"))?
                .into_iter()
                .map(|v| v as f64)
                .collect(),
        ),
        _ => None,
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let (roi, scales, sizes) = match which {
            Inputs::ScalesAttr => (None, attr_scales.clone(), None),
            Inputs::XScales => (None, floats_of(Some(input(inputs, 1)?))?, None),
            Inputs::Full => {
                let roi = floats_of(opt_input(inputs, 1)?)?;
                let scales = floats_of(opt_input(inputs, 2)?)?;
                let sizes = match opt_input(inputs, 3)? {
                    Some(t) if !t.is_empty() => Some(ints_of(t)?),
                    _ => None,
                };
                if scales.is_some() && sizes.is_some() {
                    return Err(Error::InvalidArgument("Resize takes scales or sizes, not both".into()));
                }
                (roi, scales, sizes)
            }
        };
        output(resize(&a, x, roi, scales, sizes)?)
    })
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "Resize", 10, i64::MAX, make_resize);
    r.register("", "Upsample", 1, 9, make_resize);
}

#[cfg(test)]
mod tests;
