//! The bulk settlement kernel against the one-by-one engine: random
//! populations and months, settled both ways, must agree to the point and the
//! fen. Also: partitions merge into the single-run result, a household split
//! across partitions is refused, and malformed columns are refused with codes.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;

use jifen::account::{self, Account, Origin};
use jifen::card::PinHashCost;
use jifen::command::{Command, Request};
use jifen::household::{Household, HouseholdStatus, Region, Residency};
use jifen::policy::caps::CapScope;
use jifen::policy::{AnnualCapRule, CapBasis, CategoryCaps, Policy};
use jifen::primitives::{CountyCode, TownshipCode};
use jifen::settlement::bulk::{
    kind, settle, settle_columns, settle_into, settle_partitions, Entries, HouseholdResults,
    HouseholdResultsMut, Households, MonthInput, MonthRules, Partition, Redemptions, Regions,
    SettleOptions, Settlement, MAX_ENTRY_POINTS, MAX_THREADS, MAX_TOTALS_ROWS,
};
use jifen::settlement::synthetic::{Population, PopulationSpec, RegionColumns};
use jifen::{
    ActorId, Category, Engine, EngineOptions, ErrorCode, HouseholdId, Month, Points, Yuan,
};

const CATEGORIES: [&str; 3] = ["poor", "ordinary", "watch"];
const VILLAGE_TOWNSHIP: [u32; 4] = [0, 0, 1, 2];
const TOWNSHIP_COUNTY: [u32; 3] = [0, 0, 1];
const STORES: u32 = 3;

fn month() -> Month {
    "2025-06".parse().unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Dates a category may start from: long before, this year, the month's
/// first day, later in the month, and after it.
fn category_dates() -> [NaiveDate; 6] {
    [
        date(2024, 1, 1),
        date(2025, 2, 1),
        date(2025, 6, 1),
        date(2025, 6, 2),
        date(2025, 6, 20),
        date(2025, 7, 1),
    ]
}

#[derive(Clone, Debug)]
struct PolicyCase {
    net: bool,
    allow_negative: bool,
    prorated: bool,
    caps: Vec<(Option<i64>, Option<i64>)>,
    bonus_monthly: bool,
    bonus_annual: bool,
    point_value: &'static str,
}

impl PolicyCase {
    fn policy(&self) -> Policy {
        let mut policy = Policy {
            cap_basis: if self.net {
                CapBasis::Net
            } else {
                CapBasis::Gross
            },
            allow_negative_balance: self.allow_negative,
            annual_cap_rule: if self.prorated {
                AnnualCapRule::Prorated
            } else {
                AnnualCapRule::Current
            },
            point_value: Yuan(self.point_value.parse().unwrap()),
            ..Policy::default()
        };
        policy.categories = CATEGORIES
            .iter()
            .zip(&self.caps)
            .map(|(name, (monthly, annual))| {
                let caps = CategoryCaps {
                    monthly: monthly.map(Points),
                    annual: annual.map(Points),
                };
                (Category::from(*name), caps)
            })
            .collect();
        policy.ranking.counts_toward_monthly_cap = self.bonus_monthly;
        policy.ranking.counts_toward_annual_cap = self.bonus_annual;
        policy.validate().unwrap();
        policy
    }
}

#[derive(Clone, Debug)]
struct HouseholdCase {
    /// (index into category_dates, category index), dates strictly rising.
    categories: Vec<(usize, usize)>,
    village: u32,
    /// (month 0 = December of last year or 1..=5, is award, points).
    prior: Vec<(u32, bool, i64)>,
    /// (store, points, reimbursable).
    redemptions: Vec<(u32, i64, u8)>,
    /// (kind, points, day, order).
    entries: Vec<(u8, i64, u8, u32)>,
}

impl HouseholdCase {
    fn history(&self) -> Vec<(NaiveDate, Category)> {
        let dates = category_dates();
        self.categories
            .iter()
            .map(|&(d, c)| (dates[d], Category::from(CATEGORIES[c])))
            .collect()
    }
}

fn policy_case() -> impl Strategy<Value = PolicyCase> {
    let cap = || {
        (
            prop::option::weighted(0.8, 5i64..60),
            prop::option::weighted(0.7, 20i64..300),
        )
    };
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(cap(), 3),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["1.00", "0.125", "0.35", "0.333", "2.5"]),
    )
        .prop_map(
            |(net, allow_negative, prorated, caps, bonus_monthly, bonus_annual, point_value)| {
                PolicyCase {
                    net,
                    allow_negative,
                    prorated,
                    caps,
                    bonus_monthly,
                    bonus_annual,
                    point_value,
                }
            },
        )
}

fn household_case(bonus: bool) -> impl Strategy<Value = HouseholdCase> {
    let entry = (
        prop::sample::select(if bonus {
            vec![
                kind::AWARD,
                kind::AWARD,
                kind::AWARD,
                kind::DEDUCTION,
                kind::VETO,
                kind::BONUS,
            ]
        } else {
            vec![
                kind::AWARD,
                kind::AWARD,
                kind::AWARD,
                kind::DEDUCTION,
                kind::VETO,
            ]
        }),
        1i64..40,
        1u8..=30,
        0u32..4,
    )
        .prop_map(|(k, points, day, order)| {
            (k, if k == kind::VETO { 0 } else { points }, day, order)
        });
    (
        0usize..5,
        0usize..3,
        prop::option::weighted(0.3, (1usize..6, 0usize..3)),
        0u32..4,
        prop::collection::vec((0u32..6, prop::bool::weighted(0.7), 1i64..80), 0..6),
        prop::collection::vec((0u32..STORES, 1i64..30, 0u8..2), 0..3),
        // Now and then more entries than the sorted pass adds up at once.
        prop_oneof![
            9 => prop::collection::vec(entry.clone(), 0..9),
            1 => prop::collection::vec(entry, 9..40),
        ],
    )
        .prop_map(
            |(first, category, change, village, prior, redemptions, entries)| {
                let mut categories = vec![(first, category)];
                if let Some((date, category)) = change {
                    if date > first {
                        categories.push((date, category));
                    }
                }
                HouseholdCase {
                    categories,
                    village,
                    prior,
                    redemptions,
                    entries,
                }
            },
        )
}

/// What the engine (or the account functions) hold after the month.
#[derive(Debug, PartialEq, Eq)]
struct Expected {
    awarded: i64,
    credited: i64,
    capped: i64,
    vetoed: i64,
    deducted: i64,
    unapplied: i64,
    closing_balance: i64,
    ytd_credited: i64,
    ytd_deducted: i64,
}

impl Expected {
    fn of(account: &Account) -> Expected {
        let totals = account
            .months
            .get(&month())
            .map(|m| m.totals.clone())
            .unwrap_or_default();
        let (_, year) = account.counters(month());
        Expected {
            awarded: totals.awarded.get(),
            credited: totals.credited.get(),
            capped: totals.capped.get(),
            vetoed: totals.vetoed.get(),
            deducted: totals.deducted.get(),
            unapplied: totals.unapplied.get(),
            closing_balance: account.balance.get(),
            ytd_credited: year.toward_year.get(),
            ytd_deducted: year.deducted.get(),
        }
    }

    fn of_kernel(settled: &Settlement, h: usize) -> Expected {
        let r = &settled.households;
        assert_eq!(r.net[h], r.credited[h] - r.deducted[h] - r.unapplied[h]);
        Expected {
            awarded: r.awarded[h],
            credited: r.credited[h],
            capped: r.capped[h],
            vetoed: r.vetoed[h],
            deducted: r.deducted[h],
            unapplied: r.unapplied[h],
            closing_balance: r.closing_balance[h],
            ytd_credited: r.ytd_credited[h],
            ytd_deducted: r.ytd_deducted[h],
        }
    }
}

/// The columns the kernel reads, owned.
#[derive(Clone, Default)]
struct Columns {
    category: Vec<u32>,
    village: Vec<u32>,
    opening_balance: Vec<i64>,
    ytd_credited: Vec<i64>,
    ytd_deducted: Vec<i64>,
    entry_household: Vec<u32>,
    entry_kind: Vec<u8>,
    entry_points: Vec<i64>,
    entry_day: Vec<u8>,
    entry_order: Vec<u32>,
    redemption_household: Vec<u32>,
    redemption_store: Vec<u32>,
    redemption_points: Vec<i64>,
    redemption_reimbursable: Vec<u8>,
}

impl Columns {
    fn input(&self) -> MonthInput<'_> {
        MonthInput {
            households: Households {
                category: &self.category,
                village: &self.village,
                opening_balance: &self.opening_balance,
                ytd_credited: &self.ytd_credited,
                ytd_deducted: &self.ytd_deducted,
            },
            regions: Regions {
                village_township: &VILLAGE_TOWNSHIP,
                township_county: &TOWNSHIP_COUNTY,
                counties: 2,
            },
            entries: Entries {
                household: &self.entry_household,
                kind: &self.entry_kind,
                points: &self.entry_points,
                day: &self.entry_day,
                order: &self.entry_order,
            },
            redemptions: Redemptions {
                household: &self.redemption_household,
                store: &self.redemption_store,
                points: &self.redemption_points,
                reimbursable: &self.redemption_reimbursable,
            },
            stores: STORES,
        }
    }

    /// Reorders the entries by `rows`.
    fn reorder_entries(&mut self, rows: &[usize]) {
        take(&mut self.entry_household, rows);
        take(&mut self.entry_kind, rows);
        take(&mut self.entry_points, rows);
        take(&mut self.entry_day, rows);
        take(&mut self.entry_order, rows);
    }
}

/// Reorders a column by `rows`.
fn take<T: Copy>(column: &mut Vec<T>, rows: &[usize]) {
    *column = rows.iter().map(|&r| column[r]).collect();
}

fn id(h: usize) -> HouseholdId {
    HouseholdId(format!("H{h}"))
}

/// The households' prior history replayed on accounts, through either path.
trait Reference {
    fn register(&mut self, h: usize, case: &HouseholdCase);
    fn award(&mut self, h: usize, date: NaiveDate, points: i64, scope: Option<CapScope>);
    fn deduct(&mut self, h: usize, date: NaiveDate, points: i64);
    fn veto(&mut self, h: usize, date: NaiveDate);
    fn account(&self, h: usize) -> Account;
}

/// The one-by-one engine, driven by the administrator's commands.
struct EngineReference(Engine);

impl EngineReference {
    fn new(policy: Policy) -> EngineReference {
        let options = EngineOptions::new(b"pepper").with_pin_hash_cost(PinHashCost::MINIMAL);
        let engine = EngineReference(Engine::open_memory(policy, options).unwrap());
        engine.run(Command::RegisterActor {
            actor: serde_json::from_str(r#"{"id": "admin", "roles": ["administrator"]}"#).unwrap(),
        });
        engine
    }

    fn run(&self, command: Command) {
        let request = Request {
            actor: ActorId("admin".into()),
            at: Some("2025-07-03T02:00:00Z".parse().unwrap()),
            key: None,
            reason: Some("monthly posting".into()),
            command,
        };
        self.0.execute(request).unwrap();
    }
}

fn region(village: u32) -> Region {
    let township = VILLAGE_TOWNSHIP[village as usize];
    Region {
        county: CountyCode(format!("C{}", TOWNSHIP_COUNTY[township as usize])),
        township: TownshipCode(format!("T{township}")),
        village: format!("V{village}").as_str().into(),
        group: None,
    }
}

impl Reference for EngineReference {
    fn register(&mut self, h: usize, case: &HouseholdCase) {
        let history = case.history();
        self.run(Command::RegisterHousehold {
            household: id(h),
            region: region(case.village),
            head: "户主".into(),
            category: history[0].1.clone(),
            category_from: Some(history[0].0),
            members: vec![],
            residency: Residency::Resident,
            attributes: BTreeMap::new(),
            photo_ref: None,
        });
        for (from, category) in &history[1..] {
            self.run(Command::ChangeCategory {
                household: id(h),
                category: category.clone(),
                effective_from: *from,
            });
        }
    }

    fn award(&mut self, h: usize, date: NaiveDate, points: i64, scope: Option<CapScope>) {
        assert!(scope.is_none(), "the engine posts bonuses from sheets only");
        self.run(Command::PostAward {
            household: id(h),
            date,
            points: Points(points),
        });
    }

    fn deduct(&mut self, h: usize, date: NaiveDate, points: i64) {
        self.run(Command::PostDeduction {
            household: id(h),
            date,
            points: Points(points),
        });
    }

    fn veto(&mut self, h: usize, date: NaiveDate) {
        self.run(Command::PostVeto {
            household: id(h),
            date,
        });
    }

    fn account(&self, h: usize) -> Account {
        self.0.read(|s| s.account(&id(h)).unwrap().clone())
    }
}

/// The account functions the engine calls (decide, then apply), which also
/// take bonuses with the ranking policy's cap scope.
struct AccountReference {
    policy: Policy,
    households: Vec<Household>,
    accounts: Vec<Account>,
}

impl Reference for AccountReference {
    fn register(&mut self, h: usize, case: &HouseholdCase) {
        assert_eq!(h, self.households.len());
        self.households.push(Household {
            id: id(h),
            region: region(case.village),
            head: "户主".into(),
            members: vec![],
            categories: case.history(),
            residency: Residency::Resident,
            status: HouseholdStatus::Active,
            attributes: BTreeMap::new(),
            photo_ref: None,
        });
        self.accounts.push(Account::default());
    }

    fn award(&mut self, h: usize, date: NaiveDate, points: i64, scope: Option<CapScope>) {
        let origin = match scope {
            Some(_) => Origin::RankingBonus {
                period: month().to_string(),
                rank: 1,
            },
            None => Origin::Admin,
        };
        let posting = account::decide_award(
            &self.policy,
            &self.households[h],
            &self.accounts[h],
            date,
            Points(points),
            origin,
            scope.unwrap_or(CapScope::BOTH),
        )
        .unwrap();
        self.accounts[h].apply_award(&posting);
    }

    fn deduct(&mut self, h: usize, date: NaiveDate, points: i64) {
        let posting = account::decide_deduction(
            &self.policy,
            &id(h),
            &self.accounts[h],
            date,
            Points(points),
            Origin::Admin,
        )
        .unwrap();
        self.accounts[h].apply_deduction(&posting);
    }

    fn veto(&mut self, h: usize, date: NaiveDate) {
        let posting =
            account::decide_veto(&self.policy, &id(h), &self.accounts[h], date, Origin::Admin);
        self.accounts[h].apply_veto(&posting);
    }

    fn account(&self, h: usize) -> Account {
        self.accounts[h].clone()
    }
}

/// Replays the prior months, reads the kernel's opening columns off the
/// accounts, posts the month in the fixed order (vetoes, then entries by day,
/// order and position), and returns the columns and what the reference holds.
fn run_reference(
    reference: &mut dyn Reference,
    policy: &Policy,
    cases: &[HouseholdCase],
) -> (Columns, Vec<Expected>) {
    let mut columns = Columns::default();
    let bonus_scope = CapScope {
        monthly: policy.ranking.counts_toward_monthly_cap,
        annual: policy.ranking.counts_toward_annual_cap,
    };
    for (h, case) in cases.iter().enumerate() {
        reference.register(h, case);
        for (i, &(m, award, points)) in case.prior.iter().enumerate() {
            let day = date(
                if m == 0 { 2024 } else { 2025 },
                if m == 0 { 12 } else { m },
                1 + i as u32,
            );
            if award {
                reference.award(h, day, points, None);
            } else {
                reference.deduct(h, day, points);
            }
        }
        let before = reference.account(h);
        let (_, year) = before.counters(month());
        // The redemptions were made out of the opening balance before the posting.
        let mut redeemed = 0;
        if before.balance.get() >= 0 {
            for &(store, points, reimbursable) in &case.redemptions {
                columns.redemption_household.push(h as u32);
                columns.redemption_store.push(store);
                columns.redemption_points.push(points);
                columns.redemption_reimbursable.push(reimbursable);
                redeemed += points;
            }
        }
        columns.category.push(h as u32);
        columns.village.push(case.village);
        columns
            .opening_balance
            .push(before.balance.get() + redeemed);
        columns.ytd_credited.push(year.toward_year.get());
        columns.ytd_deducted.push(year.deducted.get());
        for &(k, points, day, order) in &case.entries {
            columns.entry_household.push(h as u32);
            columns.entry_kind.push(k);
            columns.entry_points.push(points);
            columns.entry_day.push(day);
            columns.entry_order.push(order);
        }
        let mut entries: Vec<(u8, u32, usize)> = case
            .entries
            .iter()
            .enumerate()
            .map(|(i, &(_, _, day, order))| (day, order, i))
            .collect();
        entries.sort();
        let on = |day: u8| month().day(u32::from(day)).unwrap();
        for &(day, _, i) in &entries {
            if case.entries[i].0 == kind::VETO {
                reference.veto(h, on(day));
            }
        }
        for &(day, _, i) in &entries {
            let (k, points, _, _) = case.entries[i];
            match k {
                kind::AWARD => reference.award(h, on(day), points, None),
                kind::BONUS => reference.award(h, on(day), points, Some(bonus_scope)),
                kind::DEDUCTION => reference.deduct(h, on(day), points),
                _ => {}
            }
        }
    }
    let expected = (0..cases.len())
        .map(|h| Expected::of(&reference.account(h)))
        .collect();
    (columns, expected)
}

/// The rules with category index `h` = household `h`'s own history.
fn rules_for(policy: &Policy, cases: &[HouseholdCase]) -> MonthRules {
    let histories: Vec<_> = cases.iter().map(HouseholdCase::history).collect();
    MonthRules::new(policy, month(), &histories).unwrap()
}

/// A permutation that interleaves households at random but keeps each
/// household's entries in their order (ties on day and order post by position).
fn interleave(households: &[u32], seed: u64) -> Vec<usize> {
    let mut slots: Vec<usize> = (0..households.len()).collect();
    let mut state = seed | 1;
    for i in (1..slots.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        slots.swap(i, (state % (i as u64 + 1)) as usize);
    }
    // Each household keeps its rows' relative order in the slots it landed on.
    let mut by_household: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &row in &slots {
        by_household.entry(households[row]).or_default().push(row);
    }
    for rows in by_household.values_mut() {
        rows.sort_unstable();
    }
    let mut next: BTreeMap<u32, usize> = BTreeMap::new();
    slots
        .iter()
        .map(|&row| {
            let h = households[row];
            let i = next.entry(h).or_default();
            *i += 1;
            by_household[&h][*i - 1]
        })
        .collect()
}

/// The store and region figures, summed naively from the per-household ones.
fn check_totals(policy: &Policy, columns: &Columns, expected: &[Expected], settled: &Settlement) {
    let price = |points: i64| {
        Yuan(
            policy
                .reimbursement
                .rounding
                .apply(Decimal::from(points) * policy.point_value.0),
        )
    };
    let mut villages = vec![[0i64; 4]; VILLAGE_TOWNSHIP.len()];
    for (h, e) in expected.iter().enumerate() {
        let v = &mut villages[columns.village[h] as usize];
        v[0] += 1;
        v[1] += e.credited;
        v[2] += e.closing_balance;
    }
    let mut stores = vec![[0i64; 2]; STORES as usize];
    for r in 0..columns.redemption_household.len() {
        let points = columns.redemption_points[r];
        villages[columns.village[columns.redemption_household[r] as usize] as usize][3] += points;
        stores[columns.redemption_store[r] as usize][0] += points;
        stores[columns.redemption_store[r] as usize][1] +=
            points * i64::from(columns.redemption_reimbursable[r]);
    }
    let totals = &settled.totals;
    for (v, sums) in villages.iter().enumerate() {
        assert_eq!(totals.villages.households[v], sums[0] as u64);
        assert_eq!(totals.villages.credited[v], sums[1]);
        assert_eq!(totals.villages.balance[v], sums[2]);
        assert_eq!(totals.villages.redeemed[v], sums[3]);
        assert_eq!(totals.villages.liability[v], price(sums[2]));
    }
    for county in 0..2u32 {
        let balance: i64 = (0..VILLAGE_TOWNSHIP.len())
            .filter(|&v| TOWNSHIP_COUNTY[VILLAGE_TOWNSHIP[v] as usize] == county)
            .map(|v| villages[v][2])
            .sum();
        assert_eq!(totals.counties.balance[county as usize], balance);
        assert_eq!(totals.counties.liability[county as usize], price(balance));
    }
    for (s, sums) in stores.iter().enumerate() {
        assert_eq!(totals.stores.redeemed[s], sums[0]);
        assert_eq!(totals.stores.reimbursable[s], sums[1]);
        assert_eq!(totals.stores.amount[s], price(sums[1]));
    }
}

/// Settles the columns sorted by household (each household's rows in their
/// own order, then in posting order) and interleaved, on one and more
/// threads, and checks each household against the reference and the totals.
fn check_kernel(
    policy: &Policy,
    cases: &[HouseholdCase],
    mut columns: Columns,
    expected: &[Expected],
) {
    let rules = rules_for(policy, cases);
    let mut runs = Vec::new();
    for threads in [1, 2, 3] {
        runs.push(
            settle(
                &rules,
                &columns.input(),
                SettleOptions::with_threads(threads),
            )
            .unwrap(),
        );
    }
    // Each household's rows in posting order (stably: ties keep their order),
    // as score sheets usually come: posted where they lie, without sorting.
    let mut in_posting_order: Vec<usize> = (0..columns.entry_household.len()).collect();
    in_posting_order.sort_by_key(|&row| {
        let c = &columns;
        (c.entry_household[row], c.entry_day[row], c.entry_order[row])
    });
    let mut posting_order = columns.clone();
    posting_order.reorder_entries(&in_posting_order);
    runs.push(
        settle(
            &rules,
            &posting_order.input(),
            SettleOptions::with_threads(1),
        )
        .unwrap(),
    );
    let rows = interleave(&columns.entry_household, cases.len() as u64 * 7919 + 1);
    columns.reorder_entries(&rows);
    for threads in [1, 2] {
        runs.push(
            settle(
                &rules,
                &columns.input(),
                SettleOptions::with_threads(threads),
            )
            .unwrap(),
        );
    }
    for settled in &runs {
        assert_eq!(settled, &runs[0]);
    }
    for (h, e) in expected.iter().enumerate() {
        assert_eq!(&Expected::of_kernel(&runs[0], h), e, "household {h}");
    }
    check_totals(policy, &columns, expected, &runs[0]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The kernel equals the engine posting the same month command by command.
    #[test]
    fn the_kernel_settles_a_month_as_the_engine_posts_it(
        policy in policy_case(),
        cases in prop::collection::vec(household_case(false), 1..20),
    ) {
        let policy = policy.policy();
        let mut engine = EngineReference::new(policy.clone());
        let (columns, expected) = run_reference(&mut engine, &policy, &cases);
        engine.0.check_invariants().unwrap();
        check_kernel(&policy, &cases, columns, &expected);
    }

    /// With bonus entries (their cap scope is the ranking policy's), the kernel
    /// equals the account functions the engine decides and applies with.
    #[test]
    fn the_kernel_caps_bonuses_as_the_account_rules_do(
        policy in policy_case(),
        cases in prop::collection::vec(household_case(true), 1..20),
    ) {
        let policy = policy.policy();
        let mut accounts = AccountReference { policy: policy.clone(), households: vec![], accounts: vec![] };
        let (columns, expected) = run_reference(&mut accounts, &policy, &cases);
        check_kernel(&policy, &cases, columns, &expected);
    }
}

/// A population of three counties and its partition by county, with
/// household indices local to each partition and global keys.
fn by_county(population: &Population) -> Vec<(Vec<u64>, Population)> {
    let input = population.input();
    let county_of = |h: usize| {
        let village = input.households.village[h] as usize;
        input.regions.township_county[input.regions.village_township[village] as usize]
    };
    (0..input.regions.counties)
        .map(|county| {
            let mut part = Population {
                categories: population.categories.clone(),
                regions: population.regions.clone(),
                stores: population.stores,
                ..Population::default()
            };
            let mut local = vec![u32::MAX; input.households.category.len()];
            let mut keys = Vec::new();
            let hs = &population.households;
            for h in (0..local.len()).filter(|&h| county_of(h) == county) {
                local[h] = keys.len() as u32;
                keys.push(h as u64);
                part.households.category.push(hs.category[h]);
                part.households.village.push(hs.village[h]);
                part.households.opening_balance.push(hs.opening_balance[h]);
                part.households.ytd_credited.push(hs.ytd_credited[h]);
                part.households.ytd_deducted.push(hs.ytd_deducted[h]);
            }
            let e = &population.entries;
            for row in
                (0..e.household.len()).filter(|&r| local[e.household[r] as usize] != u32::MAX)
            {
                part.entries
                    .household
                    .push(local[e.household[row] as usize]);
                part.entries.kind.push(e.kind[row]);
                part.entries.points.push(e.points[row]);
                part.entries.day.push(e.day[row]);
                part.entries.order.push(e.order[row]);
            }
            let r = &population.redemptions;
            for row in
                (0..r.household.len()).filter(|&r2| local[r.household[r2] as usize] != u32::MAX)
            {
                part.redemptions
                    .household
                    .push(local[r.household[row] as usize]);
                part.redemptions.store.push(r.store[row]);
                part.redemptions.points.push(r.points[row]);
                part.redemptions.reimbursable.push(r.reimbursable[row]);
            }
            (keys, part)
        })
        .collect()
}

/// The partitions' inputs, each keyed by its households' global indices.
fn partitions_of(parts: &[(Vec<u64>, Population)]) -> Vec<Partition<'_>> {
    parts
        .iter()
        .map(|(keys, part)| Partition {
            keys,
            input: part.input(),
        })
        .collect()
}

fn three_counties() -> (Policy, PopulationSpec, Population) {
    let policy =
        Policy::from_json(r#"{"extends": "baisha-2019", "point_value": "0.125"}"#).unwrap();
    let mut spec = PopulationSpec::new(3_000, 11);
    spec.households_per_village = 50;
    spec.villages_per_township = 5;
    spec.townships_per_county = 4;
    spec.veto_permille = 20;
    let population = Population::generate(&policy, &spec).unwrap();
    assert_eq!(population.regions.counties, 3);
    (policy, spec, population)
}

#[test]
fn partitions_by_county_merge_into_the_single_run() {
    let (policy, spec, population) = three_counties();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let whole = settle(&rules, &population.input(), SettleOptions::default()).unwrap();
    let parts = by_county(&population);
    let partitions = partitions_of(&parts);
    let merged = settle_partitions(&rules, &partitions, SettleOptions::with_threads(2)).unwrap();
    assert_eq!(merged.totals, whole.totals);
    for ((keys, _), households) in parts.iter().zip(&merged.households) {
        for (local, &key) in keys.iter().enumerate() {
            let g = key as usize;
            assert_eq!(households.credited[local], whole.households.credited[g]);
            assert_eq!(households.capped[local], whole.households.capped[g]);
            assert_eq!(
                households.closing_balance[local],
                whole.households.closing_balance[g]
            );
            assert_eq!(
                households.ytd_credited[local],
                whole.households.ytd_credited[g]
            );
        }
    }
    // The totals are not trivially equal: money was rounded at store and region level.
    assert!(whole
        .totals
        .stores
        .amount
        .iter()
        .any(|a| a.0.fract() != Decimal::ZERO));
}

#[test]
fn a_household_split_across_partitions_is_refused() {
    let (policy, spec, population) = three_counties();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let mut parts = by_county(&population);
    // Household 0 of county 0 also shows up in county 2, with an entry of its own there.
    let stray = parts[0].0[0];
    let (keys, part) = &mut parts[2];
    keys.push(stray);
    part.households.category.push(0);
    part.households
        .village
        .push(population.households.village[stray as usize]);
    part.households.opening_balance.push(0);
    part.households.ytd_credited.push(0);
    part.households.ytd_deducted.push(0);
    part.entries.household.push(keys.len() as u32 - 1);
    part.entries.kind.push(kind::AWARD);
    part.entries.points.push(50);
    part.entries.day.push(3);
    part.entries.order.push(0);
    let partitions = partitions_of(&parts);
    let error = settle_partitions(&rules, &partitions, SettleOptions::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::HouseholdSplitAcrossPartitions);
    assert!(
        error.to_string().contains(&format!(
            "household key {stray} is in partition 0 and partition 2"
        )),
        "{error}"
    );
}

#[test]
fn partitions_with_different_region_tables_are_refused() {
    let (policy, spec, population) = three_counties();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let mut parts = by_county(&population);
    parts[1].1.regions.township_county[0] = 1;
    let partitions = partitions_of(&parts);
    let error = settle_partitions(&rules, &partitions, SettleOptions::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PartitionMismatch);
}

/// Partitions that name no region tree and no stores settle as one county
/// over every partition's villages and stores: the merged totals are the
/// single run's under that tree, which names a village or store only one
/// partition holds. A partition that names a tree beside one that does not
/// is refused.
#[test]
fn partitions_naming_no_tree_or_stores_are_one_county_over_them_all() {
    let (policy, spec, population) = three_counties();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let mut parts = by_county(&population);
    for (_, part) in &mut parts {
        part.regions = RegionColumns::default();
        part.stores = 0;
    }
    let partitions = partitions_of(&parts);
    let merged = settle_partitions(&rules, &partitions, SettleOptions::default()).unwrap();

    let mut one_county = population.clone();
    one_county.regions = RegionColumns::default();
    one_county.stores = 0;
    let whole = settle(&rules, &one_county.input(), SettleOptions::default()).unwrap();
    assert_eq!(merged.totals, whole.totals);
    let villages = population.regions.village_township.len();
    assert_eq!(whole.totals.villages.credited.len(), villages);
    assert_eq!(whole.totals.counties.credited.len(), 1);
    let named = settle(&rules, &population.input(), SettleOptions::default()).unwrap();
    assert_eq!(whole.households, named.households);
    assert_eq!(whole.totals.villages, named.totals.villages);
    assert_eq!(
        whole.totals.counties.credited,
        [named.totals.counties.credited.iter().sum::<i64>()]
    );
    let largest_store = population.redemptions.store.iter().max().unwrap();
    assert_eq!(
        whole.totals.stores.redeemed.len(),
        *largest_store as usize + 1
    );

    let mut mixed = partitions;
    mixed[1].input.regions = population.input().regions;
    let error = settle_partitions(&rules, &mixed, SettleOptions::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::PartitionMismatch);
}

/// A small valid month, to break one column at a time.
fn small() -> (MonthRules, Population) {
    let policy = Policy::from_json("baisha-2019").unwrap();
    let spec = PopulationSpec::new(600, 5);
    let population = Population::generate(&policy, &spec).unwrap();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    (rules, population)
}

fn refused(rules: &MonthRules, population: &Population) -> (ErrorCode, String) {
    for threads in [1, 2] {
        let error = settle(
            rules,
            &population.input(),
            SettleOptions::with_threads(threads),
        )
        .unwrap_err();
        if threads == 2 {
            return (error.code(), error.to_string());
        }
    }
    unreachable!()
}

#[test]
fn malformed_columns_are_refused_with_their_row_and_code() {
    let (rules, valid) = small();
    settle(&rules, &valid.input(), SettleOptions::default()).unwrap();
    let row = valid.entries.household.len() / 2;
    type Change = fn(&mut Population, usize);
    let cases: Vec<(ErrorCode, String, Change)> = vec![
        (
            ErrorCode::ColumnLength,
            "entries.points has".into(),
            |p, _| {
                p.entries.points.pop();
            },
        ),
        (
            ErrorCode::IndexOutOfRange,
            "entries.household row".into(),
            |p, row| p.entries.household[row] = 600,
        ),
        (
            ErrorCode::IndexOutOfRange,
            "households.category row 7".into(),
            |p, _| p.households.category[7] = 9,
        ),
        (
            ErrorCode::IndexOutOfRange,
            "households.village row 8".into(),
            |p, _| p.households.village[8] = 99,
        ),
        (
            ErrorCode::IndexOutOfRange,
            "redemptions.store row 1".into(),
            |p, _| p.redemptions.store[1] = 99,
        ),
        (
            ErrorCode::IndexOutOfRange,
            "regions.township_county row 0".into(),
            |p, _| p.regions.township_county[0] = 5,
        ),
        (
            ErrorCode::InvalidEntryKind,
            format!("entries.kind row {row} is 7"),
            |p, row| p.entries.kind[row] = 7,
        ),
        (
            ErrorCode::InvalidEntryDay,
            format!("entries.day row {row} is 31"),
            |p, row| p.entries.day[row] = 31,
        ),
        (
            ErrorCode::InvalidRowPoints,
            format!("entries.points row {row} is -4"),
            |p, row| {
                p.entries.kind[row] = kind::AWARD;
                p.entries.points[row] = -4;
            },
        ),
        (
            ErrorCode::InvalidRowPoints,
            format!("entries.points row {row} is 3"),
            |p, row| {
                p.entries.kind[row] = kind::VETO;
                p.entries.points[row] = 3;
            },
        ),
        (
            ErrorCode::InvalidRowPoints,
            "households.opening_balance row 3".into(),
            |p, _| p.households.opening_balance[3] = i64::MAX,
        ),
        (
            ErrorCode::InvalidRowPoints,
            "households.opening_balance row".into(),
            |p, _| {
                let redeeming = p.redemptions.household[0] as usize;
                p.households.opening_balance[redeeming] = i64::MIN;
            },
        ),
        (
            ErrorCode::InvalidFlag,
            "redemptions.reimbursable row 2 is 2".into(),
            |p, _| p.redemptions.reimbursable[2] = 2,
        ),
        (
            ErrorCode::TooManyRows,
            "the stores named is 4294967295, more than the 16777216 stores".into(),
            |p, _| p.stores = u32::MAX,
        ),
        (
            ErrorCode::TooManyRows,
            "the counties named is 16777217".into(),
            |p, _| p.regions.counties = MAX_TOTALS_ROWS + 1,
        ),
        (
            ErrorCode::TooManyRows,
            "one past the largest redemptions.store is 4294967296".into(),
            |p, _| {
                p.stores = 0;
                p.redemptions.store[3] = u32::MAX;
            },
        ),
        (
            ErrorCode::TooManyRows,
            "one past the largest households.village is 16777217, more than the 16777216 villages"
                .into(),
            |p, _| {
                p.regions = RegionColumns::default();
                p.households.village[5] = MAX_TOTALS_ROWS;
            },
        ),
    ];
    for (code, text, change) in cases {
        let mut population = valid.clone();
        change(&mut population, row);
        let (got, message) = refused(&rules, &population);
        assert_eq!(got, code, "{message}");
        assert!(message.contains(&text), "{message:?} lacks {text:?}");
        // The same refusal when the entries come unsorted.
        let mut shuffled = valid.clone();
        shuffled.shuffle_entries(1);
        change(&mut shuffled, row);
        assert_eq!(refused(&rules, &shuffled).0, code);
    }
}

/// Any number of threads settles a month alike: none, and more than any
/// machine has (taken as the most a settlement runs).
#[test]
fn any_number_of_threads_settles_alike() {
    let (rules, population) = small();
    let mut shuffled = population.clone();
    shuffled.shuffle_entries(2);
    for population in [&population, &shuffled] {
        let input = population.input();
        let one = settle(&rules, &input, SettleOptions::with_threads(1)).unwrap();
        for threads in [0, MAX_THREADS + 1, usize::MAX] {
            let many = settle(&rules, &input, SettleOptions::with_threads(threads)).unwrap();
            assert_eq!(many, one, "{threads} threads");
        }
    }
}

/// Unsorted entries with a bad row early and a household beyond the
/// population late: every number of threads names the early row, as one
/// thread reading the rows in order does.
#[test]
fn the_first_bad_entry_is_named_before_a_later_household_beyond_the_population() {
    let (rules, mut population) = small();
    population.shuffle_entries(5);
    let rows = population.entries.household.len();
    population.entries.kind[1] = 9;
    population.entries.household[rows - 1] = 600;
    for threads in [1, 2, 3] {
        let error = settle(
            &rules,
            &population.input(),
            SettleOptions::with_threads(threads),
        )
        .unwrap_err();
        assert_eq!(
            error.code(),
            ErrorCode::InvalidEntryKind,
            "{threads} threads"
        );
        assert!(
            error.to_string().starts_with("entries.kind row 1 is 9"),
            "{threads} threads: {error}"
        );
    }
}

/// The refusal names the same row whatever the number of threads: the
/// redemptions are checked before the entries, and a table's first bad row
/// is named, wherever its household falls among the threads' ranges.
#[test]
fn a_refusal_names_the_same_row_whatever_the_threads() {
    let (rules, mut population) = small();
    let last_household = population.households.category.len() as u32 - 1;
    let rows = population.redemptions.household.len();
    let (first_bad, second_bad) = (rows / 2, rows - 1);
    population.redemptions.household[first_bad] = last_household;
    population.redemptions.points[first_bad] = 0;
    population.redemptions.reimbursable[second_bad] = 2;
    population.entries.day[0] = 31;
    for shuffled in [false, true] {
        let mut population = population.clone();
        if shuffled {
            population.shuffle_entries(3);
        }
        for threads in [1, 2, 3, 8] {
            let options = SettleOptions::with_threads(threads);
            let error = settle(&rules, &population.input(), options).unwrap_err();
            assert_eq!(
                error.code(),
                ErrorCode::InvalidRowPoints,
                "{threads} threads"
            );
            assert!(
                error
                    .to_string()
                    .contains(&format!("redemptions.points row {first_bad} is 0")),
                "{threads} threads: {error}"
            );
        }
    }
}

/// The sorted pass's threads take pieces of the households in turn; the
/// first piece, in household order, that finds a bad row or finds the
/// entries out of order decides, so a refusal is the one a single thread
/// gives: the earlier of two bad rows; and, with the entries out of order
/// early on, the grouping pass's refusal (which checks every entry before
/// any household), not a later piece's refusal of a bad household.
#[test]
fn an_entry_refusal_is_the_same_whatever_the_threads() {
    let policy = Policy::from_json("baisha-2019").unwrap();
    let spec = PopulationSpec::new(3_000, 5);
    let population = Population::generate(&policy, &spec).unwrap();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let rows = population.entries.household.len();
    // The out-of-order rows lie beyond the first rows the kernel looks at
    // to choose its pass, so the sorted pass is the one that finds them.
    assert!(rows / 5 > 4096, "{rows} rows");
    let mut two_bad = population.clone();
    two_bad.entries.day[rows / 5] = 0;
    two_bad.entries.points[rows - 2] = 0;
    let mut out_of_order = population.clone();
    let e = &mut out_of_order.entries;
    let descent = (rows / 5..rows)
        .find(|&r| e.household[r] != e.household[r - 1])
        .unwrap();
    e.household.swap(descent - 1, descent);
    e.kind.swap(descent - 1, descent);
    e.points.swap(descent - 1, descent);
    e.day.swap(descent - 1, descent);
    e.order.swap(descent - 1, descent);
    let bad_entry = 2 * rows / 5;
    e.points[bad_entry] = 0;
    let last = population.households.category.len() - 1;
    out_of_order.households.category[last] = 99;
    for (case, population, named) in [
        ("two bad rows", &two_bad, rows / 5),
        ("out of order", &out_of_order, bad_entry),
    ] {
        let one = settle(&rules, &population.input(), SettleOptions::with_threads(1))
            .unwrap_err()
            .to_string();
        assert!(one.contains(&format!("row {named} ")), "{case}: {one}");
        for threads in [2, 3, 8, 64] {
            let many = settle(
                &rules,
                &population.input(),
                SettleOptions::with_threads(threads),
            )
            .unwrap_err()
            .to_string();
            assert_eq!(many, one, "{case}, {threads} threads");
        }
    }
}

#[test]
fn redemptions_beyond_the_opening_balance_are_refused() {
    let (rules, mut population) = small();
    let h = population.redemptions.household[0] as usize;
    let redeemed: i64 = (0..population.redemptions.household.len())
        .filter(|&r| population.redemptions.household[r] as usize == h)
        .map(|r| population.redemptions.points[r])
        .sum();
    population.households.opening_balance[h] = redeemed - 1;
    let (code, message) = refused(&rules, &population);
    assert_eq!(code, ErrorCode::RedemptionsExceedBalance);
    assert!(
        message.contains(&format!(
            "household {h} redeemed {redeemed} points from an opening balance of {}",
            redeemed - 1
        )),
        "{message}"
    );
}

#[test]
fn a_veto_period_longer_than_the_month_is_refused() {
    let mut policy = Policy::from_json("baisha-2019").unwrap();
    policy.veto_period = jifen::policy::PeriodKind::Quarter;
    let error = MonthRules::for_categories(&policy, month(), &["poor".into()]).unwrap_err();
    assert_eq!(error.code(), ErrorCode::UnsupportedVetoPeriod);
    let unknown = MonthRules::for_categories(
        &Policy::from_json("baisha-2019").unwrap(),
        month(),
        &["rich".into()],
    )
    .unwrap_err();
    assert_eq!(unknown.code(), ErrorCode::UnknownCategory);
}

/// Grouping unsorted entries works in blocks of 16,384 households and in
/// chunks of rows: a population spanning several blocks settles shuffled,
/// in small chunks and on any number of threads exactly as it does sorted.
#[test]
fn unsorted_entries_settle_as_sorted_across_blocks_and_chunks() {
    let policy =
        Policy::from_json(r#"{"extends": "baisha-2019", "point_value": "0.125"}"#).unwrap();
    let mut spec = PopulationSpec::new(150_000, 21).with_entries_per_household(3);
    spec.veto_permille = 20;
    spec.bonus_permille = 20;
    let mut population = Population::generate(&policy, &spec).unwrap();
    // Now and then an entry of more points than the grouping pass packs
    // with its household, up to the most an entry may carry.
    let e = &mut population.entries;
    for row in (0..e.points.len()).step_by(89) {
        if e.kind[row] != kind::VETO {
            e.points[row] = MAX_ENTRY_POINTS - (row as i64 * 7_919) % (MAX_ENTRY_POINTS - 65_535);
        }
    }
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let sorted = settle(&rules, &population.input(), SettleOptions::with_threads(1)).unwrap();
    population.shuffle_entries(5);
    for (threads, chunk_entries) in [(1, usize::MAX), (2, usize::MAX), (1, 100_000), (3, 50_000)] {
        let options = SettleOptions {
            threads,
            chunk_entries,
        };
        let shuffled = settle(&rules, &population.input(), options).unwrap();
        assert!(shuffled == sorted, "{options:?}");
    }
}

/// Entries sorted as far as the pass first looks and out of order later:
/// the sorted pass, which writes a fresh settlement's result columns
/// without zeroing them, stops where it finds them out of order and the
/// grouping pass settles the month, to the same result as sorted entries.
#[test]
fn entries_found_out_of_order_midway_settle_as_sorted() {
    let policy = Policy::from_json("baisha-2019").unwrap();
    let spec = PopulationSpec::new(40_000, 12).with_entries_per_household(4);
    let population = Population::generate(&policy, &spec).unwrap();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let e = &population.entries;
    // The last household's rows moved to just after three quarters of them.
    let last = *e.household.last().unwrap();
    let moved = e.household.partition_point(|&h| h < last);
    let at = e.household.partition_point(|&h| h < last * 3 / 4);
    assert!(at > 4096 && moved > at, "{at} {moved}");
    let order: Vec<usize> = (0..at)
        .chain(moved..e.household.len())
        .chain(at..moved)
        .collect();
    let mut out_of_order = population.clone();
    let o = &mut out_of_order.entries;
    take(&mut o.kind, &order);
    take(&mut o.day, &order);
    take(&mut o.order, &order);
    take(&mut o.household, &order);
    take(&mut o.points, &order);
    for threads in [1, 2] {
        let options = SettleOptions::with_threads(threads);
        let want = settle(&rules, &population.input(), options).unwrap();
        let got = settle(&rules, &out_of_order.input(), options).unwrap();
        assert!(got == want, "{threads} threads");
    }
}

/// Both passes write whole cache lines of the result columns at once:
/// columns a caller holds, each starting at its own place within a line,
/// get every row as the settlement's own columns do, and nothing beyond,
/// whether the entries come sorted or not.
#[test]
fn caller_columns_starting_anywhere_in_a_cache_line_get_every_row() {
    let policy = Policy::from_json("baisha-2019").unwrap();
    let spec = PopulationSpec::new(5_003, 8).with_entries_per_household(4);
    let population = Population::generate(&policy, &spec).unwrap();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let want = settle(&rules, &population.input(), SettleOptions::with_threads(1)).unwrap();
    let rows = want.households.closing_balance.len();
    let mut shuffled = population.clone();
    shuffled.shuffle_entries(9);
    for (threads, population) in [1, 2, 3]
        .into_iter()
        .flat_map(|t| [(t, &population), (t, &shuffled)])
    {
        let input = population.input();
        // Column k starts k values into its buffer; a sentinel follows it.
        let mut buffers: Vec<Vec<i64>> = (0..10).map(|k| vec![-7; k + rows + 1]).collect();
        let columns = buffers
            .iter_mut()
            .enumerate()
            .map(|(k, buffer)| &mut buffer[k..k + rows]);
        let columns =
            HouseholdResultsMut::from_columns(columns.collect::<Vec<_>>().try_into().unwrap());
        let options = SettleOptions::with_threads(threads);
        let totals = settle_columns(&rules, &input, options, columns).unwrap();
        assert_eq!(totals, want.totals);
        let expected = want.households.clone().into_columns();
        for (k, (buffer, expected)) in buffers.iter().zip(&expected).enumerate() {
            assert!(
                buffer[..k].iter().all(|&v| v == -7),
                "column {k} before its rows"
            );
            assert_eq!(
                &buffer[k..k + rows],
                &expected[..],
                "column {k} on {threads} threads"
            );
            assert_eq!(buffer[k + rows], -7, "column {k} after its rows");
        }
    }
}

/// A settlement reused through `settle_into` keeps its working memory from
/// run to run; nothing of an earlier run, failed or not, leaks into a later
/// one: each run equals a fresh settlement of its own input.
#[test]
fn a_reused_settlement_gives_each_run_a_fresh_result() {
    let policy =
        Policy::from_json(r#"{"extends": "baisha-2019", "point_value": "0.125"}"#).unwrap();
    let population = |households, seed| {
        let mut spec = PopulationSpec::new(households, seed).with_entries_per_household(4);
        spec.veto_permille = 30;
        spec.bonus_permille = 10;
        let population = Population::generate(&policy, &spec).unwrap();
        let rules =
            MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
        (rules, population)
    };
    let (big_rules, mut big) = population(60_000, 31);
    let (small_rules, mut small) = population(20_000, 32);
    let mut reused = Settlement::default();
    let run = |reused: &mut Settlement, rules: &MonthRules, population: &Population, threads| {
        let options = SettleOptions {
            threads,
            chunk_entries: 30_000,
        };
        let fresh = settle(rules, &population.input(), options).unwrap();
        settle_into(rules, &population.input(), options, reused).unwrap();
        assert!(
            *reused == fresh,
            "{} households, {threads} threads",
            fresh.households.len()
        );
    };
    run(&mut reused, &big_rules, &big, 2);
    big.shuffle_entries(3);
    small.shuffle_entries(4);
    run(&mut reused, &big_rules, &big, 3);
    run(&mut reused, &small_rules, &small, 2);
    run(&mut reused, &big_rules, &big, 1);
    let mut bad = small.clone();
    bad.entries.kind[17] = 9;
    let error = settle_into(
        &small_rules,
        &bad.input(),
        SettleOptions::default(),
        &mut reused,
    );
    assert_eq!(error.unwrap_err().code(), ErrorCode::InvalidEntryKind);
    run(&mut reused, &small_rules, &small, 2);
    run(&mut reused, &big_rules, &big, 2);
}

/// Settling into columns the caller holds gives what `settle` gives, in
/// whatever those columns held before, sorted or shuffled; a column without
/// a row for each household is refused.
#[test]
fn a_caller_s_columns_take_the_settlement_in_place() {
    let policy = Policy::from_json("baisha-2019").unwrap();
    let spec = PopulationSpec::new(30_000, 41).with_entries_per_household(5);
    let mut population = Population::generate(&policy, &spec).unwrap();
    let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
    let options = SettleOptions {
        threads: 2,
        chunk_entries: 40_000,
    };
    let n = population.households.category.len();
    let filled = |value| HouseholdResults {
        awarded: vec![value; n],
        credited: vec![value; n],
        capped: vec![value; n],
        vetoed: vec![value; n],
        deducted: vec![value; n],
        unapplied: vec![value; n],
        net: vec![value; n],
        closing_balance: vec![value; n],
        ytd_credited: vec![value; n],
        ytd_deducted: vec![value; n],
    };
    for shuffled in [false, true] {
        if shuffled {
            population.shuffle_entries(5);
        }
        let expected = settle(&rules, &population.input(), options).unwrap();
        let mut mine = filled(-7);
        let totals =
            settle_columns(&rules, &population.input(), options, mine.columns_mut()).unwrap();
        assert!(mine == expected.households, "shuffled: {shuffled}");
        assert!(totals == expected.totals, "shuffled: {shuffled}");
    }
    let mut short = filled(0);
    short.net.pop();
    let error = settle_columns(&rules, &population.input(), options, short.columns_mut());
    let error = error.unwrap_err();
    assert_eq!(error.code(), ErrorCode::ColumnLength);
    assert!(error.to_string().contains("results.net"), "{error}");
}

/// One change to a valid month's columns: a value put into a cell, a
/// column cut short, or the region tree's or the stores' count changed.
#[derive(Clone, Debug)]
enum Damage {
    Cell {
        column: usize,
        row: usize,
        value: i64,
    },
    Shorter {
        column: usize,
    },
    Counties(u32),
    Stores(u32),
}

/// Values that break a column's rules, or sit at their edges.
fn damaging_value() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![
            0,
            1,
            -1,
            2,
            3,
            4,
            29,
            31,
            255,
            i64::from(u32::MAX),
            i64::MAX,
            i64::MIN,
            i64::MAX / 2,
        ]),
        -100i64..2_000,
        any::<i64>(),
    ]
}

const DAMAGED_COLUMNS: usize = 16;

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        6 => (0..DAMAGED_COLUMNS, any::<usize>(), damaging_value())
            .prop_map(|(column, row, value)| Damage::Cell { column, row, value }),
        1 => (0..DAMAGED_COLUMNS).prop_map(|column| Damage::Shorter { column }),
        1 => (0u32..4).prop_map(Damage::Counties),
        1 => (0u32..6).prop_map(Damage::Stores),
    ]
}

impl Damage {
    /// Applies the damage; `as` keeps a value's low bits, as a caller's
    /// narrowing would.
    fn apply(&self, p: &mut Population) {
        fn put<T>(column: &mut [T], row: usize, value: T) {
            if !column.is_empty() {
                let row = row % column.len();
                column[row] = value;
            }
        }
        match *self {
            Damage::Cell { column, row, value } => match column {
                0 => put(&mut p.households.category, row, value as u32),
                1 => put(&mut p.households.village, row, value as u32),
                2 => put(&mut p.households.opening_balance, row, value),
                3 => put(&mut p.households.ytd_credited, row, value),
                4 => put(&mut p.households.ytd_deducted, row, value),
                5 => put(&mut p.regions.village_township, row, value as u32),
                6 => put(&mut p.regions.township_county, row, value as u32),
                7 => put(&mut p.entries.household, row, value as u32),
                8 => put(&mut p.entries.kind, row, value as u8),
                9 => put(&mut p.entries.points, row, value),
                10 => put(&mut p.entries.day, row, value as u8),
                11 => put(&mut p.entries.order, row, value as u32),
                12 => put(&mut p.redemptions.household, row, value as u32),
                13 => put(&mut p.redemptions.store, row, value as u32),
                14 => put(&mut p.redemptions.points, row, value),
                _ => put(&mut p.redemptions.reimbursable, row, value as u8),
            },
            Damage::Shorter { column } => match column {
                0 => drop(p.households.category.pop()),
                1 => drop(p.households.village.pop()),
                2 => drop(p.households.opening_balance.pop()),
                3 => drop(p.households.ytd_credited.pop()),
                4 => drop(p.households.ytd_deducted.pop()),
                5 => drop(p.regions.village_township.pop()),
                6 => drop(p.regions.township_county.pop()),
                7 => drop(p.entries.household.pop()),
                8 => drop(p.entries.kind.pop()),
                9 => drop(p.entries.points.pop()),
                10 => drop(p.entries.day.pop()),
                11 => drop(p.entries.order.pop()),
                12 => drop(p.redemptions.household.pop()),
                13 => drop(p.redemptions.store.pop()),
                14 => drop(p.redemptions.points.pop()),
                _ => drop(p.redemptions.reimbursable.pop()),
            },
            Damage::Counties(counties) => p.regions.counties = counties,
            Damage::Stores(stores) => p.stores = stores,
        }
    }
}

/// What a settlement gave: its result, or its refusal's code and words.
fn outcome(
    rules: &MonthRules,
    population: &Population,
    options: SettleOptions,
) -> Result<Settlement, (ErrorCode, String)> {
    settle(rules, &population.input(), options).map_err(|error| (error.code(), error.to_string()))
}

/// The accounting every settled month keeps, whatever its input: what was
/// asked for is credited, capped or forfeited; the balance moves by what
/// was credited, deducted and redeemed; the regions and stores add up to
/// the households and redemptions they hold.
fn check_books(population: &Population, settled: &Settlement) {
    let h = &settled.households;
    let opening = &population.households.opening_balance;
    let r = &population.redemptions;
    let mut redeemed = vec![0i128; opening.len()];
    for (&household, &points) in r.household.iter().zip(&r.points) {
        redeemed[household as usize] += i128::from(points);
    }
    for i in 0..h.len() {
        assert_eq!(
            h.awarded[i],
            h.credited[i] + h.capped[i] + h.vetoed[i],
            "household {i}"
        );
        assert_eq!(
            h.net[i],
            h.credited[i] - h.deducted[i] - h.unapplied[i],
            "household {i}"
        );
        assert!(
            h.credited[i] >= 0 && h.capped[i] >= 0 && h.vetoed[i] >= 0,
            "household {i}"
        );
        assert!(h.deducted[i] >= 0 && h.unapplied[i] >= 0, "household {i}");
        let moved = i128::from(opening[i]) - redeemed[i] + i128::from(h.credited[i])
            - i128::from(h.deducted[i]);
        assert_eq!(i128::from(h.closing_balance[i]), moved, "household {i}");
    }
    let counties = &settled.totals.counties;
    let sum = |column: &[i64]| column.iter().map(|&v| i128::from(v)).sum::<i128>();
    assert_eq!(counties.households.iter().sum::<u64>(), h.len() as u64);
    assert_eq!(sum(&counties.credited), sum(&h.credited));
    assert_eq!(sum(&counties.deducted), sum(&h.deducted));
    assert_eq!(sum(&counties.balance), sum(&h.closing_balance));
    assert_eq!(sum(&counties.redeemed), sum(&r.points));
    assert_eq!(sum(&settled.totals.stores.redeemed), sum(&r.points));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever a caller's columns hold, a settlement never panics: it is
    /// refused with a code, the same refusal on any number of threads and
    /// in any order of the entries, or it settles the same on all of them
    /// and its books balance.
    #[test]
    fn damaged_columns_are_refused_or_settled_alike_on_any_threads(
        preset in prop::sample::select(vec!["baisha-2019", "kunming-2018", "longquan-2023", "rongan-2023", "shangqiu-2019"]),
        seed in any::<u64>(),
        households in 0usize..40,
        damages in prop::collection::vec(damage(), 0..4),
    ) {
        let policy = Policy::from_json(preset).unwrap();
        let mut spec = PopulationSpec::new(households, seed);
        spec.households_per_village = 4;
        spec.villages_per_township = 2;
        spec.townships_per_county = 2;
        spec.bonus_permille = 100;
        spec.veto_permille = 50;
        spec.deduction_permille = 300;
        let mut population = Population::generate(&policy, &spec).unwrap();
        let rules = MonthRules::for_categories(&policy, spec.month, &population.categories).unwrap();
        let mut valid = population.clone();
        valid.shuffle_entries(seed);
        for damage in &damages {
            damage.apply(&mut population);
        }
        let first = outcome(&rules, &population, SettleOptions::with_threads(1));
        // Entries taken a few rows at a time, as a large month's are.
        let small_chunks = SettleOptions { chunk_entries: 7, ..SettleOptions::with_threads(2) };
        for options in [SettleOptions::with_threads(2), SettleOptions::with_threads(3), small_chunks] {
            prop_assert_eq!(&outcome(&rules, &population, options), &first, "{:?}", options);
        }
        let e = &population.entries;
        let rows = e.household.len();
        // Shuffling would cut the entry columns to one length.
        let same_rows = [e.kind.len(), e.points.len(), e.day.len(), e.order.len()] == [rows; 4];
        prop_assume!(same_rows || first.is_err());
        let mut shuffled = population.clone();
        if same_rows {
            shuffled.shuffle_entries(seed);
        }
        let unsorted = outcome(&rules, &shuffled, small_chunks);
        match (&first, &unsorted) {
            (Ok(sorted), Ok(unsorted)) => prop_assert_eq!(sorted, unsorted),
            // Two damages may be met in another order once the rows move.
            (Err((code, _)), Err((unsorted, _))) if damages.len() == 1 => prop_assert_eq!(code, unsorted),
            (Err(_), Err(_)) => {}
            _ => prop_assert!(false, "sorted {:?}, unsorted {:?}", first.as_ref().err(), unsorted.as_ref().err()),
        }
        // As the one household-holding partition of two, the month settles
        // or is refused as it is alone.
        let keys: Vec<u64> = (0..population.households.category.len() as u64).collect();
        let mut empty = Population { stores: population.stores, ..Population::default() };
        empty.regions = population.regions.clone();
        let partitions = [
            Partition { keys: &keys, input: population.input() },
            Partition { keys: &[], input: empty.input() },
        ];
        let partitioned = settle_partitions(&rules, &partitions, SettleOptions::with_threads(2));
        match (&first, &partitioned) {
            (Ok(alone), Ok(partitioned)) => {
                prop_assert_eq!(&partitioned.households[0], &alone.households);
                prop_assert_eq!(&partitioned.totals, &alone.totals);
            }
            (Err((code, _)), Err(partitioned)) => prop_assert_eq!(*code, partitioned.code()),
            _ => prop_assert!(false, "alone {:?}, partitioned {:?}", first.as_ref().err(), partitioned.as_ref().err()),
        }
        if let Ok(settled) = &first {
            check_books(&population, settled);
        }
        // A settlement reused after this month, settled or refused, settles
        // the next as a fresh one does.
        let mut reused = Settlement::default();
        let _ = settle_into(&rules, &population.input(), small_chunks, &mut reused);
        settle_into(&rules, &valid.input(), small_chunks, &mut reused).unwrap();
        prop_assert_eq!(&reused, &settle(&rules, &valid.input(), small_chunks).unwrap());
    }
}
