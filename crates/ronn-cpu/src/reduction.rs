//! Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
//! ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare, ArgMax, ArgMin, CumSum
//! and CumProd. See <https://onnx.ai/onnx/operators/>.
//!
//! Opset changes handled:
//! - `axes` is an attribute before opset 13 (ReduceSum) / 18 (the other Reduce*),
//!   an optional int64 input from then on, together with `noop_with_empty_axes`.
//! - ReduceMax/ReduceMin accept bool (opset 20); empty reduced sets give the
//!   identity (0 for sums, 1 for products, the type's lowest/highest value for
//!   max/min, -inf for the log reductions).
//! - ArgMax/ArgMin `select_last_index` (opset 12).
//! - CumSum `exclusive`/`reverse` with the axis as an input; CumProd (opset 26).
//!
//! The reduced axes are merged into the (outer, reduced, inner) form whenever they
//! are contiguous, so the common "over the last axis" and "over one middle block"
//! cases run on contiguous slices (8 accumulator lanes) and in parallel for large
//! inputs; any other set of axes uses a precomputed offset table.

use crate::helpers::{input, ints_of, kernel, opt_input, output};
use half::{bf16, f16};
use rayon::prelude::*;
use ronn_core::{normalize_axis, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Inputs at or above this many elements are reduced in parallel.
const PAR_MIN: usize = 1 << 16;

// ---------------------------------------------------------------------------
// Accumulator types
// ---------------------------------------------------------------------------

/// A type reductions compute in: f32, f64, i64 (signed ints) or u64 (unsigned, bool).
trait RVal: Copy + Send + Sync + PartialOrd + 'static {
    const ZERO: Self;
    const ONE: Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
}

/// Float accumulators (for the ops that need sqrt / log / exp / division).
trait RFloat: RVal {
    const NEG_INF: Self;
    fn sub(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    fn ln(self) -> Self;
    fn exp(self) -> Self;
    fn div_n(self, n: usize) -> Self;
    fn finite(self) -> bool;
}

macro_rules! rval_float {
    ($t:ty) => {
        impl RVal for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
        impl RFloat for $t {
            const NEG_INF: Self = <$t>::NEG_INFINITY;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self - o
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn div_n(self, n: usize) -> Self {
                self / n as $t
            }
            #[inline(always)]
            fn finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}
rval_float!(f32);
rval_float!(f64);

impl RVal for i64 {
    const ZERO: Self = 0;
    const ONE: Self = 1;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.wrapping_mul(o)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.wrapping_abs()
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
}

impl RVal for u64 {
    const ZERO: Self = 0;
    const ONE: Self = 1;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.wrapping_mul(o)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------
// Reduction operators (zero-sized or small structs, monomorphized)
// ---------------------------------------------------------------------------

/// One reduction: `finish(fold(step, init), n)`; `combine` merges partial accumulators.
/// `s` is a per-output shift (only LogSumExp uses it).
trait ROp<A: RVal>: Copy + Send + Sync {
    fn init(&self) -> A;
    fn step(&self, acc: A, x: A, s: A) -> A;
    fn combine(&self, a: A, b: A) -> A;
    fn finish(&self, acc: A, _n: usize, _s: A) -> A {
        acc
    }
}

#[derive(Clone, Copy)]
struct SumOp;
impl<A: RVal> ROp<A> for SumOp {
    fn init(&self) -> A {
        A::ZERO
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        acc.add(x)
    }
    fn combine(&self, a: A, b: A) -> A {
        a.add(b)
    }
}

#[derive(Clone, Copy)]
struct SumSqOp;
impl<A: RVal> ROp<A> for SumSqOp {
    fn init(&self) -> A {
        A::ZERO
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        acc.add(x.mul(x))
    }
    fn combine(&self, a: A, b: A) -> A {
        a.add(b)
    }
}

#[derive(Clone, Copy)]
struct L1Op;
impl<A: RVal> ROp<A> for L1Op {
    fn init(&self) -> A {
        A::ZERO
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        acc.add(x.abs())
    }
    fn combine(&self, a: A, b: A) -> A {
        a.add(b)
    }
}

#[derive(Clone, Copy)]
struct ProdOp;
impl<A: RVal> ROp<A> for ProdOp {
    fn init(&self) -> A {
        A::ONE
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        acc.mul(x)
    }
    fn combine(&self, a: A, b: A) -> A {
        a.mul(b)
    }
}

/// Max with numpy's NaN propagation; `lo` is the identity (the type's lowest value).
#[derive(Clone, Copy)]
struct MaxOp<A>(A);
impl<A: RVal> ROp<A> for MaxOp<A> {
    fn init(&self) -> A {
        self.0
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        // Non-short-circuit `|` so the select vectorizes.
        if (x > acc) | x.is_nan() {
            x
        } else {
            acc
        }
    }
    fn combine(&self, a: A, b: A) -> A {
        if a.is_nan() {
            a
        } else {
            self.step(a, b, a)
        }
    }
}

/// Min with NaN propagation; `hi` is the identity (the type's highest value).
#[derive(Clone, Copy)]
struct MinOp<A>(A);
impl<A: RVal> ROp<A> for MinOp<A> {
    fn init(&self) -> A {
        self.0
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        if (x < acc) | x.is_nan() {
            x
        } else {
            acc
        }
    }
    fn combine(&self, a: A, b: A) -> A {
        if a.is_nan() {
            a
        } else {
            self.step(a, b, a)
        }
    }
}

#[derive(Clone, Copy)]
struct MeanOp;
impl<A: RFloat> ROp<A> for MeanOp {
    fn init(&self) -> A {
        A::ZERO
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        acc.add(x)
    }
    fn combine(&self, a: A, b: A) -> A {
        a.add(b)
    }
    fn finish(&self, acc: A, n: usize, _: A) -> A {
        acc.div_n(n)
    }
}

#[derive(Clone, Copy)]
struct L2Op;
impl<A: RFloat> ROp<A> for L2Op {
    fn init(&self) -> A {
        A::ZERO
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        acc.add(x.mul(x))
    }
    fn combine(&self, a: A, b: A) -> A {
        a.add(b)
    }
    fn finish(&self, acc: A, _: usize, _: A) -> A {
        acc.sqrt()
    }
}

#[derive(Clone, Copy)]
struct LogSumOp;
impl<A: RFloat> ROp<A> for LogSumOp {
    fn init(&self) -> A {
        A::ZERO
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, _: A) -> A {
        acc.add(x)
    }
    fn combine(&self, a: A, b: A) -> A {
        a.add(b)
    }
    fn finish(&self, acc: A, _: usize, _: A) -> A {
        acc.ln()
    }
}

/// `ln(sum(exp(x - s))) + s` with `s` the (finite) max of the reduced set.
#[derive(Clone, Copy)]
struct LogSumExpOp;
impl<A: RFloat> ROp<A> for LogSumExpOp {
    fn init(&self) -> A {
        A::ZERO
    }
    #[inline(always)]
    fn step(&self, acc: A, x: A, s: A) -> A {
        acc.add(x.sub(s).exp())
    }
    fn combine(&self, a: A, b: A) -> A {
        a.add(b)
    }
    fn finish(&self, acc: A, _: usize, s: A) -> A {
        acc.ln().add(s)
    }
}

// ---------------------------------------------------------------------------
// Layout: which input elements feed which output
// ---------------------------------------------------------------------------

/// How the reduced axes sit in memory.
#[derive(Debug, Clone)]
enum Layout {
    /// One contiguous reduced block: input is [outer, r, inner], output [outer, inner].
    Block { outer: usize, r: usize, inner: usize },
    /// Any other set: kept dims (size, input stride) in order, and the input offsets
    /// of every element of one reduced set.
    General { kept: Vec<(usize, usize)>, offsets: Vec<usize>, n_out: usize },
}

impl Layout {
    fn new(shape: &[usize], reduced: &[bool]) -> Layout {
        // Merge runs of dims with the same kind, skipping size-1 dims.
        let mut groups: Vec<(usize, bool)> = Vec::new();
        for (&d, &red) in shape.iter().zip(reduced) {
            if d == 1 {
                continue;
            }
            match groups.last_mut() {
                Some((size, r)) if *r == red => *size *= d,
                _ => groups.push((d, red)),
            }
        }
        let n_red = groups.iter().filter(|g| g.1).count();
        if n_red <= 1 {
            let pos = groups.iter().position(|g| g.1);
            let (outer, r, inner) = match pos {
                None => (groups.iter().map(|g| g.0).product(), 1, 1),
                Some(p) => (
                    groups[..p].iter().map(|g| g.0).product(),
                    groups[p].0,
                    groups[p + 1..].iter().map(|g| g.0).product(),
                ),
            };
            return Layout::Block { outer, r, inner };
        }
        let strides = ronn_core::strides_of(shape);
        let mut kept = Vec::new();
        let mut red_dims = Vec::new();
        for i in 0..shape.len() {
            if reduced[i] {
                red_dims.push((shape[i], strides[i]));
            } else {
                kept.push((shape[i], strides[i]));
            }
        }
        let mut offsets = vec![0usize];
        for &(d, s) in &red_dims {
            let mut next = Vec::with_capacity(offsets.len() * d);
            for &o in &offsets {
                for k in 0..d {
                    next.push(o + k * s);
                }
            }
            offsets = next;
        }
        let n_out = kept.iter().map(|k| k.0).product();
        Layout::General { kept, offsets, n_out }
    }

    fn n_out(&self) -> usize {
        match self {
            Layout::Block { outer, inner, .. } => outer * inner,
            Layout::General { n_out, .. } => *n_out,
        }
    }

    fn n_red(&self) -> usize {
        match self {
            Layout::Block { r, .. } => *r,
            Layout::General { offsets, .. } => offsets.len(),
        }
    }
}

/// Folds a contiguous row with 8 independent lanes (vectorizes, and is more accurate).
#[inline]
fn fold_row<A: RVal, O: ROp<A>>(op: &O, row: &[A], s: A) -> A {
    let mut lanes = [op.init(); 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            lanes[l] = op.step(lanes[l], c[l], s);
        }
    }
    let mut acc = op.init();
    for &x in chunks.remainder() {
        acc = op.step(acc, x, s);
    }
    for l in lanes {
        acc = op.combine(acc, l);
    }
    acc
}

/// Reduces `x` as `lay` says, with per-output shift `shift` (or zero).
fn reduce_core<A: RVal, O: ROp<A>>(x: &[A], lay: &Layout, op: O, shift: Option<&[A]>) -> Vec<A> {
    let n_out = lay.n_out();
    let n = lay.n_red();
    let mut out = vec![op.init(); n_out];
    if n_out == 0 {
        return out;
    }
    let par = x.len() >= PAR_MIN;
    let sh = |i: usize| shift.map_or(A::ZERO, |s| s[i]);
    match lay {
        Layout::Block { r, inner: 1, .. } => {
            let r = *r;
            if par && n_out < 16 {
                // Few long rows: split each row across threads.
                for (i, o) in out.iter_mut().enumerate() {
                    let s = sh(i);
                    let acc = x[i * r..(i + 1) * r]
                        .par_chunks(1 << 14)
                        .map(|c| fold_row(&op, c, s))
                        .reduce(|| op.init(), |a, b| op.combine(a, b));
                    *o = op.finish(acc, n, s);
                }
                return out;
            }
            let f = |(i, o): (usize, &mut A)| {
                let s = sh(i);
                let acc = fold_row(&op, &x[i * r..(i + 1) * r], s);
                *o = op.finish(acc, n, s);
            };
            if par {
                out.par_iter_mut().enumerate().with_min_len(64).for_each(f);
            } else {
                out.iter_mut().enumerate().for_each(f);
            }
        }
        Layout::Block { outer, r, inner } => {
            let (outer, r, inner) = (*outer, *r, *inner);
            // Blocks of output along `inner` within one outer index.
            let blk = if outer >= 8 || !par { inner } else { inner.min(1024) };
            let f = |(c, o): (usize, &mut [A])| {
                let start = c * blk; // flat output index of o[0]
                let oi = start / inner;
                let ii = start % inner;
                let len = o.len();
                for j in 0..r {
                    let base = (oi * r + j) * inner + ii;
                    let row = &x[base..base + len];
                    match shift {
                        None => {
                            for (acc, &v) in o.iter_mut().zip(row) {
                                *acc = op.step(*acc, v, A::ZERO);
                            }
                        }
                        Some(sv) => {
                            for ((acc, &v), &s) in o.iter_mut().zip(row).zip(&sv[start..start + len]) {
                                *acc = op.step(*acc, v, s);
                            }
                        }
                    }
                }
                for (k, acc) in o.iter_mut().enumerate() {
                    *acc = op.finish(*acc, n, sh(start + k));
                }
            };
            // Chunks must not straddle two outer indices.
            if blk == inner || inner % blk == 0 {
                if par {
                    out.par_chunks_mut(blk).enumerate().for_each(f);
                } else {
                    out.chunks_mut(blk).enumerate().for_each(f);
                }
            } else {
                // Split each outer row into blk-sized pieces by hand.
                let rows: Vec<(usize, &mut [A])> = out
                    .chunks_mut(inner)
                    .enumerate()
                    .flat_map(|(oi, row)| {
                        row.chunks_mut(blk).enumerate().map(move |(ci, ch)| (oi * inner + ci * blk, ch))
                    })
                    .collect();
                let g = |(start, o): (usize, &mut [A])| {
                    let oi = start / inner;
                    let ii = start % inner;
                    let len = o.len();
                    for j in 0..r {
                        let base = (oi * r + j) * inner + ii;
                        for (k, (acc, &v)) in o.iter_mut().zip(&x[base..base + len]).enumerate() {
                            *acc = op.step(*acc, v, sh(start + k));
                        }
                    }
                    for (k, acc) in o.iter_mut().enumerate() {
                        *acc = op.finish(*acc, n, sh(start + k));
                    }
                };
                rows.into_par_iter().for_each(g);
            }
        }
        Layout::General { kept, offsets, .. } => {
            let f = |(i, o): (usize, &mut A)| {
                let mut rem = i;
                let mut base = 0;
                for &(d, s) in kept.iter().rev() {
                    base += (rem % d) * s;
                    rem /= d;
                }
                let s = sh(i);
                let mut acc = op.init();
                for &off in offsets {
                    acc = op.step(acc, x[base + off], s);
                }
                *o = op.finish(acc, n, s);
            };
            if par {
                out.par_iter_mut().enumerate().with_min_len(16).for_each(f);
            } else {
                out.iter_mut().enumerate().for_each(f);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Reduce* kernels
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

impl Kind {
    /// Whether the result needs float math (ints go through f64).
    fn float_only(self) -> bool {
        matches!(self, Kind::Mean | Kind::L2 | Kind::LogSum | Kind::LogSumExp)
    }
}

/// Ops every accumulator supports.
fn reduce_common<A: RVal>(kind: Kind, x: &[A], lay: &Layout, lo: A, hi: A) -> Result<Vec<A>> {
    Ok(match kind {
        Kind::Sum => reduce_core(x, lay, SumOp, None),
        Kind::SumSquare => reduce_core(x, lay, SumSqOp, None),
        Kind::L1 => reduce_core(x, lay, L1Op, None),
        Kind::Prod => reduce_core(x, lay, ProdOp, None),
        Kind::Max => reduce_core(x, lay, MaxOp(lo), None),
        Kind::Min => reduce_core(x, lay, MinOp(hi), None),
        k => return Err(Error::Internal(format!("reduction {k:?} needs a float accumulator"))),
    })
}

fn reduce_float<A: RFloat>(kind: Kind, x: &[A], lay: &Layout, lo: A, hi: A) -> Result<Vec<A>> {
    Ok(match kind {
        Kind::Mean => reduce_core(x, lay, MeanOp, None),
        Kind::L2 => reduce_core(x, lay, L2Op, None),
        Kind::LogSum => reduce_core(x, lay, LogSumOp, None),
        Kind::LogSumExp => {
            let mut m = reduce_core(x, lay, MaxOp(A::NEG_INF), None);
            for v in m.iter_mut() {
                if !v.finite() {
                    *v = A::ZERO;
                }
            }
            reduce_core(x, lay, LogSumExpOp, Some(&m))
        }
        k => reduce_common(k, x, lay, lo, hi)?,
    })
}

/// Signed ints: i64 accumulator, or f64 for the float-only ops.
fn reduce_signed<T: Element>(kind: Kind, t: &Tensor, lay: &Layout, lo: i64, hi: i64) -> Result<Vec<T>> {
    let xs = t.as_slice::<T>()?;
    if kind.float_only() {
        let v: Vec<f64> = xs.iter().map(|x| x.to_f64()).collect();
        let r = reduce_float(kind, &v, lay, lo as f64, hi as f64)?;
        return Ok(r.into_iter().map(T::from_f64).collect());
    }
    let v: Vec<i64> = xs.iter().map(|x| x.to_i64()).collect();
    Ok(reduce_common(kind, &v, lay, lo, hi)?.into_iter().map(T::from_i64).collect())
}

/// Unsigned ints: u64 accumulator, or f64 for the float-only ops.
fn reduce_unsigned<T: Element>(
    kind: Kind,
    t: &Tensor,
    lay: &Layout,
    hi: u64,
    conv: fn(T) -> u64,
    back: fn(u64) -> T,
) -> Result<Vec<T>> {
    let xs = t.as_slice::<T>()?;
    if kind.float_only() {
        let v: Vec<f64> = xs.iter().map(|x| x.to_f64()).collect();
        let r = reduce_float(kind, &v, lay, 0.0, hi as f64)?;
        return Ok(r.into_iter().map(T::from_f64).collect());
    }
    let v: Vec<u64> = xs.iter().map(|&x| conv(x)).collect();
    Ok(reduce_common(kind, &v, lay, 0, hi)?.into_iter().map(back).collect())
}

/// Reduces `t` over the axes marked in `reduced`, giving a tensor of `out_shape`.
fn reduce_tensor(kind: Kind, t: &Tensor, reduced: &[bool], out_shape: Vec<usize>) -> Result<Tensor> {
    let lay = Layout::new(t.shape(), reduced);
    macro_rules! signed {
        ($T:ty) => {
            Tensor::from_vec(out_shape, reduce_signed::<$T>(kind, t, &lay, <$T>::MIN as i64, <$T>::MAX as i64)?)
        };
    }
    macro_rules! unsigned {
        ($T:ty) => {
            Tensor::from_vec(
                out_shape,
                reduce_unsigned::<$T>(kind, t, &lay, <$T>::MAX as u64, |x| x as u64, |v| v as $T)?,
            )
        };
    }
    match t.dtype() {
        DType::Float32 => {
            let r = reduce_float(kind, t.as_slice::<f32>()?, &lay, f32::NEG_INFINITY, f32::INFINITY)?;
            Tensor::from_vec(out_shape, r)
        }
        DType::Float64 => {
            let r = reduce_float(kind, t.as_slice::<f64>()?, &lay, f64::NEG_INFINITY, f64::INFINITY)?;
            Tensor::from_vec(out_shape, r)
        }
        DType::Float16 => {
            let v: Vec<f32> = t.as_slice::<f16>()?.iter().map(|x| x.to_f32()).collect();
            let r = reduce_float(kind, &v, &lay, f32::NEG_INFINITY, f32::INFINITY)?;
            Tensor::from_vec(out_shape, r.into_iter().map(f16::from_f32).collect::<Vec<_>>())
        }
        DType::BFloat16 => {
            let v: Vec<f32> = t.as_slice::<bf16>()?.iter().map(|x| x.to_f32()).collect();
            let r = reduce_float(kind, &v, &lay, f32::NEG_INFINITY, f32::INFINITY)?;
            Tensor::from_vec(out_shape, r.into_iter().map(bf16::from_f32).collect::<Vec<_>>())
        }
        DType::Int8 => signed!(i8),
        DType::Int16 => signed!(i16),
        DType::Int32 => signed!(i32),
        DType::Int64 => signed!(i64),
        DType::UInt8 => unsigned!(u8),
        DType::UInt16 => unsigned!(u16),
        DType::UInt32 => unsigned!(u32),
        DType::UInt64 => unsigned!(u64),
        DType::Bool if matches!(kind, Kind::Max | Kind::Min) => {
            Tensor::from_vec(out_shape, reduce_unsigned::<bool>(kind, t, &lay, 1, |x| x as u64, |v| v != 0)?)
        }
        d => Err(Error::TypeMismatch(format!("{kind:?} reduction does not support element type {d}"))),
    }
}

/// Planned attributes of a Reduce* node.
struct ReduceAttrs {
    kind: Kind,
    keepdims: bool,
    noop_empty: bool,
    /// Axes from the attribute (older opsets, or a fallback when input 1 is absent).
    attr_axes: Option<Vec<i64>>,
    axes_input: bool,
}

/// Runs a Reduce* node once its axes are known.
fn run_reduce(a: &ReduceAttrs, x: &Tensor, axes: Option<Vec<i64>>) -> Result<Tensor> {
    let rank = x.rank();
    let axes = axes.unwrap_or_default();
    if axes.is_empty() && a.noop_empty {
        return Ok(x.clone());
    }
    let mut reduced = vec![axes.is_empty(); rank];
    for &ax in &axes {
        let i = normalize_axis(ax, rank)?;
        if rank == 0 {
            continue;
        }
        if reduced[i] {
            return Err(Error::InvalidArgument(format!("axis {ax} appears more than once in axes {axes:?}")));
        }
        reduced[i] = true;
    }
    let mut out_shape = Vec::with_capacity(rank);
    for (i, &d) in x.shape().iter().enumerate() {
        if !reduced[i] {
            out_shape.push(d);
        } else if a.keepdims {
            out_shape.push(1);
        }
    }
    reduce_tensor(a.kind, x, &reduced, out_shape)
}

fn make_reduce(ctx: &BuildCtx, kind: Kind) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let input_since = if kind == Kind::Sum { 13 } else { 18 };
    let axes_input = node.opset >= input_since;
    let keepdims = node.attr_i_or("keepdims", 1)? != 0;
    let noop_empty = node.attr_i_or("noop_with_empty_axes", 0)? != 0;
    // From opset 13/18 `axes` is an input; a leftover attribute (some exporters
    // write one) is used only when the input is absent.
    let attr_axes = node.attr_ints("axes")?;
    let a = ReduceAttrs { kind, keepdims, noop_empty, attr_axes, axes_input };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let axes = if a.axes_input {
            match opt_input(inputs, 1)? {
                Some(t) => Some(ints_of(t)?),
                None => a.attr_axes.clone(),
            }
        } else {
            a.attr_axes.clone()
        };
        output(run_reduce(&a, x, axes)?)
    })
}

fn make_sum(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::Sum)
}
fn make_mean(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::Mean)
}
fn make_max(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::Max)
}
fn make_min(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::Min)
}
fn make_prod(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::Prod)
}
fn make_l1(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::L1)
}
fn make_l2(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::L2)
}
fn make_log_sum(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::LogSum)
}
fn make_log_sum_exp(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::LogSumExp)
}
fn make_sum_square(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_reduce(ctx, Kind::SumSquare)
}

// ---------------------------------------------------------------------------
// ArgMax / ArgMin
// ---------------------------------------------------------------------------

/// Index of the max (or min) along the middle axis of [outer, r, inner].
/// NaN counts as the extreme (numpy): the first NaN wins (the last with `last`).
fn arg_core<T: Element>(x: &[T], outer: usize, r: usize, inner: usize, max: bool, last: bool) -> Vec<i64> {
    let mut out = vec![0i64; outer * inner];
    #[allow(clippy::eq_op)]
    let is_nan = |v: T| v != v;
    let f = |(oi, o): (usize, &mut [i64])| {
        for (ii, dst) in o.iter_mut().enumerate() {
            let base = oi * r * inner + ii;
            let mut best = x[base];
            let mut bi = 0usize;
            if !is_nan(best) || last {
                for j in 1..r {
                    let v = x[base + j * inner];
                    let take = if is_nan(v) {
                        !is_nan(best) || last
                    } else if is_nan(best) {
                        false
                    } else if max {
                        v > best || (last && v == best)
                    } else {
                        v < best || (last && v == best)
                    };
                    if take {
                        best = v;
                        bi = j;
                        if !last && is_nan(v) {
                            break;
                        }
                    }
                }
            }
            *dst = bi as i64;
        }
    };
    if inner == 0 {
        return out;
    }
    if x.len() >= PAR_MIN {
        out.par_chunks_mut(inner).enumerate().for_each(f);
    } else {
        out.chunks_mut(inner).enumerate().for_each(f);
    }
    out
}

fn make_arg(ctx: &BuildCtx, max: bool) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let axis = node.attr_i_or("axis", 0)?;
    let keepdims = node.attr_i_or("keepdims", 1)? != 0;
    let last = node.attr_i_or("select_last_index", 0)? != 0;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let rank = x.rank();
        if rank == 0 {
            return Err(Error::InvalidArgument("ArgMax/ArgMin need an input of rank >= 1".into()));
        }
        let ax = normalize_axis(axis, rank)?;
        let shape = x.shape();
        let r = shape[ax];
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax + 1..].iter().product();
        if r == 0 && outer * inner > 0 {
            return Err(Error::InvalidArgument(format!(
                "cannot take ArgMax/ArgMin over empty axis {ax} of shape {shape:?}"
            )));
        }
        let mut out_shape = shape.to_vec();
        if keepdims {
            out_shape[ax] = 1;
        } else {
            out_shape.remove(ax);
        }
        let res = if r == 0 {
            vec![]
        } else {
            ronn_core::dispatch_dtype!(x.dtype(), T => arg_core::<T>(x.as_slice::<T>()?, outer, r, inner, max, last),
                _ => return Err(Error::TypeMismatch(format!("ArgMax/ArgMin do not support element type {}", x.dtype()))))
        };
        output(Tensor::from_vec(out_shape, res)?)
    })
}

fn make_argmax(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_arg(ctx, true)
}
fn make_argmin(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_arg(ctx, false)
}

// ---------------------------------------------------------------------------
// CumSum / CumProd
// ---------------------------------------------------------------------------

/// Scans along the middle axis of [outer, r, inner].
fn scan_core<A: RVal>(
    x: &[A],
    outer: usize,
    r: usize,
    inner: usize,
    prod: bool,
    exclusive: bool,
    reverse: bool,
) -> Vec<A> {
    let id = if prod { A::ONE } else { A::ZERO };
    let mut out = vec![id; x.len()];
    if inner == 0 || r == 0 {
        return out;
    }
    let f = |(oi, o): (usize, &mut [A])| {
        let xb = &x[oi * r * inner..(oi + 1) * r * inner];
        if inner == 1 {
            let mut acc = id;
            for step in 0..r {
                let j = if reverse { r - 1 - step } else { step };
                let prev = acc;
                acc = if prod { acc.mul(xb[j]) } else { acc.add(xb[j]) };
                o[j] = if exclusive { prev } else { acc };
            }
            return;
        }
        // One accumulator row per outer index (amortized over r * inner elements).
        let mut acc = vec![id; inner];
        for step in 0..r {
            let j = if reverse { r - 1 - step } else { step };
            let row = &xb[j * inner..(j + 1) * inner];
            let dst = &mut o[j * inner..(j + 1) * inner];
            for k in 0..inner {
                if exclusive {
                    dst[k] = acc[k];
                }
                acc[k] = if prod { acc[k].mul(row[k]) } else { acc[k].add(row[k]) };
                if !exclusive {
                    dst[k] = acc[k];
                }
            }
        }
    };
    if x.len() >= PAR_MIN && outer > 1 {
        out.par_chunks_mut(r * inner).enumerate().for_each(f);
    } else {
        out.chunks_mut(r * inner).enumerate().for_each(f);
    }
    out
}

fn make_scan(ctx: &BuildCtx, prod: bool) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let exclusive = node.attr_i_or("exclusive", 0)? != 0;
    let reverse = node.attr_i_or("reverse", 0)? != 0;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let axis_t = input(inputs, 1)?;
        let axes = ints_of(axis_t)?;
        if axes.len() != 1 {
            return Err(Error::InvalidArgument(format!("the axis input must hold one value, got {}", axes.len())));
        }
        let rank = x.rank();
        if rank == 0 {
            return Err(Error::InvalidArgument("CumSum/CumProd need an input of rank >= 1".into()));
        }
        let ax = normalize_axis(axes[0], rank)?;
        let shape = x.shape();
        let r = shape[ax];
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax + 1..].iter().product();
        let sc = |v: &[f64]| scan_core(v, outer, r, inner, prod, exclusive, reverse);
        let t = match x.dtype() {
            DType::Float32 => Tensor::from_vec(
                shape.to_vec(),
                scan_core(x.as_slice::<f32>()?, outer, r, inner, prod, exclusive, reverse),
            )?,
            DType::Float64 => Tensor::from_vec(shape.to_vec(), sc(x.as_slice::<f64>()?))?,
            DType::Float16 | DType::BFloat16 => {
                let v: Vec<f32> = x.to_f64_vec()?.into_iter().map(|v| v as f32).collect();
                let r = scan_core(&v, outer, r, inner, prod, exclusive, reverse);
                Tensor::from_vec(shape.to_vec(), r)?.cast(x.dtype())?
            }
            d if d.is_int() && matches!(d, DType::UInt8 | DType::UInt16 | DType::UInt32 | DType::UInt64) => {
                let v: Vec<u64> = x.to_i64_vec()?.into_iter().map(|v| v as u64).collect();
                let r = scan_core(&v, outer, r, inner, prod, exclusive, reverse);
                let back: Vec<i64> = r.into_iter().map(|v| v as i64).collect();
                ronn_core::dispatch_int!(d, T => Tensor::from_vec(shape.to_vec(), back.into_iter().map(T::from_i64).collect::<Vec<T>>())?,
                    _ => unreachable_type(d)?)
            }
            d if d.is_int() => {
                let v = x.to_i64_vec()?;
                let r = scan_core(&v, outer, r, inner, prod, exclusive, reverse);
                ronn_core::dispatch_int!(d, T => Tensor::from_vec(shape.to_vec(), r.into_iter().map(T::from_i64).collect::<Vec<T>>())?,
                    _ => unreachable_type(d)?)
            }
            d => return Err(Error::TypeMismatch(format!("CumSum/CumProd do not support element type {d}"))),
        };
        output(t)
    })
}

fn unreachable_type(d: DType) -> Result<Tensor> {
    Err(Error::TypeMismatch(format!("unexpected element type {d}")))
}

fn make_cumsum(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_scan(ctx, false)
}
fn make_cumprod(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_scan(ctx, true)
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("ReduceSum", make_sum);
    r.register_all("ReduceMean", make_mean);
    r.register_all("ReduceMax", make_max);
    r.register_all("ReduceMin", make_min);
    r.register_all("ReduceProd", make_prod);
    r.register_all("ReduceL1", make_l1);
    r.register_all("ReduceL2", make_l2);
    r.register_all("ReduceLogSum", make_log_sum);
    r.register_all("ReduceLogSumExp", make_log_sum_exp);
    r.register_all("ReduceSumSquare", make_sum_square);
    r.register_all("ArgMax", make_argmax);
    r.register_all("ArgMin", make_argmin);
    r.register("", "CumSum", 11, i64::MAX, make_cumsum);
    r.register("", "CumProd", 26, i64::MAX, make_cumprod);
}

#[cfg(test)]
mod tests;
