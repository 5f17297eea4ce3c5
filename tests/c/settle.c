/*
 * Bulk settlement from C columns: a small population (24 households in 3
 * villages, 2 townships, 1 county, 2 stores) is given a February opening
 * through the engine, then March is settled by jf_settle_month() from
 * caller-owned arrays, and the same March entries are posted through the
 * engine one command at a time. Each household's closing balance must be the
 * engine's balance less its March redemptions (which the engine did not see),
 * the county totals the sums of the household rows, and the store totals the
 * sums of the redemption columns. A short output is refused with
 * JF_STATUS_BUFFER_TOO_SMALL and writes nothing. The memory a generated
 * population freed is given back by jf_memory_give_back().
 * Prints each failed check and "N checks, M failed"; exits 1 on any failure.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jifen.h"

#define HOUSEHOLDS 24
#define ENTRIES (HOUSEHOLDS * 3)
#define REDEMPTIONS HOUSEHOLDS
#define VILLAGES 3
#define TOWNSHIPS 2
#define STORES 2

static const char PEPPER[] = "settle-test-pepper";
static const jf_engine_options MINIMAL = {.pin_hash_memory_kib = 8, .pin_hash_iterations = 1};

/* Executes a request and returns the number after `field` in its answer (-1 if none). */
static long long run(jf_engine *engine, const char *request, const char *field) {
    char *answer = NULL;
    jf_status status = jf_engine_execute(engine, request, &answer);
    CHECK(status == JF_STATUS_OK);
    if (status != JF_STATUS_OK) {
        fprintf(stderr, "request %s: %s\n", request, jf_status_name(status));
    }
    long long value = -1;
    if (answer != NULL && field != NULL) {
        const char *at = strstr(answer, field);
        value = at != NULL ? atoll(at + strlen(field)) : -1;
    }
    jf_string_free(answer);
    return value;
}

int main(void) {
    jf_engine *engine = NULL;
    CHECK(jf_engine_open_memory("baisha-2019", (const uint8_t *)PEPPER, strlen(PEPPER), &MINIMAL,
                                &engine) == JF_STATUS_OK);
    if (engine == NULL) {
        return 1;
    }
    run(engine,
        "{\"actor\": \"admin\", \"command\": {\"type\": \"register_actor\", \"actor\":"
        " {\"id\": \"admin\", \"roles\": [\"administrator\"]}}}",
        NULL);

    const char *categories[] = {"poor", "ordinary"};
    uint32_t category[HOUSEHOLDS], village[HOUSEHOLDS];
    int64_t opening[HOUSEHOLDS], ytd[HOUSEHOLDS];
    uint32_t village_township[VILLAGES] = {0, 0, 1}, township_county[TOWNSHIPS] = {0, 0};
    char request[512];

    /* February, through the engine: the opening balances. */
    for (int h = 0; h < HOUSEHOLDS; h++) {
        category[h] = (uint32_t)(h % 3 == 0 ? 0 : 1);
        village[h] = (uint32_t)(h % VILLAGES);
        snprintf(request, sizeof request,
                 "{\"actor\": \"admin\", \"command\": {\"type\": \"register_household\","
                 " \"household\": \"H%02d\", \"region\": {\"county\": \"469025\", \"township\":"
                 " \"T%u\", \"village\": \"V%u\"}, \"head\": \"户主\", \"category\": \"%s\","
                 " \"category_from\": \"2025-01-01\"}}",
                 h, village_township[village[h]], village[h], categories[category[h]]);
        run(engine, request, NULL);
        snprintf(request, sizeof request,
                 "{\"actor\": \"admin\", \"reason\": \"import\", \"command\": {\"type\":"
                 " \"post_award\", \"household\": \"H%02d\", \"date\": \"2025-02-10\","
                 " \"points\": %d}}",
                 h, 40 + h);
        long long credited = run(engine, request, "\"credited\":");
        opening[h] = credited;
        ytd[h] = credited;
    }

    /* March: awards (some over the caps), small deductions, two vetoes. */
    uint32_t e_household[ENTRIES], e_order[ENTRIES];
    uint8_t e_kind[ENTRIES], e_day[ENTRIES];
    int64_t e_points[ENTRIES];
    for (int i = 0; i < ENTRIES; i++) {
        int h = i % HOUSEHOLDS, round = i / HOUSEHOLDS;
        e_household[i] = (uint32_t)h;
        e_order[i] = (uint32_t)i;
        e_day[i] = (uint8_t)(1 + round * 9 + h % 7);
        e_kind[i] = round == 2 ? (h % 11 == 0 ? 2 : 1) : 0;
        e_points[i] = e_kind[i] == 2 ? 0 : e_kind[i] == 1 ? 1 + h % 5 : 20 + (h * 7 + round * 13) % 50;
    }
    uint32_t r_household[REDEMPTIONS], r_store[REDEMPTIONS];
    int64_t r_points[REDEMPTIONS];
    uint8_t r_reimbursable[REDEMPTIONS];
    int64_t redeemed_by[HOUSEHOLDS] = {0}, store_redeemed[STORES] = {0}, store_reimb[STORES] = {0};
    for (int i = 0; i < REDEMPTIONS; i++) {
        r_household[i] = (uint32_t)i;
        r_store[i] = (uint32_t)(i % STORES);
        r_points[i] = 1 + i % 20;
        r_reimbursable[i] = (uint8_t)(i % 4 != 0);
        redeemed_by[i] += r_points[i];
        store_redeemed[r_store[i]] += r_points[i];
        store_reimb[r_store[i]] += r_reimbursable[i] ? r_points[i] : 0;
    }

    jf_settle_input input = {
        .households = {.len = HOUSEHOLDS, .category = category, .village = village,
                       .opening_balance = opening, .ytd_credited = ytd, .ytd_deducted = NULL},
        .regions = {.villages = VILLAGES, .village_township = village_township,
                    .townships = TOWNSHIPS, .township_county = township_county, .counties = 1},
        .entries = {.len = ENTRIES, .household = e_household, .kind = e_kind,
                    .points = e_points, .day = e_day, .order = e_order},
        .redemptions = {.len = REDEMPTIONS, .household = r_household, .store = r_store,
                        .points = r_points, .reimbursable = r_reimbursable},
        .stores = STORES,
    };
    int64_t closing[HOUSEHOLDS], credited[HOUSEHOLDS];
    int64_t s_redeemed[STORES], s_reimb[STORES], s_fen[STORES];
    int64_t county_credited[1] = {-1}, county_balance[1] = {-1}, county_redeemed[1] = {-1};
    int64_t village_balance[VILLAGES];
    jf_settle_output output;
    memset(&output, 0, sizeof output); /* every column NULL: not written */
    output.households.capacity = HOUSEHOLDS;
    output.households.closing_balance = closing;
    output.households.credited = credited;
    output.stores = (jf_settle_store_results){.capacity = STORES, .redeemed = s_redeemed,
                                              .reimbursable = s_reimb, .amount_fen = s_fen};
    output.villages.capacity = VILLAGES;
    output.villages.balance = village_balance;
    output.townships.capacity = TOWNSHIPS;
    output.counties = (jf_settle_region_results){.capacity = 1, .credited = county_credited,
                                                 .balance = county_balance,
                                                 .redeemed = county_redeemed};

    /* Too little room for the villages: refused, nothing written. */
    output.villages.capacity = VILLAGES - 1;
    CHECK(jf_settle_month(engine, "2025-03", categories, 2, &input, 2, &output) ==
          JF_STATUS_BUFFER_TOO_SMALL);
    CHECK(county_credited[0] == -1);
    char message[256] = "";
    size_t needed = 0;
    CHECK(jf_engine_last_error(engine, message, sizeof message, &needed) == JF_STATUS_OK);
    CHECK(strstr(message, "villages") != NULL);
    output.villages.capacity = VILLAGES;

    CHECK(jf_settle_month(engine, "2025-03", categories, 2, &input, 2, &output) == JF_STATUS_OK);

    /* More threads than any machine has: the same closing balances. */
    int64_t closing_on_two[HOUSEHOLDS];
    memcpy(closing_on_two, closing, sizeof closing_on_two);
    memset(closing, 0, sizeof closing_on_two);
    CHECK(jf_settle_month(engine, "2025-03", categories, 2, &input, UINT32_MAX, &output) ==
          JF_STATUS_OK);
    CHECK(memcmp(closing, closing_on_two, sizeof closing_on_two) == 0);

    /* The same March entries through the engine, in the kernel's order per household. */
    for (int h = 0; h < HOUSEHOLDS; h++) {
        for (int pass = 0; pass < 2; pass++) { /* vetoes first, then by day */
            for (int day = 1; day <= 31; day++) {
                for (int i = 0; i < ENTRIES; i++) {
                    if ((int)e_household[i] != h || e_day[i] != day || (e_kind[i] == 2) != (pass == 0)) {
                        continue;
                    }
                    const char *type = e_kind[i] == 0 ? "post_award"
                                       : e_kind[i] == 1 ? "post_deduction" : "post_veto";
                    char points[32] = "";
                    if (e_kind[i] != 2) {
                        snprintf(points, sizeof points, ", \"points\": %lld", (long long)e_points[i]);
                    }
                    snprintf(request, sizeof request,
                             "{\"actor\": \"admin\", \"reason\": \"import\", \"command\": {\"type\":"
                             " \"%s\", \"household\": \"H%02d\", \"date\": \"2025-03-%02d\"%s}}",
                             type, h, day, points);
                    run(engine, request, NULL);
                }
            }
        }
    }

    /* Each household's closing balance against the engine's. */
    long long credited_sum = 0, balance_sum = 0, redeemed_sum = 0;
    for (int h = 0; h < HOUSEHOLDS; h++) {
        snprintf(request, sizeof request,
                 "{\"query\": {\"type\": \"balance\", \"household\": \"H%02d\"}}", h);
        long long balance = run(engine, request, "\"balance\":");
        CHECK(closing[h] == balance - redeemed_by[h]);
        if (closing[h] != balance - redeemed_by[h]) {
            fprintf(stderr, "H%02d: kernel %lld, engine %lld less %lld redeemed\n", h,
                    (long long)closing[h], balance, (long long)redeemed_by[h]);
        }
        credited_sum += credited[h];
        balance_sum += closing[h];
        redeemed_sum += redeemed_by[h];
    }
    CHECK(county_credited[0] == credited_sum);
    CHECK(county_balance[0] == balance_sum);
    CHECK(county_redeemed[0] == redeemed_sum);
    CHECK(village_balance[0] + village_balance[1] + village_balance[2] == balance_sum);
    for (int s = 0; s < STORES; s++) {
        CHECK(s_redeemed[s] == store_redeemed[s]);
        CHECK(s_reimb[s] == store_reimb[s]);
        CHECK(s_fen[s] >= 0);
    }
    printf("settled %d households: county credited %lld, balance %lld; stores %lld/%lld fen\n",
           HOUSEHOLDS, (long long)county_credited[0], (long long)county_balance[0],
           (long long)s_fen[0], (long long)s_fen[1]);

    /* The large blocks a population freed are kept for the next of their
     * size until given back; then nothing is kept. */
    jf_population *population = NULL;
    CHECK(jf_population_generate(engine, "2025-03", 5, 300000, 4, &population) == JF_STATUS_OK);
    jf_population_free(population);
#ifdef __linux__
    CHECK(jf_memory_give_back() >= (size_t)1 << 20);
#endif
    CHECK(jf_memory_give_back() == 0);

    jf_engine_free(engine);
    return check_report();
}
