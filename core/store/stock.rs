//! Stock lots (库存批次). Goods are scanned in as lots, donated (with the
//! donation and donor) or purchased (with the purchase reference and unit
//! cost), each with an optional expiry date. Redemption takes the
//! first-expiring lot first, then the oldest; an expired lot is never handed
//! out. Write-offs and stock counts are recorded with a reason. Each lot keeps
//! its on-hand count as a running figure, checked against its movements.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::hold;
use super::{
    require_amount, require_quantity, require_text, DonationId, LotId, Sku, StoreBook, StoreError,
    StoreId, StoreState, MAX_UNITS,
};
use crate::command::Command;
use crate::engine::Context;
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::primitives::{ActorId, Yuan};
use crate::state::State;

/// Where a lot came from, as the command gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum SourceSpec {
    /// Bought by the store.
    Purchased {
        /// The purchase order or invoice reference (采购单号).
        purchase_ref: String,
        /// Cost per unit in yuan.
        unit_cost: Yuan,
        /// A cash donation allocated to the store that paid for it, if any.
        #[serde(default)]
        funded_by: Option<DonationId>,
    },
    /// Donated goods allocated to the store.
    Donated {
        /// The donation register entry.
        donation: DonationId,
        /// The goods line of the donation, from 1.
        line: u32,
    },
}

/// Where a lot came from, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum LotSource {
    /// Bought by the store: reimbursable at a reimbursed store unless a cash donation paid for it.
    Purchased {
        purchase_ref: String,
        unit_cost: Yuan,
        funded_by: Option<DonationId>,
    },
    /// Donated goods: never reimbursed in cash.
    Donated {
        donation: DonationId,
        line: u32,
        donor: String,
        unit_value: Option<Yuan>,
    },
}

impl LotSource {
    /// Donated or purchased.
    pub fn kind(&self) -> SourceKind {
        match self {
            LotSource::Purchased { .. } => SourceKind::Purchased,
            LotSource::Donated { .. } => SourceKind::Donated,
        }
    }

    /// The unit cost of purchased goods.
    pub fn unit_cost(&self) -> Option<Yuan> {
        match self {
            LotSource::Purchased { unit_cost, .. } => Some(*unit_cost),
            LotSource::Donated { .. } => None,
        }
    }

    /// The donation behind the lot: the donated goods, or the cash that bought them.
    pub fn donation(&self) -> Option<&DonationId> {
        match self {
            LotSource::Purchased { funded_by, .. } => funded_by.as_ref(),
            LotSource::Donated { donation, .. } => Some(donation),
        }
    }
}

/// Whether a lot's goods were donated or purchased.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Donated goods (never reimbursed in cash).
    Donated,
    /// Purchased goods.
    Purchased,
}

/// Why stock left or joined a lot outside redemption.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentCause {
    /// Written off as damaged (损坏).
    Damaged,
    /// Written off as expired (过期).
    Expired,
    /// Written off as lost (丢失).
    Lost,
    /// Written off for another reason, given in the reason.
    Other,
    /// A stock count found fewer units than the books.
    CountShortage,
    /// A stock count found more units than the books.
    CountSurplus,
}

impl AdjustmentCause {
    /// Whether the adjustment adds units.
    pub fn adds(self) -> bool {
        self == AdjustmentCause::CountSurplus
    }

    fn is_write_off_cause(self) -> bool {
        !matches!(
            self,
            AdjustmentCause::CountShortage | AdjustmentCause::CountSurplus
        )
    }
}

/// A write-off or a count difference on one lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Adjustment {
    /// The business date.
    pub date: NaiveDate,
    /// Why.
    pub cause: AdjustmentCause,
    /// Units, always positive; `cause` says the direction.
    pub quantity: i64,
    /// The keeper's reason.
    pub reason: String,
    /// The keeper.
    pub by: ActorId,
}

/// One lot on a store's shelf.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Lot {
    /// The lot's id.
    pub id: LotId,
    /// The store.
    pub store: StoreId,
    /// The item.
    pub sku: Sku,
    /// Its place in the store's receiving order (the oldest lot has the lowest).
    pub seq: u64,
    /// The day it was scanned in.
    pub received_on: NaiveDate,
    /// The last day it may be handed out, if it expires.
    pub expires: Option<NaiveDate>,
    /// Donated or purchased.
    pub source: LotSource,
    /// The keeper who scanned it in.
    pub received_by: ActorId,
    /// Units scanned in.
    pub received: i64,
    /// Units handed out by redemptions.
    pub redeemed: i64,
    /// Units put back by voids.
    pub returned: i64,
    /// Units written off (write-offs and count shortages).
    pub written_off: i64,
    /// Units found by counts.
    pub found: i64,
    /// Units on the shelf, kept as a running figure.
    pub on_hand: i64,
    /// Write-offs and count differences, oldest first.
    pub adjustments: Vec<Adjustment>,
}

impl Lot {
    /// Units that came in: received, returned by voids, found by counts.
    pub fn stock_in(&self) -> i64 {
        self.received + self.returned + self.found
    }

    /// Units that went out: redeemed and written off.
    pub fn stock_out(&self) -> i64 {
        self.redeemed + self.written_off
    }

    /// Whether the lot is past its expiry date on `date` (it may be handed out on the date itself).
    pub fn is_expired(&self, date: NaiveDate) -> bool {
        self.expires.is_some_and(|expires| date > expires)
    }

    /// First-expiring first, then the oldest; lots that never expire go last.
    fn fefo_key(&self) -> (bool, Option<NaiveDate>, u64) {
        (self.expires.is_none(), self.expires, self.seq)
    }
}

/// Picks `wanted` units of `sku` first-expiring first, then oldest first,
/// from unexpired lots, leaving alone units `held` by live holds and units
/// already `taken` for earlier lines of the same basket (which it adds to).
pub fn pick(
    book: &StoreBook,
    sku: &Sku,
    date: NaiveDate,
    held: &BTreeMap<LotId, i64>,
    taken: &mut BTreeMap<LotId, i64>,
    wanted: i64,
) -> Result<Vec<(LotId, i64)>, StoreError> {
    let mut candidates: Vec<(&Lot, i64)> = book
        .lots
        .values()
        .filter(|lot| &lot.sku == sku)
        .map(|lot| {
            let free = lot.on_hand
                - held.get(&lot.id).copied().unwrap_or(0)
                - taken.get(&lot.id).copied().unwrap_or(0);
            (lot, free)
        })
        .filter(|(_, free)| *free > 0)
        .collect();
    let expired: i64 = candidates
        .iter()
        .filter(|(lot, _)| lot.is_expired(date))
        .map(|(_, free)| free)
        .sum();
    candidates.retain(|(lot, _)| !lot.is_expired(date));
    let available: i64 = candidates.iter().map(|(_, free)| free).sum();
    if available < wanted {
        return Err(if available + expired >= wanted {
            StoreError::OnlyExpiredStock {
                sku: sku.to_string(),
                wanted,
                available,
                expired,
            }
        } else {
            StoreError::OutOfStock {
                sku: sku.to_string(),
                wanted,
                available,
            }
        });
    }
    candidates.sort_by_key(|(lot, _)| lot.fefo_key());
    let mut picked = Vec::new();
    let mut left = wanted;
    for (lot, free) in candidates {
        if left == 0 {
            break;
        }
        let quantity = free.min(left);
        picked.push((lot.id.clone(), quantity));
        *taken.entry(lot.id.clone()).or_default() += quantity;
        left -= quantity;
    }
    Ok(picked)
}

/// One line of a stock count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LotCount {
    /// The lot counted.
    pub lot: LotId,
    /// Units found on the shelf.
    pub counted: i64,
}

/// A lot's count against its books, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CountLine {
    /// The lot.
    pub lot: LotId,
    /// Units on hand by the books.
    pub expected: i64,
    /// Units counted.
    pub counted: i64,
}

pub(super) fn decide(
    state: &State,
    ctx: &Context,
    command: &Command,
) -> Result<(Vec<Event>, Value), Error> {
    let date = ctx.date();
    match command {
        Command::ReceiveStock {
            store,
            sku,
            quantity,
            expires,
            source,
        } => {
            let book = state.stores.book(store)?;
            book.store.require_keeper(ctx.actor)?;
            let item = book.item(sku)?;
            super::item::require_allowed(state.policies.in_force(date)?, sku, &item.category)?;
            require_quantity("quantity", *quantity)?;
            if expires.is_some_and(|expires| expires < date) {
                return Err(InputError::InvalidValue {
                    field: "expires",
                    detail: format!(
                        "goods that expired on {} cannot be received",
                        expires.unwrap_or(date)
                    ),
                }
                .into());
            }
            let source = match source {
                SourceSpec::Purchased {
                    purchase_ref,
                    unit_cost,
                    funded_by,
                } => {
                    require_text("purchase_ref", purchase_ref)?;
                    require_amount("unit_cost", *unit_cost, true)?;
                    if let Some(donation) = funded_by {
                        let cost = Yuan(unit_cost.0 * Decimal::from(*quantity));
                        super::donation::require_cash_left(&state.stores, donation, store, cost)?;
                    }
                    LotSource::Purchased {
                        purchase_ref: purchase_ref.clone(),
                        unit_cost: *unit_cost,
                        funded_by: funded_by.clone(),
                    }
                }
                SourceSpec::Donated { donation, line } => {
                    let entry = super::donation::require_goods_left(
                        &state.stores,
                        donation,
                        *line,
                        store,
                        *quantity,
                    )?;
                    LotSource::Donated {
                        donation: donation.clone(),
                        line: *line,
                        donor: entry.donation.donor.clone(),
                        unit_value: entry.line(*line).and_then(|l| l.unit_value),
                    }
                }
            };
            let seq = book.lots.len() as u64 + 1;
            let lot = Lot {
                id: LotId(format!("{store}-L{seq:04}")),
                store: store.clone(),
                sku: sku.clone(),
                seq,
                received_on: date,
                expires: *expires,
                source,
                received_by: ctx.actor.id.clone(),
                received: *quantity,
                redeemed: 0,
                returned: 0,
                written_off: 0,
                found: 0,
                on_hand: *quantity,
                adjustments: Vec::new(),
            };
            let result = serde_json::to_value(&lot)?;
            Ok((vec![Event::StockReceived { lot: Box::new(lot) }], result))
        }
        Command::WriteOffStock {
            store,
            lot,
            quantity,
            cause,
        } => {
            ctx.require_reason()?;
            let book = state.stores.book(store)?;
            book.store.require_keeper(ctx.actor)?;
            let l = book.lot(lot)?;
            require_quantity("quantity", *quantity)?;
            if !cause.is_write_off_cause() {
                return Err(InputError::InvalidValue {
                    field: "cause",
                    detail: "count differences are recorded by count_stock".into(),
                }
                .into());
            }
            if *cause == AdjustmentCause::Expired && !l.is_expired(date) {
                return Err(StoreError::LotNotExpired {
                    lot: lot.to_string(),
                    expires: l.expires.unwrap_or(date),
                    date,
                }
                .into());
            }
            let held = book.held_units(Some(ctx.at));
            let free = l.on_hand - held.get(lot).copied().unwrap_or(0);
            if *quantity > free {
                return Err(StoreError::InsufficientLotStock {
                    lot: lot.to_string(),
                    wanted: *quantity,
                    free,
                }
                .into());
            }
            let mut events = hold::release_expired(state, ctx.at, Some(store), None);
            let adjustment = Adjustment {
                date,
                cause: *cause,
                quantity: *quantity,
                reason: ctx.reason.unwrap_or_default().to_owned(),
                by: ctx.actor.id.clone(),
            };
            events.push(Event::StockWrittenOff {
                store: store.clone(),
                lot: lot.clone(),
                adjustment,
            });
            Ok((
                events,
                json!({ "lot": lot, "written_off": quantity, "on_hand": l.on_hand - quantity }),
            ))
        }
        Command::CountStock { store, counts } => {
            let book = state.stores.book(store)?;
            book.store.require_keeper(ctx.actor)?;
            if counts.is_empty() {
                return Err(InputError::InvalidValue {
                    field: "counts",
                    detail: "a count names at least one lot".into(),
                }
                .into());
            }
            let held = book.held_units(Some(ctx.at));
            let mut lines = Vec::new();
            for count in counts {
                let l = book.lot(&count.lot)?;
                if !(0..=MAX_UNITS).contains(&count.counted) {
                    return Err(InputError::InvalidValue {
                        field: "counted",
                        detail: format!("lot {}: a count is 0 to {MAX_UNITS}", count.lot),
                    }
                    .into());
                }
                if lines.iter().any(|line: &CountLine| line.lot == count.lot) {
                    return Err(InputError::InvalidValue {
                        field: "counts",
                        detail: format!("lot {} is counted twice", count.lot),
                    }
                    .into());
                }
                let held = held.get(&count.lot).copied().unwrap_or(0);
                if count.counted < held {
                    return Err(StoreError::InsufficientLotStock {
                        lot: count.lot.to_string(),
                        wanted: held,
                        free: count.counted,
                    }
                    .into());
                }
                lines.push(CountLine {
                    lot: count.lot.clone(),
                    expected: l.on_hand,
                    counted: count.counted,
                });
            }
            let differences = lines.iter().filter(|l| l.expected != l.counted).count();
            if differences > 0 {
                ctx.require_reason()?;
            }
            let mut events = hold::release_expired(state, ctx.at, Some(store), None);
            let result = json!({ "lots": lines, "differences": differences });
            events.push(Event::StockCounted {
                store: store.clone(),
                date,
                by: ctx.actor.id.clone(),
                reason: ctx.reason.map(str::to_owned),
                lines,
            });
            Ok((events, result))
        }
        other => Err(super::not_a_store_command(other)),
    }
}

pub(super) fn apply(stores: &mut StoreState, event: &Event) {
    match event {
        Event::StockReceived { lot } => {
            if let Some(book) = stores.stores.get_mut(&lot.store) {
                book.lots.insert(lot.id.clone(), (**lot).clone());
            }
        }
        Event::StockWrittenOff {
            store,
            lot,
            adjustment,
        } => {
            if let Some(l) = lot_mut(stores, store, lot) {
                adjust(l, adjustment.clone());
            }
        }
        Event::StockCounted {
            store,
            date,
            by,
            reason,
            lines,
        } => {
            for line in lines {
                if line.counted == line.expected {
                    continue;
                }
                let (cause, quantity) = if line.counted > line.expected {
                    (AdjustmentCause::CountSurplus, line.counted - line.expected)
                } else {
                    (AdjustmentCause::CountShortage, line.expected - line.counted)
                };
                if let Some(l) = lot_mut(stores, store, &line.lot) {
                    adjust(
                        l,
                        Adjustment {
                            date: *date,
                            cause,
                            quantity,
                            reason: reason.clone().unwrap_or_default(),
                            by: by.clone(),
                        },
                    );
                }
            }
        }
        _ => {}
    }
}

pub(super) fn lot_mut<'a>(
    stores: &'a mut StoreState,
    store: &StoreId,
    lot: &LotId,
) -> Option<&'a mut Lot> {
    stores
        .stores
        .get_mut(store)
        .and_then(|book| book.lots.get_mut(lot))
}

fn adjust(lot: &mut Lot, adjustment: Adjustment) {
    if adjustment.cause.adds() {
        lot.found += adjustment.quantity;
        lot.on_hand += adjustment.quantity;
    } else {
        lot.written_off += adjustment.quantity;
        lot.on_hand -= adjustment.quantity;
    }
    lot.adjustments.push(adjustment);
}

/// An item's stock at a store on `date`: on hand, held, free to redeem, and on hand in expired lots.
pub(super) fn summary(
    book: &StoreBook,
    sku: &Sku,
    held: &BTreeMap<LotId, i64>,
    date: NaiveDate,
) -> Value {
    let (mut on_hand, mut held_units, mut free, mut expired) = (0, 0, 0, 0);
    for lot in book.lots.values().filter(|lot| &lot.sku == sku) {
        let h = held.get(&lot.id).copied().unwrap_or(0);
        on_hand += lot.on_hand;
        held_units += h;
        if lot.is_expired(date) {
            expired += lot.on_hand - h;
        } else {
            free += lot.on_hand - h;
        }
    }
    json!({ "on_hand": on_hand, "held": held_units, "free": free, "expired": expired })
}

/// Per lot: in − out = on hand, on hand never negative, the adjustment
/// history adds up, and open holds never hold more than is on hand.
pub(super) fn check(book: &StoreBook) -> Result<(), String> {
    let held = book.held_units(None);
    for lot in book.lots.values() {
        let id = &lot.id;
        if lot.stock_in() - lot.stock_out() != lot.on_hand {
            return Err(format!(
                "lot {id}: in {} - out {} != on hand {}",
                lot.stock_in(),
                lot.stock_out(),
                lot.on_hand
            ));
        }
        if lot.on_hand < 0 || lot.redeemed < 0 || lot.returned < 0 || lot.returned > lot.redeemed {
            return Err(format!("lot {id}: impossible counts {lot:?}"));
        }
        let (mut added, mut removed) = (0, 0);
        for a in &lot.adjustments {
            if a.cause.adds() {
                added += a.quantity;
            } else {
                removed += a.quantity;
            }
        }
        if added != lot.found || removed != lot.written_off {
            return Err(format!(
                "lot {id}: adjustments do not add up to found and written off"
            ));
        }
        let h = held.get(id).copied().unwrap_or(0);
        if h > lot.on_hand {
            return Err(format!("lot {id}: {h} held but {} on hand", lot.on_hand));
        }
        if lot.store != book.store.id || !book.items.contains_key(&lot.sku) {
            return Err(format!("lot {id}: not an item of store {}", book.store.id));
        }
    }
    for id in held.keys() {
        if !book.lots.contains_key(id) {
            return Err(format!("a hold holds unknown lot {id}"));
        }
    }
    Ok(())
}
