use thiserror::Error;

use crate::error::ErrorCode;

/// Errors about households.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum HouseholdError {
    /// No household has this id.
    #[error("unknown household {household}")]
    Unknown { household: String },
    /// The id is taken.
    #[error("household {household} is already registered")]
    Duplicate { household: String },
    /// A non-resident needs the villagers' meeting approval reference.
    #[error(
        "household {household} is not resident and has no villagers' meeting approval reference"
    )]
    NonResidentNeedsApproval { household: String },
    /// The household is suspended or exited.
    #[error("household {household} is {status}, not active")]
    NotActive {
        household: String,
        status: &'static str,
    },
    /// The status change is not allowed.
    #[error("household {household} cannot go from {from} to {to}")]
    InvalidTransition {
        household: String,
        from: &'static str,
        to: &'static str,
    },
    /// A category change dated before the latest one.
    #[error(
        "household {household}: category change on {date} is before the latest one on {latest}"
    )]
    CategoryChangeOutOfOrder {
        household: String,
        date: chrono::NaiveDate,
        latest: chrono::NaiveDate,
    },
}

impl HouseholdError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            HouseholdError::Unknown { .. } => ErrorCode::UnknownHousehold,
            HouseholdError::Duplicate { .. } => ErrorCode::DuplicateHousehold,
            HouseholdError::NonResidentNeedsApproval { .. } => ErrorCode::NonResidentNeedsApproval,
            HouseholdError::NotActive { .. } => ErrorCode::HouseholdNotActive,
            HouseholdError::InvalidTransition { .. } => ErrorCode::InvalidHouseholdTransition,
            HouseholdError::CategoryChangeOutOfOrder { .. } => ErrorCode::CategoryChangeOutOfOrder,
        }
    }
}
