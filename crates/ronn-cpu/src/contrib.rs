//! ONNX Runtime contrib ops (domain `com.microsoft`, opset 1) found in optimized
//! transformer exports: Gelu, FastGelu, BiasGelu, QuickGelu, SkipLayerNormalization,
//! EmbedLayerNormalization, Attention, MultiHeadAttention, RotaryEmbedding, MatMulNBits.
//!
//! Spec: <https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md>
//! (the default-domain ops are at <https://onnx.ai/onnx/operators/>). These ops have a
//! single version (1). Float inputs (f32, f16, bf16, f64) compute in f32.

use crate::helpers::{input, kernel, opt_input, output, outputs};
use crate::math::{erf_f32, tanh_f32};
use rayon::prelude::*;
use ronn_core::{DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

mod attention;

use attention::{build_attention, build_mha};

const MS: &str = "com.microsoft";
const PAR: usize = 1 << 16;

/// Registers the com.microsoft ops.
pub fn register(r: &mut KernelRegistry) {
    r.register(MS, "Gelu", 1, i64::MAX, build_gelu);
    r.register(MS, "FastGelu", 1, i64::MAX, build_fast_gelu);
    r.register(MS, "BiasGelu", 1, i64::MAX, build_bias_gelu);
    r.register(MS, "QuickGelu", 1, i64::MAX, build_quick_gelu);
    r.register(MS, "SkipLayerNormalization", 1, i64::MAX, build_skip_ln);
    r.register(MS, "SkipSimplifiedLayerNormalization", 1, i64::MAX, build_skip_simplified_ln);
    r.register(MS, "EmbedLayerNormalization", 1, i64::MAX, build_embed_ln);
    r.register(MS, "Attention", 1, i64::MAX, build_attention);
    r.register(MS, "MultiHeadAttention", 1, i64::MAX, build_mha);
    r.register(MS, "RotaryEmbedding", 1, i64::MAX, build_rotary);
    r.register(MS, "MatMulNBits", 1, i64::MAX, build_matmul_nbits);
}

// ---------------------------------------------------------------- f32 staging

fn is_float(d: DType) -> bool {
    matches!(d, DType::Float32 | DType::Float16 | DType::BFloat16 | DType::Float64)
}

/// A float tensor's values as f32.
fn f32s(t: &Tensor, what: &str) -> Result<Vec<f32>> {
    if !is_float(t.dtype()) {
        return Err(Error::TypeMismatch(format!("{what} must be a float tensor, got {}", t.dtype())));
    }
    if t.dtype() == DType::Float32 {
        return Ok(t.as_slice::<f32>()?.to_vec());
    }
    t.cast(DType::Float32)?.into_vec::<f32>()
}

/// f32 values as a tensor of `dtype`.
fn from_f32(dtype: DType, shape: Vec<usize>, v: Vec<f32>) -> Result<Tensor> {
    let t = Tensor::from_vec(shape, v)?;
    if dtype == DType::Float32 {
        Ok(t)
    } else {
        t.cast(dtype)
    }
}

/// Optional 1-D vector of length `n` (bias / gamma / beta) that broadcasts over the last dim.
fn vec_of(t: Option<&Tensor>, n: usize, what: &str) -> Result<Option<Vec<f32>>> {
    match t {
        None => Ok(None),
        Some(t) => {
            if t.len() != n {
                return Err(Error::ShapeMismatch(format!(
                    "{what} must hold {n} values (the last dimension), got shape {:?}",
                    t.shape()
                )));
            }
            Ok(Some(f32s(t, what)?))
        }
    }
}

fn map_inplace(v: &mut [f32], f: impl Fn(f32) -> f32 + Sync + Send) {
    if v.len() > PAR {
        v.par_iter_mut().for_each(|x| *x = f(*x));
    } else {
        v.iter_mut().for_each(|x| *x = f(*x));
    }
}

fn add_bias(v: &mut [f32], bias: &[f32]) {
    if bias.is_empty() {
        return;
    }
    for row in v.chunks_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x += b;
        }
    }
}

// ---------------------------------------------------------------- Gelu family

#[inline(always)]
fn gelu_erf(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// With the polynomial tanh (vectorizes; `f32::tanh` is a libm call per element).
#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    const C: f32 = 0.797_884_6; // sqrt(2/pi)
    0.5 * x * (1.0 + tanh_f32(C * (x + 0.044715 * x * x * x)))
}

/// Elementwise unary on input 0 with an optional bias (input `bias_at`) over the last dim.
fn unary_bias(
    name: &'static str,
    bias_at: Option<usize>,
    f: impl Fn(f32) -> f32 + Sync + Send + Copy + 'static,
) -> Result<Box<dyn Kernel>> {
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let last = x.shape().last().copied().unwrap_or(1);
        let bias = match bias_at {
            // BiasGelu's B is required; FastGelu's bias is optional.
            Some(i) if name == "BiasGelu" => vec_of(Some(input(inputs, i)?), last, "BiasGelu B")?,
            Some(i) => vec_of(opt_input(inputs, i)?, last, &format!("{name} bias"))?,
            None => None,
        };
        if x.dtype() == DType::Float32 {
            // One pass, vectorized for the CPU, into the memory pool's buffer (the
            // fused form of an FFN's bias + GELU, its widest activation).
            let xv = x.as_slice::<f32>()?;
            let mut y = ronn_core::pool::for_overwrite::<f32>(xv.len());
            let bias = bias.as_deref().filter(|b| !b.is_empty());
            let rows = |xs: &[f32], ys: &mut [f32]| {
                ronn_core::simd::with_best_simd(
                    #[inline(always)]
                    || match bias {
                        Some(b) => {
                            for (xr, yr) in xs.chunks(b.len()).zip(ys.chunks_mut(b.len())) {
                                for ((o, &v), &bb) in yr.iter_mut().zip(xr).zip(b) {
                                    *o = f(v + bb);
                                }
                            }
                        }
                        None => {
                            for (o, &v) in ys.iter_mut().zip(xs) {
                                *o = f(v);
                            }
                        }
                    },
                )
            };
            // Tasks of whole rows (the bias lines up with each task's start).
            let chunk = PAR.next_multiple_of(last.max(1));
            if xv.len() > PAR {
                xv.par_chunks(chunk).zip(y.par_chunks_mut(chunk)).for_each(|(a, b)| rows(a, b));
            } else {
                rows(xv, &mut y);
            }
            return output(Tensor::from_vec(x.shape().to_vec(), y)?);
        }
        let mut v = f32s(x, name)?;
        if let Some(b) = &bias {
            if last > 0 {
                add_bias(&mut v, b);
            }
        }
        map_inplace(&mut v, f);
        output(from_f32(x.dtype(), x.shape().to_vec(), v)?)
    })
}

fn build_gelu(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    unary_bias("Gelu", None, gelu_erf)
}

fn build_fast_gelu(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    unary_bias("FastGelu", Some(1), gelu_tanh)
}

fn build_bias_gelu(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    unary_bias("BiasGelu", Some(1), gelu_erf)
}

fn build_quick_gelu(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let alpha = ctx.node.attr_f_or("alpha", 1.702)?;
    unary_bias("QuickGelu", None, move |x| x / (1.0 + (-alpha * x).exp()))
}

// ---------------------------------------------------------------- layer norms

/// Normalizes each row of `v` (length h) in place; returns (mean, inv_std) per row.
fn layer_norm_rows(
    v: &mut [f32],
    h: usize,
    gamma: &[f32],
    beta: Option<&[f32]>,
    eps: f32,
    simplified: bool,
) -> (Vec<f32>, Vec<f32>) {
    let rows = v.len() / h.max(1);
    let mut means = vec![0f32; rows];
    let mut invs = vec![0f32; rows];
    let norm = |row: &mut [f32]| -> (f32, f32) {
        let n = h as f32;
        let mean = if simplified { 0.0 } else { row.iter().sum::<f32>() / n };
        let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        for (i, x) in row.iter_mut().enumerate() {
            let mut y = (*x - mean) * inv * gamma[i];
            if let Some(b) = beta {
                y += b[i];
            }
            *x = y;
        }
        (mean, inv)
    };
    if h == 0 {
        return (means, invs);
    }
    if v.len() > PAR {
        v.par_chunks_mut(h)
            .zip(means.par_iter_mut().zip(invs.par_iter_mut()))
            .for_each(|(row, (m, s))| (*m, *s) = norm(row));
    } else {
        for ((row, m), s) in v.chunks_mut(h).zip(means.iter_mut()).zip(invs.iter_mut()) {
            (*m, *s) = norm(row);
        }
    }
    (means, invs)
}

fn build_skip_ln(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    skip_ln(ctx, false)
}

fn build_skip_simplified_ln(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    skip_ln(ctx, true)
}

/// SkipLayerNormalization: inputs (input, skip, gamma, beta?, bias?); Simplified: (input, skip, gamma, bias?).
fn skip_ln(ctx: &BuildCtx, simplified: bool) -> Result<Box<dyn Kernel>> {
    let eps = ctx.node.attr_f_or("epsilon", 1e-12)?;
    let n_out = ctx.node.outputs.len();
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let skip = input(inputs, 1)?;
        let shape = x.shape().to_vec();
        if shape.len() < 2 {
            return Err(Error::ShapeMismatch(format!(
                "SkipLayerNormalization input must be 2-D or 3-D, got {shape:?}"
            )));
        }
        let h = shape[shape.len() - 1];
        let total = x.len();
        let sk = f32s(skip, "skip")?;
        // skip has the input's shape or broadcasts over the batch ([1, S, H] / [S, H]).
        if sk.is_empty() || total % sk.len() != 0 || skip.shape().last() != Some(&h) {
            return Err(Error::ShapeMismatch(format!(
                "skip must have the input's shape {shape:?} or broadcast over its batch, got {:?}",
                skip.shape()
            )));
        }
        let gamma = vec_of(Some(input(inputs, 2)?), h, "gamma")?.unwrap_or_default();
        let (beta, bias) = if simplified {
            (None, vec_of(opt_input(inputs, 3)?, h, "bias")?)
        } else {
            (vec_of(opt_input(inputs, 3)?, h, "beta")?, vec_of(opt_input(inputs, 4)?, h, "bias")?)
        };
        let mut v = f32s(x, "input")?;
        for (chunk, _) in v.chunks_mut(sk.len()).zip(0..) {
            for (a, b) in chunk.iter_mut().zip(&sk) {
                *a += b;
            }
        }
        if let Some(b) = &bias {
            add_bias(&mut v, b);
        }
        let sum = if n_out > 3 { Some(v.clone()) } else { None };
        let (means, invs) = layer_norm_rows(&mut v, h, &gamma, beta.as_deref(), eps, simplified);
        let mut stat_shape = shape.clone();
        if let Some(l) = stat_shape.last_mut() {
            *l = 1;
        }
        let dt = x.dtype();
        let mut outs = vec![from_f32(dt, shape.clone(), v)?];
        if n_out > 1 {
            outs.push(Tensor::from_vec(stat_shape.clone(), means)?);
        }
        if n_out > 2 {
            outs.push(Tensor::from_vec(stat_shape, invs)?);
        }
        if let Some(s) = sum {
            outs.push(from_f32(dt, shape, s)?);
        }
        outputs(outs)
    })
}

fn build_embed_ln(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let eps = ctx.node.attr_f_or("epsilon", 1e-12)?;
    let mask_index_type = ctx.node.attr_i_or("mask_index_type", 1)?;
    let n_out = ctx.node.outputs.len();
    kernel(move |_, inputs| {
        let ids_t = input(inputs, 0)?;
        let ids = crate::helpers::ints_of(ids_t)?;
        let (b, s) = match *ids_t.shape() {
            [b, s] => (b, s),
            ref o => return Err(Error::ShapeMismatch(format!("input_ids must be [batch, seq], got {o:?}"))),
        };
        let seg = opt_input(inputs, 1)?.map(crate::helpers::ints_of).transpose()?;
        let word_t = input(inputs, 2)?;
        let pos_t = input(inputs, 3)?;
        let seg_t = opt_input(inputs, 4)?;
        let h = match *word_t.shape() {
            [_, h] => h,
            ref o => return Err(Error::ShapeMismatch(format!("word_embedding must be 2-D, got {o:?}"))),
        };
        let word = f32s(word_t, "word_embedding")?;
        let pos = f32s(pos_t, "position_embedding")?;
        let segw = seg_t.map(|t| f32s(t, "segment_embedding")).transpose()?;
        let gamma = vec_of(Some(input(inputs, 5)?), h, "gamma")?.unwrap_or_default();
        let beta = vec_of(opt_input(inputs, 6)?, h, "beta")?;
        let mask = opt_input(inputs, 7)?.map(crate::helpers::ints_of).transpose()?;
        let pos_ids = opt_input(inputs, 8)?.map(crate::helpers::ints_of).transpose()?;
        if seg.as_ref().is_some_and(|v| v.len() != b * s) || mask.as_ref().is_some_and(|v| v.len() != b * s) {
            return Err(Error::ShapeMismatch("segment_ids and mask must have input_ids' shape".into()));
        }
        let row = |table: &[f32], id: i64, what: &str| -> Result<std::ops::Range<usize>> {
            let rows = table.len() / h.max(1);
            if id < 0 || id as usize >= rows {
                return Err(Error::InvalidArgument(format!("{what} index {id} out of range [0, {rows})")));
            }
            Ok(id as usize * h..(id as usize + 1) * h)
        };
        let mut v = vec![0f32; b * s * h];
        for bi in 0..b {
            for si in 0..s {
                let t = bi * s + si;
                let dst = &mut v[t * h..(t + 1) * h];
                let w = &word[row(&word, ids[t], "input_ids")?];
                let p_id = match &pos_ids {
                    None => si as i64,
                    Some(p) if p.len() == b * s => p[t],
                    Some(p) if p.len() == s => p[si],
                    Some(_) => {
                        return Err(Error::ShapeMismatch("position_ids must be [batch, seq] or [1, seq]".into()))
                    }
                };
                let p = &pos[row(&pos, p_id, "position_ids")?];
                for i in 0..h {
                    dst[i] = w[i] + p[i];
                }
                if let (Some(sg), Some(sw)) = (&seg, &segw) {
                    let r = &sw[row(sw, sg[t], "segment_ids")?];
                    for i in 0..h {
                        dst[i] += r[i];
                    }
                }
            }
        }
        let sum = if n_out > 2 { Some(v.clone()) } else { None };
        layer_norm_rows(&mut v, h, &gamma, beta.as_deref(), eps, false);
        let dt = word_t.dtype();
        let mut outs = vec![from_f32(dt, vec![b, s, h], v)?];
        if n_out > 1 {
            let mi: Vec<i32> = match (&mask, mask_index_type) {
                (Some(m), 1) => {
                    (0..b).map(|bi| m[bi * s..(bi + 1) * s].iter().filter(|&&x| x != 0).count() as i32).collect()
                }
                _ => vec![0; b],
            };
            outs.push(Tensor::from_vec(vec![b], mi)?);
        }
        if let Some(sm) = sum {
            outs.push(from_f32(dt, vec![b, s, h], sm)?);
        }
        outputs(outs)
    })
}

// ---------------------------------------------------------------- rotary

fn build_rotary(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let interleaved = node.attr_i_or("interleaved", 0)? != 0;
    let num_heads = node.attr_i_or("num_heads", 0)?.max(0) as usize;
    let rot_dim = node.attr_i_or("rotary_embedding_dim", 0)?.max(0) as usize;
    // `scale` is accepted and, as in onnxruntime's CPU kernel, not applied.
    node.attr_f_or("scale", 1.0)?;
    if node.attr_i_or("is_packed_batching", 0)? != 0 {
        return Err(node.unsupported("RotaryEmbedding is_packed_batching=1"));
    }
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let pos = crate::helpers::ints_of(input(inputs, 1)?)?;
        let cos_t = input(inputs, 2)?;
        let cos = f32s(cos_t, "cos_cache")?;
        let sin = f32s(input(inputs, 3)?, "sin_cache")?;
        let half_cache = match *cos_t.shape() {
            [_, h] => h,
            ref o => return Err(Error::ShapeMismatch(format!("cos_cache must be [max_pos, rd/2], got {o:?}"))),
        };
        let max_pos = cos.len() / half_cache.max(1);
        // (b, s, n, d, bsnh): bsnh = [B, S, N*D] layout, else [B, N, S, D].
        let (b, s, n, d, bsnh) = match *x.shape() {
            [b, nh, s, d] => (b, s, nh, d, false),
            [b, s, hid] => {
                let n = if num_heads > 0 {
                    num_heads
                } else if half_cache > 0 && hid % (2 * half_cache) == 0 {
                    hid / (2 * half_cache)
                } else {
                    0
                };
                if n == 0 || hid % n != 0 {
                    return Err(Error::InvalidArgument(format!("3-D input needs num_heads dividing {hid}")));
                }
                (b, s, n, hid / n, true)
            }
            ref o => return Err(Error::ShapeMismatch(format!("RotaryEmbedding input must be 3-D or 4-D, got {o:?}"))),
        };
        let rd = if rot_dim == 0 { 2 * half_cache } else { rot_dim };
        let half = rd / 2;
        if rd > d || rd % 2 != 0 || half > half_cache {
            return Err(Error::InvalidArgument(format!(
                "rotary dim {rd} must be even, <= head size {d} and fit the caches"
            )));
        }
        if cos.len() != sin.len() {
            return Err(Error::ShapeMismatch("cos_cache and sin_cache differ in shape".into()));
        }
        let mut v = f32s(x, "input")?;
        let xin = v.clone();
        for bi in 0..b {
            for si in 0..s {
                let p = match pos.len() {
                    1 => pos[0] + si as i64,
                    l if l == b * s => pos[bi * s + si],
                    _ => {
                        return Err(Error::ShapeMismatch(format!(
                            "position_ids must be [1] or [{b}, {s}], got {} values",
                            pos.len()
                        )))
                    }
                };
                if p < 0 || p as usize >= max_pos {
                    return Err(Error::InvalidArgument(format!("position id {p} out of range [0, {max_pos})")));
                }
                let c = &cos[p as usize * half_cache..p as usize * half_cache + half];
                let sn = &sin[p as usize * half_cache..p as usize * half_cache + half];
                for hh in 0..n {
                    let off = if bsnh { ((bi * s + si) * n + hh) * d } else { ((bi * n + hh) * s + si) * d };
                    let src = &xin[off..off + d];
                    let dst = &mut v[off..off + d];
                    for i in 0..half {
                        let (a, bidx) = if interleaved { (2 * i, 2 * i + 1) } else { (i, i + half) };
                        let (x1, x2) = (src[a], src[bidx]);
                        dst[a] = x1 * c[i] - x2 * sn[i];
                        dst[bidx] = x2 * c[i] + x1 * sn[i];
                    }
                }
            }
        }
        output(from_f32(x.dtype(), x.shape().to_vec(), v)?)
    })
}

// ---------------------------------------------------------------- MatMulNBits

/// MatMulNBits layout: K, N, bits, block_size.
#[derive(Clone, Copy)]
struct NBits {
    k: usize,
    n: usize,
    bits: usize,
    bs: usize,
}

/// Dequantizes B (uint8 [N, k_blocks, blob]) with its scales and zero points into W^T [K, N].
fn dequant_nbits(g: NBits, bq: &Tensor, sc_t: &Tensor, zp_t: Option<&Tensor>) -> Result<Vec<f32>> {
    let NBits { k, n: nn, bits, bs } = g;
    let kb = k.div_ceil(bs);
    let blob = bs * bits / 8;
    if bq.dtype() != DType::UInt8 || bq.len() != nn * kb * blob {
        return Err(Error::ShapeMismatch(format!(
            "B must be uint8 [{nn}, {kb}, {blob}], got {} {:?}",
            bq.dtype(),
            bq.shape()
        )));
    }
    let bv = bq.as_slice::<u8>()?;
    let scales = f32s(sc_t, "scales")?;
    if scales.len() != nn * kb {
        return Err(Error::ShapeMismatch(format!(
            "scales must hold N*k_blocks = {} values, got {}",
            nn * kb,
            scales.len()
        )));
    }
    let default_zp = (1u32 << (bits - 1)) as f32;
    let per_byte = 8 / bits;
    let mask = (1u32 << bits) - 1;
    // Zero point of (n, block) as a float; float zero points are added after scaling.
    let zp: Vec<f32> = match zp_t {
        None => vec![default_zp; nn * kb],
        Some(z) if z.dtype() == DType::UInt8 => {
            let zb = z.as_slice::<u8>()?;
            let row = kb.div_ceil(per_byte);
            if zb.len() != nn * row {
                return Err(Error::ShapeMismatch(format!(
                    "zero_points must hold {} bytes, got {}",
                    nn * row,
                    zb.len()
                )));
            }
            (0..nn * kb)
                .map(|i| {
                    let (r, c) = (i / kb, i % kb);
                    ((zb[r * row + c / per_byte] as u32 >> ((c % per_byte) * bits)) & mask) as f32
                })
                .collect()
        }
        Some(z) => {
            let v = f32s(z, "zero_points")?;
            if v.len() != nn * kb {
                return Err(Error::ShapeMismatch(format!("float zero_points must hold {} values", nn * kb)));
            }
            v
        }
    };
    let float_zp = zp_t.is_some_and(|z| z.dtype() != DType::UInt8);
    let mut wt = vec![0f32; k * nn];
    for n in 0..nn {
        for blk in 0..kb {
            let s = scales[n * kb + blk];
            let z = zp[n * kb + blk];
            let base = (n * kb + blk) * blob;
            for i in 0..bs.min(k - blk * bs) {
                let byte = bv[base + i / per_byte] as u32;
                let q = ((byte >> ((i % per_byte) * bits)) & mask) as f32;
                wt[(blk * bs + i) * nn + n] = if float_zp { q * s + z } else { (q - z) * s };
            }
        }
    }
    Ok(wt)
}

fn build_matmul_nbits(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let k = node.attr_i_or("K", 0)?;
    let nn = node.attr_i_or("N", 0)?;
    let bits = node.attr_i_or("bits", 4)?;
    let bs = node.attr_i_or("block_size", 0)?;
    if bits != 4 && bits != 8 && bits != 2 {
        return Err(node.unsupported("MatMulNBits bits must be 2, 4 or 8"));
    }
    if k <= 0 || nn <= 0 || bs < 16 || (bs & (bs - 1)) != 0 {
        return Err(node.unsupported("MatMulNBits needs K, N > 0 and block_size a power of 2 >= 16"));
    }
    if node.inputs.get(4).is_some_and(|s| !s.is_empty()) {
        return Err(node.unsupported("MatMulNBits g_idx input"));
    }
    let g = NBits { k: k as usize, n: nn as usize, bits: bits as usize, bs: bs as usize };
    // Weights are initializers in exported models: dequantize once at planning time.
    let has_zp = node.inputs.get(3).is_some_and(|s| !s.is_empty());
    let packed: Option<std::sync::Arc<Vec<f32>>> = match (ctx.constant(1), ctx.constant(2), ctx.constant(3)) {
        (Some(b), Some(s), z) if !has_zp || z.is_some() => Some(std::sync::Arc::new(dequant_nbits(g, b, s, z)?)),
        _ => None,
    };
    kernel(move |_, inputs| {
        let a = input(inputs, 0)?;
        let bias = vec_of(opt_input(inputs, 5)?, g.n, "bias")?;
        if a.shape().last() != Some(&g.k) {
            return Err(Error::ShapeMismatch(format!("A must end in K = {}, got {:?}", g.k, a.shape())));
        }
        let owned;
        let wt: &[f32] = match &packed {
            Some(w) => w,
            None => {
                owned = dequant_nbits(g, input(inputs, 1)?, input(inputs, 2)?, opt_input(inputs, 3)?)?;
                &owned
            }
        };
        let av = f32s(a, "A")?;
        let m = av.len() / g.k;
        let mut out = vec![0f32; m * g.n];
        ronn_kernels::matmul(m, g.n, g.k, &av, wt, &mut out, m * g.n * g.k > PAR)?;
        if let Some(bb) = &bias {
            add_bias(&mut out, bb);
        }
        let mut shape = a.shape().to_vec();
        if let Some(l) = shape.last_mut() {
            *l = g.n;
        }
        output(from_f32(a.dtype(), shape, out)?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_close, run_node, run_node_const, run_node_opt};
    use ronn_core::{Tensor, Value};
    use ronn_ir::{Attribute, Node};

    fn ms(op: &str, ins: &[&str], outs: &[&str]) -> Node {
        let mut n = Node::new(op, ins, outs, 1);
        n.domain = "com.microsoft".into();
        n
    }

    fn t(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    #[test]
    fn gelu_family() {
        // Expected values from onnxruntime 1.32 (com.microsoft kernels).
        let x = t(&[2, 2], &[-1.0, 0.5, 2.0, -0.25]);
        let y = &run_node(&ms("Gelu", &["x"], &["y"]), vec![x.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[-0.15865526, 0.34573123, 1.9544997, -0.10032342]);
        let y = &run_node(&ms("FastGelu", &["x"], &["y"]), vec![x.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[-0.15880796, 0.345714, 1.9545977, -0.10032465]);
        let b = t(&[2], &[1.0, -0.5]);
        let y = &run_node(&ms("BiasGelu", &["x", "b"], &["y"]), vec![x.clone(), b]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[0.0, 0.0, 2.9959502, -0.16997051]);
        let y = &run_node(&ms("QuickGelu", &["x"], &["y"]), vec![x.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[-0.15420422, 0.3503884, 1.9356587, -0.09880035]);
        // wrong bias length is an error
        assert!(run_node(&ms("FastGelu", &["x", "b"], &["y"]), vec![x, t(&[3], &[0.0; 3])]).is_err());
    }

    #[test]
    fn skip_layer_norm() {
        let x = t(&[1, 2, 3], &[1.0, 2.0, 3.0, -1.0, 0.0, 4.0]);
        let skip = t(&[1, 2, 3], &[0.5, 0.5, 0.5, 1.0, 1.0, 1.0]);
        let g = t(&[3], &[1.0, 2.0, 0.5]);
        let be = t(&[3], &[0.0, 0.1, -0.1]);
        let n =
            ms("SkipLayerNormalization", &["x", "s", "g", "b"], &["y"]).with_attr("epsilon", Attribute::Float(1e-5));
        let y = &run_node(&n, vec![x, skip, g.clone(), be]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[-1.2247356, 0.1, 0.5123678, -0.9258191, -0.8258191, 0.5943643]);
        let bad = t(&[1, 2, 4], &[0.0; 8]);
        assert!(run_node(&n, vec![bad.clone(), bad, g.clone(), g]).is_err());
    }

    #[test]
    fn mha_uniform_keys_average_values() {
        // With equal keys, attention averages the values.
        let q = t(&[1, 1, 2], &[1.0, 2.0]);
        let k = t(&[1, 2, 2], &[1.0, 1.0, 1.0, 1.0]);
        let v = t(&[1, 2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let n = ms("MultiHeadAttention", &["q", "k", "v"], &["y"]).with_attr("num_heads", Attribute::Int(1));
        let y = &run_node(&n, vec![q.clone(), k.clone(), v.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[2.0, 3.0]);
        // key_padding_mask [B, L] masking the second key picks the first value.
        let m = Tensor::from_vec(vec![1, 2], vec![1i32, 0]).unwrap();
        let ins = vec![q, k, v, Tensor::from_vec(vec![0], Vec::<f32>::new()).unwrap(), m];
        let mut opt: Vec<Option<Value>> = ins.into_iter().map(|t| Some(Value::Tensor(t))).collect();
        opt[3] = None;
        let n = ms("MultiHeadAttention", &["q", "k", "v", "", "m"], &["y"]).with_attr("num_heads", Attribute::Int(1));
        let y = run_node_opt(&n, opt).unwrap().remove(0).into_tensor().unwrap();
        assert_close(y.as_slice::<f32>().unwrap(), &[1.0, 2.0]);
    }

    #[test]
    fn matmul_nbits_dequantizes() {
        // K=16, N=1, block 16: values q = i (0..16) with zero point 8, scale 0.5; A = ones.
        let bytes: Vec<u8> = (0..8).map(|i| (2 * i as u8) | ((2 * i as u8 + 1) << 4)).collect();
        let n = ms("MatMulNBits", &["a", "b", "s"], &["y"])
            .with_attr("K", Attribute::Int(16))
            .with_attr("N", Attribute::Int(1))
            .with_attr("bits", Attribute::Int(4))
            .with_attr("block_size", Attribute::Int(16));
        let a = t(&[1, 16], &[1.0; 16]);
        let b = Tensor::from_vec(vec![1, 1, 8], bytes).unwrap();
        let s = t(&[1], &[0.5]);
        let y = &run_node(&n, vec![a, b.clone(), s.clone()]).unwrap()[0];
        // sum_i (i - 8) * 0.5 = (120 - 128) * 0.5 = -4
        assert_close(y.as_slice::<f32>().unwrap(), &[-4.0]);
        // planning-time dequantization gives the same result
        let y = &run_node_const(&n, vec![t(&[1, 16], &[1.0; 16]), b.clone(), s.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[-4.0]);
        assert!(run_node(&n, vec![t(&[1, 15], &[1.0; 15]), b, s]).is_err());
    }

    #[test]
    fn attention_causal_and_errors() {
        // Expected values from onnxruntime 1.32.
        let x = t(&[1, 2, 2], &[1.0, 0.0, 0.0, 1.0]);
        let w = t(&[2, 6], &[1.0, 0.0, 1.0, 0.0, 1.0, 2.0, 0.0, 1.0, 0.0, 1.0, 3.0, 4.0]);
        let b = t(&[6], &[0.0; 6]);
        let n = ms("Attention", &["x", "w", "b"], &["y"]).with_attr("num_heads", Attribute::Int(1));
        let y = &run_node(&n, vec![x.clone(), w.clone(), b.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[1.6604769, 2.660477, 2.339523, 3.339523]);
        let nc = n.clone().with_attr("unidirectional", Attribute::Int(1));
        let y = &run_node(&nc, vec![x.clone(), w.clone(), b.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[1.0, 2.0, 2.339523, 3.339523]);
        // weights of the wrong width, and num_heads missing, are errors
        assert!(run_node(&n, vec![x.clone(), t(&[2, 5], &[0.0; 10]), t(&[5], &[0.0; 5])]).is_err());
        assert!(run_node(&ms("Attention", &["x", "w", "b"], &["y"]), vec![x, w, b]).is_err());
    }

    #[test]
    fn rotary_halves_and_interleaved() {
        let x = t(&[1, 1, 4], &[1.0, 2.0, 3.0, 4.0]);
        let cos = t(&[2, 2], &[1.0, 1.0, 0.5, 0.0]);
        let sin = t(&[2, 2], &[0.0, 0.0, 0.8660254, 1.0]);
        let pos = Tensor::from_vec(vec![1, 1], vec![1i64]).unwrap();
        let n = ms("RotaryEmbedding", &["x", "p", "c", "s"], &["y"]);
        let y = &run_node(&n, vec![x.clone(), pos.clone(), cos.clone(), sin.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[-2.098076, -4.0, 2.3660254, 2.0]);
        let ni = n.clone().with_attr("interleaved", Attribute::Int(1));
        let y = &run_node(&ni, vec![x.clone(), pos, cos.clone(), sin.clone()]).unwrap()[0];
        assert_close(y.as_slice::<f32>().unwrap(), &[-1.2320508, 1.8660254, -4.0, 3.0]);
        // position out of the caches' range
        let far = Tensor::from_vec(vec![1, 1], vec![5i64]).unwrap();
        assert!(run_node(&n, vec![x, far, cos, sin]).is_err());
    }

    #[test]
    fn embed_layer_norm_and_mask_index() {
        let ids = Tensor::from_vec(vec![1, 2], vec![1i32, 0]).unwrap();
        let seg = Tensor::from_vec(vec![1, 2], vec![0i32, 1]).unwrap();
        let we = t(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let pe = t(&[2, 3], &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let se = t(&[2, 3], &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        let g = t(&[3], &[1.0; 3]);
        let be = t(&[3], &[0.0; 3]);
        let m = Tensor::from_vec(vec![1, 2], vec![1i32, 0]).unwrap();
        let n = ms("EmbedLayerNormalization", &["i", "s", "we", "pe", "se", "g", "be", "m"], &["y", "mi"])
            .with_attr("epsilon", Attribute::Float(1e-5));
        let out =
            run_node(&n, vec![ids.clone(), seg.clone(), we.clone(), pe.clone(), se.clone(), g.clone(), be.clone(), m])
                .unwrap();
        assert_close(
            out[0].as_slice::<f32>().unwrap(),
            &[-0.70710266, -0.70710266, 1.4142058, -1.4141817, 0.707091, 0.707091],
        );
        assert_eq!(out[1].as_slice::<i32>().unwrap(), &[1]);
        // an input id past the vocabulary is an error
        let bad = Tensor::from_vec(vec![1, 2], vec![7i32, 0]).unwrap();
        let n2 = ms("EmbedLayerNormalization", &["i", "s", "we", "pe", "se", "g", "be"], &["y", "mi"]);
        assert!(run_node(&n2, vec![bad, seg, we, pe, se, g, be]).is_err());
    }
}
