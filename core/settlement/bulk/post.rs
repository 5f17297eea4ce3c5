//! One household's month, posted in the fixed order both paths follow: a veto
//! first (it forfeits every award of the month), then the other entries by
//! day and order, each award through the caps and each deduction through the
//! floor. Every rule is the policy's own function; this file only sequences them.

use super::rules::MonthRules;
use crate::policy::caps::{self, CapCounters, CapLimits, CapScope};
use crate::primitives::Points;

/// Entry kind codes, as the `entries.kind` column holds them.
pub mod kind {
    /// An award (加分项): bounded by the monthly and annual caps.
    pub const AWARD: u8 = 0;
    /// A deduction (扣分项): taken from the balance down to the floor.
    pub const DEDUCTION: u8 = 1;
    /// A one-vote veto (一票否决): forfeits all the month's awards; points 0.
    pub const VETO: u8 = 2;
    /// A bonus (e.g. the ranking bonus): an award whose caps are the
    /// policy's `ranking.counts_toward_*` settings.
    pub const BONUS: u8 = 3;
}

/// What a household starts the posting with.
#[derive(Clone, Copy, Debug)]
pub(super) struct Opening {
    /// The balance after the month's redemptions.
    pub balance: i64,
    /// Counted toward the annual cap earlier this year.
    pub ytd_credited: i64,
    /// Deductions scored earlier this year (they matter on a net cap basis).
    pub ytd_deducted: i64,
}

/// One household's month after posting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Posted {
    pub awarded: i64,
    pub credited: i64,
    pub capped: i64,
    pub vetoed: i64,
    pub deducted: i64,
    pub unapplied: i64,
    pub balance: i64,
    pub ytd_credited: i64,
    pub ytd_deducted: i64,
}

impl Posted {
    /// The month's net score: credited awards less every scored deduction,
    /// applied or not (an unapplied deduction still counts in the score).
    pub fn net(&self) -> i64 {
        self.credited - self.deducted - self.unapplied
    }
}

/// Posts `entries` — (kind, points) already in posting order and validated —
/// for a household whose caps are `limits`. `vetoed` says whether any of the
/// month's entries is a veto.
#[inline]
pub(super) fn post_household(
    rules: &MonthRules,
    limits: CapLimits,
    opening: Opening,
    vetoed: bool,
    entries: impl Iterator<Item = (u8, i64)>,
) -> Posted {
    let basis = rules.basis();
    let bonus_scope = rules.bonus_scope();
    let allow_negative = rules.allow_negative();
    let mut month = CapCounters::default();
    let mut year = CapCounters {
        toward_month: Points::ZERO,
        toward_year: Points(opening.ytd_credited),
        deducted: Points(opening.ytd_deducted),
    };
    let mut out = Posted {
        balance: opening.balance,
        ..Posted::default()
    };
    for (kind, points) in entries {
        let requested = Points(points);
        match kind {
            kind::AWARD | kind::BONUS => {
                out.awarded += points;
                if vetoed {
                    out.vetoed += points;
                    continue;
                }
                let scope = if kind == kind::AWARD {
                    CapScope::BOTH
                } else {
                    bonus_scope
                };
                let split =
                    caps::split_award(requested, limits, caps::usage(basis, &month, &year), scope);
                month.record_award(split, scope);
                year.record_award(split, scope);
                out.credited += split.credited.get();
                out.capped += split.capped.get();
                out.balance += split.credited.get();
            }
            kind::DEDUCTION => {
                let split = caps::split_deduction(requested, Points(out.balance), allow_negative);
                month.record_deduction(requested);
                year.record_deduction(requested);
                out.deducted += split.applied.get();
                out.unapplied += split.unapplied.get();
                out.balance -= split.applied.get();
            }
            _ => {}
        }
    }
    out.ytd_credited = year.toward_year.get();
    out.ytd_deducted = year.deducted.get();
    out
}
