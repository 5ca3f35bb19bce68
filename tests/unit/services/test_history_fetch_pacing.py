"""A long fetch stays inside getCandleData's budget (angel-one-smartapi.md §6.1: 3 a second,
180 a minute) because every request passes the adapter's route limiter: checked on a virtual
clock, with the broker answered by httpx's in-memory transport."""

from __future__ import annotations

import datetime as dt
import json

import httpx

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import AngelOneConfig
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
from algo_trading.domain.events import IST
from algo_trading.domain.ids import InstrumentToken
from algo_trading.domain.instruments import Exchange, Instrument
from algo_trading.services.history_fetch import demo_credentials, plan_fetch, run_fetch
from tests.support.history import FakeBarStore

NS = 10**9
NOW = dt.datetime(2025, 9, 1, 12, 0, tzinfo=IST)


class VirtualTime:
    """Monotonic time that moves only when the limiter sleeps."""

    def __init__(self) -> None:
        self.ns = 0

    def monotonic_ns(self) -> int:
        return self.ns

    def sleep(self, seconds: float) -> None:
        self.ns += int(seconds * NS)


class FixedClock:
    def now_ns(self) -> int:
        return int(NOW.timestamp()) * NS


def test_225_requests_never_exceed_three_a_second_or_180_a_minute() -> None:
    clock = VirtualTime()
    sent: list[int] = []

    def broker(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("loginByPassword"):
            tokens = {"jwtToken": "j" * 20, "refreshToken": "r" * 20, "feedToken": "f" * 20}
            return httpx.Response(200, json={"status": True, "message": "SUCCESS", "data": tokens})
        assert request.url.path.endswith("getCandleData")
        body = json.loads(request.content)
        assert body["interval"] == "ONE_MINUTE"
        sent.append(clock.ns)
        return httpx.Response(200, json={"status": True, "message": "SUCCESS", "data": []})

    http = AngelOneHttp(
        AngelOneConfig(rest_base_url="http://broker.test"),
        transport=httpx.MockTransport(broker),
        monotonic_ns=clock.monotonic_ns,
        sleep=clock.sleep,
    )
    session = AngelOneSession(http, demo_credentials(), FixedClock())
    instruments = [
        Instrument(f"S{i:02d}-EQ", Exchange.NSE, InstrumentToken(str(1000 + i))) for i in range(25)
    ]
    start = dt.datetime(2025, 1, 1, tzinfo=IST)
    end = dt.datetime(2025, 8, 31, tzinfo=IST)  # nine requests of at most 30 days each
    store = FakeBarStore()
    plan = plan_fetch(store, instruments, "ONE_MINUTE", start, end)
    assert plan.chunks == 225
    with http:
        run_fetch(AngelOneMarketData(session), store, plan, now_ns=FixedClock().now_ns())
    assert len(sent) == 225
    for i, t in enumerate(sent):
        assert sum(1 for u in sent[i:] if u < t + NS) <= 3
        assert sum(1 for u in sent[i:] if u < t + 60 * NS) <= 180
    assert sent[-1] >= 60 * NS, "the 181st request had to wait for the minute's budget"
    # and every request's span is recorded as fetched: a second run asks for nothing
    assert plan_fetch(store, instruments, "ONE_MINUTE", start, end).chunks == 0
