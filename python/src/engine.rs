//! `jifen.Engine`: the core engine as a Python object.
//!
//! Every method builds a core `Request` or `Query` and goes through the core's
//! one execute path; no rule lives here. Typed methods exist so Python callers
//! get keyword arguments, `datetime.date` and `decimal.Decimal`; the JSON door
//! `execute` takes exactly what the C surface and the scenarios take.

use std::str::FromStr;

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
    ActorId, CardNumber, Command, EngineOptions, HouseholdId, Month, Points, Policy, Quarter,
    Query, Request, VillageCode, Year,
};
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyString};
use pyo3_arrow::PyTable;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::arrow::{self, Kind};
use crate::errors::raise;
use crate::typed::{self, shape, Shape};
use crate::value;

/// A points engine over an in-memory journal.
#[pyclass(frozen, module = "jifen._jifen", name = "Engine")]
pub struct Engine {
    // The core engine is Send + Sync and every method takes &self: it holds
    // its own journal lock (one writer at a time) and a read-write lock over
    // the state. That is why there is no Mutex here, and why calls can run
    // with the interpreter released.
    inner: jifen::Engine,
}

/// A whole document argument (a region, members, a status) read as the core type.
pub(crate) fn document<T: DeserializeOwned>(field: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    parse(field, value::to_json(value)?)
}

/// An id or a name (a sheet, a stage, a village) read as the core type.
pub(crate) fn id<T: DeserializeOwned>(field: &str, text: String) -> PyResult<T> {
    parse(field, Value::String(text))
}

/// A JSON value read as the core type; a mismatch is the core's `malformed_request`.
pub(crate) fn parse<T: DeserializeOwned>(field: &str, json: Value) -> PyResult<T> {
    serde_json::from_value(json).map_err(|e| {
        raise(
            InputError::Malformed {
                detail: format!("{field}: {e}"),
            }
            .into(),
        )
    })
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
    pub(crate) fn run<'py>(
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

    // ---- Reimbursement, month end and the filial fund: queries. ----

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
