use thiserror::Error;

use crate::error::ErrorCode;

/// Errors about cards and PINs.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CardError {
    /// No card has this number.
    #[error("unknown card {card}")]
    Unknown { card: String },
    /// The number is taken, now or in the past.
    #[error("card number {card} is already in use or was used before")]
    Duplicate { card: String },
    /// The household already has a card in use.
    #[error("household {household} already holds card {card}")]
    HouseholdHasActiveCard { household: String, card: String },
    /// The card cannot be used.
    #[error("card {card} is {status}")]
    NotActive { card: String, status: &'static str },
    /// Wrong PIN; the attempt was counted.
    #[error("wrong PIN for card {card}: {attempts_left} attempts left before it locks")]
    WrongPin { card: String, attempts_left: u32 },
    /// Locked, by wrong PINs or by an administrator.
    #[error("card {card} is locked")]
    Locked { card: String },
    /// A PIN of the wrong shape.
    #[error("a PIN is exactly {digits} digits")]
    BadPinFormat { digits: u32 },
    /// No PIN set.
    #[error("card {card} has no PIN set")]
    NoPinSet { card: String },
    /// The status change is not allowed.
    #[error("card {card} cannot go from {from} to {to}")]
    InvalidTransition {
        card: String,
        from: &'static str,
        to: &'static str,
    },
}

impl CardError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            CardError::Unknown { .. } => ErrorCode::UnknownCard,
            CardError::Duplicate { .. } => ErrorCode::DuplicateCard,
            CardError::HouseholdHasActiveCard { .. } => ErrorCode::HouseholdHasActiveCard,
            CardError::NotActive { .. } => ErrorCode::CardNotActive,
            CardError::WrongPin { .. } => ErrorCode::WrongPin,
            CardError::Locked { .. } => ErrorCode::CardLocked,
            CardError::BadPinFormat { .. } => ErrorCode::BadPinFormat,
            CardError::NoPinSet { .. } => ErrorCode::NoPinSet,
            CardError::InvalidTransition { .. } => ErrorCode::InvalidCardTransition,
        }
    }
}
