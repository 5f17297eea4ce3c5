//! Settlement: turning a month's postings and redemptions into balances,
//! store reimbursements and region totals.
//!
//! [`bulk`] settles a whole county, province or nation at once from columns;
//! [`synthetic`] makes seeded populations to settle, for examples, benchmarks
//! and tests. [`statement`] keeps each store's monthly reimbursement statement
//! (SPEC §7) through [`reconcile`]iation, review, approval and payment;
//! [`monthend`] gives the month-end liability, the activity statistics and the
//! bank's payment file.

pub mod bulk;
pub mod error;
pub mod monthend;
pub mod reconcile;
pub mod statement;
pub mod synthetic;
