"""The Python examples run and say what they claim."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import polars as pl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wider_caps_credit_more_and_cut_less() -> None:
    by_category, county = example("compare_caps").compare(3_000, seed=5)
    assert set(by_category["caps"]) == {"narrower", "preset", "wider"}
    for caps in ("narrower", "preset", "wider"):
        assert by_category.filter(pl.col("caps") == caps)["households"].sum() == 3_000
    for category in ("poor", "ordinary"):
        rows = by_category.filter(pl.col("category") == category)
        credited = dict(zip(rows["caps"], rows["credited"], strict=True))
        capped = dict(zip(rows["caps"], rows["capped"], strict=True))
        assert credited["narrower"] < credited["preset"] < credited["wider"], category
        assert capped["narrower"] > capped["preset"] > capped["wider"], category
    # Each county's totals are its households' sums; at 1 yuan a point its
    # liability is its balance to the fen.
    for caps in ("narrower", "preset", "wider"):
        totals = county.filter(pl.col("caps") == caps)
        households = by_category.filter(pl.col("caps") == caps)
        assert totals["credited"].sum() == households["credited"].sum()
        assert totals["balance"].sum() == households["balances"].sum()
        for balance, liability in zip(totals["balance"], totals["liability"], strict=True):
            assert liability == balance
