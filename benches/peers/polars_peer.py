"""The month's settlement in Polars, the way a Polars user would write it:
lazy frames, window expressions over households, joins for the lookups.

Ordered capping with partial credit: on a gross basis every award of a month
uses both caps, so a household's room is C = max(0, min(monthly cap, annual
cap - credited so far this year)) and its credited total after each award is
min(cumulative award points, C); an award is credited the step in that.
Balances: the posting starts at opening - redeemed and each deduction stops
at zero, so the balance after each entry is S - min(0, running min of S),
S being the running sum of credited awards less deductions.
"""

from __future__ import annotations

import sys

import numpy as np
import polars as pl

import common

NAME = "Polars"
AWARD, DEDUCTION, VETO = 0, 1, 2


def prepare(d: common.Dataset):
    households = pl.DataFrame(
        {
            "household": np.arange(d.households, dtype=np.uint32),
            "category": d.category,
            "village": d.village,
            "opening": d.opening_balance,
            "ytd": d.ytd_credited,
        }
    )
    categories = pl.DataFrame(
        {
            "category": np.arange(len(d.monthly_cap), dtype=np.uint32),
            "monthly": d.monthly_cap,
            "annual": d.annual_cap,
        }
    )
    entries = pl.DataFrame(
        {
            "household": d.entry_household,
            "kind": d.entry_kind,
            "points": d.entry_points,
            "day": d.entry_day,
            "order": d.entry_order,
        }
    )
    redemptions = pl.DataFrame(
        {
            "household": d.redemption_household,
            "store": d.redemption_store,
            "points": d.redemption_points,
            "reimbursable": d.redemption_reimbursable,
        }
    )
    regions = pl.DataFrame(
        {
            "village": np.arange(len(d.village_township), dtype=np.uint32),
            "township": d.village_township,
        }
    ).join(
        pl.DataFrame(
            {
                "township": np.arange(len(d.township_county), dtype=np.uint32),
                "county": d.township_county,
            }
        ),
        on="township",
    )
    if d.sorted:
        entries = entries.with_columns(pl.col("household").set_sorted())
    return households, categories, entries, redemptions, regions


def settle(d: common.Dataset, prepared):
    households, categories, entries, redemptions, regions = prepared
    money = common.Money(d.meta["point_value"])
    entries = entries.lazy()
    if not d.sorted:
        entries = entries.sort("household", "day", "order")
    redeemed = (
        redemptions.lazy().group_by("household").agg(pl.col("points").sum().alias("redeemed"))
    )
    vetoed = (
        entries.filter(pl.col("kind") == VETO)
        .select("household")
        .unique()
        .with_columns(pl.lit(True).alias("vetoed"))
    )
    house = (
        households.lazy()
        .join(categories.lazy(), on="category")
        .join(redeemed, on="household", how="left")
        .join(vetoed, on="household", how="left")
        .with_columns(
            start=pl.col("opening") - pl.col("redeemed").fill_null(0),
            room=pl.max_horizontal(
                0, pl.min_horizontal("monthly", pl.col("annual") - pl.col("ytd"))
            ),
            vetoed=pl.col("vetoed").fill_null(False),
            redeemed=pl.col("redeemed").fill_null(0),
        )
        .select("household", "village", "ytd", "start", "room", "vetoed", "redeemed")
    )
    award = pl.when(pl.col("kind") == AWARD).then(pl.col("points")).otherwise(0)
    deduction = pl.when(pl.col("kind") == DEDUCTION).then(pl.col("points")).otherwise(0)
    per_household = (
        entries.join(
            house.select("household", "start", "room", "vetoed"),
            on="household",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            award=award,
            deduction=deduction,
            requested=pl.when(pl.col("vetoed")).then(0).otherwise(award),
        )
        .with_columns(cum=pl.col("requested").cum_sum().over("household"))
        .with_columns(
            credited=pl.min_horizontal("cum", "room")
            - pl.min_horizontal(pl.col("cum") - pl.col("requested"), "room"),
        )
        .with_columns(
            s=pl.col("start")
            + (pl.col("credited") - pl.col("deduction")).cum_sum().over("household"),
        )
        .group_by("household")
        .agg(
            pl.col("award").sum().alias("awarded"),
            pl.col("credited").sum(),
            pl.col("deduction").sum().alias("deductions"),
            pl.col("s").min().alias("s_min"),
        )
    )
    result = (
        house.join(per_household, on="household", how="left")
        .with_columns(pl.col("awarded", "credited", "deductions").fill_null(0))
        .with_columns(
            closing=pl.col("start")
            + pl.col("credited")
            - pl.col("deductions")
            - pl.min_horizontal(0, pl.col("s_min").fill_null(0)),
            vetoed_points=pl.when(pl.col("vetoed")).then(pl.col("awarded")).otherwise(0),
        )
        .with_columns(
            capped=pl.col("awarded") - pl.col("vetoed_points") - pl.col("credited"),
            deducted=pl.col("start") + pl.col("credited") - pl.col("closing"),
            net=pl.col("credited") - pl.col("deductions"),
            ytd_credited=pl.col("ytd") + pl.col("credited"),
        )
        .with_columns(unapplied=pl.col("deductions") - pl.col("deducted"))
        .sort("household")
        .collect()
    )
    sums = [
        pl.len().alias("households"),
        *(pl.col(c).sum() for c in ("awarded", "credited", "capped")),
        pl.col("vetoed_points").sum().alias("vetoed"),
        *(pl.col(c).sum() for c in ("deducted", "unapplied", "redeemed")),
        pl.col("closing").sum().alias("balance"),
    ]
    with_regions = result.lazy().join(regions.lazy(), on="village")
    levels = {
        level: with_regions.group_by(level).agg(sums).sort(level).collect()
        for level in ("village", "township", "county")
    }
    stores = (
        redemptions.lazy()
        .group_by("store")
        .agg(
            pl.col("points").sum().alias("redeemed"),
            (pl.col("points") * pl.col("reimbursable")).sum().alias("reimbursable"),
        )
        .sort("store")
        .collect()
    )
    return result, levels, stores, money


def dense(frame: pl.DataFrame, key: str, column: str, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.int64)
    out[frame[key].to_numpy()] = frame[column].to_numpy()
    return out


def to_numpy(d: common.Dataset, settled):
    result, levels, stores, money = settled
    households = {
        name: result[name].to_numpy()
        for name in (
            "awarded",
            "credited",
            "capped",
            "deducted",
            "unapplied",
            "net",
            "ytd_credited",
        )
    }
    households["vetoed"] = result["vetoed_points"].to_numpy()
    households["closing_balance"] = result["closing"].to_numpy()
    sizes = {
        "village": len(d.village_township),
        "township": len(d.township_county),
        "county": d.counties,
    }
    regions = {}
    for level, frame in levels.items():
        columns = {c: dense(frame, level, c, sizes[level]) for c in common.REGION_COLUMNS[:-1]}
        columns["liability_fen"] = money.fen(columns["balance"])
        regions[level + "s" if level != "county" else "counties"] = columns
    store = {c: dense(stores, "store", c, d.stores) for c in ("redeemed", "reimbursable")}
    store["amount_fen"] = money.fen(store["reimbursable"])
    return households, store, regions


if __name__ == "__main__":
    common.run("polars", sys.modules[__name__])
