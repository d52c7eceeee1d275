//! The declarations (self-contained: the ABI checker parses this file alone).
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_void};

/// Status of a fallible call (`ronn_status` in the header).
pub type ronn_status = u32;
/// Success.
pub const RONN_STATUS_OK: ronn_status = 0;
/// An argument is out of range or malformed.
pub const RONN_STATUS_INVALID_ARGUMENT: ronn_status = 1;
/// A required pointer argument is NULL.
pub const RONN_STATUS_NULL_POINTER: ronn_status = 2;
/// A name does not exist.
pub const RONN_STATUS_NOT_FOUND: ronn_status = 3;
/// The model cannot be parsed.
pub const RONN_STATUS_INVALID_MODEL: ronn_status = 4;
/// An operator or provider is not supported.
pub const RONN_STATUS_UNSUPPORTED_OP: ronn_status = 5;
/// A shape does not match.
pub const RONN_STATUS_SHAPE_MISMATCH: ronn_status = 6;
/// An element type does not match.
pub const RONN_STATUS_TYPE_MISMATCH: ronn_status = 7;
/// Out of memory.
pub const RONN_STATUS_OUT_OF_MEMORY: ronn_status = 8;
/// A device failed.
pub const RONN_STATUS_DEVICE_ERROR: ronn_status = 9;
/// Cancelled.
pub const RONN_STATUS_CANCELLED: ronn_status = 10;
/// Timed out.
pub const RONN_STATUS_TIMEOUT: ronn_status = 11;
/// A queue is full.
pub const RONN_STATUS_QUEUE_FULL: ronn_status = 12;
/// Shutting down.
pub const RONN_STATUS_SHUTTING_DOWN: ronn_status = 13;
/// The handle saw a panic.
pub const RONN_STATUS_POISONED: ronn_status = 14;
/// A panic was caught.
pub const RONN_STATUS_PANIC: ronn_status = 15;
/// A bug in RONN.
pub const RONN_STATUS_INTERNAL: ronn_status = 16;
/// An I/O error.
pub const RONN_STATUS_IO: ronn_status = 17;
/// A freed, wrong-type or foreign handle.
pub const RONN_STATUS_INVALID_HANDLE: ronn_status = 18;

/// Element type (`ronn_dtype`), ONNX numbering.
pub type ronn_dtype = u32;
/// Unknown.
pub const RONN_DTYPE_UNDEFINED: ronn_dtype = 0;
/// float
pub const RONN_DTYPE_FLOAT32: ronn_dtype = 1;
/// uint8_t
pub const RONN_DTYPE_UINT8: ronn_dtype = 2;
/// int8_t
pub const RONN_DTYPE_INT8: ronn_dtype = 3;
/// uint16_t
pub const RONN_DTYPE_UINT16: ronn_dtype = 4;
/// int16_t
pub const RONN_DTYPE_INT16: ronn_dtype = 5;
/// int32_t
pub const RONN_DTYPE_INT32: ronn_dtype = 6;
/// int64_t
pub const RONN_DTYPE_INT64: ronn_dtype = 7;
/// strings
pub const RONN_DTYPE_STRING: ronn_dtype = 8;
/// bool
pub const RONN_DTYPE_BOOL: ronn_dtype = 9;
/// half
pub const RONN_DTYPE_FLOAT16: ronn_dtype = 10;
/// double
pub const RONN_DTYPE_FLOAT64: ronn_dtype = 11;
/// uint32_t
pub const RONN_DTYPE_UINT32: ronn_dtype = 12;
/// uint64_t
pub const RONN_DTYPE_UINT64: ronn_dtype = 13;
/// bfloat16
pub const RONN_DTYPE_BFLOAT16: ronn_dtype = 16;

/// Library major version.
pub const RONN_VERSION_MAJOR: u32 = 0;
/// Library minor version.
pub const RONN_VERSION_MINOR: u32 = 1;
/// Library patch version.
pub const RONN_VERSION_PATCH: u32 = 0;
/// ABI version.
pub const RONN_API_VERSION: u32 = 2;

/// Opaque environment.
#[repr(C)]
pub struct ronn_env {
    _private: [u8; 0],
}
/// Opaque session options.
#[repr(C)]
pub struct ronn_session_options {
    _private: [u8; 0],
}
/// Opaque session.
#[repr(C)]
pub struct ronn_session {
    _private: [u8; 0],
}
/// Opaque run options.
#[repr(C)]
pub struct ronn_run_options {
    _private: [u8; 0],
}
/// Opaque async request.
#[repr(C)]
pub struct ronn_request {
    _private: [u8; 0],
}
/// Opaque batch queue.
#[repr(C)]
pub struct ronn_batch_queue {
    _private: [u8; 0],
}
/// Opaque profiler.
#[repr(C)]
pub struct ronn_profiler {
    _private: [u8; 0],
}

/// Batch strategy (`ronn_batch_strategy`).
pub type ronn_batch_strategy = u32;
/// Run full batches (or on flush/close).
pub const RONN_BATCH_STATIC: ronn_batch_strategy = 0;
/// Run full batches or after max_delay_us.
pub const RONN_BATCH_DYNAMIC: ronn_batch_strategy = 1;

/// Profiler category bits (`ronn_profile_category`).
pub type ronn_profile_category = u32;
/// Node execution.
pub const RONN_PROFILE_OPS: ronn_profile_category = 1;
/// Allocation and memory-pool work.
pub const RONN_PROFILE_MEMORY: ronn_profile_category = 2;
/// Host/device copies.
pub const RONN_PROFILE_TRANSFER: ronn_profile_category = 4;
/// Opaque tensor.
#[repr(C)]
pub struct ronn_tensor {
    _private: [u8; 0],
}
/// Opaque memory pool.
#[repr(C)]
pub struct ronn_memory_pool {
    _private: [u8; 0],
}

/// Memory pool limits.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_pool_config {
    /// sizeof(ronn_pool_config)
    pub struct_size: u32,
    /// Nonzero: round sizes to classes.
    pub round_sizes: u32,
    /// Buffers kept per size class.
    pub max_buffers_per_size: usize,
    /// Buffers kept in all.
    pub max_total_buffers: usize,
    /// Bytes kept in all.
    pub max_total_bytes: usize,
    /// Smaller buffers are not pooled.
    pub min_buffer_bytes: usize,
}

/// Memory pool counters.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_pool_stats {
    /// sizeof(ronn_pool_stats)
    pub struct_size: u32,
    /// Served from a kept buffer.
    pub hits: u64,
    /// Allocated.
    pub misses: u64,
    /// Given back.
    pub returns: u64,
    /// Given back and freed.
    pub discarded: u64,
    /// Buffers kept.
    pub buffers: u64,
    /// Bytes kept.
    pub bytes: u64,
    /// Most bytes kept.
    pub peak_bytes: u64,
}

/// Input/output metadata (pointers borrowed from the session).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_value_info {
    /// sizeof(ronn_value_info)
    pub struct_size: u32,
    /// ronn_dtype value.
    pub dtype: u32,
    /// Name.
    pub name: *const c_char,
    /// Rank, -1 when unknown.
    pub rank: i64,
    /// Dims, -1 symbolic/unknown.
    pub shape: *const i64,
    /// Symbol names (NULL entries for fixed dims).
    pub dim_names: *const *const c_char,
}

/// Batch queue settings.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_batch_config {
    /// sizeof(ronn_batch_config)
    pub struct_size: u32,
    /// A ronn_batch_strategy.
    pub strategy: u32,
    /// Rows per batch.
    pub max_batch: usize,
    /// Dynamic: longest wait, µs.
    pub max_delay_us: u64,
    /// Most requests waiting.
    pub max_pending: usize,
}

/// Batch queue counters.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_batch_stats {
    /// sizeof(ronn_batch_stats)
    pub struct_size: u32,
    /// Accepted.
    pub requests: u64,
    /// Refused with QUEUE_FULL.
    pub rejected: u64,
    /// Answered CANCELLED.
    pub cancelled: u64,
    /// Batches run.
    pub batches: u64,
    /// Requests per batch.
    pub average_batch_size: f64,
    /// Median queue wait, ms.
    pub queue_wait_p50_ms: f64,
    /// 99th percentile queue wait, ms.
    pub queue_wait_p99_ms: f64,
    /// Busy fraction.
    pub utilization: f64,
    /// Deepest queue seen.
    pub max_queue_depth: u64,
    /// Waiting now.
    pub queue_depth: u64,
}

/// Profiler settings.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_profiler_config {
    /// sizeof(ronn_profiler_config)
    pub struct_size: u32,
    /// Nonzero: recording from creation.
    pub start_active: u32,
    /// OR of ronn_profile_category bits.
    pub categories: u32,
    /// Shorter events are not kept.
    pub min_duration_us: u64,
    /// Most events kept.
    pub max_events: usize,
}

/// Bytes RONN gives the caller (NUL after `len` bytes); free with ronn_buffer_free.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_buffer {
    /// The bytes.
    pub data: *mut u8,
    /// Their number, without the NUL.
    pub len: usize,
}

/// Completion callback: `(user_data, status, message, outputs, n_outputs)`; the
/// outputs belong to the callee.
pub type ronn_completion_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: ronn_status,
        message: *const c_char,
        outputs: *const *mut ronn_tensor,
        n_outputs: usize,
    ),
>;

/// Where an async run reports (copied during the submitting call).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ronn_completion {
    /// sizeof(ronn_completion)
    pub struct_size: u32,
    /// The callback (required).
    pub callback: ronn_completion_fn,
    /// Passed back untouched.
    pub user_data: *mut c_void,
}

/// Deleter of borrowed memory: `(user_data, data)`, called once.
pub type ronn_deleter = Option<unsafe extern "C" fn(user_data: *mut c_void, data: *mut c_void)>;

extern "C" {
    /// See ronn.h.
    pub fn ronn_env_new(out: *mut *mut ronn_env) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_env_free(env: *mut ronn_env);
    /// See ronn.h.
    pub fn ronn_status_str(status: u32) -> *const c_char;
    /// See ronn.h.
    pub fn ronn_last_error_message() -> *const c_char;
    /// See ronn.h.
    pub fn ronn_pool_config_default(config: *mut ronn_pool_config) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_memory_pool_new(config: *const ronn_pool_config, out: *mut *mut ronn_memory_pool) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_memory_pool_stats(pool: *const ronn_memory_pool, stats: *mut ronn_pool_stats) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_memory_pool_trim(pool: *const ronn_memory_pool, max_bytes: usize, freed: *mut usize) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_memory_pool_free(pool: *mut ronn_memory_pool);
    /// See ronn.h.
    pub fn ronn_session_new(
        env: *const ronn_env,
        model_path: *const c_char,
        opts: *const ronn_session_options,
        out: *mut *mut ronn_session,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_new_from_memory(
        env: *const ronn_env,
        data: *const c_void,
        len: usize,
        opts: *const ronn_session_options,
        out: *mut *mut ronn_session,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_input_count(session: *const ronn_session, out: *mut usize) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_output_count(session: *const ronn_session, out: *mut usize) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_input_info(
        session: *const ronn_session,
        index: usize,
        out: *mut ronn_value_info,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_output_info(
        session: *const ronn_session,
        index: usize,
        out: *mut ronn_value_info,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_memory_pool(session: *const ronn_session, out: *mut *mut ronn_memory_pool) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_run(
        session: *const ronn_session,
        run_options: *const ronn_run_options,
        in_names: *const *const c_char,
        inputs: *const *const ronn_tensor,
        n_in: usize,
        out_names: *const *const c_char,
        outputs: *mut *mut ronn_tensor,
        n_out: usize,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_free(session: *mut ronn_session);
    /// See ronn.h.
    pub fn ronn_session_options_new(out: *mut *mut ronn_session_options) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_options_set_optimization_level(opts: *mut ronn_session_options, level_: u32) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_options_set_provider(opts: *mut ronn_session_options, provider: *const c_char) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_options_set_num_threads(opts: *mut ronn_session_options, num_threads: usize) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_options_set_memory_pool(
        opts: *mut ronn_session_options,
        pool: *const ronn_memory_pool,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_options_set(
        opts: *mut ronn_session_options,
        key: *const c_char,
        value: *const c_char,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_options_free(opts: *mut ronn_session_options);
    /// See ronn.h.
    pub fn ronn_tensor_new(dtype: u32, shape: *const i64, rank: usize, out: *mut *mut ronn_tensor) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_tensor_new_borrowed(
        dtype: u32,
        shape: *const i64,
        rank: usize,
        data: *const c_void,
        byte_len: usize,
        deleter: ronn_deleter,
        user_data: *mut c_void,
        out: *mut *mut ronn_tensor,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_tensor_dtype(tensor: *const ronn_tensor, out: *mut u32) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_tensor_shape(tensor: *const ronn_tensor, shape: *mut *const i64, rank: *mut usize) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_tensor_size(tensor: *const ronn_tensor, elements: *mut usize, bytes: *mut usize) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_tensor_data(tensor: *const ronn_tensor, out: *mut *const c_void) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_tensor_data_mut(tensor: *mut ronn_tensor, out: *mut *mut c_void) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_tensor_free(tensor: *mut ronn_tensor);
    /// See ronn.h.
    pub fn ronn_version() -> *const c_char;
    /// See ronn.h.
    pub fn ronn_api_version() -> u32;
    /// See ronn.h.
    pub fn ronn_live_handle_count(out: *mut usize) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_run_async(
        session: *const ronn_session,
        run_options: *const ronn_run_options,
        in_names: *const *const c_char,
        inputs: *const *const ronn_tensor,
        n_in: usize,
        out_names: *const *const c_char,
        n_out: usize,
        done: *const ronn_completion,
        req: *mut *mut ronn_request,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_request_wait(req: *const ronn_request, timeout_ms: i64) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_request_cancel(req: *const ronn_request) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_request_free(req: *mut ronn_request);
    /// See ronn.h.
    pub fn ronn_run_options_new(out: *mut *mut ronn_run_options) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_run_options_set_profiler(
        run_options: *mut ronn_run_options,
        profiler: *const ronn_profiler,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_run_options_free(run_options: *mut ronn_run_options);
    /// See ronn.h.
    pub fn ronn_batch_config_default(config: *mut ronn_batch_config) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_batch_queue_new(
        session: *const ronn_session,
        config: *const ronn_batch_config,
        out: *mut *mut ronn_batch_queue,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_batch_queue_submit(
        queue: *const ronn_batch_queue,
        in_names: *const *const c_char,
        inputs: *const *const ronn_tensor,
        n_in: usize,
        out_names: *const *const c_char,
        n_out: usize,
        done: *const ronn_completion,
        req: *mut *mut ronn_request,
    ) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_batch_queue_flush(queue: *const ronn_batch_queue) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_batch_queue_close(queue: *const ronn_batch_queue, drain: u32) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_batch_queue_stats(queue: *const ronn_batch_queue, stats: *mut ronn_batch_stats) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_batch_queue_free(queue: *mut ronn_batch_queue);
    /// See ronn.h.
    pub fn ronn_profiler_config_default(config: *mut ronn_profiler_config) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_new(config: *const ronn_profiler_config, out: *mut *mut ronn_profiler) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_start(profiler: *const ronn_profiler) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_stop(profiler: *const ronn_profiler) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_clear(profiler: *const ronn_profiler) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_counts(profiler: *const ronn_profiler, events: *mut usize, dropped: *mut u64) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_export_chrome_trace(profiler: *const ronn_profiler, out: *mut ronn_buffer) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_write_chrome_trace(profiler: *const ronn_profiler, path: *const c_char) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_export_report(profiler: *const ronn_profiler, out: *mut ronn_buffer) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_profiler_free(profiler: *mut ronn_profiler);
    /// See ronn.h.
    pub fn ronn_buffer_free(buffer: *mut ronn_buffer) -> ronn_status;
    /// See ronn.h.
    pub fn ronn_session_options_set_profiler(
        opts: *mut ronn_session_options,
        profiler: *const ronn_profiler,
    ) -> ronn_status;
}
