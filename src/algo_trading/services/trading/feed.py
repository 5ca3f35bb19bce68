"""The broker's market feed (WebSocket 2.0, `adapters.brokers.angelone.ws`) as ticks for the
trading loop (issue #10, item 3).

The socket threads only decode and queue; the loop takes the ticks on its own thread. The feed
is stale when no tick came for `stale_after_s` (monotonic seconds) while the market is open:
the loop then calls `resubscribe()`, which replaces the connections (a fresh handshake and
every subscription sent again), alerts, and holds new orders until a tick comes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.domain.events import Tick
from algo_trading.domain.instruments import Exchange, Instrument

__all__ = ["EXCHANGE_TYPES", "FeedSource", "MarketFeed", "MonotonicS"]

EXCHANGE_TYPES: Mapping[Exchange, int] = {
    Exchange.NSE: 1,
    Exchange.NFO: 2,
    Exchange.BSE: 3,
    Exchange.BFO: 4,
}
"""The feed's exchange type numbers (§5.1)."""

MonotonicS = Callable[[], float]


class FeedSource(Protocol):
    """What the feed needs from a socket pool: subscribe, and close (FeedPool's surface)."""

    def subscribe(self, mode: Mode, tokens: Mapping[int, list[str]]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Key:
    exchange_type: int
    token: str


class MarketFeed:
    """Ticks of the subscribed instruments, from pools made by `connect(on_packet)`."""

    def __init__(
        self,
        connect: Callable[[Callable[[FeedPacket], None]], FeedSource],
        instruments: Iterable[Instrument],
        *,
        mode: Mode = Mode.QUOTE,
        monotonic: MonotonicS = time.monotonic,
    ) -> None:
        self._connect = connect
        self._mode = mode
        self._monotonic = monotonic
        self._symbols: dict[_Key, str] = {}
        self._tokens: dict[int, list[str]] = {}
        for inst in instruments:
            ex = EXCHANGE_TYPES[inst.exchange]
            key = _Key(ex, str(inst.token))
            if key not in self._symbols:
                self._symbols[key] = inst.symbol
                self._tokens.setdefault(ex, []).append(str(inst.token))
        self._queue: queue.SimpleQueue[Tick] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._source: FeedSource | None = None
        self._generation = 0
        self.last_tick_s: float | None = None  # monotonic time of the last tick
        self.last_exchange_ns: int = 0
        self.resubscribes = 0
        self.ticks = 0

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols.values())

    def start(self) -> None:
        with self._lock:
            self._open()

    def resubscribe(self) -> None:
        """Replace the connections and subscribe again (a stale feed)."""
        with self._lock:
            old, self._source = self._source, None
            self.resubscribes += 1
            self._open()
        if old is not None:
            old.close()

    def close(self) -> None:
        with self._lock:
            source, self._source = self._source, None
            self._generation += 1
        if source is not None:
            source.close()

    def _open(self) -> None:
        self._generation += 1
        generation = self._generation

        def on_packet(packet: FeedPacket) -> None:
            if generation == self._generation:  # a replaced pool's last frames are dropped
                self._on_packet(packet)

        source = self._connect(on_packet)
        if self._tokens:
            source.subscribe(self._mode, self._tokens)
        self._source = source

    def _on_packet(self, packet: FeedPacket) -> None:
        symbol = self._symbols.get(_Key(packet.exchange_type, packet.token))
        if symbol is None or packet.ltp_paise <= 0:
            return
        tick = Tick(
            symbol,
            packet.exchange_ts_ms * 1_000_000,
            packet.ltp_paise,
            packet.last_traded_qty,
            packet.volume,
        )
        self._queue.put(tick)

    def take(self, timeout_s: float) -> list[Tick]:
        """The ticks that arrived, waiting up to `timeout_s` for the first one."""
        out: list[Tick] = []
        try:
            out.append(
                self._queue.get(timeout=timeout_s) if timeout_s > 0 else self._queue.get_nowait()
            )
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self.ticks += len(out)
        self.last_tick_s = self._monotonic()
        self.last_exchange_ns = max(self.last_exchange_ns, max(t.ts_ns for t in out))
        return out

    def silent_for_s(self, since_s: float) -> float:
        """Seconds without a tick, counted from `since_s` when none ever came."""
        last = self.last_tick_s if self.last_tick_s is not None else since_s
        return max(0.0, self._monotonic() - last)
