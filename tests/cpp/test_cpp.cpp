// Tests of the C++ SDK (ronn.hpp): RAII, moves, exceptions, zero-copy views, runs,
// std::future from run_async, cancellation, batch queues, profilers.
//   test_cpp MODEL.onnx INPUTS.npy
#include <ronn/ronn.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
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
static_assert(!std::is_copy_constructible<ronn::BatchQueue>::value, "move-only");
static_assert(!std::is_copy_constructible<ronn::Profiler>::value, "move-only");
static_assert(std::is_nothrow_destructible<ronn::BatchQueue>::value, "noexcept destructor");

using Inputs = std::vector<std::pair<std::string, const ronn::Tensor *>>;

static bool same_bytes(const ronn::Tensor &a, const ronn::Tensor &b) {
    std::size_t na = 0, nb = 0;
    const void *pa = nullptr, *pb = nullptr;
    ronn_tensor_size(a.get(), nullptr, &na);
    ronn_tensor_size(b.get(), nullptr, &nb);
    ronn_tensor_data(a.get(), &pa);
    ronn_tensor_data(b.get(), &pb);
    return na == nb && pa && pb && std::memcmp(pa, pb, na) == 0;
}

// run_async gives the blocking run's outputs through a std::future; errors arrive as ronn::Error.
static void test_async(const ronn::Session &session, const ronn::Tensor &x, const std::string &in) {
    auto outs = session.outputs();
    auto want = session.run({{in, &x}}, {outs[0].name, outs[1].name});
    auto fut = session.run_async({{in, &x}});
    auto got = fut.get();
    EXPECT(got.size() == outs.size() && same_bytes(got[0], want[0]) && same_bytes(got[1], want[1]));
    auto only = session.run_async({{in, &x}}, {outs[1].name}).get();
    EXPECT(only.size() == 1 && same_bytes(only[0], want[1]));
    try {
        session.run_async({{"nope", &x}}).get();
        EXPECT(false);
    } catch (const ronn::Error &e) {
        EXPECT(e.status() == RONN_STATUS_NOT_FOUND);
    }
    try {
        (void)session.run_async({{in, &x}}, {"no_such_output"}); // refused at submission: thrown at once
        EXPECT(false);
    } catch (const ronn::Error &e) {
        EXPECT(e.status() == RONN_STATUS_NOT_FOUND);
    }
    // Many in flight at once, and a cancelled one.
    std::vector<std::future<std::vector<ronn::Tensor>>> many;
    for (int i = 0; i < 32; i++) many.push_back(session.run_async({{in, &x}}));
    auto run = session.start_async({{in, &x}});
    run.request.cancel();
    EXPECT(run.request.wait(-1));
    try {
        auto r = run.result.get();
        EXPECT(r.size() == outs.size()); // it finished before the cancel came
    } catch (const ronn::Error &e) {
        EXPECT(e.status() == RONN_STATUS_CANCELLED);
    }
    for (auto &f : many) EXPECT(same_bytes(f.get()[0], want[0]));
}

static void test_batch_queue(const ronn::Session &session, const npy_f32 &npy, const std::string &in) {
    auto outs = session.outputs();
    const int64_t f = npy.shape[1];
    auto cfg = ronn::BatchQueue::default_config();
    cfg.strategy = RONN_BATCH_STATIC;
    cfg.max_batch = 4;
    ronn::BatchQueue queue(session, cfg);
    std::vector<ronn::Tensor> rows;
    for (int i = 0; i < 4; i++)
        rows.push_back(ronn::Tensor::view(ronn::View<float>(npy.data + i * f, (std::size_t)f), {1, f}));
    ronn::Tensor four = ronn::Tensor::view(ronn::View<float>(npy.data, (std::size_t)(4 * f)), {4, f});
    auto want = session.run({{in, &four}}, {outs[0].name});
    auto want_rows = want[0].data<float>();
    std::vector<std::future<std::vector<ronn::Tensor>>> futs;
    for (auto &r : rows) futs.push_back(queue.submit({{in, &r}}, {outs[0].name}));
    for (int i = 0; i < 4; i++) {
        auto got = futs[i].get();
        auto v = got[0].data<float>();
        EXPECT(v.size == 10 && std::memcmp(v.data, want_rows.data + i * 10, 10 * sizeof(float)) == 0);
    }
    auto st = queue.stats();
    EXPECT(st.requests == 4 && st.batches == 1);
    // A full queue throws at once; close without drain cancels the waiting ones.
    cfg.max_batch = 1000;
    cfg.max_pending = 2;
    ronn::BatchQueue small(session, cfg);
    auto a = small.submit({{in, &rows[0]}});
    auto b = small.submit({{in, &rows[1]}});
    try {
        (void)small.submit({{in, &rows[2]}});
        EXPECT(false);
    } catch (const ronn::Error &e) {
        EXPECT(e.status() == RONN_STATUS_QUEUE_FULL);
    }
    small.close(false);
    for (auto *fu : {&a, &b}) {
        try {
            fu->get();
            EXPECT(false);
        } catch (const ronn::Error &e) {
            EXPECT(e.status() == RONN_STATUS_CANCELLED);
        }
    }
    EXPECT(small.stats().rejected == 1 && small.stats().cancelled == 2);
}

static void test_profiler(const std::string &model, const ronn::Tensor &x, const std::string &in) {
    ronn::Profiler prof;
    ronn::SessionOptions opts;
    opts.profiler(prof);
    ronn::Session s(model, &opts);
    auto outs = s.outputs();
    (void)s.run({{in, &x}}, {outs[0].name});
    EXPECT(prof.event_count() >= 5 && prof.dropped_events() == 0);
    std::string trace = prof.chrome_trace();
    EXPECT(trace.find("traceEvents") != std::string::npos && trace.find("Gemm") != std::string::npos);
    EXPECT(prof.report_json().find("entries") != std::string::npos);
    prof.stop();
    std::size_t n = prof.event_count();
    (void)s.run({{in, &x}}, {outs[0].name});
    EXPECT(prof.event_count() == n);
    // A profiler for one run.
    ronn::Profiler one;
    ronn::RunOptions ro;
    ro.profiler(one);
    (void)s.run({{in, &x}}, {outs[0].name}, ro);
    EXPECT(one.event_count() >= 5 && prof.event_count() == n);
}

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
        ronn::Env env;
        ronn::Session with_env(env, argv[1]);
        EXPECT(with_env.inputs().size() == 1);
        test_async(session, moved, ins[0].name);
        test_batch_queue(session, npy, ins[0].name);
        test_profiler(argv[1], moved, ins[0].name);
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
