"""The durable journal from Python: a SQLite file engine survives a reopen,
exports a checkpoint it later proves it grew from, refuses a second opener,
replays every conformance scenario exactly as the memory engine does, and
refuses a record sealed again over a figure no command could have posted."""

import hashlib
import json
import sqlite3
import subprocess
import sys
import textwrap
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


def _county(path: Path) -> jifen.Engine:
    """A new file engine at `path` with an administrator and household H1."""
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
    return engine


def test_a_file_engine_survives_reopen_and_proves_growth(tmp_path: Path) -> None:
    path = tmp_path / "county.sqlite"
    engine = _county(path)
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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_journal_verifies_where_no_helper_thread_can_start(tmp_path: Path) -> None:
    """Under an address-space limit that leaves no room for a thread's stack,
    reopening and verifying a journal checks every seal on the one thread."""
    path = tmp_path / "county.sqlite"
    engine = jifen.Engine.open(path, PEPPER, policy="baisha-2019", pin_hash_cost=MINIMAL_PIN_COST)
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    want = engine.verify()
    del engine
    script = textwrap.dedent(
        f"""
        import resource
        import threading

        import jifen

        with open("/proc/self/status") as status:
            vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + 2 * 2**20, resource.RLIM_INFINITY))
        # A thread with the stack a Rust thread takes by default.
        threading.stack_size(2 * 2**20)
        try:
            threading.Thread(target=print).start()
        except RuntimeError:
            pass
        else:
            raise SystemExit("a thread still starts under the limit")
        engine = jifen.Engine.open({str(path)!r}, {PEPPER!r}, pin_hash_cost={MINIMAL_PIN_COST!r})
        print(engine.verify()["seq"])
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (run.returncode, run.stdout.strip()) == (0, str(want["seq"])), run.stderr


def test_a_resealed_award_no_command_could_post_is_refused_on_open(tmp_path: Path) -> None:
    path = tmp_path / "county.sqlite"
    engine = _county(path)
    _award(engine, 100, "2025-03-05")
    del engine

    # Whoever rewrites the file whole can seal the chain again over any bytes.
    with sqlite3.connect(path) as db:
        (seq, prev_hash, body) = db.execute(
            "SELECT seq, prev_hash, body FROM records WHERE instr(body, 'award_posted') > 0"
        ).fetchone()
        record = json.loads(body)
        award = next(e for e in record["events"] if e["type"] == "award_posted")
        award["credited"] = 10**18
        forged = json.dumps(record).encode()
        sealed = hashlib.sha256(prev_hash.encode() + forged).hexdigest()
        db.execute("UPDATE records SET body = ?, hash = ? WHERE seq = ?", (forged, sealed, seq))
        assert db.execute("SELECT MAX(seq) FROM records").fetchone() == (seq,)

    with pytest.raises(jifen.JournalError) as corrupt:
        jifen.Engine.open(path, PEPPER, pin_hash_cost=MINIMAL_PIN_COST)
    assert corrupt.value.name == "journal_corrupt"
    assert f"journal record {seq}" in str(corrupt.value)
    assert "credited 1000000000000000000" in str(corrupt.value)
