//! The month's redemptions: checked, added up by store, and taken off their
//! households' opening balances before the posting.
//!
//! Redemptions come in any order, so taking each off its household directly
//! would miss the cache on nearly every row. Instead the rows are shared out
//! among the threads, and each thread partitions its share by block of
//! households ([`Share::split`]); each household range then takes every
//! share's rows of its blocks off its households, one block at a time in the
//! cache ([`take_off`]). Each row is read once whatever the number of
//! threads, and neither sweep of a share branches on the rows.

use std::ops::Range;

use jifen_stream::Rows;

use super::grouped::{counts_to_cursors, BLOCK_BITS, BLOCK_MASK};
use super::pass::refill;
use super::rules::MAX_POINTS;
use super::threads::{even_split, in_parallel};
use super::totals::STORE_TOTALS;
use super::{BulkError, MonthInput};

/// How many rows ahead of a block's next row [`Share::split`] asks for its
/// line. Each block's rows are written in order, a line at a time, to one
/// of hundreds of places in the buffer at once; waiting for each line as
/// its first row lands is most of the split's time otherwise.
const SCATTER_AHEAD: usize = 16;

/// One thread's share of the redemption rows, partitioned by block.
pub(super) struct Share<'s> {
    /// The share's rows by block, in row order within each: the household's
    /// index within its block (above) and the points (at most 2³⁰, below).
    rows: &'s [u64],
    /// Where each block ends in `rows`.
    ends: Vec<usize>,
    /// Each store's points redeemed and points reimbursable in the share.
    stores: Vec<[i64; 2]>,
}

/// Shares the redemption rows out among as many threads as `buffers`, each
/// partitioning its share into its buffer. The error is that of the first
/// bad row.
pub(super) fn split<'s>(
    input: &MonthInput,
    households: usize,
    buffers: &'s mut [Vec<u64>],
) -> Result<Vec<Share<'s>>, BulkError> {
    let shares = even_split(input.redemptions.household.len(), buffers.len());
    let jobs: Vec<_> = buffers.iter_mut().zip(shares).collect();
    in_parallel(jobs, |(buffer, rows)| {
        Share::split(input, households, rows, buffer)
    })
    .into_iter()
    .collect()
}

/// Each store's points redeemed and points reimbursable, over every share.
pub(super) fn store_sums(shares: &[Share], stores: usize) -> Result<Vec<[i64; 2]>, BulkError> {
    let mut sums = BulkError::filled([0; 2], stores, STORE_TOTALS)?;
    for share in shares {
        for (sum, theirs) in sums.iter_mut().zip(&share.stores) {
            sum[0] += theirs[0];
            sum[1] += theirs[1];
        }
    }
    Ok(sums)
}

/// Takes each household of `range` its redemptions: `balances`, the range's
/// rows of a column, written from their start, end up holding minus the
/// points each redeemed (the posting starts from the opening balance less
/// them).
pub(super) fn take_off(shares: &[Share], range: &Range<usize>, balances: &mut Rows) {
    if range.is_empty() {
        return;
    }
    let blocks = range.start >> BLOCK_BITS..=(range.end - 1) >> BLOCK_BITS;
    for block in blocks {
        let first = block << BLOCK_BITS;
        let households = first.max(range.start)..(first + (1 << BLOCK_BITS)).min(range.end);
        let offset = households.start;
        // Zeroed here, so the block is in the cache as its rows land.
        let block_balances = balances.fill_next(households.len(), 0);
        for share in shares {
            let begin = block.checked_sub(1).map_or(0, |b| share.ends[b]);
            for &row in &share.rows[begin..share.ends[block]] {
                // A block at either end of the range holds other ranges' rows too.
                let household = first + ((row >> 32) as usize & BLOCK_MASK);
                if let Some(balance) = block_balances.get_mut(household.wrapping_sub(offset)) {
                    *balance -= i64::from(row as u32);
                }
            }
        }
    }
}

impl<'s> Share<'s> {
    /// Partitions redemption rows `rows` by block into `buffer`, checking
    /// each row and adding up its store.
    fn split(
        input: &MonthInput,
        households: usize,
        rows: Range<usize>,
        buffer: &'s mut Vec<u64>,
    ) -> Result<Share<'s>, BulkError> {
        let r = &input.redemptions;
        let stores = input.stores as usize;
        let blocks = households.div_ceil(1 << BLOCK_BITS);
        // A spare slot at the end of each takes the bad rows.
        let mut ends = BulkError::filled(0usize, blocks + 1, "the partitioned redemptions")?;
        let mut sums = BulkError::filled([0i64; 2], stores + 1, STORE_TOTALS)?;
        let mut bad = false;
        let columns = r.household[rows.clone()]
            .iter()
            .zip(&r.store[rows.clone()])
            .zip(&r.points[rows.clone()])
            .zip(&r.reimbursable[rows.clone()]);
        for (((&h, &store), &points), &flag) in columns {
            let fine = row_fine(h, store, points, flag, households, stores);
            bad |= !fine;
            let (store, points) = if fine {
                (store as usize, points)
            } else {
                (stores, 0)
            };
            sums[store][0] += points;
            sums[store][1] += points * i64::from(flag);
            ends[(h as usize >> BLOCK_BITS).min(blocks)] += 1;
        }
        if bad {
            let row = rows
                .clone()
                .find(|&row| {
                    let (h, store) = (r.household[row], r.store[row]);
                    let (points, flag) = (r.points[row], r.reimbursable[row]);
                    !row_fine(h, store, points, flag, households, stores)
                })
                .unwrap_or_default();
            return Err(row_error(input, households, row));
        }
        sums.truncate(stores);
        ends.truncate(blocks);
        let total = counts_to_cursors(&mut ends);
        refill(buffer, total, "the partitioned redemptions")?;
        for (&h, &points) in r.household[rows.clone()].iter().zip(&r.points[rows]) {
            let h = h as usize;
            let slot = &mut ends[h >> BLOCK_BITS];
            jifen_stream::prefetch(buffer, *slot + SCATTER_AHEAD);
            buffer[*slot] = (((h & BLOCK_MASK) as u64) << 32) | points as u64;
            *slot += 1;
        }
        Ok(Share {
            rows: buffer.as_slice(),
            ends,
            stores: sums,
        })
    }
}

/// Whether a redemption row is well formed: its household and store within
/// the tables, its points a redemption's and its flag 0 or 1. Without
/// branches, for the sweep.
#[inline(always)]
fn row_fine(h: u32, store: u32, points: i64, flag: u8, households: usize, stores: usize) -> bool {
    ((h as usize) < households)
        & ((store as usize) < stores)
        & (points > 0)
        & (points <= MAX_POINTS)
        & (flag <= 1)
}

#[cold]
fn row_error(input: &MonthInput, households: usize, row: usize) -> BulkError {
    let r = &input.redemptions;
    let (h, store, points, flag) = (
        r.household[row],
        r.store[row],
        r.points[row],
        r.reimbursable[row],
    );
    if h as usize >= households {
        BulkError::IndexOutOfRange {
            table: "redemptions",
            column: "household",
            row,
            value: u64::from(h),
            len: households,
        }
    } else if store >= input.stores {
        BulkError::IndexOutOfRange {
            table: "redemptions",
            column: "store",
            row,
            value: u64::from(store),
            len: input.stores as usize,
        }
    } else if flag > 1 {
        BulkError::InvalidFlag {
            table: "redemptions",
            column: "reimbursable",
            row,
            value: flag,
        }
    } else {
        BulkError::InvalidRowPoints {
            table: "redemptions",
            column: "points",
            row,
            points,
            expected: "a redemption spends 1..=1e9 points",
        }
    }
}
