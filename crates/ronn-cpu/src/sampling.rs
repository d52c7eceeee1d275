//! GridSample and AffineGrid: sampling an N-D image at normalized coordinates.
//!
//! - GridSample (opsets 16, 20, 22): modes `bilinear`/`nearest`/`bicubic` (opset 16
//!   names) and `linear`/`nearest`/`cubic` (opset 20 names; both spellings are
//!   accepted at every opset), `padding_mode` zeros/border/reflection,
//!   `align_corners`; 2-D (opset 16) and N-D (opset 20: volumetric and beyond).
//!   Semantics follow onnx's reference implementation (PyTorch's grid_sampler):
//!   nearest rounds half to even; bicubic uses Keys' kernel with alpha -0.75.
//! - AffineGrid (opset 20): 2-D `theta [N,2,3]` with `size [N,C,H,W]` and 3-D
//!   `theta [N,3,4]` with `size [N,C,D,H,W]`, `align_corners`.
//!
//! Computation runs in f64 and is cast back to the input's element type.
//! Spec: <https://onnx.ai/onnx/operators/onnx__GridSample.html>,
//! <https://onnx.ai/onnx/operators/onnx__AffineGrid.html>.

use crate::helpers::{input, ints_of, kernel, output};
use rayon::prelude::*;
use ronn_core::{DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers GridSample and AffineGrid.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "GridSample", 16, i64::MAX, build_grid_sample);
    r.register("", "AffineGrid", 20, i64::MAX, build_affine_grid);
}

/// Builds a tensor of `dt` from f64 values.
pub(crate) fn from_f64(shape: Vec<usize>, v: Vec<f64>, dt: DType) -> Result<Tensor> {
    let t = Tensor::from_vec(shape, v)?;
    if dt == DType::Float64 {
        Ok(t)
    } else {
        t.cast(dt)
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Padding {
    Zeros,
    Border,
    Reflection,
}

fn build_grid_sample(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let default_mode = if node.opset >= 20 { "linear" } else { "bilinear" };
    let mode = match node.attr_s_or("mode", default_mode)?.as_str() {
        "bilinear" | "linear" => Mode::Linear,
        "nearest" => Mode::Nearest,
        "bicubic" | "cubic" => Mode::Cubic,
        m => return Err(node.unsupported(format!("mode '{m}' (expected linear, nearest or cubic)"))),
    };
    let padding = match node.attr_s_or("padding_mode", "zeros")?.as_str() {
        "zeros" => Padding::Zeros,
        "border" => Padding::Border,
        "reflection" => Padding::Reflection,
        m => return Err(node.unsupported(format!("padding_mode '{m}' (expected zeros, border or reflection)"))),
    };
    let align = match node.attr_i_or("align_corners", 0)? {
        0 => false,
        1 => true,
        v => return Err(node.unsupported(format!("align_corners {v} (expected 0 or 1)"))),
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let grid = input(inputs, 1)?;
        if !grid.dtype().is_float() {
            return Err(Error::TypeMismatch(format!("GridSample grid must be a float tensor, got {}", grid.dtype())));
        }
        let (y_shape, y) =
            grid_sample(&x.to_f64_vec()?, x.shape(), &grid.to_f64_vec()?, grid.shape(), mode, padding, align)?;
        output(from_f64(y_shape, y, x.dtype())?)
    })
}

fn denormalize(n: f64, len: usize, align: bool) -> f64 {
    if align {
        (n + 1.0) / 2.0 * (len as f64 - 1.0)
    } else {
        ((n + 1.0) * len as f64 - 1.0) / 2.0
    }
}

/// Reflects `x` by the nearer border until it lies in `[lo, hi]`.
fn reflect(x: f64, lo: f64, hi: f64) -> f64 {
    let rng = hi - lo;
    if rng <= 0.0 {
        return lo;
    }
    if x < lo {
        let dx = lo - x;
        let n = (dx / rng).trunc();
        let r = dx - n * rng;
        if n % 2.0 == 0.0 {
            lo + r
        } else {
            hi - r
        }
    } else if x > hi {
        let dx = x - hi;
        let n = (dx / rng).trunc();
        let r = dx - n * rng;
        if n % 2.0 == 0.0 {
            hi - r
        } else {
            lo + r
        }
    } else {
        x
    }
}

fn cubic_coeffs(x: f64) -> [f64; 4] {
    let a = -0.75;
    let x = x.abs();
    [
        ((a * (x + 1.0) - 5.0 * a) * (x + 1.0) + 8.0 * a) * (x + 1.0) - 4.0 * a,
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0,
        ((a + 2.0) * (1.0 - x) - (a + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0,
        ((a * (2.0 - x) - 5.0 * a) * (2.0 - x) + 8.0 * a) * (2.0 - x) - 4.0 * a,
    ]
}

/// GridSample on f64 data: returns the output shape and values.
fn grid_sample(
    x: &[f64],
    xs: &[usize],
    grid: &[f64],
    gs: &[usize],
    mode: Mode,
    padding: Padding,
    align: bool,
) -> Result<(Vec<usize>, Vec<f64>)> {
    let r = xs.len();
    if r < 3 || gs.len() != r || gs[0] != xs[0] || gs[r - 1] != r - 2 {
        return Err(Error::ShapeMismatch(format!(
            "GridSample expects X [N, C, D1..Dk] and grid [N, O1..Ok, k] (k >= 1); got X {xs:?} and grid {gs:?}"
        )));
    }
    let (n, c) = (xs[0], xs[1]);
    let dims = &xs[2..];
    let nd = dims.len();
    let out_sp = &gs[1..r - 1];
    let out_count: usize = out_sp.iter().product();
    let mut y_shape = vec![n, c];
    y_shape.extend_from_slice(out_sp);
    let in_count: usize = dims.iter().product();
    let mut y = vec![0.0f64; n * c * out_count];
    if y.is_empty() {
        return Ok((y_shape, y));
    }
    // Strides of the spatial dims of X.
    let mut strides = vec![1usize; nd];
    for i in (0..nd.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    let lo: Vec<f64> = dims.iter().map(|_| if align { 0.0 } else { -0.5 }).collect();
    let hi: Vec<f64> = dims.iter().map(|&d| if align { d as f64 - 1.0 } else { d as f64 - 0.5 }).collect();
    // Maps an integer index along dim `i` to a valid index, or None (zero padding).
    let fetch_index = |i: usize, idx: i64| -> Option<usize> {
        let d = dims[i] as i64;
        match padding {
            Padding::Zeros => (idx >= 0 && idx < d).then_some(idx as usize),
            Padding::Border => Some(idx.clamp(0, d - 1) as usize),
            Padding::Reflection => {
                let v = reflect(idx as f64, lo[i], hi[i]) as i64;
                Some(v.clamp(0, d - 1) as usize)
            }
        }
    };
    let taps = match mode {
        Mode::Nearest => 1usize,
        Mode::Linear => 2,
        Mode::Cubic => 4,
    };
    let combos = taps.pow(nd as u32);
    // One output point: the (offset, weight) pairs of the samples it combines.
    let point_taps = |grid_pt: &[f64], buf: &mut Vec<(usize, f64)>| {
        buf.clear();
        // Per dim: indices and weights.
        let mut per_dim: Vec<([Option<usize>; 4], [f64; 4])> = Vec::with_capacity(nd);
        for i in 0..nd {
            let g = grid_pt[nd - 1 - i];
            let mut v = denormalize(g, dims[i], align);
            if mode == Mode::Nearest {
                v = v.round_ties_even();
            }
            if v < lo[i] || v > hi[i] {
                match padding {
                    Padding::Border => v = v.clamp(0.0, dims[i] as f64 - 1.0),
                    Padding::Reflection => v = reflect(v, lo[i], hi[i]),
                    Padding::Zeros => {}
                }
            }
            let mut idx = [None; 4];
            let mut w = [0.0; 4];
            if !v.is_finite() {
                per_dim.push((idx, w));
                continue;
            }
            match mode {
                Mode::Nearest => {
                    idx[0] = fetch_index(i, v.trunc() as i64);
                    w[0] = 1.0;
                }
                Mode::Linear => {
                    let f = v.floor();
                    let t = v - f;
                    idx[0] = fetch_index(i, f as i64);
                    idx[1] = fetch_index(i, f as i64 + 1);
                    w = [1.0 - t, t, 0.0, 0.0];
                }
                Mode::Cubic => {
                    let f = v.floor();
                    let t = v - f;
                    for (k, slot) in idx.iter_mut().enumerate() {
                        *slot = fetch_index(i, f as i64 - 1 + k as i64);
                    }
                    w = cubic_coeffs(t);
                }
            }
            per_dim.push((idx, w));
        }
        'combo: for combo in 0..combos {
            let mut rem = combo;
            let mut off = 0usize;
            let mut weight = 1.0;
            for i in (0..nd).rev() {
                let k = rem % taps;
                rem /= taps;
                let (idx, w) = &per_dim[i];
                match idx[k] {
                    Some(p) => {
                        off += p * strides[i];
                        weight *= w[k];
                    }
                    None => continue 'combo,
                }
            }
            buf.push((off, weight));
        }
    };
    y.par_chunks_mut(c * out_count).enumerate().for_each(|(b, yb)| {
        let mut buf = Vec::with_capacity(combos);
        let xb = &x[b * c * in_count..(b + 1) * c * in_count];
        for o in 0..out_count {
            let gp = &grid[(b * out_count + o) * nd..(b * out_count + o + 1) * nd];
            point_taps(gp, &mut buf);
            for ch in 0..c {
                let xc = &xb[ch * in_count..(ch + 1) * in_count];
                yb[ch * out_count + o] = buf.iter().map(|&(off, w)| w * xc[off]).sum();
            }
        }
    });
    Ok((y_shape, y))
}

fn build_affine_grid(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let align = match node.attr_i_or("align_corners", 0)? {
        0 => false,
        1 => true,
        v => return Err(node.unsupported(format!("align_corners {v} (expected 0 or 1)"))),
    };
    kernel(move |_, inputs| {
        let theta = input(inputs, 0)?;
        let size = ints_of(input(inputs, 1)?)?;
        if !theta.dtype().is_float() {
            return Err(Error::TypeMismatch(format!("AffineGrid theta must be a float tensor, got {}", theta.dtype())));
        }
        let ts = theta.shape();
        let nd = size.len().saturating_sub(2);
        if !(nd == 2 || nd == 3) || size.iter().any(|&s| s < 0) {
            return Err(Error::InvalidArgument(format!(
                "AffineGrid size must be [N, C, H, W] or [N, C, D, H, W] with non-negative values; got {size:?}"
            )));
        }
        let n = size[0] as usize;
        if ts != [n, nd, nd + 1] {
            return Err(Error::ShapeMismatch(format!(
                "AffineGrid theta must be [{n}, {nd}, {}] for size {size:?}; got {ts:?}",
                nd + 1
            )));
        }
        let th = theta.to_f64_vec()?;
        let sp: Vec<usize> = size[2..].iter().map(|&s| s as usize).collect();
        let count: usize = sp.iter().product();
        let base = |i: usize, len: usize| -> f64 {
            if align {
                if len <= 1 {
                    -1.0
                } else {
                    -1.0 + 2.0 * i as f64 / (len as f64 - 1.0)
                }
            } else {
                -1.0 + (2.0 * i as f64 + 1.0) / len as f64
            }
        };
        let mut out = vec![0.0f64; n * count * nd];
        for b in 0..n {
            let t = &th[b * nd * (nd + 1)..(b + 1) * nd * (nd + 1)];
            for p in 0..count {
                // Homogeneous point (x, y[, z], 1): x is the last spatial dim.
                let mut rem = p;
                let mut pt = [0.0f64; 4];
                for d in (0..nd).rev() {
                    let i = rem % sp[d];
                    rem /= sp[d];
                    pt[nd - 1 - d] = base(i, sp[d]);
                }
                pt[nd] = 1.0;
                let o = &mut out[(b * count + p) * nd..(b * count + p + 1) * nd];
                for (r, slot) in o.iter_mut().enumerate() {
                    *slot = (0..=nd).map(|k| t[r * (nd + 1) + k] * pt[k]).sum();
                }
            }
        }
        let mut shape = vec![n];
        shape.extend_from_slice(&sp);
        shape.push(nd);
        output(from_f64(shape, out, theta.dtype())?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_close, run_node};
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn gs(mode: &str, pad: &str, align: i64, opset: i64) -> Node {
        Node::new("GridSample", &["x", "g"], &["y"], opset)
            .with_attr("mode", Attribute::String(mode.as_bytes().to_vec()))
            .with_attr("padding_mode", Attribute::String(pad.as_bytes().to_vec()))
            .with_attr("align_corners", Attribute::Int(align))
    }

    fn x32() -> Tensor {
        Tensor::from_vec(vec![1, 1, 3, 2], vec![0.0f32, 1., 2., 3., 4., 5.]).unwrap()
    }
    fn grid() -> Tensor {
        Tensor::from_vec(
            vec![1, 2, 4, 2],
            vec![-1.0f32, -1.0, -0.5, -0.5, -0.2, 0.0, 0.0, 0.0, 0.0, 0.0, -0.1, -0.2, 0.5, 0.5, 1.0, 1.0],
        )
        .unwrap()
    }

    fn run(n: &Node) -> Vec<f32> {
        run_node(n, vec![x32(), grid()]).unwrap()[0].as_slice::<f32>().unwrap().to_vec()
    }

    // Expected values from onnx.reference (GridSample, onnx 1.23.2).
    #[test]
    fn bilinear_zeros() {
        assert_close(&run(&gs("bilinear", "zeros", 0, 16)), &[0.0, 0.5, 2.3, 2.5, 2.5, 1.8, 4.5, 1.25]);
        assert_close(&run(&gs("linear", "zeros", 1, 20)), &[0.0, 1.25, 2.4, 2.5, 2.5, 2.05, 3.75, 5.0]);
    }

    #[test]
    fn nearest_and_padding() {
        assert_close(&run(&gs("nearest", "zeros", 0, 20)), &[0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 5.0, 0.0]);
        assert_close(&run(&gs("linear", "border", 0, 20)), &[0.0, 0.5, 2.3, 2.5, 2.5, 1.8, 4.5, 5.0]);
        assert_close(&run(&gs("linear", "reflection", 0, 20)), &[0.0, 0.5, 2.3, 2.5, 2.5, 1.8, 4.5, 5.0]);
    }

    #[test]
    fn bicubic() {
        assert_close(
            &run(&gs("cubic", "zeros", 0, 20)),
            &[-0.140625, 0.3828125, 2.64125, 2.96875, 2.96875, 1.9231062, 5.1445312, 1.390625],
        );
    }

    #[test]
    fn f64_volumetric_nearest() {
        let x = Tensor::from_vec(vec![1, 1, 2, 2, 2], (0..8).map(|v| v as f64).collect()).unwrap();
        let g = Tensor::from_vec(vec![1, 1, 1, 2, 3], vec![1.0f64, 1.0, 1.0, -1.0, -1.0, -1.0]).unwrap();
        let y = run_node(&gs("nearest", "border", 1, 20), vec![x, g]).unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 1, 1, 2]);
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[7.0, 0.0]);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let g = Tensor::from_vec(vec![1, 2, 4, 3], vec![0.0f32; 24]).unwrap();
        assert!(run_node(&gs("linear", "zeros", 0, 20), vec![x32(), g]).is_err());
        assert!(run_node(&gs("area", "zeros", 0, 20), vec![x32(), grid()]).is_err());
        assert!(run_node(&gs("linear", "wrap", 0, 20), vec![x32(), grid()]).is_err());
    }

    #[test]
    fn affine_grid_2d() {
        let theta = Tensor::from_vec(vec![1, 2, 3], vec![1.0f32, 0.0, 0.0, 0.0, 1.0, 0.5]).unwrap();
        let size = Tensor::from_vec(vec![4], vec![1i64, 1, 2, 2]).unwrap();
        let n = Node::new("AffineGrid", &["t", "s"], &["y"], 20);
        let y = run_node(&n, vec![theta.clone(), size.clone()]).unwrap();
        assert_eq!(y[0].shape(), &[1, 2, 2, 2]);
        assert_close(y[0].as_slice::<f32>().unwrap(), &[-0.5, 0.0, 0.5, 0.0, -0.5, 1.0, 0.5, 1.0]);
        let n = n.with_attr("align_corners", Attribute::Int(1));
        let y = run_node(&n, vec![theta, size]).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[-1.0, -0.5, 1.0, -0.5, -1.0, 1.5, 1.0, 1.5]);
    }

    #[test]
    fn affine_grid_3d_and_errors() {
        let mut t = vec![0.0f64; 12];
        t[0] = 1.0;
        t[5] = 1.0;
        t[10] = 1.0;
        let theta = Tensor::from_vec(vec![1, 3, 4], t).unwrap();
        let size = Tensor::from_vec(vec![5], vec![1i64, 1, 1, 1, 2]).unwrap();
        let n = Node::new("AffineGrid", &["t", "s"], &["y"], 20);
        let y = run_node(&n, vec![theta.clone(), size]).unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 1, 2, 3]);
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[-0.5, 0.0, 0.0, 0.5, 0.0, 0.0]);
        let bad = Tensor::from_vec(vec![4], vec![1i64, 1, 2, 2]).unwrap();
        assert!(run_node(&n, vec![theta, bad]).is_err());
    }
}
