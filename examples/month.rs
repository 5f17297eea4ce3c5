//! The main job: one month of a synthetic village under the Baisha preset,
//! posted award by award through the engine, with each category's credited,
//! capped and balance totals printed at the end; then a whole synthetic county
//! (the seeded generator of `jifen::settlement::synthetic`) settled at once by
//! the bulk kernel, with its county totals and store reimbursements.

use std::collections::BTreeMap;

use jifen::card::PinHashCost;
use jifen::{Engine, EngineOptions, Policy};
use serde_json::json;

/// A small deterministic generator, so every run prints the same month.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy = Policy::from_json("baisha-2019")?;
    let options = EngineOptions::new(b"demo pepper").with_pin_hash_cost(PinHashCost::MINIMAL);
    let engine = Engine::open_memory(policy, options)?;
    let run = |request: serde_json::Value| engine.execute_json(&request.to_string());
    run(
        json!({"actor": "admin", "command": {"type": "register_actor",
        "actor": {"id": "admin", "roles": ["administrator"]}}}),
    )?;

    let mut rng = Lcg(2019);
    let households = 300;
    let mut categories = BTreeMap::new();
    for n in 0..households {
        let id = format!("H{n:04}");
        let category = if rng.below(10) < 3 {
            "poor"
        } else {
            "ordinary"
        };
        categories.insert(id.clone(), category);
        run(
            json!({"actor": "admin", "command": {"type": "register_household", "household": id,
            "region": {"county": "469025", "township": "T01", "village": format!("V{:02}", n % 6)},
            "head": format!("户主{n}"), "category": category, "category_from": "2025-01-01"}}),
        )?;
    }
    for _ in 0..households * 4 {
        let id = format!("H{:04}", rng.below(households));
        let day = 1 + rng.below(28);
        let points = 5 + rng.below(30);
        run(
            json!({"actor": "admin", "reason": "月度评分导入", "command": {"type": "post_award",
            "household": id, "date": format!("2025-03-{day:02}"), "points": points}}),
        )?;
    }

    let mut totals: BTreeMap<&str, (i64, i64, i64, i64)> = BTreeMap::new();
    engine.read(|state| {
        for (id, account) in &state.accounts {
            let row = totals.entry(categories[id.as_str()]).or_default();
            row.0 += 1;
            row.1 += account.totals.credited.get();
            row.2 += account.totals.capped.get();
            row.3 += account.balance.get();
        }
    });
    println!("Baisha preset, synthetic village month 2025-03");
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10}",
        "category", "households", "credited", "capped", "balance"
    );
    for (category, (count, credited, capped, balance)) in &totals {
        println!("{category:<10} {count:>10} {credited:>10} {capped:>10} {balance:>10}");
    }
    let all = engine.check_invariants()?;
    println!(
        "invariants hold: credited {} + capped {} = awarded {}",
        all.credited, all.capped, all.awarded
    );
    println!("journal verified to record {}", engine.verify()?.seq);
    settle_county()
}

/// A county of 200,000 households (2M entries, 100,000 redemptions, 1,000
/// stores) settled in one call by the bulk kernel, under the same rules.
fn settle_county() -> Result<(), Box<dyn std::error::Error>> {
    use jifen::settlement::bulk::{settle, MonthRules, SettleOptions};
    use jifen::settlement::synthetic::{Population, PopulationSpec};

    let policy = Policy::from_json("baisha-2019")?;
    let mut spec = PopulationSpec::new(200_000, 2019);
    spec.townships_per_county = 40;
    let county = Population::generate(&policy, &spec)?;
    let rules = MonthRules::for_categories(&policy, spec.month, &county.categories)?;
    let settled = settle(&rules, &county.input(), SettleOptions::default())?;
    let c = &settled.totals.counties;
    println!();
    println!(
        "Bulk settlement of a synthetic county, {}: {} households, {} entries",
        spec.month,
        c.households[0],
        county.entries.household.len()
    );
    println!(
        "awarded {}  credited {}  capped {}  vetoed {}  deducted {} (+{} beyond the floor)",
        c.awarded[0], c.credited[0], c.capped[0], c.vetoed[0], c.deducted[0], c.unapplied[0]
    );
    let stores = &settled.totals.stores;
    let reimbursed: rust_decimal::Decimal = stores.amount.iter().map(|a| a.0).sum();
    println!(
        "redeemed {}  closing balances {}  liability {} yuan  store reimbursements {} yuan ({} stores)",
        c.redeemed[0],
        c.balance[0],
        c.liability[0],
        reimbursed,
        stores.amount.len()
    );
    Ok(())
}
