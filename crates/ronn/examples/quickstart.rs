//! Loads a model, prints its interface, and runs it on zeros of the right shape
//! (symbolic dims set to 1), from many threads at once.
//!
//! `cargo run --release -p ronn --example quickstart -- crates/ronn-cli/assets/digits.onnx`

use ronn::{DType, Dim, Model, SessionOptions, Tensor};
use std::sync::Arc;

fn main() -> ronn::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "crates/ronn-cli/assets/digits.onnx".into());
    let model = Model::load(&path)?;
    for i in model.inputs() {
        println!("input  {:<16} {:?} {:?}", i.name, i.dtype, i.shape);
    }
    for o in model.outputs() {
        println!("output {:<16} {:?} {:?}", o.name, o.dtype, o.shape);
    }
    let session = Arc::new(model.create_session(SessionOptions::default())?);
    let feeds: Vec<(String, Tensor)> = model
        .inputs()
        .into_iter()
        .map(|i| {
            let shape: Vec<usize> =
                i.shape.unwrap_or_default().iter().map(|d| if let Dim::Known(n) = d { *n } else { 1 }).collect();
            Ok((i.name, Tensor::zeros(i.dtype.unwrap_or(DType::Float32), shape)?))
        })
        .collect::<ronn::Result<_>>()?;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (s, f) = (session.clone(), feeds.clone());
            std::thread::spawn(move || s.run(f))
        })
        .collect();
    for t in threads {
        let out = t.join().map_err(|_| ronn::Error::Internal("thread panicked".into()))??;
        for (name, v) in out.iter() {
            println!("{name}: {:?}", v.as_tensor()?);
        }
    }
    Ok(())
}
