//! Convolutions: Conv, ConvTranspose, ConvInteger, QLinearConv.
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__Conv.html>,
//! <https://onnx.ai/onnx/operators/onnx__ConvTranspose.html>,
//! <https://onnx.ai/onnx/operators/onnx__ConvInteger.html>,
//! <https://onnx.ai/onnx/operators/onnx__QLinearConv.html>.
//!
//! Any number of spatial dims (1-D, 2-D, 3-D, ...), group, dilations, strides,
//! pads, auto_pad (NOTSET, SAME_UPPER, SAME_LOWER, VALID; the empty string of old
//! models means NOTSET), optional bias. The compute is ronn-kernels' conv: 1x1
//! stride-1 as a direct gemm, a direct depthwise kernel, im2col + gemm otherwise;
//! ConvTranspose is gemm + col2im (output_padding, output_shape). Floats: f32 and
//! f64 natively, f16/bf16 computed in f32. ConvInteger/QLinearConv subtract the
//! zero points and convolve exactly in f64 (padding with the zero point, i.e. 0).
//! The attribute set is the same at every opset (1, 11, 22), so one registration
//! covers them all. A constant W is converted to the compute type once at
//! planning time.

use crate::helpers::{input, kernel, opt_input, output};
use ronn_core::{bf16, f16, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry, Node};
use ronn_kernels::conv::{conv, conv_fused, conv_transpose, Activation, ConvGeom};
use ronn_kernels::winograd::Winograd;
use std::sync::Arc;

/// Registers this family's kernels.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("Conv", make_conv);
    r.register_all("ConvTranspose", make_conv_transpose);
    r.register_all("ConvInteger", make_conv_integer);
    r.register_all("QLinearConv", make_qlinear_conv);
    r.register("com.microsoft", "FusedConv", 1, i64::MAX, make_fused_conv);
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum AutoPad {
    NotSet,
    SameUpper,
    SameLower,
    Valid,
}

#[derive(Clone, Debug)]
struct Attrs {
    auto_pad: AutoPad,
    dilations: Option<Vec<usize>>,
    group: usize,
    kernel_shape: Option<Vec<usize>>,
    pads: Option<Vec<usize>>,
    strides: Option<Vec<usize>>,
    // ConvTranspose only
    output_padding: Option<Vec<usize>>,
    output_shape: Option<Vec<usize>>,
}

fn positive(node: &Node, name: &str, min: i64) -> Result<Option<Vec<usize>>> {
    match node.attr_ints(name)? {
        None => Ok(None),
        Some(v) => {
            if v.iter().any(|&x| x < min) {
                return Err(node.unsupported(format!("attribute {name} = {v:?} has a value below {min}")));
            }
            Ok(Some(v.into_iter().map(|x| x as usize).collect()))
        }
    }
}

fn parse_attrs(node: &Node) -> Result<Attrs> {
    let auto_pad = match node.attr_s_or("auto_pad", "NOTSET")?.as_str() {
        "NOTSET" | "" => AutoPad::NotSet,
        "SAME_UPPER" => AutoPad::SameUpper,
        "SAME_LOWER" => AutoPad::SameLower,
        "VALID" => AutoPad::Valid,
        other => {
            return Err(
                node.unsupported(format!("auto_pad '{other}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID"))
            )
        }
    };
    let group = node.attr_i_or("group", 1)?;
    if group < 1 {
        return Err(node.unsupported(format!("group must be >= 1, got {group}")));
    }
    let pads = positive(node, "pads", 0)?;
    if let Some(p) = &pads {
        if p.len() % 2 != 0 {
            return Err(node.unsupported(format!("pads must have an even length, got {}", p.len())));
        }
    }
    Ok(Attrs {
        auto_pad,
        dilations: positive(node, "dilations", 1)?,
        group: group as usize,
        kernel_shape: positive(node, "kernel_shape", 1)?,
        pads,
        strides: positive(node, "strides", 1)?,
        output_padding: positive(node, "output_padding", 0)?,
        output_shape: positive(node, "output_shape", 0)?,
    })
}

fn per_dim(v: &Option<Vec<usize>>, nd: usize, default: usize, name: &str) -> Result<Vec<usize>> {
    match v {
        None => Ok(vec![default; nd]),
        Some(v) if v.len() == nd => Ok(v.clone()),
        Some(v) => Err(Error::InvalidArgument(format!("{name} has {} values, expected {nd}", v.len()))),
    }
}

/// Checks X/W ranks and the kernel_shape attribute; returns (nd, kernel).
fn check_xw(a: &Attrs, x: &[usize], w: &[usize]) -> Result<(usize, Vec<usize>)> {
    if x.len() < 3 || w.len() != x.len() {
        return Err(Error::ShapeMismatch(format!(
            "convolution needs X of rank >= 3 and W of the same rank, got X {x:?} and W {w:?}"
        )));
    }
    let nd = x.len() - 2;
    let kernel = w[2..].to_vec();
    if let Some(ks) = &a.kernel_shape {
        if ks != &kernel {
            return Err(Error::ShapeMismatch(format!("kernel_shape {ks:?} differs from W's spatial dims {kernel:?}")));
        }
    }
    Ok((nd, kernel))
}

/// Geometry of Conv from attributes and X/W shapes.
fn conv_geom(a: &Attrs, x: &[usize], w: &[usize]) -> Result<ConvGeom> {
    let (nd, kernel) = check_xw(a, x, w)?;
    let strides = per_dim(&a.strides, nd, 1, "strides")?;
    let dilations = per_dim(&a.dilations, nd, 1, "dilations")?;
    let (c_in, c_out) = (x[1], w[0]);
    if c_in % a.group != 0 || c_out % a.group != 0 || w[1] * a.group != c_in {
        return Err(Error::ShapeMismatch(format!(
            "Conv channels: X has {c_in}, W is {w:?}, group {} (need W[1] * group == C and group | M)",
            a.group
        )));
    }
    let mut out = Vec::with_capacity(nd);
    let mut pads_begin = Vec::with_capacity(nd);
    for i in 0..nd {
        let inp = x[i + 2];
        let dk = (kernel[i] - 1) * dilations[i] + 1;
        let s = strides[i];
        let (o, pb) = match a.auto_pad {
            AutoPad::NotSet => {
                let (pb, pe) = match &a.pads {
                    None => (0, 0),
                    Some(p) if p.len() == 2 * nd => (p[i], p[i + nd]),
                    Some(p) => {
                        return Err(Error::InvalidArgument(format!("pads has {} values, expected {}", p.len(), 2 * nd)))
                    }
                };
                let full = inp + pb + pe;
                if full < dk {
                    return Err(Error::ShapeMismatch(format!(
                        "Conv: padded input size {full} is smaller than the dilated kernel {dk} along dim {i}"
                    )));
                }
                ((full - dk) / s + 1, pb)
            }
            AutoPad::Valid => {
                if inp < dk {
                    return Err(Error::ShapeMismatch(format!(
                        "Conv: input size {inp} is smaller than the dilated kernel {dk} along dim {i}"
                    )));
                }
                ((inp - dk) / s + 1, 0)
            }
            AutoPad::SameUpper | AutoPad::SameLower => {
                let o = inp.div_ceil(s);
                let total = ((o.max(1) - 1) * s + dk).saturating_sub(inp);
                let pb = if a.auto_pad == AutoPad::SameUpper { total / 2 } else { total - total / 2 };
                (o, pb)
            }
        };
        out.push(o);
        pads_begin.push(pb);
    }
    Ok(ConvGeom {
        batch: x[0],
        c_in,
        c_out,
        group: a.group,
        in_spatial: x[2..].to_vec(),
        out_spatial: out,
        kernel,
        strides,
        dilations,
        pads_begin,
    })
}

/// Geometry of ConvTranspose from attributes and X/W shapes.
fn conv_transpose_geom(a: &Attrs, x: &[usize], w: &[usize]) -> Result<ConvGeom> {
    let (nd, kernel) = check_xw(a, x, w)?;
    let strides = per_dim(&a.strides, nd, 1, "strides")?;
    let dilations = per_dim(&a.dilations, nd, 1, "dilations")?;
    let opad = per_dim(&a.output_padding, nd, 0, "output_padding")?;
    let c_in = x[1];
    if w[0] != c_in || c_in % a.group != 0 {
        return Err(Error::ShapeMismatch(format!(
            "ConvTranspose channels: X has {c_in}, W is {w:?}, group {} (need W[0] == C, group | C)",
            a.group
        )));
    }
    let c_out = w[1] * a.group;
    // Target output shape, when given (output_shape, or in*stride for SAME_*).
    let target: Option<Vec<usize>> = match &a.output_shape {
        Some(os) if os.len() == nd => Some(os.clone()),
        Some(os) if os.len() == nd + 2 => Some(os[2..].to_vec()),
        Some(os) => return Err(Error::InvalidArgument(format!("output_shape has {} values, expected {nd}", os.len()))),
        None if matches!(a.auto_pad, AutoPad::SameUpper | AutoPad::SameLower) => {
            Some((0..nd).map(|i| x[i + 2] * strides[i]).collect())
        }
        None => None,
    };
    let mut out = Vec::with_capacity(nd);
    let mut pads_begin = Vec::with_capacity(nd);
    for i in 0..nd {
        let dk = ((kernel[i] - 1) * dilations[i] + 1) as i64;
        let natural = strides[i] as i64 * (x[i + 2] as i64 - 1) + opad[i] as i64 + dk;
        let (o, pb) = match &target {
            Some(t) => {
                let total = natural - t[i] as i64;
                let pb =
                    if a.auto_pad == AutoPad::SameUpper { total.div_euclid(2) } else { total - total.div_euclid(2) };
                (t[i] as i64, pb)
            }
            None => {
                let (pb, pe) = match (&a.pads, a.auto_pad) {
                    (_, AutoPad::Valid) | (None, _) => (0, 0),
                    (Some(p), _) if p.len() == 2 * nd => (p[i] as i64, p[i + nd] as i64),
                    (Some(p), _) => {
                        return Err(Error::InvalidArgument(format!("pads has {} values, expected {}", p.len(), 2 * nd)))
                    }
                };
                (natural - pb - pe, pb)
            }
        };
        if o < 0 || pb < 0 {
            return Err(Error::ShapeMismatch(format!(
                "ConvTranspose: output size {o} with leading pad {pb} along dim {i} is not supported"
            )));
        }
        out.push(o as usize);
        pads_begin.push(pb as usize);
    }
    Ok(ConvGeom {
        batch: x[0],
        c_in,
        c_out,
        group: a.group,
        in_spatial: x[2..].to_vec(),
        out_spatial: out,
        kernel,
        strides,
        dilations,
        pads_begin,
    })
}

fn to_f32_vec<T: Element>(s: &[T]) -> Vec<f32> {
    s.iter().map(|v| v.to_f64() as f32).collect()
}

fn from_f32_vec<T: Element>(s: &[f32]) -> Vec<T> {
    s.iter().map(|&v| T::from_f64(v as f64)).collect()
}

/// f16/bf16/f32 tensor data as f32.
fn f32_data(t: &Tensor) -> Result<Vec<f32>> {
    match t.dtype() {
        DType::Float32 => Ok(t.as_slice::<f32>()?.to_vec()),
        DType::Float16 => Ok(to_f32_vec(t.as_slice::<f16>()?)),
        DType::BFloat16 => Ok(to_f32_vec(t.as_slice::<bf16>()?)),
        d => Err(Error::TypeMismatch(format!("expected a float tensor, got {d}"))),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Conv,
    Transpose,
}

/// What runs after the convolution: `act(conv + z + bias)` (FusedConv; plain Conv
/// has neither).
#[derive(Clone, Copy)]
struct Epilogue<'a> {
    act: Activation,
    z: Option<&'a Tensor>,
}

/// Runs a float Conv/ConvTranspose; `wf32` is W pre-converted to f32 (f16/bf16 constant W).
fn run_float(
    kind: Kind,
    g: &ConvGeom,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    wf32: Option<&[f32]>,
    epi: Epilogue<'_>,
) -> Result<Tensor> {
    let dt = x.dtype();
    let act = epi.act;
    if let Some(z) = epi.z {
        let want: Vec<usize> = [g.batch, g.c_out].iter().chain(&g.out_spatial).copied().collect();
        if z.shape() != want.as_slice() || z.dtype() != dt {
            return Err(Error::ShapeMismatch(format!(
                "FusedConv: Z is {} {:?}, expected the output's {dt} {want:?}",
                z.dtype(),
                z.shape()
            )));
        }
    }
    if w.dtype() != dt || b.is_some_and(|b| b.dtype() != dt) {
        return Err(Error::TypeMismatch(format!(
            "convolution inputs must share one type, got X {dt}, W {}{}",
            w.dtype(),
            b.map(|b| format!(", B {}", b.dtype())).unwrap_or_default()
        )));
    }
    if let Some(b) = b {
        if b.len() != g.c_out {
            return Err(Error::ShapeMismatch(format!("bias has shape {:?}, expected [{}]", b.shape(), g.c_out)));
        }
    }
    let mut shape = vec![g.batch, g.c_out];
    shape.extend_from_slice(&g.out_spatial);
    let n: usize = shape.iter().product();
    // ConvTranspose has no residual form (FusedConv is a Conv).
    fn transpose_fused<T: ronn_kernels::gemm::Scalar>(
        g: &ConvGeom,
        x: &[T],
        w: &[T],
        b: Option<&[T]>,
        z: Option<&[T]>,
        y: &mut [T],
        act: Activation,
    ) -> Result<()> {
        debug_assert!(z.is_none());
        conv_transpose(g, x, w, b, y, act)
    }
    let f = match kind {
        Kind::Conv => conv_fused::<f32>,
        Kind::Transpose => transpose_fused::<f32>,
    };
    match dt {
        DType::Float32 => {
            // A convolution writes every output element (gemm with beta 0, or the
            // depthwise kernel); a transposed one scatter-adds, so starts from zeros.
            let mut y = match kind {
                Kind::Conv => ronn_core::pool::for_overwrite::<f32>(n),
                Kind::Transpose => ronn_core::pool::zeroed::<f32>(n),
            };
            let bias = match b {
                Some(b) => Some(b.as_slice::<f32>()?),
                None => None,
            };
            let z = match epi.z {
                Some(z) => Some(z.as_slice::<f32>()?),
                None => None,
            };
            f(g, x.as_slice::<f32>()?, w.as_slice::<f32>()?, bias, z, &mut y, act)?;
            Tensor::from_vec(shape, y)
        }
        DType::Float64 => {
            let mut y = ronn_core::pool::zeroed::<f64>(n);
            let bias = match b {
                Some(b) => Some(b.as_slice::<f64>()?),
                None => None,
            };
            let fd = match kind {
                Kind::Conv => conv_fused::<f64>,
                Kind::Transpose => transpose_fused::<f64>,
            };
            let z = match epi.z {
                Some(z) => Some(z.as_slice::<f64>()?),
                None => None,
            };
            fd(g, x.as_slice::<f64>()?, w.as_slice::<f64>()?, bias, z, &mut y, act)?;
            Tensor::from_vec(shape, y)
        }
        DType::Float16 | DType::BFloat16 => {
            let xv = f32_data(x)?;
            let wown;
            let wv = match wf32 {
                Some(v) => v,
                None => {
                    wown = f32_data(w)?;
                    &wown
                }
            };
            let bv = match b {
                Some(b) => Some(f32_data(b)?),
                None => None,
            };
            let zv = match epi.z {
                Some(z) => Some(f32_data(z)?),
                None => None,
            };
            let mut y = ronn_core::pool::zeroed::<f32>(n);
            f(g, &xv, wv, bv.as_deref(), zv.as_deref(), &mut y, act)?;
            if dt == DType::Float16 {
                Tensor::from_vec(shape, from_f32_vec::<f16>(&y))
            } else {
                Tensor::from_vec(shape, from_f32_vec::<bf16>(&y))
            }
        }
        d => Err(Error::TypeMismatch(format!("convolution does not support {d}"))),
    }
}

fn make_float(ctx: &BuildCtx, kind: Kind, act: Activation, residual: bool) -> Result<Box<dyn Kernel>> {
    let attrs = parse_attrs(ctx.node)?;
    let wf32: Option<Arc<Vec<f32>>> = match ctx.constant(1) {
        Some(w) if matches!(w.dtype(), DType::Float16 | DType::BFloat16) => Some(Arc::new(f32_data(w)?)),
        _ => None,
    };
    // Transform only where Winograd can run (stride 1, undilated, ungrouped): a
    // strided layer would keep a 4x larger copy of its weights it never reads.
    let ones = |v: &Option<Vec<usize>>| v.as_ref().is_none_or(|v| v.iter().all(|&d| d == 1));
    let winograd = match ctx.constant(1) {
        Some(w) if kind == Kind::Conv && attrs.group == 1 && ones(&attrs.strides) && ones(&attrs.dilations) => {
            winograd_weights(w)?.map(Arc::new)
        }
        _ => None,
    };
    kernel(move |_ctx, inputs| {
        let x = input(inputs, 0)?;
        let w = input(inputs, 1)?;
        let b = opt_input(inputs, 2)?;
        let g = match kind {
            Kind::Conv => conv_geom(&attrs, x.shape(), w.shape())?,
            Kind::Transpose => conv_transpose_geom(&attrs, x.shape(), w.shape())?,
        };
        let z = if residual { opt_input(inputs, 3)? } else { None };
        let epi = Epilogue { act, z };
        if let Some(wg) = winograd.as_deref() {
            if x.dtype() == DType::Float32 && Winograd::supports(&g) {
                return output(run_winograd(wg, &g, x, b, epi)?);
            }
        }
        output(run_float(kind, &g, x, w, b, wf32.as_deref().map(|v| v.as_slice()), epi)?)
    })
}

/// Winograd-transformed weights for a constant f32 `[M, C, 3, 3]` W (whether the
/// input's geometry suits Winograd is decided per run, from X's shape).
fn winograd_weights(w: &Tensor) -> Result<Option<Winograd>> {
    match (w.dtype(), w.shape()) {
        (DType::Float32, &[m, c, 3, 3]) => Ok(Some(Winograd::new(m, c, w.as_slice::<f32>()?)?)),
        _ => Ok(None),
    }
}

/// An optional f32 operand of an f32 convolution.
fn opt_f32<'a>(t: Option<&'a Tensor>, what: &str) -> Result<Option<&'a [f32]>> {
    match t {
        Some(t) if t.dtype() != DType::Float32 => {
            Err(Error::TypeMismatch(format!("convolution {what} must be float32 like X, got {}", t.dtype())))
        }
        Some(t) => Ok(Some(t.as_slice::<f32>()?)),
        None => Ok(None),
    }
}

/// An f32 Conv through the Winograd kernel (3x3, stride 1; see `Winograd::supports`).
fn run_winograd(wg: &Winograd, g: &ConvGeom, x: &Tensor, b: Option<&Tensor>, epi: Epilogue<'_>) -> Result<Tensor> {
    let mut shape = vec![g.batch, g.c_out];
    shape.extend_from_slice(&g.out_spatial);
    if let Some(z) = epi.z {
        if z.shape() != shape.as_slice() {
            return Err(Error::ShapeMismatch(format!("FusedConv: Z is {:?}, expected {shape:?}", z.shape())));
        }
    }
    let mut y = ronn_core::pool::zeroed::<f32>(shape.iter().product());
    wg.run(g, x.as_slice::<f32>()?, opt_f32(b, "bias")?, opt_f32(epi.z, "Z")?, &mut y, epi.act)?;
    Tensor::from_vec(shape, y)
}

fn make_conv(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_float(ctx, Kind::Conv, Activation::None, false)
}

fn make_conv_transpose(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    make_float(ctx, Kind::Transpose, Activation::None, false)
}

/// com.microsoft FusedConv: `activation(Conv(X, W, B) + Z)`, with ONNX Runtime's
/// `activation` / `activation_params` attributes (what RONN's optimizer writes
/// for Conv -> [Add ->] activation chains).
fn make_fused_conv(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let params = node.attr_floats("activation_params")?.unwrap_or_default();
    let param = |i: usize, default: f32| params.get(i).copied().unwrap_or(default);
    let act = match node.attr_s("activation")?.as_deref() {
        None | Some("") | Some("Identity") => Activation::None,
        Some("Relu") => Activation::Relu,
        Some("LeakyRelu") => Activation::LeakyRelu { alpha: param(0, 0.01) },
        Some("Clip") => Activation::Clip { min: param(0, f32::NEG_INFINITY), max: param(1, f32::INFINITY) },
        Some("HardSigmoid") => Activation::HardSigmoid { alpha: param(0, 0.2), beta: param(1, 0.5) },
        Some("HardSwish") => Activation::HardSwish,
        Some("Silu") => Activation::Silu,
        Some(other) => {
            return Err(node.unsupported(format!(
                "activation '{other}' (supported: Relu, LeakyRelu, Clip, HardSigmoid, HardSwish, Silu)"
            )))
        }
    };
    make_float(ctx, Kind::Conv, act, true)
}

// ---------------------------------------------------------------- integer / quantized

/// 8-bit tensor minus its zero point (scalar, or one per channel along dim 0 when
/// `per_channel`), as f64.
fn centered(t: &Tensor, zp: Option<&Tensor>, per_channel: bool) -> Result<Vec<f64>> {
    let vals: Vec<f64> = match t.dtype() {
        DType::UInt8 => t.as_slice::<u8>()?.iter().map(|&v| v as f64).collect(),
        DType::Int8 => t.as_slice::<i8>()?.iter().map(|&v| v as f64).collect(),
        d => return Err(Error::TypeMismatch(format!("expected an int8/uint8 tensor, got {d}"))),
    };
    let Some(zp) = zp else { return Ok(vals) };
    if zp.dtype() != t.dtype() {
        return Err(Error::TypeMismatch(format!(
            "zero point type {} differs from input type {}",
            zp.dtype(),
            t.dtype()
        )));
    }
    let z = zp.to_f64_vec()?;
    if z.len() == 1 {
        return Ok(vals.into_iter().map(|v| v - z[0]).collect());
    }
    let ch = t.shape().first().copied().unwrap_or(1);
    if !per_channel || z.len() != ch {
        return Err(Error::ShapeMismatch(format!(
            "zero point has {} elements, expected 1{}",
            z.len(),
            if per_channel { format!(" or {ch}") } else { String::new() }
        )));
    }
    let per = vals.len() / ch.max(1);
    Ok(vals.into_iter().enumerate().map(|(i, v)| v - z[i / per.max(1)]).collect())
}

fn make_conv_integer(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let attrs = parse_attrs(ctx.node)?;
    kernel(move |_ctx, inputs| {
        let x = input(inputs, 0)?;
        let w = input(inputs, 1)?;
        let g = conv_geom(&attrs, x.shape(), w.shape())?;
        let xv = centered(x, opt_input(inputs, 2)?, false)?;
        let wv = centered(w, opt_input(inputs, 3)?, true)?;
        let mut shape = vec![g.batch, g.c_out];
        shape.extend_from_slice(&g.out_spatial);
        let mut y = vec![0f64; shape.iter().product()];
        conv(&g, &xv, &wv, None, &mut y, Activation::None)?;
        output(Tensor::from_vec(shape, y.into_iter().map(|v| v as i32).collect::<Vec<i32>>())?)
    })
}

fn make_qlinear_conv(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let attrs = parse_attrs(ctx.node)?;
    kernel(move |_ctx, inputs| {
        let x = input(inputs, 0)?;
        let xs = input(inputs, 1)?.to_f64_vec()?;
        let x_zp = input(inputs, 2)?;
        let w = input(inputs, 3)?;
        let ws = input(inputs, 4)?.to_f64_vec()?;
        let w_zp = input(inputs, 5)?;
        let ys = input(inputs, 6)?.to_f64_vec()?;
        let y_zp = input(inputs, 7)?;
        let b = opt_input(inputs, 8)?;
        let g = conv_geom(&attrs, x.shape(), w.shape())?;
        let xv = centered(x, Some(x_zp), false)?;
        let wv = centered(w, Some(w_zp), true)?;
        let bias = match b {
            Some(b) => Some(b.to_f64_vec()?),
            None => None,
        };
        let mut shape = vec![g.batch, g.c_out];
        shape.extend_from_slice(&g.out_spatial);
        let mut acc = vec![0f64; shape.iter().product()];
        conv(&g, &xv, &wv, bias.as_deref(), &mut acc, Activation::None)?;
        let (xs, ys) = (
            *xs.first().ok_or_else(|| Error::ShapeMismatch("x_scale is empty".into()))?,
            *ys.first().ok_or_else(|| Error::ShapeMismatch("y_scale is empty".into()))?,
        );
        let yz = *y_zp.to_f64_vec()?.first().ok_or_else(|| Error::ShapeMismatch("y_zero_point is empty".into()))?;
        if ws.len() != 1 && ws.len() != g.c_out {
            return Err(Error::ShapeMismatch(format!("w_scale has {} elements, expected 1 or {}", ws.len(), g.c_out)));
        }
        let (lo, hi) = crate::quantize::output_range(y_zp)?;
        let plane: usize = g.out_spatial.iter().product::<usize>().max(1);
        let q: Vec<f64> = acc
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let m = (i / plane) % g.c_out.max(1);
                let s = if ws.len() == 1 { ws[0] } else { ws[m] };
                ((v * (xs * s / ys) as f32 as f64).round_ties_even() + yz).clamp(lo, hi)
            })
            .collect();
        output(crate::quantize::requantized_tensor(y_zp, shape, q)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_close, run_node, run_node_const};
    use ronn_ir::Attribute;

    fn t32(shape: &[usize], v: Vec<f32>) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v).unwrap()
    }
    fn ints(v: &[i64]) -> Attribute {
        Attribute::Ints(v.to_vec())
    }
    fn iota(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32).collect()
    }

    #[test]
    fn basic_conv_with_and_without_padding() {
        // onnx test_basic_conv_{with,without}_padding
        let x = t32(&[1, 1, 5, 5], iota(25));
        let w = t32(&[1, 1, 3, 3], vec![1.0; 9]);
        let node = Node::new("Conv", &["x", "w"], &["y"], 11).with_attr("kernel_shape", ints(&[3, 3]));
        let padded = node.clone().with_attr("pads", ints(&[1, 1, 1, 1]));
        let y = run_node(&padded, vec![x.clone(), w.clone()]).unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 5, 5]);
        let want = [
            12., 21., 27., 33., 24., 33., 54., 63., 72., 51., 63., 99., 108., 117., 81., 93., 144., 153., 162., 111.,
            72., 111., 117., 123., 84.,
        ];
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &want);
        let y = run_node_const(&node, vec![x, w]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[54., 63., 72., 99., 108., 117., 144., 153., 162.]);
    }

    #[test]
    fn strides_asymmetric_pads_and_auto_pad() {
        // onnx test_conv_with_strides_and_asymmetric_padding: x 7x5, pads [1,0,1,0], strides 2
        let x = t32(&[1, 1, 7, 5], iota(35));
        let w = t32(&[1, 1, 3, 3], vec![1.0; 9]);
        let node = Node::new("Conv", &["x", "w"], &["y"], 11)
            .with_attr("pads", ints(&[1, 0, 1, 0]))
            .with_attr("strides", ints(&[2, 2]));
        let y = run_node(&node, vec![x.clone(), w.clone()]).unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 4, 2]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[21., 33., 99., 117., 189., 207., 171., 183.]);
        // test_conv_with_autopad_same: 5x5, SAME_LOWER, strides 2 -> 3x3
        let x = t32(&[1, 1, 5, 5], iota(25));
        let node = Node::new("Conv", &["x", "w"], &["y"], 11)
            .with_attr("auto_pad", Attribute::String(b"SAME_LOWER".to_vec()))
            .with_attr("strides", ints(&[2, 2]));
        let y = run_node(&node, vec![x.clone(), w.clone()]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[12., 27., 24., 63., 108., 81., 72., 117., 84.]);
        let valid = Node::new("Conv", &["x", "w"], &["y"], 11)
            .with_attr("auto_pad", Attribute::String(b"VALID".to_vec()))
            .with_attr("strides", ints(&[2, 2]));
        let y = run_node(&valid, vec![x, w]).unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 2, 2]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[54., 72., 144., 162.]);
    }

    #[test]
    fn conv_1d_3d_group_bias_dilation_f64() {
        // 1-D: x [1,2,5], w [2,1,2] group 2, dilation 2, bias
        let node = Node::new("Conv", &["x", "w", "b"], &["y"], 11)
            .with_attr("group", Attribute::Int(2))
            .with_attr("dilations", ints(&[2]));
        let x = Tensor::from_vec(vec![1, 2, 5], (0..10).map(|v| v as f64).collect()).unwrap();
        let w = Tensor::from_vec(vec![2, 1, 2], vec![1.0f64, -1.0, 2.0, 0.5]).unwrap();
        let b = Tensor::from_vec(vec![2], vec![10.0f64, 0.0]).unwrap();
        let y = run_node(&node, vec![x, w, b]).unwrap();
        assert_eq!(y[0].shape(), &[1, 2, 3]);
        // ch0: x0-x2 = -2 each +10 -> 8; ch1: 2*x[5+i] + 0.5*x[7+i]
        assert_eq!(y[0].as_slice::<f64>().unwrap(), &[8.0, 8.0, 8.0, 13.5, 16.0, 18.5]);
        // 3-D: x [1,1,3,3,3] ones, w [1,1,2,2,2] ones -> 8 everywhere (2x2x2)
        let node = Node::new("Conv", &["x", "w"], &["y"], 11);
        let y =
            run_node(&node, vec![t32(&[1, 1, 3, 3, 3], vec![1.0; 27]), t32(&[1, 1, 2, 2, 2], vec![1.0; 8])]).unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 2, 2, 2]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[8.0; 8]);
    }

    #[test]
    fn conv_f16_and_errors() {
        let node = Node::new("Conv", &["x", "w"], &["y"], 11);
        let h = |v: Vec<f32>| v.into_iter().map(f16::from_f32).collect::<Vec<_>>();
        let x = Tensor::from_vec(vec![1, 1, 2, 2], h(vec![1., 2., 3., 4.])).unwrap();
        let w = Tensor::from_vec(vec![1, 1, 1, 1], h(vec![2.])).unwrap();
        for y in [run_node(&node, vec![x.clone(), w.clone()]).unwrap(), run_node_const(&node, vec![x, w]).unwrap()] {
            assert_eq!(y[0].as_slice::<f16>().unwrap(), &h(vec![2., 4., 6., 8.])[..]);
        }
        // channel mismatch, rank mismatch, kernel too big, type mismatch, bad attrs
        assert!(run_node(&node, vec![t32(&[1, 2, 3, 3], vec![0.; 18]), t32(&[1, 1, 1, 1], vec![1.])]).is_err());
        assert!(run_node(&node, vec![t32(&[1, 1, 3], vec![0.; 3]), t32(&[1, 1, 1, 1], vec![1.])]).is_err());
        assert!(run_node(&node, vec![t32(&[1, 1, 2, 2], vec![0.; 4]), t32(&[1, 1, 3, 3], vec![1.; 9])]).is_err());
        let x64 = Tensor::from_vec(vec![1, 1, 1, 1], vec![1.0f64]).unwrap();
        assert!(matches!(run_node(&node, vec![x64, t32(&[1, 1, 1, 1], vec![1.])]), Err(Error::TypeMismatch(_))));
        let bad = node.clone().with_attr("auto_pad", Attribute::String(b"FOO".to_vec()));
        assert!(matches!(run_node(&bad, vec![]), Err(Error::Unsupported(_))));
        let bad = node.clone().with_attr("strides", ints(&[0, 1]));
        assert!(matches!(run_node(&bad, vec![]), Err(Error::Unsupported(_))));
    }

    #[test]
    fn depthwise_and_pointwise_paths() {
        // depthwise 3 channels, 3x3 kernel of ones, pad 1 on 4x4 -> compare with per-channel basic conv
        let x = t32(&[1, 3, 4, 4], iota(48));
        let w = t32(&[3, 1, 3, 3], (0..27).map(|i| (i % 5) as f32).collect());
        let node = Node::new("Conv", &["x", "w"], &["y"], 11)
            .with_attr("group", Attribute::Int(3))
            .with_attr("pads", ints(&[1, 1, 1, 1]));
        let y = run_node(&node, vec![x.clone(), w.clone()]).unwrap();
        let single = Node::new("Conv", &["x", "w"], &["y"], 11).with_attr("pads", ints(&[1, 1, 1, 1]));
        let xs = x.as_slice::<f32>().unwrap();
        let ws = w.as_slice::<f32>().unwrap();
        for c in 0..3 {
            let yc = run_node(
                &single,
                vec![
                    t32(&[1, 1, 4, 4], xs[c * 16..(c + 1) * 16].to_vec()),
                    t32(&[1, 1, 3, 3], ws[c * 9..(c + 1) * 9].to_vec()),
                ],
            )
            .unwrap();
            assert_close(&y[0].as_slice::<f32>().unwrap()[c * 16..(c + 1) * 16], yc[0].as_slice::<f32>().unwrap());
        }
        // pointwise: [1,2,1,3] x [3,2,1,1]
        let y = run_node(
            &Node::new("Conv", &["x", "w"], &["y"], 11),
            vec![t32(&[1, 2, 1, 3], vec![1., 2., 3., 4., 5., 6.]), t32(&[3, 2, 1, 1], vec![1., 0., 0., 1., 1., 1.])],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1., 2., 3., 4., 5., 6., 5., 7., 9.]);
    }

    #[test]
    fn conv_transpose_variants() {
        // onnx test_convtranspose_1d
        let node = Node::new("ConvTranspose", &["x", "w"], &["y"], 11);
        let y = run_node(&node, vec![t32(&[1, 1, 3], vec![0., 1., 2.]), t32(&[1, 2, 3], vec![1.; 6])]).unwrap();
        assert_eq!(y[0].shape(), &[1, 2, 5]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[0., 1., 3., 3., 2., 0., 1., 3., 3., 2.]);
        // strides 3 with output_shape (test_convtranspose_output_shape geometry) along 1-D
        let node = Node::new("ConvTranspose", &["x", "w", "b"], &["y"], 11)
            .with_attr("strides", ints(&[3]))
            .with_attr("output_shape", ints(&[10]));
        let y = run_node(
            &node,
            vec![t32(&[1, 1, 3], vec![1., 2., 3.]), t32(&[1, 1, 3], vec![1., 1., 1.]), t32(&[1], vec![0.5])],
        )
        .unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 10]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1.5, 1.5, 1.5, 2.5, 2.5, 2.5, 3.5, 3.5, 3.5, 0.5]);
        // pads + output_padding: natural 3*(3-1)+1+3 = 10, minus pads 1+1 -> 8
        let node = Node::new("ConvTranspose", &["x", "w"], &["y"], 11)
            .with_attr("strides", ints(&[3]))
            .with_attr("pads", ints(&[1, 1]))
            .with_attr("output_padding", ints(&[1]));
        let y = run_node(&node, vec![t32(&[1, 1, 3], vec![1., 2., 3.]), t32(&[1, 1, 3], vec![1., 1., 1.])]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1., 1., 2., 2., 2., 3., 3., 3.]);
        // group 2, SAME_UPPER (output = in * stride = 4)
        let node = Node::new("ConvTranspose", &["x", "w"], &["y"], 11)
            .with_attr("group", Attribute::Int(2))
            .with_attr("strides", ints(&[2]))
            .with_attr("auto_pad", Attribute::String(b"SAME_UPPER".to_vec()));
        let y = run_node(&node, vec![t32(&[1, 2, 2], vec![1., 2., 3., 4.]), t32(&[2, 1, 2], vec![1., 10., 1., -1.])])
            .unwrap();
        assert_eq!(y[0].shape(), &[1, 2, 4]);
        // natural = 2*1+2 = 4, total 0: ch0: [1,10,2,20]; ch1: [3,-3,4,-4]
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1., 10., 2., 20., 3., -3., 4., -4.]);
        assert!(run_node(&node, vec![t32(&[1, 3, 2], vec![0.; 6]), t32(&[2, 1, 2], vec![0.; 4])]).is_err());
    }

    #[test]
    fn conv_integer_and_qlinear() {
        // onnx test_convinteger_without_padding
        let node = Node::new("ConvInteger", &["x", "w", "xz"], &["y"], 10);
        let x = Tensor::from_vec(vec![1, 1, 3, 3], vec![2u8, 3, 4, 5, 6, 7, 8, 9, 10]).unwrap();
        let w = Tensor::from_vec(vec![1, 1, 2, 2], vec![1u8, 1, 1, 1]).unwrap();
        let xz = Tensor::from_vec(vec![], vec![1u8]).unwrap();
        let y = run_node(&node, vec![x.clone(), w.clone(), xz.clone()]).unwrap();
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[12, 16, 24, 28]);
        let padded = node.clone().with_attr("pads", ints(&[1, 1, 1, 1]));
        let y = run_node(&padded, vec![x, w, xz]).unwrap();
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9]);
        // QLinearConv 1x1: x=[10,20] (zp 10, scale 0.5), w=2 (zp 0, scale 1), y scale 0.5 zp 1 -> (0,10)*2*0.5*1/0.5 + 1
        let node = Node::new("QLinearConv", &["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], &["y"], 10);
        let y = run_node(
            &node,
            vec![
                Tensor::from_vec(vec![1, 1, 1, 2], vec![10u8, 20]).unwrap(),
                Tensor::from_vec(vec![], vec![0.5f32]).unwrap(),
                Tensor::from_vec(vec![], vec![10u8]).unwrap(),
                Tensor::from_vec(vec![1, 1, 1, 1], vec![2u8]).unwrap(),
                Tensor::from_vec(vec![], vec![1.0f32]).unwrap(),
                Tensor::from_vec(vec![], vec![0u8]).unwrap(),
                Tensor::from_vec(vec![], vec![0.5f32]).unwrap(),
                Tensor::from_vec(vec![], vec![1u8]).unwrap(),
            ],
        )
        .unwrap();
        assert_eq!(y[0].as_slice::<u8>().unwrap(), &[1, 21]);
    }
}
