//! The scoring workflow (SPEC §5): a village scoring group scores households
//! against the policy's indicators on a score sheet; the sheet climbs the
//! approval chain the policy names, goes on public notice where villagers may
//! object, and only then posts to the accounts through the one cap function.
//! Period and year closes pay the ranking bonus, rate star households and
//! award named stars; the deadline check lists who is late.
//!
//! Everything here decides events from the state and applies them; nothing
//! else changes a sheet.

pub mod close;
pub mod deadline;
pub mod declaration;
mod error;
pub mod period;
pub mod post;
pub mod ranking;
pub mod sheet;
pub mod workflow;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use close::{PeriodClose, RankLine, YearClose, YearLine};
pub use declaration::{Declaration, DeclarationStatus};
pub use error::ScoringError;
pub use period::Period;
pub use sheet::{
    Action, DeclarationId, Entry, EntryOutcome, Notice, Objection, Resolution, Resolved, Sheet,
    SheetId, SheetState, Step,
};

use crate::access::{Actor, Role};
use crate::command::{Command, Query};
use crate::engine::business_date;
use crate::error::{AccessError, Error};
use crate::event::Event;
use crate::primitives::{ActorId, Month, TownshipCode, VillageCode, Year};
use crate::state::State;

/// A township's monthly report to the county, as filed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReportFiling {
    /// The township.
    pub township: TownshipCode,
    /// The month reported.
    pub month: Month,
    /// The business day it was filed.
    pub filed_on: NaiveDate,
    /// Who filed it, when, why.
    pub step: Step,
}

/// Everything the scoring events add up to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoringState {
    /// Score sheets by id.
    pub sheets: BTreeMap<SheetId, Sheet>,
    /// Declarations by id.
    pub declarations: BTreeMap<DeclarationId, Declaration>,
    /// Ranking closes by village and period.
    pub period_closes: BTreeMap<VillageCode, BTreeMap<Period, PeriodClose>>,
    /// Year closes by village and year.
    pub year_closes: BTreeMap<VillageCode, BTreeMap<Year, YearClose>>,
    /// Township reports by township and month.
    pub reports: BTreeMap<TownshipCode, BTreeMap<Month, ReportFiling>>,
}

impl ScoringState {
    /// The sheet, or `unknown_sheet`.
    pub fn sheet(&self, id: &SheetId) -> Result<&Sheet, ScoringError> {
        self.sheets
            .get(id)
            .ok_or_else(|| ScoringError::UnknownSheet {
                sheet: id.to_string(),
            })
    }

    /// The declaration, or `unknown_declaration`.
    pub fn declaration(&self, id: &DeclarationId) -> Result<&Declaration, ScoringError> {
        self.declarations
            .get(id)
            .ok_or_else(|| ScoringError::UnknownDeclaration {
                declaration: id.to_string(),
            })
    }

    /// The sheets of a village, in id order.
    pub fn village_sheets<'a>(
        &'a self,
        village: &'a VillageCode,
    ) -> impl Iterator<Item = &'a Sheet> + 'a {
        self.sheets.values().filter(move |s| &s.village == village)
    }

    /// The ranking close of a village holding `date`, if that period is closed.
    pub fn closed_period(&self, village: &VillageCode, date: NaiveDate) -> Option<&PeriodClose> {
        self.period_closes
            .get(village)?
            .iter()
            .find(|(period, _)| period.contains(date))
            .map(|(_, close)| close)
    }

    /// Applies one scoring event; other events are not this module's.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::SheetOpened { sheet } => {
                self.sheets.insert(sheet.id.clone(), (**sheet).clone());
            }
            Event::EntryAdded { sheet, entry } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    s.scorers.insert(entry.scored_by.clone());
                    s.last_position = s.last_position.max(entry.position);
                    s.entries.push(entry.clone());
                }
                if let Some(declaration) = &entry.declaration {
                    if let Some(d) = self.declarations.get_mut(declaration) {
                        d.status = DeclarationStatus::Accepted {
                            sheet: sheet.clone(),
                            entry: entry.position,
                        };
                    }
                }
            }
            Event::EntryRemoved { sheet, entry, step } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    s.entries.retain(|e| e.position != *entry);
                    s.history.push(step.clone());
                }
            }
            Event::EntryAcknowledged {
                sheet,
                entry,
                signature_ref,
                step,
            } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    if let Some(e) = s.entries.iter_mut().find(|e| e.position == *entry) {
                        e.acknowledgement = Some(signature_ref.clone());
                    }
                    s.history.push(step.clone());
                }
            }
            Event::SheetSigned { sheet, step } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    s.scorers.insert(step.actor.clone());
                    s.signatures.insert(step.actor.clone());
                    s.history.push(step.clone());
                }
            }
            Event::SheetAdvanced { sheet, to, step } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    if let Some(stage) = workflow::stage_of(*to) {
                        s.reviewers.insert(stage, step.actor.clone());
                    }
                    s.state = *to;
                    s.history.push(step.clone());
                }
            }
            Event::SheetSentBack { sheet, step } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    s.state = SheetState::Draft;
                    s.signatures.clear();
                    s.reviewers.clear();
                    s.history.push(step.clone());
                }
            }
            Event::SheetPublished {
                sheet,
                published_on,
                until,
                fingerprint,
                step,
            } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    s.notice = Some(Notice {
                        published_on: *published_on,
                        until: *until,
                        fingerprint: fingerprint.clone(),
                        entries: s.live_entries().cloned().collect(),
                    });
                    s.state = SheetState::Published;
                    s.history.push(step.clone());
                }
            }
            Event::ObjectionLodged { sheet, objection } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    s.objections.push(objection.clone());
                }
            }
            Event::ObjectionResolved {
                sheet,
                objection,
                resolved,
            } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    let Some(o) = s.objections.iter_mut().find(|o| o.number == *objection) else {
                        return;
                    };
                    o.resolved = Some(resolved.clone());
                    let position = o.entry;
                    if let Some(e) = s.entries.iter_mut().find(|e| e.position == position) {
                        match &resolved.resolution {
                            Resolution::Uphold => {}
                            Resolution::Amend { points } => e.points = *points,
                            Resolution::Strike => e.struck = true,
                        }
                    }
                    s.history.push(resolved.step.clone());
                }
            }
            Event::SheetPosted {
                sheet,
                outcomes,
                step,
            } => {
                if let Some(s) = self.sheets.get_mut(sheet) {
                    for outcome in outcomes {
                        if let Some(e) = s.entries.iter_mut().find(|e| e.position == outcome.entry)
                        {
                            e.outcome = Some(outcome.clone());
                        }
                    }
                    s.state = SheetState::Posted;
                    s.history.push(step.clone());
                }
            }
            Event::DeclarationMade { declaration } => {
                self.declarations
                    .insert(declaration.id.clone(), (**declaration).clone());
            }
            Event::DeclarationRejected { declaration, step } => {
                if let Some(d) = self.declarations.get_mut(declaration) {
                    d.status = DeclarationStatus::Rejected { step: step.clone() };
                }
            }
            Event::PeriodClosed(close) => {
                self.period_closes
                    .entry(close.village.clone())
                    .or_default()
                    .insert(close.period, close.clone());
            }
            Event::YearClosed(close) => {
                self.year_closes
                    .entry(close.village.clone())
                    .or_default()
                    .insert(close.year, close.clone());
            }
            Event::TownshipReportFiled(filing) => {
                self.reports
                    .entry(filing.township.clone())
                    .or_default()
                    .insert(filing.month, filing.clone());
            }
            _ => {}
        }
    }

    /// Checks that every posted entry's outcome splits its points exactly:
    /// an award's points are credited + capped + vetoed; a deduction's are
    /// deducted + unapplied.
    pub fn check_invariants(&self) -> Result<(), String> {
        for sheet in self.sheets.values() {
            for entry in sheet.live_entries() {
                let Some(o) = &entry.outcome else { continue };
                let split = match entry.kind {
                    crate::policy::IndicatorKind::Award => o.credited + o.capped + o.vetoed,
                    crate::policy::IndicatorKind::Deduction => o.deducted + o.unapplied,
                    _ => entry.points,
                };
                if split != entry.points {
                    return Err(format!(
                        "sheet {} entry {}: {} points split into {}",
                        sheet.id, entry.position, entry.points, split
                    ));
                }
            }
            if sheet.state == SheetState::Posted
                && sheet.live_entries().any(|e| e.outcome.is_none())
            {
                return Err(format!("sheet {} posted without every outcome", sheet.id));
            }
        }
        Ok(())
    }
}

/// Who acts on a scoring command, when, and why.
pub struct Act<'a> {
    /// The acting person.
    pub actor: &'a Actor,
    /// The instant of the request.
    pub at: DateTime<Utc>,
    /// The request's reason.
    pub reason: Option<&'a str>,
}

impl Act<'_> {
    /// The business date of the request.
    pub fn date(&self) -> NaiveDate {
        business_date(self.at)
    }

    /// The audit-trail step for `action`.
    pub fn step(&self, action: Action) -> Step {
        Step {
            action,
            actor: self.actor.id.clone(),
            at: self.at,
            reason: self.reason.map(str::to_owned),
        }
    }

    /// Fails unless the request carries a reason.
    pub fn require_reason(&self, step: &'static str) -> Result<(), ScoringError> {
        match self.reason {
            Some(reason) if !reason.trim().is_empty() => Ok(()),
            _ => Err(ScoringError::ReasonRequired { step }),
        }
    }

    /// Fails unless the actor holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), AccessError> {
        match roles.iter().find(|r| self.actor.roles.contains(r)) {
            Some(_) => Ok(()),
            None => self.actor.require(roles[0]),
        }
    }

    /// Fails unless the actor's village is `village`.
    pub fn require_village(&self, village: &VillageCode) -> Result<(), ScoringError> {
        if self.actor.village.as_ref() == Some(village) {
            Ok(())
        } else {
            Err(ScoringError::OutsideJurisdiction {
                actor: self.actor.id.to_string(),
                place: format!("village {village}"),
            })
        }
    }

    /// Fails unless the actor's township is `township`.
    pub fn require_township(&self, township: &TownshipCode) -> Result<(), ScoringError> {
        if self.actor.township.as_ref() == Some(township) {
            Ok(())
        } else {
            Err(ScoringError::OutsideJurisdiction {
                actor: self.actor.id.to_string(),
                place: format!("township {township}"),
            })
        }
    }

    /// The acting person's id.
    pub fn id(&self) -> &ActorId {
        &self.actor.id
    }
}

/// What a scoring command decides: its events and its result.
pub type Decided = Result<(Vec<Event>, Value), Error>;

/// Decides a scoring command. The engine delegates every scoring variant here.
pub fn decide(state: &State, act: &Act, command: &Command) -> Decided {
    use workflow as w;
    match command {
        Command::OpenSheet {
            sheet,
            village,
            period,
        } => w::open(state, act, sheet, village, *period),
        Command::AddEntry {
            sheet,
            household,
            indicator,
            points,
            date,
            note,
            evidence,
        } => w::add_entry(
            state,
            act,
            sheet,
            w::NewEntry {
                household,
                indicator,
                points: *points,
                date: *date,
                note,
                evidence: evidence.as_deref(),
                declaration: None,
            },
        ),
        Command::RemoveEntry { sheet, entry } => w::remove_entry(state, act, sheet, *entry),
        Command::AcknowledgeEntry {
            sheet,
            entry,
            signature_ref,
        } => w::acknowledge(state, act, sheet, *entry, signature_ref),
        Command::SignSheet { sheet } => w::sign(state, act, sheet),
        Command::SubmitSheet { sheet } => w::submit(state, act, sheet),
        Command::ReviewSheet { sheet, stage } => w::review(state, act, sheet, *stage),
        Command::SendBackSheet { sheet } => w::send_back(state, act, sheet),
        Command::PublishSheet { sheet } => w::publish(state, act, sheet),
        Command::LodgeObjection { sheet, entry, note } => {
            w::lodge_objection(state, act, sheet, *entry, note)
        }
        Command::ResolveObjection {
            sheet,
            objection,
            resolution,
        } => w::resolve_objection(state, act, sheet, *objection, resolution),
        Command::PostSheet { sheet } => post::post_sheet(state, act, sheet),
        Command::Declare {
            declaration,
            household,
            indicator,
            date,
            points,
            note,
            evidence,
        } => declaration::declare(
            state,
            act,
            declaration::NewDeclaration {
                id: declaration,
                household,
                indicator,
                date: *date,
                points: *points,
                note,
                evidence: evidence.as_deref(),
            },
        ),
        Command::AcceptDeclaration {
            declaration,
            sheet,
            points,
        } => declaration::accept(state, act, declaration, sheet, *points),
        Command::RejectDeclaration { declaration } => declaration::reject(state, act, declaration),
        Command::ClosePeriod { village, period } => {
            close::close_period(state, act, village, *period)
        }
        Command::CloseYear { village, year } => close::close_year(state, act, village, *year),
        Command::FileTownshipReport { township, month } => {
            deadline::file_report(state, act, township, *month)
        }
        _ => Err(crate::error::InputError::InvalidValue {
            field: "command",
            detail: "not a scoring command".into(),
        }
        .into()),
    }
}

/// Answers a scoring or ledger query. The engine delegates every such variant here.
pub fn query(state: &State, query: &Query) -> Result<Value, Error> {
    use crate::report::Ledger;
    let value = match query {
        Query::Sheet { sheet } => serde_json::to_value(state.scoring.sheet(sheet)?)?,
        Query::Sheets { village, period } => {
            let sheets: Vec<&Sheet> = state
                .scoring
                .village_sheets(village)
                .filter(|s| period.is_none_or(|p| s.period == p))
                .collect();
            serde_json::to_value(sheets)?
        }
        Query::Declaration { declaration } => {
            serde_json::to_value(state.scoring.declaration(declaration)?)?
        }
        Query::Overdue { month, on } => {
            serde_json::to_value(deadline::overdue(state, *month, *on)?)?
        }
        Query::PointsDetail {
            village,
            month,
            format,
        } => crate::report::points_detail(state, village, *month)?.render(*format)?,
        Query::EntryLedger {
            village,
            month,
            format,
        } => crate::report::entry_ledger(state, village, *month)?.render(*format)?,
        Query::PublicationList {
            village,
            quarter,
            format,
        } => crate::report::publication_list(state, village, *quarter)?.render(*format)?,
        Query::StarRatings {
            village,
            year,
            format,
        } => crate::report::star_ratings(state, village, *year)?.render(*format)?,
        _ => {
            return Err(crate::error::InputError::InvalidValue {
                field: "query",
                detail: "not a scoring query".into(),
            }
            .into())
        }
    };
    Ok(value)
}
