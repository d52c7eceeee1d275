//! Linear quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html> (opsets 10,
//! 13 per-axis, 19, 21 blocked + output_dtype), `DequantizeLinear`,
//! `DynamicQuantizeLinear` (11). Scales are per tensor (scalar), per axis (1-D
//! along `axis`) or blocked (same rank, `block_size` along `axis`). Quantized
//! types: int8, uint8, int16, uint16 and (dequantize) int32; float8 and 4/2-bit
//! types are not stored by RONN and are refused. Rounding is half to even.

use crate::helpers::{input, kernel, opt_input, output, outputs};
use ronn_core::{dispatch_float, normalize_axis, DType, Element, Error, Result, Tensor};
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

fn quantized_range(d: DType) -> Result<(f64, f64)> {
    Ok(match d {
        DType::UInt8 => (0.0, 255.0),
        DType::Int8 => (-128.0, 127.0),
        DType::UInt16 => (0.0, 65535.0),
        DType::Int16 => (-32768.0, 32767.0),
        DType::Int32 => (i32::MIN as f64, i32::MAX as f64),
        other => return Err(Error::UnsupportedOp(format!("quantized type {other}"))),
    })
}

fn make_int(dtype: DType, shape: Vec<usize>, v: Vec<f64>) -> Result<Tensor> {
    ronn_core::dispatch_int!(dtype, T => Tensor::from_vec(shape, v.into_iter().map(T::from_f64).collect::<Vec<T>>()),
        _ => Err(Error::UnsupportedOp(format!("quantized type {dtype}"))))
}

fn build_quantize(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let axis = node.attr_i_or("axis", 1)?;
    let block = node.attr_i_or("block_size", 0)?;
    let out_attr = node.attr_i_or("output_dtype", 0)?;
    let out_attr = if out_attr == 0 {
        None
    } else {
        let d =
            DType::from_onnx(out_attr as i32).ok_or_else(|| node.unsupported(format!("output_dtype {out_attr}")))?;
        quantized_range(d).map_err(|_| node.unsupported(format!("output_dtype {d} is not supported")))?;
        Some(d)
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let scale = input(inputs, 1)?;
        let zp = opt_input(inputs, 2)?;
        let dtype = zp.map(|z| z.dtype()).or(out_attr).unwrap_or(DType::UInt8);
        let (lo, hi) = quantized_range(dtype)?;
        let map = ScaleMap::new(x.shape(), scale.shape(), axis, block)?;
        let s = scale.to_f64_vec()?;
        let z = match zp {
            Some(z) => z.to_f64_vec()?,
            None => vec![0.0; s.len()],
        };
        let xs = x.to_f64_vec()?;
        // Divide in the input's precision (f32 for f32 models) as the reference does.
        let single = x.dtype() != DType::Float64;
        let q: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let k = map.index(i);
                let scaled = if single { (v as f32 / s[k] as f32) as f64 } else { v / s[k] };
                (round_half_even(scaled) + z.get(k).copied().unwrap_or(0.0)).clamp(lo, hi)
            })
            .collect();
        output(make_int(dtype, x.shape().to_vec(), q)?)
    })
}

fn build_dequantize(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let axis = node.attr_i_or("axis", 1)?;
    let block = node.attr_i_or("block_size", 0)?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        quantized_range(x.dtype())?;
        let scale = input(inputs, 1)?;
        let zp = opt_input(inputs, 2)?;
        let map = ScaleMap::new(x.shape(), scale.shape(), axis, block)?;
        let s = scale.to_f64_vec()?;
        let z = match zp {
            Some(z) => z.to_f64_vec()?,
            None => vec![0.0; s.len()],
        };
        let xs = x.to_f64_vec()?;
        let y: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let k = map.index(i);
                ((v - z.get(k).copied().unwrap_or(0.0)) as f32 * s[k] as f32) as f64
            })
            .collect();
        dispatch_float!(scale.dtype(), T => output(Tensor::from_vec(x.shape().to_vec(), y.into_iter().map(T::from_f64).collect::<Vec<T>>())?),
            _ => Err(Error::TypeMismatch(format!("scale must be a float tensor, got {}", scale.dtype()))))
    })
}

fn build_dynamic(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let x = input(inputs, 0)?;
        let v = x.as_slice::<f32>()?;
        let (mn, mx) = v.iter().fold((0.0f32, 0.0f32), |(a, b), &y| (a.min(y), b.max(y)));
        let scale = (mx - mn) / 255.0;
        let (zp, q): (f32, Vec<u8>) = if scale == 0.0 {
            (0.0, vec![0; v.len()])
        } else {
            let zp = round_half_even((-mn / scale) as f64).clamp(0.0, 255.0) as f32;
            let q =
                v.iter().map(|&y| (round_half_even((y / scale) as f64) + zp as f64).clamp(0.0, 255.0) as u8).collect();
            (zp, q)
        };
        outputs(vec![Tensor::from_vec(x.shape().to_vec(), q)?, Tensor::scalar(scale), Tensor::scalar(zp as u8)])
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
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
    fn wrong_scale_shape_is_an_error() {
        let x = Tensor::from_vec(vec![2, 3], vec![0f32; 6]).unwrap();
        let s = Tensor::from_vec(vec![2], vec![1.0f32, 1.0]).unwrap();
        assert!(run_node(&Node::new("QuantizeLinear", &["x", "s"], &["y"], 13), vec![x, s]).is_err());
    }
}
