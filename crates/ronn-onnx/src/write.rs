//! Values as ONNX protos: the backend-test layout (`input_K.pb`, `output_K.pb`)
//! stores each value as a serialized `TensorProto`, `SequenceProto` or
//! `OptionalProto`, chosen by the graph's declared type.

use crate::proto::{OptionalProto, SequenceProto, TensorProto};
use crate::tensor::{tensor_from_proto, tensor_to_proto};
use prost::Message;
use ronn_core::{DType, Error, Result, Value};
use ronn_ir::ValueType;

const SEQ_TENSOR: i32 = 1;
const SEQ_SEQUENCE: i32 = 2;
const OPT_TENSOR: i32 = 1;
const OPT_SEQUENCE: i32 = 2;

fn seq_proto(v: &Value, name: &str) -> Result<SequenceProto> {
    match v {
        Value::Sequence { items, .. } => Ok(SequenceProto {
            name: Some(name.to_string()),
            elem_type: Some(SEQ_TENSOR),
            tensor_values: items.iter().map(|t| tensor_to_proto(t, "")).collect(),
            ..Default::default()
        }),
        other => Err(Error::TypeMismatch(format!("expected a sequence, got {}", other.kind()))),
    }
}

/// Serializes `v` as the proto matching `ty` (tensor when `ty` says nothing else).
pub fn encode_value(v: &Value, name: &str, ty: &ValueType) -> Result<Vec<u8>> {
    Ok(match (ty, v) {
        (ValueType::Optional(inner), v) => {
            let inner_v = match v {
                Value::Optional(o) => o.as_deref(),
                other => Some(other),
            };
            let is_seq = matches!(**inner, ValueType::Sequence(_));
            let mut p = OptionalProto {
                name: Some(name.to_string()),
                elem_type: Some(if is_seq { OPT_SEQUENCE } else { OPT_TENSOR }),
                ..Default::default()
            };
            match inner_v {
                None => {}
                Some(Value::Tensor(t)) => p.tensor_value = Some(tensor_to_proto(t, "")),
                Some(s @ Value::Sequence { .. }) => p.sequence_value = Some(seq_proto(s, "")?),
                Some(Value::Optional(_)) => return Err(Error::UnsupportedOp("nested optionals".into())),
            }
            p.encode_to_vec()
        }
        (_, Value::Sequence { .. }) => seq_proto(v, name)?.encode_to_vec(),
        (_, Value::Tensor(t)) => tensor_to_proto(t, name).encode_to_vec(),
        (_, Value::Optional(Some(inner))) => encode_value(inner, name, ty)?,
        (_, Value::Optional(None)) => {
            return Err(Error::TypeMismatch(format!("output '{name}' is an empty optional but its type is {ty}")))
        }
    })
}

fn seq_from(p: &SequenceProto, ty: Option<&ValueType>) -> Result<Value> {
    if p.elem_type.unwrap_or(SEQ_TENSOR) == SEQ_SEQUENCE || !p.sequence_values.is_empty() {
        return Err(Error::UnsupportedOp("sequences of sequences".into()));
    }
    let items = p.tensor_values.iter().map(|t| tensor_from_proto(t, None)).collect::<Result<Vec<_>>>()?;
    let dtype = items.first().map(|t| t.dtype()).or_else(|| ty.and_then(|t| t.dtype())).unwrap_or(DType::Float32);
    Ok(Value::Sequence { dtype, items })
}

/// Parses a serialized value of declared type `ty`.
pub fn decode_value(bytes: &[u8], ty: &ValueType) -> Result<Value> {
    let bad = |e: prost::DecodeError| Error::InvalidArgument(format!("not a valid ONNX proto: {e}"));
    match ty {
        ValueType::Sequence(inner) => seq_from(&SequenceProto::decode(bytes).map_err(bad)?, Some(inner)),
        ValueType::Optional(inner) => {
            let p = OptionalProto::decode(bytes).map_err(bad)?;
            let v = if let Some(t) = &p.tensor_value {
                Some(Box::new(Value::Tensor(tensor_from_proto(t, None)?)))
            } else if let Some(s) = &p.sequence_value {
                let inner_ty = match &**inner {
                    ValueType::Sequence(t) => Some(&**t),
                    _ => None,
                };
                Some(Box::new(seq_from(s, inner_ty)?))
            } else {
                None
            };
            Ok(Value::Optional(v))
        }
        _ => Ok(Value::Tensor(tensor_from_proto(&TensorProto::decode(bytes).map_err(bad)?, None)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ronn_core::Tensor;

    #[test]
    fn round_trips_tensors_sequences_and_optionals() {
        let t = Tensor::from_vec(vec![2], vec![1f32, 2.]).unwrap();
        let tt = ValueType::Tensor { dtype: DType::Float32, shape: None };
        let v = Value::Tensor(t.clone());
        assert_eq!(decode_value(&encode_value(&v, "x", &tt).unwrap(), &tt).unwrap(), v);

        let st = ValueType::Sequence(Box::new(tt.clone()));
        let s = Value::Sequence { dtype: DType::Float32, items: vec![t.clone(), t.clone()] };
        assert_eq!(decode_value(&encode_value(&s, "s", &st).unwrap(), &st).unwrap(), s);

        let ot = ValueType::Optional(Box::new(tt.clone()));
        let none = Value::Optional(None);
        assert_eq!(decode_value(&encode_value(&none, "o", &ot).unwrap(), &ot).unwrap(), none);
        let some = Value::Optional(Some(Box::new(Value::Tensor(t))));
        assert_eq!(decode_value(&encode_value(&some, "o", &ot).unwrap(), &ot).unwrap(), some);
    }

    #[test]
    fn garbage_is_an_error() {
        let tt = ValueType::Tensor { dtype: DType::Float32, shape: None };
        assert!(decode_value(&[0xff, 0xff, 0xff], &tt).is_err());
    }
}
