//! libronn (`libronn.a`, `libronn.so`): the artifact crate. It re-exports
//! ronn-capi so that every `#[no_mangle]` function ends up in the C library,
//! while Rust users of the rlib never link a second copy of std.
pub use ronn_capi::*;
