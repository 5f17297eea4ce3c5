//! The engine's in-memory state: a pure fold over the journal's events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::access::Actor;
use crate::account::{Account, Totals};
use crate::card::{Card, CardError, CardStatus};
use crate::error::{AccessError, Error};
use crate::event::Event;
use crate::filial::FilialFund;
use crate::household::{Household, HouseholdError};
use crate::journal::{Checkpoint, GENESIS_HASH};
use crate::policy::PolicyBook;
use crate::primitives::{ActorId, CardNumber, HouseholdId};
use crate::scoring::ScoringState;
use crate::settlement::statement::SettlementState;
use crate::store::StoreState;

/// Everything the journal's events add up to.
///
/// Journals that keep snapshots store the whole state through serde, so every
/// field must serialize and deserialize back to itself (no `serde(skip)`);
/// idempotency keys are not part of it: the journal indexes them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    /// Policy versions.
    pub policies: PolicyBook,
    /// Actors by id.
    pub actors: BTreeMap<ActorId, Actor>,
    /// Households by id.
    pub households: BTreeMap<HouseholdId, Household>,
    /// Accounts by household.
    pub accounts: BTreeMap<HouseholdId, Account>,
    /// Every card ever issued, by number.
    pub cards: BTreeMap<CardNumber, Card>,
    /// The card each household holds now.
    pub current_card: BTreeMap<HouseholdId, CardNumber>,
    /// The filial-piety fund.
    pub filial: FilialFund,
    /// Score sheets, declarations, closes and township reports.
    pub scoring: ScoringState,
    /// Stores, goods, stock, donations, holds, receipts and the notification outbox.
    pub stores: StoreState,
    /// Reimbursement statements.
    pub settlement: SettlementState,
    /// The last record applied.
    pub head: Checkpoint,
}

impl Default for State {
    fn default() -> State {
        State {
            policies: PolicyBook::default(),
            actors: BTreeMap::new(),
            households: BTreeMap::new(),
            accounts: BTreeMap::new(),
            cards: BTreeMap::new(),
            current_card: BTreeMap::new(),
            filial: FilialFund::default(),
            scoring: ScoringState::default(),
            stores: StoreState::default(),
            settlement: SettlementState::default(),
            head: Checkpoint {
                seq: 0,
                hash: GENESIS_HASH.to_owned(),
            },
        }
    }
}

impl State {
    /// The actor, or `unknown_actor`.
    pub fn actor(&self, id: &ActorId) -> Result<&Actor, AccessError> {
        self.actors
            .get(id)
            .ok_or_else(|| AccessError::UnknownActor {
                actor: id.to_string(),
            })
    }

    /// The household, or `unknown_household`.
    pub fn household(&self, id: &HouseholdId) -> Result<&Household, HouseholdError> {
        self.households
            .get(id)
            .ok_or_else(|| HouseholdError::Unknown {
                household: id.to_string(),
            })
    }

    /// The household's account (every registered household has one).
    pub fn account(&self, id: &HouseholdId) -> Result<&Account, Error> {
        self.household(id)?;
        Ok(self
            .accounts
            .get(id)
            .expect("every registered household has an account"))
    }

    /// The card, or `unknown_card`.
    pub fn card(&self, number: &CardNumber) -> Result<&Card, CardError> {
        self.cards.get(number).ok_or_else(|| CardError::Unknown {
            card: number.to_string(),
        })
    }

    /// Applies one event. Pure and infallible: validation happened before it was recorded.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::PolicyAdopted {
                effective_from,
                policy,
            } => self.policies.adopt(*effective_from, (**policy).clone()),
            Event::ActorRegistered { actor } => {
                self.actors.insert(actor.id.clone(), actor.clone());
            }
            Event::HouseholdRegistered { household } => {
                self.accounts
                    .insert(household.id.clone(), Account::default());
                self.households
                    .insert(household.id.clone(), (**household).clone());
            }
            Event::HouseholdCategoryChanged {
                household,
                effective_from,
                category,
            } => {
                if let Some(h) = self.households.get_mut(household) {
                    h.categories.push((*effective_from, category.clone()));
                }
            }
            Event::HouseholdStatusChanged { household, status } => {
                if let Some(h) = self.households.get_mut(household) {
                    h.status = *status;
                }
            }
            Event::HouseholdUpdated {
                household,
                members,
                attributes,
                photo_ref,
            } => {
                if let Some(h) = self.households.get_mut(household) {
                    if let Some(members) = members {
                        h.members = members.clone();
                    }
                    if let Some(attributes) = attributes {
                        h.attributes = attributes.clone();
                    }
                    if let Some(photo_ref) = photo_ref {
                        h.photo_ref = Some(photo_ref.clone());
                    }
                }
            }
            Event::CardIssued {
                card,
                household,
                pin_hash,
            } => {
                self.cards.insert(
                    card.clone(),
                    Card {
                        number: card.clone(),
                        household: household.clone(),
                        status: CardStatus::Active,
                        pin_hash: pin_hash.clone(),
                        failed_attempts: 0,
                    },
                );
                self.current_card.insert(household.clone(), card.clone());
            }
            Event::CardStatusChanged { card, status } => {
                if let Some(c) = self.cards.get_mut(card) {
                    c.status = *status;
                    if *status == CardStatus::Active {
                        c.failed_attempts = 0;
                    }
                    if !status.is_current() && self.current_card.get(&c.household) == Some(card) {
                        self.current_card.remove(&c.household);
                    }
                }
            }
            Event::CardReplaced { old_card, new_card } => {
                if let Some(old) = self.cards.get_mut(old_card) {
                    old.status = CardStatus::Replaced;
                    let new = Card {
                        number: new_card.clone(),
                        household: old.household.clone(),
                        status: CardStatus::Active,
                        pin_hash: old.pin_hash.clone(),
                        failed_attempts: 0,
                    };
                    self.current_card
                        .insert(new.household.clone(), new_card.clone());
                    self.cards.insert(new_card.clone(), new);
                }
            }
            Event::PinSet { card, pin_hash } => {
                if let Some(c) = self.cards.get_mut(card) {
                    c.pin_hash = Some(pin_hash.clone());
                    c.failed_attempts = 0;
                }
            }
            Event::PinAttempted { card } => {
                if let Some(c) = self.cards.get_mut(card) {
                    c.failed_attempts += 1;
                }
            }
            Event::PinAccepted { card } => {
                if let Some(c) = self.cards.get_mut(card) {
                    c.failed_attempts = 0;
                }
            }
            Event::AwardPosted(posting) => {
                self.account_mut(&posting.household).apply_award(posting)
            }
            Event::DeductionPosted(posting) => self
                .account_mut(&posting.household)
                .apply_deduction(posting),
            Event::VetoPosted(posting) => self.account_mut(&posting.household).apply_veto(posting),
            Event::PointsTransferred {
                from, to, points, ..
            } => {
                self.account_mut(from).apply_transfer(*points, false);
                self.account_mut(to).apply_transfer(*points, true);
            }
            Event::UseCountsGranted {
                household,
                kind,
                units,
            } => {
                *self
                    .account_mut(household)
                    .use_counts
                    .entry(kind.clone())
                    .or_default() += units;
            }
            Event::SheetOpened { .. }
            | Event::EntryAdded { .. }
            | Event::EntryRemoved { .. }
            | Event::EntryAcknowledged { .. }
            | Event::SheetSigned { .. }
            | Event::SheetAdvanced { .. }
            | Event::SheetSentBack { .. }
            | Event::SheetPublished { .. }
            | Event::ObjectionLodged { .. }
            | Event::ObjectionResolved { .. }
            | Event::SheetPosted { .. }
            | Event::DeclarationMade { .. }
            | Event::DeclarationRejected { .. }
            | Event::PeriodClosed(_)
            | Event::YearClosed(_)
            | Event::TownshipReportFiled(_) => self.scoring.apply(event),
            Event::FilialElderEnrolled { household, elder } => self.filial.enrol(household, elder),
            Event::FilialContributionRecorded(contribution) => {
                self.filial.apply_contribution(contribution)
            }
            Event::FilialPayoutMade {
                household,
                elder,
                amount,
                ..
            } => self.filial.apply_payout(household, elder, *amount),
            Event::StoreRegistered { .. }
            | Event::StoreUpdated { .. }
            | Event::ItemListed { .. }
            | Event::PriceProposed { .. }
            | Event::PriceForwarded { .. }
            | Event::PriceApproved { .. }
            | Event::PriceRejected { .. }
            | Event::StockReceived { .. }
            | Event::StockWrittenOff { .. }
            | Event::StockCounted { .. }
            | Event::DonationRegistered { .. }
            | Event::DonationAllocated { .. }
            | Event::Redeemed(_)
            | Event::RedemptionVoided(_)
            | Event::HoldPlaced(_)
            | Event::HoldCancelled { .. }
            | Event::HoldExpired { .. }
            | Event::NotificationsTaken { .. } => self.stores.apply(&mut self.accounts, event),
            Event::StatementGenerated(_)
            | Event::StoreStatementSubmitted { .. }
            | Event::StatementReviewed { .. }
            | Event::StatementApproved { .. }
            | Event::StatementPaid { .. } => self.settlement.apply(event),
        }
        crate::store::notification::observe(self, event);
    }

    fn account_mut(&mut self, household: &HouseholdId) -> &mut Account {
        self.accounts.entry(household.clone()).or_default()
    }

    /// Checks the SPEC invariants over every account: awarded = credited +
    /// capped + vetoed; balance = credited − deducted − redeemed ± transfers;
    /// the months add up to the totals; transfers in equal transfers out; at
    /// most one current card per household; and the stores' invariants (stock
    /// in − out = on hand per lot, holds within stock, redeemed = receipts − voids);
    /// every statement's funding parts add up to its amount and it is paid at most once.
    pub fn check_invariants(&self) -> Result<Totals, String> {
        let mut all = Totals::default();
        for (id, account) in &self.accounts {
            let t = &account.totals;
            if t.awarded != t.credited + t.capped + t.vetoed {
                return Err(format!(
                    "{id}: awarded {} != credited {} + capped {} + vetoed {}",
                    t.awarded, t.credited, t.capped, t.vetoed
                ));
            }
            if account.balance != t.implied_balance() {
                return Err(format!(
                    "{id}: balance {} != implied {}",
                    account.balance,
                    t.implied_balance()
                ));
            }
            let mut by_month = Totals::default();
            for activity in account.months.values() {
                by_month.add(&activity.totals);
            }
            if (
                by_month.awarded,
                by_month.credited,
                by_month.capped,
                by_month.vetoed,
                by_month.deducted,
                by_month.redeemed,
            ) != (
                t.awarded, t.credited, t.capped, t.vetoed, t.deducted, t.redeemed,
            ) {
                return Err(format!(
                    "{id}: monthly activity does not add up to the totals"
                ));
            }
            if !self.households.contains_key(id) {
                return Err(format!("{id}: account without a household"));
            }
            all.add(t);
        }
        self.scoring.check_invariants()?;
        if all.transferred_in != all.transferred_out {
            return Err(format!(
                "transfers in {} != transfers out {}",
                all.transferred_in, all.transferred_out
            ));
        }
        for (household, card) in &self.current_card {
            match self.cards.get(card) {
                Some(c) if c.status.is_current() && &c.household == household => {}
                _ => return Err(format!("{household}: current card {card} is not live")),
            }
        }
        let live = self
            .cards
            .values()
            .filter(|c| c.status.is_current())
            .count();
        if live != self.current_card.len() {
            return Err(format!(
                "{live} live cards but {} households hold one",
                self.current_card.len()
            ));
        }
        self.stores.check_invariants(&self.accounts)?;
        self.settlement.check_invariants()?;
        Ok(all)
    }
}
