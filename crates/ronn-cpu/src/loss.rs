//! Loss operators: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__NegativeLogLikelihoodLoss.html>,
//! <https://onnx.ai/onnx/operators/onnx__SoftmaxCrossEntropyLoss.html> (opsets 12/13).
//! Inputs are `[N, C, d1..dk]` scores, `[N, d1..dk]` integer targets and an
//! optional `[C]` class weight; `reduction` is none, sum or mean (mean divides by
//! the summed weights of the targets that are not `ignore_index`). Computed in f64.

use crate::helpers::{input, kernel, opt_input, outputs};
use ronn_core::{dispatch_float, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers the losses.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "NegativeLogLikelihoodLoss", 12, i64::MAX, build_nll);
    r.register("", "SoftmaxCrossEntropyLoss", 12, i64::MAX, build_sce);
}

#[derive(Clone, Copy, PartialEq)]
enum Reduction {
    None,
    Sum,
    Mean,
}

fn reduction(ctx: &BuildCtx) -> Result<Reduction> {
    match ctx.node.attr_s_or("reduction", "mean")?.as_str() {
        "none" => Ok(Reduction::None),
        "sum" => Ok(Reduction::Sum),
        "mean" => Ok(Reduction::Mean),
        other => Err(ctx.node.unsupported(format!("reduction '{other}' (none, sum, mean)"))),
    }
}

/// NLL over log-probabilities `lp` ([N, C, D] flattened), returning the loss values.
fn nll(
    lp: &[f64],
    shape: &[usize],
    target: &[i64],
    weight: Option<&[f64]>,
    ignore: Option<i64>,
    red: Reduction,
) -> Result<(Vec<usize>, Vec<f64>)> {
    if shape.len() < 2 {
        return Err(Error::ShapeMismatch(format!("input must be [N, C, ...], got {shape:?}")));
    }
    let (n, c) = (shape[0], shape[1]);
    let d: usize = shape[2..].iter().product();
    if target.len() != n * d {
        return Err(Error::ShapeMismatch(format!(
            "target has {} elements, expected N*d1*..*dk = {}",
            target.len(),
            n * d
        )));
    }
    if let Some(w) = weight {
        if w.len() != c {
            return Err(Error::ShapeMismatch(format!("weight has {} elements, expected C = {c}", w.len())));
        }
    }
    let mut loss = vec![0.0; n * d];
    let mut wsum = 0.0;
    for i in 0..n {
        for j in 0..d {
            let t = target[i * d + j];
            if Some(t) == ignore {
                continue;
            }
            if t < 0 || t as usize >= c {
                return Err(Error::InvalidArgument(format!("target {t} is outside [0, {c})")));
            }
            let w = weight.map_or(1.0, |w| w[t as usize]);
            loss[i * d + j] = -lp[(i * c + t as usize) * d + j] * w;
            wsum += w;
        }
    }
    let mut out_shape = vec![n];
    out_shape.extend_from_slice(&shape[2..]);
    Ok(match red {
        Reduction::None => (out_shape, loss),
        Reduction::Sum => (vec![], vec![loss.iter().sum()]),
        Reduction::Mean => (vec![], vec![if wsum == 0.0 { 0.0 } else { loss.iter().sum::<f64>() / wsum }]),
    })
}

fn targets_and_weight(inputs: &[Option<&ronn_core::Value>]) -> Result<(Vec<i64>, Option<Vec<f64>>)> {
    let t = input(inputs, 1)?;
    if !t.dtype().is_int() {
        return Err(Error::TypeMismatch(format!("target must be an integer tensor, got {}", t.dtype())));
    }
    Ok((t.to_i64_vec()?, opt_input(inputs, 2)?.map(|w| w.to_f64_vec()).transpose()?))
}

fn to_dtype_of(like: &Tensor, shape: Vec<usize>, v: Vec<f64>) -> Result<Tensor> {
    dispatch_float!(like.dtype(), T => Tensor::from_vec(shape, v.into_iter().map(T::from_f64).collect::<Vec<T>>()),
        _ => Err(Error::TypeMismatch(format!("expected a float tensor, got {}", like.dtype()))))
}

fn build_nll(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let red = reduction(ctx)?;
    let ignore = ctx.node.attr_i("ignore_index")?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let (target, weight) = targets_and_weight(inputs)?;
        let (shape, loss) = nll(&x.to_f64_vec()?, x.shape(), &target, weight.as_deref(), ignore, red)?;
        outputs(vec![to_dtype_of(x, shape, loss)?])
    })
}

fn build_sce(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let red = reduction(ctx)?;
    let ignore = ctx.node.attr_i("ignore_index")?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let shape = x.shape();
        if shape.len() < 2 {
            return Err(Error::ShapeMismatch(format!("scores must be [N, C, ...], got {shape:?}")));
        }
        let (n, c) = (shape[0], shape[1]);
        let d: usize = shape[2..].iter().product();
        let v = x.to_f64_vec()?;
        // log_softmax over the class axis.
        let mut lp = vec![0.0; v.len()];
        for i in 0..n {
            for j in 0..d {
                let at = |k: usize| (i * c + k) * d + j;
                let m = (0..c).map(|k| v[at(k)]).fold(f64::NEG_INFINITY, f64::max);
                let s: f64 = (0..c).map(|k| (v[at(k)] - m).exp()).sum();
                let ls = m + s.ln();
                for k in 0..c {
                    lp[at(k)] = v[at(k)] - ls;
                }
            }
        }
        let (target, weight) = targets_and_weight(inputs)?;
        let (oshape, loss) = nll(&lp, shape, &target, weight.as_deref(), ignore, red)?;
        outputs(vec![to_dtype_of(x, oshape, loss)?, to_dtype_of(x, shape.to_vec(), lp)?])
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn node(op: &str, red: &str) -> Node {
        Node::new(op, &["x", "t", "w"], &["y", "lp"], 13)
            .with_attr("reduction", Attribute::String(red.as_bytes().to_vec()))
    }

    #[test]
    fn nll_weighted_mean_and_ignore_index() {
        let x = Tensor::from_vec(vec![2, 3], vec![-1.0f32, -2.0, -3.0, -0.5, -1.5, -2.5]).unwrap();
        let t = Tensor::from_vec(vec![2], vec![2i64, 0]).unwrap();
        let w = Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]).unwrap();
        let y = run_node(&node("NegativeLogLikelihoodLoss", "mean"), vec![x.clone(), t.clone(), w.clone()]).unwrap();
        // (3*3 + 0.5*1) / (3 + 1)
        assert!((y[0].as_slice::<f32>().unwrap()[0] - 2.375).abs() < 1e-6);
        let n = node("NegativeLogLikelihoodLoss", "none").with_attr("ignore_index", Attribute::Int(0));
        let y = run_node(&n, vec![x, t, w]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[9.0, 0.0]);
    }

    #[test]
    fn sce_matches_log_softmax() {
        let x = Tensor::from_vec(vec![1, 2], vec![0.0f32, 0.0]).unwrap();
        let t = Tensor::from_vec(vec![1], vec![1i64]).unwrap();
        let n = Node::new("SoftmaxCrossEntropyLoss", &["x", "t"], &["y", "lp"], 13);
        let y = crate::testing::run_node(&n, vec![x, t]).unwrap();
        assert!((y[0].as_slice::<f32>().unwrap()[0] - std::f32::consts::LN_2).abs() < 1e-6);
        assert!((y[1].as_slice::<f32>().unwrap()[0] + std::f32::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn bad_targets_are_errors() {
        let x = Tensor::from_vec(vec![1, 2], vec![0.0f32, 0.0]).unwrap();
        let t = Tensor::from_vec(vec![1], vec![5i64]).unwrap();
        assert!(run_node(&Node::new("NegativeLogLikelihoodLoss", &["x", "t"], &["y"], 13), vec![x.clone(), t]).is_err());
        let t = Tensor::from_vec(vec![1], vec![0.5f32]).unwrap();
        assert!(run_node(&Node::new("NegativeLogLikelihoodLoss", &["x", "t"], &["y"], 13), vec![x, t]).is_err());
    }
}
