//! Fuses the GELU subgraphs that exporters write element by element into one
//! `com.microsoft` node (ONNX Runtime's contrib ops, which RONN runs):
//!
//! - erf form (BERT, ViT, MiniLM): `Div(x, sqrt 2)` (or `Mul(x, 1/sqrt 2)`) ->
//!   `Erf` -> `Add 1` -> `Mul x` -> `Mul 0.5` (or `Mul(Mul(x, 0.5), erf + 1)`)
//!   becomes `Gelu(x)`;
//! - tanh form (GPT-2): `Pow(x, 3)` -> `Mul 0.044715` -> `Add x` -> `Mul sqrt(2/pi)`
//!   -> `Tanh` -> `Add 1` -> `Mul(Mul(x, 0.5), .)` becomes `FastGelu(x)`;
//! - when x is `Add(y, bias)` with a 1-D constant bias over y's last dim and read
//!   only by the GELU, the Add joins: `BiasGelu(y, bias)` / `FastGelu(y, bias)`.
//!
//! Six or eight passes over the FFN's widest activation become one (BERT-base:
//! ~9.5 ms of element-wise ops per run). Every intermediate must be read by
//! exactly one node of the pattern and not be a graph output.

use crate::conv_fusion::FUSED_DOMAIN;
use crate::{graph_outputs, replace_chains};
use ronn_core::DType;
use ronn_ir::{infer_types, Dim, Graph, Node, ValueType};
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

/// Runs the pass.
pub fn run(g: &mut Graph) {
    if !g.nodes.iter().any(|n| n.domain.is_empty() && (n.op_type == "Erf" || n.op_type == "Tanh")) {
        return;
    }
    let m = Matcher::new(g);
    let mut rewrites: Vec<(usize, Node, Vec<usize>)> = Vec::new();
    let mut taken: HashSet<usize> = HashSet::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let found = match (n.op_type.as_str(), n.domain.is_empty()) {
            ("Erf", true) => m.erf_form(i),
            ("Tanh", true) => m.tanh_form(i),
            _ => None,
        };
        let Some((op, x, mut chain, last)) = found else { continue };
        let mut inputs = vec![x.to_string()];
        if let Some((add, y, bias)) = m.bias_add(x, &chain) {
            chain.push(add);
            inputs = vec![y.to_string(), bias.to_string()];
        }
        if chain.iter().any(|c| taken.contains(c)) {
            continue;
        }
        let op = match (op, inputs.len()) {
            ("Gelu", 2) => "BiasGelu",
            (op, _) => op,
        };
        let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let mut fused = Node::new(op, &ins, &[g.nodes[last].outputs[0].as_str()], 1);
        fused.domain = FUSED_DOMAIN.to_string();
        fused.name = format!("{}/{op}", n.name);
        taken.extend(chain.iter().copied());
        rewrites.push((last, fused, chain));
    }
    replace_chains(g, rewrites);
}

/// Lookups over the graph as it was before the rewrites.
struct Matcher<'a> {
    g: &'a Graph,
    outputs: HashSet<String>,
    readers: HashMap<&'a str, Vec<usize>>,
    producer: HashMap<&'a str, usize>,
    /// Inferred types, computed on the first bias candidate (a whole-graph walk
    /// that models without one need not pay at load).
    types: OnceCell<HashMap<String, ValueType>>,
}

impl<'a> Matcher<'a> {
    fn new(g: &'a Graph) -> Self {
        let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in g.nodes.iter().enumerate() {
            for v in n.inputs.iter().chain(&n.implicit_inputs).filter(|v| !v.is_empty()) {
                readers.entry(v.as_str()).or_default().push(i);
            }
        }
        let producer =
            g.nodes.iter().enumerate().flat_map(|(i, n)| n.outputs.iter().map(move |o| (o.as_str(), i))).collect();
        Matcher { g, outputs: graph_outputs(g), readers, producer, types: OnceCell::new() }
    }

    /// The erf form ending after Erf node `e`: ("Gelu", x, chain, last node).
    fn erf_form(&self, e: usize) -> Option<(&'static str, &'a str, Vec<usize>, usize)> {
        let d = self.producer(&self.g.nodes[e].inputs[0])?;
        let dn = &self.g.nodes[d];
        let x = match dn.op_type.as_str() {
            "Div" if self.scalar_is(dn.inputs.get(1)?, std::f64::consts::SQRT_2) => dn.inputs[0].as_str(),
            "Mul" => self.with_scalar(d, std::f64::consts::FRAC_1_SQRT_2)?,
            _ => return None,
        };
        if !dn.domain.is_empty() || self.sole_reader(&dn.outputs[0])? != e {
            return None;
        }
        let (tail, last) = self.half_x_times_one_plus(e, x)?;
        Some(("Gelu", x, [vec![d, e], tail].concat(), last))
    }

    /// The tanh form ending after Tanh node `t`: ("FastGelu", x, chain, last node).
    fn tanh_form(&self, t: usize) -> Option<(&'static str, &'a str, Vec<usize>, usize)> {
        let s = self.producer(&self.g.nodes[t].inputs[0])?;
        let inner = self.with_scalar(s, (2.0 / std::f64::consts::PI).sqrt())?;
        let u = self.producer(inner)?;
        let un = &self.g.nodes[u];
        if !is(un, "Add") || un.inputs.len() != 2 {
            return None;
        }
        // Add(x, Mul(Pow(x, 3), 0.044715)) in either order.
        for (x, cubic) in [(&un.inputs[0], &un.inputs[1]), (&un.inputs[1], &un.inputs[0])] {
            let Some(c) = self.producer(cubic) else { continue };
            let Some(pow_out) = self.with_scalar(c, 0.044715) else { continue };
            let Some(p) = self.producer(pow_out) else { continue };
            let pn = &self.g.nodes[p];
            if !is(pn, "Pow") || pn.inputs.len() != 2 || &pn.inputs[0] != x || !self.scalar_is(&pn.inputs[1], 3.0) {
                continue;
            }
            let single = [(p, c), (c, u), (u, s), (s, t)];
            if single.iter().any(|&(from, to)| self.sole_reader(&self.g.nodes[from].outputs[0]) != Some(to)) {
                return None;
            }
            let (tail, last) = self.half_x_times_one_plus(t, x)?;
            return Some(("FastGelu", x.as_str(), [vec![p, c, u, s, t], tail].concat(), last));
        }
        None
    }

    /// The common tail after node `f` (Erf or Tanh) of value f: `Add 1` then
    /// `Mul(x, .) -> Mul 0.5` or `Mul(Mul(x, 0.5), .)`; its nodes and the last one.
    fn half_x_times_one_plus(&self, f: usize, x: &str) -> Option<(Vec<usize>, usize)> {
        let a = self.sole_reader(&self.g.nodes[f].outputs[0])?;
        self.with_scalar(a, 1.0).filter(|_| is(&self.g.nodes[a], "Add"))?;
        let m = self.sole_reader(&self.g.nodes[a].outputs[0])?;
        let mn = &self.g.nodes[m];
        if !is(mn, "Mul") || mn.inputs.len() != 2 {
            return None;
        }
        let a_out = &self.g.nodes[a].outputs[0];
        let other = if &mn.inputs[0] == a_out { &mn.inputs[1] } else { &mn.inputs[0] };
        if other == x {
            let h = self.sole_reader(&mn.outputs[0])?;
            self.with_scalar(h, 0.5).filter(|_| is(&self.g.nodes[h], "Mul"))?;
            return Some((vec![a, m, h], h));
        }
        let h = self.producer(other)?;
        let hx = self.with_scalar(h, 0.5).filter(|_| is(&self.g.nodes[h], "Mul"))?;
        (hx == x && self.sole_reader(other)? == m).then_some((vec![a, h, m], m))
    }

    /// `x = Add(y, bias)` read only by `chain`, with a 1-D f32 constant bias as
    /// long as y's (static) last dim: (the Add, y, bias).
    fn bias_add(&self, x: &str, chain: &[usize]) -> Option<(usize, &'a str, &'a str)> {
        if self.outputs.contains(x) || !self.readers.get(x)?.iter().all(|r| chain.contains(r)) {
            return None;
        }
        let add = self.producer(x)?;
        let an = &self.g.nodes[add];
        if !is(an, "Add") || an.inputs.len() != 2 {
            return None;
        }
        for (y, b) in [(&an.inputs[0], &an.inputs[1]), (&an.inputs[1], &an.inputs[0])] {
            let Some(bias) = self.g.initializers.get(b) else { continue };
            let last = match self.types.get_or_init(|| infer_types(self.g)).get(y) {
                Some(ValueType::Tensor { dtype: DType::Float32, shape: Some(d) }) => d.last().cloned(),
                // Ranks lost upstream (a shape computed at run time): a MatMul by a
                // constant [K, N] still ends in N.
                _ => self.matmul_by_constant_width(y).map(Dim::Known),
            };
            if bias.dtype() == DType::Float32 && bias.rank() == 1 && last == Some(Dim::Known(bias.len())) {
                return Some((add, y.as_str(), b.as_str()));
            }
        }
        None
    }

    /// N when `y` is a MatMul's output and its B a constant `[K, N]` f32 matrix.
    fn matmul_by_constant_width(&self, y: &str) -> Option<usize> {
        let mm = &self.g.nodes[self.producer(y)?];
        let b = self.g.initializers.get(mm.inputs.get(1)?)?;
        (is(mm, "MatMul") && b.rank() == 2 && b.dtype() == DType::Float32).then(|| b.shape()[1])
    }

    fn producer(&self, v: &str) -> Option<usize> {
        self.producer.get(v).copied()
    }

    /// The one node that reads `v`, unless `v` is a graph output.
    fn sole_reader(&self, v: &str) -> Option<usize> {
        match self.readers.get(v)?.as_slice() {
            [r] if !self.outputs.contains(v) => Some(*r),
            _ => None,
        }
    }

    /// For a binary default-domain node `i` with one input a scalar constant close
    /// to `want`: the other input.
    fn with_scalar(&self, i: usize, want: f64) -> Option<&'a str> {
        let n = &self.g.nodes[i];
        if !n.domain.is_empty() || n.inputs.len() != 2 || !(n.op_type == "Mul" || n.op_type == "Add") {
            return None;
        }
        match (self.scalar_is(&n.inputs[0], want), self.scalar_is(&n.inputs[1], want)) {
            (true, false) => Some(n.inputs[1].as_str()),
            (false, true) => Some(n.inputs[0].as_str()),
            _ => None,
        }
    }

    /// Whether `v` is a one-element float constant within 1e-4 (relative) of `want`.
    fn scalar_is(&self, v: &str, want: f64) -> bool {
        let Some(t) = self.g.initializers.get(v) else { return false };
        if t.len() != 1 || !matches!(t.dtype(), DType::Float32 | DType::Float64) {
            return false;
        }
        t.to_f64_vec().is_ok_and(|c| (c[0] - want).abs() <= 1e-4 * want.abs())
    }
}

fn is(n: &Node, op: &str) -> bool {
    n.domain.is_empty() && n.op_type == op
}
