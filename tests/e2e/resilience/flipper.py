"""A strategy file for the resilience tests (`strategy = "flipper.py:Flipper"` in a trade
config): it trades all the time, so a kill lands in the middle of the order flow. Every
`every` ticks of a symbol, when nothing of that symbol is working, it buys `quantity` if flat
and sells back to flat otherwise: one MARKET order after another, positions small.

`active = false` makes it trade nothing (the settling life after the kills)."""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.events import Tick
from algo_trading.strategy.base import Strategy


class Flipper(Strategy):
    name = "flipper"

    @dataclass(frozen=True)
    class Params:
        every: int = 5
        active: bool = True

    def on_start(self) -> None:
        self._seen: dict[str, int] = {}

    def on_tick(self, tick: Tick) -> None:
        if not self.params.active:
            return
        n = self._seen.get(tick.symbol, 0) + 1
        self._seen[tick.symbol] = n
        if n % self.params.every or self.open_orders(tick.symbol):
            return
        target = 0 if self.position(tick.symbol) else self.quantity
        self.target_position(target, tick.symbol)
