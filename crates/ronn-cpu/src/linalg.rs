//! Linear algebra: Det (11+).
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__Det.html>. Input `[*, M, M]`
//! (f32, f64, f16, bf16), output `[*]`: the determinant of each matrix, by LU
//! decomposition with partial pivoting in f64.

use crate::helpers::{input, kernel, output};
use ronn_core::{DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers Det.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "Det", 11, i64::MAX, build_det);
}

/// Determinant of the row-major `m`x`m` matrix in `a` (overwritten).
fn det(a: &mut [f64], m: usize) -> f64 {
    let mut d = 1.0;
    for c in 0..m {
        let mut p = c;
        for r in c + 1..m {
            if a[r * m + c].abs() > a[p * m + c].abs() {
                p = r;
            }
        }
        let pivot = a[p * m + c];
        if pivot == 0.0 {
            return 0.0;
        }
        if p != c {
            for k in 0..m {
                a.swap(p * m + k, c * m + k);
            }
            d = -d;
        }
        d *= pivot;
        for r in c + 1..m {
            let f = a[r * m + c] / pivot;
            if f != 0.0 {
                for k in c..m {
                    a[r * m + k] -= f * a[c * m + k];
                }
            }
        }
    }
    d
}

fn build_det(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let x = input(inputs, 0)?;
        let dt = x.dtype();
        if !matches!(dt, DType::Float32 | DType::Float64 | DType::Float16 | DType::BFloat16) {
            return Err(Error::TypeMismatch(format!("Det takes a float tensor, got {dt}")));
        }
        let s = x.shape();
        let r = s.len();
        if r < 2 || s[r - 1] != s[r - 2] {
            return Err(Error::ShapeMismatch(format!("Det expects [*, M, M], got {s:?}")));
        }
        let m = s[r - 1];
        let batch: Vec<usize> = s[..r - 2].to_vec();
        let v = x.to_f64_vec()?;
        let out: Vec<f64> = if m == 0 {
            vec![1.0; batch.iter().product()]
        } else {
            v.chunks(m * m).map(|c| det(&mut c.to_vec(), m)).collect()
        };
        output(Tensor::from_vec(batch, out)?.cast(dt)?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_close, run_node};
    use ronn_core::Tensor;
    use ronn_ir::Node;

    #[test]
    fn det_2d_nd_and_errors() {
        let n = Node::new("Det", &["x"], &["y"], 22);
        let y = &run_node(&n, vec![Tensor::from_vec(vec![2, 2], vec![0f32, 1., 2., 3.]).unwrap()]).unwrap()[0];
        assert_eq!(y.shape(), &[] as &[usize]);
        assert_close(y.as_slice::<f32>().unwrap(), &[-2.0]);
        let x = Tensor::from_vec(vec![3, 2, 2], vec![1f32, 2., 3., 4., 1., 2., 2., 1., 1., 3., 3., 1.]).unwrap();
        let y = &run_node(&n, vec![x]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[-2.0, -3.0, -8.0]);
        // 3x3 needing a pivot swap: numpy.linalg.det gives -2.
        let x = Tensor::from_vec(vec![3, 3], vec![0f64, 1., 2., 1., 0., 3., 4., -3., 8.]).unwrap();
        let y = &run_node(&n, vec![x]).unwrap()[0];
        assert!((y.as_slice::<f64>().unwrap()[0] + 2.0).abs() < 1e-12);
        assert!(run_node(&n, vec![Tensor::from_vec(vec![2, 3], vec![0f32; 6]).unwrap()]).is_err());
        assert!(run_node(&n, vec![Tensor::from_vec(vec![2, 2], vec![0i32; 4]).unwrap()]).is_err());
    }
}
