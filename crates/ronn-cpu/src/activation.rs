//! Activation operators (default domain, every opset): Relu, LeakyRelu, PRelu,
//! Elu, Selu, Celu, Sigmoid, HardSigmoid, HardSwish, Tanh, Softplus, Softsign,
//! Gelu, Mish, Swish, ThresholdedRelu, Shrink, Clip.
//! See <https://onnx.ai/onnx/operators/>.
//!
//! Opset changes handled:
//! - Clip: `min`/`max` are attributes before opset 11 and optional inputs from 11
//!   (integer types from 12). Min above max gives max everywhere.
//! - PRelu: slope broadcasts (unidirectionally) onto X; old opsets are treated the same.
//! - Relu takes signed integers from opset 14; Shrink and PRelu take integers.
//! - Gelu (opset 20): `approximate` = none | tanh. Swish (opset 24): `alpha`.
//! - Old `consumed_inputs` attributes are ignored.
//!
//! f32 Sigmoid/Tanh/Gelu/Swish/... use the vectorizable approximations in
//! [`crate::math`]; f16/bf16 compute in f32.

use crate::elementwise::{binary, simd_unary_into, unary};
use crate::helpers::{input, kernel, opt_input, output};
use crate::math::{erf_f32, erf_f64, exp_f32, map_float, sigmoid_f32, tanh_f32};
use ronn_core::{bail, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

fn make_relu(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let t = input(inputs, 0)?;
        let dt = t.dtype();
        if dt == DType::Float32 {
            // Runtime-dispatched SIMD (ronn_core::simd); NaN propagates, -0 stays -0.
            let x = t.as_slice::<f32>()?;
            let mut y = ronn_core::pool::for_overwrite::<f32>(x.len());
            simd_unary_into(x, &mut y, ronn_core::simd::relu_f32)?;
            return output(Tensor::from_vec(t.shape().to_vec(), y)?);
        }
        if dt.is_float() {
            // Same semantics as the f32 path: max(x, 0) with NaN propagation.
            let relu32 = |x: f32| if x < 0.0 { 0.0 } else { x };
            return output(map_float(t, relu32, |x: f64| if x < 0.0 { 0.0 } else { x })?);
        }
        ronn_core::dispatch_int!(dt, T => {
            let z = T::default();
            output(Tensor::from_vec(t.shape().to_vec(), unary(t.as_slice::<T>()?, |x: &T| if *x > z { *x } else { z }))?)
        }, _ => Err(Error::TypeMismatch(format!("Relu does not support {dt}"))))
    })
}

fn make_leaky_relu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_f_or("alpha", 0.01)?;
    kernel(move |_, inputs| {
        let ad = a as f64;
        output(map_float(
            input(inputs, 0)?,
            |x: f32| if x >= 0.0 { x } else { a * x },
            |x: f64| if x >= 0.0 { x } else { ad * x },
        )?)
    })
}

fn prelu(x: &Tensor, s: &Tensor) -> Result<Tensor> {
    if x.dtype() != s.dtype() {
        bail!(TypeMismatch, "PRelu slope must have X's type {}, got {}", x.dtype(), s.dtype());
    }
    let dt = x.dtype();
    let xs = x.shape();
    match dt {
        DType::Float32 => {
            let (shape, v) = binary(
                x.as_slice::<f32>()?,
                xs,
                s.as_slice::<f32>()?,
                s.shape(),
                |&x: &f32, &a: &f32| {
                    if x >= 0.0 {
                        x
                    } else {
                        a * x
                    }
                },
            )?;
            Tensor::from_vec(shape, v)
        }
        DType::Float16 | DType::BFloat16 => prelu(&x.cast(DType::Float32)?, &s.cast(DType::Float32)?)?.cast(dt),
        _ => ronn_core::dispatch_numeric!(dt, T => {
            let (shape, v) = binary(x.as_slice::<T>()?, xs, s.as_slice::<T>()?, s.shape(), |x: &T, a: &T| {
                if *x >= T::default() { *x } else { T::from_f64(a.to_f64() * x.to_f64()) }
            })?;
            Tensor::from_vec(shape, v)
        }, _ => Err(Error::TypeMismatch(format!("PRelu does not support {dt}")))),
    }
}

fn make_prelu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    // Before opset 7 a 1-D slope of C values applies per channel (axis 1), not by
    // numpy broadcasting against the last axis.
    let per_channel = ctx.node.opset < 7;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let s = input(inputs, 1)?;
        let channel_slope = per_channel && s.rank() == 1 && s.len() > 1 && x.rank() > 2 && x.shape()[1] == s.len();
        let reshaped;
        let s = if channel_slope {
            let mut shape = vec![1; x.rank() - 1];
            shape[0] = s.len();
            reshaped = s.clone().reshape(shape)?;
            &reshaped
        } else {
            s
        };
        let y = prelu(x, s)?;
        if y.shape() != x.shape() {
            bail!(ShapeMismatch, "PRelu slope {:?} must broadcast to X {:?}", s.shape(), x.shape());
        }
        output(y)
    })
}

fn make_elu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_f_or("alpha", 1.0)?;
    kernel(move |_, inputs| {
        let ad = a as f64;
        output(map_float(
            input(inputs, 0)?,
            |x: f32| if x >= 0.0 { x } else { a * (exp_f32(x) - 1.0) },
            |x: f64| if x >= 0.0 { x } else { ad * x.exp_m1() },
        )?)
    })
}

fn make_selu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_f_or("alpha", 1.673_263_2)?;
    let g = ctx.node.attr_f_or("gamma", 1.050_701)?;
    kernel(move |_, inputs| {
        let (ad, gd) = (a as f64, g as f64);
        output(map_float(
            input(inputs, 0)?,
            |x: f32| if x > 0.0 { g * x } else { g * a * (exp_f32(x) - 1.0) },
            |x: f64| if x > 0.0 { gd * x } else { gd * ad * x.exp_m1() },
        )?)
    })
}

fn make_celu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_f_or("alpha", 1.0)?;
    if a == 0.0 {
        return Err(ctx.node.unsupported("Celu alpha must not be 0"));
    }
    kernel(move |_, inputs| {
        let ad = a as f64;
        output(map_float(
            input(inputs, 0)?,
            |x: f32| x.max(0.0) + (a * (exp_f32(x / a) - 1.0)).min(0.0),
            |x: f64| x.max(0.0) + (ad * (x / ad).exp_m1()).min(0.0),
        )?)
    })
}

fn make_sigmoid(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| output(map_float(input(inputs, 0)?, sigmoid_f32, |x: f64| 1.0 / (1.0 + (-x).exp()))?))
}

fn make_hard_sigmoid(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_f_or("alpha", 0.2)?;
    let b = ctx.node.attr_f_or("beta", 0.5)?;
    kernel(move |_, inputs| {
        let (ad, bd) = (a as f64, b as f64);
        output(map_float(
            input(inputs, 0)?,
            |x: f32| (a * x + b).clamp(0.0, 1.0),
            |x: f64| (ad * x + bd).clamp(0.0, 1.0),
        )?)
    })
}

fn make_hard_swish(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        output(map_float(
            input(inputs, 0)?,
            |x: f32| x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            |x: f64| x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
        )?)
    })
}

fn make_tanh(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| output(map_float(input(inputs, 0)?, tanh_f32, |x: f64| x.tanh())?))
}

#[inline(always)]
fn softplus_f32(x: f32) -> f32 {
    // max(x, 0) + log1p(exp(-|x|)), stable for large |x|.
    x.max(0.0) + (exp_f32(-x.abs())).ln_1p()
}

fn softplus_f64(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn make_softplus(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| output(map_float(input(inputs, 0)?, softplus_f32, softplus_f64)?))
}

fn make_softsign(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        output(map_float(input(inputs, 0)?, |x: f32| x / (1.0 + x.abs()), |x: f64| x / (1.0 + x.abs()))?)
    })
}

fn make_gelu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let approx = ctx.node.attr_s_or("approximate", "none")?;
    let tanh = match approx.as_str() {
        "none" => false,
        "tanh" => true,
        other => return Err(ctx.node.unsupported(format!("Gelu approximate must be none or tanh, got '{other}'"))),
    };
    kernel(move |_, inputs| {
        let t = input(inputs, 0)?;
        const S2PI: f64 = 0.797_884_560_802_865_4; // sqrt(2/pi)
        if tanh {
            output(map_float(
                t,
                |x: f32| 0.5 * x * (1.0 + tanh_f32(S2PI as f32 * (x + 0.044_715 * x * x * x))),
                |x: f64| 0.5 * x * (1.0 + (S2PI * (x + 0.044_715 * x * x * x)).tanh()),
            )?)
        } else {
            output(map_float(
                t,
                |x: f32| 0.5 * x * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2)),
                |x: f64| 0.5 * x * (1.0 + erf_f64(x * std::f64::consts::FRAC_1_SQRT_2)),
            )?)
        }
    })
}

fn make_mish(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        output(map_float(
            input(inputs, 0)?,
            |x: f32| x * tanh_f32(softplus_f32(x)),
            |x: f64| x * softplus_f64(x).tanh(),
        )?)
    })
}

fn make_swish(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_f_or("alpha", 1.0)?;
    kernel(move |_, inputs| {
        let ad = a as f64;
        output(map_float(input(inputs, 0)?, |x: f32| x * sigmoid_f32(a * x), |x: f64| x / (1.0 + (-ad * x).exp()))?)
    })
}

fn make_thresholded_relu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_f_or("alpha", 1.0)?;
    kernel(move |_, inputs| {
        let ad = a as f64;
        output(map_float(
            input(inputs, 0)?,
            |x: f32| if x > a { x } else { 0.0 },
            |x: f64| if x > ad { x } else { 0.0 },
        )?)
    })
}

fn make_shrink(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let bias = ctx.node.attr_f_or("bias", 0.0)? as f64;
    let lambd = ctx.node.attr_f_or("lambd", 0.5)? as f64;
    kernel(move |_, inputs| {
        let t = input(inputs, 0)?;
        let dt = t.dtype();
        if dt.is_float() {
            let (b32, l32) = (bias as f32, lambd as f32);
            return output(map_float(
                t,
                |x: f32| {
                    if x < -l32 {
                        x + b32
                    } else if x > l32 {
                        x - b32
                    } else {
                        0.0
                    }
                },
                |x: f64| {
                    if x < -lambd {
                        x + bias
                    } else if x > lambd {
                        x - bias
                    } else {
                        0.0
                    }
                },
            )?);
        }
        ronn_core::dispatch_int!(dt, T => {
            let v = unary(t.as_slice::<T>()?, |x: &T| {
                let xf = x.to_f64();
                if xf < -lambd { T::from_f64(xf + bias) } else if xf > lambd { T::from_f64(xf - bias) } else { T::default() }
            });
            output(Tensor::from_vec(t.shape().to_vec(), v)?)
        }, _ => Err(Error::TypeMismatch(format!("Shrink does not support {dt}"))))
    })
}

fn clip_t<T: Element>(t: &Tensor, lo: Option<&Tensor>, hi: Option<&Tensor>, attr: (f32, f32)) -> Result<Tensor> {
    let bound = |b: Option<&Tensor>, what: &str| -> Result<Option<T>> {
        match b {
            None => Ok(None),
            Some(b) => {
                if b.len() != 1 {
                    bail!(ShapeMismatch, "Clip {what} must be a scalar, got shape {:?}", b.shape());
                }
                if b.dtype() != T::DTYPE {
                    bail!(TypeMismatch, "Clip {what} must be {}, got {}", T::DTYPE, b.dtype());
                }
                Ok(b.as_slice::<T>()?.first().copied())
            }
        }
    };
    let mut lo_v = bound(lo, "min")?;
    let mut hi_v = bound(hi, "max")?;
    if lo.is_none() && attr.0 != f32::NEG_INFINITY {
        lo_v = Some(T::from_f64(attr.0 as f64));
    }
    if hi.is_none() && attr.1 != f32::INFINITY {
        hi_v = Some(T::from_f64(attr.1 as f64));
    }
    let v = match (lo_v, hi_v) {
        (Some(l), Some(h)) => unary(t.as_slice::<T>()?, |&x: &T| {
            let y = if x < l { l } else { x };
            if y > h {
                h
            } else {
                y
            }
        }),
        (Some(l), None) => unary(t.as_slice::<T>()?, |&x: &T| if x < l { l } else { x }),
        (None, Some(h)) => unary(t.as_slice::<T>()?, |&x: &T| if x > h { h } else { x }),
        (None, None) => return Ok(t.clone()),
    };
    Tensor::from_vec(t.shape().to_vec(), v)
}

fn make_clip(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let old = ctx.node.opset < 11;
    let attr = if old {
        (ctx.node.attr_f_or("min", f32::NEG_INFINITY)?, ctx.node.attr_f_or("max", f32::INFINITY)?)
    } else {
        (f32::NEG_INFINITY, f32::INFINITY)
    };
    kernel(move |_, inputs| {
        let t = input(inputs, 0)?;
        let (lo, hi) = if old { (None, None) } else { (opt_input(inputs, 1)?, opt_input(inputs, 2)?) };
        let dt = t.dtype();
        ronn_core::dispatch_numeric!(dt, T => output(clip_t::<T>(t, lo, hi, attr)?),
            _ => Err(Error::TypeMismatch(format!("Clip does not support {dt}"))))
    })
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Relu", make_relu);
    r.register_all("LeakyRelu", make_leaky_relu);
    r.register_all("PRelu", make_prelu);
    r.register_all("Elu", make_elu);
    r.register_all("Selu", make_selu);
    r.register_all("Celu", make_celu);
    r.register_all("Sigmoid", make_sigmoid);
    r.register_all("HardSigmoid", make_hard_sigmoid);
    r.register_all("HardSwish", make_hard_swish);
    r.register_all("Tanh", make_tanh);
    r.register_all("Softplus", make_softplus);
    r.register_all("Softsign", make_softsign);
    r.register_all("Gelu", make_gelu);
    r.register_all("Mish", make_mish);
    r.register_all("Swish", make_swish);
    r.register_all("ThresholdedRelu", make_thresholded_relu);
    r.register_all("Shrink", make_shrink);
    r.register_all("Clip", make_clip);
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_close, run_node, run_node_opt};
    use ronn_core::{Tensor, Value};
    use ronn_ir::{Attribute, Node};

    fn x() -> Tensor {
        Tensor::from_vec(vec![5], vec![-3f32, -0.5, 0.0, 0.5, 3.0]).unwrap()
    }

    fn run(n: &Node, ins: Vec<Tensor>) -> Vec<f32> {
        run_node(n, ins).unwrap().remove(0).as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn prelu_before_opset_7_takes_one_slope_per_channel() {
        let x = Tensor::from_vec(vec![1, 2, 3], vec![-1f32, -2., 3., -4., 5., -6.]).unwrap();
        let s = Tensor::from_vec(vec![2], vec![0.5f32, 2.0]).unwrap();
        let old = Node::new("PRelu", &["x", "s"], &["y"], 6);
        assert_eq!(run(&old, vec![x.clone(), s.clone()]), vec![-0.5, -1.0, 3.0, -8.0, 5.0, -12.0]);
        // From opset 7 the same slope broadcasts against the last axis (3): an error.
        let new = Node::new("PRelu", &["x", "s"], &["y"], 7);
        assert!(run_node(&new, vec![x, s]).is_err());
    }

    fn op(name: &str) -> Node {
        Node::new(name, &["x"], &["y"], 22)
    }

    #[test]
    fn simple_activations() {
        assert_eq!(run(&op("Relu"), vec![x()]), vec![0., 0., 0., 0.5, 3.]);
        assert_close(&run(&op("LeakyRelu"), vec![x()]), &[-0.03, -0.005, 0., 0.5, 3.]);
        assert_close(&run(&op("Sigmoid"), vec![x()]), &[0.047_425_87, 0.377_540_67, 0.5, 0.622_459_3, 0.952_574_1]);
        assert_close(&run(&op("Tanh"), vec![x()]), &[-0.995_055, -0.462_117_16, 0., 0.462_117_16, 0.995_055]);
        assert_close(&run(&op("Elu"), vec![x()]), &[-0.950_212_9, -0.393_469_34, 0., 0.5, 3.]);
        assert_close(
            &run(&op("Softplus"), vec![x()]),
            &[0.048_587_35, 0.474_076_97, 0.693_147_2, 0.974_077, 3.048_587_3],
        );
        assert_close(&run(&op("Softsign"), vec![x()]), &[-0.75, -1.0 / 3.0, 0., 1.0 / 3.0, 0.75]);
        assert_close(&run(&op("HardSigmoid"), vec![x()]), &[0., 0.4, 0.5, 0.6, 1.]);
        assert_close(&run(&op("HardSwish"), vec![x()]), &[0., -0.208_333_33, 0., 0.291_666_66, 3.]);
        assert_close(&run(&op("ThresholdedRelu"), vec![x()]), &[0., 0., 0., 0., 3.]);
        assert_close(&run(&op("Selu"), vec![x()]), &[-1.670_568_7, -0.691_758_2, 0., 0.525_350_5, 3.152_103]);
        assert_close(&run(&op("Celu"), vec![x()]), &[-0.950_212_9, -0.393_469_34, 0., 0.5, 3.]);
        assert_close(&run(&op("Mish"), vec![x()]), &[-0.145_647_46, -0.220_743_77, 0., 0.375_245_2, 2.986_535]);
        assert_close(&run(&op("Swish"), vec![x()]), &[-0.142_277_6, -0.188_770_33, 0., 0.311_229_65, 2.857_722_3]);
    }

    #[test]
    fn gelu_variants() {
        assert_close(&run(&op("Gelu"), vec![x()]), &[-0.004_049_7, -0.154_268_5, 0., 0.345_731_5, 2.995_950_3]);
        let n = op("Gelu").with_attr("approximate", Attribute::String(b"tanh".to_vec()));
        assert_close(&run(&n, vec![x()]), &[-0.003_637_4, -0.154_285_99, 0., 0.345_714, 2.996_362_6]);
        let bad = op("Gelu").with_attr("approximate", Attribute::String(b"fast".to_vec()));
        assert!(run_node(&bad, vec![x()]).is_err());
    }

    #[test]
    fn shrink_and_prelu() {
        let n = op("Shrink").with_attr("lambd", Attribute::Float(1.0)).with_attr("bias", Attribute::Float(0.5));
        assert_close(&run(&n, vec![x()]), &[-2.5, 0., 0., 0., 2.5]);
        let p = Node::new("PRelu", &["x", "s"], &["y"], 16);
        let xs = Tensor::from_vec(vec![2, 2], vec![-1f32, 2., -3., 4.]).unwrap();
        let s = Tensor::from_vec(vec![2], vec![0.1f32, 0.2]).unwrap();
        assert_close(&run(&p, vec![xs.clone(), s]), &[-0.1, 2., -0.3, 4.]);
        let bad = Tensor::from_vec(vec![3], vec![0.1f32, 0.2, 0.3]).unwrap();
        assert!(run_node(&p, vec![xs.clone(), bad]).is_err());
        let big = Tensor::from_vec(vec![2, 2, 2], vec![0.1f32; 8]).unwrap();
        assert!(run_node(&p, vec![xs, big]).is_err());
    }

    #[test]
    fn clip_attributes_and_inputs() {
        let old = op("Clip").with_attr("min", Attribute::Float(-1.0)).with_attr("max", Attribute::Float(1.0));
        let old = Node { opset: 6, ..old };
        assert_eq!(run(&old, vec![x()]), vec![-1., -0.5, 0., 0.5, 1.]);
        let n = Node::new("Clip", &["x", "", "max"], &["y"], 13);
        let y = run_node_opt(&n, vec![Some(Value::Tensor(x())), None, Some(Value::Tensor(Tensor::scalar(0.2f32)))])
            .unwrap();
        assert_eq!(y[0].as_tensor().unwrap().as_slice::<f32>().unwrap(), &[-3., -0.5, 0., 0.2, 0.2]);
        // min > max: everything becomes max
        let n = Node::new("Clip", &["x", "min", "max"], &["y"], 13);
        let y = run(&n, vec![x(), Tensor::scalar(2f32), Tensor::scalar(1f32)]);
        assert_eq!(y, vec![1.; 5]);
        let xi = Tensor::from_vec(vec![3], vec![-5i8, 0, 9]).unwrap();
        let y = run_node(&Node::new("Clip", &["x", "min"], &["y"], 13), vec![xi, Tensor::scalar(0i8)]).unwrap();
        assert_eq!(y[0].as_slice::<i8>().unwrap(), &[0, 0, 9]);
        let y = run_node(&n, vec![x(), Tensor::scalar(0i32), Tensor::scalar(1i32)]);
        assert!(y.is_err());
    }

    #[test]
    fn relu_f32_simd_nan_signed_zero_and_parallel() {
        // Large enough for the parallel chunking, odd so every SIMD tail runs.
        let n = (1 << 17) + 13;
        let special = [f32::NAN, -0.0, 0.0, -1.5, 2.5, f32::NEG_INFINITY];
        let v: Vec<f32> = (0..n).map(|i| special[i % special.len()]).collect();
        let y = run(&op("Relu"), vec![Tensor::from_vec(vec![n], v.clone()).unwrap()]);
        for (i, (&a, &b)) in v.iter().zip(&y).enumerate() {
            let want = if a < 0.0 { 0.0f32 } else { a };
            assert_eq!(b.to_bits(), want.to_bits(), "element {i}: relu({a})");
        }
        assert!(y[0].is_nan() && y[1].to_bits() == (-0.0f32).to_bits());
        // f64 and f16 agree with the f32 path on NaN.
        let y = run_node(&op("Relu"), vec![Tensor::from_vec(vec![2], vec![f64::NAN, -1.0]).unwrap()]).unwrap();
        let y = y[0].as_slice::<f64>().unwrap();
        assert!(y[0].is_nan() && y[1] == 0.0);
        let h = Tensor::from_vec(vec![2], vec![half::f16::NAN, half::f16::from_f32(-1.0)]).unwrap();
        let y = run_node(&op("Relu"), vec![h]).unwrap();
        let y = y[0].as_slice::<half::f16>().unwrap();
        assert!(y[0].is_nan() && y[1].to_f32() == 0.0);
    }

    #[test]
    fn relu_int_and_bad_type() {
        let xi = Tensor::from_vec(vec![3], vec![-5i32, 0, 9]).unwrap();
        let y = run_node(&op("Relu"), vec![xi]).unwrap();
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[0, 0, 9]);
        assert!(run_node(&op("Sigmoid"), vec![Tensor::from_vec(vec![1], vec![1i32]).unwrap()]).is_err());
    }
}
