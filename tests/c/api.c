/*
 * The C interface as a host program sees it: version, status names, NULL
 * arguments, frees of NULL, the last error through a small buffer, a bad
 * policy, malformed JSON, successful commands, one engine shared by threads.
 * Prints each failed check and "N checks, M failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jifen.h"

static const char PEPPER[] = "api-test-pepper";
static const jf_engine_options MINIMAL = {.pin_hash_memory_kib = 8, .pin_hash_iterations = 1};

static jf_engine *open_baisha(void) {
    jf_engine *engine = NULL;
    jf_status status = jf_engine_open_memory("baisha-2019", (const uint8_t *)PEPPER,
                                             strlen(PEPPER), &MINIMAL, &engine);
    CHECK(status == JF_STATUS_OK);
    CHECK(engine != NULL);
    return engine;
}

/* Executes and returns the answer (to free), or NULL with *status_out set. */
static char *run(jf_engine *engine, const char *request, jf_status *status_out) {
    char *answer = NULL;
    *status_out = jf_engine_execute(engine, request, &answer);
    return answer;
}

static const char *REGISTER_ADMIN =
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\","
    " \"actor\": {\"id\": \"admin\", \"roles\": [\"administrator\"]}}}";

static void test_version(void) {
    const char *version = jf_version();
    CHECK(version != NULL);
    unsigned major, minor, patch;
    char rest;
    CHECK(version != NULL && sscanf(version, "%u.%u.%u%c", &major, &minor, &patch, &rest) >= 3);
    CHECK(version == jf_version()); /* static: the same string every time */
}

static void test_status_names(void) {
    CHECK(JF_STATUS_OK == 0);
    CHECK(strcmp(jf_status_name(JF_STATUS_OK), "ok") == 0);
    CHECK(strcmp(jf_status_name(JF_STATUS_PANIC), "panic") == 0);
    CHECK(strcmp(jf_status_name(JF_STATUS_NULL_ARGUMENT), "null_argument") == 0);
    CHECK(strcmp(jf_status_name(JF_STATUS_BUFFER_TOO_SMALL), "buffer_too_small") == 0);
    CHECK(JF_STATUS_UNKNOWN_HOUSEHOLD == 300);
    CHECK(strcmp(jf_status_name(JF_STATUS_UNKNOWN_HOUSEHOLD), "unknown_household") == 0);
    CHECK(strcmp(jf_status_name(JF_STATUS_MALFORMED_REQUEST), "malformed_request") == 0);
    CHECK(jf_status_name(99) == NULL);
    CHECK(jf_status_name(UINT32_MAX) == NULL);
}

static void test_null_arguments(void) {
    jf_engine *sentinel = (jf_engine *)&checks; /* never dereferenced */
    jf_engine *engine = sentinel;
    CHECK_STATUS(jf_engine_open_memory(NULL, (const uint8_t *)PEPPER, strlen(PEPPER), NULL, &engine),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_engine_open_memory("baisha-2019", NULL, 4, NULL, &engine),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK(engine == sentinel); /* outputs are written only on success */
    CHECK_STATUS(jf_engine_open_memory("baisha-2019", (const uint8_t *)PEPPER, strlen(PEPPER),
                                       NULL, NULL),
                 JF_STATUS_NULL_ARGUMENT);

    engine = open_baisha();
    char *answer = (char *)"untouched";
    CHECK_STATUS(jf_engine_execute(NULL, REGISTER_ADMIN, &answer), JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_engine_execute(engine, NULL, &answer), JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_engine_execute(engine, REGISTER_ADMIN, NULL), JF_STATUS_NULL_ARGUMENT);
    CHECK(strcmp(answer, "untouched") == 0);
    size_t needed = 0;
    char buf[16];
    CHECK_STATUS(jf_engine_last_error(NULL, buf, sizeof buf, &needed), JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_engine_last_error(engine, buf, sizeof buf, NULL), JF_STATUS_NULL_ARGUMENT);
    /* NULL arguments leave no message: the last error is still empty. */
    CHECK_STATUS(jf_engine_last_error(engine, buf, sizeof buf, &needed), JF_STATUS_OK);
    CHECK(needed == 1 && buf[0] == '\0');
    /* The command the NULL calls never ran still can. */
    jf_status status;
    answer = run(engine, REGISTER_ADMIN, &status);
    CHECK(status == JF_STATUS_OK);
    jf_string_free(answer);
    jf_engine_free(engine);

    /* An empty pepper may be NULL. */
    engine = NULL;
    CHECK_STATUS(jf_engine_open_memory("baisha-2019", NULL, 0, &MINIMAL, &engine), JF_STATUS_OK);
    jf_engine_free(engine);
}

/* Freeing NULL does nothing (a crash or a sanitizer report fails the run). */
static void test_free_null(void) {
    jf_engine_free(NULL);
    jf_string_free(NULL);
}

static void test_bad_policy(void) {
    jf_engine *engine = NULL;
    const uint8_t *pepper = (const uint8_t *)PEPPER;
    size_t len = strlen(PEPPER);
    CHECK_STATUS(jf_engine_open_memory("\"no-such-county\"", pepper, len, &MINIMAL, &engine),
                 JF_STATUS_UNKNOWN_PRESET);
    CHECK_STATUS(jf_engine_open_memory("no-such-county", pepper, len, &MINIMAL, &engine),
                 JF_STATUS_INVALID_POLICY);
    CHECK_STATUS(jf_engine_open_memory("{\"extends\": 7}", pepper, len, &MINIMAL, &engine),
                 JF_STATUS_INVALID_POLICY);
    CHECK_STATUS(jf_engine_open_memory("\xff\xfe", pepper, len, &MINIMAL, &engine),
                 JF_STATUS_INVALID_UTF8);
    CHECK(engine == NULL);
    /* A policy object extending a preset opens. */
    CHECK_STATUS(jf_engine_open_memory("{\"extends\": \"baisha-2019\"}", pepper, len, NULL, &engine),
                 JF_STATUS_OK);
    jf_engine_free(engine);
}

static void test_malformed_json_and_last_error(void) {
    jf_engine *engine = open_baisha();
    jf_status status;
    char *answer = run(engine, "{\"actor\": \"admin\", \"command\": ", &status);
    CHECK(status == JF_STATUS_MALFORMED_REQUEST);
    CHECK(answer == NULL);
    answer = run(engine, "\xc3", &status);
    CHECK(status == JF_STATUS_INVALID_UTF8);
    CHECK(answer == NULL);
    answer = run(engine, "{\"query\": {\"type\": \"balance\", \"household\": \"H404\"}}", &status);
    CHECK(status == JF_STATUS_UNKNOWN_HOUSEHOLD);
    CHECK(answer == NULL);

    /* Ask for the size alone, then try a buffer too small, then a fitting one. */
    size_t needed = 0;
    CHECK_STATUS(jf_engine_last_error(engine, NULL, 0, &needed), JF_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed > 5);
    char small[5];
    memset(small, '#', sizeof small);
    size_t needed_again = 0;
    CHECK_STATUS(jf_engine_last_error(engine, small, sizeof small, &needed_again),
                 JF_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed_again == needed);
    CHECK(memcmp(small, "#####", sizeof small) == 0); /* nothing copied */
    char *message = malloc(needed);
    CHECK(message != NULL);
    if (message != NULL) {
        CHECK_STATUS(jf_engine_last_error(engine, message, needed, &needed_again), JF_STATUS_OK);
        CHECK(strlen(message) + 1 == needed);
        CHECK(strstr(message, "H404") != NULL);
        free(message);
    }

    /* A success leaves the last error alone. */
    answer = run(engine, REGISTER_ADMIN, &status);
    CHECK(status == JF_STATUS_OK);
    jf_string_free(answer);
    CHECK_STATUS(jf_engine_last_error(engine, NULL, 0, &needed_again), JF_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed_again == needed);
    jf_engine_free(engine);
}

static void test_successful_commands(void) {
    jf_engine *engine = open_baisha();
    jf_status status;
    char *answer = run(engine, REGISTER_ADMIN, &status);
    CHECK(status == JF_STATUS_OK);
    CHECK(answer != NULL && strstr(answer, "\"seq\":2") != NULL);
    jf_string_free(answer);
    answer = run(engine,
                 "{\"actor\": \"admin\", \"command\": {\"type\": \"register_household\","
                 " \"household\": \"H1\", \"region\": {\"county\": \"469025\", \"township\": \"T1\","
                 " \"village\": \"V1\"}, \"head\": \"\xe7\xac\xa6\", \"category\": \"ordinary\","
                 " \"category_from\": \"2025-01-01\"}}",
                 &status);
    CHECK(status == JF_STATUS_OK);
    jf_string_free(answer);
    /* 100 points for an ordinary household in Baisha: 68 credited, 32 capped. */
    answer = run(engine,
                 "{\"actor\": \"admin\", \"reason\": \"import\", \"command\": {\"type\": "
                 "\"post_award\", \"household\": \"H1\", \"date\": \"2025-03-05\", \"points\": 100}}",
                 &status);
    CHECK(status == JF_STATUS_OK);
    CHECK(answer != NULL && strstr(answer, "\"credited\":68") != NULL);
    CHECK(answer != NULL && strstr(answer, "\"capped\":32") != NULL);
    jf_string_free(answer);
    answer = run(engine, "{\"query\": {\"type\": \"balance\", \"household\": \"H1\"}}", &status);
    CHECK(status == JF_STATUS_OK);
    CHECK(answer != NULL && strcmp(answer, "{\"balance\":68,\"household\":\"H1\"}") == 0);
    jf_string_free(answer);
    jf_engine_free(engine);
}

/* One engine, several threads registering households at once. */
enum { THREADS = 4, HOUSEHOLDS_PER_THREAD = 10 };

typedef struct {
    jf_engine *engine;
    int thread;
    int failures;
} worker_t;

static void *register_households(void *argument) {
    worker_t *worker = argument;
    for (int i = 0; i < HOUSEHOLDS_PER_THREAD; i++) {
        char request[512];
        snprintf(request, sizeof request,
                 "{\"actor\": \"admin\", \"command\": {\"type\": \"register_household\","
                 " \"household\": \"T%d-%d\", \"region\": {\"county\": \"469025\","
                 " \"township\": \"T1\", \"village\": \"V1\"}, \"head\": \"x\","
                 " \"category\": \"poor\", \"category_from\": \"2025-01-01\"}}",
                 worker->thread, i);
        char *answer = NULL;
        if (jf_engine_execute(worker->engine, request, &answer) != JF_STATUS_OK) {
            worker->failures++;
        }
        jf_string_free(answer);
        if (jf_engine_execute(worker->engine, "{\"query\": {\"type\": \"invariants\"}}", &answer) !=
            JF_STATUS_OK) {
            worker->failures++;
        }
        jf_string_free(answer);
    }
    return NULL;
}

static void test_threads(void) {
    jf_engine *engine = open_baisha();
    jf_status status;
    jf_string_free(run(engine, REGISTER_ADMIN, &status));
    CHECK(status == JF_STATUS_OK);
    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker_t){.engine = engine, .thread = t, .failures = 0};
        CHECK(pthread_create(&threads[t], NULL, register_households, &workers[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(workers[t].failures == 0);
    }
    /* Every command was recorded once, in one unbroken chain. */
    char *answer = run(engine, "{\"query\": {\"type\": \"verify\"}}", &status);
    CHECK(status == JF_STATUS_OK);
    char expected[32];
    snprintf(expected, sizeof expected, "\"seq\":%d", 2 + THREADS * HOUSEHOLDS_PER_THREAD);
    CHECK(answer != NULL && strstr(answer, expected) != NULL);
    jf_string_free(answer);
    jf_engine_free(engine);
}

int main(void) {
    test_version();
    test_status_names();
    test_null_arguments();
    test_free_null();
    test_bad_policy();
    test_malformed_json_and_last_error();
    test_successful_commands();
    test_threads();
    return check_report();
}
