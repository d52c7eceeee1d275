//! com.microsoft Attention and MultiHeadAttention: scaled dot-product attention over
//! packed or separate Q/K/V, with key masks (1-D lengths, [2B], 2-D, 3-D), additive
//! attention_bias and unidirectional (causal) masking. Part of `contrib` (see there).

use super::*;

/// Scaled dot-product attention. q: [B, S, N, Hd] rows (row stride N*Hd), k: [B, L, N, Hd],
/// v: [B, L, N, Hv]; `bias(b, i, j)` is added to the scaled scores. Returns [B, S, N*Hv].
#[allow(clippy::too_many_arguments)]
fn sdpa(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    (b, s, l, n, hd, hv): (usize, usize, usize, usize, usize, usize),
    scale: f32,
    bias: &(dyn Fn(usize, usize, usize, usize) -> f32 + Sync),
) -> Vec<f32> {
    let mut out = vec![0f32; b * s * n * hv];
    let work = |(idx, dst): (usize, &mut [f32])| {
        // idx = (bi * s + i); dst holds N*Hv values.
        let bi = idx / s.max(1);
        let i = idx % s.max(1);
        let mut scores = vec![0f32; l];
        for hh in 0..n {
            let qr = &q[(idx * n + hh) * hd..(idx * n + hh + 1) * hd];
            let mut mx = f32::NEG_INFINITY;
            for (j, sc) in scores.iter_mut().enumerate() {
                let kr = &k[((bi * l + j) * n + hh) * hd..((bi * l + j) * n + hh + 1) * hd];
                let d: f32 = qr.iter().zip(kr).map(|(a, c)| a * c).sum();
                *sc = d * scale + bias(bi, hh, i, j);
                mx = mx.max(*sc);
            }
            let mut tot = 0f32;
            for sc in scores.iter_mut() {
                *sc = if mx == f32::NEG_INFINITY { 0.0 } else { (*sc - mx).exp() };
                tot += *sc;
            }
            let o = &mut dst[hh * hv..(hh + 1) * hv];
            o.iter_mut().for_each(|x| *x = 0.0);
            if tot > 0.0 {
                for (j, &p) in scores.iter().enumerate() {
                    let w = p / tot;
                    let vr = &v[((bi * l + j) * n + hh) * hv..((bi * l + j) * n + hh + 1) * hv];
                    for (x, y) in o.iter_mut().zip(vr) {
                        *x += w * y;
                    }
                }
            }
        }
    };
    let rs = (n * hv).max(1);
    if b * s * n * l * hd > PAR {
        out.par_chunks_mut(rs).enumerate().for_each(work);
    } else {
        out.chunks_mut(rs).enumerate().for_each(work);
    }
    out
}

/// Key mask as an additive term per (batch, query row, key col). Handles 1-D [B] (valid
/// lengths), 1-D [2B] (end, start), 2-D [B, L] (1 keep / 0 mask), 3-D [B, S, L].
fn key_mask(m: Option<&Tensor>, b: usize, s: usize, l: usize, filter: f32) -> Result<Option<Vec<f32>>> {
    let Some(m) = m else { return Ok(None) };
    let vals = crate::helpers::ints_of(m)?;
    let mut out = vec![0f32; b * s * l];
    match m.shape() {
        [x] if *x == b || *x == 2 * b => {
            for bi in 0..b {
                let end = vals[bi];
                let start = if *x == 2 * b { vals[b + bi] } else { 0 };
                for i in 0..s {
                    for j in 0..l {
                        if (j as i64) >= end || (j as i64) < start {
                            out[(bi * s + i) * l + j] = filter;
                        }
                    }
                }
            }
        }
        [x, y] if *x == b && *y == l => {
            for bi in 0..b {
                for i in 0..s {
                    for j in 0..l {
                        if vals[bi * l + j] == 0 {
                            out[(bi * s + i) * l + j] = filter;
                        }
                    }
                }
            }
        }
        [x, y, z] if *x == b && *y == s && *z == l => {
            for (o, v) in out.iter_mut().zip(&vals) {
                if *v == 0 {
                    *o = filter;
                }
            }
        }
        o => {
            return Err(Error::ShapeMismatch(format!(
                "mask must be [{b}], [{}], [{b}, {l}] or [{b}, {s}, {l}], got {o:?}",
                2 * b
            )))
        }
    }
    Ok(Some(out))
}

/// Optional additive attention_bias [B or 1, N or 1, S, L] as a dense [B, N, S, L] lookup.
fn attn_bias(t: Option<&Tensor>, b: usize, n: usize, s: usize, l: usize) -> Result<Option<(Vec<f32>, bool, bool)>> {
    let Some(t) = t else { return Ok(None) };
    match *t.shape() {
        [tb, tn, ts, tl] if (tb == b || tb == 1) && (tn == n || tn == 1) && ts == s && tl == l => {
            Ok(Some((f32s(t, "attention_bias")?, tb == b && b != 1, tn == n && n != 1)))
        }
        ref o => Err(Error::ShapeMismatch(format!("attention_bias must be [{b}|1, {n}|1, {s}, {l}], got {o:?}"))),
    }
}

#[allow(clippy::too_many_arguments)]
fn run_sdpa(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    dims: (usize, usize, usize, usize, usize, usize),
    scale: f32,
    mask: Option<Vec<f32>>,
    ab: Option<(Vec<f32>, bool, bool)>,
    causal: bool,
    filter: f32,
) -> Vec<f32> {
    let (_, s, l, n, _, _) = dims;
    let past = l.saturating_sub(s);
    let f = |bi: usize, hh: usize, i: usize, j: usize| -> f32 {
        let mut x = 0.0;
        if let Some(m) = &mask {
            x += m[(bi * s + i) * l + j];
        }
        if let Some((a, pb, pn)) = &ab {
            let bb = if *pb { bi } else { 0 };
            let nn = if *pn { hh } else { 0 };
            x += a[((bb * if *pn { n } else { 1 } + nn) * s + i) * l + j];
        }
        if causal && j > i + past {
            x += filter;
        }
        x
    };
    sdpa(q, k, v, dims, scale, &f)
}

pub(super) fn build_attention(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let n = node.attr_i_or("num_heads", 0)?;
    if n <= 0 {
        return Err(node.unsupported("Attention needs num_heads > 0"));
    }
    let n = n as usize;
    let causal = node.attr_i_or("unidirectional", 0)? != 0;
    let qkv = node.attr_ints("qkv_hidden_sizes")?;
    if qkv.as_ref().is_some_and(|v| v.len() != 3 || v.iter().any(|&x| x <= 0 || !(x as usize).is_multiple_of(n))) {
        return Err(node.unsupported("qkv_hidden_sizes must be 3 positive multiples of num_heads"));
    }
    if node.attr_i_or("do_rotary", 0)? != 0 {
        return Err(node.unsupported("Attention do_rotary=1"));
    }
    let scale_attr = node.attr_f_or("scale", 0.0)?;
    let filter = node.attr_f_or("mask_filter_value", -10000.0)?;
    if node.outputs.len() > 1 && !node.outputs[1].is_empty() {
        return Err(node.unsupported("Attention present output (past state)"));
    }
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let w = input(inputs, 1)?;
        let (b, s, din) = match *x.shape() {
            [b, s, d] => (b, s, d),
            ref o => return Err(Error::ShapeMismatch(format!("Attention input must be [B, S, D], got {o:?}"))),
        };
        let tot = match *w.shape() {
            [d, t] if d == din => t,
            ref o => {
                return Err(Error::ShapeMismatch(format!("Attention weights must be [{din}, 3*hidden], got {o:?}")))
            }
        };
        let (hq, hk, hvv) = match &qkv {
            Some(v) => (v[0] as usize, v[1] as usize, v[2] as usize),
            None => (tot / 3, tot / 3, tot / 3),
        };
        if hq + hk + hvv != tot || hq % n != 0 || hvv % n != 0 || hq != hk {
            return Err(Error::ShapeMismatch(format!(
                "Attention weights width {tot} does not fit q/k/v sizes {hq}/{hk}/{hvv}"
            )));
        }
        if opt_input(inputs, 4)?.is_some() {
            return Err(Error::InvalidArgument("Attention past input is not supported".into()));
        }
        let xs = f32s(x, "input")?;
        let ws = f32s(w, "weights")?;
        let bias = vec_of(opt_input(inputs, 2)?, tot, "bias")?;
        let mut proj = vec![0f32; b * s * tot];
        ronn_kernels::matmul(b * s, tot, din, &xs, &ws, &mut proj, b * s * tot > PAR)?;
        if let Some(bb) = &bias {
            add_bias(&mut proj, bb);
        }
        let mut q = Vec::with_capacity(b * s * hq);
        let mut k = Vec::with_capacity(b * s * hk);
        let mut v = Vec::with_capacity(b * s * hvv);
        for row in proj.chunks(tot.max(1)) {
            q.extend_from_slice(&row[..hq]);
            k.extend_from_slice(&row[hq..hq + hk]);
            v.extend_from_slice(&row[hq + hk..]);
        }
        let hd = hq / n;
        let scale = if scale_attr == 0.0 { 1.0 / (hd as f32).sqrt() } else { scale_attr };
        let mask = key_mask(opt_input(inputs, 3)?, b, s, s, filter)?;
        let ab = attn_bias(opt_input(inputs, 5)?, b, n, s, s)?;
        let out = run_sdpa(&q, &k, &v, (b, s, s, n, hd, hvv / n), scale, mask, ab, causal, filter);
        output(from_f32(x.dtype(), vec![b, s, hvv], out)?)
    })
}

pub(super) fn build_mha(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let n = node.attr_i_or("num_heads", 0)?;
    if n <= 0 {
        return Err(node.unsupported("MultiHeadAttention needs num_heads > 0"));
    }
    let n = n as usize;
    let causal = node.attr_i_or("unidirectional", 0)? != 0;
    let scale_attr = node.attr_f_or("scale", 0.0)?;
    let filter = node.attr_f_or("mask_filter_value", -10000.0)?;
    if node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
        return Err(node.unsupported("MultiHeadAttention present_key/present_value outputs"));
    }
    kernel(move |_, inputs| {
        let qt = input(inputs, 0)?;
        let kt = opt_input(inputs, 1)?;
        let vt = opt_input(inputs, 2)?;
        if opt_input(inputs, 6)?.is_some() || opt_input(inputs, 7)?.is_some() {
            return Err(Error::InvalidArgument("MultiHeadAttention past_key/past_value are not supported".into()));
        }
        let qs = f32s(qt, "query")?;
        // q, k, v as [B, S|L, N*H] row-major.
        let (b, s, l, dq, dv, mut q, mut k, mut v) = match (qt.shape(), kt, vt) {
            (&[b, s, d], Some(kt), Some(vt)) if kt.rank() == 3 => {
                let (kb, l, dk) = (kt.shape()[0], kt.shape()[1], kt.shape()[2]);
                let vs = vt.shape();
                if kb != b || dk != d || vs.len() != 3 || vs[0] != b || vs[1] != l {
                    return Err(Error::ShapeMismatch(format!(
                        "query {:?}, key {:?}, value {:?} do not agree",
                        qt.shape(),
                        kt.shape(),
                        vs
                    )));
                }
                (b, s, l, d, vs[2], qs, f32s(kt, "key")?, f32s(vt, "value")?)
            }
            (&[b, s, nn, three, h], None, None) if nn == n && three == 3 => {
                let (mut q, mut k, mut v) = (Vec::new(), Vec::new(), Vec::new());
                for tok in qs.chunks(n * 3 * h) {
                    for head in tok.chunks(3 * h) {
                        q.extend_from_slice(&head[..h]);
                        k.extend_from_slice(&head[h..2 * h]);
                        v.extend_from_slice(&head[2 * h..]);
                    }
                }
                (b, s, s, n * h, n * h, q, k, v)
            }
            (&[b, s, d], Some(kt), None) if kt.rank() == 5 => {
                let ks = kt.shape();
                let h = d / n;
                if ks[0] != b || ks[2] != n || ks[3] != 2 || ks[4] != h {
                    return Err(Error::ShapeMismatch(format!(
                        "packed key/value must be [{b}, L, {n}, 2, {h}], got {ks:?}"
                    )));
                }
                let l = ks[1];
                let kv = f32s(kt, "key")?;
                let (mut k, mut v) = (Vec::new(), Vec::new());
                for head in kv.chunks(2 * h) {
                    k.extend_from_slice(&head[..h]);
                    v.extend_from_slice(&head[h..]);
                }
                (b, s, l, d, d, qs, k, v)
            }
            _ => {
                return Err(Error::ShapeMismatch(format!(
                    "MultiHeadAttention: unsupported query/key/value layout: query {:?}, key {:?}, value {:?}",
                    qt.shape(),
                    kt.map(|t| t.shape().to_vec()),
                    vt.map(|t| t.shape().to_vec())
                )))
            }
        };
        if dq % n != 0 || dv % n != 0 {
            return Err(Error::InvalidArgument(format!("hidden sizes {dq}/{dv} must be multiples of num_heads {n}")));
        }
        if let Some(bias) = opt_input(inputs, 3)? {
            let bb = vec_of(Some(bias), dq + dq + dv, "bias")?.unwrap_or_default();
            add_bias(&mut q, &bb[..dq]);
            add_bias(&mut k, &bb[dq..2 * dq]);
            add_bias(&mut v, &bb[2 * dq..]);
        }
        let hd = dq / n;
        let scale = if scale_attr == 0.0 { 1.0 / (hd as f32).sqrt() } else { scale_attr };
        let mask = key_mask(opt_input(inputs, 4)?, b, s, l, filter)?;
        let ab = attn_bias(opt_input(inputs, 5)?, b, n, s, l)?;
        let out = run_sdpa(&q, &k, &v, (b, s, l, n, hd, dv / n), scale, mask, ab, causal, filter);
        output(from_f32(qt.dtype(), vec![b, s, dv], out)?)
    })
}
