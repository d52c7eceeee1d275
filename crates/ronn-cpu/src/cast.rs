//! Cast and CastLike (default domain, every opset).
//! See <https://onnx.ai/onnx/operators/onnx__Cast.html>.
//!
//! Opset changes handled: opsets 1-5 give `to` as a STRING type name
//! (`"FLOAT"`, `"INT64"`, ...), later ones as the `TensorProto.DataType` number.
//! `saturate` (opset 19) only concerns float8, which RONN does not hold: casts to
//! types RONN cannot store are refused at planning time. CastLike (opset 15) takes
//! the target type from input 1.
//!
//! Numbers to strings use numpy-like shortest round-trip formatting (`0.1`,
//! `1.0`, `1e+20`, `nan`, `inf`); strings to numbers parse decimal and scientific
//! notation and `NaN` / `INF` / `-INF` in any case.

use crate::elementwise::unary;
use crate::helpers::{input, kernel, output};
use ronn_core::{bail, bf16, f16, DType, Element, Error, Result, Tensor};
use ronn_ir::{Attribute, BuildCtx, Kernel, KernelRegistry};

fn dtype_from_old_name(s: &str) -> Option<DType> {
    Some(match s.to_ascii_uppercase().as_str() {
        "FLOAT" => DType::Float32,
        "DOUBLE" => DType::Float64,
        "FLOAT16" => DType::Float16,
        "BFLOAT16" => DType::BFloat16,
        "INT8" => DType::Int8,
        "INT16" => DType::Int16,
        "INT32" => DType::Int32,
        "INT64" => DType::Int64,
        "UINT8" => DType::UInt8,
        "UINT16" => DType::UInt16,
        "UINT32" => DType::UInt32,
        "UINT64" => DType::UInt64,
        "BOOL" => DType::Bool,
        "STRING" => DType::String,
        _ => return None,
    })
}

fn num_to_string_f64(x: f64, single: bool) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = x.abs();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        let s = if single { format!("{}", x as f32) } else { format!("{x}") };
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        let s = if single { format!("{:e}", x as f32) } else { format!("{x:e}") };
        // Rust: "1.5e-7" / "1e20"; numpy: "1.5e-07" / "1e+20".
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    }
}

fn to_strings(t: &Tensor) -> Result<Vec<String>> {
    let dt = t.dtype();
    Ok(match dt {
        DType::String => t.as_strings()?.to_vec(),
        DType::Float32 => t.as_slice::<f32>()?.iter().map(|&x| num_to_string_f64(x as f64, true)).collect(),
        DType::Float16 | DType::BFloat16 => t.to_f64_vec()?.into_iter().map(|x| num_to_string_f64(x, true)).collect(),
        DType::Float64 => t.as_slice::<f64>()?.iter().map(|&x| num_to_string_f64(x, false)).collect(),
        DType::Bool => t.as_slice::<bool>()?.iter().map(|&b| if b { "True" } else { "False" }.to_string()).collect(),
        DType::UInt64 => t.as_slice::<u64>()?.iter().map(|x| x.to_string()).collect(),
        _ => t.to_i64_vec()?.into_iter().map(|x| x.to_string()).collect(),
    })
}

fn parse_f64(s: &str) -> Result<f64> {
    let s = s.trim();
    s.parse::<f64>().or_else(|_| {
        let l = s.to_ascii_lowercase();
        match l.trim_start_matches('+') {
            "nan" | "-nan" => Ok(f64::NAN),
            "inf" | "infinity" => Ok(f64::INFINITY),
            "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(Error::InvalidArgument(format!("cannot parse '{s}' as a number"))),
        }
    })
}

fn from_strings(t: &Tensor, to: DType) -> Result<Tensor> {
    let strs = t.as_strings()?;
    let shape = t.shape().to_vec();
    if to == DType::String {
        return Ok(t.clone());
    }
    if to == DType::Bool {
        let v = strs
            .iter()
            .map(|s| match s.trim() {
                "True" | "true" | "TRUE" => Ok(true),
                "False" | "false" | "FALSE" | "" => Ok(false),
                other => parse_f64(other).map(|x| x != 0.0),
            })
            .collect::<Result<Vec<bool>>>()?;
        return Tensor::from_vec(shape, v);
    }
    if to.is_int() {
        let v = strs
            .iter()
            .map(|s| {
                let s = s.trim();
                match s.parse::<i64>() {
                    Ok(i) => Ok(i),
                    Err(_) => parse_f64(s).map(|x| x as i64),
                }
            })
            .collect::<Result<Vec<i64>>>()?;
        if to == DType::UInt64 {
            let v =
                strs.iter().zip(&v).map(|(s, &i)| s.trim().parse::<u64>().unwrap_or(i as u64)).collect::<Vec<u64>>();
            return Tensor::from_vec(shape, v);
        }
        return ronn_core::dispatch_int!(to, T => Tensor::from_vec(shape, v.into_iter().map(T::from_i64).collect::<Vec<T>>()),
            _ => Err(Error::TypeMismatch(format!("cannot cast string to {to}"))));
    }
    let v = strs.iter().map(|s| parse_f64(s)).collect::<Result<Vec<f64>>>()?;
    ronn_core::dispatch_float!(to, T => Tensor::from_vec(shape, v.into_iter().map(T::from_f64).collect::<Vec<T>>()),
        _ => Err(Error::TypeMismatch(format!("cannot cast string to {to}"))))
}

fn fast<A: Element, B: Element>(t: &Tensor, f: impl Fn(A) -> B + Sync) -> Result<Tensor> {
    Tensor::from_vec(t.shape().to_vec(), unary(t.as_slice::<A>()?, |&x| f(x)))
}

/// Converts `t` to element type `to` (every pair of supported types).
pub fn cast(t: &Tensor, to: DType) -> Result<Tensor> {
    let from = t.dtype();
    if from == to {
        return Ok(t.clone());
    }
    if to == DType::String {
        return Tensor::from_strings(t.shape().to_vec(), to_strings(t)?);
    }
    if from == DType::String {
        return from_strings(t, to);
    }
    use DType as D;
    match (from, to) {
        (D::Float32, D::Float16) => fast(t, f16::from_f32),
        (D::Float16, D::Float32) => fast(t, |x: f16| x.to_f32()),
        (D::Float32, D::BFloat16) => fast(t, bf16::from_f32),
        (D::BFloat16, D::Float32) => fast(t, |x: bf16| x.to_f32()),
        (D::Float32, D::Float64) => fast(t, |x: f32| x as f64),
        (D::Float64, D::Float32) => fast(t, |x: f64| x as f32),
        (D::Float32, D::Int64) => fast(t, |x: f32| x as i64),
        (D::Int64, D::Float32) => fast(t, |x: i64| x as f32),
        (D::Float32, D::Int32) => fast(t, |x: f32| x as i32),
        (D::Int32, D::Float32) => fast(t, |x: i32| x as f32),
        (D::Int64, D::Int32) => fast(t, |x: i64| x as i32),
        (D::Int32, D::Int64) => fast(t, |x: i32| x as i64),
        (D::Bool, D::Float32) => fast(t, |x: bool| x as u8 as f32),
        (D::Float32, D::Bool) => fast(t, |x: f32| x != 0.0),
        (D::UInt64, _) if to.is_int() => {
            // Keep u64 values above i64::MAX exact through the i64 path (wrapping, like `as`).
            let v: Vec<i64> = t.as_slice::<u64>()?.iter().map(|&x| x as i64).collect();
            Tensor::from_vec(t.shape().to_vec(), v)?.cast(to)
        }
        (_, D::UInt64) if from.is_float() => {
            let v: Vec<u64> = t.to_f64_vec()?.into_iter().map(|x| x as u64).collect();
            Tensor::from_vec(t.shape().to_vec(), v)
        }
        (D::UInt64, _) if to.is_float() => {
            let v: Vec<f64> = t.as_slice::<u64>()?.iter().map(|&x| x as f64).collect();
            Tensor::from_vec(t.shape().to_vec(), v)?.cast(to)
        }
        _ => t.cast(to),
    }
}

fn target_of(ctx: &BuildCtx) -> Result<DType> {
    let node = ctx.node;
    let to = match node.attrs.get("to") {
        Some(Attribute::Int(v)) => {
            DType::from_onnx(*v as i32).ok_or_else(|| node.unsupported(format!("Cast to unknown type {v}")))?
        }
        Some(Attribute::String(s)) => {
            let name = String::from_utf8_lossy(s);
            dtype_from_old_name(&name).ok_or_else(|| node.unsupported(format!("Cast to unknown type '{name}'")))?
        }
        Some(a) => return Err(node.unsupported(format!("Cast 'to' must be INT or STRING, got {}", a.type_name()))),
        None => return Err(node.unsupported("Cast needs the 'to' attribute")),
    };
    if !to.is_supported() {
        return Err(node.unsupported(format!("Cast to {to} (RONN does not hold this type)")));
    }
    Ok(to)
}

fn make_cast(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let to = target_of(ctx)?;
    kernel(move |_, inputs| output(cast(input(inputs, 0)?, to)?))
}

fn make_cast_like(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let t = input(inputs, 0)?;
        let like = input(inputs, 1)?;
        if !like.dtype().is_supported() {
            bail!(TypeMismatch, "CastLike target type {} is not supported", like.dtype());
        }
        output(cast(t, like.dtype())?)
    })
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Cast", make_cast);
    r.register_all("CastLike", make_cast_like);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::run_node;
    use ronn_ir::Node;

    fn cast_node(to: DType) -> Node {
        Node::new("Cast", &["x"], &["y"], 19).with_attr("to", Attribute::Int(to.to_onnx() as i64))
    }

    #[test]
    fn numeric_casts() {
        let x = Tensor::from_vec(vec![3], vec![1.7f32, -2.5, 300.0]).unwrap();
        let y = run_node(&cast_node(DType::Int32), vec![x.clone()]).unwrap();
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[1, -2, 300]);
        let y = run_node(&cast_node(DType::Float16), vec![x.clone()]).unwrap();
        assert_eq!(y[0].as_slice::<f16>().unwrap()[1], f16::from_f32(-2.5));
        let y = run_node(&cast_node(DType::Bool), vec![Tensor::from_vec(vec![2], vec![0i64, 5]).unwrap()]).unwrap();
        assert_eq!(y[0].as_slice::<bool>().unwrap(), &[false, true]);
        let y = run_node(&cast_node(DType::UInt64), vec![Tensor::from_vec(vec![1], vec![u64::MAX]).unwrap()]).unwrap();
        assert_eq!(y[0].as_slice::<u64>().unwrap(), &[u64::MAX]);
        let y = run_node(&cast_node(DType::Float64), vec![Tensor::from_vec(vec![1], vec![u64::MAX]).unwrap()]).unwrap();
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[u64::MAX as f64]);
    }

    #[test]
    fn old_string_to_attribute_and_unsupported() {
        let n = Node::new("Cast", &["x"], &["y"], 1).with_attr("to", Attribute::String(b"INT64".to_vec()));
        let y = run_node(&n, vec![Tensor::from_vec(vec![1], vec![2.9f32]).unwrap()]).unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[2]);
        let bad = Node::new("Cast", &["x"], &["y"], 19).with_attr("to", Attribute::Int(17));
        let e = run_node(&bad, vec![Tensor::from_vec(vec![1], vec![2.9f32]).unwrap()]).unwrap_err();
        assert_eq!(e.code(), ronn_core::ErrorCode::UnsupportedOp);
    }

    #[test]
    fn strings_both_ways() {
        let x = Tensor::from_vec(vec![6], vec![0.1f32, 1.0, 1e20, 1.5e-7, f32::NAN, f32::NEG_INFINITY]).unwrap();
        let y = run_node(&cast_node(DType::String), vec![x]).unwrap();
        assert_eq!(y[0].as_strings().unwrap(), &["0.1", "1.0", "1e+20", "1.5e-07", "nan", "-inf"]);
        let s = Tensor::from_strings(
            vec![5],
            vec!["0.47892547".into(), "NaN".into(), "INF".into(), "-INF".into(), "1e-3".into()],
        )
        .unwrap();
        let y = run_node(&cast_node(DType::Float32), vec![s]).unwrap();
        let v = y[0].as_slice::<f32>().unwrap();
        assert_eq!(v[0], 0.478_925_47);
        assert!(v[1].is_nan());
        assert_eq!((v[2], v[3], v[4]), (f32::INFINITY, f32::NEG_INFINITY, 1e-3));
        let s = Tensor::from_strings(vec![2], vec!["-7".into(), "x".into()]).unwrap();
        assert!(run_node(&cast_node(DType::Int64), vec![s]).is_err());
        let y = run_node(&cast_node(DType::String), vec![Tensor::from_vec(vec![2], vec![-3i8, 4]).unwrap()]).unwrap();
        assert_eq!(y[0].as_strings().unwrap(), &["-3", "4"]);
    }

    #[test]
    fn cast_like_uses_input_type() {
        let n = Node::new("CastLike", &["x", "like"], &["y"], 15);
        let y = run_node(
            &n,
            vec![
                Tensor::from_vec(vec![2], vec![1.5f32, 2.0]).unwrap(),
                Tensor::from_vec(vec![0], Vec::<f64>::new()).unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(y[0].dtype(), DType::Float64);
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[1.5, 2.0]);
    }
}
