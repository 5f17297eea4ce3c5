/*
 * Replays the conformance scenarios (the JSON files in tests/scenarios) through the C
 * interface, as tests/scenarios/README.md describes: each file's policy opens
 * an engine with the pepper "scenario-pepper" and the minimal PIN hash cost;
 * each step's "do" goes to jf_engine_execute() (a JSON string as raw text);
 * "error" is compared through the returned jf_status; "result" must be
 * contained in the answer; a failing step may move the journal head only by
 * its "appends"; at the end "balances", the invariants and the hash chain are
 * checked. Every scenario runs twice: on a memory engine and on a SQLite
 * file engine (jf_engine_open), which must give the same answers. The bulk
 * settlement scenarios in DIR/bulk go to jf_settle_month() from C arrays;
 * their results must contain "expect", or the call fail with "error".
 *
 * Usage: scenarios [DIR]   (DIR defaults to tests/scenarios)
 * Prints one line per scenario and "N passed, M failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jifen.h"

static const char PEPPER[] = "scenario-pepper";
static const jf_engine_options MINIMAL_PIN_COST = {
    .pin_hash_memory_kib = 8,
    .pin_hash_iterations = 1,
};

/* Why the current scenario failed; empty while it passes. */
static char why[4096];

static bool fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(why, sizeof why, format, args);
    va_end(args);
    return false;
}

static char *read_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        return NULL;
    }
    size_t size = 0, capacity = 4096;
    char *text = malloc(capacity);
    while (text != NULL) {
        size += fread(text + size, 1, capacity - size - 1, file);
        if (size < capacity - 1) {
            break;
        }
        capacity *= 2;
        char *bigger = realloc(text, capacity);
        if (bigger == NULL) {
            free(text);
        }
        text = bigger;
    }
    bool failed = ferror(file);
    fclose(file);
    if (text == NULL || failed) {
        free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

/* The handle's last error message, in a static buffer. */
static const char *last_error(const jf_engine *engine) {
    static char message[2048];
    size_t needed = 0;
    jf_status status = jf_engine_last_error(engine, message, sizeof message, &needed);
    if (status == JF_STATUS_BUFFER_TOO_SMALL) {
        return "(message longer than the report buffer)";
    }
    return status == JF_STATUS_OK ? message : "(no message)";
}

static const char *status_name(jf_status status) {
    const char *name = jf_status_name(status);
    return name != NULL ? name : "(unknown status)";
}

/*
 * Executes `request`; on success parses the answer into *answer_out, unless
 * answer_out is NULL (the answer is then discarded).
 */
static jf_status execute(jf_engine *engine, const char *request, cJSON **answer_out) {
    char *raw = NULL;
    jf_status status = jf_engine_execute(engine, request, &raw);
    if (status == JF_STATUS_OK && answer_out != NULL) {
        *answer_out = cJSON_Parse(raw);
    }
    jf_string_free(raw);
    return status;
}

/* The journal head, from the verify query. */
typedef struct {
    double seq;
    char hash[128];
} head_t;

static bool journal_head(jf_engine *engine, head_t *head) {
    cJSON *answer = NULL;
    jf_status status = execute(engine, "{\"query\": {\"type\": \"verify\"}}", &answer);
    if (status != JF_STATUS_OK) {
        return fail("verify failed: %s: %s", status_name(status), last_error(engine));
    }
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(answer, "seq");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(answer, "hash");
    bool ok = cJSON_IsNumber(seq) && cJSON_IsString(hash);
    if (ok) {
        head->seq = seq->valuedouble;
        snprintf(head->hash, sizeof head->hash, "%s", hash->valuestring);
    }
    cJSON_Delete(answer);
    return ok ? true : fail("verify answered without a seq and hash");
}

/*
 * Whether `actual` contains `expected`: every key of an expected object is
 * present with a matching value; arrays have the same length and match element
 * by element; other values are equal. `path` names the place for the report.
 */
static bool contains(const cJSON *expected, const cJSON *actual, const char *path) {
    char *want = cJSON_PrintUnformatted(expected);
    char *got = actual != NULL ? cJSON_PrintUnformatted(actual) : NULL;
    bool ok = true;
    if (actual == NULL) {
        ok = fail("%s: missing, expected %s", path, want);
    } else if (cJSON_IsObject(expected)) {
        if (!cJSON_IsObject(actual)) {
            ok = fail("%s: expected an object %s, got %s", path, want, got);
        }
        const cJSON *item = NULL;
        cJSON_ArrayForEach(item, expected) {
            if (!ok) {
                break;
            }
            size_t size = strlen(path) + strlen(item->string) + 2;
            char *inner = malloc(size);
            if (inner == NULL) {
                ok = fail("out of memory");
                break;
            }
            snprintf(inner, size, "%s.%s", path, item->string);
            ok = contains(item, cJSON_GetObjectItemCaseSensitive(actual, item->string), inner);
            free(inner);
        }
    } else if (cJSON_IsArray(expected)) {
        if (!cJSON_IsArray(actual)) {
            ok = fail("%s: expected an array %s, got %s", path, want, got);
        } else if (cJSON_GetArraySize(expected) != cJSON_GetArraySize(actual)) {
            ok = fail("%s: expected %d elements, got %d: %s", path, cJSON_GetArraySize(expected),
                      cJSON_GetArraySize(actual), got);
        }
        for (int i = 0; ok && i < cJSON_GetArraySize(expected); i++) {
            size_t size = strlen(path) + 24;
            char *inner = malloc(size);
            if (inner == NULL) {
                ok = fail("out of memory");
                break;
            }
            snprintf(inner, size, "%s[%d]", path, i);
            ok = contains(cJSON_GetArrayItem(expected, i), cJSON_GetArrayItem(actual, i), inner);
            free(inner);
        }
    } else if (cJSON_IsNumber(expected)) {
        if (!cJSON_IsNumber(actual) || actual->valuedouble != expected->valuedouble) {
            ok = fail("%s: expected %s, got %s", path, want, got);
        }
    } else if (!cJSON_Compare(expected, actual, true)) {
        ok = fail("%s: expected %s, got %s", path, want, got);
    }
    free(want);
    free(got);
    return ok;
}

/* Runs one step; false with `why` set when it does not behave as stated. */
static bool run_step(jf_engine *engine, const cJSON *step) {
    const cJSON *what = cJSON_GetObjectItemCaseSensitive(step, "do");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(step, "error");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(step, "result");
    const cJSON *appends = cJSON_GetObjectItemCaseSensitive(step, "appends");
    if (what == NULL) {
        return fail("the step has no \"do\"");
    }
    if (error != NULL && !cJSON_IsString(error)) {
        return fail("\"error\" is not a string");
    }
    if (appends != NULL && !cJSON_IsNumber(appends)) {
        return fail("\"appends\" is not a number");
    }
    if (error != NULL && result != NULL) {
        return fail("a step expects either an error or a result, not both");
    }
    char *request = cJSON_IsString(what) ? strdup(what->valuestring) : cJSON_PrintUnformatted(what);
    if (request == NULL) {
        return fail("out of memory");
    }

    head_t before = {0};
    if (error != NULL && !journal_head(engine, &before)) {
        free(request);
        return false;
    }
    char *raw = NULL;
    jf_status status = jf_engine_execute(engine, request, &raw);
    free(request);

    bool ok = true;
    if (error == NULL) {
        if (status != JF_STATUS_OK) {
            ok = fail("failed with %s (%u): %s", status_name(status), (unsigned)status,
                      last_error(engine));
        } else if (result != NULL) {
            cJSON *answer = cJSON_Parse(raw);
            ok = answer != NULL ? contains(result, answer, "$")
                                : fail("the answer is not JSON: %s", raw);
            cJSON_Delete(answer);
        }
    } else if (status == JF_STATUS_OK) {
        ok = fail("expected %s, but it succeeded: %s", error->valuestring, raw);
    } else if (strcmp(status_name(status), error->valuestring) != 0) {
        ok = fail("expected %s, got %s (%u): %s", error->valuestring, status_name(status),
                  (unsigned)status, last_error(engine));
    } else {
        head_t after = {0};
        double expected_appends = appends != NULL ? appends->valuedouble : 0;
        if (!journal_head(engine, &after)) {
            ok = false;
        } else if (after.seq - before.seq != expected_appends) {
            ok = fail("the failed step appended %.0f records, expected %.0f",
                      after.seq - before.seq, expected_appends);
        } else if (expected_appends == 0 && strcmp(before.hash, after.hash) != 0) {
            ok = fail("the failed step changed the journal head");
        }
    }
    jf_string_free(raw);
    return ok;
}

/* The closing checks: listed balances, invariants, the hash chain. */
static bool check_end(jf_engine *engine, const cJSON *balances) {
    const cJSON *expected = NULL;
    cJSON_ArrayForEach(expected, balances) {
        if (!cJSON_IsNumber(expected)) {
            return fail("balances.%s is not a number", expected->string);
        }
        cJSON *query = cJSON_CreateObject();
        cJSON *inner = cJSON_AddObjectToObject(query, "query");
        cJSON_AddStringToObject(inner, "type", "balance");
        cJSON_AddStringToObject(inner, "household", expected->string);
        char *text = cJSON_PrintUnformatted(query);
        cJSON_Delete(query);
        cJSON *answer = NULL;
        jf_status status = text != NULL ? execute(engine, text, &answer) : JF_STATUS_PANIC;
        free(text);
        if (status != JF_STATUS_OK) {
            return fail("balance of %s: %s: %s", expected->string, status_name(status),
                        last_error(engine));
        }
        const cJSON *balance = cJSON_GetObjectItemCaseSensitive(answer, "balance");
        bool ok = cJSON_IsNumber(balance) && balance->valuedouble == expected->valuedouble;
        if (!ok) {
            fail("balance of %s: expected %.0f, got %.0f", expected->string, expected->valuedouble,
                 cJSON_IsNumber(balance) ? balance->valuedouble : -1.0);
        }
        cJSON_Delete(answer);
        if (!ok) {
            return false;
        }
    }
    jf_status status = execute(engine, "{\"query\": {\"type\": \"invariants\"}}", NULL);
    if (status != JF_STATUS_OK) {
        return fail("invariants: %s: %s", status_name(status), last_error(engine));
    }
    head_t head;
    return journal_head(engine, &head);
}

/* The scenario file `dir`/`file_name` parsed (NULL when unreadable); clears `why`. */
static cJSON *read_scenario(const char *dir, const char *file_name) {
    why[0] = '\0';
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, file_name);
    char *text = read_file(path);
    cJSON *scenario = text != NULL ? cJSON_Parse(text) : NULL;
    free(text);
    return scenario;
}

/* Opens an engine on a scenario's policy (a preset name as is, a policy
 * object as its JSON text): in memory when journal_path is NULL, else on a
 * fresh SQLite file there. */
static jf_status open_on_policy(const cJSON *policy, const char *journal_path,
                                jf_engine **engine) {
    char *policy_text =
        cJSON_IsString(policy) ? strdup(policy->valuestring) : cJSON_PrintUnformatted(policy);
    jf_status status = JF_STATUS_PANIC;
    if (policy_text != NULL && journal_path == NULL) {
        status = jf_engine_open_memory(policy_text, (const uint8_t *)PEPPER, strlen(PEPPER),
                                       &MINIMAL_PIN_COST, engine);
    } else if (policy_text != NULL) {
        remove(journal_path);
        status = jf_engine_open(journal_path, policy_text, (const uint8_t *)PEPPER, strlen(PEPPER),
                                &MINIMAL_PIN_COST, engine);
    }
    free(policy_text);
    return status;
}

/* Replays one scenario file on a memory engine (journal_path NULL) or on a
 * SQLite file engine at journal_path; prints its line; true when it passes. */
static bool run_scenario(const char *dir, const char *file_name, const char *journal_path) {
    cJSON *scenario = read_scenario(dir, file_name);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(scenario, "name");
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(scenario, "policy");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(scenario, "steps");
    const cJSON *balances = cJSON_GetObjectItemCaseSensitive(scenario, "balances");
    const char *title = cJSON_IsString(name) ? name->valuestring : "";
    bool ok = true;
    int failed_step = -1;
    jf_engine *engine = NULL;

    if (scenario == NULL) {
        ok = fail("cannot read it as JSON");
    } else if (!cJSON_IsArray(steps) || policy == NULL) {
        ok = fail("it needs \"policy\" and a \"steps\" array");
    } else if (balances != NULL && !cJSON_IsObject(balances)) {
        ok = fail("\"balances\" is not an object");
    } else {
        jf_status status = open_on_policy(policy, journal_path, &engine);
        if (status != JF_STATUS_OK) {
            ok = fail("the engine does not open on its policy: %s", status_name(status));
        }
    }
    for (int i = 0; ok && i < cJSON_GetArraySize(steps); i++) {
        ok = run_step(engine, cJSON_GetArrayItem(steps, i));
        failed_step = ok ? -1 : i;
    }
    if (ok) {
        ok = check_end(engine, balances);
    }

    const char *backend = journal_path == NULL ? "memory" : "sqlite";
    if (ok) {
        printf("ok    %-6s %s  %s\n", backend, file_name, title);
    } else if (failed_step >= 0) {
        const cJSON *note =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(steps, failed_step), "note");
        printf("FAIL  %-6s %s  %s\n      step %d%s%s%s: %s\n", backend, file_name, title,
               failed_step + 1,
               cJSON_IsString(note) ? " (" : "", cJSON_IsString(note) ? note->valuestring : "",
               cJSON_IsString(note) ? ")" : "", why);
    } else {
        printf("FAIL  %-6s %s  %s\n      %s\n", backend, file_name, title, why);
    }
    jf_engine_free(engine);
    cJSON_Delete(scenario);
    if (journal_path != NULL) {
        char side[4200];
        remove(journal_path);
        snprintf(side, sizeof side, "%s-wal", journal_path);
        remove(side);
        snprintf(side, sizeof side, "%s-shm", journal_path);
        remove(side);
    }
    return ok;
}

/* A bulk scenario's numeric column as a malloc'd array of `width`-byte
 * integers (1: uint8_t, 4: uint32_t, 8: int64_t); its length in *len. NULL
 * with `why` set when the column is missing or not numbers. */
static void *column(const cJSON *table, const char *name, size_t width, size_t *len) {
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(table, name);
    if (!cJSON_IsArray(values)) {
        fail("column %s is not an array", name);
        return NULL;
    }
    *len = (size_t)cJSON_GetArraySize(values);
    unsigned char *array = calloc(*len > 0 ? *len : 1, width);
    size_t i = 0;
    const cJSON *value = NULL;
    cJSON_ArrayForEach(value, values) {
        if (array == NULL || !cJSON_IsNumber(value)) {
            free(array);
            fail("column %s holds a value that is not a number", name);
            return NULL;
        }
        if (width == 1) {
            array[i] = (uint8_t)value->valuedouble;
        } else if (width == 4) {
            ((uint32_t *)array)[i] = (uint32_t)value->valuedouble;
        } else {
            ((int64_t *)array)[i] = (int64_t)value->valuedouble;
        }
        i++;
    }
    return array;
}

/* `len` int64 values as a JSON array. */
static cJSON *numbers(const int64_t *values, size_t len) {
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; i < len; i++) {
        cJSON_AddItemToArray(array, cJSON_CreateNumber((double)values[i]));
    }
    return array;
}

#define HOUSEHOLD_COLUMNS 10
#define REGION_COLUMNS 10
static const char *const household_columns[HOUSEHOLD_COLUMNS] = {
    "awarded", "credited", "capped", "vetoed", "deducted", "unapplied", "net",
    "closing_balance", "ytd_credited", "ytd_deducted"};
static const char *const region_columns[REGION_COLUMNS] = {
    "households", "awarded", "credited", "capped", "vetoed", "deducted", "unapplied",
    "redeemed", "balance", "liability_fen"};

/* A region level's ten output columns of `rows` values, in the order of
 * region_columns (households as int64: the values are small). */
static jf_settle_region_results region_output(int64_t *columns[REGION_COLUMNS], size_t rows) {
    return (jf_settle_region_results){
        .capacity = rows, .households = (uint64_t *)columns[0], .awarded = columns[1],
        .credited = columns[2], .capped = columns[3], .vetoed = columns[4],
        .deducted = columns[5], .unapplied = columns[6], .redeemed = columns[7],
        .balance = columns[8], .liability_fen = columns[9]};
}

/* One population's tables of a bulk scenario: its input columns, in the
 * order jf_settle_input takes them, and its household output columns. */
typedef struct {
    void *in[14];
    size_t households, entries, redemptions;
    int64_t *out[HOUSEHOLD_COLUMNS];
} tables_t;

/* Allocates `t`'s household output columns, a row a household; false
 * with `why` set when memory runs out. */
static bool household_columns_for(tables_t *t) {
    for (int c = 0; c < HOUSEHOLD_COLUMNS; c++) {
        t->out[c] = calloc(t->households > 0 ? t->households : 1, sizeof(int64_t));
        if (t->out[c] == NULL) {
            return fail("out of memory");
        }
    }
    return true;
}

/* Reads the `households`, `entries` and `redemptions` of `scenario`; false
 * with `why` set when a column is missing. */
static bool read_tables(const cJSON *scenario, tables_t *t) {
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(scenario, "households");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(scenario, "entries");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(scenario, "redemptions");
    static const struct {
        int table;
        const char *name;
        size_t width;
    } columns[14] = {{0, "category", 4},  {0, "village", 4},      {0, "opening_balance", 8},
                     {0, "ytd_credited", 8}, {0, "ytd_deducted", 8}, {1, "household", 4},
                     {1, "kind", 1},      {1, "points", 8},       {1, "day", 1},
                     {1, "order", 4},     {2, "household", 4},    {2, "store", 4},
                     {2, "points", 8},    {2, "reimbursable", 1}};
    const cJSON *tables[3] = {h, e, d};
    size_t *lengths[3] = {&t->households, &t->entries, &t->redemptions};
    bool ok = true;
    for (int c = 0; c < 14; c++) {
        t->in[c] = ok ? column(tables[columns[c].table], columns[c].name, columns[c].width,
                               lengths[columns[c].table])
                      : NULL;
        ok = ok && t->in[c] != NULL;
    }
    return ok && household_columns_for(t);
}

static void free_tables(tables_t *t) {
    for (int c = 0; c < 14; c++) {
        free(t->in[c]);
    }
    for (int c = 0; c < HOUSEHOLD_COLUMNS; c++) {
        free(t->out[c]);
    }
}

static jf_settle_input settle_input(const tables_t *t, const jf_settle_regions *regions,
                                    size_t stores) {
    void *const *in = t->in;
    return (jf_settle_input){
        .households = {.len = t->households, .category = in[0], .village = in[1],
                       .opening_balance = in[2], .ytd_credited = in[3], .ytd_deducted = in[4]},
        .regions = *regions,
        .entries = {.len = t->entries, .household = in[5], .kind = in[6], .points = in[7],
                    .day = in[8], .order = in[9]},
        .redemptions = {.len = t->redemptions, .household = in[10], .store = in[11],
                        .points = in[12], .reimbursable = in[13]},
        .stores = (uint32_t)stores,
    };
}

static jf_settle_household_results household_output(const tables_t *t) {
    int64_t *const *o = t->out;
    return (jf_settle_household_results){
        .capacity = t->households, .awarded = o[0], .credited = o[1], .capped = o[2],
        .vetoed = o[3], .deducted = o[4], .unapplied = o[5], .net = o[6],
        .closing_balance = o[7], .ytd_credited = o[8], .ytd_deducted = o[9]};
}

static cJSON *households_json(const tables_t *t) {
    cJSON *table = cJSON_CreateObject();
    for (int c = 0; c < HOUSEHOLD_COLUMNS; c++) {
        cJSON_AddItemToObject(table, household_columns[c], numbers(t->out[c], t->households));
    }
    return table;
}

/* Generates the population a scenario's `synthetic` names (seed,
 * households, entries_per_household) through jf_population_generate(),
 * its entries shuffled with jf_population_shuffle_entries() when it names a
 * shuffle_seed: its columns go to `input`, its categories' names to
 * `categories`, and `t` gets household output columns for it. False with
 * `why` set on failure. */
static bool generate_population(jf_engine *engine, const cJSON *synthetic, const char *month,
                                jf_population **population, jf_settle_input *input,
                                tables_t *t, const char *categories[16], int *category_count) {
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(synthetic, "seed");
    const cJSON *households = cJSON_GetObjectItemCaseSensitive(synthetic, "households");
    const cJSON *per_household =
        cJSON_GetObjectItemCaseSensitive(synthetic, "entries_per_household");
    const cJSON *shuffle_seed = cJSON_GetObjectItemCaseSensitive(synthetic, "shuffle_seed");
    if (!cJSON_IsNumber(seed) || !cJSON_IsNumber(households)) {
        return fail("synthetic needs seed and households");
    }
    jf_status status = jf_population_generate(
        engine, month, (uint64_t)seed->valuedouble, (size_t)households->valuedouble,
        cJSON_IsNumber(per_household) ? (size_t)per_household->valuedouble : 0, population);
    if (status != JF_STATUS_OK) {
        return fail("generating the population: %s: %s", status_name(status),
                    last_error(engine));
    }
    if (cJSON_IsNumber(shuffle_seed)) {
        status = jf_population_shuffle_entries(*population, (uint64_t)shuffle_seed->valuedouble);
        if (status != JF_STATUS_OK) {
            return fail("shuffling the population's entries: %s", status_name(status));
        }
    }
    const char *const *names = NULL;
    size_t count = 0;
    if (jf_population_input(*population, input) != JF_STATUS_OK ||
        jf_population_categories(*population, &names, &count) != JF_STATUS_OK || count > 16) {
        return fail("reading the population's columns and categories");
    }
    for (size_t i = 0; i < count; i++) {
        categories[i] = names[i];
    }
    *category_count = (int)count;
    t->households = input->households.len;
    return household_columns_for(t);
}

#define MAX_PARTITIONS 8

/* Settles one bulk scenario through jf_settle_month(), or through
 * jf_settle_partitions() when it holds partitions; prints its line; true
 * when it passes. */
static bool run_bulk_scenario(const char *dir, const char *file_name) {
    cJSON *scenario = read_scenario(dir, file_name);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(scenario, "name");
    const cJSON *policy = cJSON_GetObjectItemCaseSensitive(scenario, "policy");
    const cJSON *month = cJSON_GetObjectItemCaseSensitive(scenario, "month");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(scenario, "categories");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(scenario, "regions");
    const cJSON *counties = cJSON_GetObjectItemCaseSensitive(r, "counties");
    const cJSON *stores = cJSON_GetObjectItemCaseSensitive(scenario, "stores");
    const cJSON *partitions = cJSON_GetObjectItemCaseSensitive(scenario, "partitions");
    const cJSON *synthetic = cJSON_GetObjectItemCaseSensitive(scenario, "synthetic");
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(scenario, "expect");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(scenario, "error");
    const char *title = cJSON_IsString(name) ? name->valuestring : "";
    /* Without `regions` or `stores` the settlement fills them in. */
    bool ok = scenario != NULL && policy != NULL && cJSON_IsString(month) &&
              (names == NULL || cJSON_IsArray(names)) && (r == NULL || cJSON_IsNumber(counties)) &&
              (stores == NULL || cJSON_IsNumber(stores)) &&
              (expect != NULL) != cJSON_IsString(error);
    if (!ok) {
        fail("it needs policy, month, and expect or error");
    }
    int parts = cJSON_IsArray(partitions) ? cJSON_GetArraySize(partitions) : 1;
    if (ok && (parts < 1 || parts > MAX_PARTITIONS)) {
        ok = fail("from 1 to %d partitions", MAX_PARTITIONS);
    }

    /* The tables, of the scenario or of each partition, and each's keys. */
    tables_t tables[MAX_PARTITIONS];
    uint64_t *keys[MAX_PARTITIONS] = {NULL};
    memset(tables, 0, sizeof tables);
    for (int p = 0; ok && synthetic == NULL && p < parts; p++) {
        const cJSON *source = cJSON_IsArray(partitions) ? cJSON_GetArrayItem(partitions, p)
                                                        : scenario;
        ok = read_tables(source, &tables[p]);
        if (ok && cJSON_IsArray(partitions)) {
            size_t len = 0;
            keys[p] = column(source, "keys", 8, &len);
            ok = keys[p] != NULL &&
                 (len == tables[p].households || fail("partition %d: a key a household", p));
        }
    }
    size_t villages = 0, townships = 0;
    uint32_t *village_township = NULL, *township_county = NULL;
    if (ok && r != NULL) {
        village_township = column(r, "village_township", 4, &villages);
        township_county = column(r, "township_county", 4, &townships);
        ok = village_township != NULL && township_county != NULL;
    }
    const jf_settle_regions regions = {
        .villages = villages, .village_township = village_township, .townships = townships,
        .township_county = township_county,
        .counties = ok && r != NULL ? (uint32_t)counties->valuedouble : 0};
    const uint32_t named_stores = ok && stores != NULL ? (uint32_t)stores->valuedouble : 0;
    const char *categories[16];
    /* No categories: none are passed, and the indices are the policy's own. */
    int category_count = ok && names != NULL ? cJSON_GetArraySize(names) : 0;
    if (category_count > 16) {
        ok = fail("more than 16 categories");
    }
    for (int i = 0; ok && i < category_count; i++) {
        const cJSON *category = cJSON_GetArrayItem(names, i);
        categories[i] = cJSON_IsString(category) ? category->valuestring : "";
    }

    jf_engine *engine = NULL;
    if (ok) {
        jf_status status = open_on_policy(policy, NULL, &engine);
        if (status != JF_STATUS_OK) {
            ok = fail("the engine does not open on its policy: %s", status_name(status));
        }
    }
    jf_settle_input inputs[MAX_PARTITIONS];
    jf_population *population = NULL;
    if (ok && synthetic != NULL) {
        ok = generate_population(engine, synthetic, month->valuestring, &population, &inputs[0],
                                 &tables[0], categories, &category_count);
    }
    for (int p = 0; ok && synthetic == NULL && p < parts; p++) {
        inputs[p] = settle_input(&tables[p], &regions, named_stores);
    }
    /* Every totals column, sized as the settlement says, so the whole
     * result can be compared. */
    jf_settle_sizes sizes = {0};
    /* A refusal may come as soon as the totals are sized; it is checked
     * below as the settlement's. */
    jf_status sizing = JF_STATUS_OK;
    if (ok) {
        sizing = jf_settle_table_sizes(engine, inputs, (size_t)parts, &sizes);
    }
    const size_t store_count = sizes.stores;
    const size_t level_rows[3] = {sizes.villages, sizes.townships, sizes.counties};
    int64_t *store_out[3];
    int64_t *level_out[3][REGION_COLUMNS];
    for (int c = 0; c < 3; c++) {
        store_out[c] = calloc(store_count > 0 ? store_count : 1, sizeof(int64_t));
    }
    for (int l = 0; l < 3; l++) {
        for (int c = 0; c < REGION_COLUMNS; c++) {
            level_out[l][c] = calloc(level_rows[l] > 0 ? level_rows[l] : 1, sizeof(int64_t));
        }
    }

    /* The thread counts to settle on: the scenario's `threads`, or 2. */
    uint32_t thread_counts[8] = {2};
    int runs = 1;
    const cJSON *threads_named = cJSON_GetObjectItemCaseSensitive(scenario, "threads");
    if (cJSON_IsArray(threads_named)) {
        runs = 0;
        const cJSON *count = NULL;
        cJSON_ArrayForEach(count, threads_named) {
            if (runs < 8) {
                thread_counts[runs++] = (uint32_t)count->valuedouble;
            }
        }
    }
    for (int run = 0; ok && run < runs; run++) {
        const uint32_t threads = thread_counts[run];
        const jf_settle_totals totals = {
            .stores = {.capacity = store_count, .redeemed = store_out[0],
                       .reimbursable = store_out[1], .amount_fen = store_out[2]},
            .villages = region_output(level_out[0], level_rows[0]),
            .townships = region_output(level_out[1], level_rows[1]),
            .counties = region_output(level_out[2], level_rows[2]),
        };
        jf_status status = sizing;
        if (sizing != JF_STATUS_OK) {
            /* Refused before anything was settled. */
        } else if (cJSON_IsArray(partitions)) {
            jf_settle_partition settle_parts[MAX_PARTITIONS];
            for (int p = 0; p < parts; p++) {
                settle_parts[p] = (jf_settle_partition){
                    .keys = keys[p],
                    .input = inputs[p],
                    .households = household_output(&tables[p])};
            }
            status = jf_settle_partitions(engine, month->valuestring,
                                          category_count > 0 ? categories : NULL,
                                          (size_t)category_count, settle_parts, (size_t)parts,
                                          threads, &totals);
        } else {
            const jf_settle_input input = inputs[0];
            const jf_settle_output output = {
                .households = household_output(&tables[0]), .stores = totals.stores,
                .villages = totals.villages, .townships = totals.townships,
                .counties = totals.counties};
            status = jf_settle_month(engine, month->valuestring,
                                     category_count > 0 ? categories : NULL,
                                     (size_t)category_count, &input, threads, &output);
        }
        if (cJSON_IsString(error)) {
            if (strcmp(status_name(status), error->valuestring) != 0) {
                ok = fail("%u threads: expected error %s, got %s: %s", threads,
                          error->valuestring, status_name(status), last_error(engine));
            }
        } else if (status != JF_STATUS_OK) {
            ok = fail("%u threads: settling: %s: %s", threads, status_name(status),
                      last_error(engine));
        } else {
            cJSON *actual = cJSON_CreateObject();
            if (cJSON_IsArray(partitions)) {
                cJSON *list = cJSON_CreateArray();
                for (int p = 0; p < parts; p++) {
                    cJSON *partition = cJSON_CreateObject();
                    cJSON_AddItemToObject(partition, "households", households_json(&tables[p]));
                    cJSON_AddItemToArray(list, partition);
                }
                cJSON_AddItemToObject(actual, "partitions", list);
            } else {
                cJSON_AddItemToObject(actual, "households", households_json(&tables[0]));
            }
            cJSON *table = cJSON_CreateObject();
            cJSON_AddItemToObject(table, "redeemed", numbers(store_out[0], store_count));
            cJSON_AddItemToObject(table, "reimbursable", numbers(store_out[1], store_count));
            cJSON_AddItemToObject(table, "amount_fen", numbers(store_out[2], store_count));
            cJSON_AddItemToObject(actual, "stores", table);
            const char *levels[3] = {"villages", "townships", "counties"};
            for (int l = 0; l < 3; l++) {
                table = cJSON_CreateObject();
                for (int c = 0; c < REGION_COLUMNS; c++) {
                    cJSON_AddItemToObject(table, region_columns[c],
                                          numbers(level_out[l][c], level_rows[l]));
                }
                cJSON_AddItemToObject(actual, levels[l], table);
            }
            ok = contains(expect, actual, "expect");
            cJSON_Delete(actual);
        }
    }

    printf("%s  bulk   %s  %s\n", ok ? "ok  " : "FAIL", file_name, title);
    if (!ok) {
        printf("      %s\n", why);
    }
    for (int p = 0; p < MAX_PARTITIONS; p++) {
        free_tables(&tables[p]);
        free(keys[p]);
    }
    free(village_township);
    free(township_county);
    for (int c = 0; c < 3; c++) {
        free(store_out[c]);
    }
    for (int l = 0; l < 3; l++) {
        for (int c = 0; c < REGION_COLUMNS; c++) {
            free(level_out[l][c]);
        }
    }
    jf_population_free(population);
    jf_engine_free(engine);
    cJSON_Delete(scenario);
    return ok;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json file names in `dir`, sorted and malloc'd; their count in *count
 * (none when the directory cannot be read). */
static char **json_files(const char *dir, size_t *count) {
    *count = 0;
    DIR *listing = opendir(dir);
    if (listing == NULL) {
        return NULL;
    }
    char **names = NULL;
    const struct dirent *entry;
    while ((entry = readdir(listing)) != NULL) {
        size_t length = strlen(entry->d_name);
        if (length > 5 && strcmp(entry->d_name + length - 5, ".json") == 0) {
            char **more = realloc(names, (*count + 1) * sizeof *names);
            if (more == NULL) {
                break;
            }
            names = more;
            names[*count] = strdup(entry->d_name);
            if (names[*count] != NULL) {
                (*count)++;
            }
        }
    }
    closedir(listing);
    if (*count > 0) {
        qsort(names, *count, sizeof *names, by_name);
    }
    return names;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tests/scenarios";
    char bulk_dir[4096];
    snprintf(bulk_dir, sizeof bulk_dir, "%s/bulk", dir);
    size_t count = 0, bulk_count = 0;
    char **names = json_files(dir, &count);
    char **bulk_names = json_files(bulk_dir, &bulk_count);

    char journal[64];
    snprintf(journal, sizeof journal, "/tmp/jifen-c-scenario-%ld.sqlite", (long)getpid());
    int passed = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        const char *backends[] = {NULL, journal};
        for (size_t b = 0; b < 2; b++) {
            if (run_scenario(dir, names[i], backends[b])) {
                passed++;
            } else {
                failed++;
            }
        }
        free(names[i]);
    }
    for (size_t i = 0; i < bulk_count; i++) {
        if (run_bulk_scenario(bulk_dir, bulk_names[i])) {
            passed++;
        } else {
            failed++;
        }
        free(bulk_names[i]);
    }
    free(names);
    free(bulk_names);
    printf("%d passed, %d failed\n", passed, failed);
    if (count == 0 || bulk_count == 0) {
        fprintf(stderr, "no scenarios in %s or %s: not everything was checked\n", dir, bulk_dir);
        return 1;
    }
    return failed == 0 ? 0 : 1;
}
