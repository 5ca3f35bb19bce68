"""SIGTERM and SIGINT drain the trading service (issue #10, item 10).

ECS stops a task with SIGTERM and, `stopTimeout` later (30 s by default), SIGKILL. So on the
first SIGTERM or SIGINT the service drains, within that time:

1. no new orders: `ShutdownSignal.requested` is set; the service stops handing market data
   and commands to the strategies, and `DrainGate` (wrapped around the risk check) refuses
   any order that still comes with the stable code DRAINING;
2. open orders are kept at the broker or cancelled, per configuration
   (`ALGO_DRAIN_CANCEL_OPEN`, or the trade config's key): cancels are sent and their answers
   awaited until the deadline, reports applied to the books as they come;
3. the leases are released, so another instance takes the strategies at its next pass;
4. the process exits 0.

A second signal during the drain is not caught (the handlers are restored after the first):
Ctrl-C twice stops at once, and the books are recovered at the next start like after a crash.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Protocol, TypeVar

from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import Order
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.risk import RiskCheck, RiskDecision, RiskView

__all__ = [
    "DEFAULT_STOP_TIMEOUT_S",
    "DRAINING",
    "DrainGate",
    "DrainReport",
    "EngineDrain",
    "ShutdownSignal",
    "drain",
]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

DRAINING = "DRAINING"
DEFAULT_STOP_TIMEOUT_S = 30.0  # ECS stopTimeout's default
_MARGIN_S = 5.0  # left for releasing leases, closing connections and exiting


class ShutdownSignal:
    """Turns the first SIGTERM/SIGINT into `requested` (only sets an event in the handler,
    which is all a signal handler may safely do); the main loop looks at it."""

    def __init__(self, stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        self.requested = threading.Event()
        self.stop_timeout_s = stop_timeout_s
        self.signal_name = ""
        self.received_monotonic: float | None = None
        self._previous: dict[int, object] = {}

    def install(self, signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
        """Call from the main thread (Python runs signal handlers there)."""
        for signum in signals:
            self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.requested.is_set():
            return
        self.signal_name = signal.Signals(signum).name
        self.received_monotonic = time.monotonic()
        self.requested.set()
        for sig, previous in self._previous.items():  # a second signal is not caught
            signal.signal(sig, previous)  # type: ignore[arg-type]

    def request(self, why: str = "requested") -> None:
        """Drain without a signal (a command, a test)."""
        self.signal_name = self.signal_name or why
        if self.received_monotonic is None:
            self.received_monotonic = time.monotonic()
        self.requested.set()

    def deadline(self) -> float:
        """The monotonic time by which the drain must be done, leaving time to exit."""
        start = self.received_monotonic if self.received_monotonic is not None else time.monotonic()
        return start + max(self.stop_timeout_s - _MARGIN_S, 1.0)


class DrainGate:
    """A risk check that refuses every new order once the drain has begun (code DRAINING),
    and asks the wrapped check otherwise. A square-off asked during the drain is refused
    too: the drain keeps positions; the next owner squares off at the cut-off."""

    def __init__(self, inner: RiskCheck, shutdown: ShutdownSignal) -> None:
        self._inner = inner
        self._requested = shutdown.requested

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        if self._requested.is_set():
            return RiskDecision(False, DRAINING, "the service is stopping: no new orders")
        return self._inner.check(order, view)


class Drainable(Protocol):
    """What the drain needs of the engine (TradingEngine has it)."""

    def open_order_ids(self) -> list[ClientOrderId]: ...

    def cancel(self, client_order_id: ClientOrderId) -> None: ...

    def pump(self) -> None:
        """Apply what the broker has reported (and poll it, without an order stream)."""
        ...


@dataclass(frozen=True, slots=True)
class DrainReport:
    cancel_open: bool
    open_at_start: int
    cancels_sent: int
    still_open: tuple[str, ...]  # open at the deadline (kept, or cancels unanswered)
    leases_released: tuple[str, ...]
    elapsed_s: float


def drain(
    engine: Drainable,
    *,
    cancel_open: bool,
    deadline_monotonic: float,
    release_leases: Callable[[], list[str]],
    poll_every_s: float = 0.1,
) -> DrainReport:
    """Steps 2 and 3 of the drain (step 1 is the gate, step 4 the caller's `return 0`).
    Never raises: a failure to cancel leaves the order open, reported in `still_open`, and
    the leases are released whatever happened."""
    started = time.monotonic()
    open_ids = _open(engine)
    sent = 0
    try:
        if cancel_open:
            for coid in open_ids:
                try:
                    engine.cancel(coid)
                    sent += 1
                except Exception:  # one refused cancel must not keep the others
                    log.exception("drain: cancel of %s failed", coid)
            while time.monotonic() < deadline_monotonic:
                _safe(engine.pump, None)
                if not _open(engine):
                    break
                time.sleep(poll_every_s)
        else:
            _safe(engine.pump, None)
        still = tuple(_open(engine))
    finally:
        no_leases: list[str] = []
        released = tuple(_safe(release_leases, no_leases))
    report = DrainReport(
        cancel_open, len(open_ids), sent, still, released, time.monotonic() - started
    )
    log.info(
        "drained: %d open orders at the signal, %d cancels sent, %d still open (%s), "
        "%d leases released, in %.1f s",
        report.open_at_start,
        report.cancels_sent,
        len(report.still_open),
        "kept" if not cancel_open else "unanswered",
        len(report.leases_released),
        report.elapsed_s,
    )
    return report


def _open(engine: Drainable) -> list[ClientOrderId]:
    none: list[ClientOrderId] = []
    return _safe(engine.open_order_ids, none)


def _safe(call: Callable[[], _T], default: _T) -> _T:
    try:
        return call()
    except Exception:  # the drain goes on: exit 0 within the stop timeout matters more
        log.exception("drain: %s failed", getattr(call, "__name__", call))
        return default


class EngineDrain:
    """`Drainable` over a TradingEngine and a broker adapter that can poll its order book."""

    def __init__(self, engine: TradingEngine, poll: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self._poll = poll

    def open_order_ids(self) -> list[ClientOrderId]:
        return [o.client_order_id for o in self._engine.orders.open_orders()]

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self._engine.orders.cancel(client_order_id)

    def pump(self) -> None:
        if self._poll is not None:
            self._poll()
        self._engine.drain()
