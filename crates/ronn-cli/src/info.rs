//! `ronn info MODEL`.

use ronn::{Model, Result};
use std::collections::BTreeMap;
use std::path::Path;

fn shape(i: &ronn::TensorInfo) -> String {
    match &i.shape {
        Some(s) => format!("[{}]", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
        None => "[..]".into(),
    }
}

/// Prints the model's interface and statistics.
pub fn info(path: &Path) -> Result<()> {
    let m = Model::load_unchecked(path)?;
    let g = m.graph();
    println!("model:     {}", path.display());
    let (p, v) = m.producer();
    println!("producer:  {} {}", if p.is_empty() { "(unknown)" } else { p }, v);
    println!("ir:        {}", m.ir_version());
    let opsets: Vec<String> =
        m.opsets().iter().map(|(d, v)| format!("{} {v}", if d.is_empty() { "ai.onnx" } else { d })).collect();
    println!("opsets:    {}", opsets.join(", "));
    println!("inputs:");
    for i in m.inputs() {
        println!("  {:<24} {:<10} {}", i.name, i.dtype.map(|d| d.name()).unwrap_or("?"), shape(&i));
    }
    println!("outputs:");
    for o in m.outputs() {
        println!("  {:<24} {:<10} {}", o.name, o.dtype.map(|d| d.name()).unwrap_or("?"), shape(&o));
    }
    let params: usize = g.initializers.values().map(|t| t.len()).sum();
    let bytes: usize = g.initializers.values().map(|t| t.len() * t.dtype().size_of().max(1)).sum();
    println!("params:    {params} ({:.1} MB in {} initializers)", bytes as f64 / 1e6, g.initializers.len());
    let mut hist: BTreeMap<String, usize> = BTreeMap::new();
    for n in &g.nodes {
        let key = if n.domain.is_empty() { n.op_type.clone() } else { format!("{}:{}", n.domain, n.op_type) };
        *hist.entry(key).or_default() += 1;
    }
    let mut hist: Vec<_> = hist.into_iter().collect();
    hist.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("nodes:     {}", g.nodes.len());
    for (op, n) in hist {
        println!("  {n:>6}  {op}");
    }
    let bad = m.unsupported();
    if !bad.is_empty() {
        println!("unsupported by this build ({} nodes): {}", bad.len(), ronn::Error::Unsupported(bad));
    }
    Ok(())
}
