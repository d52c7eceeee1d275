//! Emits `cfg(ronn_avx512)` when the compiler has stable AVX-512 intrinsics
//! (Rust 1.89+), as ronn-core's build script does: the workspace's declared MSRV
//! is older, so the VNNI int8 GEMM in `src/qgemm.rs` is compiled only where it can be.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ronn_avx512)");
    println!("cargo:rerun-if-changed=build.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc).arg("--version").output().ok();
    let minor = version
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1)?.split('.').nth(1)?.parse::<u32>().ok());
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo:rustc-cfg=ronn_avx512");
    }
}
