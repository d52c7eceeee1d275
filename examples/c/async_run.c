/* An async run through the RONN C API: the call returns at once, the result
 * arrives in a callback on a RONN completion thread, and ronn_request_wait
 * blocks until that callback has returned.
 *   async_run [MODEL.onnx [INPUT.npy]]   (defaults: the embedded digits model) */
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

/* Runs once per accepted run, on a RONN thread. The output tensors are ours. */
static void on_done(void *user_data, ronn_status status, const char *message, ronn_tensor *const *outputs,
                    size_t n_outputs) {
    size_t i;
    (void)user_data;
    if (status != RONN_STATUS_OK) {
        fprintf(stderr, "run failed: %s: %s\n", ronn_status_str(status), message);
        return;
    }
    for (i = 0; i < n_outputs; i++) {
        uint32_t dtype = 0;
        const int64_t *shape = NULL;
        size_t rank = 0, k;
        ronn_tensor_dtype(outputs[i], &dtype);
        ronn_tensor_shape(outputs[i], &shape, &rank);
        printf("output %zu: dtype %u, shape [", i, dtype);
        for (k = 0; k < rank; k++) printf(k ? ", %lld" : "%lld", (long long)shape[k]);
        printf("]\n");
        if (dtype == RONN_DTYPE_INT64) {
            const void *data = NULL;
            ronn_tensor_data(outputs[i], &data);
            printf("labels:");
            for (k = 0; k < (size_t)shape[0]; k++) printf(" %lld", (long long)((const int64_t *)data)[k]);
            printf("\n");
        }
        ronn_tensor_free(outputs[i]);
    }
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : RONN_DEFAULT_MODEL;
    const char *inputs = argc > 2 ? argv[2] : RONN_DEFAULT_INPUTS;
    ronn_session *session = NULL;
    ronn_tensor *x = NULL;
    ronn_request *req = NULL;
    ronn_value_info in = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    ronn_completion done = {sizeof(ronn_completion), on_done, NULL};
    const ronn_tensor *ins[1];
    npy_f32 npy;
    ronn_status st;

    if (npy_read_f32(inputs, &npy) != 0) {
        fprintf(stderr, "cannot read %s\n", inputs);
        return 1;
    }
    if (ronn_session_new(NULL, model, NULL, &session) != RONN_STATUS_OK ||
        ronn_session_input_info(session, 0, &in) != RONN_STATUS_OK ||
        ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, npy.shape, npy.rank, npy.data, npy.count * sizeof(float), NULL,
                                 NULL, &x) != RONN_STATUS_OK) {
        fprintf(stderr, "setup failed: %s\n", ronn_last_error_message());
        return 1;
    }
    ins[0] = x;
    /* All outputs (NULL, 0); the callback owns them. */
    st = ronn_session_run_async(session, NULL, &in.name, ins, 1, NULL, 0, &done, &req);
    if (st != RONN_STATUS_OK) {
        fprintf(stderr, "submit failed: %s\n", ronn_last_error_message());
        return 1;
    }
    ronn_tensor_free(x); /* input handles may go now; npy.data must live until the callback starts */
    st = ronn_request_wait(req, -1);
    printf("async run: %s\n", ronn_status_str(st));
    ronn_request_free(req);
    ronn_session_free(session);
    free(npy.data);
    return st == RONN_STATUS_OK ? 0 : 1;
}
