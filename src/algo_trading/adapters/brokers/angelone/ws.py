"""The two SmartAPI WebSockets, each on its own thread with the `websockets` sync client:
the binary market feed 2.0 (§5.1) and the order-status stream (§5.2).

Both keep themselves alive: a text `ping` every 10 s, a connection with no message for
`stale_after_s` is declared stale and replaced, a dropped one is reconnected with exponential
backoff and full jitter, and on every (re)connect the feed subscribes again to everything it
was asked for. Time for pings and staleness comes from an injected monotonic clock, so tests
drive it; the library's own keepalive is off for the same reason.

Limits (§5.1): 1000 (token, mode) pairs per connection, 3 connections per client code. A
`FeedPool` spreads subscriptions over up to three `FeedClient`s and refuses beyond that.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.errors import (
    AngelOneError,
    BrokerRejectedError,
    MalformedResponseError,
)
from algo_trading.adapters.brokers.angelone.http import iter_backoff
from algo_trading.adapters.brokers.angelone.packets import (
    FeedPacket,
    Mode,
    control_error,
    parse_control_message,
    parse_packet,
    subscribe_message,
)
from algo_trading.adapters.brokers.angelone.parsing_values import loads_exact

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_TOKENS_PER_CONNECTION",
    "FeedClient",
    "FeedPool",
    "OrderStream",
    "SocketOptions",
    "StreamClient",
]

log = logging.getLogger(__name__)

MAX_TOKENS_PER_CONNECTION = 1000
MAX_CONNECTIONS = 3
_ORDER_ROUTE = "ws/smart-order-update"
_NS = 1_000_000_000


class SocketOptions:
    """Timing of one socket: ping every `ping_interval_s`, stale after `stale_after_s` without
    a message (JS SDK: 20 s), reconnect backoff between `backoff_initial_s` and
    `backoff_max_s`. `monotonic_ns`, `sleep` and `rng` are injectable for tests."""

    def __init__(
        self,
        *,
        ping_interval_s: float = 10.0,
        stale_after_s: float = 20.0,
        poll_s: float = 0.2,
        open_timeout_s: float = 10.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.ping_interval_ns = int(ping_interval_s * _NS)
        self.stale_after_ns = int(stale_after_s * _NS)
        self.poll_s = poll_s
        self.open_timeout_s = open_timeout_s
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.monotonic_ns = monotonic_ns
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter only


class _Stale(Exception):
    """No message within the stale limit: the connection is replaced."""


class StreamClient:
    """A reconnecting WebSocket on a thread. Subclasses say how to authenticate, what to send
    after connecting and what to do with a message."""

    name = "stream"

    def __init__(self, url: str, session: AngelOneSession, options: SocketOptions) -> None:
        self.url = url
        self.session = session
        self.options = options
        self._ws: ClientConnection | None = None
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connects = 0  # successful handshakes, the first included
        self.stale_events = 0
        self.pongs = 0
        self.errors: list[AngelOneError] = []  # typed errors seen (malformed frames, E100x)
        self.connected = threading.Event()

    # --- subclass hooks --------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        raise NotImplementedError

    def on_open(self) -> None:
        """Called on the socket thread after every successful handshake."""

    def on_message(self, message: str | bytes) -> None:
        raise NotImplementedError

    # --- life cycle ------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        self._thread = threading.Thread(target=self._run, name=f"angelone-{self.name}", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop for good (no reconnect) and wait for the thread."""
        self._stop.set()
        ws = self._ws
        if ws is not None:
            ws.close()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def __enter__(self) -> StreamClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, text: str) -> bool:
        """Send a text frame now if connected; False if not (it is sent again on connect)."""
        ws = self._ws
        if ws is None:
            return False
        try:
            with self._send_lock:
                ws.send(text)
        except (ConnectionClosed, OSError):
            return False
        return True

    def _run(self) -> None:
        delays = iter_backoff(
            self.options.backoff_initial_s, self.options.backoff_max_s, self.options.rng
        )
        while not self._stop.is_set():
            try:
                self._session_once()
                delays = iter_backoff(  # a connection that worked resets the backoff
                    self.options.backoff_initial_s, self.options.backoff_max_s, self.options.rng
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                log.warning("angelone %s handshake refused (HTTP %d)", self.name, status)
                if status in (401, 403):
                    self._renew_quietly()
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError, _Stale) as exc:
                log.warning("angelone %s connection lost (%s)", self.name, type(exc).__name__)
            finally:
                self.connected.clear()
                ws, self._ws = self._ws, None
                if ws is not None:
                    ws.close()
            if not self._stop.is_set():
                self.options.sleep(next(delays))

    def _renew_quietly(self) -> None:
        try:
            self.session.refresh()
        except AngelOneError as exc:
            log.warning("angelone %s: session renewal failed (%s)", self.name, exc.code)

    def _session_once(self) -> None:
        ws = connect(
            self.url,
            additional_headers=self.headers(),
            open_timeout=self.options.open_timeout_s,
            ping_interval=None,  # our own text ping, on the injected clock
            proxy=None,
            compression=None,
        )
        self._ws = ws
        if self._stop.is_set():
            return
        self.connects += 1
        self.on_open()
        self.connected.set()
        now = self.options.monotonic_ns
        last_message = now()
        next_ping = last_message + self.options.ping_interval_ns
        while not self._stop.is_set():
            try:
                message: str | bytes | None = ws.recv(timeout=self.options.poll_s)
            except TimeoutError:
                message = None
            t = now()
            if message is not None:
                last_message = t
                self._dispatch(message)
            if t - last_message >= self.options.stale_after_ns:
                self.stale_events += 1
                raise _Stale
            if t >= next_ping:
                with self._send_lock:
                    ws.send("ping")
                next_ping = t + self.options.ping_interval_ns

    def _dispatch(self, message: str | bytes) -> None:
        try:
            self.on_message(message)
        except AngelOneError as exc:
            # A bad frame is logged and counted; the stream goes on (never crash the engine).
            self.errors.append(exc)
            log.warning("angelone %s: %s", self.name, exc)


Subscriptions = dict[Mode, dict[int, set[str]]]


class FeedClient(StreamClient):
    """One market-feed connection (§5.1): at most 1000 (token, mode) pairs; `on_packet` is
    called on the socket thread for every parsed tick."""

    name = "feed"

    def __init__(
        self,
        url: str,
        session: AngelOneSession,
        on_packet: Callable[[FeedPacket], None],
        options: SocketOptions | None = None,
    ) -> None:
        super().__init__(url, session, options or SocketOptions())
        self.on_packet = on_packet
        self._subs: Subscriptions = {}
        self._subs_lock = threading.Lock()
        self.packets = 0

    def headers(self) -> dict[str, str]:
        tokens = self.session.tokens()
        return {
            "Authorization": f"Bearer {tokens.jwt}",
            "x-api-key": self.session.api_key,
            "x-client-code": self.session.client_code,
            "x-feed-token": tokens.feed_token,
        }

    def subscribed_count(self) -> int:
        with self._subs_lock:
            return sum(len(t) for ex in self._subs.values() for t in ex.values())

    def subscribe(self, mode: Mode, tokens: Mapping[int, list[str]]) -> None:
        """Add (token, mode) pairs; BrokerRejectedError if the connection would exceed 1000."""
        with self._subs_lock:
            current = self._subs.setdefault(mode, {})
            new = {
                (ex, t) for ex, toks in tokens.items() for t in toks if t not in current.get(ex, ())
            }
            total = sum(len(t) for m in self._subs.values() for t in m.values()) + len(new)
            if total > MAX_TOKENS_PER_CONNECTION:
                raise BrokerRejectedError(
                    f"{total} subscriptions exceed {MAX_TOKENS_PER_CONNECTION} per connection",
                    code="E1002",
                    route="ws/smart-stream",
                )
            for ex, t in new:
                current.setdefault(ex, set()).add(t)
        self.send(subscribe_message(1, mode, {ex: list(t) for ex, t in tokens.items()}))

    def unsubscribe(self, mode: Mode, tokens: Mapping[int, list[str]]) -> None:
        with self._subs_lock:
            current = self._subs.get(mode, {})
            for ex, toks in tokens.items():
                current.get(ex, set()).difference_update(toks)
        self.send(subscribe_message(0, mode, {ex: list(t) for ex, t in tokens.items()}))

    def on_open(self) -> None:
        with self._subs_lock:
            frames = [
                subscribe_message(1, mode, {ex: sorted(t) for ex, t in by_ex.items() if t})
                for mode, by_ex in self._subs.items()
                if any(by_ex.values())
            ]
        for frame in frames:
            self.send(frame)

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            packet = parse_packet(message)
            self.packets += 1
            self.on_packet(packet)
            return
        control = parse_control_message(message)
        if control.get("pong"):
            self.pongs += 1
            return
        error = control_error(control)
        if error is not None:
            raise error


class FeedPool:
    """Up to three feed connections (§5.1); subscriptions go to the first with room."""

    def __init__(
        self,
        url: str,
        session: AngelOneSession,
        on_packet: Callable[[FeedPacket], None],
        options: SocketOptions | None = None,
    ) -> None:
        self._url = url
        self._session = session
        self._on_packet = on_packet
        self._options = options
        self.clients: list[FeedClient] = []

    def subscribe(self, mode: Mode, tokens: Mapping[int, list[str]]) -> None:
        pairs = [(ex, t) for ex, toks in tokens.items() for t in toks]
        while pairs:
            client = self._client_with_room()
            room = MAX_TOKENS_PER_CONNECTION - client.subscribed_count()
            chunk, pairs = pairs[:room], pairs[room:]
            grouped: dict[int, list[str]] = {}
            for ex, t in chunk:
                grouped.setdefault(ex, []).append(t)
            client.subscribe(mode, grouped)

    def _client_with_room(self) -> FeedClient:
        for client in self.clients:
            if client.subscribed_count() < MAX_TOKENS_PER_CONNECTION:
                return client
        if len(self.clients) == MAX_CONNECTIONS:
            raise BrokerRejectedError(
                f"more than {MAX_CONNECTIONS} × {MAX_TOKENS_PER_CONNECTION} subscriptions",
                code="E1002",
                route="ws/smart-stream",
            )
        client = FeedClient(self._url, self._session, self._on_packet, self._options)
        client.start()
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


class OrderStream(StreamClient):
    """The order-status WebSocket (§5.2): `on_order` gets each frame's `orderData` object
    (the §2.5 row shape); the first "AB00 connected" frame is skipped. `on_connect` runs after
    every (re)connect, so the owner can poll the order book for what it missed meanwhile."""

    name = "orders"

    def __init__(
        self,
        url: str,
        session: AngelOneSession,
        on_order: Callable[[Mapping[str, Any]], None],
        options: SocketOptions | None = None,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(url, session, options or SocketOptions())
        self.on_order = on_order
        self.on_connect = on_connect
        self.frames = 0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.session.tokens().jwt}"}

    def on_open(self) -> None:
        if self.on_connect is not None:
            self.on_connect()

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        if message.strip().lower() == "pong":
            self.pongs += 1
            return
        # Exact decoding (Decimal prices), as for REST bodies: the rows are the §2.5 shape.
        control = loads_exact(_ORDER_ROUTE, message)
        if not isinstance(control, dict):
            raise MalformedResponseError(_ORDER_ROUTE, "frame", "is not a JSON object")
        self.frames += 1
        if control.get("order-status") == "AB00":
            return  # the connected frame; its order fields are empty
        data = control.get("orderData")
        if not isinstance(data, dict):
            raise MalformedResponseError(_ORDER_ROUTE, "orderData", "is not an object")
        self.on_order(data)
