//! Softmax, LogSoftmax and Hardmax
//! (<https://onnx.ai/onnx/operators/onnx__Softmax.html>,
//! <https://onnx.ai/onnx/operators/onnx__LogSoftmax.html>,
//! <https://onnx.ai/onnx/operators/onnx__Hardmax.html>).
//!
//! Opset history handled: before opset 13 the input is coerced to 2-D at `axis`
//! (default 1) and the op runs over the flattened trailing block; from opset 13
//! the op runs along the single axis `axis` (default -1).
//!
//! Types: f32, f64, f16, bf16 (f16/bf16 compute in f32). The f32 path over a
//! contiguous axis uses a vectorizable exp (Cephes polynomial, ~1e-7 relative)
//! and runs rows in parallel for large tensors.
//!
//! This file also holds small float helpers shared by `pool.rs` and
//! `normalization.rs` (loading f16/bf16 as f32 and storing back).

use crate::helpers::{input, kernel, output};
use crate::math::exp_f32;
use half::{bf16, f16};
use num_traits::Float;
use rayon::prelude::*;
use ronn_core::{normalize_axis, DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use std::borrow::Cow;

/// Tensors above this many elements are processed in parallel.
pub(crate) const PAR_THRESHOLD: usize = 1 << 16;

/// The float type a kernel computes in: f32 or f64.
pub(crate) trait Real: Float + ronn_core::Element + std::iter::Sum {
    /// exp, fast where possible (f32: vectorizable polynomial).
    fn fexp(self) -> Self;
    /// `o[i] = exp(x[i] - shift)`; f32 runs the SIMD map of this CPU (AVX-512 or
    /// AVX2 copies of the polynomial, where the baseline build is SSE2).
    fn exp_shifted_into(x: &[Self], shift: Self, o: &mut [Self]) {
        for (oi, &v) in o.iter_mut().zip(x) {
            *oi = (v - shift).fexp();
        }
    }
    /// From an f64 (attribute values, accumulated statistics).
    fn of(v: f64) -> Self;
    /// To f64 (for accumulation).
    fn to64(self) -> f64;
}

impl Real for f32 {
    #[inline(always)]
    fn fexp(self) -> f32 {
        exp_f32(self)
    }
    fn exp_shifted_into(x: &[f32], shift: f32, o: &mut [f32]) {
        // Arguments below -87 (masked attention scores, -inf, finfo.min) give 0: their
        // exp is under 2^-125 of the row's largest term, and computing it would make
        // denormals, which cost a microcode assist per vector (2x slower softmax on
        // masked rows). The clamp keeps every lane's arithmetic normal.
        let f = |v: f32| {
            let d = v - shift;
            let e = exp_f32(d.max(-87.0));
            if d < -87.0 {
                0.0
            } else {
                e
            }
        };
        if ronn_core::simd::map_f32(x, o, f).is_err() {
            // Lengths differ (never, for the callers here): the element-wise loop.
            for (oi, &v) in o.iter_mut().zip(x) {
                *oi = f(v);
            }
        }
    }
    fn of(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn to64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    #[inline(always)]
    fn fexp(self) -> f64 {
        self.exp()
    }
    fn of(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn to64(self) -> f64 {
        self
    }
}

/// A float tensor's elements as f32 (borrowed for f32, converted for f16/bf16).
pub(crate) fn load_f32(t: &Tensor) -> Result<Cow<'_, [f32]>> {
    Ok(match t.dtype() {
        DType::Float32 => Cow::Borrowed(t.as_slice::<f32>()?),
        DType::Float16 => Cow::Owned(t.as_slice::<f16>()?.iter().map(|v| v.to_f32()).collect()),
        DType::BFloat16 => Cow::Owned(t.as_slice::<bf16>()?.iter().map(|v| v.to_f32()).collect()),
        DType::Float64 => Cow::Owned(t.as_slice::<f64>()?.iter().map(|&v| v as f32).collect()),
        d => return Err(Error::TypeMismatch(format!("expected a float tensor, got {d}"))),
    })
}

/// A float (or any numeric) tensor's elements as f64.
pub(crate) fn load_f64(t: &Tensor) -> Result<Cow<'_, [f64]>> {
    Ok(match t.dtype() {
        DType::Float64 => Cow::Borrowed(t.as_slice::<f64>()?),
        DType::String => return Err(Error::TypeMismatch("expected a numeric tensor, got string".into())),
        _ => Cow::Owned(t.to_f64_vec()?),
    })
}

/// Loads a tensor in the compute type `R`.
pub(crate) trait Load: Real {
    fn load(t: &Tensor) -> Result<Cow<'_, [Self]>>;
    /// Builds a tensor of `dtype` (f32/f16/bf16 for f32; f64 for f64) from computed values.
    fn store(dtype: DType, shape: Vec<usize>, v: Vec<Self>) -> Result<Tensor>;
}

impl Load for f32 {
    fn load(t: &Tensor) -> Result<Cow<'_, [f32]>> {
        load_f32(t)
    }
    fn store(dtype: DType, shape: Vec<usize>, v: Vec<f32>) -> Result<Tensor> {
        match dtype {
            DType::Float16 => Tensor::from_vec(shape, v.into_iter().map(f16::from_f32).collect::<Vec<_>>()),
            DType::BFloat16 => Tensor::from_vec(shape, v.into_iter().map(bf16::from_f32).collect::<Vec<_>>()),
            DType::Float64 => Tensor::from_vec(shape, v.into_iter().map(|x| x as f64).collect::<Vec<_>>()),
            _ => Tensor::from_vec(shape, v),
        }
    }
}

impl Load for f64 {
    fn load(t: &Tensor) -> Result<Cow<'_, [f64]>> {
        load_f64(t)
    }
    fn store(dtype: DType, shape: Vec<usize>, v: Vec<f64>) -> Result<Tensor> {
        match dtype {
            DType::Float32 => Tensor::from_vec(shape, v.into_iter().map(|x| x as f32).collect::<Vec<_>>()),
            DType::Float16 => Tensor::from_vec(shape, v.into_iter().map(f16::from_f64).collect::<Vec<_>>()),
            DType::BFloat16 => Tensor::from_vec(shape, v.into_iter().map(bf16::from_f64).collect::<Vec<_>>()),
            _ => Tensor::from_vec(shape, v),
        }
    }
}

/// Fails unless `t` is f32, f64, f16 or bf16.
pub(crate) fn check_float(t: &Tensor, what: &str) -> Result<()> {
    match t.dtype() {
        DType::Float32 | DType::Float64 | DType::Float16 | DType::BFloat16 => Ok(()),
        d => Err(Error::TypeMismatch(format!("{what}: expected a float tensor (f32, f64, f16, bf16), got {d}"))),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Softmax,
    LogSoftmax,
    Hardmax,
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Softmax", |c| build(c, Mode::Softmax));
    r.register_all("LogSoftmax", |c| build(c, Mode::LogSoftmax));
    r.register_all("Hardmax", |c| build(c, Mode::Hardmax));
}

fn build(ctx: &BuildCtx, mode: Mode) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let new = node.opset >= 13;
    let axis = node.attr_i_or("axis", if new { -1 } else { 1 })?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        check_float(x, "Softmax input")?;
        let shape = x.shape().to_vec();
        let rank = shape.len();
        let (outer, n, inner) = if rank == 0 {
            (1, 1, 1)
        } else {
            let a = normalize_axis(axis, rank)?;
            if new {
                (shape[..a].iter().product(), shape[a], shape[a + 1..].iter().product())
            } else {
                (shape[..a].iter().product(), shape[a..].iter().product(), 1usize)
            }
        };
        let out = if x.dtype() == DType::Float64 {
            let v = f64::load(x)?;
            f64::store(x.dtype(), shape, run_mode(&v, outer, n, inner, mode))?
        } else {
            let v = f32::load(x)?;
            f32::store(x.dtype(), shape, run_mode(&v, outer, n, inner, mode))?
        };
        output(out)
    })
}

fn run_mode<R: Real>(x: &[R], outer: usize, n: usize, inner: usize, mode: Mode) -> Vec<R> {
    let mut out = ronn_core::pool::for_overwrite::<R>(x.len());
    let block = n * inner;
    if block == 0 || x.is_empty() {
        return out;
    }
    let f = |(xi, oi): (&[R], &mut [R])| {
        if inner == 1 {
            row(xi, oi, mode)
        } else {
            strided(xi, oi, n, inner, mode)
        }
    };
    if x.len() >= PAR_THRESHOLD && outer > 1 {
        // Group blocks so each task has a reasonable amount of work.
        let per = (PAR_THRESHOLD / 4 / block).max(1);
        x.par_chunks(block * per)
            .zip(out.par_chunks_mut(block * per))
            .for_each(|(xs, os)| xs.chunks(block).zip(os.chunks_mut(block)).for_each(f));
    } else if inner == 1 && n >= PAR_THRESHOLD {
        row(x, &mut out, mode);
    } else {
        x.chunks(block).zip(out.chunks_mut(block)).for_each(f);
    }
    let _ = outer;
    out
}

/// Maximum of a slice (8 independent lanes so the loop vectorizes); -inf when empty.
#[inline]
pub(crate) fn max_of<R: Real>(x: &[R]) -> R {
    let mut lanes = [R::neg_infinity(); 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = if v > *l { v } else { *l };
        }
    }
    let mut m = R::neg_infinity();
    for &v in lanes.iter().chain(it.remainder()) {
        m = if v > m { v } else { m };
    }
    m
}

/// Sum of a slice (8 independent lanes).
#[inline]
pub(crate) fn sum_of<R: Real>(x: &[R]) -> R {
    let mut lanes = [R::zero(); 8];
    let mut it = x.chunks_exact(8);
    for c in &mut it {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = *l + v;
        }
    }
    let mut s = R::zero();
    for &v in lanes.iter().chain(it.remainder()) {
        s = s + v;
    }
    s
}

/// One contiguous row.
#[inline]
fn row<R: Real>(x: &[R], o: &mut [R], mode: Mode) {
    let m = max_of(x);
    if mode == Mode::Hardmax {
        let mut done = false;
        for (oi, &v) in o.iter_mut().zip(x) {
            *oi = if !done && v == m {
                done = true;
                R::one()
            } else {
                R::zero()
            };
        }
        return;
    }
    R::exp_shifted_into(x, m, o);
    let s = sum_of(o);
    match mode {
        Mode::Softmax => {
            let inv = R::one() / s;
            o.iter_mut().for_each(|v| *v = *v * inv);
        }
        _ => {
            let l = m + s.ln();
            for (oi, &v) in o.iter_mut().zip(x) {
                *oi = v - l;
            }
        }
    }
}

/// One block of `n` rows of `inner` elements: the op runs down each column.
fn strided<R: Real>(x: &[R], o: &mut [R], n: usize, inner: usize, mode: Mode) {
    let mut m = vec![R::neg_infinity(); inner];
    for r in x.chunks(inner) {
        for (mi, &v) in m.iter_mut().zip(r) {
            if v > *mi {
                *mi = v;
            }
        }
    }
    if mode == Mode::Hardmax {
        let mut done = vec![false; inner];
        for (xr, or) in x.chunks(inner).zip(o.chunks_mut(inner)) {
            for j in 0..inner {
                let hit = !done[j] && xr[j] == m[j];
                or[j] = if hit { R::one() } else { R::zero() };
                done[j] |= hit;
            }
        }
        return;
    }
    let mut s = vec![R::zero(); inner];
    for (xr, or) in x.chunks(inner).zip(o.chunks_mut(inner)) {
        for j in 0..inner {
            let e = (xr[j] - m[j]).fexp();
            or[j] = e;
            s[j] = s[j] + e;
        }
    }
    let _ = n;
    if mode == Mode::Softmax {
        s.iter_mut().for_each(|v| *v = R::one() / *v);
        for or in o.chunks_mut(inner) {
            for (v, &k) in or.iter_mut().zip(&s) {
                *v = *v * k;
            }
        }
    } else {
        let l: Vec<R> = m.iter().zip(&s).map(|(&a, &b)| a + b.ln()).collect();
        for (xr, or) in x.chunks(inner).zip(o.chunks_mut(inner)) {
            for j in 0..inner {
                or[j] = xr[j] - l[j];
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, run_node};
    use ronn_ir::{Attribute, Node};

    fn node(op: &str, opset: i64, axis: Option<i64>) -> Node {
        let n = Node::new(op, &["x"], &["y"], opset);
        match axis {
            Some(a) => n.with_attr("axis", Attribute::Int(a)),
            None => n,
        }
    }

    fn t(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape, v).unwrap()
    }

    #[test]
    fn exp_is_accurate() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let want = (x as f64).exp();
            let got = exp_f32(x) as f64;
            assert!(((got - want) / want).abs() < 3e-7, "exp({x}) = {got}, want {want}");
            x += 0.173;
        }
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(0.0), 1.0);
    }

    #[test]
    fn softmax_last_axis() {
        // numpy: softmax([[-1,0,1],[1,2,3]], axis=-1)
        let y = run_node(&node("Softmax", 13, None), vec![t(vec![2, 3], vec![-1., 0., 1., 1., 2., 3.])]).unwrap();
        let r = [0.09003057f32, 0.24472848, 0.66524094];
        assert_close(y[0].as_slice::<f32>().unwrap(), &[r[0], r[1], r[2], r[0], r[1], r[2]]);
    }

    #[test]
    fn softmax_axis0_opset13_vs_coerced_opset11() {
        let x = t(vec![2, 2], vec![0., 1., 2., 3.]);
        // axis 0 at opset 13: columns.
        let y = run_node(&node("Softmax", 13, Some(0)), vec![x.clone()]).unwrap();
        let a = 0.11920292f32;
        let b = 0.880797f32;
        assert_close(y[0].as_slice::<f32>().unwrap(), &[a, a, b, b]);
        // axis 0 at opset 11: the whole tensor is one row.
        let y = run_node(&node("Softmax", 11, Some(0)), vec![x.clone()]).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[0.0320586, 0.08714432, 0.23688284, 0.64391426]);
        // default axis at opset 11 is 1 (rows here).
        let y = run_node(&node("Softmax", 11, None), vec![x]).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[0.26894142, 0.7310586, 0.26894142, 0.7310586]);
    }

    #[test]
    fn softmax_3d_middle_axis_and_negative() {
        // x = arange(12).reshape(2,3,2); softmax axis=1 (= -2)
        let x = t(vec![2, 3, 2], (0..12).map(|v| v as f32).collect());
        let y = run_node(&node("Softmax", 13, Some(-2)), vec![x]).unwrap();
        let (p, q, r) = (0.01587624f32, 0.11731043, 0.86681333);
        assert_close(y[0].as_slice::<f32>().unwrap(), &[p, p, q, q, r, r, p, p, q, q, r, r]);
    }

    #[test]
    fn logsoftmax_large_numbers_and_f64() {
        let x = Tensor::from_vec(vec![1, 3], vec![1000f64, 1001., 1002.]).unwrap();
        let y = run_node(&node("LogSoftmax", 13, None), vec![x]).unwrap();
        let got = y[0].as_slice::<f64>().unwrap();
        let want = [-2.40760596, -1.40760596, -0.40760596];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-7);
        }
    }

    #[test]
    fn softmax_f16() {
        let x = Tensor::from_vec(vec![2], vec![f16::from_f32(0.0), f16::from_f32(0.0)]).unwrap();
        let y = run_node(&node("Softmax", 13, None), vec![x]).unwrap();
        assert_eq!(y[0].as_slice::<f16>().unwrap(), &[f16::from_f32(0.5), f16::from_f32(0.5)]);
    }

    #[test]
    fn hardmax_first_max_wins() {
        let x = t(vec![2, 3], vec![1., 3., 3., 2., 0., 1.]);
        let y = run_node(&node("Hardmax", 13, None), vec![x.clone()]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 1., 0., 1., 0., 0.]);
        let y = run_node(&node("Hardmax", 13, Some(0)), vec![x.clone()]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 1., 1., 1., 0., 0.]);
        // opset 11, axis 0: one-hot over the whole flattened tensor.
        let y = run_node(&node("Hardmax", 11, Some(0)), vec![x]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 1., 0., 0., 0., 0.]);
    }

    #[test]
    fn large_parallel_rows_match_serial() {
        let rows = 300;
        let n = 257;
        let v: Vec<f32> = (0..rows * n).map(|i| ((i * 7919) % 1000) as f32 / 100.0).collect();
        let y = run_node(&node("Softmax", 13, None), vec![t(vec![rows, n], v.clone())]).unwrap();
        let y = y[0].as_slice::<f32>().unwrap();
        for r in [0, 150, 299] {
            let xr = &v[r * n..(r + 1) * n];
            let m = xr.iter().cloned().fold(f32::MIN, f32::max) as f64;
            let s: f64 = xr.iter().map(|&a| (a as f64 - m).exp()).sum();
            let want: Vec<f32> = xr.iter().map(|&a| ((a as f64 - m).exp() / s) as f32).collect();
            assert_close(&y[r * n..(r + 1) * n], &want);
        }
    }

    #[test]
    fn errors_and_empty() {
        let x = Tensor::from_vec(vec![2], vec![1i32, 2]).unwrap();
        assert!(run_node(&node("Softmax", 13, None), vec![x]).is_err());
        let x = t(vec![2, 2], vec![0.; 4]);
        assert!(run_node(&node("Softmax", 13, Some(2)), vec![x.clone()]).is_err());
        assert!(run_node(&node("Softmax", 13, Some(-3)), vec![x]).is_err());
        let y = run_node(&node("Softmax", 13, None), vec![t(vec![0, 3], vec![])]).unwrap();
        assert_eq!(y[0].shape(), &[0, 3]);
        let y = run_node(&node("LogSoftmax", 13, None), vec![t(vec![3, 0], vec![])]).unwrap();
        assert_eq!(y[0].shape(), &[3, 0]);
    }
}
