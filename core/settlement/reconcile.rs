//! Reconciliation: the store's own statement (receipt, date, household,
//! points per line) matched line by line against the engine's statement.
//! Every difference is listed; a statement with open differences cannot be
//! reviewed, so money only leaves on figures both sides agree on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::statement::{Signoff, Statement, StatementId, StatementStatus};
use crate::engine::Context;
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::primitives::{HouseholdId, Month, Points};
use crate::state::State;
use crate::store::{ReceiptNumber, StoreId};

/// One line of the store's own statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreLine {
    /// The receipt number.
    pub receipt: ReceiptNumber,
    /// The date the store booked it.
    pub date: NaiveDate,
    /// The household.
    pub household: HouseholdId,
    /// The points the store claims.
    pub points: Points,
}

/// The store's statement as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Submission {
    /// The store's bank account reference, for the payment file.
    pub account: String,
    /// Its lines.
    pub lines: Vec<StoreLine>,
    /// The keeper who submitted it, and when.
    pub submitted: Signoff,
}

/// What kind of difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The ledger counts the receipt; the store's statement does not list it.
    MissingFromStore,
    /// The store lists a receipt the ledger does not reimburse (unknown,
    /// voided, another store's, or donated goods only).
    MissingFromLedger,
    /// Both list it, with different points.
    PointsDiffer,
    /// Both list it, for different households.
    HouseholdDiffers,
    /// The store dates the line outside the statement's month.
    OutsideMonth,
    /// The store lists the receipt more than once.
    Duplicate,
}

/// `submit_store_statement`'s answer: the differences the submission leaves
/// open (none when it matches the ledger).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubmissionReconciled {
    /// The statement.
    pub statement: StatementId,
    /// Every difference with the ledger.
    pub differences: Vec<Difference>,
}

/// One difference between the store's statement and the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Difference {
    /// What differs.
    pub kind: DifferenceKind,
    /// The receipt.
    pub receipt: ReceiptNumber,
    /// The ledger's points, when the ledger counts the receipt.
    pub ledger_points: Option<Points>,
    /// The store's points, when the store lists it.
    pub store_points: Option<Points>,
    /// The store's date, when the store lists it.
    pub store_date: Option<NaiveDate>,
}

/// Every difference between the statement's ledger lines and the store's
/// submission (none before anything is submitted: nothing to compare).
pub fn differences(statement: &Statement) -> Vec<Difference> {
    let Some(submission) = &statement.submission else {
        return Vec::new();
    };
    let ledger: BTreeMap<&ReceiptNumber, _> =
        statement.lines.iter().map(|l| (&l.receipt, l)).collect();
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for line in &submission.lines {
        let ours = ledger.get(&line.receipt);
        let mut difference = |kind| {
            found.push(Difference {
                kind,
                receipt: line.receipt.clone(),
                ledger_points: ours.map(|l| l.points),
                store_points: Some(line.points),
                store_date: Some(line.date),
            })
        };
        if !seen.insert(&line.receipt) {
            difference(DifferenceKind::Duplicate);
            continue;
        }
        if Month::of(line.date) != statement.month {
            difference(DifferenceKind::OutsideMonth);
        }
        match ours {
            None => difference(DifferenceKind::MissingFromLedger),
            Some(ours) => {
                if ours.points != line.points {
                    difference(DifferenceKind::PointsDiffer);
                }
                if ours.household != line.household {
                    difference(DifferenceKind::HouseholdDiffers);
                }
            }
        }
    }
    for line in &statement.lines {
        if !seen.contains(&line.receipt) {
            found.push(Difference {
                kind: DifferenceKind::MissingFromStore,
                receipt: line.receipt.clone(),
                ledger_points: Some(line.points),
                store_points: None,
                store_date: None,
            });
        }
    }
    found
}

/// The store's keeper submits (or, before review, resubmits) the store's
/// statement; the answer lists the differences found.
pub(crate) fn submit(
    state: &State,
    ctx: &Context,
    store: &StoreId,
    month: Month,
    account: &str,
    lines: &[StoreLine],
) -> Result<(Vec<Event>, Value), Error> {
    state.stores.book(store)?.store.require_keeper(ctx.actor)?;
    let id = StatementId::of(store, month);
    let statement = state.settlement.statement(&id)?;
    if statement.status() != StatementStatus::Submitted {
        statement.require_stage(StatementStatus::Generated)?;
    }
    if account.trim().is_empty() {
        return Err(InputError::InvalidValue {
            field: "account",
            detail: "the store's statement needs the account to be paid into".into(),
        }
        .into());
    }
    let submission = Submission {
        account: account.to_owned(),
        lines: lines.to_vec(),
        submitted: Signoff {
            by: ctx.actor.id.clone(),
            on: ctx.date(),
        },
    };
    let mut after = statement.clone();
    after.submission = Some(submission.clone());
    let open = differences(&after);
    Ok((
        vec![Event::StoreStatementSubmitted {
            statement: id.clone(),
            submission,
        }],
        serde_json::to_value(SubmissionReconciled {
            statement: id,
            differences: open,
        })?,
    ))
}
