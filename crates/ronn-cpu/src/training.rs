//! Optimizer operators of the `ai.onnx.preview.training` domain (opset 1):
//! Adagrad, Adam, Momentum (standard and nesterov).
//!
//! Spec: <https://onnx.ai/onnx/operators/> (domain ai.onnx.preview.training).
//! Each takes the learning rate R and the step count T (int64 scalars), then n
//! tensors X, n gradients G and n (or 2n for Adam) optimizer states, and
//! returns the n updated X then the updated states. Attributes:
//! - Adagrad: `decay_factor`, `epsilon`, `norm_coefficient`.
//! - Adam: `alpha`, `beta`, `epsilon`, `norm_coefficient`, `norm_coefficient_post`.
//! - Momentum: `alpha`, `beta`, `mode` ("standard" | "nesterov"), `norm_coefficient`.
//!
//! X, G and the states are f32 or f64 (computed in f64, returned in X's type).
//!
//! Also [`dropout_training`]: Dropout with `training_mode` true, drawing its mask
//! from numpy's legacy generator (MT19937 seeded like `np.random.seed(seed)`,
//! `uniform(0, 1) >= ratio`), which is how the ONNX suite's expected outputs
//! were made. Dropout itself is registered elsewhere (shape.rs); this is the
//! training path for it to call.

use crate::helpers::{input, outputs};
use ronn_core::{DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

const TRAINING: &str = "ai.onnx.preview.training";

/// Registers the optimizers.
pub fn register(r: &mut KernelRegistry) {
    r.register(TRAINING, "Adagrad", 1, i64::MAX, build_adagrad);
    r.register(TRAINING, "Adam", 1, i64::MAX, build_adam);
    r.register(TRAINING, "Momentum", 1, i64::MAX, build_momentum);
}

/// A scalar input as f64 (R) or i64 (T).
fn scalar_f64(t: &Tensor, what: &str) -> Result<f64> {
    if t.len() != 1 {
        return Err(Error::ShapeMismatch(format!("{what} must be a scalar, has {} elements", t.len())));
    }
    Ok(t.to_f64_vec()?[0])
}

/// Reads the groups of inputs after R and T: `groups` lists of n tensors each,
/// all with X's shape, as f64 vectors. Returns (n, per-group per-tensor data, dtypes, shapes).
struct Groups {
    n: usize,
    data: Vec<Vec<Vec<f64>>>,
    dtypes: Vec<DType>,
    shapes: Vec<Vec<usize>>,
}

fn read_groups(op: &str, inputs: &[Option<&ronn_core::Value>], groups: usize) -> Result<Groups> {
    let rest = inputs.len().saturating_sub(2);
    if rest == 0 || rest % groups != 0 {
        return Err(Error::InvalidArgument(format!(
            "{op} expects R, T and {groups} groups of n tensors, got {} inputs",
            inputs.len()
        )));
    }
    let n = rest / groups;
    let mut data = Vec::with_capacity(groups);
    let mut dtypes = Vec::with_capacity(n);
    let mut shapes = Vec::with_capacity(n);
    for i in 0..n {
        let x = input(inputs, 2 + i)?;
        if !matches!(x.dtype(), DType::Float32 | DType::Float64) {
            return Err(Error::TypeMismatch(format!("{op} tensors must be float or double, got {}", x.dtype())));
        }
        dtypes.push(x.dtype());
        shapes.push(x.shape().to_vec());
    }
    for g in 0..groups {
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let t = input(inputs, 2 + g * n + i)?;
            if t.shape() != shapes[i].as_slice() {
                return Err(Error::ShapeMismatch(format!(
                    "{op}: input {} has shape {:?}, its X has {:?}",
                    2 + g * n + i,
                    t.shape(),
                    shapes[i]
                )));
            }
            v.push(t.to_f64_vec()?);
        }
        data.push(v);
    }
    Ok(Groups { n, data, dtypes, shapes })
}

impl Groups {
    fn tensor(&self, i: usize, v: Vec<f64>) -> Result<Tensor> {
        Tensor::from_vec(self.shapes[i].clone(), v)?.cast(self.dtypes[i])
    }
}

fn r_and_t(inputs: &[Option<&ronn_core::Value>]) -> Result<(f64, i64)> {
    let r = scalar_f64(input(inputs, 0)?, "R")?;
    let t = input(inputs, 1)?;
    if t.len() != 1 || !t.dtype().is_int() {
        return Err(Error::TypeMismatch(format!(
            "T must be an int64 scalar, got {} of shape {:?}",
            t.dtype(),
            t.shape()
        )));
    }
    Ok((r, t.to_i64_vec()?[0]))
}

fn build_adagrad(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let decay = n.attr_f_or("decay_factor", 0.0)? as f64;
    let eps = n.attr_f_or("epsilon", 1e-6)? as f64;
    let norm = n.attr_f_or("norm_coefficient", 0.0)? as f64;
    crate::helpers::kernel(move |_, inputs| {
        let (r, t) = r_and_t(inputs)?;
        let g = read_groups("Adagrad", inputs, 3)?;
        let r = r / (1.0 + t as f64 * decay);
        let (mut xs, mut hs) = (Vec::with_capacity(g.n), Vec::with_capacity(g.n));
        for i in 0..g.n {
            let (x, gr, h) = (&g.data[0][i], &g.data[1][i], &g.data[2][i]);
            let mut xn = Vec::with_capacity(x.len());
            let mut hn = Vec::with_capacity(x.len());
            for k in 0..x.len() {
                let gg = norm * x[k] + gr[k];
                let h2 = h[k] + gg * gg;
                xn.push(x[k] - r * gg / (h2.sqrt() + eps));
                hn.push(h2);
            }
            xs.push(g.tensor(i, xn)?);
            hs.push(g.tensor(i, hn)?);
        }
        xs.extend(hs);
        outputs(xs)
    })
}

fn build_adam(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let alpha = n.attr_f_or("alpha", 0.9)? as f64;
    let beta = n.attr_f_or("beta", 0.999)? as f64;
    let eps = n.attr_f_or("epsilon", 1e-6)? as f64;
    let norm = n.attr_f_or("norm_coefficient", 0.0)? as f64;
    let norm_post = n.attr_f_or("norm_coefficient_post", 0.0)? as f64;
    crate::helpers::kernel(move |_, inputs| {
        let (r, t) = r_and_t(inputs)?;
        let g = read_groups("Adam", inputs, 4)?;
        let r = if t > 0 {
            let tf = t as f64;
            r * (1.0 - beta.powf(tf)).sqrt() / (1.0 - alpha.powf(tf))
        } else {
            r
        };
        let (mut xs, mut vs, mut hs) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..g.n {
            let (x, gr, v, h) = (&g.data[0][i], &g.data[1][i], &g.data[2][i], &g.data[3][i]);
            let (mut xn, mut vn, mut hn) =
                (Vec::with_capacity(x.len()), Vec::with_capacity(x.len()), Vec::with_capacity(x.len()));
            for k in 0..x.len() {
                let gg = norm * x[k] + gr[k];
                let v2 = alpha * v[k] + (1.0 - alpha) * gg;
                let h2 = beta * h[k] + (1.0 - beta) * gg * gg;
                let x2 = x[k] - r * v2 / (h2.sqrt() + eps);
                xn.push((1.0 - norm_post) * x2);
                vn.push(v2);
                hn.push(h2);
            }
            xs.push(g.tensor(i, xn)?);
            vs.push(g.tensor(i, vn)?);
            hs.push(g.tensor(i, hn)?);
        }
        xs.extend(vs);
        xs.extend(hs);
        outputs(xs)
    })
}

fn build_momentum(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let alpha = n.attr_f("alpha")?.ok_or_else(|| n.unsupported("Momentum needs the 'alpha' attribute"))? as f64;
    let beta = n.attr_f("beta")?.ok_or_else(|| n.unsupported("Momentum needs the 'beta' attribute"))? as f64;
    let norm = n.attr_f("norm_coefficient")?.ok_or_else(|| n.unsupported("Momentum needs 'norm_coefficient'"))? as f64;
    let nesterov = match n.attr_s("mode")?.as_deref() {
        Some("standard") => false,
        Some("nesterov") => true,
        Some(m) => return Err(n.unsupported(format!("mode must be 'standard' or 'nesterov', got '{m}'"))),
        None => return Err(n.unsupported("Momentum needs the 'mode' attribute")),
    };
    crate::helpers::kernel(move |_, inputs| {
        let (r, t) = r_and_t(inputs)?;
        let g = read_groups("Momentum", inputs, 3)?;
        let beta_adj = if t > 0 { beta } else { 1.0 };
        let (mut xs, mut vs) = (Vec::new(), Vec::new());
        for i in 0..g.n {
            let (x, gr, v) = (&g.data[0][i], &g.data[1][i], &g.data[2][i]);
            let (mut xn, mut vn) = (Vec::with_capacity(x.len()), Vec::with_capacity(x.len()));
            for k in 0..x.len() {
                let gg = norm * x[k] + gr[k];
                let v2 = alpha * v[k] + beta_adj * gg;
                xn.push(if nesterov { x[k] - r * (gg + alpha * v2) } else { x[k] - r * v2 });
                vn.push(v2);
            }
            xs.push(g.tensor(i, xn)?);
            vs.push(g.tensor(i, vn)?);
        }
        xs.extend(vs);
        outputs(xs)
    })
}

/// numpy's legacy `RandomState` (MT19937) for `np.random.seed(seed)` followed
/// by `random_sample` draws (53-bit doubles in [0, 1)).
pub struct NumpyMt {
    state: [u32; 624],
    pos: usize,
}

impl NumpyMt {
    /// `np.random.seed(seed)` (init_genrand).
    pub fn new(seed: u32) -> NumpyMt {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let p = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(p ^ (p >> 30)).wrapping_add(i as u32);
        }
        NumpyMt { state, pos: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.pos >= 624 {
            for i in 0..624 {
                let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
                let mut v = self.state[(i + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.state[i] = v;
            }
            self.pos = 0;
        }
        let mut y = self.state[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `np.random.random_sample()`: a double in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }
}

/// Dropout in training mode: `mask = uniform(0, 1) >= ratio` from numpy's
/// generator seeded with `seed`, `y = x * mask / (1 - ratio)` (ratio 1 gives
/// zeros). Returns (y in x's float type, bool mask).
pub fn dropout_training(x: &Tensor, ratio: f64, seed: u32) -> Result<(Tensor, Tensor)> {
    if !(0.0..=1.0).contains(&ratio) {
        return Err(Error::InvalidArgument(format!("Dropout ratio must be in [0, 1], got {ratio}")));
    }
    let dt = x.dtype();
    if !matches!(dt, DType::Float32 | DType::Float64 | DType::Float16 | DType::BFloat16) {
        return Err(Error::TypeMismatch(format!("Dropout takes a float tensor, got {dt}")));
    }
    let mut rng = NumpyMt::new(seed);
    let mask: Vec<bool> = (0..x.len()).map(|_| rng.next_f64() >= ratio).collect();
    let scale = if ratio < 1.0 { 1.0 / (1.0 - ratio) } else { 0.0 };
    let y: Vec<f64> = x.to_f64_vec()?.iter().zip(&mask).map(|(&v, &m)| if m { v * scale } else { 0.0 * v }).collect();
    Ok((Tensor::from_vec(x.shape().to_vec(), y)?.cast(dt)?, Tensor::from_vec(x.shape().to_vec(), mask)?))
}

#[cfg(test)]
mod tests {
    use crate::testing::{assert_close, run_node};
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn node(op: &str, ins: &[&str], outs: &[&str]) -> Node {
        let mut n = Node::new(op, ins, outs, 1);
        n.domain = "ai.onnx.preview.training".into();
        n
    }

    fn v(x: &[f32]) -> Tensor {
        Tensor::from_vec(vec![x.len()], x.to_vec()).unwrap()
    }

    fn rt() -> Vec<Tensor> {
        vec![Tensor::scalar(0.1f32), Tensor::scalar(0i64)]
    }

    #[test]
    fn numpy_mt_matches_numpy() {
        // np.random.seed(0); np.random.random_sample(3)
        let mut r = super::NumpyMt::new(0);
        let got: Vec<f64> = (0..3).map(|_| r.next_f64()).collect();
        for (g, w) in got.iter().zip([0.5488135039273248, 0.7151893663724195, 0.6027633760716439]) {
            assert!((g - w).abs() < 1e-15, "{g} vs {w}");
        }
        let x = Tensor::from_vec(vec![4], vec![1f32, 2., 3., 4.]).unwrap();
        let (y, m) = super::dropout_training(&x, 0.55, 0).unwrap();
        // draws 0.549, 0.715, 0.603, 0.545 against 0.55 -> drop, keep, keep, drop
        assert_eq!(m.as_slice::<bool>().unwrap(), &[false, true, true, false]);
        assert_close(y.as_slice::<f32>().unwrap(), &[0., 2. / 0.45, 3. / 0.45, 0.]);
        assert!(super::dropout_training(&x, 1.5, 0).is_err());
    }

    #[test]
    fn adagrad_multiple() {
        // test_adagrad_multiple (values from onnx's reference).
        let n = node("Adagrad", &["R", "T", "X1", "X2", "G1", "G2", "H1", "H2"], &["a", "b", "c", "d"])
            .with_attr("decay_factor", Attribute::Float(0.1))
            .with_attr("epsilon", Attribute::Float(1e-5))
            .with_attr("norm_coefficient", Attribute::Float(0.001));
        let mut ins = rt();
        ins.extend([v(&[1.0]), v(&[1.0, 2.0]), v(&[-1.0]), v(&[-1.0, -3.0]), v(&[2.0]), v(&[4.0, 1.0])]);
        let y = run_node(&n, ins).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[1.0576962]);
        assert_close(y[1].as_slice::<f32>().unwrap(), &[1.0446854, 2.0948617]);
        assert_close(y[2].as_slice::<f32>().unwrap(), &[2.998001]);
        assert_close(y[3].as_slice::<f32>().unwrap(), &[4.998001, 9.988004]);
    }

    #[test]
    fn adam_and_errors() {
        let n = node("Adam", &["R", "T", "X", "G", "V", "H"], &["x", "v", "h"])
            .with_attr("alpha", Attribute::Float(0.95))
            .with_attr("beta", Attribute::Float(0.1))
            .with_attr("epsilon", Attribute::Float(1e-7))
            .with_attr("norm_coefficient", Attribute::Float(0.001));
        let mut ins = rt();
        ins.extend([v(&[1.2, 2.8]), v(&[-0.94, -2.5]), v(&[1.7, 3.6]), v(&[0.1, 0.1])]);
        let y = run_node(&n, ins.clone()).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[1.0250363, 2.6610327]);
        assert_close(y[1].as_slice::<f32>().unwrap(), &[1.56806, 3.2951398]);
        assert_close(y[2].as_slice::<f32>().unwrap(), &[0.8032108, 5.622407]);
        // a state with the wrong shape is an error, not a panic
        ins[5] = v(&[0.1]);
        assert!(run_node(&n, ins.clone()).is_err());
        ins.pop();
        assert!(run_node(&n, ins).is_err());
    }

    #[test]
    fn momentum_modes() {
        let base = |mode: &str, beta: f32, norm: f32| {
            node("Momentum", &["R", "T", "X", "G", "V"], &["x", "v"])
                .with_attr("alpha", Attribute::Float(0.95))
                .with_attr("beta", Attribute::Float(beta))
                .with_attr("mode", Attribute::String(mode.as_bytes().to_vec()))
                .with_attr("norm_coefficient", Attribute::Float(norm))
        };
        let ins = || {
            let mut i = rt();
            i.extend([v(&[1.2, 2.8]), v(&[-0.94, -2.5]), v(&[1.7, 3.6])]);
            i
        };
        let y = run_node(&base("standard", 0.1, 0.001), ins()).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[1.13238, 2.70772]);
        assert_close(y[1].as_slice::<f32>().unwrap(), &[0.6762, 0.9228]);
        let y = run_node(&base("nesterov", 1.0, 0.01), ins()).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[1.227535, 2.95714]);
        assert_close(y[1].as_slice::<f32>().unwrap(), &[0.687, 0.948]);
        assert!(run_node(&base("heavy", 1.0, 0.01), ins()).is_err());
    }
}
