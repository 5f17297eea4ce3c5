"""Errors arrive as one exception class per family, with the core's stable
code and name."""

from __future__ import annotations

import datetime

import pytest

import jifen
import jifen.exceptions
from conftest import PEPPER, REGION, open_engine

FAMILIES = [
    jifen.InputError,
    jifen.AccessError,
    jifen.PolicyError,
    jifen.HouseholdError,
    jifen.CardError,
    jifen.AccountError,
    jifen.JournalError,
    jifen.ScoringError,
    jifen.StoreError,
    jifen.SettlementError,
    jifen.BulkError,
]


def test_every_family_is_a_jifen_error() -> None:
    assert issubclass(jifen.JifenError, Exception)
    for family in FAMILIES:
        assert issubclass(family, jifen.JifenError)
        assert family is getattr(jifen.exceptions, family.__name__)
    assert len(set(FAMILIES)) == len(FAMILIES)
    assert set(jifen.exceptions.__all__) == {f.__name__ for f in FAMILIES} | {"JifenError"}


def test_an_unknown_household(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.HouseholdError) as caught:
        engine.balance("H404")
    error = caught.value
    assert (error.code, error.name) == (300, "unknown_household")
    assert "H404" in error.message
    assert str(error) == error.message


def test_malformed_json_is_an_input_error(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.InputError) as caught:
        engine.execute("{not json")
    assert (caught.value.code, caught.value.name) == (100, "malformed_request")


def test_a_request_of_the_wrong_shape_is_an_input_error(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.InputError) as caught:
        engine.execute({"actor": "admin", "command": {"type": "post_award", "household": "H1"}})
    assert caught.value.name == "malformed_request"
    with pytest.raises(jifen.InputError, match="status"):
        engine.set_household_status(
            actor="admin",
            household="H1",
            status="asleep",  # type: ignore[arg-type]
        )


def test_points_are_never_floats(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.InputError):
        engine.execute(
            {
                "actor": "admin",
                "reason": "r",
                "command": {
                    "type": "post_award",
                    "household": "H1",
                    "date": "2025-03-05",
                    "points": 1.5,
                },
            }
        )
    with pytest.raises(TypeError):
        engine.post_award(
            actor="admin",
            household="H1",
            date=datetime.date(2025, 3, 5),
            points=1.5,  # type: ignore[arg-type]
            reason="r",
        )


def test_a_bad_period_is_an_input_error(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.InputError) as caught:
        engine.cap_room("H1", "March 2025")
    assert (caught.value.code, caught.value.name) == (102, "bad_period")


def test_access_errors(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.AccessError) as unknown:
        engine.lock_card(actor="nobody", card="C1")
    assert (unknown.value.code, unknown.value.name) == (103, "unknown_actor")
    engine.register_actor(actor="admin", id="clerk", roles=["store_keeper"])
    with pytest.raises(jifen.AccessError) as missing:
        engine.register_household(
            actor="clerk", household="H9", region=REGION, head="h", category="poor"
        )
    assert (missing.value.code, missing.value.name) == (104, "missing_role")


def test_policy_errors() -> None:
    with pytest.raises(jifen.PolicyError) as unknown:
        open_engine("atlantis-2020")
    assert (unknown.value.code, unknown.value.name) == (200, "unknown_preset")
    with pytest.raises(jifen.PolicyError) as invalid:
        jifen.Engine({"categories": {"poor": {"monthly": -1}}}, PEPPER)
    assert invalid.value.name == "invalid_policy"


def test_card_and_account_errors(engine: jifen.Engine) -> None:
    with pytest.raises(jifen.CardError) as card:
        engine.card("C404")
    assert (card.value.code, card.value.name) == (400, "unknown_card")
    with pytest.raises(jifen.AccountError) as account:
        engine.post_award(
            actor="admin", household="H1", date=datetime.date(2025, 3, 5), points=0, reason="r"
        )
    assert (account.value.code, account.value.name) == (500, "non_positive_points")


def test_a_failed_command_records_nothing(engine: jifen.Engine) -> None:
    before = engine.verify()
    with pytest.raises(jifen.HouseholdError):
        engine.register_household(
            actor="admin", household="H1", region=REGION, head="h", category="poor"
        )
    assert engine.verify() == before


def test_values_without_a_json_form_are_type_errors(engine: jifen.Engine) -> None:
    with pytest.raises(TypeError):
        engine.execute({"query": {"type": "balance", "household": object()}})
    with pytest.raises(TypeError):
        engine.execute({"query": {1: "balance"}})
