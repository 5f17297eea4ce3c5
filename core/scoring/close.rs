//! Period and year closes (SPEC §4, §5): the ranking bonus for a village's best
//! households each ranking period; at year end the star credit ratings, the
//! named-star awards and the yearly bonus for households with many stars.
//!
//! Each close happens once per village, period and rule: running it again
//! changes nothing and answers with the first close's result. A period does
//! not close while one of its sheets is in review or on notice, and a closed
//! period takes no more sheet postings, so a bonus is never paid on a score
//! that later changes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::period::kind_name;
use super::ranking::{bonus_for_rank, net_score, rank, star_rating, vetoed_in};
use super::workflow::village_township;
use super::{Act, Action, Decided, Period, ScoringError, SheetState, Step};
use crate::access::Role;
use crate::account::{self, AwardPosting, Origin};
use crate::error::Error;
use crate::event::Event;
use crate::household::{Household, HouseholdStatus};
use crate::policy::caps::CapScope;
use crate::policy::IndicatorKind;
use crate::primitives::{HouseholdId, Points, VillageCode, Year};
use crate::state::State;

/// One household's line in a ranking close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RankLine {
    /// The household.
    pub household: HouseholdId,
    /// Its net score in the period.
    pub score: Points,
    /// Whether a veto forfeits part of the period (it is then not ranked).
    pub vetoed: bool,
    /// Its rank, if ranked (vetoed and non-positive households are not).
    pub rank: Option<u32>,
    /// The bonus its rank earns.
    pub bonus: Points,
    /// Of the bonus, credited.
    pub credited: Points,
    /// Of the bonus, cut by a cap.
    pub capped: Points,
}

/// A village's ranking close for one period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PeriodClose {
    /// The village.
    pub village: VillageCode,
    /// The ranking period.
    pub period: Period,
    /// The business day of the close.
    pub closed_on: chrono::NaiveDate,
    /// Who closed it, when, why.
    pub step: Step,
    /// Every active household of the village, best first.
    pub lines: Vec<RankLine>,
}

/// One household's line in a year close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct YearLine {
    /// The household.
    pub household: HouseholdId,
    /// Its net score for the year, before the year-end awards.
    pub net_score: Points,
    /// Whether a veto forfeits part of the year (it bars the star rating).
    pub vetoed: bool,
    /// Its star credit rating, if any.
    pub stars: Option<u8>,
    /// The named stars it earned in the year, each counted once.
    pub named_stars: Vec<String>,
    /// Points for the named stars.
    pub star_points: Points,
    /// The yearly bonus for at least K named stars.
    pub star_bonus: Points,
    /// Of the year-end awards, credited.
    pub credited: Points,
    /// Of the year-end awards, cut by a cap.
    pub capped: Points,
    /// Of the year-end awards, forfeited by a veto of the period they fall in.
    pub vetoed_points: Points,
}

/// A village's year close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct YearClose {
    /// The village.
    pub village: VillageCode,
    /// The year.
    pub year: Year,
    /// The business day of the close.
    pub closed_on: chrono::NaiveDate,
    /// Who closed it, when, why.
    pub step: Step,
    /// Every active household of the village, in id order.
    pub lines: Vec<YearLine>,
}

/// An administrator, or a township officer of the village's township, closes.
fn require_closer(state: &State, act: &Act, village: &VillageCode) -> Result<(), Error> {
    let township = village_township(state, village)?;
    if !act.actor.roles.contains(&Role::Administrator) {
        act.actor.require(Role::TownshipOfficer)?;
        act.require_township(&township)?;
    }
    Ok(())
}

/// The active households of a village, in id order.
pub fn village_households<'a>(
    state: &'a State,
    village: &'a VillageCode,
) -> impl Iterator<Item = &'a Household> + 'a {
    state
        .households
        .values()
        .filter(move |h| &h.region.village == village && h.status == HouseholdStatus::Active)
}

/// Fails while a sheet of the village dated in `period` is between submission
/// and posting: closing would leave it unable ever to post. Drafts do not
/// block (they may be abandoned); they simply cannot post into a closed period.
fn require_no_pending_sheet(
    state: &State,
    village: &VillageCode,
    period: Period,
) -> Result<(), ScoringError> {
    let pending = state.scoring.village_sheets(village).find(|s| {
        period.contains(s.period.first_day())
            && !matches!(s.state, SheetState::Draft | SheetState::Posted)
    });
    match pending {
        Some(sheet) => Err(ScoringError::SheetPending {
            sheet: sheet.id.to_string(),
            period: period.to_string(),
            state: sheet.state.name(),
        }),
        None => Ok(()),
    }
}

/// The first close's answer again, marked as a repeat: no events, no postings.
fn repeated<T: Serialize>(close: &T) -> Decided {
    let mut value = serde_json::to_value(close)?;
    if let Value::Object(fields) = &mut value {
        fields.insert("repeated".into(), Value::Bool(true));
    }
    Ok((Vec::new(), value))
}

fn answer<T: Serialize>(close: &T) -> Result<Value, Error> {
    let mut value = serde_json::to_value(close)?;
    if let Value::Object(fields) = &mut value {
        fields.insert("repeated".into(), Value::Bool(false));
    }
    Ok(value)
}

/// Closes a ranking period for a village (Longquan: each month the top 10).
/// The period must be of the policy's ranking kind and over. Households are
/// ranked by [`rank`] on their [`net_score`]; each ranked inside the top N is
/// awarded [`bonus_for_rank`] on the period's last day, through the caps the
/// policy says a bonus counts toward.
pub fn close_period(state: &State, act: &Act, village: &VillageCode, period: Period) -> Decided {
    require_closer(state, act, village)?;
    let policy = state.policies.in_force(period.last_day())?;
    let ranking = &policy.ranking;
    if period.kind() != ranking.period {
        return Err(ScoringError::WrongPeriodKind {
            period: period.to_string(),
            expected: kind_name(ranking.period),
        }
        .into());
    }
    if act.date() <= period.last_day() {
        return Err(ScoringError::PeriodNotOver {
            period: period.to_string(),
            today: act.date(),
        }
        .into());
    }
    if let Some(close) = state
        .scoring
        .period_closes
        .get(village)
        .and_then(|c| c.get(&period))
    {
        return repeated(close);
    }
    require_no_pending_sheet(state, village, period)?;
    let months = period.months();
    let mut standings = Vec::new();
    for household in village_households(state, village) {
        let account = state.account(&household.id)?;
        standings.push((
            household,
            net_score(account, &months),
            vetoed_in(account, &months),
        ));
    }
    let ranked = rank(
        standings
            .iter()
            .map(|(h, score, vetoed)| (&h.id, *score, *vetoed)),
    );
    let scope = CapScope {
        monthly: ranking.counts_toward_monthly_cap,
        annual: ranking.counts_toward_annual_cap,
    };
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for (household, score, vetoed) in &standings {
        let rank = ranked
            .iter()
            .find(|r| r.key == &household.id)
            .map(|r| r.rank);
        let bonus = rank.map_or(Points::ZERO, |r| {
            bonus_for_rank(&ranking.bonus, ranking.top_n, r)
        });
        let mut line = RankLine {
            household: household.id.clone(),
            score: *score,
            vetoed: *vetoed,
            rank,
            bonus,
            credited: Points::ZERO,
            capped: Points::ZERO,
        };
        if let (Some(rank), true) = (rank, bonus.get() > 0) {
            let posting = account::decide_award(
                policy,
                household,
                state.account(&household.id)?,
                period.last_day(),
                bonus,
                Origin::RankingBonus {
                    period: period.to_string(),
                    rank,
                },
                scope,
            )?;
            line.credited = posting.credited;
            line.capped = posting.capped;
            events.push(Event::AwardPosted(posting));
        }
        lines.push(line);
    }
    lines.sort_by(|a, b| {
        (a.rank.is_none(), a.rank, &a.household).cmp(&(b.rank.is_none(), b.rank, &b.household))
    });
    let close = PeriodClose {
        village: village.clone(),
        period,
        closed_on: act.date(),
        step: act.step(Action::Closed),
        lines,
    };
    let result = answer(&close)?;
    events.push(Event::PeriodClosed(close));
    Ok((events, result))
}

/// The named stars each household of a village earned in a year: the
/// distinct star names on its posted sheets' live entries dated in the year,
/// in indicator-code order (the order of the policy's star list).
pub fn named_stars(
    state: &State,
    village: &VillageCode,
    year: Year,
) -> BTreeMap<HouseholdId, Vec<String>> {
    let mut earned: BTreeMap<&HouseholdId, Vec<(&str, &str)>> = BTreeMap::new();
    for entry in state
        .scoring
        .village_sheets(village)
        .filter(|s| s.state == SheetState::Posted && s.period.year() == year)
        .flat_map(|s| s.live_entries())
        .filter(|e| e.kind == IndicatorKind::Star)
    {
        earned
            .entry(&entry.household)
            .or_default()
            .push((entry.indicator.as_str(), entry.indicator_name.as_str()));
    }
    earned
        .into_iter()
        .map(|(household, mut stars)| {
            stars.sort();
            let mut names: Vec<String> = Vec::with_capacity(stars.len());
            for (_, name) in stars {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
            (household.clone(), names)
        })
        .collect()
}

/// Closes a year for a village once it is over: each active household's star
/// credit rating by [`star_rating`] on the year's [`net_score`] before the
/// year-end awards (a veto in the year bars it); then its named stars earned
/// on posted sheets, each worth the policy's points per star, and the yearly
/// bonus when it has at least K of them. Year-end awards are dated 31
/// December and count toward the annual cap only, like a yearly bonus.
pub fn close_year(state: &State, act: &Act, village: &VillageCode, year: Year) -> Decided {
    require_closer(state, act, village)?;
    let whole = Period::Year(year);
    let last_day = whole.last_day();
    if act.date() <= last_day {
        return Err(ScoringError::PeriodNotOver {
            period: whole.to_string(),
            today: act.date(),
        }
        .into());
    }
    if let Some(close) = state
        .scoring
        .year_closes
        .get(village)
        .and_then(|c| c.get(&year))
    {
        return repeated(close);
    }
    require_no_pending_sheet(state, village, whole)?;
    let policy = state.policies.in_force(last_day)?;
    let months = whole.months();
    let scope = CapScope {
        monthly: false,
        annual: true,
    };
    let named = &policy.named_stars;
    let mut earned = named_stars(state, village, year);
    let mut events = Vec::new();
    let mut lines = Vec::new();
    for household in village_households(state, village) {
        let mut account = state.account(&household.id)?.clone();
        let net = net_score(&account, &months);
        let vetoed = vetoed_in(&account, &months);
        let stars = earned.remove(&household.id).unwrap_or_default();
        let count = u32::try_from(stars.len()).unwrap_or(u32::MAX);
        let star_points = Points(named.points_per_star.get() * i64::from(count));
        let star_bonus = if named.bonus_min_stars > 0 && count >= named.bonus_min_stars {
            named.bonus_points
        } else {
            Points::ZERO
        };
        let mut line = YearLine {
            household: household.id.clone(),
            net_score: net,
            vetoed,
            stars: star_rating(&policy.star_rating, net, vetoed),
            named_stars: stars,
            star_points,
            star_bonus,
            credited: Points::ZERO,
            capped: Points::ZERO,
            vetoed_points: Points::ZERO,
        };
        for points in [star_points, star_bonus] {
            if points.get() <= 0 {
                continue;
            }
            let posting: AwardPosting = account::decide_award(
                policy,
                household,
                &account,
                last_day,
                points,
                Origin::StarAward { year },
                scope,
            )?;
            account.apply_award(&posting);
            line.credited += posting.credited;
            line.capped += posting.capped;
            line.vetoed_points += posting.vetoed;
            events.push(Event::AwardPosted(posting));
        }
        lines.push(line);
    }
    let close = YearClose {
        village: village.clone(),
        year,
        closed_on: act.date(),
        step: act.step(Action::Closed),
        lines,
    };
    let result = answer(&close)?;
    events.push(Event::YearClosed(close));
    Ok((events, result))
}
