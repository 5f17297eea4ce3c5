"""jifen: the points-supermarket engine.

Rural households earn points for good conduct within monthly and annual caps
set by their category, spend them at village stores, and the county reimburses
the stores. Every rule lives in the Rust core; this package is its Python face::

    import datetime, jifen

    engine = jifen.Engine("baisha-2019", pepper=b"county secret")
    engine.register_actor(actor="admin", id="admin", roles=["administrator"])
    engine.register_household(
        actor="admin", household="H1", head="Fu",
        region={"county": "469025", "township": "T1", "village": "V1"},
        category="poor", category_from=datetime.date(2025, 1, 1),
    )
    engine.post_award(actor="admin", household="H1", date=datetime.date(2025, 3, 5),
                      points=120, reason="import")
    assert engine.balance("H1") == 110  # the poor household's monthly cap

``Engine.execute`` takes the same JSON requests as the C surface.
"""

from jifen._jifen import (
    Engine,
    __version__,
    give_back_memory,
    presets,
    settle_month,
    settle_partitions,
    synthetic_population,
)
from jifen.exceptions import (
    AccessError,
    AccountError,
    BulkError,
    CardError,
    HouseholdError,
    InputError,
    JifenError,
    JournalError,
    PolicyError,
    ScoringError,
    SettlementError,
    StoreError,
)

__all__ = [
    "AccessError",
    "AccountError",
    "BulkError",
    "CardError",
    "Engine",
    "HouseholdError",
    "InputError",
    "JifenError",
    "JournalError",
    "PolicyError",
    "ScoringError",
    "SettlementError",
    "StoreError",
    "__version__",
    "give_back_memory",
    "presets",
    "settle_month",
    "settle_partitions",
    "synthetic_population",
]
