//! Events: the facts the journal records. Applying an event cannot fail, so
//! opening a journal is a fold over its events.

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
}
