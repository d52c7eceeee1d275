//! Raw declarations of RONN's C API, mirroring `include/ronn/ronn.h` (checked
//! against it by `ronn-sys/systest` with ctest2). Feature `bundled` (default)
//! compiles the engine in through ronn-capi; `system` links an installed libronn.
#![warn(missing_docs)]
#![no_std]

#[cfg(feature = "bundled")]
extern crate ronn_capi as _;

mod ffi;
pub use ffi::*;
