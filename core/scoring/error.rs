use chrono::NaiveDate;
use thiserror::Error;

use crate::error::ErrorCode;

/// Errors of the scoring workflow: sheets, separation of duties, public
/// notice, posting, declarations, closes and reports.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ScoringError {
    /// No sheet has this id.
    #[error("unknown score sheet {sheet}")]
    UnknownSheet { sheet: String },
    /// The sheet id is taken.
    #[error("score sheet {sheet} already exists")]
    DuplicateSheet { sheet: String },
    /// The sheet's state does not allow the step.
    #[error("score sheet {sheet} is {state}; it cannot be {step}")]
    InvalidSheetTransition {
        sheet: String,
        state: &'static str,
        step: String,
    },
    /// No registered household lives in the village.
    #[error("village {village} has no registered household")]
    UnknownVillage { village: String },
    /// The indicator code is not in the catalog of the policy in force.
    #[error("indicator {indicator} is not in the policy in force on {date}")]
    UnknownIndicator { indicator: String, date: NaiveDate },
    /// The points are outside the indicator's range.
    #[error("indicator {indicator} gives {min}..={max} points, got {points}")]
    PointsOutOfRange {
        indicator: String,
        points: i64,
        min: i64,
        max: i64,
    },
    /// The household reached the indicator's times-per-month limit.
    #[error("household {household} already has indicator {indicator} {limit} time(s) in {month}")]
    IndicatorLimitReached {
        household: String,
        indicator: String,
        month: String,
        limit: u32,
    },
    /// The entry's date is outside the sheet's month or in the future.
    #[error("entry date {date} must fall in {period} and not after {today}")]
    EntryDateOutOfRange {
        date: NaiveDate,
        period: String,
        today: NaiveDate,
    },
    /// The household does not live in the sheet's village.
    #[error("household {household} does not live in village {village}")]
    HouseholdNotInVillage { household: String, village: String },
    /// No live entry at this position.
    #[error("score sheet {sheet} has no live entry {entry}")]
    UnknownEntry { sheet: String, entry: u32 },
    /// Too few distinct scorers signed the sheet.
    #[error("score sheet {sheet} is signed by {signed} scorer(s); {needed} needed")]
    TooFewScorers {
        sheet: String,
        signed: u32,
        needed: u32,
    },
    /// The actor scored the sheet and may not review, approve, judge or post it.
    #[error("actor {actor} scored sheet {sheet} and may not {step} it")]
    ReviewerScoredSheet {
        actor: String,
        sheet: String,
        step: &'static str,
    },
    /// A supervisor of the village may not score in it; a scorer may not supervise it.
    #[error("actor {actor} cannot both supervise and score in village {village}")]
    SupervisorIsScorer { actor: String, village: String },
    /// The actor belongs to another village or township.
    #[error("actor {actor} does not act for {place}")]
    OutsideJurisdiction { actor: String, place: String },
    /// The actor already completed another review step of the sheet.
    #[error("actor {actor} already reviewed score sheet {sheet} at another step")]
    RepeatedReviewer { actor: String, sheet: String },
    /// The village's supervision group is too small.
    #[error(
        "village {village} has {found} supervisor(s) outside its scoring group; {needed} needed"
    )]
    TooFewSupervisors {
        village: String,
        found: u32,
        needed: u32,
    },
    /// The actor already signed the sheet.
    #[error("actor {actor} already signed score sheet {sheet}")]
    AlreadySigned { actor: String, sheet: String },
    /// The step needs a reason.
    #[error("{step} needs a reason for the audit trail")]
    ReasonRequired { step: &'static str },
    /// The public notice is still running.
    #[error("score sheet {sheet} is on public notice until {until}")]
    NoticeNotOver { sheet: String, until: NaiveDate },
    /// The public notice is over.
    #[error("the public notice of score sheet {sheet} ended on {until}")]
    NoticeClosed { sheet: String, until: NaiveDate },
    /// An objection is still open.
    #[error("objection {objection} against score sheet {sheet} is still open")]
    ObjectionOpen { sheet: String, objection: u32 },
    /// No objection with this number.
    #[error("score sheet {sheet} has no objection {objection}")]
    UnknownObjection { sheet: String, objection: u32 },
    /// The objection is resolved already.
    #[error("objection {objection} against score sheet {sheet} is already resolved")]
    ObjectionAlreadyResolved { sheet: String, objection: u32 },
    /// The sheet posted already.
    #[error("score sheet {sheet} was already posted")]
    SheetAlreadyPosted { sheet: String },
    /// No declaration has this id.
    #[error("unknown declaration {declaration}")]
    UnknownDeclaration { declaration: String },
    /// The declaration id is taken.
    #[error("declaration {declaration} already exists")]
    DuplicateDeclaration { declaration: String },
    /// The declaration was decided already.
    #[error("declaration {declaration} is already {status}")]
    DeclarationNotPending {
        declaration: String,
        status: &'static str,
    },
    /// The period is closed for the village.
    #[error("{period} is closed for village {village}")]
    PeriodClosed { village: String, period: String },
    /// The period has not ended.
    #[error("{period} has not ended on {today}")]
    PeriodNotOver { period: String, today: NaiveDate },
    /// The period is not of the rule's kind.
    #[error("{period} is not a {expected}, the period this rule uses")]
    WrongPeriodKind {
        period: String,
        expected: &'static str,
    },
    /// The year is not closed for the village.
    #[error("{year} is not closed for village {village}")]
    YearNotClosed { village: String, year: i32 },
    /// A sheet of the period is still in review or on notice.
    #[error(
        "score sheet {sheet} of {period} is still {state}; post it or send it back before closing"
    )]
    SheetPending {
        sheet: String,
        period: String,
        state: &'static str,
    },
    /// The township report was filed already.
    #[error("township {township} already filed its report for {month}")]
    ReportAlreadyFiled { township: String, month: String },
}

impl ScoringError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        use ScoringError::*;
        match self {
            UnknownSheet { .. } => ErrorCode::UnknownSheet,
            DuplicateSheet { .. } => ErrorCode::DuplicateSheet,
            InvalidSheetTransition { .. } => ErrorCode::InvalidSheetTransition,
            UnknownVillage { .. } => ErrorCode::UnknownVillage,
            UnknownIndicator { .. } => ErrorCode::UnknownIndicator,
            PointsOutOfRange { .. } => ErrorCode::PointsOutOfRange,
            IndicatorLimitReached { .. } => ErrorCode::IndicatorLimitReached,
            EntryDateOutOfRange { .. } => ErrorCode::EntryDateOutOfRange,
            HouseholdNotInVillage { .. } => ErrorCode::HouseholdNotInVillage,
            UnknownEntry { .. } => ErrorCode::UnknownEntry,
            TooFewScorers { .. } => ErrorCode::TooFewScorers,
            ReviewerScoredSheet { .. } => ErrorCode::ReviewerScoredSheet,
            SupervisorIsScorer { .. } => ErrorCode::SupervisorIsScorer,
            OutsideJurisdiction { .. } => ErrorCode::OutsideJurisdiction,
            RepeatedReviewer { .. } => ErrorCode::RepeatedReviewer,
            TooFewSupervisors { .. } => ErrorCode::TooFewSupervisors,
            AlreadySigned { .. } => ErrorCode::AlreadySigned,
            ReasonRequired { .. } => ErrorCode::ReasonRequired,
            NoticeNotOver { .. } => ErrorCode::NoticeNotOver,
            NoticeClosed { .. } => ErrorCode::NoticeClosed,
            ObjectionOpen { .. } => ErrorCode::ObjectionOpen,
            UnknownObjection { .. } => ErrorCode::UnknownObjection,
            ObjectionAlreadyResolved { .. } => ErrorCode::ObjectionAlreadyResolved,
            SheetAlreadyPosted { .. } => ErrorCode::SheetAlreadyPosted,
            UnknownDeclaration { .. } => ErrorCode::UnknownDeclaration,
            DuplicateDeclaration { .. } => ErrorCode::DuplicateDeclaration,
            DeclarationNotPending { .. } => ErrorCode::DeclarationNotPending,
            PeriodClosed { .. } => ErrorCode::PeriodClosed,
            PeriodNotOver { .. } => ErrorCode::PeriodNotOver,
            WrongPeriodKind { .. } => ErrorCode::WrongPeriodKind,
            YearNotClosed { .. } => ErrorCode::YearNotClosed,
            ReportAlreadyFiled { .. } => ErrorCode::ReportAlreadyFiled,
            SheetPending { .. } => ErrorCode::SheetPending,
        }
    }
}
