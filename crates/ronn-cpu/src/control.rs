//! Control flow: If, Loop and Scan over compiled subgraphs.
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__If.html>, `Loop`, `Scan`.
//! The planner passes the values a body reads from enclosing scopes as the node's
//! implicit inputs, after its explicit ones; the kernels hand them to the body by
//! name. Scan is supported from opset 9 (opset 8's batched form is refused).

use crate::helpers::{input, kernel, opt_input};
use ronn_core::{dispatch_dtype, DType, Error, Result, Tensor, Value};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use std::collections::HashMap;

/// Registers If, Loop and Scan.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("If", build_if);
    r.register_all("Loop", build_loop);
    r.register("", "Scan", 9, i64::MAX, build_scan);
}

/// Values of enclosing scopes, keyed by name, from the node's implicit inputs.
fn outer_scope(names: &[String], n_explicit: usize, inputs: &[Option<&Value>]) -> HashMap<String, Value> {
    names
        .iter()
        .enumerate()
        .filter_map(|(k, name)| inputs.get(n_explicit + k).copied().flatten().map(|v| (name.clone(), v.clone())))
        .collect()
}

fn build_if(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let then_b = ctx.subgraph("then_branch")?;
    let else_b = ctx.subgraph("else_branch")?;
    let names = ctx.node.implicit_inputs.clone();
    let n_explicit = ctx.node.inputs.len();
    kernel(move |rc, inputs| {
        let cond = input(inputs, 0)?;
        let c = match cond.to_f64_vec()?.as_slice() {
            [v] => *v != 0.0,
            v => bail_shape(format!("If condition must hold one element, got {}", v.len()))?,
        };
        let outer = outer_scope(&names, n_explicit, inputs);
        if c {
            then_b.run(rc, vec![], &outer)
        } else {
            else_b.run(rc, vec![], &outer)
        }
    })
}

fn bail_shape<T>(msg: String) -> Result<T> {
    Err(Error::ShapeMismatch(msg))
}

fn scalar_bool(v: Option<&Tensor>) -> Result<Option<bool>> {
    match v {
        None => Ok(None),
        Some(t) => match t.to_f64_vec()?.as_slice() {
            [x] => Ok(Some(*x != 0.0)),
            v => bail_shape(format!("expected a one-element condition, got {} elements", v.len())),
        },
    }
}

fn build_loop(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let body = ctx.subgraph("body")?;
    let names = ctx.node.implicit_inputs.clone();
    let n_explicit = ctx.node.inputs.len();
    let n_carried = n_explicit.saturating_sub(2);
    kernel(move |rc, inputs| {
        let max_trip = match opt_input(inputs, 0)? {
            Some(t) => match t.to_i64_vec()?.as_slice() {
                [m] => Some(*m),
                v => return bail_shape(format!("Loop M must hold one element, got {}", v.len())),
            },
            None => None,
        };
        let mut cond = scalar_bool(opt_input(inputs, 1)?)?.unwrap_or(true);
        let mut carried: Vec<Value> = (0..n_carried)
            .map(|k| {
                inputs
                    .get(2 + k)
                    .copied()
                    .flatten()
                    .cloned()
                    .ok_or_else(|| Error::InvalidArgument(format!("Loop carried input {k} is missing")))
            })
            .collect::<Result<_>>()?;
        let outer = outer_scope(&names, n_explicit, inputs);
        let mut scans: Vec<Vec<Tensor>> = Vec::new();
        let mut i: i64 = 0;
        while cond && max_trip.is_none_or(|m| i < m) {
            let mut args = vec![Value::Tensor(Tensor::scalar(i)), Value::Tensor(Tensor::scalar(cond))];
            args.extend(carried.iter().cloned());
            let outs = body.run(rc, args, &outer)?;
            if outs.len() < 1 + n_carried {
                return Err(Error::InvalidModel(format!(
                    "Loop body returned {} values, needs at least {}",
                    outs.len(),
                    1 + n_carried
                )));
            }
            let mut it = outs.into_iter();
            cond = scalar_bool(Some(it.next().ok_or_else(|| Error::Internal("no cond".into()))?.as_tensor()?))?
                .unwrap_or(true);
            carried = it.by_ref().take(n_carried).collect();
            let rest: Vec<Value> = it.collect();
            if scans.is_empty() {
                scans = vec![Vec::new(); rest.len()];
            }
            for (k, v) in rest.into_iter().enumerate() {
                scans
                    .get_mut(k)
                    .ok_or_else(|| Error::InvalidModel("Loop body output count changed".into()))?
                    .push(v.into_tensor()?);
            }
            i += 1;
        }
        let mut out = carried;
        for s in scans {
            out.push(Value::Tensor(stack(&s, 0)?));
        }
        Ok(out)
    })
}

fn build_scan(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let body = ctx.subgraph("body")?;
    let m = node.attr_i("num_scan_inputs")?.ok_or_else(|| node.unsupported("Scan needs num_scan_inputs"))? as usize;
    let n_explicit = node.inputs.len();
    if m > n_explicit {
        return Err(node.unsupported(format!("num_scan_inputs {m} exceeds the {n_explicit} inputs")));
    }
    let n_state = n_explicit - m;
    let in_axes = node.attr_ints("scan_input_axes")?.unwrap_or_else(|| vec![0; m]);
    let in_dirs = node.attr_ints("scan_input_directions")?.unwrap_or_else(|| vec![0; m]);
    let out_axes = node.attr_ints("scan_output_axes")?;
    let out_dirs = node.attr_ints("scan_output_directions")?;
    let names = node.implicit_inputs.clone();
    kernel(move |rc, inputs| {
        let states: Vec<Value> = (0..n_state)
            .map(|k| {
                inputs
                    .get(k)
                    .copied()
                    .flatten()
                    .cloned()
                    .ok_or_else(|| Error::InvalidArgument(format!("Scan state {k} is missing")))
            })
            .collect::<Result<_>>()?;
        let scan_in: Vec<&Tensor> = (0..m).map(|k| input(inputs, n_state + k)).collect::<Result<_>>()?;
        let axes: Vec<usize> = scan_in
            .iter()
            .enumerate()
            .map(|(k, t)| ronn_core::normalize_axis(*in_axes.get(k).unwrap_or(&0), t.rank()))
            .collect::<Result<_>>()?;
        let len = match scan_in.first() {
            Some(t) => t.shape()[axes[0]],
            None => 0,
        };
        for (t, &a) in scan_in.iter().zip(&axes) {
            if t.shape()[a] != len {
                return bail_shape(format!("Scan inputs disagree on the sequence length: {len} vs {}", t.shape()[a]));
            }
        }
        let outer = outer_scope(&names, n_explicit, inputs);
        let mut states = states;
        let mut scans: Vec<Vec<Tensor>> = Vec::new();
        for step in 0..len {
            let mut args = states.clone();
            for (k, t) in scan_in.iter().enumerate() {
                let idx = if in_dirs.get(k).copied().unwrap_or(0) == 1 { len - 1 - step } else { step };
                args.push(Value::Tensor(take(t, axes[k], idx)?));
            }
            let outs = body.run(rc, args, &outer)?;
            if outs.len() < n_state {
                return Err(Error::InvalidModel("Scan body returned too few values".into()));
            }
            let mut it = outs.into_iter();
            states = it.by_ref().take(n_state).collect();
            let rest: Vec<Value> = it.collect();
            if scans.is_empty() {
                scans = vec![Vec::new(); rest.len()];
            }
            for (k, v) in rest.into_iter().enumerate() {
                scans
                    .get_mut(k)
                    .ok_or_else(|| Error::InvalidModel("Scan body output count changed".into()))?
                    .push(v.into_tensor()?);
            }
        }
        let mut out = states;
        for (k, mut s) in scans.into_iter().enumerate() {
            if out_dirs.as_ref().and_then(|d| d.get(k)).copied().unwrap_or(0) == 1 {
                s.reverse();
            }
            let rank = s.first().map(|t| t.rank() + 1).unwrap_or(1);
            let axis = ronn_core::normalize_axis(out_axes.as_ref().and_then(|a| a.get(k)).copied().unwrap_or(0), rank)?;
            out.push(Value::Tensor(stack(&s, axis)?));
        }
        Ok(out)
    })
}

/// The slice at `idx` along `axis`, with that axis removed.
pub fn take(t: &Tensor, axis: usize, idx: usize) -> Result<Tensor> {
    let shape = t.shape();
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let n = shape[axis];
    let mut out_shape = shape.to_vec();
    out_shape.remove(axis);
    fn pick<T: Clone>(v: &[T], outer: usize, n: usize, inner: usize, idx: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            let base = (o * n + idx) * inner;
            out.extend_from_slice(&v[base..base + inner]);
        }
        out
    }
    if t.dtype() == DType::String {
        return Tensor::from_strings(out_shape, pick(t.as_strings()?, outer, n, inner, idx));
    }
    dispatch_dtype!(t.dtype(), T => Tensor::from_vec(out_shape, pick(t.as_slice::<T>()?, outer, n, inner, idx)),
        _ => Err(Error::TypeMismatch(format!("cannot slice {}", t.dtype()))))
}

/// Stacks equal-shaped tensors along a new `axis`.
pub fn stack(ts: &[Tensor], axis: usize) -> Result<Tensor> {
    let Some(first) = ts.first() else {
        return Tensor::zeros(DType::Float32, vec![0]);
    };
    let shape = first.shape().to_vec();
    if axis > shape.len() {
        return Err(Error::InvalidArgument(format!("stack axis {axis} out of range for rank {}", shape.len())));
    }
    for t in ts {
        if t.shape() != shape.as_slice() || t.dtype() != first.dtype() {
            return bail_shape(format!("cannot stack {}{:?} with {}{:?}", first.dtype(), shape, t.dtype(), t.shape()));
        }
    }
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis..].iter().product();
    let mut out_shape = shape.clone();
    out_shape.insert(axis, ts.len());
    fn join<T: Clone>(parts: Vec<&[T]>, outer: usize, inner: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(outer * inner * parts.len());
        for o in 0..outer {
            for p in &parts {
                out.extend_from_slice(&p[o * inner..(o + 1) * inner]);
            }
        }
        out
    }
    if first.dtype() == DType::String {
        let parts = ts.iter().map(|t| t.as_strings()).collect::<Result<Vec<_>>>()?;
        return Tensor::from_strings(out_shape, join(parts, outer, inner));
    }
    dispatch_dtype!(first.dtype(), T => {
        let parts = ts.iter().map(|t| t.as_slice::<T>()).collect::<Result<Vec<_>>>()?;
        Tensor::from_vec(out_shape, join(parts, outer, inner))
    }, _ => Err(Error::TypeMismatch(format!("cannot stack {}", first.dtype()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_and_stack_are_inverse() {
        let t = Tensor::from_vec(vec![2, 3], vec![1i32, 2, 3, 4, 5, 6]).unwrap();
        let cols: Vec<Tensor> = (0..3).map(|i| take(&t, 1, i).unwrap()).collect();
        assert_eq!(cols[1].as_slice::<i32>().unwrap(), &[2, 5]);
        assert_eq!(stack(&cols, 1).unwrap(), t);
        let rows: Vec<Tensor> = (0..2).map(|i| take(&t, 0, i).unwrap()).collect();
        assert_eq!(stack(&rows, 0).unwrap(), t);
    }

    #[test]
    fn stack_refuses_mismatched_shapes() {
        let a = Tensor::from_vec(vec![2], vec![1f32, 2.]).unwrap();
        let b = Tensor::from_vec(vec![3], vec![1f32, 2., 3.]).unwrap();
        assert!(stack(&[a, b], 0).is_err());
    }
}
