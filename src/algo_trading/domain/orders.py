"""Orders and their lifecycle, as a table of legal (state, event) -> state rows.

Anything not in the table raises IllegalTransitionError naming the order, the state and the event:
a broker report we did not expect is a thing to reconcile, never to swallow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from algo_trading.domain._build import twin
from algo_trading.domain.errors import IllegalTransitionError, OrderError
from algo_trading.domain.ids import BrokerOrderId, ClientOrderId, StrategyId

__all__ = [
    "PENDING_STATES",
    "RESUMING",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Order",
    "OrderEvent",
    "OrderIntent",
    "OrderSide",
    "OrderSnapshot",
    "OrderStatus",
    "OrderType",
    "ProductType",
    "Validity",
    "new_intent",
]


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is _BUY else -1


_BUY = OrderSide.BUY  # read once: an enum member is a slow lookup in a function


class OrderType(StrEnum):
    """Angel One `ordertype` values."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOPLOSS_LIMIT = "STOPLOSS_LIMIT"
    STOPLOSS_MARKET = "STOPLOSS_MARKET"


class Validity(StrEnum):
    DAY = "DAY"
    IOC = "IOC"


class ProductType(StrEnum):
    """Angel One `producttype`: MIS, CNC and NRML in other brokers' words."""

    INTRADAY = "INTRADAY"
    DELIVERY = "DELIVERY"
    CARRYFORWARD = "CARRYFORWARD"


class OrderStatus(StrEnum):
    NEW = "NEW"  # built and checked here, not yet sent
    SUBMITTED = "SUBMITTED"  # handed to the broker, no answer yet
    OPEN = "OPEN"  # resting at the venue
    TRIGGER_PENDING = "TRIGGER_PENDING"  # a stop order waiting for its trigger
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"  # we asked to cancel it; the broker has not answered
    PENDING_MODIFY = "PENDING_MODIFY"  # we asked to change it; the broker has not answered
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"  # a DAY order at the end of the session, an IOC remainder


class OrderEvent(StrEnum):
    SUBMIT = "SUBMIT"
    ACCEPT = "ACCEPT"
    ACCEPT_TRIGGER_PENDING = "ACCEPT_TRIGGER_PENDING"
    TRIGGER = "TRIGGER"
    MODIFY = "MODIFY"  # the broker confirms a change we asked for
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"
    CANCEL = "CANCEL"
    REJECT = "REJECT"
    EXPIRE = "EXPIRE"
    CANCEL_REQUEST = "CANCEL_REQUEST"  # ours: a cancel is on its way to the broker
    MODIFY_REQUEST = "MODIFY_REQUEST"  # ours: a change is on its way to the broker
    CANCEL_REJECT = "CANCEL_REJECT"  # the broker refused our cancel; the order lives on
    MODIFY_REJECT = "MODIFY_REJECT"  # the broker refused our change; the old terms stand


S, E = OrderStatus, OrderEvent

TRANSITIONS: dict[tuple[OrderStatus, OrderEvent], OrderStatus] = {
    (S.NEW, E.SUBMIT): S.SUBMITTED,
    (S.NEW, E.REJECT): S.REJECTED,  # refused by our own risk checks before it left
    (S.NEW, E.CANCEL): S.CANCELLED,  # withdrawn while the throttle held it: never sent
    (S.SUBMITTED, E.ACCEPT): S.OPEN,
    (S.SUBMITTED, E.ACCEPT_TRIGGER_PENDING): S.TRIGGER_PENDING,
    (S.SUBMITTED, E.REJECT): S.REJECTED,
    (S.SUBMITTED, E.CANCEL): S.CANCELLED,
    # A fill can overtake the acknowledgement: the trade arrives on one socket before the
    # order update on another. The fill is the truth; the late ACCEPT is dropped by the
    # order manager, not applied here.
    (S.SUBMITTED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, E.FILL): S.FILLED,
    (S.SUBMITTED, E.EXPIRE): S.EXPIRED,  # an IOC that found nothing
    # A cancel may be asked before the acknowledgement: Angel One takes it once the order
    # has its broker id, so it waits as PENDING_CANCEL like any other.
    (S.SUBMITTED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    # A change nobody here asked for (made in the broker's app) is news, not a conflict.
    (S.OPEN, E.MODIFY): S.OPEN,
    (S.TRIGGER_PENDING, E.MODIFY): S.TRIGGER_PENDING,
    (S.PARTIALLY_FILLED, E.MODIFY): S.PARTIALLY_FILLED,
    (S.OPEN, E.MODIFY_REQUEST): S.PENDING_MODIFY,
    (S.OPEN, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.OPEN, E.FILL): S.FILLED,
    (S.OPEN, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    # The venue cancelled it without our asking (Angel One cancels an order the exchange
    # dropped, e.g. at a circuit limit), or our cancel's answer came without the request.
    (S.OPEN, E.CANCEL): S.CANCELLED,
    (S.OPEN, E.EXPIRE): S.EXPIRED,
    # The broker accepted it and the exchange then refused it (Angel One's "open pending"
    # followed by "rejected", e.g. outside the price band).
    (S.OPEN, E.REJECT): S.REJECTED,
    (S.TRIGGER_PENDING, E.MODIFY_REQUEST): S.PENDING_MODIFY,
    (S.TRIGGER_PENDING, E.TRIGGER): S.OPEN,
    # A stop-market order triggers and fills in one report.
    (S.TRIGGER_PENDING, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.TRIGGER_PENDING, E.FILL): S.FILLED,
    (S.TRIGGER_PENDING, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    (S.TRIGGER_PENDING, E.CANCEL): S.CANCELLED,
    (S.TRIGGER_PENDING, E.REJECT): S.REJECTED,  # refused at trigger time (LPP, band)
    (S.TRIGGER_PENDING, E.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, E.MODIFY_REQUEST): S.PENDING_MODIFY,
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCEL_REQUEST): S.PENDING_CANCEL,
    # Cancelling or expiring a partly filled order ends it; what was filled stays filled.
    (S.PARTIALLY_FILLED, E.CANCEL): S.CANCELLED,
    (S.PARTIALLY_FILLED, E.EXPIRE): S.EXPIRED,
    # Between our cancel request and the broker's answer the order still trades: a fill in
    # that instant is real (the trade book is the truth), and only the answer ends the wait.
    (S.PENDING_CANCEL, E.CANCEL): S.CANCELLED,
    (S.PENDING_CANCEL, E.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.FILL): S.FILLED,  # it filled before the cancel landed
    (S.PENDING_CANCEL, E.EXPIRE): S.EXPIRED,  # the session ended first
    (S.PENDING_CANCEL, E.REJECT): S.REJECTED,  # the exchange refused the order meanwhile
    # Late news of the order itself (its acknowledgement, its trigger, a change confirmed)
    # leaves the cancel pending; it moves the state a refused cancel returns to.
    (S.PENDING_CANCEL, E.ACCEPT): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.ACCEPT_TRIGGER_PENDING): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.TRIGGER): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.MODIFY): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, E.MODIFY_REJECT): S.PENDING_CANCEL,
    # A change in flight: the order trades on its old terms until the broker answers.
    (S.PENDING_MODIFY, E.PARTIAL_FILL): S.PENDING_MODIFY,
    (S.PENDING_MODIFY, E.FILL): S.FILLED,
    (S.PENDING_MODIFY, E.TRIGGER): S.PENDING_MODIFY,
    (S.PENDING_MODIFY, E.MODIFY_REQUEST): S.PENDING_MODIFY,  # a second change, queued
    (S.PENDING_MODIFY, E.CANCEL_REQUEST): S.PENDING_CANCEL,  # a cancel overrides the change
    (S.PENDING_MODIFY, E.CANCEL): S.CANCELLED,
    (S.PENDING_MODIFY, E.EXPIRE): S.EXPIRED,
    (S.PENDING_MODIFY, E.REJECT): S.REJECTED,
    # Angel One fills an order in the instant before a cancel lands, or after it dropped it
    # as rejected or expired: the trade book is the truth, so a late fill is booked. The
    # whole remainder makes the order FILLED; a part leaves it where it ended.
    (S.CANCELLED, E.FILL): S.FILLED,
    (S.CANCELLED, E.PARTIAL_FILL): S.CANCELLED,
    (S.REJECTED, E.FILL): S.FILLED,
    (S.REJECTED, E.PARTIAL_FILL): S.REJECTED,
    (S.EXPIRED, E.FILL): S.FILLED,
    (S.EXPIRED, E.PARTIAL_FILL): S.EXPIRED,
}
"""Legal (state, event) -> state rows. See RESUMING for the rows that end a pending request."""

RESUMING: frozenset[tuple[OrderStatus, OrderEvent]] = frozenset(
    {
        # The broker answered our request and the order lives on: back to the working state
        # it was in, moved by whatever happened to it meanwhile (a fill, a trigger).
        (S.PENDING_CANCEL, E.CANCEL_REJECT),
        (S.PENDING_MODIFY, E.MODIFY),
        (S.PENDING_MODIFY, E.MODIFY_REJECT),
    }
)
del S, E

TERMINAL_STATES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
PENDING_STATES = frozenset({OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_MODIFY})
_WORKING_STATES = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.OPEN,
        OrderStatus.TRIGGER_PENDING,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.PENDING_MODIFY,
    }
)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What a strategy (or an operator) asks for: one order, before it has an id. Frozen, so
    it passes through the context, the engine and the order manager unchanged."""

    strategy_id: str
    symbol: str
    side: OrderSide
    quantity: int
    order_type: OrderType = OrderType.MARKET
    price_paise: int | None = None
    trigger_price_paise: int | None = None
    product: ProductType = ProductType.INTRADAY
    validity: Validity = Validity.DAY

    @property
    def signed_quantity(self) -> int:
        return self.quantity if self.side is _BUY else -self.quantity


_IntentTwin = twin(OrderIntent)


def new_intent(
    strategy_id: str,
    symbol: str,
    side: OrderSide,
    quantity: int,
    order_type: OrderType,
    price_paise: int | None,
    trigger_price_paise: int | None,
    product: ProductType,
    validity: Validity,
) -> OrderIntent:
    """`OrderIntent(...)` at a third of the cost, for a strategy's every order (see
    `domain._build`)."""
    i = _IntentTwin()
    i.strategy_id = strategy_id
    i.symbol = symbol
    i.side = side
    i.quantity = quantity
    i.order_type = order_type
    i.price_paise = price_paise
    i.trigger_price_paise = trigger_price_paise
    i.product = product
    i.validity = validity
    i.__class__ = OrderIntent
    intent: OrderIntent = i
    return intent


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """What a strategy or a reader sees of an order: a frozen copy, never the live object."""

    client_order_id: ClientOrderId
    broker_order_id: BrokerOrderId | None
    strategy_id: StrategyId
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: int
    price_paise: int | None
    trigger_price_paise: int | None
    product: ProductType
    validity: Validity
    status: OrderStatus
    filled_quantity: int
    fill_value_paise: int  # sum of price × quantity over fills: exact
    created_ns: int
    updated_ns: int
    reason: str
    tag: str = ""

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity


_SnapshotTwin = twin(OrderSnapshot)


# Enum members read once: `OrderSide.BUY` in a function is a lookup through the enum's
# metaclass each time (about ten times a global's cost), on every order.
_NEW = OrderStatus.NEW
_OPEN, _PARTIALLY_FILLED = OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED
_FILL, _PARTIAL_FILL = OrderEvent.FILL, OrderEvent.PARTIAL_FILL
_PRICED = (OrderType.LIMIT, OrderType.STOPLOSS_LIMIT)
_TRIGGERED_TYPES = (OrderType.STOPLOSS_LIMIT, OrderType.STOPLOSS_MARKET)


class Order:
    """The engine's live order. Only `apply` changes its status, through TRANSITIONS."""

    __slots__ = (
        "_tag",
        "_tagger",
        "broker_order_id",
        "client_order_id",
        "created_ns",
        "fill_value_paise",
        "filled_quantity",
        "order_type",
        "price_paise",
        "prior_status",
        "product",
        "quantity",
        "reason",
        "side",
        "status",
        "strategy_id",
        "symbol",
        "trigger_price_paise",
        "updated_ns",
        "validity",
    )

    def __init__(
        self,
        client_order_id: ClientOrderId,
        strategy_id: StrategyId,
        symbol: str,
        side: OrderSide,
        quantity: int,
        order_type: OrderType = OrderType.MARKET,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
        product: ProductType = ProductType.INTRADAY,
        validity: Validity = Validity.DAY,
        created_ns: int = 0,
    ) -> None:
        if quantity <= 0:
            raise OrderError(f"order {client_order_id}: quantity {quantity} must be positive")
        needs_price = order_type in _PRICED
        needs_trigger = order_type in _TRIGGERED_TYPES
        if needs_price and (price_paise is None or price_paise <= 0):
            raise OrderError(f"order {client_order_id}: {order_type.value} needs a positive price")
        if not needs_price and price_paise is not None:
            raise OrderError(f"order {client_order_id}: {order_type.value} takes no limit price")
        if needs_trigger and (trigger_price_paise is None or trigger_price_paise <= 0):
            raise OrderError(
                f"order {client_order_id}: {order_type.value} needs a positive trigger price"
            )
        if not needs_trigger and trigger_price_paise is not None:
            raise OrderError(f"order {client_order_id}: {order_type.value} takes no trigger price")
        self.client_order_id = client_order_id
        self.broker_order_id: BrokerOrderId | None = None
        self.strategy_id = strategy_id
        self.symbol = symbol
        self.side = side
        self.order_type = order_type
        self.quantity = quantity
        self.price_paise = price_paise
        self.trigger_price_paise = trigger_price_paise
        self.product = product
        self.validity = validity
        self.status = _NEW
        # While a request is pending: the working state the order returns to when the broker
        # answers "no" (or confirms a change), moved by whatever happens meanwhile.
        self.prior_status = _NEW
        self.filled_quantity = 0
        self.fill_value_paise = 0
        self.created_ns = created_ns
        self.updated_ns = created_ns
        self.reason = ""
        self._tag: str | None = ""
        self._tagger: Callable[[str, str], str] | None = None

    @property
    def tag(self) -> str:
        """What the broker is told (strategy and client order id, < 20 chars); "" for none.
        With `tag_with`, worked out on the first read."""
        tag = self._tag
        if tag is None:
            tagger = self._tagger
            tag = self._tag = tagger(self.strategy_id, self.client_order_id) if tagger else ""
        return tag

    @tag.setter
    def tag(self, value: str) -> None:
        self._tag = value

    def tag_with(self, tagger: Callable[[str, str], str]) -> None:
        """Tag the order `tagger(strategy id, client order id)`, worked out when `tag` is
        first read: a venue that never reads it (the backtest's) never pays for it. The
        caller makes sure `tagger` cannot fail for this order (it is not called here)."""
        self._tag = None
        self._tagger = tagger

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES

    @property
    def is_working(self) -> bool:
        return self.status in _WORKING_STATES

    @classmethod
    def from_intent(cls, client_order_id: ClientOrderId, intent: OrderIntent, ts_ns: int) -> Order:
        return cls(
            client_order_id,
            StrategyId(intent.strategy_id),
            intent.symbol,
            intent.side,
            intent.quantity,
            intent.order_type,
            intent.price_paise,
            intent.trigger_price_paise,
            intent.product,
            intent.validity,
            ts_ns,
        )

    def next_status(self, event: OrderEvent) -> OrderStatus | None:
        """The state `event` would lead to, or None when the table has no row for it."""
        status = self.status
        new = TRANSITIONS.get((status, event))
        if new is None and (status, event) in RESUMING:
            return self._resume_status()
        return new

    def _resume_status(self) -> OrderStatus:
        # An order read back from storage while pending has lost the state before the
        # request (it is not stored): resting, or partly filled, is what it can have been.
        if self.prior_status is _NEW:
            return _PARTIALLY_FILLED if self.filled_quantity else _OPEN
        return self.prior_status

    def apply(self, event: OrderEvent, ts_ns: int, reason: str = "") -> OrderStatus:
        """Move to the state the table names for (status, event), or raise."""
        status = self.status
        new = TRANSITIONS.get((status, event))
        if new is None:
            if (status, event) not in RESUMING:
                raise IllegalTransitionError(self.client_order_id, status.value, event.value)
            new = self._resume_status()
        elif status in PENDING_STATES:
            shadow = TRANSITIONS.get((self.prior_status, event))
            if shadow is not None and shadow not in PENDING_STATES:
                self.prior_status = shadow
        elif new in PENDING_STATES:
            self.prior_status = status
        self.status = new
        self.updated_ns = ts_ns
        if reason:
            self.reason = reason
        return new

    def apply_fill(self, quantity: int, price_paise: int, ts_ns: int) -> OrderStatus:
        """Record an execution; FILL or PARTIAL_FILL is chosen by what remains. An overfill
        or a non-positive quantity is refused before anything changes."""
        remaining = self.quantity - self.filled_quantity
        if quantity <= 0 or quantity > remaining:
            raise OrderError(
                f"order {self.client_order_id}: fill of {quantity} with {remaining} remaining"
            )
        event = _FILL if quantity == remaining else _PARTIAL_FILL
        status = self.apply(event, ts_ns)
        self.filled_quantity += quantity
        self.fill_value_paise += quantity * price_paise
        return status

    def snapshot(self, with_tag: bool = True) -> OrderSnapshot:
        """A frozen copy. `with_tag=False` leaves its tag "" without working it out: for a
        venue that never reads it (the backtest's simulated broker)."""
        s = _SnapshotTwin()
        s.client_order_id = self.client_order_id
        s.broker_order_id = self.broker_order_id
        s.strategy_id = self.strategy_id
        s.symbol = self.symbol
        s.side = self.side
        s.order_type = self.order_type
        s.quantity = self.quantity
        s.price_paise = self.price_paise
        s.trigger_price_paise = self.trigger_price_paise
        s.product = self.product
        s.validity = self.validity
        s.status = self.status
        s.filled_quantity = self.filled_quantity
        s.fill_value_paise = self.fill_value_paise
        s.created_ns = self.created_ns
        s.updated_ns = self.updated_ns
        s.reason = self.reason
        s.tag = self.tag if with_tag else ""
        # Built on a twin and turned into an OrderSnapshot (see domain._build): a third of
        # the frozen constructor's cost, and this runs for every order.
        s.__class__ = OrderSnapshot
        snap: OrderSnapshot = s
        return snap

    def __repr__(self) -> str:
        return (
            f"Order({self.client_order_id} {self.side.value} {self.quantity} {self.symbol} "
            f"{self.order_type.value} {self.status.value} filled={self.filled_quantity})"
        )
