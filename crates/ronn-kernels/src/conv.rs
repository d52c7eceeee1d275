//! N-dimensional convolution and transposed convolution on plain NC[spatial]
//! slices, for `f32`/`f64` ([`Scalar`]).
//!
//! - [`conv`]: 1x1 stride-1 unpadded kernels run as one gemm per image and group
//!   straight on the input (no im2col); depthwise 2-D (`group == C_in == C_out`)
//!   runs a direct kernel (`conv/depthwise.rs`); everything else is im2col + gemm
//!   per image and group.
//!   The weight layout is ONNX's `[M, C/group, k...]`, which is already the
//!   row-major `[M/group, C/group * prod(k)]` gemm operand per group, so callers
//!   only convert its type once at planning time.
//! - [`conv_transpose`]: gemm (`W_g^T * X_g`) + col2im.
//!
//! Both take an [`Activation`] epilogue applied (with the bias) to each output
//! row right after its gemm, while it is still in cache, so graph fusion
//! (Conv+Relu, Conv+Clip, ...) can reuse this API.

use crate::gemm::{gemm, gemm_rm_into, Mat, Scalar, SharedPtr};
use rayon::prelude::*;
use ronn_core::pool::Scratch;
use ronn_core::{Error, Result};

mod depthwise;
#[cfg(all(target_arch = "x86_64", ronn_avx512))]
mod depthwise_blocked;

/// The activation fused after bias.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// max(x, 0).
    Relu,
    /// min(max(x, min), max).
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// x if x >= 0 else alpha * x.
    LeakyRelu {
        /// Slope for negatives.
        alpha: f32,
    },
    /// max(0, min(1, alpha * x + beta)).
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// x * max(0, min(1, x / 6 + 1 / 2)).
    HardSwish,
    /// x * sigmoid(x) (SiLU, Swish: EfficientNet's `Sigmoid -> Mul` pair).
    Silu,
}

/// Adds `residual` (a row of the same length, if any) and `bias` (if any) to
/// every element of `row`, then applies `act`: `row = act(row + residual + bias)`,
/// the order of ONNX Runtime's FusedConv (`Z` is the residual).
#[inline(always)]
pub fn epilogue<T: Scalar>(row: &mut [T], bias: Option<T>, residual: Option<&[T]>, act: Activation) {
    if let Some(z) = residual {
        for (v, &r) in row.iter_mut().zip(z) {
            *v = *v + r;
        }
    }
    if let Some(b) = bias {
        for v in row.iter_mut() {
            *v = *v + b;
        }
    }
    activate(row, act);
}

/// [`epilogue`] for `rows` rows of an output block: row `m` is
/// `y[m * stride..m * stride + len]` with bias `bias[m]` and residual
/// `residual(m)`. When the rows are contiguous (`stride == len`, a whole small
/// map) the activation runs once over the block: per-row calls cost more than
/// the SiLU of a 7x7 row itself.
#[inline(always)]
fn epilogue_rows<'z, T: Scalar>(
    y: &mut [T],
    stride: usize,
    len: usize,
    rows: usize,
    bias: Option<&[T]>,
    residual: impl Fn(usize) -> Option<&'z [T]>,
    act: Activation,
) {
    if stride == len {
        let block = &mut y[..rows * len];
        for (m, row) in block.chunks_exact_mut(len).enumerate() {
            epilogue(row, bias.map(|b| b[m]), residual(m), Activation::None);
        }
        activate(block, act);
    } else {
        for m in 0..rows {
            epilogue(&mut y[m * stride..m * stride + len], bias.map(|b| b[m]), residual(m), act);
        }
    }
}

/// Applies `act` to every element of `row`, written as selects so the loops
/// vectorize (shared with the Winograd kernel's fused output transform).
#[inline(always)]
pub fn activate<T: Scalar>(row: &mut [T], act: Activation) {
    match act {
        Activation::None => {}
        Activation::Relu => row.iter_mut().for_each(|v| *v = if *v < T::ZERO { T::ZERO } else { *v }),
        Activation::Clip { min, max } => {
            let (lo, hi) = (T::from_f32(min), T::from_f32(max));
            row.iter_mut().for_each(|v| {
                let y = if *v < lo { lo } else { *v };
                *v = if y > hi { hi } else { y };
            })
        }
        Activation::LeakyRelu { alpha } => {
            let a = T::from_f32(alpha);
            row.iter_mut().for_each(|v| *v = if *v < T::ZERO { *v * a } else { *v })
        }
        Activation::HardSigmoid { alpha, beta } => {
            let (a, b) = (T::from_f32(alpha), T::from_f32(beta));
            row.iter_mut().for_each(|v| *v = clamp01(*v * a + b))
        }
        Activation::HardSwish => {
            let (a, b) = (T::from_f32(1.0 / 6.0), T::from_f32(0.5));
            row.iter_mut().for_each(|v| *v = *v * clamp01(*v * a + b))
        }
        // The polynomial sigmoid, compiled for this CPU's widest vectors.
        Activation::Silu => ronn_core::simd::with_best_simd(
            #[inline(always)]
            || row.iter_mut().for_each(|v| *v = v.silu()),
        ),
    }
}

#[inline(always)]
fn clamp01<T: Scalar>(v: T) -> T {
    let v = if v < T::ZERO { T::ZERO } else { v };
    if v > T::ONE {
        T::ONE
    } else {
        v
    }
}

/// Geometry of a convolution. For [`conv`], `in_spatial` is X's spatial shape and
/// `out_spatial` Y's; for [`conv_transpose`] likewise (X is the small one).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvGeom {
    /// N.
    pub batch: usize,
    /// Channels of X.
    pub c_in: usize,
    /// Channels of Y.
    pub c_out: usize,
    /// Groups (divides both channel counts).
    pub group: usize,
    /// X spatial dims.
    pub in_spatial: Vec<usize>,
    /// Y spatial dims.
    pub out_spatial: Vec<usize>,
    /// Kernel spatial dims.
    pub kernel: Vec<usize>,
    /// Strides per spatial dim.
    pub strides: Vec<usize>,
    /// Dilations per spatial dim.
    pub dilations: Vec<usize>,
    /// Leading pads per spatial dim (trailing pads only shape the output).
    pub pads_begin: Vec<usize>,
}

impl ConvGeom {
    /// Elements of one spatial plane of X.
    pub fn in_size(&self) -> usize {
        self.in_spatial.iter().product()
    }
    /// Elements of one spatial plane of Y.
    pub fn out_size(&self) -> usize {
        self.out_spatial.iter().product()
    }
    /// Kernel taps.
    pub fn kernel_size(&self) -> usize {
        self.kernel.iter().product()
    }
    fn check(&self) -> Result<()> {
        let nd = self.kernel.len();
        let ok = nd >= 1
            && self.in_spatial.len() == nd
            && self.out_spatial.len() == nd
            && self.strides.len() == nd
            && self.dilations.len() == nd
            && self.pads_begin.len() == nd
            && self.group >= 1
            && self.c_in.is_multiple_of(self.group)
            && self.c_out.is_multiple_of(self.group)
            && self.strides.iter().all(|&s| s >= 1)
            && self.dilations.iter().all(|&d| d >= 1);
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!("inconsistent convolution geometry {self:?}")))
        }
    }
}

/// Gathers kernel taps: `img` has `channels` planes of `img_dims`; `cols` gets
/// `channels * prod(kernel)` rows of `prod(col_dims)` (zero where out of bounds).
/// Position `o` along dim `d` of the col grid reads image index
/// `o * stride + k * dilation - pad`.
struct Lattice<'a> {
    img: &'a [usize],
    col: &'a [usize],
    kernel: &'a [usize],
    strides: &'a [usize],
    dilations: &'a [usize],
    pads: &'a [usize],
}

impl Lattice<'_> {
    /// Calls `f(row_index_in_col_plane_start, image_base, lo, hi, off)` for each run
    /// along the last dim: for col positions `lo..hi` (of the last dim) the image
    /// index along the last dim is `ow * s + off` (valid), for one kernel tap `kidx`.
    /// Positions outside `lo..hi` (and whole invalid rows, reported with lo == hi)
    /// are out of bounds.
    fn for_each_run(&self, kidx: usize, f: impl FnMut(usize, usize, usize, usize, isize)) {
        let outer: usize = self.col[..self.kernel.len() - 1].iter().product();
        self.for_each_run_in(kidx, 0, outer, f)
    }

    /// [`Self::for_each_run`] over outer col rows `o0..o1` only; `start` is relative to row `o0`.
    fn for_each_run_in(&self, kidx: usize, o0: usize, o1: usize, mut f: impl FnMut(usize, usize, usize, usize, isize)) {
        let nd = self.kernel.len();
        let mut kpos = [0usize; 8];
        let mut rem = kidx;
        for d in (0..nd).rev() {
            kpos[d] = rem % self.kernel[d];
            rem /= self.kernel[d];
        }
        let col_last = self.col[nd - 1];
        let img_last = self.img[nd - 1] as isize;
        let s = self.strides[nd - 1] as isize;
        let off = (kpos[nd - 1] * self.dilations[nd - 1]) as isize - self.pads[nd - 1] as isize;
        // valid ow: 0 <= ow*s + off < img_last
        let lo = if off >= 0 { 0 } else { ((-off) + s - 1) / s };
        let hi = if img_last - off <= 0 { 0 } else { (img_last - off + s - 1) / s };
        let lo = (lo as usize).min(col_last);
        let hi = (hi.max(0) as usize).min(col_last).max(lo);
        for o in o0..o1 {
            let mut r = o;
            let mut base: isize = 0;
            let mut mult: isize = 1;
            let mut valid = true;
            for d in (0..nd - 1).rev() {
                let od = r % self.col[d];
                r /= self.col[d];
                let i = (od * self.strides[d] + kpos[d] * self.dilations[d]) as isize - self.pads[d] as isize;
                if i < 0 || i >= self.img[d] as isize {
                    valid = false;
                    break;
                }
                base += i * mult;
                mult *= self.img[d] as isize;
            }
            let base = (base as usize) * self.img[nd - 1];
            if valid {
                f((o - o0) * col_last, base, lo, hi, off);
            } else {
                f((o - o0) * col_last, 0, 0, 0, 0);
            }
        }
    }

    #[cfg(test)]
    fn im2col<T: Scalar>(&self, channels: usize, img: &[T], cols: &mut [T]) {
        let outer: usize = self.col[..self.kernel.len() - 1].iter().product();
        self.im2col_rows(channels, img, cols, 0, outer)
    }

    /// im2col of the outer col rows `o0..o1` only: `cols` rows are `(o1 - o0) * col_last` wide.
    fn im2col_rows<T: Scalar>(&self, channels: usize, img: &[T], cols: &mut [T], o0: usize, o1: usize) {
        let isz: usize = self.img.iter().product();
        let csz: usize = (o1 - o0) * self.col[self.kernel.len() - 1];
        let ksz: usize = self.kernel.iter().product();
        let nd = self.kernel.len();
        let col_last = self.col[nd - 1];
        let s = self.strides[nd - 1];
        for c in 0..channels {
            let plane = &img[c * isz..(c + 1) * isz];
            for kidx in 0..ksz {
                let row = &mut cols[(c * ksz + kidx) * csz..(c * ksz + kidx + 1) * csz];
                self.for_each_run_in(kidx, o0, o1, |start, base, lo, hi, off| {
                    let dst = &mut row[start..start + col_last];
                    dst[..lo].fill(T::ZERO);
                    dst[hi..].fill(T::ZERO);
                    if hi > lo {
                        let first = (base as isize + lo as isize * s as isize + off) as usize;
                        if s == 1 {
                            dst[lo..hi].copy_from_slice(&plane[first..first + (hi - lo)]);
                        } else if s == 2 {
                            // Every other element, as pairs the compiler turns into
                            // shuffles (`step_by` stayed scalar: im2col was half of a
                            // stride-2 stem's time).
                            let n = hi - lo;
                            let src = &plane[first..first + 2 * (n - 1) + 1];
                            let (head, last) = dst[lo..hi].split_at_mut(n - 1);
                            for (v, pair) in head.iter_mut().zip(src.chunks_exact(2)) {
                                *v = pair[0];
                            }
                            last[0] = src[2 * (n - 1)];
                        } else {
                            // An iterator, not indexing: no bounds check per element.
                            for (v, &x) in dst[lo..hi].iter_mut().zip(plane[first..].iter().step_by(s)) {
                                *v = x;
                            }
                        }
                    }
                });
            }
        }
    }

    fn col2im<T: Scalar>(&self, channels: usize, cols: &[T], img: &mut [T]) {
        let isz: usize = self.img.iter().product();
        let csz: usize = self.col.iter().product();
        let ksz: usize = self.kernel.iter().product();
        let s = self.strides[self.kernel.len() - 1];
        for c in 0..channels {
            let plane = &mut img[c * isz..(c + 1) * isz];
            for kidx in 0..ksz {
                let row = &cols[(c * ksz + kidx) * csz..(c * ksz + kidx + 1) * csz];
                self.for_each_run(kidx, |start, base, lo, hi, off| {
                    if hi > lo {
                        let first = (base as isize + lo as isize * s as isize + off) as usize;
                        for (j, v) in row[start + lo..start + hi].iter().enumerate() {
                            let p = &mut plane[first + j * s];
                            *p = *p + *v;
                        }
                    }
                });
            }
        }
    }
}

/// A 1x1 convolution's GEMM (`Y[mg, osz] = W[mg, k] * X[k, osz]`) split into
/// tasks of column tiles (`tn` wide) and, when there are fewer tiles than
/// threads, blocks of output rows; each task runs a single-threaded GEMM and then
/// `finish(m0, rows, c0, cols, block)` on its block while it is in that core's
/// cache (`block`: `rows` whole rows from row `m0` when a tile spans the rows,
/// else one row piece, columns `c0..c0 + cols`, per call). Splitting the
/// GEMM alone left the epilogue reading the other core's half: 1x1 convolutions
/// ran up to 2x slower on two threads than on one.
#[allow(clippy::too_many_arguments)]
fn pointwise_tasks<T: Scalar>(
    mg: usize,
    osz: usize,
    k: usize,
    tn: usize,
    threads: usize,
    w: &[T],
    x: &[T],
    y: &mut [T],
    finish: impl Fn(usize, usize, usize, usize, &mut [T]) + Sync,
) -> Result<()> {
    let col_tiles = osz.div_ceil(tn);
    let row_blocks = if col_tiles >= threads { 1 } else { threads.min(mg.div_ceil(16)).max(1) };
    let mb = mg.div_ceil(row_blocks);
    check_len("Y", y.len(), mg * osz)?;
    let ys = SharedPtr(y.as_mut_ptr());
    (0..col_tiles * row_blocks).into_par_iter().try_for_each(|t| {
        let (c0, m0) = ((t / row_blocks) * tn, (t % row_blocks) * mb);
        let (cols, rows) = (tn.min(osz - c0), mb.min(mg.saturating_sub(m0)));
        if rows == 0 {
            return Ok(());
        }
        // SAFETY: this task's block is rows m0..m0 + rows, columns c0..c0 + cols of Y
        // (row stride osz, checked above), disjoint from every other task's; Y stays
        // mutably borrowed until all tasks return.
        unsafe {
            gemm_rm_into(rows, cols, k, &w[m0 * k..(m0 + rows) * k], &x[c0..], osz, ys.get().add(m0 * osz + c0), osz)
        }?;
        if cols == osz {
            // SAFETY: whole rows m0..m0 + rows: this task's block, contiguous.
            finish(m0, rows, c0, cols, unsafe { std::slice::from_raw_parts_mut(ys.get().add(m0 * osz), rows * osz) });
        } else {
            for r in 0..rows {
                // SAFETY: one row piece of this task's block (columns c0..c0 + cols).
                let row = unsafe { std::slice::from_raw_parts_mut(ys.get().add((m0 + r) * osz + c0), cols) };
                finish(m0 + r, 1, c0, cols, row);
            }
        }
        Ok(())
    })
}

/// Checks the activation operands every convolution kernel shares (X, Y, and the
/// optional bias and residual) against `g`; W's layout differs per kernel.
pub(crate) fn check_operands<T>(
    g: &ConvGeom,
    x: &[T],
    y: &[T],
    bias: Option<&[T]>,
    residual: Option<&[T]>,
) -> Result<()> {
    check_len("X", x.len(), g.batch * g.c_in * g.in_size())?;
    check_len("Y", y.len(), g.batch * g.c_out * g.out_size())?;
    if let Some(b) = bias {
        check_len("B", b.len(), g.c_out)?;
    }
    if let Some(z) = residual {
        check_len("Z", z.len(), y.len())?;
    }
    Ok(())
}

pub(crate) fn check_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::ShapeMismatch(format!("conv: {what} has {got} elements, expected {want}")));
    }
    Ok(())
}

/// Convolution `Y = act(conv(X, W) + bias)`.
///
/// `x`: `[N, C_in, in_spatial...]`, `w`: `[C_out, C_in/group, kernel...]`,
/// `bias`: `[C_out]`, `y`: `[N, C_out, out_spatial...]` (fully overwritten).
pub fn conv<T: Scalar>(g: &ConvGeom, x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T], act: Activation) -> Result<()> {
    conv_fused(g, x, w, bias, None, y, act)
}

/// Convolution with a residual: `Y = act(conv(X, W) + Z + bias)`, `Z` shaped
/// like `Y` (a ResNet block's Conv -> Add -> Relu in one pass over `Y`).
pub fn conv_fused<T: Scalar>(
    g: &ConvGeom,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    residual: Option<&[T]>,
    y: &mut [T],
    act: Activation,
) -> Result<()> {
    g.check()?;
    let nd = g.kernel.len();
    if nd > 8 {
        return Err(Error::InvalidArgument("conv: more than 8 spatial dims".into()));
    }
    let (isz, osz, ksz) = (g.in_size(), g.out_size(), g.kernel_size());
    let cg = g.c_in / g.group;
    let mg = g.c_out / g.group;
    check_len("W", w.len(), g.c_out * cg * ksz)?;
    check_operands(g, x, y, bias, residual)?;
    if y.is_empty() {
        return Ok(());
    }
    // Row `r` (image n, channel c: r = n * C_out + c) of the residual, columns c0..c0 + len.
    let z_row =
        |r: usize, c0: usize, len: usize| residual.map(|z| &z[r * g.out_size() + c0..r * g.out_size() + c0 + len]);
    let lat = Lattice {
        img: &g.in_spatial,
        col: &g.out_spatial,
        kernel: &g.kernel,
        strides: &g.strides,
        dilations: &g.dilations,
        pads: &g.pads_begin,
    };

    // Depthwise 2-D: direct kernels, parallel over planes.
    if g.group == g.c_in && g.c_in == g.c_out && nd == 2 && g.group > 1 {
        depthwise::depthwise(&depthwise::Operands { g, lat: &lat, x, w, bias, residual, act }, y);
        return Ok(());
    }

    let pointwise = g.kernel.iter().all(|&k| k == 1)
        && g.strides.iter().all(|&s| s == 1)
        && g.pads_begin.iter().all(|&p| p == 0)
        && g.in_spatial == g.out_spatial;
    let threads = rayon::current_num_threads();
    let k = cg * ksz;
    let col_last = g.out_spatial[nd - 1];
    let outer: usize = g.out_spatial[..nd - 1].iter().product();
    // Output rows per im2col tile: keep the col tile near 128K elements (L2), but at
    // least ~256 columns wide so W is not re-packed by gemm for tiny tiles.
    let tile_rows =
        ((1usize << 17) / (k * col_last).max(1)).max(256usize.div_ceil(col_last.max(1))).clamp(1, outer.max(1));
    // im2col buffers come from the run's memory pool (a fresh one page-faults on
    // every call) and are written in full by im2col_rows.
    let col_len = if pointwise { 0 } else { k * tile_rows * col_last };
    let pool = ronn_core::pool::current();
    let one_image = |n: usize, yimg: &mut [T], col: &mut [T], parallel: bool| -> Result<()> {
        for gi in 0..g.group {
            let xg = &x[(n * g.c_in + gi * cg) * isz..(n * g.c_in + (gi + 1) * cg) * isz];
            let wg = &w[gi * mg * k..(gi + 1) * mg * k];
            let yg = &mut yimg[gi * mg * osz..(gi + 1) * mg * osz];
            if pointwise {
                // Column tiles of about 128K outputs: each tile's epilogue runs while
                // the gemm's output is still in L2 (one pass over a 112x112 map's
                // output, which is several MB, instead of two).
                let tn = ((1usize << 17) / mg.max(1)).next_multiple_of(64).max(256).min(osz);
                if parallel && threads > 1 {
                    pointwise_tasks(mg, osz, k, tn, threads, wg, xg, yg, |m0, rows, c0, w_cols, block| {
                        let b = bias.map(|b| &b[gi * mg + m0..]);
                        let z = |m| z_row(n * g.c_out + gi * mg + m0 + m, c0, w_cols);
                        epilogue_rows(block, osz, w_cols, rows, b, z, act);
                    })?;
                    continue;
                }
                let mut c0 = 0;
                while c0 < osz {
                    let w_cols = tn.min(osz - c0);
                    let b = Mat::rm(&xg[c0..], osz);
                    gemm(mg, w_cols, k, Mat::rm(wg, k), b, &mut yg[c0..], osz, T::ONE, T::ZERO, parallel)?;
                    let b = bias.map(|b| &b[gi * mg..]);
                    let z = |m| z_row(n * g.c_out + gi * mg + m, c0, w_cols);
                    epilogue_rows(&mut yg[c0..], osz, w_cols, mg, b, z, act);
                    c0 += w_cols;
                }
                continue;
            }
            let tiles = outer.div_ceil(tile_rows);
            if parallel && tiles > 1 && threads > 1 {
                // Batch 1: tiles in parallel, each with its own im2col buffer and a
                // single-threaded gemm, so the gather is split across threads too.
                let ys = SharedPtr(yg.as_mut_ptr());
                let yz = n * g.c_out + gi * mg;
                let scratch = || Scratch::<T>::from_pool(pool.clone(), col_len);
                return (0..tiles).into_par_iter().try_for_each_init(scratch, |col, t| {
                    let (o0, o1) = (t * tile_rows, ((t + 1) * tile_rows).min(outer));
                    let tn = (o1 - o0) * col_last;
                    let c0 = o0 * col_last;
                    let col = &mut col[..k * tn];
                    lat.im2col_rows(cg, xg, col, o0, o1);
                    // SAFETY: this task's block of Y is columns c0..c0 + tn of its
                    // mg rows (row stride osz), disjoint from every other task's
                    // columns; Y stays mutably borrowed until all tasks return.
                    unsafe { gemm_rm_into(mg, tn, k, wg, col, tn, ys.get().add(c0), osz) }?;
                    for m in 0..mg {
                        // SAFETY: as above, one row piece of this task's block.
                        let row = unsafe { std::slice::from_raw_parts_mut(ys.get().add(m * osz + c0), tn) };
                        epilogue(row, bias.map(|b| b[gi * mg + m]), z_row(yz + m, c0, tn), act);
                    }
                    Ok(())
                });
            }
            let mut o0 = 0;
            while o0 < outer {
                let o1 = (o0 + tile_rows).min(outer);
                let tn = (o1 - o0) * col_last;
                let col = &mut col[..k * tn];
                lat.im2col_rows(cg, xg, col, o0, o1);
                let c0 = o0 * col_last;
                gemm(mg, tn, k, Mat::rm(wg, k), Mat::rm(col, tn), &mut yg[c0..], osz, T::ONE, T::ZERO, parallel)?;
                let b = bias.map(|b| &b[gi * mg..]);
                let z = |m| z_row(n * g.c_out + gi * mg + m, c0, tn);
                epilogue_rows(&mut yg[c0..], osz, tn, mg, b, z, act);
                o0 = o1;
            }
        }
        Ok(())
    };
    if g.batch > 1 && threads > 1 {
        y.par_chunks_mut(g.c_out * osz).enumerate().try_for_each_init(
            || Scratch::from_pool(pool.clone(), col_len),
            |col, (n, yimg)| one_image(n, yimg, col, false),
        )
    } else {
        let mut col = Scratch::from_pool(pool.clone(), col_len);
        for (n, yimg) in y.chunks_mut(g.c_out * osz).enumerate() {
            one_image(n, yimg, &mut col, true)?;
        }
        Ok(())
    }
}

/// Transposed convolution `Y = act(conv_transpose(X, W) + bias)`.
///
/// `x`: `[N, C_in, in_spatial...]`, `w`: `[C_in, C_out/group, kernel...]`,
/// `bias`: `[C_out]`, `y`: `[N, C_out, out_spatial...]` (fully overwritten).
/// Output index along a dim is `i * stride + k * dilation - pad_begin`.
pub fn conv_transpose<T: Scalar>(
    g: &ConvGeom,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    y: &mut [T],
    act: Activation,
) -> Result<()> {
    g.check()?;
    let nd = g.kernel.len();
    if nd > 8 {
        return Err(Error::InvalidArgument("conv_transpose: more than 8 spatial dims".into()));
    }
    let (isz, osz, ksz) = (g.in_size(), g.out_size(), g.kernel_size());
    let cg = g.c_in / g.group;
    let mg = g.c_out / g.group;
    check_len("W", w.len(), g.c_in * mg * ksz)?;
    check_operands(g, x, y, bias, None)?;
    if y.is_empty() {
        return Ok(());
    }
    // Here the "image" is Y and the col grid is X's spatial grid.
    let lat = Lattice {
        img: &g.out_spatial,
        col: &g.in_spatial,
        kernel: &g.kernel,
        strides: &g.strides,
        dilations: &g.dilations,
        pads: &g.pads_begin,
    };
    let rows = mg * ksz;
    let mut col = vec![T::ZERO; rows * isz];
    for (n, yimg) in y.chunks_mut(g.c_out * osz).enumerate() {
        yimg.fill(T::ZERO);
        for gi in 0..g.group {
            let xg = &x[(n * g.c_in + gi * cg) * isz..(n * g.c_in + (gi + 1) * cg) * isz];
            let wg = &w[gi * cg * rows..(gi + 1) * cg * rows];
            gemm(rows, isz, cg, Mat::t(wg, rows), Mat::rm(xg, isz), &mut col, isz, T::ONE, T::ZERO, true)?;
            let yg = &mut yimg[gi * mg * osz..(gi + 1) * mg * osz];
            lat.col2im(mg, &col, yg);
            for (m, row) in yg.chunks_mut(osz).enumerate() {
                epilogue(row, bias.map(|b| b[gi * mg + m]), None, act);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
