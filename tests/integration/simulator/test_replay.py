"""The accelerated replay of one trading day (`replay_day`, `replay_speed`): simulated time runs
`replay_speed` times faster than the injected real clock, from the day's 09:15 open, so the
session opens, reaches the square-off cut-off and closes at the right simulated times and the
feed's exchange timestamps move with it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import aiohttp
import pyotp
import pytest

from algo_trading.adapters.brokers.angelone.packets import Mode, parse_packet
from algo_trading.domain.instruments import Exchange
from algo_trading.simulator import SimulatorServer, running_simulator
from algo_trading.simulator.exchange import INTRADAY_CLOSED_TEXT
from tests.integration.simulator.conftest import Api, FakeClock, ist, make_config
from tests.integration.simulator.test_feed import DEADLINE_S, _headers, _subscribe, run

REPLAY_DAY = dt.date(2026, 3, 2)
SPEED = 60  # one real second is one simulated minute


class ReplayApi(Api):
    """Logs in with a TOTP of the simulated time, which is what the replaying server checks."""

    def totp(self) -> str:
        sim_ns = self.server.call(lambda s: s.clock.now_ns())
        return pyotp.TOTP(self.config.totp_secret).at(sim_ns // 1_000_000_000)


@pytest.fixture
def real_clock() -> FakeClock:
    return FakeClock(ist(2030, 7, 1, 22, 0))  # the "real" time: any moment, far from the day


@pytest.fixture
def replay(real_clock: FakeClock) -> Iterator[SimulatorServer]:
    config = make_config(
        real_clock, always_open=False, replay_day=REPLAY_DAY, replay_speed=float(SPEED)
    )
    with running_simulator(config) as server:
        yield server


@pytest.fixture
def replay_api(replay: SimulatorServer, real_clock: FakeClock) -> ReplayApi:
    client = ReplayApi(replay, real_clock)
    client.login()
    return client


def _sim_time(server: SimulatorServer) -> int:
    return int(server.call(lambda s: s.clock.now_ns())) // 1_000_000_000


def _nse_open(server: SimulatorServer) -> bool:
    return bool(server.call(lambda s: s.clock.is_open(Exchange.NSE)))


def test_replay_starts_at_the_open_and_the_session_closes_at_1530_simulated(
    replay: SimulatorServer, real_clock: FakeClock
) -> None:
    assert _sim_time(replay) == int(ist(2026, 3, 2, 9, 15).timestamp())
    assert _nse_open(replay)
    real_clock.advance((6 * 60 + 14) * 60 / SPEED)  # 6 h 14 min simulated: 15:29
    assert _sim_time(replay) == int(ist(2026, 3, 2, 15, 29).timestamp())
    assert _nse_open(replay)
    real_clock.advance(60 / SPEED)
    assert not _nse_open(replay)


def test_the_intraday_cutoff_comes_at_1515_simulated(
    replay_api: ReplayApi, real_clock: FakeClock
) -> None:
    real_clock.advance((5 * 60 + 59) * 60 / SPEED)  # 15:14
    before = replay_api.place()["data"]
    assert replay_api.order(before["orderid"])["status"] == "open"
    real_clock.advance(60 / SPEED)  # 15:15
    after = replay_api.place()["data"]
    row = replay_api.order(after["orderid"])
    assert (row["status"], row["text"]) == ("rejected", INTRADAY_CLOSED_TEXT)
    assert replay_api.order(before["orderid"])["status"] == "cancelled"


def test_feed_timestamps_advance_sixty_simulated_seconds_per_real_second(
    replay_api: ReplayApi, real_clock: FakeClock
) -> None:
    async def body(session: aiohttp.ClientSession) -> list[int]:
        async with session.ws_connect(replay_api.server.ws_url, headers=_headers(replay_api)) as ws:
            await ws.send_str(_subscribe(int(Mode.LTP), {1: ["3045"]}))
            await ws.receive(timeout=DEADLINE_S)  # the snapshot
            stamps = []
            for _ in range(3):
                replay_api.server.advance(1)
                stamps.append(parse_packet((await ws.receive(timeout=DEADLINE_S)).data))
                real_clock.advance(1)
            return [p.exchange_ts_ms for p in stamps]

    stamps = run(body)
    open_ms = int(ist(2026, 3, 2, 9, 15).timestamp()) * 1000
    assert stamps == [open_ms, open_ms + 60_000, open_ms + 120_000]
