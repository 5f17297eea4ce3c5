//! Declarations (申报): a household declares a deed; it becomes a sheet entry
//! only when the village's scoring group accepts it (Rong'an's five steps
//! start here: declare → evaluate → publicise → ledger → redeem).

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::workflow::{self, NewEntry};
use super::{Act, Action, Decided, DeclarationId, ScoringError, SheetId, Step};
use crate::event::Event;
use crate::primitives::{ActorId, HouseholdId, Points, VillageCode};
use crate::state::State;

/// Where a declaration stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum DeclarationStatus {
    /// Waiting for the scoring group.
    Pending,
    /// Accepted as an entry of a sheet.
    Accepted { sheet: SheetId, entry: u32 },
    /// Turned down, with the reason in the step.
    Rejected { step: Step },
}

impl DeclarationStatus {
    /// The stable name.
    pub fn name(&self) -> &'static str {
        match self {
            DeclarationStatus::Pending => "pending",
            DeclarationStatus::Accepted { .. } => "accepted",
            DeclarationStatus::Rejected { .. } => "rejected",
        }
    }
}

/// A household's declaration of a deed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Declaration {
    /// The host's id.
    pub id: DeclarationId,
    /// The declaring household.
    pub household: HouseholdId,
    /// Its village.
    pub village: VillageCode,
    /// The indicator it claims.
    pub indicator: String,
    /// The date of the deed.
    pub date: NaiveDate,
    /// Points asked for, if the household names them.
    pub points: Option<Points>,
    /// What was done.
    pub note: String,
    /// The evidence reference.
    pub evidence: Option<String>,
    /// Who recorded it (the household's own login or a village clerk).
    pub declared_by: ActorId,
    /// When.
    pub declared_at: DateTime<Utc>,
    /// Where it stands.
    #[serde(flatten)]
    pub status: DeclarationStatus,
}

/// The fields of a new declaration.
pub struct NewDeclaration<'a> {
    /// Its id.
    pub id: &'a DeclarationId,
    /// The household.
    pub household: &'a HouseholdId,
    /// The indicator claimed.
    pub indicator: &'a str,
    /// The date of the deed.
    pub date: NaiveDate,
    /// Points asked for.
    pub points: Option<Points>,
    /// What was done.
    pub note: &'a str,
    /// The evidence reference.
    pub evidence: Option<&'a str>,
}

/// Records a declaration for an active household, on an award or star
/// indicator of the policy in force on the deed's date, not dated in the future.
pub fn declare(state: &State, act: &Act, new: NewDeclaration) -> Decided {
    if state.scoring.declarations.contains_key(new.id) {
        return Err(ScoringError::DuplicateDeclaration {
            declaration: new.id.to_string(),
        }
        .into());
    }
    let household = state.household(new.household)?;
    household.require_active()?;
    let indicator = workflow::indicator(state, new.indicator, new.date)?;
    if !matches!(
        indicator.kind,
        crate::policy::IndicatorKind::Award | crate::policy::IndicatorKind::Star
    ) {
        return Err(crate::error::InputError::InvalidValue {
            field: "indicator",
            detail: format!("{} is not a deed a household can declare", indicator.code),
        }
        .into());
    }
    if let Some(points) = new.points {
        workflow::check_points(&indicator, points)?;
    }
    if new.date > act.date() {
        return Err(ScoringError::EntryDateOutOfRange {
            date: new.date,
            period: crate::primitives::Month::of(new.date).to_string(),
            today: act.date(),
        }
        .into());
    }
    let declaration = Declaration {
        id: new.id.clone(),
        household: new.household.clone(),
        village: household.region.village.clone(),
        indicator: indicator.code,
        date: new.date,
        points: new.points,
        note: new.note.to_owned(),
        evidence: new.evidence.map(str::to_owned),
        declared_by: act.id().clone(),
        declared_at: act.at,
        status: DeclarationStatus::Pending,
    };
    Ok((
        vec![Event::DeclarationMade {
            declaration: Box::new(declaration),
        }],
        json!({ "declaration": new.id, "status": "pending" }),
    ))
}

fn pending<'a>(state: &'a State, id: &DeclarationId) -> Result<&'a Declaration, ScoringError> {
    let declaration = state.scoring.declaration(id)?;
    match declaration.status {
        DeclarationStatus::Pending => Ok(declaration),
        ref status => Err(ScoringError::DeclarationNotPending {
            declaration: id.to_string(),
            status: status.name(),
        }),
    }
}

/// A scorer of the household's village accepts the declaration into a draft
/// sheet; the points are the scorer's (or the household's, or the
/// indicator's least), checked like any entry.
pub fn accept(
    state: &State,
    act: &Act,
    id: &DeclarationId,
    sheet: &SheetId,
    points: Option<Points>,
) -> Decided {
    let declaration = pending(state, id)?;
    let indicator = workflow::indicator(state, &declaration.indicator, declaration.date)?;
    let points = points
        .or(declaration.points)
        .unwrap_or(indicator.min_points.max(Points(1)));
    let (events, _) = workflow::add_entry(
        state,
        act,
        sheet,
        NewEntry {
            household: &declaration.household,
            indicator: &declaration.indicator,
            points,
            date: declaration.date,
            note: &declaration.note,
            evidence: declaration.evidence.as_deref(),
            declaration: Some(id),
        },
    )?;
    let entry = match events.first() {
        Some(Event::EntryAdded { entry, .. }) => entry.position,
        _ => 0,
    };
    Ok((
        events,
        json!({ "declaration": id, "status": "accepted", "sheet": sheet, "entry": entry }),
    ))
}

/// A scorer of the household's village turns the declaration down, with a reason.
pub fn reject(state: &State, act: &Act, id: &DeclarationId) -> Decided {
    let declaration = pending(state, id)?;
    workflow::require_scorer(act, &declaration.village)?;
    act.require_reason("rejecting a declaration")?;
    Ok((
        vec![Event::DeclarationRejected {
            declaration: id.clone(),
            step: act.step(Action::DeclarationDecided),
        }],
        json!({ "declaration": id, "status": "rejected" }),
    ))
}
