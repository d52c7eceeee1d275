//! Test helpers shared by RONN's crates (dev-only):
//! - [`one_node`]: a one-node model of any op at any opset, as a loaded [`Model`];
//! - [`assert_allclose`]: numpy-style tolerance compare with a useful message;
//! - [`run_backend_case`]: runs one ONNX backend-suite case folder in-process.
#![forbid(unsafe_code)]

use ronn::builder::{Attribute, ModelBuilder};
use ronn::{Model, OptimizationLevel, Session, SessionOptions, Tensor, Value, ValueType};
use std::path::Path;

/// A model with one `op` node at `opset`: inputs named as given (typed from the
/// tensors, dims fixed), `n_outputs` untyped outputs `y0, y1, ..`.
pub fn one_node(
    op: &str,
    opset: i64,
    inputs: &[(&str, &Tensor)],
    n_outputs: usize,
    attrs: Vec<(&str, Attribute)>,
) -> Model {
    let mut b = ModelBuilder::new(opset);
    for (name, t) in inputs {
        let dims: Vec<ronn::Dim> = t.shape().iter().map(|&d| ronn::Dim::Known(d)).collect();
        b = b.input(name, t.dtype(), &dims);
    }
    let outs: Vec<String> = (0..n_outputs).map(|k| format!("y{k}")).collect();
    for o in &outs {
        b = b.output_untyped(o);
    }
    let ins: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
    let outs_ref: Vec<&str> = outs.iter().map(|s| s.as_str()).collect();
    let bytes = b.node(op, &ins, &outs_ref, attrs).build();
    match Model::from_bytes(&bytes) {
        Ok(m) => m,
        Err(e) => panic!("one_node({op}, opset {opset}) does not load: {e}"),
    }
}

/// Runs a one-node model at every optimization level and returns the outputs of
/// O0 after checking every other level agrees with it.
pub fn run_one_node(
    op: &str,
    opset: i64,
    inputs: &[(&str, &Tensor)],
    n_outputs: usize,
    attrs: Vec<(&str, Attribute)>,
) -> ronn::Result<Vec<Tensor>> {
    let model = one_node(op, opset, inputs, n_outputs, attrs);
    let mut first: Option<Vec<Tensor>> = None;
    for level in [OptimizationLevel::O0, OptimizationLevel::O3] {
        let s =
            model.create_session(SessionOptions { optimization_level: level, num_threads: 1, ..Default::default() })?;
        let outs = s.run(inputs.iter().map(|(n, t)| (*n, (*t).clone())))?;
        let ts: Vec<Tensor> = outs.into_iter().map(|(_, v)| v.into_tensor()).collect::<ronn::Result<_>>()?;
        match &first {
            None => first = Some(ts),
            Some(f) => assert_eq!(f, &ts, "{op}: optimization level {level:?} changes the result"),
        }
    }
    Ok(first.unwrap_or_default())
}

/// Asserts `got` matches `want` in dtype, shape and values (floats: |g - w| <= atol + rtol * |w|, NaN == NaN).
pub fn assert_allclose(got: &Tensor, want: &Tensor, rtol: f64, atol: f64) {
    if let Err(msg) = allclose(got, want, rtol, atol) {
        panic!("{msg}");
    }
}

/// Like [`assert_allclose`], returning the first mismatch as an error message.
pub fn allclose(got: &Tensor, want: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if got.dtype() != want.dtype() {
        return Err(format!("dtype {} != expected {}", got.dtype(), want.dtype()));
    }
    if got.shape() != want.shape() {
        return Err(format!("shape {:?} != expected {:?}", got.shape(), want.shape()));
    }
    if got.dtype() == ronn::DType::String {
        return if got == want { Ok(()) } else { Err("strings differ".into()) };
    }
    let (g, w) = (got.to_f64_vec().map_err(|e| e.to_string())?, want.to_f64_vec().map_err(|e| e.to_string())?);
    let exact = !got.dtype().is_float();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok =
            if exact { a == b } else { (a.is_nan() && b.is_nan()) || (a - b).abs() <= atol + rtol * b.abs() || a == b };
        if !ok {
            return Err(format!("element {i}: got {a}, expected {b} (rtol {rtol}, atol {atol})"));
        }
    }
    Ok(())
}

fn compare_values(got: &Value, want: &Value, rtol: f64, atol: f64) -> Result<(), String> {
    match (got, want) {
        (Value::Tensor(g), Value::Tensor(w)) => allclose(g, w, rtol, atol),
        (Value::Sequence { items: g, .. }, Value::Sequence { items: w, .. }) => {
            if g.len() != w.len() {
                return Err(format!("sequence length {} != {}", g.len(), w.len()));
            }
            g.iter().zip(w).try_for_each(|(a, b)| allclose(a, b, rtol, atol))
        }
        (Value::Optional(None), Value::Optional(None)) => Ok(()),
        (Value::Optional(Some(g)), Value::Optional(Some(w))) => compare_values(g, w, rtol, atol),
        (Value::Optional(Some(g)), w) => compare_values(g, w, rtol, atol),
        (g, w) => Err(format!("got a {}, expected a {}", g.kind(), w.kind())),
    }
}

/// Runs one backend-suite case folder (`model.onnx`, `test_data_set_*/{input,output}_K.pb`)
/// with `session_options`, comparing with the suite's tolerances (rtol 1e-3, atol 1e-5).
pub fn run_backend_case(dir: &Path, options: SessionOptions) -> Result<(), String> {
    let model = Model::load(dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let session: Session = model.create_session(options).map_err(|e| e.to_string())?;
    let mut sets: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("test_data_set_")))
        .collect();
    sets.sort();
    for ds in sets {
        let read = |name: String, ty: &ValueType| -> Result<Value, String> {
            let bytes = std::fs::read(ds.join(&name)).map_err(|e| format!("{name}: {e}"))?;
            ronn::proto::decode_value(&bytes, ty).map_err(|e| format!("{name}: {e}"))
        };
        let mut feeds = Vec::new();
        for (k, info) in session.inputs().iter().enumerate() {
            if ds.join(format!("input_{k}.pb")).exists() {
                feeds.push((info.name.clone(), read(format!("input_{k}.pb"), &info.value_type)?));
            }
        }
        let outs = session.run(feeds).map_err(|e| e.to_string())?;
        for (k, ((name, got), info)) in outs.iter().zip(session.outputs()).enumerate() {
            let want = read(format!("output_{k}.pb"), &info.value_type)?;
            compare_values(got, &want, 1e-3, 1e-5).map_err(|e| format!("output '{name}': {e}"))?;
        }
    }
    Ok(())
}

/// Checks `json` against the Trace Event Format as Perfetto's JSON importer reads it:
/// a top-level object with a `traceEvents` array; every event has a string `name`, a
/// `ph` among X/M/B/E/i/C, integer `pid` and `tid`, numeric `ts` (µs), `dur` ≥ 0 for
/// X events, an object `args`; `M` events named `thread_name` carry `args.name`.
/// Returns the parsed trace so callers can check its content too.
pub fn validate_chrome_trace(json: &str) -> Result<serde_json::Value, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let events = v.get("traceEvents").and_then(|e| e.as_array()).ok_or("no traceEvents array")?;
    if events.is_empty() {
        return Err("traceEvents is empty".into());
    }
    for (i, e) in events.iter().enumerate() {
        let bad = |what: &str| format!("event {i} {what}: {e}");
        let obj = e.as_object().ok_or_else(|| bad("is not an object"))?;
        obj.get("name").and_then(|n| n.as_str()).ok_or_else(|| bad("has no string name"))?;
        let ph = obj.get("ph").and_then(|p| p.as_str()).ok_or_else(|| bad("has no string ph"))?;
        if !["X", "M", "B", "E", "i", "C"].contains(&ph) {
            return Err(bad("has an unknown ph"));
        }
        for key in ["pid", "tid"] {
            if !obj.get(key).is_some_and(|x| x.is_u64() || x.is_i64()) {
                return Err(bad(&format!("has no integer {key}")));
            }
        }
        let ts = obj.get("ts").and_then(|t| t.as_f64()).ok_or_else(|| bad("has no numeric ts"))?;
        if !ts.is_finite() || ts < 0.0 {
            return Err(bad("has a bad ts"));
        }
        if ph == "X" {
            let dur = obj.get("dur").and_then(|d| d.as_f64()).ok_or_else(|| bad("(X) has no numeric dur"))?;
            if !dur.is_finite() || dur < 0.0 {
                return Err(bad("(X) has a negative dur"));
            }
        }
        if let Some(args) = obj.get("args") {
            if !args.is_object() {
                return Err(bad("has non-object args"));
            }
        } else if ph == "X" || ph == "M" {
            return Err(bad("has no args"));
        }
        if ph == "M" && obj["name"] == "thread_name" && !obj["args"]["name"].is_string() {
            return Err(bad("(thread_name) has no args.name"));
        }
    }
    Ok(v)
}
