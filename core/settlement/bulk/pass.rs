//! The passes over the columns: checks, the per-thread household ranges, the
//! sorted single pass and the grouping of unsorted entries.

use std::ops::Range;

use super::post::{kind, post_household, Opening, Posted};
use super::rules::{within_bound, MonthRules, MAX_POINTS};
use super::totals::{Sums, Totals};
use super::{Entries, HouseholdResults, MonthInput, Settlement, SettlementError};
use crate::policy::caps::CapLimits;

/// Checks that every column has its table's length and the region tree is
/// well formed; row-level checks happen during the pass.
pub(super) fn check_shapes(rules: &MonthRules, input: &MonthInput) -> Result<(), SettlementError> {
    let length = |table, column, expected: usize, actual: usize| {
        if expected == actual {
            Ok(())
        } else {
            Err(SettlementError::ColumnLength {
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
            return Err(SettlementError::TooManyRows {
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
            Some(row) => Err(SettlementError::IndexOutOfRange {
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

/// Runs the settlement over `threads` household ranges: the sorted single
/// pass when the entries come sorted by household, the grouping pass when not.
pub(super) fn run(
    rules: &MonthRules,
    input: &MonthInput,
    threads: usize,
) -> Result<Settlement, SettlementError> {
    let ctx = Ctx::new(rules, input);
    let mut results = HouseholdResults::zeroed(ctx.households);
    let hh = input.entries.household;
    let probe = &hh[..hh.len().min(4096)];
    let sorted = if probe.is_sorted() {
        let (households, entries) = sorted_split(&ctx, threads);
        let last = households.len() - 1;
        let ranges = households.clone();
        in_threads(&mut results, &ranges, |thread, range, out| {
            settle_sorted(&ctx, range, entries[thread].clone(), thread == last, out)
        })?
        .into_iter()
        .collect::<Option<Vec<Local>>>()
    } else {
        None
    };
    let locals = match sorted {
        Some(locals) => locals,
        None => {
            let ranges = even_split(ctx.households, threads);
            let last = ranges.len() - 1;
            in_threads(&mut results, &ranges, |thread, range, out| {
                settle_grouped(&ctx, range, thread == last, out)
            })?
        }
    };
    let mut locals = locals.into_iter();
    let mut total = locals.next().unwrap_or_else(|| Local::new(&ctx));
    for local in locals {
        for (mine, theirs) in total.villages.iter_mut().zip(&local.villages) {
            mine.add(theirs);
        }
        for (mine, theirs) in total.stores.iter_mut().zip(&local.stores) {
            mine[0] += theirs[0];
            mine[1] += theirs[1];
        }
    }
    Ok(Settlement {
        households: results,
        totals: Totals::build(rules, &input.regions, &total.villages, &total.stores),
    })
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

    /// Whether entry `row` is well formed; the error says how it is not.
    #[inline]
    fn check_entry(&self, row: usize) -> Result<(), SettlementError> {
        let e = &self.input.entries;
        let (k, points, day) = (e.kind[row], e.points[row], e.day[row]);
        let points_ok = match k {
            kind::AWARD | kind::DEDUCTION | kind::BONUS => points > 0 && points <= MAX_POINTS,
            kind::VETO => points == 0,
            _ => false,
        };
        if points_ok && day >= 1 && day <= self.days {
            Ok(())
        } else {
            Err(self.entry_error(row))
        }
    }

    #[cold]
    fn entry_error(&self, row: usize) -> SettlementError {
        let e = &self.input.entries;
        let (k, points, day) = (e.kind[row], e.points[row], e.day[row]);
        if k > kind::BONUS {
            SettlementError::InvalidEntryKind { row, kind: k }
        } else if day < 1 || day > self.days {
            SettlementError::InvalidEntryDay {
                row,
                day,
                days: self.days,
            }
        } else {
            SettlementError::InvalidRowPoints {
                table: "entries",
                column: "points",
                row,
                points,
                expected: if k == kind::VETO {
                    "a veto carries 0 points"
                } else {
                    "awards, deductions and bonuses carry 1..=1e9 points"
                },
            }
        }
    }

    /// Household `h`'s caps, village and opening figures.
    #[inline]
    fn household(
        &self,
        h: usize,
        balance: i64,
    ) -> Result<(CapLimits, usize, Opening), SettlementError> {
        let hs = &self.input.households;
        let category = hs.category[h] as usize;
        let limits = self.rules.limits_table().get(category).copied().ok_or(
            SettlementError::IndexOutOfRange {
                table: "households",
                column: "category",
                row: h,
                value: category as u64,
                len: self.rules.categories(),
            },
        )?;
        let village = hs.village[h] as usize;
        if village >= self.villages {
            return Err(SettlementError::IndexOutOfRange {
                table: "households",
                column: "village",
                row: h,
                value: village as u64,
                len: self.villages,
            });
        }
        let ytd_credited = hs.ytd_credited[h];
        let ytd_deducted = hs.ytd_deducted.get(h).copied().unwrap_or(0);
        for (column, points) in [
            ("ytd_credited", ytd_credited),
            ("ytd_deducted", ytd_deducted),
        ] {
            if !within_bound(points) {
                return Err(out_of_bound("households", column, h, points));
            }
        }
        Ok((
            limits,
            village,
            Opening {
                balance,
                ytd_credited,
                ytd_deducted,
            },
        ))
    }
}

fn out_of_bound(
    table: &'static str,
    column: &'static str,
    row: usize,
    points: i64,
) -> SettlementError {
    SettlementError::InvalidRowPoints {
        table,
        column,
        row,
        points,
        expected: "within ±1e9",
    }
}

/// The sort key of an entry within its household: day, then order.
#[inline]
fn key(e: &Entries, row: usize) -> u64 {
    (u64::from(e.day[row]) << 32) | u64::from(e.order[row])
}

/// One thread's village and store sums.
struct Local {
    villages: Vec<Sums>,
    stores: Vec<[i64; 2]>,
}

impl Local {
    fn new(ctx: &Ctx) -> Local {
        Local {
            villages: vec![Sums::default(); ctx.villages],
            stores: vec![[0; 2]; ctx.input.stores as usize],
        }
    }
}

/// One thread's share of the household output columns.
struct Out<'a> {
    awarded: &'a mut [i64],
    credited: &'a mut [i64],
    capped: &'a mut [i64],
    vetoed: &'a mut [i64],
    deducted: &'a mut [i64],
    unapplied: &'a mut [i64],
    net: &'a mut [i64],
    closing_balance: &'a mut [i64],
    ytd_credited: &'a mut [i64],
    ytd_deducted: &'a mut [i64],
}

impl<'a> Out<'a> {
    fn of(r: &'a mut HouseholdResults) -> Out<'a> {
        Out {
            awarded: &mut r.awarded,
            credited: &mut r.credited,
            capped: &mut r.capped,
            vetoed: &mut r.vetoed,
            deducted: &mut r.deducted,
            unapplied: &mut r.unapplied,
            net: &mut r.net,
            closing_balance: &mut r.closing_balance,
            ytd_credited: &mut r.ytd_credited,
            ytd_deducted: &mut r.ytd_deducted,
        }
    }

    fn split_at(self, mid: usize) -> (Out<'a>, Out<'a>) {
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
            Out {
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
            Out {
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

    #[inline]
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
/// calling thread), each writing only its own rows of `results`.
fn in_threads<T: Send>(
    results: &mut HouseholdResults,
    ranges: &[Range<usize>],
    work: impl Fn(usize, Range<usize>, Out<'_>) -> Result<T, SettlementError> + Sync,
) -> Result<Vec<T>, SettlementError> {
    let mut outs = Vec::with_capacity(ranges.len());
    let mut rest = Out::of(results);
    let mut offset = 0;
    for range in ranges {
        let (head, tail) = rest.split_at(range.end - offset);
        outs.push(head);
        rest = tail;
        offset = range.end;
    }
    let work = &work;
    let answers: Vec<Result<T, SettlementError>> = std::thread::scope(|scope| {
        let mut jobs = ranges.iter().cloned().zip(outs).enumerate();
        let first = jobs.next();
        let handles: Vec<_> = jobs
            .map(|(thread, (range, out))| scope.spawn(move || work(thread, range, out)))
            .collect();
        let mut answers = Vec::with_capacity(ranges.len());
        if let Some((thread, (range, out))) = first {
            answers.push(work(thread, range, out));
        }
        for handle in handles {
            answers.push(
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        answers
    });
    answers.into_iter().collect()
}

/// `threads` household ranges of equal size.
fn even_split(households: usize, threads: usize) -> Vec<Range<usize>> {
    (0..threads)
        .map(|t| households * t / threads..households * (t + 1) / threads)
        .collect()
}

/// Household ranges and their entry ranges holding about equal numbers of
/// entries, assuming the entries are sorted by household (the pass checks).
fn sorted_split(ctx: &Ctx, threads: usize) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let hh = ctx.input.entries.household;
    let m = hh.len();
    let mut households = Vec::with_capacity(threads);
    let mut entries = Vec::with_capacity(threads);
    let (mut h0, mut e0) = (0, 0);
    for t in 1..=threads {
        let (h1, e1) = if t == threads {
            (ctx.households, m)
        } else if m == 0 {
            (ctx.households * t / threads, 0)
        } else {
            let split = (hh[m * t / threads] as usize).clamp(h0, ctx.households);
            let e1 = hh.partition_point(|&x| (x as usize) < split).max(e0);
            (split, e1)
        };
        households.push(h0..h1);
        entries.push(e0..e1);
        (h0, e0) = (h1, e1);
    }
    (households, entries)
}

/// Takes the range's redemptions off its opening balances (written into
/// `out.closing_balance` as the balances the posting starts from) and adds
/// them to the store and village sums.
fn redeem(
    ctx: &Ctx,
    range: &Range<usize>,
    last: bool,
    out: &mut Out,
    local: &mut Local,
) -> Result<(), SettlementError> {
    let opening = &ctx.input.households.opening_balance[range.clone()];
    for (row, (balance, &opening)) in out.closing_balance.iter_mut().zip(opening).enumerate() {
        if !within_bound(opening) {
            return Err(out_of_bound(
                "households",
                "opening_balance",
                range.start + row,
                opening,
            ));
        }
        *balance = opening;
    }
    let r = &ctx.input.redemptions;
    for row in 0..r.household.len() {
        let h = r.household[row] as usize;
        let i = h.wrapping_sub(range.start);
        if i >= range.len() {
            if last && h >= ctx.households {
                return Err(SettlementError::IndexOutOfRange {
                    table: "redemptions",
                    column: "household",
                    row,
                    value: h as u64,
                    len: ctx.households,
                });
            }
            continue;
        }
        let (store, points, flag) = (r.store[row] as usize, r.points[row], r.reimbursable[row]);
        if store >= local.stores.len() {
            return Err(SettlementError::IndexOutOfRange {
                table: "redemptions",
                column: "store",
                row,
                value: store as u64,
                len: local.stores.len(),
            });
        }
        if points <= 0 || points > MAX_POINTS {
            return Err(SettlementError::InvalidRowPoints {
                table: "redemptions",
                column: "points",
                row,
                points,
                expected: "a redemption spends 1..=1e9 points",
            });
        }
        if flag > 1 {
            return Err(SettlementError::InvalidFlag {
                table: "redemptions",
                column: "reimbursable",
                row,
                value: flag,
            });
        }
        let village = ctx.input.households.village[h] as usize;
        if let Some(sums) = local.villages.get_mut(village) {
            sums.redeemed += points;
        }
        local.stores[store][0] += points;
        local.stores[store][1] += points * i64::from(flag);
        out.closing_balance[i] -= points;
        if out.closing_balance[i] < 0 {
            return Err(overdrawn(ctx, h));
        }
    }
    Ok(())
}

#[cold]
fn overdrawn(ctx: &Ctx, household: usize) -> SettlementError {
    let r = &ctx.input.redemptions;
    let redeemed = (0..r.household.len())
        .filter(|&row| r.household[row] as usize == household)
        .map(|row| r.points[row])
        .sum();
    SettlementError::RedemptionsExceedBalance {
        household,
        balance: ctx.input.households.opening_balance[household],
        redeemed,
    }
}

/// Posts household `h` (the `i`th of its range) from its entry rows, and
/// adds it to its village.
#[inline]
fn post_rows(
    ctx: &Ctx,
    h: usize,
    i: usize,
    rows: impl Iterator<Item = usize> + Clone,
    scratch: &mut Vec<(u64, u32)>,
    out: &mut Out,
    local: &mut Local,
) -> Result<(), SettlementError> {
    let e = &ctx.input.entries;
    let mut vetoed = false;
    let mut in_order = true;
    let mut previous = 0u64;
    for row in rows.clone() {
        ctx.check_entry(row)?;
        vetoed |= e.kind[row] == kind::VETO;
        let key = key(e, row);
        in_order &= key >= previous;
        previous = key;
    }
    let (limits, village, opening) = ctx.household(h, out.closing_balance[i])?;
    let posted = if in_order {
        let entries = rows.map(|row| (e.kind[row], e.points[row]));
        post_household(ctx.rules, limits, opening, vetoed, entries)
    } else {
        scratch.clear();
        scratch.extend(rows.map(|row| (key(e, row), row as u32)));
        // Stable: entries of the same day and order keep their input order.
        scratch.sort_by_key(|&(key, _)| key);
        let entries = scratch
            .iter()
            .map(|&(_, row)| (e.kind[row as usize], e.points[row as usize]));
        post_household(ctx.rules, limits, opening, vetoed, entries)
    };
    out.write(i, &posted);
    local.villages[village].add_posted(&posted);
    Ok(())
}

/// The single pass over entries sorted by household. `Ok(None)` when they
/// turn out not to be sorted (the caller then groups them).
fn settle_sorted(
    ctx: &Ctx,
    range: Range<usize>,
    rows: Range<usize>,
    last: bool,
    mut out: Out,
) -> Result<Option<Local>, SettlementError> {
    let mut local = Local::new(ctx);
    redeem(ctx, &range, last, &mut out, &mut local)?;
    let hh = &ctx.input.entries.household[..rows.end];
    let mut scratch = Vec::new();
    let mut pos = rows.start;
    for h in range.clone() {
        let start = pos;
        while pos < hh.len() && hh[pos] as usize == h {
            pos += 1;
        }
        post_rows(
            ctx,
            h,
            h - range.start,
            start..pos,
            &mut scratch,
            &mut out,
            &mut local,
        )?;
        if pos < hh.len() && hh[pos] as usize <= h {
            return Ok(None);
        }
    }
    Ok((pos == rows.end).then_some(local))
}

/// Groups the range's entries by household with a stable counting sort over
/// row numbers, then posts each household's group.
fn settle_grouped(
    ctx: &Ctx,
    range: Range<usize>,
    last: bool,
    mut out: Out,
) -> Result<Local, SettlementError> {
    let mut local = Local::new(ctx);
    redeem(ctx, &range, last, &mut out, &mut local)?;
    let hh = ctx.input.entries.household;
    let len = range.len();
    // Counts, then each household's next free slot, then its end.
    let mut ends = vec![0u32; len];
    for (row, &h) in hh.iter().enumerate() {
        let i = (h as usize).wrapping_sub(range.start);
        if i < len {
            ends[i] += 1;
        } else if last && h as usize >= ctx.households {
            return Err(SettlementError::IndexOutOfRange {
                table: "entries",
                column: "household",
                row,
                value: u64::from(h),
                len: ctx.households,
            });
        }
    }
    let mut total = 0u32;
    for slot in ends.iter_mut() {
        let count = *slot;
        *slot = total;
        total += count;
    }
    let mut grouped = vec![0u32; total as usize];
    for (row, &h) in hh.iter().enumerate() {
        let i = (h as usize).wrapping_sub(range.start);
        if i < len {
            grouped[ends[i] as usize] = row as u32;
            ends[i] += 1;
        }
    }
    let mut scratch = Vec::new();
    let mut begin = 0usize;
    for (i, &end) in ends.iter().enumerate() {
        let group = &grouped[begin..end as usize];
        begin = end as usize;
        let rows = group.iter().map(|&row| row as usize);
        post_rows(
            ctx,
            range.start + i,
            i,
            rows,
            &mut scratch,
            &mut out,
            &mut local,
        )?;
    }
    Ok(local)
}
