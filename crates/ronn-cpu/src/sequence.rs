//! Sequence and optional operators: SequenceConstruct, SequenceEmpty, SequenceAt,
//! SequenceInsert, SequenceErase, SequenceLength, SplitToSequence, ConcatFromSequence,
//! Optional, OptionalHasElement, OptionalGetElement.
//!
//! See <https://onnx.ai/onnx/operators/>. Opset changes handled: OptionalHasElement /
//! OptionalGetElement accept plain tensors and sequences (18).

use crate::helpers::{input, kernel, opt_input, output};
use crate::shape::util::ints;
use crate::shape::{concat_tensors, split_tensor};
use ronn_core::{bail, DType, Error, Result, Tensor, Value};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("SequenceConstruct", seq_construct);
    r.register_all("SequenceEmpty", seq_empty);
    r.register_all("SequenceAt", seq_at);
    r.register_all("SequenceInsert", seq_insert);
    r.register_all("SequenceErase", seq_erase);
    r.register_all("SequenceLength", seq_length);
    r.register_all("SplitToSequence", split_to_sequence);
    r.register_all("ConcatFromSequence", concat_from_sequence);
    r.register_all("Optional", optional);
    r.register_all("OptionalHasElement", optional_has_element);
    r.register_all("OptionalGetElement", optional_get_element);
}

fn seq_of<'a>(inp: &[Option<&'a Value>], i: usize) -> Result<(DType, &'a [Tensor])> {
    let mut v = inp.get(i).copied().flatten().ok_or_else(|| Error::InvalidArgument(format!("required input {i} is missing")))?;
    while let Value::Optional(Some(inner)) = v {
        v = inner;
    }
    match v {
        Value::Sequence { dtype, items } => Ok((*dtype, items)),
        other => bail!(TypeMismatch, "expected a sequence, got a {}", other.kind()),
    }
}

fn position(inp: &[Option<&Value>], i: usize, len: usize, inclusive_end: bool, default: usize) -> Result<usize> {
    let p = match opt_input(inp, i)? {
        None => return Ok(default),
        Some(t) => *ints(t)?.first().ok_or_else(|| Error::InvalidArgument("position is empty".into()))?,
    };
    let n = len as i64;
    let q = if p < 0 { p + n } else { p };
    let hi = if inclusive_end { n } else { n - 1 };
    if q < 0 || q > hi {
        bail!(InvalidArgument, "position {p} is out of range for a sequence of {len}");
    }
    Ok(q as usize)
}

fn seq_construct(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let items: Vec<Tensor> = inp.iter().filter_map(|v| *v).map(|v| v.as_tensor().cloned()).collect::<Result<_>>()?;
        let dtype = items.first().map(|t| t.dtype()).ok_or_else(|| Error::InvalidArgument("SequenceConstruct needs inputs".into()))?;
        if let Some(t) = items.iter().find(|t| t.dtype() != dtype) {
            bail!(TypeMismatch, "SequenceConstruct inputs must share one type: {dtype} and {}", t.dtype());
        }
        Ok(vec![Value::Sequence { dtype, items }])
    })
}

fn seq_empty(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dtype = match ctx.node.attr_i("dtype")? {
        None => DType::Float32,
        Some(v) => DType::from_onnx(v as i32)
            .filter(|d| d.is_supported())
            .ok_or_else(|| ctx.node.unsupported(format!("dtype {v}")))?,
    };
    kernel(move |_, _| Ok(vec![Value::Sequence { dtype, items: vec![] }]))
}

fn seq_at(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let (_, items) = seq_of(inp, 0)?;
        if opt_input(inp, 1)?.is_none() {
            bail!(InvalidArgument, "SequenceAt needs a position");
        }
        let p = position(inp, 1, items.len(), false, 0)?;
        output(items[p].clone())
    })
}

fn seq_insert(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let (dtype, items) = seq_of(inp, 0)?;
        let t = input(inp, 1)?;
        if t.dtype() != dtype {
            bail!(TypeMismatch, "SequenceInsert of a {} tensor into a sequence of {dtype}", t.dtype());
        }
        let p = position(inp, 2, items.len(), true, items.len())?;
        let mut items = items.to_vec();
        items.insert(p, t.clone());
        Ok(vec![Value::Sequence { dtype, items }])
    })
}

fn seq_erase(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let (dtype, items) = seq_of(inp, 0)?;
        if items.is_empty() {
            bail!(InvalidArgument, "SequenceErase on an empty sequence");
        }
        let p = position(inp, 1, items.len(), false, items.len() - 1)?;
        let mut items = items.to_vec();
        items.remove(p);
        Ok(vec![Value::Sequence { dtype, items }])
    })
}

fn seq_length(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let (_, items) = seq_of(inp, 0)?;
        output(Tensor::scalar(items.len() as i64))
    })
}

fn split_to_sequence(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_i_or("axis", 0)?;
    let keepdims = ctx.node.attr_i_or("keepdims", 1)? != 0;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let ax = crate::shape::util::axis(a, x.rank())?;
        let dim = x.shape()[ax];
        let split = opt_input(inp, 1)?;
        let sizes: Vec<usize> = match split {
            None => vec![1; dim],
            Some(s) => {
                let v = ints(s)?;
                if v.iter().any(|&d| d < 0) {
                    bail!(InvalidArgument, "SplitToSequence split {v:?} must be non-negative");
                }
                if s.rank() == 0 {
                    let c = v[0] as usize;
                    if c == 0 {
                        bail!(InvalidArgument, "SplitToSequence split must be positive");
                    }
                    let mut out = vec![c; dim / c];
                    if dim % c != 0 {
                        out.push(dim % c);
                    }
                    out
                } else {
                    v.iter().map(|&d| d as usize).collect()
                }
            }
        };
        let mut items = if sizes.len() == 1 && sizes[0] == dim { vec![x.clone()] } else { split_tensor(x, ax, &sizes)? };
        if split.is_none() && !keepdims {
            let mut shp = x.shape().to_vec();
            shp.remove(ax);
            items = items.into_iter().map(|t| t.reshape(shp.clone())).collect::<Result<_>>()?;
        }
        Ok(vec![Value::Sequence { dtype: x.dtype(), items }])
    })
}

fn concat_from_sequence(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_i("axis")?.ok_or_else(|| ctx.node.unsupported("ConcatFromSequence needs 'axis'"))?;
    let new_axis = ctx.node.attr_i_or("new_axis", 0)? != 0;
    kernel(move |_, inp| {
        let (_, items) = seq_of(inp, 0)?;
        let first = items.first().ok_or_else(|| Error::InvalidArgument("ConcatFromSequence of an empty sequence".into()))?;
        if new_axis {
            let r = first.rank() as i64 + 1;
            let ax = if a < 0 { a + r } else { a };
            if ax < 0 || ax >= r {
                bail!(InvalidArgument, "axis {a} is out of range for new rank {r}");
            }
            let exp: Vec<Tensor> = items
                .iter()
                .map(|t| {
                    let mut s = t.shape().to_vec();
                    s.insert(ax as usize, 1);
                    t.clone().reshape(s)
                })
                .collect::<Result<_>>()?;
            let refs: Vec<&Tensor> = exp.iter().collect();
            output(concat_tensors(&refs, ax)?)
        } else {
            let refs: Vec<&Tensor> = items.iter().collect();
            output(concat_tensors(&refs, a)?)
        }
    })
}

fn optional(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let v = inp.first().copied().flatten().map(|v| Box::new(v.clone()));
        Ok(vec![Value::Optional(v)])
    })
}

fn optional_has_element(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let has = match inp.first().copied().flatten() {
            None | Some(Value::Optional(None)) => false,
            Some(_) => true,
        };
        output(Tensor::scalar(has))
    })
}

fn optional_get_element(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| match inp.first().copied().flatten() {
        Some(Value::Optional(Some(v))) => Ok(vec![(**v).clone()]),
        Some(Value::Optional(None)) | None => bail!(InvalidArgument, "OptionalGetElement of an empty optional"),
        Some(v) => Ok(vec![v.clone()]),
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node_opt;
    use ronn_core::{DType, Tensor, Value};
    use ronn_ir::{Attribute, Node};

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }
    fn seq(v: Vec<Tensor>) -> Value {
        Value::Sequence { dtype: DType::Float32, items: v }
    }

    #[test]
    fn construct_insert_at_erase_length() {
        let n = Node::new("SequenceConstruct", &["a", "b"], &["s"], 11);
        let s = run_node_opt(&n, vec![Some(t(&[1.]).into()), Some(t(&[2., 3.]).into())]).unwrap().remove(0);
        let n = Node::new("SequenceInsert", &["s", "t", "p"], &["o"], 11);
        let s = run_node_opt(&n, vec![Some(s), Some(t(&[0.]).into()), Some(Tensor::scalar(0i64).into())]).unwrap().remove(0);
        let n = Node::new("SequenceAt", &["s", "p"], &["o"], 11);
        let y = run_node_opt(&n, vec![Some(s.clone()), Some(Tensor::scalar(-1i64).into())]).unwrap().remove(0);
        assert_eq!(y, Value::Tensor(t(&[2., 3.])));
        assert!(run_node_opt(&n, vec![Some(s.clone()), Some(Tensor::scalar(3i64).into())]).is_err());
        let n = Node::new("SequenceErase", &["s"], &["o"], 11);
        let s = run_node_opt(&n, vec![Some(s)]).unwrap().remove(0);
        let n = Node::new("SequenceLength", &["s"], &["o"], 11);
        let y = run_node_opt(&n, vec![Some(s)]).unwrap().remove(0);
        assert_eq!(y, Value::Tensor(Tensor::scalar(2i64)));
        let n = Node::new("SequenceLength", &["s"], &["o"], 11);
        assert!(run_node_opt(&n, vec![Some(t(&[1.]).into())]).is_err());
    }

    #[test]
    fn split_and_concat_round_trip() {
        let x = Tensor::from_vec(vec![3, 2], (0..6).map(|i| i as f32).collect()).unwrap();
        let n = Node::new("SplitToSequence", &["x"], &["s"], 11).with_attr("keepdims", Attribute::Int(0));
        let s = run_node_opt(&n, vec![Some(x.clone().into())]).unwrap().remove(0);
        match &s {
            Value::Sequence { items, .. } => {
                assert_eq!(items.len(), 3);
                assert_eq!(items[1], t(&[2., 3.]));
            }
            _ => panic!("not a sequence"),
        }
        let n = Node::new("ConcatFromSequence", &["s"], &["y"], 11)
            .with_attr("axis", Attribute::Int(0))
            .with_attr("new_axis", Attribute::Int(1));
        let y = run_node_opt(&n, vec![Some(s)]).unwrap().remove(0);
        assert_eq!(y, Value::Tensor(x.clone()));
        let n = Node::new("SplitToSequence", &["x", "s"], &["s"], 11);
        let s = run_node_opt(&n, vec![Some(x.into()), Some(Tensor::scalar(2i64).into())]).unwrap().remove(0);
        match s {
            Value::Sequence { items, .. } => assert_eq!(items.iter().map(|t| t.shape()[0]).collect::<Vec<_>>(), vec![2, 1]),
            _ => panic!("not a sequence"),
        }
    }

    #[test]
    fn optionals() {
        let n = Node::new("OptionalHasElement", &["x"], &["y"], 18);
        let y = run_node_opt(&n, vec![Some(Value::Optional(None))]).unwrap().remove(0);
        assert_eq!(y, Value::Tensor(Tensor::scalar(false)));
        let y = run_node_opt(&n, vec![None]).unwrap().remove(0);
        assert_eq!(y, Value::Tensor(Tensor::scalar(false)));
        let y = run_node_opt(&n, vec![Some(seq(vec![]))]).unwrap().remove(0);
        assert_eq!(y, Value::Tensor(Tensor::scalar(true)));
        let n = Node::new("Optional", &["x"], &["y"], 15);
        let o = run_node_opt(&n, vec![Some(t(&[1.]).into())]).unwrap().remove(0);
        let n = Node::new("OptionalGetElement", &["x"], &["y"], 18);
        assert_eq!(run_node_opt(&n, vec![Some(o)]).unwrap().remove(0), Value::Tensor(t(&[1.])));
        assert!(run_node_opt(&n, vec![Some(Value::Optional(None))]).is_err());
    }
}
