//! Posting a sheet (导入积分): its entries become account postings, decided by
//! the same `decide_award` / `decide_deduction` / `decide_veto` as the
//! administrator's path, so a sheet and an import can never disagree.

use std::collections::{btree_map, BTreeMap};

use serde_json::json;

use super::workflow::require_not_scorer;
use super::{Act, Action, Decided, Entry, EntryOutcome, ScoringError, Sheet, SheetId, SheetState};
use crate::access::Role;
use crate::account::{self, Account, Origin};
use crate::error::Error;
use crate::event::Event;
use crate::policy::caps::CapScope;
use crate::policy::{IndicatorKind, Stage};
use crate::primitives::{HouseholdId, Points};
use crate::state::State;

/// The order in which one sheet's entries take effect.
///
/// **The posting rule (kept identical by the bulk settlement kernel):** within
/// one posting (one sheet), vetoes take effect first — each household with a
/// veto entry in the sheet has its veto posted before its other entries — then
/// all other entries go in order (date, then position in the sheet). Awards of
/// a vetoed period are therefore recorded as vetoed in full, wherever they sit
/// in the sheet. Struck entries never post.
pub fn posting_order(sheet: &Sheet) -> Vec<&Entry> {
    let mut vetoes: Vec<&Entry> = sheet
        .live_entries()
        .filter(|e| e.kind == IndicatorKind::Veto)
        .collect();
    let mut others: Vec<&Entry> = sheet
        .live_entries()
        .filter(|e| e.kind != IndicatorKind::Veto)
        .collect();
    vetoes.sort_by_key(|e| (e.date, e.position));
    others.sort_by_key(|e| (e.date, e.position));
    vetoes.extend(others);
    vetoes
}

/// Decides every posting of a sheet, in [`posting_order`], each against the
/// household's account as the postings before it left it (a working copy of
/// the account, folded as we go). Returns the account events in order and
/// each entry's outcome (in position order).
///
/// Awards count toward both caps and are credited up to the room left; the
/// entry that crosses a cap is credited in part and the cut recorded as
/// capped. Deductions stop at the zero floor unless the policy allows
/// negative balances. A veto forfeits its period (the policy's veto period)
/// and reverses awards already posted in it. Star entries post nothing here:
/// named stars are credited at the year close.
pub fn decide_postings(
    state: &State,
    sheet: &Sheet,
) -> Result<(Vec<Event>, Vec<EntryOutcome>), Error> {
    let mut working: BTreeMap<&HouseholdId, Account> = BTreeMap::new();
    let mut events = Vec::new();
    let mut outcomes = Vec::new();
    for entry in posting_order(sheet) {
        let household = state.household(&entry.household)?;
        let account = match working.entry(&entry.household) {
            btree_map::Entry::Occupied(seen) => seen.into_mut(),
            btree_map::Entry::Vacant(first) => {
                first.insert(state.account(&entry.household)?.clone())
            }
        };
        let policy = state.policies.in_force(entry.date)?;
        let origin = Origin::Sheet {
            sheet: sheet.id.to_string(),
            entry: entry.position,
        };
        let mut outcome = EntryOutcome {
            entry: entry.position,
            ..EntryOutcome::default()
        };
        match entry.kind {
            IndicatorKind::Award => {
                household.require_active()?;
                let posting = account::decide_award(
                    policy,
                    household,
                    account,
                    entry.date,
                    entry.points,
                    origin,
                    CapScope::BOTH,
                )?;
                account.apply_award(&posting);
                outcome.credited = posting.credited;
                outcome.capped = posting.capped;
                outcome.vetoed = posting.vetoed;
                events.push(Event::AwardPosted(posting));
            }
            IndicatorKind::Deduction => {
                let posting = account::decide_deduction(
                    policy,
                    &entry.household,
                    account,
                    entry.date,
                    entry.points,
                    origin,
                )?;
                account.apply_deduction(&posting);
                outcome.deducted = posting.applied;
                outcome.unapplied = posting.unapplied;
                events.push(Event::DeductionPosted(posting));
            }
            IndicatorKind::Veto => {
                let posting =
                    account::decide_veto(policy, &entry.household, account, entry.date, origin);
                account.apply_veto(&posting);
                outcome.forfeited = posting
                    .reversals
                    .iter()
                    .map(|r| r.credited + r.capped)
                    .sum::<Points>();
                events.push(Event::VetoPosted(posting));
            }
            IndicatorKind::Star => {}
        }
        outcomes.push(outcome);
    }
    outcomes.sort_by_key(|o| o.entry);
    Ok((events, outcomes))
}

/// Posts a sheet once its workflow is through: published and its notice over
/// with no objection open (or, for a workflow without publication, past its
/// last review). An administrator or a township officer of the sheet's
/// township posts it, never one of its scorers. A sheet posts once (again:
/// `sheet_already_posted`, or with the same client key the first answer); a
/// period the village has closed takes no posting.
///
/// **Posting rule (the bulk settlement kernel follows it exactly):** within
/// one posting (one sheet), vetoes take effect first — each household with a
/// veto entry in the sheet has its veto posted before its other entries —
/// then all other entries go in order (date, then position in the sheet);
/// awards of a vetoed period are recorded as vetoed in full. Each entry is
/// decided by `decide_award` / `decide_deduction` / `decide_veto` against the
/// account as the entries before it left it ([`decide_postings`]), so the
/// events are the very `AwardPosted` / `DeductionPosted` / `VetoPosted` the
/// administrator's path records.
pub fn post_sheet(state: &State, act: &Act, id: &SheetId) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    if !act.actor.roles.contains(&Role::Administrator) {
        act.actor.require(Role::TownshipOfficer)?;
        act.require_township(&sheet.township)?;
    }
    require_not_scorer(act, sheet, "post")?;
    if sheet.state == SheetState::Posted {
        return Err(ScoringError::SheetAlreadyPosted {
            sheet: id.to_string(),
        }
        .into());
    }
    let publishes = sheet.workflow.stages.contains(&Stage::Publication);
    let ready = if publishes {
        sheet.state == SheetState::Published
    } else {
        sheet.state != SheetState::Draft && sheet.pending_stage().is_none()
    };
    if !ready {
        return Err(ScoringError::InvalidSheetTransition {
            sheet: id.to_string(),
            state: sheet.state.name(),
            step: "posted".into(),
        }
        .into());
    }
    if let Some(notice) = &sheet.notice {
        if act.date() <= notice.until {
            return Err(ScoringError::NoticeNotOver {
                sheet: id.to_string(),
                until: notice.until,
            }
            .into());
        }
    }
    if let Some(open) = sheet.open_objection() {
        return Err(ScoringError::ObjectionOpen {
            sheet: id.to_string(),
            objection: open.number,
        }
        .into());
    }
    for entry in sheet.live_entries() {
        if let Some(close) = state.scoring.closed_period(&sheet.village, entry.date) {
            return Err(ScoringError::PeriodClosed {
                village: sheet.village.to_string(),
                period: close.period.to_string(),
            }
            .into());
        }
        let year = crate::primitives::Year::of(entry.date);
        if state
            .scoring
            .year_closes
            .get(&sheet.village)
            .is_some_and(|closes| closes.contains_key(&year))
        {
            return Err(ScoringError::PeriodClosed {
                village: sheet.village.to_string(),
                period: year.to_string(),
            }
            .into());
        }
    }
    let (mut events, outcomes) = decide_postings(state, sheet)?;
    let total = |f: fn(&EntryOutcome) -> Points| outcomes.iter().map(f).sum::<Points>();
    let result = json!({
        "sheet": id,
        "state": SheetState::Posted,
        "credited": total(|o| o.credited),
        "capped": total(|o| o.capped),
        "vetoed": total(|o| o.vetoed),
        "deducted": total(|o| o.deducted),
        "unapplied": total(|o| o.unapplied),
        "entries": outcomes,
    });
    events.push(Event::SheetPosted {
        sheet: id.clone(),
        outcomes,
        step: act.step(Action::Posted),
    });
    Ok((events, result))
}
