//! Stable error codes and the crate error.
//!
//! Every error the engine can return has one [`ErrorCode`]: a number that never
//! changes meaning and a snake_case name. The C surface exports the enum as
//! `jf_status`; the Python surface maps each code to an exception class by an
//! exhaustive match, so adding a code here breaks both builds until they handle
//! it. Codes are grouped in blocks of 100 per domain; never reuse or renumber.

use schemars::JsonSchema;
use serde::Serialize;
use thiserror::Error;

use crate::account::AccountError;
use crate::card::CardError;
use crate::filial::FilialError;
use crate::household::HouseholdError;
use crate::journal::JournalError;
use crate::policy::PolicyError;
use crate::scoring::ScoringError;
use crate::settlement::bulk::BulkError;
use crate::settlement::error::SettlementError;
use crate::store::StoreError;

/// The stable machine code of every outcome a surface can report.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumIter, strum::FromRepr,
)]
#[strum(serialize_all = "snake_case")]
#[repr(u32)]
pub enum ErrorCode {
    /// Success.
    Ok = 0,
    /// A Rust panic was caught at the boundary; the handle stays usable.
    Panic = 1,
    /// A required pointer argument was NULL.
    NullArgument = 2,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 3,
    /// The caller's buffer is too small; the needed size was written.
    BufferTooSmall = 4,
    /// An enum value passed in from C is out of range.
    InvalidEnumValue = 5,

    /// The request is not valid JSON or does not match the command's shape.
    MalformedRequest = 100,
    /// A field holds a value outside what the rule allows.
    InvalidValue = 101,
    /// A period is not written as `YYYY-MM`, `YYYYQn` or `YYYY`.
    BadPeriod = 102,
    /// The actor is unknown to the engine.
    UnknownActor = 103,
    /// The actor lacks the role the command needs.
    MissingRole = 104,
    /// An actor with this id is already registered.
    DuplicateActor = 105,
    /// The idempotency key was used before for a different request.
    IdempotencyConflict = 106,

    /// No preset has this name.
    UnknownPreset = 200,
    /// The policy document is malformed or holds impossible values.
    InvalidPolicy = 201,
    /// No policy version is in force on the date in question.
    NoPolicyInForce = 202,
    /// The category is not defined by the policy in force.
    UnknownCategory = 203,

    /// No household has this id.
    UnknownHousehold = 300,
    /// A household with this id is already registered.
    DuplicateHousehold = 301,
    /// A non-resident household needs the villagers' meeting approval reference.
    NonResidentNeedsApproval = 302,
    /// The household is suspended or has exited.
    HouseholdNotActive = 303,
    /// The household status change is not allowed from its current status.
    InvalidHouseholdTransition = 304,
    /// The category change is dated before the household's latest one.
    CategoryChangeOutOfOrder = 305,

    /// No card has this number.
    UnknownCard = 400,
    /// A card with this number exists or existed; numbers are never reused.
    DuplicateCard = 401,
    /// The household already holds an active card.
    HouseholdHasActiveCard = 402,
    /// The card is not active (locked, lost, replaced or cancelled).
    CardNotActive = 403,
    /// The PIN is wrong; the attempt was counted.
    WrongPin = 404,
    /// The card is locked.
    CardLocked = 405,
    /// The PIN does not have the policy's number of digits.
    BadPinFormat = 406,
    /// The card has no PIN set.
    NoPinSet = 407,
    /// The card status change is not allowed from its current status.
    InvalidCardTransition = 408,

    /// Points must be a positive whole number here.
    NonPositivePoints = 500,
    /// The household's balance does not cover the amount.
    InsufficientPoints = 501,
    /// A transfer names the same household on both sides.
    SelfTransfer = 502,
    /// The household has no use-count account of this kind.
    UnknownUseCountAccount = 503,
    /// The use-count account does not cover the amount.
    InsufficientUseCounts = 504,

    /// The journal store failed to read or write.
    JournalIo = 700,
    /// A stored record cannot be decoded, or names a figure no command
    /// could have.
    JournalCorrupt = 701,
    /// Another process holds the journal open for writing.
    JournalLocked = 702,
    /// The hash chain is broken at a named sequence number.
    TamperDetected = 703,
    /// The journal does not extend the checkpoint it is verified against.
    CheckpointMismatch = 704,
    /// The journal was written by a newer schema than this build knows.
    UnsupportedSchema = 705,

    /// No score sheet has this id.
    UnknownSheet = 800,
    /// A score sheet with this id exists already.
    DuplicateSheet = 801,
    /// The sheet is not in a state that allows this step.
    InvalidSheetTransition = 802,
    /// No registered household lives in this village.
    UnknownVillage = 803,
    /// The policy in force has no indicator with this code.
    UnknownIndicator = 804,
    /// The points lie outside the indicator's range.
    PointsOutOfRange = 805,
    /// The household already received the indicator as often as the month allows.
    IndicatorLimitReached = 806,
    /// The entry's date is outside the sheet's month or after the business date.
    EntryDateOutOfRange = 807,
    /// The household does not live in the sheet's village.
    HouseholdNotInVillage = 808,
    /// The sheet has no live entry at this position.
    UnknownEntry = 809,
    /// Fewer distinct scorers signed the sheet than the policy needs.
    TooFewScorers = 810,
    /// The actor scored this sheet and may not review, approve, judge or post it.
    ReviewerScoredSheet = 811,
    /// A supervisor of the village may not score in it, nor supervise after scoring.
    SupervisorIsScorer = 812,
    /// The actor belongs to another village or township.
    OutsideJurisdiction = 813,
    /// The actor already completed another review step of this sheet.
    RepeatedReviewer = 814,
    /// The village's supervision group is smaller than the policy needs.
    TooFewSupervisors = 815,
    /// The actor has already signed this sheet.
    AlreadySigned = 816,
    /// This step needs a reason for the audit trail.
    ReasonRequired = 817,
    /// The public-notice window is still open.
    NoticeNotOver = 818,
    /// The public-notice window has closed; objections are no longer taken.
    NoticeClosed = 819,
    /// An objection against the sheet is still open.
    ObjectionOpen = 820,
    /// The sheet has no objection with this number.
    UnknownObjection = 821,
    /// The objection was already resolved.
    ObjectionAlreadyResolved = 822,
    /// The sheet was already posted; a sheet posts once.
    SheetAlreadyPosted = 823,
    /// No declaration has this id.
    UnknownDeclaration = 824,
    /// A declaration with this id exists already.
    DuplicateDeclaration = 825,
    /// The declaration was already accepted or rejected.
    DeclarationNotPending = 826,
    /// The period is closed for the village; nothing more posts into it.
    PeriodClosed = 827,
    /// The period has not ended yet, so it cannot be closed.
    PeriodNotOver = 828,
    /// The period is not of the kind the policy's rule uses.
    WrongPeriodKind = 829,
    /// The year has not been closed for the village.
    YearNotClosed = 830,
    /// The township's report for this month was already filed.
    ReportAlreadyFiled = 831,
    /// A sheet of the period is still in review or on notice, so it cannot close.
    SheetPending = 832,
    /// No reimbursement statement has this id.
    UnknownStatement = 1000,
    /// Statements are generated only once their month is over.
    StatementMonthNotOver = 1001,
    /// The statement is not at the stage the step needs.
    StatementWrongStage = 1002,
    /// The store's statement still differs from the ledger.
    StatementHasDifferences = 1003,
    /// The statement was already paid.
    StatementAlreadyPaid = 1004,
    /// The statement's reviewer may not also approve it.
    StatementDutyConflict = 1005,
    /// The household has no member of this name with a date of birth.
    UnknownElder = 1050,
    /// The elder is too young or the household's category is not eligible for the fund.
    ElderNotEligible = 1051,
    /// The elder is already enrolled in the filial-piety fund.
    ElderAlreadyEnrolled = 1052,
    /// The elder is not enrolled in the filial-piety fund.
    ElderNotEnrolled = 1053,
    /// A money amount is not above zero or not in whole fen.
    BadAmount = 1054,
    /// The fund does not hold enough for the elder's payout.
    InsufficientFund = 1055,
    /// No store has this id.
    UnknownStore = 900,
    /// A store with this id is already registered.
    DuplicateStore = 901,
    /// The actor is not a keeper of this store.
    NotStoreKeeper = 902,
    /// The store is closed.
    StoreClosed = 903,
    /// The policy's redemption calendar or the store's opening days do not allow this day.
    RedemptionDayClosed = 904,
    /// The store does not list this item.
    UnknownItem = 905,
    /// The store already lists this item.
    DuplicateItem = 906,
    /// The item's category is banned (tobacco, alcohol, luxury…).
    BannedCategory = 907,
    /// The item has no approved price.
    PriceNotApproved = 908,
    /// The item has no price proposal with this number.
    UnknownPriceProposal = 909,
    /// The price proposal is not at the step the command needs.
    InvalidPriceTransition = 910,
    /// The item already has a price proposal waiting for a decision.
    PriceProposalPending = 911,
    /// Not enough unexpired units free in stock.
    OutOfStock = 912,
    /// Enough units only in expired lots, which are never handed out.
    OnlyExpiredStock = 913,
    /// The store has no lot with this id.
    UnknownLot = 914,
    /// The lot does not have that many free units.
    InsufficientLotStock = 915,
    /// The lot is not expired, so it cannot be written off as expired.
    LotNotExpired = 916,
    /// No donation has this id.
    UnknownDonation = 917,
    /// A donation with this id is already registered.
    DuplicateDonation = 918,
    /// The allocation gives away more than was donated.
    OverAllocated = 919,
    /// The store would receive more donated goods or cash than allocated to it.
    AllocationExhausted = 920,
    /// No receipt has this number.
    UnknownReceipt = 921,
    /// The receipt is already voided.
    AlreadyVoided = 922,
    /// A receipt can only be voided on the day it was made.
    VoidWindowClosed = 923,
    /// A void needs a supervisor other than the keeper.
    SupervisorRequired = 924,
    /// No hold has this id.
    UnknownHold = 925,
    /// The hold expired; it holds nothing any more.
    HoldExpired = 926,
    /// The hold was already committed or cancelled.
    HoldClosed = 927,
    /// One person may not take two steps of the same price (propose, forward, approve).
    PriceDutyConflict = 928,
    /// A bulk settlement column has the wrong length.
    ColumnLength = 1100,
    /// A bulk settlement index column points past the table it indexes.
    IndexOutOfRange = 1101,
    /// A month entry's kind is not award, deduction, veto or bonus.
    InvalidEntryKind = 1102,
    /// A row's points are not allowed: awards, deductions, bonuses and
    /// redemptions need more than zero, vetoes exactly zero.
    InvalidRowPoints = 1103,
    /// A month entry's day is not a day of the settled month.
    InvalidEntryDay = 1104,
    /// A flag column holds something other than 0 or 1.
    InvalidFlag = 1105,
    /// A household's redemptions exceed its opening balance.
    RedemptionsExceedBalance = 1106,
    /// One household appears in more than one settlement partition.
    HouseholdSplitAcrossPartitions = 1107,
    /// Settlement partitions disagree on the region tables or the store count.
    PartitionMismatch = 1108,
    /// The bulk kernel settles monthly veto periods only.
    UnsupportedVetoPeriod = 1109,
    /// More rows than the bulk kernel can index, or more villages, counties
    /// or stores than it keeps totals for.
    TooManyRows = 1110,
    /// The system would not give a bulk settlement the memory its results
    /// or working buffers need.
    OutOfMemory = 1111,
}

impl ErrorCode {
    /// The stable snake_case name, e.g. `unknown_household`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The stable number.
    pub fn number(self) -> u32 {
        self as u32
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl JsonSchema for ErrorCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ErrorCode".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        use strum::IntoEnumIterator;
        let names: Vec<&str> = ErrorCode::iter().map(ErrorCode::name).collect();
        schemars::json_schema!({ "type": "string", "enum": names })
    }
}

/// Problems with the shape or values of a request, before any rule is applied.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InputError {
    /// Not JSON, or not the shape the command needs.
    #[error("malformed request: {detail}")]
    Malformed { detail: String },
    /// A value outside the allowed range.
    #[error("invalid value for {field}: {detail}")]
    InvalidValue { field: &'static str, detail: String },
    /// A period in the wrong text form.
    #[error("bad period {text:?}: expected {expected}")]
    BadPeriod {
        text: String,
        expected: &'static str,
    },
}

impl InputError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            InputError::Malformed { .. } => ErrorCode::MalformedRequest,
            InputError::InvalidValue { .. } => ErrorCode::InvalidValue,
            InputError::BadPeriod { .. } => ErrorCode::BadPeriod,
        }
    }
}

/// Who may do what: the engine checks roles, the host authenticates people.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AccessError {
    /// The actor was never registered.
    #[error("unknown actor {actor}")]
    UnknownActor { actor: String },
    /// The actor lacks a role.
    #[error("actor {actor} lacks the role {role}")]
    MissingRole { actor: String, role: &'static str },
    /// The actor id is taken.
    #[error("actor {actor} is already registered")]
    DuplicateActor { actor: String },
    /// The idempotency key was used for a different request.
    #[error("idempotency key {key:?} was already used for a different request")]
    IdempotencyConflict { key: String },
}

impl AccessError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AccessError::UnknownActor { .. } => ErrorCode::UnknownActor,
            AccessError::MissingRole { .. } => ErrorCode::MissingRole,
            AccessError::DuplicateActor { .. } => ErrorCode::DuplicateActor,
            AccessError::IdempotencyConflict { .. } => ErrorCode::IdempotencyConflict,
        }
    }
}

/// Any error the engine returns.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Household(#[from] HouseholdError),
    #[error(transparent)]
    Card(#[from] CardError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    #[error(transparent)]
    Filial(#[from] FilialError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Settlement(#[from] SettlementError),
    #[error(transparent)]
    Bulk(#[from] BulkError),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Input(e) => e.code(),
            Error::Access(e) => e.code(),
            Error::Policy(e) => e.code(),
            Error::Household(e) => e.code(),
            Error::Card(e) => e.code(),
            Error::Account(e) => e.code(),
            Error::Journal(e) => e.code(),
            Error::Scoring(e) => e.code(),
            Error::Filial(e) => e.code(),
            Error::Store(e) => e.code(),
            Error::Settlement(e) => e.code(),
            Error::Bulk(e) => e.code(),
        }
    }

    /// The error as the JSON object the surfaces return:
    /// `{"code": 300, "name": "unknown_household", "message": "..."}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code().number(),
            "name": self.code().name(),
            "message": self.to_string(),
        })
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error::Input(InputError::Malformed {
            detail: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use strum::IntoEnumIterator;

    #[test]
    fn codes_and_names_are_unique() {
        let numbers: HashSet<u32> = ErrorCode::iter().map(ErrorCode::number).collect();
        let names: HashSet<&str> = ErrorCode::iter().map(ErrorCode::name).collect();
        assert_eq!(numbers.len(), ErrorCode::iter().count());
        assert_eq!(names.len(), ErrorCode::iter().count());
        assert_eq!(ErrorCode::UnknownHousehold.name(), "unknown_household");
        assert_eq!(ErrorCode::from_repr(300), Some(ErrorCode::UnknownHousehold));
    }
}
