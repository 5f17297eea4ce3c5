//! Replays every conformance scenario in `tests/scenarios/` through the Rust
//! engine's JSON door, and every bulk settlement scenario in
//! `tests/scenarios/bulk/` through the bulk kernel, as
//! tests/scenarios/README.md describes.

mod scenario_support;

use std::str::FromStr;

use jifen::settlement::bulk::{
    settle, settle_partitions, HouseholdResults, MonthRules, Partition, RegionTotals,
    SettleOptions, Totals,
};
use jifen::settlement::synthetic::{
    EntryColumns, HouseholdColumns, Population, PopulationSpec, RedemptionColumns, RegionColumns,
};
use jifen::{Category, Engine, Month, Policy, Yuan};
use serde_json::{json, Value};

use scenario_support::{open, read_scenario, request_text, scenario_files};

/// Whether `actual` contains `expected` (README: subset of objects, equal arrays by element).
fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => expected
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|found| contains(found, value))),
        (Value::Array(actual), Value::Array(expected)) => {
            actual.len() == expected.len()
                && actual.iter().zip(expected).all(|(a, e)| contains(a, e))
        }
        _ => actual == expected,
    }
}

fn head_seq(engine: &Engine) -> u64 {
    let answer = engine
        .execute_json(r#"{"query": {"type": "verify"}}"#)
        .expect("the journal verifies");
    let answer: Value = serde_json::from_str(&answer).expect("verify answers JSON");
    answer["seq"].as_u64().expect("verify returns the head seq")
}

/// Replays one scenario; returns the first failure as text.
fn replay(engine: &Engine, scenario: &Value) -> Result<(), String> {
    let steps = scenario["steps"].as_array().ok_or("a scenario has steps")?;
    for (index, step) in steps.iter().enumerate() {
        let label = format!(
            "step {} ({})",
            index + 1,
            step["note"].as_str().unwrap_or("")
        );
        let text = request_text(&step["do"]);
        let before = head_seq(engine);
        let answer = engine.execute_json(&text);
        match (answer, step.get("error")) {
            (Ok(answer), None) => {
                if let Some(expected) = step.get("result") {
                    let answer: Value =
                        serde_json::from_str(&answer).map_err(|e| format!("{label}: {e}"))?;
                    if !contains(&answer, expected) {
                        return Err(format!("{label}: expected {expected}\n  got {answer}"));
                    }
                }
            }
            (Ok(answer), Some(expected)) => {
                return Err(format!("{label}: expected error {expected}, got {answer}"))
            }
            (Err(error), None) => {
                return Err(format!(
                    "{label}: unexpected error {}: {error}",
                    error.code().name()
                ))
            }
            (Err(error), Some(expected)) => {
                if Some(error.code().name()) != expected.as_str() {
                    return Err(format!(
                        "{label}: expected error {expected}, got {}: {error}",
                        error.code().name()
                    ));
                }
                let appended = head_seq(engine) - before;
                let allowed = step.get("appends").and_then(Value::as_u64).unwrap_or(0);
                if appended != allowed {
                    return Err(format!(
                        "{label}: a failed step appended {appended} records, expected {allowed}"
                    ));
                }
            }
        }
    }
    if let Some(balances) = scenario.get("balances").and_then(Value::as_object) {
        for (household, expected) in balances {
            let query = serde_json::json!({"query": {"type": "balance", "household": household}});
            let answer = engine
                .execute_json(&query.to_string())
                .map_err(|e| format!("balance of {household}: {e}"))?;
            let answer: Value = serde_json::from_str(&answer).map_err(|e| e.to_string())?;
            if &answer["balance"] != expected {
                return Err(format!(
                    "balance of {household}: expected {expected}, got {}",
                    answer["balance"]
                ));
            }
        }
    }
    engine
        .execute_json(r#"{"query": {"type": "invariants"}}"#)
        .map_err(|e| format!("invariants: {e}"))?;
    engine.verify().map_err(|e| format!("verify: {e}"))?;
    Ok(())
}

#[test]
fn every_scenario_replays_on_the_memory_journal() {
    let files = scenario_files("");
    assert!(!files.is_empty(), "no scenario files found");
    let mut failures = Vec::new();
    for file in &files {
        let scenario = read_scenario(file);
        let engine = open(&scenario["policy"]);
        if let Err(failure) = replay(&engine, &scenario) {
            failures.push(format!("{}: {failure}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scenarios failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// A column of a bulk scenario's table as integers of type `T`.
fn ints<T: TryFrom<i64>>(table: &Value, column: &str) -> Vec<T> {
    table[column]
        .as_array()
        .unwrap_or_else(|| panic!("column {column} is an array"))
        .iter()
        .map(|v| {
            v.as_i64()
                .and_then(|v| T::try_from(v).ok())
                .unwrap_or_else(|| panic!("column {column}: {v} fits"))
        })
        .collect()
}

/// Whole fen of amounts the policy rounded to the fen.
fn fen(amounts: &[Yuan]) -> Vec<i64> {
    amounts
        .iter()
        .map(|y| y.whole_fen().expect("whole fen"))
        .collect()
}

fn regions_json(totals: &RegionTotals) -> Value {
    json!({
        "households": totals.households, "awarded": totals.awarded,
        "credited": totals.credited, "capped": totals.capped, "vetoed": totals.vetoed,
        "deducted": totals.deducted, "unapplied": totals.unapplied,
        "redeemed": totals.redeemed, "balance": totals.balance,
        "liability_fen": fen(&totals.liability),
    })
}

/// One population of a bulk scenario: the `households`, `entries` and
/// `redemptions` tables of `tables`, with the scenario's `regions` and
/// `stores`.
fn population(tables: &Value, scenario: &Value) -> Population {
    let (h, e, d, r) = (
        &tables["households"],
        &tables["entries"],
        &tables["redemptions"],
        &scenario["regions"],
    );
    Population {
        categories: Vec::new(),
        households: HouseholdColumns {
            category: ints(h, "category"),
            village: ints(h, "village"),
            opening_balance: ints(h, "opening_balance"),
            ytd_credited: ints(h, "ytd_credited"),
            ytd_deducted: ints(h, "ytd_deducted"),
        },
        // Without `regions` or `stores` the settlement fills them in.
        regions: if r.is_null() {
            RegionColumns::default()
        } else {
            RegionColumns {
                village_township: ints(r, "village_township"),
                township_county: ints(r, "township_county"),
                counties: r["counties"].as_u64().expect("counties") as u32,
            }
        },
        entries: EntryColumns {
            household: ints(e, "household"),
            kind: ints(e, "kind"),
            points: ints(e, "points"),
            day: ints(e, "day"),
            order: ints(e, "order"),
        },
        redemptions: RedemptionColumns {
            household: ints(d, "household"),
            store: ints(d, "store"),
            points: ints(d, "points"),
            reimbursable: ints(d, "reimbursable"),
        },
        stores: scenario["stores"].as_u64().unwrap_or_default() as u32,
    }
}

/// The seeded population a bulk scenario's `synthetic` names: `seed`,
/// `households` and, when given, `entries_per_household` and the
/// `shuffle_seed` its entries are shuffled with.
fn generated(synthetic: &Value, policy: &Policy, month: Month) -> Result<Population, String> {
    let number = |name: &str| synthetic[name].as_u64().unwrap_or_default();
    let mut spec = PopulationSpec::new(number("households") as usize, number("seed"));
    spec.month = month;
    if let Some(per_household) = synthetic["entries_per_household"].as_u64() {
        spec = spec.with_entries_per_household(per_household as usize);
    }
    let mut population = Population::generate(policy, &spec).map_err(|e| e.to_string())?;
    if let Some(shuffle_seed) = synthetic["shuffle_seed"].as_u64() {
        population.shuffle_entries(shuffle_seed);
    }
    Ok(population)
}

fn households_json(hh: &HouseholdResults) -> Value {
    json!({
        "awarded": hh.awarded, "credited": hh.credited, "capped": hh.capped,
        "vetoed": hh.vetoed, "deducted": hh.deducted, "unapplied": hh.unapplied,
        "net": hh.net, "closing_balance": hh.closing_balance,
        "ytd_credited": hh.ytd_credited, "ytd_deducted": hh.ytd_deducted,
    })
}

/// The stores' and regions' tables into `actual`.
fn put_totals(actual: &mut Value, totals: &Totals) {
    actual["stores"] = json!({
        "redeemed": totals.stores.redeemed, "reimbursable": totals.stores.reimbursable,
        "amount_fen": fen(&totals.stores.amount),
    });
    actual["villages"] = regions_json(&totals.villages);
    actual["townships"] = regions_json(&totals.townships);
    actual["counties"] = regions_json(&totals.counties);
}

/// Settles a bulk scenario (README: Bulk settlement scenarios) on each of
/// its `threads` (or on 2) and checks every outcome.
fn replay_bulk(scenario: &Value) -> Result<(), String> {
    let named = scenario["threads"].as_array();
    let counts: Vec<usize> = named.map_or(vec![2], |counts| {
        counts
            .iter()
            .filter_map(Value::as_u64)
            .map(|count| count as usize)
            .collect()
    });
    for threads in counts {
        replay_bulk_on(scenario, SettleOptions::with_threads(threads))
            .map_err(|e| format!("{threads} threads: {e}"))?;
    }
    Ok(())
}

/// Settles a bulk scenario whole or in its partitions, and checks its
/// `expect` or its `error`.
fn replay_bulk_on(scenario: &Value, options: SettleOptions) -> Result<(), String> {
    let policy = Policy::from_value(scenario["policy"].clone()).map_err(|e| e.to_string())?;
    let month = Month::from_str(scenario["month"].as_str().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    // No `categories`: the category indices are the policy's own, in its order.
    let categories: Vec<Category> = scenario["categories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|name| Category(name.to_owned()))
        .collect();
    let rules =
        MonthRules::for_categories(&policy, month, &categories).map_err(|e| e.to_string())?;
    let mut actual = json!({});
    let settled = match scenario["partitions"].as_array() {
        None => {
            let population = match scenario.get("synthetic") {
                Some(synthetic) => generated(synthetic, &policy, month)?,
                None => population(scenario, scenario),
            };
            settle(&rules, &population.input(), options).map(|settled| {
                actual["households"] = households_json(&settled.households);
                settled.totals
            })
        }
        Some(partitions) => {
            let populations: Vec<Population> =
                partitions.iter().map(|p| population(p, scenario)).collect();
            let keys: Vec<Vec<u64>> = partitions.iter().map(|p| ints(p, "keys")).collect();
            let parts: Vec<Partition> = populations
                .iter()
                .zip(&keys)
                .map(|(population, keys)| Partition {
                    keys,
                    input: population.input(),
                })
                .collect();
            settle_partitions(&rules, &parts, options).map(|settled| {
                let households = settled.households.iter();
                let partitions = households.map(|hh| json!({"households": households_json(hh)}));
                actual["partitions"] = Value::Array(partitions.collect());
                settled.totals
            })
        }
    };
    let totals = match (settled, scenario.get("error")) {
        (Ok(totals), None) => totals,
        (Err(error), Some(expected)) if Some(error.code().name()) == expected.as_str() => {
            return Ok(())
        }
        (Err(error), _) => return Err(format!("error {}: {error}", error.code().name())),
        (Ok(_), Some(expected)) => return Err(format!("expected error {expected}, settled")),
    };
    put_totals(&mut actual, &totals);
    if contains(&actual, &scenario["expect"]) {
        Ok(())
    } else {
        Err(format!("expected {}\ngot {actual}", scenario["expect"]))
    }
}

#[test]
fn every_bulk_scenario_settles_as_expected() {
    let files = scenario_files("bulk");
    assert!(!files.is_empty(), "no bulk scenario files found");
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| {
            replay_bulk(&read_scenario(file))
                .err()
                .map(|failure| format!("{}: {failure}", file.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
