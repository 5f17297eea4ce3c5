"""The exceptions jifen raises.

Every error carries the core's stable ``.code`` number and snake_case ``.name``
(the same codes the C surface returns), and its message. Catch ``JifenError``
for all of them, or one family::

    try:
        engine.balance("H404")
    except jifen.HouseholdError as error:
        assert error.name == "unknown_household" and error.code == 300
"""

from jifen._jifen import (
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
    "HouseholdError",
    "InputError",
    "JifenError",
    "JournalError",
    "PolicyError",
    "ScoringError",
    "SettlementError",
    "StoreError",
]
