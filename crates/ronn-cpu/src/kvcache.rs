//! KV-cache updates: TensorScatter (24).
//!
//! Spec: <https://onnx.ai/onnx/operators/> (TensorScatter): writes `update`
//! (`[B, ..., S_upd, ...]`) into a copy of `past_cache` (`[B, ..., S_max, ...]`)
//! along `axis` (default -2, never the batch axis) at `write_indices[b]`
//! (optional, default 0) for each batch row b; `mode` "linear" (indices must
//! fit) or "circular" (positions wrap modulo S_max). Any element type.

use crate::helpers::{input, ints_of, kernel, opt_input, output};
use ronn_core::{dispatch_dtype, normalize_axis, DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers TensorScatter.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "TensorScatter", 24, i64::MAX, build_tensor_scatter);
}

/// Copies `upd` rows into `dst`: `outer` blocks (batch b = block / per_batch),
/// each of `s_max` (dst) / `s_upd` (update) rows of `inner` elements.
#[allow(clippy::too_many_arguments)]
fn scatter<T: Clone>(
    dst: &mut [T],
    upd: &[T],
    outer: usize,
    per_batch: usize,
    s_max: usize,
    s_upd: usize,
    inner: usize,
    starts: &[i64],
    circular: bool,
) -> Result<()> {
    for o in 0..outer {
        let b = o / per_batch.max(1);
        let start = starts.get(b).copied().unwrap_or(0);
        for s in 0..s_upd {
            let pos = start + s as i64;
            let pos = if circular && s_max > 0 { pos.rem_euclid(s_max as i64) } else { pos };
            if pos < 0 || pos as usize >= s_max {
                return Err(Error::InvalidArgument(format!(
                    "TensorScatter: write position {pos} outside the cache length {s_max} (linear mode)"
                )));
            }
            let d = (o * s_max + pos as usize) * inner;
            let u = (o * s_upd + s) * inner;
            match (dst.get_mut(d..d + inner), upd.get(u..u + inner)) {
                (Some(dd), Some(uu)) => dd.clone_from_slice(uu),
                _ => return Err(Error::ShapeMismatch("TensorScatter: index out of range".into())),
            }
        }
    }
    Ok(())
}

fn build_tensor_scatter(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let circular = match n.attr_s_or("mode", "linear")?.as_str() {
        "linear" => false,
        "circular" => true,
        m => return Err(n.unsupported(format!("mode must be 'linear' or 'circular', got '{m}'"))),
    };
    let axis = n.attr_i_or("axis", -2)?;
    kernel(move |_, inputs| {
        let past = input(inputs, 0)?;
        let upd = input(inputs, 1)?;
        let r = past.rank();
        let ax = normalize_axis(axis, r)?;
        if ax == 0 {
            return Err(Error::InvalidArgument("TensorScatter: axis cannot be the batch axis 0".into()));
        }
        let (ps, us) = (past.shape(), upd.shape());
        if us.len() != r || (0..r).any(|i| i != ax && ps[i] != us[i]) || us[ax] > ps[ax] {
            return Err(Error::ShapeMismatch(format!(
                "TensorScatter: update {us:?} must match past_cache {ps:?} except on axis {ax} (<=)"
            )));
        }
        if past.dtype() != upd.dtype() {
            return Err(Error::TypeMismatch(format!(
                "TensorScatter: cache {} vs update {}",
                past.dtype(),
                upd.dtype()
            )));
        }
        let starts = match opt_input(inputs, 2)? {
            Some(w) => {
                let v = ints_of(w)?;
                if v.len() != ps[0] {
                    return Err(Error::ShapeMismatch(format!(
                        "TensorScatter: write_indices has {} entries for batch {}",
                        v.len(),
                        ps[0]
                    )));
                }
                v
            }
            None => vec![0; ps[0]],
        };
        let outer: usize = ps[..ax].iter().product();
        let per_batch: usize = ps[1..ax].iter().product();
        let inner: usize = ps[ax + 1..].iter().product();
        let (s_max, s_upd) = (ps[ax], us[ax]);
        let mut out = past.clone();
        if past.dtype() == DType::String {
            let u = upd.as_strings()?.to_vec();
            let mut d = out.as_strings()?.to_vec();
            scatter(&mut d, &u, outer, per_batch, s_max, s_upd, inner, &starts, circular)?;
            return output(Tensor::from_strings(ps.to_vec(), d)?);
        }
        dispatch_dtype!(past.dtype(), T => {
            let u = upd.as_slice::<T>()?;
            scatter(out.as_mut_slice::<T>()?, u, outer, per_batch, s_max, s_upd, inner, &starts, circular)?;
        }, _ => return Err(Error::TypeMismatch(format!("TensorScatter of {}", past.dtype()))));
        output(out)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    #[test]
    fn linear_circular_and_errors() {
        // past [2, 3, 2] (axis -2 = length 3), update [2, 2, 2]
        let past = Tensor::from_vec(vec![2, 3, 2], (0..12).map(|v| v as f32).collect()).unwrap();
        let upd = Tensor::from_vec(vec![2, 2, 2], vec![-1f32, -2., -3., -4., -5., -6., -7., -8.]).unwrap();
        let idx = Tensor::from_vec(vec![2], vec![1i64, 2]).unwrap();
        let n = Node::new("TensorScatter", &["p", "u", "i"], &["y"], 24)
            .with_attr("mode", Attribute::String(b"circular".to_vec()));
        let y = &run_node(&n, vec![past.clone(), upd.clone(), idx.clone()]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 1., -1., -2., -3., -4., -7., -8., 8., 9., -5., -6.]);
        // linear: batch 1 would write position 3 of 3 -> error
        let lin = Node::new("TensorScatter", &["p", "u", "i"], &["y"], 24);
        assert!(run_node(&lin, vec![past.clone(), upd.clone(), idx]).is_err());
        // no write_indices -> 0
        let lin2 = Node::new("TensorScatter", &["p", "u"], &["y"], 24);
        let y = &run_node(&lin2, vec![past.clone(), upd.clone()]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[-1., -2., -3., -4., 4., 5., -5., -6., -7., -8., 10., 11.]);
        // mismatched shape
        let bad = Tensor::from_vec(vec![2, 2, 1], vec![0f32; 4]).unwrap();
        assert!(run_node(&lin2, vec![past, bad]).is_err());
    }
}
