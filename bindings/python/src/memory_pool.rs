//! `MemoryPool`: a `ronn_memory_pool` handle. Pass one to several sessions to
//! share buffers between them; the sessions keep it alive.
use std::ptr;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use ronn_sys as sys;

use crate::error::{check, check_py};
use crate::SendPtr;

/// One pool handle, freed on drop.
pub struct PoolPtr(pub *mut sys::ronn_memory_pool);

// SAFETY: every memory pool function is documented thread-safe; freed once, in Drop.
unsafe impl Send for PoolPtr {}
// SAFETY: as above.
unsafe impl Sync for PoolPtr {}

impl Drop for PoolPtr {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once; NULL is accepted.
        unsafe { sys::ronn_memory_pool_free(self.0) };
    }
}

/// A pool of reusable tensor buffers.
#[pyclass(frozen, module = "ronn._ronn", name = "MemoryPool")]
pub struct MemoryPool {
    pub(crate) ptr: PoolPtr,
}

#[pymethods]
impl MemoryPool {
    /// A pool with these limits (None: RONN's default for that limit).
    #[new]
    #[pyo3(signature = (round_sizes=None, max_buffers_per_size=None, max_total_buffers=None, max_total_bytes=None, min_buffer_bytes=None))]
    fn new(
        py: Python<'_>,
        round_sizes: Option<bool>,
        max_buffers_per_size: Option<usize>,
        max_total_buffers: Option<usize>,
        max_total_bytes: Option<usize>,
        min_buffer_bytes: Option<usize>,
    ) -> PyResult<MemoryPool> {
        let mut c = sys::ronn_pool_config {
            struct_size: std::mem::size_of::<sys::ronn_pool_config>() as u32,
            round_sizes: 0,
            max_buffers_per_size: 0,
            max_total_buffers: 0,
            max_total_bytes: 0,
            min_buffer_bytes: 0,
        };
        // SAFETY: valid out-struct.
        check_py(py, unsafe { sys::ronn_pool_config_default(&mut c) })?;
        if let Some(v) = round_sizes {
            c.round_sizes = v as u32;
        }
        c.max_buffers_per_size = max_buffers_per_size.unwrap_or(c.max_buffers_per_size);
        c.max_total_buffers = max_total_buffers.unwrap_or(c.max_total_buffers);
        c.max_total_bytes = max_total_bytes.unwrap_or(c.max_total_bytes);
        c.min_buffer_bytes = min_buffer_bytes.unwrap_or(c.min_buffer_bytes);
        let mut out = ptr::null_mut();
        // SAFETY: the config is read during the call; valid out-pointer.
        check_py(py, unsafe { sys::ronn_memory_pool_new(&c, &mut out) })?;
        Ok(MemoryPool { ptr: PoolPtr(out) })
    }

    /// Counters: hits, misses, returns, discarded, buffers, bytes, peak_bytes.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let mut s = sys::ronn_pool_stats {
            struct_size: std::mem::size_of::<sys::ronn_pool_stats>() as u32,
            hits: 0,
            misses: 0,
            returns: 0,
            discarded: 0,
            buffers: 0,
            bytes: 0,
            peak_bytes: 0,
        };
        // SAFETY: live pool, valid out-struct with struct_size set.
        check_py(py, unsafe { sys::ronn_memory_pool_stats(self.ptr.0, &mut s) })?;
        let d = PyDict::new(py);
        d.set_item("hits", s.hits)?;
        d.set_item("misses", s.misses)?;
        d.set_item("returns", s.returns)?;
        d.set_item("discarded", s.discarded)?;
        d.set_item("buffers", s.buffers)?;
        d.set_item("bytes", s.bytes)?;
        d.set_item("peak_bytes", s.peak_bytes)?;
        Ok(d)
    }

    /// Frees kept buffers until at most `max_bytes` remain; returns the bytes freed.
    #[pyo3(signature = (max_bytes=0))]
    fn trim(&self, py: Python<'_>, max_bytes: usize) -> PyResult<usize> {
        let mut freed = 0usize;
        let pool = SendPtr(self.ptr.0 as *const sys::ronn_memory_pool);
        let freed_ref = &mut freed;
        py.detach(move || {
            let pool = pool;
            // SAFETY: live pool (self is borrowed for the call), valid out-pointer.
            check(unsafe { sys::ronn_memory_pool_trim(pool.0, max_bytes, freed_ref) })
        })
        .map_err(|f| f.into_pyerr(py))?;
        Ok(freed)
    }
}
