//! County policy: every setting of SPEC §4 with its default, effective-dated
//! versions, and the five seed presets.
//!
//! A policy document is JSON. Every field is optional and takes the default
//! named in its doc comment; unknown fields and impossible values are rejected
//! with [`PolicyError::Invalid`]. A document may name a preset in `extends` and
//! override only what differs from that county's rules.

pub mod caps;
mod error;
pub mod funding;
pub mod indicator;
pub mod presets;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use error::PolicyError;
pub use indicator::{Indicator, IndicatorKind};

use crate::primitives::{Category, Points, Yuan, MAX_POINTS};

/// One county's rules. See SPEC §4 for the meaning of each setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// The preset or county this policy is for, for display.
    pub name: String,
    /// Yuan reimbursed per point (default: 1.00).
    pub point_value: Yuan,
    /// Caps per household category (default: none).
    pub categories: BTreeMap<Category, CategoryCaps>,
    /// What the caps bound (default: gross).
    pub cap_basis: CapBasis,
    /// How the annual cap follows a category change (default: current).
    pub annual_cap_rule: AnnualCapRule,
    /// Whether deductions may take a balance below zero (default: false).
    pub allow_negative_balance: bool,
    /// The period a veto forfeits (default: month).
    pub veto_period: PeriodKind,
    /// The ranking bonus for the best households of each village (default: top 10, none awarded).
    pub ranking: RankingPolicy,
    /// Year-end star credit thresholds on the year's net score (default: 200/250/300 → 3/4/5).
    pub star_rating: Vec<StarThreshold>,
    /// Named stars (Shangqiu) (default: none).
    pub named_stars: NamedStarPolicy,
    /// When redemptions are allowed (default: any day).
    pub redemption_calendar: RedemptionCalendar,
    /// Item categories that can never be listed (default: tobacco, alcohol, luxury).
    pub banned_item_categories: Vec<String>,
    /// Whether points expire (default: never).
    pub points_expiry: PointsExpiry,
    /// The scoring workflow's stages and quorums.
    pub workflow: WorkflowPolicy,
    /// Reimbursement rounding, funding and deadline.
    pub reimbursement: ReimbursementPolicy,
    /// Card PIN rules.
    pub pin: PinPolicy,
    /// The scoring indicators (default: none).
    pub indicators: Vec<Indicator>,
    /// The filial-piety fund (孝善基金) (default: elders 60+ of registered-poor households, no match).
    pub filial_fund: FilialFundPolicy,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            name: "default".to_owned(),
            point_value: Yuan(Decimal::ONE),
            categories: BTreeMap::new(),
            cap_basis: CapBasis::Gross,
            annual_cap_rule: AnnualCapRule::Current,
            allow_negative_balance: false,
            veto_period: PeriodKind::Month,
            ranking: RankingPolicy::default(),
            star_rating: vec![
                StarThreshold {
                    min_points: Points(200),
                    stars: 3,
                },
                StarThreshold {
                    min_points: Points(250),
                    stars: 4,
                },
                StarThreshold {
                    min_points: Points(300),
                    stars: 5,
                },
            ],
            named_stars: NamedStarPolicy::default(),
            redemption_calendar: RedemptionCalendar::AnyDay,
            banned_item_categories: vec!["tobacco".into(), "alcohol".into(), "luxury".into()],
            points_expiry: PointsExpiry::Never,
            workflow: WorkflowPolicy::default(),
            reimbursement: ReimbursementPolicy::default(),
            pin: PinPolicy::default(),
            indicators: Vec::new(),
            filial_fund: FilialFundPolicy::default(),
        }
    }
}

/// The filial-piety fund (孝善基金, seed 003).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FilialFundPolicy {
    /// The youngest an elder may be (default: 60).
    pub min_age: u32,
    /// Household categories whose elders may enrol (default: poor).
    pub eligible_categories: Vec<Category>,
    /// Yuan the fund adds per yuan contributed (default: 0, no match).
    pub match_rate: Yuan,
    /// Who pays the match, by share (default: village fund 100%).
    pub match_funding: Vec<FundingShare>,
}

impl Default for FilialFundPolicy {
    fn default() -> FilialFundPolicy {
        FilialFundPolicy {
            min_age: 60,
            eligible_categories: vec!["poor".into()],
            match_rate: Yuan(Decimal::ZERO),
            match_funding: vec![FundingShare {
                source: "village_fund".into(),
                share: Yuan(Decimal::ONE),
            }],
        }
    }
}

/// The monthly and annual caps of one household category; `None` is no cap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CategoryCaps {
    /// Most points a household may be credited in a month.
    pub monthly: Option<Points>,
    /// Most points a household may be credited in a calendar year.
    pub annual: Option<Points>,
}

/// What counts against a cap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapBasis {
    /// Credited awards; deductions do not give room back.
    #[default]
    Gross,
    /// Credited awards less deductions.
    Net,
}

/// How the annual cap is chosen when a household's category changes mid-year.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnnualCapRule {
    /// The annual cap of the category in effect for the month being posted.
    #[default]
    Current,
    /// The twelfth of each month's category's annual cap, summed over the year
    /// (months not yet begun take the category in effect now), rounded down.
    Prorated,
}

/// A period length used by vetoes and rankings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    /// A calendar month.
    #[default]
    Month,
    /// A calendar quarter.
    Quarter,
    /// A calendar year.
    Year,
}

/// The ranking bonus (Longquan: top 10 households each month).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RankingPolicy {
    /// The ranking period (default: month).
    pub period: PeriodKind,
    /// How many ranks receive a bonus (default: 10).
    pub top_n: u32,
    /// The bonus by rank (default: none, no bonus is paid).
    pub bonus: RankBonus,
    /// Whether a bonus uses monthly cap room (default: false).
    pub counts_toward_monthly_cap: bool,
    /// Whether a bonus uses annual cap room (default: true).
    pub counts_toward_annual_cap: bool,
}

impl Default for RankingPolicy {
    fn default() -> RankingPolicy {
        RankingPolicy {
            period: PeriodKind::Month,
            top_n: 10,
            bonus: RankBonus::None,
            counts_toward_monthly_cap: false,
            counts_toward_annual_cap: true,
        }
    }
}

/// The points a ranked household receives.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "points")]
pub enum RankBonus {
    /// No ranking bonus.
    #[default]
    None,
    /// The same points for every rank inside the top N.
    Flat(Points),
    /// Points by rank: the first value for rank 1, and so on; ranks past the
    /// list's end receive its last value.
    Schedule(Vec<Points>),
}

/// A year-end star credit threshold (文明信用户).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StarThreshold {
    /// The least net score for this rating.
    pub min_points: Points,
    /// The number of stars.
    pub stars: u8,
}

/// Named stars earned by evaluation (Shangqiu's ten stars).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NamedStarPolicy {
    /// The stars' names.
    pub stars: Vec<String>,
    /// Points credited for each star awarded.
    pub points_per_star: Points,
    /// The yearly commendation: households with at least this many stars...
    pub bonus_min_stars: u32,
    /// ...receive these extra points.
    pub bonus_points: Points,
}

/// When households may redeem.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "days")]
pub enum RedemptionCalendar {
    /// Every day.
    #[default]
    AnyDay,
    /// Only on these dates (Longquan: one fixed day a quarter).
    Days(Vec<NaiveDate>),
}

impl RedemptionCalendar {
    /// Whether redemption is open on `date`.
    pub fn is_open(&self, date: NaiveDate) -> bool {
        match self {
            RedemptionCalendar::AnyDay => true,
            RedemptionCalendar::Days(days) => days.contains(&date),
        }
    }
}

/// Whether points expire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PointsExpiry {
    /// Points accumulate and never expire.
    #[default]
    Never,
}

/// A stage of the scoring workflow (SPEC §5).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Review by the village committee.
    VillageReview,
    /// Review by the township office.
    TownshipReview,
    /// Approval by the township government.
    Approval,
    /// Public notice.
    Publication,
}

/// The scoring workflow's stages and quorums.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowPolicy {
    /// The stages a sheet passes between submission and posting (default: all).
    pub stages: Vec<Stage>,
    /// Distinct scorers needed to submit a sheet (default: 3).
    pub min_scorers: u32,
    /// Supervisors needed in a village's supervision group (default: 2).
    pub min_supervisors: u32,
    /// Days of public notice before posting (default: 7).
    pub notice_days: u32,
    /// Day of the month by which the previous month's sheet is published (default: 10).
    pub publish_by_day: u32,
    /// Day of the month by which townships report to the county (default: 20).
    pub report_by_day: u32,
}

impl Default for WorkflowPolicy {
    fn default() -> WorkflowPolicy {
        WorkflowPolicy {
            stages: vec![
                Stage::VillageReview,
                Stage::TownshipReview,
                Stage::Approval,
                Stage::Publication,
            ],
            min_scorers: 3,
            min_supervisors: 2,
            notice_days: 7,
            publish_by_day: 10,
            report_by_day: 20,
        }
    }
}

/// How a money amount is rounded to the fen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Half away from zero to 0.01 yuan.
    #[default]
    HalfUpCents,
    /// Half to even (banker's rounding) to 0.01 yuan.
    HalfEvenCents,
    /// Toward zero to 0.01 yuan.
    DownCents,
}

impl Rounding {
    /// Rounds an exact amount to the fen. The only place money is rounded.
    pub fn apply(self, amount: Decimal) -> Decimal {
        use rust_decimal::RoundingStrategy;
        let strategy = match self {
            Rounding::HalfUpCents => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEvenCents => RoundingStrategy::MidpointNearestEven,
            Rounding::DownCents => RoundingStrategy::ToZero,
        };
        amount.round_dp_with_strategy(2, strategy)
    }
}

/// A funding source and its share of every reimbursement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FundingShare {
    /// The source, e.g. `county_finance`.
    pub source: String,
    /// Its share as a fraction; all shares add up to 1.
    pub share: Yuan,
}

/// Reimbursement settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReimbursementPolicy {
    /// Rounding of each statement total (default: half-up to 0.01 yuan).
    pub rounding: Rounding,
    /// Funding sources and shares (default: county finance 100%).
    pub funding: Vec<FundingShare>,
    /// Day of the next month by which a statement is paid (default: 5).
    pub deadline_day: u32,
}

impl Default for ReimbursementPolicy {
    fn default() -> ReimbursementPolicy {
        ReimbursementPolicy {
            rounding: Rounding::HalfUpCents,
            funding: vec![FundingShare {
                source: "county_finance".into(),
                share: Yuan(Decimal::ONE),
            }],
            deadline_day: 5,
        }
    }
}

/// Card PIN settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PinPolicy {
    /// Digits in a PIN (default: 6).
    pub digits: u32,
    /// Wrong tries in a row before the card locks (default: 5).
    pub max_attempts: u32,
}

impl Default for PinPolicy {
    fn default() -> PinPolicy {
        PinPolicy {
            digits: 6,
            max_attempts: 5,
        }
    }
}

impl Policy {
    /// The policy's categories in its own order (by name): the category
    /// indices of a bulk settlement or a synthetic population that names none.
    pub fn category_order(&self) -> Vec<Category> {
        self.categories.keys().cloned().collect()
    }

    /// Reads a policy document: a preset name (bare or as a JSON string,
    /// `baisha-2019` or `"baisha-2019"`) or an object, which may name a preset to start from
    /// in `"extends"` and override any of its settings.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let trimmed = text.trim();
        if presets::PRESET_NAMES.contains(&trimmed) {
            return presets::preset(trimmed);
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| PolicyError::invalid("document", e.to_string()))?;
        Policy::from_value(value)
    }

    /// As [`Policy::from_json`], from a parsed JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Policy, PolicyError> {
        let policy = match value {
            serde_json::Value::String(name) => presets::preset(&name)?,
            serde_json::Value::Object(mut fields) => {
                let base = match fields.remove("extends") {
                    None => serde_json::Value::Object(Default::default()),
                    Some(serde_json::Value::String(name)) => {
                        serde_json::to_value(presets::preset(&name)?)
                            .map_err(|e| PolicyError::invalid("extends", e.to_string()))?
                    }
                    Some(_) => {
                        return Err(PolicyError::invalid("extends", "must name a preset".into()))
                    }
                };
                let merged = merge(base, serde_json::Value::Object(fields));
                serde_json::from_value(merged)
                    .map_err(|e| PolicyError::invalid("document", e.to_string()))?
            }
            _ => {
                return Err(PolicyError::invalid(
                    "document",
                    "expected a preset name or an object".into(),
                ))
            }
        };
        policy.validate()?;
        Ok(policy)
    }

    /// Rejects impossible values that the JSON shape alone cannot.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.point_value.0 <= Decimal::ZERO {
            return Err(PolicyError::invalid(
                "point_value",
                "must be above zero".into(),
            ));
        }
        for (category, caps) in &self.categories {
            for (field, cap) in [("monthly", caps.monthly), ("annual", caps.annual)] {
                if cap.is_some_and(|c| !c.is_within_bound()) {
                    return Err(PolicyError::invalid(
                        "categories",
                        format!("{category}: {field} cap must be from 0 to {MAX_POINTS}"),
                    ));
                }
            }
        }
        if self
            .star_rating
            .windows(2)
            .any(|w| w[0].min_points >= w[1].min_points || w[0].stars >= w[1].stars)
        {
            return Err(PolicyError::invalid(
                "star_rating",
                "thresholds must rise with the stars".into(),
            ));
        }
        if let RankBonus::Flat(points) = &self.ranking.bonus {
            if !points.is_within_bound() {
                return Err(PolicyError::invalid(
                    "ranking",
                    format!("bonus must be from 0 to {MAX_POINTS}"),
                ));
            }
        }
        if let RankBonus::Schedule(points) = &self.ranking.bonus {
            if points.is_empty() || !points.iter().all(|p| p.is_within_bound()) {
                return Err(PolicyError::invalid(
                    "ranking",
                    format!("schedule must be non-empty, each bonus from 0 to {MAX_POINTS}"),
                ));
            }
        }
        if !self.named_stars.points_per_star.is_within_bound()
            || !self.named_stars.bonus_points.is_within_bound()
        {
            return Err(PolicyError::invalid(
                "named_stars",
                format!("points must be from 0 to {MAX_POINTS}"),
            ));
        }
        let workflow = &self.workflow;
        if workflow.min_scorers == 0 {
            return Err(PolicyError::invalid(
                "workflow",
                "min_scorers must be at least 1".into(),
            ));
        }
        let mut stages = workflow.stages.clone();
        stages.sort();
        stages.dedup();
        if stages != workflow.stages {
            return Err(PolicyError::invalid(
                "workflow",
                "stages must be in order and not repeat".into(),
            ));
        }
        for (field, day) in [
            ("publish_by_day", workflow.publish_by_day),
            ("report_by_day", workflow.report_by_day),
            (
                "reimbursement.deadline_day",
                self.reimbursement.deadline_day,
            ),
        ] {
            if !(1..=28).contains(&day) {
                return Err(PolicyError::invalid(
                    "workflow",
                    format!("{field} must be a day from 1 to 28"),
                ));
            }
        }
        let funding = &self.reimbursement.funding;
        let total: Decimal = funding.iter().map(|f| f.share.0).sum();
        if funding.is_empty()
            || funding.iter().any(|f| f.share.0 <= Decimal::ZERO)
            || total != Decimal::ONE
        {
            return Err(PolicyError::invalid(
                "reimbursement",
                "funding shares must be positive and add up to 1".into(),
            ));
        }
        if !(4..=12).contains(&self.pin.digits) || self.pin.max_attempts == 0 {
            return Err(PolicyError::invalid(
                "pin",
                "digits must be 4..=12 and max_attempts at least 1".into(),
            ));
        }
        indicator::validate_catalog(&self.indicators)?;
        let fund = &self.filial_fund;
        let fund_total: Decimal = fund.match_funding.iter().map(|f| f.share.0).sum();
        if fund.match_rate.0 < Decimal::ZERO
            || fund
                .match_funding
                .iter()
                .any(|f| f.share.0 <= Decimal::ZERO)
            || fund_total != Decimal::ONE
        {
            return Err(PolicyError::invalid(
                "filial_fund",
                "match_rate must not be negative and match shares must be positive and add up to 1"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The caps of a category; an unknown category is an error so a typo never
    /// means "uncapped".
    pub fn caps(&self, category: &Category) -> Result<&CategoryCaps, PolicyError> {
        self.categories
            .get(category)
            .ok_or_else(|| PolicyError::UnknownCategory {
                category: category.to_string(),
            })
    }
}

/// Deep-merges `overrides` into `base`: objects merge key by key, anything else replaces.
fn merge(base: serde_json::Value, overrides: serde_json::Value) -> serde_json::Value {
    match (base, overrides) {
        (serde_json::Value::Object(mut base), serde_json::Value::Object(overrides)) => {
            for (key, value) in overrides {
                let merged = match base.remove(&key) {
                    Some(old) => merge(old, value),
                    None => value,
                };
                base.insert(key, merged);
            }
            serde_json::Value::Object(base)
        }
        (_, overrides) => overrides,
    }
}

/// Policy versions by the date each takes effect; each date is judged by the
/// latest version in force on it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyBook {
    versions: BTreeMap<NaiveDate, Policy>,
}

impl PolicyBook {
    /// A book with one version in force from `from` on.
    pub fn starting(from: NaiveDate, policy: Policy) -> PolicyBook {
        PolicyBook {
            versions: BTreeMap::from([(from, policy)]),
        }
    }

    /// Adds a version in force from `from` on (replacing one from the same date).
    pub fn adopt(&mut self, from: NaiveDate, policy: Policy) {
        self.versions.insert(from, policy);
    }

    /// The version in force on `date`.
    pub fn in_force(&self, date: NaiveDate) -> Result<&Policy, PolicyError> {
        self.versions
            .range(..=date)
            .next_back()
            .map(|(_, policy)| policy)
            .ok_or(PolicyError::NoPolicyInForce { date })
    }

    /// Every version with its start date, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = (&NaiveDate, &Policy)> {
        self.versions.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_document_is_all_defaults() {
        let policy = Policy::from_json("{}").unwrap();
        assert_eq!(policy, Policy::default());
        assert_eq!(policy.pin.max_attempts, 5);
        assert_eq!(policy.workflow.min_scorers, 3);
    }

    #[test]
    fn unknown_fields_and_impossible_values_are_rejected() {
        let unknown = Policy::from_json(r#"{"point_valu": "1.00"}"#).unwrap_err();
        assert!(unknown.to_string().contains("point_valu"), "{unknown}");
        let negative =
            Policy::from_json(r#"{"categories": {"poor": {"monthly": -1}}}"#).unwrap_err();
        assert!(matches!(
            negative,
            PolicyError::Invalid {
                field: "categories",
                ..
            }
        ));
        let shares = Policy::from_json(
            r#"{"reimbursement": {"funding": [{"source": "a", "share": "0.5"}]}}"#,
        );
        assert!(shares.is_err());
        assert!(matches!(
            Policy::from_json(r#""atlantis-2020""#),
            Err(PolicyError::UnknownPreset { .. })
        ));
    }

    #[test]
    fn points_figures_beyond_the_posting_bound_are_rejected() {
        let at_bound = format!(r#"{{"categories": {{"poor": {{"annual": {MAX_POINTS}}}}}}}"#);
        assert!(Policy::from_json(&at_bound).is_ok());
        for (document, field) in [
            (
                r#"{"categories": {"poor": {"annual": 1000000001}}}"#,
                "categories",
            ),
            (
                r#"{"ranking": {"bonus": {"kind": "flat", "points": 1000000001}}}"#,
                "ranking",
            ),
            (
                r#"{"named_stars": {"points_per_star": 9223372036854775807}}"#,
                "named_stars",
            ),
        ] {
            let refused = Policy::from_json(document).unwrap_err();
            assert!(
                matches!(refused, PolicyError::Invalid { field: f, .. } if f == field),
                "{document}: {refused}"
            );
        }
        let mut policy = Policy::from_json(r#""baisha-2019""#).unwrap();
        policy.indicators[0].max_points = Points(MAX_POINTS + 1);
        assert!(matches!(
            policy.validate(),
            Err(PolicyError::Invalid {
                field: "indicators",
                ..
            })
        ));
    }

    #[test]
    fn extends_overrides_only_what_differs() {
        let policy =
            Policy::from_json(r#"{"extends": "baisha-2019", "point_value": "0.35"}"#).unwrap();
        assert_eq!(policy.point_value, Yuan(Decimal::new(35, 2)));
        assert_eq!(
            policy.caps(&"poor".into()).unwrap().monthly,
            Some(Points(110))
        );
    }

    #[test]
    fn the_version_in_force_is_the_latest_started() {
        let day = |d| NaiveDate::from_ymd_opt(2025, 1, d).unwrap();
        let mut book = PolicyBook::starting(day(1), Policy::default());
        let cheaper = Policy {
            point_value: Yuan(Decimal::new(5, 1)),
            ..Policy::default()
        };
        book.adopt(day(15), cheaper.clone());
        assert_eq!(book.in_force(day(14)).unwrap(), &Policy::default());
        assert_eq!(book.in_force(day(15)).unwrap(), &cheaper);
        assert!(book
            .in_force(NaiveDate::from_ymd_opt(2024, 12, 31).unwrap())
            .is_err());
    }

    #[test]
    fn rounding_is_half_up_to_the_fen() {
        let r = Rounding::HalfUpCents;
        assert_eq!(r.apply(Decimal::new(1005, 3)), Decimal::new(101, 2));
        assert_eq!(
            Rounding::HalfEvenCents.apply(Decimal::new(1005, 3)),
            Decimal::new(100, 2)
        );
        assert_eq!(
            Rounding::DownCents.apply(Decimal::new(1009, 3)),
            Decimal::new(100, 2)
        );
    }
}
