//! Signal processing: DFT, STFT, HannWindow, HammingWindow, BlackmanWindow,
//! MelWeightMatrix.
//!
//! - DFT (opsets 17, 20): real `[..., 1]` or complex `[..., 2]` input; opset 17
//!   reads `axis` as an attribute (default 1), opset 20 as input 2 (default -2);
//!   `dft_length` input (zero-pads or truncates), `inverse` (scaled by 1/n),
//!   `onesided` (forward: the first n/2+1 bins; inverse: a Hermitian spectrum to a
//!   real `[..., 1]` signal, like numpy's irfft, as onnx's reference does).
//! - STFT (opset 17): `signal [B, L, 1|2]`, `frame_step`, optional `window`,
//!   optional `frame_length`, `onesided` (default 1); output `[B, frames, bins, 2]`.
//! - Hann/Hamming/BlackmanWindow (opset 17): `periodic`, `output_datatype`.
//! - MelWeightMatrix (opset 17): `[dft_length/2+1, num_mel_bins]` triangular
//!   filters as onnx's reference computes them; `output_datatype`.
//!
//! The FFT is RONN's own (no FFT crate is available offline): iterative radix-2
//! for power-of-two lengths, Bluestein's chirp-z (over a radix-2 FFT) for other
//! lengths above 32, and a direct O(n²) sum with a twiddle table for short
//! lengths. Everything computes in f64 and is cast to the output element type.
//! Spec: <https://onnx.ai/onnx/operators/onnx__DFT.html>,
//! <https://onnx.ai/onnx/operators/onnx__STFT.html>,
//! <https://onnx.ai/onnx/operators/onnx__HannWindow.html>,
//! <https://onnx.ai/onnx/operators/onnx__MelWeightMatrix.html>.

use crate::helpers::{input, ints_of, kernel, opt_input, output};
use crate::sampling::from_f64;
use ronn_core::{DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use std::f64::consts::PI;

/// Registers DFT, STFT, the window generators and MelWeightMatrix.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "DFT", 17, i64::MAX, build_dft);
    r.register("", "STFT", 17, i64::MAX, build_stft);
    r.register("", "HannWindow", 17, i64::MAX, |c| build_window(c, Window::Hann));
    r.register("", "HammingWindow", 17, i64::MAX, |c| build_window(c, Window::Hamming));
    r.register("", "BlackmanWindow", 17, i64::MAX, |c| build_window(c, Window::Blackman));
    r.register("", "MelWeightMatrix", 17, i64::MAX, build_mel);
}

type Cx = (f64, f64);

fn cmul(a: Cx, b: Cx) -> Cx {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// A planned unnormalized DFT of length `n`: `X[k] = sum_j x[j] e^{sign 2 pi i jk/n}`.
struct Fft {
    n: usize,
    kind: FftKind,
}

enum FftKind {
    /// Radix-2: twiddles for k < n/2.
    Pow2(Vec<Cx>),
    /// Direct sum: full twiddle table.
    Direct(Vec<Cx>),
    /// Bluestein: chirp w_k, the FFT of the convolution kernel, and the inner radix-2 plans.
    Bluestein { chirp: Vec<Cx>, kernel_fft: Vec<Cx>, fwd: Box<Fft>, inv: Box<Fft> },
}

impl Fft {
    fn new(n: usize, sign: f64) -> Fft {
        let tw = |len: usize, count: usize| -> Vec<Cx> {
            (0..count)
                .map(|k| {
                    let a = sign * 2.0 * PI * k as f64 / len as f64;
                    (a.cos(), a.sin())
                })
                .collect()
        };
        let kind = if n.is_power_of_two() {
            FftKind::Pow2(tw(n, n / 2))
        } else if n <= 32 {
            FftKind::Direct(tw(n, n))
        } else {
            let m = (2 * n - 1).next_power_of_two();
            let chirp: Vec<Cx> = (0..n)
                .map(|k| {
                    // k² mod 2n keeps the angle small and exact.
                    let k2 = ((k as u128 * k as u128) % (2 * n as u128)) as f64;
                    let a = sign * PI * k2 / n as f64;
                    (a.cos(), a.sin())
                })
                .collect();
            let fwd = Fft::new(m, -1.0);
            let inv = Fft::new(m, 1.0);
            let mut b = vec![(0.0, 0.0); m];
            for k in 0..n {
                let c = (chirp[k].0, -chirp[k].1);
                b[k] = c;
                if k > 0 {
                    b[m - k] = c;
                }
            }
            fwd.run(&mut b);
            FftKind::Bluestein { chirp, kernel_fft: b, fwd: Box::new(fwd), inv: Box::new(inv) }
        };
        Fft { n, kind }
    }

    /// Transforms `a` (length n) in place.
    fn run(&self, a: &mut [Cx]) {
        let n = self.n;
        match &self.kind {
            FftKind::Pow2(tw) => {
                if n <= 1 {
                    return;
                }
                let bits = n.trailing_zeros();
                for i in 0..n {
                    let j = i.reverse_bits() >> (usize::BITS - bits);
                    if j > i {
                        a.swap(i, j);
                    }
                }
                let mut len = 2;
                while len <= n {
                    let half = len / 2;
                    let step = n / len;
                    for chunk in a.chunks_mut(len) {
                        for j in 0..half {
                            let u = chunk[j];
                            let v = cmul(chunk[j + half], tw[j * step]);
                            chunk[j] = (u.0 + v.0, u.1 + v.1);
                            chunk[j + half] = (u.0 - v.0, u.1 - v.1);
                        }
                    }
                    len *= 2;
                }
            }
            FftKind::Direct(tw) => {
                let x: Vec<Cx> = a.to_vec();
                for (k, out) in a.iter_mut().enumerate() {
                    let mut s = (0.0, 0.0);
                    for (j, v) in x.iter().enumerate() {
                        let t = cmul(*v, tw[(j * k) % n]);
                        s.0 += t.0;
                        s.1 += t.1;
                    }
                    *out = s;
                }
            }
            FftKind::Bluestein { chirp, kernel_fft, fwd, inv } => {
                let m = fwd.n;
                let mut buf = vec![(0.0, 0.0); m];
                for k in 0..n {
                    buf[k] = cmul(a[k], chirp[k]);
                }
                fwd.run(&mut buf);
                for (v, k) in buf.iter_mut().zip(kernel_fft) {
                    *v = cmul(*v, *k);
                }
                inv.run(&mut buf);
                let scale = 1.0 / m as f64;
                for k in 0..n {
                    let c = cmul(buf[k], chirp[k]);
                    a[k] = (c.0 * scale, c.1 * scale);
                }
            }
        }
    }
}

fn scalar_i64(t: &Tensor, what: &str) -> Result<i64> {
    let v = ints_of(t)?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => Err(Error::ShapeMismatch(format!("{what} must be a scalar (one integer); got shape {:?}", t.shape()))),
    }
}

fn scalar_f64(t: &Tensor, what: &str) -> Result<f64> {
    let v = t.to_f64_vec()?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => Err(Error::ShapeMismatch(format!("{what} must be a scalar; got shape {:?}", t.shape()))),
    }
}

fn flag(ctx: &BuildCtx, name: &str, default: i64) -> Result<bool> {
    match ctx.node.attr_i_or(name, default)? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(ctx.node.unsupported(format!("{name} {v} (expected 0 or 1)"))),
    }
}

fn build_dft(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let opset = ctx.node.opset;
    let inverse = flag(ctx, "inverse", 0)?;
    let onesided = flag(ctx, "onesided", 0)?;
    let axis_attr = ctx.node.attr_i_or("axis", 1)?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        if !x.dtype().is_float() {
            return Err(Error::TypeMismatch(format!("DFT input must be a float tensor, got {}", x.dtype())));
        }
        let shape = x.shape();
        let r = shape.len();
        if r < 2 || !(shape[r - 1] == 1 || shape[r - 1] == 2) {
            return Err(Error::ShapeMismatch(format!(
                "DFT input must be [..., signal dims, 1 or 2] of rank >= 2; got {shape:?}"
            )));
        }
        let axis = if opset >= 20 {
            match opt_input(inputs, 2)? {
                Some(t) => scalar_i64(t, "DFT axis")?,
                None => -2,
            }
        } else {
            axis_attr
        };
        let a = if axis < 0 { axis + r as i64 } else { axis };
        if a < 0 || a >= r as i64 - 1 {
            return Err(Error::InvalidArgument(format!(
                "DFT axis {axis} out of range for input rank {r} (accepted: [-{r}, -2] or [0, {}])",
                r - 2
            )));
        }
        let a = a as usize;
        let len_in = shape[a];
        let n = match opt_input(inputs, 1)? {
            Some(t) => {
                let v = scalar_i64(t, "DFT dft_length")?;
                if v < 1 {
                    return Err(Error::InvalidArgument(format!("DFT dft_length must be positive; got {v}")));
                }
                v as usize
            }
            None if inverse && onesided => 2 * len_in.saturating_sub(1),
            None => len_in,
        };
        if n == 0 {
            return Err(Error::InvalidArgument(format!("DFT length is 0 for input {shape:?}")));
        }
        let (out_len, out_comps) = match (inverse, onesided) {
            (false, true) => (n / 2 + 1, 2),
            (true, true) => (n, 1),
            _ => (n, 2),
        };
        let comps = shape[r - 1];
        let outer: usize = shape[..a].iter().product();
        let inner: usize = shape[a + 1..r - 1].iter().product();
        let xv = x.to_f64_vec()?;
        let mut out = vec![0.0f64; outer * out_len * inner * out_comps];
        let plan = Fft::new(n, if inverse { 1.0 } else { -1.0 });
        let scale = if inverse { 1.0 / n as f64 } else { 1.0 };
        let mut buf = vec![(0.0, 0.0); n];
        for o in 0..outer {
            for j in 0..inner {
                let at = |i: usize, c: usize| xv[((o * len_in + i) * inner + j) * comps + c];
                let get = |i: usize| -> Cx {
                    if i < len_in {
                        (at(i, 0), if comps == 2 { at(i, 1) } else { 0.0 })
                    } else {
                        (0.0, 0.0)
                    }
                };
                if inverse && onesided {
                    // Hermitian extension of the first n/2+1 bins (numpy irfft).
                    for (k, slot) in buf.iter_mut().enumerate() {
                        *slot = if k <= n / 2 {
                            get(k)
                        } else {
                            let v = get(n - k);
                            (v.0, -v.1)
                        };
                    }
                    buf[0].1 = 0.0;
                    if n % 2 == 0 {
                        buf[n / 2].1 = 0.0;
                    }
                } else {
                    for (i, slot) in buf.iter_mut().enumerate() {
                        *slot = get(i);
                    }
                }
                plan.run(&mut buf);
                for (k, v) in buf.iter().take(out_len).enumerate() {
                    let base = ((o * out_len + k) * inner + j) * out_comps;
                    out[base] = v.0 * scale;
                    if out_comps == 2 {
                        out[base + 1] = v.1 * scale;
                    }
                }
            }
        }
        let mut oshape = shape.to_vec();
        oshape[a] = out_len;
        oshape[r - 1] = out_comps;
        output(from_f64(oshape, out, x.dtype())?)
    })
}

fn build_stft(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let onesided = flag(ctx, "onesided", 1)?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        if !x.dtype().is_float() {
            return Err(Error::TypeMismatch(format!("STFT signal must be a float tensor, got {}", x.dtype())));
        }
        let shape = x.shape();
        if shape.len() != 3 || !(shape[2] == 1 || shape[2] == 2) {
            return Err(Error::ShapeMismatch(format!("STFT signal must be [batch, length, 1 or 2]; got {shape:?}")));
        }
        let (batch, len, comps) = (shape[0], shape[1], shape[2]);
        let step = scalar_i64(input(inputs, 1)?, "STFT frame_step")?;
        if step < 1 {
            return Err(Error::InvalidArgument(format!("STFT frame_step must be positive; got {step}")));
        }
        let window = opt_input(inputs, 2)?.map(|w| w.to_f64_vec()).transpose()?;
        let fl = match opt_input(inputs, 3)? {
            Some(t) => scalar_i64(t, "STFT frame_length")?,
            None => window.as_ref().map_or(len as i64, |w| w.len() as i64),
        };
        if fl < 1 || fl as usize > len {
            return Err(Error::InvalidArgument(format!("STFT frame_length {fl} must be in [1, {len}]")));
        }
        let fl = fl as usize;
        if let Some(w) = &window {
            if w.len() != fl {
                return Err(Error::ShapeMismatch(format!("STFT window has {} values; frame_length is {fl}", w.len())));
            }
        }
        let frames = 1 + (len - fl) / step as usize;
        let bins = if onesided { fl / 2 + 1 } else { fl };
        let xv = x.to_f64_vec()?;
        let plan = Fft::new(fl, -1.0);
        let mut out = vec![0.0f64; batch * frames * bins * 2];
        let mut buf = vec![(0.0, 0.0); fl];
        for b in 0..batch {
            for f in 0..frames {
                let start = f * step as usize;
                for (i, slot) in buf.iter_mut().enumerate() {
                    let p = (b * len + start + i) * comps;
                    let w = window.as_ref().map_or(1.0, |w| w[i]);
                    *slot = (xv[p] * w, if comps == 2 { xv[p + 1] * w } else { 0.0 });
                }
                plan.run(&mut buf);
                let o = &mut out[(b * frames + f) * bins * 2..(b * frames + f + 1) * bins * 2];
                for (k, v) in buf.iter().take(bins).enumerate() {
                    o[2 * k] = v.0;
                    o[2 * k + 1] = v.1;
                }
            }
        }
        output(from_f64(vec![batch, frames, bins, 2], out, x.dtype())?)
    })
}

#[derive(Clone, Copy)]
enum Window {
    Hann,
    Hamming,
    Blackman,
}

fn output_dtype(ctx: &BuildCtx) -> Result<DType> {
    let v = ctx.node.attr_i_or("output_datatype", 1)?;
    match i32::try_from(v).ok().and_then(DType::from_onnx) {
        Some(d) if d.is_supported() && d != DType::Bool && d != DType::String => Ok(d),
        _ => Err(ctx.node.unsupported(format!("output_datatype {v} (expected a numeric tensor type)"))),
    }
}

fn build_window(ctx: &BuildCtx, kind: Window) -> Result<Box<dyn Kernel>> {
    let periodic = flag(ctx, "periodic", 1)?;
    let dt = output_dtype(ctx)?;
    kernel(move |_, inputs| {
        let size = scalar_i64(input(inputs, 0)?, "window size")?;
        if size < 0 {
            return Err(Error::InvalidArgument(format!("window size must be non-negative; got {size}")));
        }
        let n = (if periodic { size } else { size - 1 }) as f64;
        let v: Vec<f64> = (0..size)
            .map(|i| {
                let i = i as f64;
                match kind {
                    Window::Hann => (PI * i / n).sin().powi(2),
                    Window::Hamming => {
                        let alpha = 25.0 / 46.0;
                        alpha - (1.0 - alpha) * (2.0 * PI * i / n).cos()
                    }
                    Window::Blackman => 0.42 - 0.5 * (2.0 * PI * i / n).cos() + 0.08 * (4.0 * PI * i / n).cos(),
                }
            })
            .collect();
        output(from_f64(vec![size as usize], v, dt)?)
    })
}

fn build_mel(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let dt = output_dtype(ctx)?;
    kernel(move |_, inputs| {
        let bins = scalar_i64(input(inputs, 0)?, "MelWeightMatrix num_mel_bins")?;
        let dft_len = scalar_i64(input(inputs, 1)?, "MelWeightMatrix dft_length")?;
        let rate = scalar_i64(input(inputs, 2)?, "MelWeightMatrix sample_rate")?;
        let lo = scalar_f64(input(inputs, 3)?, "MelWeightMatrix lower_edge_hertz")?;
        let hi = scalar_f64(input(inputs, 4)?, "MelWeightMatrix upper_edge_hertz")?;
        if bins < 1 || dft_len < 1 || rate < 1 || !(lo >= 0.0 && hi > lo) {
            return Err(Error::InvalidArgument(format!(
                "MelWeightMatrix needs num_mel_bins, dft_length, sample_rate > 0 and 0 <= lower_edge_hertz < upper_edge_hertz; got {bins}, {dft_len}, {rate}, {lo}, {hi}"
            )));
        }
        let (nb, spec_bins) = (bins as usize, dft_len as usize / 2 + 1);
        // Mel points computed like onnx's reference (f32 edges, f64 afterwards).
        let lo_mel = (2595.0f32 * ((lo as f32) / 700.0).ln_1p() / 10.0f32.ln()) as f64;
        let hi_mel = (2595.0f32 * ((hi as f32) / 700.0).ln_1p() / 10.0f32.ln()) as f64;
        let step = ((hi_mel - lo_mel) as f32 / (nb + 2) as f32) as f64;
        let points: Vec<i64> = (0..nb + 2)
            .map(|i| {
                let mel = i as f64 * step + lo_mel;
                let hz = 700.0 * (mel / 2595.0 * 10.0f64.ln()).exp_m1();
                (((dft_len + 1) as f64 * hz) / rate as f64).floor() as i64
            })
            .collect();
        if points.iter().any(|&p| p < 0 || p as usize >= spec_bins) {
            return Err(Error::InvalidArgument(format!(
                "MelWeightMatrix: upper_edge_hertz {hi} maps past the {spec_bins} spectrogram bins (sample_rate {rate})"
            )));
        }
        let mut out = vec![0.0f64; spec_bins * nb];
        for i in 0..nb {
            let (l, c, h) = (points[i] as usize, points[i + 1] as usize, points[i + 2] as usize);
            if c == l {
                out[c * nb + i] = 1.0;
            } else {
                for j in l..=c {
                    out[j * nb + i] = (j - l) as f64 / (c - l) as f64;
                }
            }
            if h > c {
                for j in c..h {
                    out[j * nb + i] = (h - j) as f64 / (h - c) as f64;
                }
            }
        }
        output(from_f64(vec![spec_bins, nb], out, dt)?)
    })
}

#[cfg(test)]
mod tests {
    use super::Fft;
    use crate::testing::{assert_close, run_node};
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn naive(x: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let n = x.len();
        (0..n)
            .map(|k| {
                x.iter().enumerate().fold((0.0, 0.0), |s, (j, v)| {
                    let a = -2.0 * std::f64::consts::PI * (j * k) as f64 / n as f64;
                    (s.0 + v.0 * a.cos() - v.1 * a.sin(), s.1 + v.0 * a.sin() + v.1 * a.cos())
                })
            })
            .collect()
    }

    #[test]
    fn fft_plans_match_direct_sum() {
        for n in [1usize, 2, 3, 8, 10, 31, 64, 100, 127] {
            let x: Vec<(f64, f64)> = (0..n).map(|i| ((i as f64 * 0.37).sin(), (i as f64 * 0.11).cos())).collect();
            let mut y = x.clone();
            Fft::new(n, -1.0).run(&mut y);
            for (a, b) in y.iter().zip(naive(&x)) {
                assert!((a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9, "n={n}");
            }
        }
    }

    fn sig() -> Tensor {
        Tensor::from_vec(vec![1, 4, 1], vec![1.0f32, 2.0, 0.0, -1.0]).unwrap()
    }

    // Expected values from numpy.fft (what onnx.reference uses).
    #[test]
    fn dft_forward_onesided_and_axis_input() {
        let n = Node::new("DFT", &["x"], &["y"], 17);
        let y = run_node(&n, vec![sig()]).unwrap();
        assert_eq!(y[0].shape(), &[1, 4, 2]);
        assert_close(y[0].as_slice::<f32>().unwrap(), &[2.0, 0.0, 1.0, -3.0, 0.0, 0.0, 1.0, 3.0]);
        let axis = Tensor::from_vec(vec![], vec![-2i64]).unwrap();
        let len = Tensor::from_vec(vec![], vec![5i64]).unwrap();
        let y = crate::testing::run_node_opt(
            &Node::new("DFT", &["x", "l", "a"], &["y"], 20).with_attr("onesided", Attribute::Int(1)),
            vec![Some(sig().into()), Some(len.into()), Some(axis.clone().into())],
        )
        .unwrap();
        let y = y[0].as_tensor().unwrap();
        assert_eq!(y.shape(), &[1, 3, 2]);
        assert_close(y.as_slice::<f32>().unwrap(), &[2.0, 0.0, 2.427051, -2.4898983, -0.927051, -0.224514]);
    }

    #[test]
    fn dft_inverse_and_irfft_f64() {
        let x = Tensor::from_vec(vec![1, 4, 2], vec![2.0f64, 0.0, 1.0, -3.0, 0.0, 0.0, 1.0, 3.0]).unwrap();
        let n = Node::new("DFT", &["x"], &["y"], 17).with_attr("inverse", Attribute::Int(1));
        let y = run_node(&n, vec![x]).unwrap();
        let v = y[0].as_slice::<f64>().unwrap();
        let want = [1.0, 0.0, 2.0, 0.0, 0.0, 0.0, -1.0, 0.0];
        assert!(v.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12), "{v:?}");
        let half = Tensor::from_vec(vec![1, 3, 2], vec![2.0f64, 0.0, 1.0, -3.0, 0.0, 0.0]).unwrap();
        let n = n.with_attr("onesided", Attribute::Int(1));
        let y = run_node(&n, vec![half]).unwrap();
        assert_eq!(y[0].shape(), &[1, 4, 1]);
        let v = y[0].as_slice::<f64>().unwrap();
        assert!(v.iter().zip([1.0, 2.0, 0.0, -1.0]).all(|(a, b)| (a - b).abs() < 1e-12), "{v:?}");
    }

    #[test]
    fn dft_errors() {
        let n = Node::new("DFT", &["x"], &["y"], 17).with_attr("axis", Attribute::Int(2));
        assert!(run_node(&n, vec![sig()]).is_err());
        let bad = Tensor::from_vec(vec![1, 4, 3], vec![0.0f32; 12]).unwrap();
        assert!(run_node(&Node::new("DFT", &["x"], &["y"], 17), vec![bad]).is_err());
    }

    #[test]
    fn stft_with_window() {
        let x = Tensor::from_vec(vec![1, 6, 1], vec![1.0f32, 2.0, 0.0, -1.0, 3.0, 1.0]).unwrap();
        let step = Tensor::from_vec(vec![], vec![2i64]).unwrap();
        let w = Tensor::from_vec(vec![4], vec![0.5f32, 1.0, 1.0, 0.5]).unwrap();
        let y = run_node(&Node::new("STFT", &["x", "s", "w"], &["y"], 17), vec![x, step, w]).unwrap();
        assert_eq!(y[0].shape(), &[1, 2, 3, 2]);
        assert_close(y[0].as_slice::<f32>().unwrap(), &[2.0, 0.0, 0.5, -2.5, -1.0, 0.0, 2.5, 0.0, -3.0, 1.5, 3.5, 0.0]);
    }

    #[test]
    fn windows() {
        let size = || Tensor::from_vec(vec![], vec![4i64]).unwrap();
        let y = run_node(&Node::new("HannWindow", &["n"], &["y"], 17), vec![size()]).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[0.0, 0.5, 1.0, 0.5]);
        let n = Node::new("HammingWindow", &["n"], &["y"], 17)
            .with_attr("periodic", Attribute::Int(0))
            .with_attr("output_datatype", Attribute::Int(11));
        let y = run_node(&n, vec![size()]).unwrap();
        let v = y[0].as_slice::<f64>().unwrap();
        let want = [0.08695652, 0.7717391, 0.7717391, 0.08695652];
        assert!(v.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{v:?}");
        let y = run_node(&Node::new("BlackmanWindow", &["n"], &["y"], 17), vec![size()]).unwrap();
        assert_close(y[0].as_slice::<f32>().unwrap(), &[0.0, 0.34, 1.0, 0.34]);
        let bad = Node::new("HannWindow", &["n"], &["y"], 17).with_attr("output_datatype", Attribute::Int(8));
        assert!(run_node(&bad, vec![size()]).is_err());
    }

    #[test]
    fn mel_matrix() {
        let i = |v: i64| Tensor::from_vec(vec![], vec![v]).unwrap();
        let f = |v: f32| Tensor::from_vec(vec![], vec![v]).unwrap();
        let n = Node::new("MelWeightMatrix", &["a", "b", "c", "d", "e"], &["y"], 17);
        let y = run_node(&n, vec![i(2), i(16), i(8000), f(0.0), f(4000.0)]).unwrap();
        assert_eq!(y[0].shape(), &[9, 2]);
        assert_close(y[0].as_slice::<f32>().unwrap(), &MEL);
        assert!(run_node(&n, vec![i(2), i(16), i(8000), f(10.0), f(5.0)]).is_err());
    }

    const MEL: [f32; 18] = [1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
}
