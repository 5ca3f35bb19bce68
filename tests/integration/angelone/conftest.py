"""The Angel One adapter against the simulator, over real HTTP and WebSocket on 127.0.0.1.

The simulator and the adapter share one clock: a fixed trading-day start that moves with the
monotonic clock and can jump (to midnight, say). No test reads the wall clock's date.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import (
    ROUTE_LIMITS,
    AngelOneConfig,
    AngelOneCredentials,
)
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.instruments import download_scrip_master
from algo_trading.adapters.instruments.master import parse_scrip_master_bytes
from algo_trading.domain.events import IST, ExecutionReport
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.simulator.config import FaultConfig, SimulatorConfig
from algo_trading.simulator.testing import running_simulator

NS = 1_000_000_000
START = dt.datetime(2025, 3, 4, 10, 0, tzinfo=IST)  # a Tuesday, NSE open


class MovingClock:
    """`START` plus the monotonic time since creation, plus any `jump`s: moves like real time
    (so rate-limit windows pass) without reading the date from the wall clock."""

    def __init__(self, start: dt.datetime = START) -> None:
        self._base = int(start.timestamp()) * NS
        self._t0 = time.monotonic_ns()
        self._offset = 0
        self._lock = threading.Lock()

    def now_ns(self) -> int:
        with self._lock:
            return self._base + self._offset + time.monotonic_ns() - self._t0

    def jump_to(self, when: dt.datetime) -> None:
        with self._lock:
            now = self._base + self._offset + time.monotonic_ns() - self._t0
            self._offset += int(when.timestamp()) * NS - now


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    """Poll `condition` until it holds; fail after `timeout_s` (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


@dataclass
class Sink:
    """The engine's side of the Broker port: every report, in order."""

    reports: list[ExecutionReport] = field(default_factory=list)

    def __call__(self, report: ExecutionReport) -> None:
        self.reports.append(report)

    def events(self, coid: str) -> list[str]:
        return [r.event.value for r in self.reports if r.client_order_id == coid]


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock()


@pytest.fixture
def sim_config(clock: MovingClock) -> SimulatorConfig:
    return SimulatorConfig(port=0, clock=clock.now_ns, always_open=True, tick_interval_s=None)


@pytest.fixture
def server(sim_config: SimulatorConfig) -> Iterator[Any]:
    with running_simulator(sim_config) as srv:
        yield srv


def credentials(config: SimulatorConfig, *, mpin: str | None = None) -> AngelOneCredentials:
    return AngelOneCredentials(
        api_key=config.api_key,
        client_code=config.client_code,
        mpin=config.mpin if mpin is None else mpin,
        totp_secret=config.totp_secret,
    )


def adapter_config(server: Any, **overrides: Any) -> AngelOneConfig:
    base = AngelOneConfig(
        rest_base_url=server.base_url,
        feed_ws_url=server.ws_url,
        order_ws_url=server.order_ws_url,
        instrument_master_url=server.base_url + "/OpenAPI_File/files/OpenAPIScripMaster.json",
        timeout_s=2.0,
        connect_timeout_s=2.0,
        retry_initial_s=0.02,
        retry_max_s=0.2,
        rate_limits=dict(ROUTE_LIMITS),
    )
    return replace(base, **overrides)


@pytest.fixture
def http(server: Any) -> Iterator[AngelOneHttp]:
    with AngelOneHttp(adapter_config(server)) as client:
        yield client


@pytest.fixture
def session(http: AngelOneHttp, sim_config: SimulatorConfig, clock: MovingClock) -> AngelOneSession:
    return AngelOneSession(http, credentials(sim_config), clock)


@pytest.fixture
def master(http: AngelOneHttp) -> InstrumentMaster:
    return parse_scrip_master_bytes(download_scrip_master(http))


def with_faults(server: Any, **faults: Any) -> None:
    server.set_faults(FaultConfig(**faults))
