//! Compiles crates/ronn-onnx/proto/onnx/{onnx-ml,onnx-data}.proto with protox (pure
//! Rust, no protoc) and writes the prost code to crates/ronn-onnx/src/generated/.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/ronn-onnx");
    let proto = root.join("proto");
    let out = root.join("src/generated");
    std::fs::create_dir_all(&out)?;
    let fds = protox::compile(["onnx/onnx-ml.proto", "onnx/onnx-data.proto"], [&proto])?;
    prost_build::Config::new().out_dir(&out).compile_fds(fds)?;
    println!("wrote {}", out.join("onnx.rs").display());
    Ok(())
}
