"""The inline order sender: broker calls made on the spot, in the engine's own thread.

For backtests, where the broker is in-process and answers at once: deterministic and cheap
(the bound methods are the broker's own, so a send costs no extra call). Paper and live
trading use the threaded sender in `adapters/brokers/sender.py`, so a slow broker call never
holds up the engine loop.
"""

from __future__ import annotations

from algo_trading.domain.ids import ClientOrderId
from algo_trading.engine.ports import Broker

__all__ = ["InlineSender"]


class InlineSender:
    """Implements `OrderSender` by calling the broker directly."""

    __slots__ = ("_broker", "cancel", "place", "reads_order_tags")

    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        # Passed on from the broker: False lets the engine skip working out order tags.
        self.reads_order_tags: bool = getattr(broker, "reads_order_tags", True)
        self.place = broker.submit
        self.cancel = broker.cancel

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None:
        self._broker.modify(
            client_order_id,
            quantity=quantity,
            price_paise=price_paise,
            trigger_price_paise=trigger_price_paise,
        )
