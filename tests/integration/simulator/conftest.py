"""A simulator per test on 127.0.0.1 with an injected clock, and a tiny SmartAPI client over
urllib (real HTTP on loopback; no SDK in between, so the wire is what the tests see)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest

from algo_trading.domain.events import IST
from algo_trading.simulator import SimulatorConfig, SimulatorServer, running_simulator

SECURE = "/rest/secure/angelbroking"
LOGIN = "/rest/auth/angelbroking/user/v1/loginByPassword"


class FakeClock:
    """Epoch ns that only moves when a test says so."""

    def __init__(self, when: dt.datetime) -> None:
        self.now_ns = int(when.timestamp()) * 1_000_000_000

    def __call__(self) -> int:
        return self.now_ns

    def set(self, when: dt.datetime) -> None:
        self.now_ns = int(when.timestamp()) * 1_000_000_000

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * 1_000_000_000)


def ist(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=IST)


MONDAY_10AM = ist(2026, 3, 2, 10, 0)  # a regular NSE trading day


@dataclasses.dataclass
class Reply:
    status: int
    text: str
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class Api:
    """Just enough of a SmartAPI client: Angel's headers, JSON in, the raw reply out."""

    def __init__(self, server: SimulatorServer, clock: FakeClock) -> None:
        self.server = server
        self.clock = clock
        self.config = server.config
        self.jwt = ""
        self.feed_token = ""
        self.refresh_token = ""
        self.open_order = ""  # an order a test left resting, for requests that need one

    def request(self, method: str, path: str, body: Any = None, *, timeout: float = 10) -> Reply:
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-UserType": "USER",
            "X-SourceID": "WEB",
            "X-PrivateKey": self.config.api_key,
        }
        if self.jwt:
            headers["Authorization"] = f"Bearer {self.jwt}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - loopback http only
            self.server.base_url + path, data, headers, method=method
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback
                return Reply(resp.status, resp.read().decode(), dict(resp.headers))
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode(), dict(err.headers))

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", SECURE + path, body).json

    def get(self, path: str) -> Any:
        return self.request("GET", SECURE + path).json

    def totp(self) -> str:
        return pyotp.TOTP(self.config.totp_secret).at(self.clock.now_ns // 1_000_000_000)

    def login(self) -> dict[str, Any]:
        body = {
            "clientcode": self.config.client_code,
            "password": self.config.mpin,
            "totp": self.totp(),
        }
        reply = self.request("POST", LOGIN, body).json
        assert reply["status"] is True, reply
        self.jwt = reply["data"]["jwtToken"]
        self.feed_token = reply["data"]["feedToken"]
        self.refresh_token = reply["data"]["refreshToken"]
        return dict(reply)

    def place(self, **fields: Any) -> Any:
        body = {
            "variety": "NORMAL",
            "tradingsymbol": "SBIN-EQ",
            "symboltoken": "3045",
            "transactiontype": "BUY",
            "exchange": "NSE",
            "ordertype": "MARKET",
            "producttype": "INTRADAY",
            "duration": "DAY",
            "price": "0",
            "triggerprice": "0",
            "quantity": "10",
        }
        body.update(fields)
        return self.post("/order/v1/placeOrder", body)

    def order(self, orderid: str) -> dict[str, Any]:
        rows = self.get("/order/v1/getOrderBook")["data"] or []
        return next(r for r in rows if r["orderid"] == orderid)

    def ltp_paise(self, symbol: str) -> int:
        return int(self.server.call(lambda s: s.market.by_symbol(symbol).ltp))  # type: ignore[union-attr]


def make_config(clock: FakeClock, **overrides: Any) -> SimulatorConfig:
    base: dict[str, Any] = {
        "clock": clock,
        "always_open": True,
        "tick_interval_s": None,
        "rate_limits": False,
    }
    base.update(overrides)
    return SimulatorConfig(**base)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_10AM)


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[SimulatorServer]:
    with running_simulator(make_config(clock)) as server:
        yield server


@pytest.fixture
def api(sim: SimulatorServer, clock: FakeClock) -> Api:
    client = Api(sim, clock)
    client.login()
    return client


@pytest.fixture(scope="module")
def hostile_api() -> Iterator[Api]:
    """One simulator for a whole module of hostile requests (hypothesis sends many examples to
    one server, and the point is that it survives them all), logged in, with a resting order."""
    clock = FakeClock(MONDAY_10AM)
    with running_simulator(make_config(clock)) as server:
        api = Api(server, clock)
        api.login()
        price = api.ltp_paise("SBIN-EQ") // 100 * 9 // 10  # a buy 10 % below the market rests
        placed = api.place(ordertype="LIMIT", price=str(price), quantity="1")
        assert placed["status"] is True, placed
        api.open_order = placed["data"]["orderid"]
        yield api
