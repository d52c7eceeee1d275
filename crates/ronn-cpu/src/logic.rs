//! Comparison and logic operators (default domain, every opset): Equal, Less,
//! Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor, Not, Where.
//! See <https://onnx.ai/onnx/operators/>.
//!
//! All broadcast through the engine in [`crate::elementwise`]. Opset changes:
//! before opset 7, Equal/Less/Greater/And/Or/Xor carried `broadcast`/`axis`
//! attributes (handled like Add); comparisons take every numeric type (f16/bf16
//! compared exactly), Equal also bool and string (opset 19); Where takes every
//! type including string.

use crate::elementwise::{binary, legacy_b_shape, legacy_broadcast, ternary, unary};
use crate::helpers::{input, kernel, output};
use ronn_core::{bail, DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

fn cmp_t<T: PartialOrd + Sync>(
    op: Cmp,
    a: &[T],
    sa: &[usize],
    b: &[T],
    sb: &[usize],
) -> Result<(Vec<usize>, Vec<bool>)> {
    match op {
        Cmp::Eq => binary(a, sa, b, sb, |x: &T, y: &T| x == y),
        Cmp::Lt => binary(a, sa, b, sb, |x: &T, y: &T| x < y),
        Cmp::Gt => binary(a, sa, b, sb, |x: &T, y: &T| x > y),
        Cmp::Le => binary(a, sa, b, sb, |x: &T, y: &T| x <= y),
        Cmp::Ge => binary(a, sa, b, sb, |x: &T, y: &T| x >= y),
    }
}

fn compare(op: Cmp, a: &Tensor, b: &Tensor, sb: &[usize]) -> Result<Tensor> {
    if a.dtype() != b.dtype() {
        bail!(TypeMismatch, "{op:?}: inputs must have the same element type, got {} and {}", a.dtype(), b.dtype());
    }
    let dt = a.dtype();
    let (s, v) = if dt == DType::String {
        if op != Cmp::Eq {
            bail!(TypeMismatch, "{op:?} does not support strings");
        }
        cmp_t(op, a.as_strings()?, a.shape(), b.as_strings()?, sb)?
    } else {
        if dt == DType::Bool && op != Cmp::Eq {
            bail!(TypeMismatch, "{op:?} does not support bool");
        }
        ronn_core::dispatch_dtype!(dt, T => cmp_t(op, a.as_slice::<T>()?, a.shape(), b.as_slice::<T>()?, sb)?,
            _ => bail!(TypeMismatch, "{op:?} does not support {dt}"))
    };
    Tensor::from_vec(s, v)
}

fn cmp_kernel(ctx: &BuildCtx, op: Cmp) -> Result<Box<dyn Kernel>> {
    let legacy = legacy_broadcast(ctx.node)?;
    kernel(move |_, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        let sb = legacy_b_shape(a.shape(), b.shape(), legacy)?;
        output(compare(op, a, b, &sb)?)
    })
}

fn make_equal(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    cmp_kernel(ctx, Cmp::Eq)
}
fn make_less(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    cmp_kernel(ctx, Cmp::Lt)
}
fn make_greater(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    cmp_kernel(ctx, Cmp::Gt)
}
fn make_less_eq(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    cmp_kernel(ctx, Cmp::Le)
}
fn make_greater_eq(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    cmp_kernel(ctx, Cmp::Ge)
}

#[derive(Debug, Clone, Copy)]
enum Logic {
    And,
    Or,
    Xor,
}

fn bool_inputs<'a>(a: &'a Tensor, b: &'a Tensor, what: &str) -> Result<(&'a [bool], &'a [bool])> {
    if a.dtype() != DType::Bool || b.dtype() != DType::Bool {
        bail!(TypeMismatch, "{what} needs bool inputs, got {} and {}", a.dtype(), b.dtype());
    }
    Ok((a.as_slice::<bool>()?, b.as_slice::<bool>()?))
}

fn logic_kernel(ctx: &BuildCtx, op: Logic) -> Result<Box<dyn Kernel>> {
    let legacy = legacy_broadcast(ctx.node)?;
    kernel(move |_, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        let sb = legacy_b_shape(a.shape(), b.shape(), legacy)?;
        let (x, y) = bool_inputs(a, b, &format!("{op:?}"))?;
        let (s, v) = match op {
            Logic::And => binary(x, a.shape(), y, &sb, |p: &bool, q: &bool| *p & *q)?,
            Logic::Or => binary(x, a.shape(), y, &sb, |p: &bool, q: &bool| *p | *q)?,
            Logic::Xor => binary(x, a.shape(), y, &sb, |p: &bool, q: &bool| *p ^ *q)?,
        };
        output(Tensor::from_vec(s, v)?)
    })
}

fn make_and(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    logic_kernel(ctx, Logic::And)
}
fn make_or(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    logic_kernel(ctx, Logic::Or)
}
fn make_xor(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    logic_kernel(ctx, Logic::Xor)
}

fn make_not(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let a = input(inputs, 0)?;
        if a.dtype() != DType::Bool {
            bail!(TypeMismatch, "Not needs a bool input, got {}", a.dtype());
        }
        output(Tensor::from_vec(a.shape().to_vec(), unary(a.as_slice::<bool>()?, |x: &bool| !*x))?)
    })
}

/// ONNX Where: `cond ? x : y`, broadcasting all three.
pub fn where_(c: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    if c.dtype() != DType::Bool {
        bail!(TypeMismatch, "Where condition must be bool, got {}", c.dtype());
    }
    if x.dtype() != y.dtype() {
        bail!(TypeMismatch, "Where X and Y must have the same type, got {} and {}", x.dtype(), y.dtype());
    }
    let cs = c.as_slice::<bool>()?;
    let dt = x.dtype();
    if dt == DType::String {
        let (s, v) = ternary(
            cs,
            c.shape(),
            x.as_strings()?,
            x.shape(),
            y.as_strings()?,
            y.shape(),
            |c: &bool, a: &String, b: &String| {
                if *c {
                    a.clone()
                } else {
                    b.clone()
                }
            },
        )?;
        return Tensor::from_strings(s, v);
    }
    ronn_core::dispatch_dtype!(dt, T => {
        let (s, v) = ternary(cs, c.shape(), x.as_slice::<T>()?, x.shape(), y.as_slice::<T>()?, y.shape(),
            |c: &bool, a: &T, b: &T| if *c { *a } else { *b })?;
        Tensor::from_vec(s, v)
    }, _ => Err(Error::TypeMismatch(format!("Where does not support {dt}"))))
}

fn make_where(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| output(where_(input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?)?))
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Equal", make_equal);
    r.register_all("Less", make_less);
    r.register_all("Greater", make_greater);
    r.register_all("LessOrEqual", make_less_eq);
    r.register_all("GreaterOrEqual", make_greater_eq);
    r.register_all("And", make_and);
    r.register_all("Or", make_or);
    r.register_all("Xor", make_xor);
    r.register_all("Not", make_not);
    r.register_all("Where", make_where);
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::{Element, Tensor};
    use ronn_ir::{Attribute, Node};

    fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    fn bools(op: &str, ins: Vec<Tensor>) -> Vec<bool> {
        let n = Node::new(op, &["a", "b"], &["y"], 19);
        run_node(&n, ins).unwrap().remove(0).as_slice::<bool>().unwrap().to_vec()
    }

    #[test]
    fn comparisons_broadcast() {
        let a = t(&[2, 2], vec![1f32, 2., 3., 4.]);
        let b = t(&[2], vec![2f32, 3.]);
        assert_eq!(bools("Equal", vec![a.clone(), b.clone()]), vec![false, false, false, false]);
        assert_eq!(bools("Less", vec![a.clone(), b.clone()]), vec![true, true, false, false]);
        assert_eq!(bools("Greater", vec![a.clone(), b.clone()]), vec![false, false, true, true]);
        assert_eq!(bools("LessOrEqual", vec![a.clone(), t(&[], vec![2f32])]), vec![true, true, false, false]);
        assert_eq!(bools("GreaterOrEqual", vec![t(&[2], vec![5u64, 1]), t(&[2], vec![5u64, 2])]), vec![true, false]);
        let s = Tensor::from_strings(vec![2], vec!["a".into(), "b".into()]).unwrap();
        let s1 = Tensor::from_strings(vec![1], vec!["b".into()]).unwrap();
        assert_eq!(bools("Equal", vec![s.clone(), s1.clone()]), vec![false, true]);
        assert!(run_node(&Node::new("Less", &["a", "b"], &["y"], 19), vec![s, s1]).is_err());
        assert!(run_node(&Node::new("Less", &["a", "b"], &["y"], 19), vec![a, t(&[2], vec![1i32, 2])]).is_err());
    }

    #[test]
    fn logic_ops() {
        let a = t(&[2, 2], vec![true, true, false, false]);
        let b = t(&[2], vec![true, false]);
        assert_eq!(bools("And", vec![a.clone(), b.clone()]), vec![true, false, false, false]);
        assert_eq!(bools("Or", vec![a.clone(), b.clone()]), vec![true, true, true, false]);
        assert_eq!(bools("Xor", vec![a.clone(), b.clone()]), vec![false, true, true, false]);
        let y = run_node(&Node::new("Not", &["a"], &["y"], 1), vec![b]).unwrap();
        assert_eq!(y[0].as_slice::<bool>().unwrap(), &[false, true]);
        assert!(run_node(&Node::new("Not", &["a"], &["y"], 1), vec![t(&[1], vec![1u8])]).is_err());
        // legacy axis broadcast
        let n = Node::new("And", &["a", "b"], &["y"], 1)
            .with_attr("broadcast", Attribute::Int(1))
            .with_attr("axis", Attribute::Int(0));
        let y = run_node(&n, vec![a, t(&[2], vec![true, false])]).unwrap();
        assert_eq!(y[0].as_slice::<bool>().unwrap(), &[true, true, false, false]);
    }

    #[test]
    fn where_broadcasts_all_types() {
        let n = Node::new("Where", &["c", "x", "y"], &["o"], 16);
        let c = t(&[2, 1], vec![true, false]);
        let y = run_node(&n, vec![c.clone(), t(&[2], vec![1i64, 2]), t(&[], vec![9i64])]).unwrap();
        assert_eq!(y[0].shape(), &[2, 2]);
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[1, 2, 9, 9]);
        let xs = Tensor::from_strings(vec![1], vec!["x".into()]).unwrap();
        let ys = Tensor::from_strings(vec![1], vec!["y".into()]).unwrap();
        let y = run_node(&n, vec![c.clone(), xs, ys]).unwrap();
        assert_eq!(y[0].as_strings().unwrap(), &["x".to_string(), "y".to_string()]);
        assert!(run_node(&n, vec![t(&[1], vec![1u8]), t(&[1], vec![1f32]), t(&[1], vec![1f32])]).is_err());
        assert!(run_node(&n, vec![c.clone(), t(&[3, 1], vec![1f32; 3]), t(&[1], vec![1f32])]).is_err());
        // large, parallel path
        let cond: Vec<bool> = (0..100_000).map(|i| i % 3 == 0).collect();
        let y = run_node(&n, vec![t(&[100_000], cond), t(&[1], vec![1f32]), t(&[1], vec![0f32])]).unwrap();
        let y = y[0].as_slice::<f32>().unwrap();
        assert_eq!((y[99_999], y[99_998]), (1.0, 0.0));
    }
}
