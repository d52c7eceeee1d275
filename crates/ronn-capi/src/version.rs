//! Library and ABI versions.

use crate::error::boundary_value;
use std::ffi::c_char;

/// Major version of the library (matches Cargo.toml; checked by scripts/check-header.sh).
pub const RONN_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const RONN_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const RONN_VERSION_PATCH: u32 = 0;
/// Version of the C ABI described by this header; raised on every ABI change.
/// Until 1.0 the ABI may change between minor versions.
pub const RONN_API_VERSION: u32 = 2;

static VERSION: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

/// The library version as "MAJOR.MINOR.PATCH".
///
/// Thread-safe. The string is static: never free it.
#[no_mangle]
pub extern "C" fn ronn_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// The ABI version of the loaded library (`RONN_API_VERSION` of the header it was
/// built from). An SDK refuses a library whose value is older than its header's.
///
/// Thread-safe. Nothing to free.
#[no_mangle]
pub extern "C" fn ronn_api_version() -> u32 {
    boundary_value(0, || RONN_API_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_cargo() {
        assert_eq!(RONN_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(RONN_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(RONN_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
    }
}
