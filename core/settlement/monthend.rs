//! Month-end figures: the outstanding points liability (what the treasury
//! would owe if every balance were redeemed on purchased goods), the monthly
//! activity statistics of Baisha's 附件10, both by village, township and
//! county, and the bank's payment file. Each is a report ledger, so it comes
//! out as JSON or CSV with a BOM through the one CSV writer.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::statement::{fen, reimbursement_amount, StatementStatus};
use crate::account::Totals;
use crate::error::Error;
use crate::primitives::{Month, Points, Yuan};
use crate::report::Ledger;
use crate::state::State;

/// The level of a region row.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// An administrative village.
    #[default]
    Village,
    /// A township.
    Township,
    /// The county.
    County,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Village => "village",
            Level::Township => "township",
            Level::County => "county",
        }
    }
}

/// The three rows (village, township, county) a region adds into.
fn levels(county: String, township: String, village: Option<String>) -> Vec<(Level, String)> {
    let mut keys = vec![(Level::County, county), (Level::Township, township)];
    if let Some(village) = village {
        keys.push((Level::Village, village));
    }
    keys
}

/// One region's outstanding points and their value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LiabilityRow {
    /// Village, township or county.
    pub level: Level,
    /// The region's code.
    pub code: String,
    /// Households with an account.
    pub households: u64,
    /// Points outstanding at month end.
    pub points: Points,
    /// Points × point value, rounded once.
    pub amount: Yuan,
}

/// The month-end liability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Liability {
    /// The month.
    pub month: Month,
    /// The point value of the policy in force on its last day.
    pub point_value: Yuan,
    /// Villages, then townships, then the county.
    pub rows: Vec<LiabilityRow>,
}

/// A household's balance at the end of `month`: its postings up to then.
fn balance_at(months: &BTreeMap<Month, crate::account::MonthActivity>, month: Month) -> Points {
    let mut totals = Totals::default();
    for activity in months.range(..=month).map(|(_, a)| a) {
        totals.add(&activity.totals);
    }
    totals.implied_balance()
}

/// The outstanding points liability at the end of `month`.
pub fn liability(state: &State, month: Month) -> Result<Liability, Error> {
    let policy = state.policies.in_force(month.last_day())?;
    let mut rows: BTreeMap<(Level, String), LiabilityRow> = BTreeMap::new();
    for (id, household) in &state.households {
        let Some(account) = state.accounts.get(id) else {
            continue;
        };
        let points = balance_at(&account.months, month);
        let region = &household.region;
        for key in levels(
            region.county.to_string(),
            region.township.to_string(),
            Some(region.village.to_string()),
        ) {
            let row = rows.entry(key.clone()).or_default();
            row.level = key.0;
            row.code = key.1;
            row.households += 1;
            row.points += points;
        }
    }
    let rounding = policy.reimbursement.rounding;
    Ok(Liability {
        month,
        point_value: policy.point_value,
        rows: rows
            .into_values()
            .map(|row| LiabilityRow {
                amount: reimbursement_amount(row.points, policy.point_value, rounding),
                ..row
            })
            .collect(),
    })
}

impl Ledger for Liability {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("level", "层级"),
        ("code", "区划代码"),
        ("households", "户数"),
        ("points", "未兑积分"),
        ("amount", "应兑现金额"),
    ];

    fn rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.level.name().to_owned(),
                    r.code.clone(),
                    r.households.to_string(),
                    r.points.to_string(),
                    r.amount.to_string(),
                ]
            })
            .collect()
    }
}

/// One region's activity in a month (附件10).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StatisticsRow {
    /// Village, township or county.
    pub level: Level,
    /// The region's code.
    pub code: String,
    /// Registered households.
    pub households: u64,
    /// Households with any posting or redemption in the month.
    pub participating: u64,
    /// Points awarded (asked for).
    pub awarded: Points,
    /// Points deducted from balances.
    pub deducted: Points,
    /// Points cut by the caps.
    pub capped: Points,
    /// Points forfeited by vetoes.
    pub vetoed: Points,
    /// Points redeemed, net of voids.
    pub redeemed: Points,
    /// The month's statements' amounts, by the stores' regions.
    pub reimbursement_due: Yuan,
    /// What of it was paid.
    pub reimbursement_paid: Yuan,
}

/// The monthly activity statistics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Statistics {
    /// The month.
    pub month: Month,
    /// Villages, then townships, then the county.
    pub rows: Vec<StatisticsRow>,
}

/// The month's activity statistics by village, township and county.
pub fn statistics(state: &State, month: Month) -> Result<Statistics, Error> {
    let mut rows: BTreeMap<(Level, String), StatisticsRow> = BTreeMap::new();
    fn row(
        rows: &mut BTreeMap<(Level, String), StatisticsRow>,
        key: (Level, String),
    ) -> &mut StatisticsRow {
        let row = rows.entry(key.clone()).or_default();
        row.level = key.0;
        row.code = key.1;
        row
    }
    for (id, household) in &state.households {
        let t = state
            .accounts
            .get(id)
            .and_then(|a| a.months.get(&month))
            .map(|m| m.totals.clone())
            .unwrap_or_default();
        let took_part = [t.awarded, t.deducted, t.unapplied, t.redeemed]
            .iter()
            .any(|p| p.get() != 0);
        let region = &household.region;
        for key in levels(
            region.county.to_string(),
            region.township.to_string(),
            Some(region.village.to_string()),
        ) {
            let r = row(&mut rows, key);
            r.households += 1;
            r.participating += u64::from(took_part);
            r.awarded += t.awarded;
            r.deducted += t.deducted;
            r.capped += t.capped;
            r.vetoed += t.vetoed;
            r.redeemed += t.redeemed;
        }
    }
    for s in state.settlement.of_month(month) {
        let paid: Decimal = s.payments.iter().map(|p| p.amount.0).sum();
        for key in levels(
            s.county.to_string(),
            s.township.to_string(),
            s.village.as_ref().map(ToString::to_string),
        ) {
            let r = row(&mut rows, key);
            r.reimbursement_due = Yuan(r.reimbursement_due.0 + s.amount.0);
            r.reimbursement_paid = Yuan(r.reimbursement_paid.0 + paid);
        }
    }
    Ok(Statistics {
        month,
        rows: rows
            .into_values()
            .map(|row| StatisticsRow {
                reimbursement_due: Yuan(fen(row.reimbursement_due.0)),
                reimbursement_paid: Yuan(fen(row.reimbursement_paid.0)),
                ..row
            })
            .collect(),
    })
}

impl Ledger for Statistics {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("level", "层级"),
        ("code", "区划代码"),
        ("households", "总户数"),
        ("participating", "参与户数"),
        ("awarded", "评定积分"),
        ("deducted", "扣减积分"),
        ("capped", "超限积分"),
        ("vetoed", "否决积分"),
        ("redeemed", "兑换积分"),
        ("reimbursement_due", "应兑现金额"),
        ("reimbursement_paid", "已兑现金额"),
    ];

    fn rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.level.name().to_owned(),
                    r.code.clone(),
                    r.households.to_string(),
                    r.participating.to_string(),
                    r.awarded.to_string(),
                    r.deducted.to_string(),
                    r.capped.to_string(),
                    r.vetoed.to_string(),
                    r.redeemed.to_string(),
                    r.reimbursement_due.to_string(),
                    r.reimbursement_paid.to_string(),
                ]
            })
            .collect()
    }
}

/// One payment for the bank.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentLine {
    /// The store.
    pub store: String,
    /// The account the store gave on its statement.
    pub account: String,
    /// The amount.
    pub amount: Yuan,
    /// The statement paid.
    pub statement: String,
}

/// The bank's payment file: the month's approved statements not yet paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentFile {
    /// The month.
    pub month: Month,
    /// One line per statement.
    pub rows: Vec<PaymentLine>,
    /// The sum of the lines.
    pub total: Yuan,
}

/// The payment file of `month`.
pub fn payment_file(state: &State, month: Month) -> PaymentFile {
    let rows: Vec<PaymentLine> = state
        .settlement
        .of_month(month)
        .filter(|s| s.status() == StatementStatus::Approved)
        .map(|s| PaymentLine {
            store: s.store.to_string(),
            account: s
                .submission
                .as_ref()
                .map(|sub| sub.account.clone())
                .unwrap_or_default(),
            amount: s.amount,
            statement: s.id.to_string(),
        })
        .collect();
    let total = Yuan(fen(rows.iter().map(|r| r.amount.0).sum()));
    PaymentFile { month, rows, total }
}

impl Ledger for PaymentFile {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("store", "兑换点"),
        ("account", "收款账户"),
        ("amount", "金额"),
        ("statement", "结算单号"),
    ];

    fn rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.store.clone(),
                    r.account.clone(),
                    r.amount.to_string(),
                    r.statement.clone(),
                ]
            })
            .collect()
    }
}
