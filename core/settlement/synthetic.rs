//! Seeded synthetic populations for the bulk settlement: households by
//! category and village, a month's entries drawn from the policy's own
//! indicators, and redemptions at the households' village stores. The same
//! spec and seed give the same population on every machine (integer
//! arithmetic and a fixed generator, SplitMix64), so examples, benchmarks,
//! the peer comparison and the Python tests all settle the same data.

use chrono::Datelike;

use crate::error::InputError;
use crate::policy::{IndicatorKind, Policy, RankBonus};
use crate::primitives::{Category, Month};
use crate::settlement::bulk::{
    kind, BulkError, Entries, Households, MonthInput, Redemptions, Regions,
};

/// What to generate. Shares are in thousandths (‰).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PopulationSpec {
    /// The seed: the same spec and seed give the same population.
    pub seed: u64,
    /// The settled month.
    pub month: Month,
    /// Households.
    pub households: usize,
    /// Entries in the month, spread over the scored households.
    pub entries: usize,
    /// Redemptions in the month.
    pub redemptions: usize,
    /// Stores, spread over the villages.
    pub stores: usize,
    /// Households per village.
    pub households_per_village: usize,
    /// Villages per township.
    pub villages_per_township: usize,
    /// Townships per county.
    pub townships_per_county: usize,
    /// Share of households in the category named `poor`, when the policy has one.
    pub poor_permille: u32,
    /// Share of households scored this month.
    pub scored_permille: u32,
    /// Share of entries that are vetoes.
    pub veto_permille: u32,
    /// Share of entries that are deductions.
    pub deduction_permille: u32,
    /// Share of entries that are bonuses.
    pub bonus_permille: u32,
    /// Share of households whose year so far nearly reached the annual cap.
    pub near_annual_cap_permille: u32,
    /// Share of redemptions on purchased stock at reimbursed stores.
    pub reimbursable_permille: u32,
}

impl PopulationSpec {
    /// A county-like population of `households`, seeded with `seed`: ten
    /// entries and half a redemption per household, a store per 200
    /// households, November 2025.
    pub fn new(households: usize, seed: u64) -> PopulationSpec {
        PopulationSpec {
            seed,
            month: Month::new(2025, 11).unwrap_or_else(|| unreachable!("11 is a month")),
            households,
            entries: households * 10,
            redemptions: households / 2,
            stores: households.div_ceil(200),
            households_per_village: 300,
            villages_per_township: 20,
            townships_per_county: 10,
            poor_permille: 200,
            scored_permille: 900,
            veto_permille: 1,
            deduction_permille: 100,
            bonus_permille: 0,
            near_annual_cap_permille: 50,
            reimbursable_permille: 850,
        }
    }

    /// The same spec with `per_household` entries per household on average.
    pub fn with_entries_per_household(mut self, per_household: usize) -> PopulationSpec {
        self.entries = self.households.saturating_mul(per_household);
        self
    }
}

/// The households' columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HouseholdColumns {
    /// Category index into [`Population::categories`].
    pub category: Vec<u32>,
    /// Village index.
    pub village: Vec<u32>,
    /// Balance at the start of the month.
    pub opening_balance: Vec<i64>,
    /// Counted toward the annual cap earlier this year.
    pub ytd_credited: Vec<i64>,
    /// Deductions scored earlier this year.
    pub ytd_deducted: Vec<i64>,
}

/// The region tree's columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionColumns {
    /// Township of each village.
    pub village_township: Vec<u32>,
    /// County of each township.
    pub township_county: Vec<u32>,
    /// How many counties.
    pub counties: u32,
}

/// The month's entries' columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryColumns {
    /// Household index.
    pub household: Vec<u32>,
    /// Kind code.
    pub kind: Vec<u8>,
    /// Points.
    pub points: Vec<i64>,
    /// Day of the month.
    pub day: Vec<u8>,
    /// Position on the score sheet.
    pub order: Vec<u32>,
}

/// The month's redemptions' columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedemptionColumns {
    /// Household index.
    pub household: Vec<u32>,
    /// Store index.
    pub store: Vec<u32>,
    /// Points spent.
    pub points: Vec<i64>,
    /// 1 for purchased stock at a reimbursed store.
    pub reimbursable: Vec<u8>,
}

/// A generated population and its month, owning its columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Population {
    /// The categories the category indices name (the policy's, in order).
    pub categories: Vec<Category>,
    /// Households.
    pub households: HouseholdColumns,
    /// The region tree.
    pub regions: RegionColumns,
    /// Entries, sorted by household, then day and order.
    pub entries: EntryColumns,
    /// Redemptions, in the order they were made.
    pub redemptions: RedemptionColumns,
    /// How many stores.
    pub stores: u32,
}

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `permille`/1000.
    fn chance(&mut self, permille: u32) -> bool {
        self.below(1000) < u64::from(permille)
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1).max(1) as u64) as i64
    }
}

/// The points one kind of entry can carry: ranges taken from the policy's
/// indicators of that kind.
struct Mix {
    awards: Vec<(i64, i64)>,
    deductions: Vec<(i64, i64)>,
    bonus: i64,
}

impl Mix {
    fn of(policy: &Policy) -> Mix {
        let ranges = |kinds: &[IndicatorKind], default: (i64, i64)| {
            let found: Vec<(i64, i64)> = policy
                .indicators
                .iter()
                .filter(|i| kinds.contains(&i.kind))
                .map(|i| (i.min_points.get().max(1), i.max_points.get().max(1)))
                .collect();
            if found.is_empty() {
                vec![default]
            } else {
                found
            }
        };
        Mix {
            awards: ranges(&[IndicatorKind::Award, IndicatorKind::Star], (2, 10)),
            deductions: ranges(&[IndicatorKind::Deduction], (2, 10)),
            bonus: match &policy.ranking.bonus {
                RankBonus::Flat(points) => points.get().max(1),
                RankBonus::Schedule(points) => points.first().map_or(5, |p| p.get().max(1)),
                RankBonus::None => 5,
            },
        }
    }

    fn draw(&self, rng: &mut Rng, ranges: &[(i64, i64)]) -> i64 {
        let (low, high) = ranges[rng.below(ranges.len() as u64) as usize];
        rng.between(low, high)
    }
}

impl Population {
    /// Generates the population `spec` describes under `policy`'s categories,
    /// caps and indicators. Its columns are asked for as the kernel's are
    /// ([`BulkError::with_room`]): a population too large for the machine is
    /// refused with `out_of_memory` rather than ending the process (a C
    /// caller's among them).
    pub fn generate(policy: &Policy, spec: &PopulationSpec) -> Result<Population, crate::Error> {
        let invalid = |field, detail: &str| InputError::InvalidValue {
            field,
            detail: detail.to_owned(),
        };
        if spec.households == 0 && (spec.entries > 0 || spec.redemptions > 0) {
            return Err(invalid("households", "entries and redemptions need households").into());
        }
        if [spec.households, spec.entries, spec.redemptions, spec.stores]
            .iter()
            .any(|&rows| rows > u32::MAX as usize)
        {
            return Err(invalid(
                "households",
                "at most 2^32 - 1 households, entries, redemptions and stores",
            )
            .into());
        }
        if spec.redemptions > 0 && spec.stores == 0 {
            return Err(invalid("stores", "redemptions need a store").into());
        }
        if spec.households_per_village == 0
            || spec.villages_per_township == 0
            || spec.townships_per_county == 0
        {
            return Err(
                invalid("households_per_village", "region sizes must be above zero").into(),
            );
        }
        let categories = policy.category_order();
        if categories.is_empty() {
            return Err(invalid("categories", "the policy defines no category").into());
        }
        let households = Self::households(policy, spec, &categories)?;
        let villages = spec.households.div_ceil(spec.households_per_village);
        let townships = villages.div_ceil(spec.villages_per_township);
        let regions = RegionColumns {
            village_township: BulkError::collected(
                (0..villages).map(|v| (v / spec.villages_per_township) as u32),
                "synthetic villages",
            )?,
            township_county: BulkError::collected(
                (0..townships).map(|t| (t / spec.townships_per_county) as u32),
                "synthetic townships",
            )?,
            counties: townships.div_ceil(spec.townships_per_county) as u32,
        };
        let entries = Self::entries(policy, spec)?;
        let redemptions = Self::redemptions(spec, &households, villages)?;
        Ok(Population {
            categories,
            households,
            regions,
            entries,
            redemptions,
            stores: spec.stores as u32,
        })
    }

    fn households(
        policy: &Policy,
        spec: &PopulationSpec,
        categories: &[Category],
    ) -> Result<HouseholdColumns, crate::Error> {
        let mut rng = Rng::new(spec.seed, 1);
        let poor = categories.iter().position(|c| c.as_str() == "poor");
        let others: Vec<usize> = (0..categories.len()).filter(|&c| Some(c) != poor).collect();
        let caps = categories
            .iter()
            .map(|c| policy.caps(c).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let months_before = i64::from(spec.month.number()) - 1;
        let n = spec.households;
        let what = "synthetic households";
        let mut columns = HouseholdColumns {
            category: BulkError::with_room(n, what)?,
            village: BulkError::with_room(n, what)?,
            opening_balance: BulkError::with_room(n, what)?,
            ytd_credited: BulkError::with_room(n, what)?,
            ytd_deducted: BulkError::with_room(n, what)?,
        };
        for h in 0..n {
            let category = match poor {
                Some(poor) if others.is_empty() || rng.chance(spec.poor_permille) => poor,
                _ => others[rng.below(others.len() as u64) as usize],
            };
            let monthly = caps[category].monthly.map_or(60, |p| p.get());
            let ytd = match caps[category].annual {
                Some(annual) if rng.chance(spec.near_annual_cap_permille) => {
                    (annual.get() - rng.between(0, monthly)).max(0)
                }
                _ => rng.between(0, months_before * monthly),
            };
            columns.category.push(category as u32);
            columns
                .village
                .push((h / spec.households_per_village) as u32);
            columns.opening_balance.push(rng.between(0, 400));
            columns.ytd_credited.push(ytd);
            columns.ytd_deducted.push(rng.between(0, ytd / 10));
        }
        Ok(columns)
    }

    fn entries(policy: &Policy, spec: &PopulationSpec) -> Result<EntryColumns, BulkError> {
        let mut rng = Rng::new(spec.seed, 2);
        let mix = Mix::of(policy);
        let days = u64::from(spec.month.last_day().day());
        let mut scored: Vec<u32> =
            BulkError::with_room(spec.households, "synthetic scored households")?;
        scored.extend((0..spec.households as u32).filter(|_| rng.chance(spec.scored_permille)));
        let mut counts = BulkError::filled(0u32, spec.households, "synthetic entry counts")?;
        if !scored.is_empty() {
            for _ in 0..spec.entries {
                counts[scored[rng.below(scored.len() as u64) as usize] as usize] += 1;
            }
        }
        let m = if scored.is_empty() { 0 } else { spec.entries };
        let what = "synthetic entries";
        let mut columns = EntryColumns {
            household: BulkError::with_room(m, what)?,
            kind: BulkError::with_room(m, what)?,
            points: BulkError::with_room(m, what)?,
            day: BulkError::with_room(m, what)?,
            order: BulkError::with_room(m, what)?,
        };
        let mut month = Vec::new();
        let mut order = 0u32;
        for (h, &count) in counts.iter().enumerate() {
            month.clear();
            for _ in 0..count {
                let day = 1 + rng.below(days) as u8;
                let roll = rng.below(1000) as u32;
                let (k, points) = if roll < spec.veto_permille {
                    (kind::VETO, 0)
                } else if roll < spec.veto_permille + spec.deduction_permille {
                    (kind::DEDUCTION, mix.draw(&mut rng, &mix.deductions))
                } else if roll < spec.veto_permille + spec.deduction_permille + spec.bonus_permille
                {
                    (kind::BONUS, mix.bonus)
                } else {
                    (kind::AWARD, mix.draw(&mut rng, &mix.awards))
                };
                month.push((day, k, points));
            }
            month.sort_by_key(|&(day, _, _)| day);
            for &(day, k, points) in &month {
                columns.household.push(h as u32);
                columns.kind.push(k);
                columns.points.push(points);
                columns.day.push(day);
                columns.order.push(order);
                order = order.wrapping_add(1);
            }
        }
        Ok(columns)
    }

    fn redemptions(
        spec: &PopulationSpec,
        households: &HouseholdColumns,
        villages: usize,
    ) -> Result<RedemptionColumns, BulkError> {
        let mut rng = Rng::new(spec.seed, 3);
        let balances = &households.opening_balance;
        let mut left = BulkError::with_room(balances.len(), "synthetic balances left")?;
        left.extend_from_slice(balances);
        let k = spec.redemptions;
        let what = "synthetic redemptions";
        let mut columns = RedemptionColumns {
            household: BulkError::with_room(k, what)?,
            store: BulkError::with_room(k, what)?,
            points: BulkError::with_room(k, what)?,
            reimbursable: BulkError::with_room(k, what)?,
        };
        for _ in 0..k {
            // A household with points left; give up on this redemption after a few tries.
            let Some(h) = (0..8)
                .map(|_| rng.below(spec.households as u64) as usize)
                .find(|&h| left[h] > 0)
            else {
                continue;
            };
            let points = rng.between(1, left[h].min(60));
            left[h] -= points;
            let village = households.village[h] as usize;
            let local = spec
                .stores
                .saturating_sub(village)
                .div_ceil(villages.max(1));
            let store = if local == 0 {
                village % spec.stores
            } else {
                village + villages * rng.below(local as u64) as usize
            };
            columns.household.push(h as u32);
            columns.store.push(store as u32);
            columns.points.push(points);
            columns
                .reimbursable
                .push(u8::from(rng.chance(spec.reimbursable_permille)));
        }
        Ok(columns)
    }

    /// The population as kernel input.
    pub fn input(&self) -> MonthInput<'_> {
        MonthInput {
            households: Households {
                category: &self.households.category,
                village: &self.households.village,
                opening_balance: &self.households.opening_balance,
                ytd_credited: &self.households.ytd_credited,
                ytd_deducted: &self.households.ytd_deducted,
            },
            regions: Regions {
                village_township: &self.regions.village_township,
                township_county: &self.regions.township_county,
                counties: self.regions.counties,
            },
            entries: Entries {
                household: &self.entries.household,
                kind: &self.entries.kind,
                points: &self.entries.points,
                day: &self.entries.day,
                order: &self.entries.order,
            },
            redemptions: Redemptions {
                household: &self.redemptions.household,
                store: &self.redemptions.store,
                points: &self.redemptions.points,
                reimbursable: &self.redemptions.reimbursable,
            },
            stores: self.stores,
        }
    }

    /// Puts the entries in a seeded random order (Fisher–Yates), as they
    /// would come from a system that does not sort them. Rows are swapped
    /// where they lie: nothing is allocated, and a C caller's pointers into
    /// the columns stay valid.
    pub fn shuffle_entries(&mut self, seed: u64) {
        let mut rng = Rng::new(seed, 4);
        let e = &mut self.entries;
        for i in (1..e.household.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            e.household.swap(i, j);
            e.kind.swap(i, j);
            e.points.swap(i, j);
            e.day.swap(i, j);
            e.order.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::presets::preset;

    #[test]
    fn the_same_seed_gives_the_same_population_and_another_seed_does_not() {
        let policy = preset("baisha-2019").unwrap();
        let spec = PopulationSpec::new(3_000, 42);
        let a = Population::generate(&policy, &spec).unwrap();
        let b = Population::generate(&policy, &spec).unwrap();
        assert_eq!(a, b);
        let c = Population::generate(&policy, &PopulationSpec::new(3_000, 43)).unwrap();
        assert_ne!(a.entries, c.entries);
        assert_ne!(a.households, c.households);
    }

    #[test]
    fn a_population_beyond_its_indices_is_refused_however_it_is_asked_for() {
        let policy = preset("baisha-2019").unwrap();
        let too_many_entries = PopulationSpec::new(10, 1).with_entries_per_household(usize::MAX);
        let mut too_many_stores = PopulationSpec::new(10, 1);
        too_many_stores.stores = 1 << 32;
        for spec in [too_many_entries, too_many_stores] {
            let refused = Population::generate(&policy, &spec).unwrap_err();
            assert_eq!(refused.code(), crate::ErrorCode::InvalidValue, "{spec:?}");
        }
    }

    #[test]
    fn a_population_has_the_sizes_and_mix_it_was_asked_for() {
        let policy = preset("baisha-2019").unwrap();
        let spec = PopulationSpec::new(6_000, 7);
        let p = Population::generate(&policy, &spec).unwrap();
        assert_eq!(p.households.category.len(), 6_000);
        assert_eq!(p.entries.household.len(), 60_000);
        assert!(p.entries.household.is_sorted());
        assert_eq!(p.regions.village_township.len(), 20);
        assert_eq!(p.regions.counties, 1);
        let poor = p
            .categories
            .iter()
            .position(|c| c.as_str() == "poor")
            .unwrap() as u32;
        let poor_share = p.households.category.iter().filter(|&&c| c == poor).count();
        assert!((900..1_500).contains(&poor_share), "{poor_share}");
        let deductions = p
            .entries
            .kind
            .iter()
            .filter(|&&k| k == kind::DEDUCTION)
            .count();
        assert!((5_000..7_000).contains(&deductions), "{deductions}");
        // Every award comes from a Baisha indicator's range (5..=20 points).
        let awards = (0..p.entries.kind.len()).filter(|&i| p.entries.kind[i] == kind::AWARD);
        assert!(awards
            .clone()
            .all(|i| (5..=20).contains(&p.entries.points[i])));
        assert!(p.redemptions.household.len() > 2_900);
        // No household redeems more than it holds.
        let mut left = p.households.opening_balance.clone();
        for (h, points) in p.redemptions.household.iter().zip(&p.redemptions.points) {
            left[*h as usize] -= points;
        }
        assert!(left.iter().all(|&b| b >= 0));
        // Each redemption is at a store of the household's village.
        let villages = p.regions.village_township.len();
        for (h, store) in p.redemptions.household.iter().zip(&p.redemptions.store) {
            assert_eq!(
                *store as usize % villages,
                p.households.village[*h as usize] as usize
            );
        }
    }

    #[test]
    fn shuffling_keeps_every_entry_in_its_columns() {
        let policy = preset("longquan-2023").unwrap();
        let mut p = Population::generate(&policy, &PopulationSpec::new(500, 3)).unwrap();
        let mut before: Vec<_> = (0..p.entries.order.len())
            .map(|i| {
                (
                    p.entries.order[i],
                    p.entries.household[i],
                    p.entries.points[i],
                )
            })
            .collect();
        let buffer = p.entries.household.as_ptr();
        p.shuffle_entries(9);
        assert!(!p.entries.household.is_sorted());
        assert_eq!(p.entries.household.as_ptr(), buffer, "shuffled in place");
        let mut after: Vec<_> = (0..p.entries.order.len())
            .map(|i| {
                (
                    p.entries.order[i],
                    p.entries.household[i],
                    p.entries.points[i],
                )
            })
            .collect();
        before.sort_unstable();
        after.sort_unstable();
        assert_eq!(before, after);
    }
}
