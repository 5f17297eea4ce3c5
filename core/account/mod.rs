//! Points accounts (积分账户) and use-count accounts (计次). Every award and
//! deduction, whether posted by an administrator or from a score sheet, is
//! decided here through the policy's one cap function.

mod error;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use error::AccountError;

use crate::error::InputError;
use crate::household::Household;
use crate::policy::caps::{
    self, AwardSplit, CapCounters, CapScope, CapUsage, DeductionSplit, VetoPeriod,
};
use crate::policy::Policy;
use crate::primitives::{HouseholdId, Month, Points, Year, MAX_POINTS};

/// Where a posting came from, for the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Origin {
    /// Posted directly by an administrator (imports, corrections).
    Admin,
    /// An entry of a posted score sheet.
    Sheet { sheet: String, entry: u32 },
    /// A ranking bonus for a period.
    RankingBonus { period: String, rank: u32 },
    /// Named stars or the yearly star commendation.
    StarAward { year: Year },
}

/// One award as posted: how the caps and vetoes split it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardPosting {
    /// The household credited.
    pub household: HouseholdId,
    /// The date the award is for.
    pub date: NaiveDate,
    /// Where it came from.
    pub origin: Origin,
    /// Points asked for.
    pub requested: Points,
    /// Points credited to the balance.
    pub credited: Points,
    /// Points cut by a cap.
    pub capped: Points,
    /// Points forfeited by a veto.
    pub vetoed: Points,
    /// Whether it used monthly cap room.
    pub counts_toward_month: bool,
    /// Whether it used annual cap room.
    pub counts_toward_year: bool,
}

/// One deduction as posted: how much the balance could take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeductionPosting {
    /// The household.
    pub household: HouseholdId,
    /// The date the deduction is for.
    pub date: NaiveDate,
    /// Where it came from.
    pub origin: Origin,
    /// Points deducted by the scorers.
    pub requested: Points,
    /// Points taken from the balance.
    pub applied: Points,
    /// Points beyond the zero floor, recorded but not taken.
    pub unapplied: Points,
}

/// A veto's reversal of one month's earlier awards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonthReversal {
    /// The month whose awards are forfeited.
    pub month: Month,
    /// Its awards that had been credited.
    pub credited: Points,
    /// Its awards that had been capped.
    pub capped: Points,
    /// Its cap counters before the reversal, which the reversal clears.
    #[schemars(skip)]
    pub counters: CapCounters,
}

/// A veto as posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VetoPosting {
    /// The household.
    pub household: HouseholdId,
    /// The date of the vetoed conduct.
    pub date: NaiveDate,
    /// Where it came from.
    pub origin: Origin,
    /// The period forfeited.
    #[schemars(with = "serde_json::Value")]
    pub period: VetoPeriod,
    /// Awards of the period posted before the veto, now forfeited.
    pub reversals: Vec<MonthReversal>,
}

/// Running totals of an account (SPEC invariants hold over them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// Points asked for by awards.
    pub awarded: Points,
    /// Points credited.
    pub credited: Points,
    /// Points cut by caps.
    pub capped: Points,
    /// Points forfeited by vetoes.
    pub vetoed: Points,
    /// Deduction points taken from the balance.
    pub deducted: Points,
    /// Deduction points beyond the zero floor.
    pub unapplied: Points,
    /// Points spent on goods.
    pub redeemed: Points,
    /// Points received by transfer.
    pub transferred_in: Points,
    /// Points given by transfer.
    pub transferred_out: Points,
}

impl Totals {
    /// Adds another account's totals.
    pub fn add(&mut self, other: &Totals) {
        self.awarded += other.awarded;
        self.credited += other.credited;
        self.capped += other.capped;
        self.vetoed += other.vetoed;
        self.deducted += other.deducted;
        self.unapplied += other.unapplied;
        self.redeemed += other.redeemed;
        self.transferred_in += other.transferred_in;
        self.transferred_out += other.transferred_out;
    }

    /// The balance these totals imply.
    pub fn implied_balance(&self) -> Points {
        self.credited - self.deducted - self.redeemed + self.transferred_in - self.transferred_out
    }
}

/// One household's activity in one month.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MonthActivity {
    /// The month's postings, as totals.
    pub totals: Totals,
    /// What counts toward the caps.
    #[schemars(skip)]
    pub counters: CapCounters,
}

/// A household's points account and use-count accounts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Account {
    /// The balance.
    pub balance: Points,
    /// Totals since registration.
    pub totals: Totals,
    /// Activity by month.
    pub months: BTreeMap<Month, MonthActivity>,
    /// Periods forfeited by a veto.
    #[schemars(skip)]
    pub vetoes: BTreeSet<VetoPeriod>,
    /// Use-count balances by kind (e.g. `haircut`).
    pub use_counts: BTreeMap<String, i64>,
}

/// The room a household has left under its caps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CapRoom {
    /// The month asked about.
    pub month: Month,
    /// The monthly cap, if any.
    pub monthly_cap: Option<Points>,
    /// The annual cap, if any.
    pub annual_cap: Option<Points>,
    /// Counted toward the monthly cap so far.
    pub used_this_month: Points,
    /// Counted toward the annual cap so far.
    pub used_this_year: Points,
    /// Points still creditable this month (`None`: no cap binds).
    pub room_this_month: Option<Points>,
    /// Points still creditable this year (`None`: no annual cap).
    pub room_this_year: Option<Points>,
}

impl Account {
    /// The cap counters of `month` and of its year so far.
    pub fn counters(&self, month: Month) -> (CapCounters, CapCounters) {
        let this_month = self
            .months
            .get(&month)
            .map(|a| a.counters)
            .unwrap_or_default();
        let mut year = CapCounters::default();
        for (_, activity) in self
            .months
            .range(month.year().months().next().unwrap_or(month)..=month)
        {
            year.add(&activity.counters);
        }
        (this_month, year)
    }

    /// Whether a veto forfeits awards dated `date`.
    pub fn is_vetoed(&self, date: NaiveDate) -> bool {
        self.vetoes.iter().any(|period| period.contains(date))
    }

    fn month_mut(&mut self, date: NaiveDate) -> &mut MonthActivity {
        self.months.entry(Month::of(date)).or_default()
    }

    /// Applies a posted award.
    pub fn apply_award(&mut self, posting: &AwardPosting) {
        let add = |t: &mut Totals| {
            t.awarded += posting.requested;
            t.credited += posting.credited;
            t.capped += posting.capped;
            t.vetoed += posting.vetoed;
        };
        add(&mut self.totals);
        let month = self.month_mut(posting.date);
        add(&mut month.totals);
        let scope = CapScope {
            monthly: posting.counts_toward_month,
            annual: posting.counts_toward_year,
        };
        month.counters.record_award(
            AwardSplit {
                credited: posting.credited,
                capped: posting.capped,
            },
            scope,
        );
        self.balance += posting.credited;
    }

    /// Applies a posted deduction.
    pub fn apply_deduction(&mut self, posting: &DeductionPosting) {
        let add = |t: &mut Totals| {
            t.deducted += posting.applied;
            t.unapplied += posting.unapplied;
        };
        add(&mut self.totals);
        let month = self.month_mut(posting.date);
        add(&mut month.totals);
        month.counters.record_deduction(posting.requested);
        self.balance -= posting.applied;
    }

    /// Applies a veto: the period is forfeited and its earlier awards reversed.
    /// The reversal is exact even when the household already spent those
    /// points: the balance may then fall below zero (the household owes
    /// points back, and cannot redeem until later credits repay them). The
    /// zero floor of SPEC §4 governs deductions, not the forfeiture of awards.
    pub fn apply_veto(&mut self, posting: &VetoPosting) {
        self.vetoes.insert(posting.period);
        for reversal in &posting.reversals {
            let forfeited = reversal.credited + reversal.capped;
            let activity = self.months.entry(reversal.month).or_default();
            for totals in [&mut self.totals, &mut activity.totals] {
                totals.credited -= reversal.credited;
                totals.capped -= reversal.capped;
                totals.vetoed += forfeited;
            }
            activity.counters.toward_month -= reversal.counters.toward_month;
            activity.counters.toward_year -= reversal.counters.toward_year;
            self.balance -= reversal.credited;
        }
    }

    /// Applies a redemption: its points count as redeemed in its month, and
    /// its points and use-count units leave the balances.
    pub fn apply_redemption(
        &mut self,
        date: NaiveDate,
        points: Points,
        use_counts: &BTreeMap<String, i64>,
    ) {
        self.totals.redeemed += points;
        self.month_mut(date).totals.redeemed += points;
        self.balance -= points;
        for (kind, units) in use_counts {
            *self.use_counts.entry(kind.clone()).or_default() -= units;
        }
    }

    /// Applies a void: a new record that lowers the redeemed total and gives
    /// the points and use-count units back; the redemption stays recorded.
    pub fn apply_void(
        &mut self,
        date: NaiveDate,
        points: Points,
        use_counts: &BTreeMap<String, i64>,
    ) {
        self.totals.redeemed -= points;
        self.month_mut(date).totals.redeemed -= points;
        self.balance += points;
        for (kind, units) in use_counts {
            *self.use_counts.entry(kind.clone()).or_default() += units;
        }
    }

    /// Moves points between accounts (no cap is touched).
    pub fn apply_transfer(&mut self, points: Points, incoming: bool) {
        if incoming {
            self.totals.transferred_in += points;
            self.balance += points;
        } else {
            self.totals.transferred_out += points;
            self.balance -= points;
        }
    }
}

/// Decides how an award lands: vetoed in full if its period is vetoed,
/// otherwise credited up to the room under the caps in `scope`.
pub fn decide_award(
    policy: &Policy,
    household: &Household,
    account: &Account,
    date: NaiveDate,
    requested: Points,
    origin: Origin,
    scope: CapScope,
) -> Result<AwardPosting, crate::Error> {
    require_posting_amount("points", requested.get())?;
    let month = Month::of(date);
    let (credited, capped, vetoed) = if account.is_vetoed(date) {
        (Points::ZERO, Points::ZERO, requested)
    } else {
        let limits = caps::limits_for(policy, &household.categories, month)?;
        let (this_month, year) = account.counters(month);
        let split = caps::split_award(
            requested,
            limits,
            caps::usage(policy.cap_basis, &this_month, &year),
            scope,
        );
        (split.credited, split.capped, Points::ZERO)
    };
    Ok(AwardPosting {
        household: household.id.clone(),
        date,
        origin,
        requested,
        credited,
        capped,
        vetoed,
        counts_toward_month: scope.monthly,
        counts_toward_year: scope.annual,
    })
}

/// Decides how a deduction lands on the balance (the zero floor, unless the
/// policy allows negative balances).
pub fn decide_deduction(
    policy: &Policy,
    household: &HouseholdId,
    account: &Account,
    date: NaiveDate,
    requested: Points,
    origin: Origin,
) -> Result<DeductionPosting, crate::Error> {
    require_posting_amount("points", requested.get())?;
    let DeductionSplit { applied, unapplied } =
        caps::split_deduction(requested, account.balance, policy.allow_negative_balance);
    Ok(DeductionPosting {
        household: household.clone(),
        date,
        origin,
        requested,
        applied,
        unapplied,
    })
}

/// Decides a veto: the period of the policy's kind holding `date` is
/// forfeited, and the awards already posted in it are reversed.
pub fn decide_veto(
    policy: &Policy,
    household: &HouseholdId,
    account: &Account,
    date: NaiveDate,
    origin: Origin,
) -> VetoPosting {
    let period = VetoPeriod::of(policy.veto_period, date);
    let reversals = account
        .months
        .iter()
        .filter(|(month, _)| period.contains(month.first_day()))
        .filter(|(_, a)| a.totals.credited != Points::ZERO || a.totals.capped != Points::ZERO)
        .map(|(month, activity)| MonthReversal {
            month: *month,
            credited: activity.totals.credited,
            capped: activity.totals.capped,
            counters: CapCounters {
                deducted: Points::ZERO,
                ..activity.counters
            },
        })
        .collect();
    VetoPosting {
        household: household.clone(),
        date,
        origin,
        period,
        reversals,
    }
}

/// The room left under the caps for `month`.
pub fn cap_room(
    policy: &Policy,
    household: &Household,
    account: &Account,
    month: Month,
) -> Result<CapRoom, crate::Error> {
    let limits = caps::limits_for(policy, &household.categories, month)?;
    let (this_month, year) = account.counters(month);
    let CapUsage {
        month: used_month,
        year: used_year,
    } = caps::usage(policy.cap_basis, &this_month, &year);
    let room_year = limits.annual.map(|cap| (cap - used_year).max(Points::ZERO));
    let room_month = limits
        .monthly
        .map(|cap| (cap - used_month).max(Points::ZERO));
    let room_this_month = match (room_month, room_year) {
        (Some(m), Some(y)) => Some(m.min(y)),
        (m, y) => m.or(y),
    };
    Ok(CapRoom {
        month,
        monthly_cap: limits.monthly,
        annual_cap: limits.annual,
        used_this_month: used_month,
        used_this_year: used_year,
        room_this_month,
        room_this_year: room_year,
    })
}

/// Fails unless `amount`, the points (or use-count units) one posting,
/// transfer or grant names in `field`, is above zero and at most
/// [`MAX_POINTS`], so that no account's running totals can overflow.
pub fn require_posting_amount(field: &'static str, amount: i64) -> Result<(), crate::Error> {
    require_positive(Points(amount))?;
    if amount > MAX_POINTS {
        return Err(InputError::InvalidValue {
            field,
            detail: format!("at most {MAX_POINTS} in one posting, got {amount}"),
        }
        .into());
    }
    Ok(())
}

/// Fails unless `points` is above zero.
pub fn require_positive(points: Points) -> Result<(), AccountError> {
    if points.get() > 0 {
        Ok(())
    } else {
        Err(AccountError::NonPositivePoints {
            points: points.get(),
        })
    }
}
