//! Longquan town 2023, 乡风文明积分超市 (seed 001): monthly registration,
//! quarterly redemption and publication; each month the top 10 households of a
//! village get bonus points counted into the quarter's total; year-end star
//! credit households at 200/250/300 points. No township review. The seed names
//! no bonus amount; the preset pays a flat 5 points. The beautiful-courtyard
//! item is judged once a month.

use crate::policy::indicator::{Indicator, IndicatorKind::*};
use crate::policy::{Policy, RankBonus, RankingPolicy, Stage, WorkflowPolicy};
use crate::primitives::Points;

pub(super) fn policy() -> Policy {
    Policy {
        name: "longquan-2023".into(),
        categories: super::uncapped_categories(),
        ranking: RankingPolicy {
            top_n: 10,
            bonus: RankBonus::Flat(Points(5)),
            ..RankingPolicy::default()
        },
        workflow: WorkflowPolicy {
            stages: vec![Stage::VillageReview, Stage::Approval, Stage::Publication],
            ..WorkflowPolicy::default()
        },
        indicators: vec![
            Indicator::ranged("LQ-A01", "关爱留守老人儿童", Award, 2, 10),
            Indicator::ranged("LQ-A02", "义务植树", Award, 2, 5),
            Indicator::ranged("LQ-A03", "义诊义剪", Award, 2, 5),
            Indicator::ranged("LQ-A04", "调解矛盾纠纷", Award, 2, 10),
            Indicator::ranged("LQ-A05", "人居环境整治", Award, 2, 10),
            Indicator::ranged("LQ-A06", "美丽庭院", Award, 5, 10).limited(1),
            Indicator::ranged("LQ-A07", "帮助群众排忧解难", Award, 2, 10),
            Indicator::ranged("LQ-A08", "配合农村宅基地改革", Award, 2, 10),
            Indicator::ranged("LQ-A09", "参与社会治安综合治理", Award, 2, 10),
            Indicator::ranged("LQ-D01", "违反村规民约", Deduction, 2, 10),
            Indicator::fixed("LQ-V01", "违法犯罪", Veto, 0),
        ],
        ..Policy::default()
    }
}
