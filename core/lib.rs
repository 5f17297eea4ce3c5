//! # jifen — the points-supermarket engine
//!
//! Rural households earn points for good conduct through village scoring,
//! within monthly and annual caps set by their category; they spend them at
//! village stores; the county reimburses the stores in cash. Points are public
//! money, so every rule that bounds or justifies money is exact, enforced and
//! recorded in a tamper-evident journal.
//!
//! ```
//! use jifen::{Engine, EngineOptions, Policy, Request};
//! use jifen::card::PinHashCost;
//!
//! let policy = Policy::from_json(r#""baisha-2019""#)?;
//! let options = EngineOptions::new(b"county pepper").with_pin_hash_cost(PinHashCost::MINIMAL);
//! let engine = Engine::open_memory(policy, options)?;
//! let run = |json: &str| -> Result<String, jifen::Error> { engine.execute_json(json) };
//! run(r#"{"actor": "admin", "command": {"type": "register_actor",
//!        "actor": {"id": "admin", "roles": ["administrator"]}}}"#)?;
//! run(r#"{"actor": "admin", "command": {"type": "register_household", "household": "H1",
//!        "region": {"county": "469025", "township": "T1", "village": "V1"},
//!        "head": "符某", "category": "poor", "category_from": "2025-01-01"}}"#)?;
//! // 120 points for a registered-poor household in one month: 110 credited, 10 capped.
//! let posted = run(r#"{"actor": "admin", "reason": "import", "command": {"type": "post_award",
//!        "household": "H1", "date": "2025-03-05", "points": 120}}"#)?;
//! assert!(posted.contains(r#""credited":110"#) && posted.contains(r#""capped":10"#));
//! let balance = engine.execute_json(r#"{"query": {"type": "balance", "household": "H1"}}"#)?;
//! assert_eq!(balance, r#"{"balance":110,"household":"H1"}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod access;
pub mod account;
pub mod card;
pub mod command;
pub mod engine;
pub mod error;
pub mod event;
pub mod filial;
pub mod household;
pub mod journal;
pub mod policy;
pub mod primitives;
pub mod report;
pub mod scoring;
pub mod settlement;
pub mod state;
pub mod store;

pub use command::{Command, Query, Request};
pub use engine::{Engine, EngineOptions, Outcome};
pub use error::{Error, ErrorCode};
pub use event::Event;
pub use policy::Policy;
pub use primitives::{
    ActorId, CardNumber, Category, HouseholdId, Month, Points, Quarter, VillageCode, Year, Yuan,
    MAX_POINTS,
};
