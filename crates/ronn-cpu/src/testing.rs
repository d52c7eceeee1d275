//! Runs one node on the CPU provider, for unit tests: `run_node(node, inputs)`.

use ronn_core::{Error, Result, Tensor, Value};
use ronn_ir::{BuildCtx, Graph, Node, RunContext, SubgraphCompiler, SubgraphRunner};
use std::sync::Arc;

struct NoSubgraphs;

impl SubgraphCompiler for NoSubgraphs {
    fn compile(&self, _: &Graph) -> Result<Arc<dyn SubgraphRunner>> {
        Err(Error::UnsupportedOp("subgraphs are not available in one-node tests".into()))
    }
}

/// Plans `node` (no constant inputs) and runs it once on `inputs` (`None` = omitted).
pub fn run_node_opt(node: &Node, inputs: Vec<Option<Value>>) -> Result<Vec<Value>> {
    let reg = crate::registry();
    let factory = reg
        .lookup(&node.domain, &node.op_type, node.opset)
        .ok_or_else(|| Error::UnsupportedOp(format!("{} at opset {}", node.op_type, node.opset)))?;
    let ctx = BuildCtx { node, constants: vec![None; node.inputs.len()], subgraphs: &NoSubgraphs, num_threads: 1 };
    let kernel = factory(&ctx)?;
    let refs: Vec<Option<&Value>> = inputs.iter().map(|v| v.as_ref()).collect();
    kernel.run(&RunContext::new(1), &refs)
}

/// Plans `node` and runs it on tensor inputs; returns its tensor outputs.
pub fn run_node(node: &Node, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
    run_node_opt(node, inputs.into_iter().map(|t| Some(Value::Tensor(t))).collect())?
        .into_iter()
        .map(|v| v.into_tensor())
        .collect()
}

/// Plans `node` with the given inputs as planning-time constants (pre-packing paths) and runs it.
pub fn run_node_const(node: &Node, inputs: Vec<Tensor>) -> Result<Vec<Tensor>> {
    let reg = crate::registry();
    let factory = reg
        .lookup(&node.domain, &node.op_type, node.opset)
        .ok_or_else(|| Error::UnsupportedOp(format!("{} at opset {}", node.op_type, node.opset)))?;
    let ctx = BuildCtx { node, constants: inputs.iter().map(Some).collect(), subgraphs: &NoSubgraphs, num_threads: 1 };
    let kernel = factory(&ctx)?;
    let vals: Vec<Value> = inputs.iter().cloned().map(Value::Tensor).collect();
    let refs: Vec<Option<&Value>> = vals.iter().map(Some).collect();
    kernel.run(&RunContext::new(1), &refs)?.into_iter().map(|v| v.into_tensor()).collect()
}

/// Asserts two f32 slices are close (rtol 1e-4, atol 1e-5), naming the first mismatch.
pub fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "length differs");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g - w).abs() <= 1e-5 + 1e-4 * w.abs() || (g.is_nan() && w.is_nan());
        assert!(ok, "element {i}: got {g}, want {w}");
    }
}
