// RONN C++ SDK: header-only C++17 wrapper over <ronn/ronn.h>.
// Move-only RAII classes own one C handle each (freed with its _free in a noexcept
// destructor); failures throw ronn::Error carrying the status and message. Tensors
// wrap caller memory without copies through ronn::View (a span-like pointer + size).
#ifndef RONN_HPP
#define RONN_HPP

#include <ronn/ronn.h>

#include <cstddef>
#include <cstdint>
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
    explicit Session(const std::string &model_path, const SessionOptions *opts = nullptr) {
        ronn_session *s = nullptr;
        detail::check(ronn_session_new(nullptr, model_path.c_str(), opts ? opts->get() : nullptr, &s));
        h_ = decltype(h_)(s);
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
    /// As run(); `preallocated[i]`, when non-empty, receives output i in place.
    std::vector<Tensor> run_into(const std::vector<std::pair<std::string, const Tensor *>> &inputs,
                                 const std::vector<std::string> &output_names,
                                 std::vector<Tensor> &preallocated) const {
        std::vector<const char *> in_names, out_names;
        std::vector<const ronn_tensor *> ins;
        for (const auto &i : inputs) {
            in_names.push_back(i.first.c_str());
            ins.push_back(i.second->get());
        }
        for (const auto &n : output_names) out_names.push_back(n.c_str());
        std::vector<ronn_tensor *> outs(output_names.size(), nullptr);
        for (std::size_t i = 0; i < preallocated.size() && i < outs.size(); i++) outs[i] = preallocated[i].get();
        detail::check(ronn_session_run(h_.get(), nullptr, in_names.data(), ins.data(), ins.size(), out_names.data(),
                                       outs.data(), outs.size()));
        std::vector<Tensor> result;
        for (std::size_t i = 0; i < outs.size(); i++) {
            bool pre = i < preallocated.size() && preallocated[i];
            result.emplace_back(pre ? nullptr : outs[i]);
        }
        return result;
    }
    const ronn_session *get() const noexcept { return h_.get(); }

  private:
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

} // namespace ronn

#endif // RONN_HPP
