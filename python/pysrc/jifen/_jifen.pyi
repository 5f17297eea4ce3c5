"""Type stubs for the compiled module ``jifen._jifen`` (checked by mypy.stubtest)."""

import datetime
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, Literal, Protocol, TypedDict, final

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

__version__: Final[str]

def give_back_memory() -> int:
    """Gives the memory the module keeps for its next settlements back to
    the system; the bytes given back. Large blocks a settlement freed
    (working buffers, result tables no longer referenced) are kept for the
    next settlement of about the same size until then. 0 on systems other
    than Linux."""

def presets() -> list[str]:
    """The names of the built-in policy presets, e.g. ``"baisha-2019"``."""

def settle_month(
    households: object,
    entries: object,
    redemptions: object,
    policy: str | Mapping[str, Any],
    month: str,
    categories: Sequence[str] | None = None,
    village_township: Sequence[int] | None = None,
    township_county: Sequence[int] | None = None,
    counties: int | None = None,
    stores: int | None = None,
    threads: int | None = None,
) -> dict[str, _ArrowTable]:
    """Settles a month from Arrow-compatible tables (any object with
    ``__arrow_c_stream__``: pyarrow, polars, pandas); returns Arrow tables
    ``households``, ``stores``, ``villages``, ``townships``, ``counties``.

    ``households`` has ``category``, ``village``, ``opening_balance``,
    ``ytd_credited`` and optionally ``ytd_deducted``; ``entries`` has
    ``household``, ``kind``, ``points``, ``day``, ``order``; ``redemptions``
    has ``household``, ``store``, ``points``, ``reimbursable``.

    Without ``categories`` the category indices are the policy's own
    categories in its order (by name); without the region tables every
    village is in one township of one county; without ``stores`` (or with 0)
    the stores are those the redemptions name. The region tables are named
    all or none. Counties, stores and the villages an unnamed tree implies
    number at most 16,777,216 (2**24); more is refused with ``too_many_rows``.
    ``threads`` defaults to one per core; at most 64 run, with the same result
    on any number. A population, region tree or store count whose results
    or working tables the process cannot get the memory for is refused with
    ``out_of_memory``, and the interpreter goes on."""

def settle_partitions(
    partitions: Sequence[Mapping[str, object]],
    policy: str | Mapping[str, Any],
    month: str,
    categories: Sequence[str] | None = None,
    village_township: Sequence[int] | None = None,
    township_county: Sequence[int] | None = None,
    counties: int | None = None,
    stores: int | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Settles a month of a population held in partitions (one per county,
    say): each a dict of Arrow-compatible tables ``households`` (as for
    ``settle_month``, with a ``key`` column: the household's key across every
    partition), ``entries`` and ``redemptions``, indices local to the
    partition; the region tables and stores are shared (and default as for
    ``settle_month``, over every partition). Returns
    ``households`` (a list of tables, one per partition) and the merged
    ``stores``, ``villages``, ``townships``, ``counties``. A key in two
    partitions raises ``BulkError`` (``household_split_across_partitions``)."""

def synthetic_population(
    policy: str | Mapping[str, Any],
    seed: int,
    households: int,
    entries_per_household: int | None = None,
    month: str | None = None,
    shuffle_seed: int | None = None,
) -> dict[str, Any]:
    """A seeded synthetic population of ``month`` (``YYYY-MM``, November
    2025 unless named): the arguments ``settle_month`` takes. Its entries
    come sorted by household unless ``shuffle_seed`` puts them in a seeded
    random order."""

# Answer shapes (stub-only names). Values not spelled out are plain JSON-like
# Python, except that money is ``decimal.Decimal`` and dates ``datetime.date``.

class _ArrowTable(Protocol):
    """An Arrow table: ``pyarrow.table(t)``, ``polars.DataFrame(t)`` read it
    through the Arrow PyCapsule interface."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

class _Outcome(TypedDict):
    seq: int
    events: list[dict[str, Any]]
    result: Any

class _CapRoom(TypedDict):
    month: str
    monthly_cap: int | None
    annual_cap: int | None
    used_this_month: int
    used_this_year: int
    room_this_month: int | None
    room_this_year: int | None

class _Totals(TypedDict):
    awarded: int
    credited: int
    capped: int
    vetoed: int
    deducted: int
    unapplied: int
    redeemed: int
    transferred_in: int
    transferred_out: int

class _Checkpoint(TypedDict):
    seq: int
    hash: str

_DifferenceKind = Literal[
    "missing_from_store",
    "missing_from_ledger",
    "points_differ",
    "household_differs",
    "outside_month",
    "duplicate",
]

class _Difference(TypedDict):
    kind: _DifferenceKind
    receipt: str
    ledger_points: int | None
    store_points: int | None
    store_date: datetime.date | None

class _Signoff(TypedDict):
    by: str
    on: datetime.date

class _Payment(TypedDict):
    reference: str
    date: datetime.date
    amount: Decimal
    by: str

class _StatementLine(TypedDict):
    receipt: str
    date: datetime.date
    household: str
    points: int

class _Funding(TypedDict):
    source: str
    amount: Decimal

class _Submission(TypedDict):
    account: str
    lines: list[_StatementLine]
    submitted: _Signoff

class _Statement(TypedDict):
    id: str
    store: str
    store_name: str
    county: str
    township: str
    village: str | None
    month: str
    lines: list[_StatementLine]
    points: int
    point_value: Decimal
    rounding: str
    amount: Decimal
    funding: list[_Funding]
    due: datetime.date
    generated: _Signoff
    submission: _Submission | None
    reviewed: _Signoff | None
    approved: _Signoff | None
    payments: list[_Payment]
    status: Literal["generated", "submitted", "reviewed", "approved", "paid"]
    differences: list[_Difference]

class _ElderStanding(TypedDict):
    household: str
    elder: str
    contributed: Decimal
    matched: Decimal
    paid: Decimal
    balance: Decimal

class _FilialStatement(TypedDict):
    elders: list[_ElderStanding]
    contributed: Decimal
    matched: Decimal
    paid: Decimal
    balance: Decimal
    matched_by_source: dict[str, Decimal]

_Status = Literal["active", "suspended", "exited"]
_Instant = datetime.datetime | None

@final
class Engine:
    """A points engine over an in-memory journal."""

    def __new__(
        cls,
        policy: str | Mapping[str, Any],
        pepper: bytes,
        pin_hash_cost: tuple[int, int] | None = None,
    ) -> Engine: ...
    @staticmethod
    def open(
        path: str | os.PathLike[str],
        pepper: bytes,
        policy: str | Mapping[str, Any] | None = None,
        pin_hash_cost: tuple[int, int] | None = None,
    ) -> Engine:
        """Opens or creates an engine over the SQLite journal at ``path``."""
    def checkpoint(self) -> _Checkpoint: ...
    def verify_against(self, checkpoint: Mapping[str, Any]) -> _Checkpoint: ...
    def execute(self, request: Mapping[str, Any] | str) -> dict[str, Any]:
        """The JSON door: a request or ``{"query": ...}``; returns the JSON answer."""

    def register_actor(
        self,
        *,
        actor: str,
        id: str,
        roles: Sequence[str],
        name: str | None = None,
        village: str | None = None,
        township: str | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def register_household(
        self,
        *,
        actor: str,
        household: str,
        region: Mapping[str, Any],
        head: str,
        category: str,
        category_from: datetime.date | None = None,
        members: Sequence[Mapping[str, Any]] | None = None,
        residency: Mapping[str, Any] | None = None,
        attributes: Mapping[str, str] | None = None,
        photo_ref: str | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def change_category(
        self,
        *,
        actor: str,
        household: str,
        category: str,
        effective_from: datetime.date,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def set_household_status(
        self,
        *,
        actor: str,
        household: str,
        status: _Status,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def issue_card(
        self,
        *,
        actor: str,
        card: str,
        household: str,
        pin: str | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def lock_card(
        self,
        *,
        actor: str,
        card: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def unlock_card(
        self,
        *,
        actor: str,
        card: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def report_card_lost(
        self,
        *,
        actor: str,
        card: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def replace_card(
        self,
        *,
        actor: str,
        old_card: str,
        new_card: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def cancel_card(
        self,
        *,
        actor: str,
        card: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def set_pin(
        self,
        *,
        actor: str,
        card: str,
        pin: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def change_pin(
        self,
        *,
        actor: str,
        card: str,
        old_pin: str,
        new_pin: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def verify_pin(
        self,
        *,
        actor: str,
        card: str,
        pin: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def post_award(
        self,
        *,
        actor: str,
        household: str,
        date: datetime.date,
        points: int,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def post_deduction(
        self,
        *,
        actor: str,
        household: str,
        date: datetime.date,
        points: int,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def post_veto(
        self,
        *,
        actor: str,
        household: str,
        date: datetime.date,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def transfer_points(
        self,
        *,
        actor: str,
        from_: str,
        to: str,
        points: int,
        approver: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def grant_use_counts(
        self,
        *,
        actor: str,
        household: str,
        kind: str,
        units: int,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def balance(self, household: str) -> int: ...
    def cap_room(self, household: str, month: str) -> _CapRoom: ...
    def household(self, id: str) -> dict[str, Any]: ...
    def card(self, number: str) -> dict[str, Any]: ...
    def account(self, household: str) -> dict[str, Any]: ...
    def policy(self, date: datetime.date) -> dict[str, Any]: ...
    def check_invariants(self) -> _Totals: ...
    def verify(self) -> _Checkpoint: ...
    # The scoring workflow.
    def open_sheet(
        self,
        *,
        actor: str,
        sheet: str,
        village: str,
        month: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def add_entry(
        self,
        *,
        actor: str,
        sheet: str,
        household: str,
        indicator: str,
        points: int,
        date: datetime.date,
        note: str | None = None,
        evidence: str | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def sign_sheet(
        self,
        *,
        actor: str,
        sheet: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def submit_sheet(
        self,
        *,
        actor: str,
        sheet: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def send_back_sheet(
        self,
        *,
        actor: str,
        sheet: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def publish_sheet(
        self,
        *,
        actor: str,
        sheet: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def post_sheet(
        self,
        *,
        actor: str,
        sheet: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def review_sheet(
        self,
        *,
        actor: str,
        sheet: str,
        stage: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def lodge_objection(
        self,
        *,
        actor: str,
        sheet: str,
        entry: int,
        note: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def resolve_objection(
        self,
        *,
        actor: str,
        sheet: str,
        objection: int,
        resolution: Mapping[str, Any],
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def declare(
        self,
        *,
        actor: str,
        declaration: str,
        household: str,
        indicator: str,
        date: datetime.date,
        points: int | None = None,
        note: str | None = None,
        evidence: str | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def accept_declaration(
        self,
        *,
        actor: str,
        declaration: str,
        sheet: str,
        points: int | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def close_period(
        self,
        *,
        actor: str,
        village: str,
        period: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def close_year(
        self,
        *,
        actor: str,
        village: str,
        year: int,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    # Store setup.
    def register_store(
        self,
        *,
        actor: str,
        store: str,
        name: str,
        kind: str | Mapping[str, Any],
        region: Mapping[str, Any],
        reimbursed: bool,
        opening: Mapping[str, Any] | None = None,
        keepers: Sequence[str] | None = None,
        hold_minutes: int | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def list_item(
        self,
        *,
        actor: str,
        store: str,
        sku: str,
        name: str,
        category: str,
        unit: str | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def propose_price(
        self,
        *,
        actor: str,
        store: str,
        sku: str,
        price: Mapping[str, Any] | int,
        market_price: Decimal | str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def forward_price(
        self,
        *,
        actor: str,
        store: str,
        sku: str,
        proposal: int,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def approve_price(
        self,
        *,
        actor: str,
        store: str,
        sku: str,
        proposal: int,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def receive_stock(
        self,
        *,
        actor: str,
        store: str,
        sku: str,
        quantity: int,
        source: Mapping[str, Any],
        expires: datetime.date | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def register_donation(
        self,
        *,
        actor: str,
        donation: str,
        donor: str,
        date: datetime.date,
        receiving_body: str,
        goods: Sequence[Mapping[str, Any]] | None = None,
        cash: Decimal | str | None = None,
        allocations: Sequence[Mapping[str, Any]] | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def void_redemption(
        self,
        *,
        actor: str,
        receipt: str,
        supervisor: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def take_notifications(
        self,
        *,
        actor: str,
        limit: int | None = None,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    # The kiosk. Answers are the core's structs as dicts (money Decimal, dates date).
    def check_card(
        self, *, actor: str, card: str, pin: str, at: _Instant = None, key: str | None = None
    ) -> dict[str, Any]: ...
    def card_view(self, store: str, card: str, at: _Instant = None) -> dict[str, Any]: ...
    def redeem(
        self,
        *,
        actor: str,
        store: str,
        card: str,
        pin: str,
        lines: Sequence[Mapping[str, Any]],
        signature_ref: str,
        at: _Instant = None,
        key: str | None = None,
    ) -> dict[str, Any]: ...
    def reserve(
        self,
        *,
        actor: str,
        store: str,
        card: str,
        pin: str,
        lines: Sequence[Mapping[str, Any]],
        at: _Instant = None,
        key: str | None = None,
    ) -> dict[str, Any]: ...
    def commit_hold(
        self,
        *,
        actor: str,
        hold: str,
        signature_ref: str,
        at: _Instant = None,
        key: str | None = None,
    ) -> dict[str, Any]: ...
    def cancel_hold(
        self, *, actor: str, hold: str, at: _Instant = None, key: str | None = None
    ) -> None: ...
    def receipt(self, number: str) -> dict[str, Any]: ...
    # Ledgers as Arrow tables: points int64, dates date32, money decimal128(18, 2).
    def points_detail(self, village: str, month: str) -> _ArrowTable: ...
    def entry_ledger(self, village: str, month: str) -> _ArrowTable: ...
    def publication_list(self, village: str, quarter: str) -> _ArrowTable: ...
    def star_ratings(self, village: str, year: int) -> _ArrowTable: ...
    def stock_ledger(self, store: str) -> _ArrowTable: ...
    def donation_trace(self, donation: str | None = None) -> _ArrowTable: ...
    def redemption_ledger(
        self, quarter: str, store: str | None = None, village: str | None = None
    ) -> _ArrowTable: ...
    # Reimbursement, month end and the filial fund. Amounts are Decimal or str, never float.
    def generate_statements(
        self,
        *,
        actor: str,
        month: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def submit_store_statement(
        self,
        *,
        actor: str,
        store: str,
        month: str,
        account: str,
        lines: Sequence[Mapping[str, Any]],
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def review_statement(
        self,
        *,
        actor: str,
        statement: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def approve_statement(
        self,
        *,
        actor: str,
        statement: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def record_payment(
        self,
        *,
        actor: str,
        statement: str,
        reference: str,
        date: datetime.date,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def enrol_filial_elder(
        self,
        *,
        actor: str,
        household: str,
        elder: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def record_filial_contribution(
        self,
        *,
        actor: str,
        household: str,
        elder: str,
        contributor: str,
        month: str,
        amount: Decimal | str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def pay_filial_elder(
        self,
        *,
        actor: str,
        household: str,
        elder: str,
        amount: Decimal | str,
        reference: str,
        at: _Instant = None,
        key: str | None = None,
        reason: str | None = None,
    ) -> _Outcome: ...
    def statement(self, id: str) -> _Statement: ...
    def statements(self, month: str) -> list[_Statement]: ...
    def reconciliation(self, statement: str) -> list[_Difference]: ...
    def payment_file(self, month: str, *, chinese: bool = False) -> str:
        """The bank's payment file: CSV text with a BOM."""
    def filial_statement(self) -> _FilialStatement: ...
    def liability(self, month: str) -> _ArrowTable: ...
    def monthly_statistics(self, month: str) -> _ArrowTable: ...

class JifenError(Exception):
    """Any error jifen reports."""

    code: int
    name: str
    message: str

class InputError(JifenError): ...
class AccessError(JifenError): ...
class PolicyError(JifenError): ...
class HouseholdError(JifenError): ...
class CardError(JifenError): ...
class AccountError(JifenError): ...
class JournalError(JifenError): ...
class ScoringError(JifenError): ...
class StoreError(JifenError): ...
class SettlementError(JifenError): ...
class BulkError(JifenError): ...
