//! Redemption (兑换): the card and PIN (checked by the engine's PIN protocol
//! before anything here runs), an active household, an open redemption day,
//! approved items in stock, and enough points or use-counts. The household and
//! the stock are debited by one event in one journal record, and the receipt
//! says which lots each unit came from, so reimbursement and donation traces
//! read straight off it. A void, the same day, with a supervisor's approval,
//! is a new record that gives points and stock back.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hold;
use super::item::{require_allowed, Price};
use super::stock::{pick, SourceKind};
use super::{
    require_quantity, require_text, DonationId, HoldId, LotId, ReceiptNumber, Sku, StoreBook,
    StoreError, StoreId, StoreState,
};
use crate::access::Role;
use crate::account::{Account, AccountError};
use crate::card::{Card, CardStatus};
use crate::command::Command;
use crate::engine::{business_date, Context};
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::household::{Household, HouseholdStatus};
use crate::primitives::{ActorId, CardNumber, HouseholdId, Points, VillageCode, Yuan};
use crate::state::State;

/// One line of a basket: an item and how many units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasketLine {
    /// The item.
    pub sku: Sku,
    /// Units wanted.
    pub quantity: i64,
}

/// Units of one line taken from one lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LotUse {
    /// The lot.
    pub lot: LotId,
    /// Units taken from it.
    pub quantity: i64,
    /// Points those units cost.
    pub points: Points,
    /// Donated or purchased.
    pub source: SourceKind,
    /// The purchase cost per unit, for purchased goods.
    pub unit_cost: Option<Yuan>,
    /// The donation behind the goods: donated goods, or the cash that bought them.
    pub donation: Option<DonationId>,
}

/// Use-count units a line costs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UseCountCharge {
    /// The use-count account (e.g. `haircut`).
    pub kind: String,
    /// Units taken from it.
    pub units: i64,
}

/// One line of a receipt or a hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReceiptLine {
    /// The item.
    pub sku: Sku,
    /// Its name.
    pub name: String,
    /// Its category.
    pub category: String,
    /// Its unit.
    pub unit: String,
    /// Units handed out.
    pub quantity: i64,
    /// The approved price per unit.
    pub price: Price,
    /// The approved proposal that set the price.
    pub price_proposal: u32,
    /// Points for the line.
    pub points: Points,
    /// Use-count units for the line, for a use-count price.
    pub use_count: Option<UseCountCharge>,
    /// The lots the units came from, first-expiring first.
    pub lots: Vec<LotUse>,
}

/// A redemption's receipt (兑换小票).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Receipt {
    /// `<store>-<sequence>`.
    pub number: ReceiptNumber,
    /// The store.
    pub store: StoreId,
    /// The store's name, as printed.
    pub store_name: String,
    /// Whether the store was reimbursed in cash when the redemption was made.
    pub reimbursed: bool,
    /// The business date.
    pub date: NaiveDate,
    /// The instant.
    pub at: DateTime<Utc>,
    /// The card presented.
    pub card: CardNumber,
    /// The household debited.
    pub household: HouseholdId,
    /// Its head, as printed.
    pub head: String,
    /// Its village.
    pub village: VillageCode,
    /// The store keeper.
    pub keeper: ActorId,
    /// The lines.
    pub lines: Vec<ReceiptLine>,
    /// Points in all.
    pub points: Points,
    /// Use-count units in all, by kind.
    pub use_counts: BTreeMap<String, i64>,
    /// The household's balance after the redemption.
    pub balance_after: Points,
    /// The household's signature (签字按手印) as the host stored it.
    pub signature_ref: String,
    /// The kiosk hold it committed, if any.
    pub hold: Option<HoldId>,
}

/// Units a void put back into one lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LotReturn {
    /// The lot.
    pub lot: LotId,
    /// The item.
    pub sku: Sku,
    /// Units put back.
    pub quantity: i64,
}

/// A void of a redemption.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Void {
    /// The receipt it undoes.
    pub receipt: ReceiptNumber,
    /// The store.
    pub store: StoreId,
    /// The household given back its points.
    pub household: HouseholdId,
    /// The business date (the redemption's own).
    pub date: NaiveDate,
    /// The instant.
    pub at: DateTime<Utc>,
    /// The store keeper who voided it.
    pub keeper: ActorId,
    /// The supervisor who approved.
    pub supervisor: ActorId,
    /// Why.
    pub reason: String,
    /// Points given back.
    pub points: Points,
    /// Use-count units given back, by kind.
    pub use_counts: BTreeMap<String, i64>,
    /// Units put back, by lot.
    pub lots: Vec<LotReturn>,
    /// The household's balance after the void.
    pub balance_after: Points,
}

/// A redemption as the books keep it: the receipt and its void, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Redemption {
    /// The receipt.
    pub receipt: Receipt,
    /// The void that undid it.
    pub void: Option<Void>,
}

/// A basket priced and picked from stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Basket {
    /// Its lines.
    pub lines: Vec<ReceiptLine>,
    /// Points in all.
    pub points: Points,
    /// Use-count units in all, by kind.
    pub use_counts: BTreeMap<String, i64>,
}

impl Basket {
    fn from_lines(lines: Vec<ReceiptLine>) -> Basket {
        let points = lines.iter().map(|l| l.points).sum();
        let mut use_counts = BTreeMap::new();
        for charge in lines.iter().filter_map(|l| l.use_count.as_ref()) {
            *use_counts.entry(charge.kind.clone()).or_default() += charge.units;
        }
        Basket {
            lines,
            points,
            use_counts,
        }
    }
}

/// Prices a basket at the store's approved prices and picks its units from
/// stock: the store's side of a redemption, judged without the household.
/// The acting keeper must keep the store, the day must be open, every item
/// listed, allowed by the policy in force, approved, and in stock.
pub(crate) fn plan_basket(
    state: &State,
    ctx: &Context,
    store: &StoreId,
    lines: &[BasketLine],
) -> Result<Basket, Error> {
    let book = state.stores.book(store)?;
    book.store.require_keeper(ctx.actor)?;
    let date = ctx.date();
    let policy = state.policies.in_force(date)?;
    book.store.require_redemption_day(policy, date)?;
    if lines.is_empty() {
        return Err(InputError::InvalidValue {
            field: "lines",
            detail: "a basket holds at least one item".into(),
        }
        .into());
    }
    let held = book.held_units(Some(ctx.at));
    let mut taken = BTreeMap::new();
    let mut priced = Vec::with_capacity(lines.len());
    for line in lines {
        require_quantity("quantity", line.quantity)?;
        let item = book.item(&line.sku)?;
        require_allowed(policy, &item.sku, &item.category)?;
        let approved = item.require_approved()?;
        let picked = pick(book, &line.sku, date, &held, &mut taken, line.quantity)?;
        let lots = picked
            .into_iter()
            .map(|(lot, quantity)| lot_use(book, lot, quantity, &approved.price))
            .collect::<Result<_, _>>()?;
        priced.push(ReceiptLine {
            sku: item.sku.clone(),
            name: item.name.clone(),
            category: item.category.clone(),
            unit: item.unit.clone(),
            quantity: line.quantity,
            price: approved.price.clone(),
            price_proposal: approved.number,
            points: approved.price.points_for(line.quantity),
            use_count: approved
                .price
                .use_units_for(line.quantity)
                .map(|(kind, units)| UseCountCharge {
                    kind: kind.to_owned(),
                    units,
                }),
            lots,
        });
    }
    Ok(Basket::from_lines(priced))
}

/// Units taken from a lot, with where the lot came from (for reimbursement and traces).
fn lot_use(
    book: &StoreBook,
    lot: LotId,
    quantity: i64,
    price: &Price,
) -> Result<LotUse, StoreError> {
    let source = &book.lot(&lot)?.source;
    Ok(LotUse {
        points: price.points_for(quantity),
        source: source.kind(),
        unit_cost: source.unit_cost(),
        donation: source.donation().cloned(),
        lot,
        quantity,
    })
}

/// One use-count account: its units, those held by live holds, and those free.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UseCountFunds {
    /// Units in the account.
    pub units: i64,
    /// Units held by live kiosk holds.
    pub held: i64,
    /// Units free to spend.
    pub available: i64,
}

/// A household's points and use-counts, with what live holds keep aside.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Funds {
    /// The account balance.
    pub balance: Points,
    /// Points held by live kiosk holds.
    pub held: Points,
    /// Points free to spend: balance − held.
    pub available: Points,
    /// Use-count accounts by kind.
    pub use_counts: BTreeMap<String, UseCountFunds>,
}

/// The household's funds at `at`, leaving out `except` (a hold being committed).
pub fn funds(
    state: &State,
    household: &HouseholdId,
    account: &Account,
    at: DateTime<Utc>,
    except: Option<&HoldId>,
) -> Funds {
    let mut held = Points::ZERO;
    let mut held_units: BTreeMap<&str, i64> = BTreeMap::new();
    for h in state.stores.household_holds(household, Some(at)) {
        if Some(&h.id) == except {
            continue;
        }
        held += h.points;
        for (kind, units) in &h.use_counts {
            *held_units.entry(kind).or_default() += units;
        }
    }
    let use_counts = account
        .use_counts
        .iter()
        .map(|(kind, units)| {
            let held = held_units.get(kind.as_str()).copied().unwrap_or(0);
            let funds = UseCountFunds {
                units: *units,
                held,
                available: units - held,
            };
            (kind.clone(), funds)
        })
        .collect();
    Funds {
        balance: account.balance,
        held,
        available: account.balance - held,
        use_counts,
    }
}

/// Fails unless the household's free points and use-counts cover the basket.
pub(super) fn require_funds(
    state: &State,
    household: &HouseholdId,
    at: DateTime<Utc>,
    points: Points,
    use_counts: &BTreeMap<String, i64>,
    except: Option<&HoldId>,
) -> Result<Funds, Error> {
    let account = state.account(household)?;
    let funds = funds(state, household, account, at, except);
    if funds.available < points {
        return Err(AccountError::InsufficientPoints {
            household: household.to_string(),
            balance: funds.available.get(),
            needed: points.get(),
        }
        .into());
    }
    for (kind, needed) in use_counts {
        let Some(counts) = funds.use_counts.get(kind) else {
            return Err(AccountError::UnknownUseCountAccount {
                household: household.to_string(),
                kind: kind.clone(),
            }
            .into());
        };
        let available = counts.available;
        if available < *needed {
            return Err(AccountError::InsufficientUseCounts {
                household: household.to_string(),
                kind: kind.clone(),
                units: available,
                needed: *needed,
            }
            .into());
        }
    }
    Ok(funds)
}

/// The card (whose PIN the engine checked) and its active household.
pub(super) fn cardholder<'a>(
    state: &'a State,
    card: &CardNumber,
) -> Result<(&'a Card, &'a Household), Error> {
    let card = state.card(card)?;
    card.require_active()?;
    let household = state.household(&card.household)?;
    household.require_active()?;
    Ok((card, household))
}

/// The receipt for a basket: numbered next in the store's sequence.
pub(super) fn receipt(
    state: &State,
    ctx: &Context,
    book: &StoreBook,
    (card, household): (&Card, &Household),
    basket: Basket,
    signature_ref: &str,
    hold: Option<HoldId>,
) -> Result<Receipt, Error> {
    require_text("signature_ref", signature_ref)?;
    let account = state.account(&household.id)?;
    Ok(Receipt {
        number: ReceiptNumber(format!("{}-{:06}", book.store.id, book.receipts_issued + 1)),
        store: book.store.id.clone(),
        store_name: book.store.name.clone(),
        reimbursed: book.store.reimbursed,
        date: ctx.date(),
        at: ctx.at,
        card: card.number.clone(),
        household: household.id.clone(),
        head: household.head.clone(),
        village: household.region.village.clone(),
        keeper: ctx.actor.id.clone(),
        balance_after: account.balance - basket.points,
        lines: basket.lines,
        points: basket.points,
        use_counts: basket.use_counts,
        signature_ref: signature_ref.to_owned(),
        hold,
    })
}

pub(super) fn decide(
    state: &State,
    ctx: &Context,
    command: &Command,
) -> Result<(Vec<Event>, Value), Error> {
    match command {
        Command::Redeem {
            store,
            card,
            lines,
            signature_ref,
            ..
        } => {
            let basket = plan_basket(state, ctx, store, lines)?;
            let (card, household) = cardholder(state, card)?;
            require_funds(
                state,
                &household.id,
                ctx.at,
                basket.points,
                &basket.use_counts,
                None,
            )?;
            let book = state.stores.book(store)?;
            let receipt = receipt(
                state,
                ctx,
                book,
                (card, household),
                basket,
                signature_ref,
                None,
            )?;
            let mut events = hold::release_expired(state, ctx.at, Some(store), Some(&household.id));
            let result = serde_json::to_value(&receipt)?;
            events.push(Event::Redeemed(Box::new(receipt)));
            Ok((events, result))
        }
        Command::VoidRedemption {
            receipt,
            supervisor,
        } => {
            ctx.require_reason()?;
            let redemption = state.stores.redemption(receipt)?;
            let r = &redemption.receipt;
            state
                .stores
                .book(&r.store)?
                .store
                .require_keeper(ctx.actor)?;
            if redemption.void.is_some() {
                return Err(StoreError::AlreadyVoided {
                    receipt: receipt.to_string(),
                }
                .into());
            }
            if ctx.date() != r.date {
                return Err(StoreError::VoidWindowClosed {
                    receipt: receipt.to_string(),
                    date: r.date,
                    today: ctx.date(),
                }
                .into());
            }
            let approver = state.actor(supervisor)?;
            let why = if supervisor == &ctx.actor.id {
                Some("is the keeper voiding it")
            } else if !approver.roles.contains(&Role::Supervisor) {
                Some("is not a supervisor")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(StoreError::SupervisorRequired {
                    approver: supervisor.to_string(),
                    why,
                }
                .into());
            }
            let account = state.account(&r.household)?;
            let void = Void {
                receipt: receipt.clone(),
                store: r.store.clone(),
                household: r.household.clone(),
                date: ctx.date(),
                at: ctx.at,
                keeper: ctx.actor.id.clone(),
                supervisor: supervisor.clone(),
                reason: ctx.reason.unwrap_or_default().to_owned(),
                points: r.points,
                use_counts: r.use_counts.clone(),
                lots: r
                    .lines
                    .iter()
                    .flat_map(|line| {
                        line.lots.iter().map(|u| LotReturn {
                            lot: u.lot.clone(),
                            sku: line.sku.clone(),
                            quantity: u.quantity,
                        })
                    })
                    .collect(),
                balance_after: account.balance + r.points,
            };
            let result = serde_json::to_value(&void)?;
            Ok((vec![Event::RedemptionVoided(Box::new(void))], result))
        }
        other => Err(super::not_a_store_command(other)),
    }
}

pub(super) fn apply(
    stores: &mut StoreState,
    accounts: &mut BTreeMap<HouseholdId, Account>,
    event: &Event,
) {
    match event {
        Event::Redeemed(receipt) => {
            if let Some(book) = stores.stores.get_mut(&receipt.store) {
                book.receipts_issued += 1;
                for u in receipt.lines.iter().flat_map(|l| &l.lots) {
                    if let Some(lot) = book.lots.get_mut(&u.lot) {
                        lot.redeemed += u.quantity;
                        lot.on_hand -= u.quantity;
                    }
                }
                if let Some(id) = &receipt.hold {
                    book.open_holds.remove(id);
                    if let Some(h) = book.holds.get_mut(id) {
                        h.status = super::hold::HoldStatus::Committed;
                        h.receipt = Some(receipt.number.clone());
                    }
                }
            }
            accounts
                .entry(receipt.household.clone())
                .or_default()
                .apply_redemption(receipt.date, receipt.points, &receipt.use_counts);
            stores.receipts.insert(
                receipt.number.clone(),
                Redemption {
                    receipt: (**receipt).clone(),
                    void: None,
                },
            );
        }
        Event::RedemptionVoided(void) => {
            for r in &void.lots {
                if let Some(lot) = super::stock::lot_mut(stores, &void.store, &r.lot) {
                    lot.returned += r.quantity;
                    lot.on_hand += r.quantity;
                }
            }
            accounts
                .entry(void.household.clone())
                .or_default()
                .apply_void(void.date, void.points, &void.use_counts);
            if let Some(redemption) = stores.receipts.get_mut(&void.receipt) {
                redemption.void = Some((**void).clone());
            }
        }
        _ => {}
    }
}

/// Receipts add up line by line and lot by lot; each lot's redeemed and
/// returned units match the receipts and voids that name it; each household's
/// redeemed total equals its receipts less its voids; no use-count goes negative.
pub(super) fn check(
    stores: &StoreState,
    accounts: &BTreeMap<HouseholdId, Account>,
) -> Result<(), String> {
    let mut redeemed: BTreeMap<&HouseholdId, Points> = BTreeMap::new();
    let mut lot_out: BTreeMap<&LotId, i64> = BTreeMap::new();
    let mut lot_back: BTreeMap<&LotId, i64> = BTreeMap::new();
    let mut issued: BTreeMap<&StoreId, u64> = BTreeMap::new();
    for (number, Redemption { receipt, void }) in &stores.receipts {
        *issued.entry(&receipt.store).or_default() += 1;
        let mut total = Points::ZERO;
        for line in &receipt.lines {
            let units: i64 = line.lots.iter().map(|u| u.quantity).sum();
            let points: Points = line.lots.iter().map(|u| u.points).sum();
            if units != line.quantity
                || points != line.points
                || line.price.points_for(line.quantity) != line.points
            {
                return Err(format!(
                    "receipt {number}: line {} does not add up",
                    line.sku
                ));
            }
            for u in &line.lots {
                *lot_out.entry(&u.lot).or_default() += u.quantity;
            }
            total += line.points;
        }
        if total != receipt.points {
            return Err(format!(
                "receipt {number}: lines add up to {total}, not {}",
                receipt.points
            ));
        }
        *redeemed.entry(&receipt.household).or_default() += receipt.points;
        if let Some(void) = void {
            if void.points != receipt.points || void.household != receipt.household {
                return Err(format!(
                    "receipt {number}: its void does not give back what it took"
                ));
            }
            for r in &void.lots {
                *lot_back.entry(&r.lot).or_default() += r.quantity;
            }
            *redeemed.entry(&receipt.household).or_default() -= void.points;
        }
    }
    for (household, account) in accounts {
        let expected = redeemed.get(household).copied().unwrap_or_default();
        if account.totals.redeemed != expected {
            return Err(format!(
                "{household}: redeemed {} but receipts less voids are {expected}",
                account.totals.redeemed
            ));
        }
        if let Some((kind, units)) = account.use_counts.iter().find(|(_, u)| **u < 0) {
            return Err(format!("{household}: use-count {kind} is {units}"));
        }
    }
    for book in stores.stores.values() {
        if issued.get(&book.store.id).copied().unwrap_or(0) != book.receipts_issued {
            return Err(format!(
                "store {}: receipt count does not match",
                book.store.id
            ));
        }
        for lot in book.lots.values() {
            if lot.redeemed != lot_out.get(&lot.id).copied().unwrap_or(0)
                || lot.returned != lot_back.get(&lot.id).copied().unwrap_or(0)
            {
                return Err(format!(
                    "lot {}: redeemed or returned units do not match the receipts",
                    lot.id
                ));
            }
        }
    }
    Ok(())
}

/// An item a household could take now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RedeemableItem {
    /// The item.
    pub sku: Sku,
    /// Its name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// Its approved price.
    pub price: Price,
    /// Unexpired units not held.
    pub in_stock: i64,
    /// The most units the household can take: stock and free points or use-counts allowing.
    pub max_quantity: i64,
}

/// What a kiosk shows after reading a card.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CardView {
    /// The store.
    pub store: StoreId,
    /// The card read.
    pub card: CardNumber,
    /// Its status (a locked or lost card cannot redeem).
    pub card_status: CardStatus,
    /// Its household.
    pub household: HouseholdId,
    /// The head of household.
    pub head: String,
    /// The household's status.
    pub household_status: HouseholdStatus,
    /// Points and use-counts: balance, held, available.
    #[serde(flatten)]
    pub funds: Funds,
    /// Whether the store redeems today.
    pub open: bool,
    /// Why not, when it does not.
    pub closed_because: Option<String>,
    /// Items the household could take now.
    pub items: Vec<RedeemableItem>,
}

/// What a kiosk shows after the card is read: the card and household, the
/// points and use-counts free to spend at `at`, whether the store redeems
/// today, and each item the household could take now with the most units it
/// could afford from free stock.
pub fn card_view(
    state: &State,
    store: &StoreId,
    card: &CardNumber,
    at: DateTime<Utc>,
) -> Result<CardView, Error> {
    let book = state.stores.book(store)?;
    let c = state.card(card)?;
    let household = state.household(&c.household)?;
    let account = state.account(&household.id)?;
    let date = business_date(at);
    let policy = state.policies.in_force(date)?;
    let funds = funds(state, &household.id, account, at, None);
    let closed = book.store.require_redemption_day(policy, date).err();
    let held = book.held_units(Some(at));
    let mut items = Vec::new();
    for item in book.items.values() {
        let Some(approved) = item.approved() else {
            continue;
        };
        if require_allowed(policy, &item.sku, &item.category).is_err() {
            continue;
        }
        let in_stock: i64 = book
            .lots
            .values()
            .filter(|lot| lot.sku == item.sku && !lot.is_expired(date))
            .map(|lot| lot.on_hand - held.get(&lot.id).copied().unwrap_or(0))
            .sum();
        if in_stock <= 0 {
            continue;
        }
        let affordable = match &approved.price {
            Price::Points(points) => funds.available.get().max(0) / points.get(),
            Price::UseCount { kind, units } => {
                funds.use_counts.get(kind).map_or(0, |c| c.available.max(0)) / units
            }
        };
        items.push(RedeemableItem {
            sku: item.sku.clone(),
            name: item.name.clone(),
            unit: item.unit.clone(),
            price: approved.price.clone(),
            in_stock,
            max_quantity: affordable.min(in_stock),
        });
    }
    Ok(CardView {
        store: store.clone(),
        card: card.clone(),
        card_status: c.status,
        household: household.id.clone(),
        head: household.head.clone(),
        household_status: household.status,
        funds,
        open: closed.is_none(),
        closed_because: closed.map(|e| e.to_string()),
        items,
    })
}
