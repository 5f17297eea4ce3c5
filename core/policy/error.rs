use chrono::NaiveDate;
use thiserror::Error;

use crate::error::ErrorCode;

/// Errors in policy documents and their use.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PolicyError {
    /// No preset has this name.
    #[error("unknown preset {name:?}; known: kunming-2018, longquan-2023, rongan-2023, shangqiu-2019, baisha-2019")]
    UnknownPreset { name: String },
    /// The document is malformed or a value is impossible.
    #[error("invalid policy ({field}): {detail}")]
    Invalid { field: &'static str, detail: String },
    /// No version is in force on the date.
    #[error("no policy is in force on {date}")]
    NoPolicyInForce { date: NaiveDate },
    /// The category is not defined by the policy.
    #[error("category {category:?} is not defined by the policy in force")]
    UnknownCategory { category: String },
}

impl PolicyError {
    pub(crate) fn invalid(field: &'static str, detail: String) -> PolicyError {
        PolicyError::Invalid { field, detail }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            PolicyError::UnknownPreset { .. } => ErrorCode::UnknownPreset,
            PolicyError::Invalid { .. } => ErrorCode::InvalidPolicy,
            PolicyError::NoPolicyInForce { .. } => ErrorCode::NoPolicyInForce,
            PolicyError::UnknownCategory { .. } => ErrorCode::UnknownCategory,
        }
    }
}
