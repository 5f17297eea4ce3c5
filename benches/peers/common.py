"""Shared by the peer implementations: the dataset, the rules' figures from
meta.json, money to the fen, the result files, and the timing harness.

Every peer reads the same .npy columns that `cargo bench --bench peers` wrote,
settles them its own idiomatic way, and writes the same result files as the
Rust run, so compare.py can check them array by array.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

#: A cap of None (uncapped) as a number larger than any sum of points.
NO_CAP = 1 << 62

HOUSEHOLD_COLUMNS = (
    "awarded",
    "credited",
    "capped",
    "vetoed",
    "deducted",
    "unapplied",
    "net",
    "closing_balance",
    "ytd_credited",
)
REGION_COLUMNS = (
    "households",
    "awarded",
    "credited",
    "capped",
    "vetoed",
    "deducted",
    "unapplied",
    "redeemed",
    "balance",
    "liability_fen",
)
STORE_COLUMNS = ("redeemed", "reimbursable", "amount_fen")


class Dataset:
    """The dataset's columns as numpy arrays, and its meta.json."""

    def __init__(self, data: Path, variant: str):
        self.dir = data
        self.variant = variant
        self.meta = json.loads((data / "meta.json").read_text())
        load = lambda name: np.load(data / name)  # noqa: E731
        self.category = load("households/category.npy")
        self.village = load("households/village.npy")
        self.opening_balance = load("households/opening_balance.npy")
        self.ytd_credited = load("households/ytd_credited.npy")
        self.village_township = load("regions/village_township.npy")
        self.township_county = load("regions/township_county.npy")
        entries = f"entries_{variant}"
        self.entry_household = load(f"{entries}/household.npy")
        self.entry_kind = load(f"{entries}/kind.npy")
        self.entry_points = load(f"{entries}/points.npy")
        self.entry_day = load(f"{entries}/day.npy")
        self.entry_order = load(f"{entries}/order.npy")
        self.redemption_household = load("redemptions/household.npy")
        self.redemption_store = load("redemptions/store.npy")
        self.redemption_points = load("redemptions/points.npy")
        self.redemption_reimbursable = load("redemptions/reimbursable.npy")
        self.sorted = variant == "sorted"
        categories = self.meta["categories"]
        self.monthly_cap = np.array(
            [NO_CAP if c["monthly"] is None else c["monthly"] for c in categories], dtype=np.int64
        )
        self.annual_cap = np.array(
            [NO_CAP if c["annual"] is None else c["annual"] for c in categories], dtype=np.int64
        )
        self.households = int(self.meta["households"])
        self.stores = int(self.meta["stores"])
        self.counties = int(self.meta["counties"])

    def input_bytes(self) -> int:
        columns = [
            self.category,
            self.village,
            self.opening_balance,
            self.ytd_credited,
            self.village_township,
            self.township_county,
            self.entry_household,
            self.entry_kind,
            self.entry_points,
            self.entry_day,
            self.entry_order,
            self.redemption_household,
            self.redemption_store,
            self.redemption_points,
            self.redemption_reimbursable,
        ]
        return sum(c.nbytes for c in columns)


class Money:
    """points × point value, rounded half-up to the fen, in integers: the
    point value is an exact decimal, so amount in fen = points × numerator /
    denominator, rounded once."""

    def __init__(self, point_value: str):
        value = Decimal(point_value) * 100
        sign, digits, exponent = value.as_tuple()
        numerator = int("".join(map(str, digits))) * (-1 if sign else 1)
        if exponent >= 0:
            self.numerator, self.denominator = numerator * 10**exponent, 1
        else:
            self.numerator, self.denominator = numerator, 10**-exponent

    def fen(self, points):
        """Works on numpy arrays, Polars expressions' numpy results and ints."""
        scaled = np.asarray(points, dtype=np.int64) * self.numerator
        half = self.denominator // 2
        if self.denominator == 1:
            return scaled
        magnitude = (np.abs(scaled) + half) // self.denominator
        return np.where(scaled < 0, -magnitude, magnitude)

    def sql(self, column: str) -> str:
        """The same rounding as a SQL expression over an integer column."""
        if self.denominator == 1:
            return f"({column}) * {self.numerator}"
        n, d, half = self.numerator, self.denominator, self.denominator // 2
        return f"sign(({column}) * {n}) * ((abs(({column}) * {n}) + {half}) // {d})"


def write_results(out: Path, households: dict, stores: dict, regions: dict) -> None:
    """Writes the result arrays under the names compare.py reads."""
    out.mkdir(parents=True, exist_ok=True)
    for name in HOUSEHOLD_COLUMNS:
        np.save(out / f"households_{name}.npy", np.asarray(households[name], dtype=np.int64))
    for name in STORE_COLUMNS:
        np.save(out / f"stores_{name}.npy", np.asarray(stores[name], dtype=np.int64))
    for level, columns in regions.items():
        for name in REGION_COLUMNS:
            dtype = np.uint64 if name == "households" else np.int64
            np.save(out / f"{level}_{name}.npy", np.asarray(columns[name], dtype=dtype))


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(implementation: str, settle, argv=None) -> None:
    """The harness every peer's main calls: load, settle `repeat` times
    (timed), write the first run's results, print a JSON report."""
    argv = sys.argv[1:] if argv is None else argv
    data, variant, repeat = Path(argv[0]), argv[1], int(argv[2])
    dataset = Dataset(data, variant)
    prepared = settle.prepare(dataset)
    out = data / "out" / f"{implementation}-{variant}"
    seconds = []
    for attempt in range(max(repeat, 1)):
        started = time.perf_counter()
        result = settle.settle(dataset, prepared)
        seconds.append(time.perf_counter() - started)
        if attempt == 0:
            # Written untimed, then dropped with every other run's result, so
            # no run's peak memory holds an earlier run's results.
            households, stores, regions = settle.to_numpy(dataset, result)
            write_results(out, households, stores, regions)
            del households, stores, regions
        del result
    print(
        json.dumps(
            {
                "implementation": settle.NAME,
                "variant": variant,
                "seconds": seconds,
                "peak_rss_bytes": peak_rss_bytes(),
                "input_bytes": dataset.input_bytes(),
                "results": str(out),
            }
        )
    )
