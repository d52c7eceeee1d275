//! `ronn_memory_pool`: a pool of intermediate buffers with limits, shareable
//! between sessions through their options.

use crate::error::{boundary, ronn_status, CError};
use crate::handle::{self, Kind, Object};
use ronn::{MemoryPool, PoolConfig};
use std::sync::Arc;

/// Opaque memory pool handle.
pub struct ronn_memory_pool {
    _private: [u8; 0],
}

/// The object behind a `ronn_memory_pool`.
pub struct Pool(pub Arc<MemoryPool>);

impl Object for Pool {
    const KIND: Kind = Kind::MemoryPool;
}

/// Limits of a memory pool. Set `struct_size = sizeof(ronn_pool_config)`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_pool_config {
    /// `sizeof(ronn_pool_config)`, so the struct can grow.
    pub struct_size: u32,
    /// Nonzero: round allocations up to size classes so that near sizes share buffers.
    pub round_sizes: u32,
    /// Buffers kept per (element type, size class).
    pub max_buffers_per_size: usize,
    /// Buffers kept in all.
    pub max_total_buffers: usize,
    /// Bytes kept in all.
    pub max_total_bytes: usize,
    /// Buffers smaller than this are not pooled.
    pub min_buffer_bytes: usize,
}

/// Counters of a memory pool. Set `struct_size = sizeof(ronn_pool_stats)` before the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_pool_stats {
    /// `sizeof(ronn_pool_stats)`.
    pub struct_size: u32,
    /// Requests served from a kept buffer.
    pub hits: u64,
    /// Requests that allocated.
    pub misses: u64,
    /// Buffers given back.
    pub returns: u64,
    /// Buffers given back but freed (over a limit).
    pub discarded: u64,
    /// Buffers kept now.
    pub buffers: u64,
    /// Bytes kept now.
    pub bytes: u64,
    /// Most bytes ever kept.
    pub peak_bytes: u64,
}

/// Fills `*config` with the default limits (and its `struct_size`).
///
/// Thread-safe. Writes only `*config`.
#[no_mangle]
pub extern "C" fn ronn_pool_config_default(config: *mut ronn_pool_config) -> ronn_status {
    boundary("ronn_pool_config_default", || {
        if config.is_null() {
            return Err(CError::null("config"));
        }
        let d = PoolConfig::default();
        let c = ronn_pool_config {
            struct_size: std::mem::size_of::<ronn_pool_config>() as u32,
            round_sizes: d.round_sizes as u32,
            max_buffers_per_size: d.max_buffers_per_size,
            max_total_buffers: d.max_total_buffers,
            max_total_bytes: d.max_total_bytes,
            min_buffer_bytes: d.min_buffer_bytes,
        };
        // SAFETY: non-NULL, and the caller promises it points to a ronn_pool_config.
        unsafe { config.write(c) };
        Ok(())
    })
}

/// Creates a memory pool with these limits (NULL `config`: the defaults).
///
/// Thread-safe. On success `*out` is a new handle freed with
/// `ronn_memory_pool_free`; sessions using the pool keep it alive.
#[no_mangle]
pub extern "C" fn ronn_memory_pool_new(
    config: *const ronn_pool_config,
    out: *mut *mut ronn_memory_pool,
) -> ronn_status {
    boundary("ronn_memory_pool_new", || {
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let cfg = if config.is_null() {
            PoolConfig::default()
        } else {
            // SAFETY: non-NULL; the caller promises a readable ronn_pool_config.
            let c = unsafe { config.read() };
            if (c.struct_size as usize) < std::mem::size_of::<ronn_pool_config>() {
                return Err(CError::arg("config->struct_size is smaller than sizeof(ronn_pool_config)"));
            }
            PoolConfig {
                max_buffers_per_size: c.max_buffers_per_size,
                max_total_buffers: c.max_total_buffers,
                max_total_bytes: c.max_total_bytes,
                round_sizes: c.round_sizes != 0,
                min_buffer_bytes: c.min_buffer_bytes,
            }
        };
        let h = handle::new_handle::<Pool, _>(Arc::new(Pool(Arc::new(MemoryPool::new(cfg)))));
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = h };
        Ok(())
    })
}

/// Reads the pool's counters into `*stats` (whose `struct_size` the caller sets).
///
/// Thread-safe. Writes only `*stats`.
#[no_mangle]
pub extern "C" fn ronn_memory_pool_stats(pool: *const ronn_memory_pool, stats: *mut ronn_pool_stats) -> ronn_status {
    boundary("ronn_memory_pool_stats", || {
        let p = handle::get::<Pool, _>(pool, "pool")?;
        if stats.is_null() {
            return Err(CError::null("stats"));
        }
        // SAFETY: non-NULL; the caller promises a ronn_pool_stats whose first field is struct_size.
        let size = unsafe { (*stats).struct_size } as usize;
        if size < std::mem::size_of::<ronn_pool_stats>() {
            return Err(CError::arg("stats->struct_size is smaller than sizeof(ronn_pool_stats)"));
        }
        let s = p.0.stats();
        let out = ronn_pool_stats {
            struct_size: std::mem::size_of::<ronn_pool_stats>() as u32,
            hits: s.hits,
            misses: s.misses,
            returns: s.returns,
            discarded: s.discarded,
            buffers: s.buffers as u64,
            bytes: s.bytes as u64,
            peak_bytes: s.peak_bytes as u64,
        };
        // SAFETY: checked non-NULL and large enough above.
        unsafe { stats.write(out) };
        Ok(())
    })
}

/// Frees kept buffers, largest first, until at most `max_bytes` are held;
/// `*freed` (may be NULL) receives the bytes freed. `max_bytes = 0` empties it.
///
/// Thread-safe (runs may continue meanwhile).
#[no_mangle]
pub extern "C" fn ronn_memory_pool_trim(
    pool: *const ronn_memory_pool,
    max_bytes: usize,
    freed: *mut usize,
) -> ronn_status {
    boundary("ronn_memory_pool_trim", || {
        let p = handle::get::<Pool, _>(pool, "pool")?;
        let n = p.0.trim(max_bytes);
        if !freed.is_null() {
            // SAFETY: non-NULL optional out-parameter.
            unsafe { *freed = n };
        }
        Ok(())
    })
}

/// Frees a pool handle. NULL is accepted. Sessions using the pool keep it alive.
///
/// Thread-safe, but a handle must be freed once.
#[no_mangle]
pub extern "C" fn ronn_memory_pool_free(pool: *mut ronn_memory_pool) {
    boundary("ronn_memory_pool_free", || handle::remove::<Pool, _>(pool, "pool"));
}
