//! Pad (<https://onnx.ai/onnx/operators/onnx__Pad.html>): modes constant, reflect,
//! edge and wrap (19); negative pads crop.
//!
//! Opset changes handled: `paddings` attribute (1), `pads`/`value` attributes (2-10),
//! `pads`/`constant_value` inputs (11), `axes` input (18).

use crate::helpers::{input, kernel, opt_input, output};
use crate::shape::util::{axis, dispatch_any, ints, mk, sl, Item};
use ronn_core::{bail, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Pad", pad);
    r.register_all("CenterCropPad", center_crop_pad);
}

fn center_crop_pad(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let axes = ctx.node.attr_ints("axes")?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let target = ints(input(inp, 1)?)?;
        let r = x.rank();
        let axes: Vec<usize> = match &axes {
            Some(a) => a.iter().map(|&v| axis(v, r)).collect::<Result<_>>()?,
            None => (0..r).collect(),
        };
        if target.len() != axes.len() {
            bail!(ShapeMismatch, "CenterCropPad shape {target:?} must have one entry per axis {axes:?}");
        }
        let mut begin = vec![0i64; r];
        let mut end = vec![0i64; r];
        for (&ax, &t) in axes.iter().zip(&target) {
            if t < 0 {
                bail!(InvalidArgument, "CenterCropPad shape {target:?} has a negative dim");
            }
            let d = x.shape()[ax] as i64;
            let b = if t < d { -((d - t) / 2) } else { (t - d) / 2 };
            begin[ax] = b;
            end[ax] = t - d - b;
        }
        output(pad_tensor(x, &begin, &end, Mode::Constant, None, 0.0)?)
    })
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

fn pad(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let mode = match node.attr_s_or("mode", "constant")?.as_str() {
        "constant" => Mode::Constant,
        "reflect" => Mode::Reflect,
        "edge" => Mode::Edge,
        "wrap" => Mode::Wrap,
        m => return Err(node.unsupported(format!("Pad mode '{m}'"))),
    };
    let attr_pads = if node.opset < 11 {
        let p = node.attr_ints("pads")?.or(node.attr_ints("paddings")?);
        Some(p.ok_or_else(|| node.unsupported("Pad needs the 'pads' attribute"))?)
    } else {
        None
    };
    let attr_value = node.attr_f_or("value", 0.0)? as f64;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let r = x.rank();
        let (pads, value, axes) = match &attr_pads {
            Some(p) => (p.clone(), None, None),
            None => {
                let p = ints(input(inp, 1)?)?;
                let v = opt_input(inp, 2)?;
                let a = opt_input(inp, 3)?.map(ints).transpose()?;
                (p, v, a)
            }
        };
        // Full per-dim begin/end pads.
        let mut begin = vec![0i64; r];
        let mut end = vec![0i64; r];
        match axes {
            Some(a) => {
                if pads.len() != 2 * a.len() {
                    bail!(InvalidArgument, "Pad pads {pads:?} must have 2 entries per axis in {a:?}");
                }
                for (i, &ax) in a.iter().enumerate() {
                    let ax = axis(ax, r)?;
                    begin[ax] = pads[i];
                    end[ax] = pads[i + a.len()];
                }
            }
            None => {
                if pads.len() != 2 * r {
                    bail!(InvalidArgument, "Pad pads {pads:?} must have 2 entries per dim of {:?}", x.shape());
                }
                begin.copy_from_slice(&pads[..r]);
                end.copy_from_slice(&pads[r..]);
            }
        }
        output(pad_tensor(x, &begin, &end, mode, value, attr_value)?)
    })
}

/// Per-dim maps from output index to source index (`None` = constant).
fn dim_map(n: usize, b: i64, e: i64, mode: Mode) -> Result<Vec<Option<usize>>> {
    let out = n as i64 + b + e;
    if out < 0 {
        bail!(InvalidArgument, "Pad crops more than dim {n} holds");
    }
    let ni = n as i64;
    if ni == 0 && out > 0 && mode != Mode::Constant {
        bail!(InvalidArgument, "Pad mode {mode:?} cannot pad an empty dim");
    }
    Ok((0..out)
        .map(|o| {
            let s = o - b;
            if (0..ni).contains(&s) {
                return Some(s as usize);
            }
            match mode {
                Mode::Constant => None,
                Mode::Edge => Some(s.clamp(0, ni - 1) as usize),
                Mode::Wrap => Some(s.rem_euclid(ni) as usize),
                Mode::Reflect => {
                    if ni == 1 {
                        return Some(0);
                    }
                    let p = 2 * (ni - 1);
                    let m = s.rem_euclid(p);
                    Some(if m < ni { m } else { p - m } as usize)
                }
            }
        })
        .collect())
}

fn pad_tensor(
    x: &Tensor,
    begin: &[i64],
    end: &[i64],
    mode: Mode,
    value: Option<&Tensor>,
    attr_value: f64,
) -> Result<Tensor> {
    let shape = x.shape();
    let r = shape.len();
    let maps: Vec<Vec<Option<usize>>> =
        (0..r).map(|d| dim_map(shape[d], begin[d], end[d], mode)).collect::<Result<_>>()?;
    let out_shape: Vec<usize> = maps.iter().map(|m| m.len()).collect();
    dispatch_any!(x.dtype(), T => {
        let cv: T = match value {
            Some(v) if v.len() > 0 => {
                if v.dtype() != x.dtype() {
                    bail!(TypeMismatch, "Pad constant_value ({}) must have the input's type ({})", v.dtype(), x.dtype());
                }
                sl::<T>(v)?[0].clone()
            }
            _ => from_f64::<T>(attr_value),
        };
        let v = pad_impl::<T>(sl::<T>(x)?, shape, &maps, cv);
        mk::<T>(out_shape.clone(), v)
    })
}

fn from_f64<T: Item>(v: f64) -> T {
    let t = Tensor::scalar(v);
    t.cast(T::DT).ok().and_then(|c| T::slice(c.data()).and_then(|s| s.first().cloned())).unwrap_or_default()
}

fn pad_impl<T: Item>(src: &[T], shape: &[usize], maps: &[Vec<Option<usize>>], cv: T) -> Vec<T> {
    let r = shape.len();
    let total: usize = maps.iter().map(|m| m.len()).product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    if r == 0 {
        out.push(src[0].clone());
        return out;
    }
    let st = ronn_core::strides_of(shape);
    let last = &maps[r - 1];
    // contiguous interior of the last dim
    let lo = last.iter().position(|m| *m == Some(0)).unwrap_or(last.len());
    let run = shape[r - 1];
    let interior = lo + run <= last.len() && (0..run).all(|i| last[lo + i] == Some(i));
    let rows = total / last.len();
    let odims: Vec<usize> = maps[..r - 1].iter().map(|m| m.len()).collect();
    let mut idx = vec![0usize; r - 1];
    for _ in 0..rows {
        let mut base = Some(0usize);
        for d in 0..r - 1 {
            base = match (base, maps[d][idx[d]]) {
                (Some(b), Some(s)) => Some(b + s * st[d]),
                _ => None,
            };
        }
        match base {
            None => out.extend(std::iter::repeat_n(cv.clone(), last.len())),
            Some(b) if interior => {
                for m in &last[..lo] {
                    out.push(m.map_or_else(|| cv.clone(), |s| src[b + s].clone()));
                }
                out.extend_from_slice(&src[b..b + run]);
                for m in &last[lo + run..] {
                    out.push(m.map_or_else(|| cv.clone(), |s| src[b + s].clone()));
                }
            }
            Some(b) => {
                for m in last {
                    out.push(m.map_or_else(|| cv.clone(), |s| src[b + s].clone()));
                }
            }
        }
        for d in (0..r - 1).rev() {
            idx[d] += 1;
            if idx[d] < odims[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn iota(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        Tensor::from_vec(shape.to_vec(), (0..n).map(|i| i as f32).collect()).unwrap()
    }
    fn i64s(v: &[i64]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }
    fn node(mode: &str) -> Node {
        Node::new("Pad", &["x", "p", "v"], &["y"], 19).with_attr("mode", Attribute::String(mode.as_bytes().to_vec()))
    }

    #[test]
    fn modes_match_numpy() {
        let x = iota(&[3]);
        let cases = [
            ("constant", vec![9f32, 9., 0., 1., 2., 9.]),
            ("reflect", vec![2., 1., 0., 1., 2., 1.]),
            ("edge", vec![0., 0., 0., 1., 2., 2.]),
            ("wrap", vec![1., 2., 0., 1., 2., 0.]),
        ];
        for (m, want) in cases {
            let y = &run_node(&node(m), vec![x.clone(), i64s(&[2, 1]), Tensor::scalar(9f32)]).unwrap()[0];
            assert_eq!(y.as_slice::<f32>().unwrap(), &want[..], "{m}");
        }
    }

    #[test]
    fn two_d_axes_and_crop() {
        let n = Node::new("Pad", &["x", "p", "v", "a"], &["y"], 18);
        let y = &run_node(&n, vec![iota(&[2, 2]), i64s(&[1, 0]), Tensor::scalar(5f32), i64s(&[-2])]).unwrap()[0];
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[5., 5., 0., 1., 2., 3.]);
        let n = Node::new("Pad", &["x", "p"], &["y"], 13);
        let y = &run_node(&n, vec![iota(&[2, 3]), i64s(&[0, -1, 1, 0])]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 2., 4., 5., 0., 0.]);
        assert!(run_node(&n, vec![iota(&[2, 3]), i64s(&[0, 1])]).is_err());
        let old = Node::new("Pad", &["x"], &["y"], 2)
            .with_attr("pads", Attribute::Ints(vec![1, 0]))
            .with_attr("value", Attribute::Float(7.0));
        assert_eq!(run_node(&old, vec![iota(&[1])]).unwrap()[0].as_slice::<f32>().unwrap(), &[7., 0.]);
    }

    #[test]
    fn center_crop_pad() {
        let n = Node::new("CenterCropPad", &["x", "s"], &["y"], 18);
        // crop 5 -> 2 starts at 1; pad 2 -> 5 puts 1 zero in front
        let y = &run_node(&n, vec![iota(&[5, 2]), i64s(&[2, 5])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 5]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 2., 3., 0., 0., 0., 4., 5., 0., 0.]);
        assert!(run_node(&n, vec![iota(&[5, 2]), i64s(&[2])]).is_err());
    }
}
