//! Cast, CastLike and BitCast (default domain, every opset).
//! See <https://onnx.ai/onnx/operators/onnx__Cast.html>,
//! <https://onnx.ai/onnx/operators/onnx__CastLike.html> and
//! <https://onnx.ai/onnx/operators/onnx__BitCast.html>.
//!
//! Opset changes handled: opsets 1-5 give `to` as a STRING type name
//! (`"FLOAT"`, `"INT64"`, ...), later ones as the `TensorProto.DataType` number.
//! `saturate` (opset 19) concerns float8 targets (out-of-range values and
//! infinities become the largest finite value, else Inf / NaN per the float8
//! table); `round_mode` (opset 24: `up`, `down`, `nearest`) concerns float8e8m0.
//! The low-precision types (float8 flavours, float4e2m1, int4/uint4, int2/uint2,
//! opsets 19-25) convert as in [`ronn_core::lowp`]: floats round to nearest even,
//! integers truncate then wrap. CastLike (opset 15) takes the target type from
//! input 1. BitCast (opset 26) reinterprets the little-endian bits between types
//! of the same width (bool counts as 8 bits; a bool result is `byte != 0`).
//!
//! Numbers to strings use numpy-like shortest round-trip formatting (`0.1`,
//! `1.0`, `1e+20`, `nan`, `inf`); strings to numbers parse decimal and scientific
//! notation and `NaN` / `INF` / `-INF` in any case.

use crate::elementwise::unary;
use crate::helpers::{input, kernel, output};
use ronn_core::lowp::{self, E8M0Round};
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
        "FLOAT8E4M3FN" => DType::Float8E4M3FN,
        "FLOAT8E4M3FNUZ" => DType::Float8E4M3FNUZ,
        "FLOAT8E5M2" => DType::Float8E5M2,
        "FLOAT8E5M2FNUZ" => DType::Float8E5M2FNUZ,
        "FLOAT8E8M0" => DType::Float8E8M0,
        "FLOAT4E2M1" => DType::Float4E2M1,
        "INT4" => DType::Int4,
        "UINT4" => DType::UInt4,
        "INT2" => DType::Int2,
        "UINT2" => DType::UInt2,
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
        d if lowp::is_small_float(d) => t.to_f64_vec()?.into_iter().map(|x| num_to_string_f64(x, true)).collect(),
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

/// Cast's attributes that matter for low-precision targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CastOpts {
    /// Float8 targets: clamp out-of-range values (and infinities) to the largest
    /// finite value instead of giving Inf / NaN.
    pub saturate: bool,
    /// Float8e8m0 targets: the rounding direction.
    pub round: E8M0Round,
}

impl Default for CastOpts {
    fn default() -> Self {
        CastOpts { saturate: true, round: E8M0Round::Up }
    }
}

/// The elements as f32 (strings parsed), for conversions that go through f32.
fn f32s(t: &Tensor) -> Result<Vec<f32>> {
    Ok(match t.dtype() {
        DType::Float32 => t.as_slice::<f32>()?.to_vec(),
        DType::String => t.as_strings()?.iter().map(|s| parse_f64(s).map(|x| x as f32)).collect::<Result<_>>()?,
        _ => t.to_f64_vec()?.into_iter().map(|x| x as f32).collect(),
    })
}

/// Conversion to a low-precision type.
fn to_small(t: &Tensor, to: DType, o: CastOpts) -> Result<Tensor> {
    let from = t.dtype();
    let sat = o.saturate;
    let v: Vec<u8> = if to == DType::Float8E8M0 {
        unary(&f32s(t)?, |&x| lowp::to_e8m0(x, sat, o.round))
    } else if lowp::is_small_int(to) && (from.is_int() || from == DType::Bool || lowp::is_small_int(from)) {
        t.to_i64_vec()?.into_iter().map(|x| lowp::int_from_i64(to, x)).collect()
    } else {
        match from {
            DType::Float32 => unary(t.as_slice::<f32>()?, |&x| lowp::from_f32(to, x, sat)),
            DType::Float16 => unary(t.as_slice::<f16>()?, |&x| lowp::from_f32(to, x.to_f32(), sat)),
            DType::BFloat16 => unary(t.as_slice::<bf16>()?, |&x| lowp::from_f32(to, x.to_f32(), sat)),
            DType::Float64 => unary(t.as_slice::<f64>()?, |&x| lowp::from_f64(to, x, sat)),
            DType::String => t
                .as_strings()?
                .iter()
                .map(|s| parse_f64(s).map(|x| lowp::from_f64(to, x, sat)))
                .collect::<Result<_>>()?,
            _ => t.to_f64_vec()?.into_iter().map(|x| lowp::from_f64(to, x, sat)).collect(),
        }
    };
    Tensor::from_small(to, t.shape().to_vec(), v)
}

/// Conversion from a low-precision type to a stored wider one.
fn from_small(t: &Tensor, to: DType) -> Result<Tensor> {
    let from = t.dtype();
    let b = t.as_small()?;
    let shape = t.shape().to_vec();
    if to == DType::String {
        return Tensor::from_strings(shape, to_strings(t)?);
    }
    if lowp::is_small_float(from) {
        let table = lowp::f32_table(from);
        return match to {
            DType::Float32 => Tensor::from_vec(shape, unary(b, |&x| table[x as usize])),
            DType::Float16 => Tensor::from_vec(shape, unary(b, |&x| f16::from_f32(table[x as usize]))),
            DType::BFloat16 => Tensor::from_vec(shape, unary(b, |&x| bf16::from_f32(table[x as usize]))),
            DType::Float64 => Tensor::from_vec(shape, unary(b, |&x| table[x as usize] as f64)),
            _ => t.cast(to),
        };
    }
    match to {
        DType::Float32 => Tensor::from_vec(shape, unary(b, |&x| lowp::int_to_i64(from, x) as f32)),
        DType::Int8 => Tensor::from_vec(shape, unary(b, |&x| lowp::int_to_i64(from, x) as i8)),
        DType::UInt8 => Tensor::from_vec(shape, unary(b, |&x| lowp::int_to_i64(from, x) as u8)),
        _ => t.cast(to),
    }
}

/// Converts `t` to element type `to` (every pair of supported types), with
/// Cast's default attributes.
pub fn cast(t: &Tensor, to: DType) -> Result<Tensor> {
    cast_with(t, to, CastOpts::default())
}

/// Converts `t` to element type `to` with Cast's `saturate` / `round_mode`.
pub fn cast_with(t: &Tensor, to: DType, o: CastOpts) -> Result<Tensor> {
    let from = t.dtype();
    if from == to {
        return Ok(t.clone());
    }
    if to.is_small() {
        return to_small(t, to, o);
    }
    if from.is_small() {
        return from_small(t, to);
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

fn opts_of(ctx: &BuildCtx) -> Result<CastOpts> {
    let node = ctx.node;
    let saturate = node.attr_i_or("saturate", 1)? != 0;
    let round = match node.attr_s_or("round_mode", "up")?.as_str() {
        "up" => E8M0Round::Up,
        "down" => E8M0Round::Down,
        "nearest" => E8M0Round::Nearest,
        other => return Err(node.unsupported(format!("round_mode '{other}' (expected up, down or nearest)"))),
    };
    Ok(CastOpts { saturate, round })
}

fn make_cast(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let to = target_of(ctx)?;
    let o = opts_of(ctx)?;
    kernel(move |_, inputs| output(cast_with(input(inputs, 0)?, to, o)?))
}

fn make_cast_like(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let o = opts_of(ctx)?;
    kernel(move |_, inputs| {
        let t = input(inputs, 0)?;
        let like = input(inputs, 1)?;
        if !like.dtype().is_supported() {
            bail!(TypeMismatch, "CastLike target type {} is not supported", like.dtype());
        }
        output(cast_with(t, like.dtype(), o)?)
    })
}

/// Bits per element for BitCast (bool: 8); `None` for strings.
fn bit_width(d: DType) -> Option<u32> {
    if d == DType::Bool {
        return Some(8);
    }
    if let Some(b) = lowp::bits(d) {
        return Some(b);
    }
    match d.size_of() {
        0 => None,
        n => Some(8 * n as u32),
    }
}

/// The elements' bit patterns, widened to u64 (little-endian order of bytes is
/// the natural order of these integers).
fn bits_of(t: &Tensor) -> Result<Vec<u64>> {
    use DType as D;
    Ok(match t.dtype() {
        D::Float32 => t.as_slice::<f32>()?.iter().map(|x| x.to_bits() as u64).collect(),
        D::Float64 => t.as_slice::<f64>()?.iter().map(|x| x.to_bits()).collect(),
        D::Float16 => t.as_slice::<f16>()?.iter().map(|x| x.to_bits() as u64).collect(),
        D::BFloat16 => t.as_slice::<bf16>()?.iter().map(|x| x.to_bits() as u64).collect(),
        D::Int8 => t.as_slice::<i8>()?.iter().map(|&x| x as u8 as u64).collect(),
        D::Int16 => t.as_slice::<i16>()?.iter().map(|&x| x as u16 as u64).collect(),
        D::Int32 => t.as_slice::<i32>()?.iter().map(|&x| x as u32 as u64).collect(),
        D::Int64 => t.as_slice::<i64>()?.iter().map(|&x| x as u64).collect(),
        D::UInt8 => t.as_slice::<u8>()?.iter().map(|&x| x as u64).collect(),
        D::UInt16 => t.as_slice::<u16>()?.iter().map(|&x| x as u64).collect(),
        D::UInt32 => t.as_slice::<u32>()?.iter().map(|&x| x as u64).collect(),
        D::UInt64 => t.as_slice::<u64>()?.to_vec(),
        D::Bool => t.as_slice::<bool>()?.iter().map(|&x| x as u64).collect(),
        d if d.is_small() => t.as_small()?.iter().map(|&b| lowp::code_of(d, b) as u64).collect(),
        d => bail!(TypeMismatch, "BitCast of {d} is not supported"),
    })
}

/// A tensor of type `to` from bit patterns (the inverse of [`bits_of`]).
fn from_bits(to: DType, shape: Vec<usize>, v: Vec<u64>) -> Result<Tensor> {
    use DType as D;
    macro_rules! mk {
        ($f:expr) => {
            Tensor::from_vec(shape, v.into_iter().map($f).collect::<Vec<_>>())
        };
    }
    match to {
        D::Float32 => mk!(|x| f32::from_bits(x as u32)),
        D::Float64 => mk!(f64::from_bits),
        D::Float16 => mk!(|x| f16::from_bits(x as u16)),
        D::BFloat16 => mk!(|x| bf16::from_bits(x as u16)),
        D::Int8 => mk!(|x| x as u8 as i8),
        D::Int16 => mk!(|x| x as u16 as i16),
        D::Int32 => mk!(|x| x as u32 as i32),
        D::Int64 => mk!(|x| x as i64),
        D::UInt8 => mk!(|x| x as u8),
        D::UInt16 => mk!(|x| x as u16),
        D::UInt32 => mk!(|x| x as u32),
        D::UInt64 => Tensor::from_vec(shape, v),
        D::Bool => mk!(|x| x != 0),
        d if d.is_small() => Tensor::from_small(d, shape, v.into_iter().map(|x| lowp::from_code(d, x as u8)).collect()),
        d => bail!(TypeMismatch, "BitCast to {d} is not supported"),
    }
}

/// Reinterprets the bits of `t` as type `to` (same bit width).
pub fn bitcast(t: &Tensor, to: DType) -> Result<Tensor> {
    let from = t.dtype();
    let (Some(a), Some(b)) = (bit_width(from), bit_width(to)) else {
        bail!(TypeMismatch, "BitCast from {from} to {to}: strings have no fixed bit width");
    };
    if a != b {
        bail!(TypeMismatch, "BitCast needs types of the same bit width, got {from} ({a} bits) and {to} ({b} bits)");
    }
    if from == to {
        return Ok(t.clone());
    }
    from_bits(to, t.shape().to_vec(), bits_of(t)?)
}

fn make_bitcast(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let v = node.attr_i("to")?.ok_or_else(|| node.unsupported("BitCast needs the 'to' attribute"))?;
    let to = DType::from_onnx(v as i32)
        .filter(|d| d.is_supported() && *d != DType::String)
        .ok_or_else(|| node.unsupported(format!("BitCast to type {v}")))?;
    kernel(move |_, inputs| output(bitcast(input(inputs, 0)?, to)?))
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Cast", make_cast);
    r.register_all("CastLike", make_cast_like);
    r.register("", "BitCast", 26, i64::MAX, make_bitcast);
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
        let bad = Node::new("Cast", &["x"], &["y"], 19).with_attr("to", Attribute::Int(14));
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

    fn cast_attrs(to: DType, saturate: i64) -> Node {
        cast_node(to).with_attr("saturate", Attribute::Int(saturate))
    }

    fn f32s_of(t: &Tensor) -> Vec<f32> {
        t.cast(DType::Float32).unwrap().as_slice::<f32>().unwrap().to_vec()
    }

    #[test]
    fn float8_saturate_on_and_off() {
        // The ONNX test case's inputs (test_cast_FLOAT_to_FLOAT8E4M3FN).
        let v = vec![0.478_925_47f32, 0.722_903_8, 1e6, 1e-7, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -1e-7, -1e6];
        let x = Tensor::from_vec(vec![9], v).unwrap();
        let cases: [(DType, [f32; 9], [f32; 9]); 4] = [
            (
                DType::Float8E4M3FN,
                [0.46875, 0.75, 448.0, 0.0, f32::NAN, 448.0, -448.0, -0.0, -448.0],
                [0.46875, 0.75, f32::NAN, 0.0, f32::NAN, f32::NAN, f32::NAN, -0.0, f32::NAN],
            ),
            (
                DType::Float8E4M3FNUZ,
                [0.46875, 0.75, 240.0, 0.0, f32::NAN, 240.0, -240.0, 0.0, -240.0],
                [0.46875, 0.75, f32::NAN, 0.0, f32::NAN, f32::NAN, f32::NAN, 0.0, f32::NAN],
            ),
            (
                DType::Float8E5M2,
                [0.5, 0.75, 57344.0, 0.0, f32::NAN, 57344.0, -57344.0, -0.0, -57344.0],
                [0.5, 0.75, f32::INFINITY, 0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, f32::NEG_INFINITY],
            ),
            (
                DType::Float8E5M2FNUZ,
                [0.5, 0.75, 57344.0, 0.0, f32::NAN, 57344.0, -57344.0, 0.0, -57344.0],
                [0.5, 0.75, f32::NAN, 0.0, f32::NAN, f32::NAN, f32::NAN, 0.0, f32::NAN],
            ),
        ];
        let same = |a: &[f32], b: &[f32]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x.is_nan() && y.is_nan()) || x == y)
        };
        for (d, sat, nosat) in cases {
            let y = run_node(&cast_node(d), vec![x.clone()]).unwrap();
            assert_eq!(y[0].dtype(), d);
            assert!(same(&f32s_of(&y[0]), &sat), "{d} saturate: {:?}", f32s_of(&y[0]));
            let y = run_node(&cast_attrs(d, 0), vec![x.clone()]).unwrap();
            assert!(same(&f32s_of(&y[0]), &nosat), "{d} no saturate: {:?}", f32s_of(&y[0]));
            // From float16 and float64 too, and back to float16.
            let h = run_node(&cast_node(d), vec![x.cast(DType::Float16).unwrap()]).unwrap();
            let back = run_node(&cast_node(DType::Float16), vec![h[0].clone()]).unwrap();
            assert_eq!(back[0].as_slice::<f16>().unwrap()[1], f16::from_f32(0.75));
            let g = run_node(&cast_node(d), vec![x.cast(DType::Float64).unwrap()]).unwrap();
            assert_eq!(f32s_of(&g[0])[1], 0.75);
        }
    }

    #[test]
    fn float4_int4_int2_ranges() {
        let x = Tensor::from_vec(vec![7], vec![-9.0f32, -3.0, -2.0, 1.9, 7.0, 8.0, 15.0]).unwrap();
        let y = run_node(&cast_node(DType::Int4), vec![x.clone()]).unwrap();
        assert_eq!(y[0].to_i64_vec().unwrap(), vec![7, -3, -2, 1, 7, -8, -1]);
        let y = run_node(&cast_node(DType::UInt4), vec![x.clone()]).unwrap();
        assert_eq!(y[0].to_i64_vec().unwrap(), vec![7, 13, 14, 1, 7, 8, 15]);
        let y = run_node(&cast_node(DType::Int2), vec![x.clone()]).unwrap();
        assert_eq!(y[0].to_i64_vec().unwrap(), vec![-1, 1, -2, 1, -1, 0, -1]);
        let y = run_node(&cast_node(DType::UInt2), vec![x.clone()]).unwrap();
        assert_eq!(y[0].to_i64_vec().unwrap(), vec![3, 1, 2, 1, 3, 0, 3]);
        let i8s = run_node(&cast_node(DType::Int8), vec![y[0].clone()]).unwrap();
        assert_eq!(i8s[0].as_slice::<i8>().unwrap(), &[3, 1, 2, 1, 3, 0, 3]);
        let i4 =
            run_node(&cast_node(DType::Int4), vec![Tensor::from_vec(vec![3], vec![-9i64, 8, 100]).unwrap()]).unwrap();
        assert_eq!(i4[0].to_i64_vec().unwrap(), vec![7, -8, 4]);
        let f = run_node(&cast_node(DType::Float32), vec![i4[0].clone()]).unwrap();
        assert_eq!(f[0].as_slice::<f32>().unwrap(), &[7.0, -8.0, 4.0]);
        let x = Tensor::from_vec(vec![6], vec![0.48f32, 0.25, -3.5, 9.0, f32::INFINITY, -0.0]).unwrap();
        let y = run_node(&cast_attrs(DType::Float4E2M1, 0), vec![x]).unwrap();
        assert_eq!(f32s_of(&y[0]), vec![0.5, 0.0, -4.0, 6.0, 6.0, -0.0]);
        let s = run_node(&cast_node(DType::String), vec![y[0].clone()]).unwrap();
        assert_eq!(s[0].as_strings().unwrap()[2], "-4.0");
        let b = run_node(&cast_node(DType::Bool), vec![y[0].clone()]).unwrap();
        assert_eq!(b[0].as_slice::<bool>().unwrap(), &[true, false, true, true, true, false]);
    }

    #[test]
    fn e8m0_round_modes() {
        let x = Tensor::from_vec(vec![5], vec![0.0f32, 0.124, 1.1, 1.5, 8.0]).unwrap();
        let n = |mode: &str| {
            cast_node(DType::Float8E8M0)
                .with_attr("saturate", Attribute::Int(1))
                .with_attr("round_mode", Attribute::String(mode.as_bytes().to_vec()))
        };
        let y = run_node(&n("up"), vec![x.clone()]).unwrap();
        assert_eq!(y[0].as_small().unwrap(), &[0, 124, 128, 128, 130]);
        assert_eq!(f32s_of(&y[0])[1..], [0.125, 2.0, 2.0, 8.0]);
        let y = run_node(&n("down"), vec![x.clone()]).unwrap();
        assert_eq!(y[0].as_small().unwrap(), &[0, 123, 127, 127, 130]);
        let y = run_node(&n("nearest"), vec![x.clone()]).unwrap();
        assert_eq!(y[0].as_small().unwrap(), &[0, 124, 127, 128, 130]);
        assert!(run_node(&n("sideways"), vec![x.clone()]).is_err());
        let h = run_node(&cast_node(DType::Float16), vec![y[0].clone()]).unwrap();
        assert_eq!(h[0].as_slice::<f16>().unwrap()[0], f16::from_f32(0.0)); // 2^-127 underflows
    }

    #[test]
    fn cast_like_small_targets_and_saturate() {
        let n = Node::new("CastLike", &["x", "like"], &["y"], 19).with_attr("saturate", Attribute::Int(0));
        let like = Tensor::from_small(DType::Float8E5M2, vec![0], vec![]).unwrap();
        let x = Tensor::from_vec(vec![2], vec![1e6f32, 3.0]).unwrap();
        let y = run_node(&n, vec![x.clone(), like.clone()]).unwrap();
        assert_eq!(f32s_of(&y[0]), vec![f32::INFINITY, 3.0]);
        let n = Node::new("CastLike", &["x", "like"], &["y"], 19);
        let y = run_node(&n, vec![x, like]).unwrap();
        assert_eq!(f32s_of(&y[0]), vec![57344.0, 3.0]);
    }

    fn bitcast_node(to: DType) -> Node {
        Node::new("BitCast", &["x"], &["y"], 26).with_attr("to", Attribute::Int(to.to_onnx() as i64))
    }

    #[test]
    fn bitcast_reinterprets_bits() {
        let x = Tensor::from_vec(vec![2], vec![1.0f32, -2.0]).unwrap();
        let y = run_node(&bitcast_node(DType::Int32), vec![x.clone()]).unwrap();
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[0x3f80_0000, 0xc000_0000u32 as i32]);
        let back = run_node(&bitcast_node(DType::Float32), vec![y[0].clone()]).unwrap();
        assert_eq!(back[0], x);
        let y = run_node(&bitcast_node(DType::UInt8), vec![Tensor::from_vec(vec![2], vec![-1i8, 5]).unwrap()]).unwrap();
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &[255, 5]);
        let y =
            run_node(&bitcast_node(DType::UInt8), vec![Tensor::from_vec(vec![2], vec![true, false]).unwrap()]).unwrap();
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &[1, 0]);
        let y = run_node(&bitcast_node(DType::Float64), vec![Tensor::scalar(0x4000_0000_0000_0000i64)]).unwrap();
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[2.0]);
        assert_eq!(y[0].shape(), &[] as &[usize]);
        // uint8 <-> float8, uint4 <-> int4.
        let y = run_node(&bitcast_node(DType::Float8E4M3FN), vec![Tensor::from_vec(vec![1], vec![0x7Eu8]).unwrap()])
            .unwrap();
        assert_eq!(f32s_of(&y[0]), vec![448.0]);
        let u4 = Tensor::from_small(DType::UInt4, vec![2], vec![15, 7]).unwrap();
        let y = run_node(&bitcast_node(DType::Int4), vec![u4]).unwrap();
        assert_eq!(y[0].to_i64_vec().unwrap(), vec![-1, 7]);
        // Width mismatch and unknown / string targets are errors.
        let e = run_node(&bitcast_node(DType::Int64), vec![x.clone()]).unwrap_err();
        assert_eq!(e.code(), ronn_core::ErrorCode::TypeMismatch);
        let bad = Node::new("BitCast", &["x"], &["y"], 26).with_attr("to", Attribute::Int(8));
        assert!(run_node(&bad, vec![x.clone()]).is_err());
        assert!(run_node(&Node::new("BitCast", &["x"], &["y"], 26), vec![x]).is_err());
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
