//! The region tree and store count a settlement fills in when its caller
//! names none. An analyst comparing cap policies over one county's
//! households, or a kiosk vendor settling one village, need hold no region
//! tree or store register of their own: the totals then come per village
//! and for the whole, and per store the redemptions name.

use super::{BulkError, MonthInput, Regions};

/// The most counties or stores a settlement keeps totals for, named or
/// implied by the largest index, and the most villages an unnamed tree
/// implies: far above a nation's (some 490,000 villages), and few enough
/// that the totals, kept per thread, fit in memory. A larger count is a
/// caller's mistake (an unset count, a stray index), refused before
/// anything is allocated for it.
pub const MAX_TOTALS_ROWS: u32 = 1 << 24;

/// What a settlement of some inputs (one, or every partition of one
/// settlement) takes for the parts their callers left unnamed:
/// - no region table (both tables empty and no counties): every village the
///   households name, `0..=` the largest, in one township of one county;
/// - no stores (0): the stores the redemptions name, `0..=` the largest.
///
/// Named parts are kept as named, so partitions that name different trees
/// are still refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    village_township: Vec<u32>,
    township_county: Vec<u32>,
    stores: u32,
}

impl Layout {
    /// The parts `inputs` leave unnamed, each over every input. Refuses,
    /// beyond [`MAX_TOTALS_ROWS`], the counties and stores named and the
    /// villages and stores implied by the largest index (the village and
    /// township tables a caller names are arrays it holds, so no larger than
    /// its memory allows).
    pub fn of<'a, 'b: 'a>(
        inputs: impl IntoIterator<Item = &'a MonthInput<'b>>,
    ) -> Result<Layout, BulkError> {
        let inputs: Vec<&MonthInput> = inputs.into_iter().collect();
        for input in &inputs {
            within_limit("counties", "the counties named", input.regions.counties)?;
            within_limit("stores", "the stores named", input.stores)?;
        }
        let mut layout = Layout::default();
        if inputs.iter().any(|input| !input.regions.is_named()) {
            let villages = one_past_largest(inputs.iter().map(|i| i.households.village));
            let villages = within_limit(
                "villages",
                "one past the largest households.village",
                villages,
            )?;
            let what = "the region tree implied by households.village";
            layout.village_township = BulkError::filled(0, villages as usize, what)?;
            layout.township_county = vec![0];
        }
        if inputs.iter().any(|input| input.stores == 0) {
            let stores = one_past_largest(inputs.iter().map(|i| i.redemptions.store));
            layout.stores =
                within_limit("stores", "one past the largest redemptions.store", stores)?;
        }
        Ok(layout)
    }

    /// `input` with its unnamed parts filled in.
    pub fn fill<'a>(&'a self, input: &MonthInput<'a>) -> MonthInput<'a> {
        let mut filled = *input;
        if !input.regions.is_named() {
            filled.regions = Regions {
                village_township: &self.village_township,
                township_county: &self.township_county,
                // One county when the tree is filled in, none when not.
                counties: self.township_county.len() as u32,
            };
        }
        if input.stores == 0 {
            filled.stores = self.stores;
        }
        filled
    }
}

impl Regions<'_> {
    /// Whether the caller named a region tree: a table or a county count.
    pub fn is_named(&self) -> bool {
        !self.village_township.is_empty() || !self.township_county.is_empty() || self.counties > 0
    }
}

/// One past the largest index in `columns`, 0 when they are empty.
fn one_past_largest<'a>(columns: impl Iterator<Item = &'a [u32]>) -> u64 {
    columns
        .filter_map(|column| column.iter().max())
        .max()
        .map_or(0, |&largest| u64::from(largest) + 1)
}

/// `count` rows of `table`, refused beyond [`MAX_TOTALS_ROWS`].
fn within_limit(
    table: &'static str,
    what: &'static str,
    count: impl Into<u64>,
) -> Result<u32, BulkError> {
    let count = count.into();
    u32::try_from(count)
        .ok()
        .filter(|&rows| rows <= MAX_TOTALS_ROWS)
        .ok_or(BulkError::TooManyTotals {
            table,
            what,
            count,
            limit: MAX_TOTALS_ROWS,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settlement::bulk::{Households, Redemptions};

    fn input<'a>(village: &'a [u32], store: &'a [u32]) -> MonthInput<'a> {
        MonthInput {
            households: Households {
                village,
                ..Households::default()
            },
            redemptions: Redemptions {
                store,
                ..Redemptions::default()
            },
            ..MonthInput::default()
        }
    }

    #[test]
    fn an_unnamed_tree_holds_every_village_of_every_input_in_one_county() {
        let (a, b) = (input(&[0, 3], &[1]), input(&[5, 2], &[4, 0]));
        let layout = Layout::of([&a, &b]).unwrap();
        let filled = layout.fill(&a);
        assert_eq!(filled.regions.village_township, &[0; 6]);
        assert_eq!(filled.regions.township_county, &[0]);
        assert_eq!(filled.regions.counties, 1);
        assert_eq!(filled.stores, 5);
        assert_eq!(layout.fill(&b).stores, 5);
    }

    #[test]
    fn named_parts_are_kept() {
        let mut named = input(&[0, 9], &[7]);
        named.regions = Regions {
            village_township: &[0, 0],
            township_county: &[0],
            counties: 1,
        };
        named.stores = 3;
        let layout = Layout::of([&named]).unwrap();
        assert_eq!(layout, Layout::default());
        let filled = layout.fill(&named);
        assert_eq!(filled.regions.village_township, &[0, 0]);
        assert_eq!(filled.stores, 3);
    }

    #[test]
    fn nothing_named_and_nothing_held_is_one_empty_county() {
        let empty = input(&[], &[]);
        let filled = Layout::of([&empty]).unwrap();
        let filled = filled.fill(&empty);
        assert!(filled.regions.village_township.is_empty());
        assert_eq!(filled.regions.counties, 1);
        assert_eq!(filled.stores, 0);
    }
}
