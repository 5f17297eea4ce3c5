use thiserror::Error;

use crate::error::ErrorCode;

/// Errors of reimbursement statements and month end.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SettlementError {
    /// No statement has this id (statements exist once generated at month end).
    #[error("no reimbursement statement {statement}")]
    UnknownStatement { statement: String },
    /// Statements are generated only once the month is over.
    #[error("month {month} is not over on {today}")]
    MonthNotOver { month: String, today: String },
    /// The statement is not at the stage the step needs.
    #[error("statement {statement} is {status}; this step needs it {needed}")]
    WrongStage {
        statement: String,
        status: String,
        needed: String,
    },
    /// Differences between the store's statement and the ledger are still open.
    #[error("statement {statement} has {count} open differences with the store's statement")]
    OpenDifferences { statement: String, count: usize },
    /// A statement is paid once.
    #[error("statement {statement} was already paid ({reference} on {date})")]
    AlreadyPaid {
        statement: String,
        reference: String,
        date: String,
    },
    /// The reviewer may not also approve (separation of duties).
    #[error("{actor} reviewed statement {statement} and may not also approve it")]
    DutyConflict { statement: String, actor: String },
}

impl SettlementError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            SettlementError::UnknownStatement { .. } => ErrorCode::UnknownStatement,
            SettlementError::MonthNotOver { .. } => ErrorCode::StatementMonthNotOver,
            SettlementError::WrongStage { .. } => ErrorCode::StatementWrongStage,
            SettlementError::OpenDifferences { .. } => ErrorCode::StatementHasDifferences,
            SettlementError::AlreadyPaid { .. } => ErrorCode::StatementAlreadyPaid,
            SettlementError::DutyConflict { .. } => ErrorCode::StatementDutyConflict,
        }
    }
}
