//! Bulk monthly settlement from caller-owned columns: the caller's arrays go
//! straight to `jifen::settlement::bulk::settle_columns` as slices, the
//! household results are written straight into the caller's output arrays,
//! and the stores' and regions' totals are copied into theirs. No JSON, no
//! rule here; money comes back in whole fen (int64), never as floats.
#![allow(non_camel_case_types)]

use std::ffi::c_char;
use std::ops::Range;

use jifen_core::policy::Policy;
use jifen_core::primitives::{Category, Month, Yuan};
use jifen_core::settlement::bulk::{
    settle_columns, settle_partitions_columns, BulkError, Entries, HouseholdResultsMut, Households,
    Layout, MonthInput, MonthRules, Partition, Redemptions, RegionTotals, Regions, SettleOptions,
    Totals,
};
use jifen_core::ErrorCode;

use crate::boundary::{boundary, slice_arg, str_arg};
use crate::engine::jf_engine;

/// Households by dense index `0..len`: every column holds `len` values.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_households {
    /// How many households.
    pub len: usize,
    /// Index into the `categories` passed to `jf_settle_month`.
    pub category: *const u32,
    /// Village index, below `jf_settle_regions.villages` when a tree is named.
    pub village: *const u32,
    /// Balance at the start of the month.
    pub opening_balance: *const i64,
    /// Points counted toward the annual cap earlier this year.
    pub ytd_credited: *const i64,
    /// Deductions scored earlier this year, or NULL for none.
    pub ytd_deducted: *const i64,
}

/// The region tree by dense indices: village → township → county. All
/// zero (no villages, townships or counties, NULL tables) names none: the
/// settlement then takes every village the households name, in one
/// township of one county (`jf_settle_table_sizes()` says how many).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_regions {
    /// How many villages.
    pub villages: usize,
    /// The township index of each village (`villages` values).
    pub village_township: *const u32,
    /// How many townships.
    pub townships: usize,
    /// The county index of each township (`townships` values).
    pub township_county: *const u32,
    /// How many counties: at most 16,777,216 (2²⁴), or the settlement is
    /// refused with `JF_STATUS_TOO_MANY_ROWS`.
    pub counties: u32,
}

/// The month's score entries, in any order: every column holds `len` values.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_entries {
    /// How many entries.
    pub len: usize,
    /// The household index.
    pub household: *const u32,
    /// 0 award, 1 deduction, 2 veto, 3 bonus.
    pub kind: *const u8,
    /// Points: above zero, except 0 for a veto.
    pub points: *const i64,
    /// The day of the month, from 1.
    pub day: *const u8,
    /// The entry's position on its sheet; orders the entries of one day.
    pub order: *const u32,
}

/// The month's redemptions, in any order: every column holds `len` values.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_redemptions {
    /// How many redemptions.
    pub len: usize,
    /// The household index.
    pub household: *const u32,
    /// The store index, below `jf_settle_input.stores` when it is named.
    pub store: *const u32,
    /// Points spent, above zero.
    pub points: *const i64,
    /// 1 for purchased stock at a reimbursed store, else 0.
    pub reimbursable: *const u8,
}

/// Everything one settlement reads.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_input {
    /// The households.
    pub households: jf_settle_households,
    /// The region tree.
    pub regions: jf_settle_regions,
    /// The month's entries.
    pub entries: jf_settle_entries,
    /// The month's redemptions.
    pub redemptions: jf_settle_redemptions,
    /// How many stores; 0 is the stores the redemptions name (one past the
    /// largest store index, as `jf_settle_table_sizes()` reports). Named or
    /// implied, at most 16,777,216 (2²⁴), as are the villages an unnamed
    /// tree implies, or the settlement is refused with
    /// `JF_STATUS_TOO_MANY_ROWS`.
    pub stores: u32,
}

/// Each household's month, written to caller-owned arrays of at least
/// `capacity` values. A NULL column is not written.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_household_results {
    /// Values each non-NULL column holds room for (at least the households).
    pub capacity: usize,
    /// Points asked for by awards and bonuses.
    pub awarded: *mut i64,
    /// Points credited.
    pub credited: *mut i64,
    /// Points cut by caps.
    pub capped: *mut i64,
    /// Points forfeited by a veto.
    pub vetoed: *mut i64,
    /// Deduction points taken from the balance.
    pub deducted: *mut i64,
    /// Deduction points beyond the floor, recorded but not taken.
    pub unapplied: *mut i64,
    /// The month's net score.
    pub net: *mut i64,
    /// The balance after redemptions and postings.
    pub closing_balance: *mut i64,
    /// Counted toward the annual cap this year, this month included.
    pub ytd_credited: *mut i64,
    /// Deductions scored this year, this month included.
    pub ytd_deducted: *mut i64,
}

/// Totals of each village, township or county, into caller-owned arrays of
/// at least `capacity` values. A NULL column is not written.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_region_results {
    /// Values each non-NULL column holds room for (at least the regions).
    pub capacity: usize,
    /// Households settled.
    pub households: *mut u64,
    /// Points asked for by awards and bonuses.
    pub awarded: *mut i64,
    /// Points credited.
    pub credited: *mut i64,
    /// Points cut by caps.
    pub capped: *mut i64,
    /// Points forfeited by vetoes.
    pub vetoed: *mut i64,
    /// Deduction points taken from balances.
    pub deducted: *mut i64,
    /// Deduction points beyond the floor.
    pub unapplied: *mut i64,
    /// Points redeemed at stores.
    pub redeemed: *mut i64,
    /// Closing balances, summed.
    pub balance: *mut i64,
    /// The balances' worth in fen, rounded once per region by the policy.
    pub liability_fen: *mut i64,
}

/// Each store's redemptions, into caller-owned arrays of at least `capacity`
/// values. A NULL column is not written.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_store_results {
    /// Values each non-NULL column holds room for (at least the stores).
    pub capacity: usize,
    /// Points redeemed, donated goods included.
    pub redeemed: *mut i64,
    /// Points redeemed on purchased stock at reimbursed stores.
    pub reimbursable: *mut i64,
    /// The reimbursement in fen, rounded once per store by the policy.
    pub amount_fen: *mut i64,
}

/// Where a settlement writes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_output {
    /// Per household.
    pub households: jf_settle_household_results,
    /// Per store.
    pub stores: jf_settle_store_results,
    /// Per village.
    pub villages: jf_settle_region_results,
    /// Per township.
    pub townships: jf_settle_region_results,
    /// Per county.
    pub counties: jf_settle_region_results,
}

/// Borrows a required input column of `len` values.
///
/// # Safety
/// `ptr` points to `len` readable values.
unsafe fn column<'a, T>(
    engine: &jf_engine,
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], ErrorCode> {
    // SAFETY: the caller's contract.
    unsafe { slice_arg(ptr, len) }
        .map_err(|code| engine.fail(code, format!("the input column {name} is NULL")))
}

/// Refuses an output table whose capacity is below what the settlement writes.
fn fits(engine: &jf_engine, table: &str, capacity: usize, needed: usize) -> Result<(), ErrorCode> {
    if capacity < needed {
        return Err(engine.fail(
            ErrorCode::BufferTooSmall,
            format!("output {table} has room for {capacity} rows, the settlement writes {needed}"),
        ));
    }
    Ok(())
}

/// Copies `values` into a caller column, unless the column is NULL.
///
/// # Safety
/// `out` is NULL or has room for `values.len()` values (checked by `fits`).
unsafe fn put<T: Copy>(out: *mut T, values: &[T]) {
    if !out.is_null() {
        // SAFETY: room for `values.len()` by the caller's contract; the
        // caller's arrays are not the kernel's vectors, so they cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, values.len()) };
    }
}

/// The bytes a column spans.
fn span<T>(column: &[T]) -> Range<usize> {
    let start = column.as_ptr() as usize;
    start..start + std::mem::size_of_val(column)
}

/// The bytes every input column spans.
fn input_spans(input: &MonthInput) -> Vec<Range<usize>> {
    let (h, r, e, d) = (
        &input.households,
        &input.regions,
        &input.entries,
        &input.redemptions,
    );
    vec![
        span(h.category),
        span(h.village),
        span(h.opening_balance),
        span(h.ytd_credited),
        span(h.ytd_deducted),
        span(r.village_township),
        span(r.township_county),
        span(e.household),
        span(e.kind),
        span(e.points),
        span(e.day),
        span(e.order),
        span(d.household),
        span(d.store),
        span(d.points),
        span(d.reimbursable),
    ]
}

fn overlap(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The caller's household output columns, in the order of
/// [`HouseholdResultsMut`]' fields.
fn household_outputs(o: &jf_settle_household_results) -> [*mut i64; 10] {
    [
        o.awarded,
        o.credited,
        o.capped,
        o.vetoed,
        o.deducted,
        o.unapplied,
        o.net,
        o.closing_balance,
        o.ytd_credited,
        o.ytd_deducted,
    ]
}

/// The household output columns of every settlement of a call.
///
/// A deviation from the surface's rule that outputs are written only on
/// success, for the household columns alone: they are as long as the
/// population (800 MB at 10M households), and holding a second set to copy
/// on success cost that much memory again and up to twice the call's time
/// (the c_settle benchmark), at the national scale these calls are for. So
/// each non-NULL column is written in place, unless it shares memory with an
/// input column or another output column: such a column (a caller may roll
/// closing balances into the array it passed as the opening balances) is
/// settled into a column of the library's and copied over on success.
struct Targets {
    /// Each settlement's caller columns and its rows.
    outputs: Vec<([*mut i64; 10], usize)>,
    /// For each column not written in place, the library's column it is
    /// settled into.
    staged: Vec<[Option<Vec<i64>>; 10]>,
}

impl Targets {
    /// `outputs`: each settlement's caller columns, each with room for its
    /// rows (checked by `fits`); `inputs`: the bytes every input spans.
    /// Refuses with `out_of_memory` when the system will not give the
    /// columns settled apart.
    fn new(
        outputs: Vec<([*mut i64; 10], usize)>,
        inputs: &[Range<usize>],
    ) -> Result<Targets, jifen_core::Error> {
        // The bytes each non-NULL column spans, settlement after settlement.
        let spans: Vec<Option<Range<usize>>> = outputs
            .iter()
            .flat_map(|&(columns, rows)| {
                columns.map(|ptr| {
                    let start = ptr as usize;
                    (!ptr.is_null()).then(|| start..start + rows * std::mem::size_of::<i64>())
                })
            })
            .collect();
        let shares_memory = |k: usize, span: &Range<usize>| {
            inputs.iter().any(|input| overlap(span, input))
                || spans.iter().enumerate().any(|(j, other)| {
                    j != k && other.as_ref().is_some_and(|other| overlap(span, other))
                })
        };
        let mut next = 0;
        let mut staged: Vec<[Option<Vec<i64>>; 10]> = outputs
            .iter()
            .map(|_| {
                std::array::from_fn(|_| {
                    let k = next;
                    next += 1;
                    let direct = spans[k]
                        .as_ref()
                        .is_some_and(|span| !shares_memory(k, span));
                    (!direct).then(Vec::new)
                })
            })
            .collect();
        for (&(_, rows), columns) in outputs.iter().zip(&mut staged) {
            for column in columns.iter_mut().flatten() {
                let what = "the household columns settled apart from the caller's";
                BulkError::reserve(column, rows, what)?;
                column.resize(rows, 0);
            }
        }
        Ok(Targets { outputs, staged })
    }

    /// Each settlement's columns to settle into.
    ///
    /// # Safety
    /// Every non-NULL caller column has room for its settlement's rows.
    unsafe fn columns(&mut self) -> Vec<HouseholdResultsMut<'_>> {
        self.outputs
            .iter()
            .zip(&mut self.staged)
            .map(|(&(outputs, rows), staged)| {
                let mut k = 0;
                HouseholdResultsMut::from_columns(staged.each_mut().map(|own| {
                    let ptr = outputs[k];
                    k += 1;
                    match own {
                        Some(own) => &mut own[..],
                        // SAFETY: non-NULL with room for `rows` values
                        // (the caller's contract, checked by `fits`), and
                        // sharing memory with no other column.
                        None => unsafe { std::slice::from_raw_parts_mut(ptr, rows) },
                    }
                }))
            })
            .collect()
    }

    /// Copies each column settled apart over its caller column.
    ///
    /// # Safety
    /// As [`Targets::columns`].
    unsafe fn copy_staged(&self) {
        for (&(outputs, _), staged) in self.outputs.iter().zip(&self.staged) {
            for (&out, values) in outputs.iter().zip(staged) {
                if let Some(values) = values {
                    // SAFETY: the caller's contract.
                    unsafe { put(out, values) };
                }
            }
        }
    }
}

/// Whole fen of amounts the policy rounded, a row a store or region, asked
/// for softly as the kernel's totals are.
fn fen(engine: &jf_engine, amounts: &[Yuan]) -> Result<Vec<i64>, ErrorCode> {
    let mut fen = BulkError::with_room(amounts.len(), "the amounts in fen")
        .map_err(|error| engine.fail_with(&error.into()))?;
    for &amount in amounts {
        fen.push(engine.whole_fen(amount)?);
    }
    Ok(fen)
}

/// # Safety
/// Every non-NULL column has room for the table's rows.
unsafe fn put_regions(out: &jf_settle_region_results, totals: &RegionTotals, liability: &[i64]) {
    // SAFETY: the caller's contract, for each column.
    unsafe {
        put(out.households, &totals.households);
        put(out.awarded, &totals.awarded);
        put(out.credited, &totals.credited);
        put(out.capped, &totals.capped);
        put(out.vetoed, &totals.vetoed);
        put(out.deducted, &totals.deducted);
        put(out.unapplied, &totals.unapplied);
        put(out.redeemed, &totals.redeemed);
        put(out.balance, &totals.balance);
        put(out.liability_fen, liability);
    }
}

/// The month's rules: the policy the engine has in force on the month's
/// first day, for the named categories (none: the policy's own, in its order).
///
/// # Safety
/// `month` is a NUL-terminated string; `categories` points to
/// `categories_len` NUL-terminated strings.
unsafe fn month_rules(
    engine: &jf_engine,
    month: *const c_char,
    categories: *const *const c_char,
    categories_len: usize,
) -> Result<MonthRules, ErrorCode> {
    let (month, policy) = unsafe { policy_of_month(engine, month) }?;
    let names = unsafe { column(engine, categories, categories_len, "categories") }?;
    let categories = names
        .iter()
        .map(|&name| unsafe { str_arg(name) }.map(Category::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|code| engine.fail(code, "a category name is NULL or not UTF-8".into()))?;
    MonthRules::for_categories(&policy, month, &categories)
        .map_err(|error| engine.fail_with(&error))
}

/// The month `month` (`YYYY-MM`) names and the policy the engine has in
/// force on its first day.
///
/// # Safety
/// `month` is a NUL-terminated string.
pub(crate) unsafe fn policy_of_month(
    engine: &jf_engine,
    month: *const c_char,
) -> Result<(Month, Policy), ErrorCode> {
    let month = unsafe { engine.text(month, "month") }?
        .parse::<Month>()
        .map_err(|error| engine.fail_with(&jifen_core::Error::from(error)))?;
    let policy = engine
        .engine
        .read(|state| state.policies.in_force(month.first_day()).cloned())
        .map_err(|error| engine.fail_with(&jifen_core::Error::from(error)))?;
    Ok((month, policy))
}

/// Borrows a settlement's input columns.
///
/// # Safety
/// Every non-NULL column in `input` holds its table's rows.
unsafe fn month_input<'a>(
    engine: &jf_engine,
    input: &'a jf_settle_input,
) -> Result<MonthInput<'a>, ErrorCode> {
    let (h, r, e, d) = (
        &input.households,
        &input.regions,
        &input.entries,
        &input.redemptions,
    );
    // SAFETY: the caller's contract, for each column.
    unsafe {
        Ok(MonthInput {
            households: Households {
                category: column(engine, h.category, h.len, "households.category")?,
                village: column(engine, h.village, h.len, "households.village")?,
                opening_balance: column(
                    engine,
                    h.opening_balance,
                    h.len,
                    "households.opening_balance",
                )?,
                ytd_credited: column(engine, h.ytd_credited, h.len, "households.ytd_credited")?,
                ytd_deducted: if h.ytd_deducted.is_null() {
                    &[]
                } else {
                    column(engine, h.ytd_deducted, h.len, "households.ytd_deducted")?
                },
            },
            regions: Regions {
                village_township: column(
                    engine,
                    r.village_township,
                    r.villages,
                    "regions.village_township",
                )?,
                township_county: column(
                    engine,
                    r.township_county,
                    r.townships,
                    "regions.township_county",
                )?,
                counties: r.counties,
            },
            entries: Entries {
                household: column(engine, e.household, e.len, "entries.household")?,
                kind: column(engine, e.kind, e.len, "entries.kind")?,
                points: column(engine, e.points, e.len, "entries.points")?,
                day: column(engine, e.day, e.len, "entries.day")?,
                order: column(engine, e.order, e.len, "entries.order")?,
            },
            redemptions: Redemptions {
                household: column(engine, d.household, d.len, "redemptions.household")?,
                store: column(engine, d.store, d.len, "redemptions.store")?,
                points: column(engine, d.points, d.len, "redemptions.points")?,
                reimbursable: column(engine, d.reimbursable, d.len, "redemptions.reimbursable")?,
            },
            stores: input.stores,
        })
    }
}

/// How many rows each totals table of a settlement holds.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct jf_settle_sizes {
    /// Rows of the villages' table.
    pub villages: usize,
    /// Rows of the townships' table.
    pub townships: usize,
    /// Rows of the counties' table.
    pub counties: usize,
    /// Rows of the stores' table.
    pub stores: usize,
}

impl jf_settle_sizes {
    /// The sizes of `input`'s totals, its unnamed parts filled in.
    fn of(input: &MonthInput) -> jf_settle_sizes {
        jf_settle_sizes {
            villages: input.regions.village_township.len(),
            townships: input.regions.township_county.len(),
            counties: input.regions.counties as usize,
            stores: input.stores as usize,
        }
    }
}

/// Refuses totals tables too small for a settlement of `sizes`.
fn totals_fit(
    engine: &jf_engine,
    totals: &jf_settle_totals,
    sizes: jf_settle_sizes,
) -> Result<(), ErrorCode> {
    fits(engine, "stores", totals.stores.capacity, sizes.stores)?;
    fits(engine, "villages", totals.villages.capacity, sizes.villages)?;
    fits(
        engine,
        "townships",
        totals.townships.capacity,
        sizes.townships,
    )?;
    fits(engine, "counties", totals.counties.capacity, sizes.counties)
}

/// Writes into `sizes` how many rows each totals table of a settlement of
/// `inputs` holds (one input, or every partition of one settlement): the
/// named region tables and stores, or, where the inputs name none, what the
/// settlement fills in over all of them (every village the households name
/// in one township of one county; the stores the redemptions name). A caller
/// that names no tree sizes its output tables with it.
///
/// # Safety
/// `engine` is a live handle; `inputs` points to `inputs_len` inputs whose
/// non-NULL columns hold their tables' rows; `sizes` is writable.
#[no_mangle]
pub unsafe extern "C" fn jf_settle_table_sizes(
    engine: *mut jf_engine,
    inputs: *const jf_settle_input,
    inputs_len: usize,
    sizes: *mut jf_settle_sizes,
) -> ErrorCode {
    boundary!(non_null(engine, sizes) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { &*engine };
        let inputs = unsafe { column(engine, inputs, inputs_len, "inputs") }?;
        let columns = inputs
            .iter()
            .map(|input| unsafe { month_input(engine, input) })
            .collect::<Result<Vec<_>, _>>()?;
        let layout = Layout::of(&columns).map_err(|error| engine.fail_with(&error.into()))?;
        let found = columns
            .first()
            .map(|first| jf_settle_sizes::of(&layout.fill(first)))
            .unwrap_or_default();
        // SAFETY: the caller's contract.
        unsafe { sizes.write(found) };
        Ok(())
    })
}

/// The stores' and regions' tables, every conversion before any write, so a
/// failure writes none of them.
///
/// # Safety
/// Every non-NULL column has room for its table's rows (checked by `totals_fit`).
unsafe fn put_totals(
    engine: &jf_engine,
    out: &jf_settle_totals,
    totals: &Totals,
) -> Result<(), ErrorCode> {
    let store_fen = fen(engine, &totals.stores.amount)?;
    let village_fen = fen(engine, &totals.villages.liability)?;
    let township_fen = fen(engine, &totals.townships.liability)?;
    let county_fen = fen(engine, &totals.counties.liability)?;
    // SAFETY: the caller's contract, for each column.
    unsafe {
        put(out.stores.redeemed, &totals.stores.redeemed);
        put(out.stores.reimbursable, &totals.stores.reimbursable);
        put(out.stores.amount_fen, &store_fen);
        put_regions(&out.villages, &totals.villages, &village_fen);
        put_regions(&out.townships, &totals.townships, &township_fen);
        put_regions(&out.counties, &totals.counties, &county_fen);
    }
    Ok(())
}

fn options(threads: u32) -> SettleOptions {
    match threads {
        0 => SettleOptions::default(),
        threads => SettleOptions::with_threads(threads as usize),
    }
}

/// Settles one month of a population from columns, under the policy the
/// engine has in force on the month's first day (the engine records nothing;
/// it supplies the policy and keeps the last error). `month` is `YYYY-MM`;
/// `categories` names the category of each index used by
/// `households.category`; with none (`categories_len` 0) the indices are
/// the policy's own categories in its order (by name). The month's
/// redemptions come off the opening balances first, then the entries post
/// through the caps in the engine's order (veto first, then by day and
/// order). `threads`: worker threads (0: one per core; at most 64 run).
///
/// Every output table's `capacity` must cover its rows (households, stores,
/// villages, townships, counties: `jf_settle_table_sizes()` says how many),
/// else `JF_STATUS_BUFFER_TOO_SMALL` with the table named in the last error;
/// bad rows return their 1100-block code with the row named.
///
/// The household columns are written in place as the settlement runs, so
/// no copy of them is held (80 bytes a household): after a failure they
/// hold no meaningful figures. A household column that shares memory with
/// an input column or another output column is written only on success (so
/// `closing_balance` may be the array passed as `opening_balance`). The
/// store and region tables are written only on success.
///
/// # Safety
/// `engine` is a live handle; `month` is a NUL-terminated string;
/// `categories` points to `categories_len` NUL-terminated strings; every
/// non-NULL column in `input` holds its table's rows and every non-NULL column
/// in `output` has room for `capacity` values.
#[no_mangle]
pub unsafe extern "C" fn jf_settle_month(
    engine: *mut jf_engine,
    month: *const c_char,
    categories: *const *const c_char,
    categories_len: usize,
    input: *const jf_settle_input,
    threads: u32,
    output: *const jf_settle_output,
) -> ErrorCode {
    boundary!(non_null(engine, month, input, output) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { &*engine };
        let (input, output) = unsafe { (&*input, &*output) };
        let rules = unsafe { month_rules(engine, month, categories, categories_len) }?;
        let named = unsafe { month_input(engine, input) }?;
        let layout = Layout::of([&named]).map_err(|error| engine.fail_with(&error.into()))?;
        let columns = layout.fill(&named);
        let totals_out = jf_settle_totals {
            stores: output.stores,
            villages: output.villages,
            townships: output.townships,
            counties: output.counties,
        };
        let rows = input.households.len;
        fits(engine, "households", output.households.capacity, rows)?;
        totals_fit(engine, &totals_out, jf_settle_sizes::of(&columns))?;
        let outputs = vec![(household_outputs(&output.households), rows)];
        let mut targets = Targets::new(outputs, &input_spans(&columns))
            .map_err(|error| engine.fail_with(&error))?;
        // SAFETY: every capacity was checked against its rows above.
        let mut households = unsafe { targets.columns() };
        // One settlement, so one set of columns: none would be a bug.
        let households = households.pop().ok_or_else(|| {
            engine.fail(ErrorCode::Panic, "no household columns to settle into".into())
        })?;
        let totals = settle_columns(&rules, &columns, options(threads), households)
            .map_err(|error| engine.fail_with(&error))?;
        // SAFETY: as above.
        unsafe {
            put_totals(engine, &totals_out, &totals)?;
            targets.copy_staged();
        }
        Ok(())
    })
}

/// One partition of a population for `jf_settle_partitions()`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_partition {
    /// The key of each of the partition's households across every
    /// partition: `input.households.len` values.
    pub keys: *const u64,
    /// The partition's columns, household indices local to it; the region
    /// tables and the number of stores are the same in every partition.
    pub input: jf_settle_input,
    /// Where the partition's households' results go.
    pub households: jf_settle_household_results,
}

/// Where a partitioned settlement writes the stores' and regions' totals.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jf_settle_totals {
    /// Per store.
    pub stores: jf_settle_store_results,
    /// Per village.
    pub villages: jf_settle_region_results,
    /// Per township.
    pub townships: jf_settle_region_results,
    /// Per county.
    pub counties: jf_settle_region_results,
}

/// Settles one month of a population held in partitions (one per county,
/// say) as `jf_settle_month` settles one, and writes the stores' and
/// regions' totals over every partition into `totals`: exactly the single
/// run's. A household key in two partitions is refused with
/// `JF_STATUS_HOUSEHOLD_SPLIT_ACROSS_PARTITIONS` (it would be capped twice),
/// partitions whose region tables or store counts differ with
/// `JF_STATUS_PARTITION_MISMATCH`. Capacities, bad rows and the household
/// columns written in place are as for `jf_settle_month`. `threads`: worker
/// threads (0: one per core; at most 64 run).
///
/// # Safety
/// As `jf_settle_month`; `partitions` points to `partitions_len`
/// partitions, each with `keys` holding its households' keys; `totals` is
/// readable.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn jf_settle_partitions(
    engine: *mut jf_engine,
    month: *const c_char,
    categories: *const *const c_char,
    categories_len: usize,
    partitions: *const jf_settle_partition,
    partitions_len: usize,
    threads: u32,
    totals: *const jf_settle_totals,
) -> ErrorCode {
    boundary!(non_null(engine, month, totals) {
        // SAFETY: the caller's contract, for each pointer.
        let engine = unsafe { &*engine };
        let totals_out = unsafe { &*totals };
        let rules = unsafe { month_rules(engine, month, categories, categories_len) }?;
        let partitions = unsafe { column(engine, partitions, partitions_len, "partitions") }?;
        let mut parts = Vec::with_capacity(partitions.len());
        for partition in partitions {
            let rows = partition.input.households.len;
            parts.push(Partition {
                keys: unsafe { column(engine, partition.keys, rows, "partition keys") }?,
                input: unsafe { month_input(engine, &partition.input) }?,
            });
            fits(engine, "households", partition.households.capacity, rows)?;
        }
        let layout = Layout::of(parts.iter().map(|part| &part.input))
            .map_err(|error| engine.fail_with(&error.into()))?;
        if let Some(first) = parts.first() {
            totals_fit(engine, totals_out, jf_settle_sizes::of(&layout.fill(&first.input)))?;
        }
        let outputs = partitions
            .iter()
            .map(|p| (household_outputs(&p.households), p.input.households.len))
            .collect();
        let mut inputs: Vec<Range<usize>> = parts.iter().flat_map(|p| input_spans(&p.input)).collect();
        inputs.extend(parts.iter().map(|p| span(p.keys)));
        let mut targets =
            Targets::new(outputs, &inputs).map_err(|error| engine.fail_with(&error))?;
        // SAFETY: every capacity was checked against its rows above.
        let columns = unsafe { targets.columns() };
        let settled = settle_partitions_columns(&rules, &parts, options(threads), columns)
            .map_err(|error| engine.fail_with(&error))?;
        // SAFETY: as above.
        unsafe {
            put_totals(engine, totals_out, &settled)?;
            targets.copy_staged();
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::jf_engine_free;
    use crate::testing::{self, last_error, open};
    use std::ffi::CStr;
    use std::ptr;

    /// Three households (two villages, one township, one county), their March
    /// entries (kind, points, day) and one store's redemptions.
    const CATEGORIES: [&CStr; 2] = [c"poor", c"ordinary"];
    const CATEGORY: [u32; 3] = [0, 1, 1];
    const VILLAGE: [u32; 3] = [0, 0, 1];
    const ENTRIES: [(u32, u8, i64, u8); 7] = [
        (0, 0, 60, 3),
        (0, 0, 70, 5),
        (0, 1, 10, 7),
        (1, 0, 40, 2),
        (1, 1, 55, 9),
        (2, 0, 30, 4),
        (2, 2, 0, 6),
    ];

    fn execute(engine: *mut jf_engine, request: String) -> serde_json::Value {
        serde_json::from_str(&testing::execute(engine, &request)).expect("JSON")
    }

    /// The same month posted one command at a time through the engine.
    fn post_through_engine(engine: *mut jf_engine) {
        execute(engine, r#"{"actor": "admin", "command": {"type": "register_actor", "actor": {"id": "admin", "roles": ["administrator"]}}}"#.into());
        for (h, category) in CATEGORY.iter().enumerate() {
            let category = CATEGORIES[*category as usize].to_str().expect("UTF-8");
            execute(
                engine,
                format!(
                    r#"{{"actor": "admin", "command": {{"type": "register_household", "household": "H{h}", "region": {{"county": "469025", "township": "T01", "village": "V{}"}}, "head": "户主", "category": "{category}", "category_from": "2025-01-01"}}}}"#,
                    VILLAGE[h]
                ),
            );
        }
        let mut sorted = ENTRIES;
        sorted.sort_by_key(|&(h, kind, _, day)| (h, day, kind != 2));
        for (h, kind, points, day) in sorted {
            let command = match kind {
                0 => format!(
                    r#"{{"type": "post_award", "household": "H{h}", "date": "2025-03-{day:02}", "points": {points}}}"#
                ),
                1 => format!(
                    r#"{{"type": "post_deduction", "household": "H{h}", "date": "2025-03-{day:02}", "points": {points}}}"#
                ),
                _ => format!(
                    r#"{{"type": "post_veto", "household": "H{h}", "date": "2025-03-{day:02}"}}"#
                ),
            };
            execute(
                engine,
                format!(r#"{{"actor": "admin", "reason": "import", "command": {command}}}"#),
            );
        }
    }

    struct Columns {
        zeros: Vec<i64>,
        township: Vec<u32>,
        county: Vec<u32>,
        household: Vec<u32>,
        kind: Vec<u8>,
        points: Vec<i64>,
        day: Vec<u8>,
        order: Vec<u32>,
        names: Vec<*const c_char>,
    }

    impl Columns {
        fn new() -> Columns {
            Columns {
                zeros: vec![0; 3],
                township: vec![0, 0],
                county: vec![0],
                household: ENTRIES.iter().map(|e| e.0).collect(),
                kind: ENTRIES.iter().map(|e| e.1).collect(),
                points: ENTRIES.iter().map(|e| e.2).collect(),
                day: ENTRIES.iter().map(|e| e.3).collect(),
                order: (0..ENTRIES.len() as u32).collect(),
                names: CATEGORIES.iter().map(|c| c.as_ptr()).collect(),
            }
        }

        fn input(&self) -> jf_settle_input {
            jf_settle_input {
                households: jf_settle_households {
                    len: 3,
                    category: CATEGORY.as_ptr(),
                    village: VILLAGE.as_ptr(),
                    opening_balance: self.zeros.as_ptr(),
                    ytd_credited: self.zeros.as_ptr(),
                    ytd_deducted: ptr::null(),
                },
                regions: jf_settle_regions {
                    villages: 2,
                    village_township: self.township.as_ptr(),
                    townships: 1,
                    township_county: self.county.as_ptr(),
                    counties: 1,
                },
                entries: jf_settle_entries {
                    len: ENTRIES.len(),
                    household: self.household.as_ptr(),
                    kind: self.kind.as_ptr(),
                    points: self.points.as_ptr(),
                    day: self.day.as_ptr(),
                    order: self.order.as_ptr(),
                },
                redemptions: jf_settle_redemptions {
                    len: 0,
                    household: ptr::null(),
                    store: ptr::null(),
                    points: ptr::null(),
                    reimbursable: ptr::null(),
                },
                stores: 0,
            }
        }
    }

    fn region(capacity: usize, credited: *mut i64, balance: *mut i64) -> jf_settle_region_results {
        jf_settle_region_results {
            capacity,
            households: ptr::null_mut(),
            awarded: ptr::null_mut(),
            credited,
            capped: ptr::null_mut(),
            vetoed: ptr::null_mut(),
            deducted: ptr::null_mut(),
            unapplied: ptr::null_mut(),
            redeemed: ptr::null_mut(),
            balance,
            liability_fen: ptr::null_mut(),
        }
    }

    fn output(
        closing: &mut [i64],
        credited: &mut [i64],
        county: &mut [i64; 2],
    ) -> jf_settle_output {
        let (county_credited, county_balance) = county.split_at_mut(1);
        jf_settle_output {
            households: jf_settle_household_results {
                capacity: closing.len().min(credited.len()),
                awarded: ptr::null_mut(),
                credited: credited.as_mut_ptr(),
                capped: ptr::null_mut(),
                vetoed: ptr::null_mut(),
                deducted: ptr::null_mut(),
                unapplied: ptr::null_mut(),
                net: ptr::null_mut(),
                closing_balance: closing.as_mut_ptr(),
                ytd_credited: ptr::null_mut(),
                ytd_deducted: ptr::null_mut(),
            },
            stores: jf_settle_store_results {
                capacity: 0,
                redeemed: ptr::null_mut(),
                reimbursable: ptr::null_mut(),
                amount_fen: ptr::null_mut(),
            },
            villages: region(2, ptr::null_mut(), ptr::null_mut()),
            townships: region(1, ptr::null_mut(), ptr::null_mut()),
            counties: region(1, county_credited.as_mut_ptr(), county_balance.as_mut_ptr()),
        }
    }

    fn settle_month(
        engine: *mut jf_engine,
        input: &jf_settle_input,
        columns: &Columns,
        output: &jf_settle_output,
    ) -> ErrorCode {
        unsafe {
            jf_settle_month(
                engine,
                c"2025-03".as_ptr(),
                columns.names.as_ptr(),
                2,
                input,
                1,
                output,
            )
        }
    }

    #[test]
    fn columns_settle_to_what_the_engine_posts() {
        let engine = open(c"baisha-2019");
        let columns = Columns::new();
        let (mut closing, mut credited, mut county) = ([-1i64; 3], [-1i64; 3], [-1i64; 2]);
        let out = output(&mut closing, &mut credited, &mut county);
        assert_eq!(
            settle_month(engine, &columns.input(), &columns, &out),
            ErrorCode::Ok
        );
        post_through_engine(engine);
        for (h, closing) in closing.iter().enumerate() {
            let answer = execute(
                engine,
                format!(r#"{{"query": {{"type": "balance", "household": "H{h}"}}}}"#),
            );
            assert_eq!(answer["balance"], *closing, "household {h}");
        }
        let totals = execute(engine, r#"{"query": {"type": "invariants"}}"#.into());
        assert_eq!(totals["credited"], credited.iter().sum::<i64>());
        assert_eq!(county[0], credited.iter().sum::<i64>());
        assert_eq!(county[1], closing.iter().sum::<i64>());
        assert!(
            totals["capped"].as_i64() > Some(0),
            "the month crosses a cap: {totals}"
        );
        unsafe { jf_engine_free(engine) };
    }

    #[test]
    fn short_outputs_and_bad_columns_are_refused_and_no_table_is_written() {
        let engine = open(c"baisha-2019");
        let columns = Columns::new();
        let (mut closing, mut credited, mut county) = ([-1i64; 2], [-1i64; 3], [-1i64; 2]);
        let out = output(&mut closing, &mut credited, &mut county);
        assert_eq!(
            settle_month(engine, &columns.input(), &columns, &out),
            ErrorCode::BufferTooSmall
        );
        assert!(
            last_error(engine).contains("households has room for 2 rows"),
            "{}",
            last_error(engine)
        );
        assert_eq!((closing, credited, county), ([-1; 2], [-1; 3], [-1; 2]));

        let (mut closing, mut credited, mut county) = ([-1i64; 3], [-1i64; 3], [-1i64; 2]);
        let out = output(&mut closing, &mut credited, &mut county);
        let mut input = columns.input();
        input.entries.points = ptr::null();
        assert_eq!(
            settle_month(engine, &input, &columns, &out),
            ErrorCode::NullArgument
        );
        assert!(last_error(engine).contains("entries.points"));
        let mut bad_day = columns.day.clone();
        bad_day[2] = 32;
        let mut input = columns.input();
        input.entries.day = bad_day.as_ptr();
        assert_eq!(
            settle_month(engine, &input, &columns, &out),
            ErrorCode::InvalidEntryDay
        );
        assert!(
            last_error(engine).contains("row 2"),
            "{}",
            last_error(engine)
        );
        assert_eq!(county, [-1; 2], "the tables are written only on success");
        let status = unsafe {
            jf_settle_month(
                engine,
                c"2025-13".as_ptr(),
                columns.names.as_ptr(),
                2,
                &columns.input(),
                1,
                &out,
            )
        };
        assert_eq!(status, ErrorCode::BadPeriod);
        assert_eq!(county, [-1; 2], "the tables are written only on success");
        let status = unsafe {
            jf_settle_month(
                engine,
                c"2025-03".as_ptr(),
                ptr::null(),
                2,
                &columns.input(),
                1,
                &out,
            )
        };
        assert_eq!(status, ErrorCode::NullArgument);
        unsafe { jf_engine_free(engine) };
    }

    /// A caller may roll the closing balances into the array it passed as
    /// the opening balances: that column is settled apart and copied over.
    #[test]
    fn closing_balances_may_overwrite_the_opening_balances() {
        let engine = open(c"baisha-2019");
        let columns = Columns::new();
        let opening = [100i64, 20, 0];
        let (mut closing, mut credited, mut county) = ([-1i64; 3], [-1i64; 3], [-1i64; 2]);
        let mut input = columns.input();
        input.households.opening_balance = opening.as_ptr();
        let out = output(&mut closing, &mut credited, &mut county);
        assert_eq!(settle_month(engine, &input, &columns, &out), ErrorCode::Ok);

        let mut balances = opening;
        let rolling = balances.as_mut_ptr();
        input.households.opening_balance = rolling;
        let (mut unused, mut credited_again, mut county_again) =
            ([-1i64; 3], [-1i64; 3], [-1i64; 2]);
        let mut out = output(&mut unused, &mut credited_again, &mut county_again);
        out.households.closing_balance = rolling;
        assert_eq!(settle_month(engine, &input, &columns, &out), ErrorCode::Ok);
        assert_eq!(balances, closing);
        assert_ne!(balances, opening, "the month changes the balances");
        assert_eq!((credited_again, county_again), (credited, county));
        unsafe { jf_engine_free(engine) };
    }

    /// With no region tree named, the sizes say one township of one county
    /// over the households' two villages, and that county's totals are the
    /// named tree's (which is itself one county).
    #[test]
    fn no_region_tree_named_is_one_county_of_the_villages_named() {
        let engine = open(c"baisha-2019");
        let columns = Columns::new();
        let (mut closing, mut credited, mut county) = ([-1i64; 3], [-1i64; 3], [-1i64; 2]);
        let named = output(&mut closing, &mut credited, &mut county);
        assert_eq!(
            settle_month(engine, &columns.input(), &columns, &named),
            ErrorCode::Ok
        );
        let mut input = columns.input();
        input.regions = jf_settle_regions {
            villages: 0,
            village_township: ptr::null(),
            townships: 0,
            township_county: ptr::null(),
            counties: 0,
        };
        let mut sizes = jf_settle_sizes::default();
        let status = unsafe { jf_settle_table_sizes(engine, &input, 1, &mut sizes) };
        assert_eq!(status, ErrorCode::Ok);
        let expected = jf_settle_sizes {
            villages: 2,
            townships: 1,
            counties: 1,
            stores: 0,
        };
        assert_eq!(sizes, expected);
        let (mut closing_again, mut credited_again, mut county_again) =
            ([-1i64; 3], [-1i64; 3], [-1i64; 2]);
        let unnamed = output(&mut closing_again, &mut credited_again, &mut county_again);
        assert_eq!(
            settle_month(engine, &input, &columns, &unnamed),
            ErrorCode::Ok
        );
        assert_eq!(
            (closing_again, credited_again, county_again),
            (closing, credited, county)
        );
        let status = unsafe { jf_settle_table_sizes(engine, &input, 1, ptr::null_mut()) };
        assert_eq!(status, ErrorCode::NullArgument);
        unsafe { jf_engine_free(engine) };
    }

    /// A partition's entry columns.
    struct EntryColumns {
        household: Vec<u32>,
        kind: Vec<u8>,
        points: Vec<i64>,
        day: Vec<u8>,
        order: Vec<u32>,
    }

    /// The three households settled as two partitions ({0, 1} and {2}) give
    /// the single run's households and totals; a key in both is refused.
    #[test]
    fn partitions_merge_into_the_single_run() {
        let engine = open(c"baisha-2019");
        let columns = Columns::new();
        let (mut closing, mut credited, mut county) = ([-1i64; 3], [-1i64; 3], [-1i64; 2]);
        let whole = output(&mut closing, &mut credited, &mut county);
        let status = settle_month(engine, &columns.input(), &columns, &whole);
        assert_eq!(status, ErrorCode::Ok);

        // Each partition's entries, household indices local to it.
        let split = |keep: &dyn Fn(u32) -> Option<u32>| {
            let rows: Vec<usize> = (0..ENTRIES.len())
                .filter(|&i| keep(ENTRIES[i].0).is_some())
                .collect();
            let local: Vec<u32> = rows.iter().filter_map(|&i| keep(ENTRIES[i].0)).collect();
            let pick = |column: &[u8]| rows.iter().map(|&i| column[i]).collect::<Vec<u8>>();
            let points: Vec<i64> = rows.iter().map(|&i| columns.points[i]).collect();
            let order: Vec<u32> = rows.iter().map(|&i| columns.order[i]).collect();
            EntryColumns {
                household: local,
                kind: pick(&columns.kind),
                points,
                day: pick(&columns.day),
                order,
            }
        };
        let first = split(&|h| (h < 2).then_some(h));
        let second = split(&|h| (h == 2).then_some(0));
        let partition = |households: (usize, usize), entries: &EntryColumns| {
            let mut input = columns.input();
            let (start, len) = households;
            input.households.len = len;
            input.households.category = CATEGORY[start..].as_ptr();
            input.households.village = VILLAGE[start..].as_ptr();
            input.households.opening_balance = columns.zeros[start..].as_ptr();
            input.households.ytd_credited = columns.zeros[start..].as_ptr();
            input.entries = jf_settle_entries {
                len: entries.household.len(),
                household: entries.household.as_ptr(),
                kind: entries.kind.as_ptr(),
                points: entries.points.as_ptr(),
                day: entries.day.as_ptr(),
                order: entries.order.as_ptr(),
            };
            input
        };
        let keys: [u64; 3] = [0, 1, 2];
        let (mut closing_a, mut credited_a, mut closing_b, mut credited_b) =
            ([-1i64; 2], [-1i64; 2], [-1i64; 1], [-1i64; 1]);
        let mut county_parts = [-1i64; 2];
        let out_a = output(&mut closing_a, &mut credited_a, &mut county_parts);
        let out_b = output(&mut closing_b, &mut credited_b, &mut [0; 2]);
        let parts = [
            jf_settle_partition {
                keys: keys.as_ptr(),
                input: partition((0, 2), &first),
                households: out_a.households,
            },
            jf_settle_partition {
                keys: keys[2..].as_ptr(),
                input: partition((2, 1), &second),
                households: out_b.households,
            },
        ];
        let totals = jf_settle_totals {
            stores: out_a.stores,
            villages: out_a.villages,
            townships: out_a.townships,
            counties: out_a.counties,
        };
        let run = |parts: &[jf_settle_partition]| unsafe {
            jf_settle_partitions(
                engine,
                c"2025-03".as_ptr(),
                columns.names.as_ptr(),
                2,
                parts.as_ptr(),
                parts.len(),
                1,
                &totals,
            )
        };
        assert_eq!(run(&parts), ErrorCode::Ok);
        assert_eq!([closing_a[0], closing_a[1], closing_b[0]], closing);
        assert_eq!([credited_a[0], credited_a[1], credited_b[0]], credited);
        assert_eq!(county_parts, county);

        let mut split_household = parts;
        split_household[1].keys = keys[1..].as_ptr();
        county_parts = [-1; 2];
        assert_eq!(
            run(&split_household),
            ErrorCode::HouseholdSplitAcrossPartitions
        );
        assert_eq!(
            county_parts, [-1; 2],
            "the tables are written only on success"
        );
        unsafe { jf_engine_free(engine) };
    }
}
