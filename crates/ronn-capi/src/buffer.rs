//! `ronn_buffer`: bytes RONN computed for the caller (a profile's JSON), owned
//! by the caller until `ronn_buffer_free`.
//!
//! Live buffers are remembered by address, so freeing one twice, or freeing
//! memory RONN did not give, is answered instead of corrupting the heap.

use crate::error::{boundary, ronn_status, CError, CResult};
use std::collections::HashMap;
use std::sync::Mutex;

/// Bytes owned by the caller: `len` bytes at `data`, followed by a NUL that
/// `len` does not count (text can be printed as a C string). Free with
/// `ronn_buffer_free`; do not change `data` or `len`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_buffer {
    /// The bytes (NUL-terminated); NULL for an empty or freed buffer.
    pub data: *mut u8,
    /// Their number, without the NUL.
    pub len: usize,
}

/// Address -> length (NUL included) of every buffer given and not yet freed.
static LIVE: Mutex<Option<HashMap<usize, usize>>> = Mutex::new(None);

/// Moves `bytes` into a new buffer written to `*out` (checked non-NULL by the caller).
pub(crate) fn give(bytes: Vec<u8>, out: *mut ronn_buffer) -> CResult {
    if out.is_null() {
        return Err(CError::null("out"));
    }
    let mut v = bytes;
    v.push(0);
    let len = v.len() - 1;
    let data = Box::into_raw(v.into_boxed_slice()) as *mut u8;
    LIVE.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashMap::new).insert(data as usize, len + 1);
    // SAFETY: non-NULL out-parameter.
    unsafe { out.write(ronn_buffer { data, len }) };
    Ok(())
}

/// Frees a buffer RONN gave and sets it to `{NULL, 0}`. NULL, and a buffer
/// whose `data` is NULL, are accepted; a buffer RONN did not give (or freed
/// already) is refused with `RONN_STATUS_INVALID_ARGUMENT` and left alone.
///
/// Thread-safe.
#[no_mangle]
pub extern "C" fn ronn_buffer_free(buffer: *mut ronn_buffer) -> ronn_status {
    boundary("ronn_buffer_free", || {
        if buffer.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the caller promises a ronn_buffer.
        let b = unsafe { buffer.read() };
        if b.data.is_null() {
            return Ok(());
        }
        let known = LIVE.lock().unwrap_or_else(|e| e.into_inner()).as_mut().and_then(|s| s.remove(&(b.data as usize)));
        let Some(size) = known else {
            return Err(CError::arg("the buffer was not given by RONN, or was freed already"));
        };
        // SAFETY: `data` came from Box::into_raw of a boxed slice of `size` bytes in `give`
        // (the registry proves it, and that it was not freed yet; `len` is not trusted).
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(b.data, size)) });
        // SAFETY: non-NULL.
        unsafe { buffer.write(ronn_buffer { data: std::ptr::null_mut(), len: 0 }) };
        Ok(())
    })
}
