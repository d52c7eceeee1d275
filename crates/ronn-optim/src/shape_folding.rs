//! Replaces `Shape` and `Size` of values whose shape inference knows every dim
//! by constants, so the shape chains after them (Gather, Concat, Unsqueeze, ...)
//! fold away in constant folding.

use ronn_core::Tensor;
use ronn_ir::{infer_types, static_shape, Graph};

/// Runs the pass; returns whether it changed the graph.
pub fn run(g: &mut Graph) -> bool {
    let types = infer_types(g);
    let outputs = crate::graph_outputs(g);
    let mut changed = false;
    g.nodes.retain(|n| {
        if !n.domain.is_empty() || !matches!(n.op_type.as_str(), "Shape" | "Size") || outputs.contains(&n.outputs[0]) {
            return true;
        }
        let Some(shape) = n.inputs.first().and_then(|i| types.get(i)).and_then(static_shape) else { return true };
        let value = if n.op_type == "Size" {
            Tensor::scalar(shape.iter().product::<usize>() as i64)
        } else {
            let rank = shape.len() as i64;
            let clamp = |v: i64| if v < 0 { (v + rank).max(0) } else { v.min(rank) } as usize;
            let start = clamp(n.attr_i_or("start", 0).unwrap_or(0));
            let end = clamp(n.attr_i_or("end", rank).unwrap_or(rank)).max(start);
            let dims: Vec<i64> = shape[start..end].iter().map(|&d| d as i64).collect();
            match Tensor::from_vec(vec![dims.len()], dims) {
                Ok(t) => t,
                Err(_) => return true,
            }
        };
        g.initializers.insert(n.outputs[0].clone(), value.into_shared());
        changed = true;
        false
    });
    changed
}
