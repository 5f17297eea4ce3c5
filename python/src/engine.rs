//! `jifen.Engine`: the core engine as a Python object.
//!
//! Every method builds a core `Request` or `Query` and goes through the core's
//! one execute path; no rule lives here. Typed methods exist so Python callers
//! get keyword arguments, `datetime.date` and `decimal.Decimal`; the JSON door
//! `execute` takes exactly what the C surface and the scenarios take.

use std::str::FromStr;
use std::sync::OnceLock;

use chrono::NaiveDate;
use jifen::card::PinHashCost;
use jifen::error::InputError;
use jifen::report::Format;
use jifen::store::hold::Hold;
use jifen::store::kiosk::{self, CardCheck};
use jifen::store::ledger::LedgerFormat;
use jifen::store::redemption::{BasketLine, CardView, Receipt, Redemption};
use jifen::store::{HoldId, ReceiptNumber, StoreId};
use jifen::{
    ActorId, CardNumber, Category, Command, EngineOptions, HouseholdId, Month, Points, Policy,
    Quarter, Query, Request, VillageCode, Year,
};
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyString};
use pyo3_arrow::PyTable;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::arrow::{self, Kind};
use crate::errors;
use crate::typed::{self, Shape};
use crate::value;

/// The JSON Schema shape of a core type, built once.
macro_rules! shape {
    ($type:ty) => {{
        static SHAPE: OnceLock<Shape> = OnceLock::new();
        SHAPE.get_or_init(Shape::of::<$type>)
    }};
}

/// A points engine over an in-memory journal.
#[pyclass(frozen, module = "jifen._jifen", name = "Engine")]
pub struct Engine {
    // The core engine is Send + Sync and every method takes &self: it holds
    // its own journal lock (one writer at a time) and a read-write lock over
    // the state. That is why there is no Mutex here, and why calls can run
    // with the interpreter released.
    inner: jifen::Engine,
}

/// Turns a core error into its Python exception.
fn raise(error: jifen::Error) -> PyErr {
    Python::attach(|py| errors::to_py(py, &error))
}

/// A whole document argument (a region, members, a status) read as the core type.
fn document<T: DeserializeOwned>(field: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    parse(field, value::to_json(value)?)
}

/// An id or a name (a sheet, a stage, a village) read as the core type.
fn id<T: DeserializeOwned>(field: &str, text: String) -> PyResult<T> {
    parse(field, Value::String(text))
}

/// A JSON value read as the core type; a mismatch is the core's `malformed_request`.
fn parse<T: DeserializeOwned>(field: &str, json: Value) -> PyResult<T> {
    serde_json::from_value(json).map_err(|e| {
        raise(
            InputError::Malformed {
                detail: format!("{field}: {e}"),
            }
            .into(),
        )
    })
}

/// A command of `kind` from keyword arguments (None ones left out), read as
/// the core's `Command` exactly as the JSON door reads it.
fn command(kind: &str, fields: &[(&str, Option<&Bound<'_, PyAny>>)]) -> PyResult<Command> {
    let mut object = serde_json::Map::new();
    object.insert("type".to_owned(), Value::String(kind.to_owned()));
    for (name, field) in fields {
        if let Some(field) = field.filter(|f| !f.is_none()) {
            object.insert((*name).to_owned(), value::to_json(field)?);
        }
    }
    parse(kind, Value::Object(object))
}

/// A kiosk call's actor, time and idempotency key.
fn call(
    actor: String,
    at: Option<Bound<'_, PyDateTime>>,
    key: Option<String>,
) -> PyResult<kiosk::Call> {
    Ok(kiosk::Call {
        actor: ActorId(actor),
        at: at.map(|at| value::instant(at.as_any())).transpose()?,
        key,
    })
}

/// A basket: a list of `{"sku", "quantity"}`.
fn basket(lines: &Bound<'_, PyAny>) -> PyResult<Vec<BasketLine>> {
    document("lines", lines)
}

/// A kiosk answer (a core struct) as typed Python values.
fn answer<'py, T: serde::Serialize>(
    py: Python<'py>,
    result: Result<T, jifen::Error>,
    shape: &Shape,
) -> PyResult<Bound<'py, PyAny>> {
    let result = result.map_err(raise)?;
    let json = serde_json::to_value(result).map_err(|e| raise(e.into()))?;
    shape.to_py(py, &json)
}

impl Engine {
    /// Executes a typed command and returns its outcome, typed.
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
        command: Command,
        result: Option<&Shape>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let at = at.map(|at| value::instant(at.as_any())).transpose()?;
        let request = Request {
            actor: ActorId(actor),
            at,
            key,
            reason,
            command,
        };
        let outcome = py.detach(|| self.inner.execute(request)).map_err(raise)?;
        typed::outcome(py, &outcome, shape!(jifen::Event), result)
    }

    /// Answers a query as its JSON value.
    fn ask(&self, py: Python<'_>, query: Query) -> PyResult<Value> {
        py.detach(|| self.inner.query(&query)).map_err(raise)
    }
}

/// A policy argument as a policy document: a preset name or a dict.
fn policy_document(policy: &Bound<'_, PyAny>) -> PyResult<Value> {
    match policy.cast::<PyString>() {
        Ok(name) => Ok(Value::String(name.to_str()?.to_owned())),
        Err(_) => value::to_json(policy),
    }
}

fn engine_options(pepper: &[u8], pin_hash_cost: Option<(u32, u32)>) -> EngineOptions {
    let options = EngineOptions::new(pepper);
    match pin_hash_cost {
        Some((memory_kib, iterations)) => options.with_pin_hash_cost(PinHashCost {
            memory_kib,
            iterations,
        }),
        None => options,
    }
}

#[pymethods]
impl Engine {
    /// Opens an engine over a new in-memory journal with `policy` (a preset
    /// name or a policy dict, which may `extends` a preset).
    #[new]
    #[pyo3(signature = (policy, pepper, pin_hash_cost = None))]
    fn new(
        py: Python<'_>,
        policy: &Bound<'_, PyAny>,
        pepper: &[u8],
        pin_hash_cost: Option<(u32, u32)>,
    ) -> PyResult<Engine> {
        let document = policy_document(policy)?;
        let options = engine_options(pepper, pin_hash_cost);
        let inner = py
            .detach(|| {
                let policy = Policy::from_value(document)?;
                jifen::Engine::open_memory(policy, options)
            })
            .map_err(raise)?;
        Ok(Engine { inner })
    }

    /// Opens (or creates) an engine over the SQLite journal at `path`, the
    /// embedded durable store. `policy` starts a new journal; an existing one
    /// keeps its own (pass None). The pepper must be the same at every open.
    #[staticmethod]
    #[pyo3(signature = (path, pepper, policy = None, pin_hash_cost = None))]
    fn open(
        py: Python<'_>,
        path: std::path::PathBuf,
        pepper: &[u8],
        policy: Option<&Bound<'_, PyAny>>,
        pin_hash_cost: Option<(u32, u32)>,
    ) -> PyResult<Engine> {
        let document = policy.map(policy_document).transpose()?;
        let options = engine_options(pepper, pin_hash_cost);
        let inner = py
            .detach(|| {
                let policy = document.map(Policy::from_value).transpose()?;
                jifen::Engine::open(&path, policy, options)
            })
            .map_err(raise)?;
        Ok(Engine { inner })
    }

    /// The journal's checkpoint `{"seq", "hash"}`, for a county server to keep.
    fn checkpoint<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let head = self.inner.checkpoint();
        value::to_py(
            py,
            &serde_json::json!({ "seq": head.seq, "hash": head.hash }),
        )
    }

    /// Verifies the whole chain and that it extends `checkpoint` (as returned
    /// by `checkpoint()`); raises JournalError otherwise.
    fn verify_against<'py>(
        &self,
        py: Python<'py>,
        checkpoint: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let checkpoint: jifen::journal::Checkpoint =
            serde_json::from_value(value::to_json(checkpoint)?)
                .map_err(|e| raise(jifen::Error::from(e)))?;
        let head = py
            .detach(|| self.inner.verify_against(&checkpoint))
            .map_err(raise)?;
        value::to_py(
            py,
            &serde_json::json!({ "seq": head.seq, "hash": head.hash }),
        )
    }

    /// The JSON door: a request `{"actor", "at"?, "key"?, "reason"?,
    /// "command"}` or a query `{"query": {...}}` as a dict, or the same as
    /// JSON text; returns the JSON answer as plain Python values.
    fn execute<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = match request.cast::<PyString>() {
            Ok(text) => text.to_str()?.to_owned(),
            Err(_) => value::to_json(request)?.to_string(),
        };
        let answer = py
            .detach(|| {
                let answer = self.inner.execute_json(&text)?;
                Ok::<Value, jifen::Error>(serde_json::from_str(&answer)?)
            })
            .map_err(raise)?;
        value::to_py(py, &answer)
    }

    /// Registers an actor `id` with `roles`; the first actor registers itself
    /// as an administrator.
    #[pyo3(signature = (*, actor, id, roles, name = None, village = None, township = None,
                        at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn register_actor<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        id: String,
        roles: &Bound<'py, PyAny>,
        name: Option<String>,
        village: Option<String>,
        township: Option<String>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let new_actor = serde_json::json!({
            "id": id,
            "roles": value::to_json(roles)?,
            "name": name.unwrap_or_default(),
            "village": village,
            "township": township,
        });
        let command = Command::RegisterActor {
            actor: parse("actor", new_actor)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Registers a household. `region` is `{"county", "township", "village",
    /// "group"?}`; `members` a list of `{"name", "relation"?, "born"?}`;
    /// `residency` `{"kind": "resident"}` (the default) or
    /// `{"kind": "non_resident", "approval_ref": ...}`.
    #[pyo3(signature = (*, actor, household, region, head, category, category_from = None,
                        members = None, residency = None, attributes = None, photo_ref = None,
                        at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn register_household<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        region: &Bound<'py, PyAny>,
        head: String,
        category: String,
        category_from: Option<NaiveDate>,
        members: Option<&Bound<'py, PyAny>>,
        residency: Option<&Bound<'py, PyAny>>,
        attributes: Option<&Bound<'py, PyAny>>,
        photo_ref: Option<String>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::RegisterHousehold {
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
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Changes a household's category from `effective_from` on.
    #[pyo3(signature = (*, actor, household, category, effective_from,
                        at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn change_category<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        category: String,
        effective_from: NaiveDate,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ChangeCategory {
            household: HouseholdId(household),
            category: Category(category),
            effective_from,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Suspends (`"suspended"`), reactivates (`"active"`) or exits (`"exited"`) a household.
    #[pyo3(signature = (*, actor, household, status, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn set_household_status<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        status: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::SetHouseholdStatus {
            household: HouseholdId(household),
            status: document("status", status)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Issues card `card` to a household that holds no card in use.
    #[pyo3(signature = (*, actor, card, household, pin = None, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn issue_card<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        household: String,
        pin: Option<String>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::IssueCard {
            card: CardNumber(card),
            household: HouseholdId(household),
            pin,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Locks a card.
    #[pyo3(signature = (*, actor, card, at = None, key = None, reason = None))]
    fn lock_card<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::LockCard {
            card: CardNumber(card),
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Unlocks a locked card and clears its wrong-PIN count.
    #[pyo3(signature = (*, actor, card, at = None, key = None, reason = None))]
    fn unlock_card<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::UnlockCard {
            card: CardNumber(card),
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Records that the household lost its card.
    #[pyo3(signature = (*, actor, card, at = None, key = None, reason = None))]
    fn report_card_lost<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ReportCardLost {
            card: CardNumber(card),
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Replaces a card with a new number; balance and PIN stay with the household.
    #[pyo3(signature = (*, actor, old_card, new_card, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn replace_card<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        old_card: String,
        new_card: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ReplaceCard {
            old_card: CardNumber(old_card),
            new_card: CardNumber(new_card),
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Cancels a card for good.
    #[pyo3(signature = (*, actor, card, at = None, key = None, reason = None))]
    fn cancel_card<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::CancelCard {
            card: CardNumber(card),
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Sets a card's PIN (an administrator's reset).
    #[pyo3(signature = (*, actor, card, pin, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn set_pin<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        pin: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::SetPin {
            card: CardNumber(card),
            pin,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Changes a card's PIN after checking the old one (a wrong old PIN is counted).
    #[pyo3(signature = (*, actor, card, old_pin, new_pin, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn change_pin<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        old_pin: String,
        new_pin: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ChangePin {
            card: CardNumber(card),
            old_pin,
            new_pin,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Checks a card's PIN; the attempt is recorded before the check.
    #[pyo3(signature = (*, actor, card, pin, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn verify_pin<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        pin: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::VerifyPin {
            card: CardNumber(card),
            pin,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Posts an award directly (imports, corrections) through the caps; needs a reason.
    #[pyo3(signature = (*, actor, household, date, points, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn post_award<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        date: NaiveDate,
        points: i64,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::PostAward {
            household: HouseholdId(household),
            date,
            points: Points(points),
        };
        let result = shape!(jifen::account::AwardPosting);
        self.run(py, actor, at, key, reason, command, Some(result))
    }

    /// Posts a deduction directly; needs a reason.
    #[pyo3(signature = (*, actor, household, date, points, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn post_deduction<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        date: NaiveDate,
        points: i64,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::PostDeduction {
            household: HouseholdId(household),
            date,
            points: Points(points),
        };
        let result = shape!(jifen::account::DeductionPosting);
        self.run(py, actor, at, key, reason, command, Some(result))
    }

    /// Posts a one-vote veto that forfeits the period's awards; needs a reason.
    #[pyo3(signature = (*, actor, household, date, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn post_veto<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        date: NaiveDate,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::PostVeto {
            household: HouseholdId(household),
            date,
        };
        let result = shape!(jifen::account::VetoPosting);
        self.run(py, actor, at, key, reason, command, Some(result))
    }

    /// Moves points from household `from_` to `to`, approved by another actor; needs a reason.
    #[pyo3(signature = (*, actor, from_, to, points, approver, at = None, key = None,
                        reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn transfer_points<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        from_: String,
        to: String,
        points: i64,
        approver: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::TransferPoints {
            from: HouseholdId(from_),
            to: HouseholdId(to),
            points: Points(points),
            approver: ActorId(approver),
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Grants `units` of a use-count kind (e.g. 4 free haircuts a year).
    #[pyo3(signature = (*, actor, household, kind, units, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn grant_use_counts<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        kind: String,
        units: i64,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::GrantUseCounts {
            household: HouseholdId(household),
            kind,
            units,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// The household's points balance.
    fn balance(&self, py: Python<'_>, household: String) -> PyResult<i64> {
        let answer = self.ask(
            py,
            Query::Balance {
                household: HouseholdId(household),
            },
        )?;
        Ok(serde_json::from_value::<Points>(answer["balance"].clone())
            .map_err(|e| raise(e.into()))?
            .get())
    }

    /// The room left under the household's caps in `month` (`"YYYY-MM"`).
    fn cap_room<'py>(
        &self,
        py: Python<'py>,
        household: String,
        month: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let month = Month::from_str(month).map_err(|e| raise(e.into()))?;
        let query = Query::CapRoom {
            household: HouseholdId(household),
            month,
        };
        let answer = self.ask(py, query)?;
        shape!(jifen::account::CapRoom).to_py(py, &answer)
    }

    /// The household's registration.
    fn household<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let answer = self.ask(
            py,
            Query::Household {
                household: HouseholdId(id),
            },
        )?;
        shape!(jifen::household::Household).to_py(py, &answer)
    }

    /// A card by its number.
    fn card<'py>(&self, py: Python<'py>, number: String) -> PyResult<Bound<'py, PyAny>> {
        let answer = self.ask(
            py,
            Query::Card {
                card: CardNumber(number),
            },
        )?;
        shape!(jifen::card::Card).to_py(py, &answer)
    }

    /// The household's account: balance, totals, months, use counts.
    fn account<'py>(&self, py: Python<'py>, household: String) -> PyResult<Bound<'py, PyAny>> {
        let answer = self.ask(
            py,
            Query::Account {
                household: HouseholdId(household),
            },
        )?;
        shape!(jifen::account::Account).to_py(py, &answer)
    }

    /// The policy in force on `date`, with money as Decimal.
    fn policy<'py>(&self, py: Python<'py>, date: NaiveDate) -> PyResult<Bound<'py, PyAny>> {
        let answer = self.ask(py, Query::Policy { date })?;
        shape!(jifen::Policy).to_py(py, &answer)
    }

    /// Checks the engine's invariants; returns the totals over all accounts.
    fn check_invariants<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let answer = self.ask(py, Query::Invariants)?;
        shape!(jifen::account::Totals).to_py(py, &answer)
    }

    /// Walks the journal's hash chain end to end; returns its head `{"seq", "hash"}`.
    fn verify<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let answer = self.ask(py, Query::Verify)?;
        value::to_py(py, &answer)
    }

    // ---- The scoring workflow (core/scoring). ----

    /// Opens score sheet `sheet` for `village` and `month` (`"YYYY-MM"`).
    #[pyo3(signature = (*, actor, sheet, village, month, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn open_sheet<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        village: String,
        month: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::OpenSheet {
            sheet: id("sheet", sheet)?,
            village: VillageCode(village),
            period: id("month", month)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Adds an entry to a draft sheet; returns its position in the result.
    #[pyo3(signature = (*, actor, sheet, household, indicator, points, date, note = None,
                        evidence = None, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn add_entry<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        household: String,
        indicator: String,
        points: i64,
        date: NaiveDate,
        note: Option<String>,
        evidence: Option<String>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::AddEntry {
            sheet: id("sheet", sheet)?,
            household: HouseholdId(household),
            indicator,
            points: Points(points),
            date,
            note: note.unwrap_or_default(),
            evidence,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// A scorer of the village signs a draft sheet.
    #[pyo3(signature = (*, actor, sheet, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn sign_sheet<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::SignSheet {
            sheet: id("sheet", sheet)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Submits a draft signed by enough distinct scorers.
    #[pyo3(signature = (*, actor, sheet, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_sheet<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::SubmitSheet {
            sheet: id("sheet", sheet)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Sends a sheet back to draft from its pending review stage; needs a reason.
    #[pyo3(signature = (*, actor, sheet, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn send_back_sheet<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::SendBackSheet {
            sheet: id("sheet", sheet)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Puts a reviewed sheet on public notice.
    #[pyo3(signature = (*, actor, sheet, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn publish_sheet<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::PublishSheet {
            sheet: id("sheet", sheet)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Posts a sheet to the households' accounts through the caps; once.
    #[pyo3(signature = (*, actor, sheet, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn post_sheet<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::PostSheet {
            sheet: id("sheet", sheet)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Passes the sheet's pending review `stage` (e.g. `"village_review"`).
    #[pyo3(signature = (*, actor, sheet, stage, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn review_sheet<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        stage: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ReviewSheet {
            sheet: id("sheet", sheet)?,
            stage: id("stage", stage)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Lodges an objection against entry `entry` while the notice runs.
    #[pyo3(signature = (*, actor, sheet, entry, note, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn lodge_objection<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        entry: u32,
        note: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::LodgeObjection {
            sheet: id("sheet", sheet)?,
            entry,
            note,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Resolves an objection: `resolution` is `{"kind": "uphold"}`, `{"kind": "amend", "points":
    /// n}` or `{"kind": "strike"}` as the core spells it; needs a reason.
    #[pyo3(signature = (*, actor, sheet, objection, resolution, at = None, key = None,
                        reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn resolve_objection<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        sheet: String,
        objection: u32,
        resolution: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ResolveObjection {
            sheet: id("sheet", sheet)?,
            objection,
            resolution: document("resolution", resolution)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Records a household's declaration of a deed (申报).
    #[pyo3(signature = (*, actor, declaration, household, indicator, date, points = None,
                        note = None, evidence = None, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn declare<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        declaration: String,
        household: String,
        indicator: String,
        date: NaiveDate,
        points: Option<i64>,
        note: Option<String>,
        evidence: Option<String>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::Declare {
            declaration: id("declaration", declaration)?,
            household: HouseholdId(household),
            indicator,
            date,
            points: points.map(Points),
            note: note.unwrap_or_default(),
            evidence,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Accepts a declaration into a draft sheet as an entry.
    #[pyo3(signature = (*, actor, declaration, sheet, points = None, at = None, key = None,
                        reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn accept_declaration<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        declaration: String,
        sheet: String,
        points: Option<i64>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::AcceptDeclaration {
            declaration: id("declaration", declaration)?,
            sheet: id("sheet", sheet)?,
            points: points.map(Points),
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Closes a ranking period (`"2025-03"`, `"2025-Q1"` or `"2025"`) for a village and pays the
    /// ranking bonus.
    #[pyo3(signature = (*, actor, village, period, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn close_period<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        village: String,
        period: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ClosePeriod {
            village: VillageCode(village),
            period: id("period", period)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Closes a year for a village: star ratings, named stars, the star bonus.
    #[pyo3(signature = (*, actor, village, year, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn close_year<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        village: String,
        year: i32,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::CloseYear {
            village: VillageCode(village),
            year: Year(year),
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    // ---- Store setup (core/store): stores, items, prices, stock, donations. ----

    /// Registers a store: `kind`, `region` and `opening` as the core spells them (dicts/strings).
    #[pyo3(signature = (*, actor, store, name, kind, region, reimbursed, opening = None,
                        keepers = None, hold_minutes = None, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn register_store<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
        kind: &Bound<'py, PyAny>,
        region: &Bound<'py, PyAny>,
        reimbursed: &Bound<'py, PyAny>,
        opening: Option<&Bound<'py, PyAny>>,
        keepers: Option<&Bound<'py, PyAny>>,
        hold_minutes: Option<&Bound<'py, PyAny>>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command(
            "register_store",
            &[
                ("store", Some(store)),
                ("name", Some(name)),
                ("kind", Some(kind)),
                ("region", Some(region)),
                ("reimbursed", Some(reimbursed)),
                ("opening", opening),
                ("keepers", keepers),
                ("hold_minutes", hold_minutes),
            ],
        )?;
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Lists an item (`sku`) at a store.
    #[pyo3(signature = (*, actor, store, sku, name, category, unit = None, at = None, key = None,
                        reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn list_item<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        name: &Bound<'py, PyAny>,
        category: &Bound<'py, PyAny>,
        unit: Option<&Bound<'py, PyAny>>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command(
            "list_item",
            &[
                ("store", Some(store)),
                ("sku", Some(sku)),
                ("name", Some(name)),
                ("category", Some(category)),
                ("unit", unit),
            ],
        )?;
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Proposes a price (`{"points": n}` or a use count) with the market price in Yuan (Decimal).
    #[pyo3(signature = (*, actor, store, sku, price, market_price, at = None, key = None,
                        reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn propose_price<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        price: &Bound<'py, PyAny>,
        market_price: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command(
            "propose_price",
            &[
                ("store", Some(store)),
                ("sku", Some(sku)),
                ("price", Some(price)),
                ("market_price", Some(market_price)),
            ],
        )?;
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Forwards a price proposal to the approver.
    #[pyo3(signature = (*, actor, store, sku, proposal, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn forward_price<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        proposal: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command(
            "forward_price",
            &[
                ("store", Some(store)),
                ("sku", Some(sku)),
                ("proposal", Some(proposal)),
            ],
        )?;
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Approves a forwarded price proposal.
    #[pyo3(signature = (*, actor, store, sku, proposal, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn approve_price<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        proposal: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command(
            "approve_price",
            &[
                ("store", Some(store)),
                ("sku", Some(sku)),
                ("proposal", Some(proposal)),
            ],
        )?;
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Receives a lot of stock; `source` as the core spells it (purchased or donated).
    #[pyo3(signature = (*, actor, store, sku, quantity, source, expires = None, at = None,
                        key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn receive_stock<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: &Bound<'py, PyAny>,
        sku: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        source: &Bound<'py, PyAny>,
        expires: Option<&Bound<'py, PyAny>>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command(
            "receive_stock",
            &[
                ("store", Some(store)),
                ("sku", Some(sku)),
                ("quantity", Some(quantity)),
                ("source", Some(source)),
                ("expires", expires),
            ],
        )?;
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Registers a donation of goods and/or cash (Decimal), with its allocations to stores.
    #[pyo3(signature = (*, actor, donation, donor, date, receiving_body, goods = None,
                        cash = None, allocations = None, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn register_donation<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        donation: &Bound<'py, PyAny>,
        donor: &Bound<'py, PyAny>,
        date: &Bound<'py, PyAny>,
        receiving_body: &Bound<'py, PyAny>,
        goods: Option<&Bound<'py, PyAny>>,
        cash: Option<&Bound<'py, PyAny>>,
        allocations: Option<&Bound<'py, PyAny>>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command(
            "register_donation",
            &[
                ("donation", Some(donation)),
                ("donor", Some(donor)),
                ("date", Some(date)),
                ("receiving_body", Some(receiving_body)),
                ("goods", goods),
                ("cash", cash),
                ("allocations", allocations),
            ],
        )?;
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Voids a receipt with a supervisor's approval; needs a reason.
    #[pyo3(signature = (*, actor, receipt, supervisor, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn void_redemption<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        receipt: &Bound<'py, PyAny>,
        supervisor: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command(
            "void_redemption",
            &[("receipt", Some(receipt)), ("supervisor", Some(supervisor))],
        )?;
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Takes the notifications waiting in the outbox (at most `limit`).
    #[pyo3(signature = (*, actor, limit = None, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn take_notifications<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        limit: Option<&Bound<'py, PyAny>>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = command("take_notifications", &[("limit", limit)])?;
        self.run(py, actor, at, key, reason, command, None)
    }

    // ---- The kiosk (core/store/kiosk.rs): one typed call per screen. ----

    /// Checks a card and its PIN at the kiosk (the attempt is counted first);
    /// returns the card's household, balance, held and available points.
    #[pyo3(signature = (*, actor, card, pin, at = None, key = None))]
    fn check_card<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        card: String,
        pin: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = call(actor, at, key)?;
        let card = CardNumber(card);
        let result = py.detach(|| kiosk::check_card(&self.inner, &call, &card, &pin));
        answer(py, result, shape!(CardCheck))
    }

    /// What the kiosk shows for a card at a store at `at` [now]: balance,
    /// held and available points, whether the store redeems, the items.
    #[pyo3(signature = (store, card, at = None))]
    fn card_view<'py>(
        &self,
        py: Python<'py>,
        store: String,
        card: String,
        at: Option<Bound<'py, PyDateTime>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let at = at.map(|at| value::instant(at.as_any())).transpose()?;
        let (store, card) = (StoreId(store), CardNumber(card));
        let result = py.detach(|| kiosk::card_view(&self.inner, &store, &card, at));
        answer(py, result, shape!(CardView))
    }

    /// Redeems a basket (`lines`: `[{"sku", "quantity"}]`) in one step; returns the receipt.
    #[pyo3(signature = (*, actor, store, card, pin, lines, signature_ref, at = None, key = None))]
    #[allow(clippy::too_many_arguments)]
    fn redeem<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: String,
        card: String,
        pin: String,
        lines: &Bound<'py, PyAny>,
        signature_ref: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = call(actor, at, key)?;
        let lines = basket(lines)?;
        let (store, card) = (StoreId(store), CardNumber(card));
        let result = py.detach(|| {
            kiosk::redeem(
                &self.inner,
                &call,
                &store,
                &card,
                &pin,
                lines,
                &signature_ref,
            )
        });
        answer(py, result, shape!(Receipt))
    }

    /// Holds a basket's points and stock while the household signs; returns the hold.
    #[pyo3(signature = (*, actor, store, card, pin, lines, at = None, key = None))]
    #[allow(clippy::too_many_arguments)]
    fn reserve<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: String,
        card: String,
        pin: String,
        lines: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = call(actor, at, key)?;
        let lines = basket(lines)?;
        let (store, card) = (StoreId(store), CardNumber(card));
        let result = py.detach(|| kiosk::reserve(&self.inner, &call, &store, &card, &pin, lines));
        answer(py, result, shape!(Hold))
    }

    /// Commits a hold once signed; returns the receipt.
    #[pyo3(signature = (*, actor, hold, signature_ref, at = None, key = None))]
    fn commit_hold<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        hold: String,
        signature_ref: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let call = call(actor, at, key)?;
        let hold: HoldId = id("hold", hold)?;
        let result = py.detach(|| kiosk::commit(&self.inner, &call, &hold, &signature_ref));
        answer(py, result, shape!(Receipt))
    }

    /// Cancels a hold, releasing its points and stock.
    #[pyo3(signature = (*, actor, hold, at = None, key = None))]
    fn cancel_hold(
        &self,
        py: Python<'_>,
        actor: String,
        hold: String,
        at: Option<Bound<'_, PyDateTime>>,
        key: Option<String>,
    ) -> PyResult<()> {
        let call = call(actor, at, key)?;
        let hold: HoldId = id("hold", hold)?;
        py.detach(|| kiosk::cancel(&self.inner, &call, &hold))
            .map_err(raise)
    }

    /// A receipt and its void, if any (to reprint).
    fn receipt<'py>(&self, py: Python<'py>, number: String) -> PyResult<Bound<'py, PyAny>> {
        let number: ReceiptNumber = id("receipt", number)?;
        let result = py.detach(|| kiosk::receipt(&self.inner, &number));
        answer(py, result, shape!(Redemption))
    }

    /// Ledger: the donation trace (one donation or all) as an Arrow table,
    /// one row per place a donated unit went (a receipt, a write-off or count,
    /// still on hand), laid out as the core's CSV trace: the donation, its
    /// goods line (or 现金采购 for lots its cash bought), the lot and store.
    #[pyo3(signature = (donation = None))]
    fn donation_trace(&self, py: Python<'_>, donation: Option<String>) -> PyResult<PyTable> {
        let query = Query::DonationTrace {
            donation: donation.map(|d| id("donation", d)).transpose()?,
            format: LedgerFormat::Json,
        };
        let answer = self.ask(py, query)?;
        let mut rows = Vec::new();
        for trace in arrow::rows(&answer, "donations") {
            let goods = arrow::rows(trace, "goods")
                .into_iter()
                .map(|g| (g["description"].clone(), arrow::rows(g, "lots")));
            let cash = std::iter::once((
                Value::String("现金采购".to_owned()),
                arrow::rows(trace, "cash_lots"),
            ));
            for (description, lots) in goods.chain(cash) {
                for lot in lots {
                    for usage in arrow::rows(lot, "uses") {
                        let mut row = usage.clone();
                        row["donation"] = trace["donation"].clone();
                        row["donor"] = trace["donor"].clone();
                        row["donated_on"] = trace["date"].clone();
                        row["receiving_body"] = trace["receiving_body"].clone();
                        row["goods"] = description.clone();
                        row["lot"] = lot["lot"].clone();
                        row["store"] = lot["store"].clone();
                        rows.push(row);
                    }
                }
            }
        }
        arrow::table(&rows.iter().collect::<Vec<_>>(), DONATION_TRACE)
    }

    /// Ledger: a village's monthly points detail, one row per household, as
    /// an Arrow table (points int64).
    fn points_detail(&self, py: Python<'_>, village: String, month: &str) -> PyResult<PyTable> {
        let query = Query::PointsDetail {
            village: VillageCode(village),
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            format: Format::Json,
        };
        let answer = self.ask(py, query)?;
        arrow::table(&arrow::rows(&answer, "households"), POINTS_DETAIL)
    }

    /// Ledger: a village's posted entries of a month, line by line, as an Arrow table.
    fn entry_ledger(&self, py: Python<'_>, village: String, month: &str) -> PyResult<PyTable> {
        let query = Query::EntryLedger {
            village: VillageCode(village),
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            format: Format::Json,
        };
        let answer = self.ask(py, query)?;
        arrow::table(&arrow::rows(&answer, "lines"), ENTRY_LEDGER)
    }

    /// Ledger: a village's quarterly publication list (`quarter` as `"YYYY-Qn"`)
    /// with ranks, as an Arrow table.
    fn publication_list(
        &self,
        py: Python<'_>,
        village: String,
        quarter: &str,
    ) -> PyResult<PyTable> {
        let query = Query::PublicationList {
            village: VillageCode(village),
            quarter: Quarter::from_str(quarter).map_err(|e| raise(e.into()))?,
            format: Format::Json,
        };
        let answer = self.ask(py, query)?;
        arrow::table(&arrow::rows(&answer, "rows"), PUBLICATION_LIST)
    }

    /// Ledger: a village's star-rated households of a closed year, as an Arrow table.
    fn star_ratings(&self, py: Python<'_>, village: String, year: i32) -> PyResult<PyTable> {
        let query = Query::StarRatings {
            village: VillageCode(village),
            year: Year(year),
            format: Format::Json,
        };
        let answer = self.ask(py, query)?;
        arrow::table(&arrow::rows(&answer, "rows"), STAR_RATINGS)
    }

    /// Ledger: a store's stock by lot, as an Arrow table (unit cost decimal128(18, 2)).
    fn stock_ledger(&self, py: Python<'_>, store: String) -> PyResult<PyTable> {
        let query = Query::StockLedger {
            store: StoreId(store),
            format: LedgerFormat::Json,
        };
        let answer = self.ask(py, query)?;
        arrow::table(&arrow::rows(&answer, "lots"), STOCK_LEDGER)
    }

    /// Ledger: the quarterly redemption ledger (兑换台账) of one store, one
    /// village or everywhere, a row per receipt line and per void line, as an
    /// Arrow table.
    #[pyo3(signature = (quarter, store = None, village = None))]
    fn redemption_ledger(
        &self,
        py: Python<'_>,
        quarter: &str,
        store: Option<String>,
        village: Option<String>,
    ) -> PyResult<PyTable> {
        let query = Query::RedemptionLedger {
            quarter: Quarter::from_str(quarter).map_err(|e| raise(e.into()))?,
            store: store.map(StoreId),
            village: village.map(VillageCode),
            format: LedgerFormat::Json,
        };
        let answer = self.ask(py, query)?;
        arrow::table(&arrow::rows(&answer, "rows"), REDEMPTION_LEDGER)
    }

    // ---- Reimbursement, month end and the filial fund (core/settlement, core/filial). ----

    /// Generates `month`'s (`"YYYY-MM"`) store statements once the month is
    /// over; running it again adds only missing ones.
    #[pyo3(signature = (*, actor, month, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn generate_statements<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        month: &str,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::GenerateStatements {
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
        };
        let result = shape!(jifen::settlement::statement::Generation);
        self.run(py, actor, at, key, reason, command, Some(result))
    }

    /// Submits (or, before review, resubmits) a store's own statement of
    /// `month`: the account it is paid into and `lines` of `{"receipt",
    /// "date", "household", "points"}`; the result lists the differences.
    #[pyo3(signature = (*, actor, store, month, account, lines, at = None, key = None,
                        reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_store_statement<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        store: String,
        month: &str,
        account: String,
        lines: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::SubmitStoreStatement {
            store: StoreId(store),
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            account,
            lines: document("lines", lines)?,
        };
        let result = shape!(jifen::settlement::reconcile::SubmissionReconciled);
        self.run(py, actor, at, key, reason, command, Some(result))
    }

    /// Reviews a submitted statement that matches the ledger (county office).
    #[pyo3(signature = (*, actor, statement, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn review_statement<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        statement: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ReviewStatement {
            statement: id("statement", statement)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Approves a reviewed statement for payment (finance, not the reviewer).
    #[pyo3(signature = (*, actor, statement, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn approve_statement<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        statement: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::ApproveStatement {
            statement: id("statement", statement)?,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Records the payment of an approved statement, once (finance): the
    /// bank's `reference` and the `date` the money left.
    #[pyo3(signature = (*, actor, statement, reference, date, at = None, key = None,
                        reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn record_payment<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        statement: String,
        reference: String,
        date: NaiveDate,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::RecordPayment {
            statement: id("statement", statement)?,
            reference,
            date,
        };
        let result = shape!(jifen::settlement::statement::PaymentRecorded);
        self.run(py, actor, at, key, reason, command, Some(result))
    }

    /// Enrols household member `elder` in the filial-piety fund (孝善基金).
    #[pyo3(signature = (*, actor, household, elder, at = None, key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn enrol_filial_elder<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        elder: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::EnrolFilialElder {
            household: HouseholdId(household),
            elder,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// Records `contributor`'s payment of `amount` (Decimal or str, yuan) for
    /// an enrolled elder and `month`; the result carries the fund's match.
    #[pyo3(signature = (*, actor, household, elder, contributor, month, amount, at = None,
                        key = None, reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn record_filial_contribution<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        elder: String,
        contributor: String,
        month: &str,
        amount: &Bound<'py, PyAny>,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::RecordFilialContribution {
            household: HouseholdId(household),
            elder,
            contributor,
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            amount: document("amount", amount)?,
        };
        let result = shape!(jifen::filial::Contribution);
        self.run(py, actor, at, key, reason, command, Some(result))
    }

    /// Pays an enrolled elder `amount` (Decimal or str, yuan) out of what
    /// stands in the fund for them.
    #[pyo3(signature = (*, actor, household, elder, amount, reference, at = None, key = None,
                        reason = None))]
    #[allow(clippy::too_many_arguments)]
    fn pay_filial_elder<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        household: String,
        elder: String,
        amount: &Bound<'py, PyAny>,
        reference: String,
        at: Option<Bound<'py, PyDateTime>>,
        key: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let command = Command::PayFilialElder {
            household: HouseholdId(household),
            elder,
            amount: document("amount", amount)?,
            reference,
        };
        self.run(py, actor, at, key, reason, command, None)
    }

    /// A reimbursement statement (`"<store>-YYYY-MM"`) with its status and
    /// open differences.
    fn statement<'py>(&self, py: Python<'py>, id: String) -> PyResult<Bound<'py, PyAny>> {
        let query = Query::Statement {
            statement: self::id("statement", id)?,
        };
        let answer = self.ask(py, query)?;
        shape!(jifen::settlement::statement::StatementView).to_py(py, &answer)
    }

    /// The statements of `month`, by store.
    fn statements<'py>(&self, py: Python<'py>, month: &str) -> PyResult<Bound<'py, PyAny>> {
        let query = Query::Statements {
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
        };
        let answer = self.ask(py, query)?;
        shape!(Vec<jifen::settlement::statement::StatementView>).to_py(py, &answer)
    }

    /// The differences between a statement and the store's own statement.
    fn reconciliation<'py>(
        &self,
        py: Python<'py>,
        statement: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let query = Query::Reconciliation {
            statement: id("statement", statement)?,
        };
        let answer = self.ask(py, query)?;
        shape!(Vec<jifen::settlement::reconcile::Difference>).to_py(py, &answer)
    }

    /// The bank's payment file of `month` (the approved, unpaid statements)
    /// as CSV text with a BOM, with English or (`chinese`) Chinese headers.
    #[pyo3(signature = (month, *, chinese = false))]
    fn payment_file(&self, py: Python<'_>, month: &str, chinese: bool) -> PyResult<String> {
        let query = Query::PaymentFile {
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            format: if chinese { Format::CsvZh } else { Format::Csv },
        };
        let answer = self.ask(py, query)?;
        serde_json::from_value(answer).map_err(|e| raise(e.into()))
    }

    /// The filial-piety fund's statement: every elder's contributions,
    /// matches, payouts and balance, the totals, and the match by source.
    fn filial_statement<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let answer = self.ask(py, Query::FilialStatement)?;
        shape!(jifen::filial::FilialStatement).to_py(py, &answer)
    }

    /// The outstanding points liability at the end of `month`, a row per
    /// village, then township, then the county, as an Arrow table (points
    /// int64, amount decimal128(18, 2)).
    fn liability(&self, py: Python<'_>, month: &str) -> PyResult<PyTable> {
        let query = Query::Liability {
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            format: Format::Json,
        };
        let answer = self.ask(py, query)?;
        arrow::table(&arrow::rows(&answer, "rows"), LIABILITY)
    }

    /// The month's activity statistics (附件10), a row per village, then
    /// township, then the county, as an Arrow table (points int64, money
    /// decimal128(18, 2)).
    fn monthly_statistics(&self, py: Python<'_>, month: &str) -> PyResult<PyTable> {
        let query = Query::MonthlyStatistics {
            month: Month::from_str(month).map_err(|e| raise(e.into()))?,
            format: Format::Json,
        };
        let answer = self.ask(py, query)?;
        arrow::table(&arrow::rows(&answer, "rows"), MONTHLY_STATISTICS)
    }
}

// The ledgers' columns, named as the core's row structs serialize them.

const POINTS: Kind = Kind::Int;

const POINTS_DETAIL: &[(&str, Kind)] = &[
    ("household", Kind::Text),
    ("head", Kind::Text),
    ("category", Kind::Text),
    ("entries", Kind::Int),
    ("awarded", POINTS),
    ("credited", POINTS),
    ("capped", POINTS),
    ("vetoed", POINTS),
    ("deducted", POINTS),
    ("unapplied", POINTS),
    ("net_score", POINTS),
    ("balance", POINTS),
];

const ENTRY_LEDGER: &[(&str, Kind)] = &[
    ("sheet", Kind::Text),
    ("position", Kind::Int),
    ("date", Kind::Date),
    ("household", Kind::Text),
    ("head", Kind::Text),
    ("indicator", Kind::Text),
    ("indicator_name", Kind::Text),
    ("kind", Kind::Text),
    ("points", POINTS),
    ("credited", POINTS),
    ("capped", POINTS),
    ("vetoed", POINTS),
    ("deducted", POINTS),
    ("unapplied", POINTS),
    ("acknowledgement", Kind::Text),
    ("evidence", Kind::Text),
    ("note", Kind::Text),
];

const PUBLICATION_LIST: &[(&str, Kind)] = &[
    ("rank", Kind::Int),
    ("household", Kind::Text),
    ("head", Kind::Text),
    ("credited", POINTS),
    ("deducted", POINTS),
    ("net_score", POINTS),
    ("ranking_bonus", POINTS),
    ("vetoed", Kind::Bool),
    ("balance", POINTS),
];

const STAR_RATINGS: &[(&str, Kind)] = &[
    ("household", Kind::Text),
    ("head", Kind::Text),
    ("net_score", POINTS),
    ("stars", Kind::Int),
    ("named_stars", Kind::TextList),
    ("star_points", POINTS),
    ("star_bonus", POINTS),
    ("credited", POINTS),
];

const STOCK_LEDGER: &[(&str, Kind)] = &[
    ("lot", Kind::Text),
    ("sku", Kind::Text),
    ("item", Kind::Text),
    ("source", Kind::Text),
    ("reference", Kind::Text),
    ("donation", Kind::Text),
    ("unit_cost", Kind::Money),
    ("received_on", Kind::Date),
    ("expires", Kind::Date),
    ("received", Kind::Int),
    ("returned", Kind::Int),
    ("found", Kind::Int),
    ("redeemed", Kind::Int),
    ("written_off", Kind::Int),
    ("stock_in", Kind::Int),
    ("stock_out", Kind::Int),
    ("on_hand", Kind::Int),
    ("held", Kind::Int),
];

// `unit_price` is text: an item is priced in points or in use counts
// ("haircut×1"), so the column holds either.
const REDEMPTION_LEDGER: &[(&str, Kind)] = &[
    ("date", Kind::Date),
    ("kind", Kind::Text),
    ("receipt", Kind::Text),
    ("store", Kind::Text),
    ("village", Kind::Text),
    ("household", Kind::Text),
    ("head", Kind::Text),
    ("card", Kind::Text),
    ("sku", Kind::Text),
    ("item", Kind::Text),
    ("quantity", Kind::Int),
    ("unit_price", Kind::Text),
    ("points", POINTS),
    ("use_count", Kind::Text),
    ("lots", Kind::Text),
    ("sources", Kind::Text),
    ("signature_ref", Kind::Text),
    ("keeper", Kind::Text),
    ("supervisor", Kind::Text),
    ("reason", Kind::Text),
];

const DONATION_TRACE: &[(&str, Kind)] = &[
    ("donation", Kind::Text),
    ("donor", Kind::Text),
    ("donated_on", Kind::Date),
    ("receiving_body", Kind::Text),
    ("goods", Kind::Text),
    ("lot", Kind::Text),
    ("store", Kind::Text),
    ("outcome", Kind::Text),
    ("receipt", Kind::Text),
    ("date", Kind::Date),
    ("household", Kind::Text),
    ("head", Kind::Text),
    ("village", Kind::Text),
    ("quantity", Kind::Int),
    ("voided", Kind::Bool),
    ("reason", Kind::Text),
];

const LIABILITY: &[(&str, Kind)] = &[
    ("level", Kind::Text),
    ("code", Kind::Text),
    ("households", Kind::Int),
    ("points", POINTS),
    ("amount", Kind::Money),
];

const MONTHLY_STATISTICS: &[(&str, Kind)] = &[
    ("level", Kind::Text),
    ("code", Kind::Text),
    ("households", Kind::Int),
    ("participating", Kind::Int),
    ("awarded", POINTS),
    ("deducted", POINTS),
    ("capped", POINTS),
    ("vetoed", POINTS),
    ("redeemed", POINTS),
    ("reimbursement_due", Kind::Money),
    ("reimbursement_paid", Kind::Money),
];
