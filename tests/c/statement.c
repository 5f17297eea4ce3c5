/*
 * Reimbursement statements from C: a March at a reimbursed store with
 * purchased and donated goods and a void, month end through the JSON door,
 * then jf_statement_get (its fields checked against figures computed here
 * from the baskets) and jf_statement_record_payment: refused before approval,
 * NULL and invalid arguments, the wrong role, paid once (a keyed retry gives
 * the first answer, a second payment is refused), the statement showing it.
 * Runs under ASan/UBSan with leak checks.
 * Prints each failed check and "N checks, M failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jifen.h"

static const char PEPPER[] = "statement-test-pepper";
static const jf_engine_options MINIMAL = {.pin_hash_memory_kib = 8, .pin_hash_iterations = 1};

/* 0.335 yuan a point, so amounts need rounding (half up to the fen), split 50/50. */
static const char POLICY[] =
    "{\"extends\": \"baisha-2019\", \"point_value\": \"0.335\", \"reimbursement\":"
    " {\"rounding\": \"half_up_cents\", \"funding\": [{\"source\": \"county_finance\","
    " \"share\": \"0.5\"}, {\"source\": \"township_fund\", \"share\": \"0.5\"}]}}";
static const int64_t POINT_VALUE_MILLI = 335;

static const int64_t MARCH_10 = 1741572000; /* 2025-03-10T02:00:00Z */
static const int64_t APRIL_7 = 1743991200;  /* 2025-04-07T02:00:00Z */

#define REGION "\"region\": {\"county\": \"469025\", \"township\": \"T01\", \"village\": \"V01\"}"
#define AT "\"at\": \"2025-03-10T01:00:00Z\""
#define ACTOR(id, role)                                                                  \
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"     \
    " {\"id\": \"" id "\", \"roles\": [\"" role "\"]}}}"
#define HOUSEHOLD(id, card)                                                               \
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_household\", \"household\":" \
    " \"" id "\", " REGION ", \"head\": \"户主" id "\", \"category\": \"poor\","          \
    " \"category_from\": \"2025-01-01\"}}",                                               \
        "{\"actor\": \"admin\", \"command\": {\"type\": \"issue_card\", \"card\": \"" card  \
        "\", \"household\": \"" id "\", \"pin\": \"123456\"}}",                           \
        "{\"actor\": \"admin\", \"reason\": \"import\", \"command\": {\"type\":"            \
        " \"post_award\", \"household\": \"" id "\", \"date\": \"2025-03-05\","             \
        " \"points\": 100}}"
#define ITEM(sku, points)                                                                  \
    "{\"actor\": \"keeper\", " AT ", \"command\": {\"type\": \"list_item\", \"store\":"    \
    " \"S1\", \"sku\": \"" sku "\", \"name\": \"" sku "\", \"category\": \"grain\"}}",     \
        "{\"actor\": \"keeper\", " AT ", \"command\": {\"type\": \"propose_price\","       \
        " \"store\": \"S1\", \"sku\": \"" sku "\", \"price\": {\"points\": " #points "},"  \
        " \"market_price\": \"" #points ".00\"}}",                                         \
        "{\"actor\": \"county\", " AT ", \"command\": {\"type\": \"forward_price\","       \
        " \"store\": \"S1\", \"sku\": \"" sku "\", \"proposal\": 1}}",                     \
        "{\"actor\": \"bureau\", " AT ", \"command\": {\"type\": \"approve_price\","       \
        " \"store\": \"S1\", \"sku\": \"" sku "\", \"proposal\": 1}}"
#define PURCHASED(sku)                                                                     \
    "{\"actor\": \"keeper\", " AT ", \"command\": {\"type\": \"receive_stock\", \"store\":" \
    " \"S1\", \"sku\": \"" sku "\", \"quantity\": 30, \"source\": {\"kind\": \"purchased\","  \
    " \"purchase_ref\": \"PO-" sku "\", \"unit_cost\": \"5.00\"}}}"

static const char *SETUP[] = {
    ACTOR("admin", "administrator"),
    ACTOR("keeper", "store_keeper"),
    ACTOR("county", "county_office"),
    ACTOR("bureau", "price_bureau"),
    ACTOR("sup", "supervisor"),
    ACTOR("fin", "finance"),
    HOUSEHOLD("H1", "C1"),
    HOUSEHOLD("H2", "C2"),
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_store\", \"store\": \"S1\","
    " \"name\": \"七坊村超市\", \"kind\": \"village_store\", " REGION ", \"reimbursed\": true,"
    " \"keepers\": [\"keeper\"]}}",
    "{\"actor\": \"county\", " AT ", \"command\": {\"type\": \"register_donation\", \"donation\":"
    " \"D1\", \"donor\": \"爱心企业\", \"date\": \"2025-03-01\", \"receiving_body\": \"某乡人民政府\","
    " \"goods\": [{\"description\": \"食用油\", \"quantity\": 10, \"unit_value\": \"50.00\"}],"
    " \"allocations\": [{\"kind\": \"goods\", \"store\": \"S1\", \"line\": 1, \"quantity\": 10}]}}",
    ITEM("RICE", 10),
    ITEM("SOAP", 3),
    ITEM("OIL", 7),
    PURCHASED("RICE"),
    PURCHASED("SOAP"),
    "{\"actor\": \"keeper\", " AT ", \"command\": {\"type\": \"receive_stock\", \"store\": \"S1\","
    " \"sku\": \"OIL\", \"quantity\": 10, \"source\": {\"kind\": \"donated\", \"donation\": \"D1\","
    " \"line\": 1}}}",
};

/* The items: OIL came from the donation, so the store is not reimbursed for it. */
typedef struct {
    const char *sku;
    int64_t points;
    bool donated;
} item;

static const item ITEMS[] = {{"RICE", 10, false}, {"SOAP", 3, false}, {"OIL", 7, true}};

typedef struct {
    const char *card;
    jf_basket_line lines[3];
    size_t count;
    bool voided;
} redemption;

static const redemption MARCH[] = {
    {"C1", {{"RICE", 2}, {"SOAP", 1}, {"OIL", 1}}, 3, false},
    {"C2", {{"RICE", 3}}, 1, true},
    {"C2", {{"RICE", 1}, {"SOAP", 2}}, 2, false},
};
#define REDEMPTIONS (sizeof MARCH / sizeof *MARCH)

/* The basket's points on purchased goods. */
static int64_t purchased_points(const redemption *r) {
    int64_t points = 0;
    for (size_t i = 0; i < r->count; i++) {
        for (size_t j = 0; j < sizeof ITEMS / sizeof *ITEMS; j++) {
            if (strcmp(r->lines[i].sku, ITEMS[j].sku) == 0 && !ITEMS[j].donated) {
                points += ITEMS[j].points * r->lines[i].quantity;
            }
        }
    }
    return points;
}

/* A decimal yuan string ("13.07", "0", "-1.5") in fen, or INT64_MIN when malformed. */
static int64_t fen_of(const char *text) {
    if (text == NULL) {
        return INT64_MIN;
    }
    char *end = NULL;
    bool negative = text[0] == '-';
    long long whole = strtoll(negative ? text + 1 : text, &end, 10);
    int64_t fen = (int64_t)whole * 100;
    if (*end == '.') {
        const char *digits = end + 1;
        size_t n = strlen(digits);
        if (n == 0 || n > 2 || strspn(digits, "0123456789") != n) {
            return INT64_MIN;
        }
        fen += (digits[0] - '0') * 10 + (n == 2 ? digits[1] - '0' : 0);
    } else if (*end != '\0') {
        return INT64_MIN;
    }
    return negative ? -fen : fen;
}

static const char *text_at(const cJSON *object, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool text_is(const cJSON *object, const char *key, const char *want) {
    const char *got = text_at(object, key);
    return got != NULL && strcmp(got, want) == 0;
}

static double number_at(const cJSON *object, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsNumber(item) ? item->valuedouble : -1;
}

/* jf_statement_get, parsed; NULL (checked) when it fails. */
static cJSON *get_statement(jf_engine *engine, const char *store, const char *month) {
    char *json = NULL;
    CHECK_STATUS(jf_statement_get(engine, store, month, &json), JF_STATUS_OK);
    if (json == NULL) {
        return NULL;
    }
    cJSON *statement = cJSON_Parse(json);
    CHECK(statement != NULL);
    jf_string_free(json);
    return statement;
}

static void execute(jf_engine *engine, const char *request) {
    char *answer = NULL;
    jf_status status = jf_engine_execute(engine, request, &answer);
    checks++;
    if (status != JF_STATUS_OK) {
        failures++;
        char message[512];
        size_t needed = 0;
        jf_engine_last_error(engine, message, sizeof message, &needed);
        fprintf(stderr, "request failed (%s: %s): %s\n", jf_status_name(status), message,
                request);
    }
    jf_string_free(answer);
}

static bool last_error_mentions(jf_engine *engine, const char *needle) {
    char message[512];
    size_t needed = 0;
    return jf_engine_last_error(engine, message, sizeof message, &needed) == JF_STATUS_OK &&
           strstr(message, needle) != NULL;
}

int main(void) {
    jf_engine *engine = NULL;
    CHECK_STATUS(jf_engine_open_memory(POLICY, (const uint8_t *)PEPPER, strlen(PEPPER), &MINIMAL,
                                       &engine),
                 JF_STATUS_OK);
    if (engine == NULL) {
        return 1;
    }
    for (size_t i = 0; i < sizeof SETUP / sizeof *SETUP; i++) {
        execute(engine, SETUP[i]);
    }

    /* March: the redemptions through the kiosk calls, one voided the same day. */
    char numbers[REDEMPTIONS][32] = {{0}};
    int64_t expected_points = 0;
    for (size_t i = 0; i < REDEMPTIONS; i++) {
        const redemption *r = &MARCH[i];
        jf_call keeper = {.actor = "keeper", .at_unix = MARCH_10 + 600 * (int64_t)i};
        jf_kiosk_receipt receipt;
        CHECK_STATUS(jf_kiosk_redeem(engine, &keeper, "S1", r->card, "123456", r->lines, r->count,
                                     "SIG", &receipt),
                     JF_STATUS_OK);
        if (receipt.number != NULL) {
            snprintf(numbers[i], sizeof numbers[i], "%s", receipt.number);
        }
        jf_kiosk_receipt_clear(&receipt);
        if (r->voided) {
            jf_kiosk_void voided;
            keeper.reason = "顾客退货";
            CHECK_STATUS(jf_kiosk_void_receipt(engine, &keeper, numbers[i], "sup", &voided),
                         JF_STATUS_OK);
        } else {
            expected_points += purchased_points(r);
        }
    }
    /* Points × 0.335 yuan, rounded half up to the fen once for the statement. */
    const int64_t expected_fen = (expected_points * POINT_VALUE_MILLI + 5) / 10;
    /* The baskets put the amount on a half fen, so the rounding shows. */
    CHECK(expected_points > 0 && expected_points * POINT_VALUE_MILLI % 10 == 5);

    /* No statement before month end; the output stays untouched. */
    char *json = NULL;
    CHECK_STATUS(jf_statement_get(engine, "S1", "2025-03", &json), JF_STATUS_UNKNOWN_STATEMENT);
    CHECK(json == NULL);
    CHECK(last_error_mentions(engine, "S1-2025-03"));
    execute(engine,
            "{\"actor\": \"county\", \"at\": \"2025-04-01T02:00:00Z\", \"command\": {\"type\":"
            " \"generate_statements\", \"month\": \"2025-03\"}}");

    cJSON *statement = get_statement(engine, "S1", "2025-03");
    CHECK(text_is(statement, "id", "S1-2025-03"));
    CHECK(text_is(statement, "store", "S1"));
    CHECK(text_is(statement, "month", "2025-03"));
    CHECK(text_is(statement, "village", "V01"));
    CHECK(text_is(statement, "status", "generated"));
    CHECK(text_is(statement, "point_value", "0.335"));
    CHECK(text_is(statement, "due", "2025-04-05"));
    CHECK(number_at(statement, "points") == (double)expected_points);
    const int64_t amount_fen = fen_of(text_at(statement, "amount"));
    CHECK(amount_fen == expected_fen);
    const cJSON *lines = cJSON_GetObjectItemCaseSensitive(statement, "lines");
    CHECK(cJSON_GetArraySize(lines) == 2);
    double line_points = 0;
    const cJSON *line = NULL;
    cJSON_ArrayForEach(line, lines) {
        line_points += number_at(line, "points");
        CHECK(!text_is(line, "receipt", numbers[1])); /* the voided receipt */
    }
    CHECK(line_points == (double)expected_points);
    int64_t funded = 0;
    const cJSON *part = NULL;
    cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(statement, "funding")) {
        int64_t share = fen_of(text_at(part, "amount"));
        CHECK(share == expected_fen / 2 || share == expected_fen - expected_fen / 2);
        funded += share;
    }
    CHECK(funded == expected_fen);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(statement, "payments")) == 0);
    cJSON_Delete(statement);

    /* No payment before approval; a failed call leaves the output as it was. */
    jf_call finance = {.actor = "fin", .at_unix = APRIL_7};
    jf_payment payment = {.amount_fen = -1};
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, "S1", "2025-03", "BANK-0",
                                             "2025-04-07", &payment),
                 JF_STATUS_STATEMENT_WRONG_STAGE);
    CHECK(payment.amount_fen == -1);

    /* The store's statement (agreeing with the ledger), review, approval. */
    char submit[1024];
    snprintf(submit, sizeof submit,
             "{\"actor\": \"keeper\", \"at\": \"2025-04-02T02:00:00Z\", \"command\": {\"type\":"
             " \"submit_store_statement\", \"store\": \"S1\", \"month\": \"2025-03\", \"account\":"
             " \"6217-0001\", \"lines\": [{\"receipt\": \"%s\", \"date\": \"2025-03-10\","
             " \"household\": \"H1\", \"points\": %lld}, {\"receipt\": \"%s\", \"date\":"
             " \"2025-03-10\", \"household\": \"H2\", \"points\": %lld}]}}",
             numbers[0], (long long)purchased_points(&MARCH[0]), numbers[2],
             (long long)purchased_points(&MARCH[2]));
    execute(engine, submit);
    execute(engine,
            "{\"actor\": \"county\", \"at\": \"2025-04-03T02:00:00Z\", \"command\": {\"type\":"
            " \"review_statement\", \"statement\": \"S1-2025-03\"}}");
    execute(engine,
            "{\"actor\": \"fin\", \"at\": \"2025-04-03T03:00:00Z\", \"command\": {\"type\":"
            " \"approve_statement\", \"statement\": \"S1-2025-03\"}}");
    statement = get_statement(engine, "S1", "2025-03");
    CHECK(text_is(statement, "status", "approved"));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(statement, "differences")) == 0);
    cJSON_Delete(statement);

    /* NULL and invalid arguments: the documented status, nothing written, nothing paid. */
    CHECK_STATUS(jf_statement_get(NULL, "S1", "2025-03", &json), JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_get(engine, NULL, "2025-03", &json), JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_get(engine, "S1", NULL, &json), JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_get(engine, "S1", "2025-03", NULL), JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_get(engine, "S\xff", "2025-03", &json), JF_STATUS_INVALID_UTF8);
    CHECK_STATUS(jf_statement_get(engine, "S1", "2025-3x", &json), JF_STATUS_BAD_PERIOD);
    CHECK_STATUS(jf_statement_get(engine, "S9", "2025-03", &json), JF_STATUS_UNKNOWN_STATEMENT);
    CHECK(json == NULL);

    const char *S1 = "S1", *MONTH = "2025-03", *REF = "BANK-20250407-001", *DATE = "2025-04-07";
    CHECK_STATUS(jf_statement_record_payment(NULL, &finance, S1, MONTH, REF, DATE, &payment),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_record_payment(engine, NULL, S1, MONTH, REF, DATE, &payment),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, NULL, MONTH, REF, DATE, &payment),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, NULL, REF, DATE, &payment),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, MONTH, NULL, DATE, &payment),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, MONTH, REF, NULL, &payment),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, MONTH, REF, DATE, NULL),
                 JF_STATUS_NULL_ARGUMENT);
    jf_call nobody = {.actor = NULL, .at_unix = APRIL_7};
    CHECK_STATUS(jf_statement_record_payment(engine, &nobody, S1, MONTH, REF, DATE, &payment),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(
        jf_statement_record_payment(engine, &finance, S1, MONTH, "BANK-\xff", DATE, &payment),
        JF_STATUS_INVALID_UTF8);
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, "March", REF, DATE, &payment),
                 JF_STATUS_BAD_PERIOD);
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, MONTH, REF, "7 April", &payment),
                 JF_STATUS_INVALID_VALUE);
    CHECK(last_error_mentions(engine, "7 April"));
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, MONTH, " ", DATE, &payment),
                 JF_STATUS_INVALID_VALUE);
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, "S9", MONTH, REF, DATE, &payment),
                 JF_STATUS_UNKNOWN_STATEMENT);
    jf_call keeper = {.actor = "keeper", .at_unix = APRIL_7};
    CHECK_STATUS(jf_statement_record_payment(engine, &keeper, S1, MONTH, REF, DATE, &payment),
                 JF_STATUS_MISSING_ROLE);
    CHECK(payment.amount_fen == -1);

    /* Paid once, for the statement's amount; a keyed retry gives the first answer. */
    finance.idempotency_key = "pay-S1-2025-03";
    finance.reason = "March reimbursement";
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, MONTH, REF, DATE, &payment),
                 JF_STATUS_OK);
    CHECK(payment.amount_fen == expected_fen);
    jf_payment retried = {.amount_fen = -1};
    CHECK_STATUS(jf_statement_record_payment(engine, &finance, S1, MONTH, REF, DATE, &retried),
                 JF_STATUS_OK);
    CHECK(retried.amount_fen == expected_fen);

    /* A second payment is refused with the double-payment status. */
    jf_call again = {.actor = "fin", .at_unix = APRIL_7 + 86400};
    jf_payment second = {.amount_fen = -1};
    CHECK_STATUS(jf_statement_record_payment(engine, &again, S1, MONTH, "BANK-20250408-002",
                                             "2025-04-08", &second),
                 JF_STATUS_STATEMENT_ALREADY_PAID);
    CHECK(second.amount_fen == -1);
    CHECK(last_error_mentions(engine, REF));

    statement = get_statement(engine, "S1", "2025-03");
    CHECK(text_is(statement, "status", "paid"));
    const cJSON *payments = cJSON_GetObjectItemCaseSensitive(statement, "payments");
    CHECK(cJSON_GetArraySize(payments) == 1);
    const cJSON *paid = cJSON_GetArrayItem(payments, 0);
    CHECK(text_is(paid, "reference", REF));
    CHECK(text_is(paid, "date", DATE));
    CHECK(text_is(paid, "by", "fin"));
    CHECK(fen_of(text_at(paid, "amount")) == expected_fen);
    cJSON_Delete(statement);

    char *head = NULL;
    CHECK_STATUS(jf_engine_verify(engine, &head), JF_STATUS_OK);
    jf_string_free(head);
    jf_engine_free(engine);
    return check_report();
}
