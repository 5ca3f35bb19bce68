"""A Muhurat day (a trading holiday with its own short session) is a session, not an
off-session day: the simulator serves that day's candles in the calendar's Muhurat hours
(2025-10-21, Samvat 2082: 13:45-14:45 IST), `data fetch` stores them, and `data validate`
finds nothing wrong, on the one-minute grid and on the hour grid, which starts at 13:45 that
day rather than at 09:15."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.cli.main import cli
from algo_trading.domain.events import ns_to_ist
from algo_trading.domain.instruments import Exchange
from algo_trading.engine.ports import BarKey
from algo_trading.market.calendar import SessionKind, calendar_for
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator

MUHURAT = dt.date(2025, 10, 21)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    # the simulator's clock is the real one: the CLI's login TOTP is made on the host's clock
    # (any day after 2025-10-23 serves the whole range, as test_fetch_and_kill's does)
    config = dataclasses.replace(SimulatorConfig(), tick_interval_s=None)
    with running_simulator(config) as server:
        yield server.base_url


def test_the_calendar_has_the_muhurat_session_this_test_relies_on() -> None:
    session = calendar_for(Exchange.NSE).session_for(MUHURAT)
    assert session is not None
    assert session.kind is SessionKind.MUHURAT
    assert (session.continuous().start, session.continuous().end) == (
        dt.time(13, 45),
        dt.time(14, 45),
    )


@pytest.mark.parametrize(("interval", "per_day"), [("ONE_MINUTE", 60), ("ONE_HOUR", 1)])
def test_muhurat_candles_are_fetched_in_its_hours_and_validate_clean(
    broker_url: str, tmp_path: Path, interval: str, per_day: int
) -> None:
    store = tmp_path / "store"
    fetched = run(
        "data", "fetch", "--symbol", "SBIN", "--from", "2025-10-20", "--to", "2025-10-23",
        "--interval", interval, "--broker-url", broker_url, "--store", str(store),
        "--no-progress",
    )  # fmt: skip
    assert fetched.exit_code == 0, fetched.output
    bars = ParquetBarStore(store).read(BarKey("NSE", "SBIN-EQ", interval))
    days = np.array([ns_to_ist(int(t)).date() for t in bars.ts_ns])
    muhurat = [ns_to_ist(int(t)) for t in bars.ts_ns[days == MUHURAT]]
    assert len(muhurat) == per_day
    assert muhurat[0].time() == dt.time(13, 45)
    assert dt.date(2025, 10, 22) not in days  # Balipratipada: a holiday without a session
    checked = run("data", "validate", "--interval", interval, "--store", str(store))
    assert checked.exit_code == 0, checked.output
