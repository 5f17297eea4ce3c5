//! The grouping pass over entries in any order: partitioned by blocks of
//! households, added up a block at a time in the cache, and each household
//! posted from its totals; the few whose entries' order could change their
//! result are marked for [`super::marked`].

use std::ops::Range;

use jifen_stream::Rows;

use super::marked::Marks;
use super::packed;
use super::pass::{count, entry_ok, Ctx, Local};
use super::pending::Pending;
use super::post::{Counts, Tally};
use super::redemptions::{self, Share};
use super::threads::{even_split, in_parallel, in_threads};
use super::{BulkError, HouseholdColumns, HouseholdResultsMut};

/// Households per block of the first level: a block's totals stay in the
/// cache while its entries are added up.
pub(super) const BLOCK_BITS: u32 = 14;
/// A household's index within its block.
pub(super) const BLOCK_MASK: usize = (1 << BLOCK_BITS) - 1;
const _: () = assert!(
    BLOCK_BITS <= packed::BLOCK_LOW_BITS,
    "a household's index within its block fits a first-level entry"
);

/// How far ahead of the partitioning its entry columns' lines are asked for
/// ([`jifen_stream::prefetch`]), every eighth row: the rows it places in
/// hundreds of blocks at once (611 for ten million households) keep the
/// processor's prefetchers from following the four columns it reads as
/// closely (about 2% off a shuffled run, within the VM's noise;
/// benches/README.md).
const PREFETCH_ROWS: usize = 512;

/// Turns each block's count of rows into the cursor where its rows start
/// (where the blocks before it end); returns the rows of all the blocks.
pub(super) fn counts_to_cursors(slots: &mut [usize]) -> usize {
    let mut total = 0;
    for slot in slots {
        let count = *slot;
        *slot = total;
        total += count;
    }
    total
}

/// `threads` household ranges of about equal size, each starting on a
/// block, so each block's households belong to one range.
pub(super) fn block_split(households: usize, threads: usize) -> Vec<Range<usize>> {
    let blocks = households.div_ceil(1 << BLOCK_BITS);
    even_split(blocks, threads)
        .into_iter()
        .map(|b| (b.start << BLOCK_BITS).min(households)..(b.end << BLOCK_BITS).min(households))
        .collect()
}

/// Settles entries in any order. The entry rows are taken `chunk` at a
/// time; each thread partitions its share of a chunk's rows by a stable
/// counting sort into blocks of 2¹⁴ households ([`EntryBlocks::split`]), then
/// adds up the blocks of its own household range from every thread's
/// partition, in the cache, into its households' award and deduction totals,
/// kept in the output columns until the household is posted
/// ([`EntryBlocks::add_up`]). Sharing out the rows rather than the households
/// for the partitioning reads each row once instead of once a thread. Each
/// household whose result its entries' order cannot change is then posted
/// from its totals ([`Tally::post`]); the few others are marked, to be
/// gathered ([`super::marked::gather_marked`]) and posted one entry at a
/// time ([`super::marked::post_marked`]). The posting writes every row,
/// the marked households' awaiting theirs ([`awaiting_row`]), through a
/// [`Pending`] batch, past the cache: 5% off a shuffled run.
pub(super) fn settle_grouped<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    ranges: &[Range<usize>],
    threads: usize,
    chunk: usize,
    columns: &mut HouseholdResultsMut<'_>,
    redemptions: &[Share],
) -> Result<(Vec<Local>, Vec<Marks>), BulkError> {
    let rows = ctx.input.entries.household.len();
    in_threads(columns, ranges, |_, range, out| {
        redemptions::take_off(redemptions, &range, &mut Rows::of(out.closing_balance));
        // Each household's [`Tally`], in its output columns until it is
        // posted: awards in `awarded`, bonuses in `capped`, deductions in
        // `deducted` and its [`Counts`] in `unapplied`; the first chunk
        // writes them, or here, with no entries, they are none.
        if rows == 0 {
            for column in [out.awarded, out.capped, out.deducted, out.unapplied] {
                column.fill(0);
            }
        }
        Ok(())
    })?;
    let mut partitions: Vec<EntryBlocks> = (0..threads).map(|_| EntryBlocks::default()).collect();
    let mut start = 0;
    while start < rows {
        let end = rows.min(start.saturating_add(chunk));
        let shares = even_split(end - start, threads)
            .into_iter()
            .map(|share| start + share.start..start + share.end);
        let jobs: Vec<_> = partitions.iter_mut().zip(shares).collect();
        in_parallel(jobs, |(partition, rows)| partition.split(ctx, rows))
            .into_iter()
            .collect::<Result<(), _>>()?;
        let partitions = &partitions;
        in_threads(columns, ranges, |_, range, mut out| {
            match start {
                0 => EntryBlocks::add_up::<true>(partitions, &range, &mut out),
                _ => EntryBlocks::add_up::<false>(partitions, &range, &mut out),
            }
            Ok(())
        })?;
        start = end;
    }
    // Given back before the posting first touches the other result columns,
    // so the run's peak holds one or the other.
    drop(partitions);
    let posted = in_threads(columns, ranges, |_, range, mut out| {
        let mut local = Local::new(ctx)?;
        let mut marks = Marks::new(range.clone())?;
        // Compiled for the newest instructions the processor has, as the
        // sorted pass's posting is: 2–4% off a shuffled run on AVX-512.
        jifen_stream::with_wide_vectors(
            #[inline(always)]
            |_| -> Result<(), BulkError> {
                let mut pending = Pending::new(&out);
                for i in 0..range.len() {
                    let tally = Tally::from_parts(
                        out.awarded[i],
                        out.deducted[i],
                        Counts(out.unapplied[i]),
                        out.capped[i],
                    );
                    let redeemed = -out.closing_balance[i];
                    let (limits, village, opening) = ctx.household(range.start + i, redeemed)?;
                    let row = match tally.post::<NET, NEGATIVE>(ctx.rules, limits, opening) {
                        Some(posted) => {
                            count(&mut local, village, redeemed, &posted);
                            posted.columns()
                        }
                        None => {
                            marks.mark(i, tally.counts().entries());
                            awaiting_row(tally, redeemed)
                        }
                    };
                    pending.push(i, row, &mut out);
                }
                pending.write(range.len(), &mut out);
                Ok(())
            },
        )?;
        Ok((local, marks))
    })?;
    Ok(posted.into_iter().unzip())
}

/// One thread's share of a chunk's entries, partitioned by block; reused
/// from chunk to chunk.
#[derive(Default)]
struct EntryBlocks {
    /// The packed entries, by block, in input order within each.
    rows: Vec<u32>,
    /// Where each block ends in `rows`.
    ends: Vec<usize>,
    /// The points of the entries too large for `rows` ([`packed::large`]),
    /// sorted by household.
    large: Vec<u64>,
}

impl EntryBlocks {
    /// Partitions entry rows `rows` by block, checking each row.
    fn split(&mut self, ctx: &Ctx, rows: Range<usize>) -> Result<(), BulkError> {
        let e = &ctx.input.entries;
        let (households, days) = (ctx.households, ctx.days);
        let blocks = households.div_ceil(1 << BLOCK_BITS);
        // One spare slot at the end counts the rows beyond the population.
        self.ends.clear();
        self.ends.resize(blocks + 1, 0);
        let mut beyond = false;
        for &h in &e.household[rows.clone()] {
            let h = h as usize;
            self.ends[(h >> BLOCK_BITS).min(blocks)] += 1;
            beyond |= h >= households;
        }
        // The share's first bad row, a household beyond the population or
        // an ill-formed entry, as one thread reading every row in order
        // would name it.
        let refusal = || {
            let beyond = |row: usize| e.household[row] as usize >= households;
            let row = rows
                .clone()
                .find(|&row| beyond(row) || !entry_ok(e.kind[row], e.points[row], e.day[row], days))
                .unwrap_or_default();
            if beyond(row) {
                BulkError::IndexOutOfRange {
                    table: "entries",
                    column: "household",
                    row,
                    value: u64::from(e.household[row]),
                    len: households,
                }
            } else {
                ctx.entry_error(row)
            }
        };
        if beyond {
            return Err(refusal());
        }
        self.ends.truncate(blocks);
        let total = counts_to_cursors(&mut self.ends);
        // Every row below `total` is written next, so what an earlier chunk
        // left there is kept rather than zeroed again.
        let more = total.saturating_sub(self.rows.len());
        BulkError::reserve(&mut self.rows, more, "the partitioned entries")?;
        self.rows.resize(total, 0);
        self.large.clear();
        let mut bad = false;
        let columns = e.household[rows.clone()]
            .iter()
            .zip(&e.kind[rows.clone()])
            .zip(&e.points[rows.clone()])
            .zip(&e.day[rows.clone()]);
        for (row, (((&h, &kind), &points), &day)) in rows.clone().zip(columns) {
            if row % 8 == 0 {
                let ahead = row + PREFETCH_ROWS;
                jifen_stream::prefetch(e.points, ahead);
                jifen_stream::prefetch(e.household, ahead);
                jifen_stream::prefetch(e.kind, ahead);
                jifen_stream::prefetch(e.day, ahead);
            }
            let ok = entry_ok(kind, points, day, days);
            bad |= !ok;
            let slot = &mut self.ends[h as usize >> BLOCK_BITS];
            let low = (h as usize & BLOCK_MASK) as u16;
            self.rows[*slot] = packed::in_block(low, kind, points);
            *slot += 1;
            if ok && !packed::fits_in_block_entry(points) {
                self.keep_large(packed::large(h, kind, points))?;
            }
        }
        if bad {
            return Err(refusal());
        }
        self.large.sort_unstable();
        Ok(())
    }

    /// Keeps an entry too large for `rows`, asking for room as
    /// [`BulkError::reserve`] does.
    #[cold]
    fn keep_large(&mut self, entry: u64) -> Result<(), BulkError> {
        if self.large.len() == self.large.capacity() {
            let more = self.large.len().max(1 << 10);
            BulkError::reserve(&mut self.large, more, "the entries of many points")?;
        }
        self.large.push(entry);
        Ok(())
    }

    /// The large entries of the households `households`.
    fn large_of(&self, households: Range<usize>) -> &[u64] {
        let at = |h: usize| {
            self.large
                .partition_point(|&entry| packed::large_household(entry) < h)
        };
        &self.large[at(households.start)..at(households.end)]
    }

    /// The second level: adds the entries of each block of `range` (which
    /// starts on a block) from every partition into its households'
    /// [`Tally`], one block's at a time in the cache. A household's four
    /// totals sit side by side while its block is added up, so each entry
    /// touches one cache line; the block's tallies are then added into the
    /// output columns in order, or, for the `FIRST` chunk, written there
    /// without reading what the columns held.
    fn add_up<const FIRST: bool>(
        partitions: &[EntryBlocks],
        range: &Range<usize>,
        out: &mut HouseholdResultsMut,
    ) {
        let mut totals: Vec<Tally> = Vec::with_capacity(1 << BLOCK_BITS);
        let blocks = (range.start >> BLOCK_BITS)..range.end.div_ceil(1 << BLOCK_BITS);
        for block in blocks {
            let households = (block << BLOCK_BITS) - range.start
                ..((block + 1) << BLOCK_BITS).min(range.end) - range.start;
            totals.clear();
            totals.resize(households.len(), Tally::default());
            let first_household = block << BLOCK_BITS;
            let block_households = first_household..first_household + households.len();
            for partition in partitions {
                let begin = block.checked_sub(1).map_or(0, |b| partition.ends[b]);
                for &entry in &partition.rows[begin..partition.ends[block]] {
                    totals[packed::low(entry)]
                        .add(packed::block_kind(entry), packed::block_points(entry));
                }
                for &entry in partition.large_of(block_households.clone()) {
                    totals[packed::large_household(entry) - first_household]
                        .add_points(packed::kind(entry), packed::points(entry));
                }
            }
            let columns = out.awarded[households.clone()]
                .iter_mut()
                .zip(&mut out.capped[households.clone()])
                .zip(&mut out.deducted[households.clone()])
                .zip(&mut out.unapplied[households]);
            for ((((awards, bonuses), deductions), counts), tally) in columns.zip(&totals) {
                if FIRST {
                    (*awards, *bonuses) = (tally.awards(), tally.bonuses());
                    (*deductions, *counts) = (tally.deductions(), tally.counts().0);
                } else {
                    *awards += tally.awards();
                    *bonuses += tally.bonuses();
                    *deductions += tally.deductions();
                    *counts = counts.wrapping_add(tally.counts().0);
                }
            }
        }
    }
}

/// The row of a household whose entries' order could change its result,
/// until [`super::marked::post_marked`] posts it: its [`Tally`] where the
/// grouping pass keeps it (the counts of its entries in `unapplied`), and
/// what its redemptions took off in `closing_balance`.
fn awaiting_row(tally: Tally, redeemed: i64) -> [i64; 10] {
    HouseholdColumns {
        awarded: tally.awards(),
        capped: tally.bonuses(),
        deducted: tally.deductions(),
        unapplied: tally.counts().0,
        closing_balance: -redeemed,
        ..HouseholdColumns::default()
    }
    .into_columns()
}
