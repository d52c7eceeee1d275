//! Sequences and optionals: SequenceConstruct, SequenceEmpty, SequenceAt,
//! SequenceInsert, SequenceErase, SequenceLength, SplitToSequence,
//! ConcatFromSequence, SequenceMap, Optional, OptionalHasElement,
//! OptionalGetElement. Spec: <https://onnx.ai/onnx/operators/> (opsets 11-18).

use crate::control::stack;
use crate::helpers::{input, kernel, opt_input};
use ronn_core::{normalize_axis, DType, Error, Result, Tensor, Value};
use ronn_ir::{Attribute, BuildCtx, Kernel, KernelRegistry, ValueType};
use std::collections::HashMap;

/// Registers the sequence and optional ops.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("SequenceConstruct", build_construct);
    r.register_all("SequenceEmpty", build_empty);
    r.register_all("SequenceAt", build_at);
    r.register_all("SequenceInsert", build_insert);
    r.register_all("SequenceErase", build_erase);
    r.register_all("SequenceLength", build_length);
    r.register_all("SplitToSequence", build_split);
    r.register_all("ConcatFromSequence", build_concat);
    r.register_all("SequenceMap", build_map);
    r.register_all("Optional", build_optional);
    r.register_all("OptionalHasElement", build_has);
    r.register_all("OptionalGetElement", build_get);
}

fn seq<'a>(inputs: &[Option<&'a Value>], i: usize) -> Result<(DType, &'a [Tensor])> {
    match inputs.get(i).copied().flatten() {
        Some(Value::Sequence { dtype, items }) => Ok((*dtype, items)),
        Some(Value::Optional(Some(v))) => match &**v {
            Value::Sequence { dtype, items } => Ok((*dtype, items)),
            other => Err(Error::TypeMismatch(format!("expected a sequence, got a {}", other.kind()))),
        },
        Some(other) => Err(Error::TypeMismatch(format!("expected a sequence, got a {}", other.kind()))),
        None => Err(Error::InvalidArgument(format!("required sequence input {i} is missing"))),
    }
}

fn position(t: Option<&Tensor>, len: usize, insert: bool) -> Result<Option<usize>> {
    let Some(t) = t else { return Ok(None) };
    let p = *t.to_i64_vec()?.first().ok_or_else(|| Error::ShapeMismatch("position must be a scalar".into()))?;
    let n = len as i64;
    let p2 = if p < 0 { p + n } else { p };
    let hi = if insert { n } else { n - 1 };
    if p2 < 0 || p2 > hi {
        return Err(Error::InvalidArgument(format!("position {p} is out of range for a sequence of {len}")));
    }
    Ok(Some(p2 as usize))
}

fn build_construct(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let items: Vec<Tensor> = (0..inputs.len()).map(|i| input(inputs, i).cloned()).collect::<Result<_>>()?;
        let dtype = items.first().map(|t| t.dtype()).unwrap_or(DType::Float32);
        if items.iter().any(|t| t.dtype() != dtype) {
            return Err(Error::TypeMismatch("SequenceConstruct inputs must share one element type".into()));
        }
        Ok(vec![Value::Sequence { dtype, items }])
    })
}

fn build_empty(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let code = ctx.node.attr_i_or("dtype", 1)?;
    let dtype = DType::from_onnx(code as i32).ok_or_else(|| ctx.node.unsupported(format!("dtype {code}")))?;
    kernel(move |_, _| Ok(vec![Value::Sequence { dtype, items: vec![] }]))
}

fn build_at(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let (_, items) = seq(inputs, 0)?;
        let p = position(Some(input(inputs, 1)?), items.len(), false)?.unwrap_or(0);
        Ok(vec![Value::Tensor(items[p].clone())])
    })
}

fn build_insert(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let (dtype, items) = seq(inputs, 0)?;
        let t = input(inputs, 1)?.clone();
        if !items.is_empty() && t.dtype() != dtype {
            return Err(Error::TypeMismatch(format!(
                "cannot insert a {} tensor into a sequence of {dtype}",
                t.dtype()
            )));
        }
        let mut items = items.to_vec();
        let p = position(opt_input(inputs, 2)?, items.len(), true)?.unwrap_or(items.len());
        items.insert(p, t);
        Ok(vec![Value::Sequence { dtype, items }])
    })
}

fn build_erase(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let (dtype, items) = seq(inputs, 0)?;
        if items.is_empty() {
            return Err(Error::InvalidArgument("cannot erase from an empty sequence".into()));
        }
        let mut items = items.to_vec();
        let p = position(opt_input(inputs, 1)?, items.len(), false)?.unwrap_or(items.len() - 1);
        items.remove(p);
        Ok(vec![Value::Sequence { dtype, items }])
    })
}

fn build_length(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let (_, items) = seq(inputs, 0)?;
        Ok(vec![Value::Tensor(Tensor::scalar(items.len() as i64))])
    })
}

fn build_split(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = ctx.node.attr_i_or("axis", 0)?;
    let keepdims = ctx.node.attr_i_or("keepdims", 1)? != 0;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let a = normalize_axis(axis, x.rank())?;
        let n = x.shape()[a];
        let split = opt_input(inputs, 1)?;
        let sizes: Vec<usize> = match split {
            None => vec![1; n],
            Some(s) if s.rank() == 0 => {
                let k = s.to_i64_vec()?[0].max(1) as usize;
                let mut v = vec![k; n / k];
                if n % k != 0 {
                    v.push(n % k);
                }
                v
            }
            Some(s) => s.to_i64_vec()?.into_iter().map(|v| v.max(0) as usize).collect(),
        };
        if sizes.iter().sum::<usize>() != n {
            return Err(Error::ShapeMismatch(format!("split sizes {sizes:?} do not add up to {n}")));
        }
        let mut items = crate::shape::split_tensor(x, a, &sizes)?;
        if split.is_none() && !keepdims {
            let mut shape = x.shape().to_vec();
            shape.remove(a);
            items = items.into_iter().map(|t| t.reshape(shape.clone())).collect::<Result<_>>()?;
        }
        Ok(vec![Value::Sequence { dtype: x.dtype(), items }])
    })
}

fn build_concat(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axis = ctx.node.attr_i("axis")?.ok_or_else(|| ctx.node.unsupported("axis is required"))?;
    let new_axis = ctx.node.attr_i_or("new_axis", 0)? != 0;
    kernel(move |_, inputs| {
        let (_, items) = seq(inputs, 0)?;
        let first =
            items.first().ok_or_else(|| Error::InvalidArgument("ConcatFromSequence of an empty sequence".into()))?;
        let t = if new_axis {
            stack(items, normalize_axis(axis, first.rank() + 1)?)?
        } else {
            crate::shape::concat_tensors(&items.iter().collect::<Vec<_>>(), axis)?
        };
        Ok(vec![Value::Tensor(t)])
    })
}

fn build_map(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let body = ctx.subgraph("body")?;
    let names = ctx.node.implicit_inputs.clone();
    let n_explicit = ctx.node.inputs.len();
    let n_out = ctx.node.outputs.len();
    kernel(move |rc, inputs| {
        let (_, first) = seq(inputs, 0)?;
        let len = first.len();
        let outer: HashMap<String, Value> = names
            .iter()
            .enumerate()
            .filter_map(|(k, n)| inputs.get(n_explicit + k).copied().flatten().map(|v| (n.clone(), v.clone())))
            .collect();
        let mut outs: Vec<Vec<Tensor>> = vec![Vec::new(); n_out];
        for i in 0..len {
            let args: Vec<Value> = (0..n_explicit)
                .map(|k| match inputs.get(k).copied().flatten() {
                    Some(Value::Sequence { items, .. }) => items
                        .get(i)
                        .cloned()
                        .map(Value::Tensor)
                        .ok_or_else(|| Error::ShapeMismatch("sequences differ in length".into())),
                    Some(v) => Ok(v.clone()),
                    None => Err(Error::InvalidArgument(format!("SequenceMap input {k} is missing"))),
                })
                .collect::<Result<_>>()?;
            for (k, v) in body.run(rc, args, &outer)?.into_iter().enumerate().take(n_out) {
                outs[k].push(v.into_tensor()?);
            }
        }
        Ok(outs
            .into_iter()
            .map(|items| Value::Sequence { dtype: items.first().map(|t| t.dtype()).unwrap_or(DType::Float32), items })
            .collect())
    })
}

fn build_optional(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let _declared: Option<ValueType> = match ctx.node.attrs.get("type") {
        Some(Attribute::Type(t)) => Some(t.clone()),
        _ => None,
    };
    kernel(|_, inputs| Ok(vec![Value::Optional(inputs.first().copied().flatten().map(|v| Box::new(v.clone())))]))
}

fn build_has(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let has = match inputs.first().copied().flatten() {
            None | Some(Value::Optional(None)) => false,
            Some(_) => true,
        };
        Ok(vec![Value::Tensor(Tensor::scalar(has))])
    })
}

fn build_get(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| match inputs.first().copied().flatten() {
        Some(Value::Optional(Some(v))) => Ok(vec![(**v).clone()]),
        Some(Value::Optional(None)) | None => {
            Err(Error::InvalidArgument("OptionalGetElement of an empty optional".into()))
        }
        Some(v) => Ok(vec![v.clone()]),
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node_opt;
    use ronn_core::{DType, Tensor, Value};
    use ronn_ir::{Attribute, Node};

    fn t(v: Vec<f32>) -> Tensor {
        Tensor::from_vec(vec![v.len()], v).unwrap()
    }

    #[test]
    fn construct_insert_erase_length() {
        let s = run_node_opt(
            &Node::new("SequenceConstruct", &["a", "b"], &["s"], 11),
            vec![Some(t(vec![1.]).into()), Some(t(vec![2.]).into())],
        )
        .unwrap();
        let s = run_node_opt(
            &Node::new("SequenceInsert", &["s", "x", "p"], &["y"], 11),
            vec![Some(s[0].clone()), Some(t(vec![0.]).into()), Some(Tensor::scalar(0i64).into())],
        )
        .unwrap();
        let len = run_node_opt(&Node::new("SequenceLength", &["s"], &["n"], 11), vec![Some(s[0].clone())]).unwrap();
        assert_eq!(len[0].as_tensor().unwrap().as_slice::<i64>().unwrap(), &[3]);
        let e = run_node_opt(
            &Node::new("SequenceErase", &["s", "p"], &["y"], 11),
            vec![Some(s[0].clone()), Some(Tensor::scalar(-1i64).into())],
        )
        .unwrap();
        let Value::Sequence { items, .. } = &e[0] else { panic!("not a sequence") };
        assert_eq!(items.iter().map(|t| t.as_slice::<f32>().unwrap()[0]).collect::<Vec<_>>(), vec![0., 1.]);
        let bad = run_node_opt(
            &Node::new("SequenceAt", &["s", "p"], &["y"], 11),
            vec![Some(s[0].clone()), Some(Tensor::scalar(7i64).into())],
        );
        assert!(bad.is_err());
    }

    #[test]
    fn split_and_concat_round_trip() {
        let x = Tensor::from_vec(vec![2, 3], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        let n = Node::new("SplitToSequence", &["x"], &["s"], 11).with_attr("axis", Attribute::Int(1));
        let s = run_node_opt(&n, vec![Some(x.clone().into())]).unwrap();
        let n = Node::new("ConcatFromSequence", &["s"], &["y"], 11).with_attr("axis", Attribute::Int(1));
        let y = run_node_opt(&n, vec![Some(s[0].clone())]).unwrap();
        assert_eq!(y[0].as_tensor().unwrap(), &x);
    }

    #[test]
    fn optionals() {
        let has = run_node_opt(&Node::new("OptionalHasElement", &["o"], &["b"], 18), vec![Some(Value::Optional(None))])
            .unwrap();
        assert_eq!(has[0].as_tensor().unwrap().as_slice::<bool>().unwrap(), &[false]);
        let o = run_node_opt(&Node::new("Optional", &["x"], &["o"], 15), vec![Some(t(vec![1.]).into())]).unwrap();
        let g = run_node_opt(&Node::new("OptionalGetElement", &["o"], &["x"], 18), vec![Some(o[0].clone())]).unwrap();
        assert_eq!(g[0].as_tensor().unwrap().dtype(), DType::Float32);
        assert!(run_node_opt(&Node::new("OptionalGetElement", &["o"], &["x"], 18), vec![Some(Value::Optional(None))])
            .is_err());
    }
}
