"""VWAP reversion, intraday: buy when the close is more than `band_bps` basis points below the
session VWAP, sell short (with `allow_short`) when as far above it; exit when the close gets
back to the VWAP, and close everything on the first bar at or after `exit_time`. No entries
after `exit_time`. The band test is exact (integer cross-multiplication).

Parameters: `band_bps` (50 = 0.5 %), `exit_time` ("15:10"), `allow_short` (true).
"""

from __future__ import annotations

from dataclasses import dataclass

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import Bar, ist_minute, parse_hhmm
from algo_trading.domain.orders import ProductType
from algo_trading.strategy.base import Strategy
from algo_trading.strategy.indicators import VWAP

__all__ = ["VwapReversion", "VwapReversionParams"]


@dataclass(frozen=True)
class VwapReversionParams:
    band_bps: int = 50
    exit_time: str = "15:10"
    allow_short: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.band_bps < 10_000:
            raise ConfigError(f"vwap_reversion: band_bps {self.band_bps} is not in 1..9999")
        try:
            parse_hhmm(self.exit_time, "exit_time")
        except ValueError as exc:
            raise ConfigError(f"vwap_reversion: {exc}") from None


class VwapReversion(Strategy):
    name = "vwap_reversion"
    Params = VwapReversionParams

    def default_product(self) -> ProductType:
        return ProductType.INTRADAY  # an intraday strategy: MIS, flat by the cut-off

    def on_start(self) -> None:
        self.exit_minute = parse_hhmm(self.params.exit_time)
        self.vwaps: dict[str, VWAP] = {s: self.vwap(s) for s in self.symbols}

    def on_bar(self, bar: Bar) -> None:
        sym = bar.symbol
        pos = self.position(sym)
        if ist_minute(bar.ts_ns) >= self.exit_minute:
            if pos:
                self.close(sym)
            return
        vwap = self.vwaps[sym]
        if not vwap.ready:
            return
        band = self.params.band_bps
        scaled_close = bar.close * 10_000 * vwap.den  # close vs vwap, both × 10 000 × den
        below = scaled_close < vwap.num * (10_000 - band)
        above = scaled_close > vwap.num * (10_000 + band)
        at_or_above_vwap = bar.close * vwap.den >= vwap.num
        at_or_below_vwap = bar.close * vwap.den <= vwap.num
        if pos == 0:
            if below:
                self.buy(symbol=sym)
            elif above and self.params.allow_short:
                self.sell(symbol=sym)
        elif (pos > 0 and at_or_above_vwap) or (pos < 0 and at_or_below_vwap):
            self.close(sym)
