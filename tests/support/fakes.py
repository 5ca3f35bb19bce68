"""In-memory fakes of our ports (engine/ports.py, engine/risk.py), for unit tests that assert on
state. Each fake keeps what it was asked in plain lists a test can read.

`timeline`: pass one list to the trade log and the broker to see the order in which the
engine wrote something down and acted on it.
"""

from __future__ import annotations

from collections.abc import Callable

from algo_trading.domain import (
    Bar,
    ClientOrderId,
    ExecutionReport,
    Fill,
    Order,
    OrderEvent,
    OrderSnapshot,
    OrderStatus,
    ProductType,
    Tick,
)
from algo_trading.engine import ReportSink, RiskDecision, RiskView
from algo_trading.strategy.base import Strategy

__all__ = [
    "FakeBroker",
    "FlatCharges",
    "RecordingStrategy",
    "RecordingTradeLog",
    "RefusingRisk",
]


class FakeBroker:
    """A Broker that does nothing on its own: it records submits and cancels, and the test
    plays the venue by pushing reports (`accept`, `fill`, …) into the engine's sink."""

    def __init__(self, timeline: list[str] | None = None) -> None:
        self.timeline = timeline
        self.sink: ReportSink | None = None
        self.submitted: list[OrderSnapshot] = []
        self.cancelled: list[ClientOrderId] = []
        self.modified: list[tuple[ClientOrderId, int | None, int | None, int | None]] = []

    # --- the Broker port ---
    def connect(self, sink: ReportSink) -> None:
        self.sink = sink

    def submit(self, order: OrderSnapshot) -> None:
        self.submitted.append(order)
        if self.timeline is not None:
            self.timeline.append(f"broker.submit {order.client_order_id}")

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self.cancelled.append(client_order_id)
        if self.timeline is not None:
            self.timeline.append(f"broker.cancel {client_order_id}")

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None:
        self.modified.append((client_order_id, quantity, price_paise, trigger_price_paise))
        if self.timeline is not None:
            self.timeline.append(f"broker.modify {client_order_id}")

    # --- the venue's side, driven by the test ---
    def push(self, report: ExecutionReport) -> None:
        if self.sink is None:
            raise AssertionError("FakeBroker.push before the engine connected")
        self.sink(report)

    def accept(self, client_order_id: str, *, broker_order_id: str = "", ts_ns: int = 0) -> None:
        self.push(
            ExecutionReport(
                client_order_id, OrderEvent.ACCEPT, ts_ns, broker_order_id=broker_order_id or None
            )
        )

    def fill(
        self,
        client_order_id: str,
        quantity: int,
        price_paise: int,
        *,
        trade_id: str = "",
        ts_ns: int = 0,
    ) -> None:
        self.push(
            ExecutionReport(
                client_order_id,
                OrderEvent.FILL,
                ts_ns,
                fill_quantity=quantity,
                fill_price_paise=price_paise,
                trade_id=trade_id,
            )
        )

    def event(self, client_order_id: str, event: OrderEvent, *, reason: str = "") -> None:
        self.push(ExecutionReport(client_order_id, event, 0, reason=reason))


class RecordingTradeLog:
    """A TradeLog keeping (client order id, event, status after it) and every fill."""

    def __init__(self, timeline: list[str] | None = None) -> None:
        self.timeline = timeline
        self.order_events: list[tuple[str, OrderEvent, OrderStatus]] = []
        self.fills: list[Fill] = []

    def record_order(self, order: Order, event: OrderEvent) -> None:
        self.order_events.append((order.client_order_id, event, order.status))
        if self.timeline is not None:
            self.timeline.append(f"log.{event.value} {order.client_order_id}")

    def record_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def events_of(self, client_order_id: str) -> list[OrderEvent]:
        return [event for coid, event, _ in self.order_events if coid == client_order_id]


class RefusingRisk:
    """A RiskCheck that refuses every order with one decision, counting what it was asked."""

    def __init__(self, code: str = "MAX_ORDER_QTY", detail: str = "qty=10, limit=5") -> None:
        self.decision = RiskDecision(False, code, detail)
        self.checked: list[str] = []

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        self.checked.append(order.client_order_id)
        return self.decision


class FlatCharges:
    """A ChargesModel charging the same paise on every fill."""

    def __init__(self, paise: int) -> None:
        self.paise = paise

    def charges_paise(self, fill: Fill, order: Order) -> int:
        return self.paise


class RecordingStrategy(Strategy):
    """A strategy that writes down each hook call, and runs `act` on each bar when given."""

    name = "recorder"

    def __init__(
        self,
        *,
        symbols: tuple[str, ...] = ("SBIN-EQ",),
        strategy_id: str | None = None,
        act: Callable[[RecordingStrategy, Bar], object] | None = None,
        product: ProductType = ProductType.INTRADAY,
    ) -> None:
        # INTRADAY by default: the engine tests sell short freely, which DELIVERY refuses.
        super().__init__(symbols=symbols, strategy_id=strategy_id, product=product)
        self.act = act
        self.calls: list[tuple[str, object]] = []
        self.positions_seen: list[int] = []

    def hooks(self) -> list[str]:
        return [hook for hook, _ in self.calls]

    def on_start(self) -> None:
        self.calls.append(("on_start", None))

    def on_bar(self, bar: Bar) -> None:
        self.calls.append(("on_bar", bar.ts_ns))
        self.positions_seen.append(self.position(bar.symbol))
        if self.act is not None:
            self.act(self, bar)

    def on_tick(self, tick: Tick) -> None:
        self.calls.append(("on_tick", tick.ts_ns))

    def on_order_update(self, order: OrderSnapshot) -> None:
        self.calls.append(("on_order_update", order))

    def on_fill(self, fill: Fill) -> None:
        self.calls.append(("on_fill", fill))

    def on_stop(self) -> None:
        self.calls.append(("on_stop", None))
