//! NonMaxSuppression (opsets 10/11): greedy per (batch, class) selection of boxes
//! by descending score, dropping boxes whose IoU with a kept one exceeds
//! `iou_threshold`, keeping scores above `score_threshold`, at most
//! `max_output_boxes_per_class` each. Boxes are corners (`center_point_box` 0, in
//! either order) or center + size (1). Output: `[n, 3]` (batch, class, box) int64.
//! Spec: <https://onnx.ai/onnx/operators/onnx__NonMaxSuppression.html>.

use crate::helpers::{input, kernel, opt_input, output};
use ronn_core::{Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers NonMaxSuppression.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "NonMaxSuppression", 10, i64::MAX, build);
}

fn scalar_f(t: Option<&Tensor>, default: f64) -> Result<f64> {
    match t {
        None => Ok(default),
        Some(t) => t.to_f64_vec()?.first().copied().ok_or_else(|| Error::ShapeMismatch("empty scalar input".into())),
    }
}

fn build(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let center = ctx.node.attr_i_or("center_point_box", 0)?;
    if center != 0 && center != 1 {
        return Err(ctx.node.unsupported(format!("center_point_box {center}")));
    }
    kernel(move |_, inputs| {
        let boxes = input(inputs, 0)?;
        let scores = input(inputs, 1)?;
        let max_out = match opt_input(inputs, 2)? {
            Some(t) => t.to_i64_vec()?.first().copied().unwrap_or(0).max(0) as usize,
            None => 0,
        };
        let iou_t = scalar_f(opt_input(inputs, 3)?, 0.0)?;
        let score_t = opt_input(inputs, 4)?.map(|t| scalar_f(Some(t), 0.0)).transpose()?;
        let (bs, ss) = (boxes.shape(), scores.shape());
        if bs.len() != 3 || bs[2] != 4 || ss.len() != 3 || ss[0] != bs[0] || ss[2] != bs[1] {
            return Err(Error::ShapeMismatch(format!(
                "boxes must be [B, N, 4] and scores [B, C, N]; got {bs:?} and {ss:?}"
            )));
        }
        let (nb, nc, n) = (ss[0], ss[1], ss[2]);
        let bv = boxes.to_f64_vec()?;
        let sv = scores.to_f64_vec()?;
        let corners = |b: usize, i: usize| -> [f64; 4] {
            let p = &bv[(b * n + i) * 4..][..4];
            if center == 1 {
                let (xc, yc, w, h) = (p[0], p[1], p[2], p[3]);
                [yc - h / 2.0, xc - w / 2.0, yc + h / 2.0, xc + w / 2.0]
            } else {
                [p[0].min(p[2]), p[1].min(p[3]), p[0].max(p[2]), p[1].max(p[3])]
            }
        };
        let iou = |a: [f64; 4], b: [f64; 4]| -> f64 {
            let ih = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
            let iw = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
            let inter = ih * iw;
            let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
            if union <= 0.0 {
                0.0
            } else {
                inter / union
            }
        };
        let mut sel: Vec<i64> = Vec::new();
        for b in 0..nb {
            for c in 0..nc {
                let sc = &sv[(b * nc + c) * n..][..n];
                let mut order: Vec<usize> = (0..n).filter(|&i| score_t.is_none_or(|t| sc[i] > t)).collect();
                order.sort_by(|&x, &y| sc[y].total_cmp(&sc[x]).then(x.cmp(&y)));
                let mut kept: Vec<usize> = Vec::new();
                for i in order {
                    if kept.len() >= max_out {
                        break;
                    }
                    if kept.iter().all(|&k| iou(corners(b, k), corners(b, i)) <= iou_t) {
                        kept.push(i);
                    }
                }
                for k in kept {
                    sel.extend_from_slice(&[b as i64, c as i64, k as i64]);
                }
            }
        }
        output(Tensor::from_vec(vec![sel.len() / 3, 3], sel)?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::Node;

    #[test]
    fn overlapping_box_is_suppressed() {
        let boxes =
            Tensor::from_vec(vec![1, 3, 4], vec![0.0f32, 0., 1., 1., 0., 0.1, 1., 1.1, 0., 10., 1., 11.]).unwrap();
        let scores = Tensor::from_vec(vec![1, 1, 3], vec![0.9f32, 0.8, 0.7]).unwrap();
        let max = Tensor::from_vec(vec![1], vec![3i64]).unwrap();
        let iou = Tensor::from_vec(vec![1], vec![0.5f32]).unwrap();
        let n = Node::new("NonMaxSuppression", &["b", "s", "m", "i"], &["y"], 11);
        let y = run_node(&n, vec![boxes, scores, max, iou]).unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[0, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let boxes = Tensor::zeros(ronn_core::DType::Float32, vec![1, 3, 3]).unwrap();
        let scores = Tensor::zeros(ronn_core::DType::Float32, vec![1, 1, 3]).unwrap();
        assert!(run_node(&Node::new("NonMaxSuppression", &["b", "s"], &["y"], 11), vec![boxes, scores]).is_err());
    }
}
