use thiserror::Error;

use crate::error::ErrorCode;

/// Errors of the filial-piety fund.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FilialError {
    /// The elder is not a member of the household, or has no date of birth.
    #[error("household {household} has no member {elder} with a date of birth")]
    UnknownElder { household: String, elder: String },
    /// The elder is younger than the fund's minimum age, or the household is
    /// not in an eligible category.
    #[error("{elder} of household {household} is not eligible: {why}")]
    NotEligible {
        household: String,
        elder: String,
        why: String,
    },
    /// The elder is already enrolled.
    #[error("{elder} of household {household} is already enrolled in the fund")]
    AlreadyEnrolled { household: String, elder: String },
    /// The elder is not enrolled.
    #[error("{elder} of household {household} is not enrolled in the fund")]
    NotEnrolled { household: String, elder: String },
    /// An amount must be above zero and in whole fen.
    #[error("amount {amount} must be above zero and in whole fen")]
    BadAmount { amount: String },
    /// A payout larger than what the elder has in the fund.
    #[error(
        "{elder} of household {household} has {available} yuan in the fund, {requested} requested"
    )]
    InsufficientFund {
        household: String,
        elder: String,
        available: String,
        requested: String,
    },
}

impl FilialError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            FilialError::UnknownElder { .. } => ErrorCode::UnknownElder,
            FilialError::NotEligible { .. } => ErrorCode::ElderNotEligible,
            FilialError::AlreadyEnrolled { .. } => ErrorCode::ElderAlreadyEnrolled,
            FilialError::NotEnrolled { .. } => ErrorCode::ElderNotEnrolled,
            FilialError::BadAmount { .. } => ErrorCode::BadAmount,
            FilialError::InsufficientFund { .. } => ErrorCode::InsufficientFund,
        }
    }
}
