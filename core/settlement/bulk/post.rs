//! One household's month, posted in the fixed order both paths follow: a veto
//! first (it forfeits every award of the month), then the other entries by
//! day and order, each award through the caps and each deduction through the
//! floor. Every rule is the policy's own function; this file only sequences them.

use super::packed;
use super::rules::MonthRules;
use super::HouseholdColumns;
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

    /// The household's row of the result columns, in
    /// [`super::HouseholdResults::COLUMNS`]' order.
    #[inline(always)]
    pub fn columns(&self) -> [i64; 10] {
        HouseholdColumns {
            awarded: self.awarded,
            credited: self.credited,
            capped: self.capped,
            vetoed: self.vetoed,
            deducted: self.deducted,
            unapplied: self.unapplied,
            net: self.net(),
            closing_balance: self.balance,
            ytd_credited: self.ytd_credited,
            ytd_deducted: self.ytd_deducted,
        }
        .into_columns()
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

/// Posts a household's month without a veto, given the totals of its
/// awards, bonuses and deductions, when the order they post in cannot change
/// the result; `None` when it could, and the entries must be posted one by
/// one.
///
/// Order cannot matter when:
/// - on a gross cap basis, for the awards and bonuses, unless a bonus counts
///   toward the monthly cap alone and something is capped. Each credits the
///   room the ones before left under caps that stay fixed through the month,
///   and the entries each cap bounds are nested (an award counts toward both
///   caps, a bonus toward both, one or none of them), so whatever the order
///   they credit the same total; and what counts toward the annual cap (the
///   year-to-date the month hands on) is then that total, or the awards'
///   own credit when bonuses count toward no cap. Only a bonus counted
///   toward the monthly cap alone splits the total between what the annual
///   cap counts and what it does not by the order;
/// - on a net basis, when the total of awards and bonuses is credited in
///   full (a deduction can only give room back, so each entry in any order
///   is credited in full);
/// - for the deductions, when there are none, when balances may go below
///   zero, or when the balance covers them all (awards only raise it), so
///   none reaches the floor; or when the awards and bonuses credit nothing,
///   so the deductions alone meet the balance and, one by one, apply what
///   their total applies.
///
/// The month is then posted as one award of the awards' total, one of the
/// bonuses' and one deduction of the deductions' total, through the same
/// rules. Most households of a month settle here, without sorting their
/// entries.
#[inline(always)]
pub(super) fn post_order_free<const NET: bool, const NEGATIVE: bool>(
    rules: &MonthRules,
    limits: CapLimits,
    opening: Opening,
    awards: i64,
    bonuses: i64,
    deductions: i64,
) -> Option<Posted> {
    let mut posting = Posting::<NET, NEGATIVE>::new(rules, limits, opening);
    posting.award(awards, CapScope::BOTH);
    let bonus_scope = rules.bonus_scope();
    if bonuses > 0 {
        posting.award(bonuses, bonus_scope);
    }
    let nothing_capped = posting.credited == awards + bonuses;
    let order_free_credit = if NET {
        nothing_capped
    } else {
        let monthly_alone = bonus_scope.monthly && !bonus_scope.annual;
        bonuses == 0 || !monthly_alone || nothing_capped
    };
    let floor_unreached = NEGATIVE || deductions == 0 || opening.balance >= deductions;
    let deductions_alone = posting.credited == 0;
    if !(order_free_credit && (floor_unreached || deductions_alone)) {
        return None;
    }
    posting.deduct(deductions);
    Some(posting.finish())
}

/// Posts the month of a household with a veto among its entries, given the
/// total of its awards and bonuses (`forfeited`) and of its deductions.
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
    /// The points of each kind of entry, by kind code; a veto carries none,
    /// so its place holds the household's [`Counts`] instead. Indexed by the
    /// entry's kind, adding an entry is two additions without a branch.
    by_kind: [i64; 4],
}

impl Tally {
    /// A tally as the grouping pass keeps it in the output columns, its
    /// parts in kind-code order.
    #[inline(always)]
    pub fn from_parts(awards: i64, deductions: i64, counts: Counts, bonuses: i64) -> Tally {
        Tally {
            by_kind: [awards, deductions, counts.0, bonuses],
        }
    }

    /// Adds a well-formed entry.
    #[inline(always)]
    pub fn add(&mut self, kind: u8, points: i64) {
        self.add_points(kind, points);
        let counts = &mut self.by_kind[usize::from(kind::VETO)];
        *counts = Counts(*counts).with(usize::from(kind)).0;
    }

    /// Adds the points of an entry already counted with none (a veto has
    /// none to add).
    #[inline(always)]
    pub fn add_points(&mut self, kind: u8, points: i64) {
        debug_assert!(kind != kind::VETO || points == 0);
        self.by_kind[usize::from(kind & 3)] += points;
    }

    pub fn awards(&self) -> i64 {
        self.by_kind[usize::from(kind::AWARD)]
    }

    pub fn deductions(&self) -> i64 {
        self.by_kind[usize::from(kind::DEDUCTION)]
    }

    pub fn counts(&self) -> Counts {
        Counts(self.by_kind[usize::from(kind::VETO)])
    }

    pub fn bonuses(&self) -> i64 {
        self.by_kind[usize::from(kind::BONUS)]
    }

    /// The household posted from its totals when its entries' order cannot
    /// change the result: with a veto among them ([`post_vetoed`]), or as
    /// [`post_order_free`] finds; `None` when it could, and the household is
    /// posted entry by entry.
    #[inline(always)]
    pub fn post<const NET: bool, const NEGATIVE: bool>(
        &self,
        rules: &MonthRules,
        limits: CapLimits,
        opening: Opening,
    ) -> Option<Posted> {
        let (awards, bonuses, deductions) = (self.awards(), self.bonuses(), self.deductions());
        if self.counts().vetoes() > 0 {
            Some(post_vetoed::<NET, NEGATIVE>(
                rules,
                limits,
                opening,
                awards + bonuses,
                deductions,
            ))
        } else {
            post_order_free::<NET, NEGATIVE>(rules, limits, opening, awards, bonuses, deductions)
        }
    }
}

/// A household's count of entries (the low 32 bits) and of vetoes (the high
/// 32), added up in one running total: a month holds at most `u32::MAX`
/// entries, so neither count carries into the other.
#[derive(Clone, Copy, Default)]
pub(super) struct Counts(pub i64);

impl Counts {
    /// The counts with an entry of `kind` added.
    #[inline(always)]
    fn with(self, kind: usize) -> Counts {
        const ADDS: [i64; 4] = [1, 1, 1 | 1 << 32, 1];
        Counts(self.0.wrapping_add(ADDS[kind & 3]))
    }

    pub fn entries(self) -> u32 {
        self.0 as u32
    }

    fn vetoes(self) -> u32 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Month, Policy};

    /// The rules of a month of baisha-2019 whose ranking bonus counts toward
    /// the caps of `scope`.
    fn rules(scope: CapScope) -> MonthRules {
        let mut policy = Policy::from_json("baisha-2019").expect("a preset");
        policy.ranking.counts_toward_monthly_cap = scope.monthly;
        policy.ranking.counts_toward_annual_cap = scope.annual;
        let month: Month = "2025-03".parse().expect("a month");
        let category = policy.category_order()[0].clone();
        MonthRules::for_categories(&policy, month, &[category]).expect("rules")
    }

    /// Every order of `entries`, posted one by one.
    fn every_order(
        rules: &MonthRules,
        limits: CapLimits,
        opening: Opening,
        entries: &[(u8, i64)],
    ) -> Vec<Posted> {
        let mut orders = vec![entries.to_vec()];
        for i in 1..entries.len() {
            orders = orders
                .into_iter()
                .flat_map(|order| {
                    (0..=i).map(move |at| {
                        let mut next = order.clone();
                        let moved = next.remove(i);
                        next.insert(at, moved);
                        next
                    })
                })
                .collect();
        }
        orders
            .into_iter()
            .map(|order| post_household::<false, false>(rules, limits, opening, order.into_iter()))
            .collect()
    }

    fn totals(entries: &[(u8, i64)]) -> Tally {
        let mut tally = Tally::default();
        for &(kind, points) in entries {
            tally.add(kind, points);
        }
        tally
    }

    /// Awards and a bonus that cross a cap post from their totals
    /// (the entries each cap bounds nest), and the result is the one every
    /// order gives; a bonus counted toward the monthly cap alone is posted
    /// entry by entry, and its orders do differ.
    #[test]
    fn bonuses_post_from_totals_unless_counted_toward_the_monthly_cap_alone() {
        let limits = CapLimits {
            monthly: Some(Points(10)),
            annual: Some(Points(100)),
        };
        let opening = Opening {
            balance: 5,
            ytd_credited: 94,
            ytd_deducted: 0,
        };
        let entries = [
            (kind::AWARD, 4),
            (kind::BONUS, 6),
            (kind::AWARD, 4),
            (kind::DEDUCTION, 3),
        ];
        let scopes = [
            (true, true, true),
            (false, true, true),
            (false, false, true),
            (true, false, false),
        ];
        for (monthly, annual, order_free) in scopes {
            let rules = rules(CapScope { monthly, annual });
            let posted = totals(&entries).post::<false, false>(&rules, limits, opening);
            let orders = every_order(&rules, limits, opening, &entries);
            let scope = format!("monthly {monthly}, annual {annual}");
            assert!(orders[0].capped > 0, "{scope}: the month crosses a cap");
            if order_free {
                let posted = posted.unwrap_or_else(|| panic!("{scope}: posted from totals"));
                assert!(orders.iter().all(|o| *o == posted), "{scope}");
            } else {
                assert_eq!(posted, None, "{scope}");
                assert!(orders.iter().any(|o| *o != orders[0]), "{scope}");
            }
        }
    }

    /// Awards that credit nothing leave deductions that reach the floor to
    /// apply what their total applies; awards that do credit make the order
    /// matter.
    #[test]
    fn deductions_reaching_the_floor_post_from_totals_when_awards_credit_nothing() {
        let rules = rules(CapScope::BOTH);
        let opening = Opening {
            balance: 5,
            ytd_credited: 0,
            ytd_deducted: 0,
        };
        let entries = [(kind::DEDUCTION, 4), (kind::AWARD, 6), (kind::DEDUCTION, 3)];
        for (annual, credits) in [(0, false), (50, true)] {
            let limits = CapLimits {
                monthly: None,
                annual: Some(Points(annual)),
            };
            let posted = totals(&entries).post::<false, false>(&rules, limits, opening);
            let orders = every_order(&rules, limits, opening, &entries);
            assert_eq!(posted.is_none(), credits, "annual cap {annual}");
            assert_eq!(orders.iter().all(|o| *o == orders[0]), !credits);
            if let Some(posted) = posted {
                assert_eq!(posted, orders[0]);
                assert_eq!((posted.deducted, posted.unapplied), (5, 2));
            }
        }
    }
}
