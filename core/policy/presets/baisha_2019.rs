//! Baisha county 2019, 电商惠农超市 (seed 004): 1 point = 1 yuan of goods;
//! caps per household, registered-poor 110 a month and 1335 a year, ordinary 68
//! and 831; the full approval chain; stores reimbursed monthly by county finance.

use crate::policy::indicator::{Indicator, IndicatorKind::*};
use crate::policy::{CategoryCaps, Policy};
use crate::primitives::Points;

pub(super) fn policy() -> Policy {
    let caps = |monthly, annual| CategoryCaps {
        monthly: Some(Points(monthly)),
        annual: Some(Points(annual)),
    };
    Policy {
        name: "baisha-2019".into(),
        categories: [
            ("poor".into(), caps(110, 1335)),
            ("ordinary".into(), caps(68, 831)),
        ]
        .into(),
        indicators: vec![
            Indicator::ranged("BS-A01", "发展生产、勤劳致富", Award, 5, 20),
            Indicator::ranged("BS-A02", "环境卫生整洁", Award, 5, 15),
            Indicator::ranged("BS-A03", "参加技能培训", Award, 5, 10),
            Indicator::ranged("BS-A04", "参加集体公益劳动", Award, 5, 15),
            Indicator::ranged("BS-A05", "孝老爱亲、家庭和睦", Award, 5, 10),
            Indicator::ranged("BS-A06", "子女入学、尊师重教", Award, 5, 10),
            Indicator::ranged("BS-A07", "熟悉扶贫政策", Award, 5, 10).limited(1),
            Indicator::ranged("BS-A08", "参与评比活动", Award, 5, 10).limited(1),
            Indicator::ranged("BS-D01", "环境卫生脏乱差", Deduction, 5, 10),
            Indicator::ranged("BS-D02", "不配合帮扶工作", Deduction, 5, 20),
            Indicator::fixed("BS-V01", "违法犯罪", Veto, 0),
        ],
        ..Policy::default()
    }
}
