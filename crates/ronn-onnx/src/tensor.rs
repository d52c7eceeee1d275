//! `TensorProto` <-> [`Tensor`], for every element type RONN stores.
//!
//! Data may sit in `raw_data` (little-endian), in the typed repeated fields
//! (`float_data`, `int32_data` holding 8/16-bit ints, bools and half floats'
//! bits, `int64_data`, `double_data`, `uint64_data`, `string_data`), or in an
//! external file next to the model.
//!
//! Low-precision types ([`ronn_core::lowp`]): float8 take one byte each in
//! `raw_data` and one `int32_data` entry each; 4-bit types (int4, uint4, float4)
//! pack two per byte, low nibble first, and 2-bit types four per byte, lowest
//! bits first, both in `raw_data` and in `int32_data` (one packed byte per entry).

use crate::proto::TensorProto;
use half::{bf16, f16};
use ronn_core::{lowp, DType, Error, Result, Tensor, TensorData};
use std::path::Path;

fn dims_of(p: &TensorProto) -> Result<Vec<usize>> {
    p.dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                Error::InvalidModel(format!("tensor '{}' has a negative dim {d}", p.name.as_deref().unwrap_or("")))
            })
        })
        .collect()
}

fn from_le<T, const N: usize>(raw: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
    raw.chunks_exact(N)
        .map(|c| {
            let mut b = [0u8; N];
            b.copy_from_slice(c);
            f(b)
        })
        .collect()
}

/// Reads external data (`data_location == EXTERNAL`) relative to `base`, refusing
/// locations that leave `base`.
fn read_external(p: &TensorProto, base: Option<&Path>) -> Result<Vec<u8>> {
    let name = p.name.as_deref().unwrap_or("");
    let base = base.ok_or_else(|| {
        Error::InvalidModel(format!(
            "tensor '{name}' keeps its data in an external file, but the model was loaded from bytes (load it from a path)"
        ))
    })?;
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for kv in &p.external_data {
        let v = kv.value.as_deref().unwrap_or("");
        match kv.key.as_deref().unwrap_or("") {
            "location" => location = Some(v.to_string()),
            "offset" => {
                offset = v.parse().map_err(|_| Error::InvalidModel(format!("tensor '{name}': bad offset {v:?}")))?
            }
            "length" => {
                length = Some(
                    v.parse::<u64>().map_err(|_| Error::InvalidModel(format!("tensor '{name}': bad length {v:?}")))?,
                )
            }
            _ => {}
        }
    }
    let location =
        location.ok_or_else(|| Error::InvalidModel(format!("tensor '{name}': external data without a location")))?;
    let rel = Path::new(&location);
    if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(Error::InvalidModel(format!(
            "tensor '{name}': external data location {location:?} leaves the model's folder"
        )));
    }
    let path = base.join(rel);
    let canon_base = base.canonicalize()?;
    let canon = path
        .canonicalize()
        .map_err(|e| Error::Io(format!("tensor '{name}': external data file {}: {e}", path.display())))?;
    if !canon.starts_with(&canon_base) {
        return Err(Error::InvalidModel(format!(
            "tensor '{name}': external data location {location:?} leaves the model's folder"
        )));
    }
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(&canon)?;
    let file_len = f.metadata()?.len();
    let len = length.unwrap_or(file_len.saturating_sub(offset));
    if offset.checked_add(len).is_none_or(|end| end > file_len) {
        return Err(Error::InvalidModel(format!(
            "tensor '{name}': external data [{offset}, +{len}) is past the end of {} ({file_len} bytes)",
            path.display()
        )));
    }
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

/// Decodes a `TensorProto`. `base` is the model's folder, for external data.
pub fn tensor_from_proto(p: &TensorProto, base: Option<&Path>) -> Result<Tensor> {
    let name = p.name.as_deref().unwrap_or("");
    let code = p.data_type.unwrap_or(0);
    let dtype = DType::from_onnx(code)
        .ok_or_else(|| Error::InvalidModel(format!("tensor '{name}' has unknown data type {code}")))?;
    if !dtype.is_supported() {
        return Err(Error::UnsupportedOp(format!(
            "tensor '{name}' has element type {dtype}, which RONN does not support"
        )));
    }
    if p.segment.is_some() {
        return Err(Error::UnsupportedOp(format!("tensor '{name}' is segmented")));
    }
    let shape = dims_of(p)?;
    let n: usize = shape.iter().product();
    let external;
    let raw: Option<&[u8]> = if p.data_location == Some(1) {
        external = read_external(p, base)?;
        Some(&external)
    } else {
        p.raw_data.as_deref()
    };
    let data = if dtype.is_small() {
        let packed: Vec<u8> = match raw {
            Some(r) => r.to_vec(),
            None => p.int32_data.iter().map(|&v| v as u8).collect(),
        };
        let want = lowp::packed_len(dtype, n);
        if packed.len() != want {
            return Err(Error::InvalidModel(format!(
                "tensor '{name}' ({dtype}{shape:?}) needs {want} bytes of packed data, has {}",
                packed.len()
            )));
        }
        let v = lowp::unpack(dtype, &packed, n)
            .ok_or_else(|| Error::InvalidModel(format!("tensor '{name}' has too little data")))?;
        TensorData::Small { dtype, data: v.into() }
    } else if dtype == DType::String {
        TensorData::Str(
            p.string_data.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect::<Vec<_>>().into(),
        )
    } else if let Some(raw) = raw {
        let want = n
            .checked_mul(dtype.size_of())
            .ok_or_else(|| Error::OutOfMemory(format!("tensor '{name}' is too large")))?;
        if raw.len() != want {
            return Err(Error::InvalidModel(format!(
                "tensor '{name}' ({dtype}{shape:?}) needs {want} bytes of raw data, has {}",
                raw.len()
            )));
        }
        match dtype {
            DType::Float32 => TensorData::F32(from_le(raw, f32::from_le_bytes).into()),
            DType::Float64 => TensorData::F64(from_le(raw, f64::from_le_bytes).into()),
            DType::Float16 => TensorData::F16(from_le(raw, |b| f16::from_bits(u16::from_le_bytes(b))).into()),
            DType::BFloat16 => TensorData::BF16(from_le(raw, |b| bf16::from_bits(u16::from_le_bytes(b))).into()),
            DType::Int8 => TensorData::I8(raw.iter().map(|&b| b as i8).collect::<Vec<_>>().into()),
            DType::UInt8 => TensorData::U8(raw.to_vec().into()),
            DType::Int16 => TensorData::I16(from_le(raw, i16::from_le_bytes).into()),
            DType::UInt16 => TensorData::U16(from_le(raw, u16::from_le_bytes).into()),
            DType::Int32 => TensorData::I32(from_le(raw, i32::from_le_bytes).into()),
            DType::UInt32 => TensorData::U32(from_le(raw, u32::from_le_bytes).into()),
            DType::Int64 => TensorData::I64(from_le(raw, i64::from_le_bytes).into()),
            DType::UInt64 => TensorData::U64(from_le(raw, u64::from_le_bytes).into()),
            DType::Bool => TensorData::Bool(raw.iter().map(|&b| b != 0).collect::<Vec<_>>().into()),
            _ => return Err(Error::Internal(format!("unhandled dtype {dtype}"))),
        }
    } else {
        let i32s = || p.int32_data.iter();
        match dtype {
            DType::Float32 => TensorData::F32(p.float_data.clone().into()),
            DType::Float64 => TensorData::F64(p.double_data.clone().into()),
            DType::Float16 => TensorData::F16(i32s().map(|&v| f16::from_bits(v as u16)).collect::<Vec<_>>().into()),
            DType::BFloat16 => TensorData::BF16(i32s().map(|&v| bf16::from_bits(v as u16)).collect::<Vec<_>>().into()),
            DType::Int8 => TensorData::I8(i32s().map(|&v| v as i8).collect::<Vec<_>>().into()),
            DType::UInt8 => TensorData::U8(i32s().map(|&v| v as u8).collect::<Vec<_>>().into()),
            DType::Int16 => TensorData::I16(i32s().map(|&v| v as i16).collect::<Vec<_>>().into()),
            DType::UInt16 => TensorData::U16(i32s().map(|&v| v as u16).collect::<Vec<_>>().into()),
            DType::Int32 => TensorData::I32(p.int32_data.clone().into()),
            DType::Bool => TensorData::Bool(i32s().map(|&v| v != 0).collect::<Vec<_>>().into()),
            DType::Int64 => TensorData::I64(p.int64_data.clone().into()),
            DType::UInt32 => TensorData::U32(p.uint64_data.iter().map(|&v| v as u32).collect::<Vec<_>>().into()),
            DType::UInt64 => TensorData::U64(p.uint64_data.clone().into()),
            _ => return Err(Error::Internal(format!("unhandled dtype {dtype}"))),
        }
    };
    if data.len() != n {
        return Err(Error::InvalidModel(format!(
            "tensor '{name}' has shape {shape:?} ({n} elements) but {} values",
            data.len()
        )));
    }
    Tensor::new(shape, data)
}

fn le_bytes<T: Copy, const N: usize>(v: &[T], f: fn(T) -> [u8; N]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * N);
    for &x in v {
        out.extend_from_slice(&f(x));
    }
    out
}

/// Encodes a tensor as a `TensorProto` (numbers in `raw_data`, strings in `string_data`).
pub fn tensor_to_proto(t: &Tensor, name: &str) -> TensorProto {
    let mut p = TensorProto {
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: Some(t.dtype().to_onnx()),
        name: if name.is_empty() { None } else { Some(name.to_string()) },
        ..Default::default()
    };
    let raw = match t.data() {
        TensorData::F32(s) => le_bytes(s.as_slice(), f32::to_le_bytes),
        TensorData::F64(s) => le_bytes(s.as_slice(), f64::to_le_bytes),
        TensorData::F16(s) => le_bytes(s.as_slice(), |x: f16| x.to_bits().to_le_bytes()),
        TensorData::BF16(s) => le_bytes(s.as_slice(), |x: bf16| x.to_bits().to_le_bytes()),
        TensorData::I8(s) => s.as_slice().iter().map(|&x| x as u8).collect(),
        TensorData::U8(s) => s.as_slice().to_vec(),
        TensorData::I16(s) => le_bytes(s.as_slice(), i16::to_le_bytes),
        TensorData::U16(s) => le_bytes(s.as_slice(), u16::to_le_bytes),
        TensorData::I32(s) => le_bytes(s.as_slice(), i32::to_le_bytes),
        TensorData::U32(s) => le_bytes(s.as_slice(), u32::to_le_bytes),
        TensorData::I64(s) => le_bytes(s.as_slice(), i64::to_le_bytes),
        TensorData::U64(s) => le_bytes(s.as_slice(), u64::to_le_bytes),
        TensorData::Bool(s) => s.as_slice().iter().map(|&b| b as u8).collect(),
        TensorData::Str(s) => {
            p.string_data = s.as_slice().iter().map(|x| x.as_bytes().to_vec()).collect();
            return p;
        }
        TensorData::Small { dtype, data } => lowp::pack(*dtype, data.as_slice()),
    };
    p.raw_data = Some(raw);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_stored_type() {
        let ts = vec![
            Tensor::from_vec(vec![2, 2], vec![1.5f32, -2., 3., 4.]).unwrap(),
            Tensor::from_vec(vec![3], vec![1.5f64, -2., 3.]).unwrap(),
            Tensor::from_vec(vec![2], vec![f16::from_f32(0.5), f16::from_f32(-1.0)]).unwrap(),
            Tensor::from_vec(vec![2], vec![bf16::from_f32(0.5), bf16::from_f32(-1.0)]).unwrap(),
            Tensor::from_vec(vec![3], vec![-1i8, 0, 127]).unwrap(),
            Tensor::from_vec(vec![1], vec![u64::MAX]).unwrap(),
            Tensor::from_vec(vec![2], vec![true, false]).unwrap(),
            Tensor::from_strings(vec![2], vec!["a".into(), "héllo".into()]).unwrap(),
            Tensor::from_vec(vec![0, 3], Vec::<i64>::new()).unwrap(),
        ];
        for t in ts {
            let back = tensor_from_proto(&tensor_to_proto(&t, "x"), None).unwrap();
            assert_eq!(back, t);
        }
    }

    #[test]
    fn reads_typed_fields() {
        let p =
            TensorProto { dims: vec![2], data_type: Some(10), int32_data: vec![0x3c00, 0xc000], ..Default::default() };
        let t = tensor_from_proto(&p, None).unwrap();
        assert_eq!(t.as_slice::<f16>().unwrap(), &[f16::from_f32(1.0), f16::from_f32(-2.0)]);
        let p = TensorProto { dims: vec![2], data_type: Some(12), uint64_data: vec![7, 8], ..Default::default() };
        assert_eq!(tensor_from_proto(&p, None).unwrap().as_slice::<u32>().unwrap(), &[7, 8]);
    }

    #[test]
    fn small_types_pack_and_round_trip() {
        use ronn_core::lowp::int_from_i64;
        let i4: Vec<u8> = [-8i64, 7, -1, 0, 3].iter().map(|&x| int_from_i64(DType::Int4, x)).collect();
        let t = Tensor::from_small(DType::Int4, vec![5], i4).unwrap();
        let p = tensor_to_proto(&t, "x");
        assert_eq!(p.raw_data.as_deref(), Some(&[0x78u8, 0x0F, 0x03][..]));
        assert_eq!(tensor_from_proto(&p, None).unwrap(), t);
        let ts = vec![
            Tensor::from_small(DType::UInt4, vec![2, 2], vec![0, 15, 8, 1]).unwrap(),
            Tensor::from_small(DType::Float4E2M1, vec![3], vec![0xF, 0x1, 0x8]).unwrap(),
            Tensor::from_small(DType::Int2, vec![5], vec![0xFE, 1, 0xFF, 0, 1]).unwrap(),
            Tensor::from_small(DType::UInt2, vec![1, 3], vec![3, 2, 1]).unwrap(),
            Tensor::from_small(DType::Float8E4M3FN, vec![3], vec![0x7E, 0x80, 0x01]).unwrap(),
            Tensor::from_small(DType::Float8E5M2FNUZ, vec![2], vec![0x7F, 0x00]).unwrap(),
            Tensor::from_small(DType::Float8E8M0, vec![1], vec![127]).unwrap(),
            Tensor::from_small(DType::Float8E5M2, vec![0], vec![]).unwrap(),
        ];
        for t in ts {
            let back = tensor_from_proto(&tensor_to_proto(&t, "x"), None).unwrap();
            assert_eq!(back, t);
        }
        // Typed fields: float8 one per int32, 4-bit packed per int32, 2-bit too.
        let p = TensorProto { dims: vec![2], data_type: Some(17), int32_data: vec![0x7E, 0xC0], ..Default::default() };
        assert_eq!(tensor_from_proto(&p, None).unwrap().to_f64_vec().unwrap(), vec![448.0, -2.0]);
        let p = TensorProto { dims: vec![3], data_type: Some(22), int32_data: vec![0x9F, 0x07], ..Default::default() };
        assert_eq!(tensor_from_proto(&p, None).unwrap().to_i64_vec().unwrap(), vec![-1, -7, 7]);
        let p =
            TensorProto { dims: vec![4], data_type: Some(26), int32_data: vec![0b01_00_11_10], ..Default::default() };
        assert_eq!(tensor_from_proto(&p, None).unwrap().to_i64_vec().unwrap(), vec![-2, -1, 0, 1]);
        // Wrong packed lengths.
        let p = TensorProto { dims: vec![3], data_type: Some(21), raw_data: Some(vec![0]), ..Default::default() };
        assert!(tensor_from_proto(&p, None).is_err());
        let p = TensorProto { dims: vec![2], data_type: Some(19), raw_data: Some(vec![0; 3]), ..Default::default() };
        assert!(tensor_from_proto(&p, None).is_err());
    }

    #[test]
    fn wrong_raw_length_is_an_error() {
        let p = TensorProto { dims: vec![3], data_type: Some(1), raw_data: Some(vec![0; 8]), ..Default::default() };
        assert!(tensor_from_proto(&p, None).is_err());
    }

    #[test]
    fn external_data_cannot_leave_the_folder() {
        let dir = std::env::temp_dir().join(format!("ronn-ext-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("w.bin"), 1.0f32.to_le_bytes()).unwrap();
        let mk = |loc: &str| TensorProto {
            name: Some("w".into()),
            dims: vec![1],
            data_type: Some(1),
            data_location: Some(1),
            external_data: vec![crate::proto::StringStringEntryProto {
                key: Some("location".into()),
                value: Some(loc.into()),
            }],
            ..Default::default()
        };
        let t = tensor_from_proto(&mk("w.bin"), Some(&dir)).unwrap();
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0]);
        let e = tensor_from_proto(&mk("../etc/passwd"), Some(&dir)).unwrap_err();
        assert!(e.to_string().contains("leaves the model's folder"), "{e}");
        assert!(tensor_from_proto(&mk("/etc/passwd"), Some(&dir)).is_err());
        assert!(tensor_from_proto(&mk("w.bin"), None).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
