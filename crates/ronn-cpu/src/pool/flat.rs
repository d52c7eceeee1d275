//! f32 2-D max and average pools without dilation, one plane at a time on a
//! padded copy of it: the fold over a window's rows, then over its columns, each
//! as a few passes over the whole flat plane (row after row, `k` shifted slices
//! folded together), so 7x7 and 14x14 planes run in long vector loops instead of a
//! short loop per output row. Stride 2 across columns goes through the even/odd
//! halves of the row-folded plane. A per-output loop over strided windows was 80%
//! of SqueezeNet's max pools; a per-output-row version of these passes still left
//! Inception's 14x14 average pools 10x behind ONNX Runtime's.

use super::{Geo, Span};
use ronn_kernels::rows::copy_short;

/// The reduction of a pool (a type, so each pool's loops are compiled, and
/// vectorized, for its own operation).
pub(super) trait Fold2d {
    /// The fold of nothing, and the value of padding.
    const IDENT: f32;
    fn fold(a: f32, b: f32) -> f32;
}

pub(super) struct MaxFold;
impl Fold2d for MaxFold {
    const IDENT: f32 = f32::NEG_INFINITY;
    /// `f32::max` (NaN loses to a number): a compare-and-select here compiles to a
    /// masked store in the in-place folds, which the next pass's loads stall on.
    #[inline(always)]
    fn fold(a: f32, b: f32) -> f32 {
        a.max(b)
    }
}

pub(super) struct SumFold;
impl Fold2d for SumFold {
    const IDENT: f32 = 0.0;
    #[inline(always)]
    fn fold(a: f32, b: f32) -> f32 {
        a + b
    }
}

/// The padded plane's geometry for one pool call.
pub(super) struct FlatPool {
    ih: usize,
    iw: usize,
    oh: usize,
    ow: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    /// Padding rows above / columns left of the image.
    pt: usize,
    pl: usize,
    /// Padded row length (even for column stride 2) and row count: every window
    /// of every output lies inside.
    pw: usize,
    prows: usize,
    /// Row stride of the column-folded grid (`pw`, or `pw / 2` for stride 2).
    stride: usize,
    /// Narrow planes are copied into a padded plane so the row fold runs as one
    /// long loop; wide rows are folded straight from the input (the copy of a
    /// large plane costs more than the short loops it saves).
    padded_copy: bool,
    /// An average's divisor per output on the column-folded grid (0 where a
    /// window counts nothing, and on the grid's unused columns).
    scale: Option<Vec<f32>>,
}

impl FlatPool {
    /// The geometry when the pool is 1-D or 2-D without dilation and every window
    /// holds an image value (pads below the kernel, which ONNX models have; then
    /// padding with the fold's identity gives the pool's value). `average`: the
    /// `count_include_pad` of an AveragePool, `None` for MaxPool.
    pub(super) fn new(g: &Geo, sp: &[Vec<Span>; 3], average: Option<bool>) -> Option<Self> {
        if g.ins[0] != 1 || g.d != [1, 1, 1] || (1..3).any(|d| g.pb[d] >= g.k[d] || g.pe[d] >= g.k[d]) {
            return None;
        }
        let [_, ih, iw] = g.ins;
        let [_, oh, ow] = g.outs;
        let [_, kh, kw] = g.k;
        let [_, sh, sw] = g.s;
        if oh == 0 || ow == 0 {
            return None;
        }
        let mut pw = (iw + g.pb[2]).max((ow - 1) * sw + kw);
        if sw == 2 {
            pw += pw % 2;
        }
        let prows = (ih + g.pb[1]).max((oh - 1) * sh + kh);
        let stride = if sw == 2 { pw / 2 } else { pw };
        let scale = average.map(|include_pad| {
            let inv = |s: &Span| {
                let n = if include_pad { s.padded } else { s.t1 - s.t0 };
                if n == 0 {
                    0.0
                } else {
                    1.0 / n as f32
                }
            };
            let mut grid = vec![0f32; oh * stride];
            for (row, sr) in grid.chunks_exact_mut(stride).zip(&sp[1]) {
                for (v, sc) in row.iter_mut().zip(&sp[2]) {
                    *v = inv(sr) * inv(sc);
                }
            }
            grid
        });
        let padded_copy = iw < 32;
        Some(FlatPool {
            ih,
            iw,
            oh,
            ow,
            kh,
            kw,
            sh,
            sw,
            pt: g.pb[1],
            pl: g.pb[2],
            pw,
            prows,
            stride,
            padded_copy,
            scale,
        })
    }

    /// Scratch for [`FlatPool::plane`], reused across planes: its padded plane's
    /// border must hold the fold's identity, which is never overwritten.
    pub(super) fn scratch<F: Fold2d>(&self) -> Vec<f32> {
        vec![F::IDENT; self.scratch_len()]
    }

    fn scratch_len(&self) -> usize {
        let n = self.oh * self.pw + self.kw;
        let padded = if self.padded_copy { self.prows * self.pw } else { 0 };
        padded + 2 * n + if self.sw == 2 { n + 2 } else { 0 }
    }

    /// Pools plane `x` into `y` (`oh * ow`).
    /// Inlined so that `with_best_simd` compiles it for the CPU's vector width.
    #[inline(always)]
    pub(super) fn plane<F: Fold2d>(&self, x: &[f32], y: &mut [f32], scratch: &mut [f32]) {
        let &FlatPool { ih, iw, oh, ow, kh, kw, sh, sw, pt, pl, pw, prows, stride, padded_copy, .. } = self;
        let n = oh * pw;
        let (padded, rest) = scratch.split_at_mut(if padded_copy { prows * pw } else { 0 });
        let (rowfold, rest) = rest.split_at_mut(n + kw);
        let (out, halves) = rest.split_at_mut(n + kw);
        // Rows: rowfold[oy * pw + c] = fold over t of the padded plane's row oy * sh + t.
        if !padded_copy {
            for (oy, dst) in rowfold[..n].chunks_exact_mut(pw).enumerate() {
                // The window's rows inside the image (at least one, by `new`'s check).
                let top = (oy * sh).saturating_sub(pt);
                let end = (oy * sh + kh).saturating_sub(pt).min(ih);
                dst[..pl].fill(F::IDENT);
                dst[pl + iw..].fill(F::IDENT);
                let mid = &mut dst[pl..pl + iw];
                mid.copy_from_slice(&x[top * iw..][..iw]);
                for r in top + 1..end {
                    fold_into::<F>(mid, &x[r * iw..][..iw]);
                }
            }
        } else {
            // Only the image's place changes between planes: the scratch came filled with IDENT.
            for (src, dst) in x.chunks_exact(iw).take(ih).zip(padded[pt * pw..].chunks_exact_mut(pw)) {
                copy_short(&mut dst[pl..pl + iw], src);
            }
            if sh == 1 {
                rowfold[..n].copy_from_slice(&padded[..n]);
                for t in 1..kh {
                    fold_into::<F>(&mut rowfold[..n], &padded[t * pw..t * pw + n]);
                }
            } else {
                for (oy, dst) in rowfold[..n].chunks_exact_mut(pw).enumerate() {
                    let at = |t: usize| &padded[(oy * sh + t) * pw..][..pw];
                    dst.copy_from_slice(at(0));
                    for t in 1..kh {
                        fold_into::<F>(dst, at(t));
                    }
                }
            }
        }
        rowfold[n..].fill(F::IDENT);
        // Columns: out[oy * stride + ox] = fold over t of rowfold[oy * pw + ox * sw + t].
        let m = oh * stride;
        match sw {
            1 => {
                out[..n].copy_from_slice(&rowfold[..n]);
                for t in 1..kw {
                    fold_into::<F>(&mut out[..n], &rowfold[t..t + n]);
                }
            }
            2 => {
                let (even, odd) = halves.split_at_mut(halves.len() / 2);
                for ((pair, e), o) in rowfold.chunks_exact(2).zip(even.iter_mut()).zip(odd.iter_mut()) {
                    *e = pair[0];
                    *o = pair[1];
                }
                out[..m].copy_from_slice(&even[..m]);
                for t in 1..kw {
                    let phase: &[f32] = if t % 2 == 0 { even } else { odd };
                    fold_into::<F>(&mut out[..m], &phase[t / 2..t / 2 + m]);
                }
            }
            _ => {
                for (oy, dst) in out[..n].chunks_exact_mut(pw).enumerate() {
                    for (ox, d) in dst[..ow].iter_mut().enumerate() {
                        let w = &rowfold[oy * pw + ox * sw..][..kw];
                        *d = w.iter().fold(F::IDENT, |a, &b| F::fold(a, b));
                    }
                }
            }
        }
        if let Some(scale) = &self.scale {
            for (v, &s) in out[..m].iter_mut().zip(scale) {
                *v *= s;
            }
        }
        copy_rows(y, ow, &out[..m], stride);
    }
}

#[inline(always)]
fn fold_into<F: Fold2d>(acc: &mut [f32], src: &[f32]) {
    for (a, &b) in acc.iter_mut().zip(src) {
        *a = F::fold(*a, b);
    }
}

/// Copies the rows of width `w` of `src` (row stride `stride`) into the packed `y`.
/// A row narrower than a vector is moved as one 16-wide vector that runs on into
/// the next rows' places, which their own copies then overwrite (rows go in
/// order); the last rows, where that would leave `y` or `src`, copy exactly.
#[inline(always)]
fn copy_rows(y: &mut [f32], w: usize, src: &[f32], stride: usize) {
    const V: usize = 16;
    for r in 0..y.len() / w.max(1) {
        let (at, from) = (r * w, r * stride);
        if w <= V && from + V <= src.len() && at + V <= y.len() {
            let v: [f32; V] = src[from..from + V].try_into().expect("16 floats");
            y[at..at + V].copy_from_slice(&v);
        } else {
            copy_short(&mut y[at..at + w], &src[from..from + w]);
        }
    }
}
