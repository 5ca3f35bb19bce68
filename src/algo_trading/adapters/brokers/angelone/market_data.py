"""Market data over REST: LTP, quotes in batches of 50 tokens (§2.9, §2.10) and historical
candles split by the per-interval maximum span (§3), paced at the candle route's 3/s and
resumable from the last candle received.

A download that fails part-way keeps what it delivered: `CandleDownload.resume_from` says where
a second run must start, so nothing is fetched twice and nothing is skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import ROUTES
from algo_trading.adapters.brokers.angelone.parsing import (
    candle_body,
    parse_candles,
    parse_ltp,
    parse_quote,
)
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST, ns_to_ist
from algo_trading.domain.instruments import Instrument
from algo_trading.market.prices import PriceBand

__all__ = [
    "INTERVAL_MINUTES",
    "MAX_SPAN_DAYS",
    "QUOTE_BATCH",
    "AngelOneMarketData",
    "Candle",
    "CandleDownload",
    "split_span",
]

MAX_SPAN_DAYS: Mapping[str, int] = {
    "ONE_MINUTE": 30,
    "THREE_MINUTE": 60,
    "FIVE_MINUTE": 100,
    "TEN_MINUTE": 100,
    "FIFTEEN_MINUTE": 200,
    "THIRTY_MINUTE": 200,
    "ONE_HOUR": 400,
    "ONE_DAY": 2000,
}
"""The largest span one getCandleData request may cover, in days (§3)."""

INTERVAL_MINUTES: Mapping[str, int] = {
    "ONE_MINUTE": 1,
    "THREE_MINUTE": 3,
    "FIVE_MINUTE": 5,
    "TEN_MINUTE": 10,
    "FIFTEEN_MINUTE": 15,
    "THIRTY_MINUTE": 30,
    "ONE_HOUR": 60,
    "ONE_DAY": 1440,
}

QUOTE_BATCH = 50
"""Tokens per market-quote request (§2.10)."""

Candle = tuple[int, int, int, int, int, int]
"""(start ts_ns, open, high, low, close paise, volume), as `parsing.parse_candles` gives them."""


def split_span(
    interval: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end] cut into requests no longer than the interval's maximum span (§3). Both
    ends of a request are inclusive (minute precision, the wire format), so the next request
    starts one minute after the previous one ends and no candle is asked for twice."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("candle span: start and end must be timezone-aware")
    try:
        span = dt.timedelta(days=MAX_SPAN_DAYS[interval])
    except KeyError:
        raise ValueError(
            f"candle interval {interval!r}: expected one of {', '.join(MAX_SPAN_DAYS)}"
        ) from None
    start = start.astimezone(IST).replace(second=0, microsecond=0)
    end = end.astimezone(IST).replace(second=0, microsecond=0)
    if end < start:
        raise ValueError(f"candle span: end {end} is before start {start}")
    pieces = []
    cursor = start
    while cursor <= end:
        stop = min(cursor + span, end)
        pieces.append((cursor, stop))
        cursor = stop + dt.timedelta(minutes=1)
    return pieces


@dataclass(slots=True)
class CandleDownload:
    """One instrument's candles over a span; iterate it to fetch request by request.

    `last_ts_ns` is the start of the last candle delivered; after an error, `resume_from()`
    is the first minute a new download must ask for.
    """

    session: AngelOneSession
    exchange: str
    token: str
    interval: str
    start: dt.datetime
    end: dt.datetime
    last_ts_ns: int | None = None
    requests: int = field(default=0)

    def resume_from(self) -> dt.datetime:
        if self.last_ts_ns is None:
            return self.start
        step = dt.timedelta(minutes=INTERVAL_MINUTES[self.interval])
        return ns_to_ist(self.last_ts_ns) + step

    def __iter__(self) -> Iterator[Candle]:
        route = ROUTES["candles"]
        for frm, to in split_span(self.interval, self.resume_from(), self.end):
            body = candle_body(self.exchange, self.token, self.interval, frm, to)
            data = self.session.call(route.name, body)
            self.requests += 1
            for candle in parse_candles(route.path, data):
                if self.last_ts_ns is not None and candle[0] <= self.last_ts_ns:
                    continue  # a server that includes the boundary candle twice
                self.last_ts_ns = candle[0]
                yield candle


class AngelOneMarketData:
    """LTP, quotes and candles through one session; every call is paced by the route limits."""

    def __init__(self, session: AngelOneSession) -> None:
        self.session = session

    def ltp(self, exchange: str, symbol: str, token: str) -> Any:
        """The LTP answer of §2.9, parsed (prices in paise)."""
        route = ROUTES["ltp"]
        body = {"exchange": exchange, "tradingsymbol": symbol, "symboltoken": token}
        return parse_ltp(route.path, self.session.call(route.name, body))

    def quotes(self, mode: str, tokens: Mapping[str, Sequence[str]]) -> list[Any]:
        """Quotes for every token, asked 50 at a time (§2.10); one parsed result per request."""
        route = ROUTES["quote"]
        results = []
        for batch in _batches(tokens, QUOTE_BATCH):
            data = self.session.call(route.name, {"mode": mode, "exchangeTokens": batch})
            results.append(parse_quote(route.path, data))
        return results

    def price_bands(self, instruments: Sequence[Instrument]) -> dict[str, PriceBand | None]:
        """The day's circuit limits of each instrument by its symbol, from FULL quotes
        (`lowerCircuit`, `upperCircuit`, §2.10); None for one the broker did not quote
        (`unfetched`) or quoted without a usable band (0, as for an index). Raises the
        adapter's typed error when the quotes cannot be read."""
        by_token = {(i.exchange.value, str(i.token)): i.symbol for i in instruments}
        tokens: dict[str, list[str]] = {}
        for exchange, token in by_token:
            tokens.setdefault(exchange, []).append(token)
        bands: dict[str, PriceBand | None] = {i.symbol: None for i in instruments}
        for result in self.quotes("FULL", tokens):
            for q in result.fetched:
                symbol = by_token.get((q.exchange, q.token))
                if symbol is None:
                    continue
                try:
                    bands[symbol] = PriceBand(q.lower_circuit_paise, q.upper_circuit_paise)
                except ConfigError:  # 0 or inverted: no band to check against
                    bands[symbol] = None
        return bands

    def candles(
        self, exchange: str, token: str, interval: str, start: dt.datetime, end: dt.datetime
    ) -> CandleDownload:
        return CandleDownload(self.session, exchange, token, interval, start, end)


def _batches(tokens: Mapping[str, Sequence[str]], size: int) -> Iterator[dict[str, list[str]]]:
    batch: dict[str, list[str]] = {}
    n = 0
    for exchange, toks in tokens.items():
        for tok in toks:
            batch.setdefault(exchange, []).append(tok)
            n += 1
            if n == size:
                yield batch
                batch, n = {}, 0
    if batch:
        yield batch
