//! Score sheets (评分表) and what they hold: entries, signatures, the audit
//! trail of steps, the published snapshot and objections.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::policy::{IndicatorKind, Stage, WorkflowPolicy};
use crate::primitives::{ActorId, HouseholdId, Month, Points, TownshipCode, VillageCode};

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }
    };
}

text_id!(
    /// The host's id for a score sheet.
    SheetId
);
text_id!(
    /// The host's id for a household's declaration (申报).
    DeclarationId
);

/// Where a sheet stands (SPEC §5). The order is the workflow's order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SheetState {
    /// Being scored; entries may change.
    Draft,
    /// Signed by the scoring group and handed in.
    Submitted,
    /// Passed the village committee.
    VillageReviewed,
    /// Passed the township office.
    TownshipReviewed,
    /// Approved by the township government.
    Approved,
    /// On public notice; objections may be lodged.
    Published,
    /// Credited to the households' accounts.
    Posted,
}

impl SheetState {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            SheetState::Draft => "draft",
            SheetState::Submitted => "submitted",
            SheetState::VillageReviewed => "village_reviewed",
            SheetState::TownshipReviewed => "township_reviewed",
            SheetState::Approved => "approved",
            SheetState::Published => "published",
            SheetState::Posted => "posted",
        }
    }

    /// The state a sheet reaches by passing `stage`.
    pub fn reached_by(stage: Stage) -> SheetState {
        match stage {
            Stage::VillageReview => SheetState::VillageReviewed,
            Stage::TownshipReview => SheetState::TownshipReviewed,
            Stage::Approval => SheetState::Approved,
            Stage::Publication => SheetState::Published,
        }
    }
}

/// The stable name of a stage.
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::VillageReview => "village_review",
        Stage::TownshipReview => "township_review",
        Stage::Approval => "approval",
        Stage::Publication => "publication",
    }
}

/// What a recorded step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The sheet was opened.
    Opened,
    /// An entry was removed from the draft.
    EntryRemoved,
    /// The household acknowledged an entry.
    EntryAcknowledged,
    /// A scorer signed the sheet.
    Signed,
    /// The sheet was submitted.
    Submitted,
    /// The village committee passed it.
    VillageReviewed,
    /// The township office passed it.
    TownshipReviewed,
    /// The township government approved it.
    Approved,
    /// A reviewer sent it back to draft.
    SentBack,
    /// It went on public notice.
    Published,
    /// An objection was resolved.
    ObjectionResolved,
    /// It was posted to the accounts.
    Posted,
    /// A declaration was accepted or rejected.
    DeclarationDecided,
    /// A period or year was closed.
    Closed,
    /// A township report was filed.
    ReportFiled,
}

/// One step of the audit trail: who did what, when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What was done.
    pub action: Action,
    /// Who did it.
    pub actor: ActorId,
    /// When.
    pub at: DateTime<Utc>,
    /// Why, when given.
    #[serde(default)]
    pub reason: Option<String>,
}

/// How one entry landed when its sheet was posted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryOutcome {
    /// The entry's position in the sheet.
    pub entry: u32,
    /// Award points credited.
    pub credited: Points,
    /// Award points cut by a cap.
    pub capped: Points,
    /// Award points forfeited by a veto.
    pub vetoed: Points,
    /// Deduction points taken from the balance.
    pub deducted: Points,
    /// Deduction points beyond the zero floor.
    pub unapplied: Points,
    /// For a veto: earlier awards of the period it forfeited (credited + capped).
    pub forfeited: Points,
}

/// One line of a sheet: a household scored on an indicator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the sheet, from 1; never reused.
    pub position: u32,
    /// The household scored.
    pub household: HouseholdId,
    /// The indicator's code.
    pub indicator: String,
    /// The indicator's name when scored.
    pub indicator_name: String,
    /// The indicator's kind when scored.
    pub kind: IndicatorKind,
    /// Points given (0 for a veto).
    pub points: Points,
    /// The date of the deed.
    pub date: NaiveDate,
    /// The scorer's note.
    #[serde(default)]
    pub note: String,
    /// A reference to the evidence (photo, form number).
    #[serde(default)]
    pub evidence: Option<String>,
    /// The household's signature reference (群众签字), once it acknowledged the entry.
    #[serde(default)]
    pub acknowledgement: Option<String>,
    /// The scorer who entered it.
    pub scored_by: ActorId,
    /// When it was entered.
    pub scored_at: DateTime<Utc>,
    /// The declaration it came from, if any.
    #[serde(default)]
    pub declaration: Option<DeclarationId>,
    /// Struck by an upheld objection; kept for the record, never posted.
    #[serde(default)]
    pub struck: bool,
    /// How it landed, once posted.
    #[serde(default)]
    pub outcome: Option<EntryOutcome>,
}

/// The public notice: a fixed snapshot of the sheet as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Notice {
    /// The day it went up.
    pub published_on: NaiveDate,
    /// The last day of the notice; objections are taken up to it, posting after it.
    pub until: NaiveDate,
    /// SHA-256 of the published entries (see [`fingerprint`]).
    pub fingerprint: String,
    /// The entries as published.
    pub entries: Vec<Entry>,
}

/// How an objection was settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Resolution {
    /// The entry stands as published.
    Uphold,
    /// The entry's points change.
    Amend { points: Points },
    /// The entry is struck and will not post.
    Strike,
}

/// A recorded resolution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Resolved {
    /// The decision.
    pub resolution: Resolution,
    /// The entry's points before it.
    pub previous_points: Points,
    /// Who decided, when, why.
    pub step: Step,
}

/// An objection against one entry during the public notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Objection {
    /// Its number in the sheet, from 1.
    pub number: u32,
    /// The entry objected to.
    pub entry: u32,
    /// Who lodged it.
    pub lodged_by: ActorId,
    /// When.
    pub lodged_at: DateTime<Utc>,
    /// What the objection says.
    pub note: String,
    /// The resolution, once decided.
    pub resolved: Option<Resolved>,
}

/// A score sheet for one village and one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Sheet {
    /// The host's id.
    pub id: SheetId,
    /// The village scored.
    pub village: VillageCode,
    /// The village's township.
    pub township: TownshipCode,
    /// The month scored.
    pub period: Month,
    /// The workflow in force when the sheet was opened; it holds for the sheet's life.
    pub workflow: WorkflowPolicy,
    /// Where it stands.
    pub state: SheetState,
    /// Its entries, in position order.
    pub entries: Vec<Entry>,
    /// The highest position ever given, so a removed entry's is never reused.
    pub last_position: u32,
    /// Everyone who scored it: entered a line or signed. They never review it.
    pub scorers: BTreeSet<ActorId>,
    /// Scorers who signed the current round (cleared when sent back).
    pub signatures: BTreeSet<ActorId>,
    /// Who passed each review step of the current round (cleared when sent back).
    pub reviewers: BTreeMap<Stage, ActorId>,
    /// The audit trail.
    pub history: Vec<Step>,
    /// The public notice, once published.
    pub notice: Option<Notice>,
    /// Objections lodged during the notice.
    pub objections: Vec<Objection>,
}

impl Sheet {
    /// The stage the sheet waits for next; `None` once it may post (or has).
    pub fn pending_stage(&self) -> Option<Stage> {
        if self.state == SheetState::Draft || self.state == SheetState::Posted {
            return None;
        }
        self.workflow
            .stages
            .iter()
            .copied()
            .find(|stage| SheetState::reached_by(*stage) > self.state)
    }

    /// The entries that will post: every entry not struck.
    pub fn live_entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| !e.struck)
    }

    /// The live entry at `position`.
    pub fn live_entry(&self, position: u32) -> Option<&Entry> {
        self.live_entries().find(|e| e.position == position)
    }

    /// The first objection still open.
    pub fn open_objection(&self) -> Option<&Objection> {
        self.objections.iter().find(|o| o.resolved.is_none())
    }

    /// The day the sheet went on notice, if it did.
    pub fn published_on(&self) -> Option<NaiveDate> {
        self.notice.as_ref().map(|n| n.published_on)
    }
}

/// The fingerprint of a published list: SHA-256 over the sheet's id, village,
/// month and its live entries in their JSON form, so anyone holding the
/// printed list can check it against the record.
pub fn fingerprint(sheet: &Sheet) -> String {
    let entries: Vec<&Entry> = sheet.live_entries().collect();
    let canonical =
        serde_json::to_vec(&(&sheet.id, &sheet.village, sheet.period, entries)).unwrap_or_default();
    hex::encode(Sha256::digest(canonical))
}
