"""jifen through Python — the HOOK for the Python surface.

The Python module (python/, built separately) is to expose
`jifen.settle_month`, a thin wrapper over the core's
`settlement::bulk::settle`. Until it does, this reports "not measured".
When it lands, `call` below is the one place to adapt to its signature.
"""

from __future__ import annotations

import sys

import common

NAME = "jifen (Python)"


def available():
    try:
        import jifen  # noqa: F401
    except ImportError:
        return None
    return getattr(jifen, "settle_month", None)


def prepare(d: common.Dataset):
    return available()


def call(settle_month, d: common.Dataset):
    # HOOK: the expected shape of the Python entry point — numpy/Arrow columns in,
    # columns out. Adjust here to the signature jifen.settle_month ships with.
    return settle_month(
        policy=d.meta["policy"],
        month=d.meta["month"],
        households={"category": d.category, "village": d.village,
                    "opening_balance": d.opening_balance, "ytd_credited": d.ytd_credited},
        regions={"village_township": d.village_township, "township_county": d.township_county,
                 "counties": d.counties},
        entries={"household": d.entry_household, "kind": d.entry_kind, "points": d.entry_points,
                 "day": d.entry_day, "order": d.entry_order},
        redemptions={"household": d.redemption_household, "store": d.redemption_store,
                     "points": d.redemption_points, "reimbursable": d.redemption_reimbursable},
        stores=d.stores,
        categories=[c["name"] for c in d.meta["categories"]],
    )


def settle(d: common.Dataset, settle_month):
    return call(settle_month, d)


def to_numpy(d: common.Dataset, settled):
    # HOOK: map the module's result to the comparison's columns (see common.write_results).
    households = {c: settled["households"][c] for c in common.HOUSEHOLD_COLUMNS}
    stores = {c: settled["stores"][c] for c in common.STORE_COLUMNS}
    regions = {level: {c: settled[level][c] for c in common.REGION_COLUMNS}
               for level in ("villages", "townships", "counties")}
    return households, stores, regions


if __name__ == "__main__":
    if available() is None:
        print('{"implementation": "jifen (Python)", "error": "'
              'jifen.settle_month is not importable yet (the Python surface has not landed)"}')
        sys.exit(0)
    common.run("jifen-python", sys.modules[__name__])
