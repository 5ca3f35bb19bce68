"""Orders and their lifecycle, as a table of legal (state, event) -> state rows.

Anything not in the table raises IllegalTransitionError naming the order, the state and the event:
a broker report we did not expect is a thing to reconcile, never to swallow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from algo_trading.domain.errors import IllegalTransitionError, OrderError
from algo_trading.domain.ids import BrokerOrderId, ClientOrderId, StrategyId

__all__ = [
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Order",
    "OrderEvent",
    "OrderSide",
    "OrderSnapshot",
    "OrderStatus",
    "OrderType",
    "ProductType",
    "Validity",
]


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is OrderSide.BUY else -1


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
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"  # a DAY order at the end of the session, an IOC remainder


class OrderEvent(StrEnum):
    SUBMIT = "SUBMIT"
    ACCEPT = "ACCEPT"
    ACCEPT_TRIGGER_PENDING = "ACCEPT_TRIGGER_PENDING"
    TRIGGER = "TRIGGER"
    MODIFY = "MODIFY"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"
    CANCEL = "CANCEL"
    REJECT = "REJECT"
    EXPIRE = "EXPIRE"


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
    (S.OPEN, E.MODIFY): S.OPEN,
    (S.OPEN, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.OPEN, E.FILL): S.FILLED,
    (S.OPEN, E.CANCEL): S.CANCELLED,
    (S.OPEN, E.EXPIRE): S.EXPIRED,
    # The broker accepted it and the exchange then refused it (Angel One's "open pending"
    # followed by "rejected", e.g. outside the price band).
    (S.OPEN, E.REJECT): S.REJECTED,
    (S.TRIGGER_PENDING, E.MODIFY): S.TRIGGER_PENDING,
    (S.TRIGGER_PENDING, E.TRIGGER): S.OPEN,
    # A stop-market order triggers and fills in one report.
    (S.TRIGGER_PENDING, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.TRIGGER_PENDING, E.FILL): S.FILLED,
    (S.TRIGGER_PENDING, E.CANCEL): S.CANCELLED,
    (S.TRIGGER_PENDING, E.REJECT): S.REJECTED,  # refused at trigger time (LPP, band)
    (S.TRIGGER_PENDING, E.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, E.MODIFY): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILL): S.FILLED,
    # Cancelling or expiring a partly filled order ends it; what was filled stays filled.
    (S.PARTIALLY_FILLED, E.CANCEL): S.CANCELLED,
    (S.PARTIALLY_FILLED, E.EXPIRE): S.EXPIRED,
}
del S, E

TERMINAL_STATES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
_WORKING_STATES = frozenset(
    {
        OrderStatus.SUBMITTED,
        OrderStatus.OPEN,
        OrderStatus.TRIGGER_PENDING,
        OrderStatus.PARTIALLY_FILLED,
    }
)


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


class Order:
    """The engine's live order. Only `apply` changes its status, through TRANSITIONS."""

    __slots__ = (
        "broker_order_id",
        "client_order_id",
        "created_ns",
        "fill_value_paise",
        "filled_quantity",
        "order_type",
        "price_paise",
        "product",
        "quantity",
        "reason",
        "side",
        "status",
        "strategy_id",
        "symbol",
        "tag",
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
        needs_price = order_type in (OrderType.LIMIT, OrderType.STOPLOSS_LIMIT)
        needs_trigger = order_type in (OrderType.STOPLOSS_LIMIT, OrderType.STOPLOSS_MARKET)
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
        self.status = OrderStatus.NEW
        self.filled_quantity = 0
        self.fill_value_paise = 0
        self.created_ns = created_ns
        self.updated_ns = created_ns
        self.reason = ""
        self.tag = ""  # what the broker is told (strategy and client order id, < 20 chars)

    @property
    def remaining(self) -> int:
        return self.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATES

    @property
    def is_working(self) -> bool:
        return self.status in _WORKING_STATES

    def apply(self, event: OrderEvent, ts_ns: int, reason: str = "") -> OrderStatus:
        """Move to the state the table names for (status, event), or raise."""
        new = TRANSITIONS.get((self.status, event))
        if new is None:
            raise IllegalTransitionError(self.client_order_id, self.status.value, event.value)
        self.status = new
        self.updated_ns = ts_ns
        if reason:
            self.reason = reason
        return new

    def apply_fill(self, quantity: int, price_paise: int, ts_ns: int) -> OrderStatus:
        """Record an execution; FILL or PARTIAL_FILL is chosen by what remains. An overfill
        or a non-positive quantity is refused before anything changes."""
        if quantity <= 0 or quantity > self.remaining:
            raise OrderError(
                f"order {self.client_order_id}: fill of {quantity} with {self.remaining} remaining"
            )
        event = OrderEvent.FILL if quantity == self.remaining else OrderEvent.PARTIAL_FILL
        status = self.apply(event, ts_ns)
        self.filled_quantity += quantity
        self.fill_value_paise += quantity * price_paise
        return status

    def snapshot(self) -> OrderSnapshot:
        return OrderSnapshot(
            client_order_id=self.client_order_id,
            broker_order_id=self.broker_order_id,
            strategy_id=self.strategy_id,
            symbol=self.symbol,
            side=self.side,
            order_type=self.order_type,
            quantity=self.quantity,
            price_paise=self.price_paise,
            trigger_price_paise=self.trigger_price_paise,
            product=self.product,
            validity=self.validity,
            status=self.status,
            filled_quantity=self.filled_quantity,
            fill_value_paise=self.fill_value_paise,
            created_ns=self.created_ns,
            updated_ns=self.updated_ns,
            reason=self.reason,
            tag=self.tag,
        )

    def __repr__(self) -> str:
        return (
            f"Order({self.client_order_id} {self.side.value} {self.quantity} {self.symbol} "
            f"{self.order_type.value} {self.status.value} filled={self.filled_quantity})"
        )
