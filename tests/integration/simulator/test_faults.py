"""Rate limits and injected faults: 403 plain text, 5xx, latency on place, session expiry."""

from __future__ import annotations

import socket

import pytest

from algo_trading.simulator import FaultConfig, SimulatorServer, running_simulator
from tests.integration.simulator.conftest import Api, FakeClock, make_config

RATE_TEXT = "Access denied because of exceeding access rate"


def test_a_second_order_book_call_in_the_same_second_is_403_plain_text(clock: FakeClock) -> None:
    with running_simulator(make_config(clock, rate_limits=True)) as server:
        api = Api(server, clock)
        api.login()
        assert api.request("GET", "/rest/secure/angelbroking/order/v1/getOrderBook").status == 200
        limited = api.request("GET", "/rest/secure/angelbroking/order/v1/getOrderBook")
        assert (limited.status, limited.text) == (403, RATE_TEXT)
        assert limited.headers["Content-Type"].startswith("text/plain")
        clock.advance(1)
        assert api.request("GET", "/rest/secure/angelbroking/order/v1/getOrderBook").status == 200


def test_order_calls_share_nine_per_second(clock: FakeClock) -> None:
    with running_simulator(make_config(clock, rate_limits=True)) as server:
        api = Api(server, clock)
        api.login()
        statuses = [
            api.request("POST", "/rest/secure/angelbroking/order/v1/cancelOrder", {}).status
            for _ in range(10)
        ]
        assert statuses == [200] * 9 + [403]


def test_error_rate_one_answers_every_call_with_the_configured_5xx(
    api: Api, sim: SimulatorServer
) -> None:
    sim.set_faults(FaultConfig(error_rate=1.0, error_status=503))
    assert api.request("GET", "/rest/secure/angelbroking/user/v1/getProfile").status == 503
    sim.set_faults(FaultConfig())
    assert api.request("GET", "/rest/secure/angelbroking/user/v1/getProfile").status == 200


def test_rate_limit_fault_answers_403_below_the_limits(api: Api, sim: SimulatorServer) -> None:
    sim.set_faults(FaultConfig(rate_limit_rate=1.0))
    reply = api.request("GET", "/rest/secure/angelbroking/user/v1/getProfile")
    assert (reply.status, reply.text) == (403, RATE_TEXT)


def test_a_place_that_times_out_still_books_the_order(api: Api, sim: SimulatorServer) -> None:
    sim.set_faults(FaultConfig(place_order_latency_ms=600))
    with pytest.raises((TimeoutError, socket.timeout)):
        api.request(
            "POST",
            "/rest/secure/angelbroking/order/v1/placeOrder",
            {
                "variety": "NORMAL",
                "tradingsymbol": "SBIN-EQ",
                "symboltoken": "3045",
                "transactiontype": "BUY",
                "exchange": "NSE",
                "ordertype": "MARKET",
                "producttype": "INTRADAY",
                "duration": "DAY",
                "quantity": "1",
            },
            timeout=0.2,
        )
    sim.set_faults(FaultConfig())
    book = api.get("/order/v1/getOrderBook")["data"]
    assert [row["quantity"] for row in book] == ["1"]


def test_session_ttl_fault_expires_sessions_into_ag8001(
    api: Api, sim: SimulatorServer, clock: FakeClock
) -> None:
    sim.set_faults(FaultConfig(session_ttl_s=60))
    assert api.get("/user/v1/getProfile")["status"] is True
    clock.advance(60)
    assert api.get("/user/v1/getProfile")["errorCode"] == "AG8001"


def test_expire_sessions_ends_every_session_now(api: Api, sim: SimulatorServer) -> None:
    sim.expire_sessions()
    assert api.get("/user/v1/getProfile") == {
        "success": False,
        "message": "Invalid Token",
        "errorCode": "AG8001",
        "data": "",
    }
