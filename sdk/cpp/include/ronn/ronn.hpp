// RONN C++ SDK: header-only C++17 wrapper over <ronn/ronn.h>.
// Move-only RAII classes own one C handle each (freed with its _free in a noexcept
// destructor); failures throw ronn::Error carrying the status and message. Tensors
// wrap caller memory without copies through ronn::View (a span-like pointer + size).
// Async runs and batch queues answer through std::future; the C callbacks behind
// them catch everything, so no exception ever crosses into C.
#ifndef RONN_HPP
#define RONN_HPP

#include <ronn/ronn.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ronn {

/// A failed RONN call: status() is the ronn_status, what() the message.
class Error : public std::runtime_error {
  public:
    Error(ronn_status status, const std::string &message)
        : std::runtime_error(std::string(ronn_status_str(status)) + ": " + message), status_(status) {}
    ronn_status status() const noexcept { return status_; }

  private:
    ronn_status status_;
};

namespace detail {
inline void check(ronn_status s) {
    if (s != RONN_STATUS_OK) throw Error(s, ronn_last_error_message());
}

/// Move-only owner of one handle.
template <typename T, void (*Free)(T *)> class Handle {
  public:
    Handle() noexcept = default;
    explicit Handle(T *h) noexcept : h_(h) {}
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    Handle(Handle &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Handle &operator=(Handle &&o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~Handle() noexcept { reset(); }
    void reset() noexcept {
        if (h_) Free(h_);
        h_ = nullptr;
    }
    T *get() const noexcept { return h_; }
    T *release() noexcept { return std::exchange(h_, nullptr); }
    explicit operator bool() const noexcept { return h_ != nullptr; }

  private:
    T *h_ = nullptr;
};
} // namespace detail

/// A process-level environment sessions are created in (optional: sessions
/// made without one use the default env).
class Env {
  public:
    Env() {
        ronn_env *e = nullptr;
        detail::check(ronn_env_new(&e));
        h_ = decltype(h_)(e);
    }
    const ronn_env *get() const noexcept { return h_.get(); }

  private:
    detail::Handle<ronn_env, ronn_env_free> h_;
};

/// Refuses a library older than this header.
inline void check_version() {
    if (ronn_api_version() < RONN_API_VERSION)
        throw Error(RONN_STATUS_INVALID_ARGUMENT, "libronn is older than ronn.hpp");
}

/// A read-only view of contiguous elements (what std::span<const T> gives in C++20).
template <typename T> struct View {
    const T *data;
    std::size_t size;
    View(const T *d, std::size_t n) : data(d), size(n) {}
    View(const std::vector<T> &v) : data(v.data()), size(v.size()) {}
};

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr ronn_dtype value = RONN_DTYPE_FLOAT32; };
template <> struct DTypeOf<double> { static constexpr ronn_dtype value = RONN_DTYPE_FLOAT64; };
template <> struct DTypeOf<int8_t> { static constexpr ronn_dtype value = RONN_DTYPE_INT8; };
template <> struct DTypeOf<int16_t> { static constexpr ronn_dtype value = RONN_DTYPE_INT16; };
template <> struct DTypeOf<int32_t> { static constexpr ronn_dtype value = RONN_DTYPE_INT32; };
template <> struct DTypeOf<int64_t> { static constexpr ronn_dtype value = RONN_DTYPE_INT64; };
template <> struct DTypeOf<uint8_t> { static constexpr ronn_dtype value = RONN_DTYPE_UINT8; };
template <> struct DTypeOf<uint16_t> { static constexpr ronn_dtype value = RONN_DTYPE_UINT16; };
template <> struct DTypeOf<uint32_t> { static constexpr ronn_dtype value = RONN_DTYPE_UINT32; };
template <> struct DTypeOf<uint64_t> { static constexpr ronn_dtype value = RONN_DTYPE_UINT64; };
template <> struct DTypeOf<bool> { static constexpr ronn_dtype value = RONN_DTYPE_BOOL; };

/// A tensor: allocated by RONN, or a zero-copy read-only view of caller memory.
class Tensor {
  public:
    Tensor() noexcept = default;
    explicit Tensor(ronn_tensor *h) noexcept : h_(h) {}

    /// Allocates a zero-filled tensor.
    static Tensor zeros(ronn_dtype dtype, const std::vector<int64_t> &shape) {
        ronn_tensor *t = nullptr;
        detail::check(ronn_tensor_new(dtype, shape.data(), shape.size(), &t));
        return Tensor(t);
    }
    /// Views caller memory without copying. The memory must outlive the tensor
    /// and every output of a run that used it, and stay unchanged meanwhile.
    template <typename T> static Tensor view(View<T> data, const std::vector<int64_t> &shape) {
        ronn_tensor *t = nullptr;
        detail::check(ronn_tensor_new_borrowed(DTypeOf<T>::value, shape.data(), shape.size(), data.data,
                                               data.size * sizeof(T), nullptr, nullptr, &t));
        return Tensor(t);
    }

    ronn_dtype dtype() const {
        uint32_t d = 0;
        detail::check(ronn_tensor_dtype(h_.get(), &d));
        return static_cast<ronn_dtype>(d);
    }
    std::vector<int64_t> shape() const {
        const int64_t *s = nullptr;
        std::size_t r = 0;
        detail::check(ronn_tensor_shape(h_.get(), &s, &r));
        return std::vector<int64_t>(s, s + r);
    }
    std::size_t size() const {
        std::size_t n = 0;
        detail::check(ronn_tensor_size(h_.get(), &n, nullptr));
        return n;
    }
    /// The elements as T (checked against the dtype), borrowed from the tensor.
    template <typename T> View<T> data() const {
        if (dtype() != DTypeOf<T>::value) throw Error(RONN_STATUS_TYPE_MISMATCH, "element type does not match");
        const void *p = nullptr;
        detail::check(ronn_tensor_data(h_.get(), &p));
        return View<T>(static_cast<const T *>(p), size());
    }
    /// Writable elements of a tensor RONN allocated.
    template <typename T> T *mutable_data() {
        if (dtype() != DTypeOf<T>::value) throw Error(RONN_STATUS_TYPE_MISMATCH, "element type does not match");
        void *p = nullptr;
        detail::check(ronn_tensor_data_mut(h_.get(), &p));
        return static_cast<T *>(p);
    }
    ronn_tensor *get() const noexcept { return h_.get(); }
    explicit operator bool() const noexcept { return bool(h_); }

  private:
    detail::Handle<ronn_tensor, ronn_tensor_free> h_;
};

/// A memory pool shared by sessions.
class MemoryPool {
  public:
    MemoryPool() {
        ronn_memory_pool *p = nullptr;
        detail::check(ronn_memory_pool_new(nullptr, &p));
        h_ = decltype(h_)(p);
    }
    explicit MemoryPool(const ronn_pool_config &cfg) {
        ronn_memory_pool *p = nullptr;
        detail::check(ronn_memory_pool_new(&cfg, &p));
        h_ = decltype(h_)(p);
    }
    explicit MemoryPool(ronn_memory_pool *p) noexcept : h_(p) {}
    ronn_pool_stats stats() const {
        ronn_pool_stats s{};
        s.struct_size = sizeof s;
        detail::check(ronn_memory_pool_stats(h_.get(), &s));
        return s;
    }
    std::size_t trim(std::size_t max_bytes) {
        std::size_t freed = 0;
        detail::check(ronn_memory_pool_trim(h_.get(), max_bytes, &freed));
        return freed;
    }
    ronn_memory_pool *get() const noexcept { return h_.get(); }

  private:
    detail::Handle<ronn_memory_pool, ronn_memory_pool_free> h_;
};

/// Per-node timings of the sessions or runs it is attached to, exported as
/// Chrome trace JSON (Perfetto, chrome://tracing) or a per-op-type report.
class Profiler {
  public:
    /// The development preset: active, every category, up to a million events.
    Profiler() : Profiler(nullptr) {}
    explicit Profiler(const ronn_profiler_config &cfg) : Profiler(&cfg) {}
    void start() { detail::check(ronn_profiler_start(h_.get())); }
    void stop() { detail::check(ronn_profiler_stop(h_.get())); }
    void clear() { detail::check(ronn_profiler_clear(h_.get())); }
    std::size_t event_count() const {
        std::size_t n = 0;
        detail::check(ronn_profiler_counts(h_.get(), &n, nullptr));
        return n;
    }
    uint64_t dropped_events() const {
        uint64_t n = 0;
        detail::check(ronn_profiler_counts(h_.get(), nullptr, &n));
        return n;
    }
    std::string chrome_trace() const { return take(ronn_profiler_export_chrome_trace); }
    std::string report_json() const { return take(ronn_profiler_export_report); }
    void write_chrome_trace(const std::string &path) const {
        detail::check(ronn_profiler_write_chrome_trace(h_.get(), path.c_str()));
    }
    const ronn_profiler *get() const noexcept { return h_.get(); }

  private:
    explicit Profiler(const ronn_profiler_config *cfg) {
        ronn_profiler *p = nullptr;
        detail::check(ronn_profiler_new(cfg, &p));
        h_ = decltype(h_)(p);
    }
    std::string take(ronn_status (*exporter)(const ronn_profiler *, ronn_buffer *)) const {
        ronn_buffer b{nullptr, 0};
        detail::check(exporter(h_.get(), &b));
        std::string out;
        try {
            out.assign(reinterpret_cast<const char *>(b.data), b.len);
        } catch (...) {
            ronn_buffer_free(&b);
            throw;
        }
        ronn_buffer_free(&b);
        return out;
    }
    detail::Handle<ronn_profiler, ronn_profiler_free> h_;
};

/// Settings of single runs (a profiler for just those runs).
class RunOptions {
  public:
    RunOptions() {
        ronn_run_options *o = nullptr;
        detail::check(ronn_run_options_new(&o));
        h_ = decltype(h_)(o);
    }
    RunOptions &profiler(const Profiler &p) {
        detail::check(ronn_run_options_set_profiler(h_.get(), p.get()));
        return *this;
    }
    const ronn_run_options *get() const noexcept { return h_.get(); }

  private:
    detail::Handle<ronn_run_options, ronn_run_options_free> h_;
};

/// An async run or batched request in flight: wait for it or cancel it. Its
/// result comes through the std::future it was returned with.
class Request {
  public:
    Request() noexcept = default;
    explicit Request(ronn_request *r) noexcept : h_(r) {}
    /// Asks the run to stop; its future then holds Error(RONN_STATUS_CANCELLED)
    /// unless the results were already being delivered.
    void cancel() { detail::check(ronn_request_cancel(h_.get())); }
    /// Waits up to `timeout_ms` (negative: no limit) for the result to be
    /// delivered; true when it was, false on timeout. The run's own error, if
    /// any, is in the future, not thrown here.
    bool wait(int64_t timeout_ms = -1) const {
        ronn_status s = ronn_request_wait(h_.get(), timeout_ms);
        if (s == RONN_STATUS_TIMEOUT) return false;
        if (s == RONN_STATUS_NULL_POINTER || s == RONN_STATUS_INVALID_HANDLE || s == RONN_STATUS_INVALID_ARGUMENT)
            detail::check(s);
        return true;
    }
    ronn_request *get() const noexcept { return h_.get(); }

  private:
    detail::Handle<ronn_request, ronn_request_free> h_;
};

/// A result to come and the request that brings it.
struct AsyncRun {
    std::future<std::vector<Tensor>> result;
    Request request;
};

namespace detail {
/// The promise behind a std::future returned by run_async or BatchQueue::submit.
using OutputsPromise = std::promise<std::vector<Tensor>>;

/// The C completion callback: fulfils the promise. Catches everything (no
/// exception may cross into C) and takes ownership of the output tensors.
inline void fulfil(void *user_data, ronn_status status, const char *message, ronn_tensor *const *outputs,
                   std::size_t n) noexcept {
    std::unique_ptr<OutputsPromise> promise(static_cast<OutputsPromise *>(user_data));
    std::vector<Tensor> owned;
    try {
        owned.reserve(n);
        for (std::size_t i = 0; i < n; i++) owned.emplace_back(outputs[i]);
    } catch (...) {
        // Out of memory: free what was not wrapped, report the failure.
        for (std::size_t i = owned.size(); i < n; i++) ronn_tensor_free(outputs[i]);
        try {
            promise->set_exception(std::current_exception());
        } catch (...) {
        }
        return;
    }
    try {
        if (status == RONN_STATUS_OK)
            promise->set_value(std::move(owned));
        else
            promise->set_exception(std::make_exception_ptr(Error(status, message ? message : "")));
    } catch (...) {
        // set_value/set_exception only throw for a promise already satisfied: nothing to do.
    }
}

/// Names and handles of a run's inputs and wanted outputs, as C arrays.
struct RunArgs {
    std::vector<const char *> in_names, out_names;
    std::vector<const ronn_tensor *> ins;
    RunArgs(const std::vector<std::pair<std::string, const Tensor *>> &inputs,
            const std::vector<std::string> &output_names) {
        for (const auto &i : inputs) {
            in_names.push_back(i.first.c_str());
            ins.push_back(i.second->get());
        }
        for (const auto &n : output_names) out_names.push_back(n.c_str());
    }
};

/// Submits through `submit(args, completion, request)`; returns the future and request.
template <typename Submit> AsyncRun submit_async(Submit submit) {
    auto promise = std::make_unique<OutputsPromise>();
    AsyncRun run{promise->get_future(), Request()};
    ronn_completion done{};
    done.struct_size = sizeof done;
    done.callback = fulfil;
    done.user_data = promise.get();
    ronn_request *req = nullptr;
    check(submit(&done, &req)); // on failure the callback never runs: the unique_ptr frees the promise
    promise.release();          // the callback owns it now
    run.request = Request(req);
    return run;
}
} // namespace detail

/// Session options (one thread at a time).
class SessionOptions {
  public:
    SessionOptions() {
        ronn_session_options *o = nullptr;
        detail::check(ronn_session_options_new(&o));
        h_ = decltype(h_)(o);
    }
    SessionOptions &optimization_level(uint32_t level) {
        detail::check(ronn_session_options_set_optimization_level(h_.get(), level));
        return *this;
    }
    SessionOptions &provider(const std::string &p) {
        detail::check(ronn_session_options_set_provider(h_.get(), p.c_str()));
        return *this;
    }
    SessionOptions &num_threads(std::size_t n) {
        detail::check(ronn_session_options_set_num_threads(h_.get(), n));
        return *this;
    }
    SessionOptions &memory_pool(const MemoryPool &pool) {
        detail::check(ronn_session_options_set_memory_pool(h_.get(), pool.get()));
        return *this;
    }
    /// Times every run of sessions made with these options into `p`.
    SessionOptions &profiler(const Profiler &p) {
        detail::check(ronn_session_options_set_profiler(h_.get(), p.get()));
        return *this;
    }
    SessionOptions &set(const std::string &key, const std::string &value) {
        detail::check(ronn_session_options_set(h_.get(), key.c_str(), value.c_str()));
        return *this;
    }
    const ronn_session_options *get() const noexcept { return h_.get(); }

  private:
    detail::Handle<ronn_session_options, ronn_session_options_free> h_;
};

/// Name, dtype and shape (-1 for symbolic dims, named in dim_names) of an input or output.
struct ValueInfo {
    std::string name;
    ronn_dtype dtype;
    int64_t rank;
    std::vector<int64_t> shape;
    std::vector<std::string> dim_names;
};

/// A model ready to run; run() may be called from many threads at once.
class Session {
  public:
    explicit Session(const std::string &model_path, const SessionOptions *opts = nullptr)
        : Session(nullptr, model_path, opts) {}
    Session(const Env &env, const std::string &model_path, const SessionOptions *opts = nullptr)
        : Session(&env, model_path, opts) {}
    /// From the bytes of an ONNX model in memory (read during the call only).
    static Session from_memory(View<uint8_t> model, const SessionOptions *opts = nullptr) {
        ronn_session *s = nullptr;
        detail::check(ronn_session_new_from_memory(nullptr, model.data, model.size, opts ? opts->get() : nullptr, &s));
        return Session(s);
    }
    std::vector<ValueInfo> inputs() const { return infos(false); }
    std::vector<ValueInfo> outputs() const { return infos(true); }
    MemoryPool memory_pool() const {
        ronn_memory_pool *p = nullptr;
        detail::check(ronn_session_memory_pool(h_.get(), &p));
        return MemoryPool(p);
    }
    /// Runs on named inputs; returns the named outputs as new tensors.
    std::vector<Tensor> run(const std::vector<std::pair<std::string, const Tensor *>> &inputs,
                            const std::vector<std::string> &output_names) const {
        std::vector<Tensor> none;
        return run_into(inputs, output_names, none);
    }
    /// As run(), with per-run options (a profiler for this run).
    std::vector<Tensor> run(const std::vector<std::pair<std::string, const Tensor *>> &inputs,
                            const std::vector<std::string> &output_names, const RunOptions &options) const {
        std::vector<Tensor> none;
        return run_into(inputs, output_names, none, &options);
    }
    /// Starts a run on RONN's threads; the future holds the outputs named in
    /// `output_names` (empty: all, in the model's order) or an Error. Input
    /// tensors may be destroyed at once; memory they view must stay valid until
    /// the future is ready.
    std::future<std::vector<Tensor>> run_async(const std::vector<std::pair<std::string, const Tensor *>> &inputs,
                                               const std::vector<std::string> &output_names = {}) const {
        return start_async(inputs, output_names).result;
    }
    /// As run_async(), also giving the request (to cancel or wait with a timeout).
    AsyncRun start_async(const std::vector<std::pair<std::string, const Tensor *>> &inputs,
                         const std::vector<std::string> &output_names = {},
                         const RunOptions *options = nullptr) const {
        detail::RunArgs a(inputs, output_names);
        return detail::submit_async([&](const ronn_completion *done, ronn_request **req) {
            return ronn_session_run_async(h_.get(), options ? options->get() : nullptr, a.in_names.data(),
                                          a.ins.data(), a.ins.size(), a.out_names.data(), a.out_names.size(),
                                          done, req);
        });
    }
    /// As run(); `preallocated[i]`, when non-empty, receives output i in place.
    std::vector<Tensor> run_into(const std::vector<std::pair<std::string, const Tensor *>> &inputs,
                                 const std::vector<std::string> &output_names,
                                 std::vector<Tensor> &preallocated, const RunOptions *options = nullptr) const {
        detail::RunArgs a(inputs, output_names);
        std::vector<ronn_tensor *> outs(output_names.size(), nullptr);
        for (std::size_t i = 0; i < preallocated.size() && i < outs.size(); i++) outs[i] = preallocated[i].get();
        detail::check(ronn_session_run(h_.get(), options ? options->get() : nullptr, a.in_names.data(), a.ins.data(),
                                       a.ins.size(), a.out_names.data(), outs.data(), outs.size()));
        std::vector<Tensor> result;
        for (std::size_t i = 0; i < outs.size(); i++) {
            bool pre = i < preallocated.size() && preallocated[i];
            result.emplace_back(pre ? nullptr : outs[i]);
        }
        return result;
    }
    const ronn_session *get() const noexcept { return h_.get(); }

  private:
    explicit Session(ronn_session *s) noexcept : h_(s) {}
    Session(const Env *env, const std::string &model_path, const SessionOptions *opts) {
        ronn_session *s = nullptr;
        detail::check(
            ronn_session_new(env ? env->get() : nullptr, model_path.c_str(), opts ? opts->get() : nullptr, &s));
        h_ = decltype(h_)(s);
    }
    std::vector<ValueInfo> infos(bool outputs) const {
        std::size_t n = 0;
        detail::check(outputs ? ronn_session_output_count(h_.get(), &n) : ronn_session_input_count(h_.get(), &n));
        std::vector<ValueInfo> v;
        for (std::size_t i = 0; i < n; i++) {
            ronn_value_info c{};
            c.struct_size = sizeof c;
            detail::check(outputs ? ronn_session_output_info(h_.get(), i, &c) : ronn_session_input_info(h_.get(), i, &c));
            ValueInfo vi{c.name, static_cast<ronn_dtype>(c.dtype), c.rank, {}, {}};
            for (int64_t k = 0; k < c.rank; k++) {
                vi.shape.push_back(c.shape[k]);
                vi.dim_names.push_back(c.dim_names[k] ? c.dim_names[k] : "");
            }
            v.push_back(std::move(vi));
        }
        return v;
    }
    detail::Handle<ronn_session, ronn_session_free> h_;
};

/// Many small requests to one session, run as few big batches along the
/// model's symbolic first dim. submit() never blocks: a full queue throws
/// Error(RONN_STATUS_QUEUE_FULL) at once. Destroying it drains the queue.
class BatchQueue {
  public:
    /// Defaults: dynamic, 32 rows, 5 ms, 1024 pending.
    explicit BatchQueue(const Session &session) : BatchQueue(session, nullptr) {}
    BatchQueue(const Session &session, const ronn_batch_config &cfg) : BatchQueue(session, &cfg) {}
    /// The default config, to adjust before constructing.
    static ronn_batch_config default_config() {
        ronn_batch_config c{};
        detail::check(ronn_batch_config_default(&c));
        return c;
    }
    /// Queues one request (its inputs' first dim is its rows); the future
    /// holds exactly its rows of the outputs (empty `output_names`: all).
    std::future<std::vector<Tensor>> submit(const std::vector<std::pair<std::string, const Tensor *>> &inputs,
                                            const std::vector<std::string> &output_names = {}) const {
        detail::RunArgs a(inputs, output_names);
        return detail::submit_async([&](const ronn_completion *done, ronn_request **req) {
                   return ronn_batch_queue_submit(h_.get(), a.in_names.data(), a.ins.data(), a.ins.size(),
                                                  a.out_names.data(), a.out_names.size(), done, req);
               })
            .result;
    }
    void flush() { detail::check(ronn_batch_queue_flush(h_.get())); }
    /// Stops taking requests; drain runs the waiting ones, otherwise they are cancelled.
    void close(bool drain = true) { detail::check(ronn_batch_queue_close(h_.get(), drain ? 1u : 0u)); }
    ronn_batch_stats stats() const {
        ronn_batch_stats s{};
        s.struct_size = sizeof s;
        detail::check(ronn_batch_queue_stats(h_.get(), &s));
        return s;
    }
    const ronn_batch_queue *get() const noexcept { return h_.get(); }

  private:
    BatchQueue(const Session &session, const ronn_batch_config *cfg) {
        ronn_batch_queue *q = nullptr;
        detail::check(ronn_batch_queue_new(session.get(), cfg, &q));
        h_ = decltype(h_)(q);
    }
    detail::Handle<ronn_batch_queue, ronn_batch_queue_free> h_;
};

} // namespace ronn

#endif // RONN_HPP
