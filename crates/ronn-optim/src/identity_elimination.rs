//! Removes Identity and inference-mode Dropout nodes by renaming their readers'
//! inputs to the node's input. A node whose output is a graph output stays.

use ronn_ir::Graph;
use std::collections::{HashMap, HashSet};

/// Runs the pass.
pub fn run(g: &mut Graph) {
    let outputs = crate::graph_outputs(g);
    // A Dropout's mask output that nothing reads does not keep it (exporters
    // often name it anyway: SqueezeNet's final Dropout copied 0.2 ms per run).
    // The set is built only when such a mask exists (it cost 1.4% of a small
    // transformer's load).
    let masked = g.nodes.iter().any(|n| n.op_type == "Dropout" && n.outputs.iter().skip(1).any(|o| !o.is_empty()));
    let read: HashSet<String> = if masked {
        g.nodes.iter().flat_map(|n| n.inputs.iter().chain(&n.implicit_inputs)).cloned().collect()
    } else {
        HashSet::new()
    };
    let unused = |o: &String| o.is_empty() || (!read.contains(o) && !outputs.contains(o));
    let mut rename: HashMap<String, String> = HashMap::new();
    g.nodes.retain(|n| {
        let removable = n.domain.is_empty()
            && (n.op_type == "Identity"
                || (n.op_type == "Dropout" && n.inputs.len() == 1 && n.outputs.iter().skip(1).all(unused)))
            && n.inputs.len() == 1
            && !n.inputs[0].is_empty()
            && !outputs.contains(&n.outputs[0]);
        if removable {
            rename.insert(n.outputs[0].clone(), n.inputs[0].clone());
        }
        !removable
    });
    if rename.is_empty() {
        return;
    }
    let resolve = |mut s: String| {
        while let Some(r) = rename.get(&s) {
            s = r.clone();
        }
        s
    };
    for n in &mut g.nodes {
        for i in n.inputs.iter_mut().chain(n.implicit_inputs.iter_mut()) {
            *i = resolve(std::mem::take(i));
        }
    }
}
