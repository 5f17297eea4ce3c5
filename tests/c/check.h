/*
 * The checks every C test program counts: CHECK and CHECK_STATUS print each
 * failure with its line and go on; check_report prints "N checks, M failed"
 * and gives the program's exit code. Each test program is one translation
 * unit, so the counters are its own.
 */
#ifndef JIFEN_TESTS_CHECK_H
#define JIFEN_TESTS_CHECK_H

#include <stdio.h>

#include "jifen.h"

static int checks = 0;
static int failures = 0;

/* A status's name, or "(unknown)" for a number jifen does not define. */
static inline const char *check_status_name(jf_status status) {
    const char *name = jf_status_name(status);
    return name != NULL ? name : "(unknown)";
}

#define CHECK(condition)                                                                    \
    do {                                                                                    \
        checks++;                                                                           \
        if (!(condition)) {                                                                 \
            failures++;                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
        }                                                                                   \
    } while (0)

#define CHECK_STATUS(call, expected)                                                      \
    do {                                                                                  \
        jf_status got_ = (call);                                                          \
        checks++;                                                                         \
        if (got_ != (expected)) {                                                         \
            failures++;                                                                   \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__,   \
                    #call, check_status_name(got_), check_status_name(expected));         \
        }                                                                                 \
    } while (0)

/* Prints the count and returns the exit code: 0 when every check passed. */
static inline int check_report(void) {
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}

#endif
