//! RoiAlign (opsets 10, 16, 22): bilinear-sampled average or max pooling of
//! regions of interest `rois [R, 4]` (x1, y1, x2, y2) over `X [N, C, H, W]`,
//! picked by `batch_indices [R]`; output `[R, C, output_height, output_width]`.
//!
//! Attributes: `mode` avg/max, `output_height`, `output_width`, `sampling_ratio`
//! (0 = adaptive), `spatial_scale`, and from opset 16
//! `coordinate_transformation_mode` half_pixel (the opset-16 default) or
//! output_half_pixel (opset 10's only behaviour). Max mode follows onnx's
//! reference and ONNX Runtime: the max of the weighted corner values.
//! Computation runs in f64 and is cast back to X's element type.
//! Spec: <https://onnx.ai/onnx/operators/onnx__RoiAlign.html>.

use crate::helpers::{input, ints_of, kernel, output};
use crate::sampling::from_f64;
use rayon::prelude::*;
use ronn_core::{Error, Result};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers RoiAlign.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "RoiAlign", 10, i64::MAX, build);
}

struct Params {
    max_mode: bool,
    half_pixel: bool,
    oh: usize,
    ow: usize,
    sampling_ratio: i64,
    scale: f64,
}

fn build(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let max_mode = match node.attr_s_or("mode", "avg")?.to_ascii_lowercase().as_str() {
        "avg" => false,
        "max" => true,
        m => return Err(node.unsupported(format!("mode '{m}' (expected avg or max)"))),
    };
    let default_ctm = if node.opset >= 16 { "half_pixel" } else { "output_half_pixel" };
    let half_pixel = match node.attr_s_or("coordinate_transformation_mode", default_ctm)?.as_str() {
        "half_pixel" => true,
        "output_half_pixel" => false,
        m => {
            return Err(node.unsupported(format!(
                "coordinate_transformation_mode '{m}' (expected half_pixel or output_half_pixel)"
            )))
        }
    };
    let oh = node.attr_i_or("output_height", 1)?;
    let ow = node.attr_i_or("output_width", 1)?;
    let sampling_ratio = node.attr_i_or("sampling_ratio", 0)?;
    if oh < 1 || ow < 1 || sampling_ratio < 0 {
        return Err(node.unsupported(format!(
            "output_height {oh}, output_width {ow}, sampling_ratio {sampling_ratio} (need >= 1, >= 1, >= 0)"
        )));
    }
    let p = Params {
        max_mode,
        half_pixel,
        oh: oh as usize,
        ow: ow as usize,
        sampling_ratio,
        scale: node.attr_f_or("spatial_scale", 1.0)? as f64,
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let rois = input(inputs, 1)?;
        let bi = ints_of(input(inputs, 2)?)?;
        let (xs, rs) = (x.shape(), rois.shape());
        if xs.len() != 4 || rs.len() != 2 || rs[1] != 4 || bi.len() != rs[0] {
            return Err(Error::ShapeMismatch(format!(
                "RoiAlign expects X [N, C, H, W], rois [R, 4], batch_indices [R]; got {xs:?}, {rs:?}, [{}]",
                bi.len()
            )));
        }
        if let Some(b) = bi.iter().find(|&&b| b < 0 || b as usize >= xs[0]) {
            return Err(Error::InvalidArgument(format!("RoiAlign batch index {b} out of range for batch {}", xs[0])));
        }
        let y = roi_align(&x.to_f64_vec()?, xs, &rois.to_f64_vec()?, &bi, &p);
        output(from_f64(vec![rs[0], xs[1], p.oh, p.ow], y, x.dtype())?)
    })
}

fn roi_align(x: &[f64], xs: &[usize], rois: &[f64], bi: &[i64], p: &Params) -> Vec<f64> {
    let (c, h, w) = (xs[1], xs[2], xs[3]);
    let (oh, ow) = (p.oh, p.ow);
    let mut y = vec![0.0f64; bi.len() * c * oh * ow];
    if y.is_empty() {
        return y;
    }
    y.par_chunks_mut(c * oh * ow).enumerate().for_each(|(n, yr)| {
        let r = &rois[n * 4..n * 4 + 4];
        let off = if p.half_pixel { 0.5 } else { 0.0 };
        let (sw, sh) = (r[0] * p.scale - off, r[1] * p.scale - off);
        let (ew, eh) = (r[2] * p.scale - off, r[3] * p.scale - off);
        let (mut rw, mut rh) = (ew - sw, eh - sh);
        if !p.half_pixel {
            rw = rw.max(1.0);
            rh = rh.max(1.0);
        }
        let (bh, bw) = (rh / oh as f64, rw / ow as f64);
        let gh =
            if p.sampling_ratio > 0 { p.sampling_ratio as usize } else { (rh / oh as f64).ceil().max(0.0) as usize };
        let gw =
            if p.sampling_ratio > 0 { p.sampling_ratio as usize } else { (rw / ow as f64).ceil().max(0.0) as usize };
        let count = (gh * gw).max(1) as f64;
        // Precomputed (positions, weights) of every sample of every bin.
        let mut pre: Vec<([usize; 4], [f64; 4])> = Vec::with_capacity(oh * ow * gh * gw);
        for ph in 0..oh {
            for pw in 0..ow {
                for iy in 0..gh {
                    let yy = sh + ph as f64 * bh + (iy as f64 + 0.5) * bh / gh as f64;
                    for ix in 0..gw {
                        let xx = sw + pw as f64 * bw + (ix as f64 + 0.5) * bw / gw as f64;
                        if yy < -1.0 || yy > h as f64 || xx < -1.0 || xx > w as f64 || h == 0 || w == 0 {
                            pre.push(([0; 4], [0.0; 4]));
                            continue;
                        }
                        let (mut yv, mut xv) = (yy.max(0.0), xx.max(0.0));
                        let (mut yl, mut xl) = (yv as usize, xv as usize);
                        let (yh, xh);
                        if yl >= h - 1 {
                            yl = h - 1;
                            yh = h - 1;
                            yv = yl as f64;
                        } else {
                            yh = yl + 1;
                        }
                        if xl >= w - 1 {
                            xl = w - 1;
                            xh = w - 1;
                            xv = xl as f64;
                        } else {
                            xh = xl + 1;
                        }
                        let (ly, lx) = (yv - yl as f64, xv - xl as f64);
                        let (hy, hx) = (1.0 - ly, 1.0 - lx);
                        pre.push((
                            [yl * w + xl, yl * w + xh, yh * w + xl, yh * w + xh],
                            [hy * hx, hy * lx, ly * hx, ly * lx],
                        ));
                    }
                }
            }
        }
        let b = bi[n] as usize;
        let per_bin = gh * gw;
        for ch in 0..c {
            let plane = &x[(b * c + ch) * h * w..(b * c + ch + 1) * h * w];
            for bin in 0..oh * ow {
                let samples = &pre[bin * per_bin..(bin + 1) * per_bin];
                let v = if p.max_mode {
                    let mut m: Option<f64> = None;
                    for (pos, wt) in samples {
                        let v = (0..4).map(|k| wt[k] * plane[pos[k]]).fold(f64::NEG_INFINITY, f64::max);
                        m = Some(m.map_or(v, |m| m.max(v)));
                    }
                    m.unwrap_or(0.0)
                } else {
                    samples.iter().map(|(pos, wt)| (0..4).map(|k| wt[k] * plane[pos[k]]).sum::<f64>()).sum::<f64>()
                        / count
                };
                yr[ch * oh * ow + bin] = v;
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

    fn node(mode: &str, ctm: &str) -> Node {
        Node::new("RoiAlign", &["x", "r", "b"], &["y"], 16)
            .with_attr("mode", Attribute::String(mode.as_bytes().to_vec()))
            .with_attr("coordinate_transformation_mode", Attribute::String(ctm.as_bytes().to_vec()))
            .with_attr("output_height", Attribute::Int(2))
            .with_attr("output_width", Attribute::Int(2))
            .with_attr("sampling_ratio", Attribute::Int(2))
    }

    fn inputs() -> Vec<Tensor> {
        vec![
            Tensor::from_vec(vec![1, 1, 4, 4], (0..16).map(|v| v as f32).collect()).unwrap(),
            Tensor::from_vec(vec![2, 4], vec![0.0f32, 0.0, 3.0, 3.0, 1.0, 0.5, 2.5, 3.5]).unwrap(),
            Tensor::from_vec(vec![2], vec![0i64, 0]).unwrap(),
        ]
    }

    // Expected values from onnx.reference (RoiAlign, onnx 1.23.2).
    #[test]
    fn avg_modes() {
        let y = run_node(&node("avg", "output_half_pixel"), inputs()).unwrap();
        assert_eq!(y[0].shape(), &[2, 1, 2, 2]);
        assert_close(y[0].as_slice::<f32>().unwrap(), &Y_AVG_OHP);
        let y = run_node(&node("avg", "half_pixel"), inputs()).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &Y_AVG_HP);
    }

    #[test]
    fn max_mode() {
        let y = run_node(&node("max", "output_half_pixel"), inputs()).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &Y_MAX);
    }

    #[test]
    fn errors() {
        let mut i = inputs();
        i[2] = Tensor::from_vec(vec![2], vec![0i64, 3]).unwrap();
        assert!(run_node(&node("avg", "half_pixel"), i).is_err());
        let mut i = inputs();
        i[1] = Tensor::from_vec(vec![2, 2], vec![0.0f32; 4]).unwrap();
        assert!(run_node(&node("avg", "half_pixel"), i).is_err());
        assert!(run_node(&node("min", "half_pixel"), inputs()).is_err());
    }

    const Y_AVG_OHP: [f32; 8] = [3.75, 5.25, 9.75, 11.25, 6.375, 7.125, 12.125, 12.875];
    const Y_AVG_HP: [f32; 8] = [1.5625, 3.0, 7.3125, 8.75, 3.875, 4.625, 9.875, 10.625];
    const Y_MAX: [f32; 8] = [3.828125, 4.59375, 7.109375, 7.65625, 4.5703125, 5.859375, 10.5625, 13.125];
}
