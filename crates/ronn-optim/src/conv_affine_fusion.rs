//! Folds per-output-channel affine ops that follow a Conv into the Conv's weights
//! and bias: an inference BatchNormalization (s = gamma / sqrt(var + eps),
//! t = beta - mean * s), and a Mul or Add by a constant that is uniform except
//! along the channel axis (Caffe2-exported models write BatchNormalization as
//! exactly that pair). W' = W * s, b' = b * s + t. Chains fold one op at a time, so
//! Conv -> Mul -> Add becomes one Conv (and then, at O2, one FusedConv with the
//! activation that follows).

use ronn_core::{DType, Result, Tensor};
use ronn_ir::{Graph, Node};
use std::collections::HashSet;

/// Runs the pass.
pub fn run(g: &mut Graph) -> Result<()> {
    let outputs = crate::graph_outputs(g);
    let mut i = 0;
    while i < g.nodes.len() {
        // Fold until the Conv's single reader is no longer an affine op.
        while let Some((reader, new_w, new_b)) = plan(g, i, &outputs) {
            let next = g.nodes.remove(reader);
            let at = if reader < i { i - 1 } else { i };
            let conv = &mut g.nodes[at];
            let wname = format!("{}/folded_w", conv.name);
            let bname = format!("{}/folded_b", conv.name);
            g.initializers.insert(wname.clone(), new_w.into_shared());
            g.initializers.insert(bname.clone(), new_b.into_shared());
            conv.inputs.truncate(1);
            conv.inputs.push(wname);
            conv.inputs.push(bname);
            conv.outputs[0] = next.outputs[0].clone();
            i = at;
        }
        i += 1;
    }
    Ok(())
}

/// The folded weights and bias when node `i` is a Conv whose only reader is a
/// foldable affine op (returned by index, to be removed).
fn plan(g: &Graph, i: usize, outputs: &HashSet<String>) -> Option<(usize, Tensor, Tensor)> {
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
    let [reader] = readers[..] else { return None };
    let w = conv.inputs.get(1).and_then(|n| g.initializers.get(n))?;
    if w.dtype() != DType::Float32 || w.rank() < 3 || w.shape()[0] == 0 {
        return None;
    }
    let m = w.shape()[0];
    let (scale, shift) = affine(g, &g.nodes[reader], y, m, w.rank())?;
    let per = w.len() / m;
    let bias = match conv.inputs.get(2).filter(|s| !s.is_empty()) {
        Some(b) => per_channel(g.initializers.get(b)?, m)?,
        None => vec![0.0; m],
    };
    let wv = w.as_slice::<f32>().ok()?;
    let mut nw = Vec::with_capacity(wv.len());
    let mut nb = Vec::with_capacity(m);
    for o in 0..m {
        let s = scale[o];
        nw.extend(wv[o * per..(o + 1) * per].iter().map(|&x| (x as f64 * s) as f32));
        nb.push((bias[o] * s + shift[o]) as f32);
    }
    Some((reader, Tensor::from_vec(w.shape().to_vec(), nw).ok()?, Tensor::from_vec(vec![m], nb).ok()?))
}

/// Per-channel (scale, shift) of `node` applied to the Conv output `y` of `m`
/// channels and rank `rank`, if it is one of the foldable ops.
fn affine(g: &Graph, node: &Node, y: &str, m: usize, rank: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    if !node.domain.is_empty() {
        return None;
    }
    match node.op_type.as_str() {
        "BatchNormalization" => {
            if node.inputs.first().map(String::as_str) != Some(y)
                || node.outputs.iter().skip(1).any(|o| !o.is_empty())
                || node.attr_i_or("training_mode", 0).ok()? != 0
                || (node.opset < 7 && node.attr_i_or("spatial", 1).ok()? != 1)
            {
                return None;
            }
            let eps = node.attr_f_or("epsilon", 1e-5).ok()? as f64;
            let c = |k: usize| node.inputs.get(k).and_then(|n| g.initializers.get(n)).and_then(|t| per_channel(t, m));
            let (gamma, beta, mean, var) = (c(1)?, c(2)?, c(3)?, c(4)?);
            let scale: Vec<f64> = (0..m).map(|o| gamma[o] / (var[o] + eps).sqrt()).collect();
            let shift = (0..m).map(|o| beta[o] - mean[o] * scale[o]).collect();
            Some((scale, shift))
        }
        "Mul" | "Add" => {
            let ([a, b], [_]) = (&node.inputs[..], &node.outputs[..]) else { return None };
            let other = match (a.as_str() == y, b.as_str() == y) {
                (true, false) => b,
                (false, true) => a,
                _ => return None,
            };
            let c = g.initializers.get(other)?;
            if c.dtype() != DType::Float32 || !channel_broadcast(c.shape(), m, rank) {
                return None;
            }
            let v = c.to_f64_vec().ok()?;
            let v = if v.len() == m { v } else { vec![*v.first()?; m] };
            Some(if node.op_type == "Mul" { (v, vec![0.0; m]) } else { (vec![1.0; m], v) })
        }
        _ => None,
    }
}

/// Whether a constant of `shape` broadcast against an output `[N, m, spatial..]`
/// of rank `rank` varies at most along the channel axis and keeps the output's shape.
fn channel_broadcast(shape: &[usize], m: usize, rank: usize) -> bool {
    if shape.len() > rank {
        return false;
    }
    let lead = rank - shape.len();
    shape.iter().enumerate().all(|(j, &d)| d == 1 || (j + lead == 1 && d == m))
}

fn per_channel(t: &Tensor, m: usize) -> Option<Vec<f64>> {
    (t.len() == m).then(|| t.to_f64_vec().ok()).flatten()
}
