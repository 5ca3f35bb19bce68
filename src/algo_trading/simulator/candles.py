"""Historical candles for getCandleData (spec §3), generated and consistent.

Every trading day of every instrument has one seeded one-minute path on the instrument's tick
grid; longer intervals are aggregated from it, so a 5-minute candle is exactly its five minutes
and a day candle its whole session. Rows are [ISO time +05:30, open, high, low, close, volume].
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from typing import Any

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST
from algo_trading.domain.instruments import Exchange, InstrumentType
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


def _is_trading_day(exchange: Exchange, day: dt.date) -> bool:
    try:
        return calendar_for(exchange).is_trading_day(day)
    except ConfigError:
        return day.weekday() < 5


@functools.lru_cache(maxsize=512)
def _minutes(
    seed: int, token: str, day: dt.date, base: int, tick: int, lot: int, index: bool
) -> tuple[Minute, ...]:
    """The day's one-minute path: opens near `base` (moved by a seeded daily drift)."""
    rng = random.Random(f"{seed}:candles:{token}:{day.isoformat()}")
    price = max(tick, round(base * (1 + rng.gauss(0, 0.01)) / tick) * tick)
    sigma = max(1.0, price * 3 / 10_000 / tick)
    out = []
    for _ in range(_SESSION_MINUTES):
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
        if _is_trading_day(inst.exchange, day):
            path = _minutes(
                seed,
                str(inst.token),
                day,
                quote.close,
                quote.tick_paise,
                inst.lot_size,
                inst.instrument_type is InstrumentType.INDEX,
            )
            open_at = dt.datetime.combine(day, _OPEN, tzinfo=IST)
            for i in range(0, _SESSION_MINUTES, step):
                start = open_at + dt.timedelta(minutes=i)
                chunk = path[i : i + step]
                stamp = dt.datetime.combine(day, dt.time(0), tzinfo=IST) if step == 375 else start
                end = open_at + dt.timedelta(minutes=i + len(chunk))
                inside = (
                    first.date() <= day <= last.date() if step == 375 else first <= stamp <= last
                )
                if inside and end <= now:
                    rows.append(_row(stamp, chunk))
    return rows
