//! `system`: link the installed libronn. `bundled`: ronn-capi is compiled in, nothing to link.
fn main() {
    println!("cargo:rerun-if-env-changed=RONN_LIB_DIR");
    let bundled = std::env::var_os("CARGO_FEATURE_BUNDLED").is_some();
    let system = std::env::var_os("CARGO_FEATURE_SYSTEM").is_some();
    if system && !bundled {
        if let Some(dir) = std::env::var_os("RONN_LIB_DIR") {
            println!("cargo:rustc-link-search=native={}", dir.to_string_lossy());
        }
        println!("cargo:rustc-link-lib=dylib=ronn");
    }
}
