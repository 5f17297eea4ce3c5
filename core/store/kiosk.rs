//! The kiosk calls with typed answers: check the card, show what the
//! household can take, redeem, or hold then commit or cancel, and reprint a
//! receipt. Each call builds the same command the JSON door accepts and runs
//! it through [`Engine::execute`], so the C and Python typed helpers are one
//! call each and no rule lives here.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::hold::Hold;
use super::notification::Notification;
use super::redemption::{card_view as view, BasketLine, CardView, Receipt, Redemption, Void};
use super::{HoldId, ReceiptNumber, StoreId};
use crate::command::{Command, Request};
use crate::engine::Engine;
use crate::error::Error;
use crate::primitives::{ActorId, CardNumber, HouseholdId, Points};

/// Who makes a kiosk call, when, and under which idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The store keeper (or the kiosk's actor id).
    pub actor: ActorId,
    /// When (default: now); its date in China is the business date.
    pub at: Option<DateTime<Utc>>,
    /// The idempotency key: a retry with the same key and call returns the first answer.
    pub key: Option<String>,
}

impl Call {
    /// A call by `actor`, now, without a key.
    pub fn new(actor: &str) -> Call {
        Call {
            actor: ActorId(actor.to_owned()),
            at: None,
            key: None,
        }
    }

    /// The same call at `at`.
    pub fn at(mut self, at: DateTime<Utc>) -> Call {
        self.at = Some(at);
        self
    }

    /// The same call under an idempotency key.
    pub fn key(mut self, key: &str) -> Call {
        self.key = Some(key.to_owned());
        self
    }

    fn run(&self, engine: &Engine, command: Command) -> Result<serde_json::Value, Error> {
        self.run_because(engine, command, None)
    }

    /// Runs `command` with a reason for the audit trail.
    fn run_because(
        &self,
        engine: &Engine,
        command: Command,
        reason: Option<&str>,
    ) -> Result<serde_json::Value, Error> {
        let outcome = engine.execute(Request {
            actor: self.actor.clone(),
            at: self.at,
            key: self.key.clone(),
            reason: reason.map(str::to_owned),
            command,
        })?;
        Ok(outcome.result)
    }
}

/// A card whose PIN was right, and the household's points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CardCheck {
    /// The card.
    pub card: CardNumber,
    /// Its household.
    pub household: HouseholdId,
    /// The balance.
    pub balance: Points,
    /// Points held by live kiosk holds.
    pub held: Points,
    /// Points free to spend.
    pub available: Points,
}

/// Checks the card's PIN (counted toward the lock) and shows the balance.
pub fn check_card(
    engine: &Engine,
    call: &Call,
    card: &CardNumber,
    pin: &str,
) -> Result<CardCheck, Error> {
    let result = call.run(
        engine,
        Command::VerifyPin {
            card: card.clone(),
            pin: pin.to_owned(),
        },
    )?;
    Ok(serde_json::from_value(result)?)
}

/// What the household can take at `store` at `at` (default: now); needs no PIN and records nothing.
pub fn card_view(
    engine: &Engine,
    store: &StoreId,
    card: &CardNumber,
    at: Option<DateTime<Utc>>,
) -> Result<CardView, Error> {
    engine.read(|state| view(state, store, card, at.unwrap_or_else(Utc::now)))
}

/// Redeems a basket in one step and returns the receipt.
pub fn redeem(
    engine: &Engine,
    call: &Call,
    store: &StoreId,
    card: &CardNumber,
    pin: &str,
    lines: Vec<BasketLine>,
    signature_ref: &str,
) -> Result<Receipt, Error> {
    let result = call.run(
        engine,
        Command::Redeem {
            store: store.clone(),
            card: card.clone(),
            pin: pin.to_owned(),
            lines,
            signature_ref: signature_ref.to_owned(),
        },
    )?;
    Ok(serde_json::from_value(result)?)
}

/// Holds points and stock for a basket while the household confirms.
pub fn reserve(
    engine: &Engine,
    call: &Call,
    store: &StoreId,
    card: &CardNumber,
    pin: &str,
    lines: Vec<BasketLine>,
) -> Result<Hold, Error> {
    let result = call.run(
        engine,
        Command::ReserveRedemption {
            store: store.clone(),
            card: card.clone(),
            pin: pin.to_owned(),
            lines,
        },
    )?;
    Ok(serde_json::from_value(result)?)
}

/// Turns a live hold into a redemption and returns the receipt.
pub fn commit(
    engine: &Engine,
    call: &Call,
    hold: &HoldId,
    signature_ref: &str,
) -> Result<Receipt, Error> {
    let result = call.run(
        engine,
        Command::CommitHold {
            hold: hold.clone(),
            signature_ref: signature_ref.to_owned(),
        },
    )?;
    Ok(serde_json::from_value(result)?)
}

/// Lets a hold go.
pub fn cancel(engine: &Engine, call: &Call, hold: &HoldId) -> Result<(), Error> {
    call.run(engine, Command::CancelHold { hold: hold.clone() })?;
    Ok(())
}

/// A receipt and its void, if any, to reprint.
pub fn receipt(engine: &Engine, number: &ReceiptNumber) -> Result<Redemption, Error> {
    engine.read(|state| Ok(state.stores.redemption(number)?.clone()))
}

/// Voids a receipt the same day: `supervisor` approves, `reason` says why.
pub fn void(
    engine: &Engine,
    call: &Call,
    receipt: &ReceiptNumber,
    supervisor: &ActorId,
    reason: Option<&str>,
) -> Result<Void, Error> {
    let result = call.run_because(
        engine,
        Command::VoidRedemption {
            receipt: receipt.clone(),
            supervisor: supervisor.clone(),
        },
        reason,
    )?;
    Ok(serde_json::from_value(result)?)
}

/// Messages handed to the host by [`take_notifications`], and how many still wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Taken {
    /// The messages, oldest first.
    pub notifications: Vec<Notification>,
    /// Messages still pending after these.
    pub remaining: usize,
}

/// Takes up to `limit` pending notifications (all when `None`) for sending.
pub fn take_notifications(
    engine: &Engine,
    call: &Call,
    limit: Option<u32>,
) -> Result<Taken, Error> {
    let result = call.run(engine, Command::TakeNotifications { limit })?;
    Ok(serde_json::from_value(result)?)
}
