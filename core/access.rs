//! Actors and roles. The host authenticates people; the engine checks that the
//! actor named on a request holds the role the command needs.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::AccessError;
use crate::primitives::{ActorId, TownshipCode, VillageCode};

/// A duty an actor may hold (SPEC §3).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Member of a village scoring group.
    Scorer,
    /// Village committee reviewer.
    VillageCommittee,
    /// Township office reviewer.
    TownshipOfficer,
    /// Township government approver.
    TownshipApprover,
    /// Member of a supervision group.
    Supervisor,
    /// Keeper of a store.
    StoreKeeper,
    /// County office.
    CountyOffice,
    /// County finance.
    Finance,
    /// Price bureau.
    PriceBureau,
    /// System administrator: registers households, cards, actors; posts corrections.
    Administrator,
}

impl Role {
    /// The stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Scorer => "scorer",
            Role::VillageCommittee => "village_committee",
            Role::TownshipOfficer => "township_officer",
            Role::TownshipApprover => "township_approver",
            Role::Supervisor => "supervisor",
            Role::StoreKeeper => "store_keeper",
            Role::CountyOffice => "county_office",
            Role::Finance => "finance",
            Role::PriceBureau => "price_bureau",
            Role::Administrator => "administrator",
        }
    }
}

/// A person known to the engine, with roles and an optional home village or township.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The host's id for the person.
    pub id: ActorId,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// The roles held.
    pub roles: BTreeSet<Role>,
    /// The village whose groups the actor belongs to, if any.
    #[serde(default)]
    pub village: Option<VillageCode>,
    /// The township the actor works for, if any.
    #[serde(default)]
    pub township: Option<TownshipCode>,
}

impl Actor {
    /// Fails unless the actor holds `role`.
    pub fn require(&self, role: Role) -> Result<(), AccessError> {
        if self.roles.contains(&role) {
            Ok(())
        } else {
            Err(AccessError::MissingRole {
                actor: self.id.to_string(),
                role: role.name(),
            })
        }
    }
}
