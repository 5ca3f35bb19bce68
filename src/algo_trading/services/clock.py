"""The real time, for the composition roots only (the engine's core never reads the wall clock:
it is handed a `Clock`; tests inject their own). One class for every service: the trading
service's notifier (`services/alerts.py`), the data service and its CLI."""

from __future__ import annotations

import time

__all__ = ["WallClock"]


class WallClock:
    """`Clock` (engine/ports.py) on the host's clock: epoch nanoseconds, UTC."""

    def now_ns(self) -> int:
        return time.time_ns()
