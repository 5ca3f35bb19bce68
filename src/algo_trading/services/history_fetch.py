"""`data fetch`: candles from the broker into the history store (issue #11, item 2).

What a fetch does, per symbol: take the asked span, remove the spans the store says were
fetched whole before (`MarketDataStore.fetched`), cut the rest into requests no longer than the
interval's maximum (angel-one-smartapi.md §3), and for each request write its candles, then
record the request's span as fetched. Killed at any point, the next run asks again only for
what was not recorded; a request whose candles were written but not recorded is asked again and
merged into the same rows (the store's writes are idempotent), so the files end the same.

The pacing is the adapter's: every request goes through `AngelOneHttp`'s route limiter (3/s,
180/min, 5000/h for candles, §6.1), and rate-limit answers are retried with backoff there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import (
    AngelOneConfig,
    AngelOneCredentials,
    credentials_from_store,
)
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.instruments import load_or_download
from algo_trading.adapters.brokers.angelone.market_data import (
    INTERVAL_MINUTES,
    MAX_SPAN_DAYS,
    AngelOneMarketData,
    split_span,
)
from algo_trading.adapters.history.bars import BarSeries
from algo_trading.adapters.history.store import ParquetBarStore, subtract_spans
from algo_trading.adapters.instruments.master import ScripMasterCache
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST, ns_to_ist
from algo_trading.domain.instruments import Exchange, Instrument
from algo_trading.engine.ports import BarKey, Clock, MarketDataStore, SecretStore
from algo_trading.market.instruments import InstrumentMaster, InstrumentNotFoundError
from algo_trading.services.live_gate import secret_store_for
from algo_trading.services.settings import Settings
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
)

__all__ = [
    "BrokerData",
    "FetchChunk",
    "FetchPlan",
    "SymbolPlan",
    "broker_config",
    "check_exchange",
    "check_interval",
    "day_bounds_ns",
    "demo_credentials",
    "fetch_range",
    "open_broker",
    "plan_fetch",
    "resolve_instruments",
    "run_fetch",
]

_NS = 10**9
_MINUTE_NS = 60 * _NS


def fetch_range(frm: str, to: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """--from/--to as IST times [start, end): a date means its whole day, `YYYY-MM-DD HH:MM`
    that minute. A reversed range, or one that starts in the future, is refused; an end in the
    future is refused too, except today's (a fetch of today stops at `now`)."""
    start = _when(frm, "--from", end=False)
    end = _when(to, "--to", end=True)
    if end <= start:
        raise ConfigError(f"--from {frm} is not before --to {to}: the range is reversed or empty")
    today = now.astimezone(IST).date()
    if start > now:
        raise ConfigError(f"--from {frm} is in the future (today is {today} IST)")
    if (end - dt.timedelta(minutes=1)).date() > today:
        raise ConfigError(f"--to {to} is in the future (today is {today} IST)")
    return start, min(end, now.astimezone(IST).replace(second=0, microsecond=0))


def day_bounds_ns(frm: str | None, to: str | None) -> tuple[int | None, int | None]:
    """--from/--to of a backtest as epoch ns [start, end), either open; reversed is refused."""
    start = _ns(_when(frm, "--from", end=False)) if frm else None
    end = _ns(_when(to, "--to", end=True)) if to else None
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"--from {frm} is not before --to {to}: the range is reversed or empty")
    return start, end


def _when(text: str, what: str, *, end: bool) -> dt.datetime:
    text = text.strip()
    for fmt, is_day in (("%Y-%m-%d", True), ("%Y-%m-%d %H:%M", False), ("%Y-%m-%dT%H:%M", False)):
        try:
            parsed = dt.datetime.strptime(text, fmt).replace(tzinfo=IST)
        except ValueError:
            continue
        if is_day and end:
            return parsed + dt.timedelta(days=1)
        return parsed + dt.timedelta(minutes=1) if end else parsed
    raise ConfigError(f"{what} {text!r} is not a date (YYYY-MM-DD) or a time (YYYY-MM-DD HH:MM)")


def check_interval(interval: str) -> str:
    if interval not in MAX_SPAN_DAYS:
        raise ConfigError(
            f"--interval {interval!r} is not one of Angel One's intervals: "
            f"{', '.join(MAX_SPAN_DAYS)}"
        )
    return interval


def check_exchange(exchange: str) -> Exchange:
    try:
        return Exchange(exchange.upper())
    except ValueError:
        known = ", ".join(e.value for e in Exchange)
        raise ConfigError(f"--exchange {exchange!r} is not one of {known}") from None


# --- the broker ---------------------------------------------------------------------------


def demo_credentials() -> AngelOneCredentials:
    """The simulator's published demo login (issue #5): the default for the simulator only."""
    return AngelOneCredentials(
        api_key=DEMO_API_KEY,
        client_code=DEMO_CLIENT_CODE,
        mpin=DEMO_MPIN,
        totp_secret=DEMO_TOTP_SECRET,
    )


def broker_config(kind: str, url: str) -> AngelOneConfig:
    """Angel One's production hosts, or the simulator at `url` (REST and its scrip master)."""
    if kind == "angelone":
        return AngelOneConfig()
    if kind != "simulator":
        raise ConfigError(f"--broker {kind!r}: use simulator or angelone")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"--broker-url {url!r}: write it as http://HOST:PORT")
    base = url.rstrip("/")
    return AngelOneConfig(
        rest_base_url=base,
        instrument_master_url=base + "/OpenAPI_File/files/OpenAPIScripMaster.json",
        timeout_s=10.0,
    )


def credentials_for(kind: str, secrets: Callable[[], SecretStore]) -> AngelOneCredentials:
    return demo_credentials() if kind == "simulator" else credentials_from_store(secrets())


def resolve_instruments(
    master: InstrumentMaster, symbols: Sequence[str], exchange: Exchange
) -> list[Instrument]:
    """Each symbol's instrument on `exchange`; a bare equity name finds its `-EQ` series. A
    symbol named twice that way (SBIN and SBIN-EQ) is fetched once."""
    out: dict[str, Instrument] = {}
    for symbol in symbols:
        try:
            inst = master.by_symbol(symbol, exchange)
        except InstrumentNotFoundError:
            try:
                inst = master.by_symbol(f"{symbol}-EQ", exchange)
            except InstrumentNotFoundError:
                raise ConfigError(
                    f"--symbol {symbol!r}: the instrument master has no such symbol on {exchange}"
                ) from None
        out.setdefault(inst.symbol, inst)
    return list(out.values())


def open_master(http: AngelOneHttp, cache_dir: Path, today: dt.date) -> InstrumentMaster:
    return load_or_download(http, ScripMasterCache(cache_dir), today)


@dataclass(frozen=True, slots=True)
class BrokerData:
    """What a fetch needs of the broker: its candles and its instrument master."""

    market: AngelOneMarketData
    master: InstrumentMaster


@contextmanager
def open_broker(
    settings: Settings,
    *,
    broker: str | None,
    broker_url: str | None,
    environ: Mapping[str, str],
    clock: Clock,
    today: dt.date,
) -> Iterator[BrokerData]:
    """The broker the settings (or the overrides) name, logged in on first use, with today's
    instrument master (cached per broker under the data folder). The CLI's `data fetch` and
    the data service's history top-up both start here."""
    kind = broker or settings.broker_kind
    if kind == "inprocess":  # the in-process broker has no history: ask the simulator
        kind = "simulator"
    config = broker_config(kind, broker_url or settings.broker_url)
    creds = credentials_for(kind, lambda: secret_store_for(settings, environ))
    http, session = session_for(config, creds, clock)
    cache = Path(settings.data_dir) / "instruments" / _cache_name(kind, config)
    with http:
        yield BrokerData(AngelOneMarketData(session), open_master(http, cache, today))


def _cache_name(kind: str, config: AngelOneConfig) -> str:
    if kind != "simulator":
        return kind
    netloc = urlsplit(config.rest_base_url).netloc
    return "simulator-" + "".join(ch if ch.isalnum() else "-" for ch in netloc)


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchChunk:
    """One getCandleData request: [start, end] inclusive minutes, as the wire has them."""

    start: dt.datetime
    end: dt.datetime

    @property
    def span_ns(self) -> tuple[int, int]:
        return _ns(self.start), _ns(self.end) + _MINUTE_NS


@dataclass(frozen=True, slots=True)
class SymbolPlan:
    key: BarKey
    token: str
    chunks: tuple[FetchChunk, ...]


@dataclass(frozen=True, slots=True)
class FetchPlan:
    symbols: tuple[SymbolPlan, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)  # symbol -> chunks already done

    @property
    def chunks(self) -> int:
        return sum(len(s.chunks) for s in self.symbols)


def _ns(when: dt.datetime) -> int:
    return int(when.timestamp()) * _NS


def plan_fetch(
    store: MarketDataStore[BarSeries],
    instruments: Sequence[Instrument],
    interval: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    force: bool = False,
) -> FetchPlan:
    """The requests still to make for [start, end): the asked span minus what each series'
    record says was fetched whole (all of it with `force`), cut to the interval's maximum."""
    plans = []
    for inst in instruments:
        key = BarKey(inst.exchange.value, inst.symbol, interval)
        done = [] if force else store.fetched(key)
        chunks: list[FetchChunk] = []
        for a, b in subtract_spans((_ns(start), _ns(end)), done):
            first = ns_to_ist(a)
            last = ns_to_ist(b) - dt.timedelta(minutes=1)
            chunks.extend(FetchChunk(f, t) for f, t in split_span(interval, first, last))
        plans.append(SymbolPlan(key, str(inst.token), tuple(chunks)))
    return FetchPlan(tuple(plans))


# --- the run ------------------------------------------------------------------------------

Progress = Callable[[SymbolPlan, int, int], None]
"""Called after each request: the symbol's plan, the chunk's index, the new bars stored."""


def run_fetch(
    market: AngelOneMarketData,
    store: MarketDataStore[BarSeries],
    plan: FetchPlan,
    *,
    now_ns: int,
    on_chunk: Progress | None = None,
) -> dict[BarKey, int]:
    """Make the plan's requests in order; the new bars stored per key."""
    added: dict[BarKey, int] = {}
    for sym in plan.symbols:
        added[sym.key] = 0
        for i, chunk in enumerate(sym.chunks):
            download = market.candles(
                sym.key.exchange, sym.token, sym.key.interval, chunk.start, chunk.end
            )
            candles = list(download)
            new = store.write(sym.key, _bars(sym.key.symbol, candles)) if candles else 0
            added[sym.key] += new
            a, b = chunk.span_ns
            # a span not yet complete (today's session still running) is not recorded as done
            step = INTERVAL_MINUTES[sym.key.interval] * _MINUTE_NS
            store.mark_fetched(sym.key, a, min(b, (now_ns - step) // _MINUTE_NS * _MINUTE_NS))
            if on_chunk is not None:
                on_chunk(sym, i, new)
    return added


def _bars(symbol: str, candles: list[tuple[int, int, int, int, int, int]]) -> BarSeries:
    cols = np.asarray(candles, dtype=np.int64).T
    return BarSeries(symbol, *(np.ascontiguousarray(c) for c in cols))


def session_for(
    config: AngelOneConfig, creds: AngelOneCredentials, clock: Clock
) -> tuple[AngelOneHttp, AngelOneSession]:
    http = AngelOneHttp(config)
    return http, AngelOneSession(http, creds, clock)


# --- the data service's daily top-up ------------------------------------------------------


class StoreTopUp:
    """The data service's after-close job (`services.data_jobs.HistoryTopUp`): fetch `day`'s
    candles for every series the history store already holds, through the same plan and run
    as `algo-trading data fetch`, so a day fetched twice stores nothing twice."""

    def __init__(
        self,
        settings: Settings,
        *,
        environ: Mapping[str, str],
        clock: Clock,
        root: Path | None = None,
    ) -> None:
        self._settings = settings
        self._environ = environ
        self._clock = clock
        self._root = root or Path(settings.data_dir) / "market-data" / "historical"

    def __call__(self, day: dt.date) -> str:
        store = ParquetBarStore(self._root)
        held = store.series()
        if not held:
            return "nothing stored yet: no series to top up"
        start = dt.datetime.combine(day, dt.time(0), tzinfo=IST)
        end = start + dt.timedelta(days=1)
        added = 0
        with open_broker(
            self._settings,
            broker=None,
            broker_url=None,
            environ=self._environ,
            clock=self._clock,
            today=ns_to_ist(self._clock.now_ns()).date(),
        ) as remote:
            by_group: dict[tuple[str, str], list[str]] = {}
            for s in held:
                by_group.setdefault((s.key.exchange, s.key.interval), []).append(s.key.symbol)
            for (exchange, interval), symbols in sorted(by_group.items()):
                instruments = resolve_instruments(remote.master, symbols, Exchange(exchange))
                plan = plan_fetch(store, instruments, interval, start, end)
                done = run_fetch(remote.market, store, plan, now_ns=self._clock.now_ns())
                added += sum(done.values())
        return f"{len(held)} series topped up for {day}: {added} new bars"
