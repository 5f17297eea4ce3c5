//! Households (农户): the unit that earns and spends points. All members'
//! points go to the household's one account (seed 002).

mod error;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use error::HouseholdError;

use crate::primitives::{Category, CountyCode, HouseholdId, TownshipCode, VillageCode};

/// Whether a household lives in the village or joined by the villagers' approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Residency {
    /// A villager household.
    Resident,
    /// Lives in the village without being a villager; admitted by the
    /// villagers' meeting (村民会议) under this approval reference.
    NonResident { approval_ref: String },
}

/// Where a household stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdStatus {
    /// Earns and redeems.
    Active,
    /// Temporarily barred from earning and redeeming.
    Suspended,
    /// Left the scheme for good.
    Exited,
}

impl HouseholdStatus {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            HouseholdStatus::Active => "active",
            HouseholdStatus::Suspended => "suspended",
            HouseholdStatus::Exited => "exited",
        }
    }
}

/// A member of a household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Name.
    pub name: String,
    /// Relation to the head of household, e.g. `head`, `spouse`, `son`.
    #[serde(default)]
    pub relation: String,
    /// Date of birth, when known (the filial-piety fund needs ages).
    #[serde(default)]
    pub born: Option<NaiveDate>,
}

/// Where a household sits in the region tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// County code.
    pub county: CountyCode,
    /// Township code.
    pub township: TownshipCode,
    /// Administrative village code.
    pub village: VillageCode,
    /// Natural village or group (自然村/屯), if any.
    #[serde(default)]
    pub group: Option<String>,
}

/// A registered household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Household {
    /// The platform's household number.
    pub id: HouseholdId,
    /// Where it lives.
    pub region: Region,
    /// Head of household.
    pub head: String,
    /// Members.
    pub members: Vec<Member>,
    /// Category history, oldest first; each in effect from its date.
    pub categories: Vec<(NaiveDate, Category)>,
    /// Resident or approved non-resident.
    pub residency: Residency,
    /// Active, suspended or exited.
    pub status: HouseholdStatus,
    /// Host-defined attributes.
    pub attributes: BTreeMap<String, String>,
    /// An opaque reference to the ID photo held by the host.
    pub photo_ref: Option<String>,
}

impl Household {
    /// The category in effect on `date`.
    pub fn category_on(&self, date: NaiveDate) -> Option<&Category> {
        crate::policy::caps::category_on(&self.categories, date).ok()
    }

    /// Fails unless the household is active.
    pub fn require_active(&self) -> Result<(), HouseholdError> {
        match self.status {
            HouseholdStatus::Active => Ok(()),
            status => Err(HouseholdError::NotActive {
                household: self.id.to_string(),
                status: status.name(),
            }),
        }
    }

    /// Checks a status change: exited is final; anything else may move.
    pub fn check_transition(&self, to: HouseholdStatus) -> Result<(), HouseholdError> {
        if self.status == HouseholdStatus::Exited || self.status == to {
            return Err(HouseholdError::InvalidTransition {
                household: self.id.to_string(),
                from: self.status.name(),
                to: to.name(),
            });
        }
        Ok(())
    }
}
