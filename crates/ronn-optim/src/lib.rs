//! Graph rewrites. Each pass is one file; [`levels`] is the one place that says
//! which passes run at which [`OptLevel`] and in what order.
//!
//! Passes that must compute (constant folding) get a [`ConstantEvaluator`] from
//! the caller instead of depending on a provider.
#![forbid(unsafe_code)]

pub mod constant_folding;
pub mod conv_affine_fusion;
pub mod conv_fusion;
pub mod dead_nodes;
pub mod gelu_fusion;
pub mod identity_elimination;
pub mod levels;
pub mod qmatmul_fusion;
pub mod shape_folding;
pub mod specialize;

pub use levels::{optimize, OptLevel};
pub use specialize::specialize;

use ronn_core::{Result, Tensor, Value};
use ronn_ir::{Graph, Node};
use std::collections::HashSet;

/// Computes one node on constant inputs (the runtime passes its CPU provider).
pub trait ConstantEvaluator {
    /// Runs `node` on `inputs` (`None` for omitted ones).
    fn eval(&self, node: &Node, inputs: &[Option<&Tensor>]) -> Result<Vec<Value>>;
}

/// Names the graph must keep producing: its outputs.
pub(crate) fn graph_outputs(g: &Graph) -> HashSet<String> {
    g.outputs.iter().map(|o| o.name.clone()).collect()
}

/// Applies fusion rewrites: each `(last, fused, chain)` puts `fused` where the
/// chain's last node was (so it runs after all of the chain's inputs exist) and
/// drops the chain's other nodes.
pub(crate) fn replace_chains(g: &mut Graph, rewrites: Vec<(usize, Node, Vec<usize>)>) {
    let mut remove: HashSet<usize> = HashSet::new();
    for (last, fused, chain) in rewrites {
        remove.extend(chain.into_iter().filter(|&c| c != last));
        g.nodes[last] = fused;
    }
    let mut idx = 0;
    g.nodes.retain(|_| {
        idx += 1;
        !remove.contains(&(idx - 1))
    });
}
