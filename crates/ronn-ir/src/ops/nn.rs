//! Inference for MatMul, Gemm, Conv, pooling and reductions.

use super::{broadcast, norm_axis, tensor, Cx};
use crate::graph::{Dim, ValueType};
use ronn_core::DType;

/// MatMul's output (numpy rules: 1-D promotion, batch broadcasting) as `dtype`.
pub(super) fn matmul(cx: &Cx, dtype: DType) -> ValueType {
    let (a, b) = (cx.dims(0), cx.dims(1));
    let dims = match (a, b) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => {
            let a2 = if a.len() == 1 { vec![Dim::Known(1), a[0].clone()] } else { a.clone() };
            let b2 = if b.len() == 1 { vec![b[0].clone(), Dim::Known(1)] } else { b.clone() };
            let mut out = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
            if a.len() > 1 {
                out.push(a2[a2.len() - 2].clone());
            }
            if b.len() > 1 {
                out.push(b2[b2.len() - 1].clone());
            }
            Some(out)
        }
        _ => None,
    };
    tensor(dtype, dims)
}

pub(super) fn infer(cx: &Cx) -> Option<Vec<ValueType>> {
    match cx.op() {
        "MatMul" => Some(vec![matmul(cx, cx.dtype(0)?)]),
        "MatMulInteger" => Some(vec![matmul(cx, DType::Int32)]),
        "Gemm" => {
            let (a, b) = (cx.dims(0), cx.dims(1));
            let ta = cx.node.attr_i_or("transA", 0).ok()? != 0;
            let tb = cx.node.attr_i_or("transB", 0).ok()? != 0;
            let dims = match (a, b) {
                (Some(a), Some(b)) if a.len() == 2 && b.len() == 2 => {
                    Some(vec![a[if ta { 1 } else { 0 }].clone(), b[if tb { 0 } else { 1 }].clone()])
                }
                _ => None,
            };
            Some(vec![tensor(cx.dtype(0)?, dims)])
        }
        "Conv" | "FusedConv" | "MaxPool" | "AveragePool" | "LpPool" => conv_like(cx),
        "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" => {
            let dims = cx
                .dims(0)
                .map(|d| d.iter().enumerate().map(|(i, x)| if i < 2 { x.clone() } else { Dim::Known(1) }).collect());
            Some(vec![tensor(cx.dtype(0)?, dims)])
        }
        op if op.starts_with("Reduce") || op == "ArgMax" || op == "ArgMin" => reduce(cx),
        _ => None,
    }
}

fn conv_like(cx: &Cx) -> Option<Vec<ValueType>> {
    let n = cx.node;
    let x = cx.dims(0)?;
    if x.len() < 3 {
        return None;
    }
    let spatial = x.len() - 2;
    let kernel: Vec<i64> = match n.attr_ints("kernel_shape").ok()? {
        Some(k) => k,
        None => {
            let w = cx.dims(1)?;
            w[2..].iter().map(|d| if let Dim::Known(k) = d { Some(*k as i64) } else { None }).collect::<Option<_>>()?
        }
    };
    if kernel.len() != spatial {
        return None;
    }
    let strides = n.attr_ints("strides").ok()?.unwrap_or_else(|| vec![1; spatial]);
    let dil = n.attr_ints("dilations").ok()?.unwrap_or_else(|| vec![1; spatial]);
    let pads = n.attr_ints("pads").ok()?.unwrap_or_else(|| vec![0; 2 * spatial]);
    let auto = n.attr_s_or("auto_pad", "NOTSET").ok()?;
    let ceil = n.attr_i_or("ceil_mode", 0).ok()? != 0;
    let channels = if matches!(cx.op(), "Conv" | "FusedConv") { cx.dims(1)?.first()?.clone() } else { x[1].clone() };
    let mut out = vec![x[0].clone(), channels];
    for i in 0..spatial {
        let Dim::Known(d) = x[2 + i] else {
            out.push(Dim::Unknown);
            continue;
        };
        let (d, k, s, dl) = (d as i64, kernel[i], *strides.get(i)?, *dil.get(i)?);
        let ek = (k - 1) * dl + 1;
        let o = match auto.as_str() {
            "SAME_UPPER" | "SAME_LOWER" => (d + s - 1) / s,
            "VALID" => (d - ek) / s + 1,
            _ => {
                let total = d + pads.get(i)? + pads.get(i + spatial)? - ek;
                if ceil {
                    (total + s - 1) / s + 1
                } else {
                    total / s + 1
                }
            }
        };
        if o < 0 {
            return None;
        }
        out.push(Dim::Known(o as usize));
    }
    let mut outs = vec![tensor(cx.dtype(0)?, Some(out.clone()))];
    if cx.op() == "MaxPool" && cx.node.outputs.len() > 1 {
        outs.push(tensor(DType::Int64, Some(out)));
    }
    Some(outs)
}

fn reduce(cx: &Cx) -> Option<Vec<ValueType>> {
    let n = cx.node;
    let x = cx.dims(0);
    let dtype = if n.op_type.starts_with("Arg") { DType::Int64 } else { cx.dtype(0)? };
    let Some(x) = x else { return Some(vec![tensor(dtype, None)]) };
    let keep = n.attr_i_or("keepdims", 1).ok()? != 0;
    let axes: Vec<i64> = if n.op_type.starts_with("Arg") {
        vec![n.attr_i_or("axis", 0).ok()?]
    } else if let Some(a) = n.attr_ints("axes").ok()? {
        a
    } else if n.inputs.len() > 1 && !n.inputs[1].is_empty() {
        cx.const_ints(1)?
    } else if n.attr_i_or("noop_with_empty_axes", 0).ok()? != 0 {
        return Some(vec![tensor(dtype, Some(x))]);
    } else {
        (0..x.len() as i64).collect()
    };
    let axes: Vec<usize> = axes.iter().map(|&a| norm_axis(a, x.len())).collect::<Option<_>>()?;
    let dims = x
        .iter()
        .enumerate()
        .filter_map(|(i, d)| match (axes.contains(&i), keep) {
            (true, true) => Some(Dim::Known(1)),
            (true, false) => None,
            _ => Some(d.clone()),
        })
        .collect();
    Some(vec![tensor(dtype, Some(dims))])
}
