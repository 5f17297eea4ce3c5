//! Settling a population in partitions (one per county, say) that each hold
//! whole households, and merging their totals into exactly the single-run
//! result. A household in two partitions would be capped twice, so the
//! partitions' household keys must be disjoint.

use super::{
    settle_columns, settle_into, BulkError, HouseholdResults, HouseholdResultsMut, Layout,
    MonthInput, MonthRules, SettleOptions, Settlement, Totals,
};

/// One partition: its own dense households, named by the caller's global
/// household keys (one per household, in index order).
#[derive(Clone, Copy, Debug, Default)]
pub struct Partition<'a> {
    /// The global key of each of the partition's households.
    pub keys: &'a [u64],
    /// The partition's month, with household indices local to it and region
    /// and store indices shared by every partition.
    pub input: MonthInput<'a>,
}

/// The partitions' households, and the merged totals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionedSettlement {
    /// Each partition's households, in partition order.
    pub households: Vec<HouseholdResults>,
    /// Stores and regions over every partition.
    pub totals: Totals,
}

/// Fails when a household key appears twice, in one partition or in two.
pub fn check_disjoint(keys: &[&[u64]]) -> Result<(), BulkError> {
    let rows = keys.iter().map(|k| k.len()).sum();
    let mut all: Vec<(u64, u32)> = BulkError::with_room(rows, "the partitions' household keys")?;
    for (partition, keys) in keys.iter().enumerate() {
        all.extend(keys.iter().map(|&key| (key, partition as u32)));
    }
    all.sort_unstable();
    match all.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        None => Ok(()),
        Some(pair) => Err(BulkError::HouseholdSplitAcrossPartitions {
            key: pair[0].0,
            first: pair[0].1 as usize,
            second: pair[1].1 as usize,
        }),
    }
}

/// Settles each partition and merges their store and region totals. Refuses
/// a household split across partitions, and partitions whose region tables
/// or store counts differ. What no partition names is filled in over them
/// all ([`Layout`]). Each partition's result columns are written as a
/// [`settle`](super::settle)'s are, and the passes' working memory serves
/// one partition after another.
pub fn settle_partitions(
    rules: &MonthRules,
    parts: &[Partition],
    options: SettleOptions,
) -> Result<PartitionedSettlement, crate::Error> {
    let layout = Layout::of(parts.iter().map(|part| &part.input))?;
    let parts = checked(parts, &layout)?;
    let mut households = Vec::with_capacity(parts.len());
    let mut totals = Vec::with_capacity(parts.len());
    let mut settlement = Settlement::default();
    for part in &parts {
        settle_into(rules, &part.input, options, &mut settlement)?;
        households.push(std::mem::take(&mut settlement.households));
        totals.push(std::mem::take(&mut settlement.totals));
    }
    let totals = Totals::merge(rules, &totals.iter().collect::<Vec<_>>())?;
    Ok(PartitionedSettlement { households, totals })
}

/// As [`settle_partitions`], writing each partition's households into its
/// own of `columns` (a row for each of the partition's households) and
/// returning the merged totals: for a caller that holds its own arrays.
pub fn settle_partitions_columns(
    rules: &MonthRules,
    parts: &[Partition],
    options: SettleOptions,
    columns: Vec<HouseholdResultsMut<'_>>,
) -> Result<Totals, crate::Error> {
    if columns.len() != parts.len() {
        return Err(BulkError::ColumnLength {
            table: "partitions",
            column: "results",
            expected: parts.len(),
            actual: columns.len(),
        }
        .into());
    }
    let layout = Layout::of(parts.iter().map(|part| &part.input))?;
    let parts = checked(parts, &layout)?;
    let mut totals = Vec::with_capacity(parts.len());
    for (part, columns) in parts.iter().zip(columns) {
        totals.push(settle_columns(rules, &part.input, options, columns)?);
    }
    Ok(Totals::merge(rules, &totals.iter().collect::<Vec<_>>())?)
}

/// The partitions with what no partition names filled in over them all
/// (from `layout`, theirs), once they are found to share their region
/// tables and store counts and to hold disjoint households.
fn checked<'a>(
    parts: &[Partition<'a>],
    layout: &'a Layout,
) -> Result<Vec<Partition<'a>>, BulkError> {
    let parts: Vec<Partition> = parts
        .iter()
        .map(|part| Partition {
            keys: part.keys,
            input: layout.fill(&part.input),
        })
        .collect();
    for (partition, part) in parts.iter().enumerate() {
        if part.keys.len() != part.input.households.category.len() {
            return Err(BulkError::ColumnLength {
                table: "households",
                column: "keys",
                expected: part.input.households.category.len(),
                actual: part.keys.len(),
            });
        }
        let (ours, first) = (&part.input, &parts[0].input);
        let mismatch = |what| BulkError::PartitionMismatch { partition, what };
        if ours.stores != first.stores {
            return Err(mismatch("the number of stores"));
        }
        if ours.regions.village_township != first.regions.village_township
            || ours.regions.township_county != first.regions.township_county
            || ours.regions.counties != first.regions.counties
        {
            return Err(mismatch("the region tables"));
        }
    }
    let keys: Vec<&[u64]> = parts.iter().map(|p| p.keys).collect();
    check_disjoint(&keys)?;
    Ok(parts)
}
