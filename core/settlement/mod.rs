//! Settlement: turning a month's postings and redemptions into balances,
//! store reimbursements and region totals.
//!
//! [`bulk`] settles a whole county, province or nation at once from columns;
//! [`synthetic`] makes seeded populations to settle, for examples, benchmarks
//! and tests.

pub mod bulk;
pub mod synthetic;
