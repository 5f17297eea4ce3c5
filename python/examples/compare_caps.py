"""Compares cap policies over one population, as an analyst sizing a county's
caps would: the same month of a synthetic county settled under Baisha's caps
and under narrower and wider ones, with the points each category is credited
and cut by the caps, and what each county owes for the balances.

    python python/examples/compare_caps.py [HOUSEHOLDS]

Each settlement is one `jifen.settle_month` call over Arrow tables; the
results are joined to the households and summed by category with polars.
"""

from __future__ import annotations

import sys
from typing import Any

import polars as pl

import jifen

#: Monthly and annual caps by category, (poor, ordinary), tried beside the
#: preset's own (poor 110/1335, ordinary 68/831).
CAPS = {
    "narrower": ((90, 1080), (50, 600)),
    "wider": ((150, 1800), (90, 1080)),
}


def policy(caps: tuple[tuple[int, int], tuple[int, int]]) -> dict[str, Any]:
    """Baisha's policy with the categories' caps replaced."""
    (poor_month, poor_year), (ordinary_month, ordinary_year) = caps
    return {
        "extends": "baisha-2019",
        "categories": {
            "poor": {"monthly": poor_month, "annual": poor_year},
            "ordinary": {"monthly": ordinary_month, "annual": ordinary_year},
        },
    }


#: Each policy compared: the preset as it stands, then the caps above.
POLICIES: dict[str, str | dict[str, Any]] = {
    "preset": "baisha-2019",
    **{name: policy(caps) for name, caps in CAPS.items()},
}


def compare(households: int, seed: int = 2025) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per cap policy and category: households, points credited and capped,
    closing balances; and per cap policy and county, its totals and
    liability (money as the kernel rounded it, a decimal)."""
    population = jifen.synthetic_population("baisha-2019", seed, households)
    names = dict(enumerate(population["categories"]))
    people = pl.DataFrame(population["households"]).select(
        pl.col("category").replace_strict(names, return_dtype=pl.Utf8)
    )
    by_category, county = [], []
    for name, rules in POLICIES.items():
        settled = jifen.settle_month(policy=rules, **population)
        results = pl.DataFrame(settled["households"])
        by_category.append(
            pl.concat([people, results], how="horizontal")
            .group_by("category")
            .agg(
                pl.len().alias("households"),
                pl.col("credited").sum(),
                pl.col("capped").sum(),
                pl.col("closing_balance").sum().alias("balances"),
            )
            .select(pl.lit(name).alias("caps"), pl.all())
        )
        county.append(
            pl.DataFrame(settled["counties"])
            .select("credited", "capped", "balance", "liability")
            .with_row_index("county")
            .select(pl.lit(name).alias("caps"), pl.all())
        )
    return pl.concat(by_category).sort("caps", "category"), pl.concat(county)


def main() -> None:
    households = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    by_category, county = compare(households)
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True):
        print(by_category)
        print(county)


if __name__ == "__main__":
    main()
