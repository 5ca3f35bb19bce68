"""Every Protocol the core needs from the outside world, in one file.

Adapters implement them; `services.bootstrap` (and the backtest driver) wire them; the engine
never imports an adapter. Ports for storage, cache, object store, secrets and notifications
join this file with the issues that bring their adapters.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Protocol, Self, TypeVar

from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.orders import Order, OrderEvent, OrderSnapshot, OrderStatus, ProductType
from algo_trading.domain.positions import PositionSnapshot
from algo_trading.market.audit import OrderAuditRecord

__all__ = [
    "Alert",
    "AlertCode",
    "AlertSeverity",
    "AuditLog",
    "Broker",
    "ChargesModel",
    "Clock",
    "CommandKind",
    "CommandRecord",
    "CommandRepository",
    "CommandStatus",
    "IdGenerator",
    "Lease",
    "LeaseToken",
    "Leases",
    "Notifier",
    "OrderAuditLog",
    "OrderRepository",
    "OrderSender",
    "PositionRepository",
    "ReportSink",
    "RunRepository",
    "SecretStore",
    "TradeLog",
    "TradeRepository",
    "UnitOfWork",
]

ReportSink = Callable[[ExecutionReport], None]
"""Where a broker delivers what happened to our orders (the engine's `report`)."""


class Clock(Protocol):
    def now_ns(self) -> int:
        """Epoch nanoseconds, UTC."""
        ...


class Broker(Protocol):
    """Places and cancels orders; answers asynchronously through the sink it was given."""

    def connect(self, sink: ReportSink) -> None: ...

    def submit(self, order: OrderSnapshot) -> None:
        """Send the order, tagged with its client order id. Must not raise for a business
        refusal: that comes back as a REJECT report."""
        ...

    def cancel(self, client_order_id: ClientOrderId) -> None:
        """Ask to cancel; answered by CANCEL (or a fill, if it was quicker), CANCEL_REJECT
        when the broker refuses while the order lives on."""
        ...

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None:
        """Ask to change a working order; answered by MODIFY or MODIFY_REJECT."""
        ...


class OrderSender(Protocol):
    """How the engine hands order actions to the broker without waiting for it: inline in a
    backtest (deterministic), a worker thread in paper and live (adapters/brokers/sender.py).
    Answers come back as reports through the broker's sink, never as return values."""

    def place(self, order: OrderSnapshot) -> None: ...

    def cancel(self, client_order_id: ClientOrderId) -> None: ...

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None: ...


class TradeLog(Protocol):
    """Where every order event and fill is written down (memory in a backtest, the database
    in paper and live). The engine calls `record_fill` before `record_order` with the fill's
    event; tests/contract/test_trade_log_contract.py holds every implementation to this."""

    def record_order(self, order: Order, event: OrderEvent) -> None:
        """Keep the event and the status it led to, after the order's earlier events.
        SUBMIT is the intent: DuplicateOrderError when the client order id is already taken
        (that order must not be sent)."""
        ...

    def record_fill(self, fill: Fill) -> None:
        """Keep an execution once: a trade id already recorded changes nothing."""
        ...


class OrderAuditLog(Protocol):
    """Where every order decision is appended (memory in a backtest, the database live)."""

    def record(self, record: OrderAuditRecord) -> None: ...


class SecretStore(Protocol):
    """Where credentials live (the environment by default, AWS Secrets Manager in the cloud)."""

    def get(self, name: str) -> str:
        """The secret called `name`; ConfigError naming it (never its value) when missing."""
        ...


class IdGenerator(Protocol):
    def next_id(self) -> ClientOrderId: ...


class ChargesModel(Protocol):
    """Charges for one fill, in paise (brokerage, taxes and fees; zero by default)."""

    def charges_paise(self, fill: Fill, order: Order) -> int: ...


# --- storage: a unit of work and its repositories (the database in paper and live) ---------


class CommandKind(StrEnum):
    """What the dashboard (or an operator) may ask the trading service to do."""

    MANUAL_ORDER = "MANUAL_ORDER"  # place an order
    MODIFY = "MODIFY"
    CANCEL = "CANCEL"
    SQUARE_OFF = "SQUARE_OFF"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    KILL_SWITCH = "KILL_SWITCH"
    KILL_RESET = "KILL_RESET"  # a person releases the kill switch (the column holds 16)


class CommandStatus(StrEnum):
    PENDING = "PENDING"  # written by the asker, nobody has taken it yet
    CLAIMED = "CLAIMED"  # a trading service took it and is executing it
    DONE = "DONE"
    REFUSED = "REFUSED"  # a check said no; `outcome_code` holds its stable code
    FAILED = "FAILED"  # tried, and something outside us failed (the broker, the network)


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """A request with who asked and what became of it. Payload values are text, so a price
    stays exact ("1234.55") and the row reads the same in every tool."""

    command_id: str
    kind: CommandKind
    requested_by: str
    requested_ns: int
    payload: Mapping[str, str] = field(default_factory=dict)
    account: str = "default"
    strategy_id: str | None = None
    status: CommandStatus = CommandStatus.PENDING
    claimed_by: str | None = None
    outcome_code: str = ""
    outcome_detail: str = ""
    updated_ns: int = 0
    result: Mapping[str, str] = field(default_factory=dict)  # what the command made (ids)


class OrderRepository(Protocol):
    def add(self, order: Order, event: OrderEvent, *, account: str, exchange: str) -> None:
        """Insert a new order with its first event. Raises DuplicateOrderError when the
        client order id is taken: that order must never reach the broker."""
        ...

    def save(self, order: Order, event: OrderEvent | None) -> bool:
        """Write the order's current state and append `event`, the change that led to it
        (None: the state only). False when the order is not stored."""
        ...

    def add_fill(self, fill: Fill) -> OrderStatus:
        """Add an execution to its order's filled quantity, value, charges and status, and
        append the fill's event; the status it led to."""
        ...

    def get(self, client_order_id: ClientOrderId) -> Order | None: ...

    def unresolved(self, account: str) -> list[Order]:
        """Orders sent or possibly sent and not finished: what reconciliation must check."""
        ...

    def events(self, client_order_id: ClientOrderId) -> list[tuple[OrderEvent, OrderStatus]]:
        """Every recorded change of one order, oldest first."""
        ...


class TradeRepository(Protocol):
    def add(self, fill: Fill, *, account: str, exchange: str, realized_pnl_paise: int) -> bool:
        """Record an execution once; False when its trade id was already recorded."""
        ...

    def trade_ids(self, client_order_ids: Collection[ClientOrderId]) -> set[str]: ...

    def for_order(self, client_order_id: ClientOrderId) -> list[Fill]: ...


class PositionRepository(Protocol):
    def apply_fill(self, fill: Fill, *, account: str, exchange: str) -> int:
        """Book a fill on its (account, strategy, symbol, exchange, product) position under a
        row lock, FIFO like `domain.positions`; returns the P&L it realized, in paise."""
        ...

    def get(
        self, account: str, strategy_id: StrategyId, symbol: str, product: ProductType
    ) -> PositionSnapshot | None: ...

    def mark(self, symbol: str, price_paise: int, ts_ns: int) -> int:
        """Set the current price of every open position in `symbol`; returns rows changed."""
        ...


class CommandRepository(Protocol):
    def add(self, command: CommandRecord) -> None: ...

    def get(self, command_id: str) -> CommandRecord | None: ...

    def claim_next(
        self,
        worker: str,
        ts_ns: int,
        *,
        account: str | None = None,
        strategies: Collection[str] | None = None,
    ) -> CommandRecord | None:
        """Take the oldest pending command; two workers never take the same one. With
        `account`, only that account's; with `strategies`, only commands naming one of them
        or none (the strategies this instance holds the leases of)."""
        ...

    def finish(
        self,
        command_id: str,
        status: CommandStatus,
        *,
        code: str,
        detail: str,
        ts_ns: int,
        result: Mapping[str, str] | None = None,
        worker: str | None = None,
    ) -> None:
        """Write the outcome. With `worker`, only while that worker holds the claim
        (StorageError otherwise: the claim was given up as abandoned)."""
        ...

    def abandon_stale(self, claimed_before_ns: int, ts_ns: int) -> list[str]:
        """Commands claimed before `claimed_before_ns` and never finished (their service
        died): FAILED as INTERRUPTED, never run again (an order may have gone). Their ids."""
        ...

    def settled_through(self, kinds: Collection[CommandKind]) -> int:
        """The largest row id up to which every command of these kinds is finished."""
        ...

    def done_after(
        self, kinds: Collection[CommandKind], after_id: int
    ) -> list[tuple[int, CommandRecord]]:
        """DONE commands of these kinds above row id `after_id`, oldest first, with ids."""
        ...


class AuditLog(Protocol):
    def append(self, actor: str, action: str, subject: str, detail: str, ts_ns: int) -> None:
        """Who did what to what; rows are never changed or removed."""
        ...


class RunRepository(Protocol):
    """Strategy runs (paper and live) and backtest runs. A backtest's trades are written in
    bulk; its large results (equity curve, reports) go to the object store, named here."""

    def start_strategy_run(
        self, run_id: str, strategy_id: str, mode: str, params: Mapping[str, str], ts_ns: int
    ) -> None: ...

    def stop_strategy_run(self, run_id: str, status: str, reason: str, ts_ns: int) -> None: ...

    def start_backtest(
        self, run_id: str, strategy_id: str, params: Mapping[str, str], ts_ns: int
    ) -> None: ...

    def add_backtest_trades(self, run_id: str, trades: Iterable[tuple[Fill, int]]) -> int:
        """Write (fill, realized P&L paise) rows in bulk; returns how many."""
        ...

    def finish_backtest(
        self,
        run_id: str,
        status: str,
        summary: Mapping[str, str],
        results_uri: str | None,
        ts_ns: int,
    ) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over the repositories: `with uow: ...; uow.commit()`. Leaving the
    block without commit rolls everything back."""

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def trades(self) -> TradeRepository: ...

    @property
    def positions(self) -> PositionRepository: ...

    @property
    def commands(self) -> CommandRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def runs(self) -> RunRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


# --- alerts: what a person must hear about (issue #10 item 8) -------------------------------


class AlertSeverity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"  # trading stopped or money at risk: someone should look now


class AlertCode(StrEnum):
    """The stable codes the trading service raises; a notifier accepts any code of the same
    shape (capitals, digits, `_`), so a new kind does not need a change here."""

    RISK_BREACH = "RISK_BREACH"
    KILL_SWITCH = "KILL_SWITCH"
    RECONCILIATION_DIFF = "RECONCILIATION_DIFF"
    FEED_STALE = "FEED_STALE"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    STRATEGY_ERROR = "STRATEGY_ERROR"
    CRASH_RECOVERY = "CRASH_RECOVERY"
    ALERTS_SUPPRESSED = "ALERTS_SUPPRESSED"  # a channel's rate limit held some back


_ALERT_CODE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing to tell the trader: a stable `code`, how bad it is, what it concerns (the
    empty string: not scoped to that), one line of text, details as text, and the caller's
    time. Two alerts with the same code and scope are the same alert for de-duplication.
    Detail values are kept as text (a number is converted).

    The text is made one line here (an exception's message may hold newlines); an empty text
    or a code that is not `UPPER_SNAKE` is a bug in the caller and raises ValueError."""

    code: str
    severity: AlertSeverity
    text: str
    ts_ns: int
    strategy: str = ""
    symbol: str = ""
    instance: str = ""
    account: str = ""
    details: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        code = str(self.code)
        if not code or not 2 <= len(code) <= 64 or not set(code) <= _ALERT_CODE_CHARS:
            raise ValueError(f"alert code {code!r}: use 2 to 64 of A-Z, 0-9 and _")
        text = " ".join(self.text.split())
        if not text:
            raise ValueError(f"alert {code}: the text is empty")
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "text", text)
        # Copied (the caller's dict may change later) and made text, like a command's payload.
        details = {str(k): str(v) for k, v in self.details.items()}
        object.__setattr__(self, "details", details)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What makes two alerts the same one: code and scope."""
        return (self.code, self.strategy, self.symbol, self.instance, self.account)

    @property
    def scope(self) -> str:
        """The scope as `strategy=… symbol=…`, only the parts that are set."""
        parts = (
            ("strategy", self.strategy),
            ("symbol", self.symbol),
            ("instance", self.instance),
            ("account", self.account),
        )
        return " ".join(f"{name}={value}" for name, value in parts if value)


class Notifier(Protocol):
    """Where alerts go (the log always; e-mail and Telegram when configured)."""

    def notify(self, alert: Alert) -> None:
        """Hand the alert over and return at once: never blocks on a channel, never raises
        (a channel that fails is logged and counted, the others still get it)."""


# --- leases: which instance runs which strategy (issue #10) --------------------------------


@dataclass(frozen=True, slots=True)
class LeaseToken:
    """What an intent carries to prove its instance still owns the strategy (fencing): the
    database refuses an intent whose owner and epoch are not the lease's current ones."""

    owner: str
    epoch: int


@dataclass(frozen=True, slots=True)
class Lease:
    """One strategy's lease. `owner` is None once released; `epoch` grows by one on every
    acquire, so a token from an earlier term never matches again."""

    strategy_id: str
    owner: str | None
    epoch: int
    acquired_ns: int
    renewed_ns: int
    expires_ns: int

    def token(self) -> LeaseToken:
        if self.owner is None:
            raise ValueError(f"lease of {self.strategy_id} is released: it has no token")
        return LeaseToken(self.owner, self.epoch)


class Leases(Protocol):
    """Strategy leases: each call is one atomic change (its audit row with it). Time is the
    caller's `now_ns` (the service's Clock); the epoch, not the clock, keeps two instances
    apart, so clock skew can only make a takeover early or late, never double."""

    def acquire(self, strategy_id: str, owner: str, ttl_ns: int, now_ns: int) -> Lease | None:
        """Take the lease if it is free, expired, or already `owner`'s: a new epoch. None when
        another owner holds it unexpired (two racing callers: exactly one gets it)."""
        ...

    def renew(self, strategy_id: str, token: LeaseToken, ttl_ns: int, now_ns: int) -> Lease | None:
        """Extend an unexpired lease held with `token`; None when it was lost or expired
        (re-acquire, reconcile, then trade again)."""
        ...

    def release(self, strategy_id: str, token: LeaseToken, now_ns: int) -> bool:
        """Give the lease up at once (a draining instance); False when not held with `token`."""
        ...

    def get(self, strategy_id: str) -> Lease | None: ...

    def held_by(self, owner: str, now_ns: int) -> list[Lease]:
        """The unexpired leases `owner` holds."""
        ...

    def available(self, now_ns: int) -> list[Lease]:
        """Leases released or expired: strategies waiting for an owner."""
        ...


# --- market-data history: stored candles (issue #11, item 2) --------------------------------
# Kept in one block at the end (with its own `__all__` line) so that it merges beside the
# cache and object-store ports of the same issue.

__all__ += ["BarKey", "MarketDataStore", "StoredSeries"]


@dataclass(frozen=True, slots=True, order=True)
class BarKey:
    """Which candles: an exchange ("NSE"), a trading symbol ("SBIN-EQ") and one of Angel One's
    interval names ("ONE_MINUTE", angel-one-smartapi.md §3)."""

    exchange: str
    symbol: str
    interval: str

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol}:{self.interval}"


@dataclass(frozen=True, slots=True)
class StoredSeries:
    """What the store holds of one key: its bars' first and last start times, how many bars,
    the years it has files for, and the spans a fetch asked the broker for and stored whole
    (half-open epoch-ns intervals, merged), which is how a killed fetch knows where to go on."""

    key: BarKey
    first_ns: int
    last_ns: int
    bars: int
    years: tuple[int, ...]
    fetched: tuple[tuple[int, int], ...] = ()


BarsT = TypeVar("BarsT")


class MarketDataStore(Protocol[BarsT]):
    """Candles by exchange, symbol, interval (and year, inside the adapter), prices in integer
    paise. `BarsT` is the adapter's bar columns (the history adapter's `BarSeries`: int64 arrays);
    the core never needs to look inside one.

    Writes are idempotent (a bar already stored at the same start time is stored once; the
    newer values win) and atomic (a reader sees the old file or the new one, never half)."""

    def write(self, key: BarKey, bars: BarsT) -> int:
        """Merge `bars` into the key's series; the number of bars not stored before."""
        ...

    def read(self, key: BarKey, start_ns: int | None = None, end_ns: int | None = None) -> BarsT:
        """The key's bars with start in [start_ns, end_ns), in time order; DataError when the
        store has no such series or a file of it is unreadable."""
        ...

    def series(self) -> list[StoredSeries]:
        """Every stored key with its coverage, sorted by key."""
        ...

    def fetched(self, key: BarKey) -> list[tuple[int, int]]:
        """The spans already fetched whole for `key` (see `StoredSeries.fetched`)."""
        ...

    def mark_fetched(self, key: BarKey, start_ns: int, end_ns: int) -> None:
        """Record that [start_ns, end_ns) was fetched and its bars written (call after write)."""


# --- cache and object store (issue #11, the data service's live half) ------------------------
# One block, so merges with the history store's port stay simple.

__all__ += ["Cache", "CacheKind", "ObjectInfo", "ObjectStore"]


class CacheKind(StrEnum):
    """What a cached value is; each kind has its own time-to-live."""

    QUOTE = "quote"
    CANDLE = "candle"
    INSTRUMENTS = "instruments"


class Cache(Protocol):
    """A shared key-value cache of market data (latest quotes, recent candles, the instrument
    master). A miss is None; the caller then reads the source. An implementation whose server
    is down answers misses and drops writes (one warning, a metric), never raises: the cache
    speeds things up, it is never the only copy."""

    def get(self, kind: CacheKind, key: str) -> bytes | None: ...

    def get_many(self, kind: CacheKind, keys: Sequence[str]) -> list[bytes | None]:
        """One answer per key, in order (one round trip on a server)."""
        ...

    def put(self, kind: CacheKind, key: str, value: bytes) -> None:
        """Store with the kind's time-to-live."""
        ...

    def put_many(self, kind: CacheKind, items: Mapping[str, bytes]) -> None: ...

    def delete(self, kind: CacheKind, key: str) -> None: ...

    @property
    def available(self) -> bool:
        """False while the server is known to be down (reads miss, writes are dropped)."""
        ...


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's key, size and SHA-256 (hex), as stored with it."""

    key: str
    size: int
    sha256: str


class ObjectStore(Protocol):
    """Objects under `/`-separated keys in the seed's layout (`adapters.objectstore.layout`).

    A put is atomic (a reader sees the old object or the new one, never half of either),
    retried with backoff on transient failures, and stores the bytes' SHA-256 with the object;
    a get verifies it and raises ChecksumMismatchError rather than return corrupt bytes.
    Errors: ObjectNotFoundError, ObjectStoreUnavailableError, ChecksumMismatchError."""

    def put(self, key: str, data: bytes, *, content_type: str = ...) -> ObjectInfo: ...

    def get(self, key: str) -> bytes: ...

    def head(self, key: str) -> ObjectInfo | None:
        """The object's info, or None if there is none."""
        ...

    def list(self, prefix: str) -> list[str]:
        """The key of every object starting with `prefix`, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove it; no error if it is already gone."""
        ...

    def uri(self, key: str) -> str:
        """Where the object lives (`s3://bucket/key` or `file:///...`), for records and logs."""
        ...

    def check(self) -> None:
        """Raise ObjectStoreUnavailableError (one line) unless the store can be read and written."""
        ...


# --- the risk manager's state across restarts (issue #10 item 5) -----------------------------
# Kept in one block at the end (with its own `__all__` line).

__all__ += ["HaltRecord", "KillRecord", "RiskState", "RiskStateStore", "ScopeState"]


@dataclass(frozen=True, slots=True)
class HaltRecord:
    """One reason a scope takes no new orders (a breach's code, or HALTED), as stored."""

    code: str
    detail: str
    since_ns: int
    by: str


@dataclass(frozen=True, slots=True)
class KillRecord:
    """The kill switch while it holds: why, who, since when."""

    reason: str
    by: str
    since_ns: int


@dataclass(frozen=True, slots=True)
class ScopeState:
    """One scope's risk figures (`strategy` "" is the account): the IST day (`ist_day`) the
    baseline belongs to, the P&L figure the day's loss is measured from, the highest figure
    seen (the drawdown's peak), and its halts. None: not watched."""

    strategy: str
    day: int
    base_paise: int | None
    peak_paise: int | None
    halts: tuple[HaltRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class RiskState:
    """What the risk layer of one account must find again after a restart: what the trades
    table cannot give (each scope's baseline, peak and halts, and the kill switch)."""

    account: str
    scopes: tuple[ScopeState, ...] = ()
    kill: KillRecord | None = None


class RiskStateStore(Protocol):
    """Where the risk state is kept (the `risk_state` table, migration 0008). Each instance
    writes only the scopes it changed, so instances sharing an account do not undo each
    other's halts; the kill switch is written on its own, when it trips or is reset."""

    def load(self, account: str) -> RiskState:
        """The stored state (no scopes and no kill switch when nothing was stored)."""
        ...

    def save_scopes(self, account: str, scopes: Sequence[ScopeState], now_ns: int) -> None:
        """Write these scopes' rows (inserted or replaced), in one transaction."""
        ...

    def save_kill(self, account: str, kill: KillRecord | None, now_ns: int) -> None:
        """Record the kill switch on (`kill`) or reset (None)."""
        ...

    def day_totals(self, account: str, start_ns: int, end_ns: int) -> Mapping[str, tuple[int, int]]:
        """Per strategy, the realized P&L and the charges of the account's trades executed in
        [start_ns, end_ns) (an IST day), from the trades table."""
        ...
