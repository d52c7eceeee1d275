/* A dynamic batch queue fed by several threads through the RONN C API: each
 * thread submits single-row requests without blocking; the queue runs them as
 * few big batches and answers each request with its own row.
 *   batch_queue [MODEL.onnx [INPUT.npy]]   (defaults: the embedded digits model) */
#include <ronn/ronn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "npy.h"

#ifndef RONN_DEFAULT_MODEL
#define RONN_DEFAULT_MODEL "crates/ronn-cli/assets/digits.onnx"
#endif
#ifndef RONN_DEFAULT_INPUTS
#define RONN_DEFAULT_INPUTS "crates/ronn-cli/assets/digits_inputs.npy"
#endif
#define THREADS 4
#define PER_THREAD 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int answered = 0, failed = 0;
static const char *input_name;
static npy_f32 npy;

static void on_done(void *user_data, ronn_status status, const char *message, ronn_tensor *const *outputs,
                    size_t n_outputs) {
    size_t i;
    (void)user_data;
    pthread_mutex_lock(&lock);
    answered++;
    if (status != RONN_STATUS_OK) {
        failed++;
        fprintf(stderr, "request failed: %s\n", message);
    }
    pthread_mutex_unlock(&lock);
    for (i = 0; i < n_outputs; i++) ronn_tensor_free(outputs[i]);
}

static void *feed(void *arg) {
    ronn_batch_queue *q = (ronn_batch_queue *)arg;
    ronn_completion done = {sizeof(ronn_completion), on_done, NULL};
    int64_t shape[2];
    int i;
    shape[0] = 1;
    shape[1] = npy.shape[1];
    for (i = 0; i < PER_THREAD; i++) {
        const float *row = npy.data + (size_t)(i % npy.shape[0]) * (size_t)npy.shape[1];
        ronn_tensor *x = NULL;
        const ronn_tensor *ins[1];
        if (ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, shape, 2, (void *)row, (size_t)npy.shape[1] * sizeof(float),
                                     NULL, NULL, &x) != RONN_STATUS_OK)
            continue;
        ins[0] = x;
        /* Never blocks; QUEUE_FULL would come back here at once. */
        if (ronn_batch_queue_submit(q, &input_name, ins, 1, NULL, 0, &done, NULL) != RONN_STATUS_OK)
            fprintf(stderr, "submit refused: %s\n", ronn_last_error_message());
        ronn_tensor_free(x);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : RONN_DEFAULT_MODEL;
    const char *inputs = argc > 2 ? argv[2] : RONN_DEFAULT_INPUTS;
    ronn_session *session = NULL;
    ronn_batch_queue *queue = NULL;
    ronn_batch_config cfg;
    ronn_batch_stats stats;
    ronn_value_info in = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    pthread_t th[THREADS];
    int i;

    if (npy_read_f32(inputs, &npy) != 0 || npy.rank != 2) {
        fprintf(stderr, "cannot read %s\n", inputs);
        return 1;
    }
    if (ronn_session_new(NULL, model, NULL, &session) != RONN_STATUS_OK ||
        ronn_session_input_info(session, 0, &in) != RONN_STATUS_OK || ronn_batch_config_default(&cfg) != RONN_STATUS_OK) {
        fprintf(stderr, "setup failed: %s\n", ronn_last_error_message());
        return 1;
    }
    input_name = in.name;
    cfg.strategy = RONN_BATCH_DYNAMIC;
    cfg.max_batch = 32;
    cfg.max_delay_us = 2000;
    if (ronn_batch_queue_new(session, &cfg, &queue) != RONN_STATUS_OK) {
        fprintf(stderr, "queue: %s\n", ronn_last_error_message());
        return 1;
    }
    for (i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, feed, queue);
    for (i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    ronn_batch_queue_close(queue, 1); /* drain: every accepted request runs */
    stats.struct_size = sizeof stats;
    ronn_batch_queue_stats(queue, &stats);
    ronn_batch_queue_free(queue);
    ronn_session_free(session);
    /* Callbacks follow the drain on the completion thread; wait for the last ones. */
    for (i = 0; i < 3000; i++) {
        int n;
        struct timespec t = {0, 1000000L};
        pthread_mutex_lock(&lock);
        n = answered;
        pthread_mutex_unlock(&lock);
        if (n == (int)stats.requests) break;
        nanosleep(&t, NULL);
    }
    printf("requests %llu, batches %llu, average batch %.1f, queue wait p50 %.2f ms, p99 %.2f ms\n",
           (unsigned long long)stats.requests, (unsigned long long)stats.batches, stats.average_batch_size,
           stats.queue_wait_p50_ms, stats.queue_wait_p99_ms);
    printf("answered %d of %d, failed %d\n", answered, THREADS * PER_THREAD, failed);
    free(npy.data);
    return answered == THREADS * PER_THREAD && failed == 0 ? 0 : 1;
}
