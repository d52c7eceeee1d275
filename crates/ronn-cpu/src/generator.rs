//! Value generators: Constant, ConstantOfShape, Range, EyeLike, and the random
//! ops RandomUniform(Like), RandomNormal(Like), Bernoulli, Multinomial.
//!
//! Spec: <https://onnx.ai/onnx/operators/> (Constant 1-21: value / value_float(s)
//! / value_int(s) / value_string(s); ConstantOfShape 9+; Range 11; EyeLike 9).
//! Random ops give the right shapes and dtypes from a SplitMix64 stream: seeded
//! ops repeat per session, unseeded ones differ per run. Their values cannot
//! match numpy's generator, which the backend suite compares against.

use crate::helpers::{input, ints_of, kernel, output};
use ronn_core::{dispatch_dtype, dispatch_numeric, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use std::sync::atomic::{AtomicU64, Ordering};

/// Registers the generators.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Constant", build_constant);
    r.register_all("ConstantOfShape", build_constant_of_shape);
    r.register_all("Range", build_range);
    r.register_all("EyeLike", build_eye_like);
    r.register_all("RandomUniform", |c| build_random(c, Dist::Uniform, false));
    r.register_all("RandomNormal", |c| build_random(c, Dist::Normal, false));
    r.register_all("RandomUniformLike", |c| build_random(c, Dist::Uniform, true));
    r.register_all("RandomNormalLike", |c| build_random(c, Dist::Normal, true));
    r.register_all("Bernoulli", build_bernoulli);
    r.register_all("Multinomial", build_multinomial);
}

fn build_constant(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let t = if let Some(t) = n.attr_tensor("value")? {
        t.clone()
    } else if let Some(v) = n.attr_f("value_float")? {
        Tensor::scalar(v)
    } else if let Some(v) = n.attr_floats("value_floats")? {
        Tensor::from_vec(vec![v.len()], v)?
    } else if let Some(v) = n.attr_i("value_int")? {
        Tensor::scalar(v)
    } else if let Some(v) = n.attr_ints("value_ints")? {
        Tensor::from_vec(vec![v.len()], v)?
    } else if let Some(v) = n.attr_s("value_string")? {
        Tensor::from_strings(vec![], vec![v])?
    } else if let Some(v) = n.attr_strings("value_strings")? {
        Tensor::from_strings(vec![v.len()], v)?
    } else {
        return Err(n.unsupported("Constant without a supported value attribute (sparse_value is not supported)"));
    };
    let t = t.into_shared();
    kernel(move |_, _| output(t.clone()))
}

/// Reads a 1-D shape input, refusing negative dims.
fn shape_of(t: &Tensor) -> Result<Vec<usize>> {
    ints_of(t)?
        .into_iter()
        .map(|d| usize::try_from(d).map_err(|_| Error::InvalidArgument(format!("negative dimension {d} in shape"))))
        .collect()
}

fn build_constant_of_shape(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let value = match ctx.node.attr_tensor("value")? {
        Some(t) if t.len() == 1 => t.clone(),
        Some(t) => return Err(ctx.node.unsupported(format!("value must hold one element, has {}", t.len()))),
        None => Tensor::scalar(0.0f32),
    };
    // A constant shape (the optimizer leaves results above its folding limit,
    // e.g. the 100M-element weights of the light model zoo's vgg19): fill once at
    // planning and hand out the shared tensor on every run.
    if let Some(shape) = ctx.constant(0) {
        let t = constant_of_shape(&value, shape)?.into_shared();
        return kernel(move |_, _| output(t.clone()));
    }
    kernel(move |_, inputs| output(constant_of_shape(&value, input(inputs, 0)?)?))
}

fn constant_of_shape(value: &Tensor, shape: &Tensor) -> Result<Tensor> {
    let shape = shape_of(shape)?;
    let n: usize = shape.iter().product();
    if value.dtype() == DType::String {
        Tensor::from_strings(shape, vec![value.as_strings()?[0].clone(); n])
    } else {
        dispatch_dtype!(value.dtype(), T => Tensor::full(shape, value.as_slice::<T>()?[0]),
            _ => Err(Error::TypeMismatch(format!("ConstantOfShape of {}", value.dtype()))))
    }
}

fn build_range(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let (s, l, d) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
        if s.len() != 1 || l.len() != 1 || d.len() != 1 {
            return Err(Error::ShapeMismatch("Range takes scalar start, limit and delta".into()));
        }
        fn range<T: Element + std::ops::Add<Output = T>>(s: &Tensor, l: &Tensor, d: &Tensor) -> Result<Tensor> {
            let (start, limit, delta) = (s.as_slice::<T>()?[0], l.as_slice::<T>()?[0], d.as_slice::<T>()?[0]);
            let (sf, lf, df) = (start.to_f64(), limit.to_f64(), delta.to_f64());
            if df == 0.0 {
                return Err(Error::InvalidArgument("Range delta must not be 0".into()));
            }
            let n = ((lf - sf) / df).ceil().max(0.0);
            if n > 1e10 {
                return Err(Error::OutOfMemory(format!("Range would produce {n} elements")));
            }
            let n = n as usize;
            let mut v = Vec::with_capacity(n);
            let mut x = start;
            for _ in 0..n {
                v.push(x);
                x = x + delta;
            }
            Tensor::from_vec(vec![n], v)
        }
        let t = match s.dtype() {
            DType::Float32 => range::<f32>(s, l, d)?,
            DType::Float64 => range::<f64>(s, l, d)?,
            DType::Int16 => range::<i16>(s, l, d)?,
            DType::Int32 => range::<i32>(s, l, d)?,
            DType::Int64 => range::<i64>(s, l, d)?,
            DType::Float16 => range::<ronn_core::f16>(s, l, d)?,
            DType::BFloat16 => range::<ronn_core::bf16>(s, l, d)?,
            other => return Err(Error::TypeMismatch(format!("Range of {other}"))),
        };
        output(t)
    })
}

fn dtype_attr(ctx: &BuildCtx) -> Result<Option<DType>> {
    match ctx.node.attr_i("dtype")? {
        None => Ok(None),
        Some(v) => DType::from_onnx(v as i32)
            .filter(|d| d.is_supported() && *d != DType::String)
            .map(Some)
            .ok_or_else(|| ctx.node.unsupported(format!("dtype {v}"))),
    }
}

fn build_eye_like(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dtype = dtype_attr(ctx)?;
    let k = ctx.node.attr_i_or("k", 0)?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let &[r, c] = x.shape() else {
            return Err(Error::ShapeMismatch(format!("EyeLike needs a 2-D input, got {:?}", x.shape())));
        };
        let dt = dtype.unwrap_or(x.dtype());
        let t = dispatch_dtype!(dt, T => {
            let mut v = vec![T::default(); r * c];
            for i in 0..r {
                let j = i as i64 + k;
                if (0..c as i64).contains(&j) {
                    v[i * c + j as usize] = T::from_f64(1.0);
                }
            }
            Tensor::from_vec(vec![r, c], v)?
        }, _ => return Err(Error::TypeMismatch(format!("EyeLike of {dt}"))));
        output(t)
    })
}

/// A SplitMix64 stream: small, fast, and good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform().max(f64::MIN_POSITIVE), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

static UNSEEDED: AtomicU64 = AtomicU64::new(0x5eed);

fn rng_for(seed: Option<f32>) -> Rng {
    match seed {
        Some(s) => Rng(s.to_bits() as u64),
        None => Rng(UNSEEDED.fetch_add(0x1234_5678_9abc_def1, Ordering::Relaxed)),
    }
}

#[derive(Clone, Copy)]
enum Dist {
    Uniform,
    Normal,
}

fn build_random(ctx: &BuildCtx, dist: Dist, like: bool) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let dtype = dtype_attr(ctx)?;
    let seed = n.attr_f("seed")?;
    let (a, b) = match dist {
        Dist::Uniform => (n.attr_f_or("low", 0.0)? as f64, n.attr_f_or("high", 1.0)? as f64),
        Dist::Normal => (n.attr_f_or("mean", 0.0)? as f64, n.attr_f_or("scale", 1.0)? as f64),
    };
    let shape: Option<Vec<usize>> = if like {
        None
    } else {
        let s = n.attr_ints("shape")?.ok_or_else(|| n.unsupported("shape attribute is required"))?;
        Some(s.into_iter().map(|d| d.max(0) as usize).collect())
    };
    kernel(move |_, inputs| {
        let (shape, dt) = match &shape {
            Some(s) => (s.clone(), dtype.unwrap_or(DType::Float32)),
            None => {
                let x = input(inputs, 0)?;
                (x.shape().to_vec(), dtype.unwrap_or(x.dtype()))
            }
        };
        let mut rng = rng_for(seed);
        let count: usize = shape.iter().product();
        let vals: Vec<f64> = (0..count)
            .map(|_| match dist {
                Dist::Uniform => a + (b - a) * rng.uniform(),
                Dist::Normal => a + b * rng.normal(),
            })
            .collect();
        let t = ronn_core::dispatch_float!(dt, T => Tensor::from_vec(shape, vals.into_iter().map(T::from_f64).collect::<Vec<T>>())?,
            _ => return Err(Error::TypeMismatch(format!("random values of {dt}"))));
        output(t)
    })
}

fn build_bernoulli(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dtype = dtype_attr(ctx)?;
    let seed = ctx.node.attr_f("seed")?;
    kernel(move |_, inputs| {
        let p = input(inputs, 0)?;
        let probs = p.to_f64_vec()?;
        let mut rng = rng_for(seed);
        let draws: Vec<f64> = probs.iter().map(|&q| if rng.uniform() < q { 1.0 } else { 0.0 }).collect();
        let dt = dtype.unwrap_or(p.dtype());
        let t = dispatch_dtype!(dt, T => Tensor::from_vec(p.shape().to_vec(), draws.into_iter().map(T::from_f64).collect::<Vec<T>>())?,
            _ => return Err(Error::TypeMismatch(format!("Bernoulli of {dt}"))));
        output(t)
    })
}

fn build_multinomial(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dtype = dtype_attr(ctx)?.unwrap_or(DType::Int32);
    let samples = ctx.node.attr_i_or("sample_size", 1)?.max(0) as usize;
    let seed = ctx.node.attr_f("seed")?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let &[batch, classes] = x.shape() else {
            return Err(Error::ShapeMismatch(format!("Multinomial needs [batch, classes], got {:?}", x.shape())));
        };
        let logits = x.to_f64_vec()?;
        let mut rng = rng_for(seed);
        let mut out = Vec::with_capacity(batch * samples);
        for b in 0..batch {
            let row = &logits[b * classes..(b + 1) * classes];
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let w: Vec<f64> = row.iter().map(|v| (v - m).exp()).collect();
            let total: f64 = w.iter().sum();
            for _ in 0..samples {
                let mut u = rng.uniform() * total;
                let mut k = classes.saturating_sub(1);
                for (i, wi) in w.iter().enumerate() {
                    if u < *wi {
                        k = i;
                        break;
                    }
                    u -= wi;
                }
                out.push(k as f64);
            }
        }
        let t = dispatch_numeric!(dtype, T => Tensor::from_vec(vec![batch, samples], out.into_iter().map(T::from_f64).collect::<Vec<T>>())?,
            _ => return Err(Error::TypeMismatch(format!("Multinomial output {dtype}"))));
        output(t)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::{DType, Tensor};
    use ronn_ir::{Attribute, Node};

    #[test]
    fn range_counts_like_numpy() {
        let r = |s: i32, l: i32, d: i32| {
            let n = Node::new("Range", &["s", "l", "d"], &["y"], 11);
            run_node(&n, vec![Tensor::scalar(s), Tensor::scalar(l), Tensor::scalar(d)]).unwrap()[0].clone()
        };
        assert_eq!(r(10, 4, -3).as_slice::<i32>().unwrap(), &[10, 7]);
        assert_eq!(r(0, 0, 1).shape(), &[0]);
        let n = Node::new("Range", &["s", "l", "d"], &["y"], 11);
        assert!(run_node(&n, vec![Tensor::scalar(0i32), Tensor::scalar(5i32), Tensor::scalar(0i32)]).is_err());
    }

    #[test]
    fn constant_of_shape_and_eye_like() {
        let n = Node::new("ConstantOfShape", &["s"], &["y"], 9)
            .with_attr("value", Attribute::Tensor(Tensor::from_vec(vec![1], vec![7i64]).unwrap()));
        let y = run_node(&n, vec![Tensor::from_vec(vec![2], vec![2i64, 3]).unwrap()]).unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[7; 6]);
        let n = Node::new("EyeLike", &["x"], &["y"], 9).with_attr("k", Attribute::Int(1));
        let y = run_node(&n, vec![Tensor::zeros(DType::Float32, vec![2, 3]).unwrap()]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 1., 0., 0., 0., 1.]);
    }

    #[test]
    fn constant_value_forms_and_random_shapes() {
        let n = Node::new("Constant", &[], &["y"], 13).with_attr("value_ints", Attribute::Ints(vec![1, 2]));
        assert_eq!(run_node(&n, vec![]).unwrap()[0].as_slice::<i64>().unwrap(), &[1, 2]);
        let n = Node::new("RandomUniform", &[], &["y"], 13)
            .with_attr("shape", Attribute::Ints(vec![3, 4]))
            .with_attr("seed", Attribute::Float(1.0));
        let y = run_node(&n, vec![]).unwrap();
        assert_eq!(y[0].shape(), &[3, 4]);
        assert!(y[0].as_slice::<f32>().unwrap().iter().all(|v| (0.0..1.0).contains(v)));
        assert_eq!(y, run_node(&n, vec![]).unwrap(), "seeded ops repeat");
    }
}
