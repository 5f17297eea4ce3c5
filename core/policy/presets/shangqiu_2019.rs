//! Shangqiu city 2019, 扶志扶智 (seed 003): ten named stars earned by
//! evaluation and worth points, a yearly commendation with extra points for
//! households with many stars, periodic village evaluation. The seed names no
//! amounts; the preset pays 10 points a star and 30 bonus points at 5 stars.
//! The filial-piety fund (孝善基金) takes children's monthly contributions for
//! registered-poor elders aged 60 and over; the seed names no match, the
//! preset matches 20%, half from county finance and half from donations.

use crate::policy::indicator::{Indicator, IndicatorKind};
use crate::policy::{FilialFundPolicy, FundingShare, NamedStarPolicy, Policy};
use crate::primitives::Points;
use crate::primitives::Yuan;
use rust_decimal::Decimal;

const STARS: [&str; 10] = [
    "增收致富之星",
    "政策明白之星",
    "移风易俗之星",
    "户容整洁之星",
    "反对迷信之星",
    "学用科技之星",
    "良好家风之星",
    "诚实守信之星",
    "模范守法之星",
    "热心公益之星",
];

pub(super) fn policy() -> Policy {
    let points_per_star = Points(10);
    Policy {
        name: "shangqiu-2019".into(),
        categories: super::uncapped_categories(),
        named_stars: NamedStarPolicy {
            stars: STARS.iter().map(|s| s.to_string()).collect(),
            points_per_star,
            bonus_min_stars: 5,
            bonus_points: Points(30),
        },
        indicators: STARS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                Indicator::fixed(
                    &format!("SQ-S{:02}", i + 1),
                    name,
                    IndicatorKind::Star,
                    points_per_star.get(),
                )
            })
            .collect(),
        filial_fund: FilialFundPolicy {
            match_rate: Yuan(Decimal::new(20, 2)),
            match_funding: vec![
                FundingShare {
                    source: "county_finance".into(),
                    share: Yuan(Decimal::new(5, 1)),
                },
                FundingShare {
                    source: "donation_fund".into(),
                    share: Yuan(Decimal::new(5, 1)),
                },
            ],
            ..FilialFundPolicy::default()
        },
        ..Policy::default()
    }
}
