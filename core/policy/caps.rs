//! The cap, deduction-floor and veto rules: one function each, used by the
//! engine's one-by-one posting and by the bulk settlement kernel alike.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{AnnualCapRule, CapBasis, PeriodKind, Policy, PolicyError};
use crate::primitives::{Category, Month, Points, Quarter, Year};

/// The caps that bound one household's awards in one month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapLimits {
    /// The month's cap, if any.
    pub monthly: Option<Points>,
    /// The year's cap, if any.
    pub annual: Option<Points>,
}

/// What a household has already used of its caps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapUsage {
    /// Counted toward this month's cap.
    pub month: Points,
    /// Counted toward this year's cap.
    pub year: Points,
}

/// Which caps an award counts toward (a ranking bonus may skip the monthly one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapScope {
    /// The award uses monthly room.
    pub monthly: bool,
    /// The award uses annual room.
    pub annual: bool,
}

impl CapScope {
    /// An ordinary award: bounded by both caps.
    pub const BOTH: CapScope = CapScope {
        monthly: true,
        annual: true,
    };
}

/// How an award was split by the caps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwardSplit {
    /// Points credited to the balance.
    pub credited: Points,
    /// Points cut by a cap.
    pub capped: Points,
}

/// The caps for `month` of a household whose category history is `history`
/// (sorted by date; each entry in effect from its date). The category on the
/// month's first day sets the monthly cap; the annual cap follows the policy's
/// [`AnnualCapRule`].
pub fn limits_for(
    policy: &Policy,
    history: &[(NaiveDate, Category)],
    month: Month,
) -> Result<CapLimits, PolicyError> {
    let category = category_on(history, month.first_day())?;
    let caps = policy.caps(category)?;
    let annual = match policy.annual_cap_rule {
        AnnualCapRule::Current => caps.annual,
        AnnualCapRule::Prorated => prorated_annual_cap(policy, history, month)?,
    };
    Ok(CapLimits {
        monthly: caps.monthly,
        annual,
    })
}

/// The category in effect on `date`: the latest one dated on or before it, or
/// the first one when the household registered later in the month.
pub fn category_on(
    history: &[(NaiveDate, Category)],
    date: NaiveDate,
) -> Result<&Category, PolicyError> {
    history
        .iter()
        .rev()
        .find(|(from, _)| *from <= date)
        .or(history.first())
        .map(|(_, category)| category)
        .ok_or_else(|| PolicyError::UnknownCategory {
            category: String::new(),
        })
}

/// A twelfth of each month's annual cap summed over the year, rounded down;
/// months after `month` take `month`'s category. `None` when any month is uncapped.
fn prorated_annual_cap(
    policy: &Policy,
    history: &[(NaiveDate, Category)],
    month: Month,
) -> Result<Option<Points>, PolicyError> {
    let mut twelfths = 0i64;
    for each in month.year().months() {
        let day = if each <= month {
            each.first_day()
        } else {
            month.first_day()
        };
        match policy.caps(category_on(history, day)?)?.annual {
            Some(cap) => twelfths += cap.get(),
            None => return Ok(None),
        }
    }
    Ok(Some(Points(twelfths / 12)))
}

/// Credits an award up to the room left under the caps in `scope`; the rest is
/// capped. The entry that crosses a cap is credited in part.
pub fn split_award(
    requested: Points,
    limits: CapLimits,
    used: CapUsage,
    scope: CapScope,
) -> AwardSplit {
    let room = |cap: Option<Points>, used: Points, applies: bool| match (cap, applies) {
        (Some(cap), true) => (cap - used).max(Points::ZERO),
        _ => Points(i64::MAX),
    };
    let room = room(limits.monthly, used.month, scope.monthly).min(room(
        limits.annual,
        used.year,
        scope.annual,
    ));
    let credited = requested.min(room).max(Points::ZERO);
    AwardSplit {
        credited,
        capped: requested - credited,
    }
}

/// What counts toward the caps in one month (or, summed, in a year so far).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapCounters {
    /// Credited awards that count toward the monthly cap.
    pub toward_month: Points,
    /// Credited awards that count toward the annual cap.
    pub toward_year: Points,
    /// Deductions scored (applied or not): they give room back on a net basis.
    pub deducted: Points,
}

impl CapCounters {
    /// Counts a credited award in the caps of `scope`.
    pub fn record_award(&mut self, split: AwardSplit, scope: CapScope) {
        if scope.monthly {
            self.toward_month += split.credited;
        }
        if scope.annual {
            self.toward_year += split.credited;
        }
    }

    /// Counts a scored deduction.
    pub fn record_deduction(&mut self, requested: Points) {
        self.deducted += requested;
    }

    /// Adds another month's counters (to sum a year).
    pub fn add(&mut self, other: &CapCounters) {
        self.toward_month += other.toward_month;
        self.toward_year += other.toward_year;
        self.deducted += other.deducted;
    }
}

/// The cap usage of a household given this month's counters and the year's
/// (which include this month). On a net basis deductions give room back, but
/// never more than the whole cap.
pub fn usage(basis: CapBasis, month: &CapCounters, year: &CapCounters) -> CapUsage {
    match basis {
        CapBasis::Gross => CapUsage {
            month: month.toward_month,
            year: year.toward_year,
        },
        CapBasis::Net => CapUsage {
            month: (month.toward_month - month.deducted).max(Points::ZERO),
            year: (year.toward_year - year.deducted).max(Points::ZERO),
        },
    }
}

/// How a deduction lands on a balance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeductionSplit {
    /// Points taken from the balance.
    pub applied: Points,
    /// Points beyond the zero floor, recorded but not taken.
    pub unapplied: Points,
}

/// Applies a deduction: the balance stops at zero unless the policy allows
/// negative balances; the remainder is recorded as unapplied.
pub fn split_deduction(requested: Points, balance: Points, allow_negative: bool) -> DeductionSplit {
    let applied = if allow_negative {
        requested
    } else {
        requested.min(balance.max(Points::ZERO))
    };
    DeductionSplit {
        applied,
        unapplied: requested - applied,
    }
}

/// The period a veto on `date` forfeits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "period")]
pub enum VetoPeriod {
    /// A month.
    Month(Month),
    /// A quarter.
    Quarter(Quarter),
    /// A year.
    Year(Year),
}

impl VetoPeriod {
    /// The period of `kind` holding `date`.
    pub fn of(kind: PeriodKind, date: NaiveDate) -> VetoPeriod {
        match kind {
            PeriodKind::Month => VetoPeriod::Month(Month::of(date)),
            PeriodKind::Quarter => VetoPeriod::Quarter(Quarter::of(date)),
            PeriodKind::Year => VetoPeriod::Year(Year::of(date)),
        }
    }

    /// Whether `date` falls in this period.
    pub fn contains(self, date: NaiveDate) -> bool {
        self == VetoPeriod::of(self.kind(), date)
    }

    fn kind(self) -> PeriodKind {
        match self {
            VetoPeriod::Month(_) => PeriodKind::Month,
            VetoPeriod::Quarter(_) => PeriodKind::Quarter,
            VetoPeriod::Year(_) => PeriodKind::Year,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::presets::preset;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn baisha_limits_follow_the_first_day_category() {
        let policy = preset("baisha-2019").unwrap();
        let history = vec![
            (day(2025, 1, 1), "poor".into()),
            (day(2025, 3, 2), "ordinary".into()),
        ];
        let march = limits_for(&policy, &history, "2025-03".parse().unwrap()).unwrap();
        assert_eq!(march.monthly, Some(Points(110)));
        let april = limits_for(&policy, &history, "2025-04".parse().unwrap()).unwrap();
        assert_eq!(
            april,
            CapLimits {
                monthly: Some(Points(68)),
                annual: Some(Points(831))
            }
        );
    }

    #[test]
    fn prorated_annual_cap_weights_each_month() {
        let mut policy = preset("baisha-2019").unwrap();
        policy.annual_cap_rule = AnnualCapRule::Prorated;
        // Poor Jan–Jun, ordinary from July: (6×1335 + 6×831) / 12 = 1083.
        let history = vec![
            (day(2025, 1, 1), "poor".into()),
            (day(2025, 7, 1), "ordinary".into()),
        ];
        let december = limits_for(&policy, &history, "2025-12".parse().unwrap()).unwrap();
        assert_eq!(december.annual, Some(Points(1083)));
    }

    #[test]
    fn the_award_that_crosses_a_cap_is_credited_in_part() {
        let limits = CapLimits {
            monthly: Some(Points(110)),
            annual: Some(Points(1335)),
        };
        let split = split_award(
            Points(30),
            limits,
            CapUsage {
                month: Points(100),
                year: Points(500),
            },
            CapScope::BOTH,
        );
        assert_eq!(
            split,
            AwardSplit {
                credited: Points(10),
                capped: Points(20)
            }
        );
        let annual_first = split_award(
            Points(30),
            limits,
            CapUsage {
                month: Points(0),
                year: Points(1330),
            },
            CapScope::BOTH,
        );
        assert_eq!(
            annual_first,
            AwardSplit {
                credited: Points(5),
                capped: Points(25)
            }
        );
        let bonus = CapScope {
            monthly: false,
            annual: true,
        };
        let skip_monthly = split_award(
            Points(30),
            limits,
            CapUsage {
                month: Points(110),
                year: Points(0),
            },
            bonus,
        );
        assert_eq!(skip_monthly.credited, Points(30));
    }

    #[test]
    fn net_basis_gives_room_back_but_never_beyond_the_cap() {
        let mut month = CapCounters::default();
        month.record_award(
            AwardSplit {
                credited: Points(60),
                capped: Points(0),
            },
            CapScope::BOTH,
        );
        month.record_deduction(Points(20));
        assert_eq!(usage(CapBasis::Gross, &month, &month).month, Points(60));
        assert_eq!(usage(CapBasis::Net, &month, &month).month, Points(40));
        month.record_deduction(Points(100));
        assert_eq!(usage(CapBasis::Net, &month, &month).month, Points(0));
    }

    #[test]
    fn deductions_stop_at_zero_unless_allowed() {
        assert_eq!(
            split_deduction(Points(30), Points(20), false),
            DeductionSplit {
                applied: Points(20),
                unapplied: Points(10)
            }
        );
        assert_eq!(
            split_deduction(Points(30), Points(20), true).applied,
            Points(30)
        );
        assert_eq!(
            split_deduction(Points(5), Points(-3), false).applied,
            Points(0)
        );
    }

    proptest! {
        #[test]
        fn a_split_never_exceeds_either_cap(
            requested in 0i64..500, monthly in 0i64..300, annual in 0i64..2000,
            used_month in 0i64..300, used_year in 0i64..2000,
        ) {
            let limits = CapLimits { monthly: Some(Points(monthly)), annual: Some(Points(annual)) };
            let used = CapUsage { month: Points(used_month), year: Points(used_year) };
            let split = split_award(Points(requested), limits, used, CapScope::BOTH);
            prop_assert_eq!(split.credited + split.capped, Points(requested));
            prop_assert!(split.credited >= Points::ZERO && split.capped >= Points::ZERO);
            prop_assert!(split.credited == Points::ZERO || used.month + split.credited <= Points(monthly));
            prop_assert!(split.credited == Points::ZERO || used.year + split.credited <= Points(annual));
        }
    }
}
