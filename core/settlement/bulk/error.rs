use thiserror::Error;

use crate::error::ErrorCode;

/// Why a bulk settlement was refused. Rows are 0-based positions in the
/// columns the caller passed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BulkError {
    /// A column's length differs from its table's.
    #[error("column {table}.{column} has {actual} rows, expected {expected}")]
    ColumnLength {
        table: &'static str,
        column: &'static str,
        expected: usize,
        actual: usize,
    },
    /// An index column points past the table it indexes.
    #[error("{table}.{column} row {row} is {value}, but there are only {len}")]
    IndexOutOfRange {
        table: &'static str,
        column: &'static str,
        row: usize,
        value: u64,
        len: usize,
    },
    /// An entry kind that is not award (0), deduction (1), veto (2) or bonus (3).
    #[error("entries.kind row {row} is {kind}: expected 0 award, 1 deduction, 2 veto or 3 bonus")]
    InvalidEntryKind { row: usize, kind: u8 },
    /// Points outside what the row's kind allows.
    #[error("{table}.{column} row {row} is {points}: {expected}")]
    InvalidRowPoints {
        table: &'static str,
        column: &'static str,
        row: usize,
        points: i64,
        expected: &'static str,
    },
    /// A day that the settled month does not have.
    #[error("entries.day row {row} is {day}, but the month has days 1..={days}")]
    InvalidEntryDay { row: usize, day: u8, days: u8 },
    /// A flag that is neither 0 nor 1.
    #[error("{table}.{column} row {row} is {value}: expected 0 or 1")]
    InvalidFlag {
        table: &'static str,
        column: &'static str,
        row: usize,
        value: u8,
    },
    /// Redemptions that the household's opening balance could not have paid for.
    #[error(
        "household {household} redeemed {redeemed} points from an opening balance of {balance}"
    )]
    RedemptionsExceedBalance {
        household: usize,
        balance: i64,
        redeemed: i64,
    },
    /// The same household key in two partitions (or twice in one), which
    /// would cap its month twice.
    #[error("household key {key} is in partition {first} and partition {second}")]
    HouseholdSplitAcrossPartitions {
        key: u64,
        first: usize,
        second: usize,
    },
    /// Partitions with different region tables or store counts.
    #[error("partition {partition} differs from partition 0 in {what}")]
    PartitionMismatch {
        partition: usize,
        what: &'static str,
    },
    /// A policy whose veto forfeits a quarter or a year: earlier months would
    /// need reversing, which a one-month settlement cannot see.
    #[error("the bulk settlement needs a monthly veto period, the policy has {period}")]
    UnsupportedVetoPeriod { period: &'static str },
    /// More rows than 32-bit row indices reach.
    #[error("{table} has {rows} rows, more than the {limit} the kernel indexes")]
    TooManyRows {
        table: &'static str,
        rows: usize,
        limit: usize,
    },
    /// A count of villages, counties or stores, named or implied by the
    /// largest index, beyond what a settlement keeps totals for.
    #[error("{what} is {count}, more than the {limit} {table} a settlement keeps totals for")]
    TooManyTotals {
        table: &'static str,
        what: &'static str,
        count: u64,
        limit: u32,
    },
    /// The system would not give the memory a settlement of this size
    /// needs; nothing was settled, and the process goes on.
    #[error("the system would not give the {bytes} bytes more that {what} need")]
    OutOfMemory { what: &'static str, bytes: usize },
}

impl BulkError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            BulkError::ColumnLength { .. } => ErrorCode::ColumnLength,
            BulkError::IndexOutOfRange { .. } => ErrorCode::IndexOutOfRange,
            BulkError::InvalidEntryKind { .. } => ErrorCode::InvalidEntryKind,
            BulkError::InvalidRowPoints { .. } => ErrorCode::InvalidRowPoints,
            BulkError::InvalidEntryDay { .. } => ErrorCode::InvalidEntryDay,
            BulkError::InvalidFlag { .. } => ErrorCode::InvalidFlag,
            BulkError::RedemptionsExceedBalance { .. } => ErrorCode::RedemptionsExceedBalance,
            BulkError::HouseholdSplitAcrossPartitions { .. } => {
                ErrorCode::HouseholdSplitAcrossPartitions
            }
            BulkError::PartitionMismatch { .. } => ErrorCode::PartitionMismatch,
            BulkError::UnsupportedVetoPeriod { .. } => ErrorCode::UnsupportedVetoPeriod,
            BulkError::TooManyRows { .. } | BulkError::TooManyTotals { .. } => {
                ErrorCode::TooManyRows
            }
            BulkError::OutOfMemory { .. } => ErrorCode::OutOfMemory,
        }
    }

    /// Asks for `rows` more rows of `T` in `buffer` without aborting the
    /// process when the system refuses: a population too large for the
    /// machine is refused like any other input the settlement cannot take.
    /// (Public for the surfaces' own buffers of a settlement.)
    pub fn reserve<T>(
        buffer: &mut Vec<T>,
        rows: usize,
        what: &'static str,
    ) -> Result<(), BulkError> {
        buffer
            .try_reserve_exact(rows)
            .map_err(|_| BulkError::OutOfMemory {
                what,
                bytes: rows.saturating_mul(std::mem::size_of::<T>()),
            })
    }

    /// An empty vector with room for `rows`, asked for as
    /// [`BulkError::reserve`] asks. (Public for the surfaces' own buffers.)
    pub fn with_room<T>(rows: usize, what: &'static str) -> Result<Vec<T>, BulkError> {
        let mut table = Vec::new();
        BulkError::reserve(&mut table, rows, what)?;
        Ok(table)
    }

    /// `rows` copies of `value`, asked for as [`BulkError::reserve`] asks:
    /// the settlement's tables sized by the input (a total per village or
    /// store, a mark per household) refuse a population too large for the
    /// machine rather than abort the process.
    pub(crate) fn filled<T: Clone>(
        value: T,
        rows: usize,
        what: &'static str,
    ) -> Result<Vec<T>, BulkError> {
        let mut table = BulkError::with_room(rows, what)?;
        table.resize(rows, value);
        Ok(table)
    }

    /// What `rows` yields, in a vector asked for as [`BulkError::reserve`] asks.
    pub(crate) fn collected<T>(
        rows: impl ExactSizeIterator<Item = T>,
        what: &'static str,
    ) -> Result<Vec<T>, BulkError> {
        let mut table = BulkError::with_room(rows.len(), what)?;
        table.extend(rows);
        Ok(table)
    }
}
