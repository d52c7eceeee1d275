//! The memory pool: buffers of freed intermediates kept by size class and
//! handed to the next kernel that needs one of that size.
//!
//! A run of a model allocates the same buffers every time. Large fresh
//! allocations are served by `mmap` and pay a page fault per 4 KiB on first
//! touch; a pooled buffer is already mapped. The executor returns each
//! intermediate to the pool at its last use ([`MemoryPool::put_data`]), and the
//! kernels take their output buffers from the pool of the run they belong to
//! ([`zeroed`], [`for_overwrite`], [`with_capacity`]), which the executor makes current on its
//! thread with [`MemoryPool::enter`]. Outside a run these fall back to plain
//! allocations, so kernels stay usable on their own.
//!
//! Buffers are kept per element type and size class: with
//! [`PoolConfig::round_sizes`], sizes round up to one of four classes per power
//! of two (at most 25% slack), so a buffer serves any request of its class;
//! without it only requests of the exact same length share buffers.
//!
//! ```
//! use ronn_core::pool::{MemoryPool, PoolConfig};
//!
//! let pool = MemoryPool::new(PoolConfig::default());
//! let buf: Vec<f32> = pool.get(1000);          // a miss: freshly allocated
//! assert_eq!(buf.len(), 1000);
//! pool.put(buf);                               // kept for the next request
//! let again: Vec<f32> = pool.get(990);         // same size class: a hit
//! assert_eq!(again.len(), 990);
//! assert_eq!(pool.stats().hits, 1);
//! ```

use crate::dtype::{DType, Element};
use crate::tensor::TensorData;
use crate::value::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Limits and sizing of a [`MemoryPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Buffers kept per (element type, size class); more are freed on return.
    pub max_buffers_per_size: usize,
    /// Buffers kept in all.
    pub max_total_buffers: usize,
    /// Bytes kept in all.
    pub max_total_bytes: usize,
    /// Round allocations up to size classes (four per power of two) so that
    /// near sizes share buffers.
    pub round_sizes: bool,
    /// Buffers smaller than this many bytes are not pooled: the allocator
    /// serves them from its own caches as fast as the pool could.
    pub min_buffer_bytes: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_buffers_per_size: 32,
            max_total_buffers: 1024,
            max_total_bytes: 256 << 20,
            round_sizes: true,
            min_buffer_bytes: 256,
        }
    }
}

/// What a pool has done so far, and what it holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoolStats {
    /// Requests served with a kept buffer.
    pub hits: u64,
    /// Requests that had to allocate.
    pub misses: u64,
    /// Buffers given back and kept.
    pub returns: u64,
    /// Buffers given back but freed (over a limit, or too small to pool).
    pub discarded: u64,
    /// Buffers held now.
    pub buffers: usize,
    /// Bytes held now.
    pub bytes: usize,
    /// Most bytes held at once.
    pub peak_bytes: usize,
}

impl PoolStats {
    /// Share of requests served from the pool (0 when there were none).
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

#[derive(Default)]
struct Held {
    buckets: HashMap<(DType, usize), Vec<TensorData>>,
    buffers: usize,
    bytes: usize,
    peak_bytes: usize,
}

/// A pool of reusable buffers, shareable between sessions (`Arc<MemoryPool>`).
pub struct MemoryPool {
    config: PoolConfig,
    held: Mutex<Held>,
    hits: AtomicU64,
    misses: AtomicU64,
    returns: AtomicU64,
    discarded: AtomicU64,
}

impl std::fmt::Debug for MemoryPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryPool").field("config", &self.config).field("stats", &self.stats()).finish()
    }
}

/// The size class of `bytes`: itself, or with rounding the next of
/// 2^k·{1, 1.25, 1.5, 1.75}. `floor` picks the class at or below instead.
fn size_class(bytes: usize, round: bool, floor: bool) -> usize {
    if !round || bytes <= 64 {
        return bytes;
    }
    let top = usize::BITS - 1 - bytes.leading_zeros(); // 2^top <= bytes
    let step = 1usize << (top - 2);
    let base = 1usize << top;
    let k = (bytes - base) / step; // 0..=3
    let lower = base + k * step;
    if floor || lower == bytes {
        lower
    } else {
        lower + step
    }
}

impl MemoryPool {
    /// An empty pool with these limits.
    pub fn new(config: PoolConfig) -> MemoryPool {
        MemoryPool {
            config,
            held: Mutex::new(Held::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            returns: AtomicU64::new(0),
            discarded: AtomicU64::new(0),
        }
    }

    /// The limits it was made with.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // The pool's state stays consistent under a panic elsewhere: go on.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A vector of `len` default values (zeros), reusing a kept buffer when one fits.
    pub fn get<T: Element>(&self, len: usize) -> Vec<T> {
        let mut v = self.with_capacity::<T>(len);
        v.resize(len, T::default());
        v
    }

    /// An empty vector with room for `len` values, reusing a kept buffer when one fits.
    pub fn with_capacity<T: Element>(&self, len: usize) -> Vec<T> {
        let mut v = self.take::<T>(len);
        v.clear();
        v
    }

    /// A vector of `len` values whose contents are unspecified: a kept buffer's
    /// old values (zeros where it was shorter). For outputs the caller overwrites
    /// in full, which then skip [`MemoryPool::get`]'s zero fill: a whole extra
    /// pass over memory for element-wise ops.
    pub fn for_overwrite<T: Element>(&self, len: usize) -> Vec<T> {
        let mut v = self.take::<T>(len);
        if v.len() > len {
            v.truncate(len);
        } else {
            v.resize(len, T::default());
        }
        v
    }

    /// A kept buffer with room for `len` values (its old contents still in it),
    /// or a fresh empty one.
    fn take<T: Element>(&self, len: usize) -> Vec<T> {
        let size = std::mem::size_of::<T>().max(1);
        let bytes = len.saturating_mul(size);
        if bytes < self.config.min_buffer_bytes {
            return Vec::with_capacity(len);
        }
        let class = size_class(bytes, self.config.round_sizes, false);
        let found = {
            let mut held = self.lock();
            let taken = held.buckets.get_mut(&(T::DTYPE, class)).and_then(|b| b.pop());
            if taken.is_some() {
                held.buffers -= 1;
                held.bytes -= class;
            }
            taken
        };
        if let Some(data) = found {
            if let Ok(v) = T::take_vec(data) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return v;
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        Vec::with_capacity(class.div_ceil(size).max(len))
    }

    /// Gives a vector back for reuse (or frees it when a limit is reached).
    pub fn put<T: Element>(&self, v: Vec<T>) {
        self.put_data(T::into_data(v));
    }

    /// Gives back the storage of tensor data, when nothing else shares it.
    pub fn put_data(&self, data: TensorData) {
        let dtype = data.dtype();
        if dtype == DType::String {
            return;
        }
        let capacity_bytes = crate::dispatch_dtype!(dtype, T => match T::take_vec(data) {
            Ok(v) => {
                let bytes = v.capacity() * std::mem::size_of::<T>();
                (bytes, Some(T::into_data(v)))
            }
            Err(_) => (0, None),
        }, _ => (0, None));
        let (bytes, Some(data)) = capacity_bytes else { return };
        if bytes < self.config.min_buffer_bytes {
            self.discarded.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let class = size_class(bytes, self.config.round_sizes, true);
        let mut held = self.lock();
        let c = &self.config;
        let full_class = held.buckets.get(&(dtype, class)).is_some_and(|b| b.len() >= c.max_buffers_per_size);
        if full_class || held.buffers >= c.max_total_buffers || held.bytes + class > c.max_total_bytes {
            drop(held);
            self.discarded.fetch_add(1, Ordering::Relaxed);
            return;
        }
        held.buckets.entry((dtype, class)).or_default().push(data);
        held.buffers += 1;
        held.bytes += class;
        held.peak_bytes = held.peak_bytes.max(held.bytes);
        drop(held);
        self.returns.fetch_add(1, Ordering::Relaxed);
    }

    /// Gives back the tensors inside a value (sequences and optionals too).
    pub fn put_value(&self, value: Value) {
        match value {
            Value::Tensor(t) => self.put_data(t.into_parts().1),
            Value::Sequence { items, .. } => items.into_iter().for_each(|t| self.put_data(t.into_parts().1)),
            Value::Optional(Some(v)) => self.put_value(*v),
            Value::Optional(None) => {}
        }
    }

    /// Counters and current holdings.
    pub fn stats(&self) -> PoolStats {
        let held = self.lock();
        PoolStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            returns: self.returns.load(Ordering::Relaxed),
            discarded: self.discarded.load(Ordering::Relaxed),
            buffers: held.buffers,
            bytes: held.bytes,
            peak_bytes: held.peak_bytes,
        }
    }

    /// Zeroes the counters (holdings stay).
    pub fn reset_stats(&self) {
        for c in [&self.hits, &self.misses, &self.returns, &self.discarded] {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Frees every kept buffer.
    pub fn clear(&self) {
        self.trim(0);
    }

    /// Frees kept buffers, largest first, until at most `max_bytes` are held.
    /// Returns the bytes freed.
    pub fn trim(&self, max_bytes: usize) -> usize {
        let mut held = self.lock();
        let mut keys: Vec<(DType, usize)> = held.buckets.keys().copied().collect();
        keys.sort_by_key(|k| std::cmp::Reverse(k.1));
        let mut freed = 0;
        let mut dropped = Vec::new();
        for key in keys {
            while held.bytes > max_bytes {
                let Some(d) = held.buckets.get_mut(&key).and_then(|b| b.pop()) else { break };
                held.buffers -= 1;
                held.bytes -= key.1;
                freed += key.1;
                dropped.push(d);
            }
        }
        held.buckets.retain(|_, b| !b.is_empty());
        drop(held);
        drop(dropped); // freed outside the lock
        freed
    }

    /// Makes this pool the current one of this thread until the guard drops:
    /// [`zeroed`] and [`with_capacity`] take from it meanwhile.
    pub fn enter(self: &Arc<Self>) -> PoolScope {
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        PoolScope { previous }
    }
}

/// The pool shared by sessions that ask for it, made on first use with the
/// default [`PoolConfig`].
pub fn global_pool() -> &'static Arc<MemoryPool> {
    static GLOBAL: OnceLock<Arc<MemoryPool>> = OnceLock::new();
    GLOBAL.get_or_init(|| Arc::new(MemoryPool::new(PoolConfig::default())))
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<MemoryPool>>> = const { RefCell::new(None) };
}

/// Restores the thread's previous current pool when dropped.
#[must_use = "the pool stays current only while the scope lives"]
pub struct PoolScope {
    previous: Option<Arc<MemoryPool>>,
}

impl Drop for PoolScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// The current pool of this thread, if a run entered one.
pub fn current() -> Option<Arc<MemoryPool>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// `len` default values, from the current pool when there is one.
pub fn zeroed<T: Element>(len: usize) -> Vec<T> {
    CURRENT.with(|c| match &*c.borrow() {
        Some(p) => p.get(len),
        None => vec![T::default(); len],
    })
}

/// `len` values of unspecified contents (see [`MemoryPool::for_overwrite`]), from
/// the current pool when there is one; for outputs the caller writes in full.
pub fn for_overwrite<T: Element>(len: usize) -> Vec<T> {
    CURRENT.with(|c| match &*c.borrow() {
        Some(p) => p.for_overwrite(len),
        None => vec![T::default(); len],
    })
}

/// An empty vector with room for `len` values, from the current pool when there is one.
pub fn with_capacity<T: Element>(len: usize) -> Vec<T> {
    CURRENT.with(|c| match &*c.borrow() {
        Some(p) => p.with_capacity(len),
        None => Vec::with_capacity(len),
    })
}

/// A scratch vector from a pool, given back to it when dropped: for kernels'
/// temporary buffers (im2col columns), which otherwise page-fault afresh on
/// every call. Dereferences to the `Vec`.
pub struct Scratch<T: Element> {
    v: Vec<T>,
    pool: Option<Arc<MemoryPool>>,
}

impl<T: Element> Scratch<T> {
    /// `len` values of unspecified contents from `pool` (see
    /// [`MemoryPool::for_overwrite`]), or freshly allocated without one. Worker
    /// threads pass the pool their caller got from [`current`].
    pub fn from_pool(pool: Option<Arc<MemoryPool>>, len: usize) -> Self {
        let v = match &pool {
            Some(p) => p.for_overwrite(len),
            None => vec![T::default(); len],
        };
        Scratch { v, pool }
    }

    /// [`Scratch::from_pool`] with this thread's current pool.
    pub fn for_overwrite(len: usize) -> Self {
        Self::from_pool(current(), len)
    }
}

impl<T: Element> std::ops::Deref for Scratch<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.v
    }
}

impl<T: Element> std::ops::DerefMut for Scratch<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.v
    }
}

impl<T: Element> Drop for Scratch<T> {
    fn drop(&mut self) {
        if let Some(p) = &self.pool {
            p.put(std::mem::take(&mut self.v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    #[test]
    fn size_classes_round_up_and_down() {
        assert_eq!(size_class(1024, true, false), 1024);
        assert_eq!(size_class(1025, true, false), 1280);
        assert_eq!(size_class(1279, true, true), 1024);
        assert_eq!(size_class(1280, true, true), 1280);
        assert_eq!(size_class(1800, true, false), 2048);
        assert_eq!(size_class(1800, false, false), 1800);
        for b in [100usize, 777, 4096, 5000, 1 << 20, (1 << 20) + 1] {
            let up = size_class(b, true, false);
            assert!(up >= b && up <= b + b / 4 + 1, "{b} -> {up}");
            assert_eq!(size_class(up, true, true), up);
        }
    }

    #[test]
    fn for_overwrite_reuses_without_zeroing_and_has_the_asked_length() {
        let pool = MemoryPool::new(PoolConfig::default());
        let mut first: Vec<f32> = pool.get(1000);
        first.fill(7.0);
        pool.put(first);
        // Shorter request in the same class: the old values, truncated.
        let v: Vec<f32> = pool.for_overwrite(990);
        assert_eq!((v.len(), pool.stats().hits), (990, 1));
        assert!(v.iter().all(|&x| x == 7.0));
        pool.put(v);
        // Longer than the kept values: the tail is zero-filled, never uninitialized.
        let w: Vec<f32> = pool.for_overwrite(1020);
        assert_eq!((w.len(), pool.stats().hits), (1020, 2));
        assert!(w[..990].iter().all(|&x| x == 7.0) && w[990..].iter().all(|&x| x == 0.0));
        // `get` still hands out zeros from the same buffers.
        pool.put(w);
        let z: Vec<f32> = pool.get(1000);
        assert!(z.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn hits_misses_and_reuse_of_the_same_memory() {
        let pool = MemoryPool::new(PoolConfig::default());
        let a: Vec<f32> = pool.get(1000);
        let ptr = a.as_ptr();
        assert_eq!(pool.stats().misses, 1);
        pool.put(a);
        let s = pool.stats();
        assert_eq!((s.returns, s.buffers), (1, 1));
        assert!(s.bytes >= 4000);
        let mut b: Vec<f32> = pool.get(1010);
        assert_eq!(b.as_ptr(), ptr, "the kept buffer is handed out again");
        assert!(b.iter().all(|&x| x == 0.0));
        b[0] = 5.0;
        pool.put(b);
        let c: Vec<f32> = pool.get(1000);
        assert_eq!(c[0], 0.0, "reused buffers come back zeroed");
        // Another element type never shares the buffer.
        let d: Vec<i32> = pool.get(1000);
        assert_ne!(d.as_ptr() as usize, ptr as usize);
        let s = pool.stats();
        assert_eq!((s.hits, s.misses), (2, 2));
        assert!((s.hit_rate() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn limits_bound_what_is_kept() {
        let cfg = PoolConfig { max_buffers_per_size: 2, max_total_buffers: 3, ..PoolConfig::default() };
        let pool = MemoryPool::new(cfg);
        for _ in 0..5 {
            pool.put(vec![0f32; 1024]);
        }
        let s = pool.stats();
        assert_eq!((s.buffers, s.returns, s.discarded), (2, 2, 3));
        pool.put(vec![0f64; 4096]);
        pool.put(vec![0f64; 4096]);
        assert_eq!(pool.stats().buffers, 3, "max_total_buffers caps the pool");
        let small = MemoryPool::new(PoolConfig { max_total_bytes: 10_000, ..PoolConfig::default() });
        small.put(vec![0u8; 8000]);
        small.put(vec![0u8; 8000]);
        assert_eq!(small.stats().buffers, 1);
        assert!(small.stats().bytes <= 10_000);
        // Tiny buffers are left to the allocator.
        small.put(vec![0u8; 10]);
        assert_eq!(small.stats().buffers, 1);
    }

    #[test]
    fn trim_and_clear_free_memory() {
        let pool = MemoryPool::new(PoolConfig::default());
        pool.put(vec![0f32; 1 << 16]);
        pool.put(vec![0f32; 1 << 10]);
        let freed = pool.trim(8 << 10);
        assert_eq!(freed, 4 << 16);
        assert_eq!(pool.stats().buffers, 1);
        pool.clear();
        assert_eq!((pool.stats().buffers, pool.stats().bytes), (0, 0));
        assert_eq!(pool.stats().peak_bytes, (4 << 16) + (4 << 10));
    }

    #[test]
    fn shared_or_borrowed_storage_is_not_taken() {
        let pool = MemoryPool::new(PoolConfig::default());
        let t = Tensor::from_vec(vec![1000], vec![1f32; 1000]).unwrap().into_shared();
        let keep = t.clone();
        pool.put_value(Value::Tensor(t));
        assert_eq!(pool.stats().buffers, 0, "a buffer another tensor still reads is not reused");
        assert_eq!(keep.as_slice::<f32>().unwrap()[999], 1.0);
        pool.put_value(Value::Tensor(keep));
        assert_eq!(pool.stats().buffers, 1, "the last owner gives it back");
    }

    #[test]
    fn the_current_pool_serves_zeroed_inside_a_scope_only() {
        let pool = Arc::new(MemoryPool::new(PoolConfig::default()));
        let outside: Vec<f32> = zeroed(1000);
        assert_eq!(pool.stats().misses, 0);
        {
            let _scope = pool.enter();
            pool.put(outside);
            // 4000 bytes are filed under the 3584-byte class: they serve 3200.
            let inside: Vec<f32> = zeroed(800);
            assert_eq!(inside.len(), 800);
            let room: Vec<f32> = with_capacity(5000);
            assert!(room.capacity() >= 5000 && room.is_empty());
        }
        assert!(current().is_none());
        let s = pool.stats();
        assert_eq!((s.hits, s.misses), (1, 1));
    }

    #[test]
    fn global_pool_is_one_pool() {
        assert!(Arc::ptr_eq(global_pool(), global_pool()));
    }

    #[test]
    fn scratch_goes_back_to_its_pool() {
        let pool = Arc::new(MemoryPool::new(PoolConfig::default()));
        {
            let mut s: Scratch<f32> = Scratch::from_pool(Some(pool.clone()), 5000);
            assert_eq!(s.len(), 5000);
            s[4999] = 1.0;
        }
        let again: Scratch<f32> = Scratch::from_pool(Some(pool.clone()), 5000);
        assert_eq!((again.len(), pool.stats().hits), (5000, 1));
        let plain: Scratch<f32> = Scratch::from_pool(None, 3);
        assert_eq!(&plain[..], &[0.0; 3]);
    }
}
