//! Scoring indicators (评分指标): what a village scoring group may award or deduct.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::PolicyError;
use crate::primitives::{Points, MAX_POINTS};

/// What an indicator does to a household's points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// Adds points (加分项).
    Award,
    /// Takes points away (扣分项).
    Deduction,
    /// One-vote veto (一票否决): forfeits the period's awards.
    Veto,
    /// A named star (Shangqiu), worth the policy's points per star.
    Star,
}

/// One line of the indicator catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// A short stable code, e.g. `KM-A01`.
    pub code: String,
    /// The indicator's name as the seed writes it.
    pub name: String,
    /// What it does.
    pub kind: IndicatorKind,
    /// The least points a scorer may give (equal to `max_points` for a fixed amount).
    pub min_points: Points,
    /// The most points a scorer may give.
    pub max_points: Points,
    /// How many times a household may receive it per month (default: no limit).
    #[serde(default)]
    pub times_per_period: Option<u32>,
}

impl Indicator {
    /// A fixed-points indicator.
    pub fn fixed(code: &str, name: &str, kind: IndicatorKind, points: i64) -> Indicator {
        Indicator::ranged(code, name, kind, points, points)
    }

    /// An indicator the scorer gives `min..=max` points for.
    pub fn ranged(code: &str, name: &str, kind: IndicatorKind, min: i64, max: i64) -> Indicator {
        Indicator {
            code: code.to_owned(),
            name: name.to_owned(),
            kind,
            min_points: Points(min),
            max_points: Points(max),
            times_per_period: None,
        }
    }

    /// The same indicator limited to `times` per month.
    pub fn limited(mut self, times: u32) -> Indicator {
        self.times_per_period = Some(times);
        self
    }
}

/// Codes are unique and point ranges are sane (0 ≤ min ≤ max ≤ [`MAX_POINTS`]).
pub(super) fn validate_catalog(indicators: &[Indicator]) -> Result<(), PolicyError> {
    let mut codes = std::collections::HashSet::new();
    for indicator in indicators {
        if !codes.insert(indicator.code.as_str()) {
            return Err(PolicyError::invalid(
                "indicators",
                format!("code {} is repeated", indicator.code),
            ));
        }
        if indicator.min_points.is_negative()
            || indicator.min_points > indicator.max_points
            || !indicator.max_points.is_within_bound()
        {
            return Err(PolicyError::invalid(
                "indicators",
                format!(
                    "{}: points must satisfy 0 <= min <= max <= {MAX_POINTS}",
                    indicator.code
                ),
            ));
        }
    }
    Ok(())
}
