"""Bad answers from the broker — malformed JSON, a missing field, an unknown status — become
typed errors naming the route and the field, are logged and kept, and never crash the engine.

The simulator only speaks correctly, so these run against a small canned-answer HTTP server on
127.0.0.1 (real HTTP, no mocks); the engine round trip runs against the simulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import AngelOneCredentials
from algo_trading.adapters.brokers.angelone.errors import MalformedResponseError
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.domain import OrderEvent
from algo_trading.domain.ids import InstrumentToken
from algo_trading.domain.instruments import Exchange, Instrument
from algo_trading.domain.orders import OrderIntent, OrderSide, OrderType, ProductType, Validity
from algo_trading.engine.engine import TradingEngine
from algo_trading.market.instruments import InstrumentMaster
from tests.support.builders import make_order

from .conftest import MovingClock, adapter_config, wait_for
from .helpers import SYMBOL, make_broker

_BOOK = "/rest/secure/angelbroking/order/v1/getOrderBook"
_TOKENS = {"jwtToken": "j", "refreshToken": "r", "feedToken": "f"}
_GOOD_ROW = {
    "orderid": "250304000000001",
    "uniqueorderid": "u-1",
    "ordertag": "x",
    "tradingsymbol": "SBIN-EQ",
    "symboltoken": "3045",
    "exchange": "NSE",
    "transactiontype": "BUY",
    "ordertype": "MARKET",
    "producttype": "INTRADAY",
    "variety": "NORMAL",
    "duration": "DAY",
    "quantity": "1",
    "filledshares": "0",
    "price": 0,
    "triggerprice": 0,
    "averageprice": 0,
    "status": "open",
    "text": "",
    "updatetime": "04-Mar-2025 10:00:00",
}


class Canned:
    """Path -> raw body answered with HTTP 200; login always succeeds."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path.endswith("loginByPassword"):
                    body = json.dumps(
                        {"status": True, "message": "SUCCESS", "errorcode": "", "data": _TOKENS}
                    ).encode()
                else:
                    body = outer.bodies.get(self.path, b"{}")
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def book(self, rows: Any) -> None:
        self.bodies[_BOOK] = json.dumps(
            {"status": True, "message": "SUCCESS", "errorcode": "", "data": rows}
        ).encode()


@pytest.fixture
def canned() -> Iterator[Canned]:
    server = Canned()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    server.thread.join()


class _Urls:
    def __init__(self, base: str) -> None:
        self.base_url = base
        self.ws_url = self.order_ws_url = "ws://127.0.0.1:1/unused"


@pytest.fixture
def canned_session(canned: Canned, clock: MovingClock) -> Iterator[AngelOneSession]:
    creds = AngelOneCredentials(
        api_key="k",
        client_code="C1",
        mpin="1",
        totp_secret="KRSXG5CTMVRXEZLUKN2XAZLSNE",  # noqa: S106 - a fake for a canned server
    )
    with AngelOneHttp(adapter_config(_Urls(canned.base_url), retry_attempts=1)) as http:
        yield AngelOneSession(http, creds, clock)


def test_malformed_json_names_the_route_and_the_body(
    canned: Canned, canned_session: AngelOneSession
) -> None:
    canned.bodies[_BOOK] = b'{"status": true, "data": [}'
    with pytest.raises(MalformedResponseError) as info:
        AngelOneAccount(canned_session).order_book()
    assert info.value.route == _BOOK
    assert info.value.field == "body"


def test_a_missing_field_names_the_row_and_the_field(
    canned: Canned, canned_session: AngelOneSession
) -> None:
    canned.book([_GOOD_ROW, {k: v for k, v in _GOOD_ROW.items() if k != "orderid"}])
    with pytest.raises(MalformedResponseError) as info:
        AngelOneAccount(canned_session).order_book()
    assert info.value.route == _BOOK
    assert info.value.field == "data[1].orderid"


def test_an_unknown_status_names_the_status_field(
    canned: Canned, canned_session: AngelOneSession
) -> None:
    canned.book([{**_GOOD_ROW, "status": "teleported"}])
    with pytest.raises(MalformedResponseError) as info:
        AngelOneAccount(canned_session).order_book()
    assert info.value.field == "data[0].status"
    assert "teleported" in str(info.value)


def test_bad_book_and_bad_stream_frames_are_kept_as_errors_and_never_raised(
    canned: Canned, canned_session: AngelOneSession, clock: MovingClock
) -> None:
    sbin = Instrument(SYMBOL, Exchange.NSE, InstrumentToken("3045"), tick_size_paise=10)
    master = InstrumentMaster([sbin])
    broker, sink = make_broker(canned_session, master, clock)
    canned.book([{**_GOOD_ROW, "status": "teleported"}])
    followed = make_order("followed", symbol=SYMBOL, quantity=1)
    followed.tag = "y"
    followed.apply(OrderEvent.SUBMIT, clock.now_ns())
    broker.follow(followed.snapshot(), sent_ns=clock.now_ns())  # a poll reads the book for it
    broker.poll()
    broker.on_order_update({**_GOOD_ROW, "price": "abc"})
    assert [(type(e).__name__, getattr(e, "field", None)) for e in broker.errors] == [
        ("MalformedResponseError", "data[0].status"),
        ("MalformedResponseError", "price"),
    ]
    assert sink.reports == []


def test_an_engine_order_round_trips_through_the_adapter_to_a_fill(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, _ = make_broker(session, master, clock)
    engine = TradingEngine(
        clock, broker, starting_cash_paise=10_00_000_00, instruments=[master.by_symbol(SYMBOL)]
    )
    engine.start()
    coid = engine.submit(
        OrderIntent(
            "itest",
            SYMBOL,
            OrderSide.BUY,
            4,
            OrderType.MARKET,
            None,
            None,
            ProductType.INTRADAY,
            Validity.DAY,
        )
    )

    def filled() -> bool:
        server.advance()
        broker.poll()
        engine.drain()
        return engine.position_quantity(SYMBOL) == 4

    wait_for(filled, what="the engine's position")
    order = engine.orders.orders[coid]
    assert order.status.value == "FILLED"
    assert order.broker_order_id is not None
    engine.stop()
