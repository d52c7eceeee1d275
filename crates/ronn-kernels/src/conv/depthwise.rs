//! Depthwise convolution (MobileNet, EfficientNet): one plane at a time, 3x3 /
//! 5x5 / 7x7 undilated kernels over stride-phase planes ("flat windows"), other
//! kernels row by row.
//!
//! The zero-padded input plane is split once into its `sy * sx` stride phases,
//! each a `prows x plen` plane. Tap `(ky, kx)` of every output then sits at one
//! fixed offset in phase `(ky % sy, kx % sx)`, so an output plane (computed on a
//! grid `plen` wide, the extra columns discarded) is `K * K` shifted contiguous
//! windows summed in registers. Vectors run across rows, so 7x7 and 14x14 planes
//! fill them too (a row-at-a-time loop left MobileNet's narrow rows mostly in
//! scalar tails).

use super::{activate, epilogue, Activation, ConvGeom, Lattice};
use crate::gemm::Scalar;
use crate::rows::copy_short;
use rayon::prelude::*;

/// Layout of one input plane's stride phases for a `k x k` undilated kernel.
#[derive(Clone, Copy, Debug)]
struct Phases {
    ih: usize,
    iw: usize,
    oh: usize,
    ow: usize,
    sy: usize,
    sx: usize,
    pt: usize,
    pl: usize,
    /// Columns per phase row (also the row stride of the flat output grid).
    plen: usize,
    /// Rows per phase plane.
    prows: usize,
    /// Elements per phase plane, with spare: tap windows start up to
    /// `(k - 1) / sx` past a row start and run up to `CHUNK` past the grid.
    psize: usize,
    /// Output rows per accumulation pass (the band stays in L1 on 112x112 planes).
    band: usize,
}

impl Phases {
    fn new(lat: &Lattice<'_>, k: usize) -> Self {
        let (oh, ow) = (lat.col[0], lat.col[1]);
        let (sy, sx) = (lat.strides[0], lat.strides[1]);
        // Padded position (r, q) is input (r - pt, q - pl); the taps read rows
        // 0..(oh - 1) * sy + k and columns 0..(ow - 1) * sx + k of it. Phase
        // (py, px) holds positions (py + i * sy, px + j * sx) at i * plen + j.
        let plen = ((ow - 1) * sx + k).div_ceil(sx);
        let prows = ((oh - 1) * sy + k).div_ceil(sy);
        Phases {
            ih: lat.img[0],
            iw: lat.img[1],
            oh,
            ow,
            sy,
            sx,
            pt: lat.pads[0],
            pl: lat.pads[1],
            plen,
            prows,
            psize: prows * plen + k + CHUNK,
            band: (4096 / plen).clamp(1, oh),
        }
    }

    /// Elements of one input plane's phases.
    fn len(&self) -> usize {
        self.sy * self.sx * self.psize
    }

    /// Offset of tap `(ky, kx)`'s window (for output row 0) in the phases.
    fn tap_at(&self, ky: usize, kx: usize) -> usize {
        ((ky % self.sy) * self.sx + kx % self.sx) * self.psize + (ky / self.sy) * self.plen + kx / self.sx
    }

    /// Writes input plane `xp` into `planes` (`self.len()` elements), padding as 0.
    #[inline(always)]
    fn fill<T: Scalar>(&self, xp: &[T], planes: &mut [T]) {
        let &Phases { iw, sy, sx, pt, pl, plen, prows, psize, .. } = self;
        planes.fill(T::ZERO);
        for (iy, xrow) in xp.chunks_exact(iw).enumerate().take(self.ih) {
            let r = iy + pt;
            if r >= prows * sy {
                break;
            }
            let (py, pr) = if sy == 1 { (0, r) } else { (r % sy, r / sy) };
            let row0 = py * sx * psize + pr * plen;
            // Input columns `..done` are placed by the fast paths, the rest one by one.
            let mut done = 0;
            if sx == 1 {
                let dst = &mut planes[row0 + pl.min(plen)..row0 + plen];
                done = dst.len().min(iw);
                copy_short(&mut dst[..done], &xrow[..done]);
            } else if sx == 2 {
                // Pairs (x[2i], x[2i + 1]) land in both phases at once; which phase
                // takes the even column depends on the pad's parity.
                let (lo, hi) = planes.split_at_mut(row0 + psize);
                let (even, odd) = (&mut lo[row0..row0 + plen], &mut hi[..plen]);
                let (first, second, f0, s0) =
                    if pl % 2 == 0 { (even, odd, pl / 2, pl / 2) } else { (odd, even, pl / 2, pl / 2 + 1) };
                let n = (iw / 2).min(plen.saturating_sub(f0)).min(plen.saturating_sub(s0));
                let pairs = xrow[..2 * n].chunks_exact(2);
                for ((pair, a), b) in pairs.zip(&mut first[f0..f0 + n]).zip(&mut second[s0..s0 + n]) {
                    *a = pair[0];
                    *b = pair[1];
                }
                done = 2 * n;
            }
            for (ix, &v) in xrow.iter().enumerate().skip(done) {
                let q = ix + pl;
                if q / sx < plen {
                    planes[row0 + (q % sx) * psize + q / sx] = v;
                }
            }
        }
    }

    /// The accumulator length for `rows` output rows: whole [`CHUNK`]s.
    fn acc_len(&self, rows: usize) -> usize {
        (rows * self.plen).next_multiple_of(CHUNK)
    }

    /// Copies output rows `oy0..oy0 + rows` of the flat grid `acc` (row stride
    /// `plen`) into the output plane `yp`; with a residual, runs the epilogue on
    /// them while they are in L1 (without one, [`flat_taps`] already did).
    #[inline(always)]
    fn finish<T: Scalar>(&self, acc: &[T], oy0: usize, rows: usize, yp: &mut [T], epi: &PlaneEpilogue<'_, T>) {
        let (a, b) = (oy0 * self.ow, (oy0 + rows) * self.ow);
        let y = &mut yp[a..b];
        for (yrow, arow) in y.chunks_exact_mut(self.ow).zip(acc.chunks_exact(self.plen)) {
            copy_short(yrow, &arow[..self.ow]);
        }
        if let Some(z) = epi.residual {
            epilogue(y, epi.bias, Some(&z[a..b]), epi.act);
        }
    }
}

/// One output plane's epilogue operands: its bias, its residual plane, the activation.
struct PlaneEpilogue<'a, T> {
    bias: Option<T>,
    residual: Option<&'a [T]>,
    act: Activation,
}

/// Outputs per step of [`flat_taps`]: four AVX-512 f32 vectors per kernel row,
/// so there are enough independent FMA chains to hide their latency. Flat grids
/// are rounded up to it (the extra outputs are computed and discarded).
const CHUNK: usize = 64;

/// `acc[i] = sum over taps of w[ky][kx] * planes[tap_at[ky][kx] + start + i]`:
/// a band of the flat output grid. Without a residual, bias and activation are
/// applied to each chunk as it is stored (a later pass over the copied rows
/// stalled on store forwarding: loads straddling the copy's stores).
/// `acc.len()` is a multiple of [`CHUNK`] and every window that long lies in
/// `planes` ([`Phases::psize`]'s slack).
#[inline(always)]
fn flat_taps<T: Scalar, const K: usize, const FMA: bool>(
    planes: &[T],
    tap_at: &[[usize; K]; K],
    w: &[[T; K]; K],
    start: usize,
    acc: &mut [T],
    epi: &PlaneEpilogue<'_, T>,
) {
    let fused = epi.residual.is_none();
    let n = acc.len();
    assert!(
        acc.chunks_exact(CHUNK).remainder().is_empty()
            && tap_at.iter().flatten().all(|&at| at + start + n <= planes.len())
    );
    let base = planes.as_ptr();
    for (ci, out) in acc.chunks_exact_mut(CHUNK).enumerate() {
        let i0 = start + ci * CHUNK;
        // One partial sum per kernel row: K independent chains per lane.
        let mut rows = [[T::ZERO; CHUNK]; K];
        for ky in 0..K {
            let s = &mut rows[ky];
            for kx in 0..K {
                // SAFETY: tap_at + start + n <= planes.len() (asserted above) and
                // ci * CHUNK + CHUNK <= n, so the CHUNK elements read are in planes.
                let win = unsafe { &*(base.add(tap_at[ky][kx] + i0) as *const [T; CHUNK]) };
                let wv = w[ky][kx];
                for l in 0..CHUNK {
                    s[l] = if FMA { wv.mul_add(win[l], s[l]) } else { s[l] + wv * win[l] };
                }
            }
        }
        let bias = if fused { epi.bias.unwrap_or(T::ZERO) } else { T::ZERO };
        for l in 0..CHUNK {
            out[l] = rows.iter().fold(bias, |v, row| v + row[l]);
        }
        if fused {
            activate(out, epi.act);
        }
    }
}

/// Taps `(ky, kx)` of `wk` (`K * K` row-major) as a fixed-size array.
#[inline(always)]
fn taps_of<T: Scalar, const K: usize>(wk: &[T]) -> [[T; K]; K] {
    let mut w = [[T::ZERO; K]; K];
    for (ky, row) in w.iter_mut().enumerate() {
        row.copy_from_slice(&wk[ky * K..(ky + 1) * K]);
    }
    w
}

/// Runs `f::<FMA>` compiled for the best SIMD level the CPU has (AVX-512 / AVX2,
/// with FMA contraction), or portably with separate multiply and add.
macro_rules! with_fma {
    ($call:ident::<$($t:tt),*>($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        let fma = ronn_core::simd::SimdFeatures::get().fma;
        #[cfg(not(target_arch = "x86_64"))]
        let fma = true;
        if fma {
            ronn_core::simd::with_best_simd(#[inline(always)] || $call::<$($t),*, true>($($arg),*))
        } else {
            $call::<$($t),*, false>($($arg),*)
        }
    }};
}

/// Whether the flat-window kernels take this geometry: 2-D, undilated, square
/// 3/5/7 kernels.
fn flat_kernel(g: &ConvGeom) -> Option<usize> {
    let k = g.kernel.first().copied()?;
    let ok = g.kernel.len() == 2
        && g.kernel[1] == k
        && matches!(k, 3 | 5 | 7)
        && g.dilations.iter().all(|&d| d == 1)
        && g.out_spatial.iter().all(|&o| o > 0);
    ok.then_some(k)
}

/// Depthwise convolution (`group == C_in == C_out`), `y` fully overwritten, then
/// the epilogue; planes in parallel when there are enough outputs.
pub(super) fn depthwise<T: Scalar>(ops: &Operands<'_, T>, y: &mut [T]) {
    let g = ops.g;
    if g.kernel.iter().all(|&k| k == 1) && g.strides.iter().all(|&s| s == 1) && g.in_spatial == g.out_spatial {
        // A per-channel scale (a BatchNormalization the optimizer turned into a
        // Conv to fuse its activation): one multiply per element, then the epilogue.
        return for_each_plane(ops, y, 0, |_, xp, wk, yp, epi| {
            let w = wk[0];
            for (v, &x) in yp.iter_mut().zip(xp) {
                *v = x * w;
            }
            epilogue(yp, epi.bias, epi.residual, epi.act);
        });
    }
    match flat_kernel(ops.g) {
        Some(3) => depthwise_k::<T, 3>(ops, y),
        Some(5) => depthwise_k::<T, 5>(ops, y),
        Some(7) => depthwise_k::<T, 7>(ops, y),
        _ => for_each_plane(ops, y, 0, |_, xp, wk, yp, epi| {
            yp.fill(T::ZERO);
            depthwise_plane(ops.lat, xp, wk, yp);
            epilogue(yp, epi.bias, epi.residual, epi.act);
        }),
    }
}

/// A depthwise convolution's inputs (shapes checked by the caller).
pub(super) struct Operands<'a, T> {
    pub(super) g: &'a ConvGeom,
    pub(super) lat: &'a Lattice<'a>,
    pub(super) x: &'a [T],
    pub(super) w: &'a [T],
    pub(super) bias: Option<&'a [T]>,
    pub(super) residual: Option<&'a [T]>,
    pub(super) act: Activation,
}

/// Runs `plane(scratch, x_plane, w_plane, y_plane, epilogue)` for every output
/// plane of channels `from_channel..` (those below are done already), in parallel when there are enough outputs. `scratch` is reused across the
/// planes of a task (MobileNet's 7x7 planes are small enough that allocating per
/// plane showed).
fn for_each_plane<T: Scalar, F>(ops: &Operands<'_, T>, y: &mut [T], from_channel: usize, plane: F)
where
    F: Fn(&mut Vec<T>, &[T], &[T], &mut [T], &PlaneEpilogue<'_, T>) + Sync,
{
    let g = ops.g;
    let (isz, osz, ksz) = (g.in_size(), g.out_size(), g.kernel_size());
    let work = |scratch: &mut Vec<T>, (p, yp): (usize, &mut [T])| {
        let c = p % g.c_out;
        if c < from_channel {
            return;
        }
        let epi = PlaneEpilogue {
            bias: ops.bias.map(|b| b[c]),
            residual: ops.residual.map(|z| &z[p * osz..(p + 1) * osz]),
            act: ops.act,
        };
        plane(scratch, &ops.x[p * isz..(p + 1) * isz], &ops.w[c * ksz..(c + 1) * ksz], yp, &epi);
    };
    if y.len() >= 1 << 15 {
        y.par_chunks_mut(osz).enumerate().for_each_init(Vec::new, work);
    } else {
        let mut scratch = Vec::new();
        y.chunks_mut(osz).enumerate().for_each(|item| work(&mut scratch, item));
    }
}

/// Depthwise `K x K` planes through the flat windows; the phase layout and tap
/// offsets are worked out once for all planes.
fn depthwise_k<T: Scalar, const K: usize>(ops: &Operands<'_, T>, y: &mut [T]) {
    let blocked = blocked_f32(ops, y, K);
    if blocked == ops.g.c_out {
        return;
    }
    let ph = Phases::new(ops.lat, K);
    let tap_at: [[usize; K]; K] = std::array::from_fn(|ky| std::array::from_fn(|kx| ph.tap_at(ky, kx)));
    let need = ph.len() + ph.acc_len(ph.band);
    for_each_plane(ops, y, blocked, |scratch, xp, wk, yp, epi| {
        if scratch.len() < need {
            scratch.resize(need, T::ZERO);
        }
        with_fma!(depthwise_flat::<T, K>(&ph, &tap_at, xp, wk, yp, epi, scratch))
    });
}

/// Small f32 planes on AVX-512 (`depthwise_blocked.rs`): runs whole blocks of 16
/// channels and returns how many channels of every image it did (0 where it does
/// not apply: other types or CPUs, large planes, a residual, under 16 channels).
fn blocked_f32<T: Scalar>(ops: &Operands<'_, T>, y: &mut [T], k: usize) -> usize {
    #[cfg(all(target_arch = "x86_64", ronn_avx512))]
    {
        use super::depthwise_blocked::{block16, block_weights, Blocked, LANES};
        use ronn_core::simd::{SimdFeatures, SimdLevel};
        let f = SimdFeatures::get();
        let c = ops.g.c_out;
        if !(f.supports(SimdLevel::Avx512) && f.supports(SimdLevel::Avx2Fma)) || ops.residual.is_some() || c < LANES {
            return 0;
        }
        let Some(geo) = Blocked::new(ops.lat, k) else { return 0 };
        let (Some(x), Some(w), Some(yf)) = (as_f32(ops.x), as_f32(ops.w), as_f32_mut(y)) else { return 0 };
        let bias = ops.bias.and_then(as_f32);
        let (isz, osz, kk) = (ops.g.in_size(), ops.g.out_size(), k * k);
        let blocks = c / LANES;
        let wb = block_weights(w, c, kk);
        let act = ops.act;
        for (n, yimg) in yf.chunks_mut(c * osz).enumerate() {
            let work = |scratch: &mut Vec<f32>, (b, yb): (usize, &mut [f32])| {
                scratch.resize(geo.scratch_len(), 0.0);
                let xb = &x[(n * c + b * LANES) * isz..(n * c + (b + 1) * LANES) * isz];
                let bb = bias.map(|v| &v[b * LANES..(b + 1) * LANES]);
                // SAFETY: AVX-512F, AVX2 and FMA were checked above.
                unsafe { block16(&geo, xb, &wb[b * kk * LANES..(b + 1) * kk * LANES], bb, act, yb, scratch) };
            };
            let yblocks = &mut yimg[..blocks * LANES * osz];
            if yblocks.len() >= 1 << 15 {
                yblocks.par_chunks_mut(LANES * osz).enumerate().for_each_init(Vec::new, work);
            } else {
                let mut scratch = Vec::new();
                yblocks.chunks_mut(LANES * osz).enumerate().for_each(|item| work(&mut scratch, item));
            }
        }
        blocks * LANES
    }
    #[cfg(not(all(target_arch = "x86_64", ronn_avx512)))]
    {
        let _ = (ops, y, k);
        0
    }
}

/// `s` as `&[f32]` when `T` is f32.
#[cfg(all(target_arch = "x86_64", ronn_avx512))]
fn as_f32<T: 'static>(s: &[T]) -> Option<&[f32]> {
    // SAFETY: T is f32 (same type, so same size, alignment and validity).
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) })
}

/// `s` as `&mut [f32]` when `T` is f32.
#[cfg(all(target_arch = "x86_64", ronn_avx512))]
fn as_f32_mut<T: 'static>(s: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: T is f32 (same type, so same size, alignment and validity).
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut f32, s.len()) })
}

/// One depthwise plane through the flat windows, `yp` fully overwritten.
#[inline(always)]
fn depthwise_flat<T: Scalar, const K: usize, const FMA: bool>(
    ph: &Phases,
    tap_at: &[[usize; K]; K],
    xp: &[T],
    wk: &[T],
    yp: &mut [T],
    epi: &PlaneEpilogue<'_, T>,
    scratch: &mut [T],
) {
    let (planes, acc) = scratch.split_at_mut(ph.len());
    ph.fill(xp, planes);
    let w = taps_of::<T, K>(wk);
    let mut oy0 = 0;
    while oy0 < ph.oh {
        let rows = ph.band.min(ph.oh - oy0);
        let acc = &mut acc[..ph.acc_len(rows)];
        flat_taps::<T, K, FMA>(planes, tap_at, &w, oy0 * ph.plen, acc, epi);
        ph.finish(acc, oy0, rows, yp, epi);
        oy0 += rows;
    }
}

/// Valid col range `lo..hi` along a dim for one kernel offset, and the image
/// offset `off` (image index = col * stride + off).
fn run_range(img: usize, col: usize, k: usize, stride: usize, dil: usize, pad: usize) -> (usize, usize, isize) {
    let s = stride as isize;
    let off = (k * dil) as isize - pad as isize;
    let img = img as isize;
    let lo = if off >= 0 { 0 } else { ((-off) + s - 1) / s };
    let hi = if img - off <= 0 { 0 } else { (img - off + s - 1) / s };
    let lo = (lo as usize).min(col);
    let hi = (hi.max(0) as usize).min(col).max(lo);
    (lo, hi, off)
}

/// One depthwise plane (2-D): `yp += conv(xp, wk)`, row by row so each output
/// row stays in L1 while all taps accumulate into it.
#[inline(always)]
fn depthwise_plane<T: Scalar>(lat: &Lattice<'_>, xp: &[T], wk: &[T], yp: &mut [T]) {
    let (ih, iw) = (lat.img[0], lat.img[1]);
    let (oh, ow) = (lat.col[0], lat.col[1]);
    let (kh, kw) = (lat.kernel[0], lat.kernel[1]);
    let (sy, sx) = (lat.strides[0], lat.strides[1]);
    let mut runs = [(0usize, 0usize, 0isize); 64];
    let small = kw <= runs.len();
    if small {
        for (kx, r) in runs.iter_mut().enumerate().take(kw) {
            *r = run_range(iw, ow, kx, sx, lat.dilations[1], lat.pads[1]);
        }
    }
    // Strided: every input row is split once into its `sx` phases (row r's phase p
    // is `phases[(r * sx + p) * pw + j]` = `x[r][p + j * sx]`) so each tap reads a
    // contiguous run and vectorizes.
    let pw = iw.div_ceil(sx);
    let mut phases = Vec::new();
    if sx > 1 {
        phases = vec![T::ZERO; ih * sx * pw];
        for (xrow, prow) in xp.chunks_exact(iw).zip(phases.chunks_exact_mut(sx * pw)) {
            deinterleave(xrow, prow, sx, pw);
        }
    }
    for oy in 0..oh {
        let yrow = &mut yp[oy * ow..(oy + 1) * ow];
        for ky in 0..kh {
            let iy = (oy * sy + ky * lat.dilations[0]) as isize - lat.pads[0] as isize;
            if iy < 0 || iy >= ih as isize {
                continue;
            }
            let xrow = &xp[iy as usize * iw..(iy as usize + 1) * iw];
            let prow = if sx > 1 { &phases[iy as usize * sx * pw..(iy as usize + 1) * sx * pw] } else { &[] };
            for kx in 0..kw {
                let wv = wk[ky * kw + kx];
                let (lo, hi, off) =
                    if small { runs[kx] } else { run_range(iw, ow, kx, sx, lat.dilations[1], lat.pads[1]) };
                if hi <= lo {
                    continue;
                }
                let first = (lo as isize * sx as isize + off) as usize;
                if sx == 1 {
                    for (d, v) in yrow[lo..hi].iter_mut().zip(&xrow[first..first + (hi - lo)]) {
                        *d = *d + wv * *v;
                    }
                } else {
                    let at = (first % sx) * pw + first / sx;
                    for (d, v) in yrow[lo..hi].iter_mut().zip(&prow[at..at + (hi - lo)]) {
                        *d = *d + wv * *v;
                    }
                }
            }
        }
    }
}

/// Splits `row` into its `sx` phases: `out[p * pw + j] = row[p + j * sx]`.
#[inline(always)]
fn deinterleave<T: Scalar>(row: &[T], out: &mut [T], sx: usize, pw: usize) {
    if sx == 2 {
        // The common stride: a fixed-width loop the compiler turns into shuffles.
        let (even, odd) = out.split_at_mut(pw);
        for ((pair, e), o) in row.chunks_exact(2).zip(even.iter_mut()).zip(odd.iter_mut()) {
            *e = pair[0];
            *o = pair[1];
        }
        if row.len() % 2 == 1 {
            even[pw - 1] = row[row.len() - 1];
        }
        return;
    }
    for (j, &v) in row.iter().enumerate() {
        out[(j % sx) * pw + j / sx] = v;
    }
}
