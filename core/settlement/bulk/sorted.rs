//! The single pass over entries sorted by household: one walk finds each
//! household's rows and adds them up, and the household is posted from its
//! totals, or entry by entry when their order could change its result.

use std::ops::Range;

use super::packed;
use super::pass::{count, entry_ok, Ctx, Local};
use super::post::{kind, post_household, post_in_order, post_order_free, Opening, Posted, Tally};
use super::redemptions::{self, Share};
use super::rules::MAX_ENTRY_POINTS;
use super::{BulkError, HouseholdResultsMut};
use crate::policy::caps::CapLimits;

/// Pieces of the sorted pass a thread takes in turn
/// ([`super::threads::in_turns`]): enough that the last to finish is a small
/// part of a run.
pub(super) const PIECES_PER_THREAD: usize = 32;

/// `pieces` household ranges and their entry ranges holding about equal
/// numbers of entries, assuming the entries are sorted by household (the
/// pass checks).
pub(super) fn sorted_split(ctx: &Ctx, pieces: usize) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let hh = ctx.input.entries.household;
    let m = hh.len();
    let mut households = Vec::with_capacity(pieces);
    let mut entries = Vec::with_capacity(pieces);
    let (mut h0, mut e0) = (0, 0);
    for t in 1..=pieces {
        let (h1, e1) = if t == pieces {
            (ctx.households, m)
        } else if m == 0 {
            (ctx.households * t / pieces, 0)
        } else {
            let split = (hh[m * t / pieces] as usize).clamp(h0, ctx.households);
            let e1 = hh.partition_point(|&x| (x as usize) < split).max(e0);
            (split, e1)
        };
        households.push(h0..h1);
        entries.push(e0..e1);
        (h0, e0) = (h1, e1);
    }
    (households, entries)
}

/// Posts household `h`, whose entries are `run` and whose redemptions took
/// `redeemed` points off its opening balance: its village and its month.
/// The common
/// household — awards and deductions only, every row well formed, nothing
/// its order could change — posts from its totals ([`post_order_free`]);
/// any other is posted again by [`repost`].
#[inline(always)]
fn post_run<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    h: usize,
    redeemed: i64,
    run: Run,
    scratch: &mut Vec<u64>,
) -> Result<(usize, Posted), BulkError> {
    let (limits, village, opening) = ctx.household(h, redeemed)?;
    let order_free = run
        .plain
        .then(|| {
            post_order_free::<NET, NEGATIVE>(
                ctx.rules,
                limits,
                opening,
                run.awards,
                0,
                run.deductions,
            )
        })
        .flatten();
    let posted = match order_free {
        Some(posted) => posted,
        None => repost::<NET, NEGATIVE>(ctx, limits, opening, run.rows, run.plain, scratch)?,
    };
    Ok((village, posted))
}

/// Households posted and not yet written: a few dozen rows of every result
/// column, written out together a whole cache line at a time past the cache
/// ([`jifen_stream`]), so that writing the results does not first read them.
struct Pending {
    rows: [[i64; PENDING]; 10],
    /// The output row of `rows[_][0]`.
    first: usize,
    /// Where the rows of the first column start within their cache line.
    offset: usize,
}

/// Rows held before they are written: eight cache lines of each column.
const PENDING: usize = 8 * jifen_stream::LINE;

impl Pending {
    fn new(out: &HouseholdResultsMut) -> Pending {
        let line = jifen_stream::LINE;
        Pending {
            rows: [[0; PENDING]; 10],
            first: 0,
            offset: (line - jifen_stream::rows_before_line(out.awarded) % line) % line,
        }
    }

    /// Holds row `i`, the row after the last one held, and writes the held
    /// rows when they reach the end of a cache line and fill the buffer.
    #[inline(always)]
    fn push(&mut self, i: usize, posted: &Posted, out: &mut HouseholdResultsMut) {
        let at = i - self.first;
        for (column, value) in self.rows.iter_mut().zip(posted.columns()) {
            column[at] = value;
        }
        let line_ends = (i + 1 + self.offset) % jifen_stream::LINE == 0;
        if at + 1 == PENDING || (line_ends && at + jifen_stream::LINE >= PENDING) {
            self.write(i + 1, out);
        }
    }

    /// Writes the rows held, up to row `end`.
    fn write(&mut self, end: usize, out: &mut HouseholdResultsMut) {
        let held = end - self.first;
        for (column, rows) in out.each_mut().into_iter().zip(&self.rows) {
            jifen_stream::stream_into(&mut column[self.first..end], &rows[..held]);
        }
        self.first = end;
    }
}

/// However the pass ends, what it streamed is visible before its thread
/// hands its rows on.
impl Drop for Pending {
    fn drop(&mut self) {
        jifen_stream::fence();
    }
}

/// A household's rows of entries sorted by household, added up as the
/// sorted pass walks them.
struct Run {
    rows: Range<usize>,
    /// Every entry is a well-formed award or deduction.
    plain: bool,
    awards: i64,
    deductions: i64,
}

/// The slow path of [`post_run`]: finds a bad row, or posts a household with
/// a veto from its totals ([`Tally::post`]), as the unsorted pass does, or
/// posts the household's entries one by one in the fixed order. Rows that
/// come in that order already (as a month's score sheets usually do) are
/// posted where they lie; others are packed and sorted first.
#[cold]
fn repost<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    limits: CapLimits,
    opening: Opening,
    rows: Range<usize>,
    plain: bool,
    scratch: &mut Vec<u64>,
) -> Result<Posted, BulkError> {
    let e = &ctx.input.entries;
    // A plain run's rows were checked, and its totals tried, as the pass
    // walked them; a run that is not plain holds a bad row, a veto or a bonus.
    if !plain {
        let mut tally = Tally::default();
        for row in rows.clone() {
            let (kind, points) = (e.kind[row], e.points[row]);
            if !entry_ok(kind, points, e.day[row], ctx.days) {
                return Err(ctx.entry_error(row));
            }
            tally.add(kind, points);
        }
        if let Some(posted) = tally.post::<NET, NEGATIVE>(ctx.rules, limits, opening) {
            return Ok(posted);
        }
    }
    let key = |row: usize| (e.day[row], e.order[row]);
    let in_order = rows.clone().skip(1).all(|row| key(row - 1) <= key(row));
    if !in_order {
        scratch.clear();
        scratch.extend(
            rows.map(|row| packed::with_key(e.kind[row], e.points[row], e.day[row], e.order[row])),
        );
        return Ok(post_in_order::<NET, NEGATIVE>(
            ctx.rules, limits, opening, scratch,
        ));
    }
    let entries = rows.map(|row| (e.kind[row], e.points[row]));
    Ok(post_household::<NET, NEGATIVE>(
        ctx.rules, limits, opening, entries,
    ))
}

/// The single pass over entries sorted by household, for households
/// `range` and their entry rows `rows`, adding them to `local`'s villages.
/// `Ok(false)` when the entries turn out not to be sorted (the caller then
/// groups them).
pub(super) fn settle_sorted<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    range: Range<usize>,
    rows: Range<usize>,
    mut out: HouseholdResultsMut,
    redemptions: &[Share],
    local: &mut Local,
) -> Result<bool, BulkError> {
    redemptions::take_off(redemptions, &range, out.closing_balance);
    let e = &ctx.input.entries;
    let (hh, kinds, points, days) = (
        &e.household[..rows.end],
        &e.kind[..rows.end],
        &e.points[..rows.end],
        &e.day[..rows.end],
    );
    let mut scratch = Vec::new();
    let mut pending = Pending::new(&out);
    let mut pos = rows.start;
    for h in range.clone() {
        // One walk finds the household's rows and adds them up. A row is
        // plain when its kind is an award's or a deduction's (0 or 1), its
        // points less one below the bound and its day less one below the
        // month's days: the kinds' bits together and the largest of the
        // other two say it for all the rows at once.
        let start = pos;
        let (mut kind_bits, mut points_less_one, mut day_less_one) = (0u8, 0u64, 0u8);
        // Wrapping: a bad row's points are not summed for any use.
        let (mut awards, mut all) = (0i64, 0i64);
        while pos < hh.len() && hh[pos] as usize == h {
            let (kind, points, day) = (kinds[pos], points[pos], days[pos]);
            kind_bits |= kind;
            points_less_one = points_less_one.max(points.wrapping_sub(1) as u64);
            day_less_one = day_less_one.max(day.wrapping_sub(1));
            awards = awards.wrapping_add(if kind == kind::AWARD { points } else { 0 });
            all = all.wrapping_add(points);
            pos += 1;
        }
        let run = Run {
            rows: start..pos,
            plain: kind_bits <= kind::DEDUCTION
                && points_less_one < MAX_ENTRY_POINTS as u64
                && day_less_one < ctx.days,
            awards,
            deductions: all.wrapping_sub(awards),
        };
        let i = h - range.start;
        // What the redemptions took off, as `take_off` left it.
        let redeemed = -out.closing_balance[i];
        let (village, posted) = post_run::<NET, NEGATIVE>(ctx, h, redeemed, run, &mut scratch)?;
        count(local, village, redeemed, &posted);
        pending.push(i, &posted, &mut out);
        if pos < hh.len() && hh[pos] as usize <= h {
            return Ok(false);
        }
    }
    pending.write(range.len(), &mut out);
    Ok(pos == rows.end)
}
