//! Float and plain-integer matrix products: MatMul, Gemm (the 8-bit quantized
//! ones, MatMulInteger and QLinearMatMul, are in `qmatmul.rs`).
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__MatMul.html>,
//! <https://onnx.ai/onnx/operators/onnx__Gemm.html>.
//!
//! - MatMul (1, 9, 13): numpy semantics (1-D promotion, batch broadcasting). When B
//!   is 2-D (the `[B,S,K] x [K,N]` projection case) the whole batch is ONE gemm of
//!   `(B*S) x K` by `K x N`; batched products (attention) run one gemm per batch,
//!   parallel over batches when each is small. Floats go through ronn-kernels' gemm
//!   (f16/bf16 computed in f32); integer types use a wrapping loop.
//! - Gemm (1..): transA/transB, alpha, beta, C unidirectionally broadcast; C is
//!   optional (required by the spec before opset 11, accepted missing anyway);
//!   the opset < 7 `broadcast` attribute is accepted (broadcasting is always done).
//!
//! Constant B (an initializer) is prepared once at planning time: converted to the
//! compute type (f16/bf16 -> f32) and, for Gemm with transB, transposed to
//! row-major `K x N`, so `run` does no weight-only work.

use crate::helpers::{input, kernel, opt_input, output};
use rayon::prelude::*;
use ronn_core::shape::broadcast_shapes;
use ronn_core::{bf16, f16, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use ronn_kernels::gemm::{gemm, Mat, Scalar, PARALLEL_FLOPS};
use std::sync::Arc;

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("MatMul", make_matmul);
    r.register_all("Gemm", make_gemm);
}

// ---------------------------------------------------------------- shapes

/// A planned (possibly batched) matrix product.
#[derive(Debug, Clone)]
pub(crate) struct MmPlan {
    pub(crate) m: usize,
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) out_shape: Vec<usize>,
    /// One gemm of (batch*m) x k by k x n.
    pub(crate) fold: bool,
    /// Offsets of each batch's A and B matrices (when not folded).
    pub(crate) a_offs: Vec<usize>,
    pub(crate) b_offs: Vec<usize>,
}

fn batch_offsets(out_batch: &[usize], xb: &[usize], mat: usize) -> Vec<usize> {
    let nb = out_batch.len();
    let pad = nb - xb.len();
    let mut strides = vec![0usize; nb];
    let mut s = mat;
    for i in (0..xb.len()).rev() {
        if xb[i] != 1 {
            strides[pad + i] = s;
        }
        s *= xb[i];
    }
    let total: usize = out_batch.iter().product();
    let mut offs = Vec::with_capacity(total);
    for idx in 0..total {
        let mut r = idx;
        let mut off = 0;
        for d in (0..nb).rev() {
            off += (r % out_batch[d]) * strides[d];
            r /= out_batch[d];
        }
        offs.push(off);
    }
    offs
}

pub(crate) fn plan_matmul(a: &[usize], b: &[usize]) -> Result<MmPlan> {
    if a.is_empty() || b.is_empty() {
        return Err(Error::ShapeMismatch(format!("MatMul needs inputs of rank >= 1, got {a:?} and {b:?}")));
    }
    let a2: Vec<usize> = if a.len() == 1 { vec![1, a[0]] } else { a.to_vec() };
    let b2: Vec<usize> = if b.len() == 1 { vec![b[0], 1] } else { b.to_vec() };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != k2 {
        return Err(Error::ShapeMismatch(format!(
            "MatMul inner dimensions differ: A {a:?} has K={k}, B {b:?} has K={k2}"
        )));
    }
    let ba = &a2[..a2.len() - 2];
    let bb = &b2[..b2.len() - 2];
    let batch = broadcast_shapes(ba, bb)?;
    let mut out_shape = batch.clone();
    if a.len() > 1 {
        out_shape.push(m);
    }
    if b.len() > 1 {
        out_shape.push(n);
    }
    let nbatch: usize = batch.iter().product();
    let fold = bb.iter().all(|&d| d == 1) && ba.iter().product::<usize>() == nbatch;
    let (a_offs, b_offs) =
        if fold { (vec![], vec![]) } else { (batch_offsets(&batch, ba, m * k), batch_offsets(&batch, bb, k * n)) };
    Ok(MmPlan { m, n, k, out_shape, fold, a_offs, b_offs })
}

impl MmPlan {
    pub(crate) fn out_len(&self) -> usize {
        self.out_shape.iter().product()
    }
    fn batches(&self) -> usize {
        if self.fold {
            1
        } else {
            self.a_offs.len()
        }
    }
}

// ---------------------------------------------------------------- compute

/// Float product in T (f32/f64) following `p`.
fn mm_float<T: Scalar + Element>(p: &MmPlan, a: &[T], b: &[T]) -> Result<Vec<T>> {
    let mut out = ronn_core::pool::for_overwrite::<T>(p.out_len());
    if out.is_empty() {
        return Ok(out);
    }
    let (m, n, k) = (p.m, p.n, p.k);
    if p.fold {
        let rows = out.len() / n;
        gemm(rows, n, k, Mat::rm(a, k), Mat::rm(b, n), &mut out, n, T::ONE, T::ZERO, true)?;
        return Ok(out);
    }
    let one = |i: usize, c: &mut [T], parallel: bool| -> Result<()> {
        let (ao, bo) = (p.a_offs[i], p.b_offs[i]);
        let asl = a.get(ao..ao + m * k).ok_or_else(|| Error::Internal("MatMul: A batch out of range".into()))?;
        let bsl = b.get(bo..bo + k * n).ok_or_else(|| Error::Internal("MatMul: B batch out of range".into()))?;
        gemm(m, n, k, Mat::rm(asl, k), Mat::rm(bsl, n), c, n, T::ONE, T::ZERO, parallel)
    };
    let small = m.saturating_mul(n).saturating_mul(k) < PARALLEL_FLOPS;
    if small && p.batches() > 1 && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(m * n).enumerate().try_for_each(|(i, c)| one(i, c, false))?;
    } else {
        for (i, c) in out.chunks_mut(m * n).enumerate() {
            one(i, c, true)?;
        }
    }
    Ok(out)
}

/// Integer product with wrapping arithmetic (modular, so exact for every int type).
fn mm_int<T: Element>(p: &MmPlan, a: &[T], b: &[T]) -> Result<Vec<T>> {
    let (m, n, k) = (p.m, p.n, p.k);
    let total = p.out_len();
    let mut out = vec![T::default(); total];
    if total == 0 {
        return Ok(out);
    }
    let batches = if p.fold { 1 } else { p.batches() };
    let rows_per = if p.fold { total / n } else { m };
    let mut acc = vec![0i64; n];
    for bi in 0..batches {
        let (ao, bo) = if p.fold { (0, 0) } else { (p.a_offs[bi], p.b_offs[bi]) };
        for i in 0..rows_per {
            acc.fill(0);
            for q in 0..k {
                let av = a.get(ao + i * k + q).copied().unwrap_or_default().to_i64();
                let brow = b.get(bo + q * n..bo + (q + 1) * n).unwrap_or(&[]);
                for (s, bv) in acc.iter_mut().zip(brow) {
                    *s = s.wrapping_add(av.wrapping_mul(bv.to_i64()));
                }
            }
            let base = bi * rows_per * n + i * n;
            for (o, s) in out[base..base + n].iter_mut().zip(&acc) {
                *o = T::from_i64(*s);
            }
        }
    }
    Ok(out)
}

fn to_f32_vec<T: Element>(s: &[T]) -> Vec<f32> {
    s.iter().map(|v| v.to_f64() as f32).collect()
}

fn from_f32_vec<T: Element>(s: &[f32]) -> Vec<T> {
    s.iter().map(|&v| T::from_f64(v as f64)).collect()
}

/// A float tensor as f32 values (f16/bf16 converted); `None` for other types.
fn f32_data(t: &Tensor) -> Result<Vec<f32>> {
    match t.dtype() {
        DType::Float32 => Ok(t.as_slice::<f32>()?.to_vec()),
        DType::Float16 => Ok(to_f32_vec(t.as_slice::<f16>()?)),
        DType::BFloat16 => Ok(to_f32_vec(t.as_slice::<bf16>()?)),
        d => Err(Error::TypeMismatch(format!("expected a float16/bfloat16/float tensor, got {d}"))),
    }
}

fn is_matmul_type(d: DType) -> bool {
    matches!(
        d,
        DType::Float32
            | DType::Float64
            | DType::Float16
            | DType::BFloat16
            | DType::Int32
            | DType::Int64
            | DType::UInt32
            | DType::UInt64
    )
}

/// MatMul on two same-typed tensors; `packed_b` is B pre-converted to f32 (f16/bf16 weights).
fn matmul_tensors(a: &Tensor, b: &Tensor, packed_b: Option<&[f32]>) -> Result<Tensor> {
    if a.dtype() != b.dtype() {
        return Err(Error::TypeMismatch(format!("MatMul inputs differ in type: {} and {}", a.dtype(), b.dtype())));
    }
    let p = plan_matmul(a.shape(), b.shape())?;
    let shape = p.out_shape.clone();
    match a.dtype() {
        DType::Float32 => Tensor::from_vec(shape, mm_float(&p, a.as_slice::<f32>()?, b.as_slice::<f32>()?)?),
        DType::Float64 => Tensor::from_vec(shape, mm_float(&p, a.as_slice::<f64>()?, b.as_slice::<f64>()?)?),
        DType::Float16 | DType::BFloat16 => {
            let af = f32_data(a)?;
            let owned;
            let bf = match packed_b {
                Some(x) => x,
                None => {
                    owned = f32_data(b)?;
                    &owned
                }
            };
            let y = mm_float(&p, &af, bf)?;
            if a.dtype() == DType::Float16 {
                Tensor::from_vec(shape, from_f32_vec::<f16>(&y))
            } else {
                Tensor::from_vec(shape, from_f32_vec::<bf16>(&y))
            }
        }
        d if is_matmul_type(d) => ronn_core::dispatch_int!(d,
            T => Tensor::from_vec(shape, mm_int(&p, a.as_slice::<T>()?, b.as_slice::<T>()?)?),
            _ => Err(Error::TypeMismatch(format!("MatMul does not support {d}")))),
        d => Err(Error::TypeMismatch(format!("MatMul does not support {d}"))),
    }
}

fn make_matmul(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let packed: Option<Arc<Vec<f32>>> = match ctx.constant(1) {
        Some(b) if matches!(b.dtype(), DType::Float16 | DType::BFloat16) => Some(Arc::new(f32_data(b)?)),
        _ => None,
    };
    kernel(move |_ctx, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        output(matmul_tensors(a, b, packed.as_deref().map(|v| v.as_slice()))?)
    })
}

// ---------------------------------------------------------------- Gemm

#[derive(Clone, Copy)]
struct GemmAttrs {
    trans_a: bool,
    trans_b: bool,
    alpha: f32,
    beta: f32,
}

/// C's contribution: `beta * C` broadcast to `[m, n]`, written into `y`.
fn fill_c<T: Element>(y: &mut [f64], c: &Tensor, m: usize, n: usize, beta: f64) -> Result<()> {
    let cs = c.shape();
    if cs.len() > 2 {
        return Err(Error::ShapeMismatch(format!("Gemm C must have rank <= 2, got {cs:?}")));
    }
    let (cm, cn) = match cs.len() {
        0 => (1, 1),
        1 => (1, cs[0]),
        _ => (cs[0], cs[1]),
    };
    if !(cm == 1 || cm == m) || !(cn == 1 || cn == n) {
        return Err(Error::ShapeMismatch(format!("Gemm C of shape {cs:?} cannot broadcast to [{m}, {n}]")));
    }
    let cv = c.as_slice::<T>()?;
    for i in 0..m {
        for j in 0..n {
            let ci = (if cm == 1 { 0 } else { i }) * cn + if cn == 1 { 0 } else { j };
            y[i * n + j] = beta * cv.get(ci).copied().unwrap_or_default().to_f64();
        }
    }
    Ok(())
}

fn c_broadcast_f<T: Scalar + Element>(c: &[T], cs: &[usize], m: usize, n: usize, beta: T) -> Result<Vec<T>> {
    if cs.len() > 2 {
        return Err(Error::ShapeMismatch(format!("Gemm C must have rank <= 2, got {cs:?}")));
    }
    let (cm, cn) = match cs.len() {
        0 => (1, 1),
        1 => (1, cs[0]),
        _ => (cs[0], cs[1]),
    };
    if !(cm == 1 || cm == m) || !(cn == 1 || cn == n) {
        return Err(Error::ShapeMismatch(format!("Gemm C of shape {cs:?} cannot broadcast to [{m}, {n}]")));
    }
    let mut y = ronn_core::pool::zeroed::<T>(m * n);
    if n == 0 {
        return Ok(y);
    }
    for (i, row) in y.chunks_mut(n).enumerate() {
        let ci = if cm == 1 { 0 } else { i };
        if cn == 1 {
            let v = beta * c[ci];
            row.fill(v);
        } else {
            for (o, &cv) in row.iter_mut().zip(&c[ci * cn..ci * cn + n]) {
                *o = beta * cv;
            }
        }
    }
    Ok(y)
}

/// `alpha * op(A) op(B) + beta * C` in T; `b` is given with its own transpose flag.
#[allow(clippy::too_many_arguments)]
fn gemm_float<T: Scalar + Element>(
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    trans_b: bool,
    c: Option<(&[T], &[usize])>,
    at: GemmAttrs,
) -> Result<(Vec<usize>, Vec<T>)> {
    let (m, k, n) = gemm_dims(a_shape, at.trans_a, b_shape, trans_b)?;
    let alpha = T::from_f32(at.alpha);
    let beta = T::from_f32(at.beta);
    let mut y = match c {
        Some((cv, cs)) if at.beta != 0.0 => c_broadcast_f(cv, cs, m, n, beta)?,
        _ => ronn_core::pool::for_overwrite::<T>(m * n),
    };
    let has_c = c.is_some() && at.beta != 0.0;
    let am = Mat { data: a, ld: a_shape[1], trans: at.trans_a };
    let bm = Mat { data: b, ld: b_shape[1], trans: trans_b };
    gemm(m, n, k, am, bm, &mut y, n, alpha, if has_c { T::ONE } else { T::ZERO }, true)?;
    Ok((vec![m, n], y))
}

fn gemm_dims(a: &[usize], ta: bool, b: &[usize], tb: bool) -> Result<(usize, usize, usize)> {
    if a.len() != 2 || b.len() != 2 {
        return Err(Error::ShapeMismatch(format!("Gemm needs 2-D A and B, got {a:?} and {b:?}")));
    }
    let (m, k) = if ta { (a[1], a[0]) } else { (a[0], a[1]) };
    let (k2, n) = if tb { (b[1], b[0]) } else { (b[0], b[1]) };
    if k != k2 {
        return Err(Error::ShapeMismatch(format!("Gemm inner dimensions differ: op(A) is {m}x{k}, op(B) is {k2}x{n}")));
    }
    Ok((m, k, n))
}

fn gemm_int<T: Element>(a: &Tensor, b: &Tensor, c: Option<&Tensor>, at: GemmAttrs) -> Result<Tensor> {
    let (m, k, n) = gemm_dims(a.shape(), at.trans_a, b.shape(), at.trans_b)?;
    let av = a.as_slice::<T>()?;
    let bv = b.as_slice::<T>()?;
    let mut y = vec![0f64; m * n];
    if let Some(c) = c.filter(|_| at.beta != 0.0) {
        fill_c::<T>(&mut y, c, m, n, at.beta as f64)?;
    }
    let (lda, ldb) = (a.shape()[1], b.shape()[1]);
    let mut out = vec![T::default(); m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s: i64 = 0;
            for q in 0..k {
                let ai = if at.trans_a { q * lda + i } else { i * lda + q };
                let bi = if at.trans_b { j * ldb + q } else { q * ldb + j };
                let x = av.get(ai).copied().unwrap_or_default().to_i64();
                let z = bv.get(bi).copied().unwrap_or_default().to_i64();
                s = s.wrapping_add(x.wrapping_mul(z));
            }
            let v = if at.alpha == 1.0 { s } else { (at.alpha as f64 * s as f64) as i64 };
            out[i * n + j] = T::from_i64(v.wrapping_add(y[i * n + j] as i64));
        }
    }
    Tensor::from_vec(vec![m, n], out)
}

/// B prepared at planning time: row-major `K x N` (already transposed).
enum PackedB {
    F32(Vec<f32>, Vec<usize>),
    F64(Vec<f64>, Vec<usize>),
}

fn pack_gemm_b(b: &Tensor, trans_b: bool) -> Result<Option<PackedB>> {
    if b.rank() != 2 {
        return Ok(None);
    }
    let (r, c) = (b.shape()[0], b.shape()[1]);
    let kn = if trans_b { vec![c, r] } else { vec![r, c] };
    Ok(match b.dtype() {
        DType::Float64 => {
            let v = b.as_slice::<f64>()?;
            Some(PackedB::F64(if trans_b { ronn_kernels::gemm::transpose(v, r, c)? } else { v.to_vec() }, kn))
        }
        DType::Float32 | DType::Float16 | DType::BFloat16 => {
            let v = f32_data(b)?;
            Some(PackedB::F32(if trans_b { ronn_kernels::gemm::transpose(&v, r, c)? } else { v }, kn))
        }
        _ => None,
    })
}

fn make_gemm(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let at = GemmAttrs {
        trans_a: node.attr_i_or("transA", 0)? != 0,
        trans_b: node.attr_i_or("transB", 0)? != 0,
        alpha: node.attr_f_or("alpha", 1.0)?,
        beta: node.attr_f_or("beta", 1.0)?,
    };
    let packed = match ctx.constant(1) {
        Some(b) => pack_gemm_b(b, at.trans_b)?,
        None => None,
    };
    kernel(move |_ctx, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        let c = opt_input(inputs, 2)?;
        if a.dtype() != b.dtype() || c.is_some_and(|c| c.dtype() != a.dtype()) {
            return Err(Error::TypeMismatch(format!(
                "Gemm inputs must share one type, got A {}, B {}{}",
                a.dtype(),
                b.dtype(),
                c.map(|c| format!(", C {}", c.dtype())).unwrap_or_default()
            )));
        }
        match a.dtype() {
            DType::Float64 => {
                let (bv, bs, tb) = match &packed {
                    Some(PackedB::F64(v, s)) => (v.as_slice(), s.as_slice(), false),
                    _ => (b.as_slice::<f64>()?, b.shape(), at.trans_b),
                };
                let cc = match c {
                    Some(c) => Some((c.as_slice::<f64>()?, c.shape())),
                    None => None,
                };
                let (s, y) = gemm_float(a.as_slice::<f64>()?, a.shape(), bv, bs, tb, cc, at)?;
                output(Tensor::from_vec(s, y)?)
            }
            DType::Float32 | DType::Float16 | DType::BFloat16 => {
                let dt = a.dtype();
                let a_own;
                let av: &[f32] = if dt == DType::Float32 {
                    a.as_slice::<f32>()?
                } else {
                    a_own = f32_data(a)?;
                    &a_own
                };
                let b_own;
                let (bv, bs, tb): (&[f32], &[usize], bool) = match &packed {
                    Some(PackedB::F32(v, s)) => (v.as_slice(), s.as_slice(), false),
                    _ if dt == DType::Float32 => (b.as_slice::<f32>()?, b.shape(), at.trans_b),
                    _ => {
                        b_own = f32_data(b)?;
                        (&b_own, b.shape(), at.trans_b)
                    }
                };
                let c_own;
                let cc = match c {
                    Some(c) if dt == DType::Float32 => Some((c.as_slice::<f32>()?, c.shape())),
                    Some(c) => {
                        c_own = f32_data(c)?;
                        Some((c_own.as_slice(), c.shape()))
                    }
                    None => None,
                };
                let (s, y) = gemm_float(av, a.shape(), bv, bs, tb, cc, at)?;
                match dt {
                    DType::Float16 => output(Tensor::from_vec(s, from_f32_vec::<f16>(&y))?),
                    DType::BFloat16 => output(Tensor::from_vec(s, from_f32_vec::<bf16>(&y))?),
                    _ => output(Tensor::from_vec(s, y)?),
                }
            }
            DType::Int32 => output(gemm_int::<i32>(a, b, c, at)?),
            DType::Int64 => output(gemm_int::<i64>(a, b, c, at)?),
            DType::UInt32 => output(gemm_int::<u32>(a, b, c, at)?),
            DType::UInt64 => output(gemm_int::<u64>(a, b, c, at)?),
            d => Err(Error::TypeMismatch(format!("Gemm does not support {d}"))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, run_node, run_node_const};
    use ronn_ir::{Attribute, Node};

    fn t32(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }
    fn seq(n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) * scale).collect()
    }
    /// f64 reference of a batched product of contiguous [bs, m, k] x [bs, k, n].
    fn reference(bs: usize, m: usize, k: usize, n: usize, a: &[f32], b: &[f32], b_batched: bool) -> Vec<f32> {
        let mut y = vec![0f32; bs * m * n];
        for x in 0..bs {
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0f64;
                    for q in 0..k {
                        let bo = if b_batched { x * k * n } else { 0 };
                        s += a[x * m * k + i * k + q] as f64 * b[bo + q * n + j] as f64;
                    }
                    y[x * m * n + i * n + j] = s as f32;
                }
            }
        }
        y
    }

    fn mm() -> Node {
        Node::new("MatMul", &["a", "b"], &["y"], 13)
    }

    #[test]
    fn matmul_2d_by_hand() {
        let y = run_node(&mm(), vec![t32(&[2, 2], vec![1., 2., 3., 4.]), t32(&[2, 2], vec![5., 6., 7., 8.])]).unwrap();
        assert_eq!(y[0].shape(), &[2, 2]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[19., 22., 43., 50.]);
    }

    #[test]
    fn matmul_odd_shapes_and_folded_batch() {
        for &(bs, m, k, n) in &[(1, 1, 1, 1), (3, 7, 33, 1), (2, 33, 7, 33), (1, 1, 33, 7), (4, 7, 1, 33)] {
            let a = seq(bs * m * k, 0.25);
            let b = seq(k * n, 0.5);
            let want = reference(bs, m, k, n, &a, &b, false);
            for constant in [false, true] {
                let inputs = vec![t32(&[bs, m, k], a.clone()), t32(&[k, n], b.clone())];
                let y = if constant { run_node_const(&mm(), inputs) } else { run_node(&mm(), inputs) }.unwrap();
                assert_eq!(y[0].shape(), &[bs, m, n]);
                assert_close(y[0].as_slice::<f32>().unwrap(), &want);
            }
        }
    }

    #[test]
    fn matmul_batched_attention_and_broadcast() {
        // [2,3,5,4] x [2,3,4,5]
        let a = seq(2 * 3 * 5 * 4, 0.1);
        let b = seq(2 * 3 * 4 * 5, 0.2);
        let y = run_node(&mm(), vec![t32(&[2, 3, 5, 4], a.clone()), t32(&[2, 3, 4, 5], b.clone())]).unwrap();
        assert_eq!(y[0].shape(), &[2, 3, 5, 5]);
        assert_close(y[0].as_slice::<f32>().unwrap(), &reference(6, 5, 4, 5, &a, &b, true));
        // broadcast: [2,1,3,4] x [5,4,2] -> [2,5,3,2]
        let a = seq(2 * 3 * 4, 1.0);
        let b = seq(5 * 4 * 2, 1.0);
        let y = run_node(&mm(), vec![t32(&[2, 1, 3, 4], a.clone()), t32(&[5, 4, 2], b.clone())]).unwrap();
        assert_eq!(y[0].shape(), &[2, 5, 3, 2]);
        let got = y[0].as_slice::<f32>().unwrap();
        for x in 0..2 {
            for z in 0..5 {
                let want = reference(1, 3, 4, 2, &a[x * 12..(x + 1) * 12], &b[z * 8..(z + 1) * 8], false);
                assert_close(&got[(x * 5 + z) * 6..(x * 5 + z + 1) * 6], &want);
            }
        }
    }

    #[test]
    fn matmul_1d_promotion() {
        let y = run_node(&mm(), vec![t32(&[3], vec![1., 2., 3.]), t32(&[3], vec![4., 5., 6.])]).unwrap();
        assert_eq!(y[0].shape(), &[] as &[usize]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[32.]);
        let y = run_node(&mm(), vec![t32(&[2, 2, 3], seq(12, 1.0)), t32(&[3], vec![1., 0., -1.])]).unwrap();
        assert_eq!(y[0].shape(), &[2, 2]);
        let s = seq(12, 1.0);
        let want: Vec<f32> = (0..4).map(|r| s[r * 3] - s[r * 3 + 2]).collect();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &want[..]);
        let y = run_node(&mm(), vec![t32(&[2], vec![1., 2.]), t32(&[3, 2, 1], seq(6, 1.0))]).unwrap();
        assert_eq!(y[0].shape(), &[3, 1]);
    }

    #[test]
    fn matmul_other_types() {
        let y = run_node(
            &mm(),
            vec![
                Tensor::from_vec(vec![1, 2], vec![3i64, -4]).unwrap(),
                Tensor::from_vec(vec![2, 1], vec![5i64, 6]).unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[-9]);
        let y = run_node(
            &mm(),
            vec![
                Tensor::from_vec(vec![1, 2], vec![3u32, 4]).unwrap(),
                Tensor::from_vec(vec![2, 1], vec![5u32, 6]).unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<u32>().unwrap(), &[39]);
        let h = |v: &[f32]| v.iter().map(|&x| f16::from_f32(x)).collect::<Vec<_>>();
        let inputs = vec![
            Tensor::from_vec(vec![1, 2], h(&[1.5, 2.0])).unwrap(),
            Tensor::from_vec(vec![2, 1], h(&[2.0, -1.0])).unwrap(),
        ];
        for y in [run_node(&mm(), inputs.clone()).unwrap(), run_node_const(&mm(), inputs).unwrap()] {
            assert_eq!(y[0].as_slice::<f16>().unwrap(), &[f16::from_f32(1.0)]);
        }
        let y = run_node(
            &mm(),
            vec![
                Tensor::from_vec(vec![1, 1], vec![2.5f64]).unwrap(),
                Tensor::from_vec(vec![1, 2], vec![2.0f64, 4.0]).unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[5.0, 10.0]);
    }

    #[test]
    fn matmul_errors_and_empty() {
        assert!(run_node(&mm(), vec![t32(&[2, 3], seq(6, 1.)), t32(&[2, 3], seq(6, 1.))]).is_err());
        assert!(run_node(&mm(), vec![t32(&[2, 2, 3], seq(12, 1.)), t32(&[3, 3, 2], seq(18, 1.))]).is_err());
        assert!(run_node(&mm(), vec![t32(&[], vec![1.]), t32(&[1], vec![1.])]).is_err());
        let ty = run_node(&mm(), vec![t32(&[1, 1], vec![1.]), Tensor::from_vec(vec![1, 1], vec![1i32]).unwrap()]);
        assert!(matches!(ty, Err(Error::TypeMismatch(_))));
        let y = run_node(&mm(), vec![t32(&[0, 3], vec![]), t32(&[3, 4], seq(12, 1.))]).unwrap();
        assert_eq!(y[0].shape(), &[0, 4]);
        let y = run_node(&mm(), vec![t32(&[2, 0], vec![]), t32(&[0, 2], vec![])]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 0., 0., 0.]);
    }

    fn gemm_node(ta: i64, tb: i64, alpha: f32, beta: f32, with_c: bool) -> Node {
        let ins: &[&str] = if with_c { &["a", "b", "c"] } else { &["a", "b"] };
        Node::new("Gemm", ins, &["y"], 13)
            .with_attr("transA", Attribute::Int(ta))
            .with_attr("transB", Attribute::Int(tb))
            .with_attr("alpha", Attribute::Float(alpha))
            .with_attr("beta", Attribute::Float(beta))
    }

    #[test]
    fn gemm_all_attributes_and_broadcast_c() {
        // A^T: A stored [k=3, m=2]; B^T stored [n=4, k=3]
        let a = seq(6, 1.0);
        let b = seq(12, 0.5);
        let at: Vec<f32> = (0..2).flat_map(|i| (0..3).map(move |q| (i, q))).map(|(i, q)| a[q * 2 + i]).collect();
        let bt: Vec<f32> = (0..3).flat_map(|q| (0..4).map(move |j| (q, j))).map(|(q, j)| b[j * 3 + q]).collect();
        let ab = reference(1, 2, 3, 4, &at, &bt, false);
        for (cshape, cvals) in
            [(vec![4usize], vec![1f32, 2., 3., 4.]), (vec![2, 1], vec![10., 20.]), (vec![], vec![7.])]
        {
            let c = t32(&cshape, cvals.clone());
            let want: Vec<f32> = (0..8)
                .map(|idx| {
                    let (i, j) = (idx / 4, idx % 4);
                    let cv = match cshape.len() {
                        0 => cvals[0],
                        1 => cvals[j],
                        _ => cvals[i],
                    };
                    0.25 * ab[idx] + 0.35 * cv
                })
                .collect();
            let node = gemm_node(1, 1, 0.25, 0.35, true);
            let inputs = vec![t32(&[3, 2], a.clone()), t32(&[4, 3], b.clone()), c.clone()];
            for y in [run_node(&node, inputs.clone()).unwrap(), run_node_const(&node, inputs).unwrap()] {
                assert_eq!(y[0].shape(), &[2, 4]);
                assert_close(y[0].as_slice::<f32>().unwrap(), &want);
            }
        }
        // no C
        let y = run_node(&gemm_node(1, 1, 1.0, 1.0, false), vec![t32(&[3, 2], a.clone()), t32(&[4, 3], b.clone())])
            .unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &ab);
        // bad C
        let bad = run_node(
            &gemm_node(1, 1, 1.0, 1.0, true),
            vec![t32(&[3, 2], a.clone()), t32(&[4, 3], b.clone()), t32(&[3], vec![1., 2., 3.])],
        );
        assert!(matches!(bad, Err(Error::ShapeMismatch(_))));
        // bad K
        assert!(run_node(&gemm_node(0, 1, 1.0, 1.0, false), vec![t32(&[3, 2], a), t32(&[4, 3], b)]).is_err());
    }

    #[test]
    fn gemm_int_and_f64() {
        let y = run_node(
            &gemm_node(0, 0, 1.0, 2.0, true),
            vec![
                Tensor::from_vec(vec![1, 2], vec![1i32, 2]).unwrap(),
                Tensor::from_vec(vec![2, 2], vec![3i32, 4, 5, 6]).unwrap(),
                Tensor::from_vec(vec![2], vec![1i32, -1]).unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[15, 14]);
        let y = run_node(
            &gemm_node(0, 1, 2.0, 1.0, false),
            vec![
                Tensor::from_vec(vec![1, 2], vec![1f64, 2.]).unwrap(),
                Tensor::from_vec(vec![1, 2], vec![3f64, 4.]).unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[22.0]);
    }
}
