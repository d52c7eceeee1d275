//! Col2Im (opset 18): rearranges column blocks `[N, C * prod(block_shape), L]`
//! back into an image `[N, C, *image_shape]`, summing overlapping values; the
//! inverse of im2col. Attributes `dilations`, `pads` (begin..., end...),
//! `strides`; any number of spatial dims (2-D, 3-D, ...).
//! Spec: <https://onnx.ai/onnx/operators/onnx__Col2Im.html>.

use crate::helpers::{input, ints_of, kernel, output};
use ronn_core::{dispatch_float, dispatch_numeric, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};

/// Registers Col2Im.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "Col2Im", 18, i64::MAX, build);
}

fn attr_vec(ctx: &BuildCtx, name: &str) -> Result<Option<Vec<i64>>> {
    ctx.node.attr_ints(name)
}

fn build(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let node = ctx.node;
    let dil = attr_vec(ctx, "dilations")?;
    let pads = attr_vec(ctx, "pads")?;
    let strides = attr_vec(ctx, "strides")?;
    for (name, v, min) in [("dilations", &dil, 1), ("pads", &pads, 0), ("strides", &strides, 1)] {
        if let Some(v) = v {
            if v.iter().any(|&x| x < min) {
                return Err(node.unsupported(format!("{name} {v:?} (values must be >= {min})")));
            }
        }
    }
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let image = ints_of(input(inputs, 1)?)?;
        let block = ints_of(input(inputs, 2)?)?;
        let nd = image.len();
        if nd == 0 || block.len() != nd || image.iter().chain(&block).any(|&v| v < 1) {
            return Err(Error::InvalidArgument(format!(
                "Col2Im image_shape and block_shape must have the same non-zero length and positive values; got {image:?} and {block:?}"
            )));
        }
        let dil = dil.clone().unwrap_or_else(|| vec![1; nd]);
        let strides = strides.clone().unwrap_or_else(|| vec![1; nd]);
        let pads = pads.clone().unwrap_or_else(|| vec![0; 2 * nd]);
        if dil.len() != nd || strides.len() != nd || pads.len() != 2 * nd {
            return Err(Error::InvalidArgument(format!(
                "Col2Im with {nd} spatial dims needs {nd} dilations, {nd} strides and {} pads; got {dil:?}, {strides:?}, {pads:?}",
                2 * nd
            )));
        }
        let xs = x.shape();
        let ksize: i64 = block.iter().product();
        // Number of blocks along each dim.
        let mut nblocks = Vec::with_capacity(nd);
        for i in 0..nd {
            let span = dil[i] * (block[i] - 1) + 1;
            let nb = (image[i] + pads[i] + pads[i + nd] - span).div_euclid(strides[i]) + 1;
            if nb < 1 {
                return Err(Error::InvalidArgument(format!(
                    "Col2Im: block {block:?} with dilations {dil:?} does not fit image {image:?} padded by {pads:?}"
                )));
            }
            nblocks.push(nb);
        }
        let l: i64 = nblocks.iter().product();
        if xs.len() != 3 || xs[1] as i64 % ksize != 0 || xs[2] as i64 != l {
            return Err(Error::ShapeMismatch(format!(
                "Col2Im input must be [N, C * {ksize}, {l}] for image {image:?} and block {block:?}; got {xs:?}"
            )));
        }
        let (n, c) = (xs[0], xs[1] / ksize as usize);
        let mut shape = vec![n, c];
        shape.extend(image.iter().map(|&v| v as usize));
        let g = Geometry { image, block, nblocks, dil, strides, pads };
        if x.dtype().is_float() {
            dispatch_float!(x.dtype(), T => {
                let y = col2im::<T>(x.as_slice::<T>()?, n, c, &g, |a, b| a + b);
                output(Tensor::from_vec(shape, y)?)
            }, _ => Err(Error::TypeMismatch(format!("Col2Im does not support {}", x.dtype()))))
        } else {
            dispatch_numeric!(x.dtype(), T => {
                let add = |a: T, b: T| T::from_i64(a.to_i64().wrapping_add(b.to_i64()));
                let y = col2im::<T>(x.as_slice::<T>()?, n, c, &g, add);
                output(Tensor::from_vec(shape, y)?)
            }, _ => Err(Error::TypeMismatch(format!("Col2Im does not support {}", x.dtype()))))
        }
    })
}

struct Geometry {
    image: Vec<i64>,
    block: Vec<i64>,
    nblocks: Vec<i64>,
    dil: Vec<i64>,
    strides: Vec<i64>,
    pads: Vec<i64>,
}

fn col2im<T: Element>(x: &[T], n: usize, c: usize, g: &Geometry, add: impl Fn(T, T) -> T) -> Vec<T> {
    let nd = g.image.len();
    let img: usize = g.image.iter().product::<i64>() as usize;
    let ksize = g.block.iter().product::<i64>() as usize;
    let l = g.nblocks.iter().product::<i64>() as usize;
    let mut y = vec![T::default(); n * c * img];
    // For each (kernel offset, block) the image offset, or None when in the padding.
    let mut map: Vec<Option<usize>> = Vec::with_capacity(ksize * l);
    for k in 0..ksize {
        for b in 0..l {
            let (mut kr, mut br) = (k, b);
            let mut off = 0i64;
            let mut inside = true;
            let mut stride = 1i64;
            for d in (0..nd).rev() {
                let kd = (kr % g.block[d] as usize) as i64;
                kr /= g.block[d] as usize;
                let bd = (br % g.nblocks[d] as usize) as i64;
                br /= g.nblocks[d] as usize;
                let pos = bd * g.strides[d] - g.pads[d] + kd * g.dil[d];
                if pos < 0 || pos >= g.image[d] {
                    inside = false;
                }
                off += pos * stride;
                stride *= g.image[d];
            }
            map.push(inside.then_some(off as usize));
        }
    }
    for b in 0..n {
        for ch in 0..c {
            let yo = &mut y[(b * c + ch) * img..(b * c + ch + 1) * img];
            let xi = &x[(b * c + ch) * ksize * l..(b * c + ch + 1) * ksize * l];
            for (v, m) in xi.iter().zip(&map) {
                if let Some(o) = m {
                    yo[*o] = add(yo[*o], *v);
                }
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn i64s(v: &[i64]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }

    // Expected values from onnx.reference (Col2Im, onnx 1.23.2).
    #[test]
    fn strides_overlap_sum() {
        let x = Tensor::from_vec(vec![1, 4, 4], (1..=16).map(|v| v as f32).collect()).unwrap();
        let n = Node::new("Col2Im", &["x", "i", "b"], &["y"], 18).with_attr("strides", Attribute::Ints(vec![1, 1]));
        let y = run_node(&n, vec![x, i64s(&[3, 3]), i64s(&[2, 2])]).unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 3, 3]);
        assert_eq!(y[0].as_slice::<f32>().unwrap(), &[1.0, 7.0, 6.0, 12.0, 34.0, 22.0, 11.0, 27.0, 16.0]);
    }

    #[test]
    fn pads_dilations_i64() {
        let x = Tensor::from_vec(vec![1, 2, 4], (1..=8).collect::<Vec<i64>>()).unwrap();
        let n = Node::new("Col2Im", &["x", "i", "b"], &["y"], 18)
            .with_attr("pads", Attribute::Ints(vec![0, 1, 0, 1]))
            .with_attr("dilations", Attribute::Ints(vec![1, 2]));
        let y = run_node(&n, vec![x, i64s(&[1, 4]), i64s(&[1, 2])]).unwrap();
        assert_eq!(y[0].shape(), &[1, 1, 1, 4]);
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &Y_PD);
    }

    #[test]
    fn bad_shapes() {
        let x = Tensor::from_vec(vec![1, 3, 4], vec![0.0f32; 12]).unwrap();
        let n = Node::new("Col2Im", &["x", "i", "b"], &["y"], 18);
        assert!(run_node(&n, vec![x.clone(), i64s(&[3, 3]), i64s(&[2, 2])]).is_err());
        assert!(run_node(&n, vec![x, i64s(&[3, 3]), i64s(&[2])]).is_err());
    }

    const Y_PD: [i64; 4] = [2, 8, 10, 7];
}
