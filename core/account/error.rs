use thiserror::Error;

use crate::error::ErrorCode;

/// Errors about points and use-count accounts.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AccountError {
    /// Points must be above zero here.
    #[error("points must be a positive whole number, got {points}")]
    NonPositivePoints { points: i64 },
    /// The balance does not cover the amount.
    #[error("household {household} has {balance} points, {needed} needed")]
    InsufficientPoints {
        household: String,
        balance: i64,
        needed: i64,
    },
    /// Both sides of a transfer are the same household.
    #[error("a transfer needs two different households, got {household} twice")]
    SelfTransfer { household: String },
    /// No use-count account of this kind.
    #[error("household {household} has no use-count account {kind:?}")]
    UnknownUseCountAccount { household: String, kind: String },
    /// The use-count account does not cover the amount.
    #[error("household {household} has {units} units of {kind:?}, {needed} needed")]
    InsufficientUseCounts {
        household: String,
        kind: String,
        units: i64,
        needed: i64,
    },
}

impl AccountError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            AccountError::NonPositivePoints { .. } => ErrorCode::NonPositivePoints,
            AccountError::InsufficientPoints { .. } => ErrorCode::InsufficientPoints,
            AccountError::SelfTransfer { .. } => ErrorCode::SelfTransfer,
            AccountError::UnknownUseCountAccount { .. } => ErrorCode::UnknownUseCountAccount,
            AccountError::InsufficientUseCounts { .. } => ErrorCode::InsufficientUseCounts,
        }
    }
}
