//! ctest2's generated checks of ronn-sys against ronn.h.
#![allow(bad_style, clippy::all, unused_imports)]
use ronn_sys::*;
include!(concat!(env!("OUT_DIR"), "/all.rs"));
