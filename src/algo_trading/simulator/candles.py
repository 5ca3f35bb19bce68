"""Historical candles for getCandleData (spec §3), generated and consistent.

Every trading day of every instrument has one seeded one-minute path on the instrument's tick
grid over that day's continuous session (09:15-15:30 IST; a Muhurat or other special session
with its own hours from the calendar, the grid of longer intervals starting at its open);
longer intervals are aggregated from it, so a 5-minute candle is exactly its five minutes
and a day candle its whole session. Rows are [ISO time +05:30, open, high, low, close, volume].
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from typing import Any

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST
from algo_trading.domain.instruments import Exchange, InstrumentType, Segment
from algo_trading.market.calendar import calendar_for
from algo_trading.simulator.accounts import RequestError
from algo_trading.simulator.market import Quote
from algo_trading.simulator.wire import rupees

__all__ = ["INTERVAL_MINUTES", "MAX_SPAN_DAYS", "candles"]

INTERVAL_MINUTES = {
    "ONE_MINUTE": 1,
    "THREE_MINUTE": 3,
    "FIVE_MINUTE": 5,
    "TEN_MINUTE": 10,
    "FIFTEEN_MINUTE": 15,
    "THIRTY_MINUTE": 30,
    "ONE_HOUR": 60,
    "ONE_DAY": 375,
}
MAX_SPAN_DAYS = {
    "ONE_MINUTE": 30,
    "THREE_MINUTE": 60,
    "FIVE_MINUTE": 100,
    "TEN_MINUTE": 100,
    "FIFTEEN_MINUTE": 200,
    "THIRTY_MINUTE": 200,
    "ONE_HOUR": 400,
    "ONE_DAY": 2000,
}
_OPEN = dt.time(9, 15)
_SESSION_MINUTES = 375
Minute = tuple[int, int, int, int, int]  # open, high, low, close, volume (paise, units)


def _session(exchange: Exchange, day: dt.date) -> tuple[dt.time, int] | None:
    """The continuous cash market of `day`: (its open, its minutes), or None when nothing
    trades. A special session has its own hours (Muhurat: 13:45-14:45 IST on 2025-10-21,
    an evening hour in earlier years); one whose hours are not published yet serves no
    candles. Outside the calendar's years, weekdays at the regular 09:15-15:30."""
    try:
        calendar = calendar_for(exchange)
        if not calendar.first_day <= day <= calendar.last_day:
            raise ConfigError("outside the calendar")
    except ConfigError:
        return (_OPEN, _SESSION_MINUTES) if day.weekday() < 5 else None
    try:
        session = calendar.session_for(day)
    except ConfigError:  # a special session whose hours are not tabled
        return None
    if session is None:
        return None
    window = session.continuous(Segment.CASH)
    start = window.start.hour * 60 + window.start.minute
    end = window.end.hour * 60 + window.end.minute
    return window.start, end - start


@functools.lru_cache(maxsize=512)
def _minutes(
    seed: int,
    token: str,
    day: dt.date,
    base: int,
    tick: int,
    lot: int,
    index: bool,
    length: int = _SESSION_MINUTES,
) -> tuple[Minute, ...]:
    """The day's one-minute path of `length` minutes: opens near `base` (moved by a seeded
    daily drift)."""
    rng = random.Random(f"{seed}:candles:{token}:{day.isoformat()}")
    price = max(tick, round(base * (1 + rng.gauss(0, 0.01)) / tick) * tick)
    sigma = max(1.0, price * 3 / 10_000 / tick)
    out = []
    for _ in range(length):
        close = max(tick, price + round(rng.gauss(0, sigma)) * tick)
        wick = abs(round(rng.gauss(0, sigma / 2))) * tick
        high = max(price, close) + wick
        low = max(tick, min(price, close) - wick)
        volume = 0 if index else rng.randint(1, 50) * lot * (1 if lot > 1 else 20)
        out.append((price, high, low, close, volume))
        price = close
    return tuple(out)


def _parse(text: str, what: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=IST)
    except ValueError:
        raise RequestError("AB1004", f"Invalid {what} {text!r}: use yyyy-MM-dd HH:mm") from None


def _row(start: dt.datetime, minutes: tuple[Minute, ...]) -> list[Any]:
    return [
        start.isoformat(),
        rupees(minutes[0][0]),
        rupees(max(m[1] for m in minutes)),
        rupees(min(m[2] for m in minutes)),
        rupees(minutes[-1][3]),
        sum(m[4] for m in minutes),
    ]


def candles(
    quote: Quote, seed: int, interval: str, fromdate: str, todate: str, now: dt.datetime
) -> list[list[Any]]:
    """Rows whose start lies in [fromdate, todate] and whose end is not after `now`."""
    step = INTERVAL_MINUTES.get(interval)
    if step is None:
        raise RequestError("AB1004", f"Invalid interval {interval!r}")
    first, last = _parse(fromdate, "fromdate"), _parse(todate, "todate")
    if last < first:
        raise RequestError("AB1004", "fromdate is after todate")
    if (last - first).days > MAX_SPAN_DAYS[interval]:
        raise RequestError(
            "AB1004", f"{interval} allows at most {MAX_SPAN_DAYS[interval]} days per request"
        )
    inst = quote.instrument
    rows: list[list[Any]] = []
    for offset in range((last.date() - first.date()).days + 1):
        # Counting days, not stepping a date past todate: 9999-12-31 has no next day.
        day = first.date() + dt.timedelta(days=offset)
        session = _session(inst.exchange, day)
        if session is None:
            continue
        opens, length = session
        path = _minutes(
            seed,
            str(inst.token),
            day,
            quote.close,
            quote.tick_paise,
            inst.lot_size,
            inst.instrument_type is InstrumentType.INDEX,
            length,
        )
        open_at = dt.datetime.combine(day, opens, tzinfo=IST)
        daily = interval == "ONE_DAY"
        chunk_minutes = length if daily else step
        for i in range(0, length, chunk_minutes):
            start = open_at + dt.timedelta(minutes=i)
            chunk = path[i : i + chunk_minutes]
            stamp = dt.datetime.combine(day, dt.time(0), tzinfo=IST) if daily else start
            end = open_at + dt.timedelta(minutes=i + len(chunk))
            inside = first.date() <= day <= last.date() if daily else first <= stamp <= last
            if inside and end <= now:
                rows.append(_row(stamp, chunk))
    return rows
