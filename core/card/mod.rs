//! Points cards (积分卡). The balance belongs to the household's account, never
//! to the card: replacing a card keeps the balance, and a replaced or cancelled
//! number is dead forever.

mod error;
pub mod pin;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use error::CardError;
pub use pin::{PinHashCost, PinHasher};

use crate::primitives::{CardNumber, HouseholdId};

/// Where a card stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// In use.
    Active,
    /// Locked by wrong PINs or an administrator; can be unlocked.
    Locked,
    /// Reported lost by the household; can only be replaced or cancelled.
    ReportedLost,
    /// Replaced by a new card; dead.
    Replaced,
    /// Cancelled; dead.
    Cancelled,
}

impl CardStatus {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            CardStatus::Active => "active",
            CardStatus::Locked => "locked",
            CardStatus::ReportedLost => "reported_lost",
            CardStatus::Replaced => "replaced",
            CardStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the card still stands for its household (only one may).
    pub fn is_current(self) -> bool {
        matches!(self, CardStatus::Active | CardStatus::Locked)
    }

    /// Whether the number can never be used again.
    pub fn is_dead(self) -> bool {
        matches!(self, CardStatus::Replaced | CardStatus::Cancelled)
    }
}

/// A card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Card {
    /// The printed number.
    pub number: CardNumber,
    /// The household it belongs to.
    pub household: HouseholdId,
    /// Its status.
    pub status: CardStatus,
    /// The Argon2id PHC hash of the PIN, if set.
    #[schemars(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_hash: Option<String>,
    /// Wrong PINs in a row.
    pub failed_attempts: u32,
}

impl Card {
    /// Fails unless the card can be used at a counter.
    pub fn require_active(&self) -> Result<(), CardError> {
        match self.status {
            CardStatus::Active => Ok(()),
            CardStatus::Locked => Err(CardError::Locked {
                card: self.number.to_string(),
            }),
            status => Err(CardError::NotActive {
                card: self.number.to_string(),
                status: status.name(),
            }),
        }
    }

    /// Checks a status change against the card life cycle:
    /// active ⇄ locked; active or locked → reported lost; any live card → cancelled.
    pub fn check_transition(&self, to: CardStatus) -> Result<(), CardError> {
        use CardStatus::*;
        let allowed = matches!(
            (self.status, to),
            (Active, Locked)
                | (Locked, Active)
                | (Active | Locked, ReportedLost)
                | (Active | Locked | ReportedLost, Cancelled)
        );
        if allowed {
            Ok(())
        } else {
            Err(CardError::InvalidTransition {
                card: self.number.to_string(),
                from: self.status.name(),
                to: to.name(),
            })
        }
    }
}
