//! The Rust API's side of the bit-for-bit check against the C API.
//!
//! `capi_reference MODEL INPUT.npy OUTPUT.bin` feeds the model's first input with
//! `arange(n)/n` (float32, symbolic dims as 1, as the parity script does), writes
//! that input as .npy (for the C example to read) and every output's raw bytes
//! in the model's order (as the C example writes them).
use ronn::{DType, Dim, Model, OptimizationLevel, SessionOptions, Tensor};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: capi_reference MODEL INPUT.npy OUTPUT.bin".into());
    }
    let model = Model::load(&args[1])?;
    let info = &model.inputs()[0];
    let shape: Vec<usize> = info
        .shape
        .as_ref()
        .ok_or("input rank unknown")?
        .iter()
        .map(|d| if let Dim::Known(n) = d { *n } else { 1 })
        .collect();
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|i| (i as f64 / n as f64) as f32).collect();
    // .npy version 1.0, little-endian float32, C order
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}{}), }}",
        dims.join(", "),
        if dims.len() == 1 { "," } else { "" }
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::fs::File::create(&args[2])?;
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    for v in &data {
        f.write_all(&v.to_le_bytes())?;
    }
    let session =
        model.create_session(SessionOptions { optimization_level: OptimizationLevel::O3, ..Default::default() })?;
    let names: Vec<String> = session.outputs().iter().map(|o| o.name.clone()).collect();
    let out = session.run([(info.name.as_str(), Tensor::from_vec(shape, data)?)])?;
    let mut bytes: Vec<u8> = Vec::new();
    for name in &names {
        let t = out.tensor(name)?;
        match t.dtype() {
            DType::Float32 => bytes.extend(t.as_slice::<f32>()?.iter().flat_map(|v| v.to_le_bytes())),
            DType::Int64 => bytes.extend(t.as_slice::<i64>()?.iter().flat_map(|v| v.to_le_bytes())),
            d => return Err(format!("output '{name}' is {}: only float32 and int64 are compared", d.name()).into()),
        }
        println!("{}: output '{}' shape {:?}", args[1], name, t.shape());
    }
    std::fs::write(&args[3], bytes)?;
    Ok(())
}
