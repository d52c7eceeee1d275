//! `ronn run`: one run, outputs written as `output_K.pb` (+ `NAME.npy`) and summarized.

use crate::{embedded, inputs, npy, SessionArgs};
use clap::Args;
use ronn::{Error, Result, Tensor, Value};
use std::path::PathBuf;

#[derive(Args)]
pub struct RunArgs {
    /// The .onnx file (default: the embedded digit classifier).
    model: Option<PathBuf>,
    /// An input as NAME=FILE.npy (repeatable).
    #[arg(long = "input", value_name = "NAME=FILE.npy")]
    input: Vec<String>,
    /// A folder with input_K.pb files (ONNX TensorProto, backend-test layout).
    #[arg(long = "inputs-dir")]
    inputs_dir: Option<PathBuf>,
    /// Write output_K.pb and NAME.npy for every output here.
    #[arg(long = "outputs-dir")]
    outputs_dir: Option<PathBuf>,
    #[command(flatten)]
    session: SessionArgs,
}

fn summary(t: &Tensor) -> String {
    let head = match t.to_f64_vec() {
        Ok(v) => {
            let shown: Vec<String> = v.iter().take(6).map(|x| format!("{x:.5}")).collect();
            let stats = if v.is_empty() {
                String::new()
            } else {
                let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
                let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                format!("  min {min:.4} max {max:.4} mean {mean:.4}")
            };
            format!("[{}{}]{stats}", shown.join(", "), if v.len() > 6 { ", .." } else { "" })
        }
        Err(_) => format!("{:?}", t.as_strings().map(|s| s.iter().take(4).collect::<Vec<_>>()).unwrap_or_default()),
    };
    format!("{}{:?} {head}", t.dtype(), t.shape())
}

/// File-system-safe version of an output name.
fn file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

pub fn run(a: &RunArgs) -> Result<()> {
    let model = crate::load_model(a.model.as_ref())?;
    let default_model = a.model.is_none();
    let mut given = inputs::from_npy_args(&model, &a.input)?;
    if let Some(dir) = &a.inputs_dir {
        let more = inputs::from_dir(&model, dir, &given)?;
        given.extend(more);
    }
    if default_model && given.is_empty() {
        given.push(("pixels".into(), Value::Tensor(npy::read(embedded::DIGITS_INPUTS)?)));
    }
    let feeds = inputs::complete(&model, given, a.outputs_dir.is_some())?;
    let session = model.create_session(a.session.options()?)?;
    let t0 = std::time::Instant::now();
    let outs = session.run(feeds)?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if let Some(dir) = &a.outputs_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io(format!("cannot create {}: {e}", dir.display())))?;
        for (k, ((name, v), info)) in outs.iter().zip(session.outputs()).enumerate() {
            let bytes = ronn::proto::encode_value(v, name, &info.value_type)?;
            let p = dir.join(format!("output_{k}.pb"));
            std::fs::write(&p, bytes).map_err(|e| Error::Io(format!("cannot write {}: {e}", p.display())))?;
            if let Value::Tensor(t) = v {
                if let Some(b) = npy::write(t)? {
                    let p = dir.join(format!("{}.npy", file_name(name)));
                    std::fs::write(&p, b).map_err(|e| Error::Io(format!("cannot write {}: {e}", p.display())))?;
                }
            }
        }
    }
    if default_model {
        return print_digits(&outs, ms);
    }
    println!("ran in {ms:.2} ms");
    for (name, v) in outs.iter() {
        match v {
            Value::Tensor(t) => println!("  {name}: {}", summary(t)),
            Value::Sequence { items, .. } => println!("  {name}: sequence of {} tensors", items.len()),
            Value::Optional(o) => println!("  {name}: optional ({})", if o.is_some() { "set" } else { "empty" }),
        }
    }
    Ok(())
}

fn print_digits(outs: &ronn::Outputs, ms: f64) -> Result<()> {
    let labels = npy::read(embedded::DIGITS_LABELS)?.into_vec::<i64>()?;
    let pred = outs.tensor("label")?.as_slice::<i64>()?;
    let probs = outs.tensor("probabilities")?.as_slice::<f32>()?;
    println!("embedded model: digit classifier (scikit-learn digits, 8x8 images), {} samples, {ms:.2} ms", pred.len());
    println!("  sample  predicted  confidence  true");
    let mut right = 0;
    for (i, (&p, &t)) in pred.iter().zip(&labels).enumerate() {
        let conf = probs.get(i * 10 + p as usize).copied().unwrap_or(f32::NAN);
        right += (p == t) as usize;
        println!("  {i:>6}  {p:>9}  {:>9.1}%  {t:>4}{}", conf * 100.0, if p == t { "" } else { "  <- wrong" });
    }
    println!("accuracy: {right}/{} correct", pred.len());
    Ok(())
}
