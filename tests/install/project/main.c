/* Loads a model and runs it on zeros through the installed libronn. */
#include <ronn/ronn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    ronn_session *s = NULL;
    ronn_tensor *x = NULL, *y = NULL;
    ronn_value_info in = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    ronn_value_info out = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    int64_t shape[8];
    int64_t k;
    const ronn_tensor *ins[1];
    if (argc < 2 || ronn_session_new(NULL, argv[1], NULL, &s) != RONN_STATUS_OK ||
        ronn_session_input_info(s, 0, &in) != RONN_STATUS_OK || ronn_session_output_info(s, 0, &out) != RONN_STATUS_OK ||
        in.rank < 0 || in.rank > 8) {
        fprintf(stderr, "setup failed: %s\n", ronn_last_error_message());
        return 1;
    }
    for (k = 0; k < in.rank; k++) shape[k] = in.shape[k] < 0 ? 1 : in.shape[k];
    if (ronn_tensor_new(in.dtype, shape, (size_t)in.rank, &x) != RONN_STATUS_OK) return 1;
    ins[0] = x;
    if (ronn_session_run(s, NULL, &in.name, ins, 1, &out.name, &y, 1) != RONN_STATUS_OK) {
        fprintf(stderr, "run failed: %s\n", ronn_last_error_message());
        return 1;
    }
    printf("ronn %s: ran %s -> %s\n", ronn_version(), in.name, out.name);
    ronn_tensor_free(y);
    ronn_tensor_free(x);
    ronn_session_free(s);
    return 0;
}
