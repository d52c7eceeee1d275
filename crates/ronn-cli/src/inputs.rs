//! Gathers a run's inputs: `--input NAME=FILE.npy`, `--inputs-dir DIR/input_K.pb`,
//! and seeded random values for anything not given.

use crate::npy;
use rand::{rngs::StdRng, Rng, SeedableRng};
use ronn::{DType, Dim, Error, Model, Result, Tensor, TensorInfo, Value};
use std::path::{Path, PathBuf};

/// Reads `NAME=FILE.npy` pairs.
pub fn from_npy_args(model: &Model, args: &[String]) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for a in args {
        let (name, file) = a
            .split_once('=')
            .ok_or_else(|| Error::InvalidArgument(format!("--input takes NAME=FILE.npy, got '{a}'")))?;
        if !model.inputs().iter().any(|i| i.name == name) {
            let names: Vec<String> = model.inputs().into_iter().map(|i| i.name).collect();
            return Err(Error::NotFound(format!("the model has no input named '{name}'; its inputs are {names:?}")));
        }
        out.push((name.to_string(), Value::Tensor(npy::read_file(Path::new(file))?)));
    }
    Ok(out)
}

/// Reads `DIR/input_K.pb` for the K-th model input, where present.
pub fn from_dir(model: &Model, dir: &Path, given: &[(String, Value)]) -> Result<Vec<(String, Value)>> {
    if !dir.is_dir() {
        return Err(Error::NotFound(format!("inputs directory {} does not exist", dir.display())));
    }
    let mut out = Vec::new();
    for (k, info) in model.inputs().iter().enumerate() {
        let p: PathBuf = dir.join(format!("input_{k}.pb"));
        if given.iter().any(|(n, _)| *n == info.name) || !p.exists() {
            continue;
        }
        let bytes = std::fs::read(&p).map_err(|e| Error::Io(format!("cannot read {}: {e}", p.display())))?;
        let v = ronn::proto::decode_value(&bytes, &info.value_type)
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", p.display())))?;
        out.push((info.name.clone(), v));
    }
    Ok(out)
}

/// A seeded random tensor of the input's type; symbolic and unknown dims are 1.
pub fn random(info: &TensorInfo, rng: &mut StdRng) -> Result<Value> {
    let dtype = info.dtype.ok_or_else(|| {
        Error::InvalidArgument(format!("input '{}' is a {}: give it a value", info.name, info.value_type))
    })?;
    if !matches!(info.value_type, ronn::ValueType::Tensor { .. }) {
        return Err(Error::InvalidArgument(format!("input '{}' is a {}: give it a value", info.name, info.value_type)));
    }
    let shape: Vec<usize> = info
        .shape
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .map(|d| match d {
            Dim::Known(n) => *n,
            _ => 1,
        })
        .collect();
    let n: usize = shape.iter().product();
    macro_rules! fill {
        ($t:ty, $e:expr) => {
            Tensor::from_vec(shape, (0..n).map(|_| $e).collect::<Vec<$t>>())?
        };
    }
    let t = match dtype {
        DType::Float32 => fill!(f32, rng.random::<f32>()),
        DType::Float64 => fill!(f64, rng.random::<f64>()),
        DType::Float16 => fill!(ronn::f16, ronn::f16::from_f32(rng.random::<f32>())),
        DType::BFloat16 => fill!(ronn::bf16, ronn::bf16::from_f32(rng.random::<f32>())),
        DType::Int8 => fill!(i8, rng.random_range(0..10)),
        DType::Int16 => fill!(i16, rng.random_range(0..10)),
        DType::Int32 => fill!(i32, rng.random_range(0..10)),
        DType::Int64 => fill!(i64, rng.random_range(0..10)),
        DType::UInt8 => fill!(u8, rng.random_range(0..10)),
        DType::UInt16 => fill!(u16, rng.random_range(0..10)),
        DType::UInt32 => fill!(u32, rng.random_range(0..10)),
        DType::UInt64 => fill!(u64, rng.random_range(0..10)),
        DType::Bool => fill!(bool, rng.random::<bool>()),
        DType::String => Tensor::from_strings(shape, vec!["ronn".to_string(); n])?,
        other => return Err(Error::UnsupportedOp(format!("input '{}' has type {other}", info.name))),
    };
    Ok(Value::Tensor(t))
}

/// All inputs: the given ones plus seeded random values for the rest (reported on stderr).
pub fn complete(model: &Model, mut given: Vec<(String, Value)>, quiet: bool) -> Result<Vec<(String, Value)>> {
    let mut rng = StdRng::seed_from_u64(0);
    for info in model.inputs() {
        if given.iter().any(|(n, _)| *n == info.name) {
            continue;
        }
        let v = random(&info, &mut rng)?;
        if !quiet {
            if let Value::Tensor(t) = &v {
                eprintln!("note: input '{}' not given; using random {}{:?}", info.name, t.dtype(), t.shape());
            }
        }
        given.push((info.name.clone(), v));
    }
    Ok(given)
}
