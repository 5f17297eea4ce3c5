//! Events: the facts the journal records. Applying an event cannot fail, so
//! opening a journal is a fold over its events, once each record read back
//! is found to name no figure a command could not ([`Event::figure_beyond_bound`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::access::Actor;
use crate::account::{AwardPosting, DeductionPosting, VetoPosting};
use crate::card::CardStatus;
use crate::filial::Contribution;
use crate::household::{Household, HouseholdStatus, Member};
use crate::policy::Policy;
use crate::primitives::{ActorId, CardNumber, Category, HouseholdId, Points, Yuan};
use crate::scoring::{
    Declaration, DeclarationId, Entry, EntryOutcome, Objection, PeriodClose, ReportFiling,
    Resolved, Sheet, SheetId, SheetState, Step, YearClose,
};
use crate::settlement::reconcile::Submission;
use crate::settlement::statement::{Payment, Signoff, Statement, StatementId};
use crate::store::donation::{Allocation, Donation};
use crate::store::hold::Hold;
use crate::store::item::{Item, PriceProposal};
use crate::store::redemption::{Receipt, Void};
use crate::store::stock::{Adjustment, CountLine, Lot};
use crate::store::{DonationId, HoldId, LotId, Sku, Store, StoreId};

/// Something that happened, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A policy version takes effect from a date.
    PolicyAdopted {
        effective_from: NaiveDate,
        policy: Box<Policy>,
    },
    /// An actor is registered with roles.
    ActorRegistered { actor: Actor },
    /// A household is registered.
    HouseholdRegistered { household: Box<Household> },
    /// A household's category changes from a date on.
    HouseholdCategoryChanged {
        household: HouseholdId,
        effective_from: NaiveDate,
        category: Category,
    },
    /// A household is suspended, reactivated or exits.
    HouseholdStatusChanged {
        household: HouseholdId,
        status: HouseholdStatus,
    },
    /// Members, attributes or the photo reference change.
    HouseholdUpdated {
        household: HouseholdId,
        members: Option<Vec<Member>>,
        attributes: Option<BTreeMap<String, String>>,
        photo_ref: Option<String>,
    },
    /// A card is issued to a household.
    CardIssued {
        card: CardNumber,
        household: HouseholdId,
        pin_hash: Option<String>,
    },
    /// A card changes status.
    CardStatusChanged {
        card: CardNumber,
        status: CardStatus,
    },
    /// A card is replaced by a new number; the PIN carries over.
    CardReplaced {
        old_card: CardNumber,
        new_card: CardNumber,
    },
    /// A PIN is set or changed; attempts reset.
    PinSet { card: CardNumber, pin_hash: String },
    /// A PIN attempt, counted before the PIN is checked.
    PinAttempted { card: CardNumber },
    /// The PIN was right; the count resets.
    PinAccepted { card: CardNumber },
    /// An award as split by caps and vetoes.
    AwardPosted(AwardPosting),
    /// A deduction as split by the zero floor.
    DeductionPosted(DeductionPosting),
    /// A veto forfeits a period.
    VetoPosted(VetoPosting),
    /// Points move between households (never an award; caps untouched).
    PointsTransferred {
        from: HouseholdId,
        to: HouseholdId,
        points: Points,
        approver: ActorId,
    },
    /// Use-count units are granted.
    UseCountsGranted {
        household: HouseholdId,
        kind: String,
        units: i64,
    },
    // ---- The scoring workflow (core/scoring); steps carry actor, time, reason. ----
    /// A score sheet is opened.
    SheetOpened { sheet: Box<Sheet> },
    /// An entry is added to a draft (from a scorer or an accepted declaration).
    EntryAdded { sheet: SheetId, entry: Entry },
    /// An entry is removed from a draft.
    EntryRemoved {
        sheet: SheetId,
        entry: u32,
        step: Step,
    },
    /// The household acknowledged an entry.
    EntryAcknowledged {
        sheet: SheetId,
        entry: u32,
        signature_ref: String,
        step: Step,
    },
    /// A scorer signed the sheet.
    SheetSigned { sheet: SheetId, step: Step },
    /// The sheet is submitted or passes a review stage.
    SheetAdvanced {
        sheet: SheetId,
        to: SheetState,
        step: Step,
    },
    /// A reviewer sent the sheet back to draft.
    SheetSentBack { sheet: SheetId, step: Step },
    /// The sheet goes on public notice; its live entries are the published snapshot.
    SheetPublished {
        sheet: SheetId,
        published_on: NaiveDate,
        until: NaiveDate,
        fingerprint: String,
        step: Step,
    },
    /// An objection is lodged against an entry.
    ObjectionLodged {
        sheet: SheetId,
        objection: Objection,
    },
    /// An objection is resolved (the entry upheld, amended or struck).
    ObjectionResolved {
        sheet: SheetId,
        objection: u32,
        resolved: Resolved,
    },
    /// The sheet posted; its account postings precede this event in the record.
    SheetPosted {
        sheet: SheetId,
        outcomes: Vec<EntryOutcome>,
        step: Step,
    },
    /// A household declared a deed.
    DeclarationMade { declaration: Box<Declaration> },
    /// A declaration was turned down.
    DeclarationRejected {
        declaration: DeclarationId,
        step: Step,
    },
    /// A ranking period closed for a village; bonus postings precede it.
    PeriodClosed(PeriodClose),
    /// A year closed for a village; star award postings precede it.
    YearClosed(YearClose),
    /// A township filed its monthly report.
    TownshipReportFiled(ReportFiling),

    /// An elder joins the filial-piety fund.
    FilialElderEnrolled {
        household: HouseholdId,
        elder: String,
    },
    /// A contribution and the fund's match.
    FilialContributionRecorded(Contribution),
    /// A payout to an elder.
    FilialPayoutMade {
        household: HouseholdId,
        elder: String,
        amount: Yuan,
        reference: String,
    },

    // Stores, goods, donations and redemption (core/store).
    /// A store is registered.
    StoreRegistered { store: Box<Store> },
    /// A store's settings change (the whole store as it now stands).
    StoreUpdated { store: Box<Store> },
    /// A store lists an item.
    ItemListed { item: Box<Item> },
    /// A keeper proposes a price.
    PriceProposed {
        store: StoreId,
        sku: Sku,
        proposal: Box<PriceProposal>,
    },
    /// The county office forwards a proposal to the price bureau.
    PriceForwarded {
        store: StoreId,
        sku: Sku,
        proposal: u32,
        by: ActorId,
    },
    /// The price bureau approves a proposal; an earlier approved price is superseded.
    PriceApproved {
        store: StoreId,
        sku: Sku,
        proposal: u32,
        by: ActorId,
        date: NaiveDate,
    },
    /// A proposal is rejected.
    PriceRejected {
        store: StoreId,
        sku: Sku,
        proposal: u32,
        by: ActorId,
        date: NaiveDate,
        reason: String,
    },
    /// Goods are scanned in as a lot.
    StockReceived { lot: Box<Lot> },
    /// Units of a lot are written off.
    StockWrittenOff {
        store: StoreId,
        lot: LotId,
        adjustment: Adjustment,
    },
    /// A stock count; each difference adjusts its lot.
    StockCounted {
        store: StoreId,
        date: NaiveDate,
        by: ActorId,
        reason: Option<String>,
        lines: Vec<CountLine>,
    },
    /// A donation is registered.
    DonationRegistered { donation: Box<Donation> },
    /// Parts of a donation are allocated to stores.
    DonationAllocated {
        donation: DonationId,
        allocations: Vec<Allocation>,
    },
    /// A redemption debits the household and the stock; the receipt says how.
    Redeemed(Box<Receipt>),
    /// A void gives a redemption's points and stock back.
    RedemptionVoided(Box<Void>),
    /// A kiosk hold is placed.
    HoldPlaced(Box<Hold>),
    /// A hold is let go.
    HoldCancelled { store: StoreId, hold: HoldId },
    /// An expired hold is released.
    HoldExpired { store: StoreId, hold: HoldId },
    /// The host took the notifications up to this id.
    NotificationsTaken { through: u64 },

    // Reimbursement statements (core/settlement).
    /// A store's statement of a month is generated.
    StatementGenerated(Box<Statement>),
    /// The store submitted its own statement.
    StoreStatementSubmitted {
        statement: StatementId,
        submission: Submission,
    },
    /// The county office reviewed a statement.
    StatementReviewed {
        statement: StatementId,
        signoff: Signoff,
    },
    /// Finance approved a statement for payment.
    StatementApproved {
        statement: StatementId,
        signoff: Signoff,
    },
    /// Finance recorded a statement's payment.
    StatementPaid {
        statement: StatementId,
        payment: Payment,
    },
}

impl Event {
    /// The first figure of a posting, transfer or grant outside
    /// `0..=MAX_POINTS`, as `(field, value)`. Every such command is refused
    /// beyond that bound ([`crate::account::require_posting_amount`]), so a
    /// record read back that carries one was not written by jifen; opening
    /// refuses it rather than add it to an account's totals, which it could
    /// overflow.
    pub fn figure_beyond_bound(&self) -> Option<(&'static str, i64)> {
        let figures: &[(&'static str, Points)] = match self {
            Event::AwardPosted(p) => &[
                ("requested", p.requested),
                ("credited", p.credited),
                ("capped", p.capped),
                ("vetoed", p.vetoed),
            ],
            Event::DeductionPosted(p) => &[
                ("requested", p.requested),
                ("applied", p.applied),
                ("unapplied", p.unapplied),
            ],
            Event::PointsTransferred { points, .. } => &[("points", *points)],
            Event::UseCountsGranted { units, .. } => &[("units", Points(*units))],
            _ => &[],
        };
        figures
            .iter()
            .find(|(_, value)| !value.is_within_bound())
            .map(|&(field, value)| (field, value.get()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::MAX_POINTS;

    fn transfer(points: i64) -> Event {
        Event::PointsTransferred {
            from: "H1".into(),
            to: "H2".into(),
            points: Points(points),
            approver: "A1".into(),
        }
    }

    fn grant(units: i64) -> Event {
        Event::UseCountsGranted {
            household: "H1".into(),
            kind: "haircut".into(),
            units,
        }
    }

    #[test]
    fn figures_from_zero_to_the_bound_pass_and_others_are_named() {
        for event in [
            transfer(1),
            transfer(MAX_POINTS),
            grant(0),
            grant(MAX_POINTS),
        ] {
            assert_eq!(event.figure_beyond_bound(), None, "{event:?}");
        }
        assert_eq!(
            transfer(MAX_POINTS + 1).figure_beyond_bound(),
            Some(("points", MAX_POINTS + 1))
        );
        assert_eq!(grant(-1).figure_beyond_bound(), Some(("units", -1)));
        assert_eq!(
            grant(i64::MAX).figure_beyond_bound(),
            Some(("units", i64::MAX))
        );
        let other = Event::NotificationsTaken { through: u64::MAX };
        assert_eq!(other.figure_beyond_bound(), None);
    }
}
