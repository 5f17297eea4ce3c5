//! Two-step redemption for kiosks: reserve holds the household's points and
//! the picked stock for a few minutes while the household confirms; commit
//! turns the hold into a redemption with its receipt, cancel lets it go.
//!
//! A hold's expiry is judged against each request's `at`, so replays are
//! deterministic. An expired hold holds nothing from the moment it expires;
//! the next command that moves the same store's stock or the same household's
//! points records its release, as does `expire_holds`.

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use std::collections::BTreeMap;

use super::redemption::{cardholder, plan_basket, receipt, require_funds, Basket, ReceiptLine};
use super::{HoldId, LotId, ReceiptNumber, StoreBook, StoreError, StoreId, StoreState};
use crate::access::Role;
use crate::command::Command;
use crate::engine::Context;
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::primitives::{ActorId, CardNumber, HouseholdId, Points};
use crate::state::State;

/// Where a hold stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    /// Holding, until it expires.
    Open,
    /// Turned into a redemption.
    Committed,
    /// Let go before it expired.
    Cancelled,
    /// Ran out and was released.
    Expired,
}

impl HoldStatus {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            HoldStatus::Open => "open",
            HoldStatus::Committed => "committed",
            HoldStatus::Cancelled => "cancelled",
            HoldStatus::Expired => "expired",
        }
    }
}

/// Points and stock held for a household at a kiosk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Hold {
    /// `<store>-H<sequence>`.
    pub id: HoldId,
    /// The store.
    pub store: StoreId,
    /// The card presented (its PIN was checked when the hold was placed).
    pub card: CardNumber,
    /// The household.
    pub household: HouseholdId,
    /// The keeper (or kiosk) that placed it.
    pub keeper: ActorId,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// When it stops holding.
    pub expires_at: DateTime<Utc>,
    /// The basket, priced and picked from lots.
    pub lines: Vec<ReceiptLine>,
    /// Points held.
    pub points: Points,
    /// Use-count units held, by kind.
    pub use_counts: BTreeMap<String, i64>,
    /// Where it stands.
    pub status: HoldStatus,
    /// The receipt that committed it.
    pub receipt: Option<ReceiptNumber>,
}

impl Hold {
    /// Whether the hold still holds at `at`.
    pub fn is_live(&self, at: DateTime<Utc>) -> bool {
        self.status == HoldStatus::Open && at < self.expires_at
    }

    /// Units held per lot.
    pub fn lot_quantities(&self) -> impl Iterator<Item = (LotId, i64)> + '_ {
        self.lines
            .iter()
            .flat_map(|line| line.lots.iter().map(|u| (u.lot.clone(), u.quantity)))
    }
}

/// Release events for the open holds expired at `at` that touch `store` or
/// `household` (with neither given: every expired hold).
pub(super) fn release_expired(
    state: &State,
    at: DateTime<Utc>,
    store: Option<&StoreId>,
    household: Option<&HouseholdId>,
) -> Vec<Event> {
    let touches = |h: &Hold| match (store, household) {
        (None, None) => true,
        _ => store.is_some_and(|s| &h.store == s) || household.is_some_and(|x| &h.household == x),
    };
    state
        .stores
        .stores
        .values()
        .flat_map(|book| book.live_holds(None))
        .filter(|h| !h.is_live(at) && touches(h))
        .map(|h| Event::HoldExpired {
            store: h.store.clone(),
            hold: h.id.clone(),
        })
        .collect()
}

/// The hold, when it is still open and live at `at`.
fn open_hold<'a>(
    state: &'a State,
    ctx: &Context,
    id: &HoldId,
) -> Result<(&'a Hold, &'a StoreBook), Error> {
    let hold = state.stores.hold(id)?;
    let book = state.stores.book(&hold.store)?;
    book.store.require_keeper(ctx.actor)?;
    if hold.status != HoldStatus::Open {
        return Err(StoreError::HoldClosed {
            hold: id.to_string(),
            status: hold.status.name(),
        }
        .into());
    }
    Ok((hold, book))
}

pub(super) fn decide(
    state: &State,
    ctx: &Context,
    command: &Command,
) -> Result<(Vec<Event>, Value), Error> {
    match command {
        Command::ReserveRedemption {
            store, card, lines, ..
        } => {
            let basket = plan_basket(state, ctx, store, lines)?;
            let (card, household) = cardholder(state, card)?;
            let funds = require_funds(
                state,
                &household.id,
                ctx.at,
                basket.points,
                &basket.use_counts,
                None,
            )?;
            let book = state.stores.book(store)?;
            let Basket {
                lines,
                points,
                use_counts,
            } = basket;
            let expires_at = ctx
                .at
                .checked_add_signed(Duration::minutes(i64::from(book.store.hold_minutes)))
                .ok_or(InputError::InvalidValue {
                    field: "at",
                    detail: "too far in the future for a hold".into(),
                })?;
            let hold = Hold {
                id: HoldId(format!("{store}-H{:04}", book.holds.len() + 1)),
                store: store.clone(),
                card: card.number.clone(),
                household: household.id.clone(),
                keeper: ctx.actor.id.clone(),
                placed_at: ctx.at,
                expires_at,
                lines,
                points,
                use_counts,
                status: HoldStatus::Open,
                receipt: None,
            };
            let mut result = serde_json::to_value(&hold)?;
            result["balance"] = json!(funds.balance);
            result["held"] = json!(funds.held + points);
            result["available"] = json!(funds.available - points);
            let mut events = release_expired(state, ctx.at, Some(store), Some(&household.id));
            events.push(Event::HoldPlaced(Box::new(hold)));
            Ok((events, result))
        }
        Command::CommitHold {
            hold: id,
            signature_ref,
        } => {
            let (hold, book) = open_hold(state, ctx, id)?;
            if !hold.is_live(ctx.at) {
                return Err(StoreError::HoldExpired {
                    hold: id.to_string(),
                    expired_at: hold.expires_at,
                }
                .into());
            }
            let date = ctx.date();
            book.store
                .require_redemption_day(state.policies.in_force(date)?, date)?;
            for (lot, _) in hold.lot_quantities() {
                let l = book.lot(&lot)?;
                if l.is_expired(date) {
                    return Err(StoreError::OnlyExpiredStock {
                        sku: l.sku.to_string(),
                        wanted: 0,
                        available: 0,
                        expired: l.on_hand,
                    }
                    .into());
                }
            }
            let (card, household) = cardholder(state, &hold.card)?;
            require_funds(
                state,
                &household.id,
                ctx.at,
                hold.points,
                &hold.use_counts,
                Some(id),
            )?;
            let basket = Basket {
                lines: hold.lines.clone(),
                points: hold.points,
                use_counts: hold.use_counts.clone(),
            };
            let receipt = receipt(
                state,
                ctx,
                book,
                (card, household),
                basket,
                signature_ref,
                Some(id.clone()),
            )?;
            let mut events = release_expired(state, ctx.at, Some(&hold.store), Some(&household.id));
            let result = serde_json::to_value(&receipt)?;
            events.push(Event::Redeemed(Box::new(receipt)));
            Ok((events, result))
        }
        Command::CancelHold { hold: id } => {
            let (hold, _) = open_hold(state, ctx, id)?;
            Ok((
                vec![Event::HoldCancelled {
                    store: hold.store.clone(),
                    hold: id.clone(),
                }],
                json!({ "hold": id, "status": "cancelled" }),
            ))
        }
        Command::ExpireHolds { store } => {
            match store {
                Some(store) if !ctx.actor.roles.contains(&Role::Administrator) => {
                    state.stores.book(store)?.store.require_keeper(ctx.actor)?
                }
                Some(store) => {
                    state.stores.book(store)?;
                }
                None => ctx.actor.require(Role::Administrator)?,
            }
            let events = release_expired(state, ctx.at, store.as_ref(), None);
            let released: Vec<&HoldId> = events
                .iter()
                .filter_map(|e| match e {
                    Event::HoldExpired { hold, .. } => Some(hold),
                    _ => None,
                })
                .collect();
            let result = json!({ "released": released });
            Ok((events, result))
        }
        other => Err(super::not_a_store_command(other)),
    }
}

pub(super) fn apply(stores: &mut StoreState, event: &Event) {
    let (store, id, status) = match event {
        Event::HoldPlaced(hold) => {
            if let Some(book) = stores.stores.get_mut(&hold.store) {
                book.open_holds.insert(hold.id.clone());
                book.holds.insert(hold.id.clone(), (**hold).clone());
            }
            return;
        }
        Event::HoldCancelled { store, hold } => (store, hold, HoldStatus::Cancelled),
        Event::HoldExpired { store, hold } => (store, hold, HoldStatus::Expired),
        _ => return,
    };
    if let Some(book) = stores.stores.get_mut(store) {
        book.open_holds.remove(id);
        if let Some(hold) = book.holds.get_mut(id) {
            hold.status = status;
        }
    }
}

/// Open holds are exactly those with status open; each adds up line by line;
/// a committed hold names the receipt that holds its id.
pub(super) fn check(book: &StoreBook, stores: &StoreState) -> Result<(), String> {
    for (id, hold) in &book.holds {
        let open = book.open_holds.contains(id);
        if open != (hold.status == HoldStatus::Open) || hold.store != book.store.id {
            return Err(format!(
                "hold {id}: status {} disagrees with the open list",
                hold.status.name()
            ));
        }
        let points: Points = hold.lines.iter().map(|l| l.points).sum();
        let units_ok = hold
            .lines
            .iter()
            .all(|l| l.lots.iter().map(|u| u.quantity).sum::<i64>() == l.quantity);
        if points != hold.points || !units_ok {
            return Err(format!("hold {id}: lines do not add up"));
        }
        if hold.status == HoldStatus::Committed {
            let committed = hold
                .receipt
                .as_ref()
                .and_then(|r| stores.receipts.get(r))
                .is_some_and(|r| r.receipt.hold.as_ref() == Some(id));
            if !committed {
                return Err(format!("hold {id}: committed without its receipt"));
            }
        }
    }
    if book
        .open_holds
        .iter()
        .any(|id| !book.holds.contains_key(id))
    {
        return Err(format!("store {}: an open hold is missing", book.store.id));
    }
    Ok(())
}
