//! Recurrent layers: RNN, GRU and LSTM.
//!
//! Spec: <https://onnx.ai/onnx/operators/onnx__LSTM.html> (and `GRU`, `RNN`):
//! directions forward / reverse / bidirectional, `sequence_lens` (steps past a
//! batch entry's length give zeros and keep its state), `initial_h` / `initial_c`,
//! peepholes, `clip`, `input_forget`, GRU's `linear_before_reset`, custom
//! activations with alpha/beta, and `layout` 1 (batch-major, opset 14).
//! Gate order in W/R/B: RNN [i], GRU [z r h], LSTM [i o f c]. Computed in f32
//! (f64 inputs in f64) with one matrix-vector pass per gate group and step.

use crate::helpers::{input, kernel, opt_input, outputs};
use ronn_core::{dispatch_float, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry, Node};

/// Registers RNN, GRU and LSTM.
pub fn register(r: &mut KernelRegistry) {
    r.register_all("RNN", |c| build(c, Cell::Rnn));
    r.register_all("GRU", |c| build(c, Cell::Gru));
    r.register_all("LSTM", |c| build(c, Cell::Lstm));
}

#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Rnn,
    Gru,
    Lstm,
}

impl Cell {
    fn gates(self) -> usize {
        match self {
            Cell::Rnn => 1,
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }
    fn default_acts(self) -> &'static [&'static str] {
        match self {
            Cell::Rnn => &["Tanh"],
            Cell::Gru => &["Sigmoid", "Tanh"],
            Cell::Lstm => &["Sigmoid", "Tanh", "Tanh"],
        }
    }
}

#[derive(Clone, Copy)]
struct Act {
    kind: ActKind,
    alpha: f64,
    beta: f64,
}

#[derive(Clone, Copy)]
enum ActKind {
    Relu,
    Tanh,
    Sigmoid,
    Affine,
    LeakyRelu,
    ThresholdedRelu,
    ScaledTanh,
    HardSigmoid,
    Elu,
    Softsign,
    Softplus,
}

impl Act {
    fn parse(name: &str, alpha: Option<f32>, beta: Option<f32>, node: &Node) -> Result<Act> {
        let (kind, da, db) = match name.to_ascii_lowercase().as_str() {
            "relu" => (ActKind::Relu, 0.0, 0.0),
            "tanh" => (ActKind::Tanh, 0.0, 0.0),
            "sigmoid" => (ActKind::Sigmoid, 0.0, 0.0),
            "affine" => (ActKind::Affine, 1.0, 0.0),
            "leakyrelu" => (ActKind::LeakyRelu, 0.01, 0.0),
            "thresholdedrelu" => (ActKind::ThresholdedRelu, 1.0, 0.0),
            "scaledtanh" => (ActKind::ScaledTanh, 1.0, 1.0),
            "hardsigmoid" => (ActKind::HardSigmoid, 0.2, 0.5),
            "elu" => (ActKind::Elu, 1.0, 0.0),
            "softsign" => (ActKind::Softsign, 0.0, 0.0),
            "softplus" => (ActKind::Softplus, 0.0, 0.0),
            other => return Err(node.unsupported(format!("activation '{other}'"))),
        };
        Ok(Act { kind, alpha: alpha.map_or(da, f64::from), beta: beta.map_or(db, f64::from) })
    }

    fn apply(&self, x: f64) -> f64 {
        let (a, b) = (self.alpha, self.beta);
        match self.kind {
            ActKind::Relu => x.max(0.0),
            ActKind::Tanh => x.tanh(),
            ActKind::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            ActKind::Affine => a * x + b,
            ActKind::LeakyRelu => {
                if x >= 0.0 {
                    x
                } else {
                    a * x
                }
            }
            ActKind::ThresholdedRelu => {
                if x > a {
                    x
                } else {
                    0.0
                }
            }
            ActKind::ScaledTanh => a * (b * x).tanh(),
            ActKind::HardSigmoid => (a * x + b).clamp(0.0, 1.0),
            ActKind::Elu => {
                if x >= 0.0 {
                    x
                } else {
                    a * (x.exp() - 1.0)
                }
            }
            ActKind::Softsign => x / (1.0 + x.abs()),
            ActKind::Softplus => (1.0 + x.exp()).ln(),
        }
    }
}

struct Config {
    cell: Cell,
    hidden: usize,
    dirs: usize,
    reverse_only: bool,
    acts: Vec<Act>,
    clip: Option<f64>,
    layout: i64,
    input_forget: bool,
    linear_before_reset: bool,
}

fn build(ctx: &BuildCtx, cell: Cell) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let direction = n.attr_s_or("direction", "forward")?;
    let (dirs, reverse_only) = match direction.as_str() {
        "forward" => (1, false),
        "reverse" => (1, true),
        "bidirectional" => (2, false),
        other => return Err(n.unsupported(format!("direction '{other}'"))),
    };
    let hidden = n.attr_i("hidden_size")?.ok_or_else(|| n.unsupported("hidden_size is required"))?;
    if hidden <= 0 {
        return Err(n.unsupported(format!("hidden_size {hidden}")));
    }
    let names: Vec<String> = match n.attr_strings("activations")? {
        Some(v) => v,
        None => {
            let d = cell.default_acts();
            (0..dirs).flat_map(|_| d.iter().map(|s| s.to_string())).collect()
        }
    };
    let per = cell.default_acts().len();
    if names.len() != per * dirs {
        return Err(n.unsupported(format!("{} activations given, {} needed", names.len(), per * dirs)));
    }
    let alphas = n.attr_floats("activation_alpha")?.unwrap_or_default();
    let betas = n.attr_floats("activation_beta")?.unwrap_or_default();
    let acts = names
        .iter()
        .enumerate()
        .map(|(i, s)| Act::parse(s, alphas.get(i).copied(), betas.get(i).copied(), n))
        .collect::<Result<Vec<_>>>()?;
    let cfg = Config {
        cell,
        hidden: hidden as usize,
        dirs,
        reverse_only,
        acts,
        clip: n.attr_f("clip")?.map(f64::from),
        layout: n.attr_i_or("layout", 0)?,
        input_forget: n.attr_i_or("input_forget", 0)? != 0,
        linear_before_reset: n.attr_i_or("linear_before_reset", 0)? != 0,
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        dispatch_float!(x.dtype(), T => run::<T>(&cfg, inputs),
            _ => Err(Error::TypeMismatch(format!("{} input must be a float tensor, got {}", "RNN", x.dtype()))))
    })
}

fn vec_of(t: Option<&Tensor>) -> Result<Option<Vec<f64>>> {
    t.map(|t| t.to_f64_vec()).transpose()
}

fn run<T: Element>(c: &Config, inputs: &[Option<&ronn_core::Value>]) -> Result<Vec<ronn_core::Value>> {
    let x = input(inputs, 0)?;
    let (w, r) = (input(inputs, 1)?, input(inputs, 2)?);
    if x.rank() != 3 {
        return Err(Error::ShapeMismatch(format!("X must be rank 3, got {:?}", x.shape())));
    }
    let (seq, batch, isz) = if c.layout == 0 {
        (x.shape()[0], x.shape()[1], x.shape()[2])
    } else {
        (x.shape()[1], x.shape()[0], x.shape()[2])
    };
    let (h, g, d) = (c.hidden, c.cell.gates(), c.dirs);
    if w.shape() != [d, g * h, isz] || r.shape() != [d, g * h, h] {
        return Err(Error::ShapeMismatch(format!(
            "W must be {:?} and R {:?}, got {:?} and {:?}",
            [d, g * h, isz],
            [d, g * h, h],
            w.shape(),
            r.shape()
        )));
    }
    let xv = x.to_f64_vec()?;
    let (wv, rv) = (w.to_f64_vec()?, r.to_f64_vec()?);
    let bv = vec_of(opt_input(inputs, 3)?)?;
    let lens: Vec<usize> = match opt_input(inputs, 4)? {
        Some(t) => t.to_i64_vec()?.into_iter().map(|v| (v.max(0) as usize).min(seq)).collect(),
        None => vec![seq; batch],
    };
    if lens.len() != batch {
        return Err(Error::ShapeMismatch(format!("sequence_lens has {} entries, batch is {batch}", lens.len())));
    }
    let h0 = vec_of(opt_input(inputs, 5)?)?;
    let (c0, peep) = if c.cell == Cell::Lstm {
        (vec_of(opt_input(inputs, 6)?)?, vec_of(opt_input(inputs, 7)?)?)
    } else {
        (None, None)
    };
    // State index helpers for the two layouts of initial_h / Y_h: [d, b, h] or [b, d, h].
    let st = |dir: usize, b: usize| if c.layout == 0 { (dir * batch + b) * h } else { (b * d + dir) * h };
    let xat = |t: usize, b: usize| if c.layout == 0 { (t * batch + b) * isz } else { (b * seq + t) * isz };
    let yat = |t: usize, dir: usize, b: usize| {
        if c.layout == 0 {
            ((t * d + dir) * batch + b) * h
        } else {
            ((b * seq + t) * d + dir) * h
        }
    };
    let mut y = vec![0.0f64; seq * d * batch * h];
    let mut yh = vec![0.0f64; d * batch * h];
    let mut yc = vec![0.0f64; d * batch * h];
    let na = c.cell.default_acts().len();
    let clip = |v: f64| c.clip.map_or(v, |cl| v.clamp(-cl, cl));
    for dir in 0..d {
        let reverse = c.reverse_only || dir == 1;
        let acts = &c.acts[dir * na..(dir + 1) * na];
        let wd = &wv[dir * g * h * isz..(dir + 1) * g * h * isz];
        let rd = &rv[dir * g * h * h..(dir + 1) * g * h * h];
        let bias = |k: usize| bv.as_ref().map_or(0.0, |b| b[dir * 2 * g * h + k]);
        let rbias = |k: usize| bv.as_ref().map_or(0.0, |b| b[dir * 2 * g * h + g * h + k]);
        for b in 0..batch {
            let mut hs: Vec<f64> = h0.as_ref().map_or(vec![0.0; h], |v| v[st(dir, b)..st(dir, b) + h].to_vec());
            let mut cs: Vec<f64> = c0.as_ref().map_or(vec![0.0; h], |v| v[st(dir, b)..st(dir, b) + h].to_vec());
            let len = lens[b];
            for step in 0..len {
                let t = if reverse { len - 1 - step } else { step };
                let xt = &xv[xat(t, b)..xat(t, b) + isz];
                // xw[k] = x_t . W[k] + Wb[k]; hr[k] = h_{t-1} . R[k] + Rb[k] for every gate row k.
                let xw: Vec<f64> = (0..g * h)
                    .map(|k| xt.iter().zip(&wd[k * isz..(k + 1) * isz]).map(|(a, b)| a * b).sum::<f64>() + bias(k))
                    .collect();
                let hr: Vec<f64> = (0..g * h)
                    .map(|k| hs.iter().zip(&rd[k * h..(k + 1) * h]).map(|(a, b)| a * b).sum::<f64>() + rbias(k))
                    .collect();
                let mut next = vec![0.0; h];
                match c.cell {
                    Cell::Rnn => {
                        for j in 0..h {
                            next[j] = acts[0].apply(clip(xw[j] + hr[j]));
                        }
                    }
                    Cell::Gru => {
                        let z: Vec<f64> = (0..h).map(|j| acts[0].apply(clip(xw[j] + hr[j]))).collect();
                        let rg: Vec<f64> = (0..h).map(|j| acts[0].apply(clip(xw[h + j] + hr[h + j]))).collect();
                        let rh: Vec<f64> = rg.iter().zip(&hs).map(|(a, b)| a * b).collect();
                        for j in 0..h {
                            let cand = if c.linear_before_reset {
                                xw[2 * h + j] + rg[j] * hr[2 * h + j]
                            } else {
                                let row = &rd[(2 * h + j) * h..(2 * h + j + 1) * h];
                                xw[2 * h + j] + rh.iter().zip(row).map(|(a, b)| a * b).sum::<f64>() + rbias(2 * h + j)
                            };
                            let hc = acts[1].apply(clip(cand));
                            next[j] = (1.0 - z[j]) * hc + z[j] * hs[j];
                        }
                    }
                    Cell::Lstm => {
                        let p = |k: usize, j: usize| peep.as_ref().map_or(0.0, |p| p[dir * 3 * h + k * h + j]);
                        let mut nc = vec![0.0; h];
                        for j in 0..h {
                            let i = acts[0].apply(clip(xw[j] + hr[j] + p(0, j) * cs[j]));
                            let f = if c.input_forget {
                                1.0 - i
                            } else {
                                acts[0].apply(clip(xw[2 * h + j] + hr[2 * h + j] + p(2, j) * cs[j]))
                            };
                            let cc = acts[1].apply(clip(xw[3 * h + j] + hr[3 * h + j]));
                            nc[j] = f * cs[j] + i * cc;
                            let o = acts[0].apply(clip(xw[h + j] + hr[h + j] + p(1, j) * nc[j]));
                            next[j] = o * acts[2].apply(nc[j]);
                        }
                        cs = nc;
                    }
                }
                hs = next;
                y[yat(t, dir, b)..yat(t, dir, b) + h].copy_from_slice(&hs);
            }
            yh[st(dir, b)..st(dir, b) + h].copy_from_slice(&hs);
            yc[st(dir, b)..st(dir, b) + h].copy_from_slice(&cs);
        }
    }
    let yshape = if c.layout == 0 { vec![seq, d, batch, h] } else { vec![batch, seq, d, h] };
    let sshape = if c.layout == 0 { vec![d, batch, h] } else { vec![batch, d, h] };
    let mk =
        |shape: Vec<usize>, v: Vec<f64>| Tensor::from_vec(shape, v.into_iter().map(T::from_f64).collect::<Vec<T>>());
    let mut outs = vec![mk(yshape, y)?, mk(sshape.clone(), yh)?];
    if c.cell == Cell::Lstm {
        outs.push(mk(sshape, yc)?);
    }
    outputs(outs)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    #[test]
    fn rnn_one_step_matches_hand_computation() {
        // X [1,1,2], W [1,1,2], R [1,1,1]: h1 = tanh(x.w) = tanh(0.5)
        let x = Tensor::from_vec(vec![1, 1, 2], vec![1.0f32, 0.5]).unwrap();
        let w = Tensor::from_vec(vec![1, 1, 2], vec![0.25f32, 0.5]).unwrap();
        let r = Tensor::from_vec(vec![1, 1, 1], vec![1.0f32]).unwrap();
        let n = Node::new("RNN", &["x", "w", "r"], &["y", "yh"], 14).with_attr("hidden_size", Attribute::Int(1));
        let out = run_node(&n, vec![x, w, r]).unwrap();
        assert!((out[1].as_slice::<f32>().unwrap()[0] - 0.5f32.tanh()).abs() < 1e-6);
        assert_eq!(out[0].shape(), &[1, 1, 1, 1]);
    }

    #[test]
    fn lstm_shapes_and_bidirectional_outputs() {
        let (seq, b, i, h) = (3, 2, 4, 5);
        let x = Tensor::full(vec![seq, b, i], 0.1f32).unwrap();
        let w = Tensor::full(vec![2, 4 * h, i], 0.1f32).unwrap();
        let r = Tensor::full(vec![2, 4 * h, h], 0.1f32).unwrap();
        let n = Node::new("LSTM", &["x", "w", "r"], &["y", "yh", "yc"], 14)
            .with_attr("hidden_size", Attribute::Int(h as i64))
            .with_attr("direction", Attribute::String(b"bidirectional".to_vec()));
        let out = run_node(&n, vec![x, w, r]).unwrap();
        assert_eq!(out[0].shape(), &[seq, 2, b, h]);
        assert_eq!(out[1].shape(), &[2, b, h]);
        assert_eq!(out[2].shape(), &[2, b, h]);
        // Constant inputs: the forward direction's last step equals the reverse's last step.
        let y = out[0].as_slice::<f32>().unwrap();
        let yh = out[1].as_slice::<f32>().unwrap();
        assert_eq!(&y[(2 * 2) * b * h..(2 * 2) * b * h + h], &yh[..h]);
    }

    #[test]
    fn wrong_weight_shape_is_an_error() {
        let x = Tensor::full(vec![1, 1, 2], 0.1f32).unwrap();
        let w = Tensor::full(vec![1, 3, 2], 0.1f32).unwrap();
        let r = Tensor::full(vec![1, 1, 1], 0.1f32).unwrap();
        let n = Node::new("GRU", &["x", "w", "r"], &["y"], 14).with_attr("hidden_size", Attribute::Int(2));
        assert!(run_node(&n, vec![x, w, r]).is_err());
    }
}
