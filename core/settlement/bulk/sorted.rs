//! The single pass over entries sorted by household: one walk finds each
//! household's rows and adds them up, and the household is posted from its
//! totals, or entry by entry when their order could change its result.

use std::ops::Range;

use jifen_stream::Rows;

use super::packed;
use super::pass::{count, entry_ok, Ctx, Local};
use super::pending::{Pending, PENDING};
use super::post::{kind, post_household, post_in_order, post_order_free, Opening, Posted, Tally};
use super::redemptions::{self, Share};
use super::{BulkError, HouseholdColumns};
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

/// A plain household whose entries' order could change its month
/// ([`post_order_free`] answered `None`): posted entry by entry
/// ([`repost`]) a few dozen households later, once the lines of its `order`
/// column, which the walk does not read, have been asked for and come in.
struct Deferred {
    /// The household's row within the piece.
    i: usize,
    rows: Range<usize>,
    limits: CapLimits,
    opening: Opening,
    village: usize,
    redeemed: i64,
}

/// Asks for the lines of the `order` column of `rows`, a deferred
/// household's, which [`repost`] reads to check them in posting order.
#[inline(always)]
fn prefetch_order(order: &[u32], rows: &Range<usize>) {
    // `LINE` counts a line's 8-byte rows; `order`'s rows are 4 bytes.
    let line_rows = jifen_stream::LINE * size_of::<i64>() / size_of::<u32>();
    for row in rows.clone().step_by(line_rows) {
        jifen_stream::prefetch(order, row);
    }
    jifen_stream::prefetch(order, rows.end.wrapping_sub(1));
}

/// Posts the deferred households, holding their rows in `pending`.
fn post_deferred<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    deferred: &mut Vec<Deferred>,
    scratch: &mut Vec<u64>,
    local: &mut Local,
    pending: &mut Pending,
) -> Result<(), BulkError> {
    for household in deferred.drain(..) {
        let Deferred {
            i,
            rows,
            limits,
            opening,
            village,
            redeemed,
        } = household;
        let posted = repost::<NET, NEGATIVE>(ctx, limits, opening, rows, true, scratch)?;
        count(local, village, redeemed, &posted);
        pending.hold(i, posted.columns());
    }
    Ok(())
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

/// Rows of the sorted columns added up at once: a window of fixed length,
/// which the compiler turns into vector instructions (AVX-512 or AVX2 where
/// the processor has them: [`jifen_stream::with_wide_vectors`]). A month's household
/// usually scores fewer entries than this, so one window holds its whole
/// run and finding where the run ends takes no branch a row.
const WINDOW: usize = 16;

/// How far ahead of the walk the sorted pass asks for its entry columns'
/// lines ([`jifen_stream::prefetch`]). The processor's prefetchers follow
/// the walk, yet its profile samples gathered on the window's load of
/// points; asking for the lines 256 rows ahead (2 KiB of points, some
/// twenty-five households) takes 4–8% off a sorted run of ten million
/// households (benches/README.md). 128 to 2,048 rows measured alike, and
/// asking for the households' own columns as well was slower.
const PREFETCH_ROWS: usize = 256;

/// The window of `column` starting at row `pos`, when it holds one.
#[inline(always)]
fn window<T>(column: &[T], pos: usize) -> Option<&[T; WINDOW]> {
    column.get(pos..)?.first_chunk()
}

/// Whether a row is plain: a well-formed entry ([`entry_ok`]) that is an
/// award or a deduction (kind 0 or 1).
#[inline(always)]
fn plain_row(kind: u8, points: i64, day: u8, days: u8) -> bool {
    (kind <= kind::DEDUCTION) & entry_ok(kind, points, day, days)
}

/// A household's rows added up as the sorted pass walks them, and whether
/// each is plain, kept without a branch a row.
struct RunSums {
    /// The days of the month, which a plain row's day is one of.
    days: u8,
    /// Some row added is not plain.
    not_plain: bool,
    /// Wrapping: a bad row's points are not summed for any use.
    all: i64,
    /// The points of the rows whose kind is odd: a plain run's deductions.
    deductions: i64,
}

impl RunSums {
    fn new(days: u8) -> Self {
        RunSums {
            days,
            not_plain: false,
            all: 0,
            deductions: 0,
        }
    }

    /// Adds one row.
    #[inline(always)]
    fn add(&mut self, kind: u8, points: i64, day: u8) {
        self.not_plain |= !plain_row(kind, points, day, self.days);
        self.all = self.all.wrapping_add(points);
        self.deductions = self
            .deductions
            .wrapping_add(points & -i64::from(kind & kind::DEDUCTION));
    }

    /// Adds the rows of household `h` that open a window, and says how many
    /// there are: [`WINDOW`] when the run may go on past it.
    ///
    /// Every row of the window naming `h` is added, as vector lanes are,
    /// not only those of the run: in sorted entries they are the same rows.
    /// In entries that are not, an extra row is one the walk finds out of
    /// order before its piece ends, and the sorted pass's results are then
    /// dropped; the extra rows can only make the run not plain, and a run
    /// that is not plain is checked again on its own rows, so a refusal is
    /// still the one its rows give.
    #[inline(always)]
    fn add_window(
        &mut self,
        h: u32,
        hh: &[u32; WINDOW],
        kinds: &[u8; WINDOW],
        points: &[i64; WINDOW],
        days: &[u8; WINDOW],
    ) -> usize {
        // Which rows name `h`, a bit a row, and above them which of those
        // are not plain; and the points of the rows naming `h`, with those
        // of its deductions in the high half: a plain row's points fit in
        // 25 bits, and a window's sums of them in 32 (16 × 2²⁵). Two sums
        // across the lanes, each a few vector instructions.
        let (mut bits, mut sums) = (0u32, 0u64);
        for k in 0..WINDOW {
            let taken = hh[k] == h;
            let odd = !plain_row(kinds[k], points[k], days[k], self.days);
            bits |= (u32::from(taken) | u32::from(taken & odd) << WINDOW) << k;
            let points = points[k] as u64 & u64::from(taken).wrapping_neg();
            let deducted = points & u64::from(kinds[k] & kind::DEDUCTION).wrapping_neg();
            sums = sums.wrapping_add(points | deducted << 32);
        }
        let same = bits & ((1 << WINDOW) - 1);
        self.not_plain |= bits >> WINDOW != 0;
        self.all = self.all.wrapping_add(i64::from(sums as u32));
        self.deductions = self.deductions.wrapping_add(sums as i64 >> 32);
        (!same).trailing_zeros() as usize
    }

    /// Every row added is plain ([`plain_row`]).
    fn plain(&self) -> bool {
        !self.not_plain
    }
}

/// The slow path of the sorted pass, for a household whose run is not
/// plain or whose entries' order could change its month: finds a bad row,
/// or posts a household with a veto from its totals ([`Tally::post`]), as
/// the unsorted pass does, or posts the household's entries one by one in
/// the fixed order. Rows that come in that order already (as a month's
/// score sheets usually do) are posted where they lie; others are packed
/// and sorted first.
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
        BulkError::reserve(
            scratch,
            rows.len(),
            "a household's entries in posting order",
        )?;
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
/// `range` and their entry rows `rows`, adding them to `local`'s villages
/// and writing the range's rows of the result columns, `out`, in order from
/// the first (so fresh columns need no zeroing first). `Ok(false)` when the
/// entries turn out not to be sorted (the caller then groups them). Rows
/// are added up a [`WINDOW`] at a time when `windows` (the processor has
/// wide vectors), one at a time otherwise. Inlined into the caller's
/// [`jifen_stream::with_wide_vectors`].
///
/// The common household (awards and deductions only, every row well
/// formed, nothing its order could change) posts from its totals
/// ([`post_order_free`]); one whose run is not plain is posted from its rows
/// at once ([`repost`]); a plain one whose order could change its month is
/// [`Deferred`] until the rows held before it are written, its `order`
/// lines asked for meanwhile.
#[inline(always)]
pub(super) fn settle_sorted<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    range: Range<usize>,
    rows: Range<usize>,
    mut out: HouseholdColumns<Rows>,
    redemptions: &[Share],
    local: &mut Local,
    windows: bool,
) -> Result<bool, BulkError> {
    redemptions::take_off(redemptions, &range, &mut out.closing_balance);
    let e = &ctx.input.entries;
    let (hh, kinds, points, days) = (
        &e.household[..rows.end],
        &e.kind[..rows.end],
        &e.points[..rows.end],
        &e.day[..rows.end],
    );
    let mut scratch = Vec::new();
    let mut pending = Pending::new(&out);
    // At most the households `pending` holds.
    let mut deferred = Vec::with_capacity(PENDING);
    let mut pos = rows.start;
    for h in range.clone() {
        // One walk finds the household's rows and adds them up: with
        // windows, whole windows while the run fills them and the columns
        // hold one; then row by row what is left (nothing, once a window
        // held the run's end).
        let start = pos;
        for ahead in [PREFETCH_ROWS, PREFETCH_ROWS + 8] {
            jifen_stream::prefetch(points, pos + ahead);
        }
        jifen_stream::prefetch(hh, pos + PREFETCH_ROWS);
        jifen_stream::prefetch(kinds, pos + PREFETCH_ROWS);
        jifen_stream::prefetch(days, pos + PREFETCH_ROWS);
        let mut sums = RunSums::new(ctx.days);
        if windows {
            while let (Some(hh), Some(kinds), Some(points), Some(days), Ok(h)) = (
                window(hh, pos),
                window(kinds, pos),
                window(points, pos),
                window(days, pos),
                u32::try_from(h),
            ) {
                let rows = sums.add_window(h, hh, kinds, points, days);
                pos += rows;
                if rows < WINDOW {
                    break;
                }
            }
        }
        while pos < hh.len() && hh[pos] as usize == h {
            sums.add(kinds[pos], points[pos], days[pos]);
            pos += 1;
        }
        let run = Run {
            rows: start..pos,
            plain: sums.plain(),
            awards: sums.all.wrapping_sub(sums.deductions),
            deductions: sums.deductions,
        };
        let i = h - range.start;
        // What the redemptions took off, as `take_off` left it.
        let redeemed = -out.closing_balance.written_rows()[i];
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
        match order_free {
            Some(posted) => {
                count(local, village, redeemed, &posted);
                pending.hold(i, posted.columns());
            }
            None if run.plain => {
                prefetch_order(e.order, &run.rows);
                deferred.push(Deferred {
                    i,
                    rows: run.rows,
                    limits,
                    opening,
                    village,
                    redeemed,
                });
            }
            None => {
                let posted =
                    repost::<NET, NEGATIVE>(ctx, limits, opening, run.rows, false, &mut scratch)?;
                count(local, village, redeemed, &posted);
                pending.hold(i, posted.columns());
            }
        }
        if pending.due(i) {
            post_deferred::<NET, NEGATIVE>(ctx, &mut deferred, &mut scratch, local, &mut pending)?;
            pending.write(i + 1, &mut out);
        }
        if pos < hh.len() && hh[pos] as usize <= h {
            return Ok(false);
        }
    }
    post_deferred::<NET, NEGATIVE>(ctx, &mut deferred, &mut scratch, local, &mut pending)?;
    pending.write(range.len(), &mut out);
    Ok(pos == rows.end)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::settlement::bulk::rules::MAX_ENTRY_POINTS;

    const H: u32 = 7;

    /// A row's kind, points and day, drawn to reach every edge of plain.
    fn row() -> impl Strategy<Value = (u8, i64, u8)> {
        let points = prop_oneof![
            4 => 1i64..100,
            1 => prop::sample::select(vec![
                0,
                -1,
                MAX_ENTRY_POINTS,
                MAX_ENTRY_POINTS + 1,
                1 << 32 | 1,
                i64::MIN,
            ]),
        ];
        (prop_oneof![4 => 0u8..2, 1 => 2u8..5], points, 0u8..33)
    }

    /// The run of `hh`'s rows naming [`H`] that opens the window, added up
    /// row by row.
    fn one_by_one(hh: &[u32], rows: &[(u8, i64, u8)], days: u8) -> (usize, RunSums) {
        let run = hh.iter().take_while(|&&household| household == H).count();
        let mut sums = RunSums::new(days);
        for &(kind, points, day) in &rows[..run] {
            sums.add(kind, points, day);
        }
        (run, sums)
    }

    fn by_window(hh: &[u32; WINDOW], rows: &[(u8, i64, u8)], days: u8) -> (usize, RunSums) {
        let kinds = std::array::from_fn(|k| rows[k].0);
        let points = std::array::from_fn(|k| rows[k].1);
        let row_days = std::array::from_fn(|k| rows[k].2);
        let mut sums = RunSums::new(days);
        let run = sums.add_window(H, hh, &kinds, &points, &row_days);
        (run, sums)
    }

    proptest! {
        /// In sorted entries a window finds the run that opens it and adds
        /// it up as row by row does; both call it plain exactly when every
        /// row passes the entry check as an award or a deduction.
        #[test]
        fn a_window_adds_up_its_run_as_row_by_row_does(
            run in 0usize..=WINDOW,
            steps in prop::collection::vec(0u32..3, WINDOW),
            rows in prop::collection::vec(row(), WINDOW),
            days in 28u8..=31,
        ) {
            let mut later = H;
            let hh: [u32; WINDOW] = std::array::from_fn(|k| {
                if k < run {
                    return H;
                }
                later += steps[k].max(u32::from(k == run));
                later
            });
            let (window_run, window) = by_window(&hh, &rows, days);
            let (row_run, rows_sums) = one_by_one(&hh, &rows, days);
            prop_assert_eq!(window_run, run);
            prop_assert_eq!(row_run, run);
            let every_row_plain = rows[..run].iter().all(|&(kind, points, day)| {
                kind <= kind::DEDUCTION && entry_ok(kind, points, day, days)
            });
            prop_assert_eq!(rows_sums.plain(), every_row_plain);
            prop_assert_eq!(window.plain(), every_row_plain);
            if every_row_plain {
                prop_assert_eq!(
                    (window.all, window.deductions),
                    (rows_sums.all, rows_sums.deductions)
                );
            }
        }

        /// In entries out of order a window may add rows naming the household
        /// past its run; it still finds the run, and never calls plain a run
        /// whose own rows are not.
        #[test]
        fn out_of_order_rows_never_make_a_run_plain(
            households in prop::collection::vec(H - 1..=H + 1, WINDOW),
            rows in prop::collection::vec(row(), WINDOW),
        ) {
            let hh: [u32; WINDOW] = std::array::from_fn(|k| households[k]);
            let (window_run, window) = by_window(&hh, &rows, 31);
            let (row_run, rows_sums) = one_by_one(&hh, &rows, 31);
            prop_assert_eq!(window_run, row_run);
            prop_assert!(!window.plain() || rows_sums.plain());
        }
    }
}
