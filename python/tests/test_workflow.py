"""The typed scoring-workflow, store, kiosk, reimbursement and fund methods replay
the scenarios: every such command goes through its typed method (keyword arguments,
datetime.date, datetime.datetime, Decimal) instead of the JSON door, and the scenario's
refusals, queries and final balances still hold."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import jifen
from conftest import open_engine
from test_scenarios import assert_contains

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "tests" / "scenarios").glob("*.json"))

# Commands whose typed method has another name.
METHOD = {"reserve_redemption": "reserve"}
TYPED = {
    "register_store",
    "list_item",
    "propose_price",
    "forward_price",
    "approve_price",
    "receive_stock",
    "register_donation",
    "void_redemption",
    "take_notifications",
    "redeem",
    "reserve_redemption",
    "commit_hold",
    "cancel_hold",
    "open_sheet",
    "add_entry",
    "sign_sheet",
    "submit_sheet",
    "review_sheet",
    "send_back_sheet",
    "publish_sheet",
    "lodge_objection",
    "resolve_objection",
    "post_sheet",
    "declare",
    "accept_declaration",
    "close_period",
    "close_year",
    "generate_statements",
    "submit_store_statement",
    "review_statement",
    "approve_statement",
    "record_payment",
    "enrol_filial_elder",
    "record_filial_contribution",
    "pay_filial_elder",
}
# Where a typed method names an argument differently from the command.
RENAMED: dict[str, dict[str, str]] = {"open_sheet": {"period": "month"}}
DATES = {"date", "expires"}
DECIMALS = {"market_price", "cash", "amount"}


def call_typed(engine: jifen.Engine, request: dict[str, Any]) -> None:
    """The request's command through its typed method."""
    command = dict(request["command"])
    name: str = command.pop("type")
    arguments: dict[str, Any] = {"actor": request["actor"]}
    for key in ("key", "reason"):
        if key in request:
            arguments[key] = request[key]
    if "at" in request:
        arguments["at"] = datetime.datetime.fromisoformat(request["at"].replace("Z", "+00:00"))
    for field, value in command.items():
        if field in DATES and value is not None:
            value = datetime.date.fromisoformat(value)
        if field in DECIMALS and value is not None:
            value = Decimal(value)
        target: str = RENAMED.get(name, {}).get(field) or field
        arguments[target] = value
    getattr(engine, METHOD.get(name, name))(**arguments)


def uses_typed(path: Path) -> bool:
    steps = json.loads(path.read_text())["steps"]
    return any(
        isinstance(s["do"], dict) and s["do"].get("command", {}).get("type") in TYPED for s in steps
    )


WORKFLOW = [path for path in SCENARIOS if uses_typed(path)]


def test_scenarios_exercise_every_typed_workflow_method() -> None:
    seen = {
        s["do"]["command"]["type"]
        for path in WORKFLOW
        for s in json.loads(path.read_text())["steps"]
        if isinstance(s["do"], dict) and "command" in s["do"]
    }
    # The scenarios cover these; the others are checked by their stubs.
    assert {"open_sheet", "add_entry", "sign_sheet", "submit_sheet", "post_sheet"} <= seen
    assert {"redeem", "reserve_redemption", "commit_hold"} <= seen
    assert {"register_store", "list_item", "propose_price", "receive_stock"} <= seen
    assert {"register_donation", "void_redemption", "take_notifications"} <= seen
    assert {"generate_statements", "submit_store_statement", "review_statement"} <= seen
    assert {"approve_statement", "record_payment", "enrol_filial_elder"} <= seen
    assert {"record_filial_contribution", "pay_filial_elder"} <= seen


@pytest.mark.parametrize("path", WORKFLOW, ids=[path.stem for path in WORKFLOW])
def test_typed_workflow_replays_the_scenario(path: Path) -> None:
    scenario = json.loads(path.read_text(encoding="utf-8"))
    engine = open_engine(scenario["policy"])
    for index, step in enumerate(scenario["steps"]):
        request = step["do"]
        typed = isinstance(request, dict) and request.get("command", {}).get("type") in TYPED
        where = f"step {index}"
        if "error" in step:
            with pytest.raises(jifen.JifenError) as caught:
                call_typed(engine, request) if typed else engine.execute(request)
            assert caught.value.name == step["error"], f"{where}: {caught.value}"
        elif typed:
            call_typed(engine, request)
        else:
            answer = engine.execute(request)
            if "result" in step and "query" in request:
                assert_contains(answer, step["result"], where)
    for household, balance in scenario.get("balances", {}).items():
        assert engine.balance(household) == balance, household
    receipts = [
        s["do"]["query"]["receipt"]
        for s in scenario["steps"]
        if isinstance(s["do"], dict) and s["do"].get("query", {}).get("type") == "receipt"
    ]
    for number in receipts:
        kiosk = engine.receipt(number)
        plain = engine.execute({"query": {"type": "receipt", "receipt": number}})
        assert kiosk["receipt"]["points"] == plain["receipt"]["points"]
        assert kiosk["receipt"]["date"] == datetime.date.fromisoformat(plain["receipt"]["date"])
