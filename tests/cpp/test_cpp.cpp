// Tests of the C++ SDK (ronn.hpp): RAII, moves, exceptions, zero-copy views, runs.
//   test_cpp MODEL.onnx INPUTS.npy
#include <ronn/ronn.hpp>

#include <cstdio>
#include <cstring>
#include <type_traits>
extern "C" {
#include "npy.h"
}

static int failures = 0, checks = 0;
#define EXPECT(c)                                                                  \
    do {                                                                           \
        checks++;                                                                  \
        if (!(c)) {                                                                \
            failures++;                                                            \
            std::fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #c);   \
        }                                                                          \
    } while (0)

static_assert(!std::is_copy_constructible<ronn::Session>::value, "move-only");
static_assert(std::is_nothrow_move_constructible<ronn::Tensor>::value, "noexcept moves");
static_assert(std::is_nothrow_destructible<ronn::Session>::value, "noexcept destructor");

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    npy_f32 npy;
    if (npy_read_f32(argv[2], &npy) != 0) return 2;
    ronn::check_version();
    try {
        ronn::MemoryPool pool;
        ronn::SessionOptions opts;
        opts.optimization_level(3).num_threads(1).memory_pool(pool).set("provider", "cpu");
        ronn::Session session(argv[1], &opts);
        auto ins = session.inputs();
        auto outs = session.outputs();
        EXPECT(ins.size() == 1 && ins[0].dtype == RONN_DTYPE_FLOAT32 && ins[0].rank == 2 && ins[0].shape[1] == 64);
        std::vector<int64_t> shape(npy.shape, npy.shape + npy.rank);
        ronn::Tensor x = ronn::Tensor::view(ronn::View<float>(npy.data, npy.count), shape);
        EXPECT(x.data<float>().data == npy.data); // no copy
        ronn::Tensor moved = std::move(x);
        EXPECT(!x && moved);
        std::vector<std::string> names{outs[0].name};
        auto r = session.run({{ins[0].name, &moved}}, names);
        EXPECT(r.size() == 1 && r[0].shape()[0] == npy.shape[0]);
        // preallocated output, written in place
        std::vector<ronn::Tensor> pre;
        pre.push_back(ronn::Tensor::zeros(r[0].dtype(), r[0].shape()));
        session.run_into({{ins[0].name, &moved}}, names, pre);
        EXPECT(r[0].dtype() == pre[0].dtype());
        std::size_t bytes = 0;
        ronn_tensor_size(r[0].get(), nullptr, &bytes);
        const void *a = nullptr, *b = nullptr;
        ronn_tensor_data(r[0].get(), &a);
        ronn_tensor_data(pre[0].get(), &b);
        EXPECT(std::memcmp(a, b, bytes) == 0);
        EXPECT(pool.stats().hits + pool.stats().misses > 0);
        EXPECT(session.memory_pool().stats().struct_size == sizeof(ronn_pool_stats));
        // errors throw ronn::Error with the status
        try {
            session.run({{"nope", &moved}}, names);
            EXPECT(false);
        } catch (const ronn::Error &e) {
            EXPECT(e.status() == RONN_STATUS_NOT_FOUND);
            EXPECT(std::strstr(e.what(), "nope") != nullptr);
        }
        try {
            ronn::Session bad("/nonexistent.onnx");
            EXPECT(false);
        } catch (const ronn::Error &e) {
            EXPECT(e.status() == RONN_STATUS_IO);
        }
        try {
            (void)moved.data<int32_t>();
            EXPECT(false);
        } catch (const ronn::Error &e) {
            EXPECT(e.status() == RONN_STATUS_TYPE_MISMATCH);
        }
        try {
            opts.optimization_level(9);
            EXPECT(false);
        } catch (const ronn::Error &e) {
            EXPECT(e.status() == RONN_STATUS_INVALID_ARGUMENT);
        }
    } catch (const ronn::Error &e) {
        std::fprintf(stderr, "unexpected: %s\n", e.what());
        failures++;
    }
    std::size_t live = 99;
    ronn_live_handle_count(&live);
    EXPECT(live == 0); // every RAII object released its handle
    std::free(npy.data);
    std::printf("test_cpp: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
