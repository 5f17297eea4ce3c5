//! Kunming 2018, 爱心超市 积分奖励机制 (seed 000): indicators for self-reliance,
//! policy knowledge, skills, production, migrant work, cooperation, hygiene,
//! habits, neighbours, family, collective spirit, filial piety, respect for
//! teachers and study; deductions and vetoes for seeking poor status,
//! superstition, idleness and lavish ceremonies. Procedure: home-visit scoring,
//! the household signs, public review, publication; one supervisor per village. The seed sets no caps and
//! no point values per indicator; the ranges below are the preset's choice.

use crate::policy::indicator::{Indicator, IndicatorKind::*};
use crate::policy::{Policy, Stage, WorkflowPolicy};

pub(super) fn policy() -> Policy {
    Policy {
        name: "kunming-2018".into(),
        categories: super::uncapped_categories(),
        workflow: WorkflowPolicy {
            stages: vec![Stage::VillageReview, Stage::Publication],
            // 明确一名监督员: one supervisor per village.
            min_supervisors: 1,
            ..WorkflowPolicy::default()
        },
        indicators: vec![
            Indicator::ranged("KM-A01", "自主脱贫", Award, 5, 20),
            Indicator::ranged("KM-A02", "政策知晓", Award, 1, 5),
            Indicator::ranged("KM-A03", "技能学习", Award, 2, 10),
            Indicator::ranged("KM-A04", "发展生产", Award, 5, 15),
            Indicator::ranged("KM-A05", "外出务工", Award, 5, 10),
            Indicator::ranged("KM-A06", "配合工作", Award, 1, 5),
            Indicator::ranged("KM-A07", "环境卫生", Award, 2, 10),
            Indicator::ranged("KM-A08", "生活习惯", Award, 1, 5),
            Indicator::ranged("KM-A09", "邻里关系", Award, 1, 5),
            Indicator::ranged("KM-A10", "家庭和睦", Award, 1, 5),
            Indicator::ranged("KM-A11", "集体观念", Award, 1, 5),
            Indicator::ranged("KM-A12", "孝老爱亲", Award, 2, 10),
            Indicator::ranged("KM-A13", "尊师重教", Award, 1, 5),
            Indicator::ranged("KM-A14", "学生学习", Award, 1, 5),
            Indicator::ranged("KM-D01", "好吃懒做", Deduction, 5, 10),
            Indicator::ranged("KM-D02", "大办红白喜事", Deduction, 5, 20),
            Indicator::fixed("KM-V01", "争当贫困户", Veto, 0),
            Indicator::fixed("KM-V02", "封建迷信", Veto, 0),
        ],
        ..Policy::default()
    }
}
