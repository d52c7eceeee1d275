//! Unary math operators (default domain, every opset): Abs, Neg, Exp, Log, Sqrt,
//! Reciprocal, Floor, Ceil, Round (half to even), Sign, Sin, Cos, Tan, Asin, Acos,
//! Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Erf, IsNaN, IsInf.
//! See <https://onnx.ai/onnx/operators/>.
//!
//! Opset changes: old opsets (< 6) carried a `consumed_inputs` attribute, which is
//! ignored; newer opsets only widen the type lists (ints for Abs/Neg/Sign,
//! bf16). IsInf reads `detect_positive` / `detect_negative`.
//!
//! f16/bf16 compute in f32. [`exp_f32`], [`tanh_f32`], [`sigmoid_f32`] and
//! [`erf_f32`] are branch-free, vectorizable approximations (a few ulp), shared
//! with the activation kernels.

use crate::elementwise::unary;
use crate::helpers::{input, kernel, output};
use ronn_core::{bail, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

pub use ronn_core::simd::{exp_f32, sigmoid_f32};

/// tanh for f32: rational approximation (Eigen's), exact sign, |x| < 4e-4 returns x.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let xc = x.clamp(-7.905_311, 7.905_311);
    let x2 = xc * xc;
    let mut p = -2.760_768_5e-16f32;
    p = p * x2 + 2.000_187_9e-13;
    p = p * x2 - 8.604_671_5e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619_3e-4;
    p = p * x2 + 4.893_524_6e-3;
    p *= xc;
    let mut q = 1.198_258_4e-6f32;
    q = q * x2 + 1.185_347_1e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525e-3;
    let y = p / q;
    if x.abs() < 4e-4 {
        x
    } else {
        y
    }
}

/// erf for f32: rational approximation on [-4, 4] (Eigen's), saturating outside.
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    let xc = x.clamp(-4.0, 4.0);
    let x2 = xc * xc;
    let mut p = -2.726_142_3e-10f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 - 2.101_024e-6;
    p = p * x2 - 5.692_506_4e-5;
    p = p * x2 - 7.349_906_3e-4;
    p = p * x2 - 2.954_600_2e-3;
    p = p * x2 - 1.609_603_3e-2;
    p *= xc;
    let mut q = -1.456_607_2e-5f32;
    q = q * x2 - 2.133_740_6e-4;
    q = q * x2 - 1.682_827e-3;
    q = q * x2 - 7.373_329_2e-3;
    q = q * x2 - 1.426_473_9e-2;
    let y = p / q;
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// erf for f64: Taylor series below 2.5, continued fraction for erfc above.
pub fn erf_f64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let r = if a < 2.5 {
        let x2 = a * a;
        let mut term = a;
        let mut sum = a;
        let mut n = 0.0;
        while n < 80.0 {
            n += 1.0;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() < 1e-17 * sum.abs() {
                break;
            }
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else if a > 6.0 {
        1.0
    } else {
        let mut t = a;
        for k in (1..=60).rev() {
            t = a + (k as f64 / 2.0) / t;
        }
        1.0 - (-a * a).exp() / std::f64::consts::PI.sqrt() / t
    };
    r.copysign(x)
}

/// Applies a float function to a float tensor (f16/bf16 via f32).
pub fn map_float<F32, F64>(t: &Tensor, f32f: F32, f64f: F64) -> Result<Tensor>
where
    F32: Fn(f32) -> f32 + Sync,
    F64: Fn(f64) -> f64 + Sync,
{
    let shape = t.shape().to_vec();
    match t.dtype() {
        DType::Float32 => {
            let a = t.as_slice::<f32>()?;
            let mut out = ronn_core::pool::for_overwrite::<f32>(a.len());
            crate::elementwise::simd_unary_into(a, &mut out, |x, o| ronn_core::simd::map_f32(x, o, &f32f))?;
            Tensor::from_vec(shape, out)
        }
        DType::Float64 => Tensor::from_vec(shape, unary(t.as_slice::<f64>()?, |&x| f64f(x))),
        DType::Float16 | DType::BFloat16 => {
            let f = t.cast(DType::Float32)?;
            Tensor::from_vec(shape, unary(f.as_slice::<f32>()?, |&x| f32f(x)))?.cast(t.dtype())
        }
        dt => bail!(TypeMismatch, "expected a float tensor, got {dt}"),
    }
}

macro_rules! float_op {
    ($fname:ident, |$x:ident| $e:expr) => {
        fn $fname(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
            kernel(|_, inputs| {
                let t = input(inputs, 0)?;
                output(map_float(t, |$x: f32| $e, |$x: f64| $e)?)
            })
        }
    };
    ($fname:ident, |$x:ident| $e32:expr, $e64:expr) => {
        fn $fname(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
            kernel(|_, inputs| {
                let t = input(inputs, 0)?;
                output(map_float(t, |$x: f32| $e32, |$x: f64| $e64)?)
            })
        }
    };
}

float_op!(make_exp, |x| exp_f32(x), x.exp());
float_op!(make_log, |x| x.ln());
float_op!(make_sqrt, |x| x.sqrt());
float_op!(make_reciprocal, |x| 1.0 / x);
float_op!(make_floor, |x| x.floor());
float_op!(make_ceil, |x| x.ceil());
float_op!(make_round, |x| x.round_ties_even());
float_op!(make_sin, |x| x.sin());
float_op!(make_cos, |x| x.cos());
float_op!(make_tan, |x| x.tan());
float_op!(make_asin, |x| x.asin());
float_op!(make_acos, |x| x.acos());
float_op!(make_atan, |x| x.atan());
float_op!(make_sinh, |x| x.sinh());
float_op!(make_cosh, |x| x.cosh());
float_op!(make_asinh, |x| x.asinh());
float_op!(make_acosh, |x| x.acosh());
float_op!(make_atanh, |x| x.atanh());
float_op!(make_erf, |x| erf_f32(x), erf_f64(x));

fn signed_map<T: Element>(t: &Tensor, f: fn(i64) -> i64) -> Result<Tensor> {
    let v = unary(t.as_slice::<T>()?, |x: &T| T::from_i64(f(x.to_i64())));
    Tensor::from_vec(t.shape().to_vec(), v)
}

#[derive(Clone, Copy)]
enum IntUnary {
    Abs,
    Neg,
    Sign,
}

fn int_unary(t: &Tensor, op: IntUnary) -> Result<Tensor> {
    let dt = t.dtype();
    let f: fn(i64) -> i64 = match op {
        IntUnary::Abs => |x| x.wrapping_abs(),
        IntUnary::Neg => |x| x.wrapping_neg(),
        IntUnary::Sign => |x| x.signum(),
    };
    match dt {
        DType::Int8 => signed_map::<i8>(t, f),
        DType::Int16 => signed_map::<i16>(t, f),
        DType::Int32 => signed_map::<i32>(t, f),
        DType::Int64 => signed_map::<i64>(t, f),
        _ if matches!(op, IntUnary::Neg) => bail!(TypeMismatch, "Neg does not support {dt}"),
        DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64 => {
            if matches!(op, IntUnary::Abs) {
                Ok(t.clone())
            } else {
                ronn_core::dispatch_int!(dt, T => {
                    let zero = T::default();
                    let one = T::from_i64(1);
                    let v = unary(t.as_slice::<T>()?, |x: &T| if *x == zero { zero } else { one });
                    Tensor::from_vec(t.shape().to_vec(), v)
                }, _ => bail!(TypeMismatch, "Sign does not support {dt}"))
            }
        }
        _ => bail!(TypeMismatch, "unsupported type {dt}"),
    }
}

fn make_abs(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let t = input(inputs, 0)?;
        if t.dtype().is_float() {
            output(map_float(t, |x: f32| x.abs(), |x: f64| x.abs())?)
        } else {
            output(int_unary(t, IntUnary::Abs)?)
        }
    })
}

fn make_neg(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let t = input(inputs, 0)?;
        if t.dtype().is_float() {
            output(map_float(t, |x: f32| -x, |x: f64| -x)?)
        } else {
            output(int_unary(t, IntUnary::Neg)?)
        }
    })
}

fn make_sign(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let t = input(inputs, 0)?;
        if t.dtype().is_float() {
            output(map_float(
                t,
                |x: f32| {
                    if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        x
                    }
                },
                |x: f64| {
                    if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        x
                    }
                },
            )?)
        } else {
            output(int_unary(t, IntUnary::Sign)?)
        }
    })
}

fn float_pred(t: &Tensor, p32: impl Fn(f32) -> bool + Sync, p64: impl Fn(f64) -> bool + Sync) -> Result<Tensor> {
    let shape = t.shape().to_vec();
    match t.dtype() {
        DType::Float32 => Tensor::from_vec(shape, unary(t.as_slice::<f32>()?, |&x| p32(x))),
        DType::Float64 => Tensor::from_vec(shape, unary(t.as_slice::<f64>()?, |&x| p64(x))),
        DType::Float16 | DType::BFloat16 => {
            let f = t.cast(DType::Float32)?;
            Tensor::from_vec(shape, unary(f.as_slice::<f32>()?, |&x| p32(x)))
        }
        dt => Err(Error::TypeMismatch(format!("expected a float tensor, got {dt}"))),
    }
}

fn make_isnan(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| output(float_pred(input(inputs, 0)?, |x| x.is_nan(), |x| x.is_nan())?))
}

fn make_isinf(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let pos = ctx.node.attr_i_or("detect_positive", 1)? != 0;
    let neg = ctx.node.attr_i_or("detect_negative", 1)? != 0;
    kernel(move |_, inputs| {
        output(float_pred(
            input(inputs, 0)?,
            |x| (pos && x == f32::INFINITY) || (neg && x == f32::NEG_INFINITY),
            |x| (pos && x == f64::INFINITY) || (neg && x == f64::NEG_INFINITY),
        )?)
    })
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Abs", make_abs);
    r.register_all("Neg", make_neg);
    r.register_all("Sign", make_sign);
    r.register_all("Exp", make_exp);
    r.register_all("Log", make_log);
    r.register_all("Sqrt", make_sqrt);
    r.register_all("Reciprocal", make_reciprocal);
    r.register_all("Floor", make_floor);
    r.register_all("Ceil", make_ceil);
    r.register_all("Round", make_round);
    r.register_all("Sin", make_sin);
    r.register_all("Cos", make_cos);
    r.register_all("Tan", make_tan);
    r.register_all("Asin", make_asin);
    r.register_all("Acos", make_acos);
    r.register_all("Atan", make_atan);
    r.register_all("Sinh", make_sinh);
    r.register_all("Cosh", make_cosh);
    r.register_all("Asinh", make_asinh);
    r.register_all("Acosh", make_acosh);
    r.register_all("Atanh", make_atanh);
    r.register_all("Erf", make_erf);
    r.register_all("IsNaN", make_isnan);
    r.register_all("IsInf", make_isinf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, run_node};
    use ronn_ir::{Attribute, Node};

    fn run1(op: &str, x: Tensor) -> Result<Tensor> {
        Ok(run_node(&Node::new(op, &["x"], &["y"], 13), vec![x])?.remove(0))
    }

    fn rel_err(got: f32, want: f64) -> f64 {
        ((got as f64 - want).abs()) / want.abs().max(1e-30)
    }

    #[test]
    fn fast_exp_matches_f64() {
        let mut worst: f64 = 0.0;
        let mut x = -87.0f32;
        while x < 88.5 {
            worst = worst.max(rel_err(exp_f32(x), (x as f64).exp()));
            x += 0.00731;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp_f32(100.0), f32::INFINITY);
        assert_eq!(exp_f32(-200.0), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-100.0) > 0.0 && exp_f32(-100.0) < 1e-40);
    }

    #[test]
    fn fast_tanh_sigmoid_erf_match_f64() {
        let (mut wt, mut ws, mut we) = (0f64, 0f64, 0f64);
        let mut x = -12.0f32;
        while x < 12.0 {
            let xd = x as f64;
            wt = wt.max((tanh_f32(x) as f64 - xd.tanh()).abs() / xd.tanh().abs().max(1e-6));
            let s = 1.0 / (1.0 + (-xd).exp());
            ws = ws.max((sigmoid_f32(x) as f64 - s).abs() / s.max(1e-30));
            let e = erf_f64(xd);
            we = we.max((erf_f32(x) as f64 - e).abs() / e.abs().max(1e-6));
            x += 0.001_37;
        }
        assert!(wt < 2e-6, "tanh worst {wt}");
        assert!(ws < 2e-6, "sigmoid worst {ws}");
        assert!(we < 2e-6, "erf worst {we}");
        assert!(tanh_f32(1e-5) == 1e-5 && tanh_f32(50.0) == 1.0 && tanh_f32(-50.0) == -1.0);
        // Sigmoid's tails and NaN.
        assert!((sigmoid_f32(50.0) - 1.0).abs() <= f32::EPSILON && sigmoid_f32(f32::INFINITY) == 1.0);
        assert!(sigmoid_f32(-90.0) == 0.0 && sigmoid_f32(f32::NEG_INFINITY) == 0.0);
        assert!(sigmoid_f32(f32::NAN).is_nan());
        let s86 = sigmoid_f32(-86.0) as f64;
        assert!((s86 - (-86f64).exp()).abs() / (-86f64).exp() < 2e-6, "{s86}");
    }

    #[test]
    fn erf_f64_reference_values() {
        // Values from scipy.special.erf.
        let cases = [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
        ];
        for (x, want) in cases {
            assert!((erf_f64(x) - want).abs() < 1e-12, "erf({x}) = {}", erf_f64(x));
            assert!((erf_f64(-x) + want).abs() < 1e-12);
        }
    }

    #[test]
    fn unary_float_ops() {
        let x = Tensor::from_vec(vec![4], vec![0.5f32, 1.5, 2.5, -2.5]).unwrap();
        assert_eq!(run1("Round", x.clone()).unwrap().as_slice::<f32>().unwrap(), &[0., 2., 2., -2.]);
        assert_eq!(run1("Floor", x.clone()).unwrap().as_slice::<f32>().unwrap(), &[0., 1., 2., -3.]);
        assert_eq!(run1("Ceil", x.clone()).unwrap().as_slice::<f32>().unwrap(), &[1., 2., 3., -2.]);
        assert_eq!(run1("Abs", x.clone()).unwrap().as_slice::<f32>().unwrap(), &[0.5, 1.5, 2.5, 2.5]);
        assert_eq!(run1("Sign", x.clone()).unwrap().as_slice::<f32>().unwrap(), &[1., 1., 1., -1.]);
        assert_close(
            run1("Exp", x.clone()).unwrap().as_slice::<f32>().unwrap(),
            &[1.648_721_3, 4.481_689, 12.182_494, 0.082_085],
        );
        assert_close(run1("Reciprocal", x.clone()).unwrap().as_slice::<f32>().unwrap(), &[2., 0.666_666_7, 0.4, -0.4]);
        assert_close(
            run1("Erf", x.clone()).unwrap().as_slice::<f32>().unwrap(),
            &[0.520_499_9, 0.966_105_2, 0.999_593, -0.999_593],
        );
        let y = run1("Log", Tensor::from_vec(vec![2], vec![1f64, -1.0]).unwrap()).unwrap();
        let y = y.as_slice::<f64>().unwrap();
        assert!(y[0] == 0.0 && y[1].is_nan());
    }

    #[test]
    fn integer_abs_neg_sign() {
        let x = Tensor::from_vec(vec![3], vec![-128i8, 5, 0]).unwrap();
        assert_eq!(run1("Abs", x.clone()).unwrap().as_slice::<i8>().unwrap(), &[-128, 5, 0]);
        assert_eq!(run1("Neg", x.clone()).unwrap().as_slice::<i8>().unwrap(), &[-128, -5, 0]);
        assert_eq!(run1("Sign", x).unwrap().as_slice::<i8>().unwrap(), &[-1, 1, 0]);
        let u = Tensor::from_vec(vec![2], vec![7u32, 0]).unwrap();
        assert_eq!(run1("Sign", u.clone()).unwrap().as_slice::<u32>().unwrap(), &[1, 0]);
        assert!(run1("Neg", u).is_err());
        assert!(run1("Exp", Tensor::from_vec(vec![1], vec![1i32]).unwrap()).is_err());
    }

    #[test]
    fn isnan_isinf() {
        let x = Tensor::from_vec(vec![4], vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0]).unwrap();
        assert_eq!(run1("IsNaN", x.clone()).unwrap().as_slice::<bool>().unwrap(), &[true, false, false, false]);
        assert_eq!(run1("IsInf", x.clone()).unwrap().as_slice::<bool>().unwrap(), &[false, true, true, false]);
        let n = Node::new("IsInf", &["x"], &["y"], 10).with_attr("detect_positive", Attribute::Int(0));
        let y = run_node(&n, vec![x]).unwrap().remove(0);
        assert_eq!(y.as_slice::<bool>().unwrap(), &[false, false, true, false]);
    }

    #[test]
    fn half_precision_and_empty() {
        use ronn_core::f16;
        let x = Tensor::from_vec(vec![2], vec![f16::from_f32(4.0), f16::from_f32(9.0)]).unwrap();
        let y = run1("Sqrt", x).unwrap();
        assert_eq!(y.as_slice::<f16>().unwrap(), &[f16::from_f32(2.0), f16::from_f32(3.0)]);
        let e = run1("Sin", Tensor::from_vec::<f32>(vec![0, 2], vec![]).unwrap()).unwrap();
        assert_eq!(e.shape(), &[0, 2]);
    }
}
