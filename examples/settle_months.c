/*
 * A county's months settled from C arrays, the way a poverty-information
 * platform runs its monthly batch.
 *
 *   1. Open an engine (in memory here) on the Baisha policy: it supplies the
 *      caps and the point value; jf_settle_month() records nothing.
 *   2. Hold the population as columns: category and village per household,
 *      and the running figures a month carries into the next (balance,
 *      points counted toward the annual cap, deductions this year).
 *   3. Settle March, then April, from each month's entries and redemptions.
 *      The closing balances and year-to-date figures are written straight
 *      back over the arrays passed as the opening ones: the library sees
 *      that they share memory and settles those columns apart, copying them
 *      over only when the month succeeds.
 *
 * Build: cc -Iinclude examples/settle_months.c target/debug/libjifen.a -lpthread -ldl -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jifen.h"

#define HOUSEHOLDS 8
#define ENTRIES_PER_HOUSEHOLD 4
#define ENTRIES (HOUSEHOLDS * ENTRIES_PER_HOUSEHOLD)
#define VILLAGES 2
#define STORES 1

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

/* The population: poor (0) or ordinary (1) households in two villages of one
 * township and county, and the figures each month carries into the next. */
static const char *categories[] = {"poor", "ordinary"};
static uint32_t category[HOUSEHOLDS], village[HOUSEHOLDS];
static uint32_t village_township[VILLAGES] = {0, 0}, township_county[1] = {0};
static int64_t balance[HOUSEHOLDS], ytd_credited[HOUSEHOLDS], ytd_deducted[HOUSEHOLDS];

/* One month's entries (awards, one deduction a household) and redemptions
 * (each household holding points spends half of them at the village store,
 * before the month's points are posted). */
static uint32_t e_household[ENTRIES], e_order[ENTRIES];
static uint8_t e_kind[ENTRIES], e_day[ENTRIES];
static int64_t e_points[ENTRIES];
static uint32_t r_household[HOUSEHOLDS], r_store[HOUSEHOLDS];
static int64_t r_points[HOUSEHOLDS];
static uint8_t r_reimbursable[HOUSEHOLDS];

/* Fills the month's columns; returns how many redemptions. */
static size_t make_month(int month) {
    for (int i = 0; i < ENTRIES; i++) {
        int h = i / ENTRIES_PER_HOUSEHOLD, k = i % ENTRIES_PER_HOUSEHOLD;
        e_household[i] = (uint32_t)h;
        e_order[i] = (uint32_t)k;
        e_day[i] = (uint8_t)(3 + k * 7);
        e_kind[i] = k == ENTRIES_PER_HOUSEHOLD - 1 ? 1 : 0; /* the last one a deduction */
        e_points[i] = e_kind[i] == 1 ? 5 : 10 + (h * 7 + k * 11 + month * 3) % 30;
    }
    size_t redemptions = 0;
    for (int h = 0; h < HOUSEHOLDS; h++) {
        if (balance[h] >= 2) {
            r_household[redemptions] = (uint32_t)h;
            r_store[redemptions] = 0;
            r_points[redemptions] = balance[h] / 2;
            r_reimbursable[redemptions] = 1;
            redemptions++;
        }
    }
    return redemptions;
}

int main(void) {
    static const jf_engine_options options = {.pin_hash_memory_kib = 8, .pin_hash_iterations = 1};
    static const char pepper[] = "example-pepper";
    jf_status status = jf_engine_open_memory("baisha-2019", (const uint8_t *)pepper,
                                             strlen(pepper), &options, &engine);
    if (status != JF_STATUS_OK) {
        fail("jf_engine_open_memory", status);
    }
    for (int h = 0; h < HOUSEHOLDS; h++) {
        category[h] = (uint32_t)(h % 4 == 0 ? 0 : 1);
        village[h] = (uint32_t)(h % VILLAGES);
    }

    const char *months[] = {"2025-03", "2025-04"};
    for (int m = 0; m < 2; m++) {
        size_t redemptions = make_month(m);
        jf_settle_input input = {
            .households = {.len = HOUSEHOLDS, .category = category, .village = village,
                           .opening_balance = balance, .ytd_credited = ytd_credited,
                           .ytd_deducted = ytd_deducted},
            .regions = {.villages = VILLAGES, .village_township = village_township,
                        .townships = 1, .township_county = township_county, .counties = 1},
            .entries = {.len = ENTRIES, .household = e_household, .kind = e_kind,
                        .points = e_points, .day = e_day, .order = e_order},
            .redemptions = {.len = redemptions, .household = r_household,
                            .store = r_store, .points = r_points,
                            .reimbursable = r_reimbursable},
            .stores = STORES,
        };
        int64_t credited[HOUSEHOLDS], capped[HOUSEHOLDS];
        int64_t store_fen[STORES] = {0};
        int64_t county_credited = 0, county_capped = 0, county_balance = 0, county_fen = 0;
        jf_settle_output output;
        memset(&output, 0, sizeof output); /* a NULL column is not written */
        output.households.capacity = HOUSEHOLDS;
        output.households.credited = credited;
        output.households.capped = capped;
        /* Rolled over the opening figures in place. */
        output.households.closing_balance = balance;
        output.households.ytd_credited = ytd_credited;
        output.households.ytd_deducted = ytd_deducted;
        output.stores = (jf_settle_store_results){.capacity = STORES, .amount_fen = store_fen};
        output.villages.capacity = VILLAGES;
        output.townships.capacity = 1;
        output.counties = (jf_settle_region_results){
            .capacity = 1, .credited = &county_credited, .capped = &county_capped,
            .balance = &county_balance, .liability_fen = &county_fen};

        status = jf_settle_month(engine, months[m], categories, 2, &input, 0, &output);
        if (status != JF_STATUS_OK) {
            fail("jf_settle_month", status);
        }
        printf("%s: credited %lld, capped %lld; balances %lld points (%lld.%02lld yuan); "
               "store reimbursement %lld.%02lld yuan\n",
               months[m], (long long)county_credited, (long long)county_capped,
               (long long)county_balance, (long long)(county_fen / 100),
               (long long)(county_fen % 100), (long long)(store_fen[0] / 100),
               (long long)(store_fen[0] % 100));
        for (int h = 0; h < HOUSEHOLDS; h++) {
            printf("  H%d %-8s credited %3lld capped %3lld balance %4lld year %4lld\n", h,
                   categories[category[h]], (long long)credited[h], (long long)capped[h],
                   (long long)balance[h], (long long)ytd_credited[h]);
        }
    }
    jf_engine_free(engine);
    return 0;
}
