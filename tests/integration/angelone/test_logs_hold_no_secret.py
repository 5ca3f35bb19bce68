"""Issue #15 item 5: with the root and every logger at DEBUG, third-party ones included, a whole
adapter session against the simulator on loopback writes no secret and no token through the
project's handler: login, orders, the feed and order-status sockets, a renewal, a re-login with
fresh socket handshakes, and logout. Every record is read back and searched for every credential
and every token the simulator issued."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession, totp_at
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.instruments import download_scrip_master
from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.adapters.brokers.angelone.ws import FeedClient, OrderStream, SocketOptions
from algo_trading.adapters.instruments.master import parse_scrip_master_bytes
from algo_trading.adapters.logs import install_logging
from algo_trading.domain.events import IST
from algo_trading.domain.orders import OrderType
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator

from .conftest import MovingClock, adapter_config, credentials, wait_for
from .helpers import SYMBOL, ltp_paise, make_broker, sent_order

NS = 1_000_000_000
# Distinctive, non-demo credentials: a match in a log line can only be a leak.
MPIN = "7391"
API_KEY = "k3y-7Qm2vX9pL4"
TOTP_SECRET = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"  # noqa: S105 - a fake, distinctive on purpose


class RecordingClock(MovingClock):
    """Remembers every time it was read, so the test knows every TOTP code a login could send."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: set[int] = set()
        self._reads_lock = threading.Lock()

    def now_ns(self) -> int:
        now = super().now_ns()
        with self._reads_lock:
            self.reads.add(now // (30 * NS))
        return now


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The project's handler (JSON lines) at DEBUG on the root and on every logger."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    loggers = [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = {lg.name: lg.level for lg in loggers}
    out = io.StringIO()
    handler = install_logging(
        logging.DEBUG, as_json=True, stream=out, third_party_level=logging.DEBUG
    )
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_root[0])
        for lg in logging.Logger.manager.loggerDict.values():
            if isinstance(lg, logging.Logger):
                lg.setLevel(saved.get(lg.name, logging.NOTSET))


def _options() -> SocketOptions:
    return SocketOptions(poll_s=0.02, backoff_initial_s=0.01, backoff_max_s=0.05)


def _whole_session(server: Any, clock: RecordingClock, config: SimulatorConfig) -> None:
    """Everything an adapter does in a day, with every logger talking."""
    packets: list[FeedPacket] = []
    with AngelOneHttp(adapter_config(server)) as http:
        session = AngelOneSession(http, credentials(config), clock)
        master = parse_scrip_master_bytes(download_scrip_master(http))
        broker, sink = make_broker(session, master, clock)
        stream = OrderStream(server.order_ws_url, session, broker.on_order_update, _options())
        feed = FeedClient(server.ws_url, session, packets.append, _options())
        with stream, feed:
            feed.subscribe(Mode.QUOTE, {1: [str(master.by_symbol(SYMBOL).token)]})
            wait_for(lambda: stream.connected.is_set() and feed.connected.is_set(), what="sockets")
            market = sent_order(quantity=3)
            broker.submit(market)

            def filled() -> bool:
                server.advance()
                broker.poll()
                return "FILL" in sink.events(market.client_order_id) and len(packets) > 0

            wait_for(filled, what="a fill and a feed packet")
            price = (ltp_paise(session, master) * 97 // 100) // 10 * 10
            resting = sent_order(order_type=OrderType.LIMIT, price_paise=price)
            broker.submit(resting)
            broker.modify(resting.client_order_id, price_paise=price - 10)
            broker.cancel(resting.client_order_id)
            broker.poll()

            clock.jump_to(dt.datetime(2025, 3, 4, 23, 56, tzinfo=IST))
            session.call("funds")  # renewal through generateTokens: the refresh token travels
            server.expire_sessions()
            session.call("profile")  # AG8001, then a fresh login
            server.drop_feed()  # both sockets shake hands again, with the new tokens
            wait_for(lambda: feed.connects >= 2, what="the feed's new handshake")
        assert session.refreshes == 1
        assert session.logins == 2
        session.logout()


def _issued_tokens(server: Any) -> list[str]:
    # Every session the simulator ever issued, renewed and re-logged ones included.
    sessions = server.call(lambda state: list(state.auth._by_jwt.values()))
    return [t for s in sessions for t in (s.jwt, s.refresh_token, s.feed_token)]


def _leaks(secret: str, lines: list[str]) -> int:
    # A short secret (the MPIN, a TOTP code) counts where it stands alone, not inside a longer
    # number such as a timestamp or a port.
    if len(secret) < 8:
        pattern = re.compile(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])")
        return sum(1 for line in lines if pattern.search(line))
    return sum(1 for line in lines if secret in line)


def test_a_whole_adapter_session_at_debug_writes_no_secret_and_no_token(
    debug_log: io.StringIO,
) -> None:
    clock = RecordingClock()
    config = SimulatorConfig(
        port=0,
        clock=clock.now_ns,
        always_open=True,
        tick_interval_s=None,
        mpin=MPIN,
        api_key=API_KEY,
        totp_secret=TOTP_SECRET,
    )
    with running_simulator(config) as server:
        _whole_session(server, clock, config)
        tokens = _issued_tokens(server)

    lines = debug_log.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    loggers = {r["logger"].split(".")[0] for r in records}
    # The DEBUG output of the libraries that print headers and frames was captured.
    assert {"websockets", "httpcore", "algo_trading"} <= loggers, loggers
    assert len(tokens) == 9, "three logins' worth: the first, the renewal, the re-login"
    codes = {totp_at(TOTP_SECRET, step * 30 * NS) for step in clock.reads}
    secrets = {
        "MPIN": [MPIN],
        "TOTP secret": [TOTP_SECRET],
        "TOTP code": sorted(codes),
        "API key": [API_KEY],
        "token": tokens,
    }
    found = {
        kind: sum(_leaks(value, lines) for value in values) for kind, values in secrets.items()
    }
    assert found == dict.fromkeys(secrets, 0), f"leaks in {len(lines)} records: {found}"
