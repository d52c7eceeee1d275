//! Prints the library and ABI versions through ronn-sys (with `bundled` or `system`).
use std::ffi::CStr;

fn main() {
    // SAFETY: both functions take no arguments; ronn_version returns a static NUL-terminated string.
    let (v, api) = unsafe { (CStr::from_ptr(ronn_sys::ronn_version()), ronn_sys::ronn_api_version()) };
    println!("libronn {} (API {api}; header API {})", v.to_string_lossy(), ronn_sys::RONN_API_VERSION);
    assert!(api >= ronn_sys::RONN_API_VERSION, "libronn is older than this header");
}
