//! String operators: StringConcat (20), StringSplit (20), StringNormalizer (10),
//! RegexFullMatch (20), TfIdfVectorizer (9).
//!
//! Spec: <https://onnx.ai/onnx/operators/>.
//! - StringConcat: multidirectional broadcasting of two string tensors.
//! - StringSplit: `delimiter` (empty or absent = split on runs of whitespace,
//!   ignoring leading/trailing whitespace, like Python's `str.split()`),
//!   `maxsplit` (at most maxsplit splits, the rest is kept whole); outputs the
//!   substrings padded with "" to `[..., max_count]` and the counts (int64).
//! - StringNormalizer: `stopwords` removed (compared exactly when
//!   `is_case_sensitive`, else case-insensitively), `case_change_action`
//!   NONE/LOWER/UPPER; `locale` is accepted (Unicode case mapping is used for
//!   every locale). Input `[C]` or `[1, C]`; when every word is removed the output
//!   is `[1]` / `[1, 1]` holding "".
//! - RegexFullMatch: `pattern` in RE2 syntax, run with the `regex` crate (same
//!   syntax family; `\w`/`\d` are Unicode-aware here where RE2's are ASCII).
//! - TfIdfVectorizer: `mode` TF/IDF/TFIDF, `min_gram_length`..`max_gram_length`,
//!   `max_skip_count`, `ngram_counts`, `ngram_indexes`, `pool_int64s` (int32/int64
//!   input) or `pool_strings` (string input), `weights`; input `[C]` or `[N, C]`.

use crate::helpers::{input, kernel, output, outputs};
use ronn_core::{DType, Error, Result, Tensor};
use ronn_ir::{BuildCtx, Kernel, KernelRegistry};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Registers the string operators.
pub fn register(r: &mut KernelRegistry) {
    r.register("", "StringConcat", 20, i64::MAX, build_concat);
    r.register("", "StringSplit", 20, i64::MAX, build_split);
    r.register("", "StringNormalizer", 10, i64::MAX, build_normalizer);
    r.register("", "RegexFullMatch", 20, i64::MAX, build_regex);
    r.register("", "TfIdfVectorizer", 9, i64::MAX, build_tfidf);
}

fn strings_of<'a>(t: &'a Tensor, op: &str) -> Result<&'a [String]> {
    if t.dtype() != DType::String {
        return Err(Error::TypeMismatch(format!("{op} expects a string tensor, got {}", t.dtype())));
    }
    t.as_strings()
}

/// Broadcast shape of `a` and `b` (numpy rules), with a message naming both.
fn broadcast(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
        let db = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
        *o = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::ShapeMismatch(format!("cannot broadcast shapes {a:?} and {b:?}")));
        };
    }
    Ok(out)
}

/// For each flat index of `out`, the flat index into an input of shape `shape`.
fn broadcast_index(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let n: usize = out.iter().product();
    let r = out.len();
    // Strides of the input aligned to the output's rank, 0 on broadcast dims.
    let mut strides = vec![0usize; r];
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        let oi = i + r - shape.len();
        strides[oi] = if shape[i] == 1 { 0 } else { s };
        s *= shape[i];
    }
    let mut idx = Vec::with_capacity(n);
    let mut coord = vec![0usize; r];
    let mut flat = 0usize;
    for _ in 0..n {
        idx.push(flat);
        for d in (0..r).rev() {
            coord[d] += 1;
            flat += strides[d];
            if coord[d] < out[d] {
                break;
            }
            flat -= strides[d] * coord[d];
            coord[d] = 0;
        }
    }
    idx
}

fn build_concat(_: &BuildCtx) -> Result<Box<dyn Kernel>> {
    kernel(|_, inputs| {
        let a = input(inputs, 0)?;
        let b = input(inputs, 1)?;
        let (sa, sb) = (strings_of(a, "StringConcat")?, strings_of(b, "StringConcat")?);
        let shape = broadcast(a.shape(), b.shape())?;
        let out: Vec<String> = if a.shape() == b.shape() {
            sa.iter().zip(sb).map(|(x, y)| format!("{x}{y}")).collect()
        } else {
            let ia = broadcast_index(a.shape(), &shape);
            let ib = broadcast_index(b.shape(), &shape);
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| match (sa.get(i), sb.get(j)) {
                    (Some(x), Some(y)) => Ok(format!("{x}{y}")),
                    _ => Err(Error::ShapeMismatch("StringConcat: broadcast index out of range".into())),
                })
                .collect::<Result<_>>()?
        };
        output(Tensor::from_strings(shape, out)?)
    })
}

/// Splits `s` like Python's `str.split(delim, maxsplit)` (`None` = whitespace runs).
fn split_one(s: &str, delim: Option<&str>, maxsplit: Option<usize>) -> Vec<String> {
    match delim {
        Some(d) => match maxsplit {
            Some(m) => s.splitn(m + 1, d).map(str::to_string).collect(),
            None => s.split(d).map(str::to_string).collect(),
        },
        None => {
            let mut parts = Vec::new();
            let mut rest = s;
            loop {
                rest = rest.trim_start();
                if rest.is_empty() {
                    break;
                }
                if maxsplit.is_some_and(|m| parts.len() == m) {
                    parts.push(rest.to_string());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                parts.push(rest[..end].to_string());
                rest = &rest[end..];
            }
            parts
        }
    }
}

fn build_split(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let delim = n.attr_s("delimiter")?.filter(|d| !d.is_empty());
    let maxsplit = match n.attr_i("maxsplit")? {
        None => None,
        Some(m) if m >= 0 => Some(m as usize),
        Some(m) => return Err(n.unsupported(format!("maxsplit must be >= 0, got {m}"))),
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let xs = strings_of(x, "StringSplit")?;
        let parts: Vec<Vec<String>> = xs.iter().map(|s| split_one(s, delim.as_deref(), maxsplit)).collect();
        let width = parts.iter().map(Vec::len).max().unwrap_or(0);
        let counts: Vec<i64> = parts.iter().map(|p| p.len() as i64).collect();
        let mut flat = Vec::with_capacity(parts.len() * width);
        for mut p in parts {
            p.resize(width, String::new());
            flat.extend(p);
        }
        let mut shape = x.shape().to_vec();
        shape.push(width);
        outputs(vec![Tensor::from_strings(shape, flat)?, Tensor::from_vec(x.shape().to_vec(), counts)?])
    })
}

#[derive(Clone, Copy, PartialEq)]
enum CaseChange {
    None,
    Lower,
    Upper,
}

fn build_normalizer(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let action = match n.attr_s_or("case_change_action", "NONE")?.as_str() {
        "NONE" | "" => CaseChange::None,
        "LOWER" => CaseChange::Lower,
        "UPPER" => CaseChange::Upper,
        a => return Err(n.unsupported(format!("case_change_action must be NONE, LOWER or UPPER, got '{a}'"))),
    };
    let sensitive = n.attr_i_or("is_case_sensitive", 0)? != 0;
    let stops: HashSet<String> = n
        .attr_strings("stopwords")?
        .unwrap_or_default()
        .into_iter()
        .map(|s| if sensitive { s } else { s.to_lowercase() })
        .collect();
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let xs = strings_of(x, "StringNormalizer")?;
        let two_d = match x.shape() {
            [_] => false,
            [1, _] => true,
            s => {
                return Err(Error::ShapeMismatch(format!("StringNormalizer expects a [C] or [1, C] input, got {s:?}")))
            }
        };
        let mut out: Vec<String> = xs
            .iter()
            .filter(|w| {
                if stops.is_empty() {
                    true
                } else if sensitive {
                    !stops.contains(w.as_str())
                } else {
                    !stops.contains(&w.to_lowercase())
                }
            })
            .map(|w| match action {
                CaseChange::None => w.clone(),
                CaseChange::Lower => w.to_lowercase(),
                CaseChange::Upper => w.to_uppercase(),
            })
            .collect();
        if out.is_empty() {
            out.push(String::new());
        }
        let shape = if two_d { vec![1, out.len()] } else { vec![out.len()] };
        output(Tensor::from_strings(shape, out)?)
    })
}

fn build_regex(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let pat = n.attr_s("pattern")?.ok_or_else(|| n.unsupported("RegexFullMatch needs a 'pattern' attribute"))?;
    let re = regex::Regex::new(&format!("^(?:{pat})$"))
        .map_err(|e| n.unsupported(format!("invalid pattern '{pat}': {e}")))?;
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let xs = strings_of(x, "RegexFullMatch")?;
        let out: Vec<bool> = xs.iter().map(|s| re.is_match(s)).collect();
        output(Tensor::from_vec(x.shape().to_vec(), out)?)
    })
}

#[derive(Clone, Copy, PartialEq)]
enum TfMode {
    Tf,
    Idf,
    TfIdf,
}

/// The n-gram pool: each n-gram (of 1..=max_gram_length items) to its output column.
struct Pool<K> {
    map: HashMap<Vec<K>, usize>,
}

struct TfIdf {
    mode: TfMode,
    min_n: usize,
    max_n: usize,
    max_skip: usize,
    width: usize,
    weights: Vec<f32>,
    ints: Option<Pool<i64>>,
    strs: Option<Pool<String>>,
}

fn make_pool<K: Clone + Hash + Eq>(
    pool: &[K],
    counts: &[i64],
    indexes: &[i64],
    max_n: usize,
) -> std::result::Result<Pool<K>, String> {
    let mut map = HashMap::new();
    let mut ordinal = 0usize;
    for (level, &start) in counts.iter().enumerate() {
        let n = level + 1;
        let end = counts.get(level + 1).copied().unwrap_or(pool.len() as i64);
        if start < 0 || end < start || end as usize > pool.len() {
            return Err(format!("ngram_counts {counts:?} do not fit a pool of {}", pool.len()));
        }
        let items = &pool[start as usize..end as usize];
        if items.len() % n != 0 {
            return Err(format!("{} pool items at level {n} are not a whole number of {n}-grams", items.len()));
        }
        for g in items.chunks(n) {
            let col = *indexes
                .get(ordinal)
                .ok_or_else(|| format!("ngram_indexes has {} entries, the pool more n-grams", indexes.len()))?;
            if col < 0 {
                return Err(format!("negative ngram index {col}"));
            }
            if n <= max_n {
                map.insert(g.to_vec(), col as usize);
            }
            ordinal += 1;
        }
    }
    Ok(Pool { map })
}

impl TfIdf {
    fn count_row<K: Clone + Hash + Eq>(&self, pool: &Pool<K>, row: &[K], out: &mut [f32]) {
        let mut key: Vec<K> = Vec::with_capacity(self.max_n);
        for n in self.min_n.max(1)..=self.max_n {
            // Unigrams are counted once whatever the skip.
            let skips = if n == 1 { 0 } else { self.max_skip };
            for skip in 0..=skips {
                let step = skip + 1;
                let span = (n - 1) * step + 1;
                if span > row.len() {
                    break;
                }
                for start in 0..=row.len() - span {
                    key.clear();
                    key.extend((0..n).map(|k| row[start + k * step].clone()));
                    if let Some(&c) = pool.map.get(&key) {
                        if let Some(o) = out.get_mut(c) {
                            *o += 1.0;
                        }
                    }
                }
            }
        }
        for (i, o) in out.iter_mut().enumerate() {
            if *o == 0.0 {
                continue;
            }
            let w = self.weights.get(i).copied().unwrap_or(1.0);
            *o = match self.mode {
                TfMode::Tf => *o,
                TfMode::Idf => w,
                TfMode::TfIdf => *o * w,
            };
        }
    }
}

fn build_tfidf(ctx: &BuildCtx) -> Result<Box<dyn Kernel>> {
    let n = ctx.node;
    let mode = match n.attr_s_or("mode", "TF")?.as_str() {
        "TF" => TfMode::Tf,
        "IDF" => TfMode::Idf,
        "TFIDF" => TfMode::TfIdf,
        m => return Err(n.unsupported(format!("mode must be TF, IDF or TFIDF, got '{m}'"))),
    };
    let min_n = n.attr_i_or("min_gram_length", 1)?;
    let max_n = n.attr_i_or("max_gram_length", 1)?;
    let max_skip = n.attr_i_or("max_skip_count", 0)?;
    if min_n < 1 || max_n < min_n || max_skip < 0 {
        return Err(n.unsupported(format!(
            "need 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0, got {min_n}, {max_n}, {max_skip}"
        )));
    }
    let counts = n.attr_ints("ngram_counts")?.unwrap_or_default();
    let indexes = n.attr_ints("ngram_indexes")?.unwrap_or_default();
    let width = indexes.iter().copied().max().map_or(0, |m| m.max(-1) + 1) as usize;
    let weights = n.attr_floats("weights")?.unwrap_or_default();
    let (ints, strs) = match (n.attr_ints("pool_int64s")?, n.attr_strings("pool_strings")?) {
        (Some(p), None) => {
            (Some(make_pool(&p, &counts, &indexes, max_n as usize).map_err(|e| n.unsupported(e))?), None)
        }
        (None, Some(p)) => {
            (None, Some(make_pool(&p, &counts, &indexes, max_n as usize).map_err(|e| n.unsupported(e))?))
        }
        _ => return Err(n.unsupported("exactly one of pool_int64s and pool_strings must be given")),
    };
    let op = TfIdf {
        mode,
        min_n: min_n as usize,
        max_n: max_n as usize,
        max_skip: max_skip as usize,
        width,
        weights,
        ints,
        strs,
    };
    kernel(move |_, inputs| {
        let x = input(inputs, 0)?;
        let (rows, c) = match x.shape() {
            [c] => (None, *c),
            [b, c] => (Some(*b), *c),
            s => return Err(Error::ShapeMismatch(format!("TfIdfVectorizer expects a [C] or [N, C] input, got {s:?}"))),
        };
        let nrows = rows.unwrap_or(1);
        let mut out = vec![0f32; nrows * op.width];
        if op.width > 0 {
            match (x.dtype(), &op.ints, &op.strs) {
                (DType::String, _, Some(pool)) => {
                    let xs = x.as_strings()?;
                    for (r, o) in out.chunks_mut(op.width).enumerate() {
                        op.count_row(pool, xs.get(r * c..(r + 1) * c).unwrap_or(&[]), o);
                    }
                }
                (DType::Int32 | DType::Int64, Some(pool), _) => {
                    let xs = x.to_i64_vec()?;
                    for (r, o) in out.chunks_mut(op.width).enumerate() {
                        op.count_row(pool, xs.get(r * c..(r + 1) * c).unwrap_or(&[]), o);
                    }
                }
                (t, _, _) => {
                    return Err(Error::TypeMismatch(format!(
                        "TfIdfVectorizer input of {t} does not match its pool ({})",
                        if op.ints.is_some() { "pool_int64s: int32/int64 input" } else { "pool_strings: string input" }
                    )))
                }
            }
        }
        let shape = match rows {
            Some(b) => vec![b, op.width],
            None => vec![op.width],
        };
        output(Tensor::from_vec(shape, out)?)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::run_node;
    use ronn_core::Tensor;
    use ronn_ir::{Attribute, Node};

    fn strs(shape: Vec<usize>, v: &[&str]) -> Tensor {
        Tensor::from_strings(shape, v.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    fn s(v: &str) -> Attribute {
        Attribute::String(v.as_bytes().to_vec())
    }

    #[test]
    fn concat_broadcast() {
        let n = Node::new("StringConcat", &["a", "b"], &["y"], 20);
        let y = &run_node(&n, vec![strs(vec![2, 1], &["a", "b"]), strs(vec![3], &["x", "y", "z"])]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(y.as_strings().unwrap(), &["ax", "ay", "az", "bx", "by", "bz"]);
        let y = &run_node(&n, vec![strs(vec![], &["cat"]), strs(vec![], &["s"])]).unwrap()[0];
        assert_eq!(y.shape(), &[] as &[usize]);
        assert_eq!(y.as_strings().unwrap(), &["cats"]);
        assert!(run_node(&n, vec![strs(vec![2], &["a", "b"]), strs(vec![3], &["x", "y", "z"])]).is_err());
        assert!(run_node(&n, vec![strs(vec![1], &["a"]), Tensor::from_vec(vec![1], vec![1f32]).unwrap()]).is_err());
    }

    #[test]
    fn split_variants() {
        let n = Node::new("StringSplit", &["x"], &["s", "l"], 20).with_attr("delimiter", s("-"));
        let y = run_node(&n, vec![strs(vec![2], &["o-n-n--x-", "a"])]).unwrap();
        assert_eq!(y[0].shape(), &[2, 6]);
        assert_eq!(y[0].as_strings().unwrap()[..6], ["o", "n", "n", "", "x", ""]);
        assert_eq!(y[1].as_slice::<i64>().unwrap(), &[6, 1]);
        // whitespace + maxsplit (values from onnx's reference)
        let n = Node::new("StringSplit", &["x"], &["s", "l"], 20).with_attr("maxsplit", Attribute::Int(2));
        let y = run_node(&n, vec![strs(vec![2], &["  o n  n x ", "def.net"])]).unwrap();
        assert_eq!(y[0].shape(), &[2, 3]);
        assert_eq!(y[0].as_strings().unwrap(), &["o", "n", "n x ", "def.net", "", ""]);
        assert_eq!(y[1].as_slice::<i64>().unwrap(), &[3, 1]);
        let y = run_node(&n, vec![strs(vec![0], &[])]).unwrap();
        assert_eq!(y[0].shape(), &[0, 0]);
        assert_eq!(y[1].shape(), &[0]);
    }

    #[test]
    fn normalizer() {
        let n = Node::new("StringNormalizer", &["x"], &["y"], 10)
            .with_attr("case_change_action", s("UPPER"))
            .with_attr("stopwords", Attribute::Strings(vec![b"monday".to_vec()]));
        let y = &run_node(&n, vec![strs(vec![1, 3], &["Monday", "tuesday", "ß"])]).unwrap()[0];
        assert_eq!(y.shape(), &[1, 2]);
        assert_eq!(y.as_strings().unwrap(), &["TUESDAY", "SS"]);
        let n = n.with_attr("is_case_sensitive", Attribute::Int(1));
        let y = &run_node(&n, vec![strs(vec![2], &["Monday", "monday"])]).unwrap()[0];
        assert_eq!(y.as_strings().unwrap(), &["MONDAY"]);
        let y = &run_node(&n, vec![strs(vec![2], &["monday", "monday"])]).unwrap()[0];
        assert_eq!(y.shape(), &[1]);
        assert_eq!(y.as_strings().unwrap(), &[""]);
        assert!(run_node(&n, vec![strs(vec![2, 1], &["a", "b"])]).is_err());
        let bad = Node::new("StringNormalizer", &["x"], &["y"], 10).with_attr("case_change_action", s("TITLE"));
        assert!(run_node(&bad, vec![strs(vec![1], &["a"])]).is_err());
    }

    #[test]
    fn regex_full_match() {
        let n = Node::new("RegexFullMatch", &["x"], &["y"], 20).with_attr("pattern", s(r"www\.[\w.-]+\.\bcom\b"));
        let y = &run_node(&n, vec![strs(vec![3], &["www.google.com", "www.bbc.co.uk", "xwww.a.com"])]).unwrap()[0];
        assert_eq!(y.as_slice::<bool>().unwrap(), &[true, false, false]);
        let bad = Node::new("RegexFullMatch", &["x"], &["y"], 20).with_attr("pattern", s("(a"));
        assert!(run_node(&bad, vec![strs(vec![1], &["a"])]).is_err());
    }

    #[test]
    fn tfidf_skip_bigrams() {
        // test_tfidfvectorizer_tf_uniandbigrams_skip5 from the ONNX suite.
        let n = Node::new("TfIdfVectorizer", &["x"], &["y"], 9)
            .with_attr("max_gram_length", Attribute::Int(2))
            .with_attr("min_gram_length", Attribute::Int(1))
            .with_attr("max_skip_count", Attribute::Int(5))
            .with_attr("mode", s("TF"))
            .with_attr("ngram_counts", Attribute::Ints(vec![0, 4]))
            .with_attr("ngram_indexes", Attribute::Ints(vec![0, 1, 2, 3, 4, 5, 6]))
            .with_attr("pool_int64s", Attribute::Ints(vec![2, 3, 5, 4, 5, 6, 7, 8, 6, 7]));
        let x = Tensor::from_vec(vec![12], vec![1i32, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8]).unwrap();
        let y = &run_node(&n, vec![x]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 3., 1., 0., 1., 3., 1.]);
        let x = Tensor::from_vec(vec![2, 6], vec![1i64, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8]).unwrap();
        let y = &run_node(&n, vec![x]).unwrap()[0];
        assert_eq!(y.shape(), &[2, 7]);
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0., 3., 0., 0., 0., 0., 0., 0., 0., 1., 0., 1., 1., 1.]);
        // IDF / TFIDF with weights and a string pool.
        let n = Node::new("TfIdfVectorizer", &["x"], &["y"], 9)
            .with_attr("mode", s("TFIDF"))
            .with_attr("ngram_counts", Attribute::Ints(vec![0]))
            .with_attr("ngram_indexes", Attribute::Ints(vec![1, 0]))
            .with_attr("weights", Attribute::Floats(vec![0.5, 2.0]))
            .with_attr("pool_strings", Attribute::Strings(vec![b"a".to_vec(), b"b".to_vec()]));
        let y = &run_node(&n, vec![strs(vec![4], &["a", "b", "a", "c"])]).unwrap()[0];
        assert_eq!(y.as_slice::<f32>().unwrap(), &[0.5, 4.0]);
        assert!(run_node(&n, vec![Tensor::from_vec(vec![1], vec![1i64]).unwrap()]).is_err());
    }
}
