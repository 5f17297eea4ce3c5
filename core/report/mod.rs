//! Ledgers (台账, SPEC §8) for one village: the monthly points detail per
//! household and line by line, the quarterly publication list with ranks, and
//! the year's star-rated households. Each is a Rust struct of rows (for hosts
//! and the Python surface) that renders as JSON or as CSV (UTF-8 with BOM,
//! English or Chinese headers).
//!
//! Every figure is read from the accounts and the scoring records the engine
//! keeps; a ledger computes no rule of its own except the publication list's
//! ranks, which come from the one ranking function.

pub mod csv;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::household::Household;
use crate::policy::IndicatorKind;
use crate::primitives::{Category, HouseholdId, Month, Points, Quarter, VillageCode, Year};
use crate::scoring::period::Period;
use crate::scoring::ranking::{net_score, rank, vetoed_in};
use crate::scoring::workflow::village_township;
use crate::scoring::{ScoringError, SheetId, SheetState};
use crate::state::State;

/// How a ledger is returned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The ledger as a JSON object with its rows and totals.
    #[default]
    Json,
    /// CSV text with English headers.
    Csv,
    /// CSV text with Chinese headers.
    CsvZh,
}

/// A ledger that is also a table.
pub trait Ledger: Serialize {
    /// The columns: English and Chinese header of each.
    const COLUMNS: &'static [(&'static str, &'static str)];

    /// The table's rows, one cell per column.
    fn rows(&self) -> Vec<Vec<String>>;

    /// The table as CSV (UTF-8 with BOM) with English or Chinese headers.
    fn csv(&self, chinese: bool) -> String {
        let headers: Vec<&str> = Self::COLUMNS
            .iter()
            .map(|(en, zh)| if chinese { *zh } else { *en })
            .collect();
        csv::document(&headers, self.rows())
    }

    /// The ledger in `format`: a JSON object, or CSV text as a JSON string.
    fn render(&self, format: Format) -> Result<Value, Error> {
        Ok(match format {
            Format::Json => serde_json::to_value(self)?,
            Format::Csv => Value::String(self.csv(false)),
            Format::CsvZh => Value::String(self.csv(true)),
        })
    }
}

fn cell(points: Points) -> String {
    points.get().to_string()
}

fn opt<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn kind_name(kind: IndicatorKind) -> &'static str {
    match kind {
        IndicatorKind::Award => "award",
        IndicatorKind::Deduction => "deduction",
        IndicatorKind::Veto => "veto",
        IndicatorKind::Star => "star",
    }
}

/// The households of a village, in id order; an unknown village is an error.
fn households<'a>(state: &'a State, village: &VillageCode) -> Result<Vec<&'a Household>, Error> {
    village_township(state, village)?;
    Ok(state
        .households
        .values()
        .filter(|h| &h.region.village == village)
        .collect())
}

fn category(household: &Household, month: Month) -> Category {
    household
        .category_on(month.first_day())
        .cloned()
        .unwrap_or_else(|| Category(String::new()))
}

/// One household's month in the points detail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HouseholdMonth {
    /// The household.
    pub household: HouseholdId,
    /// Head of household.
    pub head: String,
    /// Its category on the month's first day (which sets the month's caps).
    pub category: Category,
    /// Its entries on the village's posted sheets dated in the month.
    pub entries: u32,
    /// Award points asked for in the month, from every origin.
    pub awarded: Points,
    /// Of those, credited.
    pub credited: Points,
    /// Of those, cut by a cap.
    pub capped: Points,
    /// Of those, forfeited by a veto.
    pub vetoed: Points,
    /// Deduction points taken from the balance.
    pub deducted: Points,
    /// Deduction points beyond the zero floor.
    pub unapplied: Points,
    /// Credited less all deductions scored: the month's net score.
    pub net_score: Points,
    /// The household's balance now.
    pub balance: Points,
}

/// The column sums of a points detail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MonthSums {
    /// Households listed.
    pub households: u32,
    /// Entries posted.
    pub entries: u32,
    /// Award points asked for.
    pub awarded: Points,
    /// Credited.
    pub credited: Points,
    /// Capped.
    pub capped: Points,
    /// Vetoed.
    pub vetoed: Points,
    /// Deducted.
    pub deducted: Points,
    /// Deductions beyond the zero floor.
    pub unapplied: Points,
    /// Net score.
    pub net_score: Points,
    /// Balances now.
    pub balance: Points,
}

/// The monthly points detail (每月积分明细台账) of a village.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PointsDetail {
    /// The village.
    pub village: VillageCode,
    /// The month.
    pub month: Month,
    /// One row per household of the village.
    pub households: Vec<HouseholdMonth>,
    /// The column sums.
    pub totals: MonthSums,
}

impl Ledger for PointsDetail {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("household", "户号"),
        ("head", "户主"),
        ("category", "类别"),
        ("entries", "评分条数"),
        ("awarded", "评定积分"),
        ("credited", "入账积分"),
        ("capped", "超限积分"),
        ("vetoed", "否决积分"),
        ("deducted", "扣减积分"),
        ("unapplied", "未扣积分"),
        ("net_score", "当月净得分"),
        ("balance", "积分余额"),
    ];

    fn rows(&self) -> Vec<Vec<String>> {
        self.households
            .iter()
            .map(|h| {
                vec![
                    h.household.to_string(),
                    h.head.clone(),
                    h.category.to_string(),
                    h.entries.to_string(),
                    cell(h.awarded),
                    cell(h.credited),
                    cell(h.capped),
                    cell(h.vetoed),
                    cell(h.deducted),
                    cell(h.unapplied),
                    cell(h.net_score),
                    cell(h.balance),
                ]
            })
            .collect()
    }
}

/// The posted entries of a village's sheets for `month`.
fn posted_entries<'a>(
    state: &'a State,
    village: &'a VillageCode,
    month: Month,
) -> impl Iterator<Item = (&'a SheetId, &'a crate::scoring::Entry)> + 'a {
    state
        .scoring
        .village_sheets(village)
        .filter(move |s| s.state == SheetState::Posted && s.period == month)
        .flat_map(|s| s.live_entries().map(move |e| (&s.id, e)))
}

/// The monthly points detail of a village: per household, the month's
/// postings from every origin (sheets, bonuses, corrections) as the account
/// recorded them, and the balance now.
pub fn points_detail(
    state: &State,
    village: &VillageCode,
    month: Month,
) -> Result<PointsDetail, Error> {
    let mut rows = Vec::new();
    let mut totals = MonthSums::default();
    let mut counts: std::collections::BTreeMap<&HouseholdId, u32> = Default::default();
    for (_, entry) in posted_entries(state, village, month) {
        *counts.entry(&entry.household).or_default() += 1;
    }
    for household in households(state, village)? {
        let account = state.account(&household.id)?;
        let t = account
            .months
            .get(&month)
            .map(|a| a.totals.clone())
            .unwrap_or_default();
        let row = HouseholdMonth {
            household: household.id.clone(),
            head: household.head.clone(),
            category: category(household, month),
            entries: counts.get(&household.id).copied().unwrap_or(0),
            awarded: t.awarded,
            credited: t.credited,
            capped: t.capped,
            vetoed: t.vetoed,
            deducted: t.deducted,
            unapplied: t.unapplied,
            net_score: net_score(account, &[month]),
            balance: account.balance,
        };
        totals.households += 1;
        totals.entries += row.entries;
        totals.awarded += row.awarded;
        totals.credited += row.credited;
        totals.capped += row.capped;
        totals.vetoed += row.vetoed;
        totals.deducted += row.deducted;
        totals.unapplied += row.unapplied;
        totals.net_score += row.net_score;
        totals.balance += row.balance;
        rows.push(row);
    }
    Ok(PointsDetail {
        village: village.clone(),
        month,
        households: rows,
        totals,
    })
}

/// One posted entry in the entry ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EntryLine {
    /// The sheet.
    pub sheet: SheetId,
    /// The entry's position in it.
    pub position: u32,
    /// The date of the deed.
    pub date: chrono::NaiveDate,
    /// The household.
    pub household: HouseholdId,
    /// Head of household.
    pub head: String,
    /// The indicator's code.
    pub indicator: String,
    /// The indicator's name.
    pub indicator_name: String,
    /// The indicator's kind.
    pub kind: IndicatorKind,
    /// Points scored.
    pub points: Points,
    /// Credited.
    pub credited: Points,
    /// Cut by a cap.
    pub capped: Points,
    /// Forfeited by a veto.
    pub vetoed: Points,
    /// Deducted from the balance.
    pub deducted: Points,
    /// Deduction beyond the zero floor.
    pub unapplied: Points,
    /// The household's signature reference.
    pub acknowledgement: Option<String>,
    /// The evidence reference.
    pub evidence: Option<String>,
    /// The scorer's note.
    pub note: String,
}

/// The line-by-line ledger of a village's posted sheets for a month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EntryLedger {
    /// The village.
    pub village: VillageCode,
    /// The month.
    pub month: Month,
    /// Posted entries, by sheet then position.
    pub lines: Vec<EntryLine>,
}

impl Ledger for EntryLedger {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("sheet", "评分表"),
        ("position", "序号"),
        ("date", "日期"),
        ("household", "户号"),
        ("head", "户主"),
        ("indicator", "指标代码"),
        ("indicator_name", "评分指标"),
        ("kind", "指标类别"),
        ("points", "分值"),
        ("credited", "入账积分"),
        ("capped", "超限积分"),
        ("vetoed", "否决积分"),
        ("deducted", "扣减积分"),
        ("unapplied", "未扣积分"),
        ("acknowledgement", "农户签字"),
        ("evidence", "佐证材料"),
        ("note", "备注"),
    ];

    fn rows(&self) -> Vec<Vec<String>> {
        self.lines
            .iter()
            .map(|l| {
                vec![
                    l.sheet.to_string(),
                    l.position.to_string(),
                    l.date.to_string(),
                    l.household.to_string(),
                    l.head.clone(),
                    l.indicator.clone(),
                    l.indicator_name.clone(),
                    kind_name(l.kind).to_owned(),
                    cell(l.points),
                    cell(l.credited),
                    cell(l.capped),
                    cell(l.vetoed),
                    cell(l.deducted),
                    cell(l.unapplied),
                    opt(&l.acknowledgement),
                    opt(&l.evidence),
                    l.note.clone(),
                ]
            })
            .collect()
    }
}

/// The entry ledger of a village for a month: every live entry of its posted
/// sheets for the month, with how it landed.
pub fn entry_ledger(
    state: &State,
    village: &VillageCode,
    month: Month,
) -> Result<EntryLedger, Error> {
    households(state, village)?;
    let mut lines = Vec::new();
    for (sheet, e) in posted_entries(state, village, month) {
        let outcome = e.outcome.clone().unwrap_or_default();
        lines.push(EntryLine {
            sheet: sheet.clone(),
            position: e.position,
            date: e.date,
            household: e.household.clone(),
            head: state
                .households
                .get(&e.household)
                .map(|h| h.head.clone())
                .unwrap_or_default(),
            indicator: e.indicator.clone(),
            indicator_name: e.indicator_name.clone(),
            kind: e.kind,
            points: e.points,
            credited: outcome.credited,
            capped: outcome.capped,
            vetoed: outcome.vetoed,
            deducted: outcome.deducted,
            unapplied: outcome.unapplied,
            acknowledgement: e.acknowledgement.clone(),
            evidence: e.evidence.clone(),
            note: e.note.clone(),
        });
    }
    Ok(EntryLedger {
        village: village.clone(),
        month,
        lines,
    })
}

/// One household in a quarter's publication list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PublicationRow {
    /// Its rank by the quarter's net score (none with a veto or a score ≤ 0).
    pub rank: Option<u32>,
    /// The household.
    pub household: HouseholdId,
    /// Head of household.
    pub head: String,
    /// Points credited in the quarter, bonuses included.
    pub credited: Points,
    /// Deductions scored in the quarter (applied or not).
    pub deducted: Points,
    /// The quarter's net score.
    pub net_score: Points,
    /// Of the credited points, ranking bonuses of periods inside the quarter.
    pub ranking_bonus: Points,
    /// Whether a veto forfeits part of the quarter.
    pub vetoed: bool,
    /// The household's balance now.
    pub balance: Points,
}

/// The quarterly publication list (季度积分公示台账) of a village.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PublicationList {
    /// The village.
    pub village: VillageCode,
    /// The quarter.
    pub quarter: Quarter,
    /// Ranked households first, best first; then the rest by id.
    pub rows: Vec<PublicationRow>,
}

impl Ledger for PublicationList {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("rank", "排名"),
        ("household", "户号"),
        ("head", "户主"),
        ("credited", "入账积分"),
        ("deducted", "扣减积分"),
        ("net_score", "季度净得分"),
        ("ranking_bonus", "排名奖励"),
        ("vetoed", "一票否决"),
        ("balance", "积分余额"),
    ];

    fn rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    opt(&r.rank),
                    r.household.to_string(),
                    r.head.clone(),
                    cell(r.credited),
                    cell(r.deducted),
                    cell(r.net_score),
                    cell(r.ranking_bonus),
                    if r.vetoed { "1" } else { "0" }.to_owned(),
                    cell(r.balance),
                ]
            })
            .collect()
    }
}

/// The publication list of a village for a quarter, ranked by the one
/// ranking rule on the quarter's net scores.
pub fn publication_list(
    state: &State,
    village: &VillageCode,
    quarter: Quarter,
) -> Result<PublicationList, Error> {
    let months = quarter.months();
    let whole = Period::Quarter(quarter);
    let closes = state.scoring.period_closes.get(village);
    let mut rows = Vec::new();
    for household in households(state, village)? {
        let account = state.account(&household.id)?;
        let sum = |f: fn(&crate::account::Totals) -> Points| -> Points {
            months
                .iter()
                .filter_map(|m| account.months.get(m))
                .map(|a| f(&a.totals))
                .sum()
        };
        let ranking_bonus = closes
            .into_iter()
            .flatten()
            .filter(|(period, _)| {
                whole.contains(period.first_day()) && whole.contains(period.last_day())
            })
            .flat_map(|(_, close)| close.lines.iter())
            .filter(|line| line.household == household.id)
            .map(|line| line.credited)
            .sum();
        rows.push(PublicationRow {
            rank: None,
            household: household.id.clone(),
            head: household.head.clone(),
            credited: sum(|t| t.credited),
            deducted: sum(|t| t.deducted + t.unapplied),
            net_score: net_score(account, &months),
            ranking_bonus,
            vetoed: vetoed_in(account, &months),
            balance: account.balance,
        });
    }
    for ranked in rank(
        rows.iter()
            .map(|r| (r.household.clone(), r.net_score, r.vetoed)),
    ) {
        if let Some(row) = rows.iter_mut().find(|r| r.household == ranked.key) {
            row.rank = Some(ranked.rank);
        }
    }
    rows.sort_by(|a, b| {
        (a.rank.is_none(), a.rank, &a.household).cmp(&(b.rank.is_none(), b.rank, &b.household))
    });
    Ok(PublicationList {
        village: village.clone(),
        quarter,
        rows,
    })
}

/// One household of the year's star list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StarRow {
    /// The household.
    pub household: HouseholdId,
    /// Head of household.
    pub head: String,
    /// The year's net score before the year-end awards.
    pub net_score: Points,
    /// Its star credit rating (文明信用户), if any.
    pub stars: Option<u8>,
    /// The named stars it earned.
    pub named_stars: Vec<String>,
    /// Points for the named stars.
    pub star_points: Points,
    /// The yearly bonus for many stars.
    pub star_bonus: Points,
    /// Of the year-end awards, credited.
    pub credited: Points,
}

/// The year's star-rated households (星级文明信用户) of a village, from its year close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StarRatings {
    /// The village.
    pub village: VillageCode,
    /// The year.
    pub year: Year,
    /// Households with a rating or a named star, most stars first.
    pub rows: Vec<StarRow>,
}

impl Ledger for StarRatings {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("household", "户号"),
        ("head", "户主"),
        ("net_score", "年度净得分"),
        ("stars", "信用星级"),
        ("named_stars", "所获星级"),
        ("star_points", "星级积分"),
        ("star_bonus", "年度表彰加分"),
        ("credited", "入账积分"),
    ];

    fn rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.household.to_string(),
                    r.head.clone(),
                    cell(r.net_score),
                    opt(&r.stars),
                    r.named_stars.join("、"),
                    cell(r.star_points),
                    cell(r.star_bonus),
                    cell(r.credited),
                ]
            })
            .collect()
    }
}

/// The star list of a village for a closed year.
pub fn star_ratings(
    state: &State,
    village: &VillageCode,
    year: Year,
) -> Result<StarRatings, Error> {
    households(state, village)?;
    let close = state
        .scoring
        .year_closes
        .get(village)
        .and_then(|c| c.get(&year))
        .ok_or_else(|| ScoringError::YearNotClosed {
            village: village.to_string(),
            year: year.0,
        })?;
    let mut rows: Vec<StarRow> = close
        .lines
        .iter()
        .filter(|l| l.stars.is_some() || !l.named_stars.is_empty())
        .map(|l| StarRow {
            household: l.household.clone(),
            head: state
                .households
                .get(&l.household)
                .map(|h| h.head.clone())
                .unwrap_or_default(),
            net_score: l.net_score,
            stars: l.stars,
            named_stars: l.named_stars.clone(),
            star_points: l.star_points,
            star_bonus: l.star_bonus,
            credited: l.credited,
        })
        .collect();
    rows.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.stars),
            std::cmp::Reverse(a.named_stars.len()),
            &a.household,
        )
            .cmp(&(
                std::cmp::Reverse(b.stars),
                std::cmp::Reverse(b.named_stars.len()),
                &b.household,
            ))
    });
    Ok(StarRatings {
        village: village.clone(),
        year,
        rows,
    })
}
