//! DeformConv (opsets 19, 22): convolution whose kernel taps are displaced by
//! learned `offset`s (and optionally scaled by `mask`), sampled bilinearly with
//! zeros outside the image. Inputs `X [N, C, D1..Dk]`, `W [oC, C/group, k1..kk]`,
//! `offset [N, offset_group * prod(k) * nd, O1..Ok]`, optional `B [oC]`,
//! optional `mask [N, offset_group * prod(k), O1..Ok]`. Attributes `dilations`,
//! `group`, `kernel_shape`, `offset_group`, `pads`, `strides`. Works for any
//! number of spatial dims (the spec's 2-D case and beyond).
//!
//! Computation: deformable im2col (f64) then a dot product per output channel;
//! the result is cast back to X's element type.
//! Spec: <https://onnx.ai/onnx/operators/onnx__DeformConv.html>.

use crate::helpers::{input, kernel, opt_input, output};
use crate::sampling::from_f64;
use rayon::prelude::*;
use ronn_core::{Error, Result};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers DeformConv.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "DeformConv", 19, i64::MAX, build);
}

fn build(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let group = node.attr_i_or("group", 1)?;
    let offset_group = node.attr_i_or("offset_group", 1)?;
    if group < 1 || offset_group < 1 {
        return Err(node.unsupported(format!("group {group} / offset_group {offset_group} (must be >= 1)")));
    }
    let dil = node.attr_ints("dilations")?;
    let pads = node.attr_ints("pads")?;
    let strides = node.attr_ints("strides")?;
    let kshape = node.attr_ints("kernel_shape")?;
    for (name, v, min) in
        [("dilations", &dil, 1), ("pads", &pads, 0), ("strides", &strides, 1), ("kernel_shape", &kshape, 1)]
    {
        if let Some(v) = v {
            if v.iter().any(|&x| x < min) {
                return Err(node.unsupported(format!("{name} {v:?} (values must be >= {min})")));
            }
        }
    }
    let (group, offset_group) = (group as usize, offset_group as usize);
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let w = input(inputs, 1)?;
        let off = input(inputs, 2)?;
        let b = opt_input(inputs, 3)?;
        let mask = opt_input(inputs, 4)?;
        let (xs, ws, os) = (x.shape(), w.shape(), off.shape());
        if xs.len() < 3 || ws.len() != xs.len() || os.len() != xs.len() {
            return Err(Error::ShapeMismatch(format!(
                "DeformConv expects X [N, C, D...], W [oC, C/group, k...] and offset [N, *, O...] of equal rank >= 3; got {xs:?}, {ws:?}, {os:?}"
            )));
        }
        let nd = xs.len() - 2;
        let (n, c, oc) = (xs[0], xs[1], ws[0]);
        let ksp: Vec<usize> = match &kshape {
            Some(k) => k.iter().map(|&v| v as usize).collect(),
            None => ws[2..].to_vec(),
        };
        let dil: Vec<i64> = dil.clone().unwrap_or_else(|| vec![1; nd]);
        let strides: Vec<i64> = strides.clone().unwrap_or_else(|| vec![1; nd]);
        let pads: Vec<i64> = pads.clone().unwrap_or_else(|| vec![0; 2 * nd]);
        if ksp.len() != nd || ksp != ws[2..] || dil.len() != nd || strides.len() != nd || pads.len() != 2 * nd {
            return Err(Error::InvalidArgument(format!(
                "DeformConv with {nd} spatial dims: kernel_shape {ksp:?} must match W {ws:?}, with {nd} dilations/strides and {} pads; got {dil:?}, {strides:?}, {pads:?}",
                2 * nd
            )));
        }
        let ksize: usize = ksp.iter().product();
        if c != ws[1] * group || oc % group != 0 || c % offset_group != 0 {
            return Err(Error::ShapeMismatch(format!(
                "DeformConv: X has {c} channels, W {ws:?}, group {group}, offset_group {offset_group}: channels must be W[1] * group, divisible by offset_group, and oC by group"
            )));
        }
        let osp: Vec<usize> = os[2..].to_vec();
        for i in 0..nd {
            let span = dil[i] * (ksp[i] as i64 - 1) + 1;
            let want = (xs[i + 2] as i64 + pads[i] + pads[i + nd] - span).div_euclid(strides[i]) + 1;
            if want != osp[i] as i64 {
                return Err(Error::ShapeMismatch(format!(
                    "DeformConv offset spatial shape {osp:?} does not match the convolution output (dim {i} should be {want})"
                )));
            }
        }
        if os[0] != n || os[1] != offset_group * ksize * nd {
            return Err(Error::ShapeMismatch(format!(
                "DeformConv offset must be [{n}, {}, ...]; got {os:?}",
                offset_group * ksize * nd
            )));
        }
        let mut mshape = vec![n, offset_group * ksize];
        mshape.extend_from_slice(&osp);
        if let Some(m) = mask {
            if m.shape() != mshape.as_slice() {
                return Err(Error::ShapeMismatch(format!("DeformConv mask must be {mshape:?}; got {:?}", m.shape())));
            }
        }
        if let Some(b) = b {
            if b.shape() != [oc] {
                return Err(Error::ShapeMismatch(format!("DeformConv B must be [{oc}]; got {:?}", b.shape())));
            }
        }
        let xv = x.to_f64_vec()?;
        let wv = w.to_f64_vec()?;
        let ov = off.to_f64_vec()?;
        let mv = mask.map(|m| m.to_f64_vec()).transpose()?;
        let bv = b.map(|b| b.to_f64_vec()).transpose()?;
        let geo = Geo { dims: xs[2..].to_vec(), ksp, osp: osp.clone(), dil, strides, pads };
        let y = deform_conv(&xv, &wv, &ov, mv.as_deref(), bv.as_deref(), n, c, oc, group, offset_group, &geo);
        let mut yshape = vec![n, oc];
        yshape.extend_from_slice(&osp);
        output(from_f64(yshape, y, x.dtype())?)
    })
}

struct Geo {
    dims: Vec<usize>,
    ksp: Vec<usize>,
    osp: Vec<usize>,
    dil: Vec<i64>,
    strides: Vec<i64>,
    pads: Vec<i64>,
}

/// Bilinear (N-linear) sample of `plane` at `pos`, zero outside.
fn sample(plane: &[f64], dims: &[usize], pos: &[f64]) -> f64 {
    let nd = dims.len();
    let mut acc = 0.0;
    'corner: for corner in 0..(1usize << nd) {
        let mut off = 0usize;
        let mut wgt = 1.0;
        for d in 0..nd {
            let f = pos[d].floor();
            let t = pos[d] - f;
            let hi = (corner >> (nd - 1 - d)) & 1 == 1;
            let idx = if hi { f + 1.0 } else { f };
            if !(idx >= 0.0 && idx < dims[d] as f64) {
                continue 'corner;
            }
            off = off * dims[d] + idx as usize;
            wgt *= if hi { t } else { 1.0 - t };
        }
        acc += wgt * plane[off];
    }
    acc
}

#[allow(clippy::too_many_arguments)]
fn deform_conv(
    x: &[f64],
    w: &[f64],
    off: &[f64],
    mask: Option<&[f64]>,
    bias: Option<&[f64]>,
    n: usize,
    c: usize,
    oc: usize,
    group: usize,
    offset_group: usize,
    g: &Geo,
) -> Vec<f64> {
    let nd = g.dims.len();
    let in_sz: usize = g.dims.iter().product();
    let out_sz: usize = g.osp.iter().product();
    let ksize: usize = g.ksp.iter().product();
    let cpg = c / group;
    let ocpg = oc / group;
    let cpog = c / offset_group;
    let mut y = vec![0.0f64; n * oc * out_sz];
    if y.is_empty() {
        return y;
    }
    y.par_chunks_mut(oc * out_sz).enumerate().for_each(|(b, yb)| {
        // Deformable columns: [C, ksize, out_sz].
        let mut cols = vec![0.0f64; c * ksize * out_sz];
        let mut pos = vec![0.0f64; nd];
        for og in 0..offset_group {
            for k in 0..ksize {
                for o in 0..out_sz {
                    let (mut kr, mut or) = (k, o);
                    for d in (0..nd).rev() {
                        let kd = kr % g.ksp[d];
                        kr /= g.ksp[d];
                        let od = or % g.osp[d];
                        or /= g.osp[d];
                        let ch = ((b * offset_group + og) * ksize + k) * nd + d;
                        pos[d] =
                            (od as i64 * g.strides[d] - g.pads[d] + kd as i64 * g.dil[d]) as f64 + off[ch * out_sz + o];
                    }
                    let m = mask.map_or(1.0, |m| m[((b * offset_group + og) * ksize + k) * out_sz + o]);
                    for ci in og * cpog..(og + 1) * cpog {
                        let plane = &x[(b * c + ci) * in_sz..(b * c + ci + 1) * in_sz];
                        cols[(ci * ksize + k) * out_sz + o] = m * sample(plane, &g.dims, &pos);
                    }
                }
            }
        }
        for co in 0..oc {
            let gi = co / ocpg;
            let yo = &mut yb[co * out_sz..(co + 1) * out_sz];
            let bv = bias.map_or(0.0, |bb| bb[co]);
            yo.iter_mut().for_each(|v| *v = bv);
            for cl in 0..cpg {
                let ci = gi * cpg + cl;
                for k in 0..ksize {
                    let wv = w[(co * cpg + cl) * ksize + k];
                    let col = &cols[(ci * ksize + k) * out_sz..(ci * ksize + k + 1) * out_sz];
                    for (yv, cv) in yo.iter_mut().zip(col) {
                        *yv += wv * cv;
                    }
                }
            }
        }
    });
    y
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_close, run_node};
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn x() -> Tensor {
        Tensor::from_vec(vec![1, 1, 3, 3], (0..9).map(|v| v as f32).collect()).unwrap()
    }
    fn w() -> Tensor {
        Tensor::from_vec(vec![1, 1, 2, 2], vec![1.0f32, 1.0, 1.0, 1.0]).unwrap()
    }
    fn offsets() -> Tensor {
        let v: Vec<f32> = (0..32).map(|i| ((i * 7) % 11) as f32 * 0.1 - 0.5).collect();
        Tensor::from_vec(vec![1, 8, 2, 2], v).unwrap()
    }

    // Expected values from onnx.reference (DeformConv, onnx 1.23.2).
    #[test]
    fn zero_offsets_is_conv() {
        let n = Node::new("DeformConv", &["x", "w", "o"], &["y"], 19)
            .with_attr("kernel_shape", Attribute::Ints(vec![2, 2]));
        let o = Tensor::from_vec(vec![1, 8, 2, 2], vec![0.0f32; 32]).unwrap();
        let y = run_node(&n, vec![x(), w(), o]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[8.0, 12.0, 20.0, 24.0]);
    }

    #[test]
    fn offsets_mask_bias_pads() {
        let n = Node::new("DeformConv", &["x", "w", "o", "b", "m"], &["y"], 19);
        let m = Tensor::from_vec(vec![1, 4, 2, 2], (0..16).map(|v| v as f32 / 16.0).collect()).unwrap();
        let b = Tensor::from_vec(vec![1], vec![0.5f32]).unwrap();
        let y = run_node(&n, vec![x(), w(), offsets(), b, m]).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &Y_MB);
        let n = Node::new("DeformConv", &["x", "w", "o"], &["y"], 19)
            .with_attr("pads", Attribute::Ints(vec![1, 1, 1, 1]))
            .with_attr("strides", Attribute::Ints(vec![2, 2]));
        let y = run_node(&n, vec![x(), w(), offsets()]).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &Y_PS);
    }

    #[test]
    fn bad_shapes() {
        let n = Node::new("DeformConv", &["x", "w", "o"], &["y"], 19);
        let o = Tensor::from_vec(vec![1, 4, 2, 2], vec![0.0f32; 16]).unwrap();
        assert!(run_node(&n, vec![x(), w(), o]).is_err());
        let n = n.with_attr("group", Attribute::Int(2));
        assert!(run_node(&n, vec![x(), w(), offsets()]).is_err());
    }

    const Y_MB: [f32; 4] = [4.73, 9.575, 9.4975, 11.69375];
    const Y_PS: [f32; 4] = [0.32, 6.28, 7.4, 19.62];
}
