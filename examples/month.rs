//! The main job: one month of a synthetic county, end to end, through the
//! engine on its embedded default store.
//!
//! A seeded synthetic population (households by category and village, a
//! month's scoring entries drawn from the Baisha preset's indicators) is
//! registered; each village's score sheet is scored, signed, reviewed by the
//! village, the township office and the township government, published,
//! left on public notice and posted through the caps; households redeem
//! goods at their township's store with card and PIN; the month's store
//! statements are settled. The bulk kernel then settles the same month from
//! columns and must agree with the engine household by household; finally a
//! 200,000-household county is settled in one call.

use std::collections::BTreeMap;
use std::error::Error;

use jifen::card::PinHashCost;
use jifen::policy::IndicatorKind;
use jifen::settlement::bulk::{
    self, Entries, Households, MonthInput, MonthRules, Redemptions, Regions, SettleOptions,
};
use jifen::settlement::synthetic::{Population, PopulationSpec};
use jifen::{Engine, EngineOptions, Policy};
use serde_json::{json, Value};

const COUNTY: &str = "469025";
/// Entry kinds of the synthetic population (as the bulk kernel numbers them).
const AWARD: u8 = 0;
const DEDUCTION: u8 = 1;
const VETO: u8 = 2;

/// The engine and a way to send it one command.
struct Desk {
    engine: Engine,
}

impl Desk {
    fn run(&self, actor: &str, at: &str, command: Value) -> Result<Value, Box<dyn Error>> {
        let request = json!({"actor": actor, "at": format!("{at}T02:00:00Z"), "command": command});
        Ok(serde_json::from_str(
            &self.engine.execute_json(&request.to_string())?,
        )?)
    }

    fn query(&self, query: Value) -> Result<Value, Box<dyn Error>> {
        Ok(serde_json::from_str(
            &self
                .engine
                .execute_json(&json!({ "query": query }).to_string())?,
        )?)
    }

    fn actor(
        &self,
        id: &str,
        role: &str,
        village: Option<&str>,
        township: Option<&str>,
    ) -> Result<(), Box<dyn Error>> {
        let actor = json!({"id": id, "roles": [role], "village": village, "township": township});
        self.run(
            "admin",
            "2025-03-01",
            json!({"type": "register_actor", "actor": actor}),
        )?;
        Ok(())
    }
}

/// One scored line of a village's sheet, as posted and as the kernel sees it.
struct Line {
    household: u32,
    kind: u8,
    points: i64,
    day: u8,
    order: u32,
}

fn main() -> Result<(), Box<dyn Error>> {
    let policy = Policy::from_json("baisha-2019")?;
    let mut spec = PopulationSpec::new(600, 2019).with_entries_per_household(4);
    spec.month = "2025-03".parse()?;
    spec.households_per_village = 100;
    spec.villages_per_township = 3;
    spec.townships_per_county = 2;
    let population = Population::generate(&policy, &spec)?;

    let path = std::env::temp_dir().join(format!("jifen-month-{}.sqlite", std::process::id()));
    // The demo hashes 600 PINs; the minimal Argon2 cost keeps it quick (a
    // county uses the default, see benches/pin.rs).
    let options = EngineOptions::new(b"demo pepper").with_pin_hash_cost(PinHashCost::MINIMAL);
    let desk = Desk {
        engine: Engine::open(&path, Some(policy.clone()), options)?,
    };
    println!(
        "jifen {} — Baisha preset, synthetic county {COUNTY}, month {}",
        env!("CARGO_PKG_VERSION"),
        spec.month
    );
    println!("journal: {}", path.display());

    register_people(&desk, &population)?;
    let lines = score_and_post(&desk, &policy, &population)?;
    print_scoring(&desk, &population)?;
    open_stores(&desk, &population)?;
    redeem(&desk, &population)?;
    settle_stores(&desk)?;
    compare_with_kernel(&desk, &policy, &population, &lines)?;

    let totals = desk.engine.check_invariants()?;
    let head = desk.engine.verify()?;
    println!("\ninvariants hold (awarded {} = credited {} + capped {} + vetoed {}); journal verified to record {}",
        totals.awarded, totals.credited, totals.capped, totals.vetoed, head.seq);
    drop(desk);
    std::fs::remove_file(&path).ok();
    settle_county()
}

fn village_code(v: u32) -> String {
    format!("V{v:02}")
}

fn township_code(t: u32) -> String {
    format!("T{t:02}")
}

fn household_code(h: usize) -> String {
    format!("H{h:05}")
}

/// The county's officials, every village's scoring group, and the households with their cards.
fn register_people(desk: &Desk, population: &Population) -> Result<(), Box<dyn Error>> {
    desk.run(
        "admin",
        "2025-03-01",
        json!({"type": "register_actor", "actor": {"id": "admin", "roles": ["administrator"]}}),
    )?;
    for (id, role) in [
        ("county", "county_office"),
        ("bureau", "price_bureau"),
        ("finance", "finance"),
    ] {
        desk.actor(id, role, None, None)?;
    }
    for (v, &t) in population.regions.village_township.iter().enumerate() {
        let (village, township) = (village_code(v as u32), township_code(t));
        for n in 1..=3 {
            desk.actor(
                &format!("{village}-s{n}"),
                "scorer",
                Some(&village),
                Some(&township),
            )?;
        }
        for n in 1..=2 {
            desk.actor(
                &format!("{village}-p{n}"),
                "supervisor",
                Some(&village),
                Some(&township),
            )?;
        }
        desk.actor(
            &format!("{village}-c"),
            "village_committee",
            Some(&village),
            Some(&township),
        )?;
    }
    let townships = population.regions.township_county.len() as u32;
    for t in 0..townships {
        let township = township_code(t);
        desk.actor(
            &format!("{township}-office"),
            "township_officer",
            None,
            Some(&township),
        )?;
        desk.actor(
            &format!("{township}-gov"),
            "township_approver",
            None,
            Some(&township),
        )?;
        desk.actor(
            &format!("{township}-keeper"),
            "store_keeper",
            None,
            Some(&township),
        )?;
    }
    let h = &population.households;
    for i in 0..h.category.len() {
        let v = h.village[i];
        let region = json!({"county": COUNTY, "township": township_code(population.regions.village_township[v as usize]),
            "village": village_code(v)});
        let category = &population.categories[h.category[i] as usize];
        desk.run("admin", "2025-03-01", json!({"type": "register_household", "household": household_code(i),
            "region": region, "head": format!("户主{i}"), "category": category, "category_from": "2025-01-01"}))?;
        desk.run(
            "admin",
            "2025-03-01",
            json!({"type": "issue_card", "card": format!("C{i:06}"),
            "household": household_code(i), "pin": "123456"}),
        )?;
    }
    Ok(())
}

/// The indicator a synthetic entry is scored under, and its points within the indicator's range.
fn indicator_for(policy: &Policy, kind: u8, points: i64) -> (String, i64) {
    let wanted = match kind {
        AWARD => IndicatorKind::Award,
        DEDUCTION => IndicatorKind::Deduction,
        _ => IndicatorKind::Veto,
    };
    let fitting: Vec<_> = policy
        .indicators
        .iter()
        .filter(|i| i.kind == wanted && i.times_per_period.is_none())
        .collect();
    let chosen = fitting
        .iter()
        .find(|i| i.min_points.get() <= points && points <= i.max_points.get())
        .unwrap_or(&fitting[(points as usize) % fitting.len()]);
    (
        chosen.code.clone(),
        points.clamp(chosen.min_points.get(), chosen.max_points.get()),
    )
}

/// Every village's sheet from scoring to posting; returns the lines as posted.
fn score_and_post(
    desk: &Desk,
    policy: &Policy,
    population: &Population,
) -> Result<Vec<Line>, Box<dyn Error>> {
    let e = &population.entries;
    let mut by_village: BTreeMap<u32, Vec<Line>> = BTreeMap::new();
    for n in 0..e.household.len() {
        if !matches!(e.kind[n], AWARD | DEDUCTION | VETO) {
            continue;
        }
        let household = e.household[n];
        let village = population.households.village[household as usize];
        let (_, points) = indicator_for(policy, e.kind[n], e.points[n]);
        by_village.entry(village).or_default().push(Line {
            household,
            kind: e.kind[n],
            points: if e.kind[n] == VETO { 0 } else { points },
            day: e.day[n],
            order: n as u32,
        });
    }
    let month = "2025-03";
    for (&v, lines) in &by_village {
        let village = village_code(v);
        let township = township_code(population.regions.village_township[v as usize]);
        let sheet = format!("BS-{village}-{month}");
        let scorer = |n: usize| format!("{village}-s{n}");
        desk.run(
            &scorer(1),
            "2025-03-31",
            json!({"type": "open_sheet", "sheet": sheet, "village": village, "period": month}),
        )?;
        for (position, line) in lines.iter().enumerate() {
            let (indicator, _) = indicator_for(policy, line.kind, line.points.max(1));
            desk.run(
                &scorer(1 + position % 3),
                "2025-03-31",
                json!({"type": "add_entry", "sheet": sheet,
                "household": household_code(line.household as usize), "indicator": indicator,
                "points": line.points, "date": format!("{month}-{:02}", line.day)}),
            )?;
        }
        desk.run(
            &scorer(1),
            "2025-03-31",
            json!({"type": "sign_sheet", "sheet": sheet}),
        )?;
        desk.run(
            &scorer(2),
            "2025-03-31",
            json!({"type": "sign_sheet", "sheet": sheet}),
        )?;
        desk.run(
            &scorer(3),
            "2025-03-31",
            json!({"type": "submit_sheet", "sheet": sheet}),
        )?;
        desk.run(
            &format!("{village}-c"),
            "2025-04-01",
            json!({"type": "review_sheet", "sheet": sheet, "stage": "village_review"}),
        )?;
        desk.run(
            &format!("{township}-office"),
            "2025-04-02",
            json!({"type": "review_sheet", "sheet": sheet, "stage": "township_review"}),
        )?;
        desk.run(
            &format!("{township}-gov"),
            "2025-04-03",
            json!({"type": "review_sheet", "sheet": sheet, "stage": "approval"}),
        )?;
        desk.run(
            &format!("{village}-c"),
            "2025-04-04",
            json!({"type": "publish_sheet", "sheet": sheet}),
        )?;
        desk.run(
            "admin",
            "2025-04-12",
            json!({"type": "post_sheet", "sheet": sheet}),
        )?;
    }
    for t in 0..population.regions.township_county.len() as u32 {
        let township = township_code(t);
        desk.run(
            &format!("{township}-office"),
            "2025-04-18",
            json!({"type": "file_township_report", "township": township, "month": month}),
        )?;
    }
    Ok(by_village.into_values().flatten().collect())
}

/// Each category's month as the engine posted it.
fn print_scoring(desk: &Desk, population: &Population) -> Result<(), Box<dyn Error>> {
    let mut rows: BTreeMap<String, [i64; 7]> = BTreeMap::new();
    desk.engine.read(|state| {
        for (i, &c) in population.households.category.iter().enumerate() {
            let account = &state.accounts[&jifen::HouseholdId(household_code(i))];
            let t = &account.totals;
            let row = rows
                .entry(population.categories[c as usize].to_string())
                .or_default();
            for (cell, value) in row.iter_mut().zip([
                1,
                t.awarded.get(),
                t.credited.get(),
                t.capped.get(),
                t.vetoed.get(),
                t.deducted.get() + t.unapplied.get(),
                account.balance.get(),
            ]) {
                *cell += value;
            }
        }
    });
    println!("\nScoring, posted through the caps (poor 110/1335, ordinary 68/831):");
    println!(
        "{:<10} {:>10} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9}",
        "category", "households", "awarded", "credited", "capped", "vetoed", "deducted", "balance"
    );
    for (category, r) in &rows {
        println!(
            "{category:<10} {:>10} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9}",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6]
        );
    }
    let overdue = desk.query(json!({"type": "overdue", "month": "2025-03", "on": "2025-04-25"}))?;
    println!("overdue list for 2025-03 on 2025-04-25: {}", overdue);
    Ok(())
}

/// One store per township: rice bought by the county, cooking oil donated.
fn open_stores(desk: &Desk, population: &Population) -> Result<(), Box<dyn Error>> {
    let townships = population.regions.township_county.len() as u32;
    let allocations: Vec<Value> = (0..townships)
        .map(|t| json!({"kind": "goods", "store": format!("S{t:02}"), "line": 1, "quantity": 100}))
        .collect();
    for t in 0..townships {
        let (store, keeper) = (format!("S{t:02}"), format!("{}-keeper", township_code(t)));
        desk.run("admin", "2025-04-01", json!({"type": "register_store", "store": store, "name": format!("{}电商惠农超市", township_code(t)),
            "kind": "village_store", "region": {"county": COUNTY, "township": township_code(t), "village": village_code(t * 3)},
            "reimbursed": true, "keepers": [keeper]}))?;
        for (sku, name, category, points, market) in [
            ("RICE", "大米5kg", "grain", 10, "10.00"),
            ("OIL", "食用油5L", "oil", 25, "60.00"),
        ] {
            desk.run(&keeper, "2025-04-01", json!({"type": "list_item", "store": store, "sku": sku, "name": name, "category": category, "unit": "件"}))?;
            desk.run(&keeper, "2025-04-01", json!({"type": "propose_price", "store": store, "sku": sku, "price": {"points": points}, "market_price": market}))?;
            desk.run(
                "county",
                "2025-04-01",
                json!({"type": "forward_price", "store": store, "sku": sku, "proposal": 1}),
            )?;
            desk.run(
                "bureau",
                "2025-04-02",
                json!({"type": "approve_price", "store": store, "sku": sku, "proposal": 1}),
            )?;
        }
        desk.run(&keeper, "2025-04-02", json!({"type": "receive_stock", "store": store, "sku": "RICE", "quantity": 2000,
            "source": {"kind": "purchased", "purchase_ref": format!("PO-{store}-0401"), "unit_cost": "8.50"}, "expires": "2025-12-31"}))?;
    }
    desk.run("county", "2025-04-02", json!({"type": "register_donation", "donation": "D2025-04", "donor": "海南某爱心企业",
        "date": "2025-04-02", "receiving_body": "县电商办", "goods": [{"description": "食用油5L", "quantity": 100 * townships, "unit_value": "60.00"}],
        "allocations": allocations}))?;
    for t in 0..townships {
        desk.run(&format!("{}-keeper", township_code(t)), "2025-04-03", json!({"type": "receive_stock", "store": format!("S{t:02}"), "sku": "OIL",
            "quantity": 100, "expires": "2026-04-01", "source": {"kind": "donated", "donation": "D2025-04", "line": 1}}))?;
    }
    Ok(())
}

/// Households with points redeem rice, and some oil, at their township's store.
fn redeem(desk: &Desk, population: &Population) -> Result<(), Box<dyn Error>> {
    let mut receipts = 0;
    for (i, &v) in population.households.village.iter().enumerate() {
        let balance = desk.query(json!({"type": "balance", "household": household_code(i)}))?
            ["balance"]
            .as_i64()
            .unwrap_or(0);
        if balance < 10 || i % 2 == 1 {
            continue;
        }
        let t = population.regions.village_township[v as usize];
        let rice = (balance / 10).min(3);
        let mut lines = vec![json!({"sku": "RICE", "quantity": rice})];
        if i % 3 == 0 && balance >= rice * 10 + 25 {
            lines.push(json!({"sku": "OIL", "quantity": 1}));
        }
        let request = json!({"actor": format!("{}-keeper", township_code(t)), "at": "2025-04-15T03:00:00Z",
            "key": format!("kiosk-{t}-{i}"), "command": {"type": "redeem", "store": format!("S{t:02}"),
            "card": format!("C{i:06}"), "pin": "123456", "lines": lines, "signature_ref": format!("SIG-{i}")}});
        desk.engine.execute_json(&request.to_string())?;
        receipts += 1;
    }
    println!("\n{receipts} redemptions at the township stores on 2025-04-15");
    Ok(())
}

/// The month's store statements: generated from the ledger, checked against
/// each store's own statement, reviewed, approved and paid.
fn settle_stores(desk: &Desk) -> Result<(), Box<dyn Error>> {
    let month = "2025-04";
    let generated = desk.run(
        "county",
        "2025-05-01",
        json!({"type": "generate_statements", "month": month}),
    )?;
    println!("\nStore reimbursement for {month} (1 point = 1.00 yuan; donated goods are not reimbursed):");
    let empty = Vec::new();
    for statement in generated["result"]["generated"]
        .as_array()
        .unwrap_or(&empty)
    {
        let id = statement["id"].as_str().unwrap_or_default();
        let detail = desk.query(json!({"type": "statement", "statement": id}))?;
        let store = detail["store"].as_str().unwrap_or_default();
        let keeper = format!("T{}-keeper", &store[1..]);
        let lines: Vec<Value> = detail["lines"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|l| json!({"receipt": l["receipt"], "date": l["date"], "household": l["household"], "points": l["points"]}))
            .collect();
        let submitted = desk.run(
            &keeper,
            "2025-05-02",
            json!({"type": "submit_store_statement", "store": store,
            "month": month, "account": format!("6217-{store}"), "lines": lines}),
        )?;
        desk.run(
            "county",
            "2025-05-03",
            json!({"type": "review_statement", "statement": id}),
        )?;
        desk.run(
            "finance",
            "2025-05-04",
            json!({"type": "approve_statement", "statement": id}),
        )?;
        let paid = desk.run(
            "finance",
            "2025-05-05",
            json!({"type": "record_payment", "statement": id,
            "reference": format!("BANK-{id}"), "date": "2025-05-05"}),
        )?;
        println!("  {id}: {} points, {} yuan, {} differences with the store's statement, paid {} yuan on 2025-05-05, funded by {}",
            statement["points"], statement["amount"].as_str().unwrap_or_default(),
            submitted["result"]["differences"].as_array().map_or(0, Vec::len),
            paid["result"]["amount"].as_str().unwrap_or_default(), detail["funding"]);
    }
    let statistics = desk.query(json!({"type": "monthly_statistics", "month": month}))?;
    for row in statistics["rows"].as_array().unwrap_or(&empty) {
        if row["level"] == "county" {
            println!("county statistics {month} (附件10): {row}");
        }
    }
    Ok(())
}

/// The bulk kernel settles the same month from columns and must agree with
/// the engine on every household.
fn compare_with_kernel(
    desk: &Desk,
    policy: &Policy,
    population: &Population,
    lines: &[Line],
) -> Result<(), Box<dyn Error>> {
    let households = population.households.category.len();
    let zeros = vec![0i64; households];
    let column = |f: fn(&Line) -> i64| lines.iter().map(f).collect::<Vec<i64>>();
    let household: Vec<u32> = lines.iter().map(|l| l.household).collect();
    let kind: Vec<u8> = lines.iter().map(|l| l.kind).collect();
    let day: Vec<u8> = lines.iter().map(|l| l.day).collect();
    let order: Vec<u32> = lines.iter().map(|l| l.order).collect();
    let points = column(|l| l.points);
    let input = MonthInput {
        households: Households {
            category: &population.households.category,
            village: &population.households.village,
            opening_balance: &zeros,
            ytd_credited: &zeros,
            ytd_deducted: &zeros,
        },
        regions: Regions {
            village_township: &population.regions.village_township,
            township_county: &population.regions.township_county,
            counties: population.regions.counties,
        },
        entries: Entries {
            household: &household,
            kind: &kind,
            points: &points,
            day: &day,
            order: &order,
        },
        redemptions: Redemptions {
            household: &[],
            store: &[],
            points: &[],
            reimbursable: &[],
        },
        stores: 0,
    };
    let march: jifen::Month = "2025-03".parse()?;
    let rules = MonthRules::for_categories(policy, march, &population.categories)?;
    let settled = bulk::settle(&rules, &input, SettleOptions::default())?;
    let mut differences = 0;
    desk.engine.read(|state| {
        for i in 0..households {
            let account = &state.accounts[&jifen::HouseholdId(household_code(i))];
            let t = account
                .months
                .get(&march)
                .map(|m| m.totals.clone())
                .unwrap_or_default();
            let h = &settled.households;
            if (
                t.credited.get(),
                t.capped.get(),
                t.vetoed.get(),
                t.deducted.get(),
                t.unapplied.get(),
            ) != (
                h.credited[i],
                h.capped[i],
                h.vetoed[i],
                h.deducted[i],
                h.unapplied[i],
            ) {
                differences += 1;
            }
        }
    });
    let c = &settled.totals.counties;
    println!("\nBulk kernel on the same month: credited {}, capped {}, vetoed {}, deducted {}; liability {} yuan",
        c.credited[0], c.capped[0], c.vetoed[0], c.deducted[0], c.liability[0]);
    println!("households where the kernel and the engine differ: {differences} of {households}");
    if differences > 0 {
        return Err("the bulk kernel and the engine disagree".into());
    }
    Ok(())
}

/// A county of 200,000 households (2M entries, 100,000 redemptions, 1,000
/// stores) settled in one call by the bulk kernel, under the same rules.
fn settle_county() -> Result<(), Box<dyn Error>> {
    let policy = Policy::from_json("baisha-2019")?;
    let mut spec = PopulationSpec::new(200_000, 2019);
    spec.townships_per_county = 40;
    let county = Population::generate(&policy, &spec)?;
    let rules = MonthRules::for_categories(&policy, spec.month, &county.categories)?;
    let started = std::time::Instant::now();
    let settled = bulk::settle(&rules, &county.input(), SettleOptions::default())?;
    let elapsed = started.elapsed();
    let c = &settled.totals.counties;
    println!(
        "\nBulk settlement of a synthetic county, {}: {} households, {} entries, in {:.0?}",
        spec.month,
        c.households[0],
        county.entries.household.len(),
        elapsed
    );
    println!(
        "awarded {}  credited {}  capped {}  vetoed {}  deducted {} (+{} beyond the floor)",
        c.awarded[0], c.credited[0], c.capped[0], c.vetoed[0], c.deducted[0], c.unapplied[0]
    );
    let stores = &settled.totals.stores;
    let reimbursed: rust_decimal::Decimal = stores.amount.iter().map(|a| a.0).sum();
    println!("redeemed {}  closing balances {}  liability {} yuan  store reimbursements {} yuan ({} stores)",
        c.redeemed[0], c.balance[0], c.liability[0], reimbursed, stores.amount.len());
    Ok(())
}
