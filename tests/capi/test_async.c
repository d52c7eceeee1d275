/* C tests of RONN's async runs, batch queues and profilers: exactly one callback
 * per accepted run (under cancel, shutdown and freeing with runs in flight), on
 * a RONN thread, with the same outputs as a blocking run; QUEUE_FULL, close with
 * and without drain; profilers attached to sessions and to single runs; owned
 * buffers; NULL and stale arguments. Built with -Wall -Wextra -Werror and run
 * under AddressSanitizer.
 *   test_async MODEL.onnx INPUTS.npy   (a model with one input [N, F] and a symbolic N) */
#include <ronn/ronn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "check.h"
#include "npy.h"

static const char *MODEL;
static npy_f32 INPUTS;
static const char *IN_NAME; /* borrowed from SESSION's metadata */
static ronn_session *SESSION;

/* One record per async run: how often its callback ran and what it got. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;
    ronn_status status;
    size_t n_outputs;
    pthread_t thread;
    float first_output[16 * 10];
    size_t first_bytes;
} record;

static void record_init(record *r) {
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
}
static void record_destroy(record *r) {
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

static void on_done(void *user_data, ronn_status status, const char *message, ronn_tensor *const *outputs,
                    size_t n_outputs) {
    record *r = (record *)user_data;
    size_t i;
    pthread_mutex_lock(&r->lock);
    r->calls++;
    r->status = status;
    r->n_outputs = n_outputs;
    r->thread = pthread_self();
    if (status == RONN_STATUS_OK && n_outputs > 0) {
        const void *d;
        size_t bytes = 0;
        if (ronn_tensor_data(outputs[0], &d) == RONN_STATUS_OK && ronn_tensor_size(outputs[0], NULL, &bytes) == RONN_STATUS_OK &&
            bytes <= sizeof r->first_output) {
            memcpy(r->first_output, d, bytes);
            r->first_bytes = bytes;
        }
    }
    if (status != RONN_STATUS_OK && (message == NULL || message[0] == '\0')) r->status = RONN_STATUS_INTERNAL;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    /* The outputs are ours now. */
    for (i = 0; i < n_outputs; i++) ronn_tensor_free(outputs[i]);
}

/* Waits (up to `ms`) until the record's callback has run `want` times; returns its call count. */
static int await_calls_for(record *r, int want, long ms) {
    struct timespec deadline;
    int calls;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (r->calls < want) {
        if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) != 0) break;
    }
    calls = r->calls;
    pthread_mutex_unlock(&r->lock);
    return calls;
}

/* Up to 30 s: callbacks that must come. */
static int await_calls(record *r, int want) { return await_calls_for(r, want, 30000); }

static void sleep_ms(long ms) {
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

static ronn_completion completion_for(record *r) {
    ronn_completion c;
    c.struct_size = sizeof c;
    c.callback = on_done;
    c.user_data = r;
    return c;
}

/* `rows` rows of the sample input (repeated as needed), borrowed: the caller frees data and tensor. */
static ronn_tensor *input_rows(size_t rows, float **data) {
    size_t f = (size_t)INPUTS.shape[1], i;
    int64_t shape[2];
    ronn_tensor *t = NULL;
    *data = (float *)malloc(rows * f * sizeof(float));
    for (i = 0; i < rows; i++) memcpy(*data + i * f, INPUTS.data + (i % (size_t)INPUTS.shape[0]) * f, f * sizeof(float));
    shape[0] = (int64_t)rows;
    shape[1] = (int64_t)f;
    OK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, shape, 2, *data, rows * f * sizeof(float), NULL, NULL, &t));
    return t;
}

static ronn_status submit(const ronn_session *s, const ronn_tensor *x, record *r, ronn_request **req) {
    const char *names[1];
    const ronn_tensor *ins[1];
    ronn_completion c = completion_for(r);
    names[0] = IN_NAME;
    ins[0] = x;
    return ronn_session_run_async(s, NULL, names, ins, 1, NULL, 0, &c, req);
}

static void test_async_matches_run(void) {
    ronn_tensor *x = NULL, *ref[1] = {NULL};
    ronn_request *req = NULL;
    record r;
    const char *names[1];
    const ronn_tensor *ins[1];
    const void *want;
    size_t bytes = 0, n_out = 0;
    ronn_value_info o0 = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    float *data;
    record_init(&r);
    x = input_rows(16, &data);
    names[0] = IN_NAME;
    ins[0] = x;
    OK(ronn_session_output_info(SESSION, 0, &o0));
    OK(ronn_session_output_count(SESSION, &n_out));
    OK(ronn_session_run(SESSION, NULL, names, ins, 1, &o0.name, ref, 1));
    OK(ronn_tensor_data(ref[0], &want));
    OK(ronn_tensor_size(ref[0], NULL, &bytes));

    OK(submit(SESSION, x, &r, &req));
    ronn_tensor_free(x); /* input handles may go right after submission */
    OK(ronn_request_wait(req, -1));
    /* wait returns after the callback returned */
    EXPECT(r.calls == 1);
    EXPECT(r.status == RONN_STATUS_OK);
    EXPECT(r.n_outputs == n_out);
    EXPECT(!pthread_equal(r.thread, pthread_self()));
    EXPECT(r.first_bytes == bytes && memcmp(r.first_output, want, bytes) == 0);
    OK(ronn_request_wait(req, 0)); /* done: answers at once, again */
    OK(ronn_request_cancel(req));  /* cancelling a finished run does nothing */
    EXPECT(await_calls_for(&r, 2, 50) == 1); /* no second callback */
    ronn_request_free(req);
    EXPECT_STATUS(ronn_request_wait(req, 0), RONN_STATUS_INVALID_HANDLE);
    ronn_tensor_free(ref[0]);
    free(data);
    record_destroy(&r);
}

static void test_async_errors(void) {
    ronn_tensor *x = NULL, *wrong = NULL;
    ronn_request *req = NULL;
    record r;
    float *data;
    const char *names[1];
    const char *bad_names[1] = {"no_such_input"};
    const char *bad_out[1] = {"no_such_output"};
    const ronn_tensor *ins[1];
    int64_t shape[2] = {2, 3};
    ronn_completion c;
    record_init(&r);
    c = completion_for(&r);
    x = input_rows(2, &data);
    names[0] = IN_NAME;
    ins[0] = x;

    /* Refused at submission: the callback never runs, nothing is written. */
    EXPECT_STATUS(ronn_session_run_async(NULL, NULL, names, ins, 1, NULL, 0, &c, &req), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_run_async(SESSION, NULL, names, ins, 1, NULL, 0, NULL, &req), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_run_async(SESSION, NULL, NULL, ins, 1, NULL, 0, &c, &req), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_run_async(SESSION, NULL, names, NULL, 1, NULL, 0, &c, &req), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_run_async(SESSION, NULL, names, ins, 1, bad_out, 1, &c, &req), RONN_STATUS_NOT_FOUND);
    c.callback = NULL;
    EXPECT_STATUS(ronn_session_run_async(SESSION, NULL, names, ins, 1, NULL, 0, &c, &req), RONN_STATUS_NULL_POINTER);
    c = completion_for(&r);
    c.struct_size = 4;
    EXPECT_STATUS(ronn_session_run_async(SESSION, NULL, names, ins, 1, NULL, 0, &c, &req),
                  RONN_STATUS_INVALID_ARGUMENT);
    c = completion_for(&r);
    EXPECT(req == NULL);
    sleep_ms(20);
    EXPECT(r.calls == 0);

    /* Accepted, then failed: the callback brings the error, once. */
    EXPECT(ronn_session_run_async(SESSION, NULL, bad_names, ins, 1, NULL, 0, &c, &req) == RONN_STATUS_OK);
    EXPECT_STATUS(ronn_request_wait(req, -1), RONN_STATUS_NOT_FOUND);
    EXPECT(strstr(ronn_last_error_message(), "no_such_input") != NULL);
    EXPECT(r.calls == 1 && r.status == RONN_STATUS_NOT_FOUND && r.n_outputs == 0);
    ronn_request_free(req);
    req = NULL;

    OK(ronn_tensor_new(RONN_DTYPE_INT64, shape, 2, &wrong));
    ins[0] = wrong;
    OK(ronn_session_run_async(SESSION, NULL, names, ins, 1, NULL, 0, &c, NULL)); /* no request handle wanted */
    EXPECT(await_calls(&r, 2) == 2);
    EXPECT(r.status == RONN_STATUS_TYPE_MISMATCH);

    /* NULL and stale request handles. */
    EXPECT_STATUS(ronn_request_wait(NULL, 0), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_request_cancel(NULL), RONN_STATUS_NULL_POINTER);
    ronn_request_free(NULL);
    EXPECT_STATUS(ronn_request_wait((ronn_request *)SESSION, 0), RONN_STATUS_INVALID_HANDLE);
    ronn_tensor_free(wrong);
    ronn_tensor_free(x);
    free(data);
    record_destroy(&r);
}

#define MANY 24

/* Runs queued on a one-thread session, all cancelled at once: every callback comes
 * exactly once, with CANCELLED or (for runs already done) OK. */
static void test_cancel(void) {
    ronn_session_options *opts = NULL;
    ronn_session *s = NULL;
    ronn_tensor *x;
    ronn_request *reqs[MANY];
    record recs[MANY];
    float *data;
    int i, cancelled = 0;
    OK(ronn_session_options_new(&opts));
    OK(ronn_session_options_set_num_threads(opts, 1));
    OK(ronn_session_new(NULL, MODEL, opts, &s));
    x = input_rows(4096, &data);
    for (i = 0; i < MANY; i++) {
        record_init(&recs[i]);
        reqs[i] = NULL;
        OK(submit(s, x, &recs[i], &reqs[i]));
    }
    for (i = 0; i < MANY; i++) OK(ronn_request_cancel(reqs[i]));
    for (i = 0; i < MANY; i++) {
        ronn_status st = ronn_request_wait(reqs[i], -1);
        EXPECT(st == RONN_STATUS_OK || st == RONN_STATUS_CANCELLED);
        EXPECT(recs[i].calls == 1);
        EXPECT(recs[i].status == st);
        if (st == RONN_STATUS_CANCELLED) {
            cancelled++;
            EXPECT(recs[i].n_outputs == 0);
        }
        ronn_request_free(reqs[i]);
    }
    EXPECT(cancelled > 0); /* 24 runs of 4096 rows on one thread cannot all be done already */
    sleep_ms(20);
    for (i = 0; i < MANY; i++) {
        EXPECT(recs[i].calls == 1);
        record_destroy(&recs[i]);
    }
    ronn_tensor_free(x);
    free(data);
    ronn_session_free(s);
    ronn_session_options_free(opts);
}

/* Shutdown with work in flight: the request handles, the inputs and the session are
 * all freed right after submission; every run still ends with exactly one callback. */
static void test_free_with_runs_in_flight(void) {
    ronn_session *s = NULL;
    ronn_tensor *x;
    ronn_request *req;
    record recs[MANY];
    float *data;
    int i;
    OK(ronn_session_new(NULL, MODEL, NULL, &s));
    x = input_rows(512, &data);
    for (i = 0; i < MANY; i++) {
        record_init(&recs[i]);
        req = NULL;
        OK(submit(s, x, &recs[i], &req));
        if (i % 2 == 0) OK(ronn_request_cancel(req));
        ronn_request_free(req);
    }
    ronn_tensor_free(x);
    ronn_session_free(s);
    for (i = 0; i < MANY; i++) {
        EXPECT(await_calls(&recs[i], 1) == 1);
        EXPECT(recs[i].status == RONN_STATUS_OK || recs[i].status == RONN_STATUS_CANCELLED);
    }
    sleep_ms(20);
    for (i = 0; i < MANY; i++) {
        EXPECT(recs[i].calls == 1);
        record_destroy(&recs[i]);
    }
    free(data); /* borrowed memory may go once every callback has started */
}

/* ---- batch queues ---------------------------------------------------------- */

static ronn_status queue_submit(const ronn_batch_queue *q, const ronn_tensor *x, record *r, ronn_request **req) {
    const char *names[1];
    const ronn_tensor *ins[1];
    ronn_completion c = completion_for(r);
    names[0] = IN_NAME;
    ins[0] = x;
    return ronn_batch_queue_submit(q, names, ins, 1, NULL, 0, &c, req);
}

static void test_batch_static(void) {
    ronn_batch_config cfg;
    ronn_batch_stats st;
    ronn_batch_queue *q = NULL;
    ronn_tensor *x[4], *all, *ref[1] = {NULL};
    float *data[4], *all_data;
    record recs[4];
    const char *names[1];
    const ronn_tensor *ins[1];
    ronn_value_info o0 = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    const float *want;
    int i;
    OK(ronn_batch_config_default(&cfg));
    EXPECT(cfg.struct_size == sizeof cfg && cfg.strategy == RONN_BATCH_DYNAMIC && cfg.max_pending > 0);
    cfg.strategy = RONN_BATCH_STATIC;
    cfg.max_batch = 4;
    OK(ronn_batch_queue_new(SESSION, &cfg, &q));
    /* Reference: the 4 rows in one blocking run. */
    all = input_rows(4, &all_data);
    names[0] = IN_NAME;
    ins[0] = all;
    OK(ronn_session_output_info(SESSION, 0, &o0));
    OK(ronn_session_run(SESSION, NULL, names, ins, 1, &o0.name, ref, 1));
    OK(ronn_tensor_data(ref[0], (const void **)&want));
    for (i = 0; i < 4; i++) {
        size_t f = (size_t)INPUTS.shape[1];
        int64_t shape[2];
        shape[0] = 1;
        shape[1] = (int64_t)f;
        record_init(&recs[i]);
        data[i] = (float *)malloc(f * sizeof(float));
        memcpy(data[i], all_data + (size_t)i * f, f * sizeof(float));
        OK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, shape, 2, data[i], f * sizeof(float), NULL, NULL, &x[i]));
        OK(queue_submit(q, x[i], &recs[i], NULL));
    }
    for (i = 0; i < 4; i++) {
        size_t cols = 10;
        EXPECT(await_calls(&recs[i], 1) == 1);
        EXPECT(recs[i].status == RONN_STATUS_OK);
        /* each request gets exactly its own row of the batched output */
        EXPECT(recs[i].first_bytes == cols * sizeof(float));
        EXPECT(memcmp(recs[i].first_output, want + (size_t)i * cols, cols * sizeof(float)) == 0);
    }
    st.struct_size = sizeof st;
    OK(ronn_batch_queue_stats(q, &st));
    EXPECT(st.requests == 4 && st.batches == 1 && st.average_batch_size == 4.0 && st.rejected == 0);
    ronn_batch_queue_free(q);
    for (i = 0; i < 4; i++) {
        ronn_tensor_free(x[i]);
        free(data[i]);
        record_destroy(&recs[i]);
    }
    ronn_tensor_free(ref[0]);
    ronn_tensor_free(all);
    free(all_data);
}

/* A full queue answers QUEUE_FULL at once; close without drain cancels the waiting
 * requests (each callback once), later submits answer SHUTTING_DOWN. */
static void test_batch_queue_full_and_close(void) {
    ronn_batch_config cfg;
    ronn_batch_stats st;
    ronn_batch_queue *q = NULL;
    ronn_tensor *x;
    ronn_request *req[3];
    float *data;
    record recs[5];
    int i;
    OK(ronn_batch_config_default(&cfg));
    cfg.strategy = RONN_BATCH_STATIC;
    cfg.max_batch = 1000; /* never fills */
    cfg.max_pending = 3;
    OK(ronn_batch_queue_new(SESSION, &cfg, &q));
    x = input_rows(1, &data);
    for (i = 0; i < 5; i++) record_init(&recs[i]);
    for (i = 0; i < 3; i++) OK(queue_submit(q, x, &recs[i], &req[i]));
    EXPECT_STATUS(queue_submit(q, x, &recs[3], NULL), RONN_STATUS_QUEUE_FULL);
    st.struct_size = sizeof st;
    OK(ronn_batch_queue_stats(q, &st));
    EXPECT(st.requests == 3 && st.rejected == 1 && st.queue_depth == 3 && st.batches == 0);
    EXPECT_STATUS(ronn_request_wait(req[0], 0), RONN_STATUS_TIMEOUT);
    OK(ronn_batch_queue_close(q, 0));
    for (i = 0; i < 3; i++) {
        EXPECT_STATUS(ronn_request_wait(req[i], -1), RONN_STATUS_CANCELLED);
        EXPECT(recs[i].calls == 1 && recs[i].status == RONN_STATUS_CANCELLED);
        ronn_request_free(req[i]);
    }
    EXPECT_STATUS(queue_submit(q, x, &recs[4], NULL), RONN_STATUS_SHUTTING_DOWN);
    OK(ronn_batch_queue_close(q, 1)); /* closing twice is fine */
    OK(ronn_batch_queue_stats(q, &st));
    EXPECT(st.cancelled == 3);
    sleep_ms(20);
    EXPECT(recs[3].calls == 0 && recs[4].calls == 0); /* refused submissions never call back */
    ronn_batch_queue_free(q);
    ronn_tensor_free(x);
    free(data);
    for (i = 0; i < 5; i++) record_destroy(&recs[i]);
}

/* Freeing a queue with requests waiting drains them: each callback once, with results. */
static void test_batch_free_drains(void) {
    ronn_batch_config cfg;
    ronn_batch_queue *q = NULL;
    ronn_tensor *x;
    float *data;
    record recs[6];
    int i;
    OK(ronn_batch_config_default(&cfg));
    cfg.strategy = RONN_BATCH_STATIC;
    cfg.max_batch = 1000;
    OK(ronn_batch_queue_new(SESSION, &cfg, &q));
    x = input_rows(2, &data);
    for (i = 0; i < 6; i++) {
        record_init(&recs[i]);
        OK(queue_submit(q, x, &recs[i], NULL));
    }
    ronn_tensor_free(x);
    ronn_batch_queue_free(q);
    for (i = 0; i < 6; i++) {
        EXPECT(await_calls(&recs[i], 1) == 1);
        EXPECT(recs[i].status == RONN_STATUS_OK && recs[i].first_bytes == 2 * 10 * sizeof(float));
        record_destroy(&recs[i]);
    }
    free(data);
}

#define FEEDERS 4
#define PER_FEEDER 40

typedef struct {
    ronn_batch_queue *q;
    ronn_tensor *x;
    record *recs;
    int refused;
} feeder_arg;

static void *feeder(void *p) {
    feeder_arg *a = (feeder_arg *)p;
    int i;
    for (i = 0; i < PER_FEEDER; i++)
        if (queue_submit(a->q, a->x, &a->recs[i], NULL) != RONN_STATUS_OK) a->refused++;
    return NULL;
}

/* Several threads feed a dynamic queue: every accepted request is answered once. */
static void test_batch_threads(void) {
    ronn_batch_config cfg;
    ronn_batch_stats st;
    ronn_batch_queue *q = NULL;
    ronn_tensor *x;
    float *data;
    static record recs[FEEDERS][PER_FEEDER];
    feeder_arg args[FEEDERS];
    pthread_t th[FEEDERS];
    int i, j;
    OK(ronn_batch_config_default(&cfg));
    cfg.max_batch = 16;
    cfg.max_delay_us = 500;
    OK(ronn_batch_queue_new(SESSION, &cfg, &q));
    x = input_rows(1, &data);
    for (i = 0; i < FEEDERS; i++) {
        for (j = 0; j < PER_FEEDER; j++) record_init(&recs[i][j]);
        args[i].q = q;
        args[i].x = x;
        args[i].recs = recs[i];
        args[i].refused = 0;
        EXPECT(pthread_create(&th[i], NULL, feeder, &args[i]) == 0);
    }
    for (i = 0; i < FEEDERS; i++) {
        EXPECT(pthread_join(th[i], NULL) == 0);
        EXPECT(args[i].refused == 0);
    }
    OK(ronn_batch_queue_close(q, 1));
    for (i = 0; i < FEEDERS; i++)
        for (j = 0; j < PER_FEEDER; j++) {
            EXPECT(await_calls(&recs[i][j], 1) == 1);
            EXPECT(recs[i][j].status == RONN_STATUS_OK);
        }
    st.struct_size = sizeof st;
    OK(ronn_batch_queue_stats(q, &st));
    EXPECT(st.requests == FEEDERS * PER_FEEDER && st.batches >= 1 && st.batches <= FEEDERS * PER_FEEDER);
    ronn_batch_queue_free(q);
    sleep_ms(20);
    for (i = 0; i < FEEDERS; i++)
        for (j = 0; j < PER_FEEDER; j++) {
            EXPECT(recs[i][j].calls == 1);
            record_destroy(&recs[i][j]);
        }
    ronn_tensor_free(x);
    free(data);
}

static void test_batch_arguments(void) {
    ronn_batch_config cfg;
    ronn_batch_stats st;
    ronn_batch_queue *q = NULL;
    record r;
    ronn_completion c;
    record_init(&r);
    c = completion_for(&r);
    EXPECT_STATUS(ronn_batch_config_default(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_batch_queue_new(NULL, NULL, &q), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_batch_queue_new(SESSION, NULL, NULL), RONN_STATUS_NULL_POINTER);
    OK(ronn_batch_config_default(&cfg));
    cfg.strategy = 7;
    EXPECT_STATUS(ronn_batch_queue_new(SESSION, &cfg, &q), RONN_STATUS_INVALID_ARGUMENT);
    OK(ronn_batch_config_default(&cfg));
    cfg.max_batch = 0;
    EXPECT_STATUS(ronn_batch_queue_new(SESSION, &cfg, &q), RONN_STATUS_INVALID_ARGUMENT);
    OK(ronn_batch_config_default(&cfg));
    cfg.struct_size = 4;
    EXPECT_STATUS(ronn_batch_queue_new(SESSION, &cfg, &q), RONN_STATUS_INVALID_ARGUMENT);
    EXPECT(q == NULL);
    EXPECT_STATUS(ronn_batch_queue_submit(NULL, NULL, NULL, 0, NULL, 0, &c, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_batch_queue_flush(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_batch_queue_close(NULL, 1), RONN_STATUS_NULL_POINTER);
    st.struct_size = sizeof st;
    EXPECT_STATUS(ronn_batch_queue_stats(NULL, &st), RONN_STATUS_NULL_POINTER);
    ronn_batch_queue_free(NULL);
    OK(ronn_batch_queue_new(SESSION, NULL, &q));
    EXPECT_STATUS(ronn_batch_queue_submit(q, NULL, NULL, 0, NULL, 0, NULL, NULL), RONN_STATUS_NULL_POINTER);
    /* a request without its input is refused at once */
    EXPECT(ronn_batch_queue_submit(q, NULL, NULL, 0, NULL, 0, &c, NULL) != RONN_STATUS_OK);
    EXPECT_STATUS(ronn_batch_queue_stats(q, NULL), RONN_STATUS_NULL_POINTER);
    OK(ronn_batch_queue_flush(q));
    ronn_batch_queue_free(q);
    EXPECT_STATUS(ronn_batch_queue_flush(q), RONN_STATUS_INVALID_HANDLE);
    EXPECT(r.calls == 0);
    record_destroy(&r);
}

/* ---- profilers ------------------------------------------------------------- */

static void run_once(const ronn_session *s, const ronn_run_options *ro) {
    ronn_tensor *x, *out[1] = {NULL};
    const char *names[1];
    const ronn_tensor *ins[1];
    ronn_value_info o0 = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    float *data;
    x = input_rows(4, &data);
    names[0] = IN_NAME;
    ins[0] = x;
    OK(ronn_session_output_info(s, 0, &o0));
    OK(ronn_session_run(s, ro, names, ins, 1, &o0.name, out, 1));
    ronn_tensor_free(out[0]);
    ronn_tensor_free(x);
    free(data);
}

static void test_profiler(void) {
    ronn_profiler_config cfg;
    ronn_profiler *p = NULL, *small = NULL;
    ronn_session_options *opts = NULL;
    ronn_session *s = NULL;
    ronn_run_options *ro = NULL;
    ronn_buffer trace = {NULL, 0}, report = {NULL, 0}, copy;
    size_t events = 0, later = 0;
    uint64_t dropped = 99;
    FILE *f;

    OK(ronn_profiler_config_default(&cfg));
    EXPECT(cfg.start_active == 1 && cfg.categories == (RONN_PROFILE_OPS | RONN_PROFILE_MEMORY | RONN_PROFILE_TRANSFER));
    cfg.start_active = 0;
    OK(ronn_profiler_new(&cfg, &p));
    OK(ronn_session_options_new(&opts));
    OK(ronn_session_options_set_profiler(opts, p));
    OK(ronn_session_new(NULL, MODEL, opts, &s));
    ronn_session_options_free(opts);

    run_once(s, NULL);
    OK(ronn_profiler_counts(p, &events, &dropped));
    EXPECT(events == 0 && dropped == 0); /* not started yet */
    OK(ronn_profiler_start(p));
    run_once(s, NULL);
    run_once(s, NULL);
    OK(ronn_profiler_stop(p));
    OK(ronn_profiler_counts(p, &events, NULL));
    EXPECT(events >= 2 * 5); /* the digits model has 5 nodes */
    run_once(s, NULL);
    OK(ronn_profiler_counts(p, &later, NULL));
    EXPECT(later == events); /* stopped: nothing more */

    OK(ronn_profiler_export_chrome_trace(p, &trace));
    EXPECT(trace.data != NULL && trace.len > 0 && trace.data[trace.len] == '\0');
    EXPECT(strstr((const char *)trace.data, "\"traceEvents\"") != NULL);
    EXPECT(strstr((const char *)trace.data, "Gemm") != NULL);
    OK(ronn_profiler_export_report(p, &report));
    EXPECT(strstr((const char *)report.data, "\"entries\"") != NULL);
    OK(ronn_profiler_write_chrome_trace(p, "test_async_trace.json"));
    f = fopen("test_async_trace.json", "rb");
    EXPECT(f != NULL);
    if (f) {
        /* the file holds the same JSON as the buffer */
        char *file = (char *)malloc(trace.len + 1);
        size_t got = fread(file, 1, trace.len + 1, f);
        fclose(f);
        EXPECT(got == trace.len && memcmp(file, trace.data, trace.len) == 0);
        free(file);
        remove("test_async_trace.json");
    }
    EXPECT_STATUS(ronn_profiler_write_chrome_trace(p, "/no/such/dir/trace.json"), RONN_STATUS_IO);
    copy = trace;
    OK(ronn_buffer_free(&trace));
    EXPECT(trace.data == NULL && trace.len == 0);
    OK(ronn_buffer_free(&trace)); /* a freed (NULL) buffer is fine */
    EXPECT_STATUS(ronn_buffer_free(&copy), RONN_STATUS_INVALID_ARGUMENT); /* freed twice: refused */
    OK(ronn_buffer_free(&report));
    OK(ronn_buffer_free(NULL));
    OK(ronn_profiler_clear(p));
    OK(ronn_profiler_counts(p, &events, NULL));
    EXPECT(events == 0);

    /* A profiler on run options sees just those runs; a full one counts drops. */
    OK(ronn_profiler_config_default(&cfg));
    cfg.max_events = 2;
    OK(ronn_profiler_new(&cfg, &small));
    OK(ronn_run_options_new(&ro));
    OK(ronn_run_options_set_profiler(ro, small));
    ronn_profiler_free(small); /* the run options keep it alive */
    run_once(s, ro);
    OK(ronn_run_options_set_profiler(ro, NULL));
    run_once(s, ro);
    OK(ronn_profiler_counts(p, &events, NULL));
    EXPECT(events == 0); /* the session's profiler is stopped */
    EXPECT_STATUS(ronn_profiler_counts(small, &events, &dropped), RONN_STATUS_INVALID_HANDLE);

    /* NULL arguments */
    EXPECT_STATUS(ronn_profiler_config_default(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_new(NULL, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_start(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_stop(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_clear(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_counts(NULL, &events, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_export_chrome_trace(NULL, &trace), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_export_chrome_trace(p, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_export_report(p, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_profiler_write_chrome_trace(p, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_run_options_new(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_run_options_set_profiler(NULL, p), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set_profiler(NULL, p), RONN_STATUS_NULL_POINTER);
    OK(ronn_profiler_config_default(&cfg));
    cfg.categories = 64;
    EXPECT_STATUS(ronn_profiler_new(&cfg, &small), RONN_STATUS_INVALID_ARGUMENT);
    ronn_profiler_free(NULL);
    ronn_run_options_free(NULL);

    ronn_run_options_free(ro);
    ronn_profiler_free(p); /* the session keeps it alive */
    run_once(s, NULL);
    ronn_session_free(s);
}

/* The drop counter, on its own small profiler kept by the test. */
static void test_profiler_drops(void) {
    ronn_profiler_config cfg;
    ronn_profiler *p = NULL;
    ronn_run_options *ro = NULL;
    size_t events = 0;
    uint64_t dropped = 0;
    OK(ronn_profiler_config_default(&cfg));
    cfg.max_events = 2;
    OK(ronn_profiler_new(&cfg, &p));
    OK(ronn_run_options_new(&ro));
    OK(ronn_run_options_set_profiler(ro, p));
    run_once(SESSION, ro);
    OK(ronn_profiler_counts(p, &events, &dropped));
    EXPECT(events == 2 && dropped >= 3);
    ronn_run_options_free(ro);
    ronn_profiler_free(p);
}

int main(int argc, char **argv) {
    ronn_value_info in = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    size_t live = 99;
    if (argc < 3) {
        fprintf(stderr, "usage: test_async MODEL.onnx INPUTS.npy\n");
        return 2;
    }
    MODEL = argv[1];
    if (npy_read_f32(argv[2], &INPUTS) != 0 || INPUTS.rank != 2) {
        fprintf(stderr, "cannot read %s as a 2-D float32 array\n", argv[2]);
        return 2;
    }
    OK(ronn_live_handle_count(&live));
    EXPECT(live == 0);
    OK(ronn_session_new(NULL, MODEL, NULL, &SESSION));
    OK(ronn_session_input_info(SESSION, 0, &in));
    IN_NAME = in.name;

    test_async_matches_run();
    test_async_errors();
    test_cancel();
    test_free_with_runs_in_flight();
    test_batch_static();
    test_batch_queue_full_and_close();
    test_batch_free_drains();
    test_batch_threads();
    test_batch_arguments();
    test_profiler();
    test_profiler_drops();

    ronn_session_free(SESSION);
    sleep_ms(50); /* the last callbacks' output handles are freed inside the callbacks */
    OK(ronn_live_handle_count(&live));
    EXPECT(live == 0);
    free(INPUTS.data);
    printf("test_async: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
