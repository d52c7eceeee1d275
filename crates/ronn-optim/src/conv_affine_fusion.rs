//! Folds per-output-channel affine ops that follow a Conv into the Conv's weights
//! and bias: an inference BatchNormalization (s = gamma / sqrt(var + eps),
//! t = beta - mean * s), and a Mul or Add by a constant that is uniform except
//! along the channel axis (Caffe2-exported models write BatchNormalization as
//! exactly that pair). W' = W * s, b' = b * s + t. Chains fold one op at a time, so
//! Conv -> Mul -> Add becomes one Conv (and then, at O2, one FusedConv with the
//! activation that follows).
//!
//! Where no Conv precedes (DenseNet's pre-activation BatchNormalization -> Mul ->
//! Add -> Relu -> Conv), the Mul/Add fold into the BatchNormalization instead:
//! scale' = scale * c, B' = B * c (+ d). That needs the input's rank (to know a
//! `[C, 1, 1]` constant runs along channels), from static type inference. A
//! BatchNormalization of a 4-D f32 input read only by a Relu then becomes a 1x1
//! depthwise Conv (W = s, B = t), which Conv fusion merges with the Relu: one
//! pass over the tensor instead of two (DenseNet-121: 62 of them, ~5 ms per run).

use ronn_core::{DType, Result, Tensor};
use ronn_ir::{Attribute, Graph, Node, ValueType};
use std::collections::{HashMap, HashSet};

/// Runs the pass.
pub fn run(g: &mut Graph) -> Result<()> {
    let outputs = crate::graph_outputs(g);
    let mut types = None;
    let mut i = 0;
    while i < g.nodes.len() {
        // Fold until the host's single reader is no longer an affine op.
        loop {
            let host = &g.nodes[i];
            let planned = match (host.op_type.as_str(), host.domain.is_empty()) {
                ("Conv", true) => plan(g, i, &outputs).map(|(r, w, b)| (r, [(1, "w", w), (2, "b", b)])),
                ("BatchNormalization", true) => {
                    let types = types.get_or_insert_with(|| ronn_ir::infer_types(g));
                    plan_bn(g, i, &outputs, types).map(|(r, s, b)| (r, [(1, "scale", s), (2, "b", b)]))
                }
                _ => None,
            };
            let Some((reader, params)) = planned else { break };
            let next = g.nodes.remove(reader);
            let at = if reader < i { i - 1 } else { i };
            let host = &mut g.nodes[at];
            if host.op_type == "Conv" {
                host.inputs.truncate(1);
                host.inputs.resize(3, String::new());
            }
            for (slot, what, t) in params {
                let name = format!("{}/folded_{what}", host.name);
                g.initializers.insert(name.clone(), t.into_shared());
                host.inputs[slot] = name;
            }
            host.outputs[0] = next.outputs[0].clone();
            i = at;
        }
        i += 1;
    }
    if let Some(types) = &types {
        batchnorm_relu_as_depthwise(g, &outputs, types);
    }
    Ok(())
}

/// Rewrites each inference BatchNormalization of a 4-D f32 input whose only
/// reader is a Relu as a 1x1 depthwise Conv with the same per-channel affine.
fn batchnorm_relu_as_depthwise(g: &mut Graph, outputs: &HashSet<String>, types: &HashMap<String, ValueType>) {
    for i in 0..g.nodes.len() {
        let bn = &g.nodes[i];
        if bn.op_type != "BatchNormalization" || !bn.domain.is_empty() || bn.opset < 9 {
            continue;
        }
        if !matches!(bn.attr_i_or("training_mode", 0), Ok(0)) {
            continue;
        }
        let Some(reader) = single_reader(g, i, outputs) else { continue };
        if g.nodes[reader].op_type != "Relu" || !g.nodes[reader].domain.is_empty() {
            continue;
        }
        let four_d_f32 = matches!(
            bn.inputs.first().and_then(|x| types.get(x)),
            Some(ValueType::Tensor { dtype: DType::Float32, shape: Some(d) }) if d.len() == 4
        );
        let Ok(eps) = bn.attr_f_or("epsilon", 1e-5) else { continue };
        let c = |k: usize| bn.inputs.get(k).and_then(|n| g.initializers.get(n));
        let (Some(scale), Some(b), Some(mean), Some(var)) = (c(1), c(2), c(3), c(4)) else { continue };
        let m = scale.len();
        let p = |t: &Tensor| (t.dtype() == DType::Float32).then(|| per_channel(t, m)).flatten();
        let (Some(scale), Some(b), Some(mean), Some(var)) = (p(scale), p(b), p(mean), p(var)) else { continue };
        if !four_d_f32 || m == 0 {
            continue;
        }
        let s: Vec<f64> = (0..m).map(|o| scale[o] / (var[o] + eps as f64).sqrt()).collect();
        let w: Vec<f32> = s.iter().map(|&v| v as f32).collect();
        let t: Vec<f32> = (0..m).map(|o| (b[o] - mean[o] * s[o]) as f32).collect();
        let (Ok(w), Ok(t)) = (Tensor::from_vec(vec![m, 1, 1, 1], w), Tensor::from_vec(vec![m], t)) else { continue };
        let (wname, bname) = (format!("{}/depthwise_w", bn.name), format!("{}/depthwise_b", bn.name));
        let mut conv = Node::new("Conv", &[bn.inputs[0].as_str(), &wname, &bname], &[bn.outputs[0].as_str()], 11)
            .with_attr("group", Attribute::Int(m as i64))
            .with_attr("kernel_shape", Attribute::Ints(vec![1, 1]));
        conv.name = bn.name.clone();
        g.initializers.insert(wname, w.into_shared());
        g.initializers.insert(bname, t.into_shared());
        g.nodes[i] = conv;
    }
}

/// The single reader of node `i`'s only output, unless that output is a graph output.
fn single_reader(g: &Graph, i: usize, outputs: &HashSet<String>) -> Option<usize> {
    let node = &g.nodes[i];
    let y = node.outputs.first()?;
    if outputs.contains(y) || node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
        return None;
    }
    let readers: Vec<usize> = g
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.inputs.contains(y) || n.implicit_inputs.contains(y))
        .map(|(k, _)| k)
        .collect();
    let [reader] = readers[..] else { return None };
    Some(reader)
}

/// The folded scale and B when node `i` is an inference BatchNormalization of
/// known input rank whose only reader is a channel Mul or Add.
fn plan_bn(
    g: &Graph,
    i: usize,
    outputs: &HashSet<String>,
    types: &HashMap<String, ValueType>,
) -> Option<(usize, Tensor, Tensor)> {
    let bn = &g.nodes[i];
    if bn.attr_i_or("training_mode", 0).ok()? != 0 || bn.opset < 9 {
        return None;
    }
    let reader = single_reader(g, i, outputs)?;
    let next = &g.nodes[reader];
    if next.op_type != "Mul" && next.op_type != "Add" {
        return None;
    }
    let rank = match types.get(bn.inputs.first()?)? {
        ValueType::Tensor { shape: Some(dims), .. } => dims.len(),
        _ => return None,
    };
    let c = |k: usize| bn.inputs.get(k).and_then(|n| g.initializers.get(n));
    let (scale, b) = (c(1)?, c(2)?);
    if scale.dtype() != DType::Float32 || b.dtype() != DType::Float32 || rank < 2 {
        return None;
    }
    let m = scale.len();
    let (mul, add) = affine(g, next, &bn.outputs[0], m, rank)?;
    let (scale, b) = (per_channel(scale, m)?, per_channel(b, m)?);
    let new_scale = (0..m).map(|o| (scale[o] * mul[o]) as f32).collect();
    let new_b = (0..m).map(|o| (b[o] * mul[o] + add[o]) as f32).collect();
    Some((reader, Tensor::from_vec(vec![m], new_scale).ok()?, Tensor::from_vec(vec![m], new_b).ok()?))
}

/// The folded weights and bias when node `i` is a Conv whose only reader is a
/// foldable affine op (returned by index, to be removed).
fn plan(g: &Graph, i: usize, outputs: &HashSet<String>) -> Option<(usize, Tensor, Tensor)> {
    let conv = &g.nodes[i];
    let reader = single_reader(g, i, outputs)?;
    let y = &conv.outputs[0];
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
