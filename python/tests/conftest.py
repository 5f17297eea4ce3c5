"""Shared fixtures: an engine opened as the scenarios open theirs."""

from __future__ import annotations

import datetime

import pytest

import jifen

PEPPER = b"scenario-pepper"
MINIMAL_PIN_COST = (8, 1)
REGION = {"county": "469025", "township": "T1", "village": "V1"}
JAN_1 = datetime.date(2025, 1, 1)


def open_engine(policy: str | dict[str, object] = "baisha-2019") -> jifen.Engine:
    """An engine with the scenarios' pepper and the cheapest PIN hash."""
    return jifen.Engine(policy, PEPPER, pin_hash_cost=MINIMAL_PIN_COST)


@pytest.fixture
def engine() -> jifen.Engine:
    """A baisha-2019 engine with an administrator `admin` and a poor household `H1`."""
    engine = open_engine()
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    engine.register_household(
        actor="admin",
        household="H1",
        region=REGION,
        head="符某",
        category="poor",
        category_from=JAN_1,
    )
    return engine
