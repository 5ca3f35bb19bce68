"""Live capture (issue #11 item 3): the configured instruments on the broker's feed -> ticks in
rolling Parquet files under market-data/live/YYYY/MM/DD/, 1-minute candles, and the latest
quote and candle in the cache.

Threads: the feed's socket threads (up to three, Angel One's limit) call `on_packet`, which
only appends the tick's fields as one flat tuple to a deque, without a lock; the capture's own loop
(`run_once`, every `poll_s`, or sooner when `flush_ticks` are queued) hands the queue over
as columns (candles, latest quotes, one Arrow batch for the writer), publishes the latest
quotes and candles to the cache in one batch, flushes the buffer when it is `flush_s` old or
`flush_ticks` long, and watches the feed's connections to mark gaps: a connection lost and
made again is written as a gap record from the moment it was seen down (or the last tick
before it) to the moment it was back. The feed client resubscribes on every reconnect by
itself. Neither a cache outage (the cache degrades to no-ops) nor an object-store outage
(the store spills to the local disk, services/data_stores.py) stops the capture.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.packets import ExchangeType, FeedPacket, Mode
from algo_trading.adapters.brokers.angelone.ws import FeedPool, SocketOptions
from algo_trading.adapters.live import (
    LiveCandle,
    LiveTickWriter,
    MinuteCandles,
    candle_key,
    encode_candle,
    encode_quote,
    quote_key,
)
from algo_trading.adapters.live.ticks import RawTick
from algo_trading.domain.errors import ConfigError, InvalidInputError, ObjectStoreError
from algo_trading.domain.instruments import Exchange
from algo_trading.engine.ports import Cache, CacheKind, Clock
from algo_trading.market.instruments import InstrumentMaster

__all__ = [
    "AngelOneTickFeed",
    "CaptureTarget",
    "LiveCapture",
    "TickFeed",
    "parse_capture_list",
    "resolve_targets",
]

log = logging.getLogger(__name__)

_Queued = tuple[int, int, int, str, int, int, int, int]
"""A tick as the socket threads queue it: receive ns, exchange ms, exchange type, token,
sequence, LTP paise, last traded quantity, cumulative volume."""

MAX_TARGETS = 3000  # 1,000 tokens a connection, 3 connections (§5.1)
FEED_EXCHANGE: Mapping[Exchange, ExchangeType] = {
    Exchange.NSE: ExchangeType.NSE_CM,
    Exchange.BSE: ExchangeType.BSE_CM,
    Exchange.NFO: ExchangeType.NSE_FO,
    Exchange.BFO: ExchangeType.BSE_FO,
}


@dataclass(frozen=True, slots=True)
class CaptureTarget:
    symbol: str  # EXCHANGE:SYMBOL, the cache's key
    exchange_type: int
    token: str


def parse_capture_list(text: str, where: str = "ALGO_CAPTURE_INSTRUMENTS") -> list[tuple[str, str]]:
    """`NSE:SBIN-EQ,NSE:INFY-EQ` -> [(exchange, symbol)]; ConfigError naming the bad entry."""
    out: list[tuple[str, str]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        exchange, sep, symbol = item.partition(":")
        if not sep or exchange.upper() not in Exchange.__members__ or not symbol.strip():
            raise ConfigError(
                f"{where}: {item!r} is not EXCHANGE:SYMBOL (exchanges: {', '.join(Exchange)})"
            )
        pair = (exchange.upper(), symbol.strip())
        if pair not in out:
            out.append(pair)
    if len(out) > MAX_TARGETS:
        raise ConfigError(f"{where}: {len(out)} instruments exceed the feed's {MAX_TARGETS}")
    return out


def resolve_targets(
    pairs: Sequence[tuple[str, str]],
    master: InstrumentMaster,
    where: str = "ALGO_CAPTURE_INSTRUMENTS",
) -> list[CaptureTarget]:
    targets = []
    for exchange, symbol in pairs:
        try:
            inst = master.by_symbol(symbol, exchange)
        except InvalidInputError as exc:
            raise ConfigError(f"{where}: {exchange}:{symbol}: {exc}") from None
        ex = Exchange(inst.exchange)
        targets.append(
            CaptureTarget(f"{ex.value}:{inst.symbol}", int(FEED_EXCHANGE[ex]), str(inst.token))
        )
    return targets


class TickFeed(Protocol):
    """What the capture needs of a market feed (Angel One's FeedPool, or a test's)."""

    def subscribe(self, mode: Mode, tokens: Mapping[int, list[str]]) -> None: ...

    def state(self) -> tuple[bool, int]:
        """(every connection is up, successful connects so far, all connections together)."""
        ...

    def close(self) -> None: ...


class AngelOneTickFeed:
    """Angel One's market feed 2.0 as a TickFeed: a FeedPool of up to three connections."""

    def __init__(
        self,
        url: str,
        session: AngelOneSession,
        on_packet: Callable[[FeedPacket], None],
        options: SocketOptions | None = None,
    ) -> None:
        self.pool = FeedPool(url, session, on_packet, options)

    def subscribe(self, mode: Mode, tokens: Mapping[int, list[str]]) -> None:
        self.pool.subscribe(mode, tokens)

    def state(self) -> tuple[bool, int]:
        clients = list(self.pool.clients)
        up = bool(clients) and all(c.connected.is_set() for c in clients)
        return up, sum(c.connects for c in clients)

    def close(self) -> None:
        self.pool.close()


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.ticks = Counter("algo_capture_ticks", "Ticks received by the live capture", registry=r)
        self.flushed = Counter("algo_capture_flushed_ticks", "Ticks written to Parquet", registry=r)
        self.flush_failures = Counter(
            "algo_capture_flush_failures", "Flushes the object store refused (kept)", registry=r
        )
        self.gaps = Counter("algo_capture_gaps", "Feed gaps marked in the data", registry=r)
        self.buffered = Gauge("algo_capture_buffered_ticks", "Ticks not yet flushed", registry=r)
        self.feed_up = Gauge(
            "algo_capture_feed_up", "1 while every feed connection is up", registry=r
        )


class LiveCapture:
    def __init__(
        self,
        targets: Sequence[CaptureTarget],
        writer: LiveTickWriter,
        cache: Cache,
        clock: Clock,
        *,
        mode: Mode = Mode.QUOTE,
        flush_s: float = 5.0,
        flush_ticks: int = 50_000,
        poll_s: float = 0.2,
        registry: CollectorRegistry | None = None,
        on_turn: Callable[[], None] | None = None,
    ) -> None:
        self.targets = list(targets)
        self.writer = writer
        self.cache = cache
        self.clock = clock
        self.mode = mode
        self._flush_ns = int(flush_s * 1e9)
        self._flush_ticks = flush_ticks
        self._poll_s = poll_s
        self._on_turn = on_turn
        self._symbols = {(t.exchange_type, t.token): t.symbol for t in self.targets}
        self._lock = threading.Lock()
        self._candles = MinuteCandles()
        self._now_ns = clock.now_ns
        self._inbox: deque[_Queued] = deque()
        self._handed = 0
        self._latest: dict[str, RawTick] = {}
        self._closed: list[LiveCandle] = []
        self._last_tick_ns = 0
        self._last_flush_ns = clock.now_ns()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.feed: TickFeed | None = None
        self._gap_start: int | None = None
        self._connects_seen = 0
        self._ever_up = False
        self._store_down = False
        self.gaps: list[tuple[int, int]] = []
        self.metrics = _Metrics(registry if registry is not None else CollectorRegistry())

    # --- the feed's threads ----------------------------------------------------------------
    def on_packet(self, packet: FeedPacket) -> None:
        """One tick from a socket thread: its fields as one flat tuple appended to a deque,
        nothing else. deque.append is atomic, so there is no lock per tick; a tuple of ints and
        strings is dropped from the garbage collector's tracking, where a kept packet object
        would be walked by every collection until the hand-over. The candles, the latest
        quotes and the Parquet columns are made a batch at a time by the capture's loop
        (`_hand_over`). Hot: benchmarks/cache_and_capture.py."""
        inbox = self._inbox
        inbox.append(
            (
                self._now_ns(),
                packet.exchange_ts_ms,
                packet.exchange_type,
                packet.token,
                packet.sequence,
                packet.ltp_paise,
                packet.last_traded_qty,
                packet.volume,
            )
        )
        if len(inbox) >= self._flush_ticks and not self._wake.is_set():
            self._wake.set()  # once: Event.set takes a lock and notifies

    @property
    def received(self) -> int:
        """Ticks received so far (handed over, or waiting in the inbox)."""
        return self._handed + len(self._inbox)

    # --- the capture's loop ------------------------------------------------------------------
    def start(self, feed: TickFeed) -> None:
        """Subscribe every target on `feed` (made with `on_packet` as its sink); start the loop."""
        self.feed = feed
        by_exchange: dict[int, list[str]] = {}
        for t in self.targets:
            by_exchange.setdefault(t.exchange_type, []).append(t.token)
        if by_exchange:
            feed.subscribe(self.mode, by_exchange)
        self._thread = threading.Thread(target=self._loop, name="live-capture", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Close the feed, then flush everything left (open candles included)."""
        if self.feed is not None:
            self.feed.close()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._hand_over()
        with self._lock:
            left = self._candles.close_all()
            self._closed.extend(left)
        self.writer.add_candles(left)
        self._publish()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._flush()
                return
            except ObjectStoreError:
                if time.monotonic() > deadline:
                    log.error("live capture: %d ticks could not be flushed", self.writer.buffered)
                    return
                time.sleep(0.5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll_s)
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # the loop must outlive any one turn's bug; it is logged whole
                log.exception("live capture: a turn failed")
            if self._on_turn is not None:
                self._on_turn()

    def _hand_over(self) -> None:
        """Move what the socket threads queued to the writer, as columns: the candles and the
        latest quote per symbol are made from the same columns in one pass each."""
        inbox = self._inbox
        n = len(inbox)
        if not n:
            return
        pop = inbox.popleft
        items = [pop() for _ in range(n)]  # exactly n: appends after len() wait for next turn
        self._handed += n  # (`received` may read n low while the line above runs: harmless)
        # one comprehension per column: zip(*items) is ten times slower on 100,000 rows
        recv = [t[0] for t in items]
        ts_ms = [t[1] for t in items]
        ex_type = [t[2] for t in items]
        token = [t[3] for t in items]
        sequence = [t[4] for t in items]
        ltp = [t[5] for t in items]
        qty = [t[6] for t in items]
        volume = [t[7] for t in items]
        del items
        symbols = self._symbols
        symbol = list(map(symbols.get, zip(ex_type, token, strict=True)))
        if None in symbol:  # a token nobody subscribed (a venue's mistake): keep it, named
            symbol = [
                s if s is not None else f"{e}:{k}"
                for s, e, k in zip(symbol, ex_type, token, strict=True)
            ]
        names: list[str] = symbol  # type: ignore[assignment]
        # a tick without an exchange time takes its receive time (ms) for its minute
        minute_ms = (
            ts_ms if all(ts_ms) else [t or r // 1_000_000 for t, r in zip(ts_ms, recv, strict=True)]
        )
        last = dict(zip(names, range(n), strict=True))  # the latest tick of each symbol
        with self._lock:
            closed = self._candles.on_ticks(names, minute_ms, ltp, volume)
            for sym, i in last.items():
                self._latest[sym] = (
                    recv[i],
                    ts_ms[i],
                    ex_type[i],
                    token[i],
                    sym,
                    sequence[i],
                    ltp[i],
                    qty[i],
                    volume[i],
                )
            self._closed.extend(closed)
            self._last_tick_ns = recv[-1]
        self.writer.extend_columns((recv, ts_ms, ex_type, token, names, sequence, ltp, qty, volume))
        if closed:
            self.writer.add_candles(closed)
        self.metrics.ticks.inc(n)

    def run_once(self) -> None:
        self._hand_over()
        self._watch_feed()
        self._publish()
        now = self.clock.now_ns()
        if self.writer.buffered >= self._flush_ticks or now - self._last_flush_ns >= self._flush_ns:
            try:
                self._flush()
            except ObjectStoreError as exc:
                self.metrics.flush_failures.inc()
                if not self._store_down:
                    self._store_down = True
                    log.error("live capture: flush failed, ticks kept for the next one: %s", exc)
        self.metrics.buffered.set(self.writer.buffered)

    def _flush(self) -> None:
        self._last_flush_ns = self.clock.now_ns()
        written = self.writer.flush()
        self.metrics.flushed.inc(written)
        if self._store_down:
            self._store_down = False
            log.info("live capture: the object store takes flushes again")

    def _publish(self) -> None:
        with self._lock:
            latest, self._latest = self._latest, {}
            closed, self._closed = self._closed, []
            forming_now = [c for c in self._candles.open.values() if c.symbol in latest]
        forming = [encode_candle(c) for c in forming_now]
        forming_keys = [candle_key(c.symbol, None) for c in forming_now]
        if latest:
            self.cache.put_many(
                CacheKind.QUOTE,
                {
                    quote_key(symbol): encode_quote(
                        symbol,
                        ltp_paise=row[6],
                        exchange_ts_ms=row[1],
                        recv_ts_ns=row[0],
                        volume=row[8],
                        sequence=row[5],
                    )
                    for symbol, row in latest.items()
                },
            )
        candles = {candle_key(c.symbol, c.start_ns): encode_candle(c) for c in closed}
        candles.update(zip(forming_keys, forming, strict=True))
        if candles:
            self.cache.put_many(CacheKind.CANDLE, candles)

    def _watch_feed(self) -> None:
        if self.feed is None:
            return
        up, connects = self.feed.state()
        now = self.clock.now_ns()
        self.metrics.feed_up.set(1 if up else 0)
        if not up:
            if self._ever_up and self._gap_start is None:
                self._gap_start = now
                log.warning("live capture: the feed is down; reconnecting")
            return
        if self._ever_up and connects > self._connects_seen:
            start = self._gap_start if self._gap_start is not None else self._last_tick_ns or now
            self._mark_gap(start, now)
        self._gap_start = None
        self._connects_seen = connects
        self._ever_up = True

    def _mark_gap(self, start_ns: int, end_ns: int) -> None:
        self.gaps.append((start_ns, end_ns))
        self.metrics.gaps.inc()
        log.warning("live capture: feed gap of %.1fs marked", (end_ns - start_ns) / 1e9)
        try:
            self.writer.mark_gap(start_ns, end_ns, "feed reconnected")
        except ObjectStoreError as exc:
            log.error("live capture: could not record a feed gap: %s", exc)
