//! `jifen.Engine`'s command methods: each builds one core `Command` from its
//! keyword arguments and runs it through the engine's one execute path
//! ([`Engine::run`]); no rule lives here.

use std::str::FromStr;

use chrono::NaiveDate;
use jifen::store::StoreId;
use jifen::{
    ActorId, CardNumber, Category, Command, HouseholdId, Month, Points, VillageCode, Year,
};
use pyo3::prelude::*;
use pyo3::types::PyDateTime;

use serde_json::Value;

use crate::engine::{document, id, parse, Engine};
use crate::errors::raise;
use crate::typed::shape;
use crate::value;

/// Declares `Engine` methods that each run one command. A method is written
/// `fn name(argument: Type [= default], ...) [-> ResultType] { command }`,
/// or without the body and ending in `;` when the command is the one of the
/// method's name with each argument as the field of its name
/// ([`by_name`]): it takes `actor` first, its own arguments, then `at`,
/// `key` and `reason`, all by keyword; it returns the outcome, its result
/// typed as `ResultType` when one is named. (Needs pyo3's
/// `multiple-pymethods`: the commands are a `#[pymethods]` block of their own
/// beside the engine's other methods.)
macro_rules! command_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($($arg:ident: $ty:ty $(= $default:tt)?),* $(,)?)
            $(-> $result:ty)? $($body:block)? $(;)?
    )*) => {
        #[pymethods]
        impl Engine {
            $(
                $(#[$meta])*
                #[pyo3(signature = (
                    *, actor, $($arg $(= $default)?,)* at = None, key = None, reason = None
                ))]
                #[allow(clippy::too_many_arguments)]
                fn $name<'py>(
                    &self,
                    py: Python<'py>,
                    actor: String,
                    $($arg: $ty,)*
                    at: Option<Bound<'py, PyDateTime>>,
                    key: Option<String>,
                    reason: Option<String>,
                ) -> PyResult<Bound<'py, PyAny>> {
                    let command: Command =
                        command_methods!(@command $name($($arg),*) $($body)?);
                    let result = command_methods!(@shape $($result)?);
                    self.run(py, actor, at, key, reason, command, result)
                }
            )*
        }
    };
    (@command $name:ident($($arg:ident),*) $body:block) => { $body };
    (@command $name:ident($($arg:ident),*)) => {
        by_name(stringify!($name), &[$((stringify!($arg), Field::given(&$arg))),*])?
    };
    (@shape) => { None };
    (@shape $result:ty) => { Some(shape!($result)) };
}

/// The command `kind` with each given field (None ones left out), read as
/// the core's `Command` exactly as the JSON door reads it.
fn by_name(kind: &str, fields: &[(&str, Option<&Bound<'_, PyAny>>)]) -> PyResult<Command> {
    let mut object = serde_json::Map::new();
    object.insert("type".to_owned(), Value::String(kind.to_owned()));
    for (name, field) in fields {
        if let Some(field) = field.filter(|f| !f.is_none()) {
            object.insert((*name).to_owned(), value::to_json(field)?);
        }
    }
    parse(kind, Value::Object(object))
}

/// An argument of a command built [`by_name`]: given, or optional.
trait Field<'py> {
    fn given(&self) -> Option<&Bound<'py, PyAny>>;
}

impl<'py> Field<'py> for &Bound<'py, PyAny> {
    fn given(&self) -> Option<&Bound<'py, PyAny>> {
        Some(self)
    }
}

impl<'py> Field<'py> for Option<&Bound<'py, PyAny>> {
    fn given(&self) -> Option<&Bound<'py, PyAny>> {
        *self
    }
}

command_methods! {
    /// Registers an actor `id` with `roles`; the first actor registers itself
    /// as an administrator.
    fn register_actor(
        id: String,
        roles: &Bound<'py, PyAny>,
        name: Option<String> = None,
        village: Option<String> = None,
        township: Option<String> = None,
    ) {
        let new_actor = serde_json::json!({
            "id": id,
            "roles": value::to_json(roles)?,
            "name": name.unwrap_or_default(),
            "village": village,
            "township": township,
        });
        Command::RegisterActor {
            actor: parse("actor", new_actor)?,
        }
    }

    /// Registers a household. `region` is `{"county", "township", "village",
    /// "group"?}`; `members` a list of `{"name", "relation"?, "born"?}`;
    /// `residency` `{"kind": "resident"}` (the default) or
    /// `{"kind": "non_resident", "approval_ref": ...}`.
    fn register_household(
        household: String,
        region: &Bound<'py, PyAny>,
        head: String,
        category: String,
        category_from: Option<NaiveDate> = None,
        members: Option<&Bound<'py, PyAny>> = None,
        residency: Option<&Bound<'py, PyAny>> = None,
        attributes: Option<&Bound<'py, PyAny>> = None,
        photo_ref: Option<String> = None,
    ) {
        Command::RegisterHousehold {
            household: HouseholdId(household),
            region: document("region", region)?,
            head,
            category: Category(category),
            category_from,
            members: members
                .map(|m| document("members", m))
                .transpose()?
                .unwrap_or_default(),
            residency: residency
                .map(|r| document("residency", r))
                .transpose()?
                .unwrap_or(jifen::household::Residency::Resident),
            attributes: attributes
                .map(|a| document("attributes", a))
                .transpose()?
                .unwrap_or_default(),
            photo_ref,
        }
    }

    /// Changes a household's category from `effective_from` on.
    fn change_category(household: String, category: String, effective_from: NaiveDate) {
        Command::ChangeCategory {
            household: HouseholdId(household),
            category: Category(category),
            effective_from,
        }
    }

    /// Suspends (`"suspended"`), reactivates (`"active"`) or exits (`"exited"`) a household.
    fn set_household_status(household: String, status: &Bound<'py, PyAny>) {
        Command::SetHouseholdStatus {
            household: HouseholdId(household),
            status: document("status", status)?,
        }
    }

    /// Issues card `card` to a household that holds no card in use.
    fn issue_card(card: String, household: String, pin: Option<String> = None) {
        Command::IssueCard {
            card: CardNumber(card),
            household: HouseholdId(household),
            pin,
        }
    }

    /// Locks a card.
    fn lock_card(card: String) {
        Command::LockCard {
            card: CardNumber(card),
        }
    }

    /// Unlocks a locked card and clears its wrong-PIN count.
    fn unlock_card(card: String) {
        Command::UnlockCard {
            card: CardNumber(card),
        }
    }

    /// Records that the household lost its card.
    fn report_card_lost(card: String) {
        Command::ReportCardLost {
            card: CardNumber(card),
        }
    }

    /// Replaces a card with a new number; balance and PIN stay with the household.
    fn replace_card(old_card: String, new_card: String) {
        Command::ReplaceCard {
            old_card: CardNumber(old_card),
            new_card: CardNumber(new_card),
        }
    }

    /// Cancels a card for good.
    fn cancel_card(card: String) {
        Command::CancelCard {
            card: CardNumber(card),
        }
    }

    /// Sets a card's PIN (an administrator's reset).
    fn set_pin(card: String, pin: String) {
        Command::SetPin {
            card: CardNumber(card),
            pin,
        }
    }

    /// Changes a card's PIN after checking the old one (a wrong old PIN is counted).
    fn change_pin(card: String, old_pin: String, new_pin: String) {
        Command::ChangePin {
            card: CardNumber(card),
            old_pin,
            new_pin,
        }
    }

    /// Checks a card's PIN; the attempt is recorded before the check.
    fn verify_pin(card: String, pin: String) {
        Command::VerifyPin {
            card: CardNumber(card),
            pin,
        }
    }

    /// Posts an award directly (imports, corrections) through the caps; needs a reason.
    fn post_award(household: String, date: NaiveDate, points: i64) -> jifen::account::AwardPosting {
        Command::PostAward {
            household: HouseholdId(household),
            date,
            points: Points(points),
        }
    }

    /// Posts a deduction directly; needs a reason.
    fn post_deduction(
        household: String,
        date: NaiveDate,
        points: i64,
    ) -> jifen::account::DeductionPosting {
        Command::PostDeduction {
            household: HouseholdId(household),
            date,
            points: Points(points),
        }
    }

    /// Posts a one-vote veto that forfeits the period's awards; needs a reason.
    fn post_veto(household: String, date: NaiveDate) -> jifen::account::VetoPosting {
        Command::PostVeto {
            household: HouseholdId(household),
            date,
        }
    }

    /// Moves points from household `from_` to `to`, approved by another actor; needs a reason.
    fn transfer_points(from_: String, to: String, points: i64, approver: String) {
        Command::TransferPoints {
            from: HouseholdId(from_),
            to: HouseholdId(to),
            points: Points(points),
            approver: ActorId(approver),
        }
    }

    /// Grants `units` of a use-count kind (e.g. 4 free haircuts a year).
    fn grant_use_counts(household: String, kind: String, units: i64) {
        Command::GrantUseCounts {
            household: HouseholdId(household),
            kind,
            units,
        }
    }

    // ---- The scoring workflow (core/scoring). ----

    /// Opens score sheet `sheet` for `village` and `month` (`"YYYY-MM"`).
    fn open_sheet(sheet: String, village: String, month: String) {
        Command::OpenSheet {
            sheet: id("sheet", sheet)?,
            village: VillageCode(village),
            period: id("month", month)?,
        }
    }

    /// Adds an entry to a draft sheet; returns its position in the result.
    fn add_entry(
        sheet: String,
        household: String,
        indicator: String,
        points: i64,
        date: NaiveDate,
        note: Option<String> = None,
        evidence: Option<String> = None,
    ) {
        Command::AddEntry {
            sheet: id("sheet", sheet)?,
            household: HouseholdId(household),
            indicator,
            points: Points(points),
            date,
            note: note.unwrap_or_default(),
            evidence,
        }
    }

    /// A scorer of the village signs a draft sheet.
    fn sign_sheet(sheet: String) {
        Command::SignSheet {
            sheet: id("sheet", sheet)?,
        }
    }

    /// Submits a draft signed by enough distinct scorers.
    fn submit_sheet(sheet: String) {
        Command::SubmitSheet {
            sheet: id("sheet", sheet)?,
        }
    }

    /// Sends a sheet back to draft from its pending review stage; needs a reason.
    fn send_back_sheet(sheet: String) {
        Command::SendBackSheet {
            sheet: id("sheet", sheet)?,
        }
    }

    /// Puts a reviewed sheet on public notice.
    fn publish_sheet(sheet: String) {
        Command::PublishSheet {
            sheet: id("sheet", sheet)?,
        }
    }

    /// Posts a sheet to the households' accounts through the caps; once.
    fn post_sheet(sheet: String) {
        Command::PostSheet {
            sheet: id("sheet", sheet)?,
        }
    }

    /// Passes the sheet's pending review `stage` (e.g. `"village_review"`).
    fn review_sheet(sheet: String, stage: String) {
        Command::ReviewSheet {
            sheet: id("sheet", sheet)?,
            stage: id("stage", stage)?,
        }
    }

    /// Lodges an objection against entry `entry` while the notice runs.
    fn lodge_objection(sheet: String, entry: u32, note: String) {
        Command::LodgeObjection {
            sheet: id("sheet", sheet)?,
            entry,
            note,
        }
    }

    /// Resolves an objection: `resolution` is `{"kind": "uphold"}`, `{"kind": "amend", "points":
    /// n}` or `{"kind": "strike"}` as the core spells it; needs a reason.
    fn resolve_objection(sheet: String, objection: u32, resolution: &Bound<'py, PyAny>) {
        Command::ResolveObjection {
            sheet: id("sheet", sheet)?,
            objection,
            resolution: document("resolution", resolution)?,
        }
    }

    /// Records a household's declaration of a deed (申报).
    fn declare(
        declaration: String,
        household: String,
        indicator: String,
        date: NaiveDate,
        points: Option<i64> = None,
        note: Option<String> = None,
        evidence: Option<String> = None,
    ) {
        Command::Declare {
            declaration: id("declaration", declaration)?,
            household: HouseholdId(household),
            indicator,
            date,
            points: points.map(Points),
            note: note.unwrap_or_default(),
            evidence,
        }
    }

    /// Accepts a declaration into a draft sheet as an entry.
    fn accept_declaration(declaration: String, sheet: String, points: Option<i64> = None) {
        Command::AcceptDeclaration {
            declaration: id("declaration", declaration)?,
            sheet: id("sheet", sheet)?,
            points: points.map(Points),
        }
    }

    /// Closes a ranking period (`"2025-03"`, `"2025-Q1"` or `"2025"`) for a village and pays the
    /// ranking bonus.
    fn close_period(village: String, period: String) {
        Command::ClosePeriod {
            village: VillageCode(village),
            period: id("period", period)?,
        }
    }

    /// Closes a year for a village: star ratings, named stars, the star bonus.
    fn close_year(village: String, year: i32) {
        Command::CloseYear {
            village: VillageCode(village),
            year: Year(year),
        }
    }

    // ---- Store setup (core/store): stores, items, prices, stock, donations. ----

    /// Registers a store: `kind`, `region` and `opening` as the core spells them (dicts/strings).
    fn register_store(
        store: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
        kind: &Bound<'py, PyAny>,
        region: &Bound<'py, PyAny>,
        reimbursed: &Bound<'py, PyAny>,
        opening: Option<&Bound<'py, PyAny>> = None,
        keepers: Option<&Bound<'py, PyAny>> = None,
        hold_minutes: Option<&Bound<'py, PyAny>> = None,
    );

    /// Lists an item (`sku`) at a store.
    fn list_item(
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
        category: &Bound<'py, PyAny>,
        unit: Option<&Bound<'py, PyAny>> = None,
    );

    /// Proposes a price (`{"points": n}` or a use count) with the market price in Yuan (Decimal).
    fn propose_price(
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        price: &Bound<'py, PyAny>,
        market_price: &Bound<'py, PyAny>,
    );

    /// Forwards a price proposal to the approver.
    fn forward_price(
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        proposal: &Bound<'py, PyAny>,
    );

    /// Approves a forwarded price proposal.
    fn approve_price(
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        proposal: &Bound<'py, PyAny>,
    );

    /// Receives a lot of stock; `source` as the core spells it (purchased or donated).
    fn receive_stock(
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        source: &Bound<'py, PyAny>,
        expires: Option<&Bound<'py, PyAny>> = None,
    );

    /// Registers a donation of goods and/or cash (Decimal), with its allocations to stores.
    fn register_donation(
        donation: &Bound<'py, PyAny>,
        donor: &Bound<'py, PyAny>,
        date: &Bound<'py, PyAny>,
        receiving_body: &Bound<'py, PyAny>,
        goods: Option<&Bound<'py, PyAny>> = None,
        cash: Option<&Bound<'py, PyAny>> = None,
        allocations: Option<&Bound<'py, PyAny>> = None,
    );

    // ---- The kiosk (core/store/kiosk.rs). ----

    /// Voids a receipt with a supervisor's approval; needs a reason.
    fn void_redemption(receipt: &Bound<'py, PyAny>, supervisor: &Bound<'py, PyAny>);

    /// Takes the notifications waiting in the outbox (at most `limit`).
    fn take_notifications(limit: Option<&Bound<'py, PyAny>> = None);

    // ---- Reimbursement, month end and the filial fund (core/settlement, core/filial). ----

    /// Generates `month`'s (`"YYYY-MM"`) store statements once the month is
    /// over; running it again adds only missing ones.
    fn generate_statements(month: &str) -> jifen::settlement::statement::Generation {
        Command::GenerateStatements {
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
        }
    }

    /// Submits (or, before review, resubmits) a store's own statement of
    /// `month`: the account it is paid into and `lines` of `{"receipt",
    /// "date", "household", "points"}`; the result lists the differences.
    fn submit_store_statement(
        store: String,
        month: &str,
        account: String,
        lines: &Bound<'py, PyAny>,
    ) -> jifen::settlement::reconcile::SubmissionReconciled {
        Command::SubmitStoreStatement {
            store: StoreId(store),
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            account,
            lines: document("lines", lines)?,
        }
    }

    /// Reviews a submitted statement that matches the ledger (county office).
    fn review_statement(statement: String) {
        Command::ReviewStatement {
            statement: id("statement", statement)?,
        }
    }

    /// Approves a reviewed statement for payment (finance, not the reviewer).
    fn approve_statement(statement: String) {
        Command::ApproveStatement {
            statement: id("statement", statement)?,
        }
    }

    /// Records the payment of an approved statement, once (finance): the
    /// bank's `reference` and the `date` the money left.
    fn record_payment(
        statement: String,
        reference: String,
        date: NaiveDate,
    ) -> jifen::settlement::statement::PaymentRecorded {
        Command::RecordPayment {
            statement: id("statement", statement)?,
            reference,
            date,
        }
    }

    /// Enrols household member `elder` in the filial-piety fund (孝善基金).
    fn enrol_filial_elder(household: String, elder: String) {
        Command::EnrolFilialElder {
            household: HouseholdId(household),
            elder,
        }
    }

    /// Records `contributor`'s payment of `amount` (Decimal or str, yuan) for
    /// an enrolled elder and `month`; the result carries the fund's match.
    fn record_filial_contribution(
        household: String,
        elder: String,
        contributor: String,
        month: &str,
        amount: &Bound<'py, PyAny>,
    ) -> jifen::filial::Contribution {
        Command::RecordFilialContribution {
            household: HouseholdId(household),
            elder,
            contributor,
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            amount: document("amount", amount)?,
        }
    }

    /// Pays an enrolled elder `amount` (Decimal or str, yuan) out of what
    /// stands in the fund for them.
    fn pay_filial_elder(
        household: String,
        elder: String,
        amount: &Bound<'py, PyAny>,
        reference: String,
    ) {
        Command::PayFilialElder {
            household: HouseholdId(household),
            elder,
            amount: document("amount", amount)?,
            reference,
        }
    }
}
