"""The risk layer's values: decisions, the stable codes, one scope's limits, the actions a
breach asks for, and what a check may read. Refusals are values, never exceptions (STYLE §10).

Split from `risk.py` so the manager (`risk_manager.py`) and the simple checks (`risk.py`) share
them without importing each other; `risk.py` re-exports every name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import Order, OrderSide, ProductType
from algo_trading.domain.positions import Position
from algo_trading.engine.portfolio import BookKey
from algo_trading.engine.ports import Alert

__all__ = [
    "ACCOUNT",
    "ALLOW",
    "ExposureView",
    "RiskAction",
    "RiskActionKind",
    "RiskCheck",
    "RiskCode",
    "RiskDecision",
    "RiskLimits",
    "RiskView",
]


@dataclass(frozen=True, slots=True)
class RiskDecision:
    allowed: bool
    code: str = "OK"
    detail: str = ""

    def __str__(self) -> str:
        return self.code if not self.detail else f"{self.code}: {self.detail}"


ALLOW = RiskDecision(True)

ACCOUNT = None
"""The account scope, where a strategy id would otherwise name one strategy."""


class RiskCode(StrEnum):
    """The stable code of every refusal and breach of the risk layer. Stored with the order
    (its reason), in the audit trail and in alerts: never renamed."""

    # the market's rules (indian-market.md §4)
    TICK_SIZE = "TICK_SIZE"  # a price off the instrument's tick
    LOT_SIZE = "LOT_SIZE"  # a quantity that is not whole lots
    NOT_TRADABLE = "NOT_TRADABLE"  # an index
    PRICE_BAND = "PRICE_BAND"  # a price outside the day's band (circuit limits)
    # the configured limits, per strategy and per account
    NO_REFERENCE_PRICE = "NO_REFERENCE_PRICE"  # a limit needs a last trade price not yet seen
    PRICE_DISTANCE = "PRICE_DISTANCE"  # a price too far from the last trade
    MAX_ORDER_VALUE = "MAX_ORDER_VALUE"
    MAX_ORDER_QUANTITY = "MAX_ORDER_QUANTITY"
    MAX_POSITION_QUANTITY = "MAX_POSITION_QUANTITY"
    MAX_POSITION_VALUE = "MAX_POSITION_VALUE"
    MAX_GROSS_EXPOSURE = "MAX_GROSS_EXPOSURE"
    MAX_OPEN_ORDERS = "MAX_OPEN_ORDERS"
    OUTSIDE_TRADING_WINDOW = "OUTSIDE_TRADING_WINDOW"
    # breaches found continuously; each halts its scope until the day ends or a person resets
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    BREAKER = "BREAKER"  # N broker rejections within M minutes
    HALTED = "HALTED"  # a person halted the scope (RiskManager.halt)
    KILL_SWITCH = "KILL_SWITCH"  # everything stopped until a person resets it


class RiskActionKind(StrEnum):
    HALT = "HALT"  # no new orders in the scope (already in force when the action is seen)
    CANCEL_OPEN_ORDERS = "CANCEL_OPEN_ORDERS"
    FLATTEN = "FLATTEN"  # close every position of the scope at market
    ALERT = "ALERT"
    KILL_SWITCH = "KILL_SWITCH"  # cancel everything, flatten everything, hold


@dataclass(frozen=True, slots=True)
class RiskAction:
    """One thing a breach asks for. `strategy_id` None is the account scope. An ALERT action
    carries its `alert` (the Notifier port's value), ready to send."""

    kind: RiskActionKind
    code: str
    strategy_id: str | None
    detail: str
    ts_ns: int
    alert: Alert | None = None

    @property
    def scope(self) -> str:
        return "account" if self.strategy_id is None else f"strategy {self.strategy_id}"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """One scope's limits (the account, or one strategy); None: no limit. Paise, units, basis
    points, IST wall times. Built and validated from a trade config by
    `services.trade_config_risk.risk_limits`."""

    capital_paise: int | None = None
    max_daily_loss_paise: int | None = None
    max_drawdown_paise: int | None = None
    max_order_value_paise: int | None = None
    max_order_quantity: int | None = None
    max_position_quantity: int | None = None
    max_position_value_paise: int | None = None
    max_gross_exposure_paise: int | None = None
    max_open_orders: int | None = None
    max_price_distance_bps: int | None = None
    trading_start: dt.time | None = None
    trading_end: dt.time | None = None
    breaker_rejections: int | None = None
    breaker_window_minutes: int | None = None


class RiskView(Protocol):
    """What a risk check may read of the portfolio."""

    def position_quantity(self, symbol: str) -> int:
        """The account's net quantity in `symbol`, over every strategy and product."""
        ...

    def book_quantity(self, strategy_id: str, symbol: str, product: ProductType) -> int:
        """The quantity of one book: this strategy's position in `symbol` under `product`."""
        ...

    def cash_paise(self) -> int: ...

    def equity_paise(self) -> int: ...

    def pending_quantity(
        self, strategy_id: str, symbol: str, side: OrderSide, product: ProductType
    ) -> int:
        """Units still to fill on this strategy's working orders of that side and product."""
        ...


class ExposureView(RiskView, Protocol):
    """What the risk manager reads besides: instruments, last trade prices, every open order
    and every position book (the `TradingEngine` implements it)."""

    def instrument(self, symbol: str) -> Instrument: ...

    def last_price_paise(self, symbol: str) -> int | None:
        """The last trade price seen for `symbol` (a tick's, else its books' mark); None when
        nothing has been seen yet."""
        ...

    def working_orders(self) -> Sequence[Order]:
        """Every order not yet done: working at the broker or held by the throttle."""
        ...

    def position_books(self) -> Iterable[tuple[BookKey, Position]]: ...


class RiskCheck(Protocol):
    def check(self, order: Order, view: RiskView) -> RiskDecision: ...
