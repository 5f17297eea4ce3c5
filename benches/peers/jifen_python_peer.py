"""jifen through Python: `jifen.settle_month` over Arrow tables.

The numpy columns become pyarrow arrays without a copy (numeric, no nulls),
and the kernel borrows their buffers through the Arrow PyCapsule interface,
so this measures what an analyst's call costs on top of the Rust one. Build
the module optimised first (`maturin develop --release` in python/), or the
times are those of a debug build.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pyarrow as pa

import common

NAME = "jifen (Python)"


def available():
    try:
        import jifen
    except ImportError:
        return None
    return getattr(jifen, "settle_month", None)


def prepare(d: common.Dataset):
    """The call's arguments, built once outside the timing: Arrow tables
    over the dataset's numpy buffers."""
    settle_month = available()
    arguments = {
        "policy": json.loads(d.meta["policy"]),
        "month": d.meta["month"],
        "categories": [c["name"] for c in d.meta["categories"]],
        "households": pa.table(
            {
                "category": d.category,
                "village": d.village,
                "opening_balance": d.opening_balance,
                "ytd_credited": d.ytd_credited,
            }
        ),
        "entries": pa.table(
            {
                "household": d.entry_household,
                "kind": d.entry_kind,
                "points": d.entry_points,
                "day": d.entry_day,
                "order": d.entry_order,
            }
        ),
        "redemptions": pa.table(
            {
                "household": d.redemption_household,
                "store": d.redemption_store,
                "points": d.redemption_points,
                "reimbursable": d.redemption_reimbursable,
            }
        ),
        "village_township": d.village_township.tolist(),
        "township_county": d.township_county.tolist(),
        "counties": d.counties,
        "stores": d.stores,
    }
    return settle_month, arguments


def settle(d: common.Dataset, prepared):
    settle_month, arguments = prepared
    return settle_month(**arguments)


def fen(column) -> np.ndarray:
    """A decimal128(18, 2) column as integer fen."""
    return np.asarray([int(v.scaleb(2)) for v in column.to_pylist()], dtype=np.int64)


def to_numpy(d: common.Dataset, settled):
    households = {
        c: pa.table(settled["households"])[c].to_numpy() for c in common.HOUSEHOLD_COLUMNS
    }
    stores_table = pa.table(settled["stores"])
    stores = {
        "redeemed": stores_table["redeemed"].to_numpy(),
        "reimbursable": stores_table["reimbursable"].to_numpy(),
        "amount_fen": fen(stores_table["amount"]),
    }
    regions = {}
    for level in ("villages", "townships", "counties"):
        table = pa.table(settled[level])
        columns = {c: table[c].to_numpy() for c in common.REGION_COLUMNS if c != "liability_fen"}
        columns["liability_fen"] = fen(table["liability"])
        regions[level] = columns
    return households, stores, regions


if __name__ == "__main__":
    if available() is None:
        print(
            json.dumps(
                {
                    "implementation": NAME,
                    "error": "jifen is not installed in this interpreter "
                    "(maturin develop --release in python/)",
                }
            )
        )
        sys.exit(0)
    common.run("jifen-python", sys.modules[__name__])
