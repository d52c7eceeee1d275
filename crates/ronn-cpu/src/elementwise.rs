//! Broadcasting element-wise operators and the one broadcasting engine every
//! binary/ternary element-wise kernel in RONN uses.
//!
//! Ops (default domain, every opset): Add, Sub, Mul, Div, Pow, Mod, BitShift,
//! BitwiseAnd, BitwiseOr, BitwiseXor, BitwiseNot, Sum, Mean, Max, Min.
//! See <https://onnx.ai/onnx/operators/>.
//!
//! Opset changes handled:
//! - opset < 7: Add/Sub/Mul/Div/Pow carry `broadcast` and `axis` attributes; with
//!   `broadcast=1` and `axis`, B's shape is aligned with A's dims starting at
//!   `axis` (otherwise numpy suffix alignment, which also covers `broadcast=0`).
//! - Pow: exponent type may differ from the base type (opset 12+).
//! - Mod: `fmod=0` is Python/numpy remainder (sign of divisor), `fmod=1` is C fmod.
//! - BitShift: signed types (newer opsets): shift amounts that are negative or at
//!   least the bit width give 0 (LEFT) or the sign fill (RIGHT).
//! - Max/Min take integer types from opset 12; Sum/Mean/Max/Min broadcast from opset 8.
//!
//! The engine ([`Plan`], [`binary`], [`ternary`], [`unary`]) collapses the output
//! shape into as few dims as possible, then walks it in contiguous inner runs with
//! per-input strides (0 for broadcast dims), so same-shape, scalar and row
//! broadcasting become tight loops. Large outputs are split across rayon.
//! f16/bf16 arithmetic computes in f32.

use crate::helpers::{input, kernel, output};
use rayon::prelude::*;
use ronn_core::{bail, broadcast_shapes, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry, Node};

/// Outputs larger than this many elements are computed in parallel.
pub const PAR_THRESHOLD: usize = 1 << 16;

/// A broadcasting walk over the output of a `K`-input element-wise op.
#[derive(Debug, Clone)]
pub struct Plan<const K: usize> {
    /// The broadcast output shape.
    pub out_shape: Vec<usize>,
    /// Number of output elements.
    pub len: usize,
    dims: Vec<usize>,
    strides: Vec<[usize; K]>,
}

impl<const K: usize> Plan<K> {
    /// Plans the numpy broadcast of `shapes`.
    pub fn new(shapes: [&[usize]; K]) -> Result<Self> {
        let mut out: Vec<usize> = vec![];
        for s in shapes {
            out = broadcast_shapes(&out, s)?;
        }
        let r = out.len();
        let mut st: Vec<[usize; K]> = vec![[0; K]; r];
        for (k, s) in shapes.iter().enumerate() {
            let off = r - s.len();
            let mut acc = 1usize;
            for (i, &d) in s.iter().enumerate().rev() {
                st[off + i][k] = if d == 1 { 0 } else { acc };
                acc = acc.saturating_mul(d);
            }
        }
        let len = out.iter().product::<usize>();
        let mut dims: Vec<usize> = vec![];
        let mut strides: Vec<[usize; K]> = vec![];
        for i in 0..r {
            let d = out[i];
            if d == 1 {
                continue;
            }
            let s = st[i];
            if let (Some(pd), Some(ps)) = (dims.last_mut(), strides.last_mut()) {
                if (0..K).all(|k| ps[k] == s[k] * d) {
                    *pd *= d;
                    *ps = s;
                    continue;
                }
            }
            dims.push(d);
            strides.push(s);
        }
        if dims.is_empty() {
            dims.push(1);
            strides.push([0; K]);
        }
        Ok(Plan { out_shape: out, len, dims, strides })
    }

    /// Calls `f(run, offsets, inner_strides)` for each contiguous inner run of the
    /// output range `start..start + out.len()`; `offsets` are the input element
    /// offsets of the run's first element, `inner_strides` are 0 or 1.
    pub fn for_each_run<O, F>(&self, out: &mut [O], start: usize, mut f: F)
    where
        F: FnMut(&mut [O], [usize; K], [usize; K]),
    {
        let nd = self.dims.len();
        let inner = self.dims[nd - 1];
        let inner_st = self.strides[nd - 1];
        if inner == 0 || out.is_empty() {
            return;
        }
        // Multi-index of `start`.
        let mut idx = vec![0usize; nd];
        let mut rem = start;
        for d in (0..nd).rev() {
            idx[d] = rem % self.dims[d];
            rem /= self.dims[d];
        }
        let mut offs = [0usize; K];
        for d in 0..nd {
            for k in 0..K {
                offs[k] += idx[d] * self.strides[d][k];
            }
        }
        let mut done = 0;
        let total = out.len();
        while done < total {
            let col = idx[nd - 1];
            let n = (inner - col).min(total - done);
            f(&mut out[done..done + n], offs, inner_st);
            done += n;
            // Advance to the start of the next row.
            for k in 0..K {
                offs[k] -= col * inner_st[k];
            }
            idx[nd - 1] = 0;
            let mut d = nd - 1;
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                for k in 0..K {
                    offs[k] += self.strides[d][k];
                }
                if idx[d] < self.dims[d] {
                    break;
                }
                for k in 0..K {
                    offs[k] -= self.dims[d] * self.strides[d][k];
                }
                idx[d] = 0;
            }
        }
    }

    /// Fills `out` (of length `self.len`) run by run, in parallel when large.
    pub fn fill<O, F>(&self, out: &mut [O], f: F)
    where
        O: Send,
        F: Fn(&mut [O], [usize; K], [usize; K]) + Sync,
    {
        let n = out.len();
        if n > PAR_THRESHOLD {
            let chunk = (n / (rayon::current_num_threads() * 4)).max(8192);
            out.par_chunks_mut(chunk).enumerate().for_each(|(ci, c)| self.for_each_run(c, ci * chunk, &f));
        } else {
            self.for_each_run(out, 0, f);
        }
    }
}

/// `f` over two broadcast inputs (`a` of shape `sa`, `b` of shape `sb`).
/// Returns the output shape and elements.
pub fn binary<A, B, O, F>(a: &[A], sa: &[usize], b: &[B], sb: &[usize], f: F) -> Result<(Vec<usize>, Vec<O>)>
where
    A: Sync,
    B: Sync,
    O: Element,
    F: Fn(&A, &B) -> O + Sync,
{
    let plan = Plan::<2>::new([sa, sb])?;
    check_len(a.len(), sa, "A")?;
    check_len(b.len(), sb, "B")?;
    let mut out = ronn_core::pool::for_overwrite::<O>(plan.len);
    plan.fill(&mut out, |run, offs, st| {
        let n = run.len();
        match (st[0], st[1]) {
            (1, 1) => {
                for ((o, x), y) in run.iter_mut().zip(&a[offs[0]..offs[0] + n]).zip(&b[offs[1]..offs[1] + n]) {
                    *o = f(x, y);
                }
            }
            (0, 1) => {
                let x = &a[offs[0]];
                for (o, y) in run.iter_mut().zip(&b[offs[1]..offs[1] + n]) {
                    *o = f(x, y);
                }
            }
            (1, 0) => {
                let y = &b[offs[1]];
                for (o, x) in run.iter_mut().zip(&a[offs[0]..offs[0] + n]) {
                    *o = f(x, y);
                }
            }
            _ => {
                let v = f(&a[offs[0]], &b[offs[1]]);
                for o in run.iter_mut() {
                    *o = v.clone();
                }
            }
        }
    });
    Ok((plan.out_shape, out))
}

/// `f` over three broadcast inputs (Where).
pub fn ternary<A, B, C, O, F>(
    a: &[A],
    sa: &[usize],
    b: &[B],
    sb: &[usize],
    c: &[C],
    sc: &[usize],
    f: F,
) -> Result<(Vec<usize>, Vec<O>)>
where
    A: Sync,
    B: Sync,
    C: Sync,
    O: Send + Clone + Default,
    F: Fn(&A, &B, &C) -> O + Sync,
{
    let plan = Plan::<3>::new([sa, sb, sc])?;
    check_len(a.len(), sa, "input 0")?;
    check_len(b.len(), sb, "input 1")?;
    check_len(c.len(), sc, "input 2")?;
    let mut out = vec![O::default(); plan.len];
    plan.fill(&mut out, |run, offs, st| {
        let n = run.len();
        // Each operand either runs along (stride 1) or repeats one value (stride 0,
        // a broadcast mask or scalar): eight loops without index arithmetic, so
        // they vectorize. Other strides take the indexed loop.
        macro_rules! operand {
            ($s:expr, $o:expr, 1) => {
                $s[$o..$o + n].iter()
            };
            ($s:expr, $o:expr, 0) => {
                std::iter::repeat_n(&$s[$o], n)
            };
        }
        macro_rules! zip3 {
            ($x:tt, $y:tt, $z:tt) => {
                for (o, ((x, y), z)) in run
                    .iter_mut()
                    .zip(operand!(a, offs[0], $x).zip(operand!(b, offs[1], $y)).zip(operand!(c, offs[2], $z)))
                {
                    *o = f(x, y, z);
                }
            };
        }
        match st {
            [1, 1, 1] => zip3!(1, 1, 1),
            [0, 1, 1] => zip3!(0, 1, 1),
            [1, 0, 1] => zip3!(1, 0, 1),
            [1, 1, 0] => zip3!(1, 1, 0),
            [0, 0, 1] => zip3!(0, 0, 1),
            [0, 1, 0] => zip3!(0, 1, 0),
            [1, 0, 0] => zip3!(1, 0, 0),
            [0, 0, 0] => zip3!(0, 0, 0),
            _ => {
                for (i, o) in run.iter_mut().enumerate() {
                    *o = f(&a[offs[0] + i * st[0]], &b[offs[1] + i * st[1]], &c[offs[2] + i * st[2]]);
                }
            }
        }
    });
    Ok((plan.out_shape, out))
}

/// `f` over every element of `a`, in parallel when large.
pub fn unary<A, O, F>(a: &[A], f: F) -> Vec<O>
where
    A: Sync,
    O: Element,
    F: Fn(&A) -> O + Sync,
{
    let mut out = ronn_core::pool::for_overwrite::<O>(a.len());
    unary_into(a, &mut out, f);
    out
}

/// `f` over every element of `a` into `out` (same length), in parallel when large.
pub fn unary_into<A, O, F>(a: &[A], out: &mut [O], f: F)
where
    A: Sync,
    O: Send,
    F: Fn(&A) -> O + Sync,
{
    let n = out.len().min(a.len());
    if n > PAR_THRESHOLD {
        let chunk = (n / (rayon::current_num_threads() * 4)).max(8192);
        out[..n].par_chunks_mut(chunk).zip(a[..n].par_chunks(chunk)).for_each(|(o, x)| {
            for (o, x) in o.iter_mut().zip(x) {
                *o = f(x);
            }
        });
    } else {
        for (o, x) in out[..n].iter_mut().zip(&a[..n]) {
            *o = f(x);
        }
    }
}

/// `f` over matching chunks of `a`, `b` and `out` (equal lengths), in parallel when
/// large: the frame for `ronn_core::simd`'s slice primitives.
pub fn simd_binary_into<F>(a: &[f32], b: &[f32], out: &mut [f32], f: F) -> Result<()>
where
    F: Fn(&[f32], &[f32], &mut [f32]) -> Result<()> + Sync,
{
    let n = out.len();
    if n > PAR_THRESHOLD && a.len() == n && b.len() == n {
        let chunk = (n / (rayon::current_num_threads() * 4)).max(8192);
        out.par_chunks_mut(chunk)
            .zip(a.par_chunks(chunk).zip(b.par_chunks(chunk)))
            .try_for_each(|(o, (x, y))| f(x, y, o))
    } else {
        f(a, b, out)
    }
}

/// `f` over matching chunks of `a` and `out` (equal lengths), in parallel when large.
pub fn simd_unary_into<F>(a: &[f32], out: &mut [f32], f: F) -> Result<()>
where
    F: Fn(&[f32], &mut [f32]) -> Result<()> + Sync,
{
    let n = out.len();
    if n > PAR_THRESHOLD && a.len() == n {
        let chunk = (n / (rayon::current_num_threads() * 4)).max(8192);
        out.par_chunks_mut(chunk).zip(a.par_chunks(chunk)).try_for_each(|(o, x)| f(x, o))
    } else {
        f(a, out)
    }
}

fn check_len(n: usize, shape: &[usize], what: &str) -> Result<()> {
    if shape.iter().product::<usize>() != n {
        bail!(ShapeMismatch, "{what}: shape {shape:?} does not match {n} elements");
    }
    Ok(())
}

/// Old-opset (< 7) broadcasting attributes: `Some(axis)` when `broadcast=1`
/// (axis `None` means suffix alignment), `None` for numpy broadcasting.
pub fn legacy_broadcast(node: &Node) -> Result<Option<Option<i64>>> {
    if node.opset >= 7 {
        return Ok(None);
    }
    let bc = node.attr_i_or("broadcast", 0)?;
    if bc != 0 && bc != 1 {
        return Err(node.unsupported(format!("broadcast must be 0 or 1, got {bc}")));
    }
    if bc == 1 {
        Ok(Some(node.attr_i("axis")?))
    } else {
        Ok(None)
    }
}

/// The shape B broadcasts as, given A's shape and the legacy attributes.
pub fn legacy_b_shape(sa: &[usize], sb: &[usize], legacy: Option<Option<i64>>) -> Result<Vec<usize>> {
    match legacy {
        Some(Some(axis)) => {
            let ra = sa.len() as i64;
            let ax = if axis < 0 { axis + ra } else { axis };
            if ax < 0 || ax + sb.len() as i64 > ra {
                bail!(ShapeMismatch, "cannot align B of shape {sb:?} with A of shape {sa:?} at axis {axis}");
            }
            let ax = ax as usize;
            let mut s = vec![1; sa.len()];
            s[ax..ax + sb.len()].copy_from_slice(sb);
            Ok(s)
        }
        _ => Ok(sb.to_vec()),
    }
}

/// Arithmetic on the types the element-wise kernels compute natively
/// (all but f16/bf16, which compute in f32).
pub trait Arith: Element {
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// Division (integers: truncating; division by zero gives 0 instead of a panic).
    fn div(self, o: Self) -> Self;
    /// Remainder: C fmod when `fmod`, else with the sign of the divisor.
    fn rem(self, o: Self, fmod: bool) -> Self;
    /// Maximum (NaN propagates).
    fn maxv(self, o: Self) -> Self;
    /// Minimum (NaN propagates).
    fn minv(self, o: Self) -> Self;
}

macro_rules! arith_float {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(self, o: Self) -> Self { self + o }
            #[inline(always)] fn sub(self, o: Self) -> Self { self - o }
            #[inline(always)] fn mul(self, o: Self) -> Self { self * o }
            #[inline(always)] fn div(self, o: Self) -> Self { self / o }
            #[inline(always)]
            fn rem(self, o: Self, fmod: bool) -> Self {
                let r = self % o;
                if fmod || r.is_nan() {
                    return r;
                }
                if r == 0.0 {
                    (0.0 as $t).copysign(o)
                } else if (r < 0.0) != (o < 0.0) {
                    r + o
                } else {
                    r
                }
            }
            #[inline(always)]
            fn maxv(self, o: Self) -> Self { if self.is_nan() || o.is_nan() { <$t>::NAN } else if self >= o { self } else { o } }
            #[inline(always)]
            fn minv(self, o: Self) -> Self { if self.is_nan() || o.is_nan() { <$t>::NAN } else if self <= o { self } else { o } }
        }
    )*};
}
arith_float!(f32, f64);

macro_rules! arith_int {
    ($signed:tt; $($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)] fn sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            #[inline(always)] fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline(always)] fn div(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_div(o) } }
            #[inline(always)]
            fn rem(self, o: Self, fmod: bool) -> Self {
                if o == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(o);
                arith_int!(@py $signed, r, o, fmod)
            }
            #[inline(always)] fn maxv(self, o: Self) -> Self { if self >= o { self } else { o } }
            #[inline(always)] fn minv(self, o: Self) -> Self { if self <= o { self } else { o } }
        }
    )*};
    (@py signed, $r:ident, $o:ident, $fmod:ident) => {
        if !$fmod && $r != 0 && (($r < 0) != ($o < 0)) { $r.wrapping_add($o) } else { $r }
    };
    (@py unsigned, $r:ident, $o:ident, $fmod:ident) => {{ let _ = $fmod; let _ = $o; $r }};
}
arith_int!(signed; i8, i16, i32, i64);
arith_int!(unsigned; u8, u16, u32, u64);

/// Integer-only operations: shifts and bitwise logic.
pub trait IntOps:
    Arith
    + std::ops::BitAnd<Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitXor<Output = Self>
    + std::ops::Not<Output = Self>
{
    /// BitShift with ONNX's out-of-range rules.
    fn shift(self, s: Self, left: bool) -> Self;
}

macro_rules! int_ops {
    ($($t:ty),*) => {$(
        impl IntOps for $t {
            #[inline(always)]
            fn shift(self, s: Self, left: bool) -> Self {
                let bits = <$t>::BITS as i64;
                let sh = s.to_i64();
                #[allow(unused_comparisons)]
                let neg = self < (0 as $t);
                if sh < 0 || sh >= bits {
                    if left || !neg { 0 } else { !(0 as $t) }
                } else if left {
                    self.wrapping_shl(sh as u32)
                } else {
                    self >> (sh as u32)
                }
            }
        }
    )*};
}
int_ops!(i8, i16, i32, i64, u8, u16, u32, u64);

/// Runs `$body` with `$T` bound to the Rust type of an [`Arith`] dtype.
#[macro_export]
macro_rules! dispatch_arith {
    ($dtype:expr, $T:ident => $body:expr, _ => $fallback:expr) => {{
        use ronn_core::DType as __D;
        match $dtype {
            __D::Float32 => {
                type $T = f32;
                $body
            }
            __D::Float64 => {
                type $T = f64;
                $body
            }
            __D::Int8 => {
                type $T = i8;
                $body
            }
            __D::Int16 => {
                type $T = i16;
                $body
            }
            __D::Int32 => {
                type $T = i32;
                $body
            }
            __D::Int64 => {
                type $T = i64;
                $body
            }
            __D::UInt8 => {
                type $T = u8;
                $body
            }
            __D::UInt16 => {
                type $T = u16;
                $body
            }
            __D::UInt32 => {
                type $T = u32;
                $body
            }
            __D::UInt64 => {
                type $T = u64;
                $body
            }
            #[allow(unreachable_patterns)]
            _ => $fallback,
        }
    }};
}

/// Whether the dtype is f16 or bf16 (computed in f32).
pub fn is_half(d: DType) -> bool {
    matches!(d, DType::Float16 | DType::BFloat16)
}

/// The binary arithmetic operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod { fmod: bool },
    Max,
    Min,
    Shl,
    Shr,
    And,
    Or,
    Xor,
}

impl BinOp {
    fn is_int_only(self) -> bool {
        matches!(self, BinOp::Shl | BinOp::Shr | BinOp::And | BinOp::Or | BinOp::Xor)
    }
}

fn same_type(a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        bail!(TypeMismatch, "inputs must have the same element type, got {} and {}", a.dtype(), b.dtype());
    }
    Ok(())
}

fn arith_t<T: Arith>(op: BinOp, a: &[T], sa: &[usize], b: &[T], sb: &[usize]) -> Result<(Vec<usize>, Vec<T>)> {
    match op {
        BinOp::Add => binary(a, sa, b, sb, |x: &T, y: &T| x.add(*y)),
        BinOp::Sub => binary(a, sa, b, sb, |x: &T, y: &T| x.sub(*y)),
        BinOp::Mul => binary(a, sa, b, sb, |x: &T, y: &T| x.mul(*y)),
        BinOp::Div => binary(a, sa, b, sb, |x: &T, y: &T| x.div(*y)),
        BinOp::Mod { fmod: true } => binary(a, sa, b, sb, |x: &T, y: &T| x.rem(*y, true)),
        BinOp::Mod { fmod: false } => binary(a, sa, b, sb, |x: &T, y: &T| x.rem(*y, false)),
        BinOp::Max => binary(a, sa, b, sb, |x: &T, y: &T| x.maxv(*y)),
        BinOp::Min => binary(a, sa, b, sb, |x: &T, y: &T| x.minv(*y)),
        _ => bail!(TypeMismatch, "{op:?} needs an integer type, got {}", T::DTYPE),
    }
}

fn int_t<T: IntOps>(op: BinOp, a: &[T], sa: &[usize], b: &[T], sb: &[usize]) -> Result<(Vec<usize>, Vec<T>)> {
    match op {
        BinOp::Shl => binary(a, sa, b, sb, |x: &T, y: &T| x.shift(*y, true)),
        BinOp::Shr => binary(a, sa, b, sb, |x: &T, y: &T| x.shift(*y, false)),
        BinOp::And => binary(a, sa, b, sb, |x: &T, y: &T| *x & *y),
        BinOp::Or => binary(a, sa, b, sb, |x: &T, y: &T| *x | *y),
        BinOp::Xor => binary(a, sa, b, sb, |x: &T, y: &T| *x ^ *y),
        _ => arith_t(op, a, sa, b, sb),
    }
}

/// Applies `op` to `a` (shape `sa`) and `b` (shape `sb`, possibly a legacy
/// re-alignment of `b.shape()`), broadcasting. Both must share one element type.
pub fn apply_binop(op: BinOp, a: &Tensor, sa: &[usize], b: &Tensor, sb: &[usize]) -> Result<Tensor> {
    same_type(a, b)?;
    let dt = a.dtype();
    if is_half(dt) && !op.is_int_only() {
        let r = apply_binop(op, &a.cast(DType::Float32)?, sa, &b.cast(DType::Float32)?, sb)?;
        return r.cast(dt);
    }
    if op.is_int_only() {
        return ronn_core::dispatch_int!(dt, T => {
            let (s, v) = int_t::<T>(op, a.as_slice::<T>()?, sa, b.as_slice::<T>()?, sb)?;
            Tensor::from_vec(s, v)
        }, _ => Err(Error::TypeMismatch(format!("{op:?} needs an integer type, got {dt}"))));
    }
    if dt == DType::Float32 && op == BinOp::Add && sa == sb {
        // Same shapes: no broadcasting, so the runtime-dispatched SIMD add.
        let (x, y) = (a.as_slice::<f32>()?, b.as_slice::<f32>()?);
        check_len(x.len(), sa, "A")?;
        check_len(y.len(), sb, "B")?;
        let mut out = ronn_core::pool::for_overwrite::<f32>(x.len());
        simd_binary_into(x, y, &mut out, ronn_core::simd::add_f32)?;
        return Tensor::from_vec(sa.to_vec(), out);
    }
    dispatch_arith!(dt, T => {
        let (s, v) = arith_t::<T>(op, a.as_slice::<T>()?, sa, b.as_slice::<T>()?, sb)?;
        Tensor::from_vec(s, v)
    }, _ => Err(Error::TypeMismatch(format!("{op:?} does not support {dt}"))))
}

fn binop_kernel(ctx: &BuildCtx, op: BinOp) -> Result<Box<dyn Kernel>> {
    let legacy = legacy_broadcast(ctx.node)?;
    kernel(move |_, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        let sb = legacy_b_shape(a.shape(), b.shape(), legacy)?;
        output(apply_binop(op, a, a.shape(), b, &sb)?)
    })
}

fn make_add(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    binop_kernel(ctx, BinOp::Add)
}
fn make_sub(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    binop_kernel(ctx, BinOp::Sub)
}
fn make_mul(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    binop_kernel(ctx, BinOp::Mul)
}
fn make_div(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    binop_kernel(ctx, BinOp::Div)
}
fn make_mod(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let fmod = ctx.node.attr_i_or("fmod", 0)?;
    if fmod != 0 && fmod != 1 {
        return Err(ctx.node.unsupported(format!("fmod must be 0 or 1, got {fmod}")));
    }
    binop_kernel(ctx, BinOp::Mod { fmod: fmod == 1 })
}
fn make_bitshift(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dir = ctx.node.attr_s("direction")?;
    let op = match dir.as_deref() {
        Some("LEFT") => BinOp::Shl,
        Some("RIGHT") => BinOp::Shr,
        other => return Err(ctx.node.unsupported(format!("direction must be LEFT or RIGHT, got {other:?}"))),
    };
    binop_kernel(ctx, op)
}
fn make_bitand(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    binop_kernel(ctx, BinOp::And)
}
fn make_bitor(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    binop_kernel(ctx, BinOp::Or)
}
fn make_bitxor(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    binop_kernel(ctx, BinOp::Xor)
}

fn make_bitnot(_ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(move |_, inputs| {
        let a = input(inputs, 0)?;
        let dt = a.dtype();
        ronn_core::dispatch_int!(dt, T => {
            let v = unary(a.as_slice::<T>()?, |x: &T| !*x);
            output(Tensor::from_vec(a.shape().to_vec(), v)?)
        }, _ => Err(Error::TypeMismatch(format!("BitwiseNot needs an integer type, got {dt}"))))
    })
}

// ---------------------------------------------------------------- Pow

fn pow_int_base<T: Element>(a: &Tensor, b: &Tensor, sb: &[usize]) -> Result<Tensor> {
    let x = a.as_slice::<T>()?;
    if b.dtype().is_int() {
        let e = b.to_i64_vec()?;
        let (s, v) = binary(x, a.shape(), &e, sb, |x: &T, &y: &i64| {
            if y >= 0 {
                T::from_i64(x.to_i64().wrapping_pow(y.min(u32::MAX as i64) as u32))
            } else {
                T::from_f64(x.to_f64().powf(y as f64))
            }
        })?;
        Tensor::from_vec(s, v)
    } else {
        let e = b.to_f64_vec()?;
        let (s, v) = binary(x, a.shape(), &e, sb, |x: &T, &y: &f64| T::from_f64(x.to_f64().powf(y)))?;
        Tensor::from_vec(s, v)
    }
}

fn pow_f32(a: &[f32], sa: &[usize], b: &Tensor, sb: &[usize]) -> Result<Tensor> {
    if b.dtype() == DType::Float32 {
        let e = b.as_slice::<f32>()?;
        if e.len() == 1 && sb.len() <= sa.len() {
            let p = e[0];
            let v: Vec<f32> = if p == 2.0 {
                unary(a, |x| x * x)
            } else if p == 0.5 {
                unary(a, |x| x.sqrt())
            } else if p == 1.0 {
                a.to_vec()
            } else if p == 3.0 {
                unary(a, |x| x * x * x)
            } else {
                unary(a, |x| x.powf(p))
            };
            return Tensor::from_vec(sa.to_vec(), v);
        }
        let (s, v) = binary(a, sa, e, sb, |x: &f32, y: &f32| x.powf(*y))?;
        return Tensor::from_vec(s, v);
    }
    let e = b.to_f64_vec()?;
    let (s, v) = binary(a, sa, &e, sb, |x: &f32, y: &f64| (*x as f64).powf(*y) as f32)?;
    Tensor::from_vec(s, v)
}

/// ONNX Pow: base `a`, exponent `b` (any numeric type), output of `a`'s type.
pub fn pow(a: &Tensor, b: &Tensor, sb: &[usize]) -> Result<Tensor> {
    if b.dtype() == DType::String || b.dtype() == DType::Bool {
        bail!(TypeMismatch, "Pow exponent must be numeric, got {}", b.dtype());
    }
    match a.dtype() {
        DType::Float32 => pow_f32(a.as_slice::<f32>()?, a.shape(), b, sb),
        DType::Float16 | DType::BFloat16 => {
            let af = a.cast(DType::Float32)?;
            pow_f32(af.as_slice::<f32>()?, a.shape(), b, sb)?.cast(a.dtype())
        }
        DType::Float64 => {
            let e = b.to_f64_vec()?;
            let (s, v) = binary(a.as_slice::<f64>()?, a.shape(), &e, sb, |x: &f64, y: &f64| x.powf(*y))?;
            Tensor::from_vec(s, v)
        }
        dt => ronn_core::dispatch_int!(dt, T => pow_int_base::<T>(a, b, sb),
            _ => Err(Error::TypeMismatch(format!("Pow does not support base type {dt}")))),
    }
}

fn make_pow(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let legacy = legacy_broadcast(ctx.node)?;
    kernel(move |_, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        let sb = legacy_b_shape(a.shape(), b.shape(), legacy)?;
        output(pow(a, b, &sb)?)
    })
}

// ---------------------------------------------------------------- variadic

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variadic {
    Sum,
    Mean,
    Max,
    Min,
}

fn variadic(op: Variadic, ts: &[&Tensor]) -> Result<Tensor> {
    let Some(first) = ts.first() else {
        bail!(InvalidArgument, "{op:?} needs at least one input");
    };
    let bop = match op {
        Variadic::Sum | Variadic::Mean => BinOp::Add,
        Variadic::Max => BinOp::Max,
        Variadic::Min => BinOp::Min,
    };
    if matches!(op, Variadic::Sum | Variadic::Mean) && first.dtype() == DType::Bool {
        bail!(TypeMismatch, "{op:?} does not support bool");
    }
    let mut acc: Tensor = (*first).clone();
    if ts.len() == 1 {
        // Validate the type once so a bad input still errors.
        if !(first.dtype().is_float() || first.dtype().is_int()) {
            bail!(TypeMismatch, "{op:?} does not support {}", first.dtype());
        }
    }
    for t in &ts[1..] {
        acc = apply_binop(bop, &acc, &acc.shape().to_vec(), t, t.shape())?;
    }
    if op == Variadic::Mean {
        let n = ts.len() as f64;
        let dt = acc.dtype();
        acc = match dt {
            DType::Float32 => {
                let inv = n as f32;
                let v = unary(acc.as_slice::<f32>()?, |x| x / inv);
                Tensor::from_vec(acc.shape().to_vec(), v)?
            }
            _ => ronn_core::dispatch_numeric!(dt, T => {
                let v = unary(acc.as_slice::<T>()?, |x: &T| T::from_f64(x.to_f64() / n));
                Tensor::from_vec(acc.shape().to_vec(), v)?
            }, _ => bail!(TypeMismatch, "Mean does not support {dt}")),
        };
    }
    Ok(acc)
}

fn variadic_kernel(op: Variadic) -> Result<Box<dyn Kernel>> {
    kernel(move |_, inputs| {
        let mut ts = Vec::with_capacity(inputs.len());
        for i in 0..inputs.len() {
            ts.push(input(inputs, i)?);
        }
        output(variadic(op, &ts)?)
    })
}

fn make_sum(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    variadic_kernel(Variadic::Sum)
}
fn make_mean(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    variadic_kernel(Variadic::Mean)
}
fn make_max(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    variadic_kernel(Variadic::Max)
}
fn make_min(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    variadic_kernel(Variadic::Min)
}

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Add", make_add);
    r.register_all("Sub", make_sub);
    r.register_all("Mul", make_mul);
    r.register_all("Div", make_div);
    r.register_all("Pow", make_pow);
    r.register_all("Mod", make_mod);
    r.register_all("BitShift", make_bitshift);
    r.register_all("BitwiseAnd", make_bitand);
    r.register_all("BitwiseOr", make_bitor);
    r.register_all("BitwiseXor", make_bitxor);
    r.register_all("BitwiseNot", make_bitnot);
    r.register_all("Sum", make_sum);
    r.register_all("Mean", make_mean);
    r.register_all("Max", make_max);
    r.register_all("Min", make_min);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, run_node};
    use ronn_ir::Attribute;

    fn t<T: Element>(shape: &[usize], v: Vec<T>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }

    fn run1(node: &Node, ins: Vec<Tensor>) -> Result<Tensor> {
        Ok(run_node(node, ins)?.remove(0))
    }

    #[test]
    fn add_f32_same_shape_simd_fast_path() {
        for n in [0usize, 1, 17, 1023, (1 << 17) + 5] {
            let a: Vec<f32> = (0..n).map(|i| (i % 97) as f32 * 0.25 - 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * -0.5 + 1.0).collect();
            let shape = [n % 2 + 1, n];
            let (a2, b2): (Vec<f32>, Vec<f32>) = (a.repeat(shape[0]), b.repeat(shape[0]));
            let y =
                run1(&Node::new("Add", &["a", "b"], &["y"], 14), vec![t(&shape, a2.clone()), t(&shape, b2.clone())])
                    .unwrap();
            assert_eq!(y.shape(), &shape);
            let want: Vec<f32> = a2.iter().zip(&b2).map(|(x, y)| x + y).collect();
            assert_eq!(y.as_slice::<f32>().unwrap(), &want[..], "n={n}");
        }
        // Same element count, different shapes: broadcasting rules still apply.
        let r = run1(
            &Node::new("Add", &["a", "b"], &["y"], 14),
            vec![t(&[2, 3], vec![0f32; 6]), t(&[3, 2], vec![0f32; 6])],
        );
        assert!(r.is_err());
    }

    #[test]
    fn add_same_shape_scalar_and_row() {
        let n = Node::new("Add", &["a", "b"], &["y"], 14);
        let y = run1(&n, vec![t(&[2, 3], vec![1f32, 2., 3., 4., 5., 6.]), t(&[3], vec![10f32, 20., 30.])]).unwrap();
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[11., 22., 33., 14., 25., 36.]);
        let y = run1(&n, vec![t(&[], vec![1f32]), t(&[2], vec![1f32, 2.])]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[2., 3.]);
        let y = run1(&n, vec![t(&[2, 1], vec![1i32, 2]), t(&[1, 3], vec![10i32, 20, 30])]).unwrap();
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.as_slice::<i32>().unwrap(), &[11, 21, 31, 12, 22, 32]);
    }

    #[test]
    fn channel_broadcast_and_large_parallel() {
        let n = Node::new("Mul", &["a", "b"], &["y"], 14);
        let (c, hw) = (3usize, 40000usize);
        let a: Vec<f32> = (0..c * hw).map(|i| (i % 7) as f32).collect();
        let y = run1(&n, vec![t(&[1, c, 200, 200], a.clone()), t(&[1, c, 1, 1], vec![1f32, 2., 3.])]).unwrap();
        let y = y.as_slice::<f32>().unwrap();
        for i in [0usize, 1, hw - 1, hw, hw + 5, 2 * hw + 17, 3 * hw - 1] {
            assert_eq!(y[i], a[i] * (i / hw + 1) as f32, "at {i}");
        }
    }

    #[test]
    fn middle_broadcast_generic_walk() {
        // [2,1,3] + [1,2,1] -> [2,2,3]
        let n = Node::new("Sub", &["a", "b"], &["y"], 14);
        let y = run1(&n, vec![t(&[2, 1, 3], vec![1i64, 2, 3, 4, 5, 6]), t(&[1, 2, 1], vec![10i64, 20])]).unwrap();
        assert_eq!(y.shape(), &[2, 2, 3]);
        assert_eq!(y.as_slice::<i64>().unwrap(), &[-9, -8, -7, -19, -18, -17, -6, -5, -4, -16, -15, -14]);
        // and with a parallel-size output through the odometer path
        let a: Vec<f32> = (0..300).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..400).map(|i| i as f32 * 1000.0).collect();
        let y = run1(&Node::new("Add", &["a", "b"], &["y"], 14), vec![t(&[300, 1], a), t(&[1, 400], b)]).unwrap();
        let y = y.as_slice::<f32>().unwrap();
        assert_eq!(y[401], 1.0 + 1000.0);
        assert_eq!(y[299 * 400 + 399], 299.0 + 399000.0);
    }

    #[test]
    fn shape_and_type_errors() {
        let n = Node::new("Add", &["a", "b"], &["y"], 14);
        assert!(run1(&n, vec![t(&[2], vec![1f32, 2.]), t(&[3], vec![1f32, 2., 3.])]).is_err());
        let e = run1(&n, vec![t(&[2], vec![1f32, 2.]), t(&[2], vec![1i32, 2])]).unwrap_err();
        assert_eq!(e.code(), ronn_core::ErrorCode::TypeMismatch);
        let e = run1(&n, vec![t(&[1], vec![true])]).unwrap_err();
        assert_eq!(e.code(), ronn_core::ErrorCode::InvalidArgument);
    }

    #[test]
    fn empty_tensors() {
        let n = Node::new("Add", &["a", "b"], &["y"], 14);
        let y = run1(&n, vec![t::<f32>(&[0, 3], vec![]), t(&[3], vec![1f32, 2., 3.])]).unwrap();
        assert_eq!(y.shape(), &[0, 3]);
    }

    #[test]
    fn integer_div_and_mod() {
        let n = Node::new("Div", &["a", "b"], &["y"], 14);
        let y = run1(&n, vec![t(&[4], vec![-3i32, 3, -3, 3]), t(&[4], vec![2i32, 2, -2, 0])]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[-1, 1, 1, 0]);
        let m = Node::new("Mod", &["a", "b"], &["y"], 13);
        let a = t(&[4], vec![-4i32, 7, 5, -7]);
        let b = t(&[4], vec![3i32, -3, 3, -3]);
        let y = run1(&m, vec![a.clone(), b.clone()]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[2, -2, 2, -1]);
        let mf = m.clone().with_attr("fmod", Attribute::Int(1));
        let y = run1(&mf, vec![a, b]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[-1, 1, 2, -1]);
    }

    #[test]
    fn float_mod_edge_cases() {
        let m = Node::new("Mod", &["a", "b"], &["y"], 13);
        let y = run1(
            &m,
            vec![
                t(&[6], vec![-4.3f32, 0.0, -3.0, 1.0, f32::INFINITY, 1.0]),
                t(&[6], vec![2.1f32, -2.0, f32::INFINITY, f32::NEG_INFINITY, 2.0, 0.0]),
            ],
        )
        .unwrap();
        let y = y.as_slice::<f32>().unwrap();
        assert!((y[0] - 2.0).abs() < 1e-5);
        assert!(y[1] == 0.0 && y[1].is_sign_negative());
        assert_eq!(y[2], f32::INFINITY);
        assert_eq!(y[3], f32::NEG_INFINITY);
        assert!(y[4].is_nan() && y[5].is_nan());
    }

    #[test]
    fn bitshift_rules() {
        let l =
            Node::new("BitShift", &["a", "b"], &["y"], 11).with_attr("direction", Attribute::String(b"LEFT".to_vec()));
        let r =
            Node::new("BitShift", &["a", "b"], &["y"], 11).with_attr("direction", Attribute::String(b"RIGHT".to_vec()));
        let y = run1(&l, vec![t(&[3], vec![64i8, 1, -8]), t(&[3], vec![1i8, 7, 9])]).unwrap();
        assert_eq!(y.as_slice::<i8>().unwrap(), &[-128, -128, 0]);
        let y = run1(&r, vec![t(&[3], vec![-8i8, 4, -1]), t(&[3], vec![1i8, -8, 127])]).unwrap();
        assert_eq!(y.as_slice::<i8>().unwrap(), &[-4, 0, -1]);
        let y = run1(&r, vec![t(&[2], vec![16u32, 255]), t(&[1], vec![2u32])]).unwrap();
        assert_eq!(y.as_slice::<u32>().unwrap(), &[4, 63]);
        let bad =
            Node::new("BitShift", &["a", "b"], &["y"], 11).with_attr("direction", Attribute::String(b"UP".to_vec()));
        assert!(run1(&bad, vec![t(&[1], vec![1u8]), t(&[1], vec![1u8])]).is_err());
        assert!(run1(&l, vec![t(&[1], vec![1f32]), t(&[1], vec![1f32])]).is_err());
    }

    #[test]
    fn bitwise_ops() {
        let a = t(&[2], vec![0b1100u8, 0b1010]);
        let b = t(&[1], vec![0b0110u8]);
        let y = run1(&Node::new("BitwiseAnd", &["a", "b"], &["y"], 18), vec![a.clone(), b.clone()]).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[0b0100, 0b0010]);
        let y = run1(&Node::new("BitwiseXor", &["a", "b"], &["y"], 18), vec![a.clone(), b]).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[0b1010, 0b1100]);
        let y = run1(&Node::new("BitwiseNot", &["a"], &["y"], 18), vec![a]).unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[!0b1100u8, !0b1010u8]);
    }

    #[test]
    fn pow_mixed_types() {
        let n = Node::new("Pow", &["a", "b"], &["y"], 15);
        let y = run1(&n, vec![t(&[3], vec![1i32, 2, 3]), t(&[3], vec![4f32, 5., 6.])]).unwrap();
        assert_eq!(y.as_slice::<i32>().unwrap(), &[1, 32, 729]);
        let y = run1(&n, vec![t(&[3], vec![1f32, 2., 3.]), t(&[3], vec![4i64, 5, 6])]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 32., 729.]);
        let y = run1(&n, vec![t(&[3], vec![1f32, 2., 3.]), t(&[], vec![2f32])]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 4., 9.]);
        let y = run1(&n, vec![t(&[2], vec![4f32, 9.]), t(&[2], vec![0.5f32, -1.0])]).unwrap();
        assert_close(y.as_slice::<f32>().unwrap(), &[2.0, 1.0 / 9.0]);
    }

    #[test]
    fn legacy_axis_broadcast() {
        let n = Node::new("Add", &["a", "b"], &["y"], 6)
            .with_attr("broadcast", Attribute::Int(1))
            .with_attr("axis", Attribute::Int(1));
        let a = t(&[2, 3, 2], vec![0f32; 12]);
        let y = run1(&n, vec![a, t(&[3], vec![1f32, 2., 3.])]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 1., 2., 2., 3., 3., 1., 1., 2., 2., 3., 3.]);
    }

    #[test]
    fn half_types_compute_in_f32() {
        use ronn_core::f16;
        let n = Node::new("Add", &["a", "b"], &["y"], 14);
        let a = t(&[2], vec![f16::from_f32(1.5), f16::from_f32(2.0)]);
        let y = run1(&n, vec![a.clone(), a]).unwrap();
        assert_eq!(y.dtype(), DType::Float16);
        assert_eq!(y.as_slice::<f16>().unwrap(), &[f16::from_f32(3.0), f16::from_f32(4.0)]);
    }

    #[test]
    fn variadic_ops() {
        let a = t(&[3], vec![3f32, 2., 1.]);
        let b = t(&[3], vec![1f32, 3., 4.]);
        let c = t(&[1], vec![2f32]);
        let y = run1(&Node::new("Sum", &["a", "b", "c"], &["y"], 13), vec![a.clone(), b.clone(), c.clone()]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[6., 7., 7.]);
        let y = run1(&Node::new("Mean", &["a", "b", "c"], &["y"], 13), vec![a.clone(), b.clone(), c.clone()]).unwrap();
        assert_close(y.as_slice::<f32>().unwrap(), &[2., 7. / 3., 7. / 3.]);
        let y = run1(&Node::new("Max", &["a", "b", "c"], &["y"], 13), vec![a.clone(), b.clone(), c.clone()]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[3., 3., 4.]);
        let y = run1(&Node::new("Min", &["a"], &["y"], 13), vec![a.clone()]).unwrap();
        assert_eq!(y.as_slice::<f32>().unwrap(), &[3., 2., 1.]);
        let y = run1(&Node::new("Min", &["a", "b"], &["y"], 13), vec![t(&[2], vec![5u8, 1]), t(&[2], vec![2u8, 9])])
            .unwrap();
        assert_eq!(y.as_slice::<u8>().unwrap(), &[2, 1]);
        let y = run1(&Node::new("Max", &["a", "b"], &["y"], 13), vec![t(&[1], vec![f32::NAN]), t(&[1], vec![1f32])])
            .unwrap();
        assert!(y.as_slice::<f32>().unwrap()[0].is_nan());
    }
}
