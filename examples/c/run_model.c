/* Runs an ONNX model through the RONN C API.
 *   run_model [MODEL.onnx [INPUT.npy [OUTPUT.bin]]]
 * Defaults to the CLI's embedded digits model and its 16 sample inputs. The first
 * input is fed from the .npy file (float32); each output's dtype and shape is
 * printed, and every output's raw bytes, in the model's order, go to OUTPUT.bin when given. */
#include <ronn/ronn.h>
#include <stdio.h>
#include <stdlib.h>
#include "npy.h"

#ifndef RONN_DEFAULT_MODEL
#define RONN_DEFAULT_MODEL "crates/ronn-cli/assets/digits.onnx"
#endif
#ifndef RONN_DEFAULT_INPUTS
#define RONN_DEFAULT_INPUTS "crates/ronn-cli/assets/digits_inputs.npy"
#endif

#define CHECK(call)                                                                        \
    do {                                                                                   \
        ronn_status s_ = (call);                                                           \
        if (s_ != RONN_STATUS_OK) {                                                        \
            fprintf(stderr, "%s failed: %s: %s\n", #call, ronn_status_str(s_),             \
                    ronn_last_error_message());                                            \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : RONN_DEFAULT_MODEL;
    const char *inputs = argc > 2 ? argv[2] : RONN_DEFAULT_INPUTS;
    const char *out_path = argc > 3 ? argv[3] : NULL;
    ronn_session *session = NULL;
    ronn_session_options *opts = NULL;
    ronn_tensor *x = NULL;
    ronn_value_info in_info = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    npy_f32 npy;
    size_t n_out, i, k;
    int rc = 0;

    if (ronn_api_version() < RONN_API_VERSION) {
        fprintf(stderr, "libronn is older than this header\n");
        return 1;
    }
    printf("RONN %s (API %u)\n", ronn_version(), ronn_api_version());
    CHECK(ronn_session_options_new(&opts));
    CHECK(ronn_session_options_set(opts, "optimization_level", "3"));
    CHECK(ronn_session_new(NULL, model, opts, &session));
    ronn_session_options_free(opts);
    CHECK(ronn_session_input_info(session, 0, &in_info));
    if (npy_read_f32(inputs, &npy) != 0) {
        fprintf(stderr, "cannot read float32 .npy file %s\n", inputs);
        ronn_session_free(session);
        return 1;
    }
    /* The tensor borrows the .npy buffer without a copy; no deleter: it is freed at the end, after every tensor. */
    CHECK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, npy.shape, npy.rank, npy.data,
                                   npy.count * sizeof(float), (ronn_deleter)0, NULL, &x));
    CHECK(ronn_session_output_count(session, &n_out));
    {
        const char *in_names[1];
        const char **out_names = (const char **)calloc(n_out, sizeof(char *));
        ronn_tensor **outs = (ronn_tensor **)calloc(n_out, sizeof(ronn_tensor *));
        const ronn_tensor *ins[1];
        in_names[0] = in_info.name;
        ins[0] = x;
        for (i = 0; i < n_out; i++) {
            ronn_value_info info = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
            CHECK(ronn_session_output_info(session, i, &info));
            out_names[i] = info.name;
        }
        CHECK(ronn_session_run(session, NULL, in_names, ins, 1, out_names, outs, n_out));
        for (i = 0; i < n_out; i++) {
            const int64_t *shape;
            size_t rank, count, bytes;
            uint32_t dtype;
            const void *data;
            CHECK(ronn_tensor_dtype(outs[i], &dtype));
            CHECK(ronn_tensor_shape(outs[i], &shape, &rank));
            CHECK(ronn_tensor_size(outs[i], &count, &bytes));
            CHECK(ronn_tensor_data(outs[i], &data));
            printf("%s: dtype %u shape [", out_names[i], dtype);
            for (k = 0; k < rank; k++) printf(k ? ", %lld" : "%lld", (long long)shape[k]);
            printf("]");
            if (dtype == RONN_DTYPE_INT64) {
                printf(" values:");
                for (k = 0; k < count && k < 16; k++) printf(" %lld", (long long)((const int64_t *)data)[k]);
            } else if (dtype == RONN_DTYPE_FLOAT32) {
                printf(" first:");
                for (k = 0; k < count && k < 4; k++) printf(" %g", (double)((const float *)data)[k]);
            }
            printf("\n");
            if (out_path) {
                FILE *f = fopen(out_path, i == 0 ? "wb" : "ab");
                if (!f || fwrite(data, 1, bytes, f) != bytes) rc = 1;
                if (f) fclose(f);
            }
            ronn_tensor_free(outs[i]);
        }
        free(outs);
        free((void *)out_names);
    }
    ronn_tensor_free(x);
    ronn_session_free(session);
    free(npy.data);
    return rc;
}
