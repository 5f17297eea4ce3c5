"""The package's front: version, presets, typing marker."""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.resources

import pytest

import jifen
from conftest import open_engine


def test_the_version_is_the_distributions() -> None:
    assert jifen.__version__ == importlib.metadata.version("jifen")
    assert jifen.__version__.count(".") == 2


def test_presets_name_the_seed_counties() -> None:
    names = jifen.presets()
    assert "baisha-2019" in names
    assert len(names) == len(set(names)) >= 5


@pytest.mark.parametrize("name", jifen.presets())
def test_every_preset_opens_an_engine(name: str) -> None:
    engine = open_engine(name)
    assert engine.policy(datetime.date(2025, 1, 1))["name"] == name


def test_the_package_is_typed() -> None:
    files = importlib.resources.files("jifen")
    assert files.joinpath("py.typed").is_file()
    assert files.joinpath("_jifen.pyi").is_file()


def test_classes_live_in_the_extension_module() -> None:
    assert jifen.Engine.__module__ == "jifen._jifen"
    assert jifen.JifenError.__module__ == "jifen._jifen"
    assert jifen.HouseholdError.__qualname__ == "HouseholdError"
