"""The simulated broker's day: intraday auto square-off at Angel One's cut-off and the reset into
the next session.

At the cut-off (`market.sessions`, Angel One: 15:15 cash, 15:20 F&O; indian-market.md §2.7) working
INTRADAY orders of that segment are cancelled and open INTRADAY positions closed at market. When
the clock enters a new IST day (spec §6.2) the books of the old one close: `SimExchange.new_day`.
Nothing runs on a timer: every tick and every REST call first lets the keeper catch up with the
clock, so a test that moves an injected clock sees the same thing as a replay.
"""

from __future__ import annotations

import datetime as dt

from algo_trading.domain.events import ns_to_ist
from algo_trading.domain.instruments import Exchange
from algo_trading.simulator.clock import SimClock
from algo_trading.simulator.exchange import SQUAREOFF_CANCEL_TEXT, SimExchange
from algo_trading.simulator.market import Market
from algo_trading.simulator.orders import Status

__all__ = ["DayKeeper"]

_EXCHANGES = (Exchange.NSE, Exchange.BSE, Exchange.NFO, Exchange.BFO)


class DayKeeper:
    """Runs each day's square-offs once and rolls the books over at midnight IST."""

    def __init__(self, exchange: SimExchange, market: Market, clock: SimClock) -> None:
        self._exchange = exchange
        self._market = market
        self._clock = clock
        self._day = clock.today()
        self._done: set[tuple[dt.date, Exchange]] = set()

    def catch_up(self, now_ns: int) -> None:
        today = ns_to_ist(now_ns).date()
        if today != self._day:
            self._square_off_due(self._day, now_ns)  # the old day's cut-off passed unseen
            self._exchange.new_day()
            self._market.new_day()
            self._done = {done for done in self._done if done[0] >= today}
            self._day = today
        self._square_off_due(today, now_ns)

    def _square_off_due(self, day: dt.date, now_ns: int) -> None:
        for exchange in _EXCHANGES:
            cutoff = self._clock.squareoff_ns(exchange, day)
            if cutoff is None or now_ns < cutoff or (day, exchange) in self._done:
                continue
            self._done.add((day, exchange))
            self._square_off(exchange, cutoff)

    def _square_off(self, exchange: Exchange, ts_ns: int) -> None:
        book = self._exchange
        for order in list(book.orders.values()):
            if (
                order.producttype == "INTRADAY"
                and order.exchange is exchange
                and order.is_working
                and order.status != Status.AMO_RECEIVED
            ):
                book.cancel_by_rms(order, SQUAREOFF_CANCEL_TEXT)
        for account in list(book.accounts.values()):
            for pos in list(account.positions.values()):
                inst = pos.instrument
                if pos.product == "INTRADAY" and inst.exchange is exchange and pos.net_qty:
                    book.square_off(account.client_code, inst, pos.net_qty, ts_ns)
