//! The filial-piety fund (孝善基金, seed 003): children of registered-poor
//! elders aged 60 and over pay a monthly "filial pension" into the village
//! fund; the fund may add a match at the policy's rate, split exactly across
//! its funding sources; the elder is paid out of what stands in the fund.

mod error;

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use error::FilialError;

use crate::household::Household;
use crate::policy::funding::{self, FundingPart};
use crate::policy::{FilialFundPolicy, Policy};
use crate::primitives::{HouseholdId, Month, Yuan};

/// An elder enrolled in the fund: a household member, by name.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct ElderKey {
    /// The elder's household.
    pub household: HouseholdId,
    /// The member's name.
    pub elder: String,
}

/// One contribution as recorded, with the fund's match and its funding parts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contribution {
    /// The elder it is for.
    pub household: HouseholdId,
    /// The elder's name.
    pub elder: String,
    /// The child (or other relative) who paid.
    pub contributor: String,
    /// The month it is for.
    pub month: Month,
    /// The amount paid in.
    pub amount: Yuan,
    /// The fund's match: amount × match rate, rounded once by the policy's rule.
    pub matched: Yuan,
    /// The match split across the fund's sources; the parts add up to `matched`.
    pub match_parts: Vec<FundingPartRecord>,
}

/// A funding source's part of a match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FundingPartRecord {
    /// The source.
    pub source: String,
    /// Its part.
    pub amount: Yuan,
}

impl From<FundingPart> for FundingPartRecord {
    fn from(part: FundingPart) -> FundingPartRecord {
        FundingPartRecord {
            source: part.source,
            amount: Yuan(part.amount),
        }
    }
}

/// One elder's standing in the fund.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ElderAccount {
    /// Paid in by the children.
    pub contributed: Yuan,
    /// Added by the fund.
    pub matched: Yuan,
    /// Paid out to the elder.
    pub paid: Yuan,
    /// Contributions and matches by month.
    pub months: BTreeMap<Month, (Yuan, Yuan)>,
}

impl ElderAccount {
    /// What stands in the fund for the elder.
    pub fn available(&self) -> Decimal {
        self.contributed.0 + self.matched.0 - self.paid.0
    }
}

/// The fund's ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilialFund {
    /// Enrolled elders and their accounts.
    pub elders: BTreeMap<HouseholdId, BTreeMap<String, ElderAccount>>,
    /// The match paid by each source, over all time.
    pub matched_by_source: BTreeMap<String, Yuan>,
}

impl FilialFund {
    /// The elder's account, or `elder_not_enrolled`.
    pub fn elder(
        &self,
        household: &HouseholdId,
        elder: &str,
    ) -> Result<&ElderAccount, FilialError> {
        self.elders
            .get(household)
            .and_then(|elders| elders.get(elder))
            .ok_or_else(|| FilialError::NotEnrolled {
                household: household.to_string(),
                elder: elder.to_owned(),
            })
    }

    /// Enrols an elder.
    pub fn enrol(&mut self, household: &HouseholdId, elder: &str) {
        self.elders
            .entry(household.clone())
            .or_default()
            .entry(elder.to_owned())
            .or_default();
    }

    /// Records a contribution and its match.
    pub fn apply_contribution(&mut self, contribution: &Contribution) {
        let account = self
            .elders
            .entry(contribution.household.clone())
            .or_default()
            .entry(contribution.elder.clone())
            .or_default();
        account.contributed.0 += contribution.amount.0;
        account.matched.0 += contribution.matched.0;
        let month = account.months.entry(contribution.month).or_default();
        month.0 .0 += contribution.amount.0;
        month.1 .0 += contribution.matched.0;
        for part in &contribution.match_parts {
            self.matched_by_source
                .entry(part.source.clone())
                .or_default()
                .0 += part.amount.0;
        }
    }

    /// Records a payout.
    pub fn apply_payout(&mut self, household: &HouseholdId, elder: &str, amount: Yuan) {
        if let Some(account) = self
            .elders
            .get_mut(household)
            .and_then(|e| e.get_mut(elder))
        {
            account.paid.0 += amount.0;
        }
    }
}

/// Checks that the member exists, is old enough on `date`, and that the
/// household is in an eligible category then.
pub fn check_eligible(
    policy: &FilialFundPolicy,
    household: &Household,
    elder: &str,
    date: NaiveDate,
) -> Result<(), FilialError> {
    let born = household
        .members
        .iter()
        .find(|m| m.name == elder)
        .and_then(|m| m.born)
        .ok_or_else(|| FilialError::UnknownElder {
            household: household.id.to_string(),
            elder: elder.to_owned(),
        })?;
    let not_eligible = |why: String| FilialError::NotEligible {
        household: household.id.to_string(),
        elder: elder.to_owned(),
        why,
    };
    if age_on(born, date) < policy.min_age {
        return Err(not_eligible(format!(
            "younger than {} on {date}",
            policy.min_age
        )));
    }
    let category = household
        .category_on(date)
        .map(|c| c.to_string())
        .unwrap_or_default();
    if !policy
        .eligible_categories
        .iter()
        .any(|c| c.as_str() == category)
    {
        return Err(not_eligible(format!("category {category} is not eligible")));
    }
    Ok(())
}

/// Whole years from `born` to `date`.
fn age_on(born: NaiveDate, date: NaiveDate) -> u32 {
    let had_birthday = (date.month(), date.day()) >= (born.month(), born.day());
    let years = date.year() - born.year() - if had_birthday { 0 } else { 1 };
    years.max(0) as u32
}

/// An amount must be positive and in whole fen.
pub fn check_amount(amount: Yuan) -> Result<(), FilialError> {
    if amount.0 > Decimal::ZERO && amount.0 == amount.0.round_dp(2) {
        Ok(())
    } else {
        Err(FilialError::BadAmount {
            amount: amount.to_string(),
        })
    }
}

/// Decides a contribution: the match is amount × rate, rounded once by the
/// policy's reimbursement rounding, then split exactly across the fund's sources.
pub fn decide_contribution(
    policy: &Policy,
    household: &HouseholdId,
    elder: &str,
    contributor: &str,
    month: Month,
    amount: Yuan,
) -> Result<Contribution, FilialError> {
    check_amount(amount)?;
    let fund = &policy.filial_fund;
    let matched = policy
        .reimbursement
        .rounding
        .apply(amount.0 * fund.match_rate.0);
    let match_parts = if matched > Decimal::ZERO {
        funding::split(matched, &fund.match_funding)
            .into_iter()
            .map(Into::into)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Contribution {
        household: household.clone(),
        elder: elder.to_owned(),
        contributor: contributor.to_owned(),
        month,
        amount,
        matched: Yuan(matched),
        match_parts,
    })
}

/// Validates a fund command and returns its event.
pub(crate) fn decide(
    state: &crate::state::State,
    policy: &Policy,
    date: NaiveDate,
    command: &crate::Command,
) -> Result<(Vec<crate::Event>, serde_json::Value), crate::Error> {
    use crate::{Command, Event};
    let event = match command {
        Command::EnrolFilialElder { household, elder } => {
            let h = state.household(household)?;
            h.require_active()?;
            check_eligible(&policy.filial_fund, h, elder, date)?;
            if state.filial.elder(household, elder).is_ok() {
                return Err(FilialError::AlreadyEnrolled {
                    household: household.to_string(),
                    elder: elder.clone(),
                }
                .into());
            }
            Event::FilialElderEnrolled {
                household: household.clone(),
                elder: elder.clone(),
            }
        }
        Command::RecordFilialContribution {
            household,
            elder,
            contributor,
            month,
            amount,
        } => {
            state.filial.elder(household, elder)?;
            let contribution =
                decide_contribution(policy, household, elder, contributor, *month, *amount)?;
            Event::FilialContributionRecorded(contribution)
        }
        Command::PayFilialElder {
            household,
            elder,
            amount,
            reference,
        } => {
            check_amount(*amount)?;
            let available = state.filial.elder(household, elder)?.available();
            if amount.0 > available {
                return Err(FilialError::InsufficientFund {
                    household: household.to_string(),
                    elder: elder.clone(),
                    available: available.to_string(),
                    requested: amount.to_string(),
                }
                .into());
            }
            Event::FilialPayoutMade {
                household: household.clone(),
                elder: elder.clone(),
                amount: *amount,
                reference: reference.clone(),
            }
        }
        _ => unreachable!("the engine hands only fund commands to the fund"),
    };
    let result = match &event {
        Event::FilialContributionRecorded(contribution) => serde_json::to_value(contribution)?,
        _ => serde_json::Value::Null,
    };
    Ok((vec![event], result))
}

/// The filial fund's statement, as the `filial_statement` query answers:
/// each elder's figures, the fund's totals, and the match by source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FilialStatement {
    /// Every enrolled elder, by household then name.
    pub elders: Vec<ElderStanding>,
    /// Contributions in all.
    pub contributed: Yuan,
    /// Matches in all.
    pub matched: Yuan,
    /// Payouts in all.
    pub paid: Yuan,
    /// What stands in the fund: contributed + matched − paid.
    pub balance: Yuan,
    /// The matches by funding source.
    pub matched_by_source: BTreeMap<String, Yuan>,
}

/// One elder's figures in the fund's statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ElderStanding {
    /// The elder's household.
    pub household: HouseholdId,
    /// The elder's name.
    pub elder: String,
    /// Contributions paid in for the elder.
    pub contributed: Yuan,
    /// The fund's matches.
    pub matched: Yuan,
    /// Paid out to the elder.
    pub paid: Yuan,
    /// What stands in the fund for the elder.
    pub balance: Yuan,
}

/// The fund's statement: each elder's figures and balance, the totals, and
/// the match by source.
pub(crate) fn statement(fund: &FilialFund) -> FilialStatement {
    let mut elders = Vec::new();
    let (mut contributed, mut matched, mut paid) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for (household, members) in &fund.elders {
        for (elder, account) in members {
            contributed += account.contributed.0;
            matched += account.matched.0;
            paid += account.paid.0;
            elders.push(ElderStanding {
                household: household.clone(),
                elder: elder.clone(),
                contributed: account.contributed,
                matched: account.matched,
                paid: account.paid,
                balance: Yuan(account.available()),
            });
        }
    }
    FilialStatement {
        elders,
        contributed: Yuan(contributed),
        matched: Yuan(matched),
        paid: Yuan(paid),
        balance: Yuan(contributed + matched - paid),
        matched_by_source: fund.matched_by_source.clone(),
    }
}

impl FilialFund {
    /// No elder is paid more than stands in the fund for them, and the match
    /// by source adds up to the matches recorded.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut matched = Decimal::ZERO;
        for (household, members) in &self.elders {
            for (elder, account) in members {
                if account.available() < Decimal::ZERO {
                    return Err(format!(
                        "{household}/{elder}: paid more than the fund holds"
                    ));
                }
                matched += account.matched.0;
            }
        }
        let by_source: Decimal = self.matched_by_source.values().map(|y| y.0).sum();
        if by_source != matched {
            return Err(format!(
                "fund match by source {by_source} != matches {matched}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_count_whole_years() {
        let born = NaiveDate::from_ymd_opt(1965, 6, 15).unwrap();
        assert_eq!(
            age_on(born, NaiveDate::from_ymd_opt(2025, 6, 14).unwrap()),
            59
        );
        assert_eq!(
            age_on(born, NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()),
            60
        );
    }

    #[test]
    fn amounts_are_positive_whole_fen() {
        assert!(check_amount(Yuan(Decimal::new(5000, 2))).is_ok());
        assert!(check_amount(Yuan(Decimal::new(5001, 3))).is_err());
        assert!(check_amount(Yuan(Decimal::ZERO)).is_err());
    }
}
