//! Removes nodes whose outputs nobody reads, and initializers nobody uses.

use ronn_ir::Graph;
use std::collections::HashSet;

/// Runs the pass.
pub fn run(g: &mut Graph) {
    let mut live: HashSet<String> = crate::graph_outputs(g);
    let mut keep = vec![false; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate().rev() {
        if n.outputs.iter().any(|o| live.contains(o)) {
            keep[i] = true;
            live.extend(n.inputs.iter().chain(&n.implicit_inputs).cloned());
        }
    }
    let mut k = keep.into_iter();
    g.nodes.retain(|_| k.next().unwrap_or(true));
    let inputs: HashSet<String> = g.inputs.iter().map(|i| i.name.clone()).collect();
    g.initializers.retain(|name, _| live.contains(name) || inputs.contains(name));
}
