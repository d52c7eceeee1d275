//! Fuses the dequantizing tail of a dynamically quantized MatMul into one
//! `com.microsoft` `MatMulIntegerToFloat` (ONNX Runtime's contrib op):
//!
//! `MatMulInteger(A, B, a_zp, b_zp) -> Cast(to=FLOAT) -> Mul(S) [-> Add(bias)]`
//! becomes `MatMulIntegerToFloat(A, B, 1.0, S, a_zp, b_zp, [bias])`.
//!
//! That is the shape `onnxruntime.quantization.quantize_dynamic` writes for
//! every MatMul, with `S = Mul(activation scale, weight scale)`. The fused kernel
//! converts each i32 row to float while it is in cache instead of three more
//! passes over the output (a 128 x 1536 i32 tensor, then two float ones).
//!
//! Conditions: B is a constant 2-D initializer (its N sizes the checks); S is
//! a scalar or one value per column, which is known without shape inference when
//! S is a rank <= 1 initializer or a `Mul` of such initializers and
//! DynamicQuantizeLinear scales (always scalars); the bias is a float
//! initializer of N values; each intermediate is read once and is not a graph
//! output. The scale goes in as `b_scale` with `a_scale = 1.0`, so the kernel's
//! `a_scale * b_scale` is S exactly and results equal the unfused graph's.

use crate::conv_fusion::reader_counts;
use crate::{graph_outputs, replace_chains};
use ronn_core::{DType, Tensor};
use ronn_ir::{Graph, Node};
use std::collections::HashMap;

/// The domain of the fused node.
pub const FUSED_DOMAIN: &str = "com.microsoft";

/// Runs the pass.
pub fn run(g: &mut Graph) {
    let outputs = graph_outputs(g);
    let readers = reader_counts(g);
    let producer: HashMap<&str, usize> =
        g.nodes.iter().enumerate().flat_map(|(i, n)| n.outputs.iter().map(move |o| (o.as_str(), i))).collect();
    let sole_reader = |value: &str| -> Option<usize> {
        if outputs.contains(value) || readers.get(value) != Some(&1) {
            return None;
        }
        g.nodes.iter().position(|n| n.inputs.iter().any(|x| x == value))
    };
    let plain = |n: &Node, op: &str| n.op_type == op && n.domain.is_empty() && n.outputs.len() == 1;
    let mut rewrites: Vec<(usize, Node, Vec<usize>)> = Vec::new();
    let mut unit_scale_needed = false;
    let unit_scale = "ronn_qmatmul_fusion_unit_scale".to_string();
    for (i, mm) in g.nodes.iter().enumerate() {
        if !plain(mm, "MatMulInteger") || mm.inputs.len() < 2 {
            continue;
        }
        let Some(n) = g.initializers.get(&mm.inputs[1]).filter(|b| b.rank() == 2).map(|b| b.shape()[1]) else {
            continue;
        };
        let Some(ci) = sole_reader(&mm.outputs[0]) else { continue };
        let cast = &g.nodes[ci];
        if !plain(cast, "Cast") || cast.attr_i_or("to", 0).ok() != Some(DType::Float32.to_onnx() as i64) {
            continue;
        }
        let Some(mi) = sole_reader(&cast.outputs[0]) else { continue };
        let mul = &g.nodes[mi];
        if !plain(mul, "Mul") || mul.inputs.len() != 2 {
            continue;
        }
        let s = if mul.inputs[0] == cast.outputs[0] { &mul.inputs[1] } else { &mul.inputs[0] };
        if s == &cast.outputs[0] || !per_column_scale(g, &producer, s, n) {
            continue;
        }
        let mut chain = vec![i, ci, mi];
        let mut bias = None;
        if let Some(ai) = sole_reader(&mul.outputs[0]) {
            let add = &g.nodes[ai];
            if plain(add, "Add") && add.inputs.len() == 2 {
                let other = if add.inputs[0] == mul.outputs[0] { &add.inputs[1] } else { &add.inputs[0] };
                let is_bias =
                    g.initializers.get(other).is_some_and(|t| t.dtype() == DType::Float32 && t.shape() == [n]);
                if is_bias && other != &mul.outputs[0] {
                    bias = Some(other.clone());
                    chain.push(ai);
                }
            }
        }
        let last = *chain.last().unwrap_or(&mi);
        let opt = |k: usize| mm.inputs.get(k).cloned().unwrap_or_default();
        let mut inputs =
            vec![mm.inputs[0].clone(), mm.inputs[1].clone(), unit_scale.clone(), s.clone(), opt(2), opt(3)];
        if let Some(b) = bias {
            inputs.push(b);
        }
        while inputs.last().is_some_and(|v| v.is_empty()) {
            inputs.pop();
        }
        unit_scale_needed = true;
        let fused = Node {
            name: mm.name.clone(),
            op_type: "MatMulIntegerToFloat".into(),
            domain: FUSED_DOMAIN.into(),
            opset: 1,
            inputs,
            outputs: g.nodes[last].outputs.clone(),
            implicit_inputs: vec![],
            attrs: Default::default(),
        };
        rewrites.push((last, fused, chain));
    }
    if rewrites.is_empty() {
        return;
    }
    if unit_scale_needed {
        g.initializers.insert(unit_scale, Tensor::scalar(1.0f32));
    }
    replace_chains(g, rewrites);
}

/// Whether `s` is statically a scalar or `n` values (see the module doc).
fn per_column_scale(g: &Graph, producer: &HashMap<&str, usize>, s: &str, n: usize) -> bool {
    let leaf = |v: &str| -> Option<usize> {
        if let Some(t) = g.initializers.get(v) {
            return (t.dtype() == DType::Float32 && t.rank() <= 1).then(|| t.len());
        }
        let p = &g.nodes[*producer.get(v)?];
        let is_dql_scale =
            p.op_type == "DynamicQuantizeLinear" && p.domain.is_empty() && p.outputs.get(1).is_some_and(|o| o == v);
        is_dql_scale.then_some(1)
    };
    let fits = |len: usize| len == 1 || len == n;
    if let Some(len) = leaf(s) {
        return fits(len);
    }
    let Some(p) = producer.get(s).map(|&i| &g.nodes[i]) else { return false };
    if p.op_type != "Mul" || !p.domain.is_empty() || p.inputs.len() != 2 {
        return false;
    }
    match (leaf(&p.inputs[0]), leaf(&p.inputs[1])) {
        (Some(x), Some(y)) => fits(x) && fits(y) && (x == 1 || y == 1 || x == y),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ronn_ir::{Attribute, Dim, ValueInfo, ValueType};

    fn info(name: &str) -> ValueInfo {
        ValueInfo {
            name: name.into(),
            ty: ValueType::Tensor { dtype: DType::Float32, shape: Some(vec![Dim::Known(2), Dim::Known(3)]) },
        }
    }

    /// x -> DynamicQuantizeLinear -> MatMulInteger(W[3,4]) -> Cast -> Mul(x_scale * w_scale) [-> Add(bias)].
    fn quantized_matmul(with_bias: bool, w_scale_len: usize) -> Graph {
        let mut g = Graph::default();
        g.inputs.push(info("x"));
        g.initializers.insert("w".into(), Tensor::from_vec(vec![3, 4], vec![1i8; 12]).unwrap());
        g.initializers.insert("wz".into(), Tensor::scalar(0i8));
        g.initializers.insert("ws".into(), Tensor::from_vec(vec![w_scale_len], vec![0.5f32; w_scale_len]).unwrap());
        g.initializers.insert("bias".into(), Tensor::from_vec(vec![4], vec![1.0f32; 4]).unwrap());
        g.nodes.push(Node::new("DynamicQuantizeLinear", &["x"], &["xq", "xs", "xz"], 11));
        g.nodes.push(Node::new("MatMulInteger", &["xq", "w", "xz", "wz"], &["acc"], 10));
        g.nodes.push(Node::new("Cast", &["acc"], &["accf"], 13).with_attr("to", Attribute::Int(1)));
        g.nodes.push(Node::new("Mul", &["xs", "ws"], &["s"], 14));
        g.nodes.push(Node::new("Mul", &["accf", "s"], &["y"], 14));
        let out = if with_bias {
            g.nodes.push(Node::new("Add", &["bias", "y"], &["out"], 14));
            "out"
        } else {
            "y"
        };
        g.outputs.push(info(out));
        g
    }

    #[test]
    fn quantize_dynamic_tail_becomes_one_node() {
        for with_bias in [true, false] {
            let mut g = quantized_matmul(with_bias, 4);
            run(&mut g);
            let ops: Vec<&str> = g.nodes.iter().map(|n| n.op_type.as_str()).collect();
            assert_eq!(ops, ["DynamicQuantizeLinear", "Mul", "MatMulIntegerToFloat"], "bias {with_bias}");
            let f = &g.nodes[2];
            assert_eq!(f.domain, FUSED_DOMAIN);
            let mut want = vec!["xq", "w", "ronn_qmatmul_fusion_unit_scale", "s", "xz", "wz"];
            if with_bias {
                want.push("bias");
            }
            assert_eq!(f.inputs, want);
            assert_eq!(f.outputs, vec![if with_bias { "out" } else { "y" }.to_string()]);
            assert_eq!(g.initializers["ronn_qmatmul_fusion_unit_scale"].as_slice::<f32>().unwrap(), &[1.0]);
        }
    }

    #[test]
    fn left_alone_when_the_scale_or_readers_do_not_fit() {
        // A weight scale of the wrong length (not per column): no rewrite.
        let mut g = quantized_matmul(true, 3);
        run(&mut g);
        assert!(g.nodes.iter().any(|n| n.op_type == "MatMulInteger"));
        // The integer product is also a graph output: kept.
        let mut g = quantized_matmul(true, 4);
        g.outputs.push(info("acc"));
        run(&mut g);
        assert!(g.nodes.iter().any(|n| n.op_type == "MatMulInteger"));
        assert!(!g.initializers.contains_key("ronn_qmatmul_fusion_unit_scale"));
        // Cast to something other than float: kept.
        let mut g = quantized_matmul(false, 1);
        g.nodes[2] = Node::new("Cast", &["acc"], &["accf"], 13).with_attr("to", Attribute::Int(11));
        run(&mut g);
        assert!(g.nodes.iter().any(|n| n.op_type == "MatMulInteger"));
    }
}
