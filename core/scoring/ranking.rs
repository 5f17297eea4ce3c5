//! The ranking, bonus, star-rating and net-score rules: one pure function
//! each, over plain data, so the engine's closes and the bulk settlement
//! compute the same ranks and ratings.

use crate::account::Account;
use crate::policy::{RankBonus, StarThreshold};
use crate::primitives::{Month, Points};

/// A household's net score over some months: awards credited less deductions
/// as scored (applied or stopped at the zero floor — SPEC §4: an unapplied
/// deduction still counts in the period's score). Capped and vetoed points
/// never count.
pub fn net_score(account: &Account, months: &[Month]) -> Points {
    months
        .iter()
        .filter_map(|month| account.months.get(month))
        .map(|a| a.totals.credited - a.totals.deducted - a.totals.unapplied)
        .sum()
}

/// Whether a veto forfeits any of `months` for the account.
pub fn vetoed_in(account: &Account, months: &[Month]) -> bool {
    months.iter().any(|m| account.is_vetoed(m.first_day()))
}

/// One ranked household.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranked<K> {
    /// The household (or any key the caller ranks by).
    pub key: K,
    /// Its net score.
    pub score: Points,
    /// Its rank: 1 + the number of households with a higher score, so tied
    /// households share a rank and the next rank is skipped (1, 2, 2, 4).
    pub rank: u32,
}

/// Ranks households by net score (SPEC §4): households with a veto in the
/// period or a score ≤ 0 are left out; the rest are ranked from the highest
/// score, ties sharing a rank. The result is in rank order, ties by key.
pub fn rank<K: Ord>(candidates: impl IntoIterator<Item = (K, Points, bool)>) -> Vec<Ranked<K>> {
    let mut eligible: Vec<(K, Points)> = candidates
        .into_iter()
        .filter(|(_, score, vetoed)| !vetoed && score.get() > 0)
        .map(|(key, score, _)| (key, score))
        .collect();
    eligible.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut ranked: Vec<Ranked<K>> = Vec::with_capacity(eligible.len());
    for (index, (key, score)) in eligible.into_iter().enumerate() {
        let rank = match ranked.last() {
            Some(previous) if previous.score == score => previous.rank,
            _ => u32::try_from(index + 1).unwrap_or(u32::MAX),
        };
        ranked.push(Ranked { key, score, rank });
    }
    ranked
}

/// The bonus for a rank: nothing past the top N (every household tied at a
/// rank inside N receives it), else the flat amount or the schedule's value
/// for the rank (ranks past the schedule's end take its last value).
pub fn bonus_for_rank(bonus: &RankBonus, top_n: u32, rank: u32) -> Points {
    if rank == 0 || rank > top_n {
        return Points::ZERO;
    }
    match bonus {
        RankBonus::None => Points::ZERO,
        RankBonus::Flat(points) => *points,
        RankBonus::Schedule(points) => {
            let index = usize::try_from(rank - 1).unwrap_or(usize::MAX);
            points
                .get(index)
                .or(points.last())
                .copied()
                .unwrap_or(Points::ZERO)
        }
    }
}

/// The star credit rating (文明信用户) for a year's net score: the stars of
/// the highest threshold reached; none below the lowest, and none at all for
/// a household with a veto in the year.
pub fn star_rating(thresholds: &[StarThreshold], net: Points, vetoed: bool) -> Option<u8> {
    if vetoed {
        return None;
    }
    thresholds
        .iter()
        .filter(|t| net >= t.min_points)
        .map(|t| t.stars)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use proptest::prelude::*;

    #[test]
    fn ties_share_a_rank_and_the_next_is_skipped() {
        let scores = [
            ("a", 30, false),
            ("b", 20, false),
            ("c", 20, false),
            ("d", 10, false),
        ];
        let ranked = rank(scores.map(|(k, s, v)| (k, Points(s), v)));
        let ranks: Vec<(&str, u32)> = ranked.iter().map(|r| (r.key, r.rank)).collect();
        assert_eq!(ranks, vec![("a", 1), ("b", 2), ("c", 2), ("d", 4)]);
    }

    #[test]
    fn vetoed_and_non_positive_households_are_left_out() {
        let scores = [
            ("a", 50, true),
            ("b", 0, false),
            ("c", -5, false),
            ("d", 1, false),
        ];
        let ranked = rank(scores.map(|(k, s, v)| (k, Points(s), v)));
        assert_eq!(ranked.len(), 1);
        assert_eq!((ranked[0].key, ranked[0].rank), ("d", 1));
    }

    #[test]
    fn everyone_tied_inside_the_top_n_gets_the_bonus() {
        let flat = RankBonus::Flat(Points(5));
        assert_eq!(bonus_for_rank(&flat, 10, 10), Points(5));
        assert_eq!(bonus_for_rank(&flat, 10, 11), Points::ZERO);
        let schedule = RankBonus::Schedule(vec![Points(10), Points(6)]);
        assert_eq!(bonus_for_rank(&schedule, 3, 1), Points(10));
        assert_eq!(bonus_for_rank(&schedule, 3, 3), Points(6));
        assert_eq!(bonus_for_rank(&schedule, 3, 4), Points::ZERO);
        assert_eq!(bonus_for_rank(&RankBonus::None, 10, 1), Points::ZERO);
    }

    #[test]
    fn default_star_thresholds() {
        let thresholds = Policy::default().star_rating;
        let rate = |n| star_rating(&thresholds, Points(n), false);
        assert_eq!(
            [199, 200, 249, 250, 299, 300, 1000].map(rate),
            [None, Some(3), Some(3), Some(4), Some(4), Some(5), Some(5)]
        );
        assert_eq!(star_rating(&thresholds, Points(300), true), None);
    }

    proptest! {
        #[test]
        fn a_rank_counts_the_households_strictly_ahead(scores in prop::collection::vec(-20i64..40, 0..40)) {
            let ranked = rank(scores.iter().enumerate().map(|(i, s)| (i, Points(*s), false)));
            for r in &ranked {
                let ahead = ranked.iter().filter(|o| o.score > r.score).count();
                prop_assert_eq!(r.rank as usize, ahead + 1);
                prop_assert!(r.score.get() > 0);
            }
            prop_assert_eq!(ranked.len(), scores.iter().filter(|s| **s > 0).count());
        }
    }
}
