//! Requests and commands: what callers ask the engine to do, in the JSON form
//! every surface accepts.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::access::Actor;
use crate::household::{HouseholdStatus, Member, Region, Residency};
use crate::primitives::{ActorId, CardNumber, Category, HouseholdId, Month, Points, Yuan};

/// A command with who asks, when, why, and an optional idempotency key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The acting person, authenticated by the host.
    pub actor: ActorId,
    /// When the command is made [now]. Its date in China (UTC+8) is the business date.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// The client's idempotency key: the same key and request return the first result.
    #[serde(default)]
    pub key: Option<String>,
    /// Why, for the audit trail (required for corrections and transfers).
    #[serde(default)]
    pub reason: Option<String>,
    /// What to do.
    pub command: Command,
}

/// Everything the engine can be asked to change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Registers an actor. The first actor may register itself; after that an administrator must.
    RegisterActor { actor: Actor },
    /// Adopts a policy version from a date on (a preset name or a policy object).
    AdoptPolicy {
        effective_from: NaiveDate,
        #[schemars(with = "serde_json::Value")]
        policy: serde_json::Value,
    },
    /// Registers a household.
    RegisterHousehold {
        household: HouseholdId,
        region: Region,
        head: String,
        category: Category,
        /// The date the category holds from [the business date].
        #[serde(default)]
        category_from: Option<NaiveDate>,
        #[serde(default)]
        members: Vec<Member>,
        #[serde(default = "resident")]
        residency: Residency,
        #[serde(default)]
        attributes: BTreeMap<String, String>,
        #[serde(default)]
        photo_ref: Option<String>,
    },
    /// Changes a household's category from a date on.
    ChangeCategory {
        household: HouseholdId,
        category: Category,
        effective_from: NaiveDate,
    },
    /// Suspends, reactivates or exits a household.
    SetHouseholdStatus {
        household: HouseholdId,
        status: HouseholdStatus,
    },
    /// Replaces a household's members, attributes or photo reference.
    UpdateHousehold {
        household: HouseholdId,
        #[serde(default)]
        members: Option<Vec<Member>>,
        #[serde(default)]
        attributes: Option<BTreeMap<String, String>>,
        #[serde(default)]
        photo_ref: Option<String>,
    },
    /// Issues a card to a household with no card in use.
    IssueCard {
        card: CardNumber,
        household: HouseholdId,
        #[serde(default)]
        pin: Option<String>,
    },
    /// Locks a card.
    LockCard { card: CardNumber },
    /// Unlocks a locked card and clears its wrong-PIN count.
    UnlockCard { card: CardNumber },
    /// Records that the household lost its card.
    ReportCardLost { card: CardNumber },
    /// Cancels a card for good.
    CancelCard { card: CardNumber },
    /// Replaces a card with a new number; the balance and PIN stay with the household.
    ReplaceCard {
        old_card: CardNumber,
        new_card: CardNumber,
    },
    /// Sets a card's PIN (an administrator's reset).
    SetPin { card: CardNumber, pin: String },
    /// Changes a card's PIN after checking the old one.
    ChangePin {
        card: CardNumber,
        old_pin: String,
        new_pin: String,
    },
    /// Checks a card's PIN (the attempt is counted before the check).
    VerifyPin { card: CardNumber, pin: String },
    /// Posts an award directly (imports, corrections), through the caps.
    PostAward {
        household: HouseholdId,
        date: NaiveDate,
        points: Points,
    },
    /// Posts a deduction directly.
    PostDeduction {
        household: HouseholdId,
        date: NaiveDate,
        points: Points,
    },
    /// Posts a one-vote veto: forfeits the period's awards.
    PostVeto {
        household: HouseholdId,
        date: NaiveDate,
    },
    /// Moves points between households (e.g. a household splitting).
    TransferPoints {
        from: HouseholdId,
        to: HouseholdId,
        points: Points,
        approver: ActorId,
    },
    /// Grants use-count units (e.g. 4 free haircuts a year).
    GrantUseCounts {
        household: HouseholdId,
        kind: String,
        units: i64,
    },

    /// Enrols a household member in the filial-piety fund (孝善基金).
    EnrolFilialElder {
        household: HouseholdId,
        elder: String,
    },
    /// Records a child's monthly contribution for an enrolled elder; the fund adds its match.
    RecordFilialContribution {
        household: HouseholdId,
        elder: String,
        contributor: String,
        month: Month,
        amount: Yuan,
    },
    /// Pays an enrolled elder out of what stands in the fund for them.
    PayFilialElder {
        household: HouseholdId,
        elder: String,
        amount: Yuan,
        reference: String,
    },
}

fn resident() -> Residency {
    Residency::Resident
}

/// Reads that change nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Query {
    /// A household's registration.
    Household { household: HouseholdId },
    /// A household's balance.
    Balance { household: HouseholdId },
    /// A household's account: balance, totals, months, use counts.
    Account { household: HouseholdId },
    /// The room left under the caps in a month.
    CapRoom {
        household: HouseholdId,
        month: Month,
    },
    /// A card (never its PIN hash).
    Card { card: CardNumber },
    /// The policy in force on a date.
    Policy { date: NaiveDate },
    /// Checks the engine's invariants.
    Invariants,
    /// The filial-piety fund's statement: every elder's contributions, matches,
    /// payouts and balance, and the match paid by each source.
    FilialStatement,
    /// Verifies the journal's hash chain end to end.
    Verify,
}
