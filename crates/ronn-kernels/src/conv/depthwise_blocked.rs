//! Depthwise convolution on small planes (7x7, 14x14: MobileNet's and
//! EfficientNet's late stages) sixteen channels at a time, f32 on AVX-512.
//!
//! One plane of 49 outputs fills only a few vectors, and a 5x5 kernel on it
//! computes more padding than outputs in the flat-window kernel
//! (`depthwise.rs`). Here the vectors run across 16 channels instead (the
//! blocked channel layout ONNX Runtime keeps between its convolutions): the 16
//! input planes are gathered into one zero-padded `[rows][cols][16]` block, each
//! output position is `K * K` FMAs of whole vectors against per-tap weight
//! vectors, eight positions at a time so the FMA chains overlap, and the block is
//! gathered back into the 16 output planes. Both transposes are gathers from L1.

use super::{activate, Activation, Lattice};
use std::arch::x86_64::*;

/// Channels per block: one AVX-512 f32 vector.
pub(super) const LANES: usize = 16;

/// Output positions per inner step (independent FMA chains).
const STEP: usize = 8;

/// Geometry of one blocked plane set.
pub(super) struct Blocked {
    ih: usize,
    iw: usize,
    oh: usize,
    ow: usize,
    sy: usize,
    sx: usize,
    pt: usize,
    pl: usize,
    /// Padded block rows and columns: every tap of every output lies inside.
    ph: usize,
    pw: usize,
    k: usize,
}

impl Blocked {
    /// The blocked geometry for a `k x k` undilated kernel, or `None` where the
    /// planes are too large for it to pay: measured with the `conv` benches, 14x14
    /// outputs gain (dw 384@14 66 -> 43 us) and 28x28 lose (192@28 81 -> 114 us,
    /// the two transposes cost more than the flat windows' waste).
    pub(super) fn new(lat: &Lattice<'_>, k: usize) -> Option<Self> {
        let (oh, ow) = (lat.col[0], lat.col[1]);
        let (ih, iw) = (lat.img[0], lat.img[1]);
        let small = oh * ow <= 196 && ih * iw <= 784 && oh > 0 && ow > 0;
        small.then(|| Blocked {
            ih,
            iw,
            oh,
            ow,
            sy: lat.strides[0],
            sx: lat.strides[1],
            pt: lat.pads[0],
            pl: lat.pads[1],
            ph: (oh - 1) * lat.strides[0] + k,
            pw: (ow - 1) * lat.strides[1] + k,
            k,
        })
    }

    /// Scratch elements one block needs: the padded input and the output block.
    pub(super) fn scratch_len(&self) -> usize {
        (self.ph * self.pw + self.oh * self.ow) * LANES
    }
}

/// Weights `[C, K * K]` as `[C / 16][K * K][16]` (a full block's worth of
/// channels per tap vector); the last partial block is not included.
pub(super) fn block_weights(w: &[f32], channels: usize, kk: usize) -> Vec<f32> {
    let blocks = channels / LANES;
    let mut out = vec![0f32; blocks * kk * LANES];
    for b in 0..blocks {
        for t in 0..kk {
            for l in 0..LANES {
                out[(b * kk + t) * LANES + l] = w[(b * LANES + l) * kk + t];
            }
        }
    }
    out
}

/// Sixteen depthwise planes: `x` holds the 16 input planes, `y` the 16 output
/// planes (both contiguous), `wb` the block's `[K * K][16]` weights; `y` is fully
/// overwritten with `act(conv + bias)`.
///
/// # Safety
/// The CPU must support AVX-512F (the caller checks).
#[target_feature(enable = "avx512f,avx2,fma")]
pub(super) unsafe fn block16(
    geo: &Blocked,
    x: &[f32],
    wb: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    let Blocked { ih, iw, oh, ow, sy, sx, pt, pl, ph, pw, k } = *geo;
    let (isz, osz) = (ih * iw, oh * ow);
    assert!(x.len() >= LANES * isz && y.len() >= LANES * osz && wb.len() >= k * k * LANES);
    assert!(scratch.len() >= geo.scratch_len() && LANES * isz < i32::MAX as usize);
    let (pad, out) = scratch.split_at_mut(ph * pw * LANES);
    let out = &mut out[..osz * LANES];

    // Input planes -> padded [row][col][16]: one gather of the 16 channels per
    // input position (positions past the padded block are never read).
    pad.fill(0.0);
    let lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let in_idx = _mm512_mullo_epi32(lane, _mm512_set1_epi32(isz as i32));
    for iy in 0..ih.min(ph.saturating_sub(pt)) {
        for ix in 0..iw.min(pw.saturating_sub(pl)) {
            // SAFETY: offsets iy * iw + ix + l * isz < 16 * isz <= x.len() (asserted),
            // and the store is one vector inside `pad` ((iy + pt) < ph, (ix + pl) < pw).
            let v = _mm512_i32gather_ps::<4>(in_idx, x.as_ptr().add(iy * iw + ix).cast());
            _mm512_storeu_ps(pad.as_mut_ptr().add(((iy + pt) * pw + ix + pl) * LANES), v);
        }
    }

    // Taps: weight vectors and their offsets in the padded block.
    let kk = k * k;
    let mut taps = [(0usize, _mm512_setzero_ps()); 49];
    for ky in 0..k {
        for kx in 0..k {
            // SAFETY: t < kk and wb holds kk vectors (asserted).
            taps[ky * k + kx] = ((ky * pw + kx) * LANES, _mm512_loadu_ps(wb.as_ptr().add((ky * k + kx) * LANES)));
        }
    }
    let taps = &taps[..kk];
    let b = match bias {
        Some(b) => {
            assert!(b.len() >= LANES);
            // SAFETY: 16 elements (asserted).
            _mm512_loadu_ps(b.as_ptr())
        }
        None => _mm512_setzero_ps(),
    };
    let base = |pos: usize| ((pos / ow) * sy * pw + (pos % ow) * sx) * LANES;
    let src = pad.as_ptr();
    let dst = out.as_mut_ptr();
    let mut pos = 0;
    while pos + STEP <= osz {
        let at: [usize; STEP] = std::array::from_fn(|j| base(pos + j));
        let mut acc = [b; STEP];
        for &(off, wv) in taps {
            for j in 0..STEP {
                // SAFETY: at[j] + off indexes one vector inside the padded block: the
                // output's window lies within ph x pw by construction of ph and pw.
                acc[j] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(src.add(at[j] + off)), acc[j]);
            }
        }
        for (j, a) in acc.iter().enumerate() {
            // SAFETY: (pos + j) < osz, so the vector lies inside `out`.
            _mm512_storeu_ps(dst.add((pos + j) * LANES), *a);
        }
        pos += STEP;
    }
    while pos < osz {
        let at = base(pos);
        let mut acc = b;
        for &(off, wv) in taps {
            // SAFETY: as above.
            acc = _mm512_fmadd_ps(wv, _mm512_loadu_ps(src.add(at + off)), acc);
        }
        // SAFETY: pos < osz.
        _mm512_storeu_ps(dst.add(pos * LANES), acc);
        pos += 1;
    }
    // Element-wise, so the blocked order does not matter.
    activate(out, act);

    // [pos][16] -> 16 output planes: gather 16 positions of one channel at a time.
    let out_idx = _mm512_mullo_epi32(lane, _mm512_set1_epi32(LANES as i32));
    for l in 0..LANES {
        let yl = &mut y[l * osz..(l + 1) * osz];
        let mut p = 0;
        while p < osz {
            let n = (osz - p).min(LANES);
            let mask: __mmask16 = if n == LANES { 0xFFFF } else { (1u16 << n) - 1 };
            // SAFETY: the masked lanes j < n read out[(p + j) * 16 + l] < osz * 16 and
            // write yl[p + j] < osz; masked-off lanes touch no memory.
            let v = _mm512_mask_i32gather_ps::<4>(
                _mm512_setzero_ps(),
                mask,
                out_idx,
                out.as_ptr().add(p * LANES + l).cast(),
            );
            _mm512_mask_storeu_ps(yl.as_mut_ptr().add(p), mask, v);
            p += n;
        }
    }
}
