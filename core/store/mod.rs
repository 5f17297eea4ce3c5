//! Stores (兑换点), their goods and stock, donations, and redemption: where
//! points become goods and public money is spent (SPEC §6).
//!
//! A store lists items; a price is usable only once the price bureau approves
//! it. Goods arrive as lots (donated or purchased) and leave first-expiring
//! first. A redemption checks the card and PIN (the engine's PIN protocol),
//! the day, the prices, the stock and the household's points, then debits the
//! household and the stock in one journal record and returns a receipt. A
//! kiosk may hold points and stock for a few minutes first. Every donated unit
//! can be traced to the household that received it.

pub mod donation;
mod error;
pub mod hold;
pub mod item;
pub mod kiosk;
pub mod ledger;
pub mod notification;
pub mod redemption;
pub mod stock;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::StoreError;

use crate::access::{Actor, Role};
use crate::account::Account;
use crate::command::{Command, Query};
use crate::engine::Context;
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::policy::Policy;
use crate::primitives::{
    string_id, ActorId, CountyCode, HouseholdId, TownshipCode, VillageCode, Yuan,
};
use crate::state::State;

use donation::DonationBook;
use hold::Hold;
use item::Item;
use notification::Outbox;
use redemption::Redemption;
use stock::Lot;

string_id!(
    /// A store's id (兑换点编号), host-supplied.
    StoreId
);
string_id!(
    /// An item's stock-keeping number at a store (the scanned barcode or the store's code).
    Sku
);
string_id!(
    /// A stock lot, numbered by the engine: `<store>-L0001`.
    LotId
);
string_id!(
    /// A donation register entry (爱心捐赠登记号), host-supplied.
    DonationId
);
string_id!(
    /// A receipt number, numbered by the engine per store: `<store>-000001`.
    ReceiptNumber
);
string_id!(
    /// A kiosk hold, numbered by the engine per store: `<store>-H0001`.
    HoldId
);

/// What kind of redemption point a store is (SPEC §3; seed 000 names all three).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// A fixed village store (定点兑换点).
    VillageStore,
    /// A partner merchant (爱心商家).
    PartnerMerchant,
    /// A mobile service that visits villages (流动服务兑换).
    MobileService,
}

/// Where a store serves: a township, or one village in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreRegion {
    /// County code.
    pub county: CountyCode,
    /// Township code.
    pub township: TownshipCode,
    /// The village, for a village store.
    #[serde(default)]
    pub village: Option<VillageCode>,
}

/// The days a store opens for redemption, on top of the policy's redemption calendar.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "days")]
pub enum Opening {
    /// Every day (Baisha: stores open daily).
    #[default]
    EveryDay,
    /// On these ISO weekdays, 1 = Monday … 7 = Sunday.
    Weekdays(Vec<u32>),
    /// Only on these dates (a mobile service's visiting days).
    Dates(Vec<NaiveDate>),
}

impl Opening {
    /// Whether the store opens on `date`.
    pub fn is_open(&self, date: NaiveDate) -> bool {
        match self {
            Opening::EveryDay => true,
            Opening::Weekdays(days) => days.contains(&date.weekday().number_from_monday()),
            Opening::Dates(dates) => dates.contains(&date),
        }
    }

    fn validate(&self) -> Result<(), InputError> {
        match self {
            Opening::Weekdays(days)
                if days.is_empty() || days.iter().any(|d| !(1..=7).contains(d)) =>
            {
                Err(InputError::InvalidValue {
                    field: "opening",
                    detail: "weekdays are 1 (Monday) to 7 (Sunday), at least one".into(),
                })
            }
            Opening::Dates(dates) if dates.is_empty() => Err(InputError::InvalidValue {
                field: "opening",
                detail: "a store open on set dates needs at least one".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// The default minutes a kiosk hold keeps points and stock.
pub const DEFAULT_HOLD_MINUTES: u32 = 5;
/// The longest hold a store may set: a hold blocks goods other households want.
pub const MAX_HOLD_MINUTES: u32 = 30;

/// A store as registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Store {
    /// The store's id.
    pub id: StoreId,
    /// Display name, printed on receipts.
    pub name: String,
    /// Village store, partner merchant or mobile service.
    pub kind: StoreKind,
    /// Where it serves.
    pub region: StoreRegion,
    /// Whether county finance reimburses its redemptions of purchased goods in cash.
    pub reimbursed: bool,
    /// Its opening days.
    pub opening: Opening,
    /// The actors who keep it; only they redeem, receive stock and propose prices here.
    pub keepers: BTreeSet<ActorId>,
    /// Minutes a kiosk hold lasts (default: 5, at most 30).
    pub hold_minutes: u32,
    /// False while the store is closed (e.g. under review); closed stores redeem nothing.
    pub open: bool,
}

impl Store {
    /// Fails unless `actor` is a store keeper listed for this store.
    pub fn require_keeper(&self, actor: &Actor) -> Result<(), Error> {
        actor.require(Role::StoreKeeper)?;
        if !self.keepers.contains(&actor.id) {
            return Err(StoreError::NotStoreKeeper {
                actor: actor.id.to_string(),
                store: self.id.to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// Fails unless households may redeem here on `date`: the store is open,
    /// the policy's redemption calendar allows the day, and so do the store's opening days.
    pub fn require_redemption_day(
        &self,
        policy: &Policy,
        date: NaiveDate,
    ) -> Result<(), StoreError> {
        if !self.open {
            return Err(StoreError::StoreClosed {
                store: self.id.to_string(),
            });
        }
        let why = if !policy.redemption_calendar.is_open(date) {
            "not a redemption day of the policy"
        } else if !self.opening.is_open(date) {
            "the store does not open that day"
        } else {
            return Ok(());
        };
        Err(StoreError::RedemptionDayClosed {
            store: self.id.to_string(),
            date,
            why,
        })
    }
}

/// One store's books: its items, lots, holds and counters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreBook {
    /// The store.
    pub store: Store,
    /// Items by SKU.
    pub items: BTreeMap<Sku, Item>,
    /// Every lot ever received, by id.
    pub lots: BTreeMap<LotId, Lot>,
    /// Every hold ever placed, by id.
    pub holds: BTreeMap<HoldId, Hold>,
    /// The holds still open (not committed, cancelled or released).
    pub open_holds: BTreeSet<HoldId>,
    /// Receipts issued so far (the last receipt number's sequence).
    pub receipts_issued: u64,
}

impl StoreBook {
    fn new(store: Store) -> StoreBook {
        StoreBook {
            store,
            items: BTreeMap::new(),
            lots: BTreeMap::new(),
            holds: BTreeMap::new(),
            open_holds: BTreeSet::new(),
            receipts_issued: 0,
        }
    }

    /// The item, or `unknown_item`.
    pub fn item(&self, sku: &Sku) -> Result<&Item, StoreError> {
        self.items.get(sku).ok_or_else(|| StoreError::UnknownItem {
            store: self.store.id.to_string(),
            sku: sku.to_string(),
        })
    }

    /// The lot, or `unknown_lot`.
    pub fn lot(&self, lot: &LotId) -> Result<&Lot, StoreError> {
        self.lots.get(lot).ok_or_else(|| StoreError::UnknownLot {
            store: self.store.id.to_string(),
            lot: lot.to_string(),
        })
    }

    /// Open holds that still hold at `at` (`None`: every open hold).
    pub fn live_holds(&self, at: Option<DateTime<Utc>>) -> impl Iterator<Item = &Hold> {
        self.open_holds
            .iter()
            .filter_map(|id| self.holds.get(id))
            .filter(move |h| at.is_none_or(|at| h.is_live(at)))
    }

    /// Units of each lot held by the holds live at `at` (`None`: every open hold).
    pub fn held_units(&self, at: Option<DateTime<Utc>>) -> BTreeMap<LotId, i64> {
        let mut held = BTreeMap::new();
        for hold in self.live_holds(at) {
            for (lot, quantity) in hold.lot_quantities() {
                *held.entry(lot).or_default() += quantity;
            }
        }
        held
    }
}

/// The stores' part of the engine state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreState {
    /// Store books by store id.
    pub stores: BTreeMap<StoreId, StoreBook>,
    /// The donation register.
    pub donations: BTreeMap<DonationId, DonationBook>,
    /// Every redemption by receipt number, with its void if any.
    pub receipts: BTreeMap<ReceiptNumber, Redemption>,
    /// Messages waiting for the host to send.
    pub outbox: Outbox,
}

impl StoreState {
    /// The store's books, or `unknown_store`.
    pub fn book(&self, store: &StoreId) -> Result<&StoreBook, StoreError> {
        self.stores
            .get(store)
            .ok_or_else(|| StoreError::UnknownStore {
                store: store.to_string(),
            })
    }

    /// The donation, or `unknown_donation`.
    pub fn donation(&self, donation: &DonationId) -> Result<&DonationBook, StoreError> {
        self.donations
            .get(donation)
            .ok_or_else(|| StoreError::UnknownDonation {
                donation: donation.to_string(),
            })
    }

    /// The redemption, or `unknown_receipt`.
    pub fn redemption(&self, receipt: &ReceiptNumber) -> Result<&Redemption, StoreError> {
        self.receipts
            .get(receipt)
            .ok_or_else(|| StoreError::UnknownReceipt {
                receipt: receipt.to_string(),
            })
    }

    /// The hold, or `unknown_hold`. Its id starts with its store's.
    pub fn hold(&self, hold: &HoldId) -> Result<&Hold, StoreError> {
        self.stores
            .values()
            .find_map(|book| book.holds.get(hold))
            .ok_or_else(|| StoreError::UnknownHold {
                hold: hold.to_string(),
            })
    }

    /// Open holds of `household` that still hold at `at` (`None`: every open hold).
    pub fn household_holds<'a>(
        &'a self,
        household: &'a HouseholdId,
        at: Option<DateTime<Utc>>,
    ) -> impl Iterator<Item = &'a Hold> + 'a {
        self.stores
            .values()
            .flat_map(move |book| book.live_holds(at))
            .filter(move |h| &h.household == household)
    }

    /// Applies one store event; redemptions and voids also move the household's account.
    pub fn apply(&mut self, accounts: &mut BTreeMap<HouseholdId, Account>, event: &Event) {
        match event {
            Event::StoreRegistered { store } => {
                self.stores
                    .insert(store.id.clone(), StoreBook::new((**store).clone()));
            }
            Event::StoreUpdated { store } => {
                if let Some(book) = self.stores.get_mut(&store.id) {
                    book.store = (**store).clone();
                }
            }
            Event::ItemListed { .. }
            | Event::PriceProposed { .. }
            | Event::PriceForwarded { .. }
            | Event::PriceApproved { .. }
            | Event::PriceRejected { .. } => item::apply(self, event),
            Event::StockReceived { .. }
            | Event::StockWrittenOff { .. }
            | Event::StockCounted { .. } => stock::apply(self, event),
            Event::DonationRegistered { .. } | Event::DonationAllocated { .. } => {
                donation::apply(self, event)
            }
            Event::HoldPlaced(_) | Event::HoldCancelled { .. } | Event::HoldExpired { .. } => {
                hold::apply(self, event)
            }
            Event::Redeemed(_) | Event::RedemptionVoided(_) => {
                redemption::apply(self, accounts, event)
            }
            Event::NotificationsTaken { through } => self.outbox.taken(*through),
            _ => {}
        }
    }

    /// Checks the store invariants: per lot, stock in − stock out = on hand and
    /// open holds never exceed it; holds and receipts add up; each household's
    /// redeemed total equals its receipts less its voids; donations are never
    /// allocated or received beyond what was given.
    pub fn check_invariants(
        &self,
        accounts: &BTreeMap<HouseholdId, Account>,
    ) -> Result<(), String> {
        for book in self.stores.values() {
            stock::check(book)?;
            hold::check(book, self)?;
        }
        redemption::check(self, accounts)?;
        donation::check(self)?;
        Ok(())
    }
}

/// Decides a store command.
pub(crate) fn decide(
    state: &State,
    ctx: &Context,
    command: &Command,
) -> Result<(Vec<Event>, Value), Error> {
    match command {
        Command::RegisterStore { .. } | Command::UpdateStore { .. } => {
            decide_store(state, ctx, command)
        }
        Command::ListItem { .. }
        | Command::ProposePrice { .. }
        | Command::ForwardPrice { .. }
        | Command::ApprovePrice { .. }
        | Command::RejectPrice { .. } => item::decide(state, ctx, command),
        Command::ReceiveStock { .. }
        | Command::WriteOffStock { .. }
        | Command::CountStock { .. } => stock::decide(state, ctx, command),
        Command::RegisterDonation { .. } | Command::AllocateDonation { .. } => {
            donation::decide(state, ctx, command)
        }
        Command::Redeem { .. } | Command::VoidRedemption { .. } => {
            redemption::decide(state, ctx, command)
        }
        Command::ReserveRedemption { .. }
        | Command::CommitHold { .. }
        | Command::CancelHold { .. }
        | Command::ExpireHolds { .. } => hold::decide(state, ctx, command),
        Command::TakeNotifications { limit } => notification::take(state, ctx, *limit),
        other => Err(not_a_store_command(other)),
    }
}

/// Checks what a PIN command needs from the store before its PIN attempt is
/// counted, so a request the store must refuse anyway (closed day, unapproved
/// price, no stock) records nothing; the household's own account is judged
/// only after the right PIN.
pub(crate) fn precheck(state: &State, ctx: &Context, command: &Command) -> Result<(), Error> {
    match command {
        Command::Redeem { store, lines, .. } | Command::ReserveRedemption { store, lines, .. } => {
            redemption::plan_basket(state, ctx, store, lines).map(|_| ())
        }
        _ => Ok(()),
    }
}

/// Answers a store query.
pub(crate) fn query(state: &State, query: &Query) -> Result<Value, Error> {
    match query {
        Query::StoreItems { store, at } => {
            item::store_items(state, store, at.unwrap_or_else(Utc::now))
        }
        Query::Redeemable { store, card, at } => Ok(serde_json::to_value(redemption::card_view(
            state,
            store,
            card,
            at.unwrap_or_else(Utc::now),
        )?)?),
        Query::Receipt { receipt } => Ok(serde_json::to_value(state.stores.redemption(receipt)?)?),
        Query::Hold { hold } => Ok(serde_json::to_value(state.stores.hold(hold)?)?),
        Query::StockLedger { store, format } => ledger::stock(state, store, *format),
        Query::RedemptionLedger {
            quarter,
            store,
            village,
            format,
        } => ledger::redemptions(state, *quarter, store.as_ref(), village.as_ref(), *format),
        Query::DonationTrace { donation, format } => {
            ledger::donation_trace(state, donation.as_ref(), *format)
        }
        Query::Notifications => Ok(serde_json::to_value(state.stores.outbox.pending())?),
        other => Err(InputError::Malformed {
            detail: format!("not a store query: {other:?}"),
        }
        .into()),
    }
}

fn not_a_store_command(command: &Command) -> Error {
    InputError::Malformed {
        detail: format!("not a store command: {command:?}"),
    }
    .into()
}

fn decide_store(
    state: &State,
    ctx: &Context,
    command: &Command,
) -> Result<(Vec<Event>, Value), Error> {
    ctx.actor.require(Role::Administrator)?;
    let store = match command {
        Command::RegisterStore {
            store,
            name,
            kind,
            region,
            reimbursed,
            opening,
            keepers,
            hold_minutes,
        } => {
            if state.stores.stores.contains_key(store) {
                return Err(StoreError::DuplicateStore {
                    store: store.to_string(),
                }
                .into());
            }
            Store {
                id: store.clone(),
                name: name.clone(),
                kind: *kind,
                region: region.clone(),
                reimbursed: *reimbursed,
                opening: opening.clone(),
                keepers: keepers.iter().cloned().collect(),
                hold_minutes: hold_minutes.unwrap_or(DEFAULT_HOLD_MINUTES),
                open: true,
            }
        }
        Command::UpdateStore {
            store,
            name,
            reimbursed,
            opening,
            keepers,
            hold_minutes,
            open,
        } => {
            let mut updated = state.stores.book(store)?.store.clone();
            if let Some(name) = name {
                updated.name = name.clone();
            }
            if let Some(reimbursed) = reimbursed {
                updated.reimbursed = *reimbursed;
            }
            if let Some(opening) = opening {
                updated.opening = opening.clone();
            }
            if let Some(keepers) = keepers {
                updated.keepers = keepers.iter().cloned().collect();
            }
            if let Some(minutes) = hold_minutes {
                updated.hold_minutes = *minutes;
            }
            if let Some(open) = open {
                updated.open = *open;
            }
            updated
        }
        other => return Err(not_a_store_command(other)),
    };
    if store.name.trim().is_empty() {
        return Err(InputError::InvalidValue {
            field: "name",
            detail: "a store needs a name for its receipts".into(),
        }
        .into());
    }
    store.opening.validate()?;
    if !(1..=MAX_HOLD_MINUTES).contains(&store.hold_minutes) {
        return Err(InputError::InvalidValue {
            field: "hold_minutes",
            detail: format!("a hold lasts 1 to {MAX_HOLD_MINUTES} minutes"),
        }
        .into());
    }
    for keeper in &store.keepers {
        state.actor(keeper)?.require(Role::StoreKeeper)?;
    }
    let result = serde_json::to_value(&store)?;
    let event = if matches!(command, Command::RegisterStore { .. }) {
        Event::StoreRegistered {
            store: Box::new(store),
        }
    } else {
        Event::StoreUpdated {
            store: Box::new(store),
        }
    };
    Ok((vec![event], result))
}

/// The most units one basket line, lot, count or allocation may name: far
/// above any village shelf, and low enough that no sum of them overflows.
pub const MAX_UNITS: i64 = 1_000_000;
/// The highest price per unit, in points or use-count units.
pub const MAX_PRICE: i64 = 100_000;
/// The largest amount of money in yuan one price, cost or donation may state.
pub const MAX_YUAN: i64 = 1_000_000_000;

/// Fails unless `quantity` is a positive count of units up to [`MAX_UNITS`].
pub(crate) fn require_quantity(field: &'static str, quantity: i64) -> Result<(), InputError> {
    if (1..=MAX_UNITS).contains(&quantity) {
        Ok(())
    } else {
        Err(InputError::InvalidValue {
            field,
            detail: format!(
                "a quantity is a whole number of units from 1 to {MAX_UNITS}, got {quantity}"
            ),
        })
    }
}

/// Fails unless `amount` is at least zero (above zero unless `zero_ok`) and at most [`MAX_YUAN`].
pub(crate) fn require_amount(
    field: &'static str,
    amount: Yuan,
    zero_ok: bool,
) -> Result<(), InputError> {
    let low_ok = if zero_ok {
        !amount.0.is_sign_negative()
    } else {
        amount.0 > Decimal::ZERO
    };
    if low_ok && amount.0 <= Decimal::from(MAX_YUAN) {
        Ok(())
    } else {
        Err(InputError::InvalidValue {
            field,
            detail: format!(
                "an amount is {} and at most {MAX_YUAN} yuan, got {amount}",
                if zero_ok {
                    "not negative"
                } else {
                    "above zero"
                }
            ),
        })
    }
}

/// Fails when a text field the audit trail relies on is blank.
pub(crate) fn require_text(field: &'static str, text: &str) -> Result<(), InputError> {
    if text.trim().is_empty() {
        Err(InputError::InvalidValue {
            field,
            detail: "must not be blank".into(),
        })
    } else {
        Ok(())
    }
}
