//! Winograd F(4x4, 3x3) convolution for 2-D, 3x3, stride-1, dilation-1,
//! ungrouped `f32` convolutions (any pads, any batch).
//!
//! Each 4x4 output tile is computed from a 6x6 input tile as
//! `Y = A^T [ (G g G^T) . (B^T d B) ] A` (Lavin & Gray, points 0, +-1, +-2, inf):
//! 36 multiplies per tile and channel pair instead of 144.
//!
//! Structure of [`Winograd::run`]: the output tiles of each image are cut into
//! blocks of whole tile rows (about [`BLOCK_TILES`] tiles). Per block:
//! 1. input transform: `V[xi][c][t]` (36 matrices `C_in x Tb`),
//! 2. 36 GEMMs `M[xi] = U[xi] * V[xi]` (`U[xi]` is the pre-transformed
//!    `C_out x C_in` weight matrix, contiguous per `xi`),
//! 3. output transform straight into Y's rows, with the epilogue (residual,
//!    bias, activation, as `conv::epilogue`) fused on each 64-wide row piece
//!    before it is stored.
//!
//! Blocks run in parallel on the caller's rayon pool (each thread with its
//! own reused thread-local scratch); with fewer blocks than threads the 36
//! GEMMs of a block are split over the pool instead. The transforms work on 16
//! consecutive tiles of a tile row at once (one lane per tile): each input row
//! is split once into its 4 phases (`x[4 * tx + m]`) so the overlapping 6x6
//! windows become contiguous loads, and output rows are interleaved back the
//! same way. They are compiled for AVX-512 / AVX2 with runtime dispatch (the
//! phase split / interleave use AVX-512 shuffles and masked loads where
//! available), with a portable fallback. The 36 matrices of V and M are an odd
//! number of cache lines apart so a transform's 36 streams do not share one
//! L1 set.
//!
//! Measured on the dev machine (Xeon, AVX-512, 1 thread, best of 20, bias +
//! Relu), im2col -> Winograd: 64@56 1.85 -> 0.79 ms, 128@28 1.50 -> 0.75 ms,
//! 256@14 1.48 -> 1.07 ms, 128@112 37.7 -> 14.0 ms, 512@28 28.8 -> 13.4 ms;
//! 512@14 5.6 -> 3.7 ms, batch-4 512@7 6.6 -> 4.5 ms; batch-1 512@7 (im2col
//! 1.62 ms, Winograd 3.7 ms) is left to im2col by [`Winograd::supports`].
//! Hand-run: the `winograd_timing`, `winograd_breakdown` and
//! `winograd_accuracy` ignored tests.

use crate::conv::{activate, check_len, check_operands, Activation, ConvGeom};
use crate::gemm::{gemm, Mat};
use rayon::prelude::*;
use ronn_core::{Error, Result};
use std::cell::RefCell;

/// Tiles processed together by the transforms (one SIMD lane each).
const L: usize = 16;
/// Target number of tiles per block (the GEMMs' `n`).
pub const BLOCK_TILES: usize = 128;
/// Fewest tiles per block worth splitting an image into more blocks for threads.
const MIN_PAR_TILES: usize = 24;

/// Weights transformed once (at planning time).
#[derive(Clone, Debug)]
pub struct Winograd {
    c_out: usize,
    c_in: usize,
    /// 36 row-major `[c_out x c_in]` matrices, one after the other.
    u: Vec<f32>,
}

fn bad(msg: String) -> Error {
    Error::InvalidArgument(format!("winograd: {msg}"))
}

/// Whether `g` is a 2-D, 3x3, stride-1, dilation-1, ungrouped convolution
/// (what [`Winograd::run`] can compute at all).
fn is_wino_geom(g: &ConvGeom) -> bool {
    g.kernel == [3, 3]
        && g.strides == [1, 1]
        && g.dilations == [1, 1]
        && g.in_spatial.len() == 2
        && g.out_spatial.len() == 2
        && g.pads_begin.len() == 2
        && g.group == 1
}

impl Winograd {
    /// Whether `g` is a conv this kernel runs, and runs faster than im2col
    /// (thresholds chosen by measurement, see the module's timing test).
    pub fn supports(g: &ConvGeom) -> bool {
        if !is_wino_geom(g) || g.c_in < 8 || g.c_out < 8 {
            return false;
        }
        // The transformed weights (36 * C_out * C_in floats, 4x the plain ones) are
        // streamed once per block, so a block needs enough tiles (small images of a
        // batch share blocks): 512@7 batch 1 (2x2 tiles) is 2.3x slower than
        // im2col, 512@7 batch 4 and 512@14 (16 tiles) ~1.5x faster, 256@14 1.4x.
        // With 8 channels the transforms eat the gain (1.0-1.1x).
        let tiles = g.out_spatial[0].div_ceil(4) * g.out_spatial[1].div_ceil(4) * g.batch;
        // Inside a whole model the transformed weights come from L3/DRAM, not from a
        // warm cache as in the timing test, and 16-tile GEMMs run far below peak: at
        // 14x14 (16 tiles) every layer measured ran faster through im2col (ResNet's
        // 256/512 channels; Inception v2's 96..192: 1.2-1.4x, the model 32 -> 30 ms).
        let enough_tiles = tiles >= 49;
        // Ragged tiles compute outputs that are thrown away: 13x13 maps fill 4x4
        // tiles to 66% (SqueezeNet's 64->256@13 ran 1.45x faster through im2col).
        let used: usize = g.out_spatial.iter().product();
        let computed: usize = g.out_spatial.iter().map(|o| o.next_multiple_of(4)).product();
        enough_tiles && 4 * used >= 3 * computed && g.c_in * g.c_out >= 128 && g.c_in * g.c_out <= 16384 * tiles
    }

    /// Transforms W `[C_out, C_in, 3, 3]`.
    pub fn new(c_out: usize, c_in: usize, w: &[f32]) -> Result<Self> {
        check_len("W", w.len(), c_out * c_in * 9)?;
        const G: [[f64; 3]; 6] = [
            [0.25, 0.0, 0.0],
            [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
            [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
            [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
            [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
            [0.0, 0.0, 1.0],
        ];
        let plane = c_out * c_in;
        let mut u = vec![0f32; 36 * plane];
        for (p, k) in w.chunks_exact(9).enumerate() {
            // t = G g  (6x3), then U = t G^T (6x6), in f64.
            let mut t = [[0f64; 3]; 6];
            for (i, ti) in t.iter_mut().enumerate() {
                for (j, tij) in ti.iter_mut().enumerate() {
                    *tij = (0..3).map(|r| G[i][r] * k[r * 3 + j] as f64).sum();
                }
            }
            for i in 0..6 {
                for j in 0..6 {
                    let v: f64 = (0..3).map(|r| t[i][r] * G[j][r]).sum();
                    u[(i * 6 + j) * plane + p] = v as f32;
                }
            }
        }
        Ok(Winograd { c_out, c_in, u })
    }

    /// Output channels.
    pub fn c_out(&self) -> usize {
        self.c_out
    }

    /// Input channels.
    pub fn c_in(&self) -> usize {
        self.c_in
    }

    /// `y = act(conv(x, W) + residual + bias)`, same contract as
    /// [`crate::conv::conv_fused`] (y fully overwritten).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &self,
        g: &ConvGeom,
        x: &[f32],
        bias: Option<&[f32]>,
        residual: Option<&[f32]>,
        y: &mut [f32],
        act: Activation,
    ) -> Result<()> {
        self.run_with(g, x, bias, residual, y, act, has_avx512())
    }

    /// [`Self::run`], with the AVX-512 shuffles allowed or not (tests use `false`
    /// to cover the portable path on AVX-512 machines).
    #[allow(clippy::too_many_arguments)]
    fn run_with(
        &self,
        g: &ConvGeom,
        x: &[f32],
        bias: Option<&[f32]>,
        residual: Option<&[f32]>,
        y: &mut [f32],
        act: Activation,
        avx512: bool,
    ) -> Result<()> {
        if !is_wino_geom(g) {
            return Err(bad(format!("not a 2-D 3x3 stride-1 dilation-1 ungrouped conv: {g:?}")));
        }
        if g.c_in != self.c_in || g.c_out != self.c_out {
            return Err(bad(format!(
                "geometry has C_in {} / C_out {}, weights {} / {}",
                g.c_in, g.c_out, self.c_in, self.c_out
            )));
        }
        let (isz, osz) = (g.in_size(), g.out_size());
        check_operands(g, x, y, bias, residual)?;
        if y.is_empty() {
            return Ok(());
        }
        let (oh, ow) = (g.out_spatial[0], g.out_spatial[1]);
        let (th, tw) = (oh.div_ceil(4), ow.div_ceil(4));
        let threads = rayon::current_num_threads();
        // Blocks of whole tile rows, about BLOCK_TILES tiles each, balanced. With
        // several threads and few images, the block count is rounded up to a
        // multiple of the threads as long as blocks keep >= MIN_PAR_TILES tiles
        // (fewer tiles would stream the big transformed weights once per tiny
        // block: then the 36 GEMMs of each block are split over the threads).
        let mut nb = (th * tw).div_ceil(BLOCK_TILES).clamp(1, th);
        if threads > 1 && g.batch * nb < 4 * threads {
            let want = (g.batch * nb).next_multiple_of(threads).div_ceil(g.batch);
            if want <= th && (th * tw) / want >= MIN_PAR_TILES {
                nb = want;
            }
        }
        let rows = th.div_ceil(nb);
        let nb = th.div_ceil(rows);
        // Small maps: whole images share a block (more GEMM columns per pass over
        // the weights), as long as that still leaves a block per thread.
        let mut imgs = 1;
        if nb == 1 && g.batch > 1 {
            let t = th * tw;
            imgs = (BLOCK_TILES / t).clamp(1, g.batch);
            if threads > 1 && g.batch.div_ceil(imgs) < threads {
                let per = g.batch.div_ceil(threads);
                if per * t >= MIN_PAR_TILES {
                    imgs = imgs.min(per);
                }
            }
        }
        let groups = g.batch.div_ceil(imgs);
        let ldv = (imgs * rows * tw).next_multiple_of(L);
        let p = Plan {
            ih: g.in_spatial[0],
            iw: g.in_spatial[1],
            oh,
            ow,
            pt: g.pads_begin[0] as isize,
            pl: g.pads_begin[1] as isize,
            tw,
            c_in: g.c_in,
            ldv,
            avx512,
            vs: xi_stride(g.c_in, ldv),
            ms: xi_stride(g.c_out, ldv),
        };
        // Each work item (images n0.., block b) gets the row ranges of Y it writes,
        // image-major: ys[i * C_out + co].
        let mut items: Vec<(usize, usize, Vec<&mut [f32]>)> =
            (0..groups * nb).map(|i| (i / nb * imgs, i % nb, Vec::with_capacity(imgs * g.c_out))).collect();
        for (pi, plane) in y.chunks_mut(osz).enumerate() {
            let n = pi / g.c_out;
            let mut rest = plane;
            for b in 0..nb {
                let r1 = ((b + 1) * rows * 4).min(oh);
                let r0 = b * rows * 4;
                let (a, r) = rest.split_at_mut((r1 - r0) * ow);
                items[n / imgs * nb + b].2.push(a);
                rest = r;
            }
        }
        let scratch_len = 36 * (p.vs + p.ms) + input_scratch(tw, rows);
        let one = |(n0, b, mut ys): (usize, usize, Vec<&mut [f32]>), par_gemm: bool| -> Result<()> {
            let ty0 = b * rows;
            let ty1 = (ty0 + rows).min(th);
            let nimg = ys.len() / g.c_out;
            let per = (ty1 - ty0) * tw;
            with_scratch(scratch_len, |s| {
                let (v, rest) = s.split_at_mut(36 * p.vs);
                let (m, ph) = rest.split_at_mut(36 * p.ms);
                for i in 0..nimg {
                    let n = n0 + i;
                    let ximg = &x[n * g.c_in * isz..(n + 1) * g.c_in * isz];
                    transform_input(&p, ximg, ty0, ty1, i * per, v, ph);
                }
                self.gemms(&p, nimg * per, v, m, par_gemm)?;
                for (i, ysi) in ys.chunks_mut(g.c_out).enumerate() {
                    let n = n0 + i;
                    let zimg = residual.map(|z| &z[n * g.c_out * osz..(n + 1) * g.c_out * osz]);
                    transform_output(&p, m, ty0, ty1, i * per, ysi, bias, zimg, act);
                }
                Ok(())
            })
        };
        if threads > 1 && items.len() >= threads {
            items.into_par_iter().with_max_len(1).try_for_each(|it| one(it, false))
        } else {
            items.into_iter().try_for_each(|it| one(it, threads > 1))
        }
    }

    /// `M[xi] = U[xi] * V[xi]` for the 36 `xi`, `nt` tiles.
    fn gemms(&self, p: &Plan, nt: usize, v: &[f32], m: &mut [f32], parallel: bool) -> Result<()> {
        let (ci, co, ldv) = (self.c_in, self.c_out, p.ldv);
        let one = |(xi, mx): (usize, &mut [f32])| {
            let a = Mat::rm(&self.u[xi * co * ci..(xi + 1) * co * ci], ci);
            let b = Mat { data: &v[xi * p.vs..xi * p.vs + ci * ldv], ld: ldv, trans: false };
            gemm(co, nt, ci, a, b, mx, ldv, 1.0, 0.0, false)
        };
        if parallel {
            m.par_chunks_mut(p.ms).enumerate().with_max_len(1).try_for_each(one)
        } else {
            m.chunks_mut(p.ms).enumerate().try_for_each(one)
        }
    }
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        ronn_core::simd::SimdFeatures::get().avx512f
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a `len`-element scratch buffer, reused per thread (a fresh one
/// if this thread's is in use, e.g. by a job rayon stole while we wait).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut v) => {
            if v.len() < len {
                v.resize(len, 0.0);
            }
            f(&mut v[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// Per-run geometry.
#[derive(Clone, Copy, Debug)]
struct Plan {
    ih: usize,
    iw: usize,
    oh: usize,
    ow: usize,
    pt: isize,
    pl: isize,
    tw: usize,
    c_in: usize,
    /// Leading dimension of V and M rows (tiles per block, rounded up to L, plus L
    /// so that a full 16-lane access at the last tile row's last chunk fits).
    ldv: usize,
    /// AVX-512F detected (the transforms' shuffles use it).
    avx512: bool,
    /// Distance between the 36 matrices of V (`>= C_in * ldv`, see [`xi_stride`]).
    vs: usize,
    /// Distance between the 36 matrices of M (`>= C_out * ldv`).
    ms: usize,
}

/// Distance between consecutive `xi` matrices of `c` rows of `ldv`: an odd number
/// of cache lines, so that the 36 rows a transform touches per tile chunk do not
/// all fall into one L1 set (`c * ldv` floats is often a multiple of 4 KiB).
fn xi_stride(c: usize, ldv: usize) -> usize {
    let s = (c * ldv).next_multiple_of(L);
    if (s / L).is_multiple_of(2) {
        s + L
    } else {
        s
    }
}

macro_rules! dispatch {
    ($name:ident, $avx512:ident, $avx2:ident, $generic:ident, ($($arg:ident : $ty:ty),*)) => {
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                let f = ronn_core::simd::SimdFeatures::get();
                if f.avx512f {
                    // SAFETY: a `target_feature` function only requires that the CPU
                    // supports the features, which was checked just above.
                    unsafe { $avx512($($arg),*) };
                    return;
                }
                if f.avx2 && f.fma {
                    // SAFETY: as above (AVX2 and FMA detected).
                    unsafe { $avx2($($arg),*) };
                    return;
                }
            }
            $generic($($arg),*)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $avx512($($arg: $ty),*) {
            $generic($($arg),*)
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn $avx2($($arg: $ty),*) {
            $generic($($arg),*)
        }
    };
}

dispatch!(transform_input, transform_input_avx512, transform_input_avx2, transform_input_generic,
    (p: &Plan, ximg: &[f32], ty0: usize, ty1: usize, col0: usize, v: &mut [f32], scratch: &mut [f32]));
dispatch!(transform_output, transform_output_avx512, transform_output_avx2, transform_output_generic,
    (p: &Plan, m: &[f32], ty0: usize, ty1: usize, col0: usize, ys: &mut [&mut [f32]], bias: Option<&[f32]>,
     zimg: Option<&[f32]>, act: Activation));

/// 1-D input transform `B^T d` of six values.
#[inline(always)]
fn bt6(d: [f32; 6]) -> [f32; 6] {
    let [d0, d1, d2, d3, d4, d5] = d;
    [
        4.0 * d0 - 5.0 * d2 + d4,
        (d3 + d4) - 4.0 * (d1 + d2),
        4.0 * (d1 - d2) + (d4 - d3),
        2.0 * (d3 - d1) + (d4 - d2),
        2.0 * (d1 - d3) + (d4 - d2),
        4.0 * d1 - 5.0 * d3 + d5,
    ]
}

/// 1-D output transform `A^T m` of six values.
#[inline(always)]
fn at6(m: [f32; 6]) -> [f32; 4] {
    let [m0, m1, m2, m3, m4, m5] = m;
    let (a, b, c, d) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
    [m0 + a + c, b + 2.0 * d, a + 4.0 * c, b + 8.0 * d + m5]
}

/// Length of one phase row: `ph[m][tx] = row[4 * tx + m - pad]` for every tile
/// column `tx` a 16-lane chunk can touch (`tx0 + l + 1`).
fn phase_len(tw: usize) -> usize {
    tw.next_multiple_of(L) + L
}

/// Scratch floats [`transform_input`] needs for a block of `rows` tile rows.
fn input_scratch(tw: usize, rows: usize) -> usize {
    (4 * rows + 2) * 4 * phase_len(tw) + 4 * phase_len(tw)
}

/// `dst[m * twp + tx] = row[4 * tx + m - pl]` (zero outside `row`) for `m < 4`,
/// `tx < twp` (`twp` a multiple of 16). The portable path pads the row into `rb`
/// (whose margins are zero, `cnt` = floats of `row` that fit) and splits that.
#[inline(always)]
fn deinterleave_row(row: &[f32], pl: usize, cnt: usize, rb: &mut [f32], dst: &mut [f32], twp: usize, avx512: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx512 {
        // SAFETY: `avx512` is only set when AVX-512F was detected; the function
        // checks the lengths.
        unsafe { deinterleave_row_avx512(row, pl, dst, twp) };
        return;
    }
    let _ = avx512;
    if cnt > 0 {
        rb[pl..pl + cnt].copy_from_slice(&row[..cnt]);
    }
    deinterleave4_scalar(rb, dst, twp)
}

#[inline(always)]
fn deinterleave4_scalar(rb: &[f32], dst: &mut [f32], twp: usize) {
    let (p0, rest) = dst.split_at_mut(twp);
    let (p1, rest) = rest.split_at_mut(twp);
    let (p2, p3) = rest.split_at_mut(twp);
    for ((((q, a), b), e), d) in rb.chunks_exact(4).zip(p0).zip(p1).zip(p2).zip(p3) {
        *a = q[0];
        *b = q[1];
        *e = q[2];
        *d = q[3];
    }
}

/// [`deinterleave_row`] with AVX-512: masked loads do the zero padding, two
/// permutes and a lane shuffle per phase split 64 floats into four phases.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn deinterleave_row_avx512(row: &[f32], pl: usize, dst: &mut [f32], twp: usize) {
    use std::arch::x86_64::*;
    assert!(twp.is_multiple_of(L) && dst.len() >= 4 * twp);
    let idx: [__m512i; 4] = std::array::from_fn(|m| {
        let m = m as i32;
        let v: [i32; 16] = std::array::from_fn(|i| m + 4 * (i as i32 % 8));
        // SAFETY: reads 16 i32 from a 16-element array.
        unsafe { _mm512_loadu_si512(v.as_ptr().cast()) }
    });
    let len = row.len() as isize;
    // Lanes i of the 16 floats at padded position q0 with 0 <= q0 - pl + i < len.
    let load = |q0: usize| -> __m512 {
        let s0 = q0 as isize - pl as isize;
        let lo = (-s0).clamp(0, 16) as u32;
        let hi = (len - s0).clamp(0, 16) as u32;
        if hi <= lo {
            return _mm512_setzero_ps();
        }
        let mask = (((1u32 << hi) - 1) & !((1u32 << lo) - 1)) as u16;
        // SAFETY: only lanes in `mask` are read and they lie inside `row`
        // (0 <= s0 + i < len); masked-off lanes are never accessed (no fault).
        unsafe { _mm512_maskz_loadu_ps(mask, row.as_ptr().wrapping_offset(s0)) }
    };
    let out = dst.as_mut_ptr();
    for g in 0..twp / L {
        let (a, b, c, d) = (load(64 * g), load(64 * g + 16), load(64 * g + 32), load(64 * g + 48));
        for (m, ix) in idx.iter().enumerate() {
            let u = _mm512_permutex2var_ps(a, *ix, b);
            let w = _mm512_permutex2var_ps(c, *ix, d);
            // SAFETY: writes dst[m * twp + 16 g..+16], in bounds (g < twp / 16, assert).
            unsafe { _mm512_storeu_ps(out.add(m * twp + L * g), _mm512_shuffle_f32x4::<0x44>(u, w)) };
        }
    }
}

/// Input transform of tile rows `ty0..ty1` of one image into `v` (`[36][C_in][ldv]`).
///
/// Per channel, each input row the block needs is split once into its four
/// phases (`row[4 * tx + m]`, zero outside X), so that the 6x6 windows of 16
/// consecutive tiles of a tile row are plain contiguous 16-lane loads.
#[inline(always)]
fn transform_input_generic(
    p: &Plan,
    ximg: &[f32],
    ty0: usize,
    ty1: usize,
    col0: usize,
    v: &mut [f32],
    scratch: &mut [f32],
) {
    let nr = ty1 - ty0;
    let nrows = 4 * nr + 2;
    let twp = phase_len(p.tw);
    let (ph, rb) = scratch.split_at_mut(nrows * 4 * twp);
    let rb = &mut rb[..4 * twp];
    let ih = p.ih as isize;
    let pl = p.pl as usize;
    let isz = p.ih * p.iw;
    let xs = p.vs;
    let cnt = p.iw.min(rb.len().saturating_sub(pl));
    // The padded row's margins stay zero; only its middle is rewritten per row.
    rb.fill(0.0);
    for c in 0..p.c_in {
        let plane = &ximg[c * isz..(c + 1) * isz];
        for (rr, dst) in ph.chunks_exact_mut(4 * twp).enumerate() {
            let iy = (4 * ty0 + rr) as isize - p.pt;
            if iy < 0 || iy >= ih {
                dst.fill(0.0);
                continue;
            }
            let row = &plane[iy as usize * p.iw..(iy as usize + 1) * p.iw];
            deinterleave_row(row, pl, cnt, rb, dst, twp, p.avx512);
        }
        for r in 0..nr {
            for tx0 in (0..p.tw).step_by(L) {
                let n = (p.tw - tx0).min(L);
                // Columns: t = B^T d, t[k * 6 + j][l].
                let mut t = [[0f32; L]; 36];
                for j in 0..6 {
                    let (m, s) = (j % 4, tx0 + j / 4);
                    let col = |i: usize| -> &[f32; L] {
                        let at = ((4 * r + i) * 4 + m) * twp + s;
                        ph[at..at + L].try_into().unwrap()
                    };
                    let (c0, c1, c2, c3, c4, c5) = (col(0), col(1), col(2), col(3), col(4), col(5));
                    for l in 0..L {
                        let o = bt6([c0[l], c1[l], c2[l], c3[l], c4[l], c5[l]]);
                        for k in 0..6 {
                            t[k * 6 + j][l] = o[k];
                        }
                    }
                }
                // Rows: V = t B, stored at V[xi][c][r * tw + tx0..].
                for k in 0..6 {
                    let mut o = [[0f32; L]; 6];
                    let tk = &t[k * 6..k * 6 + 6];
                    for l in 0..L {
                        let res = bt6([tk[0][l], tk[1][l], tk[2][l], tk[3][l], tk[4][l], tk[5][l]]);
                        for (oj, rj) in o.iter_mut().zip(res) {
                            oj[l] = rj;
                        }
                    }
                    // Full 16-lane stores where they fit in the row of ldv: lanes past
                    // the tile row land in the next tile row's columns (rewritten
                    // after) or in V's padding.
                    let col = col0 + r * p.tw + tx0;
                    for (j, oj) in o.iter().enumerate() {
                        let at = (k * 6 + j) * xs + c * p.ldv + col;
                        if col + L <= p.ldv {
                            let dst: &mut [f32; L] = (&mut v[at..at + L]).try_into().unwrap();
                            *dst = *oj;
                        } else {
                            v[at..at + n].copy_from_slice(&oj[..n]);
                        }
                    }
                }
            }
        }
    }
}

/// Output transform of tile rows `ty0..ty1` from `m` (`[36][C_out][ldv]`) into
/// `ys[co]` (Y's rows `4 * ty0..min(4 * ty1, OH)` of channel `co`), then the epilogue.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn transform_output_generic(
    p: &Plan,
    m: &[f32],
    ty0: usize,
    ty1: usize,
    col0: usize,
    ys: &mut [&mut [f32]],
    bias: Option<&[f32]>,
    zimg: Option<&[f32]>,
    act: Activation,
) {
    let nr = ty1 - ty0;
    let xs = p.ms;
    let (oh, ow) = (p.oh, p.ow);
    let r0 = 4 * ty0;
    let osz = oh * ow;
    for (co, yrows) in ys.iter_mut().enumerate() {
        for r in 0..nr {
            let oy = 4 * (ty0 + r);
            for tx0 in (0..p.tw).step_by(L) {
                let n = (p.tw - tx0).min(L);
                // Full 16-lane loads where they fit in the row of ldv; lanes >= n
                // are ignored.
                let mut mm = [[0f32; L]; 36];
                let col = col0 + r * p.tw + tx0;
                for (xi, mx) in mm.iter_mut().enumerate() {
                    let at = xi * xs + co * p.ldv + col;
                    if col + L <= p.ldv {
                        *mx = m[at..at + L].try_into().unwrap();
                    } else {
                        mx[..n].copy_from_slice(&m[at..at + n]);
                    }
                }
                // Columns: s = A^T m (4x6), s[k * 6 + j].
                let mut s = [[0f32; L]; 24];
                for j in 0..6 {
                    for l in 0..L {
                        let o =
                            at6([mm[j][l], mm[6 + j][l], mm[12 + j][l], mm[18 + j][l], mm[24 + j][l], mm[30 + j][l]]);
                        for k in 0..4 {
                            s[k * 6 + j][l] = o[k];
                        }
                    }
                }
                // Rows: o = s A, interleaved back into Y's row (4 columns per tile).
                let w = (ow - 4 * tx0).min(4 * n);
                for k in 0..(oh - oy).min(4) {
                    let mut o = [[0f32; L]; 4];
                    let sk = &s[k * 6..k * 6 + 6];
                    for l in 0..L {
                        let res = at6([sk[0][l], sk[1][l], sk[2][l], sk[3][l], sk[4][l], sk[5][l]]);
                        for (oj, rj) in o.iter_mut().zip(res) {
                            oj[l] = rj;
                        }
                    }
                    let mut tmp = [0f32; 4 * L];
                    interleave4(&o, &mut tmp, p.avx512);
                    let at = (oy + k - r0) * ow + 4 * tx0;
                    // Fused epilogue: act(y + residual + bias), as `conv::epilogue`.
                    if let Some(z) = zimg {
                        let zat = co * osz + r0 * ow + at;
                        let mut zt = [0f32; 4 * L];
                        zt[..w].copy_from_slice(&z[zat..zat + w]);
                        for (q, r) in tmp.iter_mut().zip(&zt) {
                            *q += *r;
                        }
                    }
                    if let Some(b) = bias {
                        let b = b[co];
                        for q in tmp.iter_mut() {
                            *q += b;
                        }
                    }
                    activate(&mut tmp[..], act);
                    if w == 4 * L {
                        let dst: &mut [f32; 4 * L] = (&mut yrows[at..at + 4 * L]).try_into().unwrap();
                        *dst = tmp;
                    } else {
                        for (d, s) in yrows[at..at + w].iter_mut().zip(&tmp) {
                            *d = *s;
                        }
                    }
                }
            }
        }
    }
}

/// `out[4 * l + j] = o[j][l]`: 16 tiles' 4-wide output rows back into Y order.
#[inline(always)]
fn interleave4(o: &[[f32; L]; 4], out: &mut [f32; 4 * L], avx512: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx512 {
        // SAFETY: `avx512` is only set when AVX-512F was detected.
        unsafe { interleave4_avx512(o, out) };
        return;
    }
    let _ = avx512;
    interleave4_scalar(o, out)
}

#[inline(always)]
fn interleave4_scalar(o: &[[f32; L]; 4], out: &mut [f32; 4 * L]) {
    for ((((q, a), b), e), d) in out.chunks_exact_mut(4).zip(&o[0]).zip(&o[1]).zip(&o[2]).zip(&o[3]) {
        q[0] = *a;
        q[1] = *b;
        q[2] = *e;
        q[3] = *d;
    }
}

/// [`interleave4`] as a 4x4 transpose per 128-bit lane plus lane shuffles.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn interleave4_avx512(o: &[[f32; L]; 4], out: &mut [f32; 4 * L]) {
    use std::arch::x86_64::*;
    // SAFETY: all loads and stores are within the fixed-size arrays (4 x 16 in,
    // 64 out).
    unsafe {
        let (o0, o1) = (_mm512_loadu_ps(o[0].as_ptr()), _mm512_loadu_ps(o[1].as_ptr()));
        let (o2, o3) = (_mm512_loadu_ps(o[2].as_ptr()), _mm512_loadu_ps(o[3].as_ptr()));
        let (t0, t1) = (_mm512_unpacklo_ps(o0, o1), _mm512_unpackhi_ps(o0, o1));
        let (t2, t3) = (_mm512_unpacklo_ps(o2, o3), _mm512_unpackhi_ps(o2, o3));
        // q_i's 128-bit lane b holds tile 4 b + i (its 4 outputs).
        let q0 = _mm512_shuffle_ps::<0x44>(t0, t2);
        let q1 = _mm512_shuffle_ps::<0xEE>(t0, t2);
        let q2 = _mm512_shuffle_ps::<0x44>(t1, t3);
        let q3 = _mm512_shuffle_ps::<0xEE>(t1, t3);
        let (r0, r1) = (_mm512_shuffle_f32x4::<0x44>(q0, q1), _mm512_shuffle_f32x4::<0x44>(q2, q3));
        let (r2, r3) = (_mm512_shuffle_f32x4::<0xEE>(q0, q1), _mm512_shuffle_f32x4::<0xEE>(q2, q3));
        let dst = out.as_mut_ptr();
        _mm512_storeu_ps(dst, _mm512_shuffle_f32x4::<0x88>(r0, r1));
        _mm512_storeu_ps(dst.add(16), _mm512_shuffle_f32x4::<0xDD>(r0, r1));
        _mm512_storeu_ps(dst.add(32), _mm512_shuffle_f32x4::<0x88>(r2, r3));
        _mm512_storeu_ps(dst.add(48), _mm512_shuffle_f32x4::<0xDD>(r2, r3));
    }
}

#[cfg(test)]
mod tests;
