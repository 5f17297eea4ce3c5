/*
 * The durable journal from C: a SQLite file engine records commands, exports
 * a checkpoint, is closed and reopened (the balance survives, the policy is
 * the journal's own), proves it only grew from the checkpoint, refuses a
 * second opener while held, and rejects a checkpoint it does not extend.
 * Prints each failed check and "N checks, M failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "jifen.h"

static const char PEPPER[] = "journal-test-pepper";
static const jf_engine_options MINIMAL = {.pin_hash_memory_kib = 8, .pin_hash_iterations = 1};

static jf_status run(jf_engine *engine, const char *json, char **answer) {
    char *out = NULL;
    jf_status status = jf_engine_execute(engine, json, &out);
    if (answer != NULL) {
        *answer = out;
    } else {
        jf_string_free(out);
    }
    return status;
}

static jf_engine *open_file(const char *path, const char *policy, jf_status *status) {
    jf_engine *engine = NULL;
    *status = jf_engine_open(path, policy, (const uint8_t *)PEPPER, strlen(PEPPER), &MINIMAL, &engine);
    return engine;
}

int main(void) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/jifen-c-journal-%ld.sqlite", (long)getpid());
    remove(path);

    jf_status status;
    jf_engine *engine = open_file(path, "baisha-2019", &status);
    CHECK(status == JF_STATUS_OK && engine != NULL);
    CHECK(run(engine, "{\"actor\":\"admin\",\"command\":{\"type\":\"register_actor\","
                      "\"actor\":{\"id\":\"admin\",\"roles\":[\"administrator\"]}}}", NULL) == JF_STATUS_OK);
    CHECK(run(engine, "{\"actor\":\"admin\",\"command\":{\"type\":\"register_household\",\"household\":\"H1\","
                      "\"region\":{\"county\":\"C\",\"township\":\"T\",\"village\":\"V\"},\"head\":\"h\","
                      "\"category\":\"poor\",\"category_from\":\"2025-01-01\"}}", NULL) == JF_STATUS_OK);
    CHECK(run(engine, "{\"actor\":\"admin\",\"reason\":\"import\",\"command\":{\"type\":\"post_award\","
                      "\"household\":\"H1\",\"date\":\"2025-03-05\",\"points\":120}}", NULL) == JF_STATUS_OK);

    char *checkpoint = NULL;
    CHECK(jf_engine_checkpoint(engine, &checkpoint) == JF_STATUS_OK && checkpoint != NULL);

    jf_status second;
    jf_engine *rival = open_file(path, NULL, &second);
    CHECK(second == JF_STATUS_JOURNAL_LOCKED && rival == NULL);
    jf_engine_free(engine);

    engine = open_file(path, NULL, &status);
    CHECK(status == JF_STATUS_OK && engine != NULL);
    if (engine != NULL) {
        char *balance = NULL;
        CHECK(run(engine, "{\"query\":{\"type\":\"balance\",\"household\":\"H1\"}}", &balance) == JF_STATUS_OK);
        CHECK(balance != NULL && strstr(balance, "\"balance\":110") != NULL);
        jf_string_free(balance);
        CHECK(run(engine, "{\"actor\":\"admin\",\"reason\":\"import\",\"command\":{\"type\":\"post_award\","
                          "\"household\":\"H1\",\"date\":\"2025-04-05\",\"points\":10}}", NULL) == JF_STATUS_OK);
        CHECK(jf_engine_verify_against(engine, checkpoint) == JF_STATUS_OK);
        CHECK(jf_engine_verify_against(engine, "{\"seq\":2,\"hash\":\"00\"}") == JF_STATUS_CHECKPOINT_MISMATCH);
        CHECK(jf_engine_verify_against(engine, "not json") == JF_STATUS_MALFORMED_REQUEST);
        char *head = NULL;
        CHECK(jf_engine_verify(engine, &head) == JF_STATUS_OK);
        jf_string_free(head);
        jf_engine_free(engine);
    }
    jf_string_free(checkpoint);
    CHECK(jf_engine_open(NULL, NULL, NULL, 0, NULL, &engine) == JF_STATUS_NULL_ARGUMENT);

    remove(path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", path);
    remove(side);
    snprintf(side, sizeof side, "%s-shm", path);
    remove(side);
    return check_report();
}
