"""The month's settlement in pandas, vectorised: group-wise cumulative sums
over households, numpy lookups by the dense household index, group-by sums.
The same closed forms as polars_peer.py (see its docstring).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import common

NAME = "pandas"
AWARD, DEDUCTION, VETO = 0, 1, 2


def prepare(d: common.Dataset):
    entries = pd.DataFrame(
        {
            "household": d.entry_household,
            "kind": d.entry_kind,
            "points": d.entry_points,
            "day": d.entry_day,
            "order": d.entry_order,
        }
    )
    redemptions = pd.DataFrame(
        {
            "household": d.redemption_household,
            "store": d.redemption_store,
            "points": d.redemption_points,
            "reimbursable": d.redemption_reimbursable,
        }
    )
    households = pd.DataFrame(
        {
            "category": d.category,
            "village": d.village,
            "opening": d.opening_balance,
            "ytd": d.ytd_credited,
        }
    )
    return entries, redemptions, households


def settle(d: common.Dataset, prepared):
    entries, redemptions, households = prepared
    if not d.sorted:
        entries = entries.sort_values(["household", "day", "order"], kind="stable")
    n = d.households
    redeemed = redemptions.groupby("household")["points"].sum().reindex(range(n), fill_value=0)
    vetoed = np.zeros(n, dtype=bool)
    vetoed[entries.loc[entries["kind"] == VETO, "household"].unique()] = True
    house = households.assign(
        redeemed=redeemed.to_numpy(),
        vetoed=vetoed,
        room=np.maximum(
            0,
            np.minimum(
                d.monthly_cap[households["category"].to_numpy()],
                d.annual_cap[households["category"].to_numpy()] - households["ytd"].to_numpy(),
            ),
        ),
    )
    house["start"] = house["opening"] - house["redeemed"]
    h = entries["household"].to_numpy()
    kind, points = entries["kind"].to_numpy(), entries["points"].to_numpy()
    award = np.where(kind == AWARD, points, 0)
    deduction = np.where(kind == DEDUCTION, points, 0)
    requested = np.where(house["vetoed"].to_numpy()[h], 0, award)
    e = pd.DataFrame(
        {"household": h, "award": award, "deduction": deduction, "requested": requested}
    )
    cum = e.groupby("household", sort=False)["requested"].cumsum().to_numpy()
    room = house["room"].to_numpy()[h]
    e["credited"] = np.minimum(cum, room) - np.minimum(cum - requested, room)
    e["step"] = e["credited"] - e["deduction"]
    e["s"] = house["start"].to_numpy()[h] + e.groupby("household", sort=False)["step"].cumsum()
    per = (
        e.groupby("household")
        .agg(
            awarded=("award", "sum"),
            credited=("credited", "sum"),
            deductions=("deduction", "sum"),
            s_min=("s", "min"),
        )
        .reindex(range(n), fill_value=0)
    )
    out = pd.DataFrame(
        {
            "awarded": per["awarded"].to_numpy(),
            "credited": per["credited"].to_numpy(),
        }
    )
    deductions = per["deductions"].to_numpy()
    start = house["start"].to_numpy()
    out["closing_balance"] = (
        start + out["credited"] - deductions - np.minimum(0, per["s_min"].to_numpy())
    )
    out["vetoed"] = np.where(house["vetoed"].to_numpy(), out["awarded"], 0)
    out["capped"] = out["awarded"] - out["vetoed"] - out["credited"]
    out["deducted"] = start + out["credited"] - out["closing_balance"]
    out["unapplied"] = deductions - out["deducted"]
    out["net"] = out["credited"] - deductions
    out["ytd_credited"] = house["ytd"].to_numpy() + out["credited"]
    out["redeemed"] = house["redeemed"].to_numpy()
    out["households"] = 1
    village = house["village"].to_numpy()
    township = d.village_township[village]
    sums = [
        "households",
        "awarded",
        "credited",
        "capped",
        "vetoed",
        "deducted",
        "unapplied",
        "redeemed",
        "closing_balance",
    ]
    sizes = {
        "villages": len(d.village_township),
        "townships": len(d.township_county),
        "counties": d.counties,
    }
    keys = {"villages": village, "townships": township, "counties": d.township_county[township]}
    levels = {
        level: out[sums].groupby(keys[level]).sum().reindex(range(sizes[level]), fill_value=0)
        for level in keys
    }
    stores = (
        redemptions.assign(reimbursable=redemptions["points"] * redemptions["reimbursable"])
        .groupby("store")[["points", "reimbursable"]]
        .sum()
        .reindex(range(d.stores), fill_value=0)
    )
    return out, levels, stores


def to_numpy(d: common.Dataset, settled):
    out, levels, stores = settled
    money = common.Money(d.meta["point_value"])
    households = {c: out[c].to_numpy() for c in common.HOUSEHOLD_COLUMNS}
    regions = {}
    for level, frame in levels.items():
        columns = {c: frame[c].to_numpy() for c in common.REGION_COLUMNS[:-2]}
        columns["balance"] = frame["closing_balance"].to_numpy()
        columns["liability_fen"] = money.fen(columns["balance"])
        regions[level] = columns
    store = {
        "redeemed": stores["points"].to_numpy(),
        "reimbursable": stores["reimbursable"].to_numpy(),
    }
    store["amount_fen"] = money.fen(store["reimbursable"])
    return households, store, regions


if __name__ == "__main__":
    common.run("pandas", sys.modules[__name__])
