//! The graph: nodes in topological order over named values, with the graph's
//! inputs, outputs, initializers and declared value types.

use crate::attr::{wrong, Attribute};
use ronn_core::{DType, Error, Result, Tensor};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One dimension of a declared shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    /// A fixed size.
    Known(usize),
    /// A named size bound per run (`batch`, `sequence`).
    Symbolic(String),
    /// A size the model does not say.
    Unknown,
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Known(n) => write!(f, "{n}"),
            Dim::Symbolic(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// The declared type of a value.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueType {
    /// A tensor; `shape` is `None` when even the rank is unknown.
    Tensor { dtype: DType, shape: Option<Vec<Dim>> },
    /// A sequence of the inner type.
    Sequence(Box<ValueType>),
    /// An optional of the inner type.
    Optional(Box<ValueType>),
    /// A map (ai.onnx.ml); kept so such models load with a clear error later.
    Map { key: DType, value: Box<ValueType> },
    /// The model leaves the type out.
    Unknown,
}

impl ValueType {
    /// The element type, for tensors (and sequences/optionals of tensors).
    pub fn dtype(&self) -> Option<DType> {
        match self {
            ValueType::Tensor { dtype, .. } => Some(*dtype),
            ValueType::Sequence(t) | ValueType::Optional(t) => t.dtype(),
            _ => None,
        }
    }

    /// The declared shape of a tensor type.
    pub fn shape(&self) -> Option<&[Dim]> {
        match self {
            ValueType::Tensor { shape: Some(s), .. } => Some(s),
            _ => None,
        }
    }
}

impl std::fmt::Display for ValueType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueType::Tensor { dtype, shape: Some(s) } => {
                let dims: Vec<String> = s.iter().map(|d| d.to_string()).collect();
                write!(f, "{dtype}[{}]", dims.join(", "))
            }
            ValueType::Tensor { dtype, shape: None } => write!(f, "{dtype}[..]"),
            ValueType::Sequence(t) => write!(f, "sequence<{t}>"),
            ValueType::Optional(t) => write!(f, "optional<{t}>"),
            ValueType::Map { key, value } => write!(f, "map<{key}, {value}>"),
            ValueType::Unknown => f.write_str("?"),
        }
    }
}

/// A named value with its type.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub ty: ValueType,
}

/// One operator application.
#[derive(Debug, Clone)]
pub struct Node {
    /// The node's name (made unique by the importer when the model leaves it empty).
    pub name: String,
    /// Operator type, e.g. `Conv`.
    pub op_type: String,
    /// Operator domain: "" for ai.onnx.
    pub domain: String,
    /// The opset version the model imports for `domain`.
    pub opset: i64,
    /// Input value names; "" marks an omitted optional input.
    pub inputs: Vec<String>,
    /// Output value names; "" marks an unused optional output.
    pub outputs: Vec<String>,
    /// Values from enclosing scopes that the node's subgraphs read. The executor
    /// passes them after `inputs`.
    pub implicit_inputs: Vec<String>,
    /// Attributes by name.
    pub attrs: BTreeMap<String, Attribute>,
}

impl Node {
    /// A node with no attributes in the default domain at `opset`.
    pub fn new(op_type: &str, inputs: &[&str], outputs: &[&str], opset: i64) -> Node {
        Node {
            name: op_type.to_lowercase(),
            op_type: op_type.to_string(),
            domain: String::new(),
            opset,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            implicit_inputs: vec![],
            attrs: BTreeMap::new(),
        }
    }

    /// Builder: adds an attribute.
    pub fn with_attr(mut self, name: &str, a: Attribute) -> Node {
        self.attrs.insert(name.to_string(), a);
        self
    }

    /// Whether the attribute is present.
    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs.contains_key(name)
    }

    /// An INT attribute.
    pub fn attr_i(&self, name: &str) -> Result<Option<i64>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Int(v)) => Ok(Some(*v)),
            Some(a) => Err(wrong(name, "INT", a)),
        }
    }

    /// An INT attribute with a default.
    pub fn attr_i_or(&self, name: &str, default: i64) -> Result<i64> {
        Ok(self.attr_i(name)?.unwrap_or(default))
    }

    /// A FLOAT attribute.
    pub fn attr_f(&self, name: &str) -> Result<Option<f32>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Float(v)) => Ok(Some(*v)),
            Some(Attribute::Int(v)) => Ok(Some(*v as f32)),
            Some(a) => Err(wrong(name, "FLOAT", a)),
        }
    }

    /// A FLOAT attribute with a default.
    pub fn attr_f_or(&self, name: &str, default: f32) -> Result<f32> {
        Ok(self.attr_f(name)?.unwrap_or(default))
    }

    /// A STRING attribute (lossy UTF-8).
    pub fn attr_s(&self, name: &str) -> Result<Option<String>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::String(v)) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
            Some(a) => Err(wrong(name, "STRING", a)),
        }
    }

    /// A STRING attribute with a default.
    pub fn attr_s_or(&self, name: &str, default: &str) -> Result<String> {
        Ok(self.attr_s(name)?.unwrap_or_else(|| default.to_string()))
    }

    /// An INTS attribute.
    pub fn attr_ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Ints(v)) => Ok(Some(v.clone())),
            Some(Attribute::Int(v)) => Ok(Some(vec![*v])),
            Some(a) => Err(wrong(name, "INTS", a)),
        }
    }

    /// A FLOATS attribute.
    pub fn attr_floats(&self, name: &str) -> Result<Option<Vec<f32>>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Floats(v)) => Ok(Some(v.clone())),
            Some(Attribute::Float(v)) => Ok(Some(vec![*v])),
            Some(a) => Err(wrong(name, "FLOATS", a)),
        }
    }

    /// A STRINGS attribute (lossy UTF-8).
    pub fn attr_strings(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Strings(v)) => {
                Ok(Some(v.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect()))
            }
            Some(a) => Err(wrong(name, "STRINGS", a)),
        }
    }

    /// A TENSOR attribute.
    pub fn attr_tensor(&self, name: &str) -> Result<Option<&Tensor>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Tensor(t)) => Ok(Some(t)),
            Some(a) => Err(wrong(name, "TENSOR", a)),
        }
    }

    /// A GRAPH attribute.
    pub fn attr_graph(&self, name: &str) -> Result<Option<&Graph>> {
        match self.attrs.get(name) {
            None => Ok(None),
            Some(Attribute::Graph(g)) => Ok(Some(g)),
            Some(a) => Err(wrong(name, "GRAPH", a)),
        }
    }

    /// The name of input `i`, when present and not omitted.
    pub fn input(&self, i: usize) -> Option<&str> {
        self.inputs.get(i).map(|s| s.as_str()).filter(|s| !s.is_empty())
    }

    /// An error about this node's attributes or inputs, as the loader reports it.
    pub fn unsupported(&self, reason: impl Into<String>) -> Error {
        Error::Unsupported(vec![ronn_core::error::Unsupported {
            node: self.name.clone(),
            op_type: self.op_type.clone(),
            domain: self.domain.clone(),
            opset: self.opset,
            reason: reason.into(),
        }])
    }
}

/// A computation graph (the main graph or a subgraph of If/Loop/Scan).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub name: String,
    /// Nodes in topological order (the importer sorts them).
    pub nodes: Vec<Node>,
    /// Graph inputs, including those that initializers default (IR < 4 models).
    pub inputs: Vec<ValueInfo>,
    /// Graph outputs.
    pub outputs: Vec<ValueInfo>,
    /// Constant tensors by name.
    pub initializers: HashMap<String, Tensor>,
    /// Declared types of intermediate values.
    pub value_info: HashMap<String, ValueInfo>,
}

impl Graph {
    /// The inputs a caller must (or may) feed: graph inputs without an initializer.
    pub fn runtime_inputs(&self) -> impl Iterator<Item = &ValueInfo> {
        self.inputs.iter().filter(|i| !self.initializers.contains_key(&i.name))
    }

    /// Sorts nodes topologically (stable: keeps model order where allowed).
    /// `outer` names values visible from enclosing scopes.
    pub fn sort_topologically(&mut self, outer: &HashSet<String>) -> Result<()> {
        let mut available: HashSet<String> = outer.clone();
        available.extend(self.inputs.iter().map(|i| i.name.clone()));
        available.extend(self.initializers.keys().cloned());
        available.insert(String::new());
        let mut pending: Vec<Node> = std::mem::take(&mut self.nodes);
        let mut sorted = Vec::with_capacity(pending.len());
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for n in pending {
                if n.inputs.iter().chain(&n.implicit_inputs).all(|i| available.contains(i)) {
                    available.extend(n.outputs.iter().cloned());
                    sorted.push(n);
                } else {
                    rest.push(n);
                }
            }
            if rest.len() == before {
                let n = &rest[0];
                let missing: Vec<&String> =
                    n.inputs.iter().chain(&n.implicit_inputs).filter(|i| !available.contains(*i)).collect();
                return Err(Error::InvalidModel(format!(
                    "node '{}' ({}) reads {:?}, which no node, input or initializer produces (or the graph has a cycle)",
                    n.name, n.op_type, missing
                )));
            }
            pending = rest;
        }
        self.nodes = sorted;
        Ok(())
    }

    /// Names this graph (and its nested subgraphs) read but do not define.
    pub fn free_names(&self) -> Vec<String> {
        let mut defined: HashSet<&str> = HashSet::new();
        defined.extend(self.inputs.iter().map(|i| i.name.as_str()));
        defined.extend(self.initializers.keys().map(|s| s.as_str()));
        for n in &self.nodes {
            defined.extend(n.outputs.iter().map(|s| s.as_str()));
        }
        let mut free = Vec::new();
        let mut seen = HashSet::new();
        for n in &self.nodes {
            for i in n.inputs.iter().chain(&n.implicit_inputs) {
                if !i.is_empty() && !defined.contains(i.as_str()) && seen.insert(i.clone()) {
                    free.push(i.clone());
                }
            }
        }
        for o in &self.outputs {
            if !defined.contains(o.name.as_str()) && seen.insert(o.name.clone()) {
                free.push(o.name.clone());
            }
        }
        free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vi(name: &str) -> ValueInfo {
        ValueInfo { name: name.into(), ty: ValueType::Unknown }
    }

    #[test]
    fn sorts_out_of_order_nodes() {
        let mut g = Graph {
            nodes: vec![Node::new("Relu", &["b"], &["c"], 13), Node::new("Neg", &["a"], &["b"], 13)],
            inputs: vec![vi("a")],
            outputs: vec![vi("c")],
            ..Default::default()
        };
        g.sort_topologically(&HashSet::new()).unwrap();
        assert_eq!(g.nodes[0].op_type, "Neg");
    }

    #[test]
    fn reports_dangling_input() {
        let mut g = Graph {
            nodes: vec![Node::new("Relu", &["nope"], &["c"], 13)],
            inputs: vec![vi("a")],
            ..Default::default()
        };
        let e = g.sort_topologically(&HashSet::new()).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn attribute_accessors_check_types() {
        let n = Node::new("Conv", &["x"], &["y"], 13)
            .with_attr("group", Attribute::Int(2))
            .with_attr("pads", Attribute::Ints(vec![1, 1, 1, 1]));
        assert_eq!(n.attr_i_or("group", 1).unwrap(), 2);
        assert_eq!(n.attr_i_or("missing", 7).unwrap(), 7);
        assert!(n.attr_f("pads").is_err());
        assert_eq!(n.attr_ints("pads").unwrap().unwrap(), vec![1, 1, 1, 1]);
    }
}
