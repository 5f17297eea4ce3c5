use chrono::{DateTime, NaiveDate, Utc};
use thiserror::Error;

use crate::error::ErrorCode;

/// Errors about stores, goods, stock, donations, holds and redemptions.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum StoreError {
    /// No store has this id.
    #[error("unknown store {store}")]
    UnknownStore { store: String },
    /// The store id is taken.
    #[error("store {store} is already registered")]
    DuplicateStore { store: String },
    /// The actor does not keep this store.
    #[error("actor {actor} is not a keeper of store {store}")]
    NotStoreKeeper { actor: String, store: String },
    /// The store is closed for good or for now.
    #[error("store {store} is closed")]
    StoreClosed { store: String },
    /// Neither the policy's redemption calendar nor the store's opening days allow this date.
    #[error("store {store} does not redeem on {date}: {why}")]
    RedemptionDayClosed {
        store: String,
        date: NaiveDate,
        why: &'static str,
    },
    /// The store does not list this item.
    #[error("store {store} does not list item {sku}")]
    UnknownItem { store: String, sku: String },
    /// The store already lists this item.
    #[error("store {store} already lists item {sku}")]
    DuplicateItem { store: String, sku: String },
    /// The category is banned by the policy in force (tobacco, alcohol, luxury…).
    #[error("item {sku}: category {category:?} is banned by the policy in force")]
    BannedCategory { sku: String, category: String },
    /// The item has no approved price.
    #[error("item {sku} at store {store} has no approved price")]
    PriceNotApproved { store: String, sku: String },
    /// No price proposal with this number.
    #[error("item {sku} has no price proposal {proposal}")]
    UnknownPriceProposal { sku: String, proposal: u32 },
    /// The proposal is not at the step the command needs.
    #[error("price proposal {proposal} of item {sku} is {status}; {action} needs {needs}")]
    InvalidPriceTransition {
        sku: String,
        proposal: u32,
        status: &'static str,
        action: &'static str,
        needs: &'static str,
    },
    /// A proposal for this item is still waiting for a decision.
    #[error("item {sku} already has price proposal {proposal} waiting for a decision")]
    PriceProposalPending { sku: String, proposal: u32 },
    /// One person may not take two steps of the same price.
    #[error("actor {actor} already took a step of price proposal {proposal} of item {sku}")]
    PriceDutyConflict {
        actor: String,
        sku: String,
        proposal: u32,
    },
    /// Not enough unexpired, unheld units.
    #[error("item {sku}: {wanted} wanted, {available} in stock")]
    OutOfStock {
        sku: String,
        wanted: i64,
        available: i64,
    },
    /// Enough units on the shelf only when counting expired lots, which are never handed out.
    #[error("item {sku}: {wanted} wanted, {available} unexpired in stock, {expired} only in expired lots")]
    OnlyExpiredStock {
        sku: String,
        wanted: i64,
        available: i64,
        expired: i64,
    },
    /// No lot with this id at the store.
    #[error("store {store} has no lot {lot}")]
    UnknownLot { store: String, lot: String },
    /// A write-off larger than the lot's free units.
    #[error("lot {lot}: {wanted} to write off, {free} on hand and not held")]
    InsufficientLotStock { lot: String, wanted: i64, free: i64 },
    /// Only an expired lot can be written off as expired.
    #[error("lot {lot} expires on {expires}; it is not expired on {date}")]
    LotNotExpired {
        lot: String,
        expires: NaiveDate,
        date: NaiveDate,
    },
    /// No donation with this id.
    #[error("unknown donation {donation}")]
    UnknownDonation { donation: String },
    /// The donation id is taken.
    #[error("donation {donation} is already registered")]
    DuplicateDonation { donation: String },
    /// Allocations would give away more than was donated.
    #[error("donation {donation} {what}: {allocating} to allocate, {left} left")]
    OverAllocated {
        donation: String,
        what: String,
        allocating: String,
        left: String,
    },
    /// Receiving more donated goods (or donated cash's purchases) than allocated to the store.
    #[error("donation {donation} {what} at store {store}: {receiving} to receive, {left} allocated and not yet received")]
    AllocationExhausted {
        donation: String,
        store: String,
        what: String,
        receiving: String,
        left: String,
    },
    /// No receipt with this number.
    #[error("unknown receipt {receipt}")]
    UnknownReceipt { receipt: String },
    /// The receipt was voided before.
    #[error("receipt {receipt} is already voided")]
    AlreadyVoided { receipt: String },
    /// A receipt can only be voided on the day it was made.
    #[error("receipt {receipt} of {date} can only be voided that day, not on {today}")]
    VoidWindowClosed {
        receipt: String,
        date: NaiveDate,
        today: NaiveDate,
    },
    /// A void needs a supervisor other than the keeper.
    #[error("a void needs the approval of a supervisor other than the keeper; {approver} {why}")]
    SupervisorRequired { approver: String, why: &'static str },
    /// No hold with this id.
    #[error("unknown hold {hold}")]
    UnknownHold { hold: String },
    /// The hold ran out before it was committed; it holds nothing any more.
    #[error("hold {hold} expired at {expired_at}")]
    HoldExpired {
        hold: String,
        expired_at: DateTime<Utc>,
    },
    /// The hold was already committed or cancelled.
    #[error("hold {hold} is already {status}")]
    HoldClosed { hold: String, status: &'static str },
}

impl StoreError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::UnknownStore { .. } => ErrorCode::UnknownStore,
            StoreError::DuplicateStore { .. } => ErrorCode::DuplicateStore,
            StoreError::NotStoreKeeper { .. } => ErrorCode::NotStoreKeeper,
            StoreError::StoreClosed { .. } => ErrorCode::StoreClosed,
            StoreError::RedemptionDayClosed { .. } => ErrorCode::RedemptionDayClosed,
            StoreError::UnknownItem { .. } => ErrorCode::UnknownItem,
            StoreError::DuplicateItem { .. } => ErrorCode::DuplicateItem,
            StoreError::BannedCategory { .. } => ErrorCode::BannedCategory,
            StoreError::PriceNotApproved { .. } => ErrorCode::PriceNotApproved,
            StoreError::UnknownPriceProposal { .. } => ErrorCode::UnknownPriceProposal,
            StoreError::InvalidPriceTransition { .. } => ErrorCode::InvalidPriceTransition,
            StoreError::PriceProposalPending { .. } => ErrorCode::PriceProposalPending,
            StoreError::PriceDutyConflict { .. } => ErrorCode::PriceDutyConflict,
            StoreError::OutOfStock { .. } => ErrorCode::OutOfStock,
            StoreError::OnlyExpiredStock { .. } => ErrorCode::OnlyExpiredStock,
            StoreError::UnknownLot { .. } => ErrorCode::UnknownLot,
            StoreError::InsufficientLotStock { .. } => ErrorCode::InsufficientLotStock,
            StoreError::LotNotExpired { .. } => ErrorCode::LotNotExpired,
            StoreError::UnknownDonation { .. } => ErrorCode::UnknownDonation,
            StoreError::DuplicateDonation { .. } => ErrorCode::DuplicateDonation,
            StoreError::OverAllocated { .. } => ErrorCode::OverAllocated,
            StoreError::AllocationExhausted { .. } => ErrorCode::AllocationExhausted,
            StoreError::UnknownReceipt { .. } => ErrorCode::UnknownReceipt,
            StoreError::AlreadyVoided { .. } => ErrorCode::AlreadyVoided,
            StoreError::VoidWindowClosed { .. } => ErrorCode::VoidWindowClosed,
            StoreError::SupervisorRequired { .. } => ErrorCode::SupervisorRequired,
            StoreError::UnknownHold { .. } => ErrorCode::UnknownHold,
            StoreError::HoldExpired { .. } => ErrorCode::HoldExpired,
            StoreError::HoldClosed { .. } => ErrorCode::HoldClosed,
        }
    }
}
