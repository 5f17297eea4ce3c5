"""The durable journal from Python: a SQLite file engine survives a reopen,
exports a checkpoint it later proves it grew from, refuses a second opener,
and replays every conformance scenario exactly as the memory engine does."""

import json
from pathlib import Path

import pytest

import jifen
from conftest import MINIMAL_PIN_COST, PEPPER
from test_scenarios import SCENARIOS, replay


def _award(engine: jifen.Engine, points: int, date: str) -> None:
    engine.execute(
        {
            "actor": "admin",
            "reason": "import",
            "command": {"type": "post_award", "household": "H1", "date": date, "points": points},
        }
    )


def test_a_file_engine_survives_reopen_and_proves_growth(tmp_path: Path) -> None:
    path = tmp_path / "county.sqlite"
    engine = jifen.Engine.open(path, PEPPER, policy="baisha-2019", pin_hash_cost=MINIMAL_PIN_COST)
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    engine.execute(
        {
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
    )
    _award(engine, 120, "2025-03-05")
    checkpoint = engine.checkpoint()
    with pytest.raises(jifen.JournalError) as locked:
        jifen.Engine.open(path, PEPPER, pin_hash_cost=MINIMAL_PIN_COST)
    assert locked.value.name == "journal_locked"
    del engine

    reopened = jifen.Engine.open(path, PEPPER, pin_hash_cost=MINIMAL_PIN_COST)
    assert reopened.balance("H1") == 110
    _award(reopened, 10, "2025-04-05")
    assert reopened.verify_against(checkpoint)["seq"] == checkpoint["seq"] + 1
    with pytest.raises(jifen.JournalError) as mismatch:
        reopened.verify_against({"seq": checkpoint["seq"], "hash": "00"})
    assert mismatch.value.name == "checkpoint_mismatch"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_every_scenario_replays_on_a_file_engine(path: Path, tmp_path: Path) -> None:
    scenario = json.loads(path.read_text(encoding="utf-8"))
    replay(
        scenario,
        lambda policy: jifen.Engine.open(
            tmp_path / "s.sqlite", PEPPER, policy=policy, pin_hash_cost=MINIMAL_PIN_COST
        ),
    )
