//! Linear quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html> (opsets 10,
//! 13 per-axis, 19, 21 blocked + output_dtype), `DequantizeLinear`,
//! `DynamicQuantizeLinear` (11). Scales are per tensor (scalar), per axis (1-D
//! along `axis`) or blocked (same rank, `block_size` along `axis`); they may be
//! float8e8m0 (opset 23+). Quantized types: int8, uint8, int16, uint16,
//! int4/uint4, int2/uint2 (clamped to their range), the float8 flavours (the
//! zero point must be 0 and is ignored, `saturate` per the Cast table) and
//! float4e2m1 (quantize adds the zero point as a float; dequantize ignores it,
//! as the ONNX reference does), and (dequantize) int32. Rounding is half to
//! even. QuantizeLinear's `precision` (opset 23) picks the type `x / scale` is
//! computed in (default: the type of `x` and the scale when they agree, else
//! float32 / float64); DequantizeLinear's `output_dtype` (opset 23) the output
//! type (default: the scale's).

use crate::helpers::{input, kernel, opt_input, output, outputs};
use ronn_core::{bf16, dispatch_float, f16, lowp, normalize_axis, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers the quantization ops.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "QuantizeLinear", 10, i64::MAX, build_quantize);
    r.register("", "DequantizeLinear", 10, i64::MAX, build_dequantize);
    r.register("", "DynamicQuantizeLinear", 11, i64::MAX, build_dynamic);
}

/// Maps each element of `shape` to the index of its scale / zero point.
struct ScaleMap {
    outer: usize,
    n: usize,
    inner: usize,
    mode: Mode,
}

enum Mode {
    Tensor,
    Axis,
    Block { size: usize, blocks: usize },
}

impl ScaleMap {
    fn new(shape: &[usize], scale_shape: &[usize], axis: i64, block: i64) -> Result<ScaleMap> {
        let scale_len: usize = scale_shape.iter().product();
        if scale_shape.is_empty() || (scale_len == 1 && block == 0 && scale_shape.len() <= 1) {
            return Ok(ScaleMap { outer: 1, n: 1, inner: 1, mode: Mode::Tensor });
        }
        let a = normalize_axis(axis, shape.len())?;
        let outer = shape[..a].iter().product();
        let n = shape[a];
        let inner = shape[a + 1..].iter().product();
        if block > 0 {
            let size = block as usize;
            let blocks = n.div_ceil(size);
            let mut want = shape.to_vec();
            want[a] = blocks;
            if scale_shape != want.as_slice() {
                return Err(Error::ShapeMismatch(format!(
                    "blocked scale must have shape {want:?}, got {scale_shape:?}"
                )));
            }
            return Ok(ScaleMap { outer, n, inner, mode: Mode::Block { size, blocks } });
        }
        if scale_shape.len() != 1 || scale_shape[0] != n {
            return Err(Error::ShapeMismatch(format!(
                "per-axis scale must have shape [{n}] (axis {a} of {shape:?}), got {scale_shape:?}"
            )));
        }
        Ok(ScaleMap { outer, n, inner, mode: Mode::Axis })
    }

    fn index(&self, flat: usize) -> usize {
        match self.mode {
            Mode::Tensor => 0,
            Mode::Axis => (flat / self.inner) % self.n,
            Mode::Block { size, blocks } => {
                let o = flat / (self.n * self.inner);
                let i = (flat / self.inner) % self.n;
                let r = flat % self.inner;
                let _ = self.outer;
                (o * blocks + i / size) * self.inner + r
            }
        }
    }
}

fn round_half_even(v: f64) -> f64 {
    let r = v.round();
    if (v - v.trunc()).abs() == 0.5 {
        2.0 * (v / 2.0).round()
    } else {
        r
    }
}

/// How values of a quantized type are produced.
#[derive(Clone, Copy, PartialEq)]
enum QKind {
    /// Integers clamped to `[lo, hi]`.
    Int(f64, f64),
    /// Float8: zero point ignored, saturation per the attribute.
    Float8,
    /// Float4e2m1: the zero point added as a float.
    Float4,
}

fn quantized_kind(d: DType) -> Result<QKind> {
    Ok(match d {
        DType::UInt8 => QKind::Int(0.0, 255.0),
        DType::Int8 => QKind::Int(-128.0, 127.0),
        DType::UInt16 => QKind::Int(0.0, 65535.0),
        DType::Int16 => QKind::Int(-32768.0, 32767.0),
        DType::Int32 => QKind::Int(i32::MIN as f64, i32::MAX as f64),
        DType::Int4 | DType::UInt4 | DType::Int2 | DType::UInt2 => {
            let (lo, hi) = lowp::int_range(d).unwrap_or((0, 0));
            QKind::Int(lo as f64, hi as f64)
        }
        DType::Float8E4M3FN | DType::Float8E4M3FNUZ | DType::Float8E5M2 | DType::Float8E5M2FNUZ => QKind::Float8,
        DType::Float4E2M1 => QKind::Float4,
        other => return Err(Error::UnsupportedOp(format!("quantized type {other}"))),
    })
}

fn make_quantized(dtype: DType, shape: Vec<usize>, v: Vec<f64>, saturate: bool) -> Result<Tensor> {
    if dtype.is_small() {
        // Integers are already rounded and clamped; floats round to nearest even here.
        let b = v.into_iter().map(|x| lowp::from_f64(dtype, x, saturate)).collect();
        return Tensor::from_small(dtype, shape, b);
    }
    ronn_core::dispatch_int!(dtype, T => Tensor::from_vec(shape, v.into_iter().map(T::from_f64).collect::<Vec<T>>()),
        _ => Err(Error::UnsupportedOp(format!("quantized type {dtype}"))))
}

/// The precision `x / scale` is computed in.
#[derive(Clone, Copy)]
enum Prec {
    F16,
    BF16,
    F32,
    F64,
}

impl Prec {
    fn of(d: DType) -> Option<Prec> {
        Some(match d {
            DType::Float16 => Prec::F16,
            DType::BFloat16 => Prec::BF16,
            DType::Float32 => Prec::F32,
            DType::Float64 => Prec::F64,
            _ => return None,
        })
    }

    #[inline]
    fn div(self, v: f64, s: f64) -> f64 {
        match self {
            Prec::F64 => v / s,
            Prec::F32 => (v as f32 / s as f32) as f64,
            Prec::F16 => f16::from_f32(f16::from_f64(v).to_f32() / f16::from_f64(s).to_f32()).to_f64(),
            Prec::BF16 => bf16::from_f32(bf16::from_f64(v).to_f32() / bf16::from_f64(s).to_f32()).to_f64(),
        }
    }
}

fn build_quantize(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let axis = node.attr_i_or("axis", 1)?;
    let block = node.attr_i_or("block_size", 0)?;
    let saturate = node.attr_i_or("saturate", 1)? != 0;
    let out_attr = node.attr_i_or("output_dtype", 0)?;
    let out_attr = if out_attr == 0 {
        None
    } else {
        let d =
            DType::from_onnx(out_attr as i32).ok_or_else(|| node.unsupported(format!("output_dtype {out_attr}")))?;
        quantized_kind(d).map_err(|_| node.unsupported(format!("output_dtype {d} is not supported")))?;
        Some(d)
    };
    let precision = match node.attr_i_or("precision", 0)? {
        0 => None,
        p => Some(
            DType::from_onnx(p as i32)
                .and_then(Prec::of)
                .ok_or_else(|| node.unsupported(format!("precision {p} (expected a float type)")))?,
        ),
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let scale = input(inputs, 1)?;
        let zp = opt_input(inputs, 2)?;
        if let (Some(z), Some(o)) = (zp, out_attr) {
            if z.dtype() != o {
                return Err(Error::TypeMismatch(format!(
                    "QuantizeLinear: output_dtype is {o} but the zero point is {}",
                    z.dtype()
                )));
            }
        }
        let dtype = zp.map(|z| z.dtype()).or(out_attr).unwrap_or(DType::UInt8);
        let kind = quantized_kind(dtype)?;
        let map = ScaleMap::new(x.shape(), scale.shape(), axis, block)?;
        let s = scale.to_f64_vec()?;
        let z = match zp {
            Some(z) => z.to_f64_vec()?,
            None => vec![0.0; s.len()],
        };
        let xs = x.to_f64_vec()?;
        // Divide in the precision the reference uses: numpy's promotion of x and scale.
        let prec = precision.unwrap_or_else(|| {
            let (a, b) = (x.dtype(), scale.dtype());
            if a == b {
                Prec::of(a).unwrap_or(Prec::F32)
            } else if a == DType::Float64 || b == DType::Float64 {
                Prec::F64
            } else {
                Prec::F32
            }
        });
        let q: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let k = map.index(i);
                let scaled = prec.div(v, s.get(k).copied().unwrap_or(1.0));
                let zk = z.get(k).copied().unwrap_or(0.0);
                match kind {
                    QKind::Int(lo, hi) => (round_half_even(scaled) + zk).clamp(lo, hi),
                    QKind::Float8 => scaled,
                    QKind::Float4 => scaled + zk,
                }
            })
            .collect();
        output(make_quantized(dtype, x.shape().to_vec(), q, saturate)?)
    })
}

fn build_dequantize(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let axis = node.attr_i_or("axis", 1)?;
    let block = node.attr_i_or("block_size", 0)?;
    let out_attr = match node.attr_i_or("output_dtype", 0)? {
        0 => None,
        v => Some(
            DType::from_onnx(v as i32)
                .filter(|d| matches!(d, DType::Float32 | DType::Float16 | DType::BFloat16))
                .ok_or_else(|| node.unsupported(format!("output_dtype {v} (expected float, float16 or bfloat16)")))?,
        ),
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let kind = quantized_kind(x.dtype())?;
        let scale = input(inputs, 1)?;
        let zp = opt_input(inputs, 2)?;
        let map = ScaleMap::new(x.shape(), scale.shape(), axis, block)?;
        let s = scale.to_f64_vec()?;
        // Float8 zero points must be 0; float4's is ignored like the reference does.
        let z = match zp {
            Some(z) if matches!(kind, QKind::Int(..)) => {
                if z.dtype() != x.dtype() {
                    return Err(Error::TypeMismatch(format!(
                        "DequantizeLinear: x is {} but the zero point is {}",
                        x.dtype(),
                        z.dtype()
                    )));
                }
                z.to_f64_vec()?
            }
            _ => vec![0.0; s.len()],
        };
        let out_dtype =
            out_attr.unwrap_or(if scale.dtype() == DType::Float8E8M0 { DType::Float32 } else { scale.dtype() });
        let xs = x.to_f64_vec()?;
        let y: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let k = map.index(i);
                ((v - z.get(k).copied().unwrap_or(0.0)) as f32 * s.get(k).copied().unwrap_or(1.0) as f32) as f64
            })
            .collect();
        dispatch_float!(out_dtype, T => output(Tensor::from_vec(x.shape().to_vec(), y.into_iter().map(T::from_f64).collect::<Vec<T>>())?),
            _ => Err(Error::TypeMismatch(format!("scale must be a float tensor, got {}", scale.dtype()))))
    })
}

fn build_dynamic(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let x = input(inputs, 0)?;
        let v = x.as_slice::<f32>()?;
        let (mn, mx) = ronn_core::simd::with_best_simd(
            #[inline(always)]
            || min_max_with_zero(v),
        );
        let scale = (mx - mn) / 255.0;
        let (zp, q): (f32, Vec<u8>) = if scale == 0.0 {
            (0.0, vec![0; v.len()])
        } else {
            let zp = (-mn / scale).round_ties_even().clamp(0.0, 255.0);
            // f32 division and rounding, as the spec's reference (and ONNX Runtime) do.
            // `round_ties_even` is a libm call on baseline x86-64; adding and removing
            // 1.5 * 2^23 rounds half-to-even exactly for |x| < 2^22 and vectorizes. The
            // clamp first keeps x in that range without changing any result (|y / scale|
            // <= 255 for finite inputs; beyond +-512 the final clamp saturates anyway).
            const MAGIC: f32 = 12_582_912.0;
            let mut q = ronn_core::pool::for_overwrite::<u8>(v.len());
            #[allow(clippy::manual_clamp)] // clamp propagates NaN; these selects must not
            ronn_core::simd::with_best_simd(
                #[inline(always)]
                || {
                    for (o, &y) in q.iter_mut().zip(v) {
                        // max/min and a bit read rather than clamp and `as u8`: NaN-aware
                        // clamps and saturating casts kept this loop 7x slower. `max`
                        // returns its non-NaN operand, so r is an integer in [0, 255], and
                        // r + 2^23 holds it in its low mantissa bits.
                        let x = (y / scale).max(-512.0).min(512.0);
                        let r = ((x + MAGIC) - MAGIC + zp).max(0.0).min(255.0);
                        *o = (r + 8_388_608.0).to_bits() as u8;
                    }
                },
            );
            (zp, q)
        };
        outputs(vec![Tensor::from_vec(x.shape().to_vec(), q)?, Tensor::scalar(scale), Tensor::scalar(zp as u8)])
    })
}

/// `(min(0, min v), max(0, max v))`, NaNs ignored; 16 independent lanes so the
/// loop vectorizes (a single running min/max is one long dependency chain).
#[inline(always)]
fn min_max_with_zero(v: &[f32]) -> (f32, f32) {
    let mut lo = [0.0f32; 16];
    let mut hi = [0.0f32; 16];
    let chunks = v.chunks_exact(16);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..16 {
            lo[i] = lo[i].min(c[i]);
            hi[i] = hi[i].max(c[i]);
        }
    }
    let fold = |acc: (f32, f32), &y: &f32| (acc.0.min(y), acc.1.max(y));
    let (l, h) = tail.iter().fold((0.0f32, 0.0f32), fold);
    let l = lo.iter().fold(l, |a, &b| a.min(b));
    let h = hi.iter().fold(h, |a, &b| a.max(b));
    (l, h)
}

/// The saturation range of a requantized output (QLinearConv, QLinearMatMul),
/// from its zero point's type.
pub(crate) fn output_range(y_zp: &Tensor) -> Result<(f64, f64)> {
    match y_zp.dtype() {
        DType::UInt8 => Ok((0.0, 255.0)),
        DType::Int8 => Ok((-128.0, 127.0)),
        d => Err(Error::TypeMismatch(format!("y_zero_point must be int8/uint8, got {d}"))),
    }
}

/// Requantized values (already rounded and clamped to [`output_range`]) as a
/// tensor of the zero point's type.
pub(crate) fn requantized_tensor(y_zp: &Tensor, shape: Vec<usize>, q: Vec<f64>) -> Result<Tensor> {
    if y_zp.dtype() == DType::UInt8 {
        Tensor::from_vec(shape, q.into_iter().map(|v| v as u8).collect::<Vec<u8>>())
    } else {
        Tensor::from_vec(shape, q.into_iter().map(|v| v as i8).collect::<Vec<i8>>())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::{DType, Tensor};
    use ronn_ir::{Attribute, Node};

    #[test]
    fn quantize_rounds_half_to_even_and_saturates() {
        let x = Tensor::from_vec(vec![6], vec![0.0f32, 2.0, 3.0, 1000.0, -254.0, -1000.0]).unwrap();
        let s = Tensor::scalar(2.0f32);
        let z = Tensor::scalar(128u8);
        let y = run_node(&Node::new("QuantizeLinear", &["x", "s", "z"], &["y"], 13), vec![x, s, z]).unwrap();
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &[128, 129, 130, 255, 1, 0]);
    }

    #[test]
    fn per_axis_and_blocked_dequantize() {
        let x = Tensor::from_vec(vec![2, 2], vec![1i8, 2, 3, 4]).unwrap();
        let s = Tensor::from_vec(vec![2], vec![1.0f32, 10.0]).unwrap();
        let n = Node::new("DequantizeLinear", &["x", "s"], &["y"], 13).with_attr("axis", Attribute::Int(0));
        assert_eq!(run_node(&n, vec![x.clone(), s]).unwrap()[0].as_slice::<f32>().unwrap(), &[1.0, 2.0, 30.0, 40.0]);
        let s = Tensor::from_vec(vec![2, 1], vec![1.0f32, 10.0]).unwrap();
        let n = Node::new("DequantizeLinear", &["x", "s"], &["y"], 21)
            .with_attr("axis", Attribute::Int(1))
            .with_attr("block_size", Attribute::Int(2));
        assert_eq!(run_node(&n, vec![x, s]).unwrap()[0].as_slice::<f32>().unwrap(), &[1.0, 2.0, 30.0, 40.0]);
    }

    #[test]
    fn dynamic_quantize_covers_zero() {
        let x = Tensor::from_vec(vec![3], vec![0.0f32, 2.0, 2.55]).unwrap();
        let y = run_node(&Node::new("DynamicQuantizeLinear", &["x"], &["y", "s", "z"], 11), vec![x]).unwrap();
        assert_eq!(y[2].as_slice::<u8>().unwrap(), &[0]);
        assert!((y[1].as_slice::<f32>().unwrap()[0] - 0.01).abs() < 1e-7);
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &[0, 200, 255]);
    }

    #[test]
    fn dynamic_quantize_long_input_matches_the_spec_formula() {
        // 37 values: the 16-lane min/max path plus a tail, negatives and a NaN-free range.
        let v: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37 - 4.1) * if i % 3 == 0 { -1.5 } else { 1.0 }).collect();
        let (mn, mx) = v.iter().fold((0f32, 0f32), |(a, b), &x| (a.min(x), b.max(x)));
        let scale = (mx - mn) / 255.0;
        let zp = (-mn / scale).round_ties_even().clamp(0.0, 255.0);
        let want: Vec<u8> = v.iter().map(|&x| ((x / scale).round_ties_even() + zp).clamp(0.0, 255.0) as u8).collect();
        let x = Tensor::from_vec(vec![37], v).unwrap();
        let y = run_node(&Node::new("DynamicQuantizeLinear", &["x"], &["y", "s", "z"], 11), vec![x]).unwrap();
        assert_eq!(y[1].as_slice::<f32>().unwrap(), &[scale]);
        assert_eq!(y[2].as_slice::<u8>().unwrap(), &[zp as u8]);
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &want[..]);
        assert!(want.contains(&0) && want.contains(&255));
    }

    fn f32s(t: &Tensor) -> Vec<f32> {
        t.cast(DType::Float32).unwrap().as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn quantize_to_small_ints_clamps() {
        // test_quantizelinear_int4-like: per-axis scale and zero point.
        let x = Tensor::from_vec(vec![2, 3], vec![0.0f32, 2.5, 4.8, -100.0, 7.0, 13.0]).unwrap();
        let s = Tensor::from_vec(vec![2], vec![1.0f32, 2.0]).unwrap();
        for (d, zp, want) in [
            (DType::Int4, vec![1i64, -1], vec![1, 3, 6, -8, 3, 5]),
            (DType::UInt4, vec![1, 2], vec![1, 3, 6, 0, 6, 8]),
            (DType::Int2, vec![0, 0], vec![0, 1, 1, -2, 1, 1]),
            (DType::UInt2, vec![1, 0], vec![1, 3, 3, 0, 3, 3]),
        ] {
            let z = Tensor::from_vec(vec![2], zp).unwrap().cast(d).unwrap();
            let n = Node::new("QuantizeLinear", &["x", "s", "z"], &["y"], 21).with_attr("axis", Attribute::Int(0));
            let y = run_node(&n, vec![x.clone(), s.clone(), z.clone()]).unwrap();
            assert_eq!(y[0].dtype(), d);
            assert_eq!(y[0].to_i64_vec().unwrap(), want, "{d}");
            // And back: (q - zp) * scale.
            let n = Node::new("DequantizeLinear", &["y", "s", "z"], &["x"], 21).with_attr("axis", Attribute::Int(0));
            let back = run_node(&n, vec![y[0].clone(), s.clone(), z]).unwrap();
            let zv = y[0].to_i64_vec().unwrap();
            assert_eq!(back[0].as_slice::<f32>().unwrap().len(), zv.len());
        }
        // output_dtype without a zero point.
        let n = Node::new("QuantizeLinear", &["x", "s"], &["y"], 21)
            .with_attr("axis", Attribute::Int(0))
            .with_attr("output_dtype", Attribute::Int(DType::Int4.to_onnx() as i64));
        let y = run_node(&n, vec![x, s]).unwrap();
        assert_eq!(y[0].to_i64_vec().unwrap(), vec![0, 2, 5, -8, 4, 6]);
    }

    #[test]
    fn quantize_to_float8_saturates_and_ignores_zero_point() {
        let x = Tensor::from_vec(vec![5], vec![0.0f32, 1.0, 2.0, 200000.0, -1000.0]).unwrap();
        let s = Tensor::scalar(2.0f32);
        let z = Tensor::from_small(DType::Float8E4M3FN, vec![1], vec![0]).unwrap();
        let n = Node::new("QuantizeLinear", &["x", "s", "z"], &["y"], 19);
        let y = run_node(&n, vec![x.clone(), s.clone(), z]).unwrap();
        assert_eq!(y[0].dtype(), DType::Float8E4M3FN);
        assert_eq!(f32s(&y[0]), vec![0.0, 0.5, 1.0, 448.0, -448.0]);
        let z = Tensor::from_small(DType::Float8E5M2, vec![1], vec![0]).unwrap();
        let n = Node::new("QuantizeLinear", &["x", "s", "z"], &["y"], 19).with_attr("saturate", Attribute::Int(0));
        let y = run_node(&n, vec![x.clone(), s.clone(), z]).unwrap();
        assert_eq!(f32s(&y[0]), vec![0.0, 0.5, 1.0, f32::INFINITY, -512.0]);
        // Dequantize: x * scale, to the scale's type.
        let n = Node::new("DequantizeLinear", &["y", "s"], &["x"], 19);
        let d = run_node(&n, vec![y[0].clone(), Tensor::scalar(ronn_core::f16::from_f32(2.0))]).unwrap();
        assert_eq!(d[0].dtype(), DType::Float16);
        assert_eq!(f32s(&d[0])[..3], [0.0, 1.0, 2.0]);
    }

    #[test]
    fn float4_quantize_adds_zero_point_dequantize_ignores_it() {
        let x = Tensor::from_vec(vec![4], vec![0.0f32, 1.0, 3.0, 100.0]).unwrap();
        let s = Tensor::scalar(1.0f32);
        let z = Tensor::from_vec(vec![1], vec![0.5f32]).unwrap().cast(DType::Float4E2M1).unwrap();
        let n = Node::new("QuantizeLinear", &["x", "s", "z"], &["y"], 23);
        let y = run_node(&n, vec![x, s.clone(), z.clone()]).unwrap();
        assert_eq!(f32s(&y[0]), vec![0.5, 1.5, 4.0, 6.0]);
        let n = Node::new("DequantizeLinear", &["y", "s", "z"], &["x"], 23);
        let d = run_node(&n, vec![y[0].clone(), s, z]).unwrap();
        assert_eq!(d[0].as_slice::<f32>().unwrap(), &[0.5, 1.5, 4.0, 6.0]);
    }

    #[test]
    fn dequantize_e8m0_scale_and_output_dtype() {
        let x = Tensor::from_vec(vec![2], vec![3i8, -4]).unwrap();
        let s = Tensor::from_small(DType::Float8E8M0, vec![], vec![128]).unwrap(); // 2.0
        let n = Node::new("DequantizeLinear", &["x", "s"], &["y"], 23)
            .with_attr("output_dtype", Attribute::Int(DType::BFloat16.to_onnx() as i64));
        let y = run_node(&n, vec![x.clone(), s.clone()]).unwrap();
        assert_eq!(y[0].dtype(), DType::BFloat16);
        assert_eq!(f32s(&y[0]), vec![6.0, -8.0]);
        let n = Node::new("DequantizeLinear", &["x", "s"], &["y"], 23);
        assert_eq!(run_node(&n, vec![x.clone(), s]).unwrap()[0].as_slice::<f32>().unwrap(), &[6.0, -8.0]);
        let bad = Node::new("DequantizeLinear", &["x", "s"], &["y"], 23).with_attr("output_dtype", Attribute::Int(7));
        assert!(run_node(&bad, vec![x.clone(), Tensor::scalar(1.0f32)]).is_err());
        // A zero point of another integer type is refused.
        let n = Node::new("DequantizeLinear", &["x", "s", "z"], &["y"], 23);
        assert!(run_node(&n, vec![x, Tensor::scalar(1.0f32), Tensor::scalar(1u8)]).is_err());
    }

    #[test]
    fn wrong_scale_shape_is_an_error() {
        let x = Tensor::from_vec(vec![2, 3], vec![0f32; 6]).unwrap();
        let s = Tensor::from_vec(vec![2], vec![1.0f32, 1.0]).unwrap();
        assert!(run_node(&Node::new("QuantizeLinear", &["x", "s"], &["y"], 13), vec![x, s]).is_err());
    }
}
