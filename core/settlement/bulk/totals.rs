//! Sums by store and by region, and their money: each total is rounded once,
//! after every point in it has been added, so merging partitions and settling
//! in one run give the same fen.

use super::post::Posted;
use super::rules::MonthRules;
use super::threads::in_parallel;
use super::{BulkError, Regions};
use crate::primitives::Yuan;

/// Point sums of one region, as each thread accumulates them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Sums {
    pub households: u64,
    pub awarded: i64,
    pub credited: i64,
    pub capped: i64,
    pub vetoed: i64,
    pub deducted: i64,
    pub unapplied: i64,
    pub redeemed: i64,
    pub balance: i64,
}

impl Sums {
    pub fn add_posted(&mut self, posted: &Posted) {
        self.households += 1;
        self.awarded += posted.awarded;
        self.credited += posted.credited;
        self.capped += posted.capped;
        self.vetoed += posted.vetoed;
        self.deducted += posted.deducted;
        self.unapplied += posted.unapplied;
        self.balance += posted.balance;
    }

    pub fn add(&mut self, other: &Sums) {
        self.households += other.households;
        self.awarded += other.awarded;
        self.credited += other.credited;
        self.capped += other.capped;
        self.vetoed += other.vetoed;
        self.deducted += other.deducted;
        self.unapplied += other.unapplied;
        self.redeemed += other.redeemed;
        self.balance += other.balance;
    }
}

/// Totals of every village, township or county (index = the region's index).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionTotals {
    /// Households settled.
    pub households: Vec<u64>,
    /// Points asked for by awards and bonuses.
    pub awarded: Vec<i64>,
    /// Points credited.
    pub credited: Vec<i64>,
    /// Points cut by caps.
    pub capped: Vec<i64>,
    /// Points forfeited by vetoes.
    pub vetoed: Vec<i64>,
    /// Deduction points taken from balances.
    pub deducted: Vec<i64>,
    /// Deduction points beyond the floor.
    pub unapplied: Vec<i64>,
    /// Points redeemed at stores.
    pub redeemed: Vec<i64>,
    /// Closing balances, summed.
    pub balance: Vec<i64>,
    /// The closing balances' worth: `balance × point value`, rounded once.
    pub liability: Vec<Yuan>,
}

impl RegionTotals {
    /// How many regions.
    pub fn len(&self) -> usize {
        self.households.len()
    }

    /// True when there are no regions.
    pub fn is_empty(&self) -> bool {
        self.households.is_empty()
    }

    /// The columns of `sums`, one row a region of `level`.
    fn from_sums(
        sums: &[Sums],
        rules: &MonthRules,
        level: Level,
    ) -> Result<RegionTotals, BulkError> {
        let what = level.totals;
        let column = |f: fn(&Sums) -> i64| BulkError::collected(sums.iter().map(f), what);
        Ok(RegionTotals {
            households: BulkError::collected(sums.iter().map(|s| s.households), what)?,
            awarded: column(|s| s.awarded)?,
            credited: column(|s| s.credited)?,
            capped: column(|s| s.capped)?,
            vetoed: column(|s| s.vetoed)?,
            deducted: column(|s| s.deducted)?,
            unapplied: column(|s| s.unapplied)?,
            redeemed: column(|s| s.redeemed)?,
            liability: BulkError::collected(sums.iter().map(|s| rules.amount(s.balance)), what)?,
            balance: column(|s| s.balance)?,
        })
    }

    fn sums(&self) -> impl Iterator<Item = Sums> + '_ {
        (0..self.len()).map(|i| Sums {
            households: self.households[i],
            awarded: self.awarded[i],
            credited: self.credited[i],
            capped: self.capped[i],
            vetoed: self.vetoed[i],
            deducted: self.deducted[i],
            unapplied: self.unapplied[i],
            redeemed: self.redeemed[i],
            balance: self.balance[i],
        })
    }
}

/// A level of the region tree: what its totals are called, in a refusal
/// for want of memory, and in one for partitions that differ.
#[derive(Clone, Copy)]
pub(super) struct Level {
    pub totals: &'static str,
    regions: &'static str,
}

pub(super) const VILLAGES: Level = Level {
    totals: "the village totals",
    regions: "villages",
};
const TOWNSHIPS: Level = Level {
    totals: "the township totals",
    regions: "townships",
};
const COUNTIES: Level = Level {
    totals: "the county totals",
    regions: "counties",
};

/// What the store totals are called in a refusal for want of memory.
pub(super) const STORE_TOTALS: &str = "the store totals";

/// Redemptions by store (index = the store's index).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreResults {
    /// Points redeemed, donated goods included.
    pub redeemed: Vec<i64>,
    /// Points redeemed on purchased stock at reimbursed stores.
    pub reimbursable: Vec<i64>,
    /// The reimbursement: `reimbursable × point value`, rounded once per store.
    pub amount: Vec<Yuan>,
}

impl StoreResults {
    fn from_sums(sums: &[[i64; 2]], rules: &MonthRules) -> Result<StoreResults, BulkError> {
        let column =
            |f: fn(&[i64; 2]) -> i64| BulkError::collected(sums.iter().map(f), STORE_TOTALS);
        Ok(StoreResults {
            redeemed: column(|s| s[0])?,
            reimbursable: column(|s| s[1])?,
            amount: BulkError::collected(sums.iter().map(|s| rules.amount(s[1])), STORE_TOTALS)?,
        })
    }
}

/// The parts of the totals priced apart ([`Totals::from_sums`]).
#[derive(Clone, Copy)]
enum Part {
    Stores,
    Regions,
}

/// A part's priced columns (the regions' boxed: three tables' worth of
/// column handles, moved between threads).
enum Priced {
    Stores(StoreResults),
    Regions(Box<[RegionTotals; 3]>),
}

/// Everything above the household: stores, villages, townships, counties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Each store's redemptions and reimbursement.
    pub stores: StoreResults,
    /// Each village's totals.
    pub villages: RegionTotals,
    /// Each township's totals.
    pub townships: RegionTotals,
    /// Each county's totals.
    pub counties: RegionTotals,
}

impl Totals {
    /// Rolls village sums up to townships and counties and prices them, on
    /// up to `threads` threads.
    pub(super) fn build(
        rules: &MonthRules,
        regions: &Regions,
        villages: &[Sums],
        stores: &[[i64; 2]],
        threads: usize,
    ) -> Result<Totals, BulkError> {
        let townships = regions.township_county.len();
        let mut townships = BulkError::filled(Sums::default(), townships, TOWNSHIPS.totals)?;
        for (village, sums) in villages.iter().enumerate() {
            townships[regions.village_township[village] as usize].add(sums);
        }
        let counties = regions.counties as usize;
        let mut counties = BulkError::filled(Sums::default(), counties, COUNTIES.totals)?;
        for (township, sums) in townships.iter().enumerate() {
            counties[regions.township_county[township] as usize].add(sums);
        }
        Totals::from_sums(rules, stores, [villages, &townships, &counties], threads)
    }

    /// The totals' columns from their sums. Pricing them (a decimal product
    /// and its rounding a store or region: some 85,000 for ten million
    /// households, about 7 ms on one thread) is most of the work, so with
    /// `threads` to spare the stores and the regions are priced on two.
    fn from_sums(
        rules: &MonthRules,
        stores: &[[i64; 2]],
        [villages, townships, counties]: [&[Sums]; 3],
        threads: usize,
    ) -> Result<Totals, BulkError> {
        let price = |part: Part| -> Result<Priced, BulkError> {
            Ok(match part {
                Part::Stores => Priced::Stores(StoreResults::from_sums(stores, rules)?),
                Part::Regions => Priced::Regions(Box::new([
                    RegionTotals::from_sums(villages, rules, VILLAGES)?,
                    RegionTotals::from_sums(townships, rules, TOWNSHIPS)?,
                    RegionTotals::from_sums(counties, rules, COUNTIES)?,
                ])),
            })
        };
        let parts = vec![Part::Stores, Part::Regions];
        let priced = if threads > 1 {
            in_parallel(parts, price)
        } else {
            parts.into_iter().map(price).collect()
        };
        let mut totals = Totals::default();
        for priced in priced {
            match priced? {
                Priced::Stores(stores) => totals.stores = stores,
                Priced::Regions(regions) => {
                    let [villages, townships, counties] = *regions;
                    (totals.villages, totals.townships, totals.counties) =
                        (villages, townships, counties);
                }
            }
        }
        Ok(totals)
    }

    /// Adds the totals of partitions that share region tables and stores,
    /// pricing each merged sum once. Fails when their shapes differ.
    pub fn merge(rules: &MonthRules, parts: &[&Totals]) -> Result<Totals, BulkError> {
        let Some(first) = parts.first() else {
            return Ok(Totals::default());
        };
        let mut stores = BulkError::filled([0i64; 2], first.stores.redeemed.len(), STORE_TOTALS)?;
        let levels = [VILLAGES, TOWNSHIPS, COUNTIES];
        let firsts = [&first.villages, &first.townships, &first.counties];
        let mut merged = [Vec::new(), Vec::new(), Vec::new()];
        for ((sums, level), first) in merged.iter_mut().zip(levels).zip(firsts) {
            *sums = BulkError::filled(Sums::default(), first.len(), level.totals)?;
        }
        for (partition, part) in parts.iter().enumerate() {
            let mismatch = |what| BulkError::PartitionMismatch { partition, what };
            if part.stores.redeemed.len() != stores.len() {
                return Err(mismatch("the number of stores"));
            }
            for (store, sums) in stores.iter_mut().enumerate() {
                sums[0] += part.stores.redeemed[store];
                sums[1] += part.stores.reimbursable[store];
            }
            let theirs = [&part.villages, &part.townships, &part.counties];
            for ((sums, totals), level) in merged.iter_mut().zip(theirs).zip(levels) {
                if totals.len() != sums.len() {
                    return Err(mismatch(level.regions));
                }
                for (mine, other) in sums.iter_mut().zip(totals.sums()) {
                    mine.add(&other);
                }
            }
        }
        let [villages, townships, counties] = &merged;
        Totals::from_sums(rules, &stores, [villages, townships, counties], 1)
    }
}
