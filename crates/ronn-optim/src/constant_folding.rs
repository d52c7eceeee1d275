//! Evaluates nodes whose inputs are all constants once, at optimization time, and
//! replaces them by initializers. Random ops and nodes with subgraphs are left alone.
//! Initializers that old (IR < 4) models also list as graph inputs count as
//! constants: sessions refuse feeding them.

use crate::ConstantEvaluator;
use ronn_core::{Result, Value};
use ronn_ir::Graph;

const NONDETERMINISTIC: &[&str] =
    &["RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike", "Bernoulli", "Multinomial"];

/// Largest folded output kept (elements); bigger results stay computed per run
/// so a small model does not balloon (e.g. ConstantOfShape of a huge shape).
const MAX_FOLDED_ELEMENTS: usize = 1 << 24;

/// Runs the pass.
pub fn run(g: &mut Graph, eval: &dyn ConstantEvaluator) -> Result<()> {
    let outputs = crate::graph_outputs(g);
    let mut i = 0;
    while i < g.nodes.len() {
        let n = &g.nodes[i];
        let foldable = !NONDETERMINISTIC.contains(&n.op_type.as_str())
            && n.implicit_inputs.is_empty()
            && !n.attrs.values().any(|a| matches!(a, ronn_ir::Attribute::Graph(_) | ronn_ir::Attribute::Graphs(_)))
            && n.inputs.iter().all(|x| x.is_empty() || g.initializers.contains_key(x))
            && n.outputs.iter().all(|o| !outputs.contains(o));
        if foldable {
            let ins: Vec<Option<&ronn_core::Tensor>> =
                n.inputs.iter().map(|x| if x.is_empty() { None } else { g.initializers.get(x) }).collect();
            // A node that fails to evaluate is left for run time to report.
            if let Ok(vals) = eval.eval(n, &ins) {
                let ok = vals.len() >= n.outputs.iter().filter(|o| !o.is_empty()).count()
                    && vals.iter().all(|v| matches!(v, Value::Tensor(t) if t.len() <= MAX_FOLDED_ELEMENTS));
                if ok {
                    let n = g.nodes.remove(i);
                    for (name, v) in n.outputs.iter().zip(vals) {
                        if let (false, Value::Tensor(t)) = (name.is_empty(), v) {
                            g.initializers.insert(name.clone(), t.into_shared());
                        }
                    }
                    continue;
                }
            }
        }
        i += 1;
    }
    Ok(())
}
