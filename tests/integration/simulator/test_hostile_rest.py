"""Hostile REST requests never get an HTTP 500 (issue #15, 2): a table of known attacks, each
with the code Angel One answers it with, and hypothesis fuzzing over every route on loopback.

Each request must come back within `BOUND_S` with Angel One's envelope (or the gateway shape, or
the 403 rate-limit text), never a 5xx, never AB2001 (the last-resort guard is for bugs), never
a `Server` header naming versions; a valid login still works afterwards. Bodies are raw bytes so
that broken encodings reach the server as sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.simulator.guard import last_resort_middleware
from tests.integration.simulator.conftest import LOGIN, SECURE, Api
from tests.integration.simulator.hostile import (
    BOUND_S,
    Raw,
    error_code,
    fuzz_settings,
    json_values,
    login_still_works,
    problems,
)

ORDER = f"{SECURE}/order/v1"
GTT = f"{SECURE}/gtt/v1"


@dataclass(frozen=True)
class Case:
    """One hostile request: raw body bytes, the headers that differ from a good client's, and
    the error code Angel One answers it with."""

    name: str
    path: str
    body: bytes
    code: str
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"


def _place(**fields: Any) -> bytes:
    body = {
        "variety": "NORMAL",
        "tradingsymbol": "SBIN-EQ",
        "symboltoken": "3045",
        "transactiontype": "BUY",
        "exchange": "NSE",
        "ordertype": "LIMIT",
        "producttype": "INTRADAY",
        "duration": "DAY",
        "price": "800",
        "triggerprice": "0",
        "quantity": "1",
    }
    body.update(fields)
    return json.dumps(body).encode()


def _gtt(**fields: Any) -> bytes:
    body = {
        "tradingsymbol": "SBIN-EQ",
        "symboltoken": "3045",
        "exchange": "NSE",
        "transactiontype": "BUY",
        "producttype": "DELIVERY",
        "price": "700",
        "qty": "1",
        "triggerprice": "705",
        "disclosedqty": "0",
    }
    body.update(fields)
    return json.dumps(body).encode()


def _charset(name: str) -> tuple[tuple[str, str], ...]:
    return (("Content-Type", f"application/json; charset={name}"),)


OPEN_ORDER = "@open-order@"  # replaced by the id of a resting order of the shared simulator
DEEP = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
HUGE_INT = b'{"quantity": ' + b"9" * 100_000 + b"}"
PLACE = f"{ORDER}/placeOrder"
QUOTE = f"{SECURE}/market/v1/quote"
LTP = f"{ORDER}/getLtpData"

CASES = [
    Case("invalid utf-8", PLACE, b'{"variety": "\xff\xfe\xfd"}', "AB1004"),
    Case("invalid utf-16", PLACE, b'{\x00"\x00\x00\xd8', "AB1004", _charset("utf-16-le")),
    Case("odd-length utf-16", LTP, b"{\x00}", "AB1004", _charset("utf-16")),
    Case("unknown charset", PLACE, _place(), "AB1004", _charset("x-klingon")),
    Case("a text-only codec as charset", PLACE, _place(), "AB1004", _charset("rot13")),
    Case("100k-deep JSON", PLACE, DEEP, "AB1004"),
    Case("100k-deep array", QUOTE, b"[" * 100_000 + b"]" * 100_000, "AB1004"),
    Case("100,000-digit integer", PLACE, HUGE_INT, "AB1004"),
    Case("1e999999 as a JSON number", PLACE, b'{"price": 1e999999}', "AB1004"),
    Case("NaN as a JSON number", PLACE, b'{"price": NaN}', "AB1004"),
    Case("a body over the size limit", PLACE, b'{"x": "' + b"a" * 2_000_000 + b'"}', "AB1004"),
    Case("a JSON array body", PLACE, b"[1, 2]", "AB1004"),
    Case(
        "gzip that is not gzip",
        PLACE,
        b"not gzip at all",
        "AB1004",
        (("Content-Encoding", "gzip"),),
    ),
    Case(
        "deflate that is not deflate",
        LTP,
        b"\x00\x01garbage",
        "AB1004",
        (("Content-Encoding", "deflate"),),
    ),
    Case("quantity 1.0e999", PLACE, _place(quantity="1.0e999"), "AB1004"),
    Case("quantity in Arabic-Indic digits", PLACE, _place(quantity="\u0661\u0660"), "AB1004"),
    Case("quantity true", PLACE, _place(quantity=True), "AB1004"),
    Case("quantity as a list", PLACE, _place(quantity=[1]), "AB1004"),
    Case("price 1e999999", PLACE, _place(price="1e999999"), "AB1004"),
    Case("price 1e-999999999", PLACE, _place(price="1e-999999999"), "AB1004"),
    Case("price Infinity", PLACE, _place(price="Infinity"), "AB1004"),
    Case("price as an object", PLACE, _place(price={"a": 1}), "AB1004"),
    Case("variety as an object", PLACE, _place(variety={"a": 1}), "AB1004"),
    Case("unknown exchange on placeOrder", PLACE, _place(exchange="XYZ"), "AB1009"),
    Case("exchange as a list", PLACE, _place(exchange=["NSE"]), "AB1004"),
    Case(
        "modify with quantity 1e999",
        f"{ORDER}/modifyOrder",
        _place(orderid=OPEN_ORDER, quantity="1e999"),
        "AB1004",
    ),
    Case(
        "modify with price 1e999999",
        f"{ORDER}/modifyOrder",
        _place(orderid=OPEN_ORDER, price="1e999999"),
        "AB1004",
    ),
    Case("cancel with an object id", f"{ORDER}/cancelOrder", b'{"orderid": {}}', "AB1004"),
    Case(
        "convert with a huge quantity",
        f"{ORDER}/convertPosition",
        b'{"exchange": "NSE", "quantity": "9e99999"}',
        "AB1004",
    ),
    Case("ltp on an unknown exchange", LTP, b'{"exchange": "XYZ", "symboltoken": "1"}', "AB1009"),
    Case(
        "quote with a string token list",
        QUOTE,
        b'{"mode": "LTP", "exchangeTokens": {"NSE": "3045"}}',
        "AB1004",
    ),
    Case(
        "quote with a number token list",
        QUOTE,
        b'{"mode": "LTP", "exchangeTokens": {"NSE": 3045}}',
        "AB1004",
    ),
    Case(
        "quote with objects in the token list",
        QUOTE,
        b'{"mode": "FULL", "exchangeTokens": {"NSE": [{"a": 1}]}}',
        "AB1004",
    ),
    Case(
        "candles with dates as lists",
        f"{SECURE}/historical/v1/getCandleData",
        b'{"exchange": "NSE", "symboltoken": "3045", "interval": "ONE_MINUTE",'
        b' "fromdate": [], "todate": {}}',
        "AB1004",
    ),
    Case(
        "candles with a date in the year 99999",
        f"{SECURE}/historical/v1/getCandleData",
        b'{"exchange": "NSE", "symboltoken": "3045", "interval": "ONE_DAY",'
        b' "fromdate": "99999-01-01 09:15", "todate": "2026-03-02 10:00"}',
        "AB1004",
    ),
    Case(
        "candles up to the last day of the calendar",
        f"{SECURE}/historical/v1/getCandleData",
        b'{"exchange": "NSE", "symboltoken": "3045", "interval": "ONE_DAY",'
        b' "fromdate": "9999-12-30 09:15", "todate": "9999-12-31 15:30"}',
        "",  # a valid request for days that have not come: no rows, no overflow
    ),
    Case("search for an object", f"{ORDER}/searchScrip", b'{"searchscrip": {}}', "AB1004"),
    Case("GTT list with objects", f"{GTT}/ruleList", b'{"status": [{}], "page": 1}', "AB9001"),
    Case("GTT list with lists", f"{GTT}/ruleList", b'{"status": [["NEW"]]}', "AB9001"),
    Case("GTT list with a string", f"{GTT}/ruleList", b'{"status": "NEW"}', "AB9004"),
    Case(
        "GTT list with a huge page",
        f"{GTT}/ruleList",
        b'{"status": ["NEW"], "page": "1e999", "count": 10}',
        "AB9017",
    ),
    Case(
        "GTT list with a list as count",
        f"{GTT}/ruleList",
        b'{"status": ["NEW"], "page": 1, "count": [10]}',
        "AB9018",
    ),
    Case("GTT create with qty 1.0e999", f"{GTT}/createRule", _gtt(qty="1.0e999"), "AB9006"),
    Case("GTT create with price 1e999999", f"{GTT}/createRule", _gtt(price="1e999999"), "AB9008"),
    Case("GTT create on exchange []", f"{GTT}/createRule", _gtt(exchange=[]), "AB9010"),
    Case("GTT details with an object id", f"{GTT}/ruleDetails", b'{"id": {}}', "AB9013"),
    Case("GTT details with id 1e999", f"{GTT}/ruleDetails", b'{"id": "1e999"}', "AB9013"),
    Case(
        "a secure route without X-PrivateKey",
        f"{SECURE}/user/v1/getProfile",
        b"",
        "AG8004",
        (("X-PrivateKey", ""),),
        "GET",
    ),
    Case(
        "a secure route with the wrong X-PrivateKey",
        PLACE,
        _place(),
        "AG8004",
        (("X-PrivateKey", "not-the-key"),),
    ),
    Case("login with a list client code", LOGIN, b'{"clientcode": ["S123456"]}', "AB1004"),
    Case("login without X-PrivateKey", LOGIN, b"{}", "AG8004", (("X-PrivateKey", ""),)),
    Case(
        "generateTokens with an object token",
        "/rest/auth/angelbroking/jwt/v1/generateTokens",
        b'{"refreshToken": {}}',
        "AB1004",
    ),
]


@pytest.fixture
def raw(hostile_api: Api) -> Raw:
    return Raw(hostile_api)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_known_attack_gets_the_envelope_with_angels_code(raw: Raw, case: Case) -> None:
    body = case.body.replace(OPEN_ORDER.encode(), raw.api.open_order.encode())
    status, data, headers, took_s = raw.send(case.method, case.path, body, case.headers)
    assert problems(status, data, headers, took_s) == ""
    assert error_code(data) == case.code, data[:300]


def test_a_utf16_body_with_its_charset_is_read(raw: Raw) -> None:
    body = json.dumps({"exchange": "NSE", "symboltoken": "3045", "tradingsymbol": "SBIN-EQ"})
    status, data, _, _ = raw.send("POST", LTP, body.encode("utf-16"), _charset("utf-16"))
    assert status == 200
    assert json.loads(data)["data"]["tradingsymbol"] == "SBIN-EQ"


def test_the_server_header_names_no_versions(raw: Raw) -> None:
    for path in (f"{SECURE}/user/v1/getProfile", "/no/such/route"):
        _, _, headers, _ = raw.send("GET", path, b"")
        assert headers.get("Server") == "SmartAPI-simulator"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_http_request_gets_400_without_versions(raw: Raw, request_bytes: bytes) -> None:
    with socket.create_connection(("127.0.0.1", raw.api.server.port), timeout=BOUND_S) as conn:
        conn.sendall(request_bytes)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
    status_line, *lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    assert status_line.split()[1] == "400"
    assert headers["Server"] == "SmartAPI-simulator"


def test_a_bug_behind_the_guard_is_ab2001_in_the_envelope_not_a_500() -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        raise RuntimeError("a simulator bug")

    async def main() -> tuple[int, Any, str]:
        app = web.Application(middlewares=[last_resort_middleware])
        app.router.add_post("/broken", broken)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            timeout = aiohttp.ClientTimeout(total=BOUND_S)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(f"http://127.0.0.1:{port}/broken", data=b"{}") as reply,
            ):
                return reply.status, await reply.json(), reply.headers.get("Server", "")
        finally:
            await runner.cleanup()

    status, answer, _ = asyncio.run(main())
    assert status == 200
    assert answer == {
        "status": False,
        "message": "Internal Error, Please try after sometime",
        "errorcode": "AB2001",
        "data": None,
    }


ROUTES = [
    LOGIN,
    "/rest/auth/angelbroking/jwt/v1/generateTokens",
    PLACE,
    f"{ORDER}/modifyOrder",
    f"{ORDER}/cancelOrder",
    f"{ORDER}/convertPosition",
    LTP,
    QUOTE,
    f"{ORDER}/searchScrip",
    f"{SECURE}/historical/v1/getCandleData",
    *(f"{GTT}/{name}" for name in ("createRule", "modifyRule", "cancelRule", "ruleDetails")),
    f"{GTT}/ruleList",
]
GET_ROUTES = [
    f"{SECURE}/user/v1/getProfile",
    f"{SECURE}/user/v1/getRMS",
    f"{ORDER}/getOrderBook",
    f"{ORDER}/getTradeBook",
    f"{ORDER}/getPosition",
    f"{SECURE}/portfolio/v1/getHolding",
    f"{SECURE}/portfolio/v1/getAllHolding",
]
FIELDS = [
    "variety", "tradingsymbol", "symboltoken", "transactiontype", "exchange", "ordertype",
    "producttype", "duration", "price", "triggerprice", "quantity", "disclosedquantity",
    "ordertag", "orderid", "mode", "exchangeTokens", "searchscrip", "interval", "fromdate",
    "todate", "status", "page", "count", "id", "qty", "disclosedqty", "clientcode", "password",
    "totp", "refreshToken", "oldproducttype", "newproducttype", "state",
]  # fmt: skip
CHARSETS = ["utf-8", "utf-16", "utf-16-be", "latin-1", "ascii", "utf-7", "x-unknown", "", "idna"]


def _template(route: str) -> dict[str, Any]:
    """A body this route accepts, for hypothesis to spoil a few fields of."""
    name = route.rsplit("/", 1)[-1]
    if name in ("placeOrder", "modifyOrder", "cancelOrder", "convertPosition"):
        body = json.loads(_place(orderid="260302000000001", oldproducttype="INTRADAY"))
        return {**body, "newproducttype": "DELIVERY"}
    if name in ("createRule", "modifyRule", "cancelRule", "ruleDetails", "ruleList"):
        return {**json.loads(_gtt()), "id": 1000, "status": ["NEW"], "page": 1, "count": 10}
    return {
        "clientcode": "S123456",
        "password": "1234",
        "totp": "123456",
        "refreshToken": "x",
        "exchange": "NSE",
        "symboltoken": "3045",
        "tradingsymbol": "SBIN-EQ",
        "mode": "FULL",
        "exchangeTokens": {"NSE": ["3045"]},
        "searchscrip": "SBIN",
        "interval": "ONE_MINUTE",
        "fromdate": "2026-03-02 09:15",
        "todate": "2026-03-02 10:00",
    }


spoilt_bodies = st.sampled_from(ROUTES).flatmap(
    lambda route: st.tuples(
        st.just(route),
        st.dictionaries(
            st.sampled_from(sorted(_template(route))) | st.sampled_from(FIELDS),
            json_values,
            min_size=1,
            max_size=3,
        ),
    )
)


@fuzz_settings(200)
@given(case=spoilt_bodies)
def test_fuzzed_json_bodies_get_an_envelope_in_time(raw: Raw, case: tuple[str, Any]) -> None:
    route, spoilt = case
    body = {**_template(route), **spoilt}
    encoded = json.dumps(body, allow_nan=True).encode()
    assert problems(*raw.send("POST", route, encoded)) == ""


@fuzz_settings(80)
@given(
    route=st.sampled_from(ROUTES + GET_ROUTES),
    body=st.binary(max_size=200) | st.text(max_size=60).map(str.encode),
    charset=st.sampled_from(CHARSETS),
    key=st.sampled_from(["good", "", "wrong"]),
)
def test_fuzzed_bytes_charsets_and_keys_get_an_envelope_in_time(
    raw: Raw, route: str, body: bytes, charset: str, key: str
) -> None:
    content_type = f"application/json; charset={charset}" if charset else "application/json"
    headers = [("Content-Type", content_type)]
    if key != "good":
        headers.append(("X-PrivateKey", key))
    method = "GET" if route in GET_ROUTES else "POST"
    assert problems(*raw.send(method, route, body, tuple(headers))) == ""


def test_after_all_that_a_valid_login_still_works(hostile_api: Api) -> None:
    assert login_still_works(hostile_api)


def test_a_client_that_leaves_mid_request_is_not_logged_as_a_simulator_bug(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """A killed client (the crash tests SIGKILL the trading service mid-request) leaves a body
    half sent; reading it raises ConnectionResetError in the handler. That is the client's going,
    not a bug of ours: no "simulator bug" traceback in the log, and the next client is served."""
    caplog.set_level(logging.DEBUG, logger="algo_trading.simulator")
    head = (
        f"POST {LOGIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 4096\r\n\r\n"
    ).encode()
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", api.server.port), timeout=BOUND_S) as conn:
            conn.sendall(head + b'{"clientcode": "')
        # the server notices the closed socket when it reads the rest of the body
    assert login_still_works(api)  # served after the three drops, so they have been handled
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline and not any(
        "left mid-request" in r.getMessage() for r in caplog.records
    ):
        time.sleep(0.05)
    bugs = [r for r in caplog.records if "simulator bug" in r.getMessage()]
    assert not bugs, bugs[0].getMessage()
    assert any("left mid-request" in r.getMessage() for r in caplog.records)
