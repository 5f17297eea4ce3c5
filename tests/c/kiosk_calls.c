/*
 * The typed kiosk calls from C, beyond the happy path of examples/kiosk.c:
 * outputs untouched on failure, a wrong PIN counted until the card locks,
 * a hold cancelled and its points free again, a retried commit under its key,
 * a void with and without a reason, a voided receipt reprinted, the _clear
 * functions run twice, NULL arguments. Runs under ASan/UBSan with leak checks.
 * Prints each failed check and "N checks, M failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jifen.h"

static const char PEPPER[] = "kiosk-test-pepper";
static const jf_engine_options MINIMAL = {.pin_hash_memory_kib = 8, .pin_hash_iterations = 1};
static const int64_t MORNING = 1741572000; /* 2025-03-10T02:00:00Z */

#define REGION "\"region\": {\"county\": \"469025\", \"township\": \"T01\", \"village\": \"V01\"}"
#define AT "\"at\": \"2025-03-10T02:00:00Z\""

static const char *SETUP[] = {
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
    " {\"id\": \"admin\", \"roles\": [\"administrator\"]}}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
    " {\"id\": \"keeper\", \"roles\": [\"store_keeper\"]}}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
    " {\"id\": \"county\", \"roles\": [\"county_office\"]}}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
    " {\"id\": \"bureau\", \"roles\": [\"price_bureau\"]}}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
    " {\"id\": \"sup\", \"roles\": [\"supervisor\"]}}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_household\", \"household\": \"H1\", " REGION
    ", \"head\": \"户主H1\", \"category\": \"poor\", \"category_from\": \"2025-01-01\"}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"issue_card\", \"card\": \"C1\", \"household\":"
    " \"H1\", \"pin\": \"123456\"}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_household\", \"household\": \"H2\", " REGION
    ", \"head\": \"户主H2\", \"category\": \"poor\", \"category_from\": \"2025-01-01\"}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"issue_card\", \"card\": \"C2\", \"household\":"
    " \"H2\", \"pin\": \"654321\"}}",
    "{\"actor\": \"admin\", \"reason\": \"import\", \"command\": {\"type\": \"post_award\","
    " \"household\": \"H1\", \"date\": \"2025-03-05\", \"points\": 100}}",
    "{\"actor\": \"admin\", \"command\": {\"type\": \"register_store\", \"store\": \"S1\", \"name\":"
    " \"七坊村超市\", \"kind\": \"village_store\", " REGION ", \"reimbursed\": true, \"keepers\":"
    " [\"keeper\"], \"hold_minutes\": 5}}",
    "{\"actor\": \"keeper\", " AT ", \"command\": {\"type\": \"list_item\", \"store\": \"S1\", \"sku\":"
    " \"RICE\", \"name\": \"大米5kg\", \"category\": \"grain\", \"unit\": \"袋\"}}",
    "{\"actor\": \"keeper\", " AT ", \"command\": {\"type\": \"propose_price\", \"store\": \"S1\","
    " \"sku\": \"RICE\", \"price\": {\"points\": 10}, \"market_price\": \"10.00\"}}",
    "{\"actor\": \"county\", " AT ", \"command\": {\"type\": \"forward_price\", \"store\": \"S1\","
    " \"sku\": \"RICE\", \"proposal\": 1}}",
    "{\"actor\": \"bureau\", " AT ", \"command\": {\"type\": \"approve_price\", \"store\": \"S1\","
    " \"sku\": \"RICE\", \"proposal\": 1}}",
    "{\"actor\": \"keeper\", " AT ", \"command\": {\"type\": \"receive_stock\", \"store\": \"S1\","
    " \"sku\": \"RICE\", \"quantity\": 20, \"source\": {\"kind\": \"purchased\", \"purchase_ref\":"
    " \"PO-1\", \"unit_cost\": \"8.50\"}, \"expires\": \"2025-12-31\"}}",
};

static jf_call at_minute(const char *actor, int minute) {
    jf_call call = {.actor = actor, .at_unix = MORNING + 60 * minute};
    return call;
}

int main(void) {
    jf_engine *engine = NULL;
    CHECK_STATUS(jf_engine_open_memory("baisha-2019", (const uint8_t *)PEPPER, strlen(PEPPER),
                                       &MINIMAL, &engine),
                 JF_STATUS_OK);
    if (engine == NULL) {
        return 1;
    }
    for (size_t i = 0; i < sizeof SETUP / sizeof *SETUP; i++) {
        char *answer = NULL;
        CHECK_STATUS(jf_engine_execute(engine, SETUP[i], &answer), JF_STATUS_OK);
        jf_string_free(answer);
    }
    jf_basket_line rice[] = {{.sku = "RICE", .quantity = 4}};

    /* A failed call leaves the outputs as they were. */
    jf_kiosk_funds funds = {.balance = -1, .held = -1, .available = -1};
    jf_call keeper = at_minute("keeper", 0);
    CHECK_STATUS(jf_kiosk_check_card(engine, &keeper, "C404", "123456", &funds),
                 JF_STATUS_UNKNOWN_CARD);
    CHECK(funds.balance == -1 && funds.held == -1 && funds.available == -1);
    CHECK_STATUS(jf_kiosk_check_card(engine, NULL, "C1", "123456", &funds),
                 JF_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(jf_kiosk_reserve(engine, &keeper, "S1", "C1", "123456", NULL, 1, NULL),
                 JF_STATUS_NULL_ARGUMENT);

    /* Wrong PINs count until the card locks; the look-up then shows it locked. */
    jf_status last = JF_STATUS_OK;
    int attempts = 0;
    while (attempts < 10 && last != JF_STATUS_CARD_LOCKED) {
        last = jf_kiosk_check_card(engine, &keeper, "C2", "000000", &funds);
        attempts++;
    }
    CHECK(last == JF_STATUS_CARD_LOCKED);
    CHECK(attempts > 1);
    jf_kiosk_card card;
    CHECK_STATUS(jf_kiosk_look_up_card(engine, "S1", "C2", MORNING, &card), JF_STATUS_OK);
    CHECK(card.card_status == JF_CARD_STATUS_LOCKED);
    CHECK(strcmp(card.household, "H2") == 0);
    jf_kiosk_card_clear(&card);
    CHECK(card.household == NULL && card.head == NULL);
    jf_kiosk_card_clear(&card); /* a second clear does nothing */

    /* A cancelled hold frees its points. */
    jf_kiosk_hold hold;
    keeper = at_minute("keeper", 1);
    CHECK_STATUS(jf_kiosk_reserve(engine, &keeper, "S1", "C1", "123456", rice, 1, &hold),
                 JF_STATUS_OK);
    CHECK(hold.points == 40);
    keeper = at_minute("keeper", 2);
    CHECK_STATUS(jf_kiosk_check_card(engine, &keeper, "C1", "123456", &funds), JF_STATUS_OK);
    CHECK(funds.balance == 100 && funds.held == 40 && funds.available == 60);
    CHECK_STATUS(jf_kiosk_cancel(engine, &keeper, hold.id), JF_STATUS_OK);
    CHECK_STATUS(jf_kiosk_cancel(engine, &keeper, hold.id), JF_STATUS_HOLD_CLOSED);
    CHECK_STATUS(jf_kiosk_check_card(engine, &keeper, "C1", "123456", &funds), JF_STATUS_OK);
    CHECK(funds.held == 0 && funds.available == 100);
    jf_kiosk_hold_clear(&hold);
    jf_kiosk_hold_clear(&hold);

    /* A one-step redemption retried under its key gives the first receipt once. */
    jf_call keyed = at_minute("keeper", 3);
    keyed.idempotency_key = "kiosk-3-1";
    jf_kiosk_receipt first, again;
    CHECK_STATUS(jf_kiosk_redeem(engine, &keyed, "S1", "C1", "123456", rice, 1, "SIG-1", &first),
                 JF_STATUS_OK);
    CHECK_STATUS(jf_kiosk_redeem(engine, &keyed, "S1", "C1", "123456", rice, 1, "SIG-1", &again),
                 JF_STATUS_OK);
    CHECK(strcmp(first.number, again.number) == 0);
    CHECK(first.balance_after == 60 && again.balance_after == 60);
    CHECK(first.units == 4 && first.line_count == 1 && !first.voided);
    jf_kiosk_receipt_clear(&again);

    /* A void needs a reason and another person's approval; the reprint shows it. */
    jf_kiosk_void voided = {.points = -1, .balance_after = -1};
    keeper = at_minute("keeper", 4);
    CHECK_STATUS(jf_kiosk_void_receipt(engine, &keeper, first.number, "sup", &voided),
                 JF_STATUS_INVALID_VALUE);
    CHECK(voided.points == -1);
    keeper.reason = "wrong item";
    CHECK_STATUS(jf_kiosk_void_receipt(engine, &keeper, first.number, "sup", &voided),
                 JF_STATUS_OK);
    CHECK(voided.points == 40 && voided.balance_after == 100);
    CHECK_STATUS(jf_kiosk_void_receipt(engine, &keeper, first.number, "sup", &voided),
                 JF_STATUS_ALREADY_VOIDED);
    jf_kiosk_receipt reprint;
    CHECK_STATUS(jf_kiosk_reprint(engine, first.number, &reprint), JF_STATUS_OK);
    CHECK(reprint.voided);
    CHECK(strstr(reprint.json, "wrong item") != NULL);
    jf_kiosk_receipt_clear(&reprint);
    jf_kiosk_receipt_clear(&first);
    CHECK(first.number == NULL && first.json == NULL);
    CHECK_STATUS(jf_kiosk_reprint(engine, "S1-999999", &reprint), JF_STATUS_UNKNOWN_RECEIPT);

    /* Notifications: one at a time, then the rest; none are handed out twice. */
    jf_call office = at_minute("admin", 5);
    char *taken = NULL;
    CHECK_STATUS(jf_kiosk_take_notifications(engine, &office, 1, &taken), JF_STATUS_OK);
    CHECK(taken != NULL && strstr(taken, "\"points_posted\"") != NULL);
    jf_string_free(taken);
    taken = NULL;
    CHECK_STATUS(jf_kiosk_take_notifications(engine, &office, 0, &taken), JF_STATUS_OK);
    CHECK(taken != NULL && strstr(taken, "\"card_locked\"") != NULL);
    CHECK(taken != NULL && strstr(taken, "\"redemption_voided\"") != NULL);
    CHECK(taken != NULL && strstr(taken, "\"points_posted\"") == NULL);
    CHECK(taken != NULL && strstr(taken, "\"remaining\":0") != NULL);
    jf_string_free(taken);

    jf_kiosk_card_clear(NULL);
    jf_kiosk_hold_clear(NULL);
    jf_kiosk_receipt_clear(NULL);
    char *head = NULL;
    CHECK_STATUS(jf_engine_verify(engine, &head), JF_STATUS_OK);
    jf_string_free(head);
    jf_engine_free(engine);
    return check_report();
}
