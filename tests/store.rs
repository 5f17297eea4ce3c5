//! Stores and redemption: the rules a kiosk vendor and a county rely on,
//! through the same JSON door every surface uses. (The store scenarios are
//! replayed with all the others by tests/scenarios.rs.)

use std::sync::{Arc, Mutex};

use jifen::card::PinHashCost;
use jifen::journal::{Journal, JournalError, Record};
use jifen::{Engine, EngineOptions, Policy};
use proptest::prelude::*;
use serde_json::{json, Value};

fn head_seq(engine: &Engine) -> u64 {
    engine.verify().expect("the journal verifies").seq
}

fn options() -> EngineOptions {
    EngineOptions::new(b"scenario-pepper").with_pin_hash_cost(PinHashCost::MINIMAL)
}

// ---------------------------------------------------------------- a store kit

/// A county with its officials, one store, households with cards, and helpers.
struct Kit {
    engine: Engine,
}

/// `2025-03-10 10:00` in China as an RFC 3339 instant.
fn at(day: u32, hour: u32, minute: u32) -> String {
    let china = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let local = chrono::NaiveDate::from_ymd_opt(2025, 3, day)
        .unwrap()
        .and_hms_opt(hour, minute, 0)
        .unwrap()
        .and_local_timezone(china)
        .unwrap();
    local.with_timezone(&chrono::Utc).to_rfc3339()
}

impl Kit {
    fn open_on(journal: Box<dyn Journal>, policy: &str) -> Kit {
        let policy = Policy::from_json(policy).unwrap();
        Kit {
            engine: Engine::open_journal(journal, Some(policy), options()).unwrap(),
        }
    }

    fn new(policy: &str) -> Kit {
        let kit = Kit {
            engine: Engine::open_memory(Policy::from_json(policy).unwrap(), options()).unwrap(),
        };
        kit.setup();
        kit
    }

    fn setup(&self) {
        self.ok(
            "admin",
            json!({"type": "register_actor", "actor": {"id": "admin", "roles": ["administrator"]}}),
        );
        for (id, role) in [
            ("keeper", "store_keeper"),
            ("keeper2", "store_keeper"),
            ("county", "county_office"),
            ("bureau", "price_bureau"),
            ("sup", "supervisor"),
        ] {
            self.ok(
                "admin",
                json!({"type": "register_actor", "actor": {"id": id, "roles": [role]}}),
            );
        }
        for (store, keeper) in [("S1", "keeper"), ("S2", "keeper2")] {
            self.ok(
                "admin",
                json!({"type": "register_store", "store": store, "name": format!("{store}超市"), "kind": "village_store",
                       "region": {"county": "C", "township": "T", "village": "V01"}, "reimbursed": true,
                       "keepers": [keeper]}),
            );
        }
    }

    fn request(&self, request: Value) -> Result<Value, jifen::Error> {
        let answer = self.engine.execute_json(&request.to_string())?;
        Ok(serde_json::from_str::<Value>(&answer).unwrap()["result"].clone())
    }

    fn run(&self, actor: &str, command: Value) -> Result<Value, jifen::Error> {
        self.request(
            json!({"actor": actor, "at": at(10, 10, 0), "reason": "test", "command": command}),
        )
    }

    fn ok(&self, actor: &str, command: Value) -> Value {
        let shown = command.to_string();
        self.run(actor, command)
            .unwrap_or_else(|e| panic!("{shown}: {e}"))
    }

    fn fails(&self, actor: &str, command: Value) -> &'static str {
        let shown = command.to_string();
        match self.run(actor, command) {
            Ok(answer) => panic!("{shown} succeeded: {answer}"),
            Err(e) => e.code().name(),
        }
    }

    fn query(&self, query: Value) -> Value {
        let answer = self
            .engine
            .execute_json(&json!({ "query": query }).to_string())
            .unwrap();
        serde_json::from_str(&answer).unwrap()
    }

    fn household(&self, household: &str, card: &str, points: i64) {
        self.ok(
            "admin",
            json!({"type": "register_household", "household": household,
                   "region": {"county": "C", "township": "T", "village": "V01"},
                   "head": format!("户主{household}"), "category": "poor", "category_from": "2025-01-01"}),
        );
        self.ok(
            "admin",
            json!({"type": "issue_card", "card": card, "household": household, "pin": "123456"}),
        );
        if points > 0 {
            self.ok(
                "admin",
                json!({"type": "post_award", "household": household, "date": "2025-03-01", "points": points}),
            );
        }
    }

    /// Lists an item at S1 and takes a price through the approval chain.
    fn item(&self, sku: &str, price: Value) {
        self.ok(
            "keeper",
            json!({"type": "list_item", "store": "S1", "sku": sku, "name": sku, "category": "daily_goods"}),
        );
        self.approve(sku, price);
    }

    fn approve(&self, sku: &str, price: Value) -> u64 {
        let proposed = self.ok(
            "keeper",
            json!({"type": "propose_price", "store": "S1", "sku": sku, "price": price, "market_price": "5.00"}),
        );
        let n = proposed["proposal"].as_u64().unwrap();
        self.ok(
            "county",
            json!({"type": "forward_price", "store": "S1", "sku": sku, "proposal": n}),
        );
        self.ok(
            "bureau",
            json!({"type": "approve_price", "store": "S1", "sku": sku, "proposal": n}),
        );
        n
    }

    fn receive(&self, sku: &str, quantity: i64, expires: Option<&str>) -> String {
        let lot = self.ok(
            "keeper",
            json!({"type": "receive_stock", "store": "S1", "sku": sku, "quantity": quantity, "expires": expires,
                   "source": {"kind": "purchased", "purchase_ref": "PO-1", "unit_cost": "4.20"}}),
        );
        lot["id"].as_str().unwrap().to_owned()
    }

    fn redeem(&self, card: &str, sku: &str, quantity: i64) -> Result<Value, jifen::Error> {
        self.run(
            "keeper",
            json!({"type": "redeem", "store": "S1", "card": card, "pin": "123456",
                   "lines": [{"sku": sku, "quantity": quantity}], "signature_ref": "SIG"}),
        )
    }

    fn balance(&self, household: &str) -> i64 {
        self.query(json!({"type": "balance", "household": household}))["balance"]
            .as_i64()
            .unwrap()
    }

    fn on_hand(&self, lot: &str) -> i64 {
        let ledger = self.query(json!({"type": "stock_ledger", "store": "S1"}));
        ledger["lots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["lot"] == lot)
            .map(|l| l["on_hand"].as_i64().unwrap())
            .unwrap()
    }

    fn head(&self) -> u64 {
        head_seq(&self.engine)
    }
}

fn lots_of(receipt: &Value) -> Vec<(String, i64)> {
    receipt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["lots"].as_array().unwrap().iter())
        .map(|u| {
            (
                u["lot"].as_str().unwrap().to_owned(),
                u["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- prices

#[test]
fn a_price_passes_keeper_county_office_and_bureau_in_order() {
    let kit = Kit::new("baisha-2019");
    kit.ok("keeper", json!({"type": "list_item", "store": "S1", "sku": "OIL", "name": "油", "category": "cooking_oil"}));
    let propose = json!({"type": "propose_price", "store": "S1", "sku": "OIL", "price": {"points": 30}, "market_price": "29.90"});
    assert_eq!(kit.fails("keeper2", propose.clone()), "not_store_keeper");
    kit.ok("keeper", propose.clone());
    assert_eq!(
        kit.fails("keeper", propose.clone()),
        "price_proposal_pending"
    );
    let approve = json!({"type": "approve_price", "store": "S1", "sku": "OIL", "proposal": 1});
    assert_eq!(
        kit.fails("bureau", approve.clone()),
        "invalid_price_transition",
        "the bureau sees it only once forwarded"
    );
    assert_eq!(
        kit.fails(
            "keeper",
            json!({"type": "forward_price", "store": "S1", "sku": "OIL", "proposal": 1})
        ),
        "missing_role"
    );
    kit.ok(
        "county",
        json!({"type": "forward_price", "store": "S1", "sku": "OIL", "proposal": 1}),
    );
    assert_eq!(kit.fails("county", approve.clone()), "missing_role");
    kit.ok("bureau", approve.clone());
    assert_eq!(
        kit.fails("bureau", approve),
        "invalid_price_transition",
        "approved once"
    );

    // A price change is a new proposal and a new approval; until then the old price holds.
    kit.household("H1", "C1", 100);
    kit.receive("OIL", 5, None);
    kit.ok("keeper", json!({"type": "propose_price", "store": "S1", "sku": "OIL", "price": {"points": 25}, "market_price": "24.90"}));
    assert_eq!(kit.redeem("C1", "OIL", 1).unwrap()["points"], 30);
    kit.ok(
        "county",
        json!({"type": "forward_price", "store": "S1", "sku": "OIL", "proposal": 2}),
    );
    kit.ok(
        "bureau",
        json!({"type": "approve_price", "store": "S1", "sku": "OIL", "proposal": 2}),
    );
    let receipt = kit.redeem("C1", "OIL", 1).unwrap();
    assert_eq!(
        (
            receipt["points"].clone(),
            receipt["lines"][0]["price_proposal"].clone()
        ),
        (json!(25), json!(2))
    );
    let items = kit.query(json!({"type": "store_items", "store": "S1", "at": at(10, 12, 0)}));
    let statuses: Vec<&Value> = items["items"][0]["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["status"])
        .collect();
    assert_eq!(statuses, [&json!("superseded"), &json!("approved")]);
}

#[test]
fn one_person_cannot_take_two_steps_of_a_price() {
    let kit = Kit::new("baisha-2019");
    kit.ok(
        "admin",
        json!({"type": "register_actor", "actor": {"id": "many_hats", "roles": ["store_keeper", "county_office", "price_bureau"]}}),
    );
    kit.ok(
        "admin",
        json!({"type": "update_store", "store": "S1", "keepers": ["keeper", "many_hats"]}),
    );
    kit.ok(
        "many_hats",
        json!({"type": "list_item", "store": "S1", "sku": "TEA", "name": "茶", "category": "food"}),
    );
    kit.ok("many_hats", json!({"type": "propose_price", "store": "S1", "sku": "TEA", "price": {"points": 9}, "market_price": "9.00"}));
    let forward = json!({"type": "forward_price", "store": "S1", "sku": "TEA", "proposal": 1});
    assert_eq!(
        kit.fails("many_hats", forward.clone()),
        "price_duty_conflict"
    );
    kit.ok("county", forward);
    let approve = json!({"type": "approve_price", "store": "S1", "sku": "TEA", "proposal": 1});
    assert_eq!(
        kit.fails("many_hats", approve.clone()),
        "price_duty_conflict"
    );
    kit.ok("bureau", approve);
}

#[test]
fn rejections_need_a_reason_and_the_right_step() {
    let kit = Kit::new("baisha-2019");
    kit.ok(
        "keeper",
        json!({"type": "list_item", "store": "S1", "sku": "TEA", "name": "茶", "category": "food"}),
    );
    kit.ok("keeper", json!({"type": "propose_price", "store": "S1", "sku": "TEA", "price": {"points": 80}, "market_price": "20.00"}));
    let reject = json!({"type": "reject_price", "store": "S1", "sku": "TEA", "proposal": 1});
    let no_reason = kit
        .request(json!({"actor": "county", "command": reject.clone()}))
        .unwrap_err();
    assert_eq!(no_reason.code().name(), "invalid_value");
    assert_eq!(
        kit.fails("bureau", reject.clone()),
        "invalid_price_transition",
        "not forwarded yet"
    );
    kit.ok("county", reject);
    let items = kit.query(json!({"type": "store_items", "store": "S1"}));
    assert_eq!(items["items"][0]["proposals"][0]["status"], "rejected");
    assert_eq!(items["items"][0]["proposals"][0]["rejection"], "test");
    assert_eq!(items["items"][0]["price"], Value::Null);
    // A rejected proposal no longer blocks a new one.
    kit.ok("keeper", json!({"type": "propose_price", "store": "S1", "sku": "TEA", "price": {"points": 20}, "market_price": "20.00"}));
}

#[test]
fn banned_categories_are_refused_whatever_their_case() {
    let kit = Kit::new("baisha-2019");
    for category in ["tobacco", "Alcohol", " luxury "] {
        let listing = json!({"type": "list_item", "store": "S1", "sku": "X", "name": "X", "category": category});
        assert_eq!(
            kit.fails("keeper", listing),
            "banned_category",
            "{category}"
        );
    }
}

#[test]
fn absurd_quantities_prices_and_amounts_are_refused_not_overflowed() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("RICE", json!({"points": 10}));
    let huge = json!({"type": "propose_price", "store": "S1", "sku": "RICE", "price": {"points": i64::MAX}, "market_price": "1.00"});
    assert_eq!(kit.fails("keeper", huge), "invalid_value");
    let rich = json!({"type": "propose_price", "store": "S1", "sku": "RICE", "price": {"points": 5},
                      "market_price": "79228162514264337593543950335"});
    assert_eq!(kit.fails("keeper", rich), "invalid_value");
    let flood = |quantity: i64, cost: &str| {
        json!({"type": "receive_stock", "store": "S1", "sku": "RICE", "quantity": quantity,
               "source": {"kind": "purchased", "purchase_ref": "PO", "unit_cost": cost}})
    };
    assert_eq!(
        kit.fails("keeper", flood(i64::MAX, "1.00")),
        "invalid_value"
    );
    assert_eq!(
        kit.fails("keeper", flood(10, "79228162514264337593543950335")),
        "invalid_value"
    );
    kit.receive("RICE", 10, None);
    assert_eq!(
        kit.redeem("C1", "RICE", i64::MAX)
            .unwrap_err()
            .code()
            .name(),
        "invalid_value"
    );
    assert_eq!(
        kit.redeem("C1", "RICE", 0).unwrap_err().code().name(),
        "invalid_value"
    );
    assert_eq!(kit.balance("H1"), 100);
}

// ---------------------------------------------------------------- stock

#[test]
fn redemption_takes_first_expiring_then_oldest_and_never_expired_lots() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("MILK", json!({"points": 2}));
    let old_far = kit.receive("MILK", 3, Some("2025-08-01"));
    let expires_first = kit.receive("MILK", 5, Some("2025-03-11"));
    let never = kit.receive("MILK", 3, None);
    let near = kit.receive("MILK", 2, Some("2025-04-01"));
    let near_younger = kit.receive("MILK", 2, Some("2025-04-01"));
    // On 12 March the lot that expired on the 11th is skipped.
    let receipt = kit
        .request(json!({"actor": "keeper", "at": at(12, 9, 0), "command": {"type": "redeem", "store": "S1",
            "card": "C1", "pin": "123456", "lines": [{"sku": "MILK", "quantity": 8}], "signature_ref": "S"}}))
        .unwrap();
    assert_eq!(
        lots_of(&receipt),
        [
            (near.clone(), 2),
            (near_younger.clone(), 2),
            (old_far.clone(), 3),
            (never.clone(), 1)
        ]
    );
    assert_eq!(kit.on_hand(&expires_first), 5);
    assert_eq!(kit.on_hand(&near), 0);
    assert_eq!(kit.on_hand(&never), 2);
}

#[test]
fn expired_goods_are_never_received_or_handed_out() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("BREAD", json!({"points": 1}));
    let stale = json!({"type": "receive_stock", "store": "S1", "sku": "BREAD", "quantity": 1, "expires": "2025-03-09",
                       "source": {"kind": "purchased", "purchase_ref": "PO", "unit_cost": "1.00"}});
    assert_eq!(kit.fails("keeper", stale), "invalid_value");
    let lot = kit.receive("BREAD", 4, Some("2025-03-10"));
    // Usable on its expiry date itself, not after.
    kit.redeem("C1", "BREAD", 1).unwrap();
    let next_day = kit.request(json!({"actor": "keeper", "at": at(11, 9, 0), "command": {"type": "redeem",
        "store": "S1", "card": "C1", "pin": "123456", "lines": [{"sku": "BREAD", "quantity": 1}], "signature_ref": "S"}}));
    assert_eq!(next_day.unwrap_err().code().name(), "only_expired_stock");
    // Writing it off as expired is allowed only once it is.
    let write_off = |day| {
        json!({"actor": "keeper", "at": at(day, 9, 0), "reason": "过期", "command": {"type": "write_off_stock",
               "store": "S1", "lot": lot, "quantity": 3, "cause": "expired"}})
    };
    assert_eq!(
        kit.request(write_off(10)).unwrap_err().code().name(),
        "lot_not_expired"
    );
    kit.request(write_off(11)).unwrap();
    assert_eq!(kit.on_hand(&lot), 0);
    let ledger = kit.query(json!({"type": "stock_ledger", "store": "S1"}));
    assert_eq!(ledger["lots"][0]["adjustments"][0]["reason"], "过期");
    assert_eq!(ledger["lots"][0]["stock_out"], 4);
}

#[test]
fn write_offs_and_counts_keep_in_minus_out_equal_to_on_hand() {
    let kit = Kit::new("baisha-2019");
    kit.item("SOAP", json!({"points": 3}));
    let lot = kit.receive("SOAP", 10, None);
    let write_off = json!({"type": "write_off_stock", "store": "S1", "lot": lot, "quantity": 11, "cause": "damaged"});
    assert_eq!(kit.fails("keeper", write_off), "insufficient_lot_stock");
    kit.ok("keeper", json!({"type": "write_off_stock", "store": "S1", "lot": lot, "quantity": 2, "cause": "damaged"}));
    let no_reason = kit.request(
        json!({"actor": "keeper", "at": at(10, 11, 0), "command": {"type": "count_stock",
        "store": "S1", "counts": [{"lot": lot, "counted": 7}]}}),
    );
    assert_eq!(
        no_reason.unwrap_err().code().name(),
        "invalid_value",
        "a difference needs a reason"
    );
    let counted = kit.ok(
        "keeper",
        json!({"type": "count_stock", "store": "S1", "counts": [{"lot": lot, "counted": 7}]}),
    );
    assert_eq!(counted["differences"], 1);
    assert_eq!(kit.on_hand(&lot), 7);
    kit.ok(
        "keeper",
        json!({"type": "count_stock", "store": "S1", "counts": [{"lot": lot, "counted": 9}]}),
    );
    let ledger = kit.query(json!({"type": "stock_ledger", "store": "S1"}));
    let row = &ledger["lots"][0];
    assert_eq!(
        (
            row["stock_in"].as_i64(),
            row["stock_out"].as_i64(),
            row["on_hand"].as_i64()
        ),
        (Some(12), Some(3), Some(9))
    );
    let causes: Vec<&Value> = row["adjustments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["cause"])
        .collect();
    assert_eq!(
        causes,
        [
            &json!("damaged"),
            &json!("count_shortage"),
            &json!("count_surplus")
        ]
    );
    kit.engine.check_invariants().unwrap();
}

#[test]
fn invariants_catch_stock_that_does_not_add_up() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("SOAP", json!({"points": 3}));
    let lot = kit.receive("SOAP", 10, None);
    kit.redeem("C1", "SOAP", 2).unwrap();
    let state = kit.engine.read(|s| s.clone());
    state.check_invariants().unwrap();
    let lot = jifen::store::LotId(lot);
    let mut tampered = state.clone();
    tampered
        .stores
        .stores
        .get_mut(&"S1".into())
        .unwrap()
        .lots
        .get_mut(&lot)
        .unwrap()
        .on_hand += 1;
    assert!(tampered.check_invariants().unwrap_err().contains("on hand"));
    let mut tampered = state.clone();
    let l = tampered
        .stores
        .stores
        .get_mut(&"S1".into())
        .unwrap()
        .lots
        .get_mut(&lot)
        .unwrap();
    l.redeemed -= 1;
    l.on_hand += 1;
    assert!(tampered
        .check_invariants()
        .unwrap_err()
        .contains("receipts"));
    let mut tampered = state;
    tampered
        .accounts
        .get_mut(&"H1".into())
        .unwrap()
        .totals
        .redeemed += jifen::Points(1);
    assert!(tampered.check_invariants().is_err());
}

// ---------------------------------------------------------------- redemption

#[test]
fn a_keeper_redeems_only_at_their_own_store_and_nothing_is_recorded_otherwise() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("SOAP", json!({"points": 3}));
    kit.receive("SOAP", 10, None);
    let before = kit.head();
    let other = kit.run(
        "keeper2",
        json!({"type": "redeem", "store": "S1", "card": "C1", "pin": "000000",
               "lines": [{"sku": "SOAP", "quantity": 1}], "signature_ref": "S"}),
    );
    assert_eq!(other.unwrap_err().code().name(), "not_store_keeper");
    assert_eq!(kit.head(), before, "the PIN was not even tried");
    let card = kit.query(json!({"type": "card", "card": "C1"}));
    assert_eq!(card["failed_attempts"], 0);
    let blank = kit.run(
        "keeper",
        json!({"type": "redeem", "store": "S1", "card": "C1", "pin": "123456",
               "lines": [{"sku": "SOAP", "quantity": 1}], "signature_ref": " "}),
    );
    assert_eq!(
        blank.unwrap_err().code().name(),
        "invalid_value",
        "the household's signature is recorded"
    );
    assert_eq!(kit.balance("H1"), 100);
}

#[test]
fn a_basket_debits_points_and_stock_in_one_record() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("SOAP", json!({"points": 3}));
    kit.item("RICE", json!({"points": 20}));
    kit.receive("SOAP", 10, None);
    kit.receive("RICE", 10, None);
    let before = kit.head();
    let receipt = kit
        .run(
            "keeper",
            json!({"type": "redeem", "store": "S1", "card": "C1", "pin": "123456", "signature_ref": "S",
                   "lines": [{"sku": "SOAP", "quantity": 2}, {"sku": "RICE", "quantity": 1}, {"sku": "SOAP", "quantity": 1}]}),
        )
        .unwrap();
    assert_eq!(
        kit.head(),
        before + 2,
        "the PIN attempt, then one record with the redemption"
    );
    assert_eq!(receipt["points"], 29);
    assert_eq!(receipt["balance_after"], 71);
    assert_eq!(receipt["village"], "V01");
    assert_eq!(kit.balance("H1"), 71);
    let items = kit.query(json!({"type": "store_items", "store": "S1"}));
    let free: Vec<i64> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["stock"]["free"].as_i64().unwrap())
        .collect();
    assert_eq!(free, [9, 7], "RICE, SOAP");
    let account = kit.query(json!({"type": "account", "household": "H1"}));
    assert_eq!(account["months"]["2025-03"]["totals"]["redeemed"], 29);
}

#[test]
fn use_count_items_spend_use_counts_not_points() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 10);
    kit.ok(
        "admin",
        json!({"type": "grant_use_counts", "household": "H1", "kind": "haircut", "units": 2}),
    );
    kit.item("CUT", json!({"use_count": {"kind": "haircut", "units": 1}}));
    kit.item("SHAVE", json!({"use_count": {"kind": "shave", "units": 1}}));
    kit.receive("CUT", 50, None);
    kit.receive("SHAVE", 50, None);
    let receipt = kit.redeem("C1", "CUT", 2).unwrap();
    assert_eq!(
        (receipt["points"].clone(), receipt["use_counts"].clone()),
        (json!(0), json!({"haircut": 2}))
    );
    assert_eq!(
        kit.redeem("C1", "CUT", 1).unwrap_err().code().name(),
        "insufficient_use_counts"
    );
    assert_eq!(
        kit.redeem("C1", "SHAVE", 1).unwrap_err().code().name(),
        "unknown_use_count_account"
    );
    let account = kit.query(json!({"type": "account", "household": "H1"}));
    assert_eq!(
        (
            account["balance"].clone(),
            account["use_counts"]["haircut"].clone()
        ),
        (json!(10), json!(0))
    );
    let voided = kit.run(
        "keeper",
        json!({"type": "void_redemption", "receipt": receipt["number"], "supervisor": "sup"}),
    );
    assert_eq!(voided.unwrap()["use_counts"], json!({"haircut": 2}));
    let account = kit.query(json!({"type": "account", "household": "H1"}));
    assert_eq!(account["use_counts"]["haircut"], 2);
}

#[test]
fn a_suspended_household_cannot_redeem() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("SOAP", json!({"points": 3}));
    kit.receive("SOAP", 10, None);
    kit.ok(
        "admin",
        json!({"type": "set_household_status", "household": "H1", "status": "suspended"}),
    );
    assert_eq!(
        kit.redeem("C1", "SOAP", 1).unwrap_err().code().name(),
        "household_not_active"
    );
    assert_eq!(kit.balance("H1"), 100);
}

#[test]
fn a_closed_store_redeems_nothing() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("SOAP", json!({"points": 3}));
    kit.receive("SOAP", 10, None);
    kit.ok(
        "admin",
        json!({"type": "update_store", "store": "S1", "open": false}),
    );
    assert_eq!(
        kit.redeem("C1", "SOAP", 1).unwrap_err().code().name(),
        "store_closed"
    );
    kit.ok("admin", json!({"type": "update_store", "store": "S1", "open": true, "opening": {"kind": "dates", "days": ["2025-03-10"]}}));
    kit.redeem("C1", "SOAP", 1).unwrap();
}

// ---------------------------------------------------------------- holds

#[test]
fn an_expired_hold_is_released_by_the_next_command_touching_its_store() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.household("H2", "C2", 100);
    kit.item("RICE", json!({"points": 10}));
    let lot = kit.receive("RICE", 5, None);
    let reserve = |card: &str, quantity: i64, minute: u32| {
        kit.request(json!({"actor": "keeper", "at": at(10, 10, minute), "command": {"type": "reserve_redemption",
            "store": "S1", "card": card, "pin": "123456", "lines": [{"sku": "RICE", "quantity": quantity}]}}))
    };
    let hold = reserve("C1", 4, 0).unwrap();
    assert_eq!(hold["id"], "S1-H0001");
    assert_eq!(
        reserve("C2", 2, 1).unwrap_err().code().name(),
        "out_of_stock",
        "4 of 5 are held"
    );
    // After five minutes the stock is free again, and taking it records the release.
    let answer = kit
        .engine
        .execute_json(
            &json!({"actor": "keeper", "at": at(10, 10, 6), "command": {"type": "redeem", "store": "S1", "card": "C2",
                "pin": "123456", "lines": [{"sku": "RICE", "quantity": 5}], "signature_ref": "S"}})
            .to_string(),
        )
        .unwrap();
    let outcome: Value = serde_json::from_str(&answer).unwrap();
    let kinds: Vec<&str> = outcome["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["pin_accepted", "hold_expired", "redeemed"]);
    assert_eq!(kit.on_hand(&lot), 0);
    assert_eq!(
        kit.query(json!({"type": "hold", "hold": "S1-H0001"}))["status"],
        "expired"
    );
    let commit = kit.request(json!({"actor": "keeper", "at": at(10, 10, 7),
        "command": {"type": "commit_hold", "hold": "S1-H0001", "signature_ref": "S"}}));
    assert_eq!(commit.unwrap_err().code().name(), "hold_closed");
    assert_eq!(kit.balance("H1"), 100);
    kit.engine.check_invariants().unwrap();
}

#[test]
fn a_hold_cannot_be_committed_after_its_points_are_spent_elsewhere() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 50);
    kit.item("RICE", json!({"points": 10}));
    kit.receive("RICE", 20, None);
    kit.request(
        json!({"actor": "keeper", "at": at(10, 10, 0), "command": {"type": "reserve_redemption",
        "store": "S1", "card": "C1", "pin": "123456", "lines": [{"sku": "RICE", "quantity": 3}]}}),
    )
    .unwrap();
    // A deduction lands while the household is still at the kiosk.
    kit.ok(
        "admin",
        json!({"type": "post_deduction", "household": "H1", "date": "2025-03-10", "points": 30}),
    );
    let commit = kit.request(json!({"actor": "keeper", "at": at(10, 10, 1),
        "command": {"type": "commit_hold", "hold": "S1-H0001", "signature_ref": "S"}}));
    assert_eq!(commit.unwrap_err().code().name(), "insufficient_points");
    assert_eq!(kit.balance("H1"), 20);
}

// ---------------------------------------------------------------- the typed kiosk calls

#[test]
fn the_typed_kiosk_calls_run_a_whole_counter_session() {
    use jifen::store::kiosk::{self, Call};
    use jifen::store::redemption::BasketLine;
    use jifen::store::{HoldId, StoreId};
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.item("RICE", json!({"points": 10}));
    kit.receive("RICE", 10, Some("2025-12-31"));
    let (engine, store, card) = (
        &kit.engine,
        StoreId::from("S1"),
        jifen::CardNumber::from("C1"),
    );
    let when = |minute| {
        at(10, 11, minute)
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    };
    let keeper = |minute| Call::new("keeper").at(when(minute));
    let basket = |quantity| {
        vec![BasketLine {
            sku: "RICE".into(),
            quantity,
        }]
    };

    let wrong = kiosk::check_card(engine, &keeper(0), &card, "000000").unwrap_err();
    assert_eq!(wrong.code().name(), "wrong_pin");
    let check = kiosk::check_card(engine, &keeper(0), &card, "123456").unwrap();
    assert_eq!(
        (
            check.household.as_str(),
            check.balance.get(),
            check.available.get()
        ),
        ("H1", 100, 100)
    );

    let view = kiosk::card_view(engine, &store, &card, Some(when(1))).unwrap();
    assert!(view.open);
    assert_eq!((view.items.len(), view.items[0].max_quantity), (1, 10));

    let hold = kiosk::reserve(engine, &keeper(1), &store, &card, "123456", basket(4)).unwrap();
    assert_eq!((hold.id.as_str(), hold.points.get()), ("S1-H0001", 40));
    let check = kiosk::check_card(engine, &keeper(2), &card, "123456").unwrap();
    assert_eq!((check.held.get(), check.available.get()), (40, 60));
    let receipt = kiosk::commit(engine, &keeper(3).key("k-1"), &hold.id, "SIG-1").unwrap();
    assert_eq!(
        (receipt.number.as_str(), receipt.balance_after.get()),
        ("S1-000001", 60)
    );
    let again = kiosk::commit(engine, &keeper(4).key("k-1"), &hold.id, "SIG-1").unwrap();
    assert_eq!(again, receipt, "a retry returns the first receipt");

    let second = kiosk::reserve(engine, &keeper(5), &store, &card, "123456", basket(1)).unwrap();
    kiosk::cancel(engine, &keeper(6), &second.id).unwrap();
    let missing = kiosk::cancel(engine, &keeper(6), &HoldId::from("S1-H0099")).unwrap_err();
    assert_eq!(missing.code().name(), "unknown_hold");

    let direct = kiosk::redeem(
        engine,
        &keeper(7),
        &store,
        &card,
        "123456",
        basket(2),
        "SIG-2",
    )
    .unwrap();
    assert_eq!(direct.balance_after.get(), 40);
    let reprint = kiosk::receipt(engine, &direct.number).unwrap();
    assert_eq!(reprint.receipt, direct);
    assert!(reprint.void.is_none());
    kit.engine.check_invariants().unwrap();
}

// ---------------------------------------------------------------- donations

#[test]
fn cash_donations_pay_for_purchases_only_up_to_their_allocation_and_are_traced() {
    let kit = Kit::new("kunming-2018");
    kit.household("H1", "C1", 100);
    kit.item("OIL", json!({"points": 10}));
    kit.ok(
        "county",
        json!({"type": "register_donation", "donation": "D1", "donor": "爱心人士张某", "date": "2025-03-01",
               "receiving_body": "某镇人民政府", "cash": "500.00",
               "allocations": [{"kind": "cash", "store": "S1", "amount": "100.00"}]}),
    );
    let buy = |quantity: i64| {
        json!({"type": "receive_stock", "store": "S1", "sku": "OIL", "quantity": quantity,
               "source": {"kind": "purchased", "purchase_ref": "PO-9", "unit_cost": "9.90", "funded_by": "D1"}})
    };
    assert_eq!(
        kit.fails("keeper", buy(11)),
        "allocation_exhausted",
        "108.90 > 100.00"
    );
    kit.ok("keeper", buy(10));
    assert_eq!(
        kit.fails("keeper", buy(1)),
        "allocation_exhausted",
        "1.00 left"
    );
    let over = json!({"type": "allocate_donation", "donation": "D1",
                      "allocations": [{"kind": "cash", "store": "S2", "amount": "400.01"}]});
    assert_eq!(kit.fails("county", over), "over_allocated");
    assert_eq!(
        kit.fails(
            "keeper",
            json!({"type": "allocate_donation", "donation": "D1",
        "allocations": [{"kind": "cash", "store": "S2", "amount": "1.00"}]})
        ),
        "missing_role"
    );
    let receipt = kit.redeem("C1", "OIL", 3).unwrap();
    assert_eq!(receipt["lines"][0]["lots"][0]["donation"], "D1");
    assert_eq!(receipt["lines"][0]["lots"][0]["source"], "purchased");
    let trace = kit.query(json!({"type": "donation_trace", "donation": "D1"}));
    let uses = &trace["donations"][0]["cash_lots"][0]["uses"];
    assert_eq!(uses[0]["household"], "H1");
    assert_eq!(uses[0]["quantity"], 3);
    assert_eq!(trace["donations"][0]["cash_allocated"], "100.00");
}

// ---------------------------------------------------------------- ledgers

#[test]
fn ledgers_export_csv_with_a_bom_and_chinese_headers() {
    let kit = Kit::new("baisha-2019");
    kit.household("H1", "C1", 100);
    kit.ok("keeper", json!({"type": "list_item", "store": "S1", "sku": "RICE", "name": "大米, 东北 \"特级\"", "category": "grain"}));
    kit.approve("RICE", json!({"points": 10}));
    kit.receive("RICE", 5, None);
    kit.redeem("C1", "RICE", 2).unwrap();
    let csv = kit.query(
        json!({"type": "redemption_ledger", "quarter": "2025Q1", "store": "S1", "format": "csv"}),
    );
    let csv = csv["csv"].as_str().unwrap();
    assert!(
        csv.starts_with("\u{feff}日期,类型,小票号,兑换点,村,户号,户主"),
        "{csv}"
    );
    assert!(csv.contains("\"大米, 东北 \"\"特级\"\"\""), "quoted: {csv}");
    assert_eq!(csv.matches("\r\n").count(), 2, "header and one line");
    let stock = kit.query(json!({"type": "stock_ledger", "store": "S1", "format": "csv"}));
    let stock = stock["csv"].as_str().unwrap();
    assert!(stock.starts_with("\u{feff}批次,商品编码"));
    assert!(
        stock.contains(",5,0,0,2,0,5,2,3,0\r\n"),
        "received … on hand, held: {stock}"
    );
    let next_quarter = kit.query(json!({"type": "redemption_ledger", "quarter": "2025Q2"}));
    assert_eq!(next_quarter["rows"], json!([]));
    let trace = kit.query(json!({"type": "donation_trace", "format": "csv"}));
    assert!(trace["csv"]
        .as_str()
        .unwrap()
        .starts_with("\u{feff}捐赠登记号"));
}

// ---------------------------------------------------------------- notifications and reopening

/// A journal whose records outlive the engine, to reopen it.
#[derive(Clone, Default)]
struct SharedJournal(Arc<Mutex<Vec<Record>>>);

impl Journal for SharedJournal {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }

    fn replay(
        &self,
        from_seq: u64,
        visit: &mut dyn FnMut(Record) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let records = self.0.lock().unwrap().clone();
        for record in records
            .into_iter()
            .skip(from_seq.saturating_sub(1) as usize)
        {
            visit(record)?;
        }
        Ok(())
    }

    fn record(&self, seq: u64) -> Result<Option<Record>, JournalError> {
        Ok(seq
            .checked_sub(1)
            .and_then(|i| self.0.lock().unwrap().get(i as usize).cloned()))
    }
}

#[test]
fn reopening_rebuilds_stores_and_never_hands_a_message_out_twice() {
    let journal = SharedJournal::default();
    let kit = Kit::open_on(Box::new(journal.clone()), "baisha-2019");
    kit.setup();
    kit.household("H1", "C1", 100);
    kit.item("RICE", json!({"points": 10}));
    kit.receive("RICE", 5, None);
    kit.redeem("C1", "RICE", 2).unwrap();
    kit.ok("admin", json!({"type": "lock_card", "card": "C1"}));
    let first = kit.ok("admin", json!({"type": "take_notifications", "limit": 2}));
    let kinds: Vec<&Value> = first["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["kind"])
        .collect();
    assert_eq!(kinds, [&json!("points_posted"), &json!("redemption_made")]);
    assert_eq!(first["remaining"], 1);
    let state_before = kit.engine.read(|s| s.stores.clone());
    drop(kit);

    let reopened = Kit::open_on(Box::new(journal), "baisha-2019");
    assert_eq!(reopened.engine.read(|s| s.stores.clone()), state_before);
    reopened.engine.check_invariants().unwrap();
    let rest = reopened.ok("admin", json!({"type": "take_notifications"}));
    assert_eq!(rest["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(rest["notifications"][0]["kind"], "card_locked");
    assert_eq!(rest["notifications"][0]["id"], 3);
    let empty = reopened.query(json!({"type": "notifications"}));
    assert_eq!(empty, json!([]));
    assert_eq!(
        reopened.redeem("C1", "RICE", 1).unwrap_err().code().name(),
        "card_locked"
    );
}

// ---------------------------------------------------------------- property

#[derive(Clone, Debug)]
enum Op {
    Receive {
        quantity: i64,
        expires_in: Option<u32>,
    },
    Redeem {
        household: usize,
        quantity: i64,
    },
    WriteOff {
        lot: usize,
        quantity: i64,
    },
    Void {
        receipt: usize,
    },
    Reserve {
        household: usize,
        quantity: i64,
    },
    Commit {
        hold: usize,
        minute: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..6i64, proptest::option::of(0..20u32)).prop_map(|(quantity, expires_in)| Op::Receive {
            quantity,
            expires_in
        }),
        (0..2usize, 1..5i64).prop_map(|(household, quantity)| Op::Redeem {
            household,
            quantity
        }),
        (0..6usize, 1..3i64).prop_map(|(lot, quantity)| Op::WriteOff { lot, quantity }),
        (0..6usize).prop_map(|receipt| Op::Void { receipt }),
        (0..2usize, 1..4i64).prop_map(|(household, quantity)| Op::Reserve {
            household,
            quantity
        }),
        (0..4usize, 0..10u32).prop_map(|(hold, minute)| Op::Commit { hold, minute }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever the keeper does, in any order, accepted or refused: invariants
    /// hold, points and units are conserved, and no expired unit leaves the shelf.
    #[test]
    fn stock_and_points_are_conserved(ops in proptest::collection::vec(op(), 1..25)) {
        let kit = Kit::new("baisha-2019");
        kit.household("H1", "C1", 60);
        kit.household("H2", "C2", 30);
        kit.item("RICE", json!({"points": 3}));
        let cards = ["C1", "C2"];
        let (mut lots, mut receipts, mut holds) = (Vec::new(), Vec::new(), Vec::new());
        let mut received = 0;
        for (step, op) in ops.iter().enumerate() {
            // Each step a day later, so lots expire as the run goes on.
            let day = 10 + (step as u32 % 18);
            let when = at(day, 10, 0);
            let request = |actor: &str, reason: Option<&str>, command: Value| {
                kit.request(json!({"actor": actor, "at": when, "reason": reason, "command": command}))
            };
            match op {
                Op::Receive { quantity, expires_in } => {
                    let expires = expires_in.map(|d| (chrono::NaiveDate::from_ymd_opt(2025, 3, day).unwrap()
                        + chrono::Days::new(u64::from(d))).to_string());
                    let lot = request("keeper", None, json!({"type": "receive_stock", "store": "S1", "sku": "RICE",
                        "quantity": quantity, "expires": expires,
                        "source": {"kind": "purchased", "purchase_ref": "PO", "unit_cost": "2.00"}})).unwrap();
                    received += quantity;
                    lots.push((lot["id"].as_str().unwrap().to_owned(), expires));
                }
                Op::Redeem { household, quantity } => {
                    if let Ok(receipt) = request("keeper", None, json!({"type": "redeem", "store": "S1",
                        "card": cards[*household], "pin": "123456", "lines": [{"sku": "RICE", "quantity": quantity}],
                        "signature_ref": "S"})) {
                        for (lot, _) in lots_of(&receipt) {
                            let expires = &lots.iter().find(|(id, _)| *id == lot).unwrap().1;
                            let today = chrono::NaiveDate::from_ymd_opt(2025, 3, day).unwrap().to_string();
                            prop_assert!(expires.as_ref().is_none_or(|e| *e >= today), "expired lot {lot} handed out");
                        }
                        receipts.push(receipt["number"].as_str().unwrap().to_owned());
                    }
                }
                Op::WriteOff { lot, quantity } => {
                    if let Some((lot, _)) = lots.get(*lot) {
                        let _ = request("keeper", Some("破损"), json!({"type": "write_off_stock", "store": "S1",
                            "lot": lot, "quantity": quantity, "cause": "damaged"}));
                    }
                }
                Op::Void { receipt } => {
                    if let Some(receipt) = receipts.get(*receipt) {
                        let _ = request("keeper", Some("退货"), json!({"type": "void_redemption",
                            "receipt": receipt, "supervisor": "sup"}));
                    }
                }
                Op::Reserve { household, quantity } => {
                    if let Ok(hold) = request("keeper", None, json!({"type": "reserve_redemption", "store": "S1",
                        "card": cards[*household], "pin": "123456", "lines": [{"sku": "RICE", "quantity": quantity}]})) {
                        holds.push((hold["id"].as_str().unwrap().to_owned(), day));
                    }
                }
                Op::Commit { hold, minute } => {
                    if let Some((hold, placed)) = holds.get(*hold) {
                        let _ = kit.request(json!({"actor": "keeper", "at": at(*placed, 10, *minute),
                            "command": {"type": "commit_hold", "hold": hold, "signature_ref": "S"}}));
                    }
                }
            }
            kit.engine.check_invariants().map_err(TestCaseError::fail)?;
        }
        let ledger = kit.query(json!({"type": "stock_ledger", "store": "S1"}));
        let rows = ledger["lots"].as_array().unwrap();
        let sum = |key: &str| rows.iter().map(|r| r[key].as_i64().unwrap()).sum::<i64>();
        prop_assert_eq!(sum("received"), received);
        prop_assert_eq!(sum("received") + sum("returned") - sum("redeemed") - sum("written_off"), sum("on_hand"));
        let spent = 90 - kit.balance("H1") - kit.balance("H2");
        prop_assert_eq!(spent, 3 * (sum("redeemed") - sum("returned")));
    }
}
