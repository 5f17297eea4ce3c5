/*
 * One engine shared by 8 threads, each executing 1,000 commands (a household
 * registration, then awards to it), then the journal's hash chain verified
 * (its head must be exactly one record per command) and the engine's
 * invariants checked (every balance equals what was credited).
 * Prints each failed check and "N checks, M failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jifen.h"

#define THREADS 8
#define COMMANDS 1000

static const char PEPPER[] = "threads-test-pepper";
static const jf_engine_options MINIMAL = {.pin_hash_memory_kib = 8, .pin_hash_iterations = 1};

typedef struct {
    jf_engine *engine;
    int thread;
    int failed;        /* commands that did not return JF_STATUS_OK */
    long long awarded; /* points credited, as the answers say */
} worker_t;

static jf_status execute(jf_engine *engine, const char *request, char **answer_out) {
    *answer_out = NULL;
    return jf_engine_execute(engine, request, answer_out);
}

/* Reads "credited":N from an award's answer. */
static long long credited(const char *answer) {
    const char *field = strstr(answer, "\"credited\":");
    return field != NULL ? atoll(field + strlen("\"credited\":")) : -1;
}

static void *work(void *argument) {
    worker_t *worker = argument;
    char request[512];
    char *answer = NULL;
    snprintf(request, sizeof request,
             "{\"actor\": \"admin\", \"command\": {\"type\": \"register_household\","
             " \"household\": \"T%d\", \"region\": {\"county\": \"469025\", \"township\": \"T01\","
             " \"village\": \"V%02d\"}, \"head\": \"户主%d\", \"category\": \"ordinary\","
             " \"category_from\": \"2025-01-01\"}}",
             worker->thread, worker->thread, worker->thread);
    if (execute(worker->engine, request, &answer) != JF_STATUS_OK) {
        worker->failed++;
    }
    jf_string_free(answer);
    for (int i = 1; i < COMMANDS; i++) {
        /* One point a day through the year: some of it is cut by the caps. */
        snprintf(request, sizeof request,
                 "{\"actor\": \"admin\", \"reason\": \"import\", \"command\": {\"type\":"
                 " \"post_award\", \"household\": \"T%d\", \"date\": \"2025-%02d-%02d\","
                 " \"points\": %d}}",
                 worker->thread, 1 + i % 12, 1 + i % 28, 1 + i % 3);
        if (execute(worker->engine, request, &answer) != JF_STATUS_OK) {
            worker->failed++;
        } else {
            worker->awarded += credited(answer);
        }
        jf_string_free(answer);
    }
    return NULL;
}

/* Reads "seq":N from a head. */
static long long seq_of(const char *head) {
    const char *field = strstr(head, "\"seq\":");
    return field != NULL ? atoll(field + strlen("\"seq\":")) : -1;
}

static void run(const char *label, jf_engine *engine) {
    char *answer = NULL;
    CHECK(execute(engine,
                  "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
                  " {\"id\": \"admin\", \"roles\": [\"administrator\"]}}}",
                  &answer) == JF_STATUS_OK);
    jf_string_free(answer);
    char *before = NULL;
    CHECK(jf_engine_verify(engine, &before) == JF_STATUS_OK);
    long long start = before != NULL ? seq_of(before) : -1;
    jf_string_free(before);

    pthread_t threads[THREADS];
    worker_t workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker_t){.engine = engine, .thread = t};
        CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
    }
    long long awarded = 0;
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(workers[t].failed == 0);
        awarded += workers[t].awarded;
    }

    char *head = NULL;
    CHECK(jf_engine_verify(engine, &head) == JF_STATUS_OK);
    CHECK(head != NULL && seq_of(head) == start + THREADS * COMMANDS);
    printf("%s: head after %d commands: %s\n", label, THREADS * COMMANDS,
           head != NULL ? head : "(none)");
    jf_string_free(head);

    char *invariants = NULL;
    CHECK(execute(engine, "{\"query\": {\"type\": \"invariants\"}}", &invariants) ==
          JF_STATUS_OK);
    /* The totals over all accounts: credited is what the answers said. */
    char expected[64];
    snprintf(expected, sizeof expected, "\"credited\":%lld", awarded);
    CHECK(invariants != NULL && strstr(invariants, expected) != NULL);
    if (invariants != NULL && strstr(invariants, expected) == NULL) {
        fprintf(stderr, "%s: invariants %s, expected %s\n", label, invariants, expected);
    }
    jf_string_free(invariants);

    /* Each household's balance is what its own thread was credited. */
    for (int t = 0; t < THREADS; t++) {
        char query[128];
        snprintf(query, sizeof query, "{\"query\": {\"type\": \"balance\", \"household\": \"T%d\"}}",
                 t);
        char *balance = NULL;
        CHECK(execute(engine, query, &balance) == JF_STATUS_OK);
        snprintf(expected, sizeof expected, "\"balance\":%lld", workers[t].awarded);
        CHECK(balance != NULL && strstr(balance, expected) != NULL);
        jf_string_free(balance);
    }
}

int main(void) {
    jf_engine *memory = NULL;
    CHECK(jf_engine_open_memory("baisha-2019", (const uint8_t *)PEPPER, strlen(PEPPER), &MINIMAL,
                                &memory) == JF_STATUS_OK);
    if (memory != NULL) {
        run("memory", memory);
    }
    jf_engine_free(memory);

    return check_report();
}
