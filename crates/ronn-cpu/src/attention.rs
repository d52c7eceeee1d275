//! The ONNX Attention operator (opsets 23-25): scaled dot-product attention with
//! 3-D (heads packed in the hidden dim) or 4-D inputs, grouped-query heads, a
//! boolean or additive mask (right-aligned broadcasting, short masks padded),
//! causal masking aligned bottom-right to the KV cache, sliding windows,
//! `nonpad_kv_seqlen` padding, softcap, past/present KV caches and the
//! `qk_matmul_output` modes. Spec: <https://onnx.ai/onnx/operators/onnx__Attention.html>.
//!
//! This is the reference-quality path (f64 accumulation); fused fast kernels for
//! exported transformer graphs belong to the optimizer's attention fusion.

use crate::helpers::{input, kernel, opt_input, outputs};
use ronn_core::{dispatch_float, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers Attention.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "Attention", 23, i64::MAX, build);
}

struct Attrs {
    scale: Option<f64>,
    causal: bool,
    q_heads: Option<usize>,
    kv_heads: Option<usize>,
    softcap: f64,
    mode: i64,
    left: i64,
    right: i64,
}

fn build(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let heads = |name: &str| -> Result<Option<usize>> {
        match n.attr_i(name)? {
            Some(v) if v > 0 => Ok(Some(v as usize)),
            Some(v) => Err(n.unsupported(format!("{name} = {v}"))),
            None => Ok(None),
        }
    };
    let a = Attrs {
        scale: n.attr_f("scale")?.map(f64::from),
        causal: n.attr_i_or("is_causal", 0)? != 0,
        q_heads: heads("q_num_heads")?,
        kv_heads: heads("kv_num_heads")?,
        softcap: n.attr_f_or("softcap", 0.0)? as f64,
        mode: n.attr_i_or("qk_matmul_output_mode", 0)?,
        left: n.attr_i_or("left_window_size", -1)?,
        right: n.attr_i_or("right_window_size", -1)?,
    };
    if !(0..=3).contains(&a.mode) {
        return Err(n.unsupported(format!("qk_matmul_output_mode {}", a.mode)));
    }
    kernel(move |_, inputs| {
        let q = input(inputs, 0)?;
        dispatch_float!(q.dtype(), T => attention::<T>(&a, inputs),
            _ => Err(Error::TypeMismatch(format!("Attention needs float inputs, got {}", q.dtype()))))
    })
}

/// A [B, H, S, D] view of Q/K/V as f64, from 3-D [B, S, H*D] or 4-D input.
fn to4(t: &Tensor, heads: Option<usize>, what: &str) -> Result<(Vec<usize>, Vec<f64>)> {
    let v = t.to_f64_vec()?;
    match t.shape() {
        &[b, s, hid] => {
            let h = heads
                .ok_or_else(|| Error::InvalidArgument(format!("3-D {what} needs q_num_heads and kv_num_heads")))?;
            if hid % h != 0 {
                return Err(Error::ShapeMismatch(format!("{what} hidden size {hid} is not a multiple of {h} heads")));
            }
            let d = hid / h;
            let mut out = vec![0.0; v.len()];
            for bi in 0..b {
                for si in 0..s {
                    for hi in 0..h {
                        for di in 0..d {
                            out[((bi * h + hi) * s + si) * d + di] = v[(bi * s + si) * hid + hi * d + di];
                        }
                    }
                }
            }
            Ok((vec![b, h, s, d], out))
        }
        &[_, _, _, _] => Ok((t.shape().to_vec(), v)),
        other => Err(Error::ShapeMismatch(format!("{what} must be 3-D or 4-D, got {other:?}"))),
    }
}

fn concat_seq(past: Option<&Tensor>, shape: &[usize], cur: Vec<f64>, what: &str) -> Result<(Vec<usize>, Vec<f64>)> {
    let Some(p) = past else { return Ok((shape.to_vec(), cur)) };
    let ps = p.shape();
    if ps.len() != 4 || ps[0] != shape[0] || ps[1] != shape[1] || ps[3] != shape[3] {
        return Err(Error::ShapeMismatch(format!("past {what} {ps:?} does not match {what} {shape:?}")));
    }
    let pv = p.to_f64_vec()?;
    let (b, h, sp, s, d) = (shape[0], shape[1], ps[2], shape[2], shape[3]);
    let mut out = Vec::with_capacity(pv.len() + cur.len());
    for bh in 0..b * h {
        out.extend_from_slice(&pv[bh * sp * d..(bh + 1) * sp * d]);
        out.extend_from_slice(&cur[bh * s * d..(bh + 1) * s * d]);
    }
    Ok((vec![b, h, sp + s, d], out))
}

fn attention<T: Element>(a: &Attrs, inputs: &[Option<&ronn_core::Value>]) -> Result<Vec<ronn_core::Value>> {
    let (q_in, k_in, v_in) = (input(inputs, 0)?, input(inputs, 1)?, input(inputs, 2)?);
    let three_d = q_in.rank() == 3;
    if k_in.rank() != q_in.rank() || v_in.rank() != q_in.rank() {
        return Err(Error::ShapeMismatch("Q, K and V must have the same rank".into()));
    }
    let (qs, q) = to4(q_in, a.q_heads, "Q")?;
    let (ks, k) = to4(k_in, a.kv_heads, "K")?;
    let (vs, v) = to4(v_in, a.kv_heads, "V")?;
    let (ks, k) = concat_seq(opt_input(inputs, 4)?, &ks, k, "key")?;
    let (vs, v) = concat_seq(opt_input(inputs, 5)?, &vs, v, "value")?;
    let past_len = opt_input(inputs, 4)?.map(|p| p.shape()[2]);
    let (b, hq, sq, dq) = (qs[0], qs[1], qs[2], qs[3]);
    let (hk, skv, dv) = (ks[1], ks[2], vs[3]);
    if ks[0] != b || vs[0] != b || ks[3] != dq || vs[1] != hk || vs[2] != skv || hk == 0 || hq % hk != 0 {
        return Err(Error::ShapeMismatch(format!("incompatible Q {qs:?}, K {ks:?}, V {vs:?}")));
    }
    let group = hq / hk;
    let nonpad: Option<Vec<i64>> = opt_input(inputs, 6)?.map(|t| t.to_i64_vec()).transpose()?;
    if let Some(np) = &nonpad {
        if np.len() != b {
            return Err(Error::ShapeMismatch(format!("nonpad_kv_seqlen has {} entries, batch is {b}", np.len())));
        }
    }
    // Mask: right-aligned broadcast to [B, Hq, Sq, Skv]; a short last dim is padded.
    let mask = opt_input(inputs, 3)?;
    let mask_vals: Option<(Vec<usize>, Vec<f64>)> = match mask {
        Some(m) => {
            let vals = if m.dtype() == DType::Bool {
                m.as_slice::<bool>()?.iter().map(|&x| if x { 0.0 } else { f64::NEG_INFINITY }).collect()
            } else {
                m.to_f64_vec()?
            };
            if m.rank() > 4 || m.rank() == 0 {
                return Err(Error::ShapeMismatch(format!("attn_mask must have rank 1-4, got {:?}", m.shape())));
            }
            let mut shape = vec![1; 4 - m.rank()];
            shape.extend_from_slice(m.shape());
            Some((shape, vals))
        }
        None => None,
    };
    let mask_at = |bi: usize, hi: usize, i: usize, j: usize| -> Result<f64> {
        let Some((s, vals)) = &mask_vals else { return Ok(0.0) };
        if j >= s[3] {
            return Ok(if s[3] == 1 { vals_at(s, vals, bi, hi, i, 0) } else { f64::NEG_INFINITY });
        }
        Ok(vals_at(s, vals, bi, hi, i, j))
    };
    let scale = a.scale.unwrap_or(1.0 / (dq as f64).sqrt());
    let sqrt_scale = T::from_f64(scale.sqrt()).to_f64();
    let mut y = vec![0.0; b * hq * sq * dv];
    let mut qk_out = vec![0.0; b * hq * sq * skv];
    let mut scores = vec![0.0; skv];
    let mut bias = vec![0.0; skv];
    for bi in 0..b {
        let offset: i64 = match (past_len, &nonpad) {
            (None, Some(np)) => np[bi] - sq as i64,
            (Some(p), _) => p as i64,
            _ => 0,
        };
        for hi in 0..hq {
            let kh = hi / group;
            for i in 0..sq {
                for (j, bj) in bias.iter_mut().enumerate() {
                    let mut v = mask_at(bi, hi, i, j)?;
                    let pos = i as i64 + offset;
                    if a.causal && j as i64 > pos {
                        v = f64::NEG_INFINITY;
                    }
                    let diff = pos - j as i64;
                    if (a.left >= 0 && diff > a.left) || (a.right >= 0 && -diff > a.right) {
                        v = f64::NEG_INFINITY;
                    }
                    if let Some(np) = &nonpad {
                        if j as i64 >= np[bi] {
                            v = f64::NEG_INFINITY;
                        }
                    }
                    *bj = v;
                }
                let qrow = &q[((bi * hq + hi) * sq + i) * dq..][..dq];
                for (j, sj) in scores.iter_mut().enumerate() {
                    let krow = &k[((bi * hk + kh) * skv + j) * dq..][..dq];
                    let mut s = 0.0;
                    for d in 0..dq {
                        s += T::from_f64(qrow[d] * sqrt_scale).to_f64() * T::from_f64(krow[d] * sqrt_scale).to_f64();
                    }
                    if a.softcap > 0.0 {
                        s = a.softcap * (s / a.softcap).tanh();
                    }
                    *sj = s;
                }
                let out_row = &mut qk_out[((bi * hq + hi) * sq + i) * skv..][..skv];
                if a.mode <= 1 {
                    out_row.copy_from_slice(&scores);
                }
                for (s, bj) in scores.iter_mut().zip(&bias) {
                    *s += bj;
                }
                if a.mode == 2 {
                    out_row.copy_from_slice(&scores);
                }
                let fully_masked = bias.iter().all(|&x| x == f64::NEG_INFINITY);
                if fully_masked {
                    scores.iter_mut().for_each(|s| *s = 0.0);
                } else {
                    let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let m = if m == f64::NEG_INFINITY { 0.0 } else { m };
                    let mut sum = 0.0;
                    for s in scores.iter_mut() {
                        *s = (*s - m).exp();
                        sum += *s;
                    }
                    let sum = if sum == 0.0 { 1.0 } else { sum };
                    scores.iter_mut().for_each(|s| *s /= sum);
                }
                if a.mode == 3 {
                    out_row.copy_from_slice(&scores);
                }
                let yrow = &mut y[((bi * hq + hi) * sq + i) * dv..][..dv];
                for (j, &p) in scores.iter().enumerate() {
                    let p = T::from_f64(p).to_f64();
                    if p == 0.0 {
                        continue;
                    }
                    let vrow = &v[((bi * hk + kh) * skv + j) * dv..][..dv];
                    for d in 0..dv {
                        yrow[d] += p * vrow[d];
                    }
                }
            }
        }
    }
    let y = if three_d {
        let mut t = vec![0.0; y.len()];
        for bi in 0..b {
            for hi in 0..hq {
                for i in 0..sq {
                    for d in 0..dv {
                        t[(bi * sq + i) * hq * dv + hi * dv + d] = y[((bi * hq + hi) * sq + i) * dv + d];
                    }
                }
            }
        }
        (vec![b, sq, hq * dv], t)
    } else {
        (vec![b, hq, sq, dv], y)
    };
    let mk =
        |shape: Vec<usize>, v: Vec<f64>| Tensor::from_vec(shape, v.into_iter().map(T::from_f64).collect::<Vec<T>>());
    outputs(vec![mk(y.0, y.1)?, mk(ks, k)?, mk(vs, v)?, mk(vec![b, hq, sq, skv], qk_out)?])
}

fn vals_at(s: &[usize], vals: &[f64], b: usize, h: usize, i: usize, j: usize) -> f64 {
    let idx = |x: usize, d: usize| if d == 1 { 0 } else { x };
    let (b, h, i, j) = (idx(b, s[0]), idx(h, s[1]), idx(i, s[2]), idx(j, s[3]));
    vals.get(((b * s[1] + h) * s[2] + i) * s[3] + j).copied().unwrap_or(f64::NEG_INFINITY)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    #[test]
    fn single_key_returns_its_value_and_causal_masks_the_future() {
        // One head, 2 queries, 2 keys; values make the mix visible.
        let q = Tensor::from_vec(vec![1, 1, 2, 1], vec![1.0f32, 1.0]).unwrap();
        let k = Tensor::from_vec(vec![1, 1, 2, 1], vec![1.0f32, 1.0]).unwrap();
        let v = Tensor::from_vec(vec![1, 1, 2, 1], vec![10.0f32, 20.0]).unwrap();
        let n = Node::new("Attention", &["q", "k", "v"], &["y"], 23);
        let y = run_node(&n, vec![q.clone(), k.clone(), v.clone()]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[15.0, 15.0]);
        let n = n.with_attr("is_causal", Attribute::Int(1));
        let y = run_node(&n, vec![q, k, v]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[10.0, 15.0]);
    }

    #[test]
    fn mismatched_heads_are_errors() {
        let q = Tensor::zeros(ronn_core::DType::Float32, vec![1, 3, 2, 4]).unwrap();
        let kv = Tensor::zeros(ronn_core::DType::Float32, vec![1, 2, 2, 4]).unwrap();
        let n = Node::new("Attention", &["q", "k", "v"], &["y"], 23);
        assert!(run_node(&n, vec![q, kv.clone(), kv]).is_err());
    }
}
