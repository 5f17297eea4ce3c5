//! Requests and commands: what callers ask the engine to do, in the JSON form
//! every surface accepts.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::access::Actor;
use crate::household::{HouseholdStatus, Member, Region, Residency};
use crate::policy::Stage;
use crate::primitives::{
    ActorId, CardNumber, Category, HouseholdId, Month, Points, Quarter, TownshipCode, VillageCode,
    Year, Yuan,
};
use crate::report::Format;
use crate::scoring::{DeclarationId, Period, Resolution, SheetId};
use crate::settlement::reconcile::StoreLine;
use crate::settlement::statement::StatementId;
use crate::store::donation::{Allocation, GoodsLine};
use crate::store::item::Price;
use crate::store::ledger::LedgerFormat;
use crate::store::redemption::BasketLine;
use crate::store::stock::{AdjustmentCause, LotCount, SourceSpec};
use crate::store::{
    DonationId, HoldId, LotId, Opening, ReceiptNumber, Sku, StoreId, StoreKind, StoreRegion,
};

/// A command with who asks, when, why, and an optional idempotency key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The acting person, authenticated by the host.
    pub actor: ActorId,
    /// When the command is made (default: now). Its date in China (UTC+8) is the business date.
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
        /// The date the category holds from (default: the business date).
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
    // ---- The scoring workflow (core/scoring): sheets, notice, posting, closes. ----
    /// Opens a score sheet for a village and month (a scorer of the village).
    OpenSheet {
        sheet: SheetId,
        village: VillageCode,
        period: Month,
    },
    /// Adds an entry to a draft sheet (a scorer of the village).
    AddEntry {
        sheet: SheetId,
        household: HouseholdId,
        indicator: String,
        points: Points,
        date: NaiveDate,
        #[serde(default)]
        note: String,
        #[serde(default)]
        evidence: Option<String>,
    },
    /// Removes an entry from a draft sheet (needs a reason).
    RemoveEntry { sheet: SheetId, entry: u32 },
    /// Records the household's signature on an entry.
    AcknowledgeEntry {
        sheet: SheetId,
        entry: u32,
        signature_ref: String,
    },
    /// A scorer of the village signs a draft sheet.
    SignSheet { sheet: SheetId },
    /// Submits a draft signed by enough distinct scorers (the submitter signs too).
    SubmitSheet { sheet: SheetId },
    /// Passes the sheet's pending review stage (village review, township review or approval).
    ReviewSheet { sheet: SheetId, stage: Stage },
    /// Sends a sheet back to draft from its pending review stage (needs a reason).
    SendBackSheet { sheet: SheetId },
    /// Puts a reviewed sheet on public notice.
    PublishSheet { sheet: SheetId },
    /// Lodges an objection against an entry while the notice runs.
    LodgeObjection {
        sheet: SheetId,
        entry: u32,
        note: String,
    },
    /// Resolves an objection: uphold, amend or strike the entry (needs a reason).
    ResolveObjection {
        sheet: SheetId,
        objection: u32,
        resolution: Resolution,
    },
    /// Posts a sheet to the households' accounts through the caps; once.
    PostSheet { sheet: SheetId },
    /// Records a household's declaration of a deed (申报).
    Declare {
        declaration: DeclarationId,
        household: HouseholdId,
        indicator: String,
        date: NaiveDate,
        #[serde(default)]
        points: Option<Points>,
        #[serde(default)]
        note: String,
        #[serde(default)]
        evidence: Option<String>,
    },
    /// Accepts a declaration into a draft sheet as an entry.
    AcceptDeclaration {
        declaration: DeclarationId,
        sheet: SheetId,
        #[serde(default)]
        points: Option<Points>,
    },
    /// Rejects a declaration (needs a reason).
    RejectDeclaration { declaration: DeclarationId },
    /// Closes a ranking period for a village and pays the ranking bonus; idempotent.
    ClosePeriod {
        village: VillageCode,
        period: Period,
    },
    /// Closes a year for a village: star ratings, named stars, the star bonus; idempotent.
    CloseYear { village: VillageCode, year: Year },
    /// Records that a township filed its monthly report to the county.
    FileTownshipReport {
        township: TownshipCode,
        month: Month,
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

    // Stores, goods, donations and redemption (core/store).
    /// Registers a store (administrator).
    RegisterStore {
        store: StoreId,
        name: String,
        kind: StoreKind,
        region: StoreRegion,
        /// Whether county finance reimburses its redemptions of purchased goods in cash.
        reimbursed: bool,
        /// Its opening days (default: every day).
        #[serde(default)]
        opening: Opening,
        /// The store keepers who work it.
        #[serde(default)]
        keepers: Vec<ActorId>,
        /// Minutes a kiosk hold lasts (default: 5, at most 30).
        #[serde(default)]
        hold_minutes: Option<u32>,
    },
    /// Changes a store's settings, or closes and reopens it (administrator).
    UpdateStore {
        store: StoreId,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        reimbursed: Option<bool>,
        #[serde(default)]
        opening: Option<Opening>,
        #[serde(default)]
        keepers: Option<Vec<ActorId>>,
        #[serde(default)]
        hold_minutes: Option<u32>,
        #[serde(default)]
        open: Option<bool>,
    },
    /// Lists an item at a store (its keeper); a banned category is refused.
    ListItem {
        store: StoreId,
        sku: Sku,
        name: String,
        category: String,
        #[serde(default)]
        unit: String,
    },
    /// Proposes a price with the market price (the store's keeper).
    ProposePrice {
        store: StoreId,
        sku: Sku,
        price: Price,
        market_price: Yuan,
    },
    /// Forwards a proposed price to the price bureau (county office).
    ForwardPrice {
        store: StoreId,
        sku: Sku,
        proposal: u32,
    },
    /// Approves a forwarded price (price bureau); it replaces any earlier approved price.
    ApprovePrice {
        store: StoreId,
        sku: Sku,
        proposal: u32,
    },
    /// Rejects a price, with a reason (county office before forwarding, price bureau after).
    RejectPrice {
        store: StoreId,
        sku: Sku,
        proposal: u32,
    },
    /// Scans goods in as a lot (the store's keeper).
    ReceiveStock {
        store: StoreId,
        sku: Sku,
        quantity: i64,
        /// The last day the goods may be handed out.
        #[serde(default)]
        expires: Option<NaiveDate>,
        source: SourceSpec,
    },
    /// Writes units of a lot off, with a reason (the store's keeper).
    WriteOffStock {
        store: StoreId,
        lot: LotId,
        quantity: i64,
        cause: AdjustmentCause,
    },
    /// Records a stock count; differences need a reason (the store's keeper).
    CountStock {
        store: StoreId,
        counts: Vec<LotCount>,
    },
    /// Registers a donation (county office or administrator).
    RegisterDonation {
        donation: DonationId,
        donor: String,
        date: NaiveDate,
        receiving_body: String,
        #[serde(default)]
        goods: Vec<GoodsLine>,
        #[serde(default)]
        cash: Option<Yuan>,
        #[serde(default)]
        allocations: Vec<Allocation>,
    },
    /// Allocates more of a donation to stores (county office or administrator).
    AllocateDonation {
        donation: DonationId,
        allocations: Vec<Allocation>,
    },
    /// Redeems a basket with the card and PIN; returns the receipt.
    Redeem {
        store: StoreId,
        card: CardNumber,
        pin: String,
        lines: Vec<BasketLine>,
        /// The household's signature (签字按手印) as the host stored it.
        signature_ref: String,
    },
    /// Holds points and stock for a basket while the household confirms at a kiosk.
    ReserveRedemption {
        store: StoreId,
        card: CardNumber,
        pin: String,
        lines: Vec<BasketLine>,
    },
    /// Turns a live hold into a redemption; returns the receipt.
    CommitHold { hold: HoldId, signature_ref: String },
    /// Lets a hold go.
    CancelHold { hold: HoldId },
    /// Releases the holds expired at the request's time (at one store, or everywhere).
    ExpireHolds {
        #[serde(default)]
        store: Option<StoreId>,
    },
    /// Voids a redemption the same day, with a supervisor's approval and a reason.
    VoidRedemption {
        receipt: ReceiptNumber,
        supervisor: ActorId,
    },
    /// Takes pending notifications for sending (all, or the oldest `limit`).
    TakeNotifications {
        #[serde(default)]
        limit: Option<u32>,
    },

    // Reimbursement statements and payment (core/settlement).
    /// Generates the month's store statements once the month is over
    /// (county office or administrator); re-running adds only missing ones.
    GenerateStatements { month: Month },
    /// Submits the store's own statement of a month (the store's keeper).
    SubmitStoreStatement {
        store: StoreId,
        month: Month,
        /// The account the store is paid into.
        account: String,
        lines: Vec<StoreLine>,
    },
    /// Reviews a statement whose store statement matches the ledger (county office).
    ReviewStatement { statement: StatementId },
    /// Approves a reviewed statement for payment (finance, not the reviewer).
    ApproveStatement { statement: StatementId },
    /// Records the payment of an approved statement, once (finance).
    RecordPayment {
        statement: StatementId,
        reference: String,
        date: NaiveDate,
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
    // ---- The scoring workflow and its ledgers (core/scoring, core/report). ----
    /// A score sheet: entries, trail, notice, objections.
    Sheet { sheet: SheetId },
    /// A village's sheets, optionally for one month.
    Sheets {
        village: VillageCode,
        #[serde(default)]
        period: Option<Month>,
    },
    /// A declaration.
    Declaration { declaration: DeclarationId },
    /// The deadlines of a month missed as seen on a date.
    Overdue { month: Month, on: NaiveDate },
    /// Ledger: a village's monthly points detail per household.
    PointsDetail {
        village: VillageCode,
        month: Month,
        #[serde(default)]
        format: Format,
    },
    /// Ledger: a village's posted entries of a month, line by line.
    EntryLedger {
        village: VillageCode,
        month: Month,
        #[serde(default)]
        format: Format,
    },
    /// Ledger: a village's quarterly publication list with ranks.
    PublicationList {
        village: VillageCode,
        quarter: Quarter,
        #[serde(default)]
        format: Format,
    },
    /// Ledger: a village's star-rated households of a closed year.
    StarRatings {
        village: VillageCode,
        year: Year,
        #[serde(default)]
        format: Format,
    },

    // Stores (core/store).
    /// A store and its items: prices, proposals, stock free at `at` (default: now).
    StoreItems {
        store: StoreId,
        #[serde(default)]
        at: Option<DateTime<Utc>>,
    },
    /// What a kiosk shows for a card at a store: balance, held and available
    /// points, whether the store redeems today, the items the household can take.
    Redeemable {
        store: StoreId,
        card: CardNumber,
        #[serde(default)]
        at: Option<DateTime<Utc>>,
    },
    /// A receipt and its void, if any (to reprint).
    Receipt { receipt: ReceiptNumber },
    /// A kiosk hold.
    Hold { hold: HoldId },
    /// The stock ledger of a store, by lot.
    StockLedger {
        store: StoreId,
        #[serde(default)]
        format: LedgerFormat,
    },
    /// The quarterly redemption ledger (兑换台账), per store, per village or overall.
    RedemptionLedger {
        quarter: Quarter,
        #[serde(default)]
        store: Option<StoreId>,
        #[serde(default)]
        village: Option<VillageCode>,
        #[serde(default)]
        format: LedgerFormat,
    },
    /// Where every donated unit went, for one donation or all.
    DonationTrace {
        #[serde(default)]
        donation: Option<DonationId>,
        #[serde(default)]
        format: LedgerFormat,
    },
    /// Notifications waiting to be taken (a peek; `take_notifications` takes them).
    Notifications,

    // Reimbursement and month end (core/settlement).
    /// A reimbursement statement with its status and open differences.
    Statement { statement: StatementId },
    /// The statements of a month.
    Statements { month: Month },
    /// The differences between a statement and the store's own statement.
    Reconciliation { statement: StatementId },
    /// Outstanding points liability at month end, by village, township and county.
    Liability {
        month: Month,
        #[serde(default)]
        format: Format,
    },
    /// The month's activity statistics (附件10), by village, township and county.
    MonthlyStatistics {
        month: Month,
        #[serde(default)]
        format: Format,
    },
    /// The bank's payment file: the month's approved, unpaid statements.
    PaymentFile {
        month: Month,
        #[serde(default)]
        format: Format,
    },
}
