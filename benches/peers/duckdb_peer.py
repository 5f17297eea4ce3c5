"""The month's settlement in DuckDB SQL: window sums over each household's
entries in (day, order) order, aggregates, joins for the lookups. The same
closed forms as polars_peer.py (see its docstring): credited total
min(cumulative award points, room), balance S - min(0, running min of S).
"""

from __future__ import annotations

import sys

import duckdb
import numpy as np
import pyarrow as pa

import common

NAME = "DuckDB"


def prepare(d: common.Dataset):
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    tables = {
        "households": pa.table(
            {
                "household": np.arange(d.households, dtype=np.uint32),
                "category": d.category,
                "village": d.village,
                "opening": d.opening_balance,
                "ytd": d.ytd_credited,
            }
        ),
        "categories": pa.table(
            {
                "category": np.arange(len(d.monthly_cap), dtype=np.uint32),
                "monthly": d.monthly_cap,
                "annual": d.annual_cap,
            }
        ),
        "entries": pa.table(
            {
                "household": d.entry_household,
                "kind": d.entry_kind,
                "points": d.entry_points,
                "day": d.entry_day,
                "ord": d.entry_order,
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
        "villages": pa.table(
            {
                "village": np.arange(len(d.village_township), dtype=np.uint32),
                "township": d.village_township,
            }
        ),
        "townships": pa.table(
            {
                "township": np.arange(len(d.township_county), dtype=np.uint32),
                "county": d.township_county,
            }
        ),
    }
    for name, table in tables.items():
        con.register(name, table)
    return con, tables


HOUSEHOLDS = """
WITH redeemed AS (
    SELECT household, sum(points) AS redeemed FROM redemptions GROUP BY household
), vetoed AS (
    SELECT DISTINCT household FROM entries WHERE kind = 2
), house AS (
    SELECT h.household, h.village, h.ytd,
           h.opening - coalesce(r.redeemed, 0) AS start,
           coalesce(r.redeemed, 0) AS redeemed,
           greatest(0, least(c.monthly, c.annual - h.ytd)) AS room,
           v.household IS NOT NULL AS vetoed
    FROM households h
    JOIN categories c USING (category)
    LEFT JOIN redeemed r USING (household)
    LEFT JOIN vetoed v USING (household)
), requested AS (
    SELECT e.household, e.day, e.ord, h.start, h.room,
           CASE WHEN e.kind = 0 THEN e.points ELSE 0 END AS award,
           CASE WHEN e.kind = 1 THEN e.points ELSE 0 END AS deduction,
           CASE WHEN e.kind = 0 AND NOT h.vetoed THEN e.points ELSE 0 END AS req
    FROM entries e JOIN house h USING (household)
), cumulative AS (
    SELECT *, sum(req) OVER w AS cum
    FROM requested
    WINDOW w AS (PARTITION BY household ORDER BY day, ord ROWS UNBOUNDED PRECEDING)
), credited AS (
    SELECT *, least(cum, room) - least(cum - req, room) AS credited FROM cumulative
), walked AS (
    SELECT *, start + sum(credited - deduction) OVER w AS s
    FROM credited
    WINDOW w AS (PARTITION BY household ORDER BY day, ord ROWS UNBOUNDED PRECEDING)
), per_household AS (
    SELECT household, sum(award) AS awarded, sum(credited) AS credited,
           sum(deduction) AS deductions, min(s) AS s_min
    FROM walked GROUP BY household
), settled AS (
    SELECT h.household, h.village, h.vetoed, h.redeemed,
           coalesce(p.awarded, 0) AS awarded,
           coalesce(p.credited, 0) AS credited,
           coalesce(p.deductions, 0) AS deductions,
           h.start + coalesce(p.credited, 0) - coalesce(p.deductions, 0)
               - least(0, coalesce(p.s_min, 0)) AS closing,
           h.start, h.ytd
    FROM house h LEFT JOIN per_household p USING (household)
)
SELECT household, village, redeemed, awarded, credited,
       CASE WHEN vetoed THEN awarded ELSE 0 END AS vetoed,
       awarded - credited - CASE WHEN vetoed THEN awarded ELSE 0 END AS capped,
       start + credited - closing AS deducted,
       deductions - (start + credited - closing) AS unapplied,
       credited - deductions AS net,
       closing AS closing_balance,
       ytd + credited AS ytd_credited
FROM settled
"""

REGIONS = """
SELECT {level}, count(*) AS households, sum(awarded) AS awarded, sum(credited) AS credited,
       sum(capped) AS capped, sum(vetoed) AS vetoed, sum(deducted) AS deducted,
       sum(unapplied) AS unapplied, sum(redeemed) AS redeemed, sum(closing_balance) AS balance,
       {liability} AS liability_fen
FROM settled_households JOIN villages USING (village) JOIN townships USING (township)
GROUP BY {level} ORDER BY {level}
"""

STORES = """
SELECT store, sum(points) AS redeemed, sum(points * reimbursable) AS reimbursable,
       {amount} AS amount_fen
FROM redemptions GROUP BY store ORDER BY store
"""


def arrow(relation) -> pa.Table:
    """A query's result as an Arrow table (the method's name moved in DuckDB 1.4)."""
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()


def settle(d: common.Dataset, prepared):
    con, _ = prepared
    money = common.Money(d.meta["point_value"])
    con.execute("CREATE OR REPLACE TEMP TABLE settled_households AS " + HOUSEHOLDS)
    households = arrow(con.sql("SELECT * FROM settled_households ORDER BY household"))
    levels = {
        level: arrow(
            con.sql(REGIONS.format(level=level, liability=money.sql("sum(closing_balance)")))
        )
        for level in ("village", "township", "county")
    }
    stores = arrow(con.sql(STORES.format(amount=money.sql("sum(points * reimbursable)"))))
    return households, levels, stores


def dense(table: pa.Table, key: str, column: str, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=np.int64)
    out[table[key].to_numpy()] = table[column].to_numpy()
    return out


def to_numpy(d: common.Dataset, settled):
    households, levels, stores = settled
    h = {name: households[name].to_numpy() for name in common.HOUSEHOLD_COLUMNS}
    sizes = {
        "village": len(d.village_township),
        "township": len(d.township_county),
        "county": d.counties,
    }
    names = {"village": "villages", "township": "townships", "county": "counties"}
    regions = {
        names[level]: {c: dense(t, level, c, sizes[level]) for c in common.REGION_COLUMNS}
        for level, t in levels.items()
    }
    store = {c: dense(stores, "store", c, d.stores) for c in common.STORE_COLUMNS}
    return h, store, regions


if __name__ == "__main__":
    common.run("duckdb", sys.modules[__name__])
