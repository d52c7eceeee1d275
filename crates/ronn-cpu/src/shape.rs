//! Shape operators: Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size, Identity,
//! Expand, Tile, Concat, Split, Dropout (inference), DepthToSpace, SpaceToDepth.
//!
//! See <https://onnx.ai/onnx/operators/>. Opset changes handled: Reshape `shape`
//! attribute (<5) then input, `allowzero` (14); Squeeze/Unsqueeze `axes` attribute
//! (<13) then input; Shape `start`/`end` (15); Split `split` attribute (<13) then
//! input, `num_outputs` (18); Concat default axis (<4); Dropout `ratio`/`training_mode`
//! inputs (12) and mask output; DepthToSpace `mode` (11).
//!
//! Reshape, Flatten, Squeeze, Unsqueeze and Identity never copy data: they re-wrap
//! the input's storage (a cheap clone for shared storage).

pub(crate) mod util;

use crate::helpers::{input, kernel, opt_input, output, outputs};
use rayon::prelude::*;
use ronn_core::{bail, DType, Error, Result, Tensor, Value};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use util::{axis, dispatch_any, ints, istrides, mk, numel, sl, strided_tensor, Item, PAR_MIN};

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Reshape", reshape);
    r.register_all("Flatten", flatten);
    r.register_all("Squeeze", squeeze);
    r.register_all("Unsqueeze", unsqueeze);
    r.register_all("Shape", shape_op);
    r.register_all("Size", size);
    r.register_all("Identity", identity);
    r.register_all("Expand", expand);
    r.register_all("Tile", tile);
    r.register_all("Concat", concat);
    r.register_all("Split", split);
    r.register_all("Dropout", dropout);
    r.register_all("DepthToSpace", depth_to_space);
    r.register_all("SpaceToDepth", space_to_depth);
}

/// The output shape of Reshape.
pub(crate) fn reshape_dims(input: &[usize], spec: &[i64], allowzero: bool) -> Result<Vec<usize>> {
    let n = numel(input)?;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 => {
                if infer.is_some() {
                    bail!(InvalidArgument, "Reshape shape {spec:?} has more than one -1");
                }
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => {
                let v = *input.get(i).ok_or_else(|| {
                    Error::ShapeMismatch(format!(
                        "Reshape shape {spec:?} copies dim {i} (0) but the input {input:?} has rank {}",
                        input.len()
                    ))
                })?;
                out.push(v);
            }
            d if d < 0 => bail!(InvalidArgument, "Reshape shape {spec:?} has a negative dim {d}"),
            d => out.push(d as usize),
        }
    }
    let known = numel(&out)?;
    if let Some(i) = infer {
        if known == 0 {
            if n != 0 {
                bail!(ShapeMismatch, "cannot reshape {input:?} to {spec:?}");
            }
            out[i] = 0;
        } else {
            if n % known != 0 {
                bail!(ShapeMismatch, "cannot reshape {input:?} ({n} elements) to {spec:?}");
            }
            out[i] = n / known;
        }
    } else if known != n {
        bail!(ShapeMismatch, "cannot reshape {input:?} ({n} elements) to {spec:?} ({known} elements)");
    }
    Ok(out)
}

fn reshape(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let allowzero = node.attr_i_or("allowzero", 0)? != 0;
    if node.opset < 5 {
        let spec = node.attr_ints("shape")?.ok_or_else(|| node.unsupported("Reshape-1 needs the 'shape' attribute"))?;
        return kernel(move |_, inp| {
            let x = input(inp, 0)?;
            let dims = reshape_dims(x.shape(), &spec, allowzero)?;
            output(x.clone().reshape(dims)?)
        });
    }
    let konst = match ctx.constant(1) {
        Some(t) => Some(ints(t)?),
        None => None,
    };
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let dims = match &konst {
            Some(s) => reshape_dims(x.shape(), s, allowzero)?,
            None => reshape_dims(x.shape(), &ints(input(inp, 1)?)?, allowzero)?,
        };
        output(x.clone().reshape(dims)?)
    })
}

fn flatten(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = ctx.node.attr_i_or("axis", 1)?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let r = x.rank() as i64;
        let ax = if a < 0 { a + r } else { a };
        if ax < 0 || ax > r {
            bail!(InvalidArgument, "Flatten axis {a} is out of range for rank {r}");
        }
        let ax = ax as usize;
        let outer: usize = x.shape()[..ax].iter().product();
        let inner: usize = x.shape()[ax..].iter().product();
        output(x.clone().reshape(vec![outer, inner])?)
    })
}

/// Axes from the attribute (old opsets) or an optional input (new opsets).
fn axes_source(ctx: &BuildCtx, new_since: i64, input_idx: usize) -> Result<AxesSrc> {
    if ctx.node.opset < new_since {
        Ok(match ctx.node.attr_ints("axes")? {
            Some(a) => AxesSrc::Fixed(Some(a)),
            None => AxesSrc::Fixed(None),
        })
    } else if ctx.node.input(input_idx).is_none() {
        Ok(AxesSrc::Fixed(None))
    } else if let Some(t) = ctx.constant(input_idx) {
        Ok(AxesSrc::Fixed(Some(ints(t)?)))
    } else {
        Ok(AxesSrc::Input(input_idx))
    }
}

enum AxesSrc {
    Fixed(Option<Vec<i64>>),
    Input(usize),
}

impl AxesSrc {
    fn get(&self, inp: &[Option<&Value>]) -> Result<Option<Vec<i64>>> {
        match self {
            AxesSrc::Fixed(a) => Ok(a.clone()),
            AxesSrc::Input(i) => match opt_input(inp, *i)? {
                Some(t) => Ok(Some(ints(t)?)),
                None => Ok(None),
            },
        }
    }
}

fn squeeze(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let src = axes_source(ctx, 13, 1)?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let shape = x.shape();
        let dims: Vec<usize> = match src.get(inp)? {
            None => shape.iter().copied().filter(|&d| d != 1).collect(),
            Some(axes) => {
                let mut drop = vec![false; shape.len()];
                for &a in &axes {
                    let ax = axis(a, shape.len())?;
                    if shape[ax] != 1 {
                        bail!(ShapeMismatch, "Squeeze axis {a} has size {} (must be 1) in shape {shape:?}", shape[ax]);
                    }
                    drop[ax] = true;
                }
                shape.iter().zip(&drop).filter(|(_, &d)| !d).map(|(&s, _)| s).collect()
            }
        };
        output(x.clone().reshape(dims)?)
    })
}

fn unsqueeze(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let src = axes_source(ctx, 13, 1)?;
    if let AxesSrc::Fixed(None) = src {
        return Err(ctx.node.unsupported("Unsqueeze needs axes"));
    }
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let axes = src.get(inp)?.ok_or_else(|| Error::InvalidArgument("Unsqueeze needs axes".into()))?;
        let out_rank = x.rank() + axes.len();
        let mut ins = vec![false; out_rank];
        for &a in &axes {
            let ax = axis(a, out_rank)?;
            if ins[ax] {
                bail!(InvalidArgument, "Unsqueeze axes {axes:?} repeat an axis");
            }
            ins[ax] = true;
        }
        let mut it = x.shape().iter();
        let dims: Vec<usize> = ins.iter().map(|&b| if b { 1 } else { *it.next().unwrap_or(&1) }).collect();
        output(x.clone().reshape(dims)?)
    })
}

fn shape_op(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let start = ctx.node.attr_i_or("start", 0)?;
    let end = ctx.node.attr_i("end")?;
    kernel(move |_, inp| {
        let x: &[usize] = match inp.first().copied().flatten() {
            Some(v) => v.as_tensor()?.shape(),
            None => bail!(InvalidArgument, "required input 0 is missing"),
        };
        let r = x.len() as i64;
        let clamp = |v: i64| if v < 0 { (v + r).max(0) } else { v.min(r) } as usize;
        let s = clamp(start);
        let e = clamp(end.unwrap_or(r));
        let v: Vec<i64> = if s < e { x[s..e].iter().map(|&d| d as i64).collect() } else { vec![] };
        output(Tensor::from_vec(vec![v.len()], v)?)
    })
}

fn size(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| output(Tensor::scalar(input(inp, 0)?.len() as i64)))
}

fn identity(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| match inp.first().copied().flatten() {
        Some(v) => Ok(vec![v.clone()]),
        None => bail!(InvalidArgument, "required input 0 is missing"),
    })
}

/// Broadcast view of `x` to `out` (numpy rules, `out` already broadcast).
pub(crate) fn broadcast_to(x: &Tensor, out: &[usize]) -> Result<Tensor> {
    let xs = x.shape();
    if xs == out {
        return Ok(x.clone());
    }
    let st = istrides(xs);
    let off = out.len() - xs.len();
    let strides: Vec<isize> =
        (0..out.len()).map(|i| if i < off || xs[i - off] == 1 { 0 } else { st[i - off] }).collect();
    strided_tensor(x, 0, out, &strides)
}

fn expand(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let x = input(inp, 0)?;
        let spec = ints(input(inp, 1)?)?;
        if spec.iter().any(|&d| d < 0) {
            bail!(InvalidArgument, "Expand shape {spec:?} has a negative dim");
        }
        let spec: Vec<usize> = spec.iter().map(|&d| d as usize).collect();
        let out = ronn_core::broadcast_shapes(x.shape(), &spec)?;
        output(broadcast_to(x, &out)?)
    })
}

fn tile(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inp| {
        let x = input(inp, 0)?;
        let reps = ints(input(inp, 1)?)?;
        if reps.len() != x.rank() {
            bail!(ShapeMismatch, "Tile repeats {reps:?} must have one entry per input dim ({:?})", x.shape());
        }
        if reps.iter().any(|&r| r < 0) {
            bail!(InvalidArgument, "Tile repeats {reps:?} must be non-negative");
        }
        let st = istrides(x.shape());
        let mut vshape = Vec::with_capacity(2 * x.rank());
        let mut vstr = Vec::with_capacity(2 * x.rank());
        let mut out = Vec::with_capacity(x.rank());
        for i in 0..x.rank() {
            let r = reps[i] as usize;
            vshape.push(r);
            vstr.push(0);
            vshape.push(x.shape()[i]);
            vstr.push(st[i]);
            out.push(r * x.shape()[i]);
        }
        let t = strided_tensor(x, 0, &vshape, &vstr)?;
        output(t.reshape(out)?)
    })
}

fn concat(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let a = match ctx.node.attr_i("axis")? {
        Some(a) => a,
        None if ctx.node.opset < 4 => 1,
        None => return Err(ctx.node.unsupported("Concat needs the 'axis' attribute")),
    };
    kernel(move |_, inp| {
        let ts: Vec<&Tensor> = inp.iter().filter_map(|v| *v).map(|v| v.as_tensor()).collect::<Result<_>>()?;
        output(concat_tensors(&ts, a)?)
    })
}

/// Concatenates tensors along axis `a` (negative allowed).
pub(crate) fn concat_tensors(ts: &[&Tensor], a: i64) -> Result<Tensor> {
    let first = *ts.first().ok_or_else(|| Error::InvalidArgument("Concat needs at least one input".into()))?;
    let rank = first.rank();
    let ax = axis(a, rank)?;
    let dt = first.dtype();
    let mut out_shape = first.shape().to_vec();
    out_shape[ax] = 0;
    for t in ts {
        if t.dtype() != dt {
            bail!(TypeMismatch, "Concat inputs must share one type: {} and {}", dt, t.dtype());
        }
        if t.rank() != rank || t.shape().iter().zip(first.shape()).enumerate().any(|(i, (x, y))| i != ax && x != y) {
            bail!(ShapeMismatch, "Concat inputs {:?} and {:?} differ outside axis {ax}", first.shape(), t.shape());
        }
        out_shape[ax] += t.shape()[ax];
    }
    if ts.len() == 1 {
        return Ok(first.clone());
    }
    let outer: usize = first.shape()[..ax].iter().product();
    // Numeric outputs take the pool's buffer: a fresh 1-2 MB Vec per call
    // page-faulted its way in (SqueezeNet's channel Concats took 5x ONNX Runtime's
    // time). Strings are not pooled.
    if dt != DType::String {
        return ronn_core::dispatch_dtype!(dt, T => {
            let parts = concat_parts::<T>(ts, ax)?;
            let out = ronn_core::pool::with_capacity::<T>(outer * parts.iter().map(|p| p.1).sum::<usize>());
            mk::<T>(out_shape, concat_into(&parts, outer, out))
        }, _ => unreachable!("dispatch_dtype covers every type but String"));
    }
    dispatch_any!(dt, T => {
        let parts = concat_parts::<T>(ts, ax)?;
        let out = Vec::with_capacity(outer * parts.iter().map(|p| p.1).sum::<usize>());
        mk::<T>(out_shape, concat_into(&parts, outer, out))
    })
}

/// Each input's data and its row length (elements from `ax` on).
fn concat_parts<'t, T: Item>(ts: &[&'t Tensor], ax: usize) -> Result<Vec<(&'t [T], usize)>> {
    ts.iter().map(|t| Ok((sl::<T>(t)?, t.shape()[ax..].iter().product::<usize>()))).collect()
}

/// Appends the concatenation of `parts` (`outer` rows each) to the empty `out`.
fn concat_into<T: Clone + Default + Send + Sync>(parts: &[(&[T], usize)], outer: usize, mut out: Vec<T>) -> Vec<T> {
    let row: usize = parts.iter().map(|p| p.1).sum();
    let total = outer * row;
    if total >= PAR_MIN && outer > 1 {
        out.resize(total, T::default());
        out.par_chunks_mut(row).enumerate().for_each(|(o, dst)| {
            let mut p = 0;
            for (s, w) in parts {
                dst[p..p + w].clone_from_slice(&s[o * w..(o + 1) * w]);
                p += w;
            }
        });
    } else {
        for o in 0..outer {
            for (s, w) in parts {
                out.extend_from_slice(&s[o * w..(o + 1) * w]);
            }
        }
    }
    out
}

/// Splits `x` along `ax` into pieces of the given sizes (which must sum to the dim).
pub(crate) fn split_tensor(x: &Tensor, ax: usize, sizes: &[usize]) -> Result<Vec<Tensor>> {
    let dim = x.shape()[ax];
    if sizes.iter().sum::<usize>() != dim {
        bail!(ShapeMismatch, "split sizes {sizes:?} do not sum to dim {ax} of {:?}", x.shape());
    }
    if sizes.len() == 1 {
        return Ok(vec![x.clone()]);
    }
    let outer: usize = x.shape()[..ax].iter().product();
    let inner: usize = x.shape()[ax + 1..].iter().product();
    dispatch_any!(x.dtype(), T => {
        let s = sl::<T>(x)?;
        let mut res = Vec::with_capacity(sizes.len());
        let mut start = 0;
        for &sz in sizes {
            let w = sz * inner;
            let row = dim * inner;
            let mut v = Vec::with_capacity(outer * w);
            for o in 0..outer {
                let b = o * row + start * inner;
                v.extend_from_slice(&s[b..b + w]);
            }
            let mut shp = x.shape().to_vec();
            shp[ax] = sz;
            res.push(mk::<T>(shp, v)?);
            start += sz;
        }
        Ok(res)
    })
}

fn split(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let a = node.attr_i_or("axis", 0)?;
    let nout = node.outputs.len();
    let num_outputs = node.attr_i("num_outputs")?;
    let attr_split = if node.opset < 13 { node.attr_ints("split")? } else { None };
    let split_input = 1;
    let konst = ctx.constant(split_input).map(ints).transpose()?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let ax = axis(a, x.rank())?;
        let dim = x.shape()[ax];
        let given = match (&attr_split, &konst) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(s)) => Some(s.clone()),
            _ => opt_input(inp, split_input)?.map(ints).transpose()?,
        };
        let sizes: Vec<usize> = match given {
            Some(s) => {
                if s.iter().any(|&v| v < 0) {
                    bail!(InvalidArgument, "Split sizes {s:?} must be non-negative");
                }
                s.iter().map(|&v| v as usize).collect()
            }
            None => {
                let n = num_outputs.map(|n| n as usize).unwrap_or(nout).max(1);
                if num_outputs.is_some() {
                    // opset 18: ceil-sized chunks, last one smaller
                    let c = dim.div_ceil(n);
                    let mut v = Vec::with_capacity(n);
                    let mut left = dim;
                    for _ in 0..n {
                        let t = c.min(left);
                        v.push(t);
                        left -= t;
                    }
                    v
                } else {
                    if dim % n != 0 {
                        bail!(ShapeMismatch, "Split of dim {dim} into {n} equal parts is not possible");
                    }
                    vec![dim / n; n]
                }
            }
        };
        outputs(split_tensor(x, ax, &sizes)?)
    })
}

fn dropout(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let want_mask = node.outputs.get(1).is_some_and(|s| !s.is_empty());
    let mask_bool = node.opset >= 10;
    // Training mode draws from numpy's generator (what the ONNX reference and its test
    // data use); without a seed attribute each run gets a fresh seed.
    let seed = node.attr_i("seed")?;
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        if let Some(t) = opt_input(inp, 2)? {
            let training = t.to_i64_vec()?.first().copied().unwrap_or(0) != 0;
            if training {
                let ratio = match opt_input(inp, 1)? {
                    Some(r) => r.to_f64_vec()?.first().copied().unwrap_or(0.5),
                    None => 0.5,
                };
                if ratio != 0.0 {
                    let seed = match seed {
                        Some(s) => s as u32,
                        None => std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
                            .unwrap_or(0),
                    };
                    let (y, m) = crate::training::dropout_training(x, ratio, seed)?;
                    let mut outs = vec![Value::Tensor(y)];
                    if want_mask {
                        outs.push(Value::Tensor(if mask_bool { m } else { m.cast(x.dtype())? }));
                    }
                    return Ok(outs);
                }
            }
        }
        let mut outs = vec![Value::Tensor(x.clone())];
        if want_mask {
            let m = if mask_bool {
                Tensor::full(x.shape().to_vec(), true)?
            } else {
                Tensor::full(x.shape().to_vec(), 1f32)?.cast(x.dtype())?
            };
            outs.push(Value::Tensor(m));
        }
        Ok(outs)
    })
}

fn blocksize(ctx: &BuildCtx) -> Result<usize> {
    let b = ctx.node.attr_i("blocksize")?.ok_or_else(|| ctx.node.unsupported("missing 'blocksize'"))?;
    if b <= 0 {
        return Err(ctx.node.unsupported(format!("blocksize {b} must be positive")));
    }
    Ok(b as usize)
}

fn depth_to_space(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let b = blocksize(ctx)?;
    let mode = ctx.node.attr_s_or("mode", "DCR")?;
    let crd = match mode.as_str() {
        "DCR" => false,
        "CRD" => true,
        m => return Err(ctx.node.unsupported(format!("DepthToSpace mode '{m}'"))),
    };
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let [n, c, h, w] = dims4(x, "DepthToSpace")?;
        if c % (b * b) != 0 {
            bail!(ShapeMismatch, "DepthToSpace channels {c} not divisible by blocksize^2 {}", b * b);
        }
        let oc = c / (b * b);
        // Output viewed as [n, oc, h, b, w, b] (row-major) read from the input.
        let (hw, w1) = ((h * w) as isize, w as isize);
        let cs = hw; // channel stride
        let (s_oc, s_b1, s_b2) = if crd {
            // input channel = oc*b*b + b1*b + b2
            (cs * (b * b) as isize, cs * b as isize, cs)
        } else {
            // input channel = b1*b*oc + b2*oc + oc
            (cs, cs * (b * oc) as isize, cs * oc as isize)
        };
        let shape = [n, oc, h, b, w, b];
        let strides = [(c * h * w) as isize, s_oc, w1, s_b1, 1, s_b2];
        let t = strided_tensor(x, 0, &shape, &strides)?;
        output(t.reshape(vec![n, oc, h * b, w * b])?)
    })
}

fn space_to_depth(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let b = blocksize(ctx)?;
    // `mode` (opset 24+): DCR (the only behaviour before) or CRD.
    let crd = match ctx.node.attr_s_or("mode", "DCR")?.as_str() {
        "DCR" => false,
        "CRD" => true,
        m => return Err(ctx.node.unsupported(format!("SpaceToDepth mode '{m}'"))),
    };
    kernel(move |_, inp| {
        let x = input(inp, 0)?;
        let [n, c, h, w] = dims4(x, "SpaceToDepth")?;
        if h % b != 0 || w % b != 0 {
            bail!(ShapeMismatch, "SpaceToDepth spatial dims {h}x{w} not divisible by blocksize {b}");
        }
        let (oh, ow) = (h / b, w / b);
        // output [n, b1, b2, c, oh, ow] from input [n, c, oh, b1, ow, b2]
        let w1 = w as isize;
        let (shape, strides) = if crd {
            // output [n, c, b1, b2, oh, ow]: channel = c*b*b + b1*b + b2
            ([n, c, b, b, oh, ow], [(c * h * w) as isize, (h * w) as isize, w1, 1, w1 * b as isize, b as isize])
        } else {
            ([n, b, b, c, oh, ow], [(c * h * w) as isize, w1, 1, (h * w) as isize, w1 * b as isize, b as isize])
        };
        let t = strided_tensor(x, 0, &shape, &strides)?;
        output(t.reshape(vec![n, c * b * b, oh, ow])?)
    })
}

fn dims4(x: &Tensor, op: &str) -> Result<[usize; 4]> {
    match x.shape() {
        &[n, c, h, w] => Ok([n, c, h, w]),
        s => bail!(ShapeMismatch, "{op} expects a 4-D input, got {s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn t32(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }
    fn i64s(v: &[i64]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }
    fn iota(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        t32(shape, (0..n).map(|i| i as f32).collect())
    }

    #[test]
    fn reshape_zero_and_infer() {
        let n = Node::new("Reshape", &["x", "s"], &["y"], 14);
        let y = &run_node(&n, vec![iota(&[2, 3, 4]), i64s(&[0, -1])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 12]);
        let nz = n.clone().with_attr("allowzero", Attribute::Int(1));
        let y = &run_node(&nz, vec![iota(&[0, 3]), i64s(&[3, 0])]).unwrap()[0];
        assert_eq!(y.shape(), &[3, 0]);
        assert!(run_node(&n, vec![iota(&[2, 3]), i64s(&[4, -1])]).is_err());
        assert!(run_node(&n, vec![iota(&[2, 3]), i64s(&[-1, -1])]).is_err());
        let old = Node::new("Reshape", &["x"], &["y"], 1).with_attr("shape", Attribute::Ints(vec![3, 2]));
        assert_eq!(run_node(&old, vec![iota(&[2, 3])]).unwrap()[0].shape(), &[3, 2]);
    }

    #[test]
    fn flatten_squeeze_unsqueeze() {
        let n = Node::new("Flatten", &["x"], &["y"], 13).with_attr("axis", Attribute::Int(-1));
        assert_eq!(run_node(&n, vec![iota(&[2, 3, 4])]).unwrap()[0].shape(), &[6, 4]);
        let n = Node::new("Flatten", &["x"], &["y"], 13).with_attr("axis", Attribute::Int(0));
        assert_eq!(run_node(&n, vec![iota(&[2, 3])]).unwrap()[0].shape(), &[1, 6]);
        let n = Node::new("Squeeze", &["x", "a"], &["y"], 13);
        assert_eq!(run_node(&n, vec![iota(&[1, 3, 1]), i64s(&[-1])]).unwrap()[0].shape(), &[1, 3]);
        assert!(run_node(&n, vec![iota(&[1, 3, 1]), i64s(&[1])]).is_err());
        let n = Node::new("Squeeze", &["x"], &["y"], 11);
        assert_eq!(run_node(&n, vec![iota(&[1, 3, 1])]).unwrap()[0].shape(), &[3]);
        let n = Node::new("Unsqueeze", &["x", "a"], &["y"], 13);
        assert_eq!(run_node(&n, vec![iota(&[3, 4]), i64s(&[-1, 0])]).unwrap()[0].shape(), &[1, 3, 4, 1]);
        assert!(run_node(&n, vec![iota(&[3]), i64s(&[0, 0])]).is_err());
        let n = Node::new("Unsqueeze", &["x"], &["y"], 11).with_attr("axes", Attribute::Ints(vec![2, 0]));
        assert_eq!(run_node(&n, vec![iota(&[3, 4])]).unwrap()[0].shape(), &[1, 3, 1, 4]);
    }

    #[test]
    fn shape_start_end_and_size() {
        let n = Node::new("Shape", &["x"], &["y"], 15)
            .with_attr("start", Attribute::Int(-2))
            .with_attr("end", Attribute::Int(10));
        let y = &run_node(&n, vec![iota(&[2, 3, 4])]).unwrap()[0];
        assert_eq!(y.as_slice::<i64>().unwrap(), &[3, 4]);
        let n = Node::new("Shape", &["x"], &["y"], 15)
            .with_attr("start", Attribute::Int(2))
            .with_attr("end", Attribute::Int(1));
        assert_eq!(run_node(&n, vec![iota(&[2, 3, 4])]).unwrap()[0].shape(), &[0]);
        let n = Node::new("Size", &["x"], &["y"], 13);
        assert_eq!(run_node(&n, vec![iota(&[2, 3, 4])]).unwrap()[0].as_slice::<i64>().unwrap(), &[24]);
    }

    #[test]
    fn expand_and_tile() {
        let n = Node::new("Expand", &["x", "s"], &["y"], 13);
        let y = &run_node(&n, vec![t32(&[3, 1], vec![1., 2., 3.]), i64s(&[2, 1, 2])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 3, 2]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., 1., 2., 2., 3., 3., 1., 1., 2., 2., 3., 3.]);
        assert!(run_node(&n, vec![t32(&[3], vec![1., 2., 3.]), i64s(&[2])]).is_err());
        let n = Node::new("Tile", &["x", "r"], &["y"], 13);
        let y = &run_node(&n, vec![iota(&[2, 2]), i64s(&[1, 2])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 4]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 1., 0., 1., 2., 3., 2., 3.]);
        assert!(run_node(&n, vec![iota(&[2, 2]), i64s(&[1])]).is_err());
    }

    #[test]
    fn concat_and_split() {
        let n = Node::new("Concat", &["a", "b"], &["y"], 13).with_attr("axis", Attribute::Int(-1));
        let y = &run_node(&n, vec![iota(&[2, 1]), t32(&[2, 2], vec![7., 8., 9., 10.])]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 7., 8., 1., 9., 10.]);
        assert!(run_node(&n, vec![iota(&[2, 1]), iota(&[3, 1])]).is_err());
        let s = Tensor::from_strings(vec![1], vec!["a".into()]).unwrap();
        let n0 = Node::new("Concat", &["a", "b"], &["y"], 13).with_attr("axis", Attribute::Int(0));
        let y = &run_node(&n0, vec![s.clone(), s]).unwrap()[0];
        assert_eq!(y.as_strings().unwrap(), &["a", "a"]);
        let n = Node::new("Split", &["x"], &["a", "b", "c"], 18).with_attr("num_outputs", Attribute::Int(3));
        let ys = run_node(&n, vec![iota(&[7])]).unwrap();
        assert_eq!(ys.iter().map(|t| t.len()).collect::<Vec<_>>(), vec![3, 3, 1]);
        let n = Node::new("Split", &["x", "s"], &["a", "b"], 13).with_attr("axis", Attribute::Int(1));
        let ys = run_node(&n, vec![iota(&[2, 3]), i64s(&[1, 2])]).unwrap();
        assert_eq!(ys[0].as_slice::<f32>().unwrap(), &[0., 3.]);
        assert_eq!(ys[1].as_slice::<f32>().unwrap(), &[1., 2., 4., 5.]);
        let n = Node::new("Split", &["x"], &["a", "b"], 11);
        assert!(run_node(&n, vec![iota(&[3])]).is_err());
    }

    #[test]
    fn depth_space_round_trip() {
        let x = iota(&[1, 8, 2, 3]);
        for mode in ["DCR", "CRD"] {
            let d = Node::new("DepthToSpace", &["x"], &["y"], 13)
                .with_attr("blocksize", Attribute::Int(2))
                .with_attr("mode", Attribute::String(mode.as_bytes().to_vec()));
            let y = &run_node(&d, vec![x.clone()]).unwrap()[0];
            assert_eq!(y.shape(), &[1, 2, 4, 6]);
            let s = Node::new("SpaceToDepth", &["x"], &["y"], 24)
                .with_attr("blocksize", Attribute::Int(2))
                .with_attr("mode", Attribute::String(mode.as_bytes().to_vec()));
            let z = &run_node(&s, vec![y.clone()]).unwrap()[0];
            assert_eq!(z, &x);
        }
        // numpy reference for CRD, first row of output
        let d = Node::new("DepthToSpace", &["x"], &["y"], 13)
            .with_attr("blocksize", Attribute::Int(2))
            .with_attr("mode", Attribute::String(b"CRD".to_vec()));
        let y = &run_node(&d, vec![x]).unwrap()[0];
        assert_eq!(&y.as_slice::<f32>().unwrap()[..6], &[0., 6., 1., 7., 2., 8.]);
    }

    #[test]
    fn dropout_is_identity_with_true_mask() {
        let n = Node::new("Dropout", &["x"], &["y", "m"], 13);
        let ys = run_node(&n, vec![iota(&[2, 2])]).unwrap();
        assert_eq!(ys[0], iota(&[2, 2]));
        assert_eq!(ys[1].as_slice::<bool>().unwrap(), &[true; 4]);
    }

    #[test]
    fn training_dropout_follows_numpy_seeded_draws() {
        // np.random.seed(0); u = random_sample(4) = [0.549, 0.715, 0.603, 0.545]; keep u >= 0.6
        let mut n = Node::new("Dropout", &["x", "r", "t"], &["y", "m"], 13);
        n.attrs.insert("seed".into(), ronn_ir::Attribute::Int(0));
        let x = Tensor::from_vec(vec![4], vec![1f32, 2., 3., 4.]).unwrap();
        let ys = run_node(&n, vec![x, Tensor::scalar(0.6f32), Tensor::scalar(true)]).unwrap();
        assert_eq!(ys[1].as_slice::<bool>().unwrap(), &[false, true, true, false]);
        let y = ys[0].as_slice::<f32>().unwrap();
        assert!((y[1] - 5.0).abs() < 1e-5 && (y[2] - 7.5).abs() < 1e-5 && y[0] == 0.0 && y[3] == 0.0, "{y:?}");
    }
}
