//! Reimbursement statements (兑现): for each reimbursed store and month, the
//! points redeemed on purchased stock, less voids, paid at the point value of
//! the policy in force, rounded once per statement, split across the funding
//! sources exactly. A statement is generated once at month end, then the
//! store's own statement is reconciled against it, the county office reviews,
//! finance approves and records the payment, once.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::SettlementError;
use super::monthend;
use super::reconcile::{self, Difference, Submission};
use crate::access::Role;
use crate::command::{Command, Query};
use crate::engine::Context;
use crate::error::{Error, InputError};
use crate::event::Event;
use crate::policy::{funding, Rounding};
use crate::primitives::{
    string_id, ActorId, CountyCode, HouseholdId, Month, Points, TownshipCode, VillageCode, Yuan,
};
use crate::report::Ledger;
use crate::state::State;
use crate::store::redemption::Redemption;
use crate::store::stock::SourceKind;
use crate::store::{ReceiptNumber, StoreId};

string_id!(
    /// A statement's id: `<store>-<YYYY-MM>`, one per store and month.
    StatementId
);

impl StatementId {
    /// The id of `store`'s statement for `month`.
    pub fn of(store: &StoreId, month: Month) -> StatementId {
        StatementId::from(format!("{store}-{month}").as_str())
    }
}

/// The amount for `points` at `point_value`, rounded once with `rounding`.
/// The one place a reimbursement amount is computed: statements and the bulk
/// settlement kernel both call it.
pub fn reimbursement_amount(points: Points, point_value: Yuan, rounding: Rounding) -> Yuan {
    Yuan(fen(
        rounding.apply(Decimal::from(points.get()) * point_value.0)
    ))
}

/// An amount already in whole fen, written with its two decimals (30 → 30.00).
pub fn fen(mut amount: Decimal) -> Decimal {
    amount.rescale(2);
    amount
}

/// The points of a redemption that the store is reimbursed for: those paid
/// for goods from purchased lots, when the store was reimbursed at the time;
/// nothing once the redemption is voided (a void undoes the whole receipt).
pub fn reimbursable_points(redemption: &Redemption) -> Points {
    let receipt = &redemption.receipt;
    if !receipt.reimbursed || redemption.void.is_some() {
        return Points(0);
    }
    receipt
        .lines
        .iter()
        .flat_map(|line| &line.lots)
        .filter(|lot| lot.source == SourceKind::Purchased)
        .map(|lot| lot.points)
        .sum()
}

/// One receipt as the engine's ledger counts it on a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LedgerLine {
    /// The receipt.
    pub receipt: ReceiptNumber,
    /// Its business date.
    pub date: NaiveDate,
    /// The household.
    pub household: HouseholdId,
    /// Its reimbursable points.
    pub points: Points,
}

/// One funding source's part of a statement's amount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FundingLine {
    /// The source.
    pub source: String,
    /// Its part, to the fen.
    pub amount: Yuan,
}

/// Who took a step, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Signoff {
    /// The actor.
    pub by: ActorId,
    /// The business date.
    pub on: NaiveDate,
}

/// A payment recorded by finance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Payment {
    /// The bank's or treasury's reference.
    pub reference: String,
    /// The date the money left.
    pub date: NaiveDate,
    /// The amount paid (the statement's amount).
    pub amount: Yuan,
    /// Who recorded it.
    pub by: ActorId,
}

/// Where a statement stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    /// Generated; waiting for the store's statement.
    Generated,
    /// The store submitted its statement.
    Submitted,
    /// The county office reviewed it.
    Reviewed,
    /// Finance approved it for payment.
    Approved,
    /// Paid.
    Paid,
}

impl StatementStatus {
    fn name(self) -> &'static str {
        match self {
            StatementStatus::Generated => "generated",
            StatementStatus::Submitted => "submitted",
            StatementStatus::Reviewed => "reviewed",
            StatementStatus::Approved => "approved",
            StatementStatus::Paid => "paid",
        }
    }
}

/// A store's reimbursement statement for a month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Statement {
    /// `<store>-<YYYY-MM>`.
    pub id: StatementId,
    /// The store.
    pub store: StoreId,
    /// The store's name.
    pub store_name: String,
    /// The store's county.
    pub county: CountyCode,
    /// The store's township.
    pub township: TownshipCode,
    /// The store's village, for a village store.
    pub village: Option<VillageCode>,
    /// The month.
    pub month: Month,
    /// The receipts counted, with their reimbursable points.
    pub lines: Vec<LedgerLine>,
    /// Reimbursable points in all.
    pub points: Points,
    /// The point value of the policy in force on the month's last day.
    pub point_value: Yuan,
    /// The rounding that made the amount.
    pub rounding: Rounding,
    /// Points × point value, rounded once.
    pub amount: Yuan,
    /// The amount split across the funding sources; the parts add up to it.
    pub funding: Vec<FundingLine>,
    /// The day payment is due (the policy's day of the next month).
    pub due: NaiveDate,
    /// Who generated it, and when.
    pub generated: Signoff,
    /// The store's own statement, once submitted.
    pub submission: Option<Submission>,
    /// The county office's review.
    pub reviewed: Option<Signoff>,
    /// Finance's approval.
    pub approved: Option<Signoff>,
    /// Payments recorded (never more than one).
    pub payments: Vec<Payment>,
}

impl Statement {
    /// Where the statement stands.
    pub fn status(&self) -> StatementStatus {
        if !self.payments.is_empty() {
            StatementStatus::Paid
        } else if self.approved.is_some() {
            StatementStatus::Approved
        } else if self.reviewed.is_some() {
            StatementStatus::Reviewed
        } else if self.submission.is_some() {
            StatementStatus::Submitted
        } else {
            StatementStatus::Generated
        }
    }

    pub(crate) fn require_stage(&self, needed: StatementStatus) -> Result<(), SettlementError> {
        if let Some(paid) = self.payments.first() {
            return Err(SettlementError::AlreadyPaid {
                statement: self.id.to_string(),
                reference: paid.reference.clone(),
                date: paid.date.to_string(),
            });
        }
        let status = self.status();
        if status == needed {
            return Ok(());
        }
        Err(SettlementError::WrongStage {
            statement: self.id.to_string(),
            status: status.name().into(),
            needed: needed.name().into(),
        })
    }

    /// The statement with its status and open differences, as queries show it.
    pub fn view(&self) -> StatementView {
        StatementView {
            statement: self.clone(),
            status: self.status(),
            differences: reconcile::differences(self),
        }
    }
}

/// A statement as the `statement` and `statements` queries show it: its own
/// fields, where it stands, and the differences still open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StatementView {
    /// The statement.
    #[serde(flatten)]
    pub statement: Statement,
    /// Where it stands.
    pub status: StatementStatus,
    /// The open differences with the store's own statement.
    pub differences: Vec<Difference>,
}

/// `generate_statements`' answer: what month end generated and what it found
/// already there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Generation {
    /// The month.
    pub month: Month,
    /// The statements generated by this run.
    pub generated: Vec<GeneratedStatement>,
    /// The statements an earlier run had generated, left as they were.
    pub existing: Vec<StatementId>,
}

/// One statement month end generated, in brief.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GeneratedStatement {
    /// The statement.
    pub id: StatementId,
    /// Its store.
    pub store: StoreId,
    /// Its reimbursable points.
    pub points: Points,
    /// Its amount.
    pub amount: Yuan,
}

/// `review_statement`'s and `approve_statement`'s answer: the statement and
/// the stage it has reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StageReached {
    /// The statement.
    pub statement: StatementId,
    /// Where it now stands.
    pub status: StatementStatus,
}

/// `record_payment`'s answer: the statement, now paid, and the payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentRecorded {
    /// The statement.
    pub statement: StatementId,
    /// Where it now stands (`paid`).
    pub status: StatementStatus,
    /// The amount paid (the statement's amount).
    pub amount: Yuan,
    /// The bank's or treasury's reference.
    pub reference: String,
    /// The date the money left.
    pub date: NaiveDate,
}

/// Every statement, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementState {
    /// Statements by id.
    pub statements: BTreeMap<StatementId, Statement>,
}

impl SettlementState {
    /// The statement, or `unknown_statement`.
    pub fn statement(&self, id: &StatementId) -> Result<&Statement, SettlementError> {
        self.statements
            .get(id)
            .ok_or_else(|| SettlementError::UnknownStatement {
                statement: id.to_string(),
            })
    }

    /// The statements of a month, by store.
    pub fn of_month(&self, month: Month) -> impl Iterator<Item = &Statement> {
        self.statements.values().filter(move |s| s.month == month)
    }

    /// Applies a settlement event.
    pub fn apply(&mut self, event: &Event) {
        let (id, change): (&StatementId, fn(&mut Statement, &Event)) = match event {
            Event::StatementGenerated(statement) => {
                self.statements
                    .insert(statement.id.clone(), (**statement).clone());
                return;
            }
            Event::StoreStatementSubmitted { statement, .. } => (statement, |s, e| {
                if let Event::StoreStatementSubmitted { submission, .. } = e {
                    s.submission = Some(submission.clone());
                }
            }),
            Event::StatementReviewed { statement, .. } => (statement, |s, e| {
                if let Event::StatementReviewed { signoff, .. } = e {
                    s.reviewed = Some(signoff.clone());
                }
            }),
            Event::StatementApproved { statement, .. } => (statement, |s, e| {
                if let Event::StatementApproved { signoff, .. } = e {
                    s.approved = Some(signoff.clone());
                }
            }),
            Event::StatementPaid { statement, .. } => (statement, |s, e| {
                if let Event::StatementPaid { payment, .. } = e {
                    s.payments.push(payment.clone());
                }
            }),
            _ => return,
        };
        if let Some(statement) = self.statements.get_mut(id) {
            change(statement, event);
        }
    }

    /// A statement's funding parts add up to its amount, its amount is its
    /// points at its point value, and it is paid at most once, in full.
    pub fn check_invariants(&self) -> Result<(), String> {
        for s in self.statements.values() {
            let parts: Decimal = s.funding.iter().map(|f| f.amount.0).sum();
            if parts != s.amount.0 {
                return Err(format!(
                    "statement {}: funding parts {parts} != amount {}",
                    s.id, s.amount
                ));
            }
            if s.amount != reimbursement_amount(s.points, s.point_value, s.rounding)
                || s.points != s.lines.iter().map(|l| l.points).sum()
            {
                return Err(format!(
                    "statement {}: amount does not follow from its lines",
                    s.id
                ));
            }
            if s.payments.len() > 1 {
                return Err(format!(
                    "statement {} paid {} times",
                    s.id,
                    s.payments.len()
                ));
            }
            if let Some(payment) = s.payments.first() {
                if payment.amount != s.amount || s.approved.is_none() {
                    return Err(format!(
                        "statement {}: payment without approval or short",
                        s.id
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Builds the statement of `store` for `month` from the receipts.
fn build(state: &State, ctx: &Context, store: &StoreId, month: Month) -> Result<Statement, Error> {
    let book = state.stores.book(store)?;
    let policy = state.policies.in_force(month.last_day())?;
    let rules = &policy.reimbursement;
    let lines: Vec<LedgerLine> = state
        .stores
        .receipts
        .values()
        .filter(|r| &r.receipt.store == store && Month::of(r.receipt.date) == month)
        .map(|r| LedgerLine {
            receipt: r.receipt.number.clone(),
            date: r.receipt.date,
            household: r.receipt.household.clone(),
            points: reimbursable_points(r),
        })
        .filter(|l| l.points.get() > 0)
        .collect();
    let points: Points = lines.iter().map(|l| l.points).sum();
    let amount = reimbursement_amount(points, policy.point_value, rules.rounding);
    let funding = funding::split(amount.0, &rules.funding)
        .into_iter()
        .map(|part| FundingLine {
            source: part.source,
            amount: Yuan(part.amount),
        })
        .collect();
    let region = &book.store.region;
    Ok(Statement {
        id: StatementId::of(store, month),
        store: store.clone(),
        store_name: book.store.name.clone(),
        county: region.county.clone(),
        township: region.township.clone(),
        village: region.village.clone(),
        month,
        lines,
        points,
        point_value: policy.point_value,
        rounding: rules.rounding,
        amount,
        funding,
        due: due_date(month, rules.deadline_day),
        generated: Signoff {
            by: ctx.actor.id.clone(),
            on: ctx.date(),
        },
        submission: None,
        reviewed: None,
        approved: None,
        payments: Vec::new(),
    })
}

/// The payment deadline: the policy's day of the month after.
fn due_date(month: Month, day: u32) -> NaiveDate {
    month
        .next()
        .day(day)
        .unwrap_or_else(|| month.next().last_day())
}

/// Generates the month's statements for every store that redeemed
/// reimbursable points in it and has none yet; running it again adds only
/// what is missing, so month end can be re-run safely.
fn generate(state: &State, ctx: &Context, month: Month) -> Result<(Vec<Event>, Value), Error> {
    if !ctx.actor.roles.contains(&Role::Administrator) {
        ctx.actor.require(Role::CountyOffice)?;
    }
    if ctx.date() <= month.last_day() {
        return Err(SettlementError::MonthNotOver {
            month: month.to_string(),
            today: ctx.date().to_string(),
        }
        .into());
    }
    let mut stores: Vec<&StoreId> = state
        .stores
        .receipts
        .values()
        .filter(|r| Month::of(r.receipt.date) == month && reimbursable_points(r).get() > 0)
        .map(|r| &r.receipt.store)
        .collect();
    stores.sort();
    stores.dedup();
    let mut events = Vec::new();
    let mut existing = Vec::new();
    for store in stores {
        let id = StatementId::of(store, month);
        if state.settlement.statements.contains_key(&id) {
            existing.push(id);
        } else {
            events.push(Event::StatementGenerated(Box::new(build(
                state, ctx, store, month,
            )?)));
        }
    }
    let generated = events
        .iter()
        .filter_map(|e| match e {
            Event::StatementGenerated(s) => Some(GeneratedStatement {
                id: s.id.clone(),
                store: s.store.clone(),
                points: s.points,
                amount: s.amount,
            }),
            _ => None,
        })
        .collect();
    let answer = Generation {
        month,
        generated,
        existing,
    };
    Ok((events, serde_json::to_value(answer)?))
}

/// Decides a settlement command.
pub(crate) fn decide(
    state: &State,
    ctx: &Context,
    command: &Command,
) -> Result<(Vec<Event>, Value), Error> {
    let book = &state.settlement;
    let signoff = || Signoff {
        by: ctx.actor.id.clone(),
        on: ctx.date(),
    };
    match command {
        Command::GenerateStatements { month } => generate(state, ctx, *month),
        Command::SubmitStoreStatement {
            store,
            month,
            account,
            lines,
        } => reconcile::submit(state, ctx, store, *month, account, lines),
        Command::ReviewStatement { statement } => {
            ctx.actor.require(Role::CountyOffice)?;
            let s = book.statement(statement)?;
            s.require_stage(StatementStatus::Submitted)?;
            let open = reconcile::differences(s);
            if !open.is_empty() {
                return Err(SettlementError::OpenDifferences {
                    statement: statement.to_string(),
                    count: open.len(),
                }
                .into());
            }
            Ok((
                vec![Event::StatementReviewed {
                    statement: statement.clone(),
                    signoff: signoff(),
                }],
                serde_json::to_value(StageReached {
                    statement: statement.clone(),
                    status: StatementStatus::Reviewed,
                })?,
            ))
        }
        Command::ApproveStatement { statement } => {
            ctx.actor.require(Role::Finance)?;
            let s = book.statement(statement)?;
            s.require_stage(StatementStatus::Reviewed)?;
            if s.reviewed.as_ref().is_some_and(|r| r.by == ctx.actor.id) {
                return Err(SettlementError::DutyConflict {
                    statement: statement.to_string(),
                    actor: ctx.actor.id.to_string(),
                }
                .into());
            }
            Ok((
                vec![Event::StatementApproved {
                    statement: statement.clone(),
                    signoff: signoff(),
                }],
                serde_json::to_value(StageReached {
                    statement: statement.clone(),
                    status: StatementStatus::Approved,
                })?,
            ))
        }
        Command::RecordPayment {
            statement,
            reference,
            date,
        } => {
            ctx.actor.require(Role::Finance)?;
            let s = book.statement(statement)?;
            s.require_stage(StatementStatus::Approved)?;
            if reference.trim().is_empty() {
                return Err(InputError::InvalidValue {
                    field: "reference",
                    detail: "a payment needs the bank's or treasury's reference".into(),
                }
                .into());
            }
            let payment = Payment {
                reference: reference.clone(),
                date: *date,
                amount: s.amount,
                by: ctx.actor.id.clone(),
            };
            Ok((
                vec![Event::StatementPaid {
                    statement: statement.clone(),
                    payment: payment.clone(),
                }],
                serde_json::to_value(PaymentRecorded {
                    statement: statement.clone(),
                    status: StatementStatus::Paid,
                    amount: payment.amount,
                    reference: payment.reference.clone(),
                    date: payment.date,
                })?,
            ))
        }
        _ => unreachable!("the engine routes only settlement commands here"),
    }
}

/// Answers a settlement query.
pub(crate) fn query(state: &State, query: &Query) -> Result<Value, Error> {
    let book = &state.settlement;
    match query {
        Query::Statement { statement } => {
            Ok(serde_json::to_value(book.statement(statement)?.view())?)
        }
        Query::Statements { month } => Ok(serde_json::to_value(
            book.of_month(*month)
                .map(Statement::view)
                .collect::<Vec<_>>(),
        )?),
        Query::Reconciliation { statement } => Ok(serde_json::to_value(reconcile::differences(
            book.statement(statement)?,
        ))?),
        Query::Liability { month, format } => monthend::liability(state, *month)?.render(*format),
        Query::MonthlyStatistics { month, format } => {
            monthend::statistics(state, *month)?.render(*format)
        }
        Query::PaymentFile { month, format } => {
            monthend::payment_file(state, *month).render(*format)
        }
        _ => unreachable!("the engine routes only settlement queries here"),
    }
}

/// The statement-payment deadlines of `month` missed as seen on `on`, for the
/// overdue list.
pub fn missed_payments(
    state: &State,
    month: Month,
    on: NaiveDate,
) -> Vec<(&Statement, Option<NaiveDate>)> {
    state
        .settlement
        .of_month(month)
        .map(|s| (s, s.payments.first().map(|p| p.date).filter(|d| *d <= on)))
        .filter(|(s, paid)| match paid {
            Some(paid) => *paid > s.due,
            None => on > s.due,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::FundingShare;
    use proptest::prelude::*;

    fn yuan(text: &str) -> Yuan {
        Yuan(text.parse().unwrap())
    }

    #[test]
    fn amounts_are_rounded_once_by_the_policy_strategy() {
        // 0.35 × 7 = 2.45 exactly; 0.335 × 3 = 1.005 needs rounding.
        let value = yuan("0.335");
        assert_eq!(
            reimbursement_amount(Points(3), value, Rounding::HalfUpCents),
            yuan("1.01")
        );
        assert_eq!(
            reimbursement_amount(Points(3), value, Rounding::HalfEvenCents),
            yuan("1.00")
        );
        assert_eq!(
            reimbursement_amount(Points(3), value, Rounding::DownCents),
            yuan("1.00")
        );
        assert_eq!(
            reimbursement_amount(Points(7), yuan("0.35"), Rounding::HalfUpCents),
            yuan("2.45")
        );
    }

    proptest! {
        /// For random statements (points, point value, rounding) and shares,
        /// the parts add up to the statement's amount and none is a fen or
        /// more away from its exact share.
        #[test]
        fn statement_parts_add_up_and_stay_within_a_fen(
            points in 0i64..10_000_000,
            value_milli in 1i64..5_000,
            rounding in prop::sample::select(vec![
                Rounding::HalfUpCents, Rounding::HalfEvenCents, Rounding::DownCents,
            ]),
            weights in prop::collection::vec(1u32..1000, 1..6),
        ) {
            let amount = reimbursement_amount(Points(points), Yuan(Decimal::new(value_milli, 3)), rounding);
            prop_assert_eq!(amount.0, amount.0.round_dp(2));
            let sum: u32 = weights.iter().sum();
            let mut shares: Vec<FundingShare> = weights.iter().enumerate().map(|(i, w)| FundingShare {
                source: format!("s{i}"),
                share: Yuan(Decimal::from(*w) / Decimal::from(sum)),
            }).collect();
            let rest: Decimal = shares[1..].iter().map(|s| s.share.0).sum();
            shares[0].share = Yuan(Decimal::ONE - rest);
            let parts = funding::split(amount.0, &shares);
            prop_assert_eq!(parts.iter().map(|p| p.amount).sum::<Decimal>(), amount.0);
            for (part, share) in parts.iter().zip(&shares) {
                prop_assert!((part.amount - amount.0 * share.share.0).abs() < Decimal::new(1, 2));
            }
        }
    }
}
