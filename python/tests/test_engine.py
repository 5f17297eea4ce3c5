"""The typed methods: keyword arguments in, dates and Decimals out, through the
same core execute path as the JSON door."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest

import jifen
from conftest import JAN_1, REGION, open_engine

MARCH_5 = datetime.date(2025, 3, 5)
CHINA = datetime.timezone(datetime.timedelta(hours=8))


def test_an_award_is_split_by_the_monthly_cap(engine: jifen.Engine) -> None:
    outcome = engine.post_award(
        actor="admin", household="H1", date=MARCH_5, points=120, reason="import"
    )
    result = outcome["result"]
    assert (result["requested"], result["credited"], result["capped"]) == (120, 110, 10)
    assert result["date"] == MARCH_5
    assert [event["type"] for event in outcome["events"]] == ["award_posted"]
    assert engine.balance("H1") == 110
    room = engine.cap_room("H1", "2025-03")
    assert room["monthly_cap"] == 110 and room["room_this_month"] == 0
    assert room["room_this_year"] == 1335 - 110
    assert engine.verify()["seq"] == outcome["seq"]


def test_typed_and_json_doors_agree(engine: jifen.Engine) -> None:
    typed = engine.post_award(actor="admin", household="H1", date=MARCH_5, points=30, reason="r")
    raw = engine.execute(
        {
            "actor": "admin",
            "reason": "r",
            "command": {"type": "post_award", "household": "H1", "date": MARCH_5, "points": 30},
        }
    )
    assert raw["seq"] == typed["seq"] + 1
    # The JSON door answers plain JSON values; the typed one converts dates.
    assert raw["result"]["date"] == "2025-03-05"
    assert typed["result"]["date"] == MARCH_5
    assert {k: v for k, v in raw["result"].items() if k != "date"} == {
        k: v for k, v in typed["result"].items() if k != "date"
    }


def test_execute_accepts_json_text(engine: jifen.Engine) -> None:
    answer = engine.execute('{"query": {"type": "balance", "household": "H1"}}')
    assert answer == {"household": "H1", "balance": 0}


def test_household_dates_come_back_as_dates(engine: jifen.Engine) -> None:
    april = datetime.date(2025, 4, 1)
    engine.change_category(actor="admin", household="H1", category="ordinary", effective_from=april)
    household = engine.household("H1")
    assert household["categories"] == [[JAN_1, "poor"], [april, "ordinary"]]
    assert household["region"]["village"] == "V1"
    assert household["status"] == "active"


def test_members_and_residency_are_read_as_documents() -> None:
    engine = open_engine()
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    engine.register_household(
        actor="admin",
        household="H2",
        region={**REGION, "group": "屯1"},
        head="黄某",
        category="ordinary",
        category_from=JAN_1,
        members=[{"name": "黄某", "relation": "head", "born": datetime.date(1960, 5, 1)}],
        residency={"kind": "non_resident", "approval_ref": "村民会议 2025-3"},
        attributes={"phone": "138"},
        photo_ref="photo/H2",
    )
    household = engine.household("H2")
    assert household["members"][0]["born"] == datetime.date(1960, 5, 1)
    assert household["residency"] == {"kind": "non_resident", "approval_ref": "村民会议 2025-3"}
    assert household["attributes"] == {"phone": "138"}
    assert household["photo_ref"] == "photo/H2"


def test_the_business_date_is_the_day_in_china() -> None:
    engine = open_engine()
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    # 20:00 UTC on 31 March is already 1 April in China.
    at = datetime.datetime(2025, 3, 31, 20, 0, tzinfo=datetime.timezone.utc)
    engine.register_household(
        actor="admin", household="H3", region=REGION, head="h", category="poor", at=at
    )
    assert engine.household("H3")["categories"] == [[datetime.date(2025, 4, 1), "poor"]]
    # The same instant given in China's own offset names the same day.
    engine.register_household(
        actor="admin",
        household="H4",
        region=REGION,
        head="h",
        category="poor",
        at=at.astimezone(CHINA),
    )
    assert engine.household("H4")["categories"] == [[datetime.date(2025, 4, 1), "poor"]]


def test_a_naive_datetime_is_refused(engine: jifen.Engine) -> None:
    with pytest.raises(ValueError, match="naive"):
        engine.lock_card(actor="admin", card="C1", at=datetime.datetime(2025, 3, 5, 10, 0))


def test_money_comes_back_as_exact_decimals() -> None:
    engine = open_engine({"extends": "baisha-2019", "point_value": Decimal("0.35")})
    policy = engine.policy(MARCH_5)
    assert policy["point_value"] == Decimal("0.35")
    assert isinstance(policy["point_value"], Decimal)
    assert policy["reimbursement"]["funding"] == [
        {"source": "county_finance", "share": Decimal("1")}
    ]
    assert policy["categories"]["poor"] == {"monthly": 110, "annual": 1335}
    # The JSON door keeps the exact decimal string.
    raw = engine.execute({"query": {"type": "policy", "date": MARCH_5}})
    assert raw["point_value"] == "0.35"


def test_a_card_through_its_life(engine: jifen.Engine) -> None:
    engine.post_award(actor="admin", household="H1", date=MARCH_5, points=50, reason="import")
    engine.issue_card(actor="admin", card="C1", household="H1", pin="123456")
    checked = engine.verify_pin(actor="admin", card="C1", pin="123456")
    assert checked["result"] == {
        "card": "C1",
        "household": "H1",
        "balance": 50,
        "held": 0,
        "available": 50,
    }

    before = engine.verify()["seq"]
    with pytest.raises(jifen.CardError) as wrong:
        engine.verify_pin(actor="admin", card="C1", pin="000000")
    assert wrong.value.name == "wrong_pin"
    assert engine.verify()["seq"] == before + 1, "the wrong attempt is recorded"
    assert engine.card("C1")["failed_attempts"] == 1

    engine.change_pin(actor="admin", card="C1", old_pin="123456", new_pin="654321")
    engine.verify_pin(actor="admin", card="C1", pin="654321")
    engine.lock_card(actor="admin", card="C1")
    assert engine.card("C1")["status"] == "locked"
    engine.unlock_card(actor="admin", card="C1")
    engine.set_pin(actor="admin", card="C1", pin="111111")
    engine.verify_pin(actor="admin", card="C1", pin="111111")
    engine.report_card_lost(actor="admin", card="C1")
    engine.replace_card(actor="admin", old_card="C1", new_card="C2")
    assert engine.card("C1")["status"] == "replaced"
    new = engine.verify_pin(actor="admin", card="C2", pin="111111")
    assert new["result"]["balance"] == 50, "balance and PIN stay with the household"
    engine.cancel_card(actor="admin", card="C2")
    with pytest.raises(jifen.CardError) as dead:
        engine.verify_pin(actor="admin", card="C2", pin="111111")
    assert dead.value.name == "card_not_active"


def test_a_card_answer_never_shows_the_pin_hash(engine: jifen.Engine) -> None:
    engine.issue_card(actor="admin", card="C1", household="H1", pin="123456")
    answer = engine.card("C1")
    assert "pin_hash" not in answer
    assert answer["has_pin"] is True


def test_deduction_veto_and_transfer(engine: jifen.Engine) -> None:
    engine.register_actor(actor="admin", id="boss", roles=["township_approver"])
    engine.register_household(
        actor="admin",
        household="H2",
        region=REGION,
        head="h",
        category="ordinary",
        category_from=JAN_1,
    )
    engine.post_award(actor="admin", household="H1", date=MARCH_5, points=100, reason="r")
    deduction = engine.post_deduction(
        actor="admin", household="H1", date=MARCH_5, points=30, reason="r"
    )
    assert (deduction["result"]["applied"], deduction["result"]["unapplied"]) == (30, 0)
    engine.transfer_points(
        actor="admin", from_="H1", to="H2", points=20, approver="boss", reason="split"
    )
    assert (engine.balance("H1"), engine.balance("H2")) == (50, 20)
    engine.post_award(actor="admin", household="H2", date=MARCH_5, points=40, reason="r")
    veto = engine.post_veto(
        actor="admin", household="H2", date=datetime.date(2025, 3, 20), reason="r"
    )
    assert veto["result"]["reversals"][0]["credited"] == 40
    assert engine.balance("H2") == 20, "the March award is forfeited, the transfer stays"
    totals = engine.check_invariants()
    assert totals["awarded"] == 140 and totals["vetoed"] == 40
    assert totals["transferred_in"] == totals["transferred_out"] == 20
    account = engine.account("H1")
    assert account["totals"]["deducted"] == 30
    assert "2025-03" in account["months"]


def test_use_counts_and_household_status(engine: jifen.Engine) -> None:
    engine.grant_use_counts(actor="admin", household="H1", kind="haircut", units=4)
    assert engine.account("H1")["use_counts"] == {"haircut": 4}
    engine.set_household_status(actor="admin", household="H1", status="suspended")
    with pytest.raises(jifen.HouseholdError) as suspended:
        engine.post_award(actor="admin", household="H1", date=MARCH_5, points=5, reason="r")
    assert suspended.value.name == "household_not_active"
    engine.set_household_status(actor="admin", household="H1", status="active")
    engine.post_award(actor="admin", household="H1", date=MARCH_5, points=5, reason="r")
    assert engine.balance("H1") == 5


def test_an_idempotency_key_answers_a_retry_once(engine: jifen.Engine) -> None:
    first = engine.post_award(
        actor="admin", household="H1", date=MARCH_5, points=40, reason="r", key="k1"
    )
    again = engine.post_award(
        actor="admin", household="H1", date=MARCH_5, points=40, reason="r", key="k1"
    )
    assert again == first
    assert engine.balance("H1") == 40
    with pytest.raises(jifen.AccessError) as conflict:
        engine.post_award(
            actor="admin", household="H1", date=MARCH_5, points=41, reason="r", key="k1"
        )
    assert conflict.value.name == "idempotency_conflict"


def test_threads_share_one_engine(engine: jifen.Engine) -> None:
    """The engine is one object shared by threads; every award lands exactly once."""
    households = [f"T{i}" for i in range(4)]
    for household in households:
        engine.register_household(
            actor="admin",
            household=household,
            region=REGION,
            head="h",
            category="poor",
            category_from=JAN_1,
        )

    def post(household: str) -> None:
        for day in range(1, 11):
            engine.post_award(
                actor="admin",
                household=household,
                date=datetime.date(2025, 3, day),
                points=10,
                reason="r",
            )

    threads = [threading.Thread(target=post, args=(h,)) for h in households]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [engine.balance(h) for h in households] == [100] * 4
    engine.check_invariants()
    assert engine.verify()["seq"] == 3 + 4 + 40
