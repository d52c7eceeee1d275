//! `ModelProto` -> [`OnnxModel`]: the IR graph plus the model's metadata.
//!
//! - every node gets the opset its domain imports (ai.onnx 1 up to the newest,
//!   ai.onnx.ml, com.microsoft, ...), and a unique name when the model has none;
//! - model-local functions are inlined (recursively, with their own opsets and
//!   attribute references resolved);
//! - subgraph attributes become IR graphs, and the outer-scope values they read
//!   become the node's implicit inputs;
//! - nodes are sorted topologically.

use crate::proto::{self, attribute_proto::AttributeType, type_proto, GraphProto, ModelProto, NodeProto};
use crate::tensor::tensor_from_proto;
use prost::Message;
use ronn_core::{DType, Error, Result};
use ronn_ir::{Attribute, Dim, Graph, Node, ValueInfo, ValueType};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// A loaded model: its graph and what the file says about it.
#[derive(Debug, Clone)]
pub struct OnnxModel {
    /// The main graph.
    pub graph: Graph,
    /// `ir_version` of the file.
    pub ir_version: i64,
    /// Imported opsets: (domain, version); "" is ai.onnx.
    pub opsets: Vec<(String, i64)>,
    /// `producer_name` and `producer_version`.
    pub producer: (String, String),
    /// `doc_string`.
    pub doc: String,
    /// `metadata_props`.
    pub metadata: Vec<(String, String)>,
}

/// The newest ai.onnx opset of onnx 1.23.2; newer imports are refused.
pub const MAX_ONNX_OPSET: i64 = 28;

/// Loads a model file; external data is resolved against its folder.
pub fn load_model(path: &Path) -> Result<OnnxModel> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
    let base = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
    decode(&bytes, base)
}

/// Loads a model from bytes (models with external data need [`load_model`]).
pub fn load_model_bytes(bytes: &[u8]) -> Result<OnnxModel> {
    decode(bytes, None)
}

fn decode(bytes: &[u8], base: Option<&Path>) -> Result<OnnxModel> {
    let m = ModelProto::decode(bytes).map_err(|e| Error::InvalidModel(format!("not an ONNX model: {e}")))?;
    let g = m.graph.as_ref().ok_or_else(|| Error::InvalidModel("the model has no graph".into()))?;
    let mut opsets: Vec<(String, i64)> = Vec::new();
    for o in &m.opset_import {
        let d = canonical(o.domain.as_deref().unwrap_or(""));
        let v = o.version.unwrap_or(0);
        if d.is_empty() && v > MAX_ONNX_OPSET {
            return Err(Error::UnsupportedOp(format!(
                "the model imports ai.onnx opset {v}; RONN supports up to {MAX_ONNX_OPSET}"
            )));
        }
        opsets.push((d.to_string(), v));
    }
    if m.opset_import.is_empty() {
        // IR version 1/2 models may omit it; they mean ai.onnx 1.
        opsets.push((String::new(), 1));
    }
    let mut functions = HashMap::new();
    for f in &m.functions {
        let key = (canonical(f.domain.as_deref().unwrap_or("")).to_string(), f.name.clone().unwrap_or_default());
        functions.insert(key, f.clone());
    }
    let cx = Ctx { base, functions: &functions, counter: std::cell::Cell::new(0) };
    let opset_map: HashMap<String, i64> = opsets.iter().cloned().collect();
    let graph = cx.graph(g, &opset_map, &HashSet::new())?;
    Ok(OnnxModel {
        graph,
        ir_version: m.ir_version.unwrap_or(0),
        opsets,
        producer: (m.producer_name.clone().unwrap_or_default(), m.producer_version.clone().unwrap_or_default()),
        doc: m.doc_string.clone().unwrap_or_default(),
        metadata: m
            .metadata_props
            .iter()
            .map(|kv| (kv.key.clone().unwrap_or_default(), kv.value.clone().unwrap_or_default()))
            .collect(),
    })
}

fn canonical(d: &str) -> &str {
    if d == "ai.onnx" {
        ""
    } else {
        d
    }
}

struct Ctx<'a> {
    base: Option<&'a Path>,
    functions: &'a HashMap<(String, String), proto::FunctionProto>,
    counter: std::cell::Cell<usize>,
}

/// Converts a `TypeProto`.
pub fn value_type(t: Option<&proto::TypeProto>) -> Result<ValueType> {
    let Some(v) = t.and_then(|t| t.value.as_ref()) else { return Ok(ValueType::Unknown) };
    Ok(match v {
        type_proto::Value::TensorType(tt) => {
            let code = tt.elem_type.unwrap_or(0);
            let dtype =
                DType::from_onnx(code).ok_or_else(|| Error::InvalidModel(format!("unknown element type {code}")))?;
            let shape = tt.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(proto::tensor_shape_proto::dimension::Value::DimValue(v)) if *v >= 0 => {
                            Dim::Known(*v as usize)
                        }
                        Some(proto::tensor_shape_proto::dimension::Value::DimParam(p)) if !p.is_empty() => {
                            Dim::Symbolic(p.clone())
                        }
                        _ => Dim::Unknown,
                    })
                    .collect()
            });
            ValueType::Tensor { dtype, shape }
        }
        type_proto::Value::SequenceType(s) => ValueType::Sequence(Box::new(value_type(s.elem_type.as_deref())?)),
        type_proto::Value::OptionalType(o) => ValueType::Optional(Box::new(value_type(o.elem_type.as_deref())?)),
        type_proto::Value::MapType(m) => {
            let code = m.key_type.unwrap_or(0);
            let key =
                DType::from_onnx(code).ok_or_else(|| Error::InvalidModel(format!("unknown map key type {code}")))?;
            ValueType::Map { key, value: Box::new(value_type(m.value_type.as_deref())?) }
        }
        _ => ValueType::Unknown,
    })
}

fn value_info(v: &proto::ValueInfoProto) -> Result<ValueInfo> {
    Ok(ValueInfo { name: v.name.clone().unwrap_or_default(), ty: value_type(v.r#type.as_ref())? })
}

impl Ctx<'_> {
    fn graph(&self, g: &GraphProto, opsets: &HashMap<String, i64>, outer: &HashSet<String>) -> Result<Graph> {
        let mut initializers = HashMap::new();
        let mut bad = Vec::new();
        for t in &g.initializer {
            let name = t.name.clone().unwrap_or_default();
            match tensor_from_proto(t, self.base) {
                Ok(v) => {
                    initializers.insert(name, v.into_shared());
                }
                Err(e @ Error::UnsupportedOp(_)) => bad.push(e.to_string()),
                Err(e) => return Err(e),
            }
        }
        if !g.sparse_initializer.is_empty() {
            bad.push("sparse initializers are not supported".to_string());
        }
        if !bad.is_empty() {
            return Err(Error::UnsupportedOp(bad.join("; ")));
        }
        let inputs = g.input.iter().map(value_info).collect::<Result<Vec<_>>>()?;
        let outputs = g.output.iter().map(value_info).collect::<Result<Vec<_>>>()?;
        let mut vinfo = HashMap::new();
        for v in &g.value_info {
            let vi = value_info(v)?;
            vinfo.insert(vi.name.clone(), vi);
        }
        // Names visible to nested subgraphs: everything outer plus what this graph defines.
        let mut scope: HashSet<String> = outer.clone();
        scope.extend(inputs.iter().map(|i| i.name.clone()));
        scope.extend(initializers.keys().cloned());
        for n in &g.node {
            scope.extend(n.output.iter().cloned());
        }
        let mut nodes = Vec::with_capacity(g.node.len());
        for n in &g.node {
            self.node(n, opsets, &scope, &HashMap::new(), "", &mut nodes, 0)?;
        }
        let mut graph =
            Graph { name: g.name.clone().unwrap_or_default(), nodes, inputs, outputs, initializers, value_info: vinfo };
        graph.sort_topologically(outer)?;
        Ok(graph)
    }

    fn unique_name(&self, op: &str) -> String {
        let k = self.counter.get();
        self.counter.set(k + 1);
        format!("{op}_{k}")
    }

    /// Converts one node, inlining it when it calls a model-local function.
    /// `rename` maps function-body names to caller names; `prefix` makes
    /// function-internal names unique; `call_attrs` resolves `ref_attr_name`.
    #[allow(clippy::too_many_arguments)]
    fn node(
        &self,
        n: &NodeProto,
        opsets: &HashMap<String, i64>,
        scope: &HashSet<String>,
        call_attrs: &HashMap<String, Attribute>,
        prefix: &str,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Result<()> {
        let op_type = n.op_type.clone().unwrap_or_default();
        let domain = canonical(n.domain.as_deref().unwrap_or("")).to_string();
        let name = match n.name.as_deref() {
            Some(s) if !s.is_empty() => format!("{prefix}{s}"),
            _ => format!("{prefix}{}", self.unique_name(&op_type)),
        };
        let mut attrs = BTreeMap::new();
        for a in &n.attribute {
            let an = a.name.clone().unwrap_or_default();
            if let Some(r) = a.ref_attr_name.as_deref().filter(|r| !r.is_empty()) {
                if let Some(v) = call_attrs.get(r) {
                    attrs.insert(an, v.clone());
                }
                continue;
            }
            attrs.insert(an.clone(), self.attribute(a, opsets, scope).map_err(|e| e.in_node(&name, &op_type))?);
        }
        if let Some(f) = self.functions.get(&(domain.clone(), op_type.clone())) {
            if depth > 32 {
                return Err(Error::InvalidModel(format!("function '{op_type}' recurses too deeply")));
            }
            return self.inline(f, n, &name, attrs, opsets, scope, out, depth);
        }
        let opset = *opsets.get(&domain).ok_or_else(|| {
            Error::InvalidModel(format!(
                "node '{name}' ({op_type}) uses domain '{domain}', which the model does not import"
            ))
        })?;
        let mut node = Node {
            name,
            op_type,
            domain,
            opset,
            inputs: n.input.clone(),
            outputs: n.output.clone(),
            implicit_inputs: vec![],
            attrs,
        };
        let mut implicit: Vec<String> = Vec::new();
        for a in node.attrs.values() {
            let gs: Vec<&Graph> = match a {
                Attribute::Graph(g) => vec![g],
                Attribute::Graphs(gs) => gs.iter().collect(),
                _ => continue,
            };
            for g in gs {
                for f in g.free_names() {
                    if !implicit.contains(&f) {
                        implicit.push(f);
                    }
                }
            }
        }
        node.implicit_inputs = implicit;
        out.push(node);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn inline(
        &self,
        f: &proto::FunctionProto,
        call: &NodeProto,
        call_name: &str,
        mut attrs: BTreeMap<String, Attribute>,
        outer_opsets: &HashMap<String, i64>,
        scope: &HashSet<String>,
        out: &mut Vec<Node>,
        depth: usize,
    ) -> Result<()> {
        // Defaults of attributes the call leaves out.
        for a in &f.attribute_proto {
            let an = a.name.clone().unwrap_or_default();
            if !attrs.contains_key(&an) {
                attrs.insert(an, self.attribute(a, outer_opsets, scope)?);
            }
        }
        let call_attrs: HashMap<String, Attribute> = attrs.into_iter().collect();
        let mut opsets = outer_opsets.clone();
        for o in &f.opset_import {
            opsets.insert(canonical(o.domain.as_deref().unwrap_or("")).to_string(), o.version.unwrap_or(0));
        }
        let prefix = format!("{call_name}/");
        let mut rename: HashMap<String, String> = HashMap::new();
        for (i, formal) in f.input.iter().enumerate() {
            rename.insert(formal.clone(), call.input.get(i).cloned().unwrap_or_default());
        }
        for (i, formal) in f.output.iter().enumerate() {
            rename.insert(formal.clone(), call.output.get(i).cloned().unwrap_or_default());
        }
        let map = |s: &String, rename: &HashMap<String, String>| -> String {
            if s.is_empty() {
                return String::new();
            }
            rename.get(s).cloned().unwrap_or_else(|| format!("{prefix}{s}"))
        };
        for n in &f.node {
            let mut body = n.clone();
            body.input = n.input.iter().map(|s| map(s, &rename)).collect();
            body.output = n.output.iter().map(|s| map(s, &rename)).collect();
            self.node(&body, &opsets, scope, &call_attrs, &prefix, out, depth + 1)?;
        }
        Ok(())
    }

    fn attribute(
        &self,
        a: &proto::AttributeProto,
        opsets: &HashMap<String, i64>,
        scope: &HashSet<String>,
    ) -> Result<Attribute> {
        let ty = a.r#type.and_then(|t| AttributeType::try_from(t).ok()).unwrap_or(AttributeType::Undefined);
        let ty = if ty == AttributeType::Undefined { guess_type(a) } else { ty };
        let tensor = |t: &proto::TensorProto| tensor_from_proto(t, self.base).map(|t| t.into_shared());
        Ok(match ty {
            AttributeType::Float => Attribute::Float(a.f.unwrap_or(0.0)),
            AttributeType::Int => Attribute::Int(a.i.unwrap_or(0)),
            AttributeType::String => Attribute::String(a.s.clone().unwrap_or_default()),
            AttributeType::Tensor => Attribute::Tensor(tensor(
                a.t.as_ref().ok_or_else(|| Error::InvalidModel("TENSOR attribute without a tensor".into()))?,
            )?),
            AttributeType::Graph => Attribute::Graph(self.graph(
                a.g.as_ref().ok_or_else(|| Error::InvalidModel("GRAPH attribute without a graph".into()))?,
                opsets,
                scope,
            )?),
            AttributeType::Floats => Attribute::Floats(a.floats.clone()),
            AttributeType::Ints => Attribute::Ints(a.ints.clone()),
            AttributeType::Strings => Attribute::Strings(a.strings.clone()),
            AttributeType::Tensors => Attribute::Tensors(a.tensors.iter().map(tensor).collect::<Result<_>>()?),
            AttributeType::Graphs => {
                Attribute::Graphs(a.graphs.iter().map(|g| self.graph(g, opsets, scope)).collect::<Result<_>>()?)
            }
            AttributeType::TypeProto => Attribute::Type(value_type(a.tp.as_ref())?),
            AttributeType::TypeProtos => {
                Attribute::Types(a.type_protos.iter().map(|t| value_type(Some(t))).collect::<Result<_>>()?)
            }
            AttributeType::SparseTensor | AttributeType::SparseTensors => {
                return Err(Error::UnsupportedOp(format!(
                    "attribute '{}' is a sparse tensor, which RONN does not support",
                    a.name.as_deref().unwrap_or("")
                )))
            }
            AttributeType::Undefined => {
                return Err(Error::InvalidModel(format!(
                    "attribute '{}' has no value",
                    a.name.as_deref().unwrap_or("")
                )))
            }
        })
    }
}

/// Old models leave `type` unset: infer it from the field that holds a value.
fn guess_type(a: &proto::AttributeProto) -> AttributeType {
    if a.f.is_some() {
        AttributeType::Float
    } else if a.i.is_some() {
        AttributeType::Int
    } else if a.s.is_some() {
        AttributeType::String
    } else if a.t.is_some() {
        AttributeType::Tensor
    } else if a.g.is_some() {
        AttributeType::Graph
    } else if !a.floats.is_empty() {
        AttributeType::Floats
    } else if !a.ints.is_empty() {
        AttributeType::Ints
    } else if !a.strings.is_empty() {
        AttributeType::Strings
    } else if !a.tensors.is_empty() {
        AttributeType::Tensors
    } else if !a.graphs.is_empty() {
        AttributeType::Graphs
    } else {
        AttributeType::Undefined
    }
}
