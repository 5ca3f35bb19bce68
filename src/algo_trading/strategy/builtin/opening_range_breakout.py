"""Opening-range breakout, intraday: the range is the high and low of the first `minutes`
minutes of each IST session (from 09:15); the first close above it buys, the first close below
it sells short (with `allow_short`). One entry a day. A close back through the other side of the
range exits, and every position is closed on the first bar at or after `exit_time`, before the
broker's intraday square-off.

Parameters: `minutes` (15), `exit_time` ("15:10"), `allow_short` (true).
"""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar, ist_day, ist_minute, parse_hhmm
from algo_trading.domain.orders import ProductType
from algo_trading.strategy.base import Strategy

__all__ = ["OpeningRangeBreakout", "OpeningRangeBreakoutParams"]

MARKET_OPEN_MINUTE = 9 * 60 + 15


@dataclass(frozen=True)
class OpeningRangeBreakoutParams:
    minutes: int = 15
    exit_time: str = "15:10"
    allow_short: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.minutes < 375:
            raise ConfigError(f"opening_range_breakout: minutes {self.minutes} is not in 1..374")
        try:
            exit_minute = parse_hhmm(self.exit_time, "exit_time")
        except ValueError as exc:
            raise ConfigError(f"opening_range_breakout: {exc}") from None
        if exit_minute <= MARKET_OPEN_MINUTE + self.minutes:
            raise ConfigError(
                f"opening_range_breakout: exit_time {self.exit_time} is inside the opening range"
            )


class _Day:
    __slots__ = ("day", "high", "low", "traded")

    def __init__(self) -> None:
        self.day = -1
        self.high = 0
        self.low = 0
        self.traded = False


class OpeningRangeBreakout(Strategy):
    name = "opening_range_breakout"
    Params = OpeningRangeBreakoutParams

    def default_product(self) -> ProductType:
        return ProductType.INTRADAY  # an intraday strategy: MIS, flat by the cut-off

    def on_start(self) -> None:
        p: OpeningRangeBreakoutParams = self.params
        self.range_end = MARKET_OPEN_MINUTE + p.minutes
        self.exit_minute = parse_hhmm(p.exit_time)
        self.days = {sym: _Day() for sym in self.symbols}

    def on_bar(self, bar: Bar) -> None:
        d = self.days[bar.symbol]
        day, minute = ist_day(bar.ts_ns), ist_minute(bar.ts_ns)
        if day != d.day:
            d.day, d.high, d.low, d.traded = day, bar.high, bar.low, False
        if minute < self.range_end:
            d.high, d.low = max(d.high, bar.high), min(d.low, bar.low)
            return
        pos = self.position(bar.symbol)
        if minute >= self.exit_minute:
            if pos:
                self.close(bar.symbol)
            return
        if (pos > 0 and bar.close < d.low) or (pos < 0 and bar.close > d.high):
            self.close(bar.symbol)
        elif pos == 0 and not d.traded:
            if bar.close > d.high:
                self.buy(symbol=bar.symbol)
                d.traded = True
            elif bar.close < d.low and self.params.allow_short:
                self.sell(symbol=bar.symbol)
                d.traded = True
