//! Rules of the scoring workflow that the scenarios do not pin down by
//! example: posting a sheet equals posting its entries one by one through the
//! administrator's path in the fixed order; the ledgers agree with the
//! accounts; closes lock their period; bonuses count toward the caps the
//! policy names; the scoring state is a pure fold of its events.

use jifen::card::PinHashCost;
use jifen::report::{self, Ledger};
use jifen::scoring::{SheetId, SheetState};
use jifen::state::State;
use jifen::{Engine, EngineOptions, Event, Policy, VillageCode};
use proptest::prelude::*;
use serde_json::{json, Value};

/// An engine on `policy` with a Baisha-style village V01 in township T01:
/// scorers s1..s3, supervisors p1 p2, committee c1, officer o1, approver a1.
struct Village {
    engine: Engine,
    events: Vec<Event>,
}

/// An entry to score: household, indicator, points, date.
type Line<'a> = (&'a str, &'a str, i64, String);

fn at(date: &str) -> String {
    format!("{date}T02:00:00Z")
}

impl Village {
    fn new(policy: Value) -> Village {
        let policy = Policy::from_value(policy).unwrap();
        let options = EngineOptions::new(b"test").with_pin_hash_cost(PinHashCost::MINIMAL);
        let mut village = Village {
            engine: Engine::open_memory(policy, options).unwrap(),
            events: Vec::new(),
        };
        village.run(
            "admin",
            json!({"type": "register_actor", "actor": {"id": "admin", "roles": ["administrator"]}}),
            "2025-01-01",
            None,
        );
        let actors = [
            ("s1", "scorer", "V01"),
            ("s2", "scorer", "V01"),
            ("s3", "scorer", "V01"),
            ("p1", "supervisor", "V01"),
            ("p2", "supervisor", "V01"),
            ("c1", "village_committee", "V01"),
        ];
        for (id, role, place) in actors {
            village.run("admin", json!({"type": "register_actor", "actor": {"id": id, "roles": [role], "village": place}}), "2025-01-01", None);
        }
        for (id, role) in [("o1", "township_officer"), ("a1", "township_approver")] {
            village.run("admin", json!({"type": "register_actor", "actor": {"id": id, "roles": [role], "township": "T01"}}), "2025-01-01", None);
        }
        village
    }

    fn household(&mut self, id: &str, category: &str) {
        self.run(
            "admin",
            json!({"type": "register_household", "household": id, "head": id, "category": category,
                   "category_from": "2025-01-01",
                   "region": {"county": "C", "township": "T01", "village": "V01"}}),
            "2025-01-01",
            None,
        );
    }

    fn try_run(
        &mut self,
        actor: &str,
        command: Value,
        date: &str,
        reason: Option<&str>,
    ) -> Result<Value, jifen::Error> {
        let mut request = json!({"actor": actor, "at": at(date), "command": command});
        if let Some(reason) = reason {
            request["reason"] = json!(reason);
        }
        let answer: Value =
            serde_json::from_str(&self.engine.execute_json(&request.to_string())?).unwrap();
        let events: Vec<Event> = serde_json::from_value(answer["events"].clone()).unwrap();
        self.events.extend(events);
        Ok(answer["result"].clone())
    }

    fn run(&mut self, actor: &str, command: Value, date: &str, reason: Option<&str>) -> Value {
        self.try_run(actor, command.clone(), date, reason)
            .unwrap_or_else(|e| panic!("{command}: {e}"))
    }

    /// Opens `sheet` for `month`, adds `entries` (household, indicator,
    /// points, date), and takes it through every stage of the policy up to
    /// (not including) posting. Returns the day it may post.
    fn prepare(&mut self, sheet: &str, month: &str, entries: &[Line]) -> String {
        let open = format!("{month}-28");
        self.run(
            "s1",
            json!({"type": "open_sheet", "sheet": sheet, "village": "V01", "period": month}),
            &open,
            None,
        );
        for (household, indicator, points, date) in entries {
            self.run(
                "s1",
                json!({"type": "add_entry", "sheet": sheet, "household": household,
                       "indicator": indicator, "points": points, "date": date}),
                &open,
                None,
            );
        }
        for scorer in ["s1", "s2"] {
            self.run(
                scorer,
                json!({"type": "sign_sheet", "sheet": sheet}),
                &open,
                None,
            );
        }
        self.run(
            "s3",
            json!({"type": "submit_sheet", "sheet": sheet}),
            &open,
            None,
        );
        let stages: Vec<String> = self.engine.read(|s| {
            s.scoring.sheets[&SheetId(sheet.into())]
                .workflow
                .stages
                .iter()
                .map(|st| {
                    serde_json::to_value(st)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        });
        let mut post_on = open.clone();
        for stage in stages {
            let actor = match stage.as_str() {
                "village_review" => "c1",
                "township_review" => "o1",
                "approval" => "a1",
                _ => {
                    let result = self.run(
                        "c1",
                        json!({"type": "publish_sheet", "sheet": sheet}),
                        &open,
                        None,
                    );
                    let until = chrono::NaiveDate::parse_from_str(
                        result["until"].as_str().unwrap(),
                        "%Y-%m-%d",
                    )
                    .unwrap();
                    post_on = until.succ_opt().unwrap().to_string();
                    continue;
                }
            };
            self.run(
                actor,
                json!({"type": "review_sheet", "sheet": sheet, "stage": stage}),
                &open,
                None,
            );
        }
        post_on
    }

    fn post(&mut self, sheet: &str, on: &str) -> Result<Value, jifen::Error> {
        self.try_run(
            "admin",
            json!({"type": "post_sheet", "sheet": sheet}),
            on,
            None,
        )
    }

    fn query(&self, query: Value) -> Value {
        let answer = self
            .engine
            .execute_json(&json!({"query": query}).to_string())
            .unwrap();
        serde_json::from_str(&answer).unwrap()
    }
}

fn baisha_fast() -> Value {
    json!({"extends": "baisha-2019", "workflow": {"stages": ["village_review"]}})
}

/// One random entry: household index, kind (0 award, 1 deduction, 2 veto), points, day.
fn entries_strategy() -> impl Strategy<Value = Vec<(usize, u8, i64, u32)>> {
    prop::collection::vec((0usize..3, 0u8..8, 5i64..=20, 1u32..=28), 1..14)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Posting a sheet gives every household exactly the account it gets when
    /// an administrator posts the same entries one by one in the fixed order:
    /// the household's vetoes first, then everything by date and position.
    #[test]
    fn a_sheet_posts_as_its_entries_would_one_by_one(raw in entries_strategy(), prior in 0i64..100) {
        let households = ["H1", "H2", "H3"];
        let categories = ["poor", "ordinary", "ordinary"];
        let entries: Vec<Line> = raw
            .iter()
            .map(|(h, kind, points, day)| {
                let (indicator, points) = match kind {
                    0..=4 => ("BS-A01", *points),
                    5 | 6 => ("BS-D02", *points),
                    _ => ("BS-V01", 0),
                };
                (households[*h], indicator, points, format!("2025-03-{day:02}"))
            })
            .collect();

        let mut by_sheet = Village::new(baisha_fast());
        let mut by_hand = Village::new(baisha_fast());
        for village in [&mut by_sheet, &mut by_hand] {
            for (h, c) in households.iter().zip(categories) {
                village.household(h, c);
            }
            // An earlier import in the same month: a veto must forfeit it.
            village.run("admin", json!({"type": "post_award", "household": "H1", "date": "2025-03-01", "points": prior.max(1)}), "2025-03-01", Some("import"));
        }
        let post_on = by_sheet.prepare("S", "2025-03", &entries);
        by_sheet.post("S", &post_on).unwrap();

        let mut order: Vec<(usize, &Line)> = entries.iter().enumerate().collect();
        order.sort_by_key(|(i, (_, indicator, _, date))| (*indicator != "BS-V01", date.clone(), *i));
        for (_, (household, indicator, points, date)) in order {
            let command = match *indicator {
                "BS-A01" => json!({"type": "post_award", "household": household, "date": date, "points": points}),
                "BS-D02" => json!({"type": "post_deduction", "household": household, "date": date, "points": points}),
                _ => json!({"type": "post_veto", "household": household, "date": date}),
            };
            by_hand.run("admin", command, &post_on, Some("by hand"));
        }
        for household in households {
            let sheet = by_sheet.query(json!({"type": "account", "household": household}));
            let hand = by_hand.query(json!({"type": "account", "household": household}));
            prop_assert_eq!(&sheet, &hand, "{}", household);
        }
        prop_assert!(by_sheet.engine.check_invariants().is_ok());
    }
}

#[test]
fn the_ledger_totals_agree_with_the_accounts() {
    let mut v = Village::new(json!("baisha-2019"));
    for (h, c) in [("H1", "poor"), ("H2", "ordinary"), ("H3", "ordinary")] {
        v.household(h, c);
    }
    let day = |d: u32| format!("2025-03-{d:02}");
    let entries = vec![
        ("H1", "BS-A01", 20, day(2)),
        ("H1", "BS-A01", 20, day(3)),
        ("H1", "BS-A01", 20, day(4)),
        ("H1", "BS-A01", 20, day(5)),
        ("H1", "BS-A01", 20, day(6)),
        ("H1", "BS-A01", 20, day(7)),
        ("H2", "BS-A02", 15, day(2)),
        ("H2", "BS-D02", 20, day(3)),
        ("H3", "BS-A04", 15, day(4)),
        ("H3", "BS-V01", 0, day(9)),
    ];
    let post_on = v.prepare("S", "2025-03", &entries);
    v.post("S", &post_on).unwrap();
    let village = VillageCode("V01".into());
    let month = "2025-03".parse().unwrap();
    let detail = v
        .engine
        .read(|s| report::points_detail(s, &village, month))
        .unwrap();
    let all = v.engine.check_invariants().unwrap();
    let t = &detail.totals;
    assert_eq!(
        (
            t.awarded,
            t.credited,
            t.capped,
            t.vetoed,
            t.deducted,
            t.unapplied
        ),
        (
            all.awarded,
            all.credited,
            all.capped,
            all.vetoed,
            all.deducted,
            all.unapplied
        )
    );
    assert_eq!(t.balance, all.implied_balance());
    for row in &detail.households {
        assert_eq!(row.awarded, row.credited + row.capped + row.vetoed);
        assert_eq!(row.balance, row.credited - row.deducted);
    }
    assert_eq!(t.capped.get(), 10, "H1's sixth award crosses the 110 cap");
    assert_eq!(t.entries, 10);

    let lines = v
        .engine
        .read(|s| report::entry_ledger(s, &village, month))
        .unwrap();
    let credited: i64 = lines.lines.iter().map(|l| l.credited.get()).sum();
    assert_eq!(credited, t.credited.get());
    let csv = lines.csv(false);
    assert!(csv.starts_with("\u{feff}sheet,position,date,household"));
    assert_eq!(csv.matches("\r\n").count(), 1 + lines.lines.len());
    assert!(
        csv.contains("S,1,2025-03-02,H1,H1,BS-A01,发展生产、勤劳致富,award,20,20,0,0,0,0,,,\r\n")
    );
}

#[test]
fn a_period_closes_only_without_pending_sheets_and_then_takes_no_more_postings() {
    let mut v = Village::new(
        json!({"extends": "longquan-2023", "workflow": {"stages": ["village_review"]}}),
    );
    v.household("H1", "ordinary");
    let post_on = v.prepare(
        "S1",
        "2025-03",
        &[("H1", "LQ-A01", 10, "2025-03-03".into())],
    );
    let close = json!({"type": "close_period", "village": "V01", "period": "2025-03"});
    let error = v
        .try_run("o1", close.clone(), "2025-04-02", None)
        .unwrap_err();
    assert_eq!(
        error.code().name(),
        "sheet_pending",
        "S1 is reviewed, not posted"
    );
    v.post("S1", &post_on).unwrap();
    v.run(
        "s1",
        json!({"type": "open_sheet", "sheet": "S2", "village": "V01", "period": "2025-03"}),
        "2025-03-30",
        None,
    );
    v.run("o1", close, "2025-04-02", None);
    v.run(
        "s1",
        json!({"type": "add_entry", "sheet": "S2", "household": "H1", "indicator": "LQ-A02", "points": 4, "date": "2025-03-04"}),
        "2025-04-03",
        None,
    );
    for scorer in ["s1", "s2"] {
        v.run(
            scorer,
            json!({"type": "sign_sheet", "sheet": "S2"}),
            "2025-04-03",
            None,
        );
    }
    v.run(
        "s3",
        json!({"type": "submit_sheet", "sheet": "S2"}),
        "2025-04-03",
        None,
    );
    v.run(
        "c1",
        json!({"type": "review_sheet", "sheet": "S2", "stage": "village_review"}),
        "2025-04-03",
        None,
    );
    let error = v.post("S2", "2025-04-03").unwrap_err();
    assert_eq!(
        error.code().name(),
        "period_closed",
        "a draft left open cannot post into the closed month"
    );
    assert_eq!(
        v.query(json!({"type": "balance", "household": "H1"}))["balance"],
        15,
        "10 from S1 and the 5-point bonus for rank 1"
    );
}

#[test]
fn a_ranking_bonus_uses_the_caps_the_policy_names() {
    let bonus = |monthly: bool| {
        let mut v = Village::new(json!({
            "extends": "baisha-2019",
            "workflow": {"stages": ["village_review"]},
            "ranking": {"bonus": {"kind": "flat", "points": 20}, "counts_toward_monthly_cap": monthly}
        }));
        v.household("H1", "poor");
        let entries: Vec<Line> = (1..=5)
            .map(|d| ("H1", "BS-A01", 20, format!("2025-03-0{d}")))
            .collect();
        let on = v.prepare("S", "2025-03", &entries);
        v.post("S", &on).unwrap();
        let close = v.run(
            "o1",
            json!({"type": "close_period", "village": "V01", "period": "2025-03"}),
            "2025-04-02",
            None,
        );
        (
            close["lines"][0]["credited"].clone(),
            close["lines"][0]["capped"].clone(),
        )
    };
    assert_eq!(
        bonus(true),
        (json!(10), json!(10)),
        "100 credited leaves 10 under the 110 cap"
    );
    assert_eq!(
        bonus(false),
        (json!(20), json!(0)),
        "the default bonus skips the monthly cap"
    );
}

#[test]
fn a_workflow_without_publication_posts_after_its_last_review() {
    let mut v = Village::new(
        json!({"extends": "baisha-2019", "workflow": {"stages": ["village_review", "approval"]}}),
    );
    v.household("H1", "poor");
    let on = v.prepare("S", "2025-03", &[("H1", "BS-A02", 10, "2025-03-03".into())]);
    let posted = v.post("S", &on).unwrap();
    assert_eq!(posted["credited"], 10);
    let notice = v.query(json!({"type": "sheet", "sheet": "S"}))["notice"].clone();
    assert!(notice.is_null(), "no public notice in this workflow");
}

#[test]
fn the_published_fingerprint_is_of_the_list_as_posted_on_the_board() {
    let mut v = Village::new(json!("kunming-2018"));
    v.household("H1", "poor");
    v.household("H2", "poor");
    let entries = [
        ("H1", "KM-A01", 12, "2025-03-03".to_string()),
        ("H2", "KM-A02", 3, "2025-03-04".to_string()),
    ];
    v.prepare("A", "2025-03", &entries);
    v.prepare("B", "2025-03", &entries);
    let (a, b) = v.engine.read(|s| {
        let a = &s.scoring.sheets[&SheetId("A".into())];
        let b = &s.scoring.sheets[&SheetId("B".into())];
        let notice = a.notice.clone().unwrap();
        let mut copy = a.clone();
        copy.entries = notice.entries.clone();
        assert_eq!(
            jifen::scoring::sheet::fingerprint(&copy),
            notice.fingerprint
        );
        (notice.fingerprint, b.notice.clone().unwrap().fingerprint)
    });
    assert_eq!(a.len(), 64);
    assert_ne!(a, b, "the sheet's id is part of what is fingerprinted");
}

#[test]
fn the_scoring_state_is_a_fold_of_its_events() {
    let mut v = Village::new(json!("longquan-2023"));
    v.household("H1", "ordinary");
    v.household("H2", "ordinary");
    let on = v.prepare(
        "S",
        "2025-03",
        &[
            ("H1", "LQ-A01", 8, "2025-03-02".into()),
            ("H2", "LQ-A04", 6, "2025-03-03".into()),
        ],
    );
    v.run(
        "admin",
        json!({"type": "lodge_objection", "sheet": "S", "entry": 2, "note": "异议"}),
        "2025-03-29",
        None,
    );
    v.run("p1", json!({"type": "resolve_objection", "sheet": "S", "objection": 1, "resolution": {"kind": "amend", "points": 4}}), "2025-03-30", Some("核实"));
    v.post("S", &on).unwrap();
    v.run(
        "o1",
        json!({"type": "close_period", "village": "V01", "period": "2025-03"}),
        "2025-04-10",
        None,
    );
    v.run(
        "o1",
        json!({"type": "file_township_report", "township": "T01", "month": "2025-03"}),
        "2025-04-12",
        None,
    );
    let mut folded = State::default();
    for event in &v.events {
        folded.apply(event);
    }
    v.engine.read(|s| assert_eq!(folded.scoring, s.scoring));
    v.engine.read(|s| {
        let sheet = &s.scoring.sheets[&SheetId("S".into())];
        assert_eq!(sheet.state, SheetState::Posted);
        assert_eq!(sheet.entries[1].points.get(), 4);
        assert_eq!(sheet.notice.as_ref().unwrap().entries[1].points.get(), 6);
    });
}

#[test]
fn reviewers_act_only_for_their_own_village_and_township() {
    let mut v = Village::new(baisha_fast());
    v.household("H1", "poor");
    v.run("admin", json!({"type": "register_actor", "actor": {"id": "c9", "roles": ["village_committee"], "village": "V09"}}), "2025-01-01", None);
    v.run("admin", json!({"type": "register_actor", "actor": {"id": "o9", "roles": ["township_officer"], "township": "T09"}}), "2025-01-01", None);
    v.run(
        "s1",
        json!({"type": "open_sheet", "sheet": "S", "village": "V01", "period": "2025-03"}),
        "2025-03-28",
        None,
    );
    v.run(
        "s2",
        json!({"type": "sign_sheet", "sheet": "S"}),
        "2025-03-28",
        None,
    );
    v.run(
        "s1",
        json!({"type": "sign_sheet", "sheet": "S"}),
        "2025-03-28",
        None,
    );
    v.run(
        "s3",
        json!({"type": "submit_sheet", "sheet": "S"}),
        "2025-03-28",
        None,
    );
    let review = json!({"type": "review_sheet", "sheet": "S", "stage": "village_review"});
    let error = v
        .try_run("c9", review.clone(), "2025-03-29", None)
        .unwrap_err();
    assert_eq!(error.code().name(), "outside_jurisdiction");
    let error = v
        .try_run(
            "o9",
            json!({"type": "post_sheet", "sheet": "S"}),
            "2025-03-29",
            None,
        )
        .unwrap_err();
    assert_eq!(error.code().name(), "outside_jurisdiction");
    v.run("c1", review, "2025-03-29", None);
    assert_eq!(v.post("S", "2025-03-30").unwrap()["state"], "posted");
}

#[test]
fn a_declaration_joins_only_a_sheet_of_its_village() {
    let mut v = Village::new(json!("rongan-2023"));
    v.household("H1", "ordinary");
    v.run("admin", json!({"type": "register_household", "household": "H9", "head": "H9", "category": "ordinary",
        "region": {"county": "C", "township": "T01", "village": "V09"}}), "2025-01-01", None);
    v.run("admin", json!({"type": "declare", "declaration": "D9", "household": "H9", "indicator": "RA-A04", "date": "2025-03-02"}), "2025-03-02", None);
    let error = v
        .try_run("admin", json!({"type": "declare", "declaration": "DX", "household": "H1", "indicator": "RA-D01", "date": "2025-03-02"}), "2025-03-02", None)
        .unwrap_err();
    assert_eq!(
        error.code().name(),
        "invalid_value",
        "a deduction is not a deed to declare"
    );
    v.run(
        "s1",
        json!({"type": "open_sheet", "sheet": "S", "village": "V01", "period": "2025-03"}),
        "2025-03-28",
        None,
    );
    let error = v
        .try_run(
            "s1",
            json!({"type": "accept_declaration", "declaration": "D9", "sheet": "S"}),
            "2025-03-28",
            None,
        )
        .unwrap_err();
    assert_eq!(error.code().name(), "household_not_in_village");
    let declared = v.query(json!({"type": "declaration", "declaration": "D9"}));
    assert_eq!(declared["status"], "pending");
}
