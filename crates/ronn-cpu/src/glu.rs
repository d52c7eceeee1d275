//! Gated activations: SwiGLU (28).
//!
//! Spec: <https://onnx.ai/onnx/operators/> (SwiGLU): `Y = A * Sigmoid(alpha * A) * B`,
//! `alpha` default 1.0; A and B have identical shapes (no broadcasting). f32 and
//! f64 compute natively, f16/bf16 in f32.

use crate::helpers::{input, kernel, output};
use rayon::prelude::*;
use ronn_core::{bf16, f16, DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers SwiGLU.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "SwiGLU", 28, i64::MAX, build_swiglu);
}

const PAR: usize = 1 << 16;

fn swiglu_f32(a: &[f32], b: &[f32], alpha: f32) -> Vec<f32> {
    let f = |(&x, &y): (&f32, &f32)| x / (1.0 + (-alpha * x).exp()) * y;
    if a.len() > PAR {
        a.par_iter().zip(b.par_iter()).map(f).collect()
    } else {
        a.iter().zip(b).map(f).collect()
    }
}

fn build_swiglu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let alpha = ctx.node.attr_f_or("alpha", 1.0)?;
    kernel(move |_, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        if a.shape() != b.shape() {
            return Err(Error::ShapeMismatch(format!(
                "SwiGLU needs A and B of one shape, got {:?} and {:?}",
                a.shape(),
                b.shape()
            )));
        }
        if a.dtype() != b.dtype() {
            return Err(Error::TypeMismatch(format!("SwiGLU: A is {}, B is {}", a.dtype(), b.dtype())));
        }
        let shape = a.shape().to_vec();
        let y = match a.dtype() {
            DType::Float32 => Tensor::from_vec(shape, swiglu_f32(a.as_slice()?, b.as_slice()?, alpha))?,
            DType::Float64 => {
                let al = alpha as f64;
                let v: Vec<f64> = a
                    .as_slice::<f64>()?
                    .iter()
                    .zip(b.as_slice::<f64>()?)
                    .map(|(&x, &y)| x / (1.0 + (-al * x).exp()) * y)
                    .collect();
                Tensor::from_vec(shape, v)?
            }
            DType::Float16 => {
                let af: Vec<f32> = a.as_slice::<f16>()?.iter().map(|v| v.to_f32()).collect();
                let bf: Vec<f32> = b.as_slice::<f16>()?.iter().map(|v| v.to_f32()).collect();
                let v: Vec<f16> = swiglu_f32(&af, &bf, alpha).into_iter().map(f16::from_f32).collect();
                Tensor::from_vec(shape, v)?
            }
            DType::BFloat16 => {
                let af: Vec<f32> = a.as_slice::<bf16>()?.iter().map(|v| v.to_f32()).collect();
                let bf: Vec<f32> = b.as_slice::<bf16>()?.iter().map(|v| v.to_f32()).collect();
                let v: Vec<bf16> = swiglu_f32(&af, &bf, alpha).into_iter().map(bf16::from_f32).collect();
                Tensor::from_vec(shape, v)?
            }
            t => return Err(Error::TypeMismatch(format!("SwiGLU takes float types, got {t}"))),
        };
        output(y)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_close, run_node};
    use ronn_core::{f16, Tensor};
    use ronn_ir::{Attribute, Node};

    fn ab() -> Vec<Tensor> {
        vec![
            Tensor::from_vec(vec![2, 2], vec![1f32, -2., 3., 4.]).unwrap(),
            Tensor::from_vec(vec![2, 2], vec![0.5f32, 1., -1., 2.]).unwrap(),
        ]
    }

    #[test]
    fn swiglu_alpha_f16_errors() {
        // Values from test_swiglu / test_swiglu_alpha of the ONNX suite.
        let n = Node::new("SwiGLU", &["a", "b"], &["y"], 28);
        let y = &run_node(&n, ab()).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[0.36552930, -0.23840587, -2.8577223, 7.8561101]);
        let n2 = n.clone().with_attr("alpha", Attribute::Float(0.5));
        let y = &run_node(&n2, ab()).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[0.31122968, -0.53788280, -2.4527235, 7.0463762]);
        let h = |v: &[f32]| Tensor::from_vec(vec![2], v.iter().map(|&x| f16::from_f32(x)).collect()).unwrap();
        let y = &run_node(&n, vec![h(&[1., -2.]), h(&[0.5, 1.])]).unwrap()[0];
        let got: Vec<f32> = y.as_slice::<f16>().unwrap().iter().map(|v| v.to_f32()).collect();
        assert!((got[0] - 0.3655).abs() < 1e-3 && (got[1] + 0.2384).abs() < 1e-3);
        let mut bad = ab();
        bad[1] = Tensor::from_vec(vec![4], vec![0f32; 4]).unwrap();
        assert!(run_node(&n, bad).is_err());
    }
}
