//! Items and their prices. The store keeper proposes a point price with the
//! market price; the county office forwards it; the price bureau approves or
//! rejects it (seed 004). Only an approved price can be redeemed, at exactly
//! that price; changing a price is a new proposal and a new approval.
//! Banned categories can never be listed.

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{require_amount, require_text, Sku, StoreError, StoreId, StoreState, MAX_PRICE};
use crate::access::Role;
use crate::account::require_positive;
use crate::command::Command;
use crate::engine::Context;
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::policy::Policy;
use crate::primitives::{ActorId, Points, Yuan};
use crate::state::State;

/// What one unit of an item costs a household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Price {
    /// Points per unit (`{"points": 12}`).
    Points(Points),
    /// Units of a use-count account per unit (`{"use_count": {"kind": "haircut", "units": 1}}`).
    UseCount { kind: String, units: i64 },
}

impl Price {
    /// The points `quantity` units cost (zero for a use-count price).
    pub fn points_for(&self, quantity: i64) -> Points {
        match self {
            Price::Points(points) => Points(points.get() * quantity),
            Price::UseCount { .. } => Points::ZERO,
        }
    }

    /// The use-count kind and units `quantity` units cost, for a use-count price.
    pub fn use_units_for(&self, quantity: i64) -> Option<(&str, i64)> {
        match self {
            Price::Points(_) => None,
            Price::UseCount { kind, units } => Some((kind, units * quantity)),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let units = match self {
            Price::Points(points) => *points,
            Price::UseCount { kind, units } => {
                require_text("price.use_count.kind", kind)?;
                Points(*units)
            }
        };
        require_positive(units)?;
        if units.get() > MAX_PRICE {
            return Err(InputError::InvalidValue {
                field: "price",
                detail: format!("a price is at most {MAX_PRICE} per unit"),
            }
            .into());
        }
        Ok(())
    }
}

/// Where a price proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Proposed by the store keeper; waits for the county office.
    Proposed,
    /// Forwarded by the county office; waits for the price bureau.
    Forwarded,
    /// Approved by the price bureau; the item's price until a later approval.
    Approved,
    /// Rejected by the county office or the price bureau.
    Rejected,
    /// Was approved; a later approval replaced it.
    Superseded,
}

impl ProposalStatus {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            ProposalStatus::Proposed => "proposed",
            ProposalStatus::Forwarded => "forwarded",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Rejected => "rejected",
            ProposalStatus::Superseded => "superseded",
        }
    }

    fn is_pending(self) -> bool {
        matches!(self, ProposalStatus::Proposed | ProposalStatus::Forwarded)
    }
}

/// A proposed price and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceProposal {
    /// Its number among the item's proposals, from 1.
    pub number: u32,
    /// The price per unit.
    pub price: Price,
    /// The market price per unit in yuan, as the keeper found it.
    pub market_price: Yuan,
    /// The store keeper who proposed it.
    pub proposed_by: ActorId,
    /// The day it was proposed.
    pub proposed_on: NaiveDate,
    /// Where it stands.
    pub status: ProposalStatus,
    /// The county officer who forwarded it.
    pub forwarded_by: Option<ActorId>,
    /// Who approved or rejected it.
    pub decided_by: Option<ActorId>,
    /// When it was approved or rejected.
    pub decided_on: Option<NaiveDate>,
    /// Why it was rejected.
    pub rejection: Option<String>,
}

/// An item a store lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Item {
    /// The store.
    pub store: StoreId,
    /// Its SKU.
    pub sku: Sku,
    /// Its name, printed on receipts.
    pub name: String,
    /// Its category (checked against the policy's banned categories).
    pub category: String,
    /// The unit it is counted in (袋, 瓶, 件).
    pub unit: String,
    /// Every price proposal, oldest first.
    pub proposals: Vec<PriceProposal>,
}

impl Item {
    /// The approved price in force, if any.
    pub fn approved(&self) -> Option<&PriceProposal> {
        self.proposals
            .iter()
            .rev()
            .find(|p| p.status == ProposalStatus::Approved)
    }

    /// The approved price, or `price_not_approved`.
    pub fn require_approved(&self) -> Result<&PriceProposal, StoreError> {
        self.approved().ok_or_else(|| StoreError::PriceNotApproved {
            store: self.store.to_string(),
            sku: self.sku.to_string(),
        })
    }

    fn proposal(&self, number: u32) -> Result<&PriceProposal, StoreError> {
        self.proposals
            .iter()
            .find(|p| p.number == number)
            .ok_or_else(|| StoreError::UnknownPriceProposal {
                sku: self.sku.to_string(),
                proposal: number,
            })
    }

    fn proposal_mut(&mut self, number: u32) -> Option<&mut PriceProposal> {
        self.proposals.iter_mut().find(|p| p.number == number)
    }
}

/// Fails when the policy in force bans the category (compared without case
/// or surrounding spaces, so `Tobacco ` is still tobacco).
pub fn require_allowed(policy: &Policy, sku: &Sku, category: &str) -> Result<(), StoreError> {
    let category_key = category.trim().to_lowercase();
    if policy
        .banned_item_categories
        .iter()
        .any(|banned| banned.trim().to_lowercase() == category_key)
    {
        return Err(StoreError::BannedCategory {
            sku: sku.to_string(),
            category: category.to_owned(),
        });
    }
    Ok(())
}

pub(super) fn decide(
    state: &State,
    ctx: &Context,
    command: &Command,
) -> Result<(Vec<Event>, Value), Error> {
    let policy = state.policies.in_force(ctx.date())?;
    match command {
        Command::ListItem {
            store,
            sku,
            name,
            category,
            unit,
        } => {
            let book = state.stores.book(store)?;
            book.store.require_keeper(ctx.actor)?;
            require_text("sku", sku.as_str())?;
            require_text("name", name)?;
            require_text("category", category)?;
            require_allowed(policy, sku, category)?;
            if book.items.contains_key(sku) {
                return Err(StoreError::DuplicateItem {
                    store: store.to_string(),
                    sku: sku.to_string(),
                }
                .into());
            }
            let item = Item {
                store: store.clone(),
                sku: sku.clone(),
                name: name.clone(),
                category: category.clone(),
                unit: unit.clone(),
                proposals: Vec::new(),
            };
            let result = serde_json::to_value(&item)?;
            Ok((
                vec![Event::ItemListed {
                    item: Box::new(item),
                }],
                result,
            ))
        }
        Command::ProposePrice {
            store,
            sku,
            price,
            market_price,
        } => {
            let book = state.stores.book(store)?;
            book.store.require_keeper(ctx.actor)?;
            let item = book.item(sku)?;
            require_allowed(policy, sku, &item.category)?;
            price.validate()?;
            require_amount("market_price", *market_price, false)?;
            if let Some(pending) = item.proposals.iter().find(|p| p.status.is_pending()) {
                return Err(StoreError::PriceProposalPending {
                    sku: sku.to_string(),
                    proposal: pending.number,
                }
                .into());
            }
            let proposal = PriceProposal {
                number: item.proposals.len() as u32 + 1,
                price: price.clone(),
                market_price: *market_price,
                proposed_by: ctx.actor.id.clone(),
                proposed_on: ctx.date(),
                status: ProposalStatus::Proposed,
                forwarded_by: None,
                decided_by: None,
                decided_on: None,
                rejection: None,
            };
            let result = json!({ "store": store, "sku": sku, "proposal": proposal.number });
            Ok((
                vec![Event::PriceProposed {
                    store: store.clone(),
                    sku: sku.clone(),
                    proposal: Box::new(proposal),
                }],
                result,
            ))
        }
        Command::ForwardPrice {
            store,
            sku,
            proposal,
        } => {
            ctx.actor.require(Role::CountyOffice)?;
            let p = pending(
                state,
                store,
                sku,
                *proposal,
                "forwarding",
                ProposalStatus::Proposed,
            )?;
            require_other_hands(ctx, sku, p)?;
            Ok((
                vec![Event::PriceForwarded {
                    store: store.clone(),
                    sku: sku.clone(),
                    proposal: p.number,
                    by: ctx.actor.id.clone(),
                }],
                json!({ "store": store, "sku": sku, "proposal": p.number, "status": "forwarded" }),
            ))
        }
        Command::ApprovePrice {
            store,
            sku,
            proposal,
        } => {
            ctx.actor.require(Role::PriceBureau)?;
            let p = pending(
                state,
                store,
                sku,
                *proposal,
                "approval",
                ProposalStatus::Forwarded,
            )?;
            require_other_hands(ctx, sku, p)?;
            let item = state.stores.book(store)?.item(sku)?;
            require_allowed(policy, sku, &item.category)?;
            let superseded = item.approved().map(|a| a.number);
            Ok((
                vec![Event::PriceApproved {
                    store: store.clone(),
                    sku: sku.clone(),
                    proposal: p.number,
                    by: ctx.actor.id.clone(),
                    date: ctx.date(),
                }],
                json!({ "store": store, "sku": sku, "proposal": p.number, "status": "approved",
                        "price": p.price, "superseded": superseded }),
            ))
        }
        Command::RejectPrice {
            store,
            sku,
            proposal,
        } => {
            ctx.require_reason()?;
            let p = state.stores.book(store)?.item(sku)?.proposal(*proposal)?;
            // The county office may turn a proposal down before forwarding it;
            // the price bureau decides forwarded ones.
            let needs = if ctx.actor.roles.contains(&Role::PriceBureau) {
                ProposalStatus::Forwarded
            } else {
                ctx.actor.require(Role::CountyOffice)?;
                ProposalStatus::Proposed
            };
            if p.status != needs {
                return Err(transition(sku, p, "rejection", needs));
            }
            Ok((
                vec![Event::PriceRejected {
                    store: store.clone(),
                    sku: sku.clone(),
                    proposal: p.number,
                    by: ctx.actor.id.clone(),
                    date: ctx.date(),
                    reason: ctx.reason.unwrap_or_default().to_owned(),
                }],
                json!({ "store": store, "sku": sku, "proposal": p.number, "status": "rejected" }),
            ))
        }
        other => Err(super::not_a_store_command(other)),
    }
}

/// Each step of a price is taken by someone who took no earlier step, even
/// when one person holds several roles.
fn require_other_hands(ctx: &Context, sku: &Sku, p: &PriceProposal) -> Result<(), StoreError> {
    let earlier = [Some(&p.proposed_by), p.forwarded_by.as_ref()];
    if earlier.into_iter().flatten().any(|a| a == &ctx.actor.id) {
        return Err(StoreError::PriceDutyConflict {
            actor: ctx.actor.id.to_string(),
            sku: sku.to_string(),
            proposal: p.number,
        });
    }
    Ok(())
}

/// The proposal, when it is at step `needs`.
fn pending<'a>(
    state: &'a State,
    store: &StoreId,
    sku: &Sku,
    number: u32,
    action: &'static str,
    needs: ProposalStatus,
) -> Result<&'a PriceProposal, Error> {
    let p = state.stores.book(store)?.item(sku)?.proposal(number)?;
    if p.status != needs {
        return Err(transition(sku, p, action, needs));
    }
    Ok(p)
}

fn transition(sku: &Sku, p: &PriceProposal, action: &'static str, needs: ProposalStatus) -> Error {
    StoreError::InvalidPriceTransition {
        sku: sku.to_string(),
        proposal: p.number,
        status: p.status.name(),
        action,
        needs: needs.name(),
    }
    .into()
}

pub(super) fn apply(stores: &mut StoreState, event: &Event) {
    let (store, sku) = match event {
        Event::ItemListed { item } => {
            if let Some(book) = stores.stores.get_mut(&item.store) {
                book.items.insert(item.sku.clone(), (**item).clone());
            }
            return;
        }
        Event::PriceProposed { store, sku, .. }
        | Event::PriceForwarded { store, sku, .. }
        | Event::PriceApproved { store, sku, .. }
        | Event::PriceRejected { store, sku, .. } => (store, sku),
        _ => return,
    };
    let Some(item) = stores
        .stores
        .get_mut(store)
        .and_then(|book| book.items.get_mut(sku))
    else {
        return;
    };
    match event {
        Event::PriceProposed { proposal, .. } => item.proposals.push((**proposal).clone()),
        Event::PriceForwarded { proposal, by, .. } => {
            if let Some(p) = item.proposal_mut(*proposal) {
                p.status = ProposalStatus::Forwarded;
                p.forwarded_by = Some(by.clone());
            }
        }
        Event::PriceApproved {
            proposal, by, date, ..
        } => {
            for p in &mut item.proposals {
                if p.status == ProposalStatus::Approved {
                    p.status = ProposalStatus::Superseded;
                }
            }
            if let Some(p) = item.proposal_mut(*proposal) {
                p.status = ProposalStatus::Approved;
                p.decided_by = Some(by.clone());
                p.decided_on = Some(*date);
            }
        }
        Event::PriceRejected {
            proposal,
            by,
            date,
            reason,
            ..
        } => {
            if let Some(p) = item.proposal_mut(*proposal) {
                p.status = ProposalStatus::Rejected;
                p.decided_by = Some(by.clone());
                p.decided_on = Some(*date);
                p.rejection = Some(reason.clone());
            }
        }
        _ => {}
    }
}

/// The store and its items: each with its approved price, any pending
/// proposal, and the units on hand, held, and free to redeem at `at`.
pub(super) fn store_items(
    state: &State,
    store: &StoreId,
    at: DateTime<Utc>,
) -> Result<Value, Error> {
    let book = state.stores.book(store)?;
    let date = crate::engine::business_date(at);
    let held = book.held_units(Some(at));
    let items: Vec<Value> = book
        .items
        .values()
        .map(|item| {
            let stock = super::stock::summary(book, &item.sku, &held, date);
            json!({
                "sku": item.sku,
                "name": item.name,
                "category": item.category,
                "unit": item.unit,
                "price": item.approved().map(|p| &p.price),
                "price_proposal": item.approved().map(|p| p.number),
                "pending_proposal": item.proposals.iter().find(|p| p.status.is_pending()),
                "proposals": item.proposals,
                "stock": stock,
            })
        })
        .collect();
    Ok(json!({ "store": book.store, "items": items }))
}
