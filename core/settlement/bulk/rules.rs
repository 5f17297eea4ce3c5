//! The policy, reduced once per month to what the kernel's inner loop needs.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::BulkError;
use crate::policy::caps::{self, CapLimits, CapScope};
use crate::policy::{CapBasis, PeriodKind, Policy, Rounding};
use crate::primitives::{Category, Month, Points, Yuan};
use crate::settlement::statement::reimbursement_amount;

/// A household category history, oldest first, each category in effect from
/// its date: the shape of [`crate::household::Household::categories`].
pub type CategoryHistory = Vec<(NaiveDate, Category)>;

/// One month's rules for the kernel. The caps of each category index are
/// computed here, once, by [`caps::limits_for`] — the same function the engine
/// calls for every award — so the inner loop only looks them up.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthRules {
    month: Month,
    days: u8,
    limits: Vec<CapLimits>,
    basis: CapBasis,
    allow_negative: bool,
    bonus_scope: CapScope,
    point_value: Decimal,
    rounding: Rounding,
}

impl MonthRules {
    /// The rules of `month` under `policy`, where households of category
    /// index `i` have the category history `categories[i]`. Distinct histories
    /// matter only when a category changes during the year (the month's
    /// category is the one on its first day; a prorated annual cap weighs the
    /// year's months).
    pub fn new(
        policy: &Policy,
        month: Month,
        categories: &[CategoryHistory],
    ) -> Result<MonthRules, crate::Error> {
        if policy.veto_period != PeriodKind::Month {
            return Err(BulkError::UnsupportedVetoPeriod {
                period: match policy.veto_period {
                    PeriodKind::Month => "month",
                    PeriodKind::Quarter => "quarter",
                    PeriodKind::Year => "year",
                },
            }
            .into());
        }
        let limits = categories
            .iter()
            .map(|history| caps::limits_for(policy, history, month))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MonthRules {
            month,
            // A month has 28..=31 days.
            days: month.last_day().day() as u8,
            limits,
            basis: policy.cap_basis,
            allow_negative: policy.allow_negative_balance,
            bonus_scope: CapScope {
                monthly: policy.ranking.counts_toward_monthly_cap,
                annual: policy.ranking.counts_toward_annual_cap,
            },
            point_value: policy.point_value.0,
            rounding: policy.reimbursement.rounding,
        })
    }

    /// The rules of `month` where category index `i` is `categories[i]`, held
    /// since the start of the year (no category change this year). Naming no
    /// categories gives the policy's own, in its order
    /// ([`Policy::category_order`]).
    pub fn for_categories(
        policy: &Policy,
        month: Month,
        categories: &[Category],
    ) -> Result<MonthRules, crate::Error> {
        let policy_order;
        let categories = if categories.is_empty() {
            policy_order = policy.category_order();
            &policy_order
        } else {
            categories
        };
        let january = month.year().months().next().unwrap_or(month).first_day();
        let histories: Vec<CategoryHistory> = categories
            .iter()
            .map(|category| vec![(january, category.clone())])
            .collect();
        MonthRules::new(policy, month, &histories)
    }

    /// The settled month.
    pub fn month(&self) -> Month {
        self.month
    }

    /// How many category indices the rules know.
    pub fn categories(&self) -> usize {
        self.limits.len()
    }

    /// The caps of category index `category`.
    pub fn limits(&self, category: usize) -> Option<CapLimits> {
        self.limits.get(category).copied()
    }

    /// The yuan value of `points` for a reimbursement or a liability: the
    /// statements' one amount rule, so bulk and one-by-one agree to the fen.
    pub fn amount(&self, points: i64) -> Yuan {
        reimbursement_amount(Points(points), Yuan(self.point_value), self.rounding)
    }

    pub(super) fn days(&self) -> u8 {
        self.days
    }

    pub(super) fn limits_table(&self) -> &[CapLimits] {
        &self.limits
    }

    pub(super) fn basis(&self) -> CapBasis {
        self.basis
    }

    pub(super) fn allow_negative(&self) -> bool {
        self.allow_negative
    }

    pub(super) fn bonus_scope(&self) -> CapScope {
        self.bonus_scope
    }
}

pub use crate::primitives::MAX_POINTS;

/// The most points one entry may carry (2²⁵ − 1, far above any cap): an
/// entry then packs into 64 bits when unsorted entries are grouped.
pub const MAX_ENTRY_POINTS: i64 = (1 << 25) - 1;

/// Checks a points figure against [`MAX_POINTS`].
pub(super) fn within_bound(points: i64) -> bool {
    (-MAX_POINTS..=MAX_POINTS).contains(&points)
}
