//! 8-bit integer matrix products: `C[i32] = (A - za) * (B - zb)`, exact.
//!
//! The engine of MatMulInteger (and so of every `quantize_dynamic` model): A is
//! u8 or i8 with a zero point per tensor or per row, B is i8 or u8 with one per
//! tensor or per column. Both are shifted to the u8 x i8 form AVX-512 VNNI's
//! `vpdpbusd` multiplies (four byte products summed into each i32 lane, 64 per
//! instruction; no 16-bit saturation), and the zero points come back as rank-1
//! corrections:
//!
//! `sum_k (a - za)(b - zb) = sum a*b - zb * rowsum(a) - za * colsum(b) + K * za * zb`.
//!
//! B is packed once ([`PackedQB`], at planning time for weights) into panels of
//! up to 64 columns, four consecutive k per 32-bit lane. A is copied per call
//! into a zero-padded buffer of whole k-quads. Without VNNI (or on a compiler
//! without stable AVX-512 intrinsics) a portable kernel on the same layout runs.

use crate::gemm::SharedPtr;
use ronn_core::{Error, Result};

/// Columns per packed panel: four 16-lane i32 vectors.
const PANEL: usize = 64;
/// Rows of A per micro-kernel call (6 x 4 accumulators of the 32 zmm registers).
const MR: usize = 6;
/// Multiply-adds above which the product is split across the rayon pool.
const PARALLEL_MACS: usize = 1 << 21;

/// An 8-bit operand: the dtypes MatMulInteger accepts.
#[derive(Clone, Copy, Debug)]
pub enum Int8<'a> {
    /// Unsigned bytes.
    U8(&'a [u8]),
    /// Signed bytes.
    I8(&'a [i8]),
}

impl Int8<'_> {
    fn len(&self) -> usize {
        match self {
            Int8::U8(v) => v.len(),
            Int8::I8(v) => v.len(),
        }
    }
    /// Element `i` shifted into i8 (`u8 - 128`).
    #[inline(always)]
    fn as_i8(&self, i: usize) -> i8 {
        match self {
            Int8::U8(v) => (v[i] ^ 0x80) as i8,
            Int8::I8(v) => v[i],
        }
    }
    /// The shift that maps i8 to u8 (`v ^ 0x80`, i.e. `+ 128`) applies (added to a zero point given in the stored type).
    fn u8_shift(&self) -> i32 {
        if matches!(self, Int8::I8(_)) {
            128
        } else {
            0
        }
    }
    /// The shift [`Int8::as_i8`] applies.
    fn i8_shift(&self) -> i32 {
        if matches!(self, Int8::U8(_)) {
            -128
        } else {
            0
        }
    }
}

/// B (`k x n`, row-major) packed for [`qgemm`], with what the zero-point
/// corrections need. Build once per weight.
#[derive(Clone, Debug)]
pub struct PackedQB {
    k: usize,
    n: usize,
    /// `k` rounded up to whole quads.
    kq: usize,
    /// Panels of `w` (<= 64, a multiple of 16) columns, each `[kq][w][4]` bytes;
    /// the panel starting at column `j0` begins at `j0 * 4 * kq`.
    data: Vec<i8>,
    /// `sum_k B'[k][j]` of the shifted values.
    col_sum: Vec<i32>,
    /// Zero point of each column in the shifted (i8) domain.
    zb: Vec<i32>,
}

impl PackedQB {
    /// Packs `b` (`k x n` row-major) with zero point `zb` (one value, or one per
    /// column; given in `b`'s own type).
    pub fn new(b: Int8<'_>, k: usize, n: usize, zb: &[i32]) -> Result<PackedQB> {
        if b.len() != k * n {
            return Err(Error::Internal(format!("qgemm: B has {} elements, expected {k} x {n}", b.len())));
        }
        if zb.len() != 1 && zb.len() != n {
            return Err(Error::ShapeMismatch(format!(
                "b_zero_point has {} elements, expected 1 or {n} (one per column)",
                zb.len()
            )));
        }
        let kq = k.div_ceil(4);
        let np = n.next_multiple_of(16);
        let mut data = vec![0i8; np * 4 * kq];
        let mut col_sum = vec![0i32; n];
        for j0 in (0..n).step_by(PANEL) {
            let w = (np - j0).min(PANEL);
            let panel = &mut data[j0 * 4 * kq..(j0 + w) * 4 * kq];
            for kk in 0..k {
                let (q, r) = (kk / 4, kk % 4);
                for c in 0..w.min(n - j0) {
                    let v = b.as_i8(kk * n + j0 + c);
                    panel[(q * w + c) * 4 + r] = v;
                    col_sum[j0 + c] += v as i32;
                }
            }
        }
        let shift = b.i8_shift();
        let zb = (0..n).map(|j| zb[if zb.len() == 1 { 0 } else { j }] + shift).collect();
        Ok(PackedQB { k, n, kq, data, col_sum, zb })
    }

    /// Rows of B (the shared dimension K).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of B (N).
    pub fn n(&self) -> usize {
        self.n
    }
}

/// `C[m x n] = (A - za)(B - zb)` for A `m x k` row-major; `za` is one value or
/// one per row, in A's own type. Splits across the rayon pool when `parallel`
/// and the product is large.
pub fn qgemm(m: usize, a: Int8<'_>, za: &[i32], b: &PackedQB, c: &mut [i32], parallel: bool) -> Result<()> {
    qgemm_with(m, a, za, b, c, &Exact, parallel, vnni_available())
}

/// [`qgemm`] with the products converted on the way out: `C[i][j] =
/// f32((A - za)(B - zb))[i][j] * scale[j] + bias[j]` (`scale` one value or one
/// per column, `bias` one per column), the MatMulIntegerToFloat epilogue. The
/// float arithmetic is that of the unfused Cast -> Mul -> Add chain, so results
/// are identical to it.
#[allow(clippy::too_many_arguments)]
pub fn qgemm_scaled(
    m: usize,
    a: Int8<'_>,
    za: &[i32],
    b: &PackedQB,
    scale: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
    parallel: bool,
) -> Result<()> {
    let n = b.n;
    if scale.len() != 1 && scale.len() != n {
        return Err(Error::ShapeMismatch(format!(
            "scale has {} elements, expected 1 or {n} (one per column)",
            scale.len()
        )));
    }
    if bias.is_some_and(|v| v.len() != n) {
        return Err(Error::ShapeMismatch(format!("bias has {} elements, expected {n}", bias.map_or(0, |v| v.len()))));
    }
    qgemm_with(m, a, za, b, c, &Scaled { scale, bias }, parallel, vnni_available())
}

/// How finished (zero-point corrected) rows reach C.
trait Store: Sync {
    type Out: Send + Copy;
    /// Row segment starting at column `j0`.
    fn store(&self, j0: usize, exact: &[i32], out: &mut [Self::Out]);
}

/// The exact i32 products.
struct Exact;

impl Store for Exact {
    type Out = i32;
    #[inline]
    fn store(&self, _j0: usize, exact: &[i32], out: &mut [i32]) {
        out.copy_from_slice(exact);
    }
}

/// f32 products times a per-column scale, plus an optional bias.
struct Scaled<'a> {
    scale: &'a [f32],
    bias: Option<&'a [f32]>,
}

impl Store for Scaled<'_> {
    type Out = f32;
    #[inline]
    fn store(&self, j0: usize, exact: &[i32], out: &mut [f32]) {
        let cols = exact.len();
        let scale = |j: usize| if self.scale.len() == 1 { self.scale[0] } else { self.scale[j0 + j] };
        match self.bias {
            Some(b) => {
                for (j, (o, &v)) in out.iter_mut().zip(exact).enumerate() {
                    *o = v as f32 * scale(j) + b[j0 + j];
                }
            }
            None => {
                for (j, (o, &v)) in out.iter_mut().zip(exact).enumerate() {
                    *o = v as f32 * scale(j);
                }
            }
        }
        debug_assert!(cols == out.len());
    }
}

/// Whether the VNNI kernel runs on this machine (else the portable one).
pub fn vnni_available() -> bool {
    let f = ronn_core::simd::SimdFeatures::get();
    cfg!(all(target_arch = "x86_64", ronn_avx512)) && f.avx512f && f.avx512bw && f.avx512vnni
}

#[allow(clippy::too_many_arguments)]
fn qgemm_with<S: Store>(
    m: usize,
    a: Int8<'_>,
    za: &[i32],
    b: &PackedQB,
    c: &mut [S::Out],
    store: &S,
    parallel: bool,
    use_vnni: bool,
) -> Result<()> {
    let (k, n, kq) = (b.k, b.n, b.kq);
    if a.len() != m * k {
        return Err(Error::Internal(format!("qgemm: A has {} elements, expected {m} x {k}", a.len())));
    }
    if c.len() != m * n {
        return Err(Error::Internal(format!("qgemm: C has {} elements, expected {m} x {n}", c.len())));
    }
    if za.len() != 1 && za.len() != m {
        return Err(Error::ShapeMismatch(format!(
            "a_zero_point has {} elements, expected 1 or {m} (one per row)",
            za.len()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    // A shifted to u8, rows padded to whole micro-kernel blocks and k to whole quads.
    let mp = m.next_multiple_of(MR);
    let lda = kq * 4;
    let mut ap = vec![0u8; mp * lda];
    let mut row_sum = vec![0i32; m];
    for (i, sum) in row_sum.iter_mut().enumerate() {
        let row = &mut ap[i * lda..i * lda + k];
        match a {
            Int8::U8(v) => row.copy_from_slice(&v[i * k..(i + 1) * k]),
            Int8::I8(v) => row.iter_mut().zip(&v[i * k..(i + 1) * k]).for_each(|(d, &s)| *d = (s as u8) ^ 0x80),
        }
        *sum = row.iter().map(|&v| v as i32).sum();
    }
    let shift = a.u8_shift();
    let za: Vec<i32> = (0..m).map(|i| za[if za.len() == 1 { 0 } else { i }] + shift).collect();
    let fix = Corrections { k: k as i32, row_sum: &row_sum, za: &za, col_sum: &b.col_sum, zb: &b.zb };

    let panels = n.div_ceil(PANEL);
    let mblocks = mp / MR;
    let threads = if parallel && m * n * k >= PARALLEL_MACS { rayon::current_num_threads() } else { 1 };
    // Tasks: whole panels when there are enough of them, else panels x row ranges.
    let row_split = if panels >= threads { 1 } else { threads.div_ceil(panels).min(mblocks) };
    let rows_per = mblocks.div_ceil(row_split);
    let tasks = panels * row_split;
    let cp = SharedPtr(c.as_mut_ptr());
    let task = |t: usize| {
        let (p, rs) = (t / row_split, t % row_split);
        let j0 = p * PANEL;
        let np = n.next_multiple_of(16);
        let w = (np - j0).min(PANEL);
        let panel = &b.data[j0 * 4 * kq..(j0 + w) * 4 * kq];
        let mut tile = [0i32; MR * PANEL];
        let mut exact = [0i32; PANEL];
        for blk in rs * rows_per..((rs + 1) * rows_per).min(mblocks) {
            let i0 = blk * MR;
            let a_blk = &ap[i0 * lda..(i0 + MR) * lda];
            micro_kernel(a_blk, lda, panel, w, kq, &mut tile, use_vnni);
            let rows = (m - i0).min(MR);
            let cols = (n - j0).min(w);
            for r in 0..rows {
                // SAFETY: row i0 + r < m and columns j0..j0 + cols < n of C belong to
                // this task alone (tasks own disjoint panels x row blocks); `c` is
                // borrowed mutably until every task has returned.
                let out = unsafe { std::slice::from_raw_parts_mut(cp.get().add((i0 + r) * n + j0), cols) };
                fix.apply(i0 + r, j0, &tile[r * PANEL..r * PANEL + cols], &mut exact[..cols]);
                store.store(j0, &exact[..cols], out);
            }
        }
    };
    if tasks > 1 && threads > 1 {
        use rayon::prelude::*;
        (0..tasks).into_par_iter().for_each(task);
    } else {
        (0..tasks).for_each(task);
    }
    Ok(())
}

/// The zero-point terms added to each raw dot product.
struct Corrections<'a> {
    k: i32,
    row_sum: &'a [i32],
    za: &'a [i32],
    col_sum: &'a [i32],
    zb: &'a [i32],
}

impl Corrections<'_> {
    #[inline]
    fn apply(&self, i: usize, j0: usize, raw: &[i32], out: &mut [i32]) {
        let (rs, za) = (self.row_sum[i], self.za[i]);
        let cs = &self.col_sum[j0..j0 + raw.len()];
        let zb = &self.zb[j0..j0 + raw.len()];
        for (((o, &v), &s), &z) in out.iter_mut().zip(raw).zip(cs).zip(zb) {
            // Wrapping, as ONNX Runtime's i32 accumulation wraps.
            *o = v
                .wrapping_sub(z.wrapping_mul(rs))
                .wrapping_sub(za.wrapping_mul(s))
                .wrapping_add(self.k.wrapping_mul(za).wrapping_mul(z));
        }
    }
}

/// Raw dot products of `MR` rows of A against one panel of `w` columns into
/// `tile` (`MR x PANEL`, row-major).
fn micro_kernel(a: &[u8], lda: usize, panel: &[i8], w: usize, kq: usize, tile: &mut [i32; MR * PANEL], vnni: bool) {
    debug_assert!(a.len() >= MR * lda && panel.len() >= kq * w * 4 && w.is_multiple_of(16) && w <= PANEL);
    #[cfg(all(target_arch = "x86_64", ronn_avx512))]
    if vnni {
        // SAFETY: `vnni` is only true when `vnni_available` saw AVX-512F/BW/VNNI on
        // this CPU; the slices hold MR rows of lda >= 4*kq bytes and kq*w*4 panel
        // bytes (asserted above, guaranteed by the caller's packing).
        unsafe {
            match w / 16 {
                1 => x86::kernel::<1>(a.as_ptr(), lda, panel.as_ptr(), kq, tile),
                2 => x86::kernel::<2>(a.as_ptr(), lda, panel.as_ptr(), kq, tile),
                3 => x86::kernel::<3>(a.as_ptr(), lda, panel.as_ptr(), kq, tile),
                _ => x86::kernel::<4>(a.as_ptr(), lda, panel.as_ptr(), kq, tile),
            }
        }
        return;
    }
    let _ = vnni;
    portable_kernel(a, lda, panel, w, kq, tile);
}

/// The same products in plain integer arithmetic (any CPU).
fn portable_kernel(a: &[u8], lda: usize, panel: &[i8], w: usize, kq: usize, tile: &mut [i32; MR * PANEL]) {
    for r in 0..MR {
        let acc = &mut tile[r * PANEL..r * PANEL + w];
        acc.fill(0);
        let row = &a[r * lda..r * lda + 4 * kq];
        for q in 0..kq {
            let av = [row[4 * q] as i32, row[4 * q + 1] as i32, row[4 * q + 2] as i32, row[4 * q + 3] as i32];
            let bq = &panel[q * w * 4..(q + 1) * w * 4];
            for (o, b4) in acc.iter_mut().zip(bq.chunks_exact(4)) {
                *o += av[0] * b4[0] as i32 + av[1] * b4[1] as i32 + av[2] * b4[2] as i32 + av[3] * b4[3] as i32;
            }
        }
    }
}

#[cfg(all(target_arch = "x86_64", ronn_avx512))]
mod x86 {
    use super::{MR, PANEL};
    use std::arch::x86_64::*;

    /// `NV` 16-column vectors by `MR` rows of accumulators, one `vpdpbusd` per
    /// (row, vector) and k-quad.
    ///
    /// # Safety
    /// The CPU must have AVX-512F/BW/VNNI; `a` must address `MR` rows of `lda >=
    /// 4*kq` bytes and `b` `kq * NV * 64` bytes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn kernel<const NV: usize>(
        a: *const u8,
        lda: usize,
        b: *const i8,
        kq: usize,
        tile: &mut [i32; MR * PANEL],
    ) {
        let mut acc = [[_mm512_setzero_si512(); NV]; MR];
        for q in 0..kq {
            let mut bv = [_mm512_setzero_si512(); NV];
            for (v, bv) in bv.iter_mut().enumerate() {
                // SAFETY: (q * NV + v) * 64 + 64 <= kq * NV * 64 bytes of b.
                *bv = unsafe { _mm512_loadu_si512(b.add((q * NV + v) * 64) as *const _) };
            }
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: r < MR rows, 4q + 4 <= 4 kq <= lda bytes into the row.
                let quad = unsafe { (a.add(r * lda + 4 * q) as *const i32).read_unaligned() };
                let av = _mm512_set1_epi32(quad);
                for v in 0..NV {
                    acc[v] = _mm512_dpbusd_epi32(acc[v], av, bv[v]);
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            for (v, acc) in acc.iter().enumerate() {
                // SAFETY: r * PANEL + v * 16 + 16 <= MR * PANEL.
                unsafe { _mm512_storeu_si512(tile.as_mut_ptr().add(r * PANEL + v * 16) as *mut _, *acc) };
            }
        }
    }
}

#[cfg(test)]
mod tests;
