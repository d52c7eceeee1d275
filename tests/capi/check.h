/* EXPECT-style checks shared by the C tests: count, report with the last RONN error, go on. */
#ifndef RONN_TEST_CHECK_H
#define RONN_TEST_CHECK_H
#include <ronn/ronn.h>
#include <stdio.h>

static int failures = 0, checks = 0;
#define EXPECT(cond)                                                                      \
    do {                                                                                  \
        checks++;                                                                         \
        if (!(cond)) {                                                                    \
            failures++;                                                                   \
            fprintf(stderr, "%s:%d: FAILED: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
                    ronn_last_error_message());                                           \
        }                                                                                 \
    } while (0)
#define EXPECT_STATUS(call, want) EXPECT((call) == (want))
#define OK(call) EXPECT_STATUS(call, RONN_STATUS_OK)
#endif
