//! Builds small ONNX models in memory: one-node test models per opset, examples
//! and doctests, without Python.
//!
//! ```
//! use ronn_onnx::builder::ModelBuilder;
//! use ronn_core::DType;
//! use ronn_ir::Dim;
//! let bytes = ModelBuilder::new(17)
//!     .input("X", DType::Float32, &[Dim::Symbolic("N".into()), Dim::Known(4)])
//!     .output("Y", DType::Float32, &[Dim::Symbolic("N".into()), Dim::Known(4)])
//!     .node("Relu", &["X"], &["Y"], vec![])
//!     .build();
//! assert!(ronn_onnx::load_model_bytes(&bytes).is_ok());
//! ```

use crate::proto::tensor_shape_proto::{dimension, Dimension};
use crate::proto::{self, attribute_proto::AttributeType};
use crate::tensor::tensor_to_proto;
use prost::Message;
use ronn_core::{DType, Tensor};
use ronn_ir::{Attribute, Dim};

/// An in-memory ONNX model under construction.
pub struct ModelBuilder {
    model: proto::ModelProto,
}

fn value_info(name: &str, dtype: DType, dims: &[Dim]) -> proto::ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: match d {
                Dim::Known(n) => Some(dimension::Value::DimValue(*n as i64)),
                Dim::Symbolic(s) => Some(dimension::Value::DimParam(s.clone())),
                Dim::Unknown => None,
            },
            denotation: None,
        })
        .collect();
    proto::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(proto::TypeProto {
            value: Some(proto::type_proto::Value::TensorType(proto::type_proto::Tensor {
                elem_type: Some(dtype.to_onnx()),
                shape: Some(proto::TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        ..Default::default()
    }
}

fn attribute(name: &str, a: Attribute) -> proto::AttributeProto {
    let mut p = proto::AttributeProto { name: Some(name.into()), ..Default::default() };
    let ty = match a {
        Attribute::Float(v) => {
            p.f = Some(v);
            AttributeType::Float
        }
        Attribute::Int(v) => {
            p.i = Some(v);
            AttributeType::Int
        }
        Attribute::String(v) => {
            p.s = Some(v);
            AttributeType::String
        }
        Attribute::Tensor(t) => {
            p.t = Some(tensor_to_proto(&t, ""));
            AttributeType::Tensor
        }
        Attribute::Floats(v) => {
            p.floats = v;
            AttributeType::Floats
        }
        Attribute::Ints(v) => {
            p.ints = v;
            AttributeType::Ints
        }
        Attribute::Strings(v) => {
            p.strings = v;
            AttributeType::Strings
        }
        Attribute::Tensors(v) => {
            p.tensors = v.iter().map(|t| tensor_to_proto(t, "")).collect();
            AttributeType::Tensors
        }
        // Graph and type attributes are not needed by the builder's users yet.
        Attribute::Graph(_) | Attribute::Graphs(_) | Attribute::Type(_) | Attribute::Types(_) => {
            AttributeType::Undefined
        }
    };
    p.r#type = Some(ty as i32);
    p
}

impl ModelBuilder {
    /// A model importing ai.onnx at `opset`.
    pub fn new(opset: i64) -> ModelBuilder {
        ModelBuilder {
            model: proto::ModelProto {
                ir_version: Some(if opset >= 21 { 10 } else { 8 }),
                producer_name: Some("ronn-builder".into()),
                opset_import: vec![proto::OperatorSetIdProto { domain: Some(String::new()), version: Some(opset) }],
                graph: Some(proto::GraphProto { name: Some("graph".into()), ..Default::default() }),
                ..Default::default()
            },
        }
    }

    fn graph(&mut self) -> &mut proto::GraphProto {
        self.model.graph.get_or_insert_with(Default::default)
    }

    /// Also imports `domain` at `version`.
    pub fn opset(mut self, domain: &str, version: i64) -> Self {
        self.model.opset_import.push(proto::OperatorSetIdProto { domain: Some(domain.into()), version: Some(version) });
        self
    }

    /// Adds a graph input.
    pub fn input(mut self, name: &str, dtype: DType, dims: &[Dim]) -> Self {
        self.graph().input.push(value_info(name, dtype, dims));
        self
    }

    /// Adds a graph output.
    pub fn output(mut self, name: &str, dtype: DType, dims: &[Dim]) -> Self {
        self.graph().output.push(value_info(name, dtype, dims));
        self
    }

    /// Adds a graph output whose type the model leaves out.
    pub fn output_untyped(mut self, name: &str) -> Self {
        self.graph().output.push(proto::ValueInfoProto { name: Some(name.into()), ..Default::default() });
        self
    }

    /// Adds a model-local function: `name` in `domain` computes `outputs` from
    /// `inputs` with `nodes` (op, inputs, outputs) of the default domain at `opset`.
    pub fn function(
        mut self,
        domain: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[&str],
        nodes: &[(&str, &[&str], &[&str])],
        opset: i64,
    ) -> Self {
        let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        self.model.functions.push(proto::FunctionProto {
            name: Some(name.into()),
            domain: Some(domain.into()),
            input: strs(inputs),
            output: strs(outputs),
            node: nodes
                .iter()
                .map(|(op, i, o)| proto::NodeProto {
                    op_type: Some(op.to_string()),
                    input: strs(i),
                    output: strs(o),
                    ..Default::default()
                })
                .collect(),
            opset_import: vec![proto::OperatorSetIdProto { domain: Some(String::new()), version: Some(opset) }],
            ..Default::default()
        });
        self
    }

    /// Adds an initializer whose data lives in `location` (relative to the model file).
    pub fn external_initializer(mut self, name: &str, dtype: DType, dims: &[usize], location: &str) -> Self {
        let kv = |k: &str, v: &str| proto::StringStringEntryProto { key: Some(k.into()), value: Some(v.into()) };
        self.graph().initializer.push(proto::TensorProto {
            name: Some(name.into()),
            data_type: Some(dtype.to_onnx()),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_location: Some(1),
            external_data: vec![kv("location", location)],
            ..Default::default()
        });
        self
    }

    /// Adds an initializer.
    pub fn initializer(mut self, name: &str, t: &Tensor) -> Self {
        self.graph().initializer.push(tensor_to_proto(t, name));
        self
    }

    /// Adds a default-domain node.
    pub fn node(self, op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<(&str, Attribute)>) -> Self {
        self.node_in("", op, inputs, outputs, attrs)
    }

    /// Adds a node of `domain`.
    pub fn node_in(
        mut self,
        domain: &str,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: Vec<(&str, Attribute)>,
    ) -> Self {
        let n = self.graph().node.len();
        self.graph().node.push(proto::NodeProto {
            name: Some(format!("{}_{n}", op.to_lowercase())),
            op_type: Some(op.into()),
            domain: Some(domain.into()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            attribute: attrs.into_iter().map(|(k, v)| attribute(k, v)).collect(),
            ..Default::default()
        });
        self
    }

    /// The serialized model.
    pub fn build(self) -> Vec<u8> {
        self.model.encode_to_vec()
    }
}
