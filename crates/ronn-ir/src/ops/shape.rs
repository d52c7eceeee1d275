//! Inference for shape-manipulating ops: Shape, Reshape (constant shape),
//! Flatten, Transpose, (Un)Squeeze, Concat, Gather.

use super::{norm_axis, tensor, Cx};
use crate::graph::{Dim, ValueType};
use ronn_core::DType;

pub(super) fn infer(cx: &Cx) -> Option<Vec<ValueType>> {
    let n = cx.node;
    match cx.op() {
        "Shape" => {
            let rank = cx.dims(0)?.len() as i64;
            let start = n.attr_i_or("start", 0).ok()?;
            let end = n.attr_i_or("end", rank).ok()?;
            let clamp = |v: i64| if v < 0 { (v + rank).max(0) } else { v.min(rank) };
            let len = (clamp(end) - clamp(start)).max(0) as usize;
            Some(vec![tensor(DType::Int64, Some(vec![Dim::Known(len)]))])
        }
        "Size" => Some(vec![tensor(DType::Int64, Some(vec![]))]),
        "Reshape" => {
            let dtype = cx.dtype(0)?;
            let Some(shape) = cx.const_ints(1) else { return Some(vec![tensor(dtype, None)]) };
            let allowzero = n.attr_i_or("allowzero", 0).ok()? != 0;
            let x = cx.dims(0);
            let dims = shape
                .iter()
                .enumerate()
                .map(|(i, &s)| match s {
                    0 if !allowzero => x.as_ref().and_then(|x| x.get(i).cloned()).unwrap_or(Dim::Unknown),
                    s if s > 0 => Dim::Known(s as usize),
                    _ => Dim::Unknown,
                })
                .collect();
            Some(vec![tensor(dtype, Some(dims))])
        }
        "Flatten" => {
            let x = cx.dims(0)?;
            let axis = norm_axis(n.attr_i_or("axis", 1).ok()?, x.len() + 1)?;
            let prod = |ds: &[Dim]| -> Dim {
                ds.iter()
                    .try_fold(1usize, |a, d| if let Dim::Known(k) = d { Some(a * k) } else { None })
                    .map(Dim::Known)
                    .unwrap_or(Dim::Unknown)
            };
            Some(vec![tensor(cx.dtype(0)?, Some(vec![prod(&x[..axis]), prod(&x[axis..])]))])
        }
        "Transpose" => {
            let x = cx.dims(0)?;
            let perm = n.attr_ints("perm").ok()?.unwrap_or_else(|| (0..x.len() as i64).rev().collect());
            let dims = perm.iter().map(|&p| x.get(p as usize).cloned()).collect::<Option<Vec<_>>>()?;
            Some(vec![tensor(cx.dtype(0)?, Some(dims))])
        }
        "Unsqueeze" => {
            let x = cx.dims(0)?;
            let axes = if n.opset < 13 { n.attr_ints("axes").ok()?? } else { cx.const_ints(1)? };
            let rank = x.len() + axes.len();
            let axes: Vec<usize> = axes.iter().map(|&a| norm_axis(a, rank)).collect::<Option<_>>()?;
            let mut it = x.into_iter();
            let dims = (0..rank)
                .map(|i| if axes.contains(&i) { Some(Dim::Known(1)) } else { it.next() })
                .collect::<Option<_>>()?;
            Some(vec![tensor(cx.dtype(0)?, Some(dims))])
        }
        "Squeeze" => {
            let x = cx.dims(0)?;
            let axes = if n.opset < 13 { n.attr_ints("axes").ok()? } else { cx.const_ints(1) };
            let dims = match axes {
                Some(a) => {
                    let a: Vec<usize> = a.iter().map(|&v| norm_axis(v, x.len())).collect::<Option<_>>()?;
                    x.iter().enumerate().filter(|(i, _)| !a.contains(i)).map(|(_, d)| d.clone()).collect()
                }
                None if x.iter().all(|d| matches!(d, Dim::Known(_))) => {
                    x.into_iter().filter(|d| *d != Dim::Known(1)).collect()
                }
                None => return Some(vec![tensor(cx.dtype(0)?, None)]),
            };
            Some(vec![tensor(cx.dtype(0)?, Some(dims))])
        }
        "Concat" => {
            let first = cx.dims(0)?;
            let axis = norm_axis(n.attr_i("axis").ok()??, first.len())?;
            let mut total = Some(0usize);
            for i in 0..cx.ins.len() {
                let d = cx.dims(i)?;
                total = match (total, d.get(axis)?) {
                    (Some(t), Dim::Known(k)) => Some(t + k),
                    _ => None,
                };
            }
            let mut dims = first;
            dims[axis] = total.map(Dim::Known).unwrap_or(Dim::Unknown);
            Some(vec![tensor(cx.dtype(0)?, Some(dims))])
        }
        "Gather" => {
            let (x, idx) = (cx.dims(0)?, cx.dims(1)?);
            let axis = norm_axis(n.attr_i_or("axis", 0).ok()?, x.len())?;
            let mut dims = x[..axis].to_vec();
            dims.extend(idx);
            dims.extend_from_slice(&x[axis + 1..]);
            Some(vec![tensor(cx.dtype(0)?, Some(dims))])
        }
        "ConstantOfShape" => {
            let dtype = match n.attr_tensor("value").ok()? {
                Some(t) => t.dtype(),
                None => DType::Float32,
            };
            let dims = cx.const_ints(0).map(|s| s.iter().map(|&d| Dim::Known(d.max(0) as usize)).collect());
            Some(vec![tensor(dtype, dims)])
        }
        "Constant" => {
            let t = n.attr_tensor("value").ok()??;
            Some(vec![crate::infer::tensor_type(t)])
        }
        _ => None,
    }
}
