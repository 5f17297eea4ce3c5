"""Bulk settlement over Arrow tables: a synthetic population settles to the
same figures whether its tables come as pyarrow, polars or pandas, in any
entry order and with widened column types; the figures add up."""

from __future__ import annotations

import datetime
import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import jifen
from conftest import REGION, open_engine

POLICY = "baisha-2019"
#: The arguments of settle_month that settle_partitions takes per partition.
BY_PARTITION = ("households", "entries", "redemptions")


@pytest.fixture(scope="module")
def population() -> dict[str, Any]:
    return jifen.synthetic_population(POLICY, 7, 3_000, entries_per_household=6)


def settle(population: dict[str, Any], convert: Any) -> dict[str, pa.Table]:
    arguments = dict(population)
    for name in ("households", "entries", "redemptions"):
        arguments[name] = convert(pa.table(population[name]))
    settled = jifen.settle_month(policy=POLICY, **arguments)
    return {name: pa.table(table) for name, table in settled.items()}


def test_the_figures_add_up(population: dict[str, Any]) -> None:
    settled = settle(population, lambda t: t)
    h = settled["households"]
    assert h.num_rows == 3_000
    total = {c: pc.sum(h.column(c)).as_py() for c in h.column_names}
    assert total["awarded"] == total["credited"] + total["capped"] + total["vetoed"]
    assert total["credited"] > 0 and total["capped"] > 0
    for region in ("villages", "townships", "counties"):
        table = settled[region]
        for column in ("credited", "capped", "vetoed", "deducted"):
            assert pc.sum(table.column(column)).as_py() == total[column], (region, column)
        assert pc.sum(table.column("balance")).as_py() == total["closing_balance"]
    stores = settled["stores"]
    assert stores.schema.field("amount").type == pa.decimal128(18, 2)
    redeemed = pc.sum(pa.table(population["redemptions"]).column("points")).as_py()
    assert pc.sum(stores.column("redeemed")).as_py() == redeemed


def test_a_population_of_a_named_month_is_dated_within_it() -> None:
    february = jifen.synthetic_population(POLICY, 7, 3_000, month="2026-02")
    assert february["month"] == "2026-02"
    days = pa.table(february["entries"]).column("day")
    assert pc.max(days).as_py() <= 28
    settled = jifen.settle_month(policy=POLICY, **february)
    assert pc.sum(pa.table(settled["households"]).column("credited")).as_py() > 0
    with pytest.raises(jifen.JifenError) as caught:
        jifen.synthetic_population(POLICY, 7, 10, month="2026-13")
    assert caught.value.name == "bad_period"


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(pl.from_arrow, id="polars"),
        pytest.param(lambda t: t.to_pandas(), id="pandas"),
        pytest.param(lambda t: t.to_batches(max_chunksize=997), id="chunked"),
        pytest.param(
            lambda t: t.cast(pa.schema([pa.field(f.name, pa.int64()) for f in t.schema])),
            id="widened",
        ),
    ],
)
def test_every_input_library_settles_alike(population: dict[str, Any], convert: Any) -> None:
    want = settle(population, lambda t: t)

    def converted(table: pa.Table) -> Any:
        out = convert(table)
        return pa.Table.from_batches(out, table.schema) if isinstance(out, list) else out

    got = settle(population, converted)
    for name, table in want.items():
        assert got[name].equals(table), name


def test_entry_order_does_not_change_the_settlement(population: dict[str, Any]) -> None:
    want = settle(population, lambda t: t)
    entries = pa.table(population["entries"])
    shuffled = dict(population, entries=entries.take(pa.array(range(entries.num_rows))[::-1]))
    got = settle(shuffled, lambda t: t)
    # Reversing all entries reverses each household's entries too: posting
    # sorts them by (day, order), so the figures stay the same.
    assert got["households"].equals(want["households"])


def test_a_shuffled_population_holds_the_same_entries_and_settles_alike(
    population: dict[str, Any],
) -> None:
    def shuffled_by(seed: int) -> dict[str, Any]:
        return jifen.synthetic_population(
            POLICY, 7, 3_000, entries_per_household=6, shuffle_seed=seed
        )

    shuffled = shuffled_by(11)
    entries, mixed = pa.table(population["entries"]), pa.table(shuffled["entries"])
    assert not mixed.equals(entries)
    by_order = [("order", "ascending")]
    assert mixed.sort_by(by_order).equals(entries.sort_by(by_order))
    assert pa.table(shuffled_by(11)["entries"]).equals(mixed), "a seed gives one order"
    assert settle(shuffled, lambda t: t)["households"].equals(
        settle(population, lambda t: t)["households"]
    )


def test_a_bad_row_is_a_bulk_error(population: dict[str, Any]) -> None:
    entries = pa.table(population["entries"])
    households = entries.column("household").to_pylist()
    households[0] = 10_000_000
    broken = entries.set_column(0, "household", pa.array(households, pa.uint32()))
    with pytest.raises(jifen.BulkError):
        jifen.settle_month(policy=POLICY, **dict(population, entries=broken))


def partitioned(population: dict[str, Any], parts: int) -> list[dict[str, pa.Table]]:
    """The population split into `parts` partitions of whole households (by
    village), each with local indices and its households' global keys."""
    households = pa.table(population["households"])
    village = households.column("village").to_numpy()
    entries, redemptions = pa.table(population["entries"]), pa.table(population["redemptions"])

    def local_rows(table: pa.Table, local: np.ndarray) -> pa.Table:
        """The rows of `table` whose household `local` maps (to its local index)."""
        rows = local[table.column("household").to_numpy()]
        kept = table.filter(pa.array(rows >= 0))
        index = pa.array(rows[rows >= 0], pa.uint32())
        return kept.set_column(kept.schema.get_field_index("household"), "household", index)

    partitions = []
    for part in range(parts):
        keys = np.flatnonzero(village % parts == part)
        local = np.full(households.num_rows, -1, dtype=np.int64)
        local[keys] = np.arange(keys.size)
        partitions.append(
            {
                "households": households.take(pa.array(keys)).append_column(
                    "key", pa.array(keys, pa.uint64())
                ),
                "entries": local_rows(entries, local),
                "redemptions": local_rows(redemptions, local),
            }
        )
    return partitions


def test_partitions_merge_into_the_single_run(population: dict[str, Any]) -> None:
    want = settle(population, lambda t: t)
    partitions = partitioned(population, 3)
    arguments = {k: v for k, v in population.items() if k not in BY_PARTITION}
    got = jifen.settle_partitions(partitions, policy=POLICY, **arguments)
    for level in ("stores", "villages", "townships", "counties"):
        assert pa.table(got[level]).equals(want[level]), level
    for partition, table in zip(partitions, got["households"], strict=True):
        keys = partition["households"].column("key")
        assert pa.table(table).equals(want["households"].take(keys))


def test_partitions_default_to_one_county_over_all_of_them(population: dict[str, Any]) -> None:
    want = settle(population, lambda t: t)
    got = jifen.settle_partitions(
        partitioned(population, 3), policy=POLICY, month=population["month"]
    )
    # Villages from every partition: each holds only some of them.
    assert pa.table(got["villages"]).equals(want["villages"])
    county = pa.table(got["counties"])
    assert county.num_rows == 1
    for column in ("households", "credited", "balance", "liability"):
        whole = pc.sum(want["counties"].column(column)).as_py()
        assert county.column(column)[0].as_py() == whole, column


def test_a_household_in_two_partitions_is_refused(population: dict[str, Any]) -> None:
    partitions = partitioned(population, 2)
    first = partitions[0]["households"]
    stolen = partitions[1]["households"].column("key")[0].as_py()
    keys = first.column("key").to_pylist()
    keys[0] = stolen
    partitions[0]["households"] = first.set_column(
        first.schema.get_field_index("key"), "key", pa.array(keys, pa.uint64())
    )
    arguments = {k: v for k, v in population.items() if k not in BY_PARTITION}
    with pytest.raises(jifen.BulkError) as caught:
        jifen.settle_partitions(partitions, policy=POLICY, **arguments)
    assert caught.value.name == "household_split_across_partitions"


def test_what_a_caller_leaves_out_defaults_to_one_county_of_the_policys_categories(
    population: dict[str, Any],
) -> None:
    full = {k: pa.table(t) for k, t in jifen.settle_month(policy=POLICY, **population).items()}
    tables = {name: population[name] for name in BY_PARTITION}
    settled = jifen.settle_month(**tables, policy=POLICY, month=population["month"])
    brief = {k: pa.table(t) for k, t in settled.items()}
    # The population's category indices are the policy's order, so nothing changes
    # for a household, a village or a store the redemptions name.
    assert brief["households"].equals(full["households"])
    assert brief["villages"].equals(full["villages"])
    named = pc.max(pa.table(population["redemptions"]).column("store")).as_py() + 1
    assert brief["stores"].equals(full["stores"].slice(0, named))
    # A store count of 0 names none, as leaving it out does.
    zero = jifen.settle_month(**tables, policy=POLICY, month=population["month"], stores=0)
    assert pa.table(zero["stores"]).equals(brief["stores"])
    # Every village in one township of one county: the regions' sums.
    for level in ("townships", "counties"):
        assert brief[level].num_rows == 1
        for column in ("households", "credited", "capped", "balance", "liability"):
            whole = pc.sum(full[level].column(column)).as_py()
            assert brief[level].column(column)[0].as_py() == whole, (level, column)


def test_naming_only_some_region_tables_is_refused(population: dict[str, Any]) -> None:
    tables = {name: population[name] for name in BY_PARTITION}
    with pytest.raises(jifen.InputError, match="or none") as caught:
        jifen.settle_month(
            **tables,
            policy=POLICY,
            month=population["month"],
            village_township=population["village_township"],
        )
    assert caught.value.name == "invalid_value"


def test_a_missing_column_is_refused(population: dict[str, Any]) -> None:
    entries = pa.table(population["entries"]).drop_columns(["day"])
    with pytest.raises(jifen.InputError, match="entries has no column day") as caught:
        jifen.settle_month(policy=POLICY, **dict(population, entries=entries))
    assert (caught.value.code, caught.value.name) == (101, "invalid_value")


def test_a_null_or_a_value_its_column_cannot_hold_is_refused(
    population: dict[str, Any],
) -> None:
    entries = pa.table(population["entries"])
    day = entries.schema.get_field_index("day")
    with_null = entries.set_column(day, "day", pa.array([None] * entries.num_rows, pa.uint8()))
    with pytest.raises(jifen.InputError, match=r"entries\.day holds nulls"):
        jifen.settle_month(policy=POLICY, **dict(population, entries=with_null))
    households = pa.table(population["households"])
    village = households.schema.get_field_index("village")
    negative = households.set_column(
        village, "village", pa.array([-1] * households.num_rows, pa.int64())
    )
    with pytest.raises(jifen.InputError, match=r"households\.village") as caught:
        jifen.settle_month(policy=POLICY, **dict(population, households=negative))
    assert caught.value.name == "invalid_value"


def test_a_partition_without_its_entries_is_refused(population: dict[str, Any]) -> None:
    partitions = partitioned(population, 2)
    del partitions[1]["entries"]
    arguments = {k: v for k, v in population.items() if k not in BY_PARTITION}
    with pytest.raises(jifen.InputError, match="a partition has no entries table"):
        jifen.settle_partitions(partitions, policy=POLICY, **arguments)


def test_pandas_frame_from_scratch_settles() -> None:
    # ytd_deducted may be left out: no deduction earlier in the year.
    frame = pd.DataFrame(
        {
            "category": [0],
            "village": [0],
            "opening_balance": [0],
            "ytd_credited": [0],
        }
    )
    population = jifen.synthetic_population(POLICY, 1, 1)
    settled = jifen.settle_month(
        policy=POLICY,
        **dict(
            population,
            households=frame,
            redemptions=pa.table(population["redemptions"]).slice(0, 0),
        ),
    )
    assert pa.table(settled["households"]).num_rows == 1


def test_the_kernel_agrees_with_the_engine_posting_one_command_at_a_time() -> None:
    """The same month through settle_month and through Engine commands (a
    veto first, then entries by day and order) gives the same figures."""
    rng = random.Random(11)
    n = 30
    categories = ["ordinary", "poor"]
    category = [rng.randrange(2) for _ in range(n)]
    entries: list[tuple[int, int, int, int, int]] = []  # household, kind, points, day, order
    for h in range(n):
        for order in range(rng.randrange(0, 8)):
            kind = rng.choices([0, 1], weights=[4, 1])[0]
            points = rng.randint(1, 40) if kind == 0 else rng.randint(1, 15)
            entries.append((h, kind, points, rng.randint(1, 30), order))
        if rng.random() < 0.1:
            entries.append((h, 2, 0, rng.randint(1, 30), 99))
    columns = list(zip(*entries, strict=True))
    settled = jifen.settle_month(
        pa.table(
            {
                "category": pa.array(category, pa.uint32()),
                "village": pa.array([0] * n, pa.uint32()),
                "opening_balance": pa.array([0] * n, pa.int64()),
                "ytd_credited": pa.array([0] * n, pa.int64()),
                "ytd_deducted": pa.array([0] * n, pa.int64()),
            }
        ),
        pa.table(dict(zip(["household", "kind", "points", "day", "order"], columns, strict=True))),
        pa.table({"household": [], "store": [], "points": [], "reimbursable": []}),
        POLICY,
        "2025-11",
        categories,
        [0],
        [0],
        1,
        0,
    )
    kernel = pa.table(settled["households"])

    engine = open_engine(POLICY)
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    for h in range(n):
        engine.register_household(
            actor="admin",
            household=f"H{h}",
            region=REGION,
            head=f"h{h}",
            category=categories[category[h]],
            category_from=datetime.date(2025, 1, 1),
        )
    ordered = sorted(entries, key=lambda e: (e[0], e[1] != 2, e[3], e[4]))
    for h, kind, points, day, _ in ordered:
        date = datetime.date(2025, 11, day)
        if kind == 2:
            engine.post_veto(actor="admin", household=f"H{h}", date=date, reason="r")
        elif kind == 1:
            engine.post_deduction(
                actor="admin", household=f"H{h}", date=date, points=points, reason="r"
            )
        else:
            engine.post_award(
                actor="admin", household=f"H{h}", date=date, points=points, reason="r"
            )
    assert kernel.column("closing_balance").to_pylist() == [
        engine.balance(f"H{h}") for h in range(n)
    ]
    totals = engine.check_invariants()
    for column in ("credited", "capped", "vetoed", "deducted"):
        assert pc.sum(kernel.column(column)).as_py() == totals[column], column


def test_more_threads_than_any_machine_settle_alike(population: dict[str, Any]) -> None:
    want = jifen.settle_month(policy=POLICY, threads=1, **population)
    got = jifen.settle_month(policy=POLICY, threads=100_000, **population)
    for name, table in want.items():
        assert pa.table(got[name]).equals(pa.table(table)), name


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_threads_the_system_will_not_start_leave_the_settlement_unchanged() -> None:
    """Under an address-space limit that leaves room for few thread stacks,
    the workers that cannot start are worked on the calling thread."""
    script = textwrap.dedent(
        """
        import resource

        import pyarrow as pa

        import jifen

        population = jifen.synthetic_population("baisha-2019", 7, 3_000)
        settle = lambda threads: jifen.settle_month(
            policy="baisha-2019", threads=threads, **population
        )
        want = settle(1)
        with open("/proc/self/status") as status:
            vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + 24 * 2**20, resource.RLIM_INFINITY))
        got = settle(64)
        print(all(pa.table(got[name]).equals(pa.table(want[name])) for name in want))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (run.returncode, run.stdout.strip()) == (0, "True"), run.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memory_a_finished_settlement_kept_is_given_back_when_asked() -> None:
    """The large blocks a settlement freed stay with the process for the
    next settlement until ``give_back_memory``, which returns them to the
    system: the process's resident memory falls by what it says."""
    script = textwrap.dedent(
        """
        import gc

        import jifen

        def resident() -> int:
            with open("/proc/self/status") as status:
                kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            return kib * 1024

        population = jifen.synthetic_population("baisha-2019", 7, 300_000, shuffle_seed=3)
        settled = jifen.settle_month(policy="baisha-2019", **population)
        del population, settled
        gc.collect()
        before = resident()
        given = jifen.give_back_memory()
        after = resident()
        print(given >= 16 * 2**20, before - after >= given // 2, jifen.give_back_memory())
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (run.returncode, run.stdout.strip()) == (0, "True True 0"), run.stderr


def run_within_the_memory_allowed(setup: str, body: str) -> list[str]:
    """Runs `setup` in a fresh interpreter, limits its address space to
    256 MiB beyond what it then holds, and runs `body`: what it printed."""
    script = textwrap.dedent(
        """
        import resource

        import numpy as np
        import pyarrow as pa

        import jifen
        """
    )
    script += textwrap.dedent(setup)
    script += textwrap.dedent(
        """
        with open("/proc/self/status") as status:
            vm = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + 256 * 2**20, resource.RLIM_INFINITY))
        """
    )
    script += textwrap.dedent(body)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def settled_beyond_the_memory_allowed(setup: str, too_large: str, fits: str) -> list[str]:
    """Runs `setup` (which defines `settle`) under the address-space limit
    of [`run_within_the_memory_allowed`], and settles `too_large` then
    `fits`: the first's error name and the second's number of households."""
    body = f"""
        try:
            settle({too_large})
        except jifen.BulkError as error:
            print(error.name)
        print(pa.table(settle({fits})["households"]).num_rows)
        """
    return run_within_the_memory_allowed(setup, body)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_population_beyond_the_memory_allowed_is_refused_and_python_goes_on() -> None:
    """Under an address-space limit, households whose result columns cannot
    be had are a BulkError, not the end of the interpreter."""
    setup = """
        def households(rows):
            zeros = np.zeros(rows, dtype=np.int64)
            return pa.table({
                "category": pa.array(np.zeros(rows, dtype=np.uint32)),
                "village": pa.array(np.zeros(rows, dtype=np.uint32)),
                "opening_balance": pa.array(zeros),
                "ytd_credited": pa.array(zeros),
            })

        population = jifen.synthetic_population("baisha-2019", 7, 1)
        none = {name: pa.table(population[name]).slice(0, 0) for name in ("entries", "redemptions")}
        settle = lambda table: jifen.settle_month(
            policy="baisha-2019", month=population["month"], households=table, **none
        )
        large, small = households(4_000_000), households(1_000)
        """
    printed = settled_beyond_the_memory_allowed(setup, "large", "small")
    assert printed == ["out_of_memory", "1000"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_stray_village_index_beyond_the_memory_allowed_is_refused_and_python_goes_on() -> None:
    """A household whose village index is sixteen million, with no region
    tree named, implies that many villages; under an address-space limit
    their totals cannot be had, and the call is a BulkError, not the end of
    the interpreter."""
    setup = """
        population = jifen.synthetic_population("baisha-2019", 7, 1_000)
        households = pa.table(population["households"])
        villages = households["village"].to_numpy().copy()
        villages[-1] = 16_000_000
        stray = households.set_column(
            households.schema.get_field_index("village"), "village", pa.array(villages)
        )
        settle = lambda households: jifen.settle_month(
            policy="baisha-2019", month=population["month"], households=households,
            entries=population["entries"], redemptions=population["redemptions"],
        )
        """
    printed = settled_beyond_the_memory_allowed(setup, "stray", "households")
    assert printed == ["out_of_memory", "1000"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_entries_too_large_to_gather_from_their_chunks_are_refused_and_python_goes_on() -> None:
    """A column in several chunks is gathered into one copy before the
    settlement borrows it; under an address-space limit too tight for that
    copy, the call is a BulkError, not the end of the interpreter."""
    setup = """
        population = jifen.synthetic_population("baisha-2019", 7, 1)
        half = np.zeros(20_000_000, dtype=np.int64)
        chunked = lambda dtype: pa.chunked_array([half.astype(dtype), half.astype(dtype)])
        entries = pa.table({
            "household": chunked(np.uint32),
            "kind": chunked(np.uint8),
            "points": chunked(np.int64),
            "day": chunked(np.uint8),
            "order": chunked(np.uint32),
        })
        settle = lambda entries: jifen.settle_month(
            policy="baisha-2019", month=population["month"], households=population["households"],
            entries=entries, redemptions=population["redemptions"],
        )
        """
    printed = settled_beyond_the_memory_allowed(setup, "entries", 'population["entries"]')
    assert printed == ["out_of_memory", "1"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_column_widened_within_the_memory_allowed_is_settled() -> None:
    """Points given as 32-bit integers are widened into one copy; the
    widening takes no second copy of the column, so under an address-space
    limit with room for the one copy (96 MB) and not two the month is
    settled."""
    setup = """
        population = jifen.synthetic_population("baisha-2019", 7, 1)
        rows = 12_000_000
        entries = pa.table({
            "household": pa.array(np.zeros(rows, dtype=np.uint32)),
            "kind": pa.array(np.zeros(rows, dtype=np.uint8)),
            "points": pa.array(np.ones(rows, dtype=np.int32)),
            "day": pa.array(np.ones(rows, dtype=np.uint8)),
            "order": pa.array(np.zeros(rows, dtype=np.uint32)),
        })
        """
    body = """
        settled = jifen.settle_month(
            policy="baisha-2019", month=population["month"], households=population["households"],
            entries=entries, redemptions=population["redemptions"],
        )
        print(pa.table(settled["households"])["awarded"][0])
        """
    assert run_within_the_memory_allowed(setup, body) == ["12000000"]


def mapping_flags(address: int) -> str:
    """The `VmFlags` of the mapping of this process that holds `address`."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):
                start, end = (int(bound, 16) for bound in first.split("-"))
                inside = start <= address < end
            elif inside and first == "VmFlags:":
                return line
    return ""


@pytest.mark.skipif(
    not Path("/sys/kernel/mm/transparent_hugepage").exists(),
    reason="a kernel without transparent huge pages",
)
def test_large_result_columns_ask_for_huge_pages() -> None:
    # First touching fresh result columns in 4 KiB pages costs more than a
    # large settlement itself; like numpy's arrays, they ask for 2 MiB ones.
    rows = 1_000_000
    zeros = np.zeros(rows, dtype=np.int64)
    households = pa.table(
        {
            "category": pa.array(np.zeros(rows, dtype=np.uint32)),
            "village": pa.array(np.zeros(rows, dtype=np.uint32)),
            "opening_balance": pa.array(zeros),
            "ytd_credited": pa.array(zeros),
        }
    )
    population = jifen.synthetic_population(POLICY, 1, 1)
    settled = jifen.settle_month(
        policy=POLICY,
        **dict(
            population,
            households=households,
            entries=pa.table(population["entries"]).slice(0, 0),
            redemptions=pa.table(population["redemptions"]).slice(0, 0),
        ),
    )
    credited = pa.table(settled["households"]).column("credited").chunks[0]
    values = credited.buffers()[1]
    assert values.size >= 8 * rows
    assert " hg" in mapping_flags(values.address + values.size // 2)
