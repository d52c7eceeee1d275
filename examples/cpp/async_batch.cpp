// Async runs and a batch queue through the RONN C++ SDK: run_async gives a
// std::future; a BatchQueue fed by several threads answers each request with
// its own row of the batched outputs.
//   async_batch [MODEL.onnx [INPUT.npy]]   (defaults: the embedded digits model)
#include <ronn/ronn.hpp>

#include <cstdio>
#include <thread>
#include <vector>
extern "C" {
#include "npy.h"
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "crates/ronn-cli/assets/digits.onnx";
    const char *inputs = argc > 2 ? argv[2] : "crates/ronn-cli/assets/digits_inputs.npy";
    npy_f32 npy;
    if (npy_read_f32(inputs, &npy) != 0 || npy.rank != 2) return 1;
    int rc = 0;
    try {
        ronn::check_version();
        ronn::Session session(model);
        const std::string in = session.inputs()[0].name;
        const int64_t rows = npy.shape[0], cols = npy.shape[1];

        // One async run over all rows.
        ronn::Tensor all = ronn::Tensor::view(ronn::View<float>(npy.data, npy.count), {rows, cols});
        std::future<std::vector<ronn::Tensor>> pending = session.run_async({{in, &all}});
        std::vector<ronn::Tensor> outs = pending.get();
        auto labels = outs[1].data<int64_t>();
        std::printf("async run: %zu outputs, labels:", outs.size());
        for (std::size_t i = 0; i < labels.size; i++) std::printf(" %lld", (long long)labels.data[i]);
        std::printf("\n");

        // A batch queue fed by 4 threads, one row per request.
        auto cfg = ronn::BatchQueue::default_config();
        cfg.max_batch = 16;
        cfg.max_delay_us = 2000;
        ronn::BatchQueue queue(session, cfg);
        std::vector<std::thread> feeders;
        std::vector<int> correct(4, 0);
        for (int t = 0; t < 4; t++)
            feeders.emplace_back([&, t] {
                for (int64_t r = 0; r < rows; r++) {
                    ronn::Tensor x = ronn::Tensor::view(ronn::View<float>(npy.data + r * cols, (std::size_t)cols), {1, cols});
                    auto got = queue.submit({{in, &x}}).get();
                    if (got[1].data<int64_t>().data[0] == labels.data[r]) correct[t]++;
                }
            });
        for (auto &f : feeders) f.join();
        queue.close();
        auto st = queue.stats();
        std::printf("batch queue: %llu requests in %llu batches (average %.1f); same labels: %d/%d\n",
                    (unsigned long long)st.requests, (unsigned long long)st.batches, st.average_batch_size,
                    correct[0] + correct[1] + correct[2] + correct[3], (int)(4 * rows));
        if (correct[0] + correct[1] + correct[2] + correct[3] != 4 * rows) rc = 1;
    } catch (const ronn::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());
        rc = 1;
    }
    std::free(npy.data);
    return rc;
}
