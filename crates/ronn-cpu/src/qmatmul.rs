//! 8-bit quantized matrix products: MatMulInteger, QLinearMatMul.
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__MatMulInteger.html>,
//! <https://onnx.ai/onnx/operators/onnx__QLinearMatMul.html>.
//!
//! - MatMulInteger (10): u8/i8 inputs, scalar or per-row (A) / per-column (B) zero
//!   points, i32 output; MatMul's shape rules (batching, 1-D promotion).
//! - QLinearMatMul (10, 21): scalar or per-row/per-column scales and zero points,
//!   f32 or f16 scales, u8/i8 output; requantized with round-half-to-even and
//!   saturation.
//!
//! Both accumulate exactly in i32 through `ronn_kernels::qgemm` (AVX-512 VNNI where
//! the CPU has it). A constant B whose zero point is constant too (the weights of
//! every `quantize_dynamic` model) is packed once at planning time.

use crate::helpers::{input, kernel, opt_input, output};
use crate::matmul::{plan_matmul, MmPlan};
use ronn_core::{DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use ronn_kernels::qgemm::{qgemm, Int8, PackedQB};
use std::sync::Arc;

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("MatMulInteger", make_matmul_integer);
    r.register_all("QLinearMatMul", make_qlinear_matmul);
    r.register("com.microsoft", "MatMulIntegerToFloat", 1, i64::MAX, make_matmul_integer_to_float);
}

/// The bytes of a u8/i8 tensor.
fn int8_data(t: &Tensor) -> Result<Int8<'_>> {
    match t.dtype() {
        DType::UInt8 => Ok(Int8::U8(t.as_slice::<u8>()?)),
        DType::Int8 => Ok(Int8::I8(t.as_slice::<i8>()?)),
        d => Err(Error::TypeMismatch(format!("expected an int8/uint8 tensor, got {d}"))),
    }
}

/// Zero point values (0 when absent); they must have the data's type.
fn zero_points(zp: Option<&Tensor>, data: &Tensor) -> Result<Vec<i32>> {
    let Some(zp) = zp else { return Ok(vec![0]) };
    if zp.dtype() != data.dtype() {
        return Err(Error::TypeMismatch(format!(
            "zero point type {} differs from input type {}",
            zp.dtype(),
            data.dtype()
        )));
    }
    Ok(zp.to_f64_vec()?.into_iter().map(|v| v as i32).collect())
}

/// B's matrices (one per batch entry of a batched B), each packed for qgemm.
fn pack_b(b: &Tensor, zb: &[i32]) -> Result<Vec<PackedQB>> {
    let s = b.shape();
    let (k, n) = match s.len() {
        0 => return Err(Error::ShapeMismatch("MatMulInteger needs inputs of rank >= 1, got a scalar B".into())),
        1 => (s[0], 1),
        r => (s[r - 2], s[r - 1]),
    };
    let data = int8_data(b)?;
    let mat = k * n;
    let batches = b.len().checked_div(mat).unwrap_or(1);
    (0..batches)
        .map(|i| {
            let part = match data {
                Int8::U8(v) => Int8::U8(&v[i * mat..(i + 1) * mat]),
                Int8::I8(v) => Int8::I8(&v[i * mat..(i + 1) * mat]),
            };
            PackedQB::new(part, k, n, zb)
        })
        .collect()
}

/// Packs a constant B (with a constant or absent zero point) at planning time.
fn planned_b(ctx: &BuildCtx, b_input: usize, zp_input: usize) -> Result<Option<Arc<Vec<PackedQB>>>> {
    let zp_ready = ctx.node.input(zp_input).is_none() || ctx.constant(zp_input).is_some();
    match ctx.constant(b_input) {
        Some(b) if zp_ready => Ok(Some(Arc::new(pack_b(b, &zero_points(ctx.constant(zp_input), b)?)?))),
        _ => Ok(None),
    }
}

/// Runs `product(rows, A rows, za, packed B, C rows)` over MatMul's plan `p`:
/// once for a folded batch, else once per batch entry. Returns C.
fn batched<O: ronn_core::Element>(
    p: &MmPlan,
    a: &Tensor,
    za: &[i32],
    b: &[PackedQB],
    mut product: impl FnMut(usize, Int8<'_>, &[i32], &PackedQB, &mut [O]) -> Result<()>,
) -> Result<Vec<O>> {
    let (m, n, k) = (p.m, p.n, p.k);
    let mut out = ronn_core::pool::for_overwrite::<O>(p.out_len());
    if out.is_empty() {
        return Ok(out);
    }
    let av = int8_data(a)?;
    let slice = |off: usize, len: usize| -> Result<Int8<'_>> {
        let bad = || Error::Internal("MatMulInteger: A batch out of range".into());
        Ok(match av {
            Int8::U8(v) => Int8::U8(v.get(off..off + len).ok_or_else(bad)?),
            Int8::I8(v) => Int8::I8(v.get(off..off + len).ok_or_else(bad)?),
        })
    };
    let packed_for = |off: usize| -> Result<&PackedQB> {
        b.get(off.checked_div(k * n).unwrap_or(0))
            .ok_or_else(|| Error::Internal("MatMulInteger: B batch out of range".into()))
    };
    if p.fold {
        // Every batch of A against the one B: a single product of all rows, the
        // per-row zero points repeated for each batch.
        let rows = out.len() / n;
        let za_rows: Vec<i32> =
            if za.len() == m && rows != m { (0..rows).map(|i| za[i % m]).collect() } else { za.to_vec() };
        product(rows, slice(0, rows * k)?, &za_rows, packed_for(0)?, &mut out)?;
        return Ok(out);
    }
    for (i, c) in out.chunks_mut(m * n).enumerate() {
        product(m, slice(p.a_offs[i], m * k)?, za, packed_for(p.b_offs[i])?, c)?;
    }
    Ok(out)
}

/// `(A - za)(B - zb)` in i32 following MatMul's plan `p`.
fn int_product(p: &MmPlan, a: &Tensor, za: &[i32], b: &[PackedQB]) -> Result<Vec<i32>> {
    batched(p, a, za, b, |rows, a, za, b, c| qgemm(rows, a, za, b, c, true))
}

/// The packed B of a run: planned, or packed now.
fn run_b<'a>(
    planned: &'a Option<Arc<Vec<PackedQB>>>,
    owned: &'a mut Vec<PackedQB>,
    b: &Tensor,
    zb: Option<&Tensor>,
) -> Result<&'a [PackedQB]> {
    if let Some(p) = planned {
        return Ok(p);
    }
    *owned = pack_b(b, &zero_points(zb, b)?)?;
    Ok(owned)
}

fn make_matmul_integer(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let planned = planned_b(ctx, 1, 3)?;
    kernel(move |_ctx, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        int8_data(b)?;
        let p = plan_matmul(a.shape(), b.shape())?;
        let za = zero_points(opt_input(inputs, 2)?, a)?;
        let mut owned = Vec::new();
        let packed = run_b(&planned, &mut owned, b, opt_input(inputs, 3)?)?;
        let y = int_product(&p, a, &za, packed)?;
        output(Tensor::from_vec(p.out_shape, y)?)
    })
}

/// com.microsoft MatMulIntegerToFloat (ONNX Runtime's contrib op, which RONN's
/// optimizer also produces from MatMulInteger -> Cast -> Mul [-> Add]):
/// `Y = f32((A - a_zp)(B - b_zp)) * (a_scale * b_scale) + bias`, inputs
/// `A, B, a_scale, b_scale, [a_zero_point], [b_zero_point], [bias]`; `a_scale`
/// a scalar, `b_scale` a scalar or one per column, `bias` one per column.
fn make_matmul_integer_to_float(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let planned = planned_b(ctx, 1, 5)?;
    kernel(move |_ctx, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        int8_data(b)?;
        let f32s = |i: usize, what: &str| -> Result<Option<&[f32]>> {
            match opt_input(inputs, i)? {
                Some(t) if t.dtype() == ronn_core::DType::Float32 => Ok(Some(t.as_slice::<f32>()?)),
                Some(t) => {
                    Err(Error::TypeMismatch(format!("MatMulIntegerToFloat: {what} must be float, got {}", t.dtype())))
                }
                None => Ok(None),
            }
        };
        let missing = |what: &str| Error::InvalidModel(format!("MatMulIntegerToFloat needs {what}"));
        let a_scale = f32s(2, "a_scale")?.ok_or_else(|| missing("a_scale"))?;
        let b_scale = f32s(3, "b_scale")?.ok_or_else(|| missing("b_scale"))?;
        let bias = f32s(6, "bias")?;
        let [sa] = a_scale else {
            return Err(Error::ShapeMismatch(format!(
                "MatMulIntegerToFloat: a_scale has {} elements, expected 1",
                a_scale.len()
            )));
        };
        // The product the unfused graph's Mul computes, once per column.
        let scale: Vec<f32> = b_scale.iter().map(|&s| sa * s).collect();
        let p = plan_matmul(a.shape(), b.shape())?;
        let za = zero_points(opt_input(inputs, 4)?, a)?;
        let mut owned = Vec::new();
        let packed = run_b(&planned, &mut owned, b, opt_input(inputs, 5)?)?;
        let y = batched(&p, a, &za, packed, |rows, a, za, b, c| {
            ronn_kernels::qgemm::qgemm_scaled(rows, a, za, b, &scale, bias, c, true)
        })?;
        output(Tensor::from_vec(p.out_shape, y)?)
    })
}

/// Scale values as f64 (f32 or f16 tensors).
fn scale_values(t: &Tensor) -> Result<Vec<f64>> {
    if !t.dtype().is_float() {
        return Err(Error::TypeMismatch(format!("scale must be a float tensor, got {}", t.dtype())));
    }
    t.to_f64_vec()
}

fn make_qlinear_matmul(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let planned = planned_b(ctx, 3, 5)?;
    kernel(move |_ctx, inputs| {
        let a = input(inputs, 0)?;
        let a_scale = scale_values(input(inputs, 1)?)?;
        let a_zp = input(inputs, 2)?;
        let b = input(inputs, 3)?;
        let b_scale = scale_values(input(inputs, 4)?)?;
        let b_zp = input(inputs, 5)?;
        let y_scale = scale_values(input(inputs, 6)?)?;
        let y_zp = input(inputs, 7)?;
        int8_data(b)?;
        let p = plan_matmul(a.shape(), b.shape())?;
        let za = zero_points(Some(a_zp), a)?;
        let mut owned = Vec::new();
        let packed = run_b(&planned, &mut owned, b, Some(b_zp))?;
        let acc = int_product(&p, a, &za, packed)?;
        let ys = *y_scale.first().ok_or_else(|| Error::ShapeMismatch("y_scale is empty".into()))?;
        let yz = *y_zp.to_f64_vec()?.first().ok_or_else(|| Error::ShapeMismatch("y_zero_point is empty".into()))?;
        let (m, n) = (p.m, p.n);
        let pick = |v: &[f64], i: usize| -> Result<f64> {
            if v.len() == 1 {
                Ok(v[0])
            } else {
                v.get(i).copied().ok_or_else(|| Error::ShapeMismatch(format!("scale has {} elements", v.len())))
            }
        };
        let (lo, hi) = crate::quantize::output_range(y_zp)?;
        let mut q = Vec::with_capacity(acc.len());
        for (idx, &v) in acc.iter().enumerate() {
            let (i, j) = match (idx.checked_div(n), idx.checked_rem(n)) {
                (Some(r), Some(c)) => (r % m.max(1), c),
                _ => (0, 0),
            };
            let sa = pick(&a_scale, i)?;
            let sb = pick(&b_scale, j)?;
            let r = (v as f64 * (sa * sb / ys) as f32 as f64).round_ties_even() + yz;
            q.push(r.clamp(lo, hi));
        }
        let shape = p.out_shape;
        output(crate::quantize::requantized_tensor(y_zp, shape, q)?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{run_node, run_node_const};
    use ronn_core::Tensor;
    use ronn_ir::Node;

    #[test]
    fn matmul_integer_zero_points() {
        // onnx test_matmulinteger values
        let node = Node::new("MatMulInteger", &["a", "b", "az", "bz"], &["y"], 10);
        let a = Tensor::from_vec(vec![4, 3], vec![11u8, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]).unwrap();
        let b = Tensor::from_vec(vec![3, 2], vec![1u8, 4, 2, 5, 3, 6]).unwrap();
        let az = Tensor::from_vec(vec![], vec![12u8]).unwrap();
        let bz = Tensor::from_vec(vec![], vec![0u8]).unwrap();
        let want = [-38, -83, -44, -98, -50, -113, -56, -128];
        let inputs = vec![a, b, az, bz];
        for y in [run_node(&node, inputs.clone()).unwrap(), run_node_const(&node, inputs.clone()).unwrap()] {
            assert_eq!(y[0].as_slice::<i32>().unwrap(), &want);
        }
        // per-column B zero point
        let bz2 = Tensor::from_vec(vec![2], vec![1u8, 2]).unwrap();
        let y = run_node(&node, vec![inputs[0].clone(), inputs[1].clone(), inputs[2].clone(), bz2]).unwrap();
        // (a-12) @ (b - [1,2]): col0: -38 - sum(a-12 per row), col1: -83 - 2*sum
        let sums = [-1 - 5 - 9, -2 - 6 - 10, -3 - 7 - 11, -4 - 8 - 12];
        let want2: Vec<i32> = (0..8).map(|i| want[i] - (if i % 2 == 0 { 1 } else { 2 }) * sums[i / 2]).collect();
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &want2[..]);
        let bad = Tensor::from_vec(vec![3], vec![1u8, 2, 3]).unwrap();
        assert!(run_node(&node, vec![inputs[0].clone(), inputs[1].clone(), inputs[2].clone(), bad]).is_err());
    }

    #[test]
    fn qlinear_matmul_onnx_example() {
        // onnx QLinearMatMul doc example (uint8)
        let node = Node::new("QLinearMatMul", &["a", "as", "az", "b", "bs", "bz", "ys", "yz"], &["y"], 10);
        let a = Tensor::from_vec(vec![2, 4], vec![208u8, 236, 0, 238, 3, 214, 255, 29]).unwrap();
        let b = Tensor::from_vec(vec![4, 3], vec![152u8, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247]).unwrap();
        let y = run_node(
            &node,
            vec![
                a,
                Tensor::from_vec(vec![], vec![0.0066f32]).unwrap(),
                Tensor::from_vec(vec![], vec![113u8]).unwrap(),
                b,
                Tensor::from_vec(vec![], vec![0.00705f32]).unwrap(),
                Tensor::from_vec(vec![], vec![114u8]).unwrap(),
                Tensor::from_vec(vec![], vec![0.0107f32]).unwrap(),
                Tensor::from_vec(vec![], vec![118u8]).unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &[168, 115, 255, 1, 66, 151]);
    }

    /// i64 reference of (A - za[row]) (B - zb[col]) over batches of A (and of B when batched).
    fn reference(
        a: &[u8],
        za: &[i32],
        b: &[i8],
        zb: &[i32],
        bs: usize,
        m: usize,
        k: usize,
        n: usize,
        b_batched: bool,
    ) -> Vec<i32> {
        let mut y = vec![0i32; bs * m * n];
        for x in 0..bs {
            let bo = if b_batched { x * k * n } else { 0 };
            for i in 0..m {
                for j in 0..n {
                    let s: i64 = (0..k)
                        .map(|q| {
                            (a[x * m * k + i * k + q] as i64 - za[i] as i64) * (b[bo + q * n + j] as i64 - zb[j] as i64)
                        })
                        .sum();
                    y[x * m * n + i * n + j] = s as i32;
                }
            }
        }
        y
    }

    #[test]
    fn matmul_integer_batched_with_per_row_and_per_column_zero_points() {
        let node = Node::new("MatMulInteger", &["a", "b", "az", "bz"], &["y"], 10);
        let (bs, m, k, n) = (2, 3, 37, 70);
        let a: Vec<u8> = (0..bs * m * k).map(|i| (i * 97 % 256) as u8).collect();
        let za = vec![3i32, 200, 128];
        let zb: Vec<i32> = (0..n as i32).map(|j| (j * 29 % 256) - 128).collect();
        let az = Tensor::from_vec(vec![m], za.iter().map(|&v| v as u8).collect::<Vec<u8>>()).unwrap();
        let bz = Tensor::from_vec(vec![n], zb.iter().map(|&v| v as i8).collect::<Vec<i8>>()).unwrap();
        for b_batched in [false, true] {
            let b: Vec<i8> = (0..if b_batched { bs } else { 1 } * k * n).map(|i| (i * 61 % 256) as u8 as i8).collect();
            let bshape = if b_batched { vec![bs, k, n] } else { vec![k, n] };
            let inputs = vec![
                Tensor::from_vec(vec![bs, m, k], a.clone()).unwrap(),
                Tensor::from_vec(bshape, b.clone()).unwrap(),
                az.clone(),
                bz.clone(),
            ];
            let want = reference(&a, &za, &b, &zb, bs, m, k, n, b_batched);
            for y in [run_node(&node, inputs.clone()).unwrap(), run_node_const(&node, inputs).unwrap()] {
                assert_eq!(y[0].shape(), &[bs, m, n]);
                assert_eq!(y[0].as_slice::<i32>().unwrap(), &want[..], "b_batched {b_batched}");
            }
        }
        // Wrong zero-point types and lengths are errors, not panics.
        let a = Tensor::from_vec(vec![2, 2], vec![1u8, 2, 3, 4]).unwrap();
        let b = Tensor::from_vec(vec![2, 2], vec![1i8, 2, 3, 4]).unwrap();
        let i8z = Tensor::from_vec(vec![], vec![1i8]).unwrap();
        assert!(run_node(&node, vec![a.clone(), b.clone(), i8z.clone(), i8z.clone()]).is_err());
        let az3 = Tensor::from_vec(vec![3], vec![1u8, 2, 3]).unwrap();
        assert!(run_node(&node, vec![a.clone(), b.clone(), az3, i8z]).is_err());
        let f = Tensor::from_vec(vec![2, 2], vec![1f32, 2., 3., 4.]).unwrap();
        assert!(run_node(&Node::new("MatMulInteger", &["a", "b"], &["y"], 10), vec![a, f]).is_err());
    }
}
