//! .npy files <-> tensors (C order; the numeric types and bool).

use npyz::WriterBuilder;
use ronn::{f16, DType, Error, Result, Tensor};

fn io(e: impl std::fmt::Display) -> Error {
    Error::InvalidArgument(format!("bad .npy data: {e}"))
}

/// Parses .npy bytes.
pub fn read(bytes: &[u8]) -> Result<Tensor> {
    let f = npyz::NpyFile::new(bytes).map_err(io)?;
    if f.order() == npyz::Order::Fortran {
        return Err(Error::InvalidArgument(
            "Fortran-order .npy files are not supported; save with np.ascontiguousarray".into(),
        ));
    }
    let shape: Vec<usize> = f.shape().iter().map(|&d| d as usize).collect();
    let descr = match f.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => return Err(Error::InvalidArgument(format!("unsupported .npy dtype {other:?}"))),
    };
    let kind = descr.trim_start_matches(['<', '|', '=']);
    macro_rules! load {
        ($t:ty) => {
            Tensor::from_vec(shape, f.into_vec::<$t>().map_err(io)?)
        };
    }
    match kind {
        "f4" => load!(f32),
        "f8" => load!(f64),
        "f2" => load!(f16),
        "i1" => load!(i8),
        "i2" => load!(i16),
        "i4" => load!(i32),
        "i8" => load!(i64),
        "u1" => load!(u8),
        "u2" => load!(u16),
        "u4" => load!(u32),
        "u8" => load!(u64),
        "b1" => load!(bool),
        _ => Err(Error::InvalidArgument(format!("unsupported .npy dtype '{descr}'"))),
    }
}

/// Reads a .npy file.
pub fn read_file(path: &std::path::Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    read(&bytes).map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))
}

/// Serializes a tensor as .npy; `None` for types numpy cannot hold directly (strings, bfloat16).
pub fn write(t: &Tensor) -> Result<Option<Vec<u8>>> {
    let shape: Vec<u64> = t.shape().iter().map(|&d| d as u64).collect();
    let mut buf = Vec::new();
    macro_rules! save {
        ($t:ty) => {{
            let mut w = npyz::WriteOptions::<$t>::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut buf)
                .begin_nd()
                .map_err(io)?;
            w.extend(t.as_slice::<$t>()?.iter().copied()).map_err(io)?;
            w.finish().map_err(io)?;
        }};
    }
    match t.dtype() {
        DType::Float32 => save!(f32),
        DType::Float64 => save!(f64),
        DType::Float16 => save!(f16),
        DType::Int8 => save!(i8),
        DType::Int16 => save!(i16),
        DType::Int32 => save!(i32),
        DType::Int64 => save!(i64),
        DType::UInt8 => save!(u8),
        DType::UInt16 => save!(u16),
        DType::UInt32 => save!(u32),
        DType::UInt64 => save!(u64),
        DType::Bool => save!(bool),
        _ => return Ok(None),
    }
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for t in [
            Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 4., 5., 6.]).unwrap(),
            Tensor::from_vec(vec![3], vec![1i64, -2, 3]).unwrap(),
            Tensor::from_vec(vec![2], vec![true, false]).unwrap(),
            Tensor::from_vec(vec![0], Vec::<u8>::new()).unwrap(),
        ] {
            let bytes = write(&t).unwrap().unwrap();
            assert_eq!(read(&bytes).unwrap(), t);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(read(b"not numpy").is_err());
    }
}
