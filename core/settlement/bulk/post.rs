//! One household's month, posted in the fixed order both paths follow: a veto
//! first (it forfeits every award of the month), then the other entries by
//! day and order, each award through the caps and each deduction through the
//! floor. Every rule is the policy's own function; this file only sequences them.

use super::packed;
use super::rules::MonthRules;
use crate::policy::caps::{self, CapCounters, CapLimits, CapScope};
use crate::policy::CapBasis;
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

/// One household's posting in progress: the month's and the year's cap
/// counters, the running balance and the month's sums. Kept small, so that
/// the kernel's inner loop holds it in registers. `NET` and `NEGATIVE` are
/// the policy's cap basis (net or gross) and whether balances may go below
/// zero, fixed per run so the compiler specialises the rule calls.
#[derive(Clone, Copy, Debug)]
pub(super) struct Posting<const NET: bool, const NEGATIVE: bool> {
    limits: CapLimits,
    month: CapCounters,
    year: CapCounters,
    balance: i64,
    awarded: i64,
    forfeited: i64,
    credited: i64,
    applied: i64,
}

impl<const NET: bool, const NEGATIVE: bool> Posting<NET, NEGATIVE> {
    const BASIS: CapBasis = if NET { CapBasis::Net } else { CapBasis::Gross };

    /// Starts the month of a household whose caps are `limits`.
    #[inline(always)]
    pub fn new(rules: &MonthRules, limits: CapLimits, opening: Opening) -> Self {
        debug_assert!(rules.basis() == Self::BASIS && rules.allow_negative() == NEGATIVE);
        Posting {
            limits,
            month: CapCounters::default(),
            year: CapCounters {
                toward_month: Points::ZERO,
                toward_year: Points(opening.ytd_credited),
                deducted: Points(opening.ytd_deducted),
            },
            balance: opening.balance,
            awarded: 0,
            forfeited: 0,
            credited: 0,
            applied: 0,
        }
    }

    /// Credits an award up to the room under the caps of `scope`.
    #[inline(always)]
    fn award(&mut self, points: i64, scope: CapScope) {
        let split = caps::split_award(
            Points(points),
            self.limits,
            caps::usage(Self::BASIS, &self.month, &self.year),
            scope,
        );
        self.month.record_award(split, scope);
        self.year.record_award(split, scope);
        self.awarded += points;
        self.credited += split.credited.get();
        self.balance += split.credited.get();
    }

    /// Records an award forfeited by the month's veto.
    #[inline(always)]
    fn forfeit(&mut self, points: i64) {
        self.awarded += points;
        self.forfeited += points;
    }

    /// Takes a deduction from the balance down to the floor.
    #[inline(always)]
    fn deduct(&mut self, points: i64) {
        let requested = Points(points);
        let split = caps::split_deduction(requested, Points(self.balance), NEGATIVE);
        self.month.record_deduction(requested);
        self.year.record_deduction(requested);
        self.applied += split.applied.get();
        self.balance -= split.applied.get();
    }

    /// The household's month once every entry is posted. What the loop does
    /// not carry follows from the rules' identities: a split award is
    /// credited plus capped, a deduction is applied plus unapplied.
    #[inline(always)]
    pub fn finish(self) -> Posted {
        Posted {
            awarded: self.awarded,
            credited: self.credited,
            capped: self.awarded - self.forfeited - self.credited,
            vetoed: self.forfeited,
            deducted: self.applied,
            unapplied: self.month.deducted.get() - self.applied,
            balance: self.balance,
            ytd_credited: self.year.toward_year.get(),
            ytd_deducted: self.year.deducted.get(),
        }
    }
}

/// Posts a household's month of awards and deductions only, given their
/// totals, when the order they post in cannot change the result; `None` when
/// it could, and the entries must be posted one by one.
///
/// Order cannot matter when:
/// - on a gross cap basis, always for the awards: each credits the room the
///   ones before left, so together they credit what [`caps::split_award`]
///   credits their total (the caps fall by the same amount at every step);
///   on a net basis, when their total is credited in full (a deduction can
///   only give room back);
/// - for the deductions, when there are none, when balances may go below
///   zero, or when the balance covers them all (awards only raise it), so
///   none reaches the floor.
///
/// The month is then posted as one award of the total and one deduction of
/// the total, through the same rules. Most households of a month settle
/// here, without sorting their entries.
#[inline(always)]
pub(super) fn post_order_free<const NET: bool, const NEGATIVE: bool>(
    rules: &MonthRules,
    limits: CapLimits,
    opening: Opening,
    awards: i64,
    deductions: i64,
) -> Option<Posted> {
    let floor_unreached = NEGATIVE || deductions == 0 || opening.balance >= deductions;
    let mut posting = Posting::<NET, NEGATIVE>::new(rules, limits, opening);
    posting.award(awards, CapScope::BOTH);
    let credited_in_order = !NET || posting.credited == awards;
    if !(floor_unreached && credited_in_order) {
        return None;
    }
    posting.deduct(deductions);
    Some(posting.finish())
}

/// Posts the month of a household with a veto among its entries, given the
/// totals of its awards and bonuses (`forfeited`) and of its deductions.
///
/// Order cannot matter: the veto forfeits every award and bonus, so none is
/// credited and the caps take no part; the deductions then only lower the
/// balance, so taken one by one they apply what their total applies
/// ([`caps::split_deduction`] with the floor, or in full without it).
#[inline(always)]
pub(super) fn post_vetoed<const NET: bool, const NEGATIVE: bool>(
    rules: &MonthRules,
    limits: CapLimits,
    opening: Opening,
    forfeited: i64,
    deductions: i64,
) -> Posted {
    let mut posting = Posting::<NET, NEGATIVE>::new(rules, limits, opening);
    posting.forfeit(forfeited);
    posting.deduct(deductions);
    posting.finish()
}

/// A household's entries of a month in any order, added up: what the
/// grouping pass keeps of them, and enough to post the household whenever
/// their order cannot change its result ([`Tally::post`]).
#[derive(Clone, Copy, Default)]
pub(super) struct Tally {
    /// The points of its awards and bonuses.
    pub awards: i64,
    /// The points of its deductions.
    pub deductions: i64,
    pub others: Others,
    /// How many entries.
    pub entries: i64,
}

impl Tally {
    /// Adds a well-formed entry.
    #[inline(always)]
    pub fn add(&mut self, kind: u8, points: i64) {
        // A veto's points are 0, so the rest are awards' and bonuses'.
        let deduction = if kind == kind::DEDUCTION { points } else { 0 };
        self.awards += points - deduction;
        self.deductions += deduction;
        self.others = self.others.with(kind);
        self.entries += 1;
    }

    /// The household posted from its totals when its entries' order cannot
    /// change the result: with a veto among them ([`post_vetoed`]), or
    /// awards and deductions only ([`post_order_free`]); `None` when it
    /// could, and the household is posted entry by entry.
    #[inline(always)]
    pub fn post<const NET: bool, const NEGATIVE: bool>(
        &self,
        rules: &MonthRules,
        limits: CapLimits,
        opening: Opening,
    ) -> Option<Posted> {
        let (awards, deductions) = (self.awards, self.deductions);
        if self.others.vetoes() > 0 {
            Some(post_vetoed::<NET, NEGATIVE>(
                rules, limits, opening, awards, deductions,
            ))
        } else if self.others.bonuses() > 0 {
            None
        } else {
            post_order_free::<NET, NEGATIVE>(rules, limits, opening, awards, deductions)
        }
    }
}

/// A household's count of vetoes (the low 32 bits) and of bonuses (the high
/// 32), added up in one running total: a month holds at most `u32::MAX`
/// entries, so neither count carries into the other.
#[derive(Clone, Copy, Default)]
pub(super) struct Others(pub i64);

impl Others {
    /// The counts with an entry of `kind` added.
    #[inline(always)]
    fn with(self, kind: u8) -> Others {
        const ADDS: [i64; 4] = [0, 0, 1, 1 << 32];
        Others(self.0.wrapping_add(ADDS[usize::from(kind & 3)]))
    }

    fn vetoes(self) -> u32 {
        self.0 as u32
    }

    fn bonuses(self) -> u32 {
        (self.0 as u64 >> 32) as u32
    }
}

/// Posts `entries` — (kind, points), validated and in posting order — for a
/// household whose caps are `limits`, in a month without a veto (a month
/// with one posts from its totals: [`post_vetoed`]).
pub(super) fn post_household<const NET: bool, const NEGATIVE: bool>(
    rules: &MonthRules,
    limits: CapLimits,
    opening: Opening,
    entries: impl Iterator<Item = (u8, i64)>,
) -> Posted {
    let mut posting = Posting::<NET, NEGATIVE>::new(rules, limits, opening);
    for (kind, points) in entries {
        match kind {
            kind::AWARD => posting.award(points, CapScope::BOTH),
            kind::BONUS => posting.award(points, rules.bonus_scope()),
            kind::DEDUCTION => posting.deduct(points),
            _ => debug_assert!(false, "a month with a veto posts from its totals"),
        }
    }
    posting.finish()
}

/// Posts a household's packed entries (none a veto) one by one in the fixed
/// order: sorted by (day, order) — stably, so entries of the same day and
/// order keep their input order.
pub(super) fn post_in_order<const NET: bool, const NEGATIVE: bool>(
    rules: &MonthRules,
    limits: CapLimits,
    opening: Opening,
    group: &mut [u64],
) -> Posted {
    group.sort_by_key(|&entry| packed::key(entry));
    let entries = group
        .iter()
        .map(|&entry| (packed::kind(entry), packed::points(entry)));
    post_household::<NET, NEGATIVE>(rules, limits, opening, entries)
}
