//! Traditional-ML operators of the `ai.onnx.ml` domain: LabelEncoder (1-4),
//! Binarizer (1), ArrayFeatureExtractor (1), TreeEnsemble (5).
//!
//! Spec: <https://onnx.ai/onnx/operators/> (domain ai.onnx.ml).
//! - LabelEncoder 1: `classes_strings` maps string -> index (int64) or index ->
//!   string, `default_int64` / `default_string`. 2+: `keys_{strings,int64s,floats}`
//!   to `values_{strings,int64s,floats}` with `default_*`; 4 adds `keys_tensor`,
//!   `values_tensor`, `default_tensor` (any int/float/string element type).
//!   Float keys match NaN to NaN and -0.0 to 0.0.
//! - Binarizer: `threshold`, y = x > threshold ? 1 : 0 in x's type.
//! - ArrayFeatureExtractor: selects the `y` indices on x's last axis; 1-D x gives `[1, k]`.
//! - TreeEnsemble 5: every node mode (LEQ, LT, GTE, GT, EQ, NEQ, MEMBER with
//!   `membership_values`), `nodes_missing_value_tracks_true`, `aggregate_function`
//!   AVERAGE/SUM/MIN/MAX, `post_transform` NONE/SOFTMAX/LOGISTIC/SOFTMAX_ZERO
//!   (PROBIT is refused at planning time); f32/f64/f16 input, output in x's type.

use crate::helpers::{input, ints_of, kernel, output};
use ronn_core::{dispatch_dtype, DType, Element, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry, Node};
use std::collections::HashMap;

const ML: &str = "ai.onnx.ml";

/// Registers the ai.onnx.ml operators.
pub fn register(r: &mut KernelRegistry) {
    r.register(ML, "LabelEncoder", 1, i64::MAX, build_label_encoder);
    r.register(ML, "Binarizer", 1, i64::MAX, build_binarizer);
    r.register(ML, "ArrayFeatureExtractor", 1, i64::MAX, build_array_feature_extractor);
    r.register(ML, "TreeEnsemble", 5, i64::MAX, build_tree_ensemble);
}

/// A LabelEncoder key: strings, integers and floats (as canonical f64 bits).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum Key {
    S(String),
    I(i64),
    F(u64),
}

fn float_key(v: f64) -> Key {
    if v.is_nan() {
        Key::F(f64::NAN.to_bits())
    } else if v == 0.0 {
        Key::F(0f64.to_bits())
    } else {
        Key::F(v.to_bits())
    }
}

/// The keys of every element of `t`.
fn keys_of(t: &Tensor) -> Result<Vec<Key>> {
    let dt = t.dtype();
    if dt == DType::String {
        Ok(t.as_strings()?.iter().map(|s| Key::S(s.clone())).collect())
    } else if dt.is_int() {
        Ok(t.to_i64_vec()?.into_iter().map(Key::I).collect())
    } else if dt.is_float() {
        Ok(t.to_f64_vec()?.into_iter().map(float_key).collect())
    } else {
        Err(Error::TypeMismatch(format!("LabelEncoder keys of type {dt} are not supported")))
    }
}

/// Picks `values[i]` for each `Some(i)`, `default[0]` for `None`.
fn gather_or_default(values: &Tensor, default: &Tensor, idx: &[Option<usize>], shape: Vec<usize>) -> Result<Tensor> {
    fn pick<T: Clone>(v: &[T], d: &[T], idx: &[Option<usize>]) -> Result<Vec<T>> {
        let d = d.first().ok_or_else(|| Error::InvalidArgument("LabelEncoder default is empty".into()))?;
        idx.iter()
            .map(|i| match i {
                None => Ok(d.clone()),
                Some(i) => v
                    .get(*i)
                    .cloned()
                    .ok_or_else(|| Error::InvalidArgument(format!("LabelEncoder value index {i} out of range"))),
            })
            .collect()
    }
    if values.dtype() == DType::String {
        return Tensor::from_strings(shape, pick(values.as_strings()?, default.as_strings()?, idx)?);
    }
    dispatch_dtype!(values.dtype(), T => Tensor::from_vec(shape, pick(values.as_slice::<T>()?, default.as_slice::<T>()?, idx)?),
        _ => Err(Error::TypeMismatch(format!("LabelEncoder values of type {} are not supported", values.dtype()))))
}

fn strings_tensor(v: Vec<String>) -> Result<Tensor> {
    Tensor::from_strings(vec![v.len()], v)
}

fn build_label_encoder(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    // (keys, values, default)
    let (keys, values, default): (Vec<Key>, Tensor, Option<Tensor>) = if n.opset < 2 {
        let classes = n.attr_strings("classes_strings")?.unwrap_or_default();
        let def_i = n.attr_i_or("default_int64", -1)?;
        let def_s = n.attr_s_or("default_string", "_Unused")?;
        // Both directions: string -> index and index -> string, picked by the input type.
        let table: HashMap<Key, usize> = classes.iter().enumerate().map(|(i, s)| (Key::S(s.clone()), i)).collect();
        let classes_t = strings_tensor(classes.clone())?;
        let n_classes = classes.len();
        return kernel(move |_, inputs| {
            let x = input(inputs, 0)?;
            if x.dtype() == DType::String {
                let out: Vec<i64> = x
                    .as_strings()?
                    .iter()
                    .map(|s| table.get(&Key::S(s.clone())).map_or(def_i, |&i| i as i64))
                    .collect();
                output(Tensor::from_vec(x.shape().to_vec(), out)?)
            } else if x.dtype() == DType::Int64 {
                let idx: Vec<Option<usize>> =
                    x.as_slice::<i64>()?.iter().map(|&i| usize::try_from(i).ok().filter(|&i| i < n_classes)).collect();
                let def = Tensor::from_strings(vec![1], vec![def_s.clone()])?;
                output(gather_or_default(&classes_t, &def, &idx, x.shape().to_vec())?)
            } else {
                Err(Error::TypeMismatch(format!("LabelEncoder-1 takes string or int64 input, got {}", x.dtype())))
            }
        });
    } else {
        let keys = if let Some(k) = n.attr_strings("keys_strings")? {
            k.into_iter().map(Key::S).collect()
        } else if let Some(k) = n.attr_ints("keys_int64s")? {
            k.into_iter().map(Key::I).collect()
        } else if let Some(k) = n.attr_floats("keys_floats")? {
            k.into_iter().map(|v| float_key(v as f64)).collect()
        } else if let Some(t) = n.attr_tensor("keys_tensor")? {
            keys_of(t)?
        } else {
            return Err(n.unsupported("LabelEncoder needs keys_strings, keys_int64s, keys_floats or keys_tensor"));
        };
        let values = if let Some(v) = n.attr_strings("values_strings")? {
            strings_tensor(v)?
        } else if let Some(v) = n.attr_ints("values_int64s")? {
            Tensor::from_vec(vec![v.len()], v)?
        } else if let Some(v) = n.attr_floats("values_floats")? {
            Tensor::from_vec(vec![v.len()], v)?
        } else if let Some(t) = n.attr_tensor("values_tensor")? {
            let len = t.len();
            t.clone().reshape(vec![len])?
        } else {
            return Err(
                n.unsupported("LabelEncoder needs values_strings, values_int64s, values_floats or values_tensor")
            );
        };
        (keys, values, n.attr_tensor("default_tensor")?.cloned())
    };
    if keys.len() != values.len() {
        return Err(n.unsupported(format!("{} keys but {} values", keys.len(), values.len())));
    }
    let vt = values.dtype();
    let default = match default {
        Some(d) if d.dtype() == vt && d.len() == 1 => d.reshape(vec![1])?,
        Some(d) => {
            return Err(n.unsupported(format!(
                "default_tensor must hold one {vt} value, has {} of {}",
                d.len(),
                d.dtype()
            )))
        }
        None if vt == DType::String => Tensor::from_strings(vec![1], vec![n.attr_s_or("default_string", "_Unused")?])?,
        None if vt.is_int() => Tensor::from_vec(vec![1], vec![n.attr_i_or("default_int64", -1)?])?.cast(vt)?,
        None => Tensor::from_vec(vec![1], vec![n.attr_f_or("default_float", -0.0)?])?.cast(vt)?,
    };
    let mut table: HashMap<Key, usize> = HashMap::with_capacity(keys.len());
    for (i, k) in keys.into_iter().enumerate() {
        table.entry(k).or_insert(i);
    }
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let idx: Vec<Option<usize>> = keys_of(x)?.iter().map(|k| table.get(k).copied()).collect();
        output(gather_or_default(&values, &default, &idx, x.shape().to_vec())?)
    })
}

fn build_binarizer(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let thr = ctx.node.attr_f_or("threshold", 0.0)? as f64;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        fn bin<T: Element>(x: &Tensor, thr: f64) -> Result<Tensor> {
            let (one, zero) = (T::from_f64(1.0), T::from_f64(0.0));
            let v: Vec<T> = x.as_slice::<T>()?.iter().map(|&v| if v.to_f64() > thr { one } else { zero }).collect();
            Tensor::from_vec(x.shape().to_vec(), v)
        }
        let y = match x.dtype() {
            DType::Float32 => bin::<f32>(x, thr)?,
            DType::Float64 => bin::<f64>(x, thr)?,
            DType::Int64 => bin::<i64>(x, thr)?,
            DType::Int32 => bin::<i32>(x, thr)?,
            t => return Err(Error::TypeMismatch(format!("Binarizer takes float, double, int64 or int32, got {t}"))),
        };
        output(y)
    })
}

fn build_array_feature_extractor(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let x = input(inputs, 0)?;
        let y = input(inputs, 1)?;
        let idx = ints_of(y)?;
        let last = *x
            .shape()
            .last()
            .ok_or_else(|| Error::ShapeMismatch("ArrayFeatureExtractor needs an input of rank >= 1".into()))?;
        let idx: Vec<usize> = idx
            .iter()
            .map(|&i| {
                usize::try_from(i).ok().filter(|&i| i < last).ok_or_else(|| {
                    Error::InvalidArgument(format!("ArrayFeatureExtractor index {i} out of range for last dim {last}"))
                })
            })
            .collect::<Result<_>>()?;
        let rows = if last == 0 { 0 } else { x.len() / last };
        let mut shape = if x.rank() == 1 { vec![1] } else { x.shape()[..x.rank() - 1].to_vec() };
        shape.push(idx.len());
        fn pick<T: Clone>(v: &[T], rows: usize, last: usize, idx: &[usize]) -> Vec<T> {
            let mut out = Vec::with_capacity(rows * idx.len());
            for r in v.chunks(last.max(1)).take(rows) {
                out.extend(idx.iter().filter_map(|&i| r.get(i).cloned()));
            }
            out
        }
        if x.dtype() == DType::String {
            return output(Tensor::from_strings(shape, pick(x.as_strings()?, rows, last, &idx))?);
        }
        let t = dispatch_dtype!(x.dtype(), T => Tensor::from_vec(shape, pick(x.as_slice::<T>()?, rows, last, &idx))?,
            _ => return Err(Error::TypeMismatch(format!("ArrayFeatureExtractor of {}", x.dtype()))));
        output(t)
    })
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Member,
}

#[derive(Clone, Copy, PartialEq)]
enum Agg {
    Average,
    Sum,
    Min,
    Max,
}

#[derive(Clone, Copy, PartialEq)]
enum Post {
    None,
    Softmax,
    Logistic,
    SoftmaxZero,
}

struct TreeNode {
    mode: Mode,
    feature: usize,
    split: f64,
    set: Vec<f64>,
    missing_true: bool,
    true_id: usize,
    true_leaf: bool,
    false_id: usize,
    false_leaf: bool,
}

struct Ensemble {
    nodes: Vec<TreeNode>,
    roots: Vec<usize>,
    leaf_weights: Vec<f64>,
    leaf_targets: Vec<usize>,
    n_targets: usize,
    agg: Agg,
    post: Post,
}

fn ints_attr(n: &Node, name: &str) -> Result<Vec<i64>> {
    n.attr_ints(name)?.ok_or_else(|| n.unsupported(format!("missing required attribute '{name}'")))
}

fn floats_tensor_attr(n: &Node, name: &str) -> Result<Option<Vec<f64>>> {
    match n.attr_tensor(name)? {
        Some(t) => Ok(Some(t.to_f64_vec()?)),
        None => Ok(n.attr_floats(name)?.map(|v| v.into_iter().map(f64::from).collect())),
    }
}

fn idx_list(n: &Node, name: &str, v: &[i64], bound: usize) -> Result<Vec<usize>> {
    v.iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .filter(|&i| i < bound)
                .ok_or_else(|| n.unsupported(format!("{name} holds {i}, out of range 0..{bound}")))
        })
        .collect()
}

impl Ensemble {
    fn build(n: &Node) -> Result<Ensemble> {
        let splits = floats_tensor_attr(n, "nodes_splits")?.ok_or_else(|| n.unsupported("missing nodes_splits"))?;
        let count = splits.len();
        let features = ints_attr(n, "nodes_featureids")?;
        let modes = match n.attr_tensor("nodes_modes")? {
            Some(t) => t.to_i64_vec()?,
            None => ints_attr(n, "nodes_modes")?,
        };
        let true_ids = ints_attr(n, "nodes_truenodeids")?;
        let false_ids = ints_attr(n, "nodes_falsenodeids")?;
        let true_leafs = ints_attr(n, "nodes_trueleafs")?;
        let false_leafs = ints_attr(n, "nodes_falseleafs")?;
        let missing = n.attr_ints("nodes_missing_value_tracks_true")?.unwrap_or_else(|| vec![0; count]);
        let leaf_targets = ints_attr(n, "leaf_targetids")?;
        let leaf_weights =
            floats_tensor_attr(n, "leaf_weights")?.ok_or_else(|| n.unsupported("missing leaf_weights"))?;
        let n_targets = n.attr_i("n_targets")?.ok_or_else(|| n.unsupported("missing n_targets"))?;
        let n_targets = usize::try_from(n_targets).map_err(|_| n.unsupported("n_targets must be >= 0"))?;
        for (name, len) in [
            ("nodes_featureids", features.len()),
            ("nodes_modes", modes.len()),
            ("nodes_truenodeids", true_ids.len()),
            ("nodes_falsenodeids", false_ids.len()),
            ("nodes_trueleafs", true_leafs.len()),
            ("nodes_falseleafs", false_leafs.len()),
            ("nodes_missing_value_tracks_true", missing.len()),
        ] {
            if len != count {
                return Err(n.unsupported(format!("{name} has {len} entries, nodes_splits {count}")));
            }
        }
        if leaf_targets.len() != leaf_weights.len() {
            return Err(n.unsupported("leaf_targetids and leaf_weights differ in length"));
        }
        let leaf_targets = idx_list(n, "leaf_targetids", &leaf_targets, n_targets)?;
        let n_leaves = leaf_weights.len();
        let mut members = floats_tensor_attr(n, "membership_values")?.unwrap_or_default().into_iter();
        let mut nodes = Vec::with_capacity(count);
        for i in 0..count {
            let mode = match modes[i] {
                0 => Mode::Leq,
                1 => Mode::Lt,
                2 => Mode::Gte,
                3 => Mode::Gt,
                4 => Mode::Eq,
                5 => Mode::Neq,
                6 => Mode::Member,
                m => return Err(n.unsupported(format!("nodes_modes holds {m}, expected 0..=6"))),
            };
            let mut set = Vec::new();
            if mode == Mode::Member {
                for v in members.by_ref() {
                    if v.is_nan() {
                        break;
                    }
                    set.push(v);
                }
            }
            let (tl, fl) = (true_leafs[i] != 0, false_leafs[i] != 0);
            let bound = |leaf: bool| if leaf { n_leaves } else { count };
            let true_id = idx_list(n, "nodes_truenodeids", &true_ids[i..=i], bound(tl))?[0];
            let false_id = idx_list(n, "nodes_falsenodeids", &false_ids[i..=i], bound(fl))?[0];
            nodes.push(TreeNode {
                mode,
                feature: usize::try_from(features[i])
                    .map_err(|_| n.unsupported(format!("negative feature id {}", features[i])))?,
                split: splits[i],
                set,
                missing_true: missing[i] != 0,
                true_id,
                true_leaf: tl,
                false_id,
                false_leaf: fl,
            });
        }
        let roots = idx_list(n, "tree_roots", &ints_attr(n, "tree_roots")?, count)?;
        let agg = match n.attr_i_or("aggregate_function", 1)? {
            0 => Agg::Average,
            1 => Agg::Sum,
            2 => Agg::Min,
            3 => Agg::Max,
            a => return Err(n.unsupported(format!("aggregate_function {a} is not 0..=3"))),
        };
        let post = match n.attr_i_or("post_transform", 0)? {
            0 => Post::None,
            1 => Post::Softmax,
            2 => Post::Logistic,
            3 => Post::SoftmaxZero,
            p => return Err(n.unsupported(format!("post_transform {p} (PROBIT or unknown) is not supported"))),
        };
        Ok(Ensemble { nodes, roots, leaf_weights, leaf_targets, n_targets, agg, post })
    }

    /// The leaf reached from `root` for the features `x`.
    fn leaf(&self, root: usize, x: &[f64]) -> Result<usize> {
        let mut id = root;
        for _ in 0..=self.nodes.len() {
            let nd = &self.nodes[id];
            let v = *x.get(nd.feature).ok_or_else(|| {
                Error::ShapeMismatch(format!("TreeEnsemble reads feature {} of {} features", nd.feature, x.len()))
            })?;
            let go = (nd.missing_true && v.is_nan())
                || match nd.mode {
                    Mode::Leq => v <= nd.split,
                    Mode::Lt => v < nd.split,
                    Mode::Gte => v >= nd.split,
                    Mode::Gt => v > nd.split,
                    Mode::Eq => v == nd.split,
                    Mode::Neq => v != nd.split,
                    Mode::Member => nd.set.contains(&v),
                };
            let (next, leaf) = if go { (nd.true_id, nd.true_leaf) } else { (nd.false_id, nd.false_leaf) };
            if leaf {
                return Ok(next);
            }
            id = next;
        }
        Err(Error::InvalidArgument("TreeEnsemble: a tree has a cycle".into()))
    }

    fn run(&self, x: &[f64], rows: usize, feats: usize, init_min: f64) -> Result<Vec<f64>> {
        let t = self.n_targets;
        let init = match self.agg {
            Agg::Average | Agg::Sum => 0.0,
            Agg::Min => init_min,
            Agg::Max => -init_min,
        };
        let mut out = vec![init; rows * t];
        let n_trees = self.roots.len().max(1) as f64;
        for (r, o) in out.chunks_mut(t.max(1)).enumerate().take(rows) {
            let xr = x.get(r * feats..(r + 1) * feats).unwrap_or(&[]);
            for &root in &self.roots {
                let leaf = self.leaf(root, xr)?;
                let (w, tid) = (self.leaf_weights[leaf], self.leaf_targets[leaf]);
                let slot = &mut o[tid];
                *slot = match self.agg {
                    Agg::Sum => *slot + w,
                    Agg::Average => *slot + w / n_trees,
                    Agg::Min => slot.min(w),
                    Agg::Max => slot.max(w),
                };
            }
            match self.post {
                Post::None => {}
                Post::Logistic => o.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp())),
                Post::Softmax | Post::SoftmaxZero => {
                    let zero = self.post == Post::SoftmaxZero;
                    let m = o.iter().filter(|v| !zero || **v != 0.0).fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                    let mut s = 0.0;
                    for v in o.iter_mut() {
                        if zero && *v == 0.0 {
                            continue;
                        }
                        *v = (*v - m).exp();
                        s += *v;
                    }
                    if s > 0.0 {
                        o.iter_mut().filter(|v| !zero || **v != 0.0).for_each(|v| *v /= s);
                    }
                }
            }
        }
        Ok(out)
    }
}

fn build_tree_ensemble(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let e = Ensemble::build(ctx.node)?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let dt = x.dtype();
        let init_min = match dt {
            DType::Float32 => f32::MAX as f64,
            DType::Float64 => f64::MAX,
            DType::Float16 => 65504.0,
            t => return Err(Error::TypeMismatch(format!("TreeEnsemble takes float, double or float16, got {t}"))),
        };
        let (rows, feats) = match x.shape() {
            [n, f] => (*n, *f),
            [f] => (1, *f),
            s => return Err(Error::ShapeMismatch(format!("TreeEnsemble expects [N, F] input, got {s:?}"))),
        };
        let out = e.run(&x.to_f64_vec()?, rows, feats, init_min)?;
        output(Tensor::from_vec(vec![rows, e.n_targets], out)?.cast(dt)?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn ml(op: &str, opset: i64, ins: &[&str]) -> Node {
        let mut n = Node::new(op, ins, &["y"], opset);
        n.domain = "ai.onnx.ml".into();
        n
    }

    fn strs(v: &[&str]) -> Tensor {
        Tensor::from_strings(vec![v.len()], v.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    fn bytes(v: &[&str]) -> Attribute {
        Attribute::Strings(v.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    #[test]
    fn label_encoder_v2_v4() {
        let n = ml("LabelEncoder", 2, &["x"])
            .with_attr("keys_strings", bytes(&["a", "b", "c"]))
            .with_attr("values_int64s", Attribute::Ints(vec![0, 1, 2]));
        let y = &run_node(&n, vec![strs(&["a", "b", "d", "c"])]).unwrap()[0];
        assert_eq!(y.as_slice::<i64>().unwrap(), &[0, 1, -1, 2]);
        let n = n.with_attr("default_int64", Attribute::Int(42));
        let y = &run_node(&n, vec![strs(&["g", "c"])]).unwrap()[0];
        assert_eq!(y.as_slice::<i64>().unwrap(), &[42, 2]);
        // float keys -> string values, NaN key matches NaN.
        let n = ml("LabelEncoder", 2, &["x"])
            .with_attr("keys_floats", Attribute::Floats(vec![1.5, f32::NAN]))
            .with_attr("values_strings", bytes(&["x", "nan"]));
        let y = &run_node(&n, vec![Tensor::from_vec(vec![3], vec![f32::NAN, 1.5, 2.0]).unwrap()]).unwrap()[0];
        assert_eq!(y.as_strings().unwrap(), &["nan", "x", "_Unused"]);
        // v4 tensors.
        let n = ml("LabelEncoder", 4, &["x"])
            .with_attr("keys_tensor", Attribute::Tensor(strs(&["a", "b"])))
            .with_attr("values_tensor", Attribute::Tensor(Tensor::from_vec(vec![2], vec![3i16, 4]).unwrap()))
            .with_attr("default_tensor", Attribute::Tensor(Tensor::from_vec(vec![1], vec![42i16]).unwrap()));
        let y = &run_node(&n, vec![strs(&["b", "z"])]).unwrap()[0];
        assert_eq!(y.as_slice::<i16>().unwrap(), &[4, 42]);
        // mismatched lengths refused at planning.
        let bad = ml("LabelEncoder", 2, &["x"])
            .with_attr("keys_strings", bytes(&["a"]))
            .with_attr("values_int64s", Attribute::Ints(vec![0, 1]));
        assert!(run_node(&bad, vec![strs(&["a"])]).is_err());
    }

    #[test]
    fn label_encoder_v1() {
        let n = ml("LabelEncoder", 1, &["x"]).with_attr("classes_strings", bytes(&["a", "b"]));
        let y = &run_node(&n, vec![strs(&["b", "q"])]).unwrap()[0];
        assert_eq!(y.as_slice::<i64>().unwrap(), &[1, -1]);
        let y = &run_node(&n, vec![Tensor::from_vec(vec![2], vec![0i64, 7]).unwrap()]).unwrap()[0];
        assert_eq!(y.as_strings().unwrap(), &["a", "_Unused"]);
    }

    #[test]
    fn binarizer_and_extractor() {
        let n = ml("Binarizer", 1, &["x"]).with_attr("threshold", Attribute::Float(1.0));
        let y = &run_node(&n, vec![Tensor::from_vec(vec![3], vec![0.5f32, 1.0, 1.5]).unwrap()]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 0., 1.]);
        assert!(run_node(&n, vec![strs(&["a"])]).is_err());
        let n = ml("ArrayFeatureExtractor", 1, &["x", "i"]);
        let x = Tensor::from_vec(vec![3, 4], (0..12).map(|v| v as f32).collect()).unwrap();
        let y = &run_node(&n, vec![x.clone(), Tensor::from_vec(vec![2], vec![0i64, 3]).unwrap()]).unwrap()[0];
        assert_eq!(y.shape(), &[3, 2]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 3., 4., 7., 8., 11.]);
        let y = &run_node(&n, vec![strs(&["a", "b", "c"]), Tensor::from_vec(vec![1], vec![2i64]).unwrap()]).unwrap()[0];
        assert_eq!(y.shape(), &[1, 1]);
        assert_eq!(y.as_strings().unwrap(), &["c"]);
        assert!(run_node(&n, vec![x, Tensor::from_vec(vec![1], vec![4i64]).unwrap()]).is_err());
    }

    fn tree(modes: Vec<u8>, splits: Vec<f32>, agg: i64) -> Node {
        ml("TreeEnsemble", 5, &["x"])
            .with_attr("aggregate_function", Attribute::Int(agg))
            .with_attr("leaf_targetids", Attribute::Ints(vec![0, 1, 2, 3]))
            .with_attr(
                "leaf_weights",
                Attribute::Tensor(Tensor::from_vec(vec![4], vec![1f32, 10., 1000., 100.]).unwrap()),
            )
            .with_attr(
                "membership_values",
                Attribute::Tensor(
                    Tensor::from_vec(vec![8], vec![1.2f32, 3.7, 8., 9., f32::NAN, 12., 7., f32::NAN]).unwrap(),
                ),
            )
            .with_attr("n_targets", Attribute::Int(4))
            .with_attr("nodes_falseleafs", Attribute::Ints(vec![1, 0, 1]))
            .with_attr("nodes_falsenodeids", Attribute::Ints(vec![2, 2, 3]))
            .with_attr("nodes_featureids", Attribute::Ints(vec![0, 0, 0]))
            .with_attr("nodes_modes", Attribute::Tensor(Tensor::from_vec(vec![3], modes).unwrap()))
            .with_attr("nodes_splits", Attribute::Tensor(Tensor::from_vec(vec![3], splits).unwrap()))
            .with_attr("nodes_trueleafs", Attribute::Ints(vec![0, 1, 1]))
            .with_attr("nodes_truenodeids", Attribute::Ints(vec![1, 0, 1]))
            .with_attr("tree_roots", Attribute::Ints(vec![0]))
    }

    #[test]
    fn tree_ensemble_set_membership() {
        // test_ai_onnx_ml_tree_ensemble_set_membership (expected from onnx's reference).
        let n = tree(vec![0, 6, 6], vec![11., 232344., f32::NAN], 1);
        let x = Tensor::from_vec(vec![6, 1], vec![1.2f32, 3.4, -0.12, f32::NAN, 12., 7.]).unwrap();
        let y = &run_node(&n, vec![x]).unwrap()[0];
        assert_eq!(y.shape(), &[6, 4]);
        #[rustfmt::skip]
        let want = [1., 0., 0., 0., 0., 0., 0., 100., 0., 0., 0., 100.,
                    0., 0., 1000., 0., 0., 0., 1000., 0., 0., 10., 0., 0.];
        assert_eq!(y.as_slice::<f32>().unwrap(), &want);
        // MAX aggregate starts at the lowest float for targets no tree reaches.
        let n = tree(vec![0, 6, 6], vec![11., 232344., f32::NAN], 3);
        let y = &run_node(&n, vec![Tensor::from_vec(vec![1, 1], vec![1.2f32]).unwrap()]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[1., f32::MIN, f32::MIN, f32::MIN]);
        // bad mode refused
        assert!(run_node(&tree(vec![0, 9, 6], vec![1., 2., 3.], 1), vec![]).is_err());
        // wrong input rank
        let n = tree(vec![0, 6, 6], vec![11., 232344., f32::NAN], 1);
        assert!(run_node(&n, vec![Tensor::from_vec(vec![1, 1, 1], vec![1f32]).unwrap()]).is_err());
    }
}
