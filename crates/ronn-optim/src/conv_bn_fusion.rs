//! Folds an inference BatchNormalization that follows a Conv into the Conv's
//! weights and bias: W' = W * s, b' = (b - mean) * s + beta with
//! s = gamma / sqrt(var + eps), per output channel.

use ronn_core::{DType, Result, Tensor};
use ronn_ir::Graph;

/// Runs the pass.
pub fn run(g: &mut Graph) -> Result<()> {
    let outputs = crate::graph_outputs(g);
    let mut i = 0;
    while i < g.nodes.len() {
        if let Some((bn_idx, new_w, new_b)) = plan(g, i, &outputs) {
            let bn = g.nodes.remove(bn_idx);
            let conv = &mut g.nodes[i];
            let wname = format!("{}/folded_w", conv.name);
            let bname = format!("{}/folded_b", conv.name);
            g.initializers.insert(wname.clone(), new_w.into_shared());
            g.initializers.insert(bname.clone(), new_b.into_shared());
            conv.inputs.truncate(1);
            conv.inputs.push(wname);
            conv.inputs.push(bname);
            conv.outputs[0] = bn.outputs[0].clone();
        }
        i += 1;
    }
    Ok(())
}

fn plan(g: &Graph, i: usize, outputs: &std::collections::HashSet<String>) -> Option<(usize, Tensor, Tensor)> {
    let conv = &g.nodes[i];
    if conv.op_type != "Conv"
        || !conv.domain.is_empty()
        || conv.outputs.len() != 1
        || outputs.contains(&conv.outputs[0])
    {
        return None;
    }
    let y = &conv.outputs[0];
    let readers: Vec<usize> = g
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.inputs.contains(y) || n.implicit_inputs.contains(y))
        .map(|(k, _)| k)
        .collect();
    let [bn_idx] = readers[..] else { return None };
    let bn = &g.nodes[bn_idx];
    if bn.op_type != "BatchNormalization"
        || !bn.domain.is_empty()
        || bn.inputs.first() != Some(y)
        || bn.outputs.iter().skip(1).any(|o| !o.is_empty())
        || bn.attr_i_or("training_mode", 0).ok()? != 0
        || (bn.opset < 7 && bn.attr_i_or("spatial", 1).ok()? != 1)
    {
        return None;
    }
    let eps = bn.attr_f_or("epsilon", 1e-5).ok()? as f64;
    let c = |k: usize| bn.inputs.get(k).and_then(|n| g.initializers.get(n));
    let (gamma, beta, mean, var) = (c(1)?, c(2)?, c(3)?, c(4)?);
    let w = conv.inputs.get(1).and_then(|n| g.initializers.get(n))?;
    if w.dtype() != DType::Float32 || w.rank() < 3 {
        return None;
    }
    let m = w.shape()[0];
    let per = w.len() / m.max(1);
    let f = |t: &Tensor| -> Option<Vec<f64>> { (t.len() == m).then(|| t.to_f64_vec().ok()).flatten() };
    let (gamma, beta, mean, var) = (f(gamma)?, f(beta)?, f(mean)?, f(var)?);
    let bias = match conv.inputs.get(2).filter(|s| !s.is_empty()) {
        Some(b) => f(g.initializers.get(b)?)?,
        None => vec![0.0; m],
    };
    let wv = w.as_slice::<f32>().ok()?;
    let mut nw = Vec::with_capacity(wv.len());
    let mut nb = Vec::with_capacity(m);
    for o in 0..m {
        let s = gamma[o] / (var[o] + eps).sqrt();
        nw.extend(wv[o * per..(o + 1) * per].iter().map(|&x| (x as f64 * s) as f32));
        nb.push(((bias[o] - mean[o]) * s + beta[o]) as f32);
    }
    Some((bn_idx, Tensor::from_vec(w.shape().to_vec(), nw).ok()?, Tensor::from_vec(vec![m], nb).ok()?))
}
