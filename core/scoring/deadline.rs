//! Deadlines (SPEC §5, Baisha): every village scores at least once a month;
//! the month's sheets are published by the policy's day of the next month
//! (the 10th by default); each township reports to the county by its day
//! (the 20th); each store statement is paid by the reimbursement day (the 5th). The overdue list names who missed them, and when they caught
//! up if they did.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Act, Action, Decided, ReportFiling, ScoringError, SheetId};
use crate::access::Role;
use crate::engine::business_date;
use crate::error::Error;
use crate::event::Event;
use crate::household::HouseholdStatus;
use crate::primitives::{Month, TownshipCode, VillageCode};
use crate::settlement::statement::{missed_payments, StatementId};
use crate::state::State;

/// A township officer or approver of the township files its monthly report
/// once the month is over; it is filed once.
pub fn file_report(state: &State, act: &Act, township: &TownshipCode, month: Month) -> Decided {
    act.require_any(&[Role::TownshipOfficer, Role::TownshipApprover])?;
    act.require_township(township)?;
    if act.date() <= month.last_day() {
        return Err(ScoringError::PeriodNotOver {
            period: month.to_string(),
            today: act.date(),
        }
        .into());
    }
    if state
        .scoring
        .reports
        .get(township)
        .is_some_and(|r| r.contains_key(&month))
    {
        return Err(ScoringError::ReportAlreadyFiled {
            township: township.to_string(),
            month: month.to_string(),
        }
        .into());
    }
    let filing = ReportFiling {
        township: township.clone(),
        month,
        filed_on: act.date(),
        step: act.step(Action::ReportFiled),
    };
    Ok((
        vec![Event::TownshipReportFiled(filing)],
        json!({ "township": township, "month": month, "filed_on": act.date() }),
    ))
}

/// Which deadline was missed.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// The village opened no score sheet for the month by its last day.
    NoSheet,
    /// The sheet was not published by the publication day.
    NotPublished,
    /// The township did not file its report by the report day.
    ReportNotFiled,
    /// A store's reimbursement statement was not paid by the payment day (core/settlement).
    StatementNotPaid,
}

/// One missed deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Missed {
    /// Which deadline.
    pub deadline: Deadline,
    /// The township concerned.
    pub township: TownshipCode,
    /// The village, for village deadlines.
    pub village: Option<VillageCode>,
    /// The sheet, for publication.
    pub sheet: Option<SheetId>,
    /// The reimbursement statement, for payment.
    pub statement: Option<StatementId>,
    /// The due date.
    pub due: NaiveDate,
    /// When it was done after all (late), or `None` if still outstanding.
    pub done_on: Option<NaiveDate>,
}

/// The deadlines of a month missed as seen on a date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OverdueList {
    /// The month scored.
    pub month: Month,
    /// The day the list is drawn up.
    pub on: NaiveDate,
    /// Every deadline missed: still outstanding after its due date, or done late.
    pub missed: Vec<Missed>,
}

/// A deadline's verdict on `on`: missed when done after `due`, or not done
/// and `on` is past `due`.
fn missed(due: NaiveDate, done_on: Option<NaiveDate>, on: NaiveDate) -> bool {
    match done_on {
        Some(done) => done > due && done <= on,
        None => on > due,
    }
}

/// The overdue list for `month` as of `on`, over the villages and townships
/// of active households. Days come from the policy in force on the first day
/// of the month after.
pub fn overdue(state: &State, month: Month, on: NaiveDate) -> Result<OverdueList, Error> {
    let workflow = &state.policies.in_force(month.next().first_day())?.workflow;
    let day = |d: u32| month.next().day(d).unwrap_or(month.next().first_day());
    let villages: BTreeMap<&VillageCode, &TownshipCode> = state
        .households
        .values()
        .filter(|h| h.status == HouseholdStatus::Active)
        .map(|h| (&h.region.village, &h.region.township))
        .collect();
    let mut list = Vec::new();
    for (village, township) in &villages {
        let sheets: Vec<_> = state
            .scoring
            .village_sheets(village)
            .filter(|s| s.period == month)
            .collect();
        let opened = sheets
            .iter()
            .filter_map(|s| s.history.first().map(|step| business_date(step.at)))
            .filter(|d| *d <= on)
            .min();
        let sheet_due = month.last_day();
        if missed(sheet_due, opened, on) {
            list.push(Missed {
                deadline: Deadline::NoSheet,
                township: (*township).clone(),
                village: Some((*village).clone()),
                sheet: None,
                statement: None,
                due: sheet_due,
                done_on: opened,
            });
        }
        let publish_due = day(workflow.publish_by_day);
        for sheet in sheets {
            let published = sheet.published_on().filter(|d| *d <= on);
            if missed(publish_due, published, on) {
                list.push(Missed {
                    deadline: Deadline::NotPublished,
                    township: (*township).clone(),
                    village: Some((*village).clone()),
                    sheet: Some(sheet.id.clone()),
                    statement: None,
                    due: publish_due,
                    done_on: published,
                });
            }
        }
    }
    let report_due = day(workflow.report_by_day);
    let mut townships: Vec<&TownshipCode> = villages.values().copied().collect();
    townships.sort();
    townships.dedup();
    for township in townships {
        let filed = state
            .scoring
            .reports
            .get(township)
            .and_then(|r| r.get(&month))
            .map(|f| f.filed_on)
            .filter(|d| *d <= on);
        if missed(report_due, filed, on) {
            list.push(Missed {
                deadline: Deadline::ReportNotFiled,
                township: township.clone(),
                village: None,
                sheet: None,
                statement: None,
                due: report_due,
                done_on: filed,
            });
        }
    }
    for (statement, paid) in missed_payments(state, month, on) {
        list.push(Missed {
            deadline: Deadline::StatementNotPaid,
            township: statement.township.clone(),
            village: statement.village.clone(),
            sheet: None,
            statement: Some(statement.id.clone()),
            due: statement.due,
            done_on: paid,
        });
    }
    list.sort_by(|a, b| {
        (a.deadline, &a.township, &a.village, &a.sheet, &a.statement).cmp(&(
            b.deadline,
            &b.township,
            &b.village,
            &b.sheet,
            &b.statement,
        ))
    });
    Ok(OverdueList {
        month,
        on,
        missed: list,
    })
}
