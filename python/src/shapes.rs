//! The shapes of the settlement and fund answers the core writes as plain
//! JSON objects (a statement with its status and differences, month end's
//! generated list, the fund's statement), named here only so `typed` can
//! find their money and dates. They are never built: the values always come
//! from the core's JSON; a field missing here would surface as plain text,
//! which the tests check for.

#![expect(
    dead_code,
    reason = "schema-only types: schemars reads their fields, no code does"
)]

use std::collections::BTreeMap;

use chrono::NaiveDate;
use jifen::settlement::reconcile::Difference;
use jifen::settlement::statement::{Statement, StatementId, StatementStatus};
use jifen::store::StoreId;
use jifen::{HouseholdId, Month, Points, Yuan};
use schemars::JsonSchema;

/// A statement as the `statement` and `statements` queries show it.
#[derive(JsonSchema)]
pub struct StatementView {
    #[serde(flatten)]
    statement: Statement,
    status: StatementStatus,
    differences: Vec<Difference>,
}

/// `generate_statements`' result.
#[derive(JsonSchema)]
pub struct Generated {
    month: Month,
    generated: Vec<GeneratedStatement>,
    existing: Vec<StatementId>,
}

/// One statement month end generated.
#[derive(JsonSchema)]
struct GeneratedStatement {
    id: StatementId,
    store: StoreId,
    points: Points,
    amount: Yuan,
}

/// `submit_store_statement`'s result: the differences found.
#[derive(JsonSchema)]
pub struct Submitted {
    statement: StatementId,
    differences: Vec<Difference>,
}

/// `record_payment`'s result.
#[derive(JsonSchema)]
pub struct Paid {
    statement: StatementId,
    status: StatementStatus,
    amount: Yuan,
    reference: String,
    date: NaiveDate,
}

/// The filial-piety fund's statement.
#[derive(JsonSchema)]
pub struct FilialStatement {
    elders: Vec<ElderStanding>,
    contributed: Yuan,
    matched: Yuan,
    paid: Yuan,
    balance: Yuan,
    matched_by_source: BTreeMap<String, Yuan>,
}

/// One elder's figures in the fund's statement.
#[derive(JsonSchema)]
struct ElderStanding {
    household: HouseholdId,
    elder: String,
    contributed: Yuan,
    matched: Yuan,
    paid: Yuan,
    balance: Yuan,
}
