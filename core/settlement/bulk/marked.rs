//! The households posted one entry at a time after the grouping pass: their
//! entries gathered from the rows, grouped by household, sorted into the
//! posting order and posted.

use std::ops::Range;

use super::packed;
use super::pass::{record, refill, Ctx, Local};
use super::post::{post_in_order, Counts};
use super::threads::{even_split, in_parallel};
use super::{BulkError, HouseholdResultsMut};

/// What the marks and the marked households' entries are called in a
/// refusal for want of memory.
const MARKS: &str = "the marks of the households posted one entry at a time";
const GATHERED: &str = "the entries posted one by one";

/// The households of a range to post one entry at a time: a bit each, so
/// looking one up stays in the cache.
pub(super) struct Marks {
    range: Range<usize>,
    bits: Vec<u64>,
    /// How many entries the marked households have.
    entries: usize,
}

impl Marks {
    pub(super) fn new(range: Range<usize>) -> Result<Marks, BulkError> {
        let bits = BulkError::filled(0, range.len().div_ceil(64), MARKS)?;
        Ok(Marks {
            range,
            bits,
            entries: 0,
        })
    }

    /// Marks the `i`th household, which has `entries` entries.
    pub(super) fn mark(&mut self, i: usize, entries: u32) {
        self.bits[i / 64] |= 1 << (i % 64);
        self.entries += entries as usize;
    }

    pub(super) fn any(&self) -> bool {
        self.bits.iter().any(|&bits| bits != 0)
    }
}

/// Rows searched for marked households before their entries are read.
const GATHER_STRETCH: usize = 1 << 16;

/// How many marked rows ahead [`gather_marked`] asks for the lines of their
/// columns: the rows lie far apart, too far for the processor's prefetchers
/// to follow.
const GATHER_AHEAD: usize = 16;

/// How many marked households ahead [`post_marked`] asks for the lines of
/// their household and result rows, which lie far apart too: each would
/// otherwise be waited for in turn.
const POST_AHEAD: usize = 8;

/// The marked households' entries one thread gathered from its share of
/// the rows, by the household range ([`Marks`]) they belong to, so that
/// each range's posting reads its own entries only.
pub(super) struct Gathered {
    ranges: Vec<RangeEntries>,
}

/// A range's marked entries from one thread's rows, in row order: each
/// entry's household within the range, and the entry packed with its
/// (day, order) key.
struct RangeEntries {
    households: Vec<u32>,
    entries: Vec<u64>,
}

/// Gathers the marked households' entries, the rows split among `threads`;
/// taken thread by thread they keep the columns' order. The ranges' marks
/// are first laid into one bitmap over all households, so a row is looked
/// up with one bit test. Each thread's buffers are reserved for every
/// marked entry of a range its rows can hold, so they never grow by
/// copying, and the pages they do not fill are never touched.
pub(super) fn gather_marked(
    ctx: &Ctx,
    marks: &[Marks],
    threads: usize,
) -> Result<Vec<Gathered>, BulkError> {
    let mut all = BulkError::filled(0u32, ctx.households.div_ceil(32), MARKS)?;
    for range_marks in marks {
        for i in marked_households(&range_marks.bits) {
            let h = range_marks.range.start + i;
            all[h / 32] |= 1 << (h % 32);
        }
    }
    let range_ends: Vec<usize> = marks.iter().map(|m| m.range.end).collect();
    let e = &ctx.input.entries;
    let gather = |part: Range<usize>| {
        let mut ranges = Vec::with_capacity(marks.len());
        for range_marks in marks {
            let capacity = range_marks.entries.min(part.len());
            let mut range = RangeEntries {
                households: Vec::new(),
                entries: Vec::new(),
            };
            BulkError::reserve(&mut range.households, capacity, GATHERED)?;
            BulkError::reserve(&mut range.entries, capacity, GATHERED)?;
            ranges.push(range);
        }
        // The rows of marked households among a stretch of rows, found
        // without a branch: each row's mark is looked up first, the lookups
        // independent of one another, then the marked rows are picked out;
        // their columns are then read together, so the cache misses of
        // those scattered rows overlap.
        let mut flags = vec![0u8; GATHER_STRETCH];
        let mut found = vec![0u32; GATHER_STRETCH];
        let mut begin = part.start;
        while begin < part.end {
            let stretch = begin..part.end.min(begin + GATHER_STRETCH);
            let flags = &mut flags[..stretch.len()];
            let households = &e.household[stretch.clone()];
            jifen_stream::with_wide_vectors(
                #[inline(always)]
                |_| flag_marked(flags, households, &all),
            );
            let mut n = 0;
            for (&flag, row) in flags.iter().zip(stretch.clone()) {
                found[n] = row as u32;
                n += usize::from(flag);
            }
            let found = &found[..n];
            for (k, &row) in found.iter().enumerate() {
                if let Some(&later) = found.get(k + GATHER_AHEAD) {
                    let later = later as usize;
                    jifen_stream::prefetch(e.kind, later);
                    jifen_stream::prefetch(e.points, later);
                    jifen_stream::prefetch(e.day, later);
                    jifen_stream::prefetch(e.order, later);
                }
                let row = row as usize;
                let h = e.household[row] as usize;
                // A marked household lies in one of the ranges.
                let r = range_ends.partition_point(|&end| end <= h);
                if let (Some(range), Some(range_marks)) = (ranges.get_mut(r), marks.get(r)) {
                    range.households.push((h - range_marks.range.start) as u32);
                    range.entries.push(packed::with_key(
                        e.kind[row],
                        e.points[row],
                        e.day[row],
                        e.order[row],
                    ));
                }
            }
            begin = stretch.end;
        }
        Ok(Gathered { ranges })
    };
    in_parallel(even_split(e.household.len(), threads), gather)
        .into_iter()
        .collect()
}

/// Posts range `r`'s marked households one entry at a time from the entries
/// every thread gathered: a counting sort groups the range's into `grouped`
/// by household — each household's [`Counts`] are in `out.unapplied` until
/// it is posted — keeping their order; each group is sorted by (day, order),
/// stably, so entries of the same day and order keep their input order, and
/// posted in turn.
pub(super) fn post_marked<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    r: usize,
    marks: &Marks,
    gathered: &[Gathered],
    grouped: &mut Vec<u64>,
    mut out: HouseholdResultsMut,
) -> Result<Local, BulkError> {
    let mut local = Local::new(ctx)?;
    // The number of marked households before each word of marks.
    let mut before = BulkError::with_room(marks.bits.len(), MARKS)?;
    let mut marked = 0u32;
    for &bits in &marks.bits {
        before.push(marked);
        marked += bits.count_ones();
    }
    let rank = |i: usize| {
        let (word, bit) = (i / 64, i % 64);
        (before[word] + (marks.bits[word] & ((1 << bit) - 1)).count_ones()) as usize
    };
    // Where each marked household's entries start, as the counts add up.
    let mut ends = BulkError::with_room(marked as usize, GATHERED)?;
    let mut total = 0u32;
    for i in marked_households(&marks.bits) {
        ends.push(total);
        total += Counts(out.unapplied[i]).entries();
    }
    refill(grouped, total as usize, GATHERED)?;
    let range = &marks.range;
    for part in gathered.iter().filter_map(|g| g.ranges.get(r)) {
        for (&i, &entry) in part.households.iter().zip(&part.entries) {
            let at = &mut ends[rank(i as usize)];
            grouped[*at as usize] = entry;
            *at += 1;
        }
    }
    let mut begin = 0;
    let mut ahead = marked_households(&marks.bits).skip(POST_AHEAD);
    for (i, end) in marked_households(&marks.bits).zip(ends) {
        if let Some(later) = ahead.next() {
            ctx.prefetch_household(range.start + later);
            for column in out.each_mut() {
                jifen_stream::prefetch(column, later);
            }
        }
        let end = end as usize;
        let group = &mut grouped[begin..end];
        begin = end;
        let redeemed = -out.closing_balance[i];
        let (limits, village, opening) = ctx.household(range.start + i, redeemed)?;
        let posted = post_in_order::<NET, NEGATIVE>(ctx.rules, limits, opening, group);
        record(&mut out, &mut local, i, village, redeemed, &posted);
    }
    Ok(local)
}

/// Flags each row whose household is marked in `all`, a bit a household
/// in 32-bit words: written so the compiler looks up many rows' words at
/// once where vectors are wide (a household beyond `all`, which the checks
/// have already refused, reads as unmarked).
#[inline(always)]
fn flag_marked(flags: &mut [u8], households: &[u32], all: &[u32]) {
    for (flag, &h) in flags.iter_mut().zip(households) {
        let word = all.get(h as usize / 32).copied().unwrap_or(0);
        *flag = ((word >> (h % 32)) & 1) as u8;
    }
}

/// The indices marked in a bitmap, in increasing order.
fn marked_households(bits: &[u64]) -> impl Iterator<Item = usize> + '_ {
    bits.iter().enumerate().flat_map(|(word, &bits)| {
        let mut rest = bits;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                word * 64 + bit
            })
        })
    })
}
