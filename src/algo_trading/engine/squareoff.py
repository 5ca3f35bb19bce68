"""Intraday square-off: positions opened with the INTRADAY product are closed at the broker's
cut-off, and no new intraday exposure is taken after it that day (indian-market.md §2.7).

The same component serves every mode: the backtest driver calls `square_off` on the first bar
at or after the cut-off (so the closing order meets that bar's open), the trading service on
its timer. Cut-offs come from `market.sessions` (Angel One's times by default, unconfirmed and
configurable); for a year the calendar does not cover, the rule's clock time is used on every
day that has bars.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import ist_day
from algo_trading.domain.instruments import Exchange, Instrument, Segment
from algo_trading.domain.orders import Order, OrderSide, ProductType
from algo_trading.engine.ports import Clock
from algo_trading.engine.risk import ALLOW, RiskDecision, RiskView
from algo_trading.market.calendar import calendar_for
from algo_trading.market.sessions import Broker, SquareOffSchedule

__all__ = ["NEVER", "CutoffFn", "IntradaySquareOff", "broker_cutoffs"]

CutoffFn = Callable[[str, int], int | None]
"""(symbol, IST day number) -> epoch ns of that day's cut-off, or None (no session that day)."""

NEVER = 2**63 - 1
_EPOCH = dt.date(1970, 1, 1)
_IST_NS = 19_800 * 10**9
_DAY_NS = 86_400 * 10**9
_LOOKAHEAD_DAYS = 30
# read once: an enum member is a slow lookup in a function
_INTRADAY = ProductType.INTRADAY
_BUY, _SELL = OrderSide.BUY, OrderSide.SELL


def broker_cutoffs(
    instruments: Mapping[str, Instrument],
    broker: Broker = Broker.ANGEL_ONE,
    schedule: SquareOffSchedule | None = None,
) -> CutoffFn:
    """Cut-offs of `broker` for each instrument's segment, from the exchange calendar."""
    rules = schedule or SquareOffSchedule()
    calendars = {ex: calendar_for(ex) for ex in (Exchange.NSE, Exchange.BSE)}

    def cutoff(symbol: str, day: int) -> int | None:
        inst = instruments.get(symbol)
        segment = inst.segment if inst is not None else Segment.CASH
        exchange = (
            Exchange.BSE
            if inst and inst.exchange in (Exchange.BSE, Exchange.BFO)
            else (Exchange.NSE)
        )
        date = _EPOCH + dt.timedelta(days=day)
        try:
            session = calendars[exchange].session_for(date)
        except ConfigError:  # a year the calendar does not cover: the plain clock time
            rule = rules.rule_for(date, segment, broker)
            t = rule.cutoff
            return day * _DAY_NS - _IST_NS + (t.hour * 3600 + t.minute * 60) * 10**9
        if session is None:
            return None
        return rules.cutoff_ns(session, segment, broker)

    return cutoff


class IntradaySquareOff:
    """Knows the cut-offs; refuses intraday orders that add exposure after today's."""

    def __init__(self, cutoff: CutoffFn | None, clock: Clock) -> None:
        self._cutoff = cutoff
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._cutoff is not None

    def next_cutoff_ns(self, symbol: str, after_ns: int) -> int:
        """The first cut-off for `symbol` strictly after `after_ns` (NEVER when disabled)."""
        if self._cutoff is None:
            return NEVER
        day = ist_day(after_ns)
        for d in range(day, day + _LOOKAHEAD_DAYS):
            c = self._cutoff(symbol, d)
            if c is not None and c > after_ns:
                return c
        return NEVER

    def check(self, order: Order, view: RiskView) -> RiskDecision:
        if self._cutoff is None or order.product is not _INTRADAY:
            return ALLOW
        now = self._clock.now_ns()
        cut = self._cutoff(order.symbol, ist_day(now))
        if cut is None or now < cut:
            return ALLOW
        # The intraday book alone: a delivery holding beside an intraday short must not make
        # the short's closing buy look like new exposure (it would be carried overnight).
        pos = view.book_quantity(order.strategy_id, order.symbol, _INTRADAY)
        reducing = (order.side is _BUY and pos < 0 and order.quantity <= -pos) or (
            order.side is _SELL and pos > 0 and order.quantity <= pos
        )
        if reducing:
            return ALLOW
        return RiskDecision(
            False,
            "AFTER_SQUAREOFF_CUTOFF",
            f"{order.side.value} {order.quantity} {order.symbol} INTRADAY after the intraday "
            f"cut-off; intraday position {pos}",
        )
