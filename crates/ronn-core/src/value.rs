//! [`Value`]: what flows along a graph edge — a tensor, a sequence of tensors, or
//! an optional (ONNX `optional_type`) that may hold nothing.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// A value in a graph.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A tensor.
    Tensor(Tensor),
    /// A sequence of tensors of one element type (kept for empty sequences).
    Sequence { dtype: DType, items: Vec<Tensor> },
    /// An optional value: `None` when empty.
    Optional(Option<Box<Value>>),
}

impl Value {
    /// The tensor, or `TypeMismatch` for sequences and optionals.
    pub fn as_tensor(&self) -> Result<&Tensor> {
        match self {
            Value::Tensor(t) => Ok(t),
            Value::Optional(Some(v)) => v.as_tensor(),
            other => Err(Error::TypeMismatch(format!("expected a tensor, got {}", other.kind()))),
        }
    }

    /// The tensor by value.
    pub fn into_tensor(self) -> Result<Tensor> {
        match self {
            Value::Tensor(t) => Ok(t),
            Value::Optional(Some(v)) => v.into_tensor(),
            other => Err(Error::TypeMismatch(format!("expected a tensor, got {}", other.kind()))),
        }
    }

    /// A short description of the kind of value ("tensor", "sequence", "optional").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Tensor(_) => "tensor",
            Value::Sequence { .. } => "sequence",
            Value::Optional(_) => "optional",
        }
    }
}

impl From<Tensor> for Value {
    fn from(t: Tensor) -> Self {
        Value::Tensor(t)
    }
}
