"""The simulator's clock and its view of the trading session.

Real time by default, an injected clock in tests, or an accelerated replay of one trading day.
Session times come from `market.calendar` where it covers the day; outside its years a plain
Monday-to-Friday 09:15-15:30 IST session stands in (documented fallback, not a rule).
"""

from __future__ import annotations

import datetime as dt

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST, ns_to_ist
from algo_trading.domain.instruments import Exchange, Segment
from algo_trading.market.calendar import calendar_for
from algo_trading.market.sessions import Broker, SquareOffSchedule
from algo_trading.simulator.config import SimulatorConfig

__all__ = ["SimClock", "ist_midnight_after_ns", "segment_of"]

_NS = 1_000_000_000
_FALLBACK_OPEN = dt.time(9, 15)
_FALLBACK_CLOSE = dt.time(15, 30)
_SQUAREOFF = SquareOffSchedule()


def segment_of(exchange: Exchange) -> Segment:
    return Segment.FNO if exchange in (Exchange.NFO, Exchange.BFO) else Segment.CASH


def _at_ns(day: dt.date, t: dt.time) -> int:
    return int(dt.datetime.combine(day, t, tzinfo=IST).timestamp()) * _NS


def ist_midnight_after_ns(ts_ns: int) -> int:
    """Epoch ns of the next 00:00 IST after `ts_ns` (sessions end then, spec §6.2)."""
    day = ns_to_ist(ts_ns).date() + dt.timedelta(days=1)
    return _at_ns(day, dt.time(0, 0))


class SimClock:
    """Now (epoch ns), and whether the market of an exchange is open now."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._source = config.clock
        self._always_open = config.always_open
        self._speed = config.replay_speed
        self._replay_base: int | None = None
        self._real_start = self._source()
        if config.replay_day is not None:
            self._replay_base = self.session_open_ns(config.replay_day, Exchange.NSE)

    def now_ns(self) -> int:
        real = self._source()
        if self._replay_base is None:
            return real
        return self._replay_base + int((real - self._real_start) * self._speed)

    def today(self) -> dt.date:
        return ns_to_ist(self.now_ns()).date()

    def session_open_ns(self, day: dt.date, exchange: Exchange) -> int:
        try:
            session = calendar_for(exchange).session_for(day)
        except ConfigError:
            return _at_ns(day, _FALLBACK_OPEN)
        if session is None:
            raise ConfigError(f"simulator: {day} is not a trading day on {exchange.value}")
        return session.open_ns()

    def is_open(self, exchange: Exchange, ts_ns: int | None = None) -> bool:
        """Continuous trading now (always, with --always-open)."""
        if self._always_open:
            return True
        ts = self.now_ns() if ts_ns is None else ts_ns
        segment = segment_of(exchange)
        try:
            return calendar_for(exchange).is_open(ts, segment)
        except ConfigError:
            local = ns_to_ist(ts)
            return local.weekday() < 5 and _FALLBACK_OPEN <= local.time() < _FALLBACK_CLOSE

    def squareoff_ns(self, exchange: Exchange, day: dt.date) -> int | None:
        """Angel One's intraday square-off cut-off of `exchange` on `day` (indian-market.md
        §2.7, `market.sessions`); None on a day without a session, or with --always-open."""
        if self._always_open:
            return None
        segment = segment_of(exchange)
        try:
            session = calendar_for(exchange).session_for(day)
        except ConfigError:
            if day.weekday() >= 5:
                return None
            return _at_ns(day, _SQUAREOFF.rule_for(day, segment, Broker.ANGEL_ONE).cutoff)
        if session is None:
            return None
        return _SQUAREOFF.cutoff_ns(session, segment, Broker.ANGEL_ONE)

    def intraday_closed(self, exchange: Exchange, ts_ns: int | None = None) -> bool:
        """From the square-off cut-off to the close no new INTRADAY order is taken (§2.7)."""
        ts = self.now_ns() if ts_ns is None else ts_ns
        cutoff = self.squareoff_ns(exchange, ns_to_ist(ts).date())
        return cutoff is not None and ts >= cutoff and self.is_open(exchange, ts)

    def in_order_blackout(self, exchange: Exchange, ts_ns: int | None = None) -> bool:
        """Neither normal orders nor AMOs are taken: the 15 minutes before the open and after
        the close of a trading day (Angel's AMO window opens after the close settles)."""
        if self._always_open:
            return False
        ts = self.now_ns() if ts_ns is None else ts_ns
        local = ns_to_ist(ts)
        minutes = local.hour * 60 + local.minute
        weekday = local.weekday() < 5
        return weekday and (
            9 * 60 <= minutes < 9 * 60 + 15 or 15 * 60 + 30 <= minutes < 15 * 60 + 45
        )
