//! Rong'an county 2023, 乡村振兴建设积分制 (seed 002): the household is the unit;
//! approved non-villagers may join; add, deduct and one-vote-veto items on the
//! village rules (村规民约); points accumulate; no tobacco, alcohol or luxury
//! goods; declare → evaluate → publicise → ledger → redeem. The seed sets no
//! caps and no township chain; the preset uses village review and publication.

use crate::policy::indicator::{Indicator, IndicatorKind::*};
use crate::policy::{Policy, Stage, WorkflowPolicy};

pub(super) fn policy() -> Policy {
    Policy {
        name: "rongan-2023".into(),
        categories: super::uncapped_categories(),
        banned_item_categories: vec!["tobacco".into(), "alcohol".into(), "luxury".into()],
        workflow: WorkflowPolicy {
            stages: vec![Stage::VillageReview, Stage::Publication],
            ..WorkflowPolicy::default()
        },
        indicators: vec![
            Indicator::ranged("RA-A01", "爱国爱党", Award, 2, 5),
            Indicator::ranged("RA-A02", "遵纪守法", Award, 2, 5),
            Indicator::ranged("RA-A03", "勤俭节约", Award, 1, 5),
            Indicator::ranged("RA-A04", "讲究卫生", Award, 2, 10),
            Indicator::ranged("RA-A05", "诚实守信", Award, 1, 5),
            Indicator::ranged("RA-A06", "孝老爱亲", Award, 2, 10),
            Indicator::ranged("RA-A07", "团结互助", Award, 1, 5),
            Indicator::ranged("RA-A08", "文明礼貌", Award, 1, 5),
            Indicator::ranged("RA-A09", "移风易俗", Award, 2, 10),
            Indicator::ranged("RA-A10", "参加村屯组织活动", Award, 2, 10),
            Indicator::ranged("RA-A11", "参与人居环境整治", Award, 2, 10),
            Indicator::ranged("RA-A12", "党员、乡贤带头示范", Award, 2, 10),
            Indicator::ranged("RA-D01", "违反村规民约", Deduction, 2, 20),
            Indicator::fixed("RA-V01", "爱党爱国、孝老爱亲关键指标不达标", Veto, 0),
            Indicator::fixed("RA-V02", "违法犯罪", Veto, 0),
        ],
        ..Policy::default()
    }
}
