"""The live capture's own logic on fakes (no sockets, no threads: `run_once` is called by hand,
the clock is set by hand): ticks handed to the writer and flushed by count or age, the latest
quote and candles published, a feed drop marked as a gap from when it was seen down to when it
was back, and an object-store outage keeping every tick for the next flush."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.adapters.cache import MemoryCache
from algo_trading.adapters.live import LiveTickWriter, latest_candle, latest_quote, recent_candles
from algo_trading.adapters.live.ticks import read_ticks
from algo_trading.adapters.objectstore import LocalObjectStore, RetryPolicy
from algo_trading.services.capture import CaptureTarget, LiveCapture

NS = 1_000_000_000
T0_MS = 1_741_062_600_000  # 2025-03-04 10:00 IST
DAY = (2025, 3, 4)


class Clock:
    def __init__(self) -> None:
        self.ns = T0_MS * 1_000_000

    def now_ns(self) -> int:
        return self.ns


class FakeFeed:
    def __init__(self) -> None:
        self.up, self.connects = True, 1
        self.subscribed: list[tuple[Mode, Mapping[int, list[str]]]] = []
        self.closed = False

    def subscribe(self, mode: Mode, tokens: Mapping[int, list[str]]) -> None:
        self.subscribed.append((mode, dict(tokens)))

    def state(self) -> tuple[bool, int]:
        return self.up, self.connects

    def close(self) -> None:
        self.closed = True


def _packet(seq: int, ms: int, ltp: int, instrument: str = "3045", volume: int = 0) -> FeedPacket:
    return FeedPacket(Mode.QUOTE, 1, instrument, seq, ms, ltp, volume=volume)


def _capture(tmp_path: Path, clock: Clock, store: LocalObjectStore | None = None) -> LiveCapture:
    targets = [CaptureTarget("NSE:SBIN-EQ", 1, "3045"), CaptureTarget("NSE:INFY-EQ", 1, "1594")]
    return LiveCapture(
        targets,
        LiveTickWriter(store or LocalObjectStore(tmp_path / "objects")),
        MemoryCache(),
        clock,
        flush_s=5.0,
        flush_ticks=100,
    )


def test_ticks_reach_parquet_by_count_or_age_and_quotes_and_candles_reach_the_cache(
    tmp_path: Path,
) -> None:
    clock = Clock()
    cap = _capture(tmp_path, clock)
    feed = FakeFeed()
    cap.feed = feed
    for i in range(99):
        cap.on_packet(_packet(i, T0_MS + i * 100, 50_000 + i, volume=1000 + i))
    cap.run_once()
    assert cap.writer.flushed_ticks == 0  # 99 < 100 and not 5 s old
    assert latest_quote(cap.cache, "NSE:SBIN-EQ")["ltp_paise"] == 50_098  # type: ignore[index]
    cap.on_packet(_packet(99, T0_MS + 60_000, 60_000, volume=2000))  # the next minute
    cap.run_once()
    assert cap.writer.flushed_ticks == 100
    closed = recent_candles(cap.cache, "NSE:SBIN-EQ", T0_MS * 1_000_000, 1)
    assert closed[0]["open_paise"] == 50_000
    assert closed[0]["high_paise"] == 50_098
    assert closed[0]["volume"] == 98
    assert latest_candle(cap.cache, "NSE:SBIN-EQ")["open_paise"] == 60_000  # type: ignore[index]
    cap.on_packet(_packet(100, T0_MS + 61_000, 60_010, instrument="1594"))
    clock.ns += 5 * NS
    cap.run_once()
    assert cap.writer.flushed_ticks == 101  # flushed by age
    ticks = read_ticks(cap.writer.store, DAY)
    assert ticks["symbol"].to_pylist()[-1] == "NSE:INFY-EQ"


def test_a_feed_drop_is_marked_as_a_gap_from_down_to_back(tmp_path: Path) -> None:
    clock = Clock()
    cap = _capture(tmp_path, clock)
    feed = FakeFeed()
    cap.feed = feed
    cap.run_once()  # first seen up: not a gap
    feed.up = False
    clock.ns += 2 * NS
    down_at = clock.ns
    cap.run_once()
    clock.ns += 3 * NS
    cap.run_once()  # still down: one gap, not two
    feed.up, feed.connects = True, 2
    clock.ns += 1 * NS
    cap.run_once()
    assert cap.gaps == [(down_at, clock.ns)]
    keys = [k for k in cap.writer.store.list("market-data/live/") if "/gap-" in k]
    assert len(keys) == 1
    assert json.loads(cap.writer.store.get(keys[0]))["end_ns"] == clock.ns


def test_a_reconnect_between_two_turns_is_a_gap_from_the_last_tick(tmp_path: Path) -> None:
    clock = Clock()
    cap = _capture(tmp_path, clock)
    feed = FakeFeed()
    cap.feed = feed
    cap.run_once()
    cap.on_packet(_packet(1, T0_MS, 100))
    last_tick = clock.ns
    clock.ns += NS
    feed.connects = 2  # dropped and back before the loop looked
    cap.run_once()
    assert cap.gaps == [(last_tick, clock.ns)]


def test_a_store_outage_keeps_every_tick_for_the_next_flush(tmp_path: Path) -> None:
    clock = Clock()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    cap = _capture(tmp_path, clock, LocalObjectStore(blocked, RetryPolicy(1, 0.001, 0.001)))
    for i in range(250):
        cap.on_packet(_packet(i, T0_MS + i, 100 + i))
    cap.run_once()
    assert cap.writer.flushed_ticks == 0
    assert cap.writer.buffered == 250
    cap.writer.store = LocalObjectStore(tmp_path / "objects")
    cap.run_once()
    assert cap.writer.flushed_ticks == 250
    assert read_ticks(cap.writer.store, DAY)["sequence"].to_pylist() == list(range(250))


def test_start_subscribes_every_target_by_exchange_and_stop_flushes_the_rest(
    tmp_path: Path,
) -> None:
    clock = Clock()
    cap = _capture(tmp_path, clock)
    feed = FakeFeed()
    cap.start(feed)
    cap.on_packet(_packet(1, T0_MS, 100))
    cap.stop()
    assert feed.subscribed == [(Mode.QUOTE, {1: ["3045", "1594"]})]
    assert feed.closed
    assert cap.writer.flushed_ticks == 1
    assert any("/candles-" in k for k in cap.writer.keys)  # the open candle, closed at stop


class CountingLock:
    """A lock that counts how often it is taken (the hot path must not take it per tick)."""

    def __init__(self) -> None:
        self.taken = 0

    def __enter__(self) -> None:
        self.taken += 1

    def __exit__(self, *_: object) -> None:
        return None


def test_the_feed_threads_take_no_lock_per_tick_and_every_tick_is_handed_over_in_order(
    tmp_path: Path,
) -> None:
    clock = Clock()
    cap = _capture(tmp_path, clock)
    lock = CountingLock()
    cap._lock = lock  # type: ignore[assignment]
    cap.writer._lock = lock  # type: ignore[assignment]
    for i in range(90):
        clock.ns += 1_000
        cap.on_packet(_packet(i, T0_MS + i * 1_000, 100 + i, instrument=("3045", "1594")[i % 2]))
    assert lock.taken == 0
    assert cap.received == 90
    assert cap.writer.buffered == 0
    cap.run_once()
    assert lock.taken <= 6  # per batch, not per tick
    assert cap.writer.buffered == 90
    cap.writer.flush()
    ticks = read_ticks(cap.writer.store, DAY)
    assert ticks["sequence"].to_pylist() == list(range(90))
    assert ticks["symbol"].to_pylist()[:2] == ["NSE:SBIN-EQ", "NSE:INFY-EQ"]
    assert ticks["recv_ts_ns"].to_pylist() == [
        T0_MS * 1_000_000 + (i + 1) * 1_000 for i in range(90)
    ]
    assert latest_quote(cap.cache, "NSE:INFY-EQ")["ltp_paise"] == 189  # type: ignore[index]
