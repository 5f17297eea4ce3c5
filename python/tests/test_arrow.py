"""Ledgers as Arrow tables: at every ledger query a conformance scenario makes,
the Arrow table read through pyarrow and polars holds the same rows, and the
same totals, as the engine's JSON answer at that point."""

from __future__ import annotations

import csv
import datetime
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import jifen
from conftest import open_engine

SCENARIOS = Path(__file__).resolve().parents[2] / "tests" / "scenarios"

# Each ledger query: the key of its rows in the JSON answer and how to ask for
# the same ledger as an Arrow table.
LEDGERS: dict[str, tuple[str, Any]] = {
    "points_detail": ("households", lambda e, q: e.points_detail(q["village"], q["month"])),
    "entry_ledger": ("lines", lambda e, q: e.entry_ledger(q["village"], q["month"])),
    "publication_list": ("rows", lambda e, q: e.publication_list(q["village"], q["quarter"])),
    "star_ratings": ("rows", lambda e, q: e.star_ratings(q["village"], q["year"])),
    "stock_ledger": ("lots", lambda e, q: e.stock_ledger(q["store"])),
    "redemption_ledger": (
        "rows",
        lambda e, q: e.redemption_ledger(q["quarter"], q.get("store"), q.get("village")),
    ),
    "liability": ("rows", lambda e, q: e.liability(q["month"])),
    "monthly_statistics": ("rows", lambda e, q: e.monthly_statistics(q["month"])),
}


def ledger_steps() -> list[tuple[str, int]]:
    """(scenario file, step index) of every JSON ledger query in the scenarios."""
    found = []
    for path in sorted(SCENARIOS.glob("*.json")):
        for index, step in enumerate(json.loads(path.read_text())["steps"]):
            query = step["do"].get("query", {}) if isinstance(step["do"], dict) else {}
            if query.get("type") in LEDGERS and query.get("format", "json") == "json":
                if "error" not in step:
                    found.append((path.name, index))
    return found


def engine_at(name: str, stop: int) -> tuple[jifen.Engine, dict[str, Any]]:
    """The scenario's engine after the steps before `stop`, and the query at `stop`."""
    scenario = json.loads((SCENARIOS / name).read_text())
    engine = open_engine(scenario["policy"])
    for step in scenario["steps"][:stop]:
        try:
            engine.execute(step["do"])
        except jifen.JifenError:
            assert "error" in step
    return engine, scenario["steps"][stop]["do"]


STEPS = ledger_steps()


def test_the_scenarios_ask_for_every_ledger() -> None:
    asked = {
        json.loads((SCENARIOS / name).read_text())["steps"][i]["do"]["query"]["type"]
        for name, i in STEPS
    }
    assert asked == set(LEDGERS)


@pytest.mark.parametrize(("name", "index"), STEPS, ids=[f"{n}:{i}" for n, i in STEPS])
def test_arrow_ledger_matches_json(name: str, index: int) -> None:
    engine, request = engine_at(name, index)
    query = request["query"]
    key, arrow = LEDGERS[query["type"]]
    rows = engine.execute(request)[key]

    table = pa.table(arrow(engine, query))
    frame = pl.DataFrame(arrow(engine, query))
    assert table.num_rows == len(rows) == frame.height
    for field in table.schema:
        column = table.column(field.name).to_pylist()
        want = [row.get(field.name) for row in rows]
        if pa.types.is_int64(field.type):
            assert column == want, field.name
            assert frame[field.name].sum() == sum(v for v in want if v is not None)
        elif pa.types.is_date32(field.type):
            assert column == [None if v is None else datetime.date.fromisoformat(v) for v in want]
        elif pa.types.is_decimal(field.type):
            assert field.type == pa.decimal128(18, 2)
            assert column == [None if v is None else Decimal(v) for v in want]
        else:
            assert column == want, field.name


def test_points_detail_totals_match_the_engine() -> None:
    name, index = next(
        (n, i)
        for n, i in STEPS
        if json.loads((SCENARIOS / n).read_text())["steps"][i]["do"]["query"]["type"]
        == "points_detail"
    )
    engine, request = engine_at(name, index)
    query = request["query"]
    answer = engine.execute(request)
    table = pa.table(engine.points_detail(query["village"], query["month"]))
    assert table.schema.field("credited").type == pa.int64()
    for column in ("awarded", "credited", "capped", "vetoed", "deducted", "net_score", "balance"):
        assert pc.sum(table.column(column)).as_py() == answer["totals"][column]
    pandas_frame = table.to_pandas()
    assert int(pandas_frame["credited"].sum()) == answer["totals"]["credited"]


def test_an_unknown_village_raises_the_core_error(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.JifenError):
        engine.points_detail("nowhere", "2025-01")


def test_a_malformed_month_is_an_input_error(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.InputError):
        engine.points_detail("V1", "January")


def test_donation_trace_holds_the_rows_of_the_core_csv_trace() -> None:
    name = "store_donation_trace.json"
    steps = json.loads((SCENARIOS / name).read_text())["steps"]
    index = next(
        i
        for i, s in enumerate(steps)
        if isinstance(s["do"], dict) and s["do"].get("query", {}).get("type") == "donation_trace"
    )
    engine, request = engine_at(name, index)
    donation = request["query"].get("donation")
    table = pa.table(engine.donation_trace(donation))
    text = engine.execute({"query": {**request["query"], "format": "csv"}})["csv"]
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert table.num_rows == len(rows) > 0
    # The CSV's columns: donation … lot (5), store (6), outcome (7), quantity (13).
    assert table.column("lot").to_pylist() == [r[5] for r in rows]
    assert table.column("outcome").to_pylist() == [r[7] for r in rows]
    assert table.column("quantity").to_pylist() == [int(r[13]) for r in rows]
    assert table.schema.field("donated_on").type == pa.date32()
    frame = pl.DataFrame(engine.donation_trace(donation))
    assert frame["quantity"].sum() == sum(int(r[13]) for r in rows)
