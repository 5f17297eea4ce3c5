//! Reimbursement and month end (SPEC §7): store statements, reconciliation
//! against the store's own statement, review, approval and payment, the
//! funding split, month-end liability and activity statistics, and exports.

pub mod error;
pub mod monthend;
pub mod reconcile;
pub mod statement;
