"""Clocks the engine can be given. The wall clock lives with the services: the core reads none."""

from __future__ import annotations

__all__ = ["SimulatedClock"]


class SimulatedClock:
    """A clock that is where the driver puts it (a backtest, a test). `ts_ns` is public so the
    backtest loop can move it without a call per bar."""

    __slots__ = ("ts_ns",)

    def __init__(self, start_ns: int = 0) -> None:
        self.ts_ns = start_ns

    def now_ns(self) -> int:
        return self.ts_ns

    def set(self, ts_ns: int) -> None:
        self.ts_ns = ts_ns
