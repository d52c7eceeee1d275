//! Specializes a graph to concrete input shapes: the symbolic dims of the inputs
//! become known, so shape chains (Shape -> Gather -> Unsqueeze -> Concat ->
//! Reshape, hundreds of tiny nodes in an exported transformer) fold into
//! constants. The session does this once per distinct input shape and caches the
//! plan.

use crate::{constant_folding, dead_nodes, shape_folding, ConstantEvaluator};
use ronn_core::Result;
use ronn_ir::{Dim, Graph, ValueType};

/// Returns the specialized graph, or `None` when specializing removes nothing.
pub fn specialize(g: &Graph, shapes: &[(String, Vec<usize>)], eval: &dyn ConstantEvaluator) -> Result<Option<Graph>> {
    let mut s = g.clone();
    for input in &mut s.inputs {
        if let Some((_, dims)) = shapes.iter().find(|(n, _)| *n == input.name) {
            if let ValueType::Tensor { shape, .. } = &mut input.ty {
                *shape = Some(dims.iter().map(|&d| Dim::Known(d)).collect());
            }
        }
    }
    let before = s.nodes.len();
    for _ in 0..6 {
        if !shape_folding::run(&mut s) {
            break;
        }
        constant_folding::run(&mut s, eval)?;
    }
    dead_nodes::run(&mut s);
    Ok((s.nodes.len() < before).then_some(s))
}
