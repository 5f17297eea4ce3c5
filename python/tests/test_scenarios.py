"""Replays every conformance scenario in tests/scenarios/ through Engine.execute,
as tests/scenarios/README.md prescribes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import jifen
from conftest import open_engine

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "tests" / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.json"))
BULK_SCENARIOS = sorted((SCENARIO_DIR / "bulk").glob("*.json"))


def head(engine: jifen.Engine) -> int:
    """The journal head's sequence number, by the verify query."""
    seq = engine.execute({"query": {"type": "verify"}})["seq"]
    assert isinstance(seq, int)
    return seq


def assert_contains(actual: Any, expected: Any, where: str) -> None:
    """`actual` holds `expected`: every expected key, recursively; arrays match
    element by element and in length; other values are equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r} in {actual!r}"
            assert_contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
        assert len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for index, (got, want) in enumerate(zip(actual, expected, strict=True)):
            assert_contains(got, want, f"{where}[{index}]")
    else:
        # bool is an int in Python; JSON keeps them apart.
        assert type(actual) is type(expected) or not isinstance(expected, bool), where
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def replay(scenario: dict[str, Any], opener: Callable[[Any], jifen.Engine] = open_engine) -> None:
    engine = opener(scenario["policy"])
    for index, step in enumerate(scenario["steps"]):
        where = f"step {index}" + (f" ({step['note']})" if "note" in step else "")
        request = step["do"]
        if "error" in step:
            before = head(engine)
            with pytest.raises(jifen.JifenError) as caught:
                engine.execute(request)
            assert caught.value.name == step["error"], f"{where}: {caught.value}"
            assert head(engine) - before == step.get("appends", 0), f"{where}: journal moved"
        else:
            answer = engine.execute(request)
            if "result" in step:
                assert_contains(answer, step["result"], where)
    for household, balance in scenario.get("balances", {}).items():
        answer = engine.execute({"query": {"type": "balance", "household": household}})
        assert answer["balance"] == balance, f"balance of {household}"
    engine.execute({"query": {"type": "invariants"}})
    engine.execute({"query": {"type": "verify"}})


def test_there_are_scenarios() -> None:
    assert SCENARIOS, "tests/scenarios/ holds no *.json scenario"


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_scenario(path: Path) -> None:
    replay(json.loads(path.read_text(encoding="utf-8")))


INLINE = {
    "policy": "baisha-2019",
    "steps": [
        {
            "do": {
                "actor": "admin",
                "command": {
                    "type": "register_actor",
                    "actor": {"id": "admin", "roles": ["administrator"]},
                },
            }
        },
        {
            "do": {
                "actor": "admin",
                "command": {
                    "type": "register_household",
                    "household": "H1",
                    "region": {"county": "C", "township": "T", "village": "V"},
                    "head": "h",
                    "category": "poor",
                    "category_from": "2025-01-01",
                },
            }
        },
        {
            "do": {
                "actor": "admin",
                "reason": "import",
                "command": {
                    "type": "post_award",
                    "household": "H1",
                    "date": "2025-03-05",
                    "points": 120,
                },
            },
            "result": {"result": {"credited": 110, "capped": 10}},
        },
        {"do": "{not json", "error": "malformed_request"},
    ],
    "balances": {"H1": 110},
}


def mutated(change: Any) -> dict[str, Any]:
    scenario: dict[str, Any] = json.loads(json.dumps(INLINE))
    change(scenario)
    return scenario


def test_the_replayer_passes_a_true_scenario() -> None:
    replay(INLINE)


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s["balances"].update(H1=111),
        lambda s: s["steps"][2]["result"]["result"].update(capped=11),
        lambda s: s["steps"][2]["result"]["result"].update(missing=0),
        lambda s: s["steps"][3].update(error="unknown_household"),
        lambda s: s["steps"][3].update(appends=1),
        lambda s: s["steps"][2].update(error="cap_reached"),
    ],
    ids=["balance", "value", "key", "error-name", "appends", "error-expected"],
)
def test_the_replayer_catches_a_wrong_expectation(change: Any) -> None:
    """A replayer that cannot fail proves nothing: each wrong expectation fails."""
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        replay(mutated(change))


#: The Arrow type of each bulk scenario column (an empty JSON list has none).
BULK_TYPES = {
    "households": {
        "category": pa.uint32(),
        "village": pa.uint32(),
        "opening_balance": pa.int64(),
        "ytd_credited": pa.int64(),
        "ytd_deducted": pa.int64(),
    },
    "entries": {
        "household": pa.uint32(),
        "kind": pa.uint8(),
        "points": pa.int64(),
        "day": pa.uint8(),
        "order": pa.uint32(),
    },
    "redemptions": {
        "household": pa.uint32(),
        "store": pa.uint32(),
        "points": pa.int64(),
        "reimbursable": pa.uint8(),
    },
}


def fen(table: pa.Table, column: str) -> list[int]:
    return [int(amount * 100) for amount in table.column(column).to_pylist()]


def bulk_tables(tables: dict[str, Any]) -> dict[str, pa.Table]:
    """A bulk scenario's `households`, `entries` and `redemptions` as Arrow tables."""
    return {
        name: pa.table(
            {column: pa.array(tables[name][column], type=kind) for column, kind in columns.items()}
        )
        for name, columns in BULK_TYPES.items()
    }


REGION_TABLES = ("village_township", "township_county", "counties")


def settle_bulk(scenario: dict[str, Any], threads: int | None = None) -> dict[str, Any]:
    """A bulk scenario settled through jifen.settle_month, or through
    jifen.settle_partitions when it holds partitions, on `threads` threads,
    shaped as its `expect`; a `synthetic` population is generated by
    jifen.synthetic_population."""
    # Without `regions` or `stores` the settlement fills them in.
    shared = {key: scenario["regions"][key] for key in REGION_TABLES if "regions" in scenario}
    if "stores" in scenario:
        shared["stores"] = scenario["stores"]
    rules: dict[str, Any] = {
        key: scenario[key] for key in ("policy", "month", "categories") if key in scenario
    }
    rules["threads"] = threads
    actual: dict[str, Any] = {}
    if "partitions" in scenario:
        partitions = []
        for partition in scenario["partitions"]:
            tables = bulk_tables(partition)
            keys = pa.array(partition["keys"], pa.uint64())
            tables["households"] = tables["households"].append_column("key", keys)
            partitions.append(tables)
        settled = jifen.settle_partitions(partitions=partitions, **rules, **shared)
        actual["partitions"] = [
            {"households": pa.table(table).to_pydict()} for table in settled["households"]
        ]
    elif "synthetic" in scenario:
        synthetic = scenario["synthetic"]
        population = jifen.synthetic_population(
            scenario["policy"],
            synthetic["seed"],
            synthetic["households"],
            synthetic.get("entries_per_household"),
            month=scenario["month"],
            shuffle_seed=synthetic.get("shuffle_seed"),
        )
        settled = jifen.settle_month(policy=scenario["policy"], threads=threads, **population)
    else:
        settled = jifen.settle_month(**rules, **bulk_tables(scenario), **shared)
        actual["households"] = pa.table(settled["households"]).to_pydict()
    stores = pa.table(settled["stores"])
    actual["stores"] = {
        **stores.drop_columns(["amount"]).to_pydict(),
        "amount_fen": fen(stores, "amount"),
    }
    for level in ("villages", "townships", "counties"):
        table = pa.table(settled[level])
        actual[level] = {
            **table.drop_columns(["liability"]).to_pydict(),
            "liability_fen": fen(table, "liability"),
        }
    return actual


def test_there_are_bulk_scenarios() -> None:
    assert BULK_SCENARIOS, "tests/scenarios/bulk/ holds no *.json scenario"


@pytest.mark.parametrize("path", BULK_SCENARIOS, ids=[path.stem for path in BULK_SCENARIOS])
def test_bulk_scenario(path: Path) -> None:
    scenario = json.loads(path.read_text(encoding="utf-8"))
    for threads in scenario.get("threads", [None]):
        if "error" in scenario:
            with pytest.raises(jifen.JifenError) as caught:
                settle_bulk(scenario, threads)
            assert caught.value.name == scenario["error"], f"{threads} threads: {caught.value}"
        else:
            assert_contains(settle_bulk(scenario, threads), scenario["expect"], path.stem)
