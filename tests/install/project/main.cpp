// Runs a model on zeros through the installed C++ SDK.
#include <ronn/ronn.hpp>
#include <cstdio>

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    try {
        ronn::check_version();
        ronn::Session s(argv[1]);
        auto in = s.inputs().at(0);
        for (auto &d : in.shape) d = d < 0 ? 1 : d;
        ronn::Tensor x = ronn::Tensor::zeros(in.dtype, in.shape);
        auto outs = s.run({{in.name, &x}}, {s.outputs().at(0).name});
        std::printf("ronn C++: output rank %zu\n", outs.at(0).shape().size());
    } catch (const ronn::Error &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
