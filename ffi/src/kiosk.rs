//! The kiosk's typed calls: look up a card, check its PIN and read the
//! balance, list what the household can take, reserve, commit, cancel, redeem
//! in one step, void, reprint a receipt, and drain the notification outbox.
//! Each wraps one call of `jifen::store::kiosk`; no rule lives here.
//!
//! Fixed-size answers are `#[repr(C)]` structs. Answers of variable length
//! (the redeemable items, a receipt's lines, the notifications) are JSON
//! strings. Structs that hold strings own them: release them with their
//! `_clear` function.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, CString};
use std::ptr;

use chrono::{DateTime, Utc};
use jifen_core::card::CardStatus;
use jifen_core::household::HouseholdStatus;
use jifen_core::primitives::{ActorId, CardNumber};
use jifen_core::store::hold::Hold;
use jifen_core::store::kiosk::{self, Call};
use jifen_core::store::redemption::{BasketLine, Receipt, Redemption};
use jifen_core::store::{HoldId, ReceiptNumber, StoreId};
use jifen_core::{Error, ErrorCode};

use crate::boundary::{boundary, c_string, slice_arg, write_out};
use crate::engine::jf_engine;

/// Who makes a call that records something, when, and under which key.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_call {
    /// The store keeper's (or the kiosk's) actor id. Required.
    pub actor: *const c_char,
    /// When, in Unix seconds; 0 means now. Its date in China is the business date.
    pub at_unix: i64,
    /// An idempotency key, or NULL: a retry with the same key and call
    /// returns the first answer and records nothing.
    pub idempotency_key: *const c_char,
    /// Why, for the audit trail, or NULL. Read by the calls that record a
    /// reason: `jf_kiosk_void_receipt` (which needs one) and
    /// `jf_statement_record_payment`.
    pub reason: *const c_char,
}

/// Where a card stands.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jf_card_status {
    /// In use.
    Active = 0,
    /// Locked by wrong PINs or an administrator; the village office unlocks it.
    Locked = 1,
    /// Reported lost; can only be replaced or cancelled.
    ReportedLost = 2,
    /// Replaced by a new card.
    Replaced = 3,
    /// Cancelled.
    Cancelled = 4,
}

impl From<CardStatus> for jf_card_status {
    fn from(status: CardStatus) -> jf_card_status {
        match status {
            CardStatus::Active => jf_card_status::Active,
            CardStatus::Locked => jf_card_status::Locked,
            CardStatus::ReportedLost => jf_card_status::ReportedLost,
            CardStatus::Replaced => jf_card_status::Replaced,
            CardStatus::Cancelled => jf_card_status::Cancelled,
        }
    }
}

/// A household's points as a kiosk shows them.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct jf_kiosk_funds {
    /// The account balance.
    pub balance: i64,
    /// Points kept aside by live kiosk holds.
    pub held: i64,
    /// Points free to spend: balance − held.
    pub available: i64,
}

/// What a kiosk shows after reading a card (no PIN needed). Owns its strings:
/// release with `jf_kiosk_card_clear`.
#[repr(C)]
#[derive(Debug)]
pub struct jf_kiosk_card {
    /// The household's id.
    pub household: *mut c_char,
    /// The head of household, as printed.
    pub head: *mut c_char,
    /// The card's status (only an active card redeems).
    pub card_status: jf_card_status,
    /// Whether the household is active (a suspended or exited one cannot redeem).
    pub household_active: bool,
    /// Whether the store redeems at the time asked.
    pub store_open: bool,
    /// Why not, when it does not; NULL when open.
    pub closed_because: *mut c_char,
    /// The points.
    pub funds: jf_kiosk_funds,
    /// How many items the household could take now (listed by `jf_kiosk_items`).
    pub item_count: usize,
}

/// One line of a basket: an item and how many units.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_basket_line {
    /// The item's SKU.
    pub sku: *const c_char,
    /// Units wanted (at least 1).
    pub quantity: i64,
}

/// Points and stock held for a household while it confirms. Owns its id:
/// release with `jf_kiosk_hold_clear`.
#[repr(C)]
#[derive(Debug)]
pub struct jf_kiosk_hold {
    /// The hold's id (`<store>-H<sequence>`), to commit or cancel it.
    pub id: *mut c_char,
    /// Points held.
    pub points: i64,
    /// When it stops holding, in Unix seconds.
    pub expires_at_unix: i64,
    /// Lines in the basket.
    pub line_count: usize,
}

/// A receipt (兑换小票). Owns its strings: release with `jf_kiosk_receipt_clear`.
#[repr(C)]
#[derive(Debug)]
pub struct jf_kiosk_receipt {
    /// `<store>-<sequence>`.
    pub number: *mut c_char,
    /// The store's name, as printed.
    pub store_name: *mut c_char,
    /// The household debited.
    pub household: *mut c_char,
    /// Its head, as printed.
    pub head: *mut c_char,
    /// The business date, `YYYY-MM-DD`.
    pub date: *mut c_char,
    /// The instant, in Unix seconds.
    pub at_unix: i64,
    /// Points in all.
    pub points: i64,
    /// Units handed out in all.
    pub units: i64,
    /// The household's balance after the redemption.
    pub balance_after: i64,
    /// Lines on the receipt.
    pub line_count: usize,
    /// Whether the receipt was voided (only `jf_kiosk_reprint` can say so).
    pub voided: bool,
    /// The whole receipt as JSON (its lines with names, units, prices and
    /// lots; use-counts; and `"void"` when voided), for printing the details.
    pub json: *mut c_char,
}

/// What a void gave back.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct jf_kiosk_void {
    /// Points given back.
    pub points: i64,
    /// The household's balance after the void.
    pub balance_after: i64,
}

/// An instant given in Unix seconds, 0 meaning now.
pub(crate) fn instant(
    engine: &jf_engine,
    at_unix: i64,
) -> Result<Option<DateTime<Utc>>, ErrorCode> {
    if at_unix == 0 {
        return Ok(None);
    }
    DateTime::from_timestamp(at_unix, 0)
        .map(Some)
        .ok_or_else(|| {
            engine.fail(
                ErrorCode::InvalidValue,
                format!("at_unix {at_unix} is outside the dates the engine knows"),
            )
        })
}

/// A `jf_call` as the core's call.
///
/// # Safety
/// The actor is NUL-terminated; the key is NULL or NUL-terminated.
pub(crate) unsafe fn call_arg(engine: &jf_engine, call: &jf_call) -> Result<Call, ErrorCode> {
    // SAFETY: the caller's contract, for each string.
    let mut made = Call::new(unsafe { engine.text(call.actor, "actor") }?);
    if let Some(at) = instant(engine, call.at_unix)? {
        made = made.at(at);
    }
    if !call.idempotency_key.is_null() {
        made = made.key(unsafe { engine.text(call.idempotency_key, "idempotency key") }?);
    }
    Ok(made)
}

/// A `jf_call`'s reason, if given.
///
/// # Safety
/// The reason is NULL or a NUL-terminated string.
pub(crate) unsafe fn reason_arg<'a>(
    engine: &jf_engine,
    call: &jf_call,
) -> Result<Option<&'a str>, ErrorCode> {
    if call.reason.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's contract.
    unsafe { engine.text(call.reason, "reason") }.map(Some)
}

/// A C basket as the core's lines.
///
/// # Safety
/// `lines` points to `len` basket lines with NUL-terminated SKUs.
unsafe fn basket_arg(
    engine: &jf_engine,
    lines: *const jf_basket_line,
    len: usize,
) -> Result<Vec<BasketLine>, ErrorCode> {
    // SAFETY: the caller's contract.
    let lines = unsafe { slice_arg(lines, len) }?;
    lines
        .iter()
        .map(|line| {
            Ok(BasketLine {
                // SAFETY: the caller's contract.
                sku: unsafe { engine.text(line.sku, "sku") }?.into(),
                quantity: line.quantity,
            })
        })
        .collect()
}

fn owned(text: impl ToString) -> *mut c_char {
    c_string(text.to_string()).into_raw()
}

fn funds(balance: i64, held: i64, available: i64) -> jf_kiosk_funds {
    jf_kiosk_funds {
        balance,
        held,
        available,
    }
}

fn hold_answer(hold: &Hold) -> jf_kiosk_hold {
    jf_kiosk_hold {
        id: owned(&hold.id),
        points: hold.points.get(),
        expires_at_unix: hold.expires_at.timestamp(),
        line_count: hold.lines.len(),
    }
}

fn receipt_answer(
    engine: &jf_engine,
    redemption: &Redemption,
) -> Result<jf_kiosk_receipt, ErrorCode> {
    let receipt: &Receipt = &redemption.receipt;
    let json = if redemption.void.is_some() {
        serde_json::to_string(redemption)
    } else {
        serde_json::to_string(receipt)
    }
    .map_err(|error| engine.fail_with(&Error::from(error)))?;
    Ok(jf_kiosk_receipt {
        number: owned(&receipt.number),
        store_name: owned(&receipt.store_name),
        household: owned(&receipt.household),
        head: owned(&receipt.head),
        date: owned(receipt.date),
        at_unix: receipt.at.timestamp(),
        points: receipt.points.get(),
        units: receipt.lines.iter().map(|line| line.quantity).sum(),
        balance_after: receipt.balance_after.get(),
        line_count: receipt.lines.len(),
        voided: redemption.void.is_some(),
        json: owned(json),
    })
}

/// Frees one owned string member and sets it to NULL.
fn release(field: &mut *mut c_char) {
    let text = std::mem::replace(field, ptr::null_mut());
    if !text.is_null() {
        // SAFETY: made by CString::into_raw in this module, released once
        // (the member is NULL afterwards).
        drop(unsafe { CString::from_raw(text) });
    }
}

/// Borrows the engine handle.
///
/// # Safety
/// `engine` is a live handle.
unsafe fn live<'a>(engine: *mut jf_engine) -> &'a jf_engine {
    // SAFETY: only shared references are ever made to a live handle.
    unsafe { &*engine }
}

/// Looks up a card at a store without its PIN (nothing is recorded): who holds
/// it, its status, the points, whether the store redeems at `at_unix`
/// (Unix seconds, 0 for now) and how many items the household could take.
/// On success `*card_out` is filled; release it with `jf_kiosk_card_clear`.
///
/// # Safety
/// `engine` is a live handle; `store` and `card` are NUL-terminated strings;
/// `card_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_look_up_card(
    engine: *mut jf_engine,
    store: *const c_char,
    card: *const c_char,
    at_unix: i64,
    card_out: *mut jf_kiosk_card,
) -> ErrorCode {
    boundary!(non_null(engine, store, card, card_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let store = StoreId::from(unsafe { engine.text(store, "store") }?);
        let card = CardNumber::from(unsafe { engine.text(card, "card") }?);
        let at = instant(engine, at_unix)?;
        let view = kiosk::card_view(&engine.engine, &store, &card, at)
            .map_err(|error| engine.fail_with(&error))?;
        let answer = jf_kiosk_card {
            household: owned(&view.household),
            head: owned(&view.head),
            card_status: view.card_status.into(),
            household_active: view.household_status == HouseholdStatus::Active,
            store_open: view.open,
            closed_because: view.closed_because.map_or(ptr::null_mut(), owned),
            funds: funds(
                view.funds.balance.get(),
                view.funds.held.get(),
                view.funds.available.get(),
            ),
            item_count: view.items.len(),
        };
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(card_out, answer) }
    })
}

/// Lists the items the household could take at `store` at `at_unix` (Unix
/// seconds, 0 for now), as a JSON array (variable length, so JSON): each
/// `{"sku", "name", "unit", "price": {"points": n} or {"use_count": {"kind",
/// "units"}}, "in_stock", "max_quantity"}`. Free `*items_json_out` with
/// `jf_string_free`.
///
/// # Safety
/// `engine` is a live handle; `store` and `card` are NUL-terminated strings;
/// `items_json_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_items(
    engine: *mut jf_engine,
    store: *const c_char,
    card: *const c_char,
    at_unix: i64,
    items_json_out: *mut *mut c_char,
) -> ErrorCode {
    boundary!(non_null(engine, store, card, items_json_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let store = StoreId::from(unsafe { engine.text(store, "store") }?);
        let card = CardNumber::from(unsafe { engine.text(card, "card") }?);
        let at = instant(engine, at_unix)?;
        let view = kiosk::card_view(&engine.engine, &store, &card, at)
            .map_err(|error| engine.fail_with(&error))?;
        let json = serde_json::to_string(&view.items)
            .map_err(|error| engine.fail_with(&Error::from(error)))?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(items_json_out, owned(json)) }
    })
}

/// Checks the card's PIN (a wrong one returns `JF_STATUS_WRONG_PIN` and counts
/// toward the lock; the attempt is recorded either way) and reads the points.
///
/// # Safety
/// `engine` is a live handle; `call` points to a `jf_call`; `card` and
/// `pin` are NUL-terminated strings; `funds_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_check_card(
    engine: *mut jf_engine,
    call: *const jf_call,
    card: *const c_char,
    pin: *const c_char,
    funds_out: *mut jf_kiosk_funds,
) -> ErrorCode {
    boundary!(non_null(engine, call, card, pin, funds_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let call = unsafe { call_arg(engine, &*call) }?;
        let card = CardNumber::from(unsafe { engine.text(card, "card") }?);
        let pin = unsafe { engine.text(pin, "PIN") }?;
        let check = kiosk::check_card(&engine.engine, &call, &card, pin)
            .map_err(|error| engine.fail_with(&error))?;
        let answer = funds(check.balance.get(), check.held.get(), check.available.get());
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(funds_out, answer) }
    })
}

/// Holds points and stock for a basket (`lines_len` lines; `lines` NULL only
/// when 0) while the household confirms; the PIN is checked as in
/// `jf_kiosk_check_card`. Commit or cancel the hold by its id before it
/// expires. Release `*hold_out` with `jf_kiosk_hold_clear`.
///
/// # Safety
/// `engine` is a live handle; `call` points to a `jf_call`; `store`,
/// `card` and `pin` are NUL-terminated strings; `lines` points to `lines_len`
/// lines; `hold_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_reserve(
    engine: *mut jf_engine,
    call: *const jf_call,
    store: *const c_char,
    card: *const c_char,
    pin: *const c_char,
    lines: *const jf_basket_line,
    lines_len: usize,
    hold_out: *mut jf_kiosk_hold,
) -> ErrorCode {
    boundary!(non_null(engine, call, store, card, pin, hold_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let call = unsafe { call_arg(engine, &*call) }?;
        let store = StoreId::from(unsafe { engine.text(store, "store") }?);
        let card = CardNumber::from(unsafe { engine.text(card, "card") }?);
        let pin = unsafe { engine.text(pin, "PIN") }?;
        let lines = unsafe { basket_arg(engine, lines, lines_len) }?;
        let hold = kiosk::reserve(&engine.engine, &call, &store, &card, pin, lines)
            .map_err(|error| engine.fail_with(&error))?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(hold_out, hold_answer(&hold)) }
    })
}

/// Turns a live hold into a redemption; `signature_ref` is the household's
/// signature (签字按手印) as the host stored it. Release `*receipt_out` with
/// `jf_kiosk_receipt_clear`.
///
/// # Safety
/// `engine` is a live handle; `call` points to a `jf_call`; `hold` and
/// `signature_ref` are NUL-terminated strings; `receipt_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_commit(
    engine: *mut jf_engine,
    call: *const jf_call,
    hold: *const c_char,
    signature_ref: *const c_char,
    receipt_out: *mut jf_kiosk_receipt,
) -> ErrorCode {
    boundary!(non_null(engine, call, hold, signature_ref, receipt_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let call = unsafe { call_arg(engine, &*call) }?;
        let hold = HoldId::from(unsafe { engine.text(hold, "hold") }?);
        let signature = unsafe { engine.text(signature_ref, "signature reference") }?;
        let receipt = kiosk::commit(&engine.engine, &call, &hold, signature)
            .map_err(|error| engine.fail_with(&error))?;
        let answer = receipt_answer(engine, &Redemption { receipt, void: None })?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(receipt_out, answer) }
    })
}

/// Redeems a basket in one step (no hold): the PIN is checked, points and
/// stock are taken, and the receipt returned. Release `*receipt_out` with
/// `jf_kiosk_receipt_clear`.
///
/// # Safety
/// As `jf_kiosk_reserve`, and `signature_ref` is a NUL-terminated string and
/// `receipt_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_redeem(
    engine: *mut jf_engine,
    call: *const jf_call,
    store: *const c_char,
    card: *const c_char,
    pin: *const c_char,
    lines: *const jf_basket_line,
    lines_len: usize,
    signature_ref: *const c_char,
    receipt_out: *mut jf_kiosk_receipt,
) -> ErrorCode {
    boundary!(non_null(engine, call, store, card, pin, signature_ref, receipt_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let call = unsafe { call_arg(engine, &*call) }?;
        let store = StoreId::from(unsafe { engine.text(store, "store") }?);
        let card = CardNumber::from(unsafe { engine.text(card, "card") }?);
        let pin = unsafe { engine.text(pin, "PIN") }?;
        let lines = unsafe { basket_arg(engine, lines, lines_len) }?;
        let signature = unsafe { engine.text(signature_ref, "signature reference") }?;
        let receipt = kiosk::redeem(&engine.engine, &call, &store, &card, pin, lines, signature)
            .map_err(|error| engine.fail_with(&error))?;
        let answer = receipt_answer(engine, &Redemption { receipt, void: None })?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(receipt_out, answer) }
    })
}

/// Lets a live hold go: its points and stock are free again.
///
/// # Safety
/// `engine` is a live handle; `call` points to a `jf_call`; `hold` is a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_cancel(
    engine: *mut jf_engine,
    call: *const jf_call,
    hold: *const c_char,
) -> ErrorCode {
    boundary!(non_null(engine, call, hold) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let call = unsafe { call_arg(engine, &*call) }?;
        let hold = HoldId::from(unsafe { engine.text(hold, "hold") }?);
        kiosk::cancel(&engine.engine, &call, &hold).map_err(|error| engine.fail_with(&error))
    })
}

/// Voids a receipt on the day it was made: the store keeper calls, another
/// person (`supervisor`) approves, and `call->reason` says why (required).
/// Points and stock go back.
///
/// # Safety
/// `engine` is a live handle; `call` points to a `jf_call`; `receipt`
/// and `supervisor` are NUL-terminated strings; `void_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_void_receipt(
    engine: *mut jf_engine,
    call: *const jf_call,
    receipt: *const c_char,
    supervisor: *const c_char,
    void_out: *mut jf_kiosk_void,
) -> ErrorCode {
    boundary!(non_null(engine, call, receipt, supervisor, void_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let reason = unsafe { reason_arg(engine, &*call) }?;
        let call = unsafe { call_arg(engine, &*call) }?;
        let receipt = ReceiptNumber::from(unsafe { engine.text(receipt, "receipt") }?);
        let supervisor = ActorId(unsafe { engine.text(supervisor, "supervisor") }?.to_owned());
        let void = kiosk::void(&engine.engine, &call, &receipt, &supervisor, reason)
            .map_err(|error| engine.fail_with(&error))?;
        let answer = jf_kiosk_void {
            points: void.points.get(),
            balance_after: void.balance_after.get(),
        };
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(void_out, answer) }
    })
}

/// Reads a receipt to reprint it, with `voided` set when it was voided.
/// Records nothing. Release `*receipt_out` with `jf_kiosk_receipt_clear`.
///
/// # Safety
/// `engine` is a live handle; `number` is a NUL-terminated string;
/// `receipt_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_reprint(
    engine: *mut jf_engine,
    number: *const c_char,
    receipt_out: *mut jf_kiosk_receipt,
) -> ErrorCode {
    boundary!(non_null(engine, number, receipt_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let number = ReceiptNumber::from(unsafe { engine.text(number, "receipt") }?);
        let redemption =
            kiosk::receipt(&engine.engine, &number).map_err(|error| engine.fail_with(&error))?;
        let answer = receipt_answer(engine, &redemption)?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(receipt_out, answer) }
    })
}

/// Takes up to `limit` pending notifications (0: all) for the host to send,
/// and records that they were taken, so each is handed out once. The answer is
/// JSON (variable length): `{"notifications": [{"id", "seq", "kind",
/// "household", "card", "text"}, …], "remaining": n}`. The caller must be an
/// administrator. Free `*notifications_json_out` with `jf_string_free`.
///
/// # Safety
/// `engine` is a live handle; `call` points to a `jf_call`;
/// `notifications_json_out` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_take_notifications(
    engine: *mut jf_engine,
    call: *const jf_call,
    limit: u32,
    notifications_json_out: *mut *mut c_char,
) -> ErrorCode {
    boundary!(non_null(engine, call, notifications_json_out) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { live(engine) };
        let call = unsafe { call_arg(engine, &*call) }?;
        let limit = (limit != 0).then_some(limit);
        let taken = kiosk::take_notifications(&engine.engine, &call, limit)
            .map_err(|error| engine.fail_with(&error))?;
        let json = serde_json::to_string(&taken)
            .map_err(|error| engine.fail_with(&Error::from(error)))?;
        // SAFETY: writable by the caller's contract.
        unsafe { write_out(notifications_json_out, owned(json)) }
    })
}

/// Frees the strings a `jf_kiosk_card` owns and sets them to NULL, so a
/// second clear does nothing. NULL does nothing.
///
/// # Safety
/// `card` is NULL or a struct filled by `jf_kiosk_look_up_card` (or cleared).
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_card_clear(card: *mut jf_kiosk_card) {
    boundary!(non_null(card) {
        // SAFETY: the caller's contract.
        let card = unsafe { &mut *card };
        release(&mut card.household);
        release(&mut card.head);
        release(&mut card.closed_because);
    })
}

/// Frees the id a `jf_kiosk_hold` owns and sets it to NULL. NULL does nothing.
///
/// # Safety
/// `hold` is NULL or a struct filled by `jf_kiosk_reserve` (or cleared).
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_hold_clear(hold: *mut jf_kiosk_hold) {
    boundary!(non_null(hold) {
        // SAFETY: the caller's contract.
        release(&mut unsafe { &mut *hold }.id);
    })
}

/// Frees the strings a `jf_kiosk_receipt` owns and sets them to NULL.
/// NULL does nothing.
///
/// # Safety
/// `receipt` is NULL or a struct filled by this library (or cleared).
#[no_mangle]
pub unsafe extern "C" fn jf_kiosk_receipt_clear(receipt: *mut jf_kiosk_receipt) {
    boundary!(non_null(receipt) {
        // SAFETY: the caller's contract.
        let receipt = unsafe { &mut *receipt };
        for field in [
            &mut receipt.number,
            &mut receipt.store_name,
            &mut receipt.household,
            &mut receipt.head,
            &mut receipt.date,
            &mut receipt.json,
        ] {
            release(field);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::jf_engine_free;
    use crate::testing::{execute, last_error, open, text};
    use std::ffi::CStr;

    /// 2025-03-10T02:00:00Z, a Monday, in Unix seconds.
    const MORNING: i64 = 1_741_572_000;
    const REGION: &str = r#"{"county": "469025", "township": "T01", "village": "V01"}"#;

    fn setup() -> Vec<String> {
        let actor = |id: &str, role: &str| {
            format!(
                r#"{{"actor": "admin", "command": {{"type": "register_actor", "actor": {{"id": "{id}", "roles": ["{role}"]}}}}}}"#
            )
        };
        let at = r#""at": "2025-03-10T02:00:00Z""#;
        vec![
            actor("admin", "administrator"),
            actor("keeper", "store_keeper"),
            actor("county", "county_office"),
            actor("bureau", "price_bureau"),
            actor("sup", "supervisor"),
            format!(r#"{{"actor": "admin", "command": {{"type": "register_household", "household": "H1", "region": {REGION}, "head": "户主H1", "category": "poor", "category_from": "2025-01-01"}}}}"#),
            r#"{"actor": "admin", "command": {"type": "issue_card", "card": "C1", "household": "H1", "pin": "123456"}}"#.into(),
            r#"{"actor": "admin", "reason": "import", "command": {"type": "post_award", "household": "H1", "date": "2025-03-05", "points": 100}}"#.into(),
            format!(r#"{{"actor": "admin", "command": {{"type": "register_store", "store": "S1", "name": "七坊村超市", "kind": "village_store", "region": {REGION}, "reimbursed": true, "keepers": ["keeper"], "hold_minutes": 5}}}}"#),
            format!(r#"{{"actor": "keeper", {at}, "command": {{"type": "list_item", "store": "S1", "sku": "RICE", "name": "大米5kg", "category": "grain", "unit": "袋"}}}}"#),
            format!(r#"{{"actor": "keeper", {at}, "command": {{"type": "propose_price", "store": "S1", "sku": "RICE", "price": {{"points": 10}}, "market_price": "10.00"}}}}"#),
            format!(r#"{{"actor": "county", {at}, "command": {{"type": "forward_price", "store": "S1", "sku": "RICE", "proposal": 1}}}}"#),
            format!(r#"{{"actor": "bureau", {at}, "command": {{"type": "approve_price", "store": "S1", "sku": "RICE", "proposal": 1}}}}"#),
            format!(r#"{{"actor": "keeper", {at}, "command": {{"type": "receive_stock", "store": "S1", "sku": "RICE", "quantity": 20, "source": {{"kind": "purchased", "purchase_ref": "PO-1", "unit_cost": "8.50"}}, "expires": "2025-12-31"}}}}"#),
        ]
    }

    fn kiosk_engine() -> *mut jf_engine {
        let engine = open(c"baisha-2019");
        for request in setup() {
            execute(engine, &request);
        }
        engine
    }

    fn call(actor: &CStr, minute: i64) -> jf_call {
        jf_call {
            actor: actor.as_ptr(),
            at_unix: MORNING + 60 * minute,
            idempotency_key: ptr::null(),
            reason: ptr::null(),
        }
    }

    fn rice(quantity: i64) -> [jf_basket_line; 1] {
        [jf_basket_line {
            sku: c"RICE".as_ptr(),
            quantity,
        }]
    }

    const NO_FUNDS: jf_kiosk_funds = jf_kiosk_funds {
        balance: -1,
        held: -1,
        available: -1,
    };

    #[test]
    fn a_counter_session_through_the_typed_calls() {
        let engine = kiosk_engine();
        let keeper = c"keeper";

        let mut card: jf_kiosk_card = unsafe { std::mem::zeroed() };
        let status = unsafe {
            jf_kiosk_look_up_card(engine, c"S1".as_ptr(), c"C1".as_ptr(), MORNING, &mut card)
        };
        assert_eq!(status, ErrorCode::Ok);
        assert_eq!(
            (text(card.household), text(card.head)),
            ("H1".into(), "户主H1".into())
        );
        assert_eq!(card.card_status, jf_card_status::Active);
        assert!(card.household_active && card.store_open && card.closed_because.is_null());
        assert_eq!(card.funds, funds(100, 0, 100));
        assert_eq!(card.item_count, 1);
        unsafe { jf_kiosk_card_clear(&mut card) };
        assert!(card.household.is_null() && card.head.is_null());
        unsafe { jf_kiosk_card_clear(&mut card) };

        let mut items = ptr::null_mut();
        let status =
            unsafe { jf_kiosk_items(engine, c"S1".as_ptr(), c"C1".as_ptr(), MORNING, &mut items) };
        assert_eq!(status, ErrorCode::Ok);
        let listed: serde_json::Value = serde_json::from_str(&text(items)).expect("JSON");
        assert_eq!(listed[0]["sku"], "RICE");
        assert_eq!(listed[0]["max_quantity"], 10);
        unsafe { crate::jf_string_free(items) };

        let mut checked = NO_FUNDS;
        let status = unsafe {
            jf_kiosk_check_card(
                engine,
                &call(keeper, 0),
                c"C1".as_ptr(),
                c"000000".as_ptr(),
                &mut checked,
            )
        };
        assert_eq!(status, ErrorCode::WrongPin);
        assert_eq!(checked, NO_FUNDS, "written only on success");
        let status = unsafe {
            jf_kiosk_check_card(
                engine,
                &call(keeper, 0),
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                &mut checked,
            )
        };
        assert_eq!(status, ErrorCode::Ok);
        assert_eq!(checked, funds(100, 0, 100));

        let basket = rice(4);
        let mut hold: jf_kiosk_hold = unsafe { std::mem::zeroed() };
        let status = unsafe {
            jf_kiosk_reserve(
                engine,
                &call(keeper, 1),
                c"S1".as_ptr(),
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                basket.as_ptr(),
                basket.len(),
                &mut hold,
            )
        };
        assert_eq!(status, ErrorCode::Ok);
        assert_eq!(
            (text(hold.id), hold.points, hold.line_count),
            ("S1-H0001".into(), 40, 1)
        );
        assert_eq!(hold.expires_at_unix, MORNING + 60 + 5 * 60);
        let status = unsafe {
            jf_kiosk_check_card(
                engine,
                &call(keeper, 2),
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                &mut checked,
            )
        };
        assert_eq!(status, ErrorCode::Ok);
        assert_eq!(
            checked,
            funds(100, 40, 60),
            "the hold keeps its points aside"
        );

        let mut keyed = call(keeper, 3);
        keyed.idempotency_key = c"kiosk-1".as_ptr();
        let mut receipt: jf_kiosk_receipt = unsafe { std::mem::zeroed() };
        let status =
            unsafe { jf_kiosk_commit(engine, &keyed, hold.id, c"SIG-1".as_ptr(), &mut receipt) };
        assert_eq!(status, ErrorCode::Ok);
        assert_eq!(text(receipt.number), "S1-000001");
        assert_eq!(text(receipt.date), "2025-03-10");
        assert_eq!(
            (receipt.points, receipt.units, receipt.balance_after),
            (40, 4, 60)
        );
        assert_eq!((receipt.line_count, receipt.voided), (1, false));
        let detail: serde_json::Value = serde_json::from_str(&text(receipt.json)).expect("JSON");
        assert_eq!(detail["lines"][0]["name"], "大米5kg");
        let mut retry: jf_kiosk_receipt = unsafe { std::mem::zeroed() };
        keyed.at_unix += 30;
        let status =
            unsafe { jf_kiosk_commit(engine, &keyed, hold.id, c"SIG-1".as_ptr(), &mut retry) };
        assert_eq!(status, ErrorCode::Ok, "a retry under the same key");
        assert_eq!(
            text(retry.number),
            text(receipt.number),
            "returns the first receipt"
        );
        assert_eq!(retry.balance_after, 60, "and takes nothing more");
        unsafe { jf_kiosk_receipt_clear(&mut retry) };
        let status = unsafe { jf_kiosk_cancel(engine, &call(keeper, 4), hold.id) };
        assert_eq!(
            status,
            ErrorCode::HoldClosed,
            "a committed hold cannot be cancelled"
        );
        unsafe { jf_kiosk_hold_clear(&mut hold) };

        let mut void = jf_kiosk_void::default();
        let status = unsafe {
            jf_kiosk_void_receipt(
                engine,
                &call(keeper, 5),
                receipt.number,
                c"sup".as_ptr(),
                &mut void,
            )
        };
        assert_eq!(status, ErrorCode::InvalidValue, "a void needs a reason");
        assert!(last_error(engine).contains("reason"));
        let mut with_reason = call(keeper, 5);
        with_reason.reason = c"wrong item".as_ptr();
        let status = unsafe {
            jf_kiosk_void_receipt(
                engine,
                &with_reason,
                receipt.number,
                c"sup".as_ptr(),
                &mut void,
            )
        };
        assert_eq!(status, ErrorCode::Ok);
        assert_eq!(
            void,
            jf_kiosk_void {
                points: 40,
                balance_after: 100
            }
        );

        let mut reprint: jf_kiosk_receipt = unsafe { std::mem::zeroed() };
        let status = unsafe { jf_kiosk_reprint(engine, receipt.number, &mut reprint) };
        assert_eq!(status, ErrorCode::Ok);
        assert!(reprint.voided);
        assert_eq!(text(reprint.number), text(receipt.number));
        let detail: serde_json::Value = serde_json::from_str(&text(reprint.json)).expect("JSON");
        assert_eq!(detail["void"]["reason"], "wrong item");
        unsafe { jf_kiosk_receipt_clear(&mut reprint) };
        unsafe { jf_kiosk_receipt_clear(&mut receipt) };
        assert!(receipt.number.is_null() && receipt.json.is_null());

        let mut taken = ptr::null_mut();
        let status =
            unsafe { jf_kiosk_take_notifications(engine, &call(keeper, 6), 0, &mut taken) };
        assert_eq!(
            status,
            ErrorCode::MissingRole,
            "only an administrator drains"
        );
        assert!(taken.is_null());
        let status =
            unsafe { jf_kiosk_take_notifications(engine, &call(c"admin", 6), 1, &mut taken) };
        assert_eq!(status, ErrorCode::Ok);
        let first: serde_json::Value = serde_json::from_str(&text(taken)).expect("JSON");
        unsafe { crate::jf_string_free(taken) };
        assert_eq!(first["notifications"].as_array().map(Vec::len), Some(1));
        assert_eq!(first["notifications"][0]["kind"], "points_posted");
        let status =
            unsafe { jf_kiosk_take_notifications(engine, &call(c"admin", 6), 0, &mut taken) };
        assert_eq!(status, ErrorCode::Ok);
        let rest: serde_json::Value = serde_json::from_str(&text(taken)).expect("JSON");
        unsafe { crate::jf_string_free(taken) };
        let kinds: Vec<&str> = rest["notifications"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["kind"].as_str())
            .collect();
        assert_eq!(kinds, ["redemption_made", "redemption_voided"]);
        assert_eq!(rest["remaining"], 0);
        unsafe { jf_engine_free(engine) };
    }

    #[test]
    fn bad_arguments_are_refused_before_anything_is_recorded() {
        let engine = kiosk_engine();
        let mut checked = NO_FUNDS;
        let status = unsafe {
            jf_kiosk_check_card(
                engine,
                ptr::null(),
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                &mut checked,
            )
        };
        assert_eq!(status, ErrorCode::NullArgument);
        let nobody = jf_call {
            actor: ptr::null(),
            ..call(c"keeper", 0)
        };
        let status = unsafe {
            jf_kiosk_check_card(
                engine,
                &nobody,
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                &mut checked,
            )
        };
        assert_eq!(status, ErrorCode::NullArgument, "the actor is required");
        let status = unsafe {
            jf_kiosk_check_card(
                engine,
                &call(c"keeper", 0),
                c"C\xff".as_ptr(),
                c"123456".as_ptr(),
                &mut checked,
            )
        };
        assert_eq!(status, ErrorCode::InvalidUtf8);
        assert_eq!(last_error(engine), "the card is not valid UTF-8");
        let far = jf_call {
            at_unix: i64::MAX,
            ..call(c"keeper", 0)
        };
        let status = unsafe {
            jf_kiosk_check_card(
                engine,
                &far,
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                &mut checked,
            )
        };
        assert_eq!(status, ErrorCode::InvalidValue);
        assert!(last_error(engine).contains("at_unix"));
        assert_eq!(checked, NO_FUNDS);

        let mut hold: jf_kiosk_hold = unsafe { std::mem::zeroed() };
        let status = unsafe {
            jf_kiosk_reserve(
                engine,
                &call(c"keeper", 0),
                c"S1".as_ptr(),
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                ptr::null(),
                2,
                &mut hold,
            )
        };
        assert_eq!(status, ErrorCode::NullArgument, "NULL lines with a length");
        let nameless = [jf_basket_line {
            sku: ptr::null(),
            quantity: 1,
        }];
        let status = unsafe {
            jf_kiosk_reserve(
                engine,
                &call(c"keeper", 0),
                c"S1".as_ptr(),
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                nameless.as_ptr(),
                1,
                &mut hold,
            )
        };
        assert_eq!(status, ErrorCode::NullArgument, "a line without a SKU");
        assert!(hold.id.is_null(), "written only on success");
        let too_many = rice(11);
        let status = unsafe {
            jf_kiosk_reserve(
                engine,
                &call(c"keeper", 0),
                c"S1".as_ptr(),
                c"C1".as_ptr(),
                c"123456".as_ptr(),
                too_many.as_ptr(),
                1,
                &mut hold,
            )
        };
        assert_eq!(status, ErrorCode::InsufficientPoints);
        assert!(hold.id.is_null());

        let mut card: jf_kiosk_card = unsafe { std::mem::zeroed() };
        let status = unsafe {
            jf_kiosk_look_up_card(engine, c"S1".as_ptr(), c"C404".as_ptr(), 0, &mut card)
        };
        assert_eq!(status, ErrorCode::UnknownCard);
        assert!(last_error(engine).contains("C404"));
        assert!(card.household.is_null());
        unsafe {
            jf_kiosk_card_clear(ptr::null_mut());
            jf_kiosk_hold_clear(ptr::null_mut());
            jf_kiosk_receipt_clear(ptr::null_mut());
            jf_engine_free(engine);
        }
    }
}
