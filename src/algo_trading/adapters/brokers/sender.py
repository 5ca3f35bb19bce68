"""The threaded order sender: broker calls made by one worker thread, so the engine loop never
waits for the network (issue #9, item 5).

The engine hands an action over (a queue put) and goes on; the worker makes the calls one at a
time in the order given, so a cancel never overtakes its own place. Answers come back as the
broker's reports through the engine's report queue, as in every mode. A call that raises
leaves no half-truth: a place is left SUBMITTED for reconciliation to resolve from the
broker's books (never placed again); a cancel or a change that raised is answered with
CANCEL_REJECT or MODIFY_REJECT, so the order is not left waiting on an answer that will not
come (if the call did land, the broker's own report still arrives and moves the order on).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import OrderEvent, OrderSnapshot
from algo_trading.engine.ports import Broker, Clock, ReportSink

__all__ = ["SendFailure", "ThreadedSender"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SendFailure:
    """A broker call that raised in the worker: what, for which order, and why."""

    action: str
    client_order_id: str
    error: str


@dataclass(frozen=True, slots=True)
class _Action:
    kind: str  # place, cancel, modify
    client_order_id: ClientOrderId
    order: OrderSnapshot | None = None
    quantity: int | None = None
    price_paise: int | None = None
    trigger_price_paise: int | None = None


class ThreadedSender:
    """Implements `OrderSender` over a broker, with one daemon worker thread."""

    def __init__(self, broker: Broker, clock: Clock, *, name: str = "order-sender") -> None:
        self._broker = broker
        self._sink: ReportSink | None = None
        self._clock = clock
        self._queue: queue.SimpleQueue[_Action | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._outstanding = 0
        self.failures: list[SendFailure] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- OrderSender ---------------------------------------------------------------------
    def place(self, order: OrderSnapshot) -> None:
        self._put(_Action("place", order.client_order_id, order=order))

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self._put(_Action("cancel", client_order_id))

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None:
        self._put(
            _Action("modify", client_order_id, None, quantity, price_paise, trigger_price_paise)
        )

    # --- lifecycle -----------------------------------------------------------------------
    def connect(self, sink: ReportSink) -> None:
        """Where refused cancels and changes are answered: the engine's `report`, the same
        queue the broker reports into (wired by the composition root once the engine is)."""
        self._sink = sink

    def wait_idle(self, timeout_s: float) -> bool:
        """Whether every action handed over so far was made within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._outstanding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop after the actions already handed over; waits up to `timeout_s`."""
        self._queue.put(None)
        self._thread.join(timeout_s)

    # --- the worker ----------------------------------------------------------------------
    def _put(self, action: _Action) -> None:
        with self._idle:
            self._outstanding += 1
        self._queue.put(action)

    def _run(self) -> None:
        while True:
            action = self._queue.get()
            if action is None:
                return
            try:
                self._call(action)
            except Exception as exc:  # the broker's or the network's: answered, not raised
                self._failed(action, exc)
            finally:
                with self._idle:
                    self._outstanding -= 1
                    if not self._outstanding:
                        self._idle.notify_all()

    def _call(self, action: _Action) -> None:
        broker = self._broker
        if action.kind == "place" and action.order is not None:
            broker.submit(action.order)
        elif action.kind == "cancel":
            broker.cancel(action.client_order_id)
        else:
            broker.modify(
                action.client_order_id,
                quantity=action.quantity,
                price_paise=action.price_paise,
                trigger_price_paise=action.trigger_price_paise,
            )

    def _failed(self, action: _Action, exc: Exception) -> None:
        failure = SendFailure(action.kind, action.client_order_id, f"{type(exc).__name__}: {exc}")
        self.failures.append(failure)
        log.warning(
            "broker %s of %s failed: %s",
            action.kind,
            action.client_order_id,
            failure.error,
            extra={"client_order_id": action.client_order_id, "action": action.kind},
        )
        answer = {"cancel": OrderEvent.CANCEL_REJECT, "modify": OrderEvent.MODIFY_REJECT}
        event = answer.get(action.kind)
        if event is not None and self._sink is not None:
            self._sink(
                ExecutionReport(
                    action.client_order_id, event, self._clock.now_ns(), reason=failure.error
                )
            )
