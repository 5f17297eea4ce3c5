//! The passes over the columns: the shape checks, what every pass reads
//! ([`Ctx`]), and the run itself, which takes the sorted single pass
//! ([`super::sorted`]) when the entries come sorted by household and the
//! grouping pass ([`super::grouped`]) when not.

use super::grouped::{block_split, settle_grouped};
use super::marked::{gather_marked, post_marked, Marks};
use super::post::{kind, Opening, Posted};
use super::redemptions;
use super::rules::{within_bound, MonthRules, MAX_ENTRY_POINTS};
use super::sorted::{settle_sorted, sorted_split, PIECES_PER_THREAD};
use super::threads::{in_threads_with, in_turns};
use super::totals::{Sums, Totals, VILLAGES};
use super::{BulkError, HouseholdResultsMut, MonthInput, Output, SettleOptions, MAX_THREADS};
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
    output: Output<'_>,
    scratch: &mut Scratch,
) -> Result<Totals, BulkError> {
    let ctx = Ctx::new(rules, input);
    let threads = options.threads.clamp(1, MAX_THREADS);
    let chunk = options.chunk_entries.max(1);
    scratch.buffers.resize_with(threads, Vec::new);
    let shares = redemptions::split(input, ctx.households, &mut scratch.buffers)?;
    let stores = redemptions::store_sums(&shares, input.stores as usize)?;
    let hh = input.entries.household;
    let probe = &hh[..hh.len().min(4096)];
    let (sorted, mut columns) = if probe.is_sorted() {
        let (households, entries) = sorted_split(&ctx, threads * PIECES_PER_THREAD);
        let locals = (0..threads)
            .map(|_| Local::new(&ctx))
            .collect::<Result<_, _>>()?;
        let (sorted, columns) = output.in_rows(&households, |outs| {
            in_turns(outs, &households, locals, |piece, range, out, local| {
                let rows = entries[piece].clone();
                // The pass adds rows up in windows where vectors are wide.
                jifen_stream::with_wide_vectors(
                    #[inline(always)]
                    |windows| {
                        specialised!(
                            &ctx,
                            settle_sorted(&ctx, range, rows, out, &shares, local, windows)
                        )
                    },
                )
            })
        });
        (sorted?, columns)
    } else {
        (None, output.into_columns(threads))
    };
    let locals = match sorted {
        Some(locals) => locals,
        None => {
            let ranges = block_split(ctx.households, threads);
            let (mut locals, marks) = specialised!(
                &ctx,
                settle_grouped(&ctx, &ranges, threads, chunk, &mut columns, &shares)
            )?;
            // The shares' buffers serve next to group the marked entries.
            drop(shares);
            if marks.iter().any(Marks::any) {
                let gathered = gather_marked(&ctx, &marks, threads)?;
                let states = scratch.buffers.iter_mut();
                locals.extend(in_threads_with(
                    &mut columns,
                    &ranges,
                    states,
                    |r, _, out, grouped| {
                        specialised!(
                            &ctx,
                            post_marked(&ctx, r, &marks[r], &gathered, grouped, out)
                        )
                    },
                )?);
            }
            locals
        }
    };
    // Every thread's village sums added into the first's.
    let mut locals = locals.into_iter();
    let mut villages = match locals.next() {
        Some(first) => first.villages,
        None => Local::new(&ctx)?.villages,
    };
    for local in locals {
        for (mine, theirs) in villages.iter_mut().zip(&local.villages) {
            mine.add(theirs);
        }
    }
    Totals::build(rules, &input.regions, &villages, &stores, threads)
}

/// What every pass reads.
pub(super) struct Ctx<'a> {
    pub(super) rules: &'a MonthRules,
    pub(super) input: &'a MonthInput<'a>,
    pub(super) households: usize,
    pub(super) villages: usize,
    pub(super) days: u8,
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
    pub(super) fn entry_error(&self, row: usize) -> BulkError {
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

    /// Asks for the lines of household `h`'s rows that [`Ctx::household`]
    /// reads, for a pass that visits households far apart.
    #[inline(always)]
    pub(super) fn prefetch_household(&self, h: usize) {
        let hs = &self.input.households;
        jifen_stream::prefetch(hs.category, h);
        jifen_stream::prefetch(hs.village, h);
        jifen_stream::prefetch(hs.opening_balance, h);
        jifen_stream::prefetch(hs.ytd_credited, h);
        jifen_stream::prefetch(hs.ytd_deducted, h);
    }

    /// Household `h`'s caps, village and opening figures, the posting
    /// starting from its opening balance less its `redeemed` points.
    #[inline(always)]
    pub(super) fn household(
        &self,
        h: usize,
        redeemed: i64,
    ) -> Result<(CapLimits, usize, Opening), BulkError> {
        let hs = &self.input.households;
        let category = hs.category[h] as usize;
        let village = hs.village[h] as usize;
        let opening = hs.opening_balance[h];
        let ytd_credited = hs.ytd_credited[h];
        let ytd_deducted = hs.ytd_deducted.get(h).copied().unwrap_or(0);
        let limits = self.rules.limits_table().get(category).copied();
        let fine = limits.is_some()
            && village < self.villages
            && within_bound(opening)
            && within_bound(ytd_credited)
            && within_bound(ytd_deducted)
            && (redeemed == 0 || opening >= redeemed);
        match limits {
            Some(limits) if fine => Ok((
                limits,
                village,
                Opening {
                    balance: opening - redeemed,
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

#[cold]
pub(super) fn overdrawn(ctx: &Ctx, household: usize) -> BulkError {
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

/// Whether an entry is well formed: a kind the month knows, a day of the
/// month, and points in bounds (a veto's 0). Without branches, so the
/// partitioning loop checks every row at no cost to its speed.
#[inline(always)]
pub(super) fn entry_ok(kind: u8, points: i64, day: u8, days: u8) -> bool {
    let veto_ok = points == 0;
    let other_ok = (points.wrapping_sub(1) as u64) < MAX_ENTRY_POINTS as u64;
    let points_ok = if kind == kind::VETO {
        veto_ok
    } else {
        other_ok
    };
    points_ok & (kind <= kind::BONUS) & (day.wrapping_sub(1) < days)
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

/// Makes `buffer`, one of [`Scratch`]'s, `rows` zeros long for a new use;
/// what it held is not kept. One too small is given back before a larger
/// one is asked for: growing it would hold both for a moment, and the
/// run's peak with them.
pub(super) fn refill(
    buffer: &mut Vec<u64>,
    rows: usize,
    what: &'static str,
) -> Result<(), BulkError> {
    buffer.clear();
    if buffer.capacity() < rows {
        *buffer = Vec::new();
    }
    BulkError::reserve(buffer, rows, what)?;
    buffer.resize(rows, 0);
    Ok(())
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
pub(super) struct Local {
    pub(super) villages: Vec<Sums>,
}

impl Local {
    pub(super) fn new(ctx: &Ctx) -> Result<Local, BulkError> {
        let villages = BulkError::filled(Sums::default(), ctx.villages, VILLAGES.totals)?;
        Ok(Local { villages })
    }
}

/// Writes a posted household and adds it to its village.
#[inline(always)]
pub(super) fn record(
    out: &mut HouseholdResultsMut,
    local: &mut Local,
    i: usize,
    village: usize,
    redeemed: i64,
    posted: &Posted,
) {
    out.write(i, posted);
    count(local, village, redeemed, posted);
}

/// Adds a posted household to its village.
#[inline(always)]
pub(super) fn count(local: &mut Local, village: usize, redeemed: i64, posted: &Posted) {
    let sums = &mut local.villages[village];
    sums.add_posted(posted);
    sums.redeemed += redeemed;
}

/// Where a posted household goes.
impl HouseholdResultsMut<'_> {
    #[inline(always)]
    fn write(&mut self, i: usize, p: &Posted) {
        for (column, value) in self.each_mut().into_iter().zip(p.columns()) {
            column[i] = value;
        }
    }
}
