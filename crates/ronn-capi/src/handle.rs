//! The handle registry: every handle given to C is a generation-checked index
//! into one global table, encoded as a pointer-sized value that is never a real
//! address and is never dereferenced.
//!
//! A handle value is `(generation << 32) | (slot + 1)`. Freeing a handle empties
//! its slot and bumps the slot's generation, so a stale handle (used after free,
//! freed twice) and a handle of another type are recognised and answered with
//! `RONN_STATUS_INVALID_HANDLE`; NULL is `RONN_STATUS_NULL_POINTER`. The object
//! behind a slot is an `Arc`: a call clones it out of the table, so a concurrent
//! free never pulls an object from under a running call, and child objects hold
//! `Arc`s to their parents (any free order is safe).
//!
//! A panic inside a call poisons the handles that call looked up: later calls
//! on them answer `RONN_STATUS_POISONED`.

use crate::error::{ronn_status, CError, CResult};
use std::any::Any;
use std::cell::RefCell;
use std::sync::{Arc, Mutex, MutexGuard};

/// The type of object behind a handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `ronn_env`
    Env,
    /// `ronn_session_options`
    SessionOptions,
    /// `ronn_session`
    Session,
    /// `ronn_tensor`
    Tensor,
    /// `ronn_memory_pool`
    MemoryPool,
    /// `ronn_run_options`
    RunOptions,
    /// `ronn_request`
    Request,
    /// `ronn_batch_queue`
    BatchQueue,
    /// `ronn_profiler`
    Profiler,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Env => "ronn_env",
            Kind::SessionOptions => "ronn_session_options",
            Kind::Session => "ronn_session",
            Kind::Tensor => "ronn_tensor",
            Kind::MemoryPool => "ronn_memory_pool",
            Kind::RunOptions => "ronn_run_options",
            Kind::Request => "ronn_request",
            Kind::BatchQueue => "ronn_batch_queue",
            Kind::Profiler => "ronn_profiler",
        }
    }
}

/// An object that can sit behind a handle.
pub trait Object: Any + Send + Sync {
    /// Its handle type.
    const KIND: Kind;
}

struct Entry {
    kind: Kind,
    obj: Arc<dyn Any + Send + Sync>,
    poisoned: bool,
}

struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

static TABLE: Mutex<Table> = Mutex::new(Table { slots: Vec::new(), free: Vec::new() });

fn table() -> MutexGuard<'static, Table> {
    // The table is never left inconsistent by a panic (no user code runs under its lock).
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// Handles looked up by the current call (poisoned if it panics).
    static TOUCHED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn begin_call() {
    TOUCHED.with(|t| t.borrow_mut().clear());
}

pub(crate) fn end_call(panicked: bool) {
    let touched = TOUCHED.with(|t| std::mem::take(&mut *t.borrow_mut()));
    if panicked {
        let mut tab = table();
        for v in touched {
            if let Some((i, g)) = decode(v) {
                if let Some(Slot { generation, entry: Some(e) }) = tab.slots.get_mut(i) {
                    if *generation == g {
                        e.poisoned = true;
                    }
                }
            }
        }
    }
}

fn decode(v: usize) -> Option<(usize, u32)> {
    let idx = v & 0xffff_ffff;
    let generation = (v >> 32) as u32;
    if idx == 0 {
        return None;
    }
    Some((idx - 1, generation))
}

/// Registers `obj` and returns its new handle value.
pub fn insert<T: Object>(obj: Arc<T>) -> usize {
    let mut tab = table();
    let entry = Entry { kind: T::KIND, obj, poisoned: false };
    let idx = match tab.free.pop() {
        Some(i) => i,
        None => {
            tab.slots.push(Slot { generation: 1, entry: None });
            tab.slots.len() - 1
        }
    };
    let slot = &mut tab.slots[idx];
    slot.entry = Some(entry);
    ((slot.generation as usize) << 32) | (idx + 1)
}

/// Registers `obj` and returns it as a typed C handle.
pub fn new_handle<T: Object, H>(obj: Arc<T>) -> *mut H {
    insert(obj) as *mut H
}

/// The object behind `h`, checked for NULL, staleness, type and poisoning.
pub fn get<T: Object, H>(h: *const H, arg: &str) -> CResult<Arc<T>> {
    if h.is_null() {
        return Err(CError::null(arg));
    }
    let v = h as usize;
    let invalid = || {
        CError::new(
            ronn_status::RONN_STATUS_INVALID_HANDLE,
            format!("argument '{arg}' is not a live {} handle (freed, or of another type)", T::KIND.name()),
        )
    };
    let (idx, g) = decode(v).ok_or_else(invalid)?;
    let tab = table();
    let e = match tab.slots.get(idx) {
        Some(Slot { generation, entry: Some(e) }) if *generation == g && e.kind == T::KIND => e,
        _ => return Err(invalid()),
    };
    if e.poisoned {
        return Err(CError::new(
            ronn_status::RONN_STATUS_POISONED,
            format!("argument '{arg}': a panic happened earlier in a call on this handle"),
        ));
    }
    let obj = e.obj.clone();
    drop(tab);
    TOUCHED.with(|t| t.borrow_mut().push(v));
    obj.downcast::<T>().map_err(|_| invalid())
}

/// Removes `h` from the table; the object is dropped when its last `Arc` goes.
/// NULL is accepted; a stale or wrong-type handle is reported and left alone.
pub fn remove<T: Object, H>(h: *mut H, arg: &str) -> CResult {
    if h.is_null() {
        return Ok(());
    }
    let v = h as usize;
    let dropped;
    {
        let mut tab = table();
        let ok = matches!(decode(v), Some((i, g)) if matches!(tab.slots.get(i),
            Some(Slot { generation, entry: Some(e) }) if *generation == g && e.kind == T::KIND));
        if !ok {
            return Err(CError::new(
                ronn_status::RONN_STATUS_INVALID_HANDLE,
                format!("argument '{arg}' is not a live {} handle (freed twice, or of another type)", T::KIND.name()),
            ));
        }
        let (idx, _) = decode(v).unwrap_or((0, 0));
        let slot = &mut tab.slots[idx];
        dropped = slot.entry.take();
        slot.generation = slot.generation.wrapping_add(1);
        // A slot whose generation would wrap is retired, so no handle value ever repeats.
        if slot.generation != 0 {
            tab.free.push(idx);
        }
    }
    // The object (and possibly a C deleter) is dropped outside the table lock.
    drop(dropped);
    Ok(())
}

/// Number of live handles (for leak tests).
pub fn live_count() -> usize {
    table().slots.iter().filter(|s| s.entry.is_some()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Dummy;
    impl Object for Dummy {
        const KIND: Kind = Kind::Env;
    }
    #[derive(Debug)]
    struct Other;
    impl Object for Other {
        const KIND: Kind = Kind::Tensor;
    }

    #[test]
    fn a_panic_poisons_the_handles_the_call_used() {
        let h: *mut u8 = new_handle(Arc::new(Dummy));
        let s = crate::error::boundary("t", || {
            let _d = get::<Dummy, u8>(h, "h")?;
            panic!("inside a call")
        });
        assert_eq!(s, ronn_status::RONN_STATUS_PANIC);
        assert_eq!(get::<Dummy, u8>(h, "h").unwrap_err().status, ronn_status::RONN_STATUS_POISONED);
        remove::<Dummy, u8>(h, "h").unwrap(); // a poisoned handle can still be freed
        assert_eq!(get::<Dummy, u8>(h, "h").unwrap_err().status, ronn_status::RONN_STATUS_INVALID_HANDLE);
    }

    #[test]
    fn stale_null_and_wrong_type_are_rejected() {
        let h: *mut u8 = new_handle(Arc::new(Dummy));
        assert!(get::<Dummy, u8>(h, "h").is_ok());
        assert_eq!(get::<Other, u8>(h, "h").unwrap_err().status, ronn_status::RONN_STATUS_INVALID_HANDLE);
        remove::<Dummy, u8>(h, "h").unwrap();
        assert_eq!(get::<Dummy, u8>(h, "h").unwrap_err().status, ronn_status::RONN_STATUS_INVALID_HANDLE);
        assert!(remove::<Dummy, u8>(h, "h").is_err());
        // The slot is reused with a new generation: the old value stays invalid.
        let h2: *mut u8 = new_handle(Arc::new(Dummy));
        assert_ne!(h, h2);
        assert!(get::<Dummy, u8>(h, "h").is_err());
        assert_eq!(
            get::<Dummy, u8>(std::ptr::null::<u8>(), "h").unwrap_err().status,
            ronn_status::RONN_STATUS_NULL_POINTER
        );
        assert!(get::<Dummy, u8>(0x1234_5678_9abc_def0usize as *const u8, "h").is_err());
        remove::<Dummy, u8>(h2, "h").unwrap();
    }
}

/// The number of live handles of every type in this process (a diagnostic: leak
/// tests assert it returns to its starting value once everything is freed).
///
/// Thread-safe. Writes only `*out`.
#[no_mangle]
pub extern "C" fn ronn_live_handle_count(out: *mut usize) -> ronn_status {
    crate::error::boundary("ronn_live_handle_count", || {
        if out.is_null() {
            return Err(CError::null("out"));
        }
        let n = live_count();
        // SAFETY: non-NULL out-parameter.
        unsafe { *out = n };
        Ok(())
    })
}
