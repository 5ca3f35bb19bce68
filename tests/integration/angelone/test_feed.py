"""The binary feed and the order-status stream over real WebSockets on 127.0.0.1: every mode
parsed, heartbeat, reconnect with resubscription after a drop, stale-feed detection, limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.errors import (
    BrokerRejectedError,
    MalformedPacketError,
)
from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.adapters.brokers.angelone.ws import (
    FeedClient,
    FeedPool,
    OrderStream,
    SocketOptions,
)
from algo_trading.market.instruments import InstrumentMaster

from .conftest import MovingClock, wait_for, with_faults
from .helpers import SYMBOL, make_broker, sent_order

NS = 1_000_000_000


class Mono:
    """A monotonic clock the test moves by hand (pings and staleness follow it)."""

    def __init__(self) -> None:
        self.ns = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return self.ns

    @staticmethod
    def real() -> Callable[[], int]:
        return time.monotonic_ns

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.ns += int(seconds * NS)


class Packets:
    def __init__(self) -> None:
        self.items: list[FeedPacket] = []
        self._lock = threading.Lock()

    def __call__(self, packet: FeedPacket) -> None:
        with self._lock:
            self.items.append(packet)

    def modes(self) -> set[Mode]:
        with self._lock:
            return {p.mode for p in self.items}

    def __len__(self) -> int:
        with self._lock:
            return len(self.items)


def _options(mono: Mono | None = None) -> SocketOptions:
    return SocketOptions(
        poll_s=0.02,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        open_timeout_s=5.0,
        monotonic_ns=mono if mono is not None else Mono.real(),
    )


@pytest.fixture
def feed(server: Any, session: AngelOneSession) -> Iterator[tuple[FeedClient, Packets]]:
    packets = Packets()
    client = FeedClient(server.ws_url, session, packets, _options())
    client.start()
    yield client, packets
    client.close()


def _token(master: InstrumentMaster) -> dict[int, list[str]]:
    return {1: [str(master.by_symbol(SYMBOL).token)]}


def test_every_subscription_mode_arrives_parsed(
    feed: tuple[FeedClient, Packets], server: Any, master: InstrumentMaster
) -> None:
    client, packets = feed
    for mode in Mode:
        client.subscribe(mode, _token(master))
    wait_for(client.connected.is_set, what="the connection")

    def all_modes() -> bool:
        server.advance()
        return packets.modes() == set(Mode)

    wait_for(all_modes, what="a packet of every mode")
    token = _token(master)[1][0]
    assert all(p.token == token for p in packets.items)
    assert all(p.ltp_paise > 0 for p in packets.items if p.mode is not Mode.DEPTH)
    assert client.errors == []


def test_a_dropped_feed_reconnects_resubscribes_and_keeps_delivering(
    feed: tuple[FeedClient, Packets], server: Any, master: InstrumentMaster
) -> None:
    client, packets = feed
    client.subscribe(Mode.LTP, _token(master))
    wait_for(client.connected.is_set, what="the connection")
    with_faults(server, feed_drop_after_frames=3)

    def dropped() -> bool:
        server.advance()
        return client.connects >= 2

    wait_for(dropped, what="the drop and the reconnect")
    with_faults(server)
    seen = len(packets)

    def delivering() -> bool:
        server.advance()
        return len(packets) > seen

    wait_for(delivering, what="packets after the reconnect, without subscribing again")


def test_a_feed_with_no_message_for_the_stale_limit_is_replaced(
    server: Any, session: AngelOneSession
) -> None:
    mono = Mono()
    client = FeedClient(server.ws_url, session, Packets(), _options(mono))
    with client:
        wait_for(client.connected.is_set, what="the connection")
        mono.advance(21)  # nothing subscribed, nothing sent: silent past 20 s
        wait_for(lambda: client.stale_events == 1 and client.connects == 2, what="replacement")


def test_a_text_ping_goes_out_every_ten_seconds_and_its_pong_keeps_the_feed_fresh(
    server: Any, session: AngelOneSession
) -> None:
    mono = Mono()
    client = FeedClient(server.ws_url, session, Packets(), _options(mono))
    with client:
        wait_for(client.connected.is_set, what="the connection")
        for n in range(1, 4):
            mono.advance(10)

            def answered(n: int = n) -> bool:
                return client.pongs >= n

            wait_for(answered, what=f"pong {n}")
        assert client.stale_events == 0  # 30 s passed, but the pongs were messages
        assert client.connects == 1


def test_a_malformed_frame_is_a_typed_error_and_the_stream_goes_on(
    feed: tuple[FeedClient, Packets],
) -> None:
    client, _ = feed
    client._dispatch(b"\x01\x01" + b"\x00" * 10)  # an LTP packet of 12 bytes
    assert isinstance(client.errors[0], MalformedPacketError)
    assert "12 bytes" in str(client.errors[0])


def test_one_connection_takes_at_most_1000_subscriptions(
    feed: tuple[FeedClient, Packets],
) -> None:
    client, _ = feed
    client.subscribe(Mode.LTP, {1: [str(n) for n in range(1000)]})
    with pytest.raises(BrokerRejectedError) as info:
        client.subscribe(Mode.QUOTE, {1: ["1"]})
    assert info.value.code == "E1002"
    assert client.subscribed_count() == 1000


def test_the_pool_spreads_subscriptions_over_at_most_three_connections(
    server: Any, session: AngelOneSession
) -> None:
    pool = FeedPool(server.ws_url, session, Packets(), _options())
    try:
        pool.subscribe(Mode.LTP, {1: [str(n) for n in range(2500)]})
        assert [c.subscribed_count() for c in pool.clients] == [1000, 1000, 500]
        with pytest.raises(BrokerRejectedError):
            pool.subscribe(Mode.QUOTE, {1: [str(n) for n in range(501)]})
    finally:
        pool.close()


def test_order_updates_from_the_stream_report_the_fill_without_polling(
    server: Any, session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    broker, sink = make_broker(session, master, clock)
    stream = OrderStream(server.order_ws_url, session, broker.on_order_update, _options())
    with stream:
        wait_for(stream.connected.is_set, what="the order stream")
        order = sent_order(quantity=2)
        broker.submit(order)

        def filled() -> bool:
            server.advance()
            return "FILL" in sink.events(order.client_order_id)

        wait_for(filled, what="the fill through the order stream")
    assert stream.frames >= 1
    assert stream.errors == []
