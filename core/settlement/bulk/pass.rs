//! The passes over the columns: checks, the per-thread household ranges, the
//! sorted single pass and the grouping of unsorted entries.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::post::{kind, post_household, post_order_free, post_vetoed, Opening, Posted};
use super::redemptions::{self, Share};
use super::rules::{within_bound, MonthRules, MAX_ENTRY_POINTS};
use super::totals::{Sums, Totals};
use super::{BulkError, HouseholdResultsMut, MonthInput, SettleOptions};
use crate::policy::caps::CapLimits;
use crate::policy::CapBasis;

/// Checks that every column has its table's length and the region tree is
/// well formed; row-level checks happen during the pass.
pub(super) fn check_shapes(rules: &MonthRules, input: &MonthInput) -> Result<(), BulkError> {
    let length = |table, column, expected: usize, actual: usize| {
        if expected == actual {
            Ok(())
        } else {
            Err(BulkError::ColumnLength {
                table,
                column,
                expected,
                actual,
            })
        }
    };
    let h = &input.households;
    let n = h.category.len();
    length("households", "village", n, h.village.len())?;
    length("households", "opening_balance", n, h.opening_balance.len())?;
    length("households", "ytd_credited", n, h.ytd_credited.len())?;
    if !h.ytd_deducted.is_empty() {
        length("households", "ytd_deducted", n, h.ytd_deducted.len())?;
    }
    let e = &input.entries;
    let m = e.household.len();
    length("entries", "kind", m, e.kind.len())?;
    length("entries", "points", m, e.points.len())?;
    length("entries", "day", m, e.day.len())?;
    length("entries", "order", m, e.order.len())?;
    let r = &input.redemptions;
    let k = r.household.len();
    length("redemptions", "store", k, r.store.len())?;
    length("redemptions", "points", k, r.points.len())?;
    length("redemptions", "reimbursable", k, r.reimbursable.len())?;
    for (table, rows) in [("households", n), ("entries", m), ("redemptions", k)] {
        if rows > u32::MAX as usize {
            return Err(BulkError::TooManyRows {
                table,
                rows,
                limit: u32::MAX as usize,
            });
        }
    }
    let regions = &input.regions;
    let index =
        |column, values: &[u32], len: usize| match values.iter().position(|&v| v as usize >= len) {
            None => Ok(()),
            Some(row) => Err(BulkError::IndexOutOfRange {
                table: "regions",
                column,
                row,
                value: u64::from(values[row]),
                len,
            }),
        };
    index(
        "village_township",
        regions.village_township,
        regions.township_county.len(),
    )?;
    index(
        "township_county",
        regions.township_county,
        regions.counties as usize,
    )?;
    debug_assert!(rules.days() >= 28);
    Ok(())
}

/// Calls `pass::<NET, NEGATIVE>(args)` with the rules' cap basis and
/// negative-balance setting as constants.
macro_rules! specialised {
    ($ctx:expr, $pass:ident($($arg:expr),*)) => {
        match ($ctx.rules.basis(), $ctx.rules.allow_negative()) {
            (CapBasis::Gross, false) => $pass::<false, false>($($arg),*),
            (CapBasis::Gross, true) => $pass::<false, true>($($arg),*),
            (CapBasis::Net, false) => $pass::<true, false>($($arg),*),
            (CapBasis::Net, true) => $pass::<true, true>($($arg),*),
        }
    };
}

/// Runs the settlement on `threads` threads: the sorted single pass, over
/// pieces of the households the threads take in turn, when the entries come
/// sorted by household; the grouping pass, over one household range a
/// thread, when not.
pub(super) fn run(
    rules: &MonthRules,
    input: &MonthInput,
    options: SettleOptions,
    columns: &mut HouseholdResultsMut<'_>,
    scratch: &mut Scratch,
) -> Result<Totals, BulkError> {
    let ctx = Ctx::new(rules, input);
    let threads = options.threads.max(1);
    let chunk = options.chunk_entries.max(1);
    scratch.buffers.resize_with(threads, Vec::new);
    let shares = redemptions::split(input, ctx.households, &mut scratch.buffers)?;
    let stores = redemptions::store_sums(&shares, input.stores as usize);
    let hh = input.entries.household;
    let probe = &hh[..hh.len().min(4096)];
    let sorted = if probe.is_sorted() {
        let (households, entries) = sorted_split(&ctx, threads * PIECES_PER_THREAD);
        let new_local = || Local::new(&ctx);
        in_turns(
            columns,
            &households,
            threads,
            new_local,
            |piece, range, out, local| {
                let rows = entries[piece].clone();
                specialised!(&ctx, settle_sorted(&ctx, range, rows, out, &shares, local))
            },
        )?
    } else {
        None
    };
    let locals = match sorted {
        Some(locals) => locals,
        None => {
            let ranges = block_split(ctx.households, threads);
            let (mut locals, marks) = specialised!(
                &ctx,
                settle_grouped(&ctx, &ranges, threads, chunk, columns, &shares)
            )?;
            // The shares' buffers serve next to group the marked entries.
            drop(shares);
            if marks.iter().any(Marks::any) {
                let gathered = gather_marked(&ctx, &marks, threads);
                let states = scratch.buffers.iter_mut();
                locals.extend(in_threads_with(
                    columns,
                    &ranges,
                    states,
                    |r, _, out, grouped| {
                        specialised!(&ctx, post_marked(&ctx, &marks[r], &gathered, grouped, out))
                    },
                )?);
            }
            locals
        }
    };
    let mut villages = Local::new(&ctx).villages;
    for local in locals {
        for (mine, theirs) in villages.iter_mut().zip(&local.villages) {
            mine.add(theirs);
        }
    }
    Ok(Totals::build(rules, &input.regions, &villages, &stores))
}

/// What every pass reads.
struct Ctx<'a> {
    rules: &'a MonthRules,
    input: &'a MonthInput<'a>,
    households: usize,
    villages: usize,
    days: u8,
}

impl<'a> Ctx<'a> {
    fn new(rules: &'a MonthRules, input: &'a MonthInput<'a>) -> Ctx<'a> {
        Ctx {
            rules,
            input,
            households: input.households.category.len(),
            villages: input.regions.village_township.len(),
            days: rules.days(),
        }
    }

    #[cold]
    fn entry_error(&self, row: usize) -> BulkError {
        let e = &self.input.entries;
        let (k, points, day) = (e.kind[row], e.points[row], e.day[row]);
        if k > kind::BONUS {
            BulkError::InvalidEntryKind { row, kind: k }
        } else if day < 1 || day > self.days {
            BulkError::InvalidEntryDay {
                row,
                day,
                days: self.days,
            }
        } else {
            BulkError::InvalidRowPoints {
                table: "entries",
                column: "points",
                row,
                points,
                expected: if k == kind::VETO {
                    "a veto carries 0 points"
                } else {
                    "awards, deductions and bonuses carry 1..=33554431 points"
                },
            }
        }
    }

    /// Household `h`'s caps, village and opening figures, the posting
    /// starting from its opening balance less its `redeemed` points.
    #[inline(always)]
    fn household(&self, h: usize, redeemed: i64) -> Result<(CapLimits, usize, Opening), BulkError> {
        let hs = &self.input.households;
        let category = hs.category[h] as usize;
        let village = hs.village[h] as usize;
        let opening = hs.opening_balance[h];
        let ytd_credited = hs.ytd_credited[h];
        let ytd_deducted = hs.ytd_deducted.get(h).copied().unwrap_or(0);
        let limits = self.rules.limits_table().get(category).copied();
        let balance = opening - redeemed;
        let fine = limits.is_some()
            && village < self.villages
            && within_bound(opening)
            && within_bound(ytd_credited)
            && within_bound(ytd_deducted)
            && (redeemed == 0 || balance >= 0);
        match limits {
            Some(limits) if fine => Ok((
                limits,
                village,
                Opening {
                    balance,
                    ytd_credited,
                    ytd_deducted,
                },
            )),
            _ => Err(self.household_error(h)),
        }
    }

    #[cold]
    fn household_error(&self, h: usize) -> BulkError {
        let hs = &self.input.households;
        let index = |column, value: u32, len| BulkError::IndexOutOfRange {
            table: "households",
            column,
            row: h,
            value: u64::from(value),
            len,
        };
        if hs.category[h] as usize >= self.rules.categories() {
            return index("category", hs.category[h], self.rules.categories());
        }
        if hs.village[h] as usize >= self.villages {
            return index("village", hs.village[h], self.villages);
        }
        let ytd_deducted = hs.ytd_deducted.get(h).copied().unwrap_or(0);
        for (column, points) in [
            ("opening_balance", hs.opening_balance[h]),
            ("ytd_credited", hs.ytd_credited[h]),
            ("ytd_deducted", ytd_deducted),
        ] {
            if !within_bound(points) {
                return out_of_bound("households", column, h, points);
            }
        }
        overdrawn(self, h)
    }
}

fn out_of_bound(table: &'static str, column: &'static str, row: usize, points: i64) -> BulkError {
    BulkError::InvalidRowPoints {
        table,
        column,
        row,
        points,
        expected: "within ±1e9",
    }
}

/// The passes' working memory, kept by a [`super::Settlement`] from one
/// run to the next: settling the same population again (under another
/// policy, say) then reuses it instead of asking the system for fresh pages
/// and touching them all once more. Each buffer serves two phases in turn,
/// so keeping them adds little to a run's peak memory. (The partitions of
/// unsorted entries are not kept: [`settle_grouped`] gives them back
/// before the posting, which would otherwise hold both at its peak.)
#[derive(Default)]
pub(super) struct Scratch {
    /// A buffer for each thread: its share of the redemptions partitioned
    /// by block ([`redemptions::split`]), then, when the entries are not
    /// sorted, its household range's marked entries grouped by household.
    buffers: Vec<Vec<u64>>,
}

#[cfg(test)]
impl Scratch {
    /// The bytes its buffers hold.
    pub(super) fn held_bytes(&self) -> usize {
        8 * self.buffers.iter().map(Vec::capacity).sum::<usize>()
    }
}

/// A copy starts with no working memory of its own: nothing in it outlives a run.
impl Clone for Scratch {
    fn clone(&self) -> Scratch {
        Scratch::default()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

/// One thread's village sums.
struct Local {
    villages: Vec<Sums>,
}

impl Local {
    fn new(ctx: &Ctx) -> Local {
        Local {
            villages: vec![Sums::default(); ctx.villages],
        }
    }
}

/// A thread's share of the household output columns is a
/// [`HouseholdResultsMut`] of its rows.
impl<'a> HouseholdResultsMut<'a> {
    /// The columns reborrowed, for one phase of a run.
    fn reborrow(&mut self) -> HouseholdResultsMut<'_> {
        HouseholdResultsMut {
            awarded: self.awarded,
            credited: self.credited,
            capped: self.capped,
            vetoed: self.vetoed,
            deducted: self.deducted,
            unapplied: self.unapplied,
            net: self.net,
            closing_balance: self.closing_balance,
            ytd_credited: self.ytd_credited,
            ytd_deducted: self.ytd_deducted,
        }
    }

    /// The columns' rows of each of `ranges`, consecutive ranges from the first row.
    fn split_by(&mut self, ranges: &[Range<usize>]) -> Vec<HouseholdResultsMut<'_>> {
        let mut outs = Vec::with_capacity(ranges.len());
        let mut rest = self.reborrow();
        let mut offset = 0;
        for range in ranges {
            let (head, tail) = rest.split_at(range.end - offset);
            outs.push(head);
            rest = tail;
            offset = range.end;
        }
        outs
    }

    fn split_at(self, mid: usize) -> (HouseholdResultsMut<'a>, HouseholdResultsMut<'a>) {
        let (awarded, awarded2) = self.awarded.split_at_mut(mid);
        let (credited, credited2) = self.credited.split_at_mut(mid);
        let (capped, capped2) = self.capped.split_at_mut(mid);
        let (vetoed, vetoed2) = self.vetoed.split_at_mut(mid);
        let (deducted, deducted2) = self.deducted.split_at_mut(mid);
        let (unapplied, unapplied2) = self.unapplied.split_at_mut(mid);
        let (net, net2) = self.net.split_at_mut(mid);
        let (closing_balance, closing_balance2) = self.closing_balance.split_at_mut(mid);
        let (ytd_credited, ytd_credited2) = self.ytd_credited.split_at_mut(mid);
        let (ytd_deducted, ytd_deducted2) = self.ytd_deducted.split_at_mut(mid);
        (
            HouseholdResultsMut {
                awarded,
                credited,
                capped,
                vetoed,
                deducted,
                unapplied,
                net,
                closing_balance,
                ytd_credited,
                ytd_deducted,
            },
            HouseholdResultsMut {
                awarded: awarded2,
                credited: credited2,
                capped: capped2,
                vetoed: vetoed2,
                deducted: deducted2,
                unapplied: unapplied2,
                net: net2,
                closing_balance: closing_balance2,
                ytd_credited: ytd_credited2,
                ytd_deducted: ytd_deducted2,
            },
        )
    }

    #[inline(always)]
    fn write(&mut self, i: usize, p: &Posted) {
        self.awarded[i] = p.awarded;
        self.credited[i] = p.credited;
        self.capped[i] = p.capped;
        self.vetoed[i] = p.vetoed;
        self.deducted[i] = p.deducted;
        self.unapplied[i] = p.unapplied;
        self.net[i] = p.net();
        self.closing_balance[i] = p.balance;
        self.ytd_credited[i] = p.ytd_credited;
        self.ytd_deducted[i] = p.ytd_deducted;
    }
}

/// Runs `work` on each household range in its own thread (the first on the
/// calling thread), each writing only its own rows of `columns`.
fn in_threads<T: Send>(
    columns: &mut HouseholdResultsMut<'_>,
    ranges: &[Range<usize>],
    work: impl Fn(usize, Range<usize>, HouseholdResultsMut<'_>) -> Result<T, BulkError> + Sync,
) -> Result<Vec<T>, BulkError> {
    let states = ranges.iter().map(|_| ());
    in_threads_with(columns, ranges, states, |r, range, out, ()| {
        work(r, range, out)
    })
}

/// As [`in_threads`], handing each range's thread its own of `states`.
fn in_threads_with<S: Send, T: Send>(
    columns: &mut HouseholdResultsMut<'_>,
    ranges: &[Range<usize>],
    states: impl Iterator<Item = S>,
    work: impl Fn(usize, Range<usize>, HouseholdResultsMut<'_>, S) -> Result<T, BulkError> + Sync,
) -> Result<Vec<T>, BulkError> {
    let jobs: Vec<_> = ranges
        .iter()
        .cloned()
        .zip(columns.split_by(ranges))
        .zip(states)
        .enumerate()
        .collect();
    debug_assert_eq!(jobs.len(), ranges.len(), "a state for every range");
    let answers = in_parallel(jobs, |(thread, ((range, out), state))| {
        work(thread, range, out, state)
    });
    answers.into_iter().collect()
}

/// Runs `work` on every household range of `ranges` (pieces of the
/// households, in order), `threads` threads taking the pieces in turn, each
/// thread with its own state made by `state`. A thread slowed, by the
/// machine or by costlier households, then leaves the others more pieces
/// rather than a wait at the end. A piece's answer is whether it settled;
/// the first piece, in order, that did not (`Ok(false)`) or failed decides
/// the run, and no thread takes a new piece after one has: each piece before
/// it was taken, so finished, first, and the answer is the one a single
/// thread taking every piece in order would give. The threads' states come
/// back when every piece settled.
fn in_turns<S: Send>(
    columns: &mut HouseholdResultsMut<'_>,
    ranges: &[Range<usize>],
    threads: usize,
    state: impl Fn() -> S + Sync,
    work: impl Fn(usize, Range<usize>, HouseholdResultsMut<'_>, &mut S) -> Result<bool, BulkError>
        + Sync,
) -> Result<Option<Vec<S>>, BulkError> {
    let pieces: Vec<Mutex<Option<HouseholdResultsMut>>> = columns
        .split_by(ranges)
        .into_iter()
        .map(|out| Mutex::new(Some(out)))
        .collect();
    let next = AtomicUsize::new(0);
    let halted = AtomicBool::new(false);
    let take_turns = |_thread| {
        let mut mine = state();
        let mut answers = Vec::new();
        while !halted.load(Ordering::Relaxed) {
            let piece = next.fetch_add(1, Ordering::Relaxed);
            // Each piece's columns are taken once, by the thread that drew it.
            let Some(out) = pieces.get(piece).and_then(|slot| slot.lock().ok()?.take()) else {
                break;
            };
            let answer = work(piece, ranges[piece].clone(), out, &mut mine);
            if !matches!(answer, Ok(true)) {
                halted.store(true, Ordering::Relaxed);
            }
            answers.push((piece, answer));
        }
        (mine, answers)
    };
    let (states, answers): (Vec<S>, Vec<_>) = in_parallel((0..threads).collect(), take_turns)
        .into_iter()
        .unzip();
    let mut answers: Vec<_> = answers.into_iter().flatten().collect();
    answers.sort_unstable_by_key(|&(piece, _)| piece);
    for (_, answer) in answers {
        if !answer? {
            return Ok(None);
        }
    }
    Ok(Some(states))
}

/// Runs `work` on each input in its own thread (the first on the calling
/// thread) and returns the answers in order; a thread's panic goes on in the
/// caller.
pub(super) fn in_parallel<I: Send, T: Send>(
    inputs: Vec<I>,
    work: impl Fn(I) -> T + Sync,
) -> Vec<T> {
    let work = &work;
    std::thread::scope(|scope| {
        let mut inputs = inputs.into_iter();
        let first = inputs.next();
        let handles: Vec<_> = inputs
            .map(|input| scope.spawn(move || work(input)))
            .collect();
        let mut answers: Vec<T> = first.map(work).into_iter().collect();
        answers.extend(handles.into_iter().map(|handle| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }));
        answers
    })
}

/// `threads` ranges of `rows` rows of about equal size.
pub(super) fn even_split(rows: usize, threads: usize) -> Vec<Range<usize>> {
    (0..threads)
        .map(|t| rows * t / threads..rows * (t + 1) / threads)
        .collect()
}

/// `threads` household ranges of about equal size, each starting on a
/// block, so each block's households belong to one range.
fn block_split(households: usize, threads: usize) -> Vec<Range<usize>> {
    let blocks = households.div_ceil(1 << BLOCK_BITS);
    even_split(blocks, threads)
        .into_iter()
        .map(|b| (b.start << BLOCK_BITS).min(households)..(b.end << BLOCK_BITS).min(households))
        .collect()
}

/// Pieces of the sorted pass a thread takes in turn ([`in_turns`]): enough
/// that the last to finish is a small part of a run.
const PIECES_PER_THREAD: usize = 32;

/// `pieces` household ranges and their entry ranges holding about equal
/// numbers of entries, assuming the entries are sorted by household (the
/// pass checks).
fn sorted_split(ctx: &Ctx, pieces: usize) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
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

#[cold]
fn overdrawn(ctx: &Ctx, household: usize) -> BulkError {
    let r = &ctx.input.redemptions;
    let redeemed = (0..r.household.len())
        .filter(|&row| r.household[row] as usize == household)
        .map(|row| r.points[row])
        .sum();
    BulkError::RedemptionsExceedBalance {
        household,
        balance: ctx.input.households.opening_balance[household],
        redeemed,
    }
}

/// Whether an entry is well formed.
fn entry_ok(kind: u8, points: i64, day: u8, days: u8) -> bool {
    let points_ok = if kind == kind::VETO {
        points == 0
    } else {
        (1..=MAX_ENTRY_POINTS).contains(&points)
    };
    points_ok && kind <= kind::BONUS && (1..=days).contains(&day)
}

/// Posts household `h` (the `i`th of its range), whose entries are `run`,
/// and adds it to its village. The common
/// household — awards and deductions only, every row well formed, nothing
/// its order could change — posts from its totals ([`post_order_free`]);
/// any other is posted again by [`repost`].
#[inline(always)]
fn post_run<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    h: usize,
    i: usize,
    run: Run,
    scratch: &mut Vec<u64>,
    out: &mut HouseholdResultsMut,
    local: &mut Local,
) -> Result<(), BulkError> {
    let redeemed = -out.closing_balance[i];
    let (limits, village, opening) = ctx.household(h, redeemed)?;
    let order_free = run
        .plain
        .then(|| {
            post_order_free::<NET, NEGATIVE>(ctx.rules, limits, opening, run.awards, run.deductions)
        })
        .flatten();
    let posted = match order_free {
        Some(posted) => posted,
        None => repost::<NET, NEGATIVE>(ctx, limits, opening, run.rows, run.plain, scratch)?,
    };
    record(out, local, i, village, redeemed, &posted);
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

/// The slow path of [`post_run`]: finds a bad row, or posts a household with
/// a veto from its totals ([`post_vetoed`]), as the unsorted pass does, or
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
    // A plain run's rows were checked as the pass walked them.
    if !plain {
        for row in rows.clone() {
            if !entry_ok(e.kind[row], e.points[row], e.day[row], ctx.days) {
                return Err(ctx.entry_error(row));
            }
        }
    }
    // Only a run that is not plain can hold a veto.
    if !plain && rows.clone().any(|row| e.kind[row] == kind::VETO) {
        let deductions: i64 = rows
            .clone()
            .filter(|&row| e.kind[row] == kind::DEDUCTION)
            .map(|row| e.points[row])
            .sum();
        // A veto's points are 0, so the rest are awards' and bonuses'.
        let forfeited = rows.map(|row| e.points[row]).sum::<i64>() - deductions;
        return Ok(post_vetoed::<NET, NEGATIVE>(
            ctx.rules, limits, opening, forfeited, deductions,
        ));
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

/// Posts a household's packed entries (none a veto) one by one in the fixed
/// order: sorted by (day, order) — stably, so entries of the same day and
/// order keep their input order.
fn post_in_order<const NET: bool, const NEGATIVE: bool>(
    rules: &MonthRules,
    limits: CapLimits,
    opening: Opening,
    group: &mut [u64],
) -> Posted {
    group.sort_by_key(|&entry| packed::key(entry));
    let entries = group
        .iter()
        .map(|&entry| (packed::kind(entry), packed::points(entry)));
    post_household::<NET, NEGATIVE>(rules, limits, opening, entries)
}

/// The single pass over entries sorted by household, for households
/// `range` and their entry rows `rows`, adding them to `local`'s villages.
/// `Ok(false)` when the entries turn out not to be sorted (the caller then
/// groups them).
fn settle_sorted<const NET: bool, const NEGATIVE: bool>(
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
        post_run::<NET, NEGATIVE>(ctx, h, i, run, &mut scratch, &mut out, local)?;
        if pos < hh.len() && hh[pos] as usize <= h {
            return Ok(false);
        }
    }
    Ok(pos == rows.end)
}

/// A validated entry packed into 64 bits: the kind (2 bits) and the points
/// (25) in the low 27, above them either the household's index within its
/// block (16 bits, for the first level) or the entry's (day, order) sort key
/// (5 and 32 bits, for the households posted entry by entry).
mod packed {
    const KIND_SHIFT: u32 = 25;
    const ABOVE_SHIFT: u32 = 27;
    const POINTS: u64 = (1 << KIND_SHIFT) - 1;

    #[inline(always)]
    fn kind_and_points(kind: u8, points: i64) -> u64 {
        (u64::from(kind & 3) << KIND_SHIFT) | (points as u64 & POINTS)
    }

    /// An entry with its household's index within its block.
    #[inline(always)]
    pub fn with_low(low: u16, kind: u8, points: i64) -> u64 {
        (u64::from(low) << ABOVE_SHIFT) | kind_and_points(kind, points)
    }

    #[inline(always)]
    pub fn low(entry: u64) -> usize {
        (entry >> ABOVE_SHIFT) as u16 as usize
    }

    /// An entry with its (day, order) sort key.
    #[inline(always)]
    pub fn with_key(kind: u8, points: i64, day: u8, order: u32) -> u64 {
        (u64::from(day) << 59) | (u64::from(order) << ABOVE_SHIFT) | kind_and_points(kind, points)
    }

    #[inline(always)]
    pub fn key(entry: u64) -> u64 {
        entry >> ABOVE_SHIFT
    }

    #[inline(always)]
    pub fn kind(entry: u64) -> u8 {
        ((entry >> KIND_SHIFT) & 3) as u8
    }

    #[inline(always)]
    pub fn points(entry: u64) -> i64 {
        (entry & POINTS) as i64
    }
}

/// Households per block of the first level: a block's totals stay in the
/// cache while its entries are added up.
pub(super) const BLOCK_BITS: u32 = 14;
/// A household's index within its block.
pub(super) const BLOCK_MASK: usize = (1 << BLOCK_BITS) - 1;
const _: () = assert!(
    BLOCK_BITS <= 16,
    "a household's index within its block is 16 bits"
);

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

/// Settles entries in any order. The entry rows are taken `chunk` at a
/// time; each thread partitions its share of a chunk's rows by a stable
/// counting sort into blocks of 2¹⁴ households ([`Partition::split`]), then
/// adds up the blocks of its own household range from every thread's
/// partition, in the cache, into its households' award and deduction totals,
/// kept in the output columns until the household is posted
/// ([`Partition::add_up`]). Sharing out the rows rather than the households
/// for the partitioning reads each row once instead of once a thread. Each
/// household whose result its entries' order cannot change is then posted
/// from its totals ([`post_totals`]); the few others are marked, to be
/// gathered ([`gather_marked`]) and posted one entry at a time ([`post_marked`]).
fn settle_grouped<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    ranges: &[Range<usize>],
    threads: usize,
    chunk: usize,
    columns: &mut HouseholdResultsMut<'_>,
    redemptions: &[Share],
) -> Result<(Vec<Local>, Vec<Marks>), BulkError> {
    in_threads(columns, ranges, |_, range, out| {
        redemptions::take_off(redemptions, &range, out.closing_balance);
        // Each household's totals, in its output columns until it is posted:
        // awards and bonuses in `awarded`, deductions in `deducted`, its
        // [`Others`] in `vetoed` and the count of all its entries in `unapplied`.
        for column in [out.awarded, out.deducted, out.vetoed, out.unapplied] {
            column.fill(0);
        }
        Ok(())
    })?;
    let rows = ctx.input.entries.household.len();
    let mut partitions: Vec<Partition> = (0..threads).map(|_| Partition::default()).collect();
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
            Partition::add_up(partitions, &range, &mut out);
            Ok(())
        })?;
        start = end;
    }
    // Given back before the posting first touches the other result columns,
    // so the run's peak holds one or the other.
    drop(partitions);
    let posted = in_threads(columns, ranges, |_, range, mut out| {
        let mut local = Local::new(ctx);
        let mut marks = Marks::new(range.clone());
        for i in 0..range.len() {
            let tally = Tally {
                awards: out.awarded[i],
                deductions: out.deducted[i],
                others: Others(out.vetoed[i]),
            };
            if !post_totals::<NET, NEGATIVE>(ctx, range.start + i, i, tally, &mut out, &mut local)?
            {
                marks.mark(i, out.unapplied[i]);
            }
        }
        Ok((local, marks))
    })?;
    Ok(posted.into_iter().unzip())
}

/// One thread's share of a chunk's entries, partitioned by block; reused
/// from chunk to chunk.
#[derive(Default)]
struct Partition {
    /// The packed entries, by block, in input order within each.
    rows: Vec<u64>,
    /// Where each block ends in `rows`.
    ends: Vec<usize>,
}

impl Partition {
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
        if beyond {
            let row = rows
                .clone()
                .find(|&row| e.household[row] as usize >= households)
                .unwrap_or_default();
            return Err(BulkError::IndexOutOfRange {
                table: "entries",
                column: "household",
                row,
                value: u64::from(e.household[row]),
                len: households,
            });
        }
        self.ends.truncate(blocks);
        let total = counts_to_cursors(&mut self.ends);
        // Every row below `total` is written next, so what an earlier chunk
        // left there is kept rather than zeroed again.
        self.rows.resize(total, 0);
        let mut bad = false;
        let columns = e.household[rows.clone()]
            .iter()
            .zip(&e.kind[rows.clone()])
            .zip(&e.points[rows.clone()])
            .zip(&e.day[rows.clone()]);
        for (((&h, &kind), &points), &day) in columns {
            let h = h as usize;
            bad |= !entry_ok_fast(kind, points, day, days);
            let slot = &mut self.ends[h >> BLOCK_BITS];
            self.rows[*slot] = packed::with_low((h & BLOCK_MASK) as u16, kind, points);
            *slot += 1;
        }
        if bad {
            let row = rows
                .clone()
                .find(|&row| !entry_ok(e.kind[row], e.points[row], e.day[row], days))
                .unwrap_or_default();
            return Err(ctx.entry_error(row));
        }
        Ok(())
    }

    /// The second level: adds the entries of each block of `range` (which
    /// starts on a block) from every partition into its households'
    /// [`Tally`] and entry count, one block's at a time in the cache. A
    /// household's four totals sit side by side while its block is added
    /// up, so each entry touches one cache line; the block's sums are then
    /// added into the output columns in order.
    fn add_up(partitions: &[Partition], range: &Range<usize>, out: &mut HouseholdResultsMut) {
        let mut totals: Vec<[i64; 4]> = Vec::with_capacity(1 << BLOCK_BITS);
        let blocks = (range.start >> BLOCK_BITS)..range.end.div_ceil(1 << BLOCK_BITS);
        for block in blocks {
            let households = (block << BLOCK_BITS) - range.start
                ..((block + 1) << BLOCK_BITS).min(range.end) - range.start;
            totals.clear();
            totals.resize(households.len(), [0; 4]);
            for partition in partitions {
                let begin = block.checked_sub(1).map_or(0, |b| partition.ends[b]);
                for &entry in &partition.rows[begin..partition.ends[block]] {
                    let (l, kind, points) = (
                        packed::low(entry),
                        packed::kind(entry),
                        packed::points(entry),
                    );
                    // A veto's points are 0, so the rest are awards' and bonuses'.
                    let deduction = if kind == kind::DEDUCTION { points } else { 0 };
                    let household = &mut totals[l];
                    household[0] += points - deduction;
                    household[1] += deduction;
                    household[2] = household[2].wrapping_add(Others::of_kind(kind));
                    household[3] += 1;
                }
            }
            let columns = out.awarded[households.clone()]
                .iter_mut()
                .zip(&mut out.deducted[households.clone()])
                .zip(&mut out.vetoed[households.clone()])
                .zip(&mut out.unapplied[households]);
            for ((((awards, deductions), others), entries), sums) in columns.zip(&totals) {
                *awards += sums[0];
                *deductions += sums[1];
                *others = others.wrapping_add(sums[2]);
                *entries += sums[3];
            }
        }
    }
}

/// [`entry_ok`] without branches, for the partitioning loop.
#[inline(always)]
fn entry_ok_fast(kind: u8, points: i64, day: u8, days: u8) -> bool {
    let veto_ok = points == 0;
    let other_ok = (points.wrapping_sub(1) as u64) < MAX_ENTRY_POINTS as u64;
    let points_ok = if kind == kind::VETO {
        veto_ok
    } else {
        other_ok
    };
    points_ok & (kind <= kind::BONUS) & (day.wrapping_sub(1) < days)
}

/// A household's entries of a month in any order, added up.
struct Tally {
    /// The points of its awards and bonuses.
    awards: i64,
    /// The points of its deductions.
    deductions: i64,
    others: Others,
}

/// A household's count of vetoes (the low 32 bits) and of bonuses (the high
/// 32), added up in one running total: a month holds at most `u32::MAX`
/// entries, so neither count carries into the other.
#[derive(Clone, Copy)]
struct Others(i64);

impl Others {
    /// What an entry of `kind` adds.
    #[inline(always)]
    fn of_kind(kind: u8) -> i64 {
        const ADDS: [i64; 4] = [0, 0, 1, 1 << 32];
        ADDS[usize::from(kind & 3)]
    }

    fn vetoes(self) -> u32 {
        self.0 as u32
    }

    fn bonuses(self) -> u32 {
        (self.0 as u64 >> 32) as u32
    }
}

/// Posts household `h` (the `i`th of its range) from its totals when its
/// entries' order cannot change the result: with a veto among them
/// ([`post_vetoed`]), or awards and deductions only ([`post_order_free`]);
/// false when it could, and the household is left to [`post_marked`].
#[inline(always)]
fn post_totals<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    h: usize,
    i: usize,
    tally: Tally,
    out: &mut HouseholdResultsMut,
    local: &mut Local,
) -> Result<bool, BulkError> {
    let redeemed = -out.closing_balance[i];
    let (limits, village, opening) = ctx.household(h, redeemed)?;
    let (awards, deductions) = (tally.awards, tally.deductions);
    let posted = if tally.others.vetoes() > 0 {
        Some(post_vetoed::<NET, NEGATIVE>(
            ctx.rules, limits, opening, awards, deductions,
        ))
    } else if tally.others.bonuses() > 0 {
        None
    } else {
        post_order_free::<NET, NEGATIVE>(ctx.rules, limits, opening, awards, deductions)
    };
    if let Some(posted) = &posted {
        record(out, local, i, village, redeemed, posted);
    }
    Ok(posted.is_some())
}

/// The households of a range to post one entry at a time: a bit each, so
/// looking one up stays in the cache.
struct Marks {
    range: Range<usize>,
    bits: Vec<u64>,
    /// How many entries the marked households have.
    entries: usize,
}

impl Marks {
    fn new(range: Range<usize>) -> Marks {
        let bits = vec![0; range.len().div_ceil(64)];
        Marks {
            range,
            bits,
            entries: 0,
        }
    }

    /// Marks the `i`th household, which has `entries` entries.
    fn mark(&mut self, i: usize, entries: i64) {
        self.bits[i / 64] |= 1 << (i % 64);
        self.entries += entries as usize;
    }

    fn any(&self) -> bool {
        self.bits.iter().any(|&bits| bits != 0)
    }
}

/// Rows searched for marked households before their entries are read.
const GATHER_STRETCH: usize = 1 << 16;

/// The marked households' entries one thread gathered from its share of
/// the rows, in row order: each entry's household, and the entry packed
/// with its (day, order) key.
struct Gathered {
    households: Vec<u32>,
    entries: Vec<u64>,
}

/// Gathers the marked households' entries, the rows split among `threads`;
/// taken thread by thread they keep the columns' order. The ranges' marks
/// are first laid into one bitmap over all households, so a row is looked
/// up with one bit test. Each thread's buffers are reserved for every
/// marked entry its rows can hold, so they never grow by copying, and the
/// pages they do not fill are never touched.
fn gather_marked(ctx: &Ctx, marks: &[Marks], threads: usize) -> Vec<Gathered> {
    let mut all = vec![0u64; ctx.households.div_ceil(64)];
    for range_marks in marks {
        for i in marked_households(&range_marks.bits) {
            let h = range_marks.range.start + i;
            all[h / 64] |= 1 << (h % 64);
        }
    }
    let marked_entries: usize = marks.iter().map(|m| m.entries).sum();
    let e = &ctx.input.entries;
    let marked = |h: u32| (all[h as usize / 64] >> (h % 64)) & 1;
    let gather = |part: Range<usize>| {
        let capacity = marked_entries.min(part.len());
        let mut gathered = Gathered {
            households: Vec::with_capacity(capacity),
            entries: Vec::with_capacity(capacity),
        };
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
            for (flag, &h) in flags.iter_mut().zip(&e.household[stretch.clone()]) {
                // Every row's household was checked to be below `households`.
                *flag = marked(h) as u8;
            }
            let mut n = 0;
            for (&flag, row) in flags.iter().zip(stretch.clone()) {
                found[n] = row as u32;
                n += usize::from(flag);
            }
            for &row in &found[..n] {
                let row = row as usize;
                gathered.households.push(e.household[row]);
                gathered.entries.push(packed::with_key(
                    e.kind[row],
                    e.points[row],
                    e.day[row],
                    e.order[row],
                ));
            }
            begin = stretch.end;
        }
        gathered
    };
    in_parallel(even_split(e.household.len(), threads), gather)
}

/// Posts a range's marked households one entry at a time from the entries
/// every thread gathered: a counting sort groups the range's into `grouped`
/// by household — each household's count is in `out.unapplied` until it is
/// posted — keeping their order; each group is sorted by (day, order),
/// stably, so entries of the same day and order keep their input order, and
/// posted in turn.
fn post_marked<const NET: bool, const NEGATIVE: bool>(
    ctx: &Ctx,
    marks: &Marks,
    gathered: &[Gathered],
    grouped: &mut Vec<u64>,
    mut out: HouseholdResultsMut,
) -> Result<Local, BulkError> {
    let mut local = Local::new(ctx);
    // The number of marked households before each word of marks.
    let mut before = Vec::with_capacity(marks.bits.len());
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
    let mut ends = Vec::with_capacity(marked as usize);
    let mut total = 0u32;
    for i in marked_households(&marks.bits) {
        ends.push(total);
        total += out.unapplied[i] as u32;
    }
    grouped.clear();
    grouped.resize(total as usize, 0);
    let range = &marks.range;
    for part in gathered {
        for (&h, &entry) in part.households.iter().zip(&part.entries) {
            let i = (h as usize).wrapping_sub(range.start);
            if i < range.len() {
                let at = &mut ends[rank(i)];
                grouped[*at as usize] = entry;
                *at += 1;
            }
        }
    }
    let mut begin = 0;
    for (i, end) in marked_households(&marks.bits).zip(ends) {
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

/// Writes a posted household and adds it to its village.
#[inline(always)]
fn record(
    out: &mut HouseholdResultsMut,
    local: &mut Local,
    i: usize,
    village: usize,
    redeemed: i64,
    posted: &Posted,
) {
    out.write(i, posted);
    let sums = &mut local.villages[village];
    sums.add_posted(posted);
    sums.redeemed += redeemed;
}
