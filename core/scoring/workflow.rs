//! The sheet's way from draft to public notice: opening, scoring, signing,
//! submitting, the review chain the policy names, send-back, publication and
//! objections — with the separation of duties checked at every step.

use serde_json::{json, Value};

use super::sheet::{fingerprint, stage_name};
use super::{
    Act, Action, Decided, Entry, Objection, Resolution, Resolved, ScoringError, Sheet, SheetId,
    SheetState,
};
use crate::access::Role;
use crate::error::Error;
use crate::event::Event;
use crate::policy::{Indicator, IndicatorKind, Stage};
use crate::primitives::{HouseholdId, Month, Points, TownshipCode, VillageCode};
use crate::state::State;

/// The review stage whose passing leads to `state`, if any.
pub fn stage_of(state: SheetState) -> Option<Stage> {
    match state {
        SheetState::VillageReviewed => Some(Stage::VillageReview),
        SheetState::TownshipReviewed => Some(Stage::TownshipReview),
        SheetState::Approved => Some(Stage::Approval),
        _ => None,
    }
}

/// The township a village belongs to, read from its registered households.
pub fn village_township(
    state: &State,
    village: &VillageCode,
) -> Result<TownshipCode, ScoringError> {
    state
        .households
        .values()
        .find(|h| &h.region.village == village)
        .map(|h| h.region.township.clone())
        .ok_or_else(|| ScoringError::UnknownVillage {
            village: village.to_string(),
        })
}

fn wrong_state(sheet: &Sheet, step: &str) -> ScoringError {
    ScoringError::InvalidSheetTransition {
        sheet: sheet.id.to_string(),
        state: sheet.state.name(),
        step: step.to_owned(),
    }
}

fn require_state(sheet: &Sheet, state: SheetState, step: &str) -> Result<(), ScoringError> {
    if sheet.state == state {
        Ok(())
    } else {
        Err(wrong_state(sheet, step))
    }
}

/// A scorer of `village`: holds the scorer role, belongs to the village, and
/// is not one of its supervisors (SPEC §5: supervisors never score).
pub fn require_scorer(act: &Act, village: &VillageCode) -> Result<(), Error> {
    act.actor.require(Role::Scorer)?;
    act.require_village(village)?;
    if act.actor.roles.contains(&Role::Supervisor) {
        return Err(ScoringError::SupervisorIsScorer {
            actor: act.id().to_string(),
            village: village.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Fails when the actor scored the sheet: no one reviews, approves, judges
/// objections to, or posts a sheet they scored.
pub fn require_not_scorer(
    act: &Act,
    sheet: &Sheet,
    step: &'static str,
) -> Result<(), ScoringError> {
    if sheet.scorers.contains(act.id()) {
        return Err(ScoringError::ReviewerScoredSheet {
            actor: act.id().to_string(),
            sheet: sheet.id.to_string(),
            step,
        });
    }
    Ok(())
}

/// The indicator `code` in the policy in force on `date`.
pub fn indicator(state: &State, code: &str, date: chrono::NaiveDate) -> Result<Indicator, Error> {
    let policy = state.policies.in_force(date)?;
    policy
        .indicators
        .iter()
        .find(|i| i.code == code)
        .cloned()
        .ok_or_else(|| {
            ScoringError::UnknownIndicator {
                indicator: code.to_owned(),
                date,
            }
            .into()
        })
}

/// Checks `points` against the indicator's range; awards and deductions need
/// at least one point, since a zero posting means nothing.
pub fn check_points(indicator: &Indicator, points: Points) -> Result<(), ScoringError> {
    let floor = match indicator.kind {
        IndicatorKind::Award | IndicatorKind::Deduction => indicator.min_points.max(Points(1)),
        IndicatorKind::Veto | IndicatorKind::Star => indicator.min_points,
    };
    if points < floor || points > indicator.max_points {
        return Err(ScoringError::PointsOutOfRange {
            indicator: indicator.code.clone(),
            points: points.get(),
            min: floor.get(),
            max: indicator.max_points.get(),
        });
    }
    Ok(())
}

/// The fields of an entry to add.
pub struct NewEntry<'a> {
    /// The household scored.
    pub household: &'a HouseholdId,
    /// The indicator's code.
    pub indicator: &'a str,
    /// Points given.
    pub points: Points,
    /// The date of the deed.
    pub date: chrono::NaiveDate,
    /// The scorer's note.
    pub note: &'a str,
    /// The evidence reference.
    pub evidence: Option<&'a str>,
    /// The declaration it comes from.
    pub declaration: Option<&'a super::DeclarationId>,
}

/// Validates an entry for a draft sheet and builds it: an active household of
/// the village, an indicator of the policy in force on the deed's date, points
/// in range, a date in the sheet's month and not in the future, and the
/// indicator's times-per-month limit across all of the household's sheets.
pub fn build_entry(state: &State, act: &Act, sheet: &Sheet, new: NewEntry) -> Result<Entry, Error> {
    let household = state.household(new.household)?;
    household.require_active()?;
    if household.region.village != sheet.village {
        return Err(ScoringError::HouseholdNotInVillage {
            household: new.household.to_string(),
            village: sheet.village.to_string(),
        }
        .into());
    }
    if Month::of(new.date) != sheet.period || new.date > act.date() {
        return Err(ScoringError::EntryDateOutOfRange {
            date: new.date,
            period: sheet.period.to_string(),
            today: act.date(),
        }
        .into());
    }
    let indicator = indicator(state, new.indicator, new.date)?;
    check_points(&indicator, new.points)?;
    if let Some(limit) = indicator.times_per_period {
        let month = Month::of(new.date);
        let given = state
            .scoring
            .village_sheets(&sheet.village)
            .filter(|s| s.period == month)
            .flat_map(|s| s.live_entries())
            .filter(|e| {
                &e.household == new.household
                    && e.indicator == indicator.code
                    && Month::of(e.date) == month
            })
            .count();
        if given >= limit as usize {
            return Err(ScoringError::IndicatorLimitReached {
                household: new.household.to_string(),
                indicator: indicator.code,
                month: month.to_string(),
                limit,
            }
            .into());
        }
    }
    let position = sheet.last_position + 1;
    Ok(Entry {
        position,
        household: new.household.clone(),
        indicator: indicator.code,
        indicator_name: indicator.name,
        kind: indicator.kind,
        points: new.points,
        date: new.date,
        note: new.note.to_owned(),
        evidence: new.evidence.map(str::to_owned),
        acknowledgement: None,
        scored_by: act.id().clone(),
        scored_at: act.at,
        declaration: new.declaration.cloned(),
        struck: false,
        outcome: None,
    })
}

/// Opens a sheet for a village and month: a scorer of the village, under the
/// workflow of the policy in force today (which then holds for the sheet).
pub fn open(
    state: &State,
    act: &Act,
    id: &SheetId,
    village: &VillageCode,
    period: Month,
) -> Decided {
    require_scorer(act, village)?;
    if state.scoring.sheets.contains_key(id) {
        return Err(ScoringError::DuplicateSheet {
            sheet: id.to_string(),
        }
        .into());
    }
    let township = village_township(state, village)?;
    let workflow = state.policies.in_force(act.date())?.workflow.clone();
    let sheet = Sheet {
        id: id.clone(),
        village: village.clone(),
        township,
        period,
        workflow,
        state: SheetState::Draft,
        entries: Vec::new(),
        last_position: 0,
        scorers: Default::default(),
        signatures: Default::default(),
        reviewers: Default::default(),
        history: vec![act.step(Action::Opened)],
        notice: None,
        objections: Vec::new(),
    };
    Ok((
        vec![Event::SheetOpened {
            sheet: Box::new(sheet),
        }],
        json!({ "sheet": id, "state": SheetState::Draft }),
    ))
}

/// Adds an entry to a draft sheet.
pub fn add_entry(state: &State, act: &Act, id: &SheetId, new: NewEntry) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    require_scorer(act, &sheet.village)?;
    require_state(sheet, SheetState::Draft, "scored")?;
    let entry = build_entry(state, act, sheet, new)?;
    let result = json!({ "sheet": id, "entry": entry.position });
    Ok((
        vec![Event::EntryAdded {
            sheet: id.clone(),
            entry,
        }],
        result,
    ))
}

/// Removes an entry from a draft (with a reason).
pub fn remove_entry(state: &State, act: &Act, id: &SheetId, position: u32) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    require_scorer(act, &sheet.village)?;
    require_state(sheet, SheetState::Draft, "edited")?;
    act.require_reason("removing an entry")?;
    live_entry(sheet, position)?;
    Ok((
        vec![Event::EntryRemoved {
            sheet: id.clone(),
            entry: position,
            step: act.step(Action::EntryRemoved),
        }],
        Value::Null,
    ))
}

fn live_entry(sheet: &Sheet, position: u32) -> Result<&Entry, ScoringError> {
    sheet
        .live_entry(position)
        .ok_or_else(|| ScoringError::UnknownEntry {
            sheet: sheet.id.to_string(),
            entry: position,
        })
}

/// Records the household's signature on an entry (入户打分、群众签字), any
/// time before the sheet posts.
pub fn acknowledge(
    state: &State,
    act: &Act,
    id: &SheetId,
    position: u32,
    signature_ref: &str,
) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    require_scorer(act, &sheet.village)?;
    if sheet.state == SheetState::Posted {
        return Err(wrong_state(sheet, "acknowledged").into());
    }
    live_entry(sheet, position)?;
    if signature_ref.trim().is_empty() {
        return Err(crate::error::InputError::InvalidValue {
            field: "signature_ref",
            detail: "an acknowledgement needs the household's signature reference".into(),
        }
        .into());
    }
    Ok((
        vec![Event::EntryAcknowledged {
            sheet: id.clone(),
            entry: position,
            signature_ref: signature_ref.to_owned(),
            step: act.step(Action::EntryAcknowledged),
        }],
        Value::Null,
    ))
}

/// A scorer of the village signs the draft.
pub fn sign(state: &State, act: &Act, id: &SheetId) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    require_scorer(act, &sheet.village)?;
    require_state(sheet, SheetState::Draft, "signed")?;
    if sheet.signatures.contains(act.id()) {
        return Err(ScoringError::AlreadySigned {
            actor: act.id().to_string(),
            sheet: id.to_string(),
        }
        .into());
    }
    Ok((
        vec![Event::SheetSigned {
            sheet: id.clone(),
            step: act.step(Action::Signed),
        }],
        json!({ "sheet": id, "signatures": sheet.signatures.len() + 1 }),
    ))
}

/// Supervisors of a village who are not scorers of it: those holding the
/// supervisor role for the village, without the scorer role, who never scored
/// one of its sheets.
pub fn supervisors(state: &State, village: &VillageCode) -> u32 {
    let count = state
        .actors
        .values()
        .filter(|a| a.village.as_ref() == Some(village))
        .filter(|a| a.roles.contains(&Role::Supervisor) && !a.roles.contains(&Role::Scorer))
        .filter(|a| {
            !state
                .scoring
                .village_sheets(village)
                .any(|s| s.scorers.contains(&a.id))
        })
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Submits the draft: the submitter signs too, and the signatures must reach
/// the workflow's minimum of distinct scorers; the village must have its
/// supervision group.
pub fn submit(state: &State, act: &Act, id: &SheetId) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    require_scorer(act, &sheet.village)?;
    require_state(sheet, SheetState::Draft, "submitted")?;
    let mut signatures = sheet.signatures.clone();
    let newly_signed = signatures.insert(act.id().clone());
    let signed = u32::try_from(signatures.len()).unwrap_or(u32::MAX);
    if signed < sheet.workflow.min_scorers {
        return Err(ScoringError::TooFewScorers {
            sheet: id.to_string(),
            signed,
            needed: sheet.workflow.min_scorers,
        }
        .into());
    }
    let found = supervisors(state, &sheet.village);
    if found < sheet.workflow.min_supervisors {
        return Err(ScoringError::TooFewSupervisors {
            village: sheet.village.to_string(),
            found,
            needed: sheet.workflow.min_supervisors,
        }
        .into());
    }
    let mut events = Vec::new();
    if newly_signed {
        events.push(Event::SheetSigned {
            sheet: id.clone(),
            step: act.step(Action::Signed),
        });
    }
    events.push(Event::SheetAdvanced {
        sheet: id.clone(),
        to: SheetState::Submitted,
        step: act.step(Action::Submitted),
    });
    Ok((
        events,
        json!({ "sheet": id, "state": SheetState::Submitted }),
    ))
}

/// Checks that the actor may act at a review stage of the sheet: the stage's
/// role, in the sheet's village or township, not a scorer of the sheet, and
/// not the reviewer of another stage of this round.
fn require_reviewer(
    act: &Act,
    sheet: &Sheet,
    stage: Stage,
    step: &'static str,
) -> Result<(), Error> {
    match stage {
        Stage::VillageReview => {
            act.actor.require(Role::VillageCommittee)?;
            act.require_village(&sheet.village)?;
        }
        Stage::TownshipReview => {
            act.actor.require(Role::TownshipOfficer)?;
            act.require_township(&sheet.township)?;
        }
        Stage::Approval => {
            act.actor.require(Role::TownshipApprover)?;
            act.require_township(&sheet.township)?;
        }
        Stage::Publication => {
            return Err(wrong_state(sheet, "reviewed at publication").into());
        }
    }
    require_not_scorer(act, sheet, step)?;
    if sheet
        .reviewers
        .iter()
        .any(|(other, actor)| *other != stage && actor == act.id())
    {
        return Err(ScoringError::RepeatedReviewer {
            actor: act.id().to_string(),
            sheet: sheet.id.to_string(),
        }
        .into());
    }
    Ok(())
}

/// Passes the sheet's pending review stage, which must be `stage`.
pub fn review(state: &State, act: &Act, id: &SheetId, stage: Stage) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    if sheet.pending_stage() != Some(stage) || stage == Stage::Publication {
        return Err(wrong_state(sheet, &format!("passed at {}", stage_name(stage))).into());
    }
    require_reviewer(act, sheet, stage, "review")?;
    let to = SheetState::reached_by(stage);
    let action = match stage {
        Stage::VillageReview => Action::VillageReviewed,
        Stage::TownshipReview => Action::TownshipReviewed,
        _ => Action::Approved,
    };
    Ok((
        vec![Event::SheetAdvanced {
            sheet: id.clone(),
            to,
            step: act.step(action),
        }],
        json!({ "sheet": id, "state": to, "next": sheet_next(sheet, to) }),
    ))
}

/// The stage after `state` in the sheet's workflow, by name, or `post`.
fn sheet_next(sheet: &Sheet, state: SheetState) -> &'static str {
    sheet
        .workflow
        .stages
        .iter()
        .find(|s| SheetState::reached_by(**s) > state)
        .map_or("post", |s| stage_name(*s))
}

/// Sends the sheet back to draft from its pending review stage, with a
/// reason; the scorers sign the revised sheet again.
pub fn send_back(state: &State, act: &Act, id: &SheetId) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    let stage = match sheet.pending_stage() {
        Some(stage) if stage != Stage::Publication => stage,
        _ => return Err(wrong_state(sheet, "sent back").into()),
    };
    require_reviewer(act, sheet, stage, "send back")?;
    act.require_reason("sending a sheet back")?;
    Ok((
        vec![Event::SheetSentBack {
            sheet: id.clone(),
            step: act.step(Action::SentBack),
        }],
        json!({ "sheet": id, "state": SheetState::Draft, "from": stage_name(stage) }),
    ))
}

/// Puts the sheet on public notice once every review stage has passed: a
/// member of the village's scoring group, committee or supervision group
/// posts it on the village board. The list is fingerprinted as published.
pub fn publish(state: &State, act: &Act, id: &SheetId) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    if sheet.pending_stage() != Some(Stage::Publication) {
        return Err(wrong_state(sheet, "published").into());
    }
    act.require_any(&[Role::VillageCommittee, Role::Supervisor, Role::Scorer])?;
    act.require_village(&sheet.village)?;
    let published_on = act.date();
    let days = u64::from(sheet.workflow.notice_days.max(1));
    let until = published_on
        .checked_add_days(chrono::Days::new(days - 1))
        .unwrap_or(published_on);
    let fingerprint = fingerprint(sheet);
    Ok((
        vec![Event::SheetPublished {
            sheet: id.clone(),
            published_on,
            until,
            fingerprint: fingerprint.clone(),
            step: act.step(Action::Published),
        }],
        json!({ "sheet": id, "state": SheetState::Published, "until": until, "fingerprint": fingerprint }),
    ))
}

/// Lodges an objection against a live entry while the notice runs. Anyone
/// known to the engine may object (the host records villagers as actors).
pub fn lodge_objection(
    state: &State,
    act: &Act,
    id: &SheetId,
    position: u32,
    note: &str,
) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    let notice = match (&sheet.notice, sheet.state) {
        (Some(notice), SheetState::Published) => notice,
        _ => return Err(wrong_state(sheet, "objected to").into()),
    };
    if act.date() > notice.until {
        return Err(ScoringError::NoticeClosed {
            sheet: id.to_string(),
            until: notice.until,
        }
        .into());
    }
    live_entry(sheet, position)?;
    if note.trim().is_empty() {
        return Err(crate::error::InputError::InvalidValue {
            field: "note",
            detail: "an objection says what is wrong".into(),
        }
        .into());
    }
    let number = u32::try_from(sheet.objections.len()).unwrap_or(u32::MAX) + 1;
    let objection = Objection {
        number,
        entry: position,
        lodged_by: act.id().clone(),
        lodged_at: act.at,
        note: note.to_owned(),
        resolved: None,
    };
    Ok((
        vec![Event::ObjectionLodged {
            sheet: id.clone(),
            objection,
        }],
        json!({ "sheet": id, "objection": number }),
    ))
}

/// Resolves an objection with a reason: upheld (the entry stands), amended
/// (new points within the indicator's range) or struck. A supervisor or a
/// committee member of the village decides, never one of the sheet's scorers.
pub fn resolve_objection(
    state: &State,
    act: &Act,
    id: &SheetId,
    number: u32,
    resolution: &Resolution,
) -> Decided {
    let sheet = state.scoring.sheet(id)?;
    act.require_any(&[Role::Supervisor, Role::VillageCommittee])?;
    act.require_village(&sheet.village)?;
    require_not_scorer(act, sheet, "judge objections to")?;
    let objection = sheet
        .objections
        .iter()
        .find(|o| o.number == number)
        .ok_or_else(|| ScoringError::UnknownObjection {
            sheet: id.to_string(),
            objection: number,
        })?;
    if objection.resolved.is_some() {
        return Err(ScoringError::ObjectionAlreadyResolved {
            sheet: id.to_string(),
            objection: number,
        }
        .into());
    }
    act.require_reason("resolving an objection")?;
    // Another objection may have struck the entry already: this one can
    // still be upheld or struck (a no-op), so it never blocks posting.
    let entry = sheet
        .entries
        .iter()
        .find(|e| e.position == objection.entry)
        .ok_or_else(|| ScoringError::UnknownEntry {
            sheet: id.to_string(),
            entry: objection.entry,
        })?;
    if let Resolution::Amend { points } = resolution {
        live_entry(sheet, entry.position)?;
        check_points(&indicator(state, &entry.indicator, entry.date)?, *points)?;
    }
    Ok((
        vec![Event::ObjectionResolved {
            sheet: id.clone(),
            objection: number,
            resolved: Resolved {
                resolution: resolution.clone(),
                previous_points: entry.points,
                step: act.step(Action::ObjectionResolved),
            },
        }],
        json!({ "sheet": id, "objection": number, "entry": entry.position }),
    ))
}
