"""Angel One's official Python client (smartapi-python 1.5.x) against the simulator, side by
side with our adapter (issue #5): it logs in, places, modifies and cancels orders, and reads the
order book, single-order details, trade book, positions, funds, LTP and candles with the same
results our adapter gets; its WebSocket v2 client decodes the same ticks our parser does.

Nothing leaves 127.0.0.1: `socket.getaddrinfo` is replaced by a guard that resolves loopback
only (tests/support/official_client.py) before the SDK is imported, and the SDK runs with the
test's tmp_path as its working directory.

Where the official client needed a workaround (specs/angel-one-smartapi.md §1.3, §2.19, §5.1, §7):
1. Importing `SmartApi.smartConnect` GETs https://api.ipify.org at class-definition time (no
   timeout): the SDK is imported lazily, inside a fixture, after the network guard is in place,
   so that GET fails at once on name resolution (the SDK logs it and carries on).
2. Constructing `SmartConnect` or `SmartWebSocketV2` creates ./logs/<date>/app.log and points
   logzero's global logger at it: the tests chdir to tmp_path; each construction also drops the
   previous file handler unclosed, so the helper closes them (`close_sdk_log_files`).
3. `individual_order_details` ignores `root` and builds its URL from the class attribute
   `_rootUrl` (production): the fixture patches `SmartConnect._rootUrl`; one test shows that,
   unpatched, it heads for apiconnect.angelone.in (refused by the guard) and returns None.
4. `generateSession` returns the getProfile envelope, not the login answer, with the tokens
   injected into `data` and `jwtToken` prefixed with "Bearer ": the WebSocket gets that string
   as its Authorization header, as the SDK's README does; `access_token` holds the bare JWT.
5. `placeOrder` returns only the order id, or None on any refusal: tests read the order's
   fields from the books, and the refusal test uses `placeOrderFullResponse` for the code.
6. Empty order book, trade book and positions come back as `data: null`, not `[]` (our adapter
   returns an empty list); the tests check for None before the first order.
7. A non-JSON answer (the HTTP 403 rate-limit text) raises `DataException("Couldn't parse the
   JSON response…")`, and `status: false` is only logged. The SDK neither paces nor retries, so
   the simulator runs with its per-client-code rate limits off in this module (both clients
   share one client code); one test turns the 403 answer on to show the difference.
8. Prices come back as floats (JSON numbers) or strings depending on the route: they are turned
   into paise with `Decimal(str(value))`, independently of our parser.
9. SmartWebSocketV2: `ROOT_URI` is a class attribute, set on the instance; `input_request_dict`
   is a class-level dict shared by every instance, replaced per instance; `connect()` blocks
   (websocket-client's `run_forever`), so it runs on a thread of ours; `_on_close(wsapp)` takes
   one argument where websocket-client passes three, so the user's `on_close` never runs and
   the TypeError reaches `_on_error`, which with the default `max_retry_attempt=1` sleeps 10 s
   and reconnects even after `close_connection()`: the client is built with
   `max_retry_attempt=0` and `on_error` accepting any arguments. `close_connection()` from
   another thread races websocket-client's reader, which then sits out its 10-s `select`
   about one close in five: the test closes ours, has the simulator cut the SDK's socket and
   lets the client end by itself before calling `close_connection()`. Text frames never
   reach `on_data` (only binary ones do).
10. SmartWebSocketV2 decoding: the SNAP_QUOTE OI-change float64 is unpacked as int64 (its bits
   are reinterpreted for the comparison); in DEPTH mode the exchange timestamp at offset 27 is
   dropped and the dummy offset 35 is reported as `exchange_timestamp`, so DEPTH compares the
   20 levels only. The best-five lists come out right (flag 1 = buy) despite the swapped names
   inside the SDK.
11. On a `status: false` answer the SDK logs the request headers (X-PrivateKey) and body at
   ERROR; only the simulator's published demo credentials are used here, and no test makes a
   login fail through the SDK (that would log the MPIN and TOTP).
12. `SmartConnect.__init__` sets the deprecated `ssl.OP_NO_TLSv1*` flags on an SSL context it
   never uses: that one DeprecationWarning is filtered, in this module only (`pytestmark`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import LimitGroup
from algo_trading.adapters.brokers.angelone.errors import BrokerRejectedError, RateLimitedError
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.adapters.brokers.angelone.parsing import rupees_str
from algo_trading.adapters.brokers.angelone.ws import FeedClient, SocketOptions
from algo_trading.domain.events import IST
from algo_trading.domain.orders import OrderSide, OrderStatus, OrderType
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.market.throttle import NS_PER_SECOND, RateLimit
from algo_trading.simulator.config import SimulatorConfig
from tests.support.official_client import (
    NetworkGuard,
    OfficialFeed,
    close_sdk_log_files,
    packet_fields,
    paise,
    sdk_candle,
    sdk_funds,
    sdk_ltp,
    sdk_order_row,
    sdk_position_row,
    sdk_tick,
    sdk_trade_row,
)

from .conftest import MovingClock, adapter_config, wait_for, with_faults
from .helpers import SYMBOL, ltp_paise, make_broker, sent_order

SBIN_SCRIP_ID = "3045"  # SBIN-EQ's token in the simulator's scrip master (and Angel One's)
PRODUCTION_ROOT = "https://apiconnect.angelone.in"  # the SDK's `_rootUrl` as shipped (§1.1)
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")

pytestmark = [
    # SmartConnect.__init__ sets ssl.OP_NO_TLSv1 / OP_NO_TLSv1_1 on an SSL context it never
    # uses (it also sets minimum_version); Python 3.10+ deprecates those flags. Nothing of ours.
    pytest.mark.filterwarnings(
        r"ignore:ssl\.OP_NO_SSL\*/ssl\.OP_NO_TLS\* options are deprecated:DeprecationWarning"
    ),
]


# ---- fixtures: the simulator without rate limits, our adapter unpaced, the SDK guarded -------


@pytest.fixture
def sim_config(clock: MovingClock) -> SimulatorConfig:
    # Workaround 7: the SDK does not pace its calls, and both clients share one client code.
    return SimulatorConfig(
        port=0, clock=clock.now_ns, always_open=True, tick_interval_s=None, rate_limits=False
    )


@pytest.fixture
def http(server: Any) -> Iterator[AngelOneHttp]:
    unpaced = {group: (RateLimit(10_000, NS_PER_SECOND),) for group in LimitGroup}
    with AngelOneHttp(adapter_config(server, rate_limits=unpaced, rate_guard_ms=0)) as client:
        yield client


@dataclasses.dataclass
class Sdk:
    """The SDK's classes, imported behind the guard, and where its logs went."""

    SmartConnect: Any
    SmartWebSocketV2: Any
    DataException: Any
    guard: NetworkGuard
    cwd: Path


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Sdk]:
    guard = NetworkGuard()
    monkeypatch.setattr(socket, "getaddrinfo", guard)
    for name in _PROXY_VARIABLES:  # requests and websocket-client would honour them
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # workaround 2: ./logs/<date>/app.log lands here
    # Workaround 1: imported only now, behind the guard (the ipify GET runs on first import).
    from SmartApi.smartConnect import SmartConnect
    from SmartApi.smartExceptions import DataException
    from SmartApi.smartWebSocketV2 import SmartWebSocketV2

    yield Sdk(SmartConnect, SmartWebSocketV2, DataException, guard, tmp_path)
    close_sdk_log_files()


@dataclasses.dataclass
class Official:
    client: Any  # a logged-in SmartConnect
    login: dict[str, Any]  # what generateSession returned


@pytest.fixture
def official(
    sdk: Sdk,
    server: Any,
    sim_config: SimulatorConfig,
    clock: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Official:
    monkeypatch.setattr(sdk.SmartConnect, "_rootUrl", server.base_url)  # workaround 3
    client = sdk.SmartConnect(api_key=sim_config.api_key, root=server.base_url)
    totp = pyotp.TOTP(sim_config.totp_secret).at(clock.now_ns() // NS_PER_SECOND)
    login = client.generateSession(sim_config.client_code, sim_config.mpin, totp)
    assert login["status"] is True, login.get("message")
    return Official(client, login)


# ---- helpers ----------------------------------------------------------------------------------


def _ours(row: Any) -> dict[str, Any]:
    """One of our parsed rows as a dict, without our status enum (compared on its own)."""
    fields = dataclasses.asdict(row)
    fields.pop("status", None)
    return fields


def _resting_buy_price(session: AngelOneSession, master: InstrumentMaster) -> int:
    """3 % under the LTP on a 10-paise grid: inside the price band, far from filling."""
    return (ltp_paise(session, master) * 97 // 100) // 10 * 10


def _limit_params(
    price_paise: int, quantity: int, tag: str, *, scrip_id: str = SBIN_SCRIP_ID
) -> dict[str, str]:
    return {
        "variety": "NORMAL",
        "tradingsymbol": SYMBOL,
        "symboltoken": scrip_id,
        "transactiontype": "BUY",
        "exchange": "NSE",
        "ordertype": "LIMIT",
        "producttype": "INTRADAY",
        "duration": "DAY",
        "price": rupees_str(price_paise),
        "quantity": str(quantity),
        "ordertag": tag,
    }


def _sdk_book_row(client: Any, **match: str) -> dict[str, Any]:
    rows = client.orderBook()["data"] or []
    (row,) = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return dict(row)


def _our_book_row(session: AngelOneSession, order_id: str) -> Any:
    (row,) = [r for r in AngelOneAccount(session).order_book() if r.order_id == order_id]
    return row


# ---- REST ---------------------------------------------------------------------------------------


def test_the_official_login_returns_the_profile_with_a_bearer_jwt_and_works_beside_ours(
    official: Official, session: AngelOneSession, sim_config: SimulatorConfig, sdk: Sdk
) -> None:
    data = official.login["data"]
    assert data["clientcode"] == sim_config.client_code  # the profile's fields...
    assert data["brokerid"]
    assert data["jwtToken"] == "Bearer " + official.client.access_token  # ...plus the tokens
    assert data["feedToken"] == official.client.getfeedToken()
    session.login()
    assert session.tokens().jwt != official.client.access_token  # two sessions side by side
    theirs = official.client.rmsLimit()
    assert theirs["status"] is True
    assert sdk_funds(theirs["data"]) == dataclasses.asdict(AngelOneAccount(session).funds())
    assert list((sdk.cwd / "logs").glob("*/app.log"))  # its log file went to the tmp CWD


def test_orders_the_official_client_places_modifies_and_cancels_read_the_same_through_ours(
    official: Official, session: AngelOneSession, master: InstrumentMaster
) -> None:
    client = official.client
    assert client.orderBook()["data"] is None  # workaround 6: the empty book is null
    assert AngelOneAccount(session).order_book() == []
    price = _resting_buy_price(session, master)

    order_id = client.placeOrder(_limit_params(price, 3, "sdk-place"))
    assert isinstance(order_id, str)  # workaround 5: the id and nothing else
    ours = _our_book_row(session, order_id)
    assert (ours.status, ours.price_paise, ours.quantity, ours.tag) == (
        OrderStatus.OPEN,
        price,
        3,
        "sdk-place",
    )
    assert sdk_order_row(_sdk_book_row(client, orderid=order_id)) == _ours(ours)
    details = client.individual_order_details(ours.unique_order_id)  # workaround 3 in place
    assert sdk_order_row(details["data"]) == _ours(
        AngelOneAccount(session).order_status(ours.unique_order_id)
    )

    modify = _limit_params(price - 100, 5, "sdk-place") | {"orderid": order_id}
    answer = client.modifyOrder(modify)
    assert answer["data"]["orderid"] == order_id
    ours = _our_book_row(session, order_id)
    assert (ours.status, ours.price_paise, ours.quantity) == (OrderStatus.OPEN, price - 100, 5)
    assert sdk_order_row(_sdk_book_row(client, orderid=order_id)) == _ours(ours)

    assert client.cancelOrder(order_id, "NORMAL")["data"]["orderid"] == order_id
    ours = _our_book_row(session, order_id)
    assert ours.status is OrderStatus.CANCELLED
    assert sdk_order_row(_sdk_book_row(client, orderid=order_id)) == _ours(ours)


def test_orders_our_adapter_places_modifies_and_cancels_read_the_same_through_the_official_client(
    official: Official, session: AngelOneSession, master: InstrumentMaster, clock: MovingClock
) -> None:
    client = official.client
    broker, sink = make_broker(session, master, clock)
    price = _resting_buy_price(session, master)
    order = sent_order(order_type=OrderType.LIMIT, price_paise=price, quantity=2)
    coid = order.client_order_id
    broker.submit(order)

    theirs = _sdk_book_row(client, ordertag=order.tag)
    assert (theirs["status"], paise(theirs["price"]), theirs["quantity"]) == ("open", price, "2")
    assert sdk_order_row(theirs) == _ours(_our_book_row(session, theirs["orderid"]))

    broker.modify(coid, price_paise=price - 50, quantity=4)
    theirs = _sdk_book_row(client, ordertag=order.tag)
    assert (paise(theirs["price"]), theirs["quantity"]) == (price - 50, "4")
    details = client.individual_order_details(theirs["uniqueorderid"])["data"]
    assert sdk_order_row(details) == sdk_order_row(theirs)

    broker.cancel(coid)
    theirs = _sdk_book_row(client, ordertag=order.tag)
    assert theirs["status"] == "cancelled"
    assert sdk_order_row(theirs) == _ours(_our_book_row(session, theirs["orderid"]))
    assert sink.events(coid) == ["ACCEPT", "CANCEL"]


def test_fills_read_the_same_in_both_trade_books_positions_and_funds(
    official: Official,
    session: AngelOneSession,
    master: InstrumentMaster,
    clock: MovingClock,
    server: Any,
) -> None:
    client = official.client
    assert client.tradeBook()["data"] is None  # workaround 6
    assert client.position()["data"] is None
    market_buy = _limit_params(0, 4, "sdk-buy") | {"ordertype": "MARKET", "price": "0"}
    sdk_order_id = client.placeOrder(market_buy)
    broker, sink = make_broker(session, master, clock)
    sell = sent_order(side=OrderSide.SELL, quantity=1)
    broker.submit(sell)
    fill_price = (ltp_paise(session, master) + 355) // 10 * 10
    server.force_trade(SYMBOL, fill_price, 100)

    account = AngelOneAccount(session)
    ours = {t.fill_id: _ours(t) for t in account.trade_book()}
    theirs = {r["fillid"]: sdk_trade_row(r) for r in client.tradeBook()["data"]}
    assert theirs == ours
    assert sorted(
        (t["side"], t["fill_quantity"], t["fill_price_paise"]) for t in ours.values()
    ) == [
        ("BUY", 4, fill_price),
        ("SELL", 1, fill_price),
    ]
    assert {t["order_id"] for t in ours.values() if t["side"] == "BUY"} == {sdk_order_id}

    (position,) = account.positions()
    (their_position,) = client.position()["data"]
    assert sdk_position_row(their_position) == _ours(position)
    assert (position.net_quantity, position.buy_avg_paise, position.sell_avg_paise) == (
        3,
        fill_price,
        fill_price,
    )
    assert sdk_funds(client.rmsLimit()["data"]) == dataclasses.asdict(account.funds())
    broker.poll()
    assert "FILL" in sink.events(sell.client_order_id)


def test_ltp_and_candles_read_the_same_through_both_clients(
    official: Official, session: AngelOneSession, master: InstrumentMaster, server: Any
) -> None:
    client = official.client
    token = str(master.by_symbol(SYMBOL).token)
    price = (ltp_paise(session, master) - 420) // 10 * 10
    server.force_trade(SYMBOL, price, 10)
    market = AngelOneMarketData(session)
    ours_ltp = market.ltp("NSE", SYMBOL, token)
    assert sdk_ltp(client.ltpData("NSE", SYMBOL, token)["data"]) == dataclasses.asdict(ours_ltp)
    assert ours_ltp.ltp_paise == price

    monday = dt.date(2025, 3, 3)
    spans = [
        ("ONE_MINUTE", dt.time(9, 15), monday, dt.time(15, 29), monday),
        ("FIFTEEN_MINUTE", dt.time(9, 15), monday - dt.timedelta(days=7), dt.time(15, 15), monday),
    ]
    for interval, t0, d0, t1, d1 in spans:
        start = dt.datetime.combine(d0, t0, tzinfo=IST)
        end = dt.datetime.combine(d1, t1, tzinfo=IST)
        answer = client.getCandleData(
            {
                "exchange": "NSE",
                "symboltoken": token,
                "interval": interval,
                "fromdate": f"{start:%Y-%m-%d %H:%M}",
                "todate": f"{end:%Y-%m-%d %H:%M}",
            }
        )
        ours = list(market.candles("NSE", token, interval, start, end))
        assert [sdk_candle(row) for row in answer["data"]] == ours, interval
        assert ours, interval
    # The last span: five sessions of 25 fifteen-minute candles (24 Feb to 3 Mar 2025, with
    # the 26 Feb Mahashivratri holiday).
    assert len(ours) == 5 * 25


def test_a_refused_order_is_none_to_placeorder_an_envelope_to_the_full_response_and_typed_to_ours(
    official: Official, session: AngelOneSession, master: InstrumentMaster
) -> None:
    unknown = _limit_params(_resting_buy_price(session, master), 1, "sdk-bad", scrip_id="999999999")
    assert official.client.placeOrder(dict(unknown)) is None  # workaround 5
    full = official.client.placeOrderFullResponse(dict(unknown))
    assert (full["status"], full["errorcode"], full["data"]) == (False, "AB1009", None)
    with pytest.raises(BrokerRejectedError) as info:
        session.call("place", unknown)
    assert info.value.code == "AB1009"


def test_a_rate_limited_answer_is_a_data_exception_to_the_official_client_and_typed_to_ours(
    official: Official, session: AngelOneSession, server: Any, sdk: Sdk
) -> None:
    session.login()
    with_faults(server, rate_limit_rate=1.0)
    with pytest.raises(sdk.DataException, match="exceeding access rate"):  # workaround 7
        official.client.orderBook()
    with pytest.raises(RateLimitedError):  # after its own backed-off retries
        AngelOneAccount(session).order_book()


def test_order_details_go_to_production_unless_patched_and_the_guard_keeps_them_here(
    official: Official,
    session: AngelOneSession,
    master: InstrumentMaster,
    sdk: Sdk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order_id = official.client.placeOrder(
        _limit_params(_resting_buy_price(session, master), 1, "sdk-root")
    )
    unique_id = _sdk_book_row(official.client, orderid=order_id)["uniqueorderid"]
    monkeypatch.setattr(sdk.SmartConnect, "_rootUrl", PRODUCTION_ROOT)  # as shipped
    assert official.client.individual_order_details(unique_id) is None
    assert sdk.guard.refused[-1] == "apiconnect.angelone.in"


# ---- the WebSocket v2 feed ------------------------------------------------------------------


class _Packets:
    def __init__(self) -> None:
        self._items: list[FeedPacket] = []
        self._lock = threading.Lock()

    def __call__(self, packet: FeedPacket) -> None:
        with self._lock:
            self._items.append(packet)

    def items(self) -> list[FeedPacket]:
        with self._lock:
            return list(self._items)


def _per_mode(ticks: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for tick in ticks:
        out.setdefault(tick["mode"], []).append(tick)
    return out


def _without(tick: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in tick.items() if k not in keys}


def test_the_official_websocket_client_decodes_the_same_ticks_as_our_parser(
    official: Official,
    session: AngelOneSession,
    master: InstrumentMaster,
    server: Any,
    sdk: Sdk,
    sim_config: SimulatorConfig,
) -> None:
    token = str(master.by_symbol(SYMBOL).token)
    base = ltp_paise(session, master)
    prices = [(base + step) // 10 * 10 for step in (505, -310, 1250)]
    threads_before = set(threading.enumerate())
    packets = _Packets()
    ours = FeedClient(server.ws_url, session, packets, SocketOptions(poll_s=0.02))
    theirs = OfficialFeed(
        sdk.SmartWebSocketV2,
        server.ws_url,
        auth_token=official.login["data"]["jwtToken"],  # "Bearer …", as the README passes it
        api_key=sim_config.api_key,
        client_code=sim_config.client_code,
        feed_token=official.client.getfeedToken(),
    )
    try:
        ours.start()
        theirs.start()
        wait_for(ours.connected.is_set, what="our feed connection")
        wait_for(theirs.opened.is_set, what="the official client's connection")
        for mode in Mode:
            ours.subscribe(mode, {1: [token]})
            theirs.subscribe(int(mode), 1, [token])
        expected = len(Mode)  # a fresh subscription gets the current value at once
        wait_for(
            lambda: len(packets.items()) == len(theirs.ticks()) == expected,
            what="one snapshot per mode on both sockets",
        )
        for price in prices:
            server.force_trade(SYMBOL, price, 7)
        expected += len(prices) * len(Mode)
        wait_for(
            lambda: len(packets.items()) == len(theirs.ticks()) == expected,
            what="one frame per trade and mode on both sockets",
        )
    finally:
        ours.close()
        # Workaround 9: the simulator cuts the one socket left, the SDK's, so its reader wakes
        # and ends at once instead of racing `close_connection()`.
        closed = theirs.close(drop=server.drop_feed)
    assert closed, "the official client's thread did not end"
    assert theirs.failure is None
    wait_for(lambda: set(threading.enumerate()) <= threads_before, what="no socket thread left")

    sdk_ticks = _per_mode([sdk_tick(t) for t in theirs.ticks()])
    our_ticks = _per_mode(
        [{"mode": int(p.mode), "packet": p} for p in packets.items()]  # grouped the same way
    )
    assert set(sdk_ticks) == set(our_ticks) == {int(m) for m in Mode}
    for mode, decoded in sdk_ticks.items():
        mine = [
            packet_fields(t["packet"], d) for t, d in zip(our_ticks[mode], decoded, strict=True)
        ]
        assert decoded[1:] == mine[1:], Mode(mode).name  # the three trades, every field
        # Before any trade the snapshot is stamped with the moment of each subscription.
        untimed = ("exchange_ts_ms", "last_traded_ts_s")
        assert _without(decoded[0], untimed) == _without(mine[0], untimed), Mode(mode).name
        if mode != Mode.DEPTH:
            assert [d["ltp_paise"] for d in decoded[1:]] == prices, Mode(mode).name
            assert {d["token"] for d in decoded} == {token}
