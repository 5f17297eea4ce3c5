//! A small county for the journal tests: an administrator, an approver, a
//! few households, and a deterministic stream of keyed commands (awards,
//! deductions, transfers) that the durability, concurrency and crash tests
//! replay against either journal.
#![allow(dead_code)] // each test binary uses its own part of this module

use jifen::card::PinHashCost;
use jifen::{Engine, EngineOptions, Policy, Request};
use serde_json::{json, Value};

/// The households the workload touches.
pub const HOUSEHOLDS: usize = 12;

/// The pepper every journal test opens with.
pub const PEPPER: &[u8] = b"journal-test-pepper";

/// Engine options for tests: the minimal PIN cost and snapshots every `every` events.
pub fn options(every: u64) -> EngineOptions {
    EngineOptions::new(PEPPER)
        .with_pin_hash_cost(PinHashCost::MINIMAL)
        .with_snapshot_every(every)
}

/// The Baisha 2019 policy.
pub fn policy() -> Policy {
    Policy::from_json(r#""baisha-2019""#).expect("a preset")
}

/// The id of household `n`.
pub fn household(n: usize) -> String {
    format!("H{n:02}")
}

fn request(value: Value) -> Request {
    serde_json::from_value(value).expect("a well-formed request")
}

/// Registers the administrator, an approver and the households, each with
/// a key so that running it again on a reopened journal changes nothing.
pub fn setup_requests() -> Vec<Request> {
    let mut requests = vec![
        request(json!({"actor": "admin", "key": "setup-admin", "command": {
            "type": "register_actor", "actor": {"id": "admin", "roles": ["administrator"]}}})),
        request(
            json!({"actor": "admin", "key": "setup-approver", "command": {
            "type": "register_actor", "actor": {"id": "approver", "roles": ["township_approver"]}}}),
        ),
    ];
    for n in 0..HOUSEHOLDS {
        let category = if n % 3 == 0 { "poor" } else { "ordinary" };
        requests.push(request(
            json!({"actor": "admin", "key": format!("setup-{n}"), "command": {
            "type": "register_household", "household": household(n),
            "region": {"county": "469025", "township": "T1", "village": format!("V{}", n % 3)},
            "head": format!("户主{n}"), "category": category, "category_from": "2024-01-01"}}),
        ));
    }
    requests
}

/// Runs the setup requests.
pub fn setup(engine: &Engine) {
    for request in setup_requests() {
        engine.execute(request).expect("setup succeeds");
    }
}

/// Command number `i` of the workload, keyed `key`: the same `i` always
/// gives the same request, so a retry after a crash carries the same payload.
pub fn command(i: u64, key: &str) -> Request {
    let n = i as usize;
    let h = household(n % HOUSEHOLDS);
    let month = 1 + (i / 7) % 12;
    let date = format!("2025-{month:02}-{:02}", 1 + i % 28);
    let command = match i % 10 {
        0..=4 => json!({"type": "post_award", "household": h, "date": date, "points": 1 + i % 37}),
        5 | 6 => {
            let h = household((n * 7 + 3) % HOUSEHOLDS);
            json!({"type": "post_deduction", "household": h, "date": date, "points": 1 + i % 5})
        }
        7 | 8 => json!({"type": "transfer_points", "from": h,
                        "to": household((n + 1 + (n / HOUSEHOLDS) % (HOUSEHOLDS - 1)) % HOUSEHOLDS),
                        "points": 1 + i % 4, "approver": "approver"}),
        _ => json!({"type": "post_award", "household": household((n / 10) % HOUSEHOLDS),
                    "date": date, "points": 5}),
    };
    request(json!({"actor": "admin", "key": key, "reason": "workload",
                   "at": "2026-01-10T02:00:00Z", "command": command}))
}

/// Every household's balance, in household order.
pub fn balances(engine: &Engine) -> Vec<i64> {
    engine.read(|state| {
        (0..HOUSEHOLDS)
            .map(|n| {
                state
                    .accounts
                    .get(&jifen::HouseholdId(household(n)))
                    .map_or(0, |account| account.balance.get())
            })
            .collect()
    })
}
