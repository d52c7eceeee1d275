// Runs an ONNX model through the RONN C++ SDK.
//   run_model_cpp [MODEL.onnx [INPUT.npy]]   (defaults: the CLI's embedded digits model and inputs)
#include <ronn/ronn.hpp>

#include <cstdio>
extern "C" {
#include "npy.h"
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "crates/ronn-cli/assets/digits.onnx";
    const char *inputs = argc > 2 ? argv[2] : "crates/ronn-cli/assets/digits_inputs.npy";
    npy_f32 npy;
    if (npy_read_f32(inputs, &npy) != 0) {
        std::fprintf(stderr, "cannot read %s\n", inputs);
        return 1;
    }
    int rc = 0;
    try {
        ronn::check_version();
        ronn::SessionOptions opts;
        opts.optimization_level(3);
        ronn::Session session(model, &opts);
        // A zero-copy view of the .npy buffer.
        ronn::Tensor x = ronn::Tensor::view(ronn::View<float>(npy.data, npy.count),
                                            std::vector<int64_t>(npy.shape, npy.shape + npy.rank));
        std::vector<std::string> names;
        for (const auto &o : session.outputs()) names.push_back(o.name);
        auto outs = session.run({{session.inputs().at(0).name, &x}}, names);
        for (std::size_t i = 0; i < outs.size(); i++) {
            std::printf("%s: dtype %u shape [", names[i].c_str(), static_cast<unsigned>(outs[i].dtype()));
            auto shape = outs[i].shape();
            for (std::size_t k = 0; k < shape.size(); k++) std::printf(k ? ", %lld" : "%lld", static_cast<long long>(shape[k]));
            std::printf("]\n");
            if (outs[i].dtype() == RONN_DTYPE_INT64) {
                auto v = outs[i].data<int64_t>();
                std::printf("  values:");
                for (std::size_t k = 0; k < v.size && k < 16; k++) std::printf(" %lld", static_cast<long long>(v.data[k]));
                std::printf("\n");
            }
        }
    } catch (const ronn::Error &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        rc = 1;
    }
    std::free(npy.data);
    return rc;
}
