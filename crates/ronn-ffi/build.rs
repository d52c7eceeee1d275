//! Gives libronn.so its soname, so programs record `libronn.so` (found through
//! their rpath or the loader path) rather than the build folder's absolute path.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libronn.so");
    }
}
