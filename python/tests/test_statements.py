"""Reimbursement and month end through the typed methods: a March at two
reimbursed stores with purchased and donated goods and a void, the statements
month end generates, their reconciliation, review, approval and payment, the
bank's payment file, the month's statistics and liability as Arrow tables, and
the filial-piety fund. Every expected figure is computed here from the inputs."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import jifen
from conftest import open_engine

MONTH = "2025-03"
POINT_VALUE = Decimal("0.335")  # a value whose amounts need rounding
SHARES = {"county_finance": Decimal("0.5"), "township_fund": Decimal("0.5")}
POLICY: dict[str, Any] = {
    "extends": "baisha-2019",
    "point_value": str(POINT_VALUE),
    "reimbursement": {
        "rounding": "half_up_cents",
        "funding": [{"source": s, "share": str(v)} for s, v in SHARES.items()],
    },
}
COUNTY = "469025"
# Household: (township, village, points awarded in March, points deducted).
HOUSEHOLDS = {
    "H1": ("T1", "V1", 100, 0),
    "H2": ("T1", "V1", 90, 0),
    "H3": ("T1", "V2", 80, 5),
    "H4": ("T2", "V3", 150, 0),  # over the poor household's monthly cap
}
# S1 is a village store in V1; S2 a partner merchant serving township T2.
STORES = {"S1": {"township": "T1", "village": "V1"}, "S2": {"township": "T2"}}
# Item prices in points; OIL is donated, the rest purchased.
PRICES = {"RICE": 10, "SOAP": 3, "OIL": 7}
DONATED = {"OIL"}
# Redemptions: (store, household, basket); the one marked True is voided.
REDEMPTIONS: list[tuple[str, str, dict[str, int], bool]] = [
    ("S1", "H1", {"RICE": 2, "SOAP": 1, "OIL": 1}, False),
    ("S1", "H2", {"RICE": 3}, True),
    ("S1", "H2", {"RICE": 1, "SOAP": 2}, False),
    ("S1", "H3", {"OIL": 2}, False),  # donated only: nothing to reimburse
    ("S1", "H3", {"SOAP": 1}, False),
    ("S2", "H4", {"RICE": 4, "SOAP": 1}, False),
]


def at(day: int, hour: int = 2, month: int = 3) -> datetime.datetime:
    return datetime.datetime(2025, month, day, hour, tzinfo=datetime.timezone.utc)


def fen(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def points(basket: dict[str, int], purchased_only: bool = False) -> int:
    return sum(
        PRICES[sku] * n for sku, n in basket.items() if not (purchased_only and sku in DONATED)
    )


def reimbursable(store: str) -> dict[str, int]:
    """Expected reimbursable points by household at `store`: purchased goods, not voided."""
    found: dict[str, int] = {}
    for s, household, basket, voided in REDEMPTIONS:
        if s == store and not voided and points(basket, purchased_only=True) > 0:
            found[household] = found.get(household, 0) + points(basket, purchased_only=True)
    return found


class March:
    """The engine after March, with what each step returned."""

    def __init__(self) -> None:
        self.engine = engine = open_engine(POLICY)
        for actor, role in [
            ("admin", "administrator"),
            ("keeper", "store_keeper"),
            ("county", "county_office"),
            ("bureau", "price_bureau"),
            ("sup", "supervisor"),
            ("fin", "finance"),
        ]:
            engine.register_actor(actor="admin", id=actor, roles=[role])
        self.credited: dict[str, int] = {}
        self.capped = 0
        for household, (township, village, award, deduction) in HOUSEHOLDS.items():
            engine.register_household(
                actor="admin",
                household=household,
                region={"county": COUNTY, "township": township, "village": village},
                head=f"户主{household}",
                category="poor",
                category_from=datetime.date(2025, 1, 1),
            )
            engine.issue_card(
                actor="admin", card=f"C{household}", household=household, pin="123456"
            )
            posted = engine.post_award(
                actor="admin",
                household=household,
                date=datetime.date(2025, 3, 5),
                points=award,
                reason="import",
            )["result"]
            self.credited[household] = posted["credited"]
            self.capped += posted["capped"]
            if deduction:
                engine.post_deduction(
                    actor="admin",
                    household=household,
                    date=datetime.date(2025, 3, 6),
                    points=deduction,
                    reason="卫生不达标",
                )
        for store, region in STORES.items():
            kind = "village_store" if "village" in region else "partner_merchant"
            engine.register_store(
                actor="admin",
                store=store,
                name=f"{store}超市",
                kind=kind,
                region={"county": COUNTY, **region},
                reimbursed=True,
                keepers=["keeper"],
            )
        engine.register_donation(
            actor="county",
            donation="D1",
            donor="爱心企业",
            date=datetime.date(2025, 3, 1),
            receiving_body="某乡人民政府",
            goods=[{"description": "食用油", "quantity": 20, "unit_value": Decimal("50.00")}],
            allocations=[
                {"kind": "goods", "store": store, "line": 1, "quantity": 10} for store in STORES
            ],
            at=at(1),
        )
        for store in STORES:
            for sku, price in PRICES.items():
                engine.list_item(
                    actor="keeper", store=store, sku=sku, name=sku, category="grain", at=at(2)
                )
                engine.propose_price(
                    actor="keeper",
                    store=store,
                    sku=sku,
                    price={"points": price},
                    market_price=Decimal(price),
                    at=at(2),
                )
                engine.forward_price(actor="county", store=store, sku=sku, proposal=1, at=at(2))
                engine.approve_price(actor="bureau", store=store, sku=sku, proposal=1, at=at(2))
                source: dict[str, Any] = (
                    {"kind": "donated", "donation": "D1", "line": 1}
                    if sku in DONATED
                    else {"kind": "purchased", "purchase_ref": f"PO-{sku}", "unit_cost": "5.00"}
                )
                quantity = 10 if sku in DONATED else 30
                engine.receive_stock(
                    actor="keeper", store=store, sku=sku, quantity=quantity, source=source, at=at(2)
                )
        # Receipt number -> (store, household, reimbursable points, date).
        self.receipts: dict[str, tuple[str, str, int, datetime.date]] = {}
        self.voided: list[str] = []
        self.redeemed: dict[str, int] = {}
        for hour, (store, household, basket, voided) in enumerate(REDEMPTIONS, start=1):
            receipt = engine.redeem(
                actor="keeper",
                store=store,
                card=f"C{household}",
                pin="123456",
                lines=[{"sku": sku, "quantity": n} for sku, n in basket.items()],
                signature_ref="SIG",
                at=at(10, hour),
            )
            assert receipt["points"] == points(basket)
            number: str = receipt["number"]
            if voided:
                engine.void_redemption(
                    actor="keeper",
                    receipt=number,
                    supervisor="sup",
                    reason="顾客退货",
                    at=at(10, hour),
                )
                self.voided.append(number)
            else:
                self.redeemed[household] = self.redeemed.get(household, 0) + points(basket)
                self.receipts[number] = (
                    store,
                    household,
                    points(basket, purchased_only=True),
                    receipt["date"],
                )

    def store_lines(self, store: str) -> list[dict[str, Any]]:
        """The store's own statement, agreeing with the ledger."""
        return [
            {"receipt": number, "date": date, "household": household, "points": pts}
            for number, (s, household, pts, date) in self.receipts.items()
            if s == store and pts > 0
        ]

    def settle(self) -> None:
        """Month end through payment-ready: generate, submit, review, approve."""
        self.engine.generate_statements(actor="county", month=MONTH, at=at(1, month=4))
        for store in STORES:
            statement = f"{store}-{MONTH}"
            self.engine.submit_store_statement(
                actor="keeper",
                store=store,
                month=MONTH,
                account=f"6217-{store}",
                lines=self.store_lines(store),
                at=at(2, month=4),
            )
            self.engine.review_statement(actor="county", statement=statement, at=at(3, month=4))
            self.engine.approve_statement(actor="fin", statement=statement, at=at(3, 4, 4))


@pytest.fixture
def march() -> March:
    return March()


def test_a_statement_holds_the_purchased_unvoided_points_at_the_point_value(
    march: March,
) -> None:
    engine = march.engine
    with pytest.raises(jifen.SettlementError) as early:
        engine.generate_statements(actor="county", month=MONTH, at=at(31, 2))
    assert (early.value.code, early.value.name) == (1001, "statement_month_not_over")

    outcome = engine.generate_statements(actor="county", month=MONTH, at=at(1, month=4))
    generated = {g["id"]: g for g in outcome["result"]["generated"]}
    assert set(generated) == {f"{store}-{MONTH}" for store in STORES}

    for store in STORES:
        expected = reimbursable(store)
        total = sum(expected.values())
        amount = fen(POINT_VALUE * total)
        statement = engine.statement(f"{store}-{MONTH}")
        assert statement["status"] == "generated"
        assert statement["points"] == total
        assert statement["point_value"] == POINT_VALUE
        assert isinstance(statement["amount"], Decimal)
        assert statement["amount"] == amount
        assert generated[statement["id"]]["amount"] == amount
        assert generated[statement["id"]]["points"] == total
        by_household: dict[str, int] = {}
        for line in statement["lines"]:
            assert line["receipt"] not in march.voided
            assert isinstance(line["date"], datetime.date)
            by_household[line["household"]] = (
                by_household.get(line["household"], 0) + line["points"]
            )
        assert by_household == expected
        # The funding parts add up to the amount, each within a fen of its share.
        parts = {f["source"]: f["amount"] for f in statement["funding"]}
        assert set(parts) == set(SHARES)
        assert sum(parts.values()) == amount
        for source, share in SHARES.items():
            assert abs(parts[source] - amount * share) < Decimal("0.01")
        assert statement["due"] == datetime.date(2025, 4, 5)
        assert statement["differences"] == []

    listed = engine.statements(MONTH)
    assert [s["store"] for s in listed] == sorted(STORES)
    assert engine.statements("2025-02") == []
    again = engine.generate_statements(actor="county", month=MONTH, at=at(1, 3, 4))
    assert again["result"]["generated"] == []
    assert sorted(again["result"]["existing"]) == sorted(generated)


def test_reconciliation_lists_each_difference_and_blocks_review(march: March) -> None:
    engine = march.engine
    engine.generate_statements(actor="county", month=MONTH, at=at(1, month=4))
    statement = f"S1-{MONTH}"
    agreed = march.store_lines("S1")
    first, second, left_out = agreed
    claimed = first["points"] + 5
    voided = {"receipt": march.voided[0], "date": datetime.date(2025, 3, 10), "household": "H2"}
    wrong = [
        {**first, "points": claimed},  # points differ
        {**voided, "points": 30},  # voided: not on the ledger
        {**second, "date": datetime.date(2025, 4, 1)},  # dated outside the month
    ]
    outcome = engine.submit_store_statement(
        actor="keeper", store="S1", month=MONTH, account="6217-S1", lines=wrong, at=at(2, month=4)
    )
    found = {(d["kind"], d["receipt"]) for d in outcome["result"]["differences"]}
    expected = {
        ("points_differ", first["receipt"]),
        ("missing_from_ledger", march.voided[0]),
        ("outside_month", second["receipt"]),
        ("missing_from_store", left_out["receipt"]),
    }
    assert found == expected
    differences = engine.reconciliation(statement)
    assert {(d["kind"], d["receipt"]) for d in differences} == expected
    differ = next(d for d in differences if d["kind"] == "points_differ")
    assert (differ["ledger_points"], differ["store_points"]) == (first["points"], claimed)
    assert differ["store_date"] == first["date"]
    view = engine.statement(statement)
    assert view["status"] == "submitted"
    assert view["differences"] == differences
    assert view["submission"] is not None and view["submission"]["account"] == "6217-S1"

    with pytest.raises(jifen.SettlementError) as blocked:
        engine.review_statement(actor="county", statement=statement, at=at(2, 3, 4))
    assert (blocked.value.code, blocked.value.name) == (1003, "statement_has_differences")
    assert str(len(expected)) in blocked.value.message

    fixed = engine.submit_store_statement(
        actor="keeper", store="S1", month=MONTH, account="6217-S1", lines=agreed, at=at(2, 4, 4)
    )
    assert fixed["result"]["differences"] == []
    assert engine.reconciliation(statement) == []
    engine.review_statement(actor="county", statement=statement, at=at(3, month=4))
    assert engine.statement(statement)["status"] == "reviewed"

    with pytest.raises(jifen.SettlementError) as unknown:
        engine.reconciliation(f"S9-{MONTH}")
    assert (unknown.value.code, unknown.value.name) == (1000, "unknown_statement")


def test_review_approve_pay_once(march: March) -> None:
    engine = march.engine
    march.settle()
    statement = f"S1-{MONTH}"
    view = engine.statement(statement)
    assert view["status"] == "approved"
    assert view["reviewed"] is not None and view["reviewed"]["by"] == "county"
    assert view["approved"] is not None and view["approved"]["by"] == "fin"
    assert view["approved"]["on"] == datetime.date(2025, 4, 3)

    with pytest.raises(jifen.AccessError) as keeper:
        engine.record_payment(
            actor="keeper", statement=statement, reference="B-0", date=datetime.date(2025, 4, 4)
        )
    assert keeper.value.name == "missing_role"

    paid = engine.record_payment(
        actor="fin",
        statement=statement,
        reference="BANK-20250404-001",
        date=datetime.date(2025, 4, 4),
        at=at(4, month=4),
    )["result"]
    assert paid["status"] == "paid"
    assert paid["amount"] == view["amount"] == fen(POINT_VALUE * sum(reimbursable("S1").values()))
    assert paid["date"] == datetime.date(2025, 4, 4)

    with pytest.raises(jifen.SettlementError) as twice:
        engine.record_payment(
            actor="fin",
            statement=statement,
            reference="BANK-20250405-002",
            date=datetime.date(2025, 4, 5),
            at=at(5, month=4),
        )
    assert (twice.value.code, twice.value.name) == (1004, "statement_already_paid")
    assert "BANK-20250404-001" in twice.value.message

    after = engine.statement(statement)
    assert after["status"] == "paid"
    assert [(p["reference"], p["amount"], p["by"]) for p in after["payments"]] == [
        ("BANK-20250404-001", view["amount"], "fin")
    ]
    assert engine.check_invariants() is not None


def read_csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_payment_file_lists_approved_unpaid_statements(march: March) -> None:
    engine = march.engine
    march.settle()
    amounts = {s["id"]: s["amount"] for s in engine.statements(MONTH)}
    header, *rows = read_csv(engine.payment_file(MONTH))
    assert header == ["store", "account", "amount", "statement"]
    assert sorted(rows) == sorted(
        [store, f"6217-{store}", str(amounts[f"{store}-{MONTH}"]), f"{store}-{MONTH}"]
        for store in STORES
    )
    assert sum(Decimal(row[2]) for row in rows) == sum(amounts.values())
    assert read_csv(engine.payment_file(MONTH, chinese=True))[0] == [
        "兑换点",
        "收款账户",
        "金额",
        "结算单号",
    ]

    engine.record_payment(
        actor="fin", statement=f"S1-{MONTH}", reference="B-1", date=datetime.date(2025, 4, 4)
    )
    left = read_csv(engine.payment_file(MONTH))[1:]
    assert [row[3] for row in left] == [f"S2-{MONTH}"]
    assert read_csv(engine.payment_file("2025-02")) == [["store", "account", "amount", "statement"]]
    with pytest.raises(jifen.InputError) as bad:
        engine.payment_file("March")
    assert bad.value.name == "bad_period"


def levels(table: pa.Table, level: str) -> pa.Table:
    return table.filter(pc.equal(table.column("level"), level))


def test_statistics_and_liability_add_up_across_levels(march: March) -> None:
    engine = march.engine
    march.settle()
    engine.record_payment(
        actor="fin", statement=f"S2-{MONTH}", reference="B-2", date=datetime.date(2025, 4, 4)
    )
    amounts = {s["store"]: s["amount"] for s in engine.statements(MONTH)}

    stats = pa.table(engine.monthly_statistics(MONTH))
    assert stats.schema.field("awarded").type == pa.int64()
    assert stats.schema.field("reimbursement_due").type == pa.decimal128(18, 2)
    villages = sorted({v for _, v, _, _ in HOUSEHOLDS.values()})
    townships = sorted({t for t, _, _, _ in HOUSEHOLDS.values()})
    assert stats.column("level").to_pylist() == (
        ["village"] * len(villages) + ["township"] * len(townships) + ["county"]
    )
    assert stats.column("code").to_pylist() == villages + townships + [COUNTY]
    county = levels(stats, "county").to_pylist()[0]
    expected = {
        "households": len(HOUSEHOLDS),
        "participating": len(HOUSEHOLDS),
        "awarded": sum(award for _, _, award, _ in HOUSEHOLDS.values()),
        "deducted": sum(d for _, _, _, d in HOUSEHOLDS.values()),
        "capped": march.capped,
        "vetoed": 0,
        "redeemed": sum(march.redeemed.values()),
        "reimbursement_due": sum(amounts.values()),
        "reimbursement_paid": amounts["S2"],
    }
    assert {k: county[k] for k in expected} == expected
    assert march.capped > 0
    for column in ("households", "participating", "awarded", "deducted", "capped", "redeemed"):
        for level in ("village", "township"):
            assert pc.sum(levels(stats, level).column(column)).as_py() == county[column], column
    # Money follows the stores' regions: S2 serves a township, so no village shows it.
    for column in ("reimbursement_due", "reimbursement_paid"):
        assert pc.sum(levels(stats, "township").column(column)).as_py() == county[column]
    assert pc.sum(levels(stats, "village").column("reimbursement_due")).as_py() == amounts["S1"]
    frame = pl.DataFrame(engine.monthly_statistics(MONTH))
    by_level = frame.group_by("level").agg(pl.col("redeemed").sum(), pl.col("awarded").sum())
    assert set(by_level["redeemed"].to_list()) == {expected["redeemed"]}
    assert set(by_level["awarded"].to_list()) == {expected["awarded"]}
    assert frame.filter(pl.col("level") == "county")["reimbursement_due"].item() == sum(
        amounts.values()
    )

    liability = pa.table(engine.liability(MONTH))
    assert liability.column_names == ["level", "code", "households", "points", "amount"]
    assert liability.schema.field("amount").type == pa.decimal128(18, 2)
    outstanding = {
        h: march.credited[h] - HOUSEHOLDS[h][3] - march.redeemed.get(h, 0) for h in HOUSEHOLDS
    }
    for row in liability.to_pylist():
        members = [
            h
            for h, (township, village, _, _) in HOUSEHOLDS.items()
            if row["code"] in (COUNTY, township, village)
        ]
        assert row["households"] == len(members), row
        assert row["points"] == sum(outstanding[h] for h in members), row
        assert row["amount"] == fen(POINT_VALUE * row["points"]), row
    frame = pl.DataFrame(engine.liability(MONTH))
    totals = frame.group_by("level").agg(pl.col("points").sum())
    assert set(totals["points"].to_list()) == {sum(outstanding.values())}
    assert sum(outstanding.values()) == sum(engine.balance(h) for h in HOUSEHOLDS)


JUNE = datetime.datetime(2025, 6, 2, 2, tzinfo=datetime.timezone.utc)


def filial_engine() -> jifen.Engine:
    """Shangqiu's fund with one registered-poor elder enrolled."""
    engine = open_engine("shangqiu-2019")
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    engine.register_household(
        actor="admin",
        household="H1",
        region={"county": COUNTY, "township": "T1", "village": "V1"},
        head="王大爷",
        category="poor",
        category_from=datetime.date(2025, 1, 1),
        members=[
            {"name": "王大爷", "relation": "head", "born": datetime.date(1958, 4, 10)},
            {"name": "王小明", "relation": "son", "born": datetime.date(1986, 9, 1)},
        ],
    )
    engine.enrol_filial_elder(actor="admin", household="H1", elder="王大爷", at=JUNE)
    return engine


def test_amounts_are_never_floats() -> None:
    engine = filial_engine()
    with pytest.raises(jifen.InputError) as caught:
        engine.record_filial_contribution(
            actor="admin",
            household="H1",
            elder="王大爷",
            contributor="王小明",
            month="2025-06",
            amount=100.0,  # type: ignore[arg-type]
            at=JUNE,
        )
    assert caught.value.name == "malformed_request"
    assert engine.filial_statement()["contributed"] == Decimal("0")


def contributions() -> Iterator[tuple[str, Decimal | str]]:
    yield "2025-06", Decimal("100.00")
    yield "2025-07", "33.33"  # a str works too; 6.666 needs rounding


def test_filial_contributions_are_matched_and_paid_out() -> None:
    engine = filial_engine()
    fund = engine.policy(datetime.date(2025, 6, 2))["filial_fund"]
    rate: Decimal = fund["match_rate"]
    shares = {f["source"]: f["share"] for f in fund["match_funding"]}
    assert isinstance(rate, Decimal) and rate > 0

    with pytest.raises(jifen.SettlementError) as twice:
        engine.enrol_filial_elder(actor="admin", household="H1", elder="王大爷", at=JUNE)
    assert (twice.value.code, twice.value.name) == (1052, "elder_already_enrolled")
    with pytest.raises(jifen.SettlementError) as young:
        engine.enrol_filial_elder(actor="admin", household="H1", elder="王小明", at=JUNE)
    assert young.value.name == "elder_not_eligible"

    paid_in = Decimal("0")
    matched = Decimal("0")
    for month, amount in contributions():
        result = engine.record_filial_contribution(
            actor="admin",
            household="H1",
            elder="王大爷",
            contributor="王小明",
            month=month,
            amount=amount,
            at=JUNE,
        )["result"]
        match = fen(Decimal(amount) * rate)
        assert result["amount"] == Decimal(amount)
        assert result["matched"] == match
        parts = {p["source"]: p["amount"] for p in result["match_parts"]}
        assert set(parts) == set(shares)
        assert sum(parts.values()) == match
        for source, share in shares.items():
            assert abs(parts[source] - match * share) < Decimal("0.01")
        paid_in += Decimal(amount)
        matched += match

    with pytest.raises(jifen.SettlementError) as bad:
        engine.record_filial_contribution(
            actor="admin",
            household="H1",
            elder="王大爷",
            contributor="王小明",
            month="2025-08",
            amount=Decimal("1.234"),
            at=JUNE,
        )
    assert (bad.value.code, bad.value.name) == (1054, "bad_amount")

    payout = Decimal("150.00")
    engine.pay_filial_elder(
        actor="admin", household="H1", elder="王大爷", amount=payout, reference="发放-1", at=JUNE
    )
    left = paid_in + matched - payout
    with pytest.raises(jifen.SettlementError) as short:
        engine.pay_filial_elder(
            actor="admin",
            household="H1",
            elder="王大爷",
            amount=left + Decimal("0.01"),
            reference="发放-2",
            at=JUNE,
        )
    assert (short.value.code, short.value.name) == (1055, "insufficient_fund")

    statement = engine.filial_statement()
    assert (statement["contributed"], statement["matched"], statement["paid"]) == (
        paid_in,
        matched,
        payout,
    )
    assert statement["balance"] == left
    assert sum(statement["matched_by_source"].values()) == matched
    [elder] = statement["elders"]
    assert (elder["household"], elder["elder"], elder["balance"]) == ("H1", "王大爷", left)
    assert isinstance(elder["paid"], Decimal)
