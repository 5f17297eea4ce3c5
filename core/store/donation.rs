//! The donation register (爱心捐赠登记): donor, date, goods or cash, the body
//! that received it, and its allocation to stores. Donated goods enter a
//! store's stock only against an allocation, and cash donations pay for
//! purchases only up to theirs, so every donated unit and yuan can be traced
//! to the households that received the goods (seed 000: 每一份爱心捐赠物资精准用于…).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stock::LotSource;
use super::{
    require_amount, require_quantity, require_text, DonationId, StoreError, StoreId, StoreState,
};
use crate::access::Role;
use crate::command::Command;
use crate::engine::Context;
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::primitives::{ActorId, Yuan};
use crate::state::State;

/// One kind of donated goods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GoodsLine {
    /// What was given (e.g. 大米 10kg).
    pub description: String,
    /// How many units.
    pub quantity: i64,
    /// The value per unit in yuan, when the donor or receiver states one.
    #[serde(default)]
    pub unit_value: Option<Yuan>,
}

/// Part of a donation given to a store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Allocation {
    /// Units of a goods line, to be scanned into the store's stock.
    Goods {
        store: StoreId,
        /// The goods line, from 1.
        line: u32,
        quantity: i64,
    },
    /// Cash, to pay for the store's purchases.
    Cash { store: StoreId, amount: Yuan },
}

impl Allocation {
    fn store(&self) -> &StoreId {
        match self {
            Allocation::Goods { store, .. } | Allocation::Cash { store, .. } => store,
        }
    }
}

/// A donation as registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Donation {
    /// The register entry.
    pub id: DonationId,
    /// Who gave (a person, company or unit).
    pub donor: String,
    /// When it was given.
    pub date: NaiveDate,
    /// The body that received it (e.g. a township government).
    pub receiving_body: String,
    /// Donated goods.
    pub goods: Vec<GoodsLine>,
    /// Donated cash.
    pub cash: Option<Yuan>,
    /// Who registered it.
    pub registered_by: ActorId,
}

/// A donation with its allocations so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DonationBook {
    /// The donation.
    pub donation: Donation,
    /// Its allocations to stores, in the order made.
    pub allocations: Vec<Allocation>,
}

impl DonationBook {
    /// The goods line numbered `line` (from 1).
    pub fn line(&self, line: u32) -> Option<&GoodsLine> {
        (line as usize)
            .checked_sub(1)
            .and_then(|i| self.donation.goods.get(i))
    }

    /// Units of `line` allocated, to `store` or to all stores.
    pub fn goods_allocated(&self, line: u32, store: Option<&StoreId>) -> i64 {
        self.allocations
            .iter()
            .filter_map(|a| match a {
                Allocation::Goods {
                    store: s,
                    line: l,
                    quantity,
                } if *l == line && store.is_none_or(|store| store == s) => Some(*quantity),
                _ => None,
            })
            .sum()
    }

    /// Cash allocated, to `store` or to all stores.
    pub fn cash_allocated(&self, store: Option<&StoreId>) -> Decimal {
        self.allocations
            .iter()
            .filter_map(|a| match a {
                Allocation::Cash { store: s, amount } if store.is_none_or(|store| store == s) => {
                    Some(amount.0)
                }
                _ => None,
            })
            .sum()
    }
}

/// Units of a donation's goods line scanned in at `store`.
fn goods_received(stores: &StoreState, donation: &DonationId, line: u32, store: &StoreId) -> i64 {
    stores.stores.get(store).map_or(0, |book| {
        book.lots
            .values()
            .filter(|lot| {
                matches!(&lot.source, LotSource::Donated { donation: d, line: l, .. } if d == donation && *l == line)
            })
            .map(|lot| lot.received)
            .sum()
    })
}

/// Yuan of a cash donation spent on `store`'s purchases.
fn cash_spent(stores: &StoreState, donation: &DonationId, store: &StoreId) -> Decimal {
    stores.stores.get(store).map_or(Decimal::ZERO, |book| {
        book.lots
            .values()
            .filter_map(|lot| match &lot.source {
                LotSource::Purchased {
                    unit_cost,
                    funded_by: Some(d),
                    ..
                } if d == donation => Some(unit_cost.0 * Decimal::from(lot.received)),
                _ => None,
            })
            .sum()
    })
}

/// The donation, when `quantity` more units of `line` may be scanned in at `store`.
pub(super) fn require_goods_left<'a>(
    stores: &'a StoreState,
    donation: &DonationId,
    line: u32,
    store: &StoreId,
    quantity: i64,
) -> Result<&'a DonationBook, StoreError> {
    let book = stores.donation(donation)?;
    let left =
        book.goods_allocated(line, Some(store)) - goods_received(stores, donation, line, store);
    if book.line(line).is_none() || quantity > left {
        return Err(StoreError::AllocationExhausted {
            donation: donation.to_string(),
            store: store.to_string(),
            what: format!("goods line {line}"),
            receiving: quantity.to_string(),
            left: left.to_string(),
        });
    }
    Ok(book)
}

/// Fails unless `cost` more of the cash donation allocated to `store` is unspent.
pub(super) fn require_cash_left(
    stores: &StoreState,
    donation: &DonationId,
    store: &StoreId,
    cost: Yuan,
) -> Result<(), StoreError> {
    let book = stores.donation(donation)?;
    let left = book.cash_allocated(Some(store)) - cash_spent(stores, donation, store);
    if cost.0 > left {
        return Err(StoreError::AllocationExhausted {
            donation: donation.to_string(),
            store: store.to_string(),
            what: "cash".into(),
            receiving: cost.to_string(),
            left: left.to_string(),
        });
    }
    Ok(())
}

pub(super) fn decide(
    state: &State,
    ctx: &Context,
    command: &Command,
) -> Result<(Vec<Event>, Value), Error> {
    if !ctx.actor.roles.contains(&Role::CountyOffice) {
        ctx.actor.require(Role::Administrator)?;
    }
    match command {
        Command::RegisterDonation {
            donation,
            donor,
            date,
            receiving_body,
            goods,
            cash,
            allocations,
        } => {
            require_text("donation", donation.as_str())?;
            require_text("donor", donor)?;
            require_text("receiving_body", receiving_body)?;
            if state.stores.donations.contains_key(donation) {
                return Err(StoreError::DuplicateDonation {
                    donation: donation.to_string(),
                }
                .into());
            }
            for line in goods {
                require_text("goods.description", &line.description)?;
                require_quantity("goods.quantity", line.quantity)?;
                if let Some(value) = line.unit_value {
                    require_amount("goods.unit_value", value, true)?;
                }
            }
            if let Some(cash) = cash {
                require_amount("cash", *cash, false)?;
            }
            if goods.is_empty() && cash.is_none() {
                return Err(invalid("goods", "a donation gives goods, cash or both"));
            }
            if *date > ctx.date() {
                return Err(invalid(
                    "date",
                    "a donation is registered after it is given",
                ));
            }
            let book = DonationBook {
                donation: Donation {
                    id: donation.clone(),
                    donor: donor.clone(),
                    date: *date,
                    receiving_body: receiving_body.clone(),
                    goods: goods.clone(),
                    cash: *cash,
                    registered_by: ctx.actor.id.clone(),
                },
                allocations: Vec::new(),
            };
            check_allocations(state, &book, allocations)?;
            let result = serde_json::to_value(DonationBook {
                allocations: allocations.clone(),
                ..book.clone()
            })?;
            let mut events = vec![Event::DonationRegistered {
                donation: Box::new(book.donation),
            }];
            if !allocations.is_empty() {
                events.push(Event::DonationAllocated {
                    donation: donation.clone(),
                    allocations: allocations.clone(),
                });
            }
            Ok((events, result))
        }
        Command::AllocateDonation {
            donation,
            allocations,
        } => {
            let book = state.stores.donation(donation)?;
            if allocations.is_empty() {
                return Err(invalid("allocations", "name at least one allocation"));
            }
            check_allocations(state, book, allocations)?;
            let mut after = book.clone();
            after.allocations.extend(allocations.iter().cloned());
            Ok((
                vec![Event::DonationAllocated {
                    donation: donation.clone(),
                    allocations: allocations.clone(),
                }],
                serde_json::to_value(after)?,
            ))
        }
        other => Err(super::not_a_store_command(other)),
    }
}

fn invalid(field: &'static str, detail: &str) -> Error {
    InputError::InvalidValue {
        field,
        detail: detail.to_owned(),
    }
    .into()
}

/// Allocations may not give away more of a line or of the cash than was donated.
fn check_allocations(
    state: &State,
    book: &DonationBook,
    allocations: &[Allocation],
) -> Result<(), Error> {
    let mut after = book.clone();
    for allocation in allocations {
        state.stores.book(allocation.store())?;
        let id = book.donation.id.to_string();
        match allocation {
            Allocation::Goods { line, quantity, .. } => {
                require_quantity("allocations.quantity", *quantity)?;
                let Some(goods) = book.line(*line) else {
                    return Err(invalid(
                        "allocations.line",
                        "no such goods line in the donation",
                    ));
                };
                let left = goods.quantity - after.goods_allocated(*line, None);
                if *quantity > left {
                    return Err(StoreError::OverAllocated {
                        donation: id,
                        what: format!("goods line {line}"),
                        allocating: quantity.to_string(),
                        left: left.to_string(),
                    }
                    .into());
                }
            }
            Allocation::Cash { amount, .. } => {
                require_amount("allocations.amount", *amount, false)?;
                let left =
                    book.donation.cash.map_or(Decimal::ZERO, |c| c.0) - after.cash_allocated(None);
                if amount.0 > left {
                    return Err(StoreError::OverAllocated {
                        donation: id,
                        what: "cash".into(),
                        allocating: amount.to_string(),
                        left: left.to_string(),
                    }
                    .into());
                }
            }
        }
        after.allocations.push(allocation.clone());
    }
    Ok(())
}

pub(super) fn apply(stores: &mut StoreState, event: &Event) {
    match event {
        Event::DonationRegistered { donation } => {
            stores.donations.insert(
                donation.id.clone(),
                DonationBook {
                    donation: (**donation).clone(),
                    allocations: Vec::new(),
                },
            );
        }
        Event::DonationAllocated {
            donation,
            allocations,
        } => {
            if let Some(book) = stores.donations.get_mut(donation) {
                book.allocations.extend(allocations.iter().cloned());
            }
        }
        _ => {}
    }
}

/// No line or cash is allocated beyond the gift, and no store received more
/// goods or spent more cash than it was allocated. One pass over the lots.
pub(super) fn check(stores: &StoreState) -> Result<(), String> {
    let mut received: BTreeMap<(&DonationId, u32, &StoreId), i64> = BTreeMap::new();
    let mut spent: BTreeMap<(&DonationId, &StoreId), Decimal> = BTreeMap::new();
    for lot in stores.stores.values().flat_map(|book| book.lots.values()) {
        match &lot.source {
            LotSource::Donated { donation, line, .. } => {
                *received.entry((donation, *line, &lot.store)).or_default() += lot.received;
            }
            LotSource::Purchased {
                unit_cost,
                funded_by: Some(donation),
                ..
            } => {
                *spent.entry((donation, &lot.store)).or_default() +=
                    unit_cost.0 * Decimal::from(lot.received);
            }
            LotSource::Purchased { .. } => {}
        }
    }
    let book = |id: &DonationId| {
        stores
            .donations
            .get(id)
            .ok_or_else(|| format!("a lot names unknown donation {id}"))
    };
    for ((id, line, store), units) in &received {
        if *units > book(id)?.goods_allocated(*line, Some(store)) {
            return Err(format!(
                "donation {id} line {line}: {store} received beyond its allocation"
            ));
        }
    }
    for ((id, store), yuan) in &spent {
        if *yuan > book(id)?.cash_allocated(Some(store)) {
            return Err(format!(
                "donation {id}: {store} spent beyond its cash allocation"
            ));
        }
    }
    for (id, book) in &stores.donations {
        for (i, line) in book.donation.goods.iter().enumerate() {
            let line_no = i as u32 + 1;
            if book.goods_allocated(line_no, None) > line.quantity {
                return Err(format!(
                    "donation {id} line {line_no}: allocated beyond the gift"
                ));
            }
        }
        if book.cash_allocated(None) > book.donation.cash.map_or(Decimal::ZERO, |c| c.0) {
            return Err(format!("donation {id}: cash allocated beyond the gift"));
        }
    }
    Ok(())
}
