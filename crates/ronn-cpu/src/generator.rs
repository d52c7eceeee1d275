//! Generators: Constant, ConstantOfShape, Range, EyeLike, RandomUniform, RandomNormal,
//! RandomUniformLike, RandomNormalLike, Bernoulli, Multinomial.
//!
//! See <https://onnx.ai/onnx/operators/>. Opset changes handled: Constant `value_*`
//! attributes (12; `sparse_value` is refused). Random generators honour `seed`
//! (deterministic for one seed, not bit-equal to other runtimes).

use crate::helpers::{input, kernel, output};
use crate::shape::util::{ints, Rng};
use ronn_core::{bail, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use std::sync::Mutex;

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Constant", constant);
    r.register_all("ConstantOfShape", constant_of_shape);
    r.register_all("Range", range);
    r.register_all("EyeLike", eye_like);
    r.register_all("RandomUniform", random);
    r.register_all("RandomNormal", random);
    r.register_all("RandomUniformLike", random);
    r.register_all("RandomNormalLike", random);
    r.register_all("Bernoulli", bernoulli);
    r.register_all("Multinomial", multinomial);
}

fn constant(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
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
    } else if n.has_attr("sparse_value") {
        return Err(n.unsupported("Constant with sparse_value"));
    } else {
        return Err(n.unsupported("Constant needs a value attribute"));
    };
    let t = t.into_shared();
    kernel(move |_, _| output(t.clone()))
}

fn dims_of(t: &Tensor) -> Result<Vec<usize>> {
    let v = ints(t)?;
    if v.iter().any(|&d| d < 0) {
        bail!(InvalidArgument, "shape {v:?} has a negative dim");
    }
    Ok(v.into_iter().map(|d| d as usize).collect())
}

fn constant_of_shape(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let value = match ctx.node.attr_tensor("value")? {
        Some(t) => {
            if t.len() != 1 {
                return Err(ctx.node.unsupported("ConstantOfShape value must hold one element"));
            }
            t.clone()
        }
        None => Tensor::scalar(0f32),
    };
    kernel(move |_, inp| {
        let dims = dims_of(input(inp, 0)?)?;
        let n: usize = dims.iter().product();
        if value.dtype() == DType::String {
            let s = value.as_strings()?[0].clone();
            return output(Tensor::from_strings(dims, vec![s; n])?);
        }
        ronn_core::dispatch_dtype!(value.dtype(), T => output(Tensor::full(dims, value.as_slice::<T>()?[0])?),
            _ => bail!(TypeMismatch, "ConstantOfShape value type {} is not supported", value.dtype()))
    })
}

fn scalar_of(t: &Tensor, what: &str) -> Result<f64> {
    if t.len() != 1 {
        bail!(ShapeMismatch, "Range {what} must be a scalar, got shape {:?}", t.shape());
    }
    Ok(t.to_f64_vec()?[0])
}

fn range(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let (s, l, d) = (input(inp, 0)?, input(inp, 1)?, input(inp, 2)?);
        let dt = s.dtype();
        if l.dtype() != dt || d.dtype() != dt {
            bail!(TypeMismatch, "Range inputs must share one type: {}, {}, {}", dt, l.dtype(), d.dtype());
        }
        for (t, w) in [(s, "start"), (l, "limit"), (d, "delta")] {
            scalar_of(t, w)?;
        }
        if dt.is_int() {
            let (a, b, c) = (ints(s)?[0], ints(l)?[0], ints(d)?[0]);
            if c == 0 {
                bail!(InvalidArgument, "Range delta must not be 0");
            }
            let n = ((b - a) as f64 / c as f64).ceil().max(0.0) as usize;
            let v: Vec<i64> = (0..n as i64).map(|i| a + i * c).collect();
            return output(Tensor::from_vec(vec![n], v)?.cast(dt)?);
        }
        let (a, b, c) = (scalar_of(s, "start")?, scalar_of(l, "limit")?, scalar_of(d, "delta")?);
        if c == 0.0 {
            bail!(InvalidArgument, "Range delta must not be 0");
        }
        let n = ((b - a) / c).ceil().max(0.0) as usize;
        ronn_core::dispatch_float!(dt, T => {
            // accumulate in the output type like the reference does
            let (a, c) = (T::from_f64(a), T::from_f64(c));
            let v: Vec<T> = (0..n).map(|i| T::from_f64(a.to_f64() + i as f64 * c.to_f64())).collect();
            output(Tensor::from_vec(vec![n], v)?)
        }, _ => bail!(TypeMismatch, "Range does not support {dt}"))
    })
}

fn dtype_attr(ctx: &BuildCtx, name: &str) -> Result<Option<DType>> {
    match ctx.node.attr_i(name)? {
        None => Ok(None),
        Some(v) => match DType::from_onnx(v as i32) {
            Some(d) if d.is_supported() => Ok(Some(d)),
            _ => Err(ctx.node.unsupported(format!("{name} {v} is not a supported element type"))),
        },
    }
}

fn eye_like(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let k = ctx.node.attr_i_or("k", 0)?;
    let dt = dtype_attr(ctx, "dtype")?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let (n, m) = match x.shape() {
            &[n, m] => (n, m),
            s => bail!(ShapeMismatch, "EyeLike needs a 2-D input, got {s:?}"),
        };
        let dt = dt.unwrap_or(x.dtype());
        let mut v = vec![0u8; n * m];
        for i in 0..n {
            let j = i as i64 + k;
            if j >= 0 && (j as usize) < m {
                v[i * m + j as usize] = 1;
            }
        }
        output(Tensor::from_vec(vec![n, m], v)?.cast(dt)?)
    })
}

fn seed_of(ctx: &BuildCtx) -> Result<Mutex<Rng>> {
    Ok(Mutex::new(Rng::new(ctx.node.attr_f("seed")?)))
}

fn with_rng<R>(rng: &Mutex<Rng>, f: impl FnOnce(&mut Rng) -> R) -> Result<R> {
    let mut g = rng.lock().map_err(|_| Error::Poisoned("random generator state".into()))?;
    Ok(f(&mut g))
}

fn random(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let like = node.op_type.ends_with("Like");
    let normal = node.op_type.starts_with("RandomNormal");
    let (a, b) = if normal {
        (node.attr_f_or("mean", 0.0)? as f64, node.attr_f_or("scale", 1.0)? as f64)
    } else {
        (node.attr_f_or("low", 0.0)? as f64, node.attr_f_or("high", 1.0)? as f64)
    };
    let dt = dtype_attr(ctx, "dtype")?;
    if let Some(d) = dt {
        if !d.is_float() {
            return Err(node.unsupported(format!("{} dtype {d}", node.op_type)));
        }
    }
    let shape: Option<Vec<usize>> = if like {
        None
    } else {
        let s = node.attr_ints("shape")?.ok_or_else(|| node.unsupported("missing 'shape'"))?;
        if s.iter().any(|&d| d < 0) {
            return Err(node.unsupported("negative dim in 'shape'"));
        }
        Some(s.into_iter().map(|d| d as usize).collect())
    };
    let rng = seed_of(ctx)?;
    kernel(move |_, inp| {
        let (shape, dt) = match &shape {
            Some(s) => (s.clone(), dt.unwrap_or(DType::Float32)),
            None => {
                let x = input(inp, 0)?;
                (x.shape().to_vec(), dt.unwrap_or(x.dtype()))
            }
        };
        if !dt.is_float() {
            bail!(TypeMismatch, "random output type must be a float type, got {dt}");
        }
        let n: usize = shape.iter().product();
        let v: Vec<f64> = with_rng(&rng, |g| {
            (0..n).map(|_| if normal { a + b * g.normal() } else { a + (b - a) * g.uniform() }).collect()
        })?;
        output(Tensor::from_vec(shape, v)?.cast(dt)?)
    })
}

fn bernoulli(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dt = dtype_attr(ctx, "dtype")?;
    let rng = seed_of(ctx)?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let p = x.to_f64_vec()?;
        let v: Vec<f64> = with_rng(&rng, |g| p.iter().map(|&p| if g.uniform() < p { 1.0 } else { 0.0 }).collect())?;
        output(Tensor::from_vec(x.shape().to_vec(), v)?.cast(dt.unwrap_or(x.dtype()))?)
    })
}

fn multinomial(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dt = dtype_attr(ctx, "dtype")?.unwrap_or(DType::Int32);
    if dt != DType::Int32 && dt != DType::Int64 {
        return Err(ctx.node.unsupported(format!("Multinomial dtype {dt}")));
    }
    let samples = ctx.node.attr_i_or("sample_size", 1)?.max(0) as usize;
    let rng = seed_of(ctx)?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let (b, c) = match x.shape() {
            &[b, c] => (b, c),
            s => bail!(ShapeMismatch, "Multinomial needs a [batch, classes] input, got {s:?}"),
        };
        let logits = x.to_f64_vec()?;
        let mut out = Vec::with_capacity(b * samples);
        with_rng(&rng, |g| {
            for r in 0..b {
                let row = &logits[r * c..(r + 1) * c];
                let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let w: Vec<f64> = row.iter().map(|&l| (l - mx).exp()).collect();
                let tot: f64 = w.iter().sum();
                for _ in 0..samples {
                    let mut u = g.uniform() * tot;
                    let mut k = c.saturating_sub(1);
                    for (j, &wj) in w.iter().enumerate() {
                        if u < wj {
                            k = j;
                            break;
                        }
                        u -= wj;
                    }
                    out.push(k as i64);
                }
            }
        })?;
        output(Tensor::from_vec(vec![b, samples], out)?.cast(dt)?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::{DType, Tensor};
    use ronn_ir::{Attribute, Node};

    #[test]
    fn constants() {
        let n = Node::new("Constant", &[], &["y"], 13).with_attr("value_ints", Attribute::Ints(vec![1, 2]));
        assert_eq!(run_node(&n, vec![]).unwrap()[0].as_slice::<i64>().unwrap(), &[1, 2]);
        let n = Node::new("Constant", &[], &["y"], 13);
        assert!(run_node(&n, vec![]).is_err());
        let n = Node::new("ConstantOfShape", &["s"], &["y"], 13)
            .with_attr("value", Attribute::Tensor(Tensor::from_vec(vec![1], vec![7i32]).unwrap()));
        let y = &run_node(&n, vec![Tensor::from_vec(vec![2], vec![2i64, 0]).unwrap()]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 0]);
        assert_eq!(y.dtype(), DType::Int32);
        let n = Node::new("ConstantOfShape", &["s"], &["y"], 13);
        let y = &run_node(&n, vec![Tensor::from_vec(vec![1], vec![2i64]).unwrap()]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 0.]);
    }

    #[test]
    fn range_and_eye() {
        let n = Node::new("Range", &["a", "b", "c"], &["y"], 11);
        let y = &run_node(&n, vec![Tensor::scalar(10i32), Tensor::scalar(4i32), Tensor::scalar(-3i32)]).unwrap()[0];
        assert_eq!(y.as_slice::<i32>().unwrap(), &[10, 7]);
        let y = &run_node(&n, vec![Tensor::scalar(1f32), Tensor::scalar(5f32), Tensor::scalar(2f32)]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 3.]);
        assert!(run_node(&n, vec![Tensor::scalar(1f32), Tensor::scalar(5i32), Tensor::scalar(2f32)]).is_err());
        let n = Node::new("EyeLike", &["x"], &["y"], 9).with_attr("k", Attribute::Int(1));
        let y = &run_node(&n, vec![Tensor::zeros(DType::Int64, vec![2, 3]).unwrap()]).unwrap()[0];
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1, 0, 0, 0, 1]);
    }

    #[test]
    fn random_shapes() {
        let n = Node::new("RandomUniform", &[], &["y"], 13)
            .with_attr("shape", Attribute::Ints(vec![2, 3]))
            .with_attr("seed", Attribute::Float(1.0));
        let y = &run_node(&n, vec![]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 3]);
        assert!(y.as_slice::<f32>().unwrap().iter().all(|&v| (0.0..1.0).contains(&v)));
        let n = Node::new("Bernoulli", &["x"], &["y"], 15);
        let y = &run_node(&n, vec![Tensor::from_vec(vec![3], vec![0f64, 1., 1.]).unwrap()]).unwrap()[0];
        assert_eq!(y.as_slice::<f64>().unwrap(), &[0., 1., 1.]);
        let n = Node::new("Multinomial", &["x"], &["y"], 7).with_attr("sample_size", Attribute::Int(4));
        let y = &run_node(&n, vec![Tensor::from_vec(vec![1, 2], vec![0f32, -1000.]).unwrap()]).unwrap()[0];
        assert_eq!(y.as_slice::<i32>().unwrap(), &[0, 0, 0, 0]);
    }
}
