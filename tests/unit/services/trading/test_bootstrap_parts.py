"""The composition root's small choices: client order ids, the simulator's addresses, market
hours from the calendar, and which credentials the broker gets."""

from __future__ import annotations

import datetime as dt

import pytest

from algo_trading.adapters.secrets import EnvSecretStore
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST
from algo_trading.domain.ids import check_client_order_id
from algo_trading.domain.instruments import equity
from algo_trading.services.bootstrap import RunIds, _credentials, market_hours, simulator_endpoints
from algo_trading.simulator.config import DEMO_API_KEY

NS = 1_000_000_000


def _at(day: dt.date, hh: int, mm: int) -> int:
    return int(dt.datetime.combine(day, dt.time(hh, mm), tzinfo=IST).timestamp()) * NS


def test_client_order_ids_are_valid_and_differ_between_two_runs() -> None:
    a, b = RunIds(), RunIds()
    ids = [a.next_id() for _ in range(3)] + [b.next_id()]
    assert len(set(ids)) == 4
    assert all(check_client_order_id(i) == i for i in ids)
    assert a.prefix != b.prefix


def test_the_simulators_addresses_come_from_its_base_url() -> None:
    config = simulator_endpoints("http://127.0.0.1:8765/")
    assert config.rest_base_url == "http://127.0.0.1:8765"
    assert config.feed_ws_url == "ws://127.0.0.1:8765/smart-stream"
    assert config.order_ws_url == "ws://127.0.0.1:8765/smart-order-update"
    assert config.instrument_master_url.startswith("http://127.0.0.1:8765/OpenAPI_File/")


def test_market_hours_follow_the_calendar_sessions_weekends_and_holidays() -> None:
    is_open = market_hours([equity("SBIN-EQ")], always_open=False)
    trading_day = dt.date(2025, 11, 4)
    assert is_open(_at(trading_day, 10, 0))
    assert not is_open(_at(trading_day, 9, 10))  # pre-open
    assert not is_open(_at(trading_day, 15, 30))
    assert not is_open(_at(dt.date(2025, 11, 8), 10, 0))  # a Saturday
    assert not is_open(_at(dt.date(2025, 10, 2), 10, 0))  # Gandhi Jayanti
    assert market_hours([equity("SBIN-EQ")], always_open=True)(_at(dt.date(2025, 11, 8), 3, 0))


CREDS = {
    "ALGO_ANGELONE_API_KEY": "k-not-real",
    "ALGO_ANGELONE_CLIENT_CODE": "C1",
    "ALGO_ANGELONE_MPIN": "0000",
    "ALGO_ANGELONE_TOTP_SECRET": "TOTPSECRETNOTREAL234567ABCDEFGHI",
}


def test_the_simulator_gets_the_demo_credentials_unless_the_store_has_all_four() -> None:
    demo = _credentials("simulator", EnvSecretStore({}))
    assert demo.api_key.get_secret_value() == DEMO_API_KEY
    own = _credentials("simulator", EnvSecretStore(CREDS))
    assert own.api_key.get_secret_value() == "k-not-real"
    half = {k: v for k, v in CREDS.items() if "MPIN" not in k}
    with pytest.raises(ConfigError, match=r"half set.*angelone_mpin"):
        _credentials("simulator", EnvSecretStore(half))


def test_angel_one_never_falls_back_to_demo_credentials() -> None:
    with pytest.raises(ConfigError):
        _credentials("angelone", EnvSecretStore({}))
