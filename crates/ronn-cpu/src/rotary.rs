//! RotaryEmbedding (opset 23): rotates the first `rotary_embedding_dim` features
//! of each head by position-dependent angles from cos/sin caches, in halves or
//! interleaved pairs. Input is `[B, H, S, D]` or `[B, S, H*D]` (`num_heads`);
//! caches are `[max_pos, rd/2]` indexed by `position_ids [B, S]`, or `[B, S, rd/2]`.
//! Spec: <https://onnx.ai/onnx/operators/onnx__RotaryEmbedding.html>.

use crate::helpers::{input, kernel, opt_input, output};
use ronn_core::{dispatch_float, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers RotaryEmbedding.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "RotaryEmbedding", 23, i64::MAX, build);
}

fn build(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let interleaved = n.attr_i_or("interleaved", 0)? != 0;
    let rot_dim = n.attr_i_or("rotary_embedding_dim", 0)?.max(0) as usize;
    let num_heads = n.attr_i_or("num_heads", 0)?.max(0) as usize;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        dispatch_float!(x.dtype(), T => rotate::<T>(inputs, interleaved, rot_dim, num_heads),
            _ => Err(Error::TypeMismatch(format!("RotaryEmbedding needs a float input, got {}", x.dtype()))))
    })
}

fn rotate<T: Element>(
    inputs: &[Option<&ronn_core::Value>],
    interleaved: bool,
    rot_dim: usize,
    num_heads: usize,
) -> Result<Vec<ronn_core::Value>> {
    let x = input(inputs, 0)?;
    let (cos, sin) = (input(inputs, 1)?.to_f64_vec()?, input(inputs, 2)?.to_f64_vec()?);
    let cache_shape = input(inputs, 1)?.shape().to_vec();
    let pos = opt_input(inputs, 3)?.map(|t| t.to_i64_vec()).transpose()?;
    // (b, s, h) -> offset of the head's first feature, for both layouts.
    let (b, s, h, d, four_d) = match *x.shape() {
        [b, h, s, d] => (b, s, h, d, true),
        [b, s, hid] => {
            if num_heads == 0 || hid % num_heads != 0 {
                return Err(Error::InvalidArgument(format!(
                    "3-D input needs num_heads dividing {hid}, got {num_heads}"
                )));
            }
            (b, s, num_heads, hid / num_heads, false)
        }
        ref other => return Err(Error::ShapeMismatch(format!("input must be 3-D or 4-D, got {other:?}"))),
    };
    let rd = if rot_dim == 0 { d } else { rot_dim };
    if rd > d || rd % 2 != 0 {
        return Err(Error::InvalidArgument(format!("rotary_embedding_dim {rd} must be even and <= head size {d}")));
    }
    let half = rd / 2;
    if cache_shape.last() != Some(&half) {
        return Err(Error::ShapeMismatch(format!(
            "cos/sin caches must end in rotary_embedding_dim/2 = {half}, got {cache_shape:?}"
        )));
    }
    let rows = cos.len() / half;
    let cache_row = |bi: usize, si: usize| -> Result<usize> {
        let r = match &pos {
            Some(p) => {
                let v =
                    *p.get(bi * s + si).ok_or_else(|| Error::ShapeMismatch("position_ids must be [B, S]".into()))?;
                usize::try_from(v).map_err(|_| Error::InvalidArgument(format!("negative position id {v}")))?
            }
            None => bi * s + si,
        };
        if r >= rows {
            return Err(Error::InvalidArgument(format!("position {r} is outside the cache's {rows} rows")));
        }
        Ok(r)
    };
    let xv = x.as_slice::<T>()?;
    let mut out = xv.to_vec();
    for bi in 0..b {
        for si in 0..s {
            let row = cache_row(bi, si)?;
            let (c, sn) = (&cos[row * half..][..half], &sin[row * half..][..half]);
            for hi in 0..h {
                let base = if four_d { ((bi * h + hi) * s + si) * d } else { ((bi * s + si) * h + hi) * d };
                for i in 0..half {
                    let (i1, i2) =
                        if interleaved { (base + 2 * i, base + 2 * i + 1) } else { (base + i, base + i + half) };
                    let (x1, x2) = (xv[i1].to_f64(), xv[i2].to_f64());
                    out[i1] = T::from_f64(c[i] * x1 - sn[i] * x2);
                    out[i2] = T::from_f64(sn[i] * x1 + c[i] * x2);
                }
            }
        }
    }
    output(Tensor::from_vec(x.shape().to_vec(), out)?)
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::Node;

    #[test]
    fn quarter_turn_swaps_halves() {
        // cos 0, sin 1: (x1, x2) -> (-x2, x1).
        let x = Tensor::from_vec(vec![1, 1, 1, 2], vec![3.0f32, 4.0]).unwrap();
        let c = Tensor::from_vec(vec![1, 1, 1], vec![0.0f32]).unwrap();
        let s = Tensor::from_vec(vec![1, 1, 1], vec![1.0f32]).unwrap();
        let y = run_node(&Node::new("RotaryEmbedding", &["x", "c", "s"], &["y"], 23), vec![x, c, s]).unwrap();
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[-4.0, 3.0]);
    }

    #[test]
    fn out_of_range_position_is_an_error() {
        let x = Tensor::from_vec(vec![1, 1, 1, 2], vec![3.0f32, 4.0]).unwrap();
        let c = Tensor::from_vec(vec![1, 1], vec![0.0f32]).unwrap();
        let p = Tensor::from_vec(vec![1, 1], vec![5i64]).unwrap();
        let n = Node::new("RotaryEmbedding", &["x", "c", "s", "p"], &["y"], 23);
        assert!(run_node(&n, vec![x, c.clone(), c, p]).is_err());
    }
}
