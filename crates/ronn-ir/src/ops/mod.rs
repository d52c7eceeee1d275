//! Per-op shape and type inference rules, one file per operator family (the same
//! file names as the providers' kernels). [`infer`] dispatches on the op type;
//! an op without a rule gives `None` (unknown outputs), never an error: running
//! the graph is what checks shapes.

mod elementwise;
mod nn;
mod shape;

use crate::graph::{Dim, Node, ValueType};
use ronn_core::{DType, Tensor};

/// Output types of `node` from its input types and constant inputs.
pub fn infer(node: &Node, ins: &[Option<&ValueType>], consts: &[Option<&Tensor>]) -> Option<Vec<ValueType>> {
    let cx = Cx { node, ins, consts };
    if node.domain == "com.microsoft" && node.op_type == "FusedConv" {
        // The optimizer's Conv (+ Add) (+ activation) fusion: shaped like its Conv.
        return nn::infer(&cx);
    }
    if node.domain == "com.microsoft" && node.op_type == "MatMulIntegerToFloat" {
        // The optimizer's MatMulInteger -> Cast -> Mul (-> Add) fusion: a float MatMul.
        return Some(vec![nn::matmul(&cx, DType::Float32)]);
    }
    if !node.domain.is_empty() {
        return None;
    }
    elementwise::infer(&cx).or_else(|| nn::infer(&cx)).or_else(|| shape::infer(&cx))
}

/// What a rule sees.
pub(crate) struct Cx<'a> {
    pub node: &'a Node,
    pub ins: &'a [Option<&'a ValueType>],
    pub consts: &'a [Option<&'a Tensor>],
}

impl Cx<'_> {
    pub fn op(&self) -> &str {
        &self.node.op_type
    }
    /// dtype of input i.
    pub fn dtype(&self, i: usize) -> Option<DType> {
        self.ins.get(i).copied().flatten()?.dtype()
    }
    /// dims of input i.
    pub fn dims(&self, i: usize) -> Option<Vec<Dim>> {
        Some(self.ins.get(i).copied().flatten()?.shape()?.to_vec())
    }
    /// constant integer input i.
    pub fn const_ints(&self, i: usize) -> Option<Vec<i64>> {
        let t = self.consts.get(i).copied().flatten()?;
        if !t.dtype().is_int() {
            return None;
        }
        t.to_i64_vec().ok()
    }
}

pub(crate) fn tensor(dtype: DType, dims: Option<Vec<Dim>>) -> ValueType {
    ValueType::Tensor { dtype, shape: dims }
}

/// Multidirectional broadcasting of symbolic shapes.
pub(crate) fn broadcast(a: &[Dim], b: &[Dim]) -> Vec<Dim> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let da = if i + a.len() >= n { a[i + a.len() - n].clone() } else { Dim::Known(1) };
            let db = if i + b.len() >= n { b[i + b.len() - n].clone() } else { Dim::Known(1) };
            match (da, db) {
                (Dim::Known(1), d) | (d, Dim::Known(1)) => d,
                (Dim::Known(x), Dim::Known(y)) if x == y => Dim::Known(x),
                (Dim::Known(x), _) | (_, Dim::Known(x)) => Dim::Known(x),
                (Dim::Symbolic(x), Dim::Symbolic(y)) if x == y => Dim::Symbolic(x),
                _ => Dim::Unknown,
            }
        })
        .collect()
}

pub(crate) fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (0..rank as i64).contains(&a).then_some(a as usize)
}
