"""The lease checked once more at the broker's door (issue #10, item 10).

The database's fence refuses an intent from a stale lease, but the broker takes no epoch: a
process paused between committing an intent (under a good lease) and sending it would send
it on waking, after another instance took the strategy over. `FencedBroker` narrows that gap
to the instant between its check and the request: a place, cancel or change is sent only
while this instance still holds the strategy's lease by its own clock (`LeaseKeeper.owns`);
otherwise a place is rejected here (code STALE_LEASE; the new owner, which follows the
order from the database, closes it as not placed after the window) and a cancel or change is
dropped (the new owner decides about its orders). Everything else goes to the adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import OrderEvent, OrderSnapshot
from algo_trading.engine.ports import Broker, Clock, ReportSink

__all__ = ["STALE_LEASE", "FencedBroker"]

log = logging.getLogger(__name__)

STALE_LEASE = "STALE_LEASE"


class FencedBroker:
    """`Broker` that asks `owns(strategy_id)` before each action; `strategy_of` names the
    strategy of an order already sent (for cancels and changes)."""

    def __init__(
        self,
        inner: Broker,
        owns: Callable[[str], bool],
        clock: Clock,
        strategy_of: Callable[[ClientOrderId], str | None],
    ) -> None:
        self.inner = inner
        self._owns = owns
        self._clock = clock
        self._strategy_of = strategy_of
        self._sink: ReportSink | None = None
        self.refused = 0  # actions not sent: the lease was lost

    def connect(self, sink: ReportSink) -> None:
        self._sink = sink
        self.inner.connect(sink)

    def submit(self, order: OrderSnapshot) -> None:
        if self._owns(order.strategy_id):
            self.inner.submit(order)
            return
        self.refused += 1
        reason = f"{STALE_LEASE}: the lease of {order.strategy_id} was lost before the send"
        log.warning("%s not sent: %s", order.client_order_id, reason)
        if self._sink is not None:
            self._sink(
                ExecutionReport(
                    order.client_order_id, OrderEvent.REJECT, self._clock.now_ns(), reason=reason
                )
            )

    def cancel(self, client_order_id: ClientOrderId) -> None:
        if self._allowed(client_order_id):
            self.inner.cancel(client_order_id)

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None:
        if self._allowed(client_order_id):
            self.inner.modify(
                client_order_id,
                quantity=quantity,
                price_paise=price_paise,
                trigger_price_paise=trigger_price_paise,
            )

    def _allowed(self, client_order_id: ClientOrderId) -> bool:
        strategy = self._strategy_of(client_order_id)
        if strategy is None or self._owns(strategy):
            return True
        self.refused += 1
        log.warning("%s: not changed, the lease of %s was lost", client_order_id, strategy)
        return False

    def __getattr__(self, name: str) -> Any:
        """The adapter's other calls (books, follow, execute, poll, reconcile, ...)."""
        return getattr(self.inner, name)


def _implements_the_port(broker: FencedBroker) -> Broker:
    """Never called: mypy checks here that FencedBroker satisfies the engine's port."""
    return broker
