//! Static shape and type inference over a graph.
//!
//! Walks the nodes in order, asking each op family's rule (`ops/<family>.rs`) for
//! its output types from its input types and constant inputs. Dims stay symbolic
//! where the inputs are symbolic (`batch`), and unknown where a rule cannot say.
//! The result feeds `ronn info`, the optimizer's shape folding, and planning.

use crate::graph::{Dim, Graph, ValueType};
use crate::ops;
use ronn_core::Tensor;
use std::collections::HashMap;

/// Inferred types of every value the rules could type, by name (inputs,
/// initializers and declared `value_info` included).
pub fn infer_types(g: &Graph) -> HashMap<String, ValueType> {
    let mut types: HashMap<String, ValueType> = HashMap::new();
    for i in &g.inputs {
        types.insert(i.name.clone(), i.ty.clone());
    }
    for (name, t) in &g.initializers {
        types.insert(name.clone(), tensor_type(t));
    }
    for n in &g.nodes {
        let ins: Vec<Option<&ValueType>> =
            n.inputs.iter().map(|i| if i.is_empty() { None } else { types.get(i) }).collect();
        let consts: Vec<Option<&Tensor>> = n.inputs.iter().map(|i| g.initializers.get(i)).collect();
        let outs = ops::infer(n, &ins, &consts).unwrap_or_default();
        for (k, o) in n.outputs.iter().enumerate() {
            if o.is_empty() {
                continue;
            }
            // A rule's answer wins over the file's value_info only when it knows more.
            let inferred = outs.get(k).cloned().unwrap_or(ValueType::Unknown);
            let declared = g.value_info.get(o).map(|v| v.ty.clone()).unwrap_or(ValueType::Unknown);
            types.insert(o.clone(), more_specific(inferred, declared));
        }
    }
    types
}

/// The type of a concrete tensor.
pub fn tensor_type(t: &Tensor) -> ValueType {
    ValueType::Tensor { dtype: t.dtype(), shape: Some(t.shape().iter().map(|&d| Dim::Known(d)).collect()) }
}

fn known_dims(t: &ValueType) -> usize {
    match t {
        ValueType::Tensor { shape: Some(s), .. } => 1 + s.iter().filter(|d| !matches!(d, Dim::Unknown)).count(),
        ValueType::Tensor { .. } => 0,
        ValueType::Unknown => 0,
        _ => 1,
    }
}

fn more_specific(a: ValueType, b: ValueType) -> ValueType {
    if matches!(b, ValueType::Unknown) || known_dims(&a) >= known_dims(&b) {
        a
    } else {
        b
    }
}

/// The fully known dims of a tensor type.
pub fn static_shape(t: &ValueType) -> Option<Vec<usize>> {
    t.shape()?.iter().map(|d| if let Dim::Known(n) = d { Some(*n) } else { None }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attribute;
    use crate::graph::{Node, ValueInfo};
    use ronn_core::DType;

    fn input(name: &str, dims: Vec<Dim>) -> ValueInfo {
        ValueInfo { name: name.into(), ty: ValueType::Tensor { dtype: DType::Float32, shape: Some(dims) } }
    }

    #[test]
    fn conv_pool_gemm_chain_is_static() {
        let w = Tensor::zeros(DType::Float32, vec![8, 3, 3, 3]).unwrap();
        let g = Graph {
            nodes: vec![
                Node::new("Conv", &["x", "w"], &["c"], 13).with_attr("pads", Attribute::Ints(vec![1, 1, 1, 1])),
                Node::new("MaxPool", &["c"], &["p"], 13)
                    .with_attr("kernel_shape", Attribute::Ints(vec![2, 2]))
                    .with_attr("strides", Attribute::Ints(vec![2, 2])),
                Node::new("Flatten", &["p"], &["f"], 13),
                Node::new("Shape", &["f"], &["s"], 13),
            ],
            inputs: vec![input("x", vec![Dim::Known(1), Dim::Known(3), Dim::Known(32), Dim::Known(32)])],
            initializers: [("w".to_string(), w)].into_iter().collect(),
            ..Default::default()
        };
        let t = infer_types(&g);
        assert_eq!(static_shape(&t["c"]), Some(vec![1, 8, 32, 32]));
        assert_eq!(static_shape(&t["p"]), Some(vec![1, 8, 16, 16]));
        assert_eq!(static_shape(&t["f"]), Some(vec![1, 2048]));
        assert_eq!(t["s"], ValueType::Tensor { dtype: DType::Int64, shape: Some(vec![Dim::Known(2)]) });
    }

    #[test]
    fn symbolic_dims_flow_through_matmul_and_broadcast() {
        let b = || Dim::Symbolic("batch".into());
        let w = Tensor::zeros(DType::Float32, vec![16, 4]).unwrap();
        let g = Graph {
            nodes: vec![
                Node::new("MatMul", &["x", "w"], &["m"], 13),
                Node::new("Add", &["m", "m"], &["a"], 13),
                Node::new("ReduceMean", &["a"], &["r"], 13).with_attr("axes", Attribute::Ints(vec![-1])),
                Node::new("Less", &["a", "a"], &["l"], 13),
            ],
            inputs: vec![input("x", vec![b(), Dim::Known(7), Dim::Known(16)])],
            initializers: [("w".to_string(), w)].into_iter().collect(),
            ..Default::default()
        };
        let t = infer_types(&g);
        assert_eq!(t["a"].shape().unwrap(), &[b(), Dim::Known(7), Dim::Known(4)]);
        assert_eq!(t["r"].shape().unwrap(), &[b(), Dim::Known(7), Dim::Known(1)]);
        assert_eq!(t["l"].dtype(), Some(DType::Bool));
        assert_eq!(static_shape(&t["a"]), None);
    }

    #[test]
    fn unknown_ops_give_unknown_not_errors() {
        let g = Graph {
            nodes: vec![Node::new("Mystery", &["x"], &["y"], 13)],
            inputs: vec![input("x", vec![Dim::Known(2)])],
            ..Default::default()
        };
        assert_eq!(infer_types(&g)["y"], ValueType::Unknown);
    }
}
