//! The bulk monthly settlement kernel: a whole county, province or nation
//! settled at once from columns.
//!
//! Inputs are plain slices (struct of arrays), so the C and Python surfaces
//! pass their buffers straight through: households by dense index, the
//! month's entries, the month's redemptions, and the region tables. Outputs
//! are plain vectors — per household, per store, per village, township and
//! county — or, per household, the caller's own slices ([`settle_columns`]). Every size and index is checked; a bad row is refused with its
//! position and an [`ErrorCode`](crate::ErrorCode) in the 1100 block.
//!
//! The kernel posts each household's month in the engine's order — a veto
//! first, then the entries by day and order — through the same rule
//! functions ([`caps::split_award`](crate::policy::caps::split_award),
//! [`caps::usage`](crate::policy::caps::usage),
//! [`caps::split_deduction`](crate::policy::caps::split_deduction),
//! [`caps::limits_for`](crate::policy::caps::limits_for) once per category,
//! [`Rounding::apply`](crate::policy::Rounding::apply) once per store and
//! region total). A property test holds it equal to posting the same month
//! through the [`Engine`](crate::Engine) one command at a time.
//!
//! The month's redemptions are taken as made before the month's posting: they
//! come off the opening balance first (and may not exceed it), then the
//! entries post against what is left. They are checked before the entries,
//! and a refusal names their first bad row whatever the number of threads.
//! The month's cap counters start at zero: nothing of the month was posted
//! before.
//!
//! Whatever the number of threads, a refusal of entries or households is
//! the one a single thread gives.
//!
//! Entries sorted by household settle in one pass over the columns; any other
//! order is grouped by household first with a stable counting sort, so the
//! order of a household's entries among themselves is kept. Within a
//! household, entries post by (day, order), ties by their position. A
//! household whose result its entries' order cannot change (on a gross cap
//! basis, and when no deduction can reach the floor, say) is posted from
//! the totals of its awards, bonuses and deductions without sorting: see
//! `post::post_order_free` for when and why that is the same posting. So is
//! a household with a veto, in either pass (`post::post_vetoed`).
//!
//! ```
//! use jifen::settlement::bulk::{settle, MonthRules, SettleOptions};
//! use jifen::settlement::synthetic::{Population, PopulationSpec};
//! use jifen::Policy;
//!
//! let policy = Policy::from_json("baisha-2019")?;
//! let spec = PopulationSpec::new(2_000, 7).with_entries_per_household(6);
//! let population = Population::generate(&policy, &spec)?;
//! let rules = MonthRules::for_categories(&policy, spec.month, &population.categories)?;
//! let settled = settle(&rules, &population.input(), SettleOptions::default())?;
//! // Every award is credited, capped or vetoed.
//! let h = &settled.households;
//! for i in 0..h.len() {
//!     assert_eq!(h.awarded[i], h.credited[i] + h.capped[i] + h.vetoed[i]);
//! }
//! let county_balance: i64 = settled.totals.counties.balance.iter().sum();
//! assert_eq!(county_balance, h.closing_balance.iter().sum::<i64>());
//! # Ok::<(), jifen::Error>(())
//! ```

mod error;
mod grouped;
mod layout;
mod marked;
mod packed;
mod partition;
mod pass;
mod pending;
mod post;
mod redemptions;
mod rules;
mod sorted;
mod threads;
mod totals;

use std::ops::Range;

use jifen_stream::Rows;

pub use error::BulkError;
pub use layout::{Layout, MAX_TOTALS_ROWS};
pub use partition::{
    check_disjoint, settle_partitions, settle_partitions_columns, Partition, PartitionedSettlement,
};
pub use post::kind;
pub use rules::{CategoryHistory, MonthRules, MAX_ENTRY_POINTS, MAX_POINTS};
pub use totals::{RegionTotals, StoreResults, Totals};

/// Households by dense index `0..n`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Households<'a> {
    /// Category index into the [`MonthRules`]' categories.
    pub category: &'a [u32],
    /// Village index into [`Regions::village_township`], when a tree is named.
    pub village: &'a [u32],
    /// Balance at the start of the month.
    pub opening_balance: &'a [i64],
    /// Counted toward the annual cap earlier this year.
    pub ytd_credited: &'a [i64],
    /// Deductions scored earlier this year, which give cap room back on a net
    /// cap basis. Empty means none.
    pub ytd_deducted: &'a [i64],
}

/// The region tree: village → township → county, by dense indices. Left
/// empty, the settlement takes one county ([`Layout`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Regions<'a> {
    /// The township index of each village.
    pub village_township: &'a [u32],
    /// The county index of each township.
    pub township_county: &'a [u32],
    /// How many counties.
    pub counties: u32,
}

/// The month's score entries, in any order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Entries<'a> {
    /// The household index.
    pub household: &'a [u32],
    /// What the entry does: a code of [`kind`].
    pub kind: &'a [u8],
    /// Points: 1..=[`MAX_ENTRY_POINTS`], except 0 for a veto.
    pub points: &'a [i64],
    /// The day of the month, from 1.
    pub day: &'a [u8],
    /// The entry's position on its score sheet; orders entries of one day.
    pub order: &'a [u32],
}

/// The month's redemptions, in any order.
#[derive(Clone, Copy, Debug, Default)]
pub struct Redemptions<'a> {
    /// The household index.
    pub household: &'a [u32],
    /// The store index, below [`MonthInput::stores`] when it is named.
    pub store: &'a [u32],
    /// Points spent, above zero.
    pub points: &'a [i64],
    /// 1 when the goods were purchased stock at a reimbursed store, else 0.
    pub reimbursable: &'a [u8],
}

/// Everything one settlement reads.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonthInput<'a> {
    /// The households.
    pub households: Households<'a>,
    /// The region tree; none named ([`Regions::default`]) is every village
    /// in one county ([`Layout`]).
    pub regions: Regions<'a>,
    /// The month's entries.
    pub entries: Entries<'a>,
    /// The month's redemptions.
    pub redemptions: Redemptions<'a>,
    /// How many stores; 0 is the stores the redemptions name ([`Layout`]).
    pub stores: u32,
}

/// Each household's month, one row a household in each column: owned
/// ([`HouseholdResults`]) or a caller's arrays ([`HouseholdResultsMut`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HouseholdColumns<C> {
    /// Points asked for by awards and bonuses.
    pub awarded: C,
    /// Points credited.
    pub credited: C,
    /// Points cut by caps.
    pub capped: C,
    /// Points forfeited by a veto.
    pub vetoed: C,
    /// Deduction points taken from the balance.
    pub deducted: C,
    /// Deduction points beyond the floor, recorded but not taken.
    pub unapplied: C,
    /// The month's net score: credited less every scored deduction.
    pub net: C,
    /// The balance after redemptions and postings.
    pub closing_balance: C,
    /// Counted toward the annual cap this year, this month included.
    pub ytd_credited: C,
    /// Deductions scored this year, this month included.
    pub ytd_deducted: C,
}

/// Each household's month, by household index.
pub type HouseholdResults = HouseholdColumns<Vec<i64>>;

/// Each household's month written into columns the caller holds, one row
/// a household in each: [`settle_columns`] settles into a caller's own
/// arrays (the C surface's) without holding a copy of them. The settlement
/// also keeps its running totals in them as it goes, so what they held
/// before is not kept.
pub type HouseholdResultsMut<'a> = HouseholdColumns<&'a mut [i64]>;

impl<C> HouseholdColumns<C> {
    /// The columns' names, in the order [`HouseholdColumns::into_columns`]
    /// gives them and [`HouseholdColumns::from_columns`] takes them.
    pub const COLUMNS: [&'static str; 10] = [
        "awarded",
        "credited",
        "capped",
        "vetoed",
        "deducted",
        "unapplied",
        "net",
        "closing_balance",
        "ytd_credited",
        "ytd_deducted",
    ];

    /// The columns from an array in [`HouseholdColumns::COLUMNS`]' order.
    pub fn from_columns(columns: [C; 10]) -> HouseholdColumns<C> {
        let [awarded, credited, capped, vetoed, deducted, unapplied, net, closing_balance, ytd_credited, ytd_deducted] =
            columns;
        HouseholdColumns {
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
        }
    }

    /// The columns as an array in [`HouseholdColumns::COLUMNS`]' order.
    pub fn into_columns(mut self) -> [C; 10]
    where
        C: Default,
    {
        self.fields_mut().map(std::mem::take)
    }

    /// The fields themselves, in [`HouseholdColumns::COLUMNS`]' order: the
    /// one list of them every other view shares.
    fn fields_mut(&mut self) -> [&mut C; 10] {
        [
            &mut self.awarded,
            &mut self.credited,
            &mut self.capped,
            &mut self.vetoed,
            &mut self.deducted,
            &mut self.unapplied,
            &mut self.net,
            &mut self.closing_balance,
            &mut self.ytd_credited,
            &mut self.ytd_deducted,
        ]
    }
}

impl HouseholdResults {
    /// How many households.
    pub fn len(&self) -> usize {
        self.awarded.len()
    }

    /// True when there are no households.
    pub fn is_empty(&self) -> bool {
        self.awarded.is_empty()
    }

    /// The columns, to be written by a settlement.
    pub fn columns_mut(&mut self) -> HouseholdResultsMut<'_> {
        HouseholdResultsMut::from_columns(self.fields_mut().map(Vec::as_mut_slice))
    }

    /// The columns, with room for `n` rows, for a run to write: as they
    /// are when they hold `n` rows already (a reused settlement), else
    /// [`Output::Fresh`]. Each column too small is asked for softly: a
    /// population too large for the machine is refused, its columns given
    /// back, rather than aborting the process.
    fn prepare(&mut self, n: usize) -> Result<Output<'_>, BulkError> {
        let fresh = self
            .fields_mut()
            .iter()
            .filter(|column| column.capacity() < n)
            .count();
        let refused = BulkError::OutOfMemory {
            what: "the household result columns",
            bytes: n.saturating_mul(fresh).saturating_mul(size_of::<i64>()),
        };
        let reserved = self.fields_mut().into_iter().try_for_each(|column| {
            if column.capacity() < n {
                *column = Vec::new();
                column.try_reserve_exact(n)?;
            }
            Ok::<_, std::collections::TryReserveError>(())
        });
        if reserved.is_err() {
            *self = HouseholdResults::default();
            return Err(refused);
        }
        if self.fields_mut().iter().all(|column| column.len() == n) {
            return Ok(Output::Columns(self.columns_mut()));
        }
        Ok(Output::Fresh {
            results: self,
            households: n,
        })
    }

    /// Gives every column `n` rows, the rows they gain zeroed by `workers`
    /// threads, a share of the columns each: on fresh memory that is the
    /// pages' first touch, which costs more than the writing, spread over
    /// the threads as the settlement's own writes would be.
    fn zero(&mut self, n: usize, workers: usize) {
        let mut columns = self.fields_mut();
        let share = columns.len().div_ceil(workers.clamp(1, columns.len()));
        threads::in_parallel(columns.chunks_mut(share).collect(), |share| {
            for column in share {
                column.resize(n, 0);
            }
        });
    }
}

/// The household result columns a run writes.
enum Output<'o> {
    /// Columns holding a row for every household already: a caller's, or
    /// a settlement's reused.
    Columns(HouseholdResultsMut<'o>),
    /// A settlement's columns with room for `households` rows: the sorted
    /// pass, which writes every row before it reads it, writes them without
    /// zeroing them first ([`jifen_stream::write_fresh`]), which would cost
    /// a tenth of its run; the grouping pass, which adds up into some of
    /// them, has them zeroed.
    Fresh {
        results: &'o mut HouseholdResults,
        households: usize,
    },
}

impl<'o> Output<'o> {
    /// Runs `work` on the rows of each of `ranges` (consecutive household
    /// ranges from the first) of every column, to be written from each
    /// range's start; then gives the columns, whose every row then holds a
    /// value: the one written, or zero.
    fn in_rows<R>(
        self,
        ranges: &[Range<usize>],
        work: impl FnOnce(Vec<HouseholdColumns<Rows<'_>>>) -> R,
    ) -> (R, HouseholdResultsMut<'o>) {
        match self {
            Output::Columns(mut columns) => {
                let parts = columns
                    .split_by(ranges)
                    .into_iter()
                    .map(|part| HouseholdColumns::from_columns(part.into_columns().map(Rows::of)));
                (work(parts.collect()), columns)
            }
            Output::Fresh { results, .. } => {
                let answer = jifen_stream::write_fresh(results.fields_mut(), ranges, |parts| {
                    work(
                        parts
                            .into_iter()
                            .map(HouseholdColumns::from_columns)
                            .collect(),
                    )
                });
                (answer, results.columns_mut())
            }
        }
    }

    /// The columns, every row holding a value: fresh ones zeroed by
    /// `workers` threads.
    fn into_columns(self, workers: usize) -> HouseholdResultsMut<'o> {
        match self {
            Output::Columns(columns) => columns,
            Output::Fresh {
                results,
                households,
            } => {
                results.zero(households, workers);
                results.columns_mut()
            }
        }
    }
}

impl<'a> HouseholdResultsMut<'a> {
    /// Every column, reborrowed, in [`HouseholdColumns::COLUMNS`]' order.
    pub(super) fn each_mut(&mut self) -> [&mut [i64]; 10] {
        self.fields_mut().map(|column| &mut **column)
    }

    /// The columns reborrowed, for one phase of a run.
    fn reborrow(&mut self) -> HouseholdResultsMut<'_> {
        HouseholdResultsMut::from_columns(self.each_mut())
    }

    /// Checks that every column has a row for each of `households`.
    fn check_len(&mut self, households: usize) -> Result<(), BulkError> {
        let lengths = self.each_mut().map(|column| column.len());
        match HouseholdResults::COLUMNS
            .into_iter()
            .zip(lengths)
            .find(|&(_, len)| len != households)
        {
            None => Ok(()),
            Some((column, actual)) => Err(BulkError::ColumnLength {
                table: "results",
                column,
                expected: households,
                actual,
            }),
        }
    }
}

/// A settled month.
#[derive(Clone, Debug, Default)]
pub struct Settlement {
    /// Each household's month.
    pub households: HouseholdResults,
    /// Stores and regions.
    pub totals: Totals,
    /// Working memory kept for the next [`settle_into`]; no part of the result.
    scratch: pass::Scratch,
}

/// Two settlements are equal when their results are.
impl PartialEq for Settlement {
    fn eq(&self, other: &Settlement) -> bool {
        self.households == other.households && self.totals == other.totals
    }
}

impl Eq for Settlement {}

/// How a settlement runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettleOptions {
    /// Worker threads (default: the machine's cores), at most
    /// [`MAX_THREADS`]. With entries sorted by household they take pieces of
    /// the households in turn; otherwise each settles a range of households.
    /// The result is the same on any number.
    pub threads: usize,
    /// When entries come unsorted, how many entry rows the threads
    /// partition at a time, sharing them out (default: 2²⁴). The threads
    /// hold 4 bytes for each of a chunk's rows (and 8 more for each entry
    /// of 2¹⁶ points or more); smaller chunks hold less and add up each
    /// block's totals more often.
    pub chunk_entries: usize,
}

/// The default [`SettleOptions::chunk_entries`]: at 16M rows a chunk's
/// buffers (64 MiB) stay small beside the columns while the households'
/// running totals, read and written once a chunk, are gone over six times
/// for 100M entries. An unsorted run zeroes its fresh result columns before
/// it starts, so they are resident throughout it; with chunks of 32M rows
/// a shuffled run of ten million households then peaked at 1.46 times its
/// input (1.52 through Python) against 1.43, for about 5% less time
/// (benches/README.md).
const DEFAULT_CHUNK_ROWS: usize = 1 << 24;

impl SettleOptions {
    /// The default options with `threads` worker threads.
    pub fn with_threads(threads: usize) -> SettleOptions {
        SettleOptions {
            threads,
            ..SettleOptions::default()
        }
    }
}

/// The most worker threads a settlement runs: more cannot be faster on a
/// county's machines, and each holds its own totals of every village. A
/// larger [`SettleOptions::threads`] is taken as this many.
pub const MAX_THREADS: usize = 64;

impl Default for SettleOptions {
    fn default() -> SettleOptions {
        SettleOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            chunk_entries: DEFAULT_CHUNK_ROWS,
        }
    }
}

/// Settles one month of a population: posts every household's entries,
/// takes its redemptions off its balance, and totals stores and regions.
/// The result holds its figures only: the passes' working memory is given
/// back when the run ends ([`settle_into`] keeps it). A population whose
/// results or working buffers the system will not give memory for is
/// refused with [`BulkError::OutOfMemory`].
pub fn settle(
    rules: &MonthRules,
    input: &MonthInput,
    options: SettleOptions,
) -> Result<Settlement, crate::Error> {
    let mut settlement = Settlement::default();
    settle_into(rules, input, options, &mut settlement)?;
    settlement.scratch = pass::Scratch::default();
    Ok(settlement)
}

/// As [`settle`], writing into `settlement` and reusing its memory, both its
/// result columns and the passes' working memory, which it keeps for the
/// next run: the way to run the same population under many policies. On an
/// error `settlement` holds no meaningful figures.
pub fn settle_into(
    rules: &MonthRules,
    input: &MonthInput,
    options: SettleOptions,
    settlement: &mut Settlement,
) -> Result<(), crate::Error> {
    let layout = Layout::of([input])?;
    let input = &layout.fill(input);
    pass::check_shapes(rules, input)?;
    let output = settlement
        .households
        .prepare(input.households.category.len())?;
    settlement.totals = pass::run(rules, input, options, output, &mut settlement.scratch)?;
    Ok(())
}

/// As [`settle`], writing each household's month into `columns`, which
/// must have a row for each household, and returning the stores' and
/// regions' totals: for a caller that holds its own arrays. On an error the
/// columns hold no meaningful figures.
pub fn settle_columns(
    rules: &MonthRules,
    input: &MonthInput,
    options: SettleOptions,
    mut columns: HouseholdResultsMut<'_>,
) -> Result<Totals, crate::Error> {
    let layout = Layout::of([input])?;
    let input = &layout.fill(input);
    pass::check_shapes(rules, input)?;
    columns.check_len(input.households.category.len())?;
    let mut scratch = pass::Scratch::default();
    Ok(pass::run(
        rules,
        input,
        options,
        Output::Columns(columns),
        &mut scratch,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::synthetic::{Population, PopulationSpec};
    use crate::Policy;

    /// A settlement kept for reuse holds the passes' working memory; one
    /// settled once holds its figures only, the same figures.
    #[test]
    fn only_a_reused_settlement_keeps_working_memory() -> Result<(), crate::Error> {
        let policy = Policy::from_json("baisha-2019")?;
        let spec = PopulationSpec::new(3_000, 5).with_entries_per_household(8);
        let mut population = Population::generate(&policy, &spec)?;
        let rules = MonthRules::for_categories(&policy, spec.month, &population.categories)?;
        for shuffled in [false, true] {
            if shuffled {
                population.shuffle_entries(3);
            }
            let input = population.input();
            let once = settle(&rules, &input, SettleOptions::with_threads(2))?;
            let mut reused = Settlement::default();
            settle_into(&rules, &input, SettleOptions::with_threads(2), &mut reused)?;
            assert_eq!(once.scratch.held_bytes(), 0, "shuffled: {shuffled}");
            assert!(reused.scratch.held_bytes() > 0, "shuffled: {shuffled}");
            assert_eq!(once, reused);
        }
        Ok(())
    }
}
