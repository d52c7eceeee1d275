/* C tests of the RONN C ABI: NULL and stale handles, free orders, borrowed
 * memory with deleters, dtype/shape/name errors, preallocated outputs, memory
 * pools. Built with -Wall -Wextra -Werror and run under AddressSanitizer.
 *   test_capi MODEL.onnx INPUTS.npy */
#include <ronn/ronn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "npy.h"


static const char *MODEL;
static npy_f32 INPUTS;

static int deleter_calls = 0;
static void count_deleter(void *user_data, void *data) {
    EXPECT(user_data == (void *)&deleter_calls);
    (void)data;
    deleter_calls++;
}
static void free_deleter(void *user_data, void *data) {
    (void)user_data;
    free(data);
}

static void test_versions(void) {
    EXPECT(ronn_api_version() == RONN_API_VERSION);
    {
        char want[32];
        snprintf(want, sizeof want, "%d.%d.%d", RONN_VERSION_MAJOR, RONN_VERSION_MINOR, RONN_VERSION_PATCH);
        EXPECT(strcmp(ronn_version(), want) == 0);
    }
    EXPECT(strcmp(ronn_status_str(RONN_STATUS_OK), "OK") == 0);
    EXPECT(strcmp(ronn_status_str(RONN_STATUS_INVALID_HANDLE), "INVALID_HANDLE") == 0);
    EXPECT(strcmp(ronn_status_str(9999), "UNKNOWN") == 0);
}

static void test_null_arguments(void) {
    ronn_session_options *opts = NULL;
    ronn_tensor *t = NULL;
    ronn_session *s = NULL;
    ronn_memory_pool *pool = NULL;
    int64_t shape[2] = {2, 3};
    float buf[6] = {0};
    const int64_t *sp;
    size_t n;
    uint32_t u;
    const void *cp;
    void *p;
    ronn_value_info vi = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    ronn_pool_stats st;
    st.struct_size = sizeof st;

    EXPECT_STATUS(ronn_env_new(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT(strstr(ronn_last_error_message(), "out") != NULL);
    EXPECT_STATUS(ronn_session_options_new(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set_optimization_level(NULL, 1), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set_provider(NULL, "cpu"), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set_num_threads(NULL, 1), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set_memory_pool(NULL, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set(NULL, "a", "b"), RONN_STATUS_NULL_POINTER);
    OK(ronn_session_options_new(&opts));
    EXPECT_STATUS(ronn_session_options_set_provider(opts, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set_memory_pool(opts, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set(opts, NULL, "1"), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_options_set(opts, "num_threads", NULL), RONN_STATUS_NULL_POINTER);

    EXPECT_STATUS(ronn_pool_config_default(NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_memory_pool_new(NULL, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_memory_pool_stats(NULL, &st), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_memory_pool_trim(NULL, 0, NULL), RONN_STATUS_NULL_POINTER);
    OK(ronn_memory_pool_new(NULL, &pool));
    EXPECT_STATUS(ronn_memory_pool_stats(pool, NULL), RONN_STATUS_NULL_POINTER);

    EXPECT_STATUS(ronn_tensor_new(RONN_DTYPE_FLOAT32, shape, 2, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_new(RONN_DTYPE_FLOAT32, NULL, 2, &t), RONN_STATUS_NULL_POINTER);
    EXPECT(t == NULL); /* a failed call writes nothing */
    EXPECT_STATUS(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, shape, 2, NULL, sizeof buf, NULL, NULL, &t),
                  RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, NULL, 2, buf, sizeof buf, NULL, NULL, &t),
                  RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, shape, 2, buf, sizeof buf, NULL, NULL, NULL),
                  RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_dtype(NULL, &u), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_shape(NULL, &sp, &n), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_size(NULL, &n, &n), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_data(NULL, &cp), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_data_mut(NULL, &p), RONN_STATUS_NULL_POINTER);
    OK(ronn_tensor_new(RONN_DTYPE_FLOAT32, shape, 2, &t));
    EXPECT_STATUS(ronn_tensor_dtype(t, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_shape(t, NULL, &n), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_shape(t, &sp, NULL), RONN_STATUS_NULL_POINTER);
    OK(ronn_tensor_size(t, NULL, NULL));
    EXPECT_STATUS(ronn_tensor_data(t, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_tensor_data_mut(t, NULL), RONN_STATUS_NULL_POINTER);

    EXPECT_STATUS(ronn_session_new(NULL, NULL, NULL, &s), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_new(NULL, MODEL, NULL, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_new_from_memory(NULL, NULL, 10, NULL, &s), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_input_count(NULL, &n), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_output_count(NULL, &n), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_input_info(NULL, 0, &vi), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_output_info(NULL, 0, &vi), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_memory_pool(NULL, &pool), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_run(NULL, NULL, NULL, NULL, 0, NULL, NULL, 0), RONN_STATUS_NULL_POINTER);
    OK(ronn_session_new(NULL, MODEL, NULL, &s));
    EXPECT(s != NULL);
    EXPECT_STATUS(ronn_session_input_count(s, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_input_info(s, 0, NULL), RONN_STATUS_NULL_POINTER);
    EXPECT_STATUS(ronn_session_memory_pool(s, NULL), RONN_STATUS_NULL_POINTER);
    {
        const char *name = "x";
        const ronn_tensor *in[1];
        in[0] = t;
        EXPECT_STATUS(ronn_session_run(s, NULL, NULL, in, 1, NULL, NULL, 0), RONN_STATUS_NULL_POINTER);
        EXPECT_STATUS(ronn_session_run(s, NULL, &name, NULL, 1, NULL, NULL, 0), RONN_STATUS_NULL_POINTER);
        EXPECT_STATUS(ronn_session_run(s, NULL, &name, in, 1, NULL, NULL, 1), RONN_STATUS_NULL_POINTER);
    }
    /* every _free accepts NULL */
    ronn_env_free(NULL);
    ronn_session_options_free(NULL);
    ronn_memory_pool_free(NULL);
    ronn_tensor_free(NULL);
    ronn_session_free(NULL);

    ronn_session_free(s);
    ronn_tensor_free(t);
    ronn_memory_pool_free(pool);
    ronn_session_options_free(opts);
}

static void test_stale_and_wrong_handles(void) {
    ronn_tensor *t = NULL;
    ronn_env *env = NULL;
    int64_t shape[1] = {4};
    uint32_t u;
    size_t n;
    OK(ronn_tensor_new(RONN_DTYPE_INT64, shape, 1, &t));
    OK(ronn_env_new(&env));
    /* a handle of another type */
    EXPECT_STATUS(ronn_session_input_count((const ronn_session *)t, &n), RONN_STATUS_INVALID_HANDLE);
    EXPECT_STATUS(ronn_tensor_dtype((const ronn_tensor *)env, &u), RONN_STATUS_INVALID_HANDLE);
    EXPECT_STATUS(ronn_session_new(env, MODEL, (const ronn_session_options *)t, NULL), RONN_STATUS_INVALID_HANDLE);
    /* garbage that is not a handle at all */
    EXPECT_STATUS(ronn_tensor_dtype((const ronn_tensor *)(uintptr_t)0xdeadbeefu, &u), RONN_STATUS_INVALID_HANDLE);
    OK(ronn_tensor_dtype(t, &u));
    EXPECT(u == RONN_DTYPE_INT64);
    ronn_tensor_free(t);
    /* stale: used and freed again after free */
    EXPECT_STATUS(ronn_tensor_dtype(t, &u), RONN_STATUS_INVALID_HANDLE);
    EXPECT(strstr(ronn_last_error_message(), "ronn_tensor") != NULL);
    ronn_tensor_free(t);
    ronn_env_free(env);
    ronn_env_free(env);
    /* a new handle never equals a freed one */
    {
        ronn_tensor *t2 = NULL;
        OK(ronn_tensor_new(RONN_DTYPE_INT64, shape, 1, &t2));
        EXPECT(t2 != t);
        EXPECT_STATUS(ronn_tensor_dtype(t, &u), RONN_STATUS_INVALID_HANDLE);
        ronn_tensor_free(t2);
    }
}

static void test_tensors(void) {
    int64_t shape[2] = {2, 3};
    int64_t neg[2] = {2, -3};
    float buf[6] = {1, 2, 3, 4, 5, 6};
    unsigned char bools[3] = {0, 1, 2};
    ronn_tensor *t = NULL;
    const int64_t *sp;
    size_t rank, count, bytes;
    const void *cp;
    void *p;

    EXPECT_STATUS(ronn_tensor_new(RONN_DTYPE_STRING, shape, 2, &t), RONN_STATUS_TYPE_MISMATCH);
    EXPECT_STATUS(ronn_tensor_new(77, shape, 2, &t), RONN_STATUS_TYPE_MISMATCH);
    EXPECT_STATUS(ronn_tensor_new(RONN_DTYPE_FLOAT32, neg, 2, &t), RONN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, shape, 2, buf, sizeof buf - 4, count_deleter,
                                           &deleter_calls, &t),
                  RONN_STATUS_SHAPE_MISMATCH);
    EXPECT_STATUS(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, shape, 1, (char *)buf + 1, 8, count_deleter,
                                           &deleter_calls, &t),
                  RONN_STATUS_INVALID_ARGUMENT); /* misaligned */
    {
        int64_t s3[1] = {3};
        EXPECT_STATUS(ronn_tensor_new_borrowed(RONN_DTYPE_BOOL, s3, 1, bools, 3, NULL, NULL, &t),
                      RONN_STATUS_INVALID_ARGUMENT);
    }
    EXPECT(deleter_calls == 0); /* failed calls never call the deleter */
    EXPECT(t == NULL);

    OK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, shape, 2, buf, sizeof buf, count_deleter, &deleter_calls, &t));
    OK(ronn_tensor_shape(t, &sp, &rank));
    EXPECT(rank == 2 && sp[0] == 2 && sp[1] == 3);
    OK(ronn_tensor_size(t, &count, &bytes));
    EXPECT(count == 6 && bytes == 24);
    OK(ronn_tensor_data(t, &cp));
    EXPECT(cp == (const void *)buf); /* no copy */
    EXPECT_STATUS(ronn_tensor_data_mut(t, &p), RONN_STATUS_INVALID_ARGUMENT); /* read-only */
    ronn_tensor_free(t);
    EXPECT(deleter_calls == 1);

    /* allocated: zero-filled and writable */
    OK(ronn_tensor_new(RONN_DTYPE_FLOAT64, shape, 2, &t));
    OK(ronn_tensor_data_mut(t, &p));
    EXPECT(((double *)p)[5] == 0.0);
    ((double *)p)[5] = 2.5;
    OK(ronn_tensor_data(t, &cp));
    EXPECT(((const double *)cp)[5] == 2.5);
    ronn_tensor_free(t);

    /* scalar (rank 0) and empty tensors */
    OK(ronn_tensor_new(RONN_DTYPE_INT32, NULL, 0, &t));
    OK(ronn_tensor_size(t, &count, NULL));
    EXPECT(count == 1);
    ronn_tensor_free(t);
    {
        int64_t z[2] = {0, 4};
        OK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, z, 2, NULL, 0, NULL, NULL, &t));
        OK(ronn_tensor_size(t, &count, &bytes));
        EXPECT(count == 0 && bytes == 0);
        ronn_tensor_free(t);
    }
}

static void test_options(void) {
    ronn_session_options *o = NULL;
    ronn_session *s = NULL;
    OK(ronn_session_options_new(&o));
    OK(ronn_session_options_set_optimization_level(o, 3));
    EXPECT_STATUS(ronn_session_options_set_optimization_level(o, 4), RONN_STATUS_INVALID_ARGUMENT);
    OK(ronn_session_options_set_provider(o, "cpu"));
    EXPECT_STATUS(ronn_session_options_set_provider(o, "tpu"), RONN_STATUS_INVALID_ARGUMENT);
    OK(ronn_session_options_set_num_threads(o, 1));
    OK(ronn_session_options_set(o, "optimization_level", "O1"));
    OK(ronn_session_options_set(o, "num_threads", "2"));
    OK(ronn_session_options_set(o, "memory_pool", "off"));
    EXPECT_STATUS(ronn_session_options_set(o, "num_threads", "many"), RONN_STATUS_INVALID_ARGUMENT);
    EXPECT_STATUS(ronn_session_options_set(o, "no_such_key", "1"), RONN_STATUS_NOT_FOUND);
    OK(ronn_session_new(NULL, MODEL, o, &s));
    {
        ronn_memory_pool *p = NULL;
        EXPECT_STATUS(ronn_session_memory_pool(s, &p), RONN_STATUS_NOT_FOUND); /* memory_pool = off */
        EXPECT(p == NULL);
    }
    ronn_session_free(s);
    /* a provider this build lacks is reported at session creation */
    OK(ronn_session_options_set_provider(o, "gpu"));
    s = NULL;
    EXPECT(ronn_session_new(NULL, MODEL, o, &s) != RONN_STATUS_OK);
    EXPECT(s == NULL);
    ronn_session_options_free(o);
    {
        ronn_session *bad = NULL;
        EXPECT_STATUS(ronn_session_new(NULL, "/nonexistent/model.onnx", NULL, &bad), RONN_STATUS_IO);
        EXPECT_STATUS(ronn_session_new_from_memory(NULL, "not a model", 11, NULL, &bad), RONN_STATUS_INVALID_MODEL);
        EXPECT(bad == NULL);
    }
}

/* Runs the model on the sample inputs; returns the status. */
static ronn_status run_digits(const ronn_session *s, const ronn_tensor *x, ronn_tensor **outs, size_t n_out,
                              const char **out_names) {
    const char *in_names[1];
    const ronn_tensor *ins[1];
    ronn_value_info vi = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    ronn_status st = ronn_session_input_info(s, 0, &vi);
    if (st != RONN_STATUS_OK) return st;
    in_names[0] = vi.name;
    ins[0] = x;
    return ronn_session_run(s, NULL, in_names, ins, 1, out_names, outs, n_out);
}

static void test_session_and_run(void) {
    ronn_env *env = NULL;
    ronn_session *s = NULL;
    ronn_tensor *x = NULL, *out[2] = {NULL, NULL};
    size_t n_in, n_out, i;
    ronn_value_info in = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    ronn_value_info o0 = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    const char *names[2];
    float *copy = (float *)malloc(INPUTS.count * sizeof(float));
    memcpy(copy, INPUTS.data, INPUTS.count * sizeof(float));

    OK(ronn_env_new(&env));
    OK(ronn_session_new(env, MODEL, NULL, &s));
    ronn_env_free(env); /* the session keeps its env alive */
    OK(ronn_session_input_count(s, &n_in));
    OK(ronn_session_output_count(s, &n_out));
    EXPECT(n_in == 1 && n_out >= 1 && n_out <= 2);
    OK(ronn_session_input_info(s, 0, &in));
    EXPECT(in.dtype == RONN_DTYPE_FLOAT32 && in.rank == 2 && in.name && strlen(in.name) > 0);
    EXPECT(in.rank == 2 && in.shape[1] == 64);
    if (in.shape[0] == -1) EXPECT(in.dim_names && in.dim_names[0] != NULL); /* symbolic batch */
    EXPECT_STATUS(ronn_session_input_info(s, 5, &in), RONN_STATUS_NOT_FOUND);
    {
        ronn_value_info small = {4, 0, NULL, 0, NULL, NULL};
        EXPECT_STATUS(ronn_session_input_info(s, 0, &small), RONN_STATUS_INVALID_ARGUMENT);
    }
    for (i = 0; i < n_out; i++) {
        ronn_value_info vi = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
        OK(ronn_session_output_info(s, i, &vi));
        names[i] = vi.name;
        if (i == 0) o0 = vi;
    }

    /* the input owns a malloc'd copy, released by its deleter */
    OK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, INPUTS.shape, INPUTS.rank, copy, INPUTS.count * sizeof(float),
                                free_deleter, NULL, &x));
    OK(run_digits(s, x, out, n_out, names));
    for (i = 0; i < n_out; i++) EXPECT(out[i] != NULL);
    {
        uint32_t dt;
        const int64_t *sp;
        size_t rank;
        OK(ronn_tensor_dtype(out[0], &dt));
        EXPECT(dt == o0.dtype);
        OK(ronn_tensor_shape(out[0], &sp, &rank));
        EXPECT(rank >= 1 && sp[0] == INPUTS.shape[0]);

        /* preallocated output of the right dtype/shape is written in place */
        {
            ronn_tensor *pre[1] = {NULL};
            const void *a, *b;
            size_t bytes;
            void *pre_data;
            OK(ronn_tensor_new(dt, sp, rank, &pre[0]));
            OK(ronn_tensor_data_mut(pre[0], &pre_data));
            OK(run_digits(s, x, pre, 1, names));
            OK(ronn_tensor_data(pre[0], &a));
            EXPECT(a == pre_data);
            OK(ronn_tensor_data(out[0], &b));
            OK(ronn_tensor_size(out[0], NULL, &bytes));
            EXPECT(memcmp(a, b, bytes) == 0);
            ronn_tensor_free(pre[0]);
        }
        /* wrong dtype / shape of a preallocated output */
        {
            ronn_tensor *pre[1] = {NULL};
            int64_t bad_shape[1] = {3};
            OK(ronn_tensor_new(dt == RONN_DTYPE_INT8 ? RONN_DTYPE_UINT8 : RONN_DTYPE_INT8, sp, rank, &pre[0]));
            EXPECT_STATUS(run_digits(s, x, pre, 1, names), RONN_STATUS_TYPE_MISMATCH);
            ronn_tensor_free(pre[0]);
            OK(ronn_tensor_new(dt, bad_shape, 1, &pre[0]));
            EXPECT_STATUS(run_digits(s, x, pre, 1, names), RONN_STATUS_SHAPE_MISMATCH);
            ronn_tensor_free(pre[0]);
        }
    }
    /* wrong input name, output name, dtype, shape */
    {
        const char *bad_in[1] = {"no_such_input"};
        const char *bad_out[1] = {"no_such_output"};
        const ronn_tensor *ins[1];
        ronn_tensor *o[1] = {NULL};
        ronn_tensor *wrong = NULL;
        int64_t shape_bad[2] = {2, 5};
        ins[0] = x;
        EXPECT_STATUS(ronn_session_run(s, NULL, bad_in, ins, 1, names, o, 1), RONN_STATUS_NOT_FOUND);
        EXPECT_STATUS(run_digits(s, x, o, 1, bad_out), RONN_STATUS_NOT_FOUND);
        EXPECT(o[0] == NULL);
        OK(ronn_tensor_new(RONN_DTYPE_INT32, INPUTS.shape, INPUTS.rank, &wrong));
        EXPECT_STATUS(run_digits(s, wrong, o, 1, names), RONN_STATUS_TYPE_MISMATCH);
        ronn_tensor_free(wrong);
        OK(ronn_tensor_new(RONN_DTYPE_FLOAT32, shape_bad, 2, &wrong));
        EXPECT_STATUS(run_digits(s, wrong, o, 1, names), RONN_STATUS_SHAPE_MISMATCH);
        ronn_tensor_free(wrong);
        EXPECT(o[0] == NULL);
        /* a handle of another type where run options go */
        EXPECT_STATUS(ronn_session_run(s, (const ronn_run_options *)x, NULL, NULL, 0, NULL, NULL, 0),
                      RONN_STATUS_INVALID_HANDLE);
    }
    /* free order: session first, then input, then outputs (still readable) */
    ronn_session_free(s);
    ronn_tensor_free(x);
    {
        const void *d;
        OK(ronn_tensor_data(out[0], &d));
    }
    for (i = 0; i < n_out; i++) ronn_tensor_free(out[i]);
}

/* Every order of freeing env, options, pool, session, input and output. */
static void test_free_orders(void) {
    int perm[6] = {0, 1, 2, 3, 4, 5};
    int n_perm = 0;
    /* iterate the 720 permutations with Heap's algorithm (iterative) */
    int c[6] = {0, 0, 0, 0, 0, 0};
    int k = 0;
    for (;;) {
        ronn_env *env = NULL;
        ronn_session_options *o = NULL;
        ronn_memory_pool *pool = NULL;
        ronn_session *s = NULL;
        ronn_tensor *x = NULL, *out[1] = {NULL};
        ronn_value_info vi = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
        const char *names[1];
        int before = deleter_calls, j;
        /* only a sample of permutations runs a model (each run costs ~ms under ASan) */
        int run = (n_perm % 24) == 0;
        OK(ronn_env_new(&env));
        OK(ronn_session_options_new(&o));
        OK(ronn_session_options_set_num_threads(o, 1));
        OK(ronn_memory_pool_new(NULL, &pool));
        OK(ronn_session_options_set_memory_pool(o, pool));
        OK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, INPUTS.shape, INPUTS.rank, INPUTS.data,
                                    INPUTS.count * sizeof(float), count_deleter, &deleter_calls, &x));
        if (run) {
            OK(ronn_session_new(env, MODEL, o, &s));
            OK(ronn_session_output_info(s, 0, &vi));
            names[0] = vi.name;
            OK(run_digits(s, x, out, 1, names));
        }
        for (j = 0; j < 6; j++) {
            switch (perm[j]) {
            case 0: ronn_env_free(env); break;
            case 1: ronn_session_options_free(o); break;
            case 2: ronn_memory_pool_free(pool); break;
            case 3: ronn_session_free(s); break;
            case 4: ronn_tensor_free(x); break;
            case 5: ronn_tensor_free(out[0]); break;
            }
        }
        EXPECT(deleter_calls == before + 1);
        n_perm++;
        /* next permutation */
        while (k < 6) {
            if (c[k] < k) {
                int a = (k % 2 == 0) ? 0 : c[k], tmp = perm[a];
                perm[a] = perm[k];
                perm[k] = tmp;
                c[k]++;
                k = 0;
                break;
            }
            c[k] = 0;
            k++;
        }
        if (k >= 6) break;
    }
    EXPECT(n_perm == 720);
}

static void test_memory_pool(void) {
    ronn_pool_config cfg;
    ronn_memory_pool *pool = NULL, *p2 = NULL;
    ronn_session_options *o = NULL;
    ronn_session *a = NULL, *b = NULL;
    ronn_tensor *x = NULL, *out[1] = {NULL};
    ronn_pool_stats st;
    size_t freed = 0;
    const char *names[1];
    ronn_value_info vi = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};

    OK(ronn_pool_config_default(&cfg));
    EXPECT(cfg.struct_size == sizeof cfg && cfg.max_total_bytes > 0);
    cfg.max_total_bytes = 64 << 20;
    cfg.min_buffer_bytes = 0;
    OK(ronn_memory_pool_new(&cfg, &pool));
    {
        ronn_pool_config bad = cfg;
        ronn_memory_pool *q = NULL;
        bad.struct_size = 4;
        EXPECT_STATUS(ronn_memory_pool_new(&bad, &q), RONN_STATUS_INVALID_ARGUMENT);
    }
    OK(ronn_session_options_new(&o));
    OK(ronn_session_options_set_num_threads(o, 1));
    OK(ronn_session_options_set_memory_pool(o, pool));
    OK(ronn_session_new(NULL, MODEL, o, &a));
    OK(ronn_session_new(NULL, MODEL, o, &b));
    OK(ronn_session_output_info(a, 0, &vi));
    names[0] = vi.name;
    OK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, INPUTS.shape, INPUTS.rank, INPUTS.data,
                                INPUTS.count * sizeof(float), NULL, NULL, &x));
    OK(run_digits(a, x, out, 1, names));
    ronn_tensor_free(out[0]);
    out[0] = NULL;
    OK(run_digits(b, x, out, 1, names));
    ronn_tensor_free(out[0]);
    st.struct_size = sizeof st;
    OK(ronn_memory_pool_stats(pool, &st));
    EXPECT(st.hits + st.misses > 0); /* both sessions drew from the one pool */
    EXPECT(st.hits > 0);
    /* the session's pool handle is the same pool */
    OK(ronn_session_memory_pool(b, &p2));
    {
        ronn_pool_stats st2;
        st2.struct_size = sizeof st2;
        OK(ronn_memory_pool_stats(p2, &st2));
        EXPECT(st2.hits == st.hits && st2.misses == st.misses);
    }
    OK(ronn_memory_pool_trim(pool, 0, &freed));
    OK(ronn_memory_pool_stats(pool, &st));
    EXPECT(st.bytes == 0 && st.buffers == 0);
    {
        ronn_pool_stats small;
        small.struct_size = 8;
        EXPECT_STATUS(ronn_memory_pool_stats(pool, &small), RONN_STATUS_INVALID_ARGUMENT);
    }
    ronn_memory_pool_free(pool);
    ronn_session_options_free(o);
    ronn_session_free(a);
    ronn_session_free(b);
    ronn_memory_pool_free(p2);
    ronn_tensor_free(x);
}

/* Many threads run one session on one shared input at once. */
typedef struct {
    const ronn_session *s;
    const ronn_tensor *x;
    const char *name;
    const void *want;
    size_t bytes;
    int bad;
} thread_arg;

static void *run_thread(void *p) {
    thread_arg *a = (thread_arg *)p;
    int i;
    for (i = 0; i < 20; i++) {
        ronn_tensor *out[1] = {NULL};
        const void *d;
        if (run_digits(a->s, a->x, out, 1, &a->name) != RONN_STATUS_OK ||
            ronn_tensor_data(out[0], &d) != RONN_STATUS_OK || memcmp(d, a->want, a->bytes) != 0)
            a->bad++;
        ronn_tensor_free(out[0]);
    }
    return NULL;
}

static void test_concurrent_runs(void) {
    ronn_session *s = NULL;
    ronn_tensor *x = NULL, *ref[1] = {NULL};
    ronn_value_info vi = {sizeof(ronn_value_info), 0, NULL, 0, NULL, NULL};
    pthread_t th[4];
    thread_arg args[4];
    const void *want;
    size_t bytes;
    int i;
    OK(ronn_session_new(NULL, MODEL, NULL, &s));
    OK(ronn_session_output_info(s, 0, &vi));
    OK(ronn_tensor_new_borrowed(RONN_DTYPE_FLOAT32, INPUTS.shape, INPUTS.rank, INPUTS.data,
                                INPUTS.count * sizeof(float), NULL, NULL, &x));
    OK(run_digits(s, x, ref, 1, &vi.name));
    OK(ronn_tensor_data(ref[0], &want));
    OK(ronn_tensor_size(ref[0], NULL, &bytes));
    for (i = 0; i < 4; i++) {
        args[i].s = s;
        args[i].x = x;
        args[i].name = vi.name;
        args[i].want = want;
        args[i].bytes = bytes;
        args[i].bad = 0;
        EXPECT(pthread_create(&th[i], NULL, run_thread, &args[i]) == 0);
    }
    for (i = 0; i < 4; i++) {
        EXPECT(pthread_join(th[i], NULL) == 0);
        EXPECT(args[i].bad == 0);
    }
    ronn_tensor_free(ref[0]);
    ronn_tensor_free(x);
    ronn_session_free(s);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_capi MODEL.onnx INPUTS.npy\n");
        return 2;
    }
    MODEL = argv[1];
    if (npy_read_f32(argv[2], &INPUTS) != 0) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 2;
    }
    {
        size_t live = 99;
        EXPECT_STATUS(ronn_live_handle_count(NULL), RONN_STATUS_NULL_POINTER);
        OK(ronn_live_handle_count(&live));
        EXPECT(live == 0);
    }
    test_versions();
    test_null_arguments();
    test_stale_and_wrong_handles();
    test_tensors();
    test_options();
    test_session_and_run();
    test_free_orders();
    test_memory_pool();
    test_concurrent_runs();
    {
        /* every handle the tests made was freed (LSan cannot see these: the registry is reachable) */
        size_t live = 99;
        OK(ronn_live_handle_count(&live));
        EXPECT(live == 0);
    }
    free(INPUTS.data);
    printf("test_capi: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
