"""Every Protocol the core needs from the outside world, in one file.

Adapters implement them; `services.bootstrap` (and the backtest driver) wire them; the engine
never imports an adapter. Ports for storage, cache, object store, secrets and notifications
join this file with the issues that bring their adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import Order, OrderEvent, OrderSnapshot

__all__ = ["Broker", "ChargesModel", "Clock", "IdGenerator", "ReportSink", "TradeLog"]

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

    def cancel(self, client_order_id: ClientOrderId) -> None: ...


class TradeLog(Protocol):
    """Where every order event and fill is written down (memory in a backtest, the database
    in paper and live)."""

    def record_order(self, order: Order, event: OrderEvent) -> None: ...

    def record_fill(self, fill: Fill) -> None: ...


class IdGenerator(Protocol):
    def next_id(self) -> ClientOrderId: ...


class ChargesModel(Protocol):
    """Charges for one fill, in paise (brokerage, taxes and fees; zero by default)."""

    def charges_paise(self, fill: Fill, order: Order) -> int: ...
