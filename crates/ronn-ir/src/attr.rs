//! Node attributes and typed accessors that report the node on a wrong type.

use crate::graph::{Graph, ValueType};
use ronn_core::{Error, Tensor};

/// One ONNX attribute value.
#[derive(Debug, Clone)]
pub enum Attribute {
    Float(f32),
    Int(i64),
    String(Vec<u8>),
    Tensor(Tensor),
    Graph(Graph),
    Type(ValueType),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<Vec<u8>>),
    Tensors(Vec<Tensor>),
    Graphs(Vec<Graph>),
    Types(Vec<ValueType>),
}

impl Attribute {
    /// The ONNX name of this attribute's type (for messages).
    pub fn type_name(&self) -> &'static str {
        match self {
            Attribute::Float(_) => "FLOAT",
            Attribute::Int(_) => "INT",
            Attribute::String(_) => "STRING",
            Attribute::Tensor(_) => "TENSOR",
            Attribute::Graph(_) => "GRAPH",
            Attribute::Type(_) => "TYPE_PROTO",
            Attribute::Floats(_) => "FLOATS",
            Attribute::Ints(_) => "INTS",
            Attribute::Strings(_) => "STRINGS",
            Attribute::Tensors(_) => "TENSORS",
            Attribute::Graphs(_) => "GRAPHS",
            Attribute::Types(_) => "TYPE_PROTOS",
        }
    }
}

pub(crate) fn wrong(name: &str, want: &str, got: &Attribute) -> Error {
    Error::InvalidModel(format!("attribute '{name}' must be {want}, got {}", got.type_name()))
}
