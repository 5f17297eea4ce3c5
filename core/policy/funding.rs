//! Splitting a reimbursement across funding sources exactly: each part is
//! rounded down to the fen and the leftover fen go one by one to the largest
//! remainders (ties by source order), so the parts always add up to the total.

use rust_decimal::Decimal;

use super::FundingShare;

/// One source's part of an amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingPart {
    /// The funding source.
    pub source: String,
    /// Its part in yuan, to the fen.
    pub amount: Decimal,
}

/// Splits `total` (already rounded to the fen) by `shares` (which add up to 1).
pub fn split(total: Decimal, shares: &[FundingShare]) -> Vec<FundingPart> {
    let fen = Decimal::new(1, 2);
    let exact: Vec<Decimal> = shares.iter().map(|s| total * s.share.0).collect();
    let mut parts: Vec<Decimal> = exact.iter().map(|e| (e / fen).floor() * fen).collect();
    let mut leftover = ((total - parts.iter().sum::<Decimal>()) / fen).round();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Largest remainder first; a stable sort keeps source order among ties.
    // Remainders are compared to 1e-12 yuan so that shares written as
    // repeating decimals (1/3 as 0.333…) tie as they do in exact arithmetic.
    let remainder = |i: usize| (exact[i] - parts[i]).round_dp(12);
    order.sort_by_key(|&i| std::cmp::Reverse(remainder(i)));
    for &index in order.iter().cycle().take(shares.len() * 2) {
        if leftover <= Decimal::ZERO {
            break;
        }
        parts[index] += fen;
        leftover -= Decimal::ONE;
    }
    shares
        .iter()
        .zip(parts)
        .map(|(share, amount)| FundingPart {
            source: share.source.clone(),
            amount,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::Yuan;
    use proptest::prelude::*;

    fn shares(fractions: &[Decimal]) -> Vec<FundingShare> {
        fractions
            .iter()
            .enumerate()
            .map(|(i, f)| FundingShare {
                source: format!("source{i}"),
                share: Yuan(*f),
            })
            .collect()
    }

    #[test]
    fn thirds_of_a_hundred_yuan() {
        let third = Decimal::ONE / Decimal::from(3);
        let last = Decimal::ONE - third - third;
        let parts = split(Decimal::new(10000, 2), &shares(&[third, third, last]));
        let amounts: Vec<Decimal> = parts.iter().map(|p| p.amount).collect();
        assert_eq!(
            amounts,
            vec![
                Decimal::new(3334, 2),
                Decimal::new(3333, 2),
                Decimal::new(3333, 2)
            ]
        );
    }

    proptest! {
        #[test]
        fn parts_add_up_and_stay_within_a_fen(cents in 0i64..100_000_000, weights in prop::collection::vec(1u32..1000, 1..6)) {
            let sum: u32 = weights.iter().sum();
            let mut fractions: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w) / Decimal::from(sum)).collect();
            let rest: Decimal = fractions[1..].iter().sum();
            fractions[0] = Decimal::ONE - rest;
            let total = Decimal::new(cents, 2);
            let parts = split(total, &shares(&fractions));
            prop_assert_eq!(parts.iter().map(|p| p.amount).sum::<Decimal>(), total);
            for (part, fraction) in parts.iter().zip(&fractions) {
                prop_assert!((part.amount - total * fraction).abs() < Decimal::new(1, 2));
                prop_assert_eq!(part.amount, part.amount.round_dp(2));
            }
        }
    }
}
