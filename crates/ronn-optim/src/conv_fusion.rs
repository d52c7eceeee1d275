//! Fuses a Conv with the element-wise ops after it into one `com.microsoft`
//! `FusedConv` (ONNX Runtime's contrib op, so an optimized graph stays readable by
//! ORT tools): `Y = act(Conv(X, W, B) + Z)`.
//!
//! Patterns (each intermediate value read by exactly one node and not a graph
//! output):
//! - `Conv -> act`
//! - `Conv -> Add(Z) [-> act]` (or a 2-input Sum), when Z has the Conv output's exact static shape
//!   (no broadcasting; the ResNet residual)
//!
//! - `Conv -> Sigmoid, Mul(conv, sigmoid)` (SiLU; the Conv output is read twice)
//!
//! with `act` one of Relu, LeakyRelu, Clip (constant bounds), HardSigmoid and
//! HardSwish; HardSwish and Silu are RONN extensions of FusedConv's `activation`
//! strings.
//! The epilogue runs on each output row while it is still in cache, saving one
//! or two full passes over the activation per Conv.

use crate::{graph_outputs, replace_chains};
use ronn_core::Result;
use ronn_ir::{infer_types, Attribute, Dim, Graph, Node, ValueType};
use std::collections::{HashMap, HashSet};

/// The domain of the fused node.
pub const FUSED_DOMAIN: &str = "com.microsoft";

/// Runs the pass.
pub fn run(g: &mut Graph) -> Result<()> {
    let types = infer_types(g);
    let outputs = graph_outputs(g);
    let readers = reader_counts(g);
    let producer: HashMap<&str, usize> =
        g.nodes.iter().enumerate().flat_map(|(i, n)| n.outputs.iter().map(move |o| (o.as_str(), i))).collect();
    // (position of the chain's last node, the fused node, nodes it replaces)
    let mut rewrites: Vec<(usize, Node, Vec<usize>)> = Vec::new();
    let mut taken: HashSet<usize> = HashSet::new();
    for (i, conv) in g.nodes.iter().enumerate() {
        if conv.op_type != "Conv" || !conv.domain.is_empty() || conv.outputs.len() != 1 || conv.inputs.len() < 2 {
            continue;
        }
        let sole_reader = |value: &str| -> Option<usize> {
            if outputs.contains(value) || readers.get(value) != Some(&1) {
                return None;
            }
            g.nodes.iter().position(|n| n.inputs.iter().any(|x| x == value))
        };
        let Some(j) = sole_reader(&conv.outputs[0]) else {
            // SiLU reads the Conv output twice: Sigmoid(y) and Mul(y, sigmoid).
            if let Some((sig, mul)) = silu_readers(g, &conv.outputs[0], &outputs, &readers) {
                let chain = vec![i, sig, mul];
                if chain.iter().all(|c| !taken.contains(c)) {
                    let mut fused = fused_conv(conv, &g.nodes[mul].outputs);
                    fused.attrs.insert("activation".into(), Attribute::String(b"Silu".to_vec()));
                    taken.extend(chain.iter().copied());
                    rewrites.push((sig.max(mul), fused, chain));
                }
            }
            continue;
        };
        let next = &g.nodes[j];
        let mut chain = vec![i, j];
        let mut residual = None;
        let mut act_node = Some(next);
        // Old models (the light model zoo's resnet50) write the residual as a 2-input Sum.
        if matches!(next.op_type.as_str(), "Add" | "Sum") && next.domain.is_empty() && next.inputs.len() == 2 {
            let y = &conv.outputs[0];
            let z = if &next.inputs[0] == y { &next.inputs[1] } else { &next.inputs[0] };
            if z == y || !same_static_shape(types.get(y), types.get(z)) {
                continue;
            }
            // Z must be computed before the Conv's reader runs; it is, since the
            // fused node takes the Add's place. But it must not be the fused
            // chain's own product.
            if producer.get(z.as_str()).is_some_and(|&p| chain.contains(&p)) {
                continue;
            }
            residual = Some(z.clone());
            act_node = sole_reader(&next.outputs[0]).map(|k| &g.nodes[k]);
        }
        let act = act_node.and_then(|n| activation_of(n, g));
        match (&residual, &act) {
            (None, None) => continue,
            (Some(_), Some(_)) => {
                if let Some(k) = act_node.and_then(|n| g.nodes.iter().position(|m| std::ptr::eq(m, n))) {
                    chain.push(k);
                }
            }
            _ => {}
        }
        if chain.iter().any(|c| taken.contains(c)) {
            continue;
        }
        let last = *chain.iter().max().unwrap_or(&j);
        let mut fused = fused_conv(conv, &g.nodes[*chain.last().unwrap_or(&j)].outputs);
        if let Some(z) = residual {
            fused.inputs.resize(3, String::new());
            fused.inputs.push(z);
        }
        if let Some((name, params)) = act {
            fused.attrs.insert("activation".into(), Attribute::String(name.as_bytes().to_vec()));
            if !params.is_empty() {
                fused.attrs.insert("activation_params".into(), Attribute::Floats(params));
            }
        }
        taken.extend(chain.iter().copied());
        rewrites.push((last, fused, chain));
    }
    if rewrites.is_empty() {
        return Ok(());
    }
    replace_chains(g, rewrites);
    Ok(())
}

/// A FusedConv with `conv`'s inputs and attributes writing `outputs`.
fn fused_conv(conv: &Node, outputs: &[String]) -> Node {
    Node {
        name: conv.name.clone(),
        op_type: "FusedConv".into(),
        domain: FUSED_DOMAIN.into(),
        opset: 1,
        inputs: conv.inputs.clone(),
        outputs: outputs.to_vec(),
        implicit_inputs: vec![],
        attrs: conv.attrs.clone(),
    }
}

/// `(Sigmoid, Mul)` positions when `y`'s only two readers are `s = Sigmoid(y)` and
/// `Mul(y, s)` (either order), with `s` read by nothing else.
fn silu_readers(
    g: &Graph,
    y: &str,
    outputs: &HashSet<String>,
    readers: &HashMap<String, usize>,
) -> Option<(usize, usize)> {
    if outputs.contains(y) || readers.get(y) != Some(&2) {
        return None;
    }
    let plain = |n: &Node, op: &str| n.op_type == op && n.domain.is_empty() && n.outputs.len() == 1;
    let sig = g.nodes.iter().position(|n| plain(n, "Sigmoid") && n.inputs.len() == 1 && n.inputs[0] == y)?;
    let s = &g.nodes[sig].outputs[0];
    if outputs.contains(s) || readers.get(s) != Some(&1) {
        return None;
    }
    let mul = g.nodes.iter().position(|n| {
        plain(n, "Mul")
            && n.inputs.len() == 2
            && ((n.inputs[0] == y && &n.inputs[1] == s) || (&n.inputs[0] == s && n.inputs[1] == y))
    })?;
    Some((sig, mul))
}

/// How many node inputs read each value.
pub(crate) fn reader_counts(g: &Graph) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for n in &g.nodes {
        for v in n.inputs.iter().chain(&n.implicit_inputs).filter(|v| !v.is_empty()) {
            *counts.entry(v.clone()).or_default() += 1;
        }
    }
    counts
}

fn same_static_shape(a: Option<&ValueType>, b: Option<&ValueType>) -> bool {
    let (Some(a), Some(b)) = (a, b) else { return false };
    match (a.shape(), b.shape(), a.dtype(), b.dtype()) {
        (Some(sa), Some(sb), Some(da), Some(db)) => {
            da == db && sa == sb && sa.iter().all(|d| !matches!(d, Dim::Unknown))
        }
        _ => false,
    }
}

/// FusedConv's `activation` and `activation_params` for a fusable node.
fn activation_of(n: &Node, g: &Graph) -> Option<(&'static str, Vec<f32>)> {
    if !n.domain.is_empty() || n.outputs.len() != 1 {
        return None;
    }
    match n.op_type.as_str() {
        "Relu" => Some(("Relu", vec![])),
        "LeakyRelu" => Some(("LeakyRelu", vec![n.attr_f_or("alpha", 0.01).ok()?])),
        "HardSigmoid" => Some(("HardSigmoid", vec![n.attr_f_or("alpha", 0.2).ok()?, n.attr_f_or("beta", 0.5).ok()?])),
        "HardSwish" => Some(("HardSwish", vec![])),
        "Clip" if n.opset < 11 => {
            Some(("Clip", vec![n.attr_f_or("min", f32::NEG_INFINITY).ok()?, n.attr_f_or("max", f32::INFINITY).ok()?]))
        }
        "Clip" => {
            let bound = |k: usize, default: f32| -> Option<f32> {
                match n.inputs.get(k).filter(|s| !s.is_empty()) {
                    None => Some(default),
                    Some(name) => {
                        let t = g.initializers.get(name)?;
                        (t.len() == 1).then(|| t.to_f64_vec().ok()).flatten().map(|v| v[0] as f32)
                    }
                }
            };
            Some(("Clip", vec![bound(1, f32::NEG_INFINITY)?, bound(2, f32::INFINITY)?]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ronn_core::{DType, Tensor};
    use ronn_ir::ValueInfo;

    fn tensor_info(name: &str, dims: &[usize]) -> ValueInfo {
        ValueInfo {
            name: name.into(),
            ty: ValueType::Tensor { dtype: DType::Float32, shape: Some(dims.iter().map(|&d| Dim::Known(d)).collect()) },
        }
    }

    /// X[1,2,4,4] -> Conv(W[2,2,1,1]) -> y; extra nodes appended by each test.
    fn conv_graph(extra: Vec<Node>, out: &str) -> Graph {
        let mut g = Graph::default();
        g.inputs.push(tensor_info("x", &[1, 2, 4, 4]));
        g.inputs.push(tensor_info("z", &[1, 2, 4, 4]));
        g.initializers.insert("w".into(), Tensor::from_vec(vec![2, 2, 1, 1], vec![1.0f32, 0.0, 0.0, 1.0]).unwrap());
        g.nodes.push(Node::new("Conv", &["x", "w"], &["y"], 17));
        g.nodes.extend(extra);
        g.outputs.push(tensor_info(out, &[1, 2, 4, 4]));
        g
    }

    #[test]
    fn conv_sigmoid_mul_becomes_a_silu_fused_conv() {
        for (a, b) in [("y", "s"), ("s", "y")] {
            let extra = vec![Node::new("Sigmoid", &["y"], &["s"], 17), Node::new("Mul", &[a, b], &["out"], 17)];
            let mut g = conv_graph(extra, "out");
            run(&mut g).unwrap();
            assert_eq!(g.nodes.len(), 1);
            let n = &g.nodes[0];
            assert_eq!((n.op_type.as_str(), n.outputs.clone()), ("FusedConv", vec!["out".to_string()]));
            assert_eq!(n.attr_s("activation").unwrap().as_deref(), Some("Silu"));
        }
        // The sigmoid is also read elsewhere: nothing fuses.
        let extra = vec![
            Node::new("Sigmoid", &["y"], &["s"], 17),
            Node::new("Mul", &["y", "s"], &["out"], 17),
            Node::new("Relu", &["s"], &["r"], 17),
        ];
        let mut g = conv_graph(extra, "out");
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 4);
    }

    #[test]
    fn conv_relu_becomes_one_fused_conv() {
        let mut g = conv_graph(vec![Node::new("Relu", &["y"], &["out"], 17)], "out");
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 1);
        let n = &g.nodes[0];
        assert_eq!((n.op_type.as_str(), n.domain.as_str()), ("FusedConv", FUSED_DOMAIN));
        assert_eq!(n.outputs, vec!["out".to_string()]);
        assert_eq!(n.attr_s("activation").unwrap().as_deref(), Some("Relu"));
    }

    #[test]
    fn residual_add_and_relu_fuse_with_z_as_fourth_input() {
        for op in ["Add", "Sum"] {
            let extra = vec![Node::new(op, &["z", "y"], &["s"], 17), Node::new("Relu", &["s"], &["out"], 17)];
            let mut g = conv_graph(extra, "out");
            run(&mut g).unwrap();
            assert_eq!(g.nodes.len(), 1, "{op}");
            assert_eq!(g.nodes[0].inputs, vec!["x", "w", "", "z"]);
            assert_eq!(g.nodes[0].outputs, vec!["out".to_string()]);
        }
    }

    #[test]
    fn clip_bounds_come_from_constant_inputs() {
        let mut g = conv_graph(vec![Node::new("Clip", &["y", "lo", "hi"], &["out"], 13)], "out");
        g.initializers.insert("lo".into(), Tensor::scalar(0.0f32));
        g.initializers.insert("hi".into(), Tensor::scalar(6.0f32));
        run(&mut g).unwrap();
        assert_eq!(g.nodes[0].attr_floats("activation_params").unwrap(), Some(vec![0.0, 6.0]));
    }

    #[test]
    fn shared_or_broadcast_or_output_values_are_left_alone() {
        // y is also a graph output.
        let mut g = conv_graph(vec![Node::new("Relu", &["y"], &["out"], 17)], "out");
        g.outputs.push(tensor_info("y", &[1, 2, 4, 4]));
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 2);
        // y read twice.
        let extra = vec![Node::new("Relu", &["y"], &["out"], 17), Node::new("Sigmoid", &["y"], &["o2"], 17)];
        let mut g = conv_graph(extra, "out");
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 3);
        // Add broadcasts a per-channel Z: not a residual.
        let mut g = conv_graph(vec![Node::new("Add", &["y", "c"], &["out"], 17)], "out");
        g.initializers.insert("c".into(), Tensor::from_vec(vec![1, 2, 1, 1], vec![1.0f32, 2.0]).unwrap());
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 2);
        // Clip with a runtime bound.
        let mut g = conv_graph(vec![Node::new("Clip", &["y", "z"], &["out"], 13)], "out");
        run(&mut g).unwrap();
        assert_eq!(g.nodes.len(), 2);
    }
}
