//! Einsum: Einstein summation over any number of operands.
//! See <https://onnx.ai/onnx/operators/onnx__Einsum.html> (opset 12, unchanged since).
//!
//! The equation parser handles explicit (`->`) and implicit outputs (labels used
//! once, in ASCII order, after the ellipsis dims), ellipsis broadcasting, repeated
//! labels inside one operand (diagonals) and labels summed away. Size-1 dims
//! broadcast. Two-operand equations without diagonals or per-operand sums (batched
//! matmul like `bij,bjk->bik`, inner/outer products) are packed into
//! [batch, M, K] x [batch, N, K] and run as contiguous dot products; everything else
//! runs a direct strided loop. f16/bf16 compute in f32; integers in i64/u64
//! with wrapping.

use crate::helpers::{kernel, output};
use rayon::prelude::*;
use ronn_core::{bf16, f16, DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

const PAR_MIN: usize = 1 << 14;
/// Label ids: 0..128 are ASCII letters; ellipsis dims get 128 + i.
const ELL_BASE: usize = 128;
/// Register tile of the batched-matmul path: MR rows x NR columns of the output.
const MR: usize = 4;
const NR: usize = 8;

/// A parsed equation: labels of each input term and of the output.
#[derive(Debug, Clone)]
struct Equation {
    /// Per input: its terms, with `None` marking the ellipsis position.
    inputs: Vec<Vec<Option<u8>>>,
    /// Explicit output (with `None` for the ellipsis), or `None` for implicit.
    output: Option<Vec<Option<u8>>>,
}

fn parse_term(s: &str) -> Result<Vec<Option<u8>>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut seen_ell = false;
    while i < b.len() {
        let c = b[i];
        if c == b'.' {
            if b.get(i + 1) != Some(&b'.') || b.get(i + 2) != Some(&b'.') || seen_ell {
                return Err(Error::InvalidArgument(format!("bad ellipsis in einsum term '{s}'")));
            }
            seen_ell = true;
            out.push(None);
            i += 3;
        } else if c.is_ascii_alphabetic() {
            out.push(Some(c));
            i += 1;
        } else {
            return Err(Error::InvalidArgument(format!("invalid character '{}' in einsum term '{s}'", c as char)));
        }
    }
    Ok(out)
}

fn parse(eq: &str) -> Result<Equation> {
    let eq: String = eq.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (eq.as_str(), None),
    };
    let inputs = lhs.split(',').map(parse_term).collect::<Result<Vec<_>>>()?;
    let output = rhs.map(parse_term).transpose()?;
    Ok(Equation { inputs, output })
}

/// The equation resolved against actual input shapes.
#[derive(Debug, Clone)]
struct Plan {
    /// Label ids of each input's dims (one per dim).
    in_labels: Vec<Vec<usize>>,
    /// Output label ids, in order.
    out_labels: Vec<usize>,
    /// Summed label ids.
    sum_labels: Vec<usize>,
    /// Size of every label id (index by id).
    size: Vec<usize>,
}

fn resolve(eq: &Equation, shapes: &[&[usize]]) -> Result<Plan> {
    if eq.inputs.len() != shapes.len() {
        return Err(Error::InvalidArgument(format!(
            "einsum equation has {} operands but {} inputs were given",
            eq.inputs.len(),
            shapes.len()
        )));
    }
    // Ellipsis dims per operand.
    let mut n_ell = 0usize;
    let mut ell_of = Vec::with_capacity(shapes.len());
    for (t, s) in eq.inputs.iter().zip(shapes) {
        let letters = t.iter().filter(|l| l.is_some()).count();
        let has_ell = t.iter().any(|l| l.is_none());
        let e = if has_ell {
            s.len().checked_sub(letters).ok_or_else(|| {
                Error::ShapeMismatch(format!("einsum operand of shape {s:?} has fewer dims than its term's labels"))
            })?
        } else {
            if letters != s.len() {
                return Err(Error::ShapeMismatch(format!(
                    "einsum term has {letters} labels but its operand has shape {s:?}"
                )));
            }
            0
        };
        n_ell = n_ell.max(e);
        ell_of.push(e);
    }
    let mut size = vec![0usize; ELL_BASE + n_ell];
    let mut known = vec![false; ELL_BASE + n_ell];
    let mut count = [0usize; 128];
    let mut in_labels = Vec::new();
    for ((t, s), &e) in eq.inputs.iter().zip(shapes).zip(&ell_of) {
        let mut ids = Vec::with_capacity(s.len());
        for l in t {
            match l {
                Some(c) => {
                    ids.push(*c as usize);
                    count[*c as usize] += 1;
                }
                None => ids.extend((n_ell - e..n_ell).map(|i| ELL_BASE + i)),
            }
        }
        for (&id, &d) in ids.iter().zip(s.iter()) {
            if !known[id] || size[id] == 1 {
                size[id] = d;
                known[id] = true;
            } else if d != size[id] && d != 1 {
                return Err(Error::ShapeMismatch(format!(
                    "einsum label '{}' has sizes {} and {d}",
                    if id < 128 { (id as u8 as char).to_string() } else { "...".into() },
                    size[id]
                )));
            }
        }
        in_labels.push(ids);
    }
    let ell_ids: Vec<usize> = (0..n_ell).map(|i| ELL_BASE + i).collect();
    let out_labels: Vec<usize> = match &eq.output {
        Some(o) => {
            let mut v = Vec::new();
            for l in o {
                match l {
                    Some(c) => {
                        let id = *c as usize;
                        if !known[id] {
                            return Err(Error::InvalidArgument(format!(
                                "einsum output label '{}' does not appear in any input",
                                *c as char
                            )));
                        }
                        if v.contains(&id) {
                            return Err(Error::InvalidArgument(format!(
                                "einsum output repeats label '{}'",
                                *c as char
                            )));
                        }
                        v.push(id);
                    }
                    None => v.extend(&ell_ids),
                }
            }
            v
        }
        None => {
            let mut v = ell_ids.clone();
            v.extend((0..128).filter(|&c| count[c] == 1));
            v
        }
    };
    let mut sum_labels = Vec::new();
    for ids in &in_labels {
        for &id in ids {
            if !out_labels.contains(&id) && !sum_labels.contains(&id) {
                sum_labels.push(id);
            }
        }
    }
    Ok(Plan { in_labels, out_labels, sum_labels, size })
}

/// Arithmetic einsum computes in.
trait Num: Copy + Send + Sync + 'static {
    const ZERO: Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
}
macro_rules! num_float {
    ($t:ty) => {
        impl Num for $t {
            const ZERO: Self = 0.0;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
        }
    };
}
num_float!(f32);
num_float!(f64);
macro_rules! num_int {
    ($t:ty) => {
        impl Num for $t {
            const ZERO: Self = 0;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
        }
    };
}
num_int!(i64);
num_int!(u64);

/// Strides of operand `k` per label id (diagonals add up; broadcast dims are 0).
fn label_strides(p: &Plan, k: usize, shape: &[usize]) -> Vec<usize> {
    let mut st = vec![0usize; p.size.len()];
    let ds = ronn_core::strides_of(shape);
    for (j, &id) in p.in_labels[k].iter().enumerate() {
        if shape[j] != 1 || p.size[id] == 1 {
            st[id] += ds[j];
        }
    }
    st
}

/// Direct strided loop over output x summed labels.
fn general<A: Num>(p: &Plan, xs: &[Vec<A>], shapes: &[&[usize]]) -> Vec<A> {
    let strides: Vec<Vec<usize>> = (0..xs.len()).map(|k| label_strides(p, k, shapes[k])).collect();
    let n_out: usize = p.out_labels.iter().map(|&l| p.size[l]).product();
    let sum_sizes: Vec<usize> = p.sum_labels.iter().map(|&l| p.size[l]).collect();
    let n_sum: usize = sum_sizes.iter().product();
    // Per operand, the offset of every summed index (flattened), precomputed.
    let sum_offs: Vec<Vec<usize>> = strides
        .iter()
        .map(|st| {
            let mut offs = vec![0usize];
            for &l in &p.sum_labels {
                let mut next = Vec::with_capacity(offs.len() * p.size[l]);
                for &o in &offs {
                    for i in 0..p.size[l] {
                        next.push(o + i * st[l]);
                    }
                }
                offs = next;
            }
            offs
        })
        .collect();
    let mut out = vec![A::ZERO; n_out];
    let f = |(oi, dst): (usize, &mut A)| {
        let mut rem = oi;
        let mut base = vec![0usize; xs.len()];
        for &l in p.out_labels.iter().rev() {
            let i = rem % p.size[l];
            rem /= p.size[l];
            for (b, st) in base.iter_mut().zip(&strides) {
                *b += i * st[l];
            }
        }
        let mut acc = A::ZERO;
        for s in 0..n_sum {
            let mut prod = xs[0][base[0] + sum_offs[0][s]];
            for k in 1..xs.len() {
                prod = prod.mul(xs[k][base[k] + sum_offs[k][s]]);
            }
            acc = acc.add(prod);
        }
        *dst = acc;
    };
    if n_out * n_sum.max(1) >= PAR_MIN {
        out.par_iter_mut().enumerate().with_min_len(8).for_each(f);
    } else {
        out.iter_mut().enumerate().for_each(f);
    }
    out
}

/// Gathers `x` (operand with label strides `st`) into the order of `labels`, contiguous.
fn pack<A: Num>(x: &[A], st: &[usize], labels: &[usize], size: &[usize]) -> Vec<A> {
    let n: usize = labels.iter().map(|&l| size[l]).product();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let mut idx = vec![0usize; labels.len()];
    let mut off = 0usize;
    for _ in 0..n {
        out.push(x[off]);
        for d in (0..labels.len()).rev() {
            let l = labels[d];
            idx[d] += 1;
            off += st[l];
            if idx[d] < size[l] {
                break;
            }
            off -= st[l] * size[l];
            idx[d] = 0;
        }
    }
    out
}

#[inline]
fn dot<A: Num>(a: &[A], b: &[A]) -> A {
    let mut lanes = [A::ZERO; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            lanes[l] = lanes[l].add(x[l].mul(y[l]));
        }
    }
    let mut acc = A::ZERO;
    for (&x, &y) in ra.iter().zip(rb) {
        acc = acc.add(x.mul(y));
    }
    for l in lanes {
        acc = acc.add(l);
    }
    acc
}

/// Two operands, every label either batch, M, N or K: packed batched dot products.
/// Returns `None` when the equation does not have that form.
fn two_operand<A: Num>(p: &Plan, xs: &[Vec<A>], shapes: &[&[usize]]) -> Option<Vec<A>> {
    let (la, lb) = (&p.in_labels[0], &p.in_labels[1]);
    let uniq = |v: &Vec<usize>| v.iter().enumerate().all(|(i, l)| !v[..i].contains(l));
    if !uniq(la) || !uniq(lb) {
        return None;
    }
    // No broadcasting (size-1 against larger).
    for (k, ls) in [la, lb].into_iter().enumerate() {
        if ls.iter().zip(shapes[k].iter()).any(|(&l, &d)| d != p.size[l]) {
            return None;
        }
    }
    let out = &p.out_labels;
    let mut batch = vec![];
    let mut m = vec![];
    let mut n = vec![];
    let mut k = vec![];
    for &l in la {
        match (lb.contains(&l), out.contains(&l)) {
            (true, true) => batch.push(l),
            (false, true) => m.push(l),
            (true, false) => k.push(l),
            (false, false) => return None,
        }
    }
    for &l in lb {
        match (la.contains(&l), out.contains(&l)) {
            (false, true) => n.push(l),
            (false, false) => return None,
            _ => {}
        }
    }
    let prod = |v: &[usize]| v.iter().map(|&l| p.size[l]).product::<usize>();
    let (nb, nm, nn, nk) = (prod(&batch), prod(&m), prod(&n), prod(&k));
    let sa = label_strides(p, 0, shapes[0]);
    let sb = label_strides(p, 1, shapes[1]);
    let order_a: Vec<usize> = batch.iter().chain(&m).chain(&k).copied().collect();
    // Wide outputs: B packed [batch, K, N] and rows of C built by axpy (vectorizes
    // over N); narrow ones: B packed [batch, N, K] and dot products.
    let axpy = nn >= 8;
    let order_b: Vec<usize> =
        if axpy { batch.iter().chain(&k).chain(&n) } else { batch.iter().chain(&n).chain(&k) }.copied().collect();
    let pa = pack(&xs[0], &sa, &order_a, &p.size);
    let pb = pack(&xs[1], &sb, &order_b, &p.size);
    // C as [batch, m, n]
    let mut c = vec![A::ZERO; nb * nm * nn];
    if !c.is_empty() && nk > 0 && axpy {
        // Blocks of MR rows of C (within one batch): MR x NR register tiles over
        // all of K, axpy rows for the leftovers.
        let rows_per = if nm >= MR { MR } else { 1 };
        let blocks_per_batch = nm.div_ceil(rows_per);
        let f = |(blk, dst): (usize, &mut [A])| {
            let (bi, m0) = (blk / blocks_per_batch, (blk % blocks_per_batch) * rows_per);
            let rows = dst.len() / nn;
            let a_of = |r: usize| &pa[(bi * nm + m0 + r) * nk..(bi * nm + m0 + r + 1) * nk];
            let b_batch = &pb[bi * nk * nn..(bi + 1) * nk * nn];
            let mut n0 = 0;
            if rows == MR {
                let (a0, a1, a2, a3) = (a_of(0), a_of(1), a_of(2), a_of(3));
                while n0 + NR <= nn {
                    let mut acc = [[A::ZERO; NR]; MR];
                    for kk in 0..nk {
                        let b: &[A; NR] = match b_batch[kk * nn + n0..kk * nn + n0 + NR].try_into() {
                            Ok(b) => b,
                            Err(_) => return,
                        };
                        let av = [a0[kk], a1[kk], a2[kk], a3[kk]];
                        for r in 0..MR {
                            for cc in 0..NR {
                                acc[r][cc] = acc[r][cc].add(av[r].mul(b[cc]));
                            }
                        }
                    }
                    for (r, acc_r) in acc.iter().enumerate() {
                        dst[r * nn + n0..r * nn + n0 + NR].copy_from_slice(acc_r);
                    }
                    n0 += NR;
                }
            }
            for r in 0..rows {
                let ar = a_of(r);
                let drow = &mut dst[r * nn + n0..(r + 1) * nn];
                for (ki, &a) in ar.iter().enumerate() {
                    let br = &b_batch[ki * nn + n0..(ki + 1) * nn];
                    for (d, &b) in drow.iter_mut().zip(br) {
                        *d = d.add(a.mul(b));
                    }
                }
            }
        };
        // Chunks of rows_per rows, never straddling batches (rows_per divides nm or is 1).
        if rows_per == MR && nm % MR != 0 {
            // Split each batch's rows into MR-row blocks by hand.
            let mut parts: Vec<(usize, &mut [A])> = Vec::new();
            for (bi, bc) in c.chunks_mut(nm * nn).enumerate() {
                for (j, ch) in bc.chunks_mut(MR * nn).enumerate() {
                    parts.push((bi * blocks_per_batch + j, ch));
                }
            }
            if nb * nm * nn * nk >= PAR_MIN {
                parts.into_par_iter().for_each(f);
            } else {
                parts.into_iter().for_each(f);
            }
        } else if nb * nm * nn * nk >= PAR_MIN {
            c.par_chunks_mut(rows_per * nn).enumerate().for_each(f);
        } else {
            c.chunks_mut(rows_per * nn).enumerate().for_each(f);
        }
    } else if !c.is_empty() && nk > 0 {
        let f = |(row, dst): (usize, &mut [A])| {
            let (bi, mi) = (row / nm, row % nm);
            let ar = &pa[(bi * nm + mi) * nk..(bi * nm + mi + 1) * nk];
            for (ni, d) in dst.iter_mut().enumerate() {
                let br = &pb[(bi * nn + ni) * nk..(bi * nn + ni + 1) * nk];
                *d = dot(ar, br);
            }
        };
        if nn > 0 {
            if nb * nm * nn * nk >= PAR_MIN {
                c.par_chunks_mut(nn).enumerate().for_each(f);
            } else {
                c.chunks_mut(nn).enumerate().for_each(f);
            }
        }
    }
    // Permute [batch, m, n] into the output order.
    let c_labels: Vec<usize> = batch.iter().chain(&m).chain(&n).copied().collect();
    if c_labels == *out {
        return Some(c);
    }
    let c_shape: Vec<usize> = c_labels.iter().map(|&l| p.size[l]).collect();
    let cs = ronn_core::strides_of(&c_shape);
    let mut st = vec![0usize; p.size.len()];
    for (i, &l) in c_labels.iter().enumerate() {
        st[l] = cs[i];
    }
    Some(pack(&c, &st, out, &p.size))
}

fn compute<A: Num>(p: &Plan, xs: &[Vec<A>], shapes: &[&[usize]]) -> Vec<A> {
    if xs.len() == 2 {
        if let Some(r) = two_operand(p, xs, shapes) {
            return r;
        }
    }
    general(p, xs, shapes)
}

fn run(eq: &Equation, ts: &[&Tensor]) -> Result<Tensor> {
    if ts.is_empty() {
        return Err(Error::InvalidArgument("Einsum needs at least one input".into()));
    }
    let dt = ts[0].dtype();
    if let Some(t) = ts.iter().find(|t| t.dtype() != dt) {
        return Err(Error::TypeMismatch(format!("Einsum inputs must share one type, got {dt} and {}", t.dtype())));
    }
    let shapes: Vec<&[usize]> = ts.iter().map(|t| t.shape()).collect();
    let p = resolve(eq, &shapes)?;
    let out_shape: Vec<usize> = p.out_labels.iter().map(|&l| p.size[l]).collect();
    macro_rules! via {
        ($A:ty, $T:ty, $to:expr, $back:expr) => {{
            let xs: Vec<Vec<$A>> =
                ts.iter().map(|t| Ok(t.as_slice::<$T>()?.iter().map(|&v| $to(v)).collect())).collect::<Result<_>>()?;
            let r = compute(&p, &xs, &shapes);
            Tensor::from_vec(out_shape, r.into_iter().map($back).collect::<Vec<$T>>())
        }};
    }
    match dt {
        DType::Float32 => {
            let xs: Vec<Vec<f32>> = ts.iter().map(|t| Ok(t.as_slice::<f32>()?.to_vec())).collect::<Result<_>>()?;
            Tensor::from_vec(out_shape, compute(&p, &xs, &shapes))
        }
        DType::Float64 => via!(f64, f64, |v| v, |v| v),
        DType::Float16 => via!(f32, f16, |v: f16| v.to_f32(), f16::from_f32),
        DType::BFloat16 => via!(f32, bf16, |v: bf16| v.to_f32(), bf16::from_f32),
        DType::Int8 => via!(i64, i8, |v| v as i64, |v| v as i8),
        DType::Int16 => via!(i64, i16, |v| v as i64, |v| v as i16),
        DType::Int32 => via!(i64, i32, |v| v as i64, |v| v as i32),
        DType::Int64 => via!(i64, i64, |v| v, |v| v),
        DType::UInt8 => via!(u64, u8, |v| v as u64, |v| v as u8),
        DType::UInt16 => via!(u64, u16, |v| v as u64, |v| v as u16),
        DType::UInt32 => via!(u64, u32, |v| v as u64, |v| v as u32),
        DType::UInt64 => via!(u64, u64, |v| v, |v| v),
        d => Err(Error::TypeMismatch(format!("Einsum does not support element type {d}"))),
    }
}

fn make_einsum(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let eq_s = node.attr_s("equation")?.ok_or_else(|| node.unsupported("Einsum needs the 'equation' attribute"))?;
    let eq = parse(&eq_s).map_err(|e| node.unsupported(format!("equation '{eq_s}': {e}")))?;
    if eq.inputs.len() != node.inputs.len() {
        return Err(node.unsupported(format!(
            "equation '{eq_s}' has {} operands but the node has {} inputs",
            eq.inputs.len(),
            node.inputs.len()
        )));
    }
    kernel(move |_, inputs| {
        let ts: Vec<&Tensor> = (0..inputs.len()).map(|i| crate::helpers::input(inputs, i)).collect::<Result<_>>()?;
        output(run(&eq, &ts)?)
    })
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "Einsum", 12, i64::MAX, make_einsum);
}

#[cfg(test)]
mod tests;
