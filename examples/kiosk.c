/*
 * A points-supermarket kiosk in C, start to finish.
 *
 *   1. Open an engine (in memory here) on the Baisha policy.
 *   2. Set up, through the JSON door jf_engine_execute(): staff, a household
 *      with 100 points and a card (PIN 123456), a store with rice at an
 *      approved price of 10 points and 20 bags in stock.
 *   3. The kiosk flow, all typed calls: look up the card, check the PIN and
 *      show the balance, list what the household can take, reserve 3 bags,
 *      commit (the household signed), print the receipt, and drain the
 *      notifications (the SMS the host sends).
 *
 * Every call returns a jf_status; JF_STATUS_OK is 0. On failure, the engine
 * keeps a message: see fail() below. Strings and structs the library fills
 * are released with jf_string_free() and the *_clear() functions.
 *
 * Build: cc -Iinclude examples/kiosk.c target/debug/libjifen.a -lpthread -ldl -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jifen.h"

static jf_engine *engine;

/* Prints why a call failed and exits. */
static void fail(const char *what, jf_status status) {
    char message[512] = "";
    size_t needed = 0;
    if (engine != NULL) {
        jf_engine_last_error(engine, message, sizeof message, &needed);
    }
    fprintf(stderr, "%s failed: %s: %s\n", what, jf_status_name(status), message);
    jf_engine_free(engine);
    exit(1);
}

#define TRY(call)                             \
    do {                                      \
        jf_status status_ = (call);           \
        if (status_ != JF_STATUS_OK) {        \
            fail(#call, status_);             \
        }                                     \
    } while (0)

/* Runs one JSON request during setup; the answer is not needed here. */
static void setup(const char *request) {
    char *answer = NULL;
    TRY(jf_engine_execute(engine, request, &answer));
    jf_string_free(answer);
}

#define REGION "\"region\": {\"county\": \"469025\", \"township\": \"T01\", \"village\": \"V01\"}"
#define MORNING "\"at\": \"2025-03-10T02:00:00Z\""

int main(void) {
    /* 1. Open. The pepper is the host's secret for PIN hashes; keep it out of the journal. */
    const char pepper[] = "host-secret";
    jf_engine_options options = {0}; /* 0: defaults */
    options.pin_hash_memory_kib = 8;  /* cheap hashes keep the example quick */
    options.pin_hash_iterations = 1;
    TRY(jf_engine_open_memory("baisha-2019", (const uint8_t *)pepper, strlen(pepper), &options,
                              &engine));

    /* 2. Setup through JSON (normally done once by the village office). */
    setup("{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
          " {\"id\": \"admin\", \"roles\": [\"administrator\"]}}}");
    setup("{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
          " {\"id\": \"keeper\", \"roles\": [\"store_keeper\"]}}}");
    setup("{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
          " {\"id\": \"county\", \"roles\": [\"county_office\"]}}}");
    setup("{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
          " {\"id\": \"bureau\", \"roles\": [\"price_bureau\"]}}}");
    setup("{\"actor\": \"admin\", \"command\": {\"type\": \"register_household\","
          " \"household\": \"H1\", " REGION ", \"head\": \"王大山\", \"category\": \"poor\","
          " \"category_from\": \"2025-01-01\"}}");
    setup("{\"actor\": \"admin\", \"command\": {\"type\": \"issue_card\", \"card\": \"C0001\","
          " \"household\": \"H1\", \"pin\": \"123456\"}}");
    setup("{\"actor\": \"admin\", \"reason\": \"March scores\", \"command\": {\"type\":"
          " \"post_award\", \"household\": \"H1\", \"date\": \"2025-03-05\", \"points\": 100}}");
    setup("{\"actor\": \"admin\", \"command\": {\"type\": \"register_store\", \"store\": \"S1\","
          " \"name\": \"七坊村电商惠农超市\", \"kind\": \"village_store\", " REGION ","
          " \"reimbursed\": true, \"keepers\": [\"keeper\"], \"hold_minutes\": 5}}");
    setup("{\"actor\": \"keeper\", " MORNING ", \"command\": {\"type\": \"list_item\","
          " \"store\": \"S1\", \"sku\": \"RICE\", \"name\": \"大米5kg\", \"category\": \"grain\","
          " \"unit\": \"袋\"}}");
    setup("{\"actor\": \"keeper\", " MORNING ", \"command\": {\"type\": \"propose_price\","
          " \"store\": \"S1\", \"sku\": \"RICE\", \"price\": {\"points\": 10},"
          " \"market_price\": \"10.00\"}}");
    setup("{\"actor\": \"county\", " MORNING ", \"command\": {\"type\": \"forward_price\","
          " \"store\": \"S1\", \"sku\": \"RICE\", \"proposal\": 1}}");
    setup("{\"actor\": \"bureau\", " MORNING ", \"command\": {\"type\": \"approve_price\","
          " \"store\": \"S1\", \"sku\": \"RICE\", \"proposal\": 1}}");
    setup("{\"actor\": \"keeper\", " MORNING ", \"command\": {\"type\": \"receive_stock\","
          " \"store\": \"S1\", \"sku\": \"RICE\", \"quantity\": 20, \"source\": {\"kind\":"
          " \"purchased\", \"purchase_ref\": \"PO-1\", \"unit_cost\": \"8.50\"},"
          " \"expires\": \"2025-12-31\"}}");

    /* 3. The kiosk. Calls that record something say who and when (Unix seconds; 0 = now). */
    const int64_t morning = 1741572000; /* 2025-03-10T02:00:00Z, 10:00 in China */
    jf_call keeper = {.actor = "keeper", .at_unix = morning + 60};

    /* The card is read: who is it, and can they redeem here today? */
    jf_kiosk_card card;
    TRY(jf_kiosk_look_up_card(engine, "S1", "C0001", keeper.at_unix, &card));
    printf("card C0001: household %s (%s), %s, store %s\n", card.household, card.head,
           card.card_status == JF_CARD_STATUS_ACTIVE ? "active" : "not active",
           card.store_open ? "open" : card.closed_because);
    jf_kiosk_card_clear(&card);

    /* The household types its PIN; a wrong one returns JF_STATUS_WRONG_PIN. */
    jf_kiosk_funds funds;
    TRY(jf_kiosk_check_card(engine, &keeper, "C0001", "123456", &funds));
    printf("balance %lld, held %lld, available %lld\n", (long long)funds.balance,
           (long long)funds.held, (long long)funds.available);

    /* What can they take? A JSON array, one object per item. */
    char *items = NULL;
    TRY(jf_kiosk_items(engine, "S1", "C0001", keeper.at_unix, &items));
    printf("items: %s\n", items);
    jf_string_free(items);

    /* Reserve 3 bags of rice: points and stock are held for 5 minutes. */
    jf_basket_line basket[] = {{.sku = "RICE", .quantity = 3}};
    jf_kiosk_hold hold;
    TRY(jf_kiosk_reserve(engine, &keeper, "S1", "C0001", "123456", basket, 1, &hold));
    printf("hold %s: %lld points\n", hold.id, (long long)hold.points);

    /* The household signs; commit. (jf_kiosk_cancel(engine, &keeper, hold.id) lets it go.) */
    jf_kiosk_receipt receipt;
    TRY(jf_kiosk_commit(engine, &keeper, hold.id, "SIG-0001", &receipt));
    jf_kiosk_hold_clear(&hold);
    printf("---- %s ----\nreceipt %s  %s\n%s户 (%s)\n%lld units, %lld points, balance %lld\n"
           "detail (JSON): %s\n----\n",
           receipt.store_name, receipt.number, receipt.date, receipt.head, receipt.household,
           (long long)receipt.units, (long long)receipt.points, (long long)receipt.balance_after,
           receipt.json);
    int ok = receipt.points == 30 && receipt.balance_after == 70;
    jf_kiosk_receipt_clear(&receipt);

    /* The host sends the SMS: take every pending notification (an administrator's call). */
    jf_call office = {.actor = "admin", .at_unix = morning + 120};
    char *notifications = NULL;
    TRY(jf_kiosk_take_notifications(engine, &office, 0, &notifications));
    printf("notifications: %s\n", notifications);
    ok = ok && strstr(notifications, "redemption_made") != NULL;
    jf_string_free(notifications);

    jf_engine_free(engine);
    if (!ok) {
        fprintf(stderr, "the receipt or the notifications are not what the flow should give\n");
        return 1;
    }
    return 0;
}
