"""The data service's after-close job tops up every series the history store holds, through
the same plan and run as `data fetch`: a new day's candles arrive, and a day topped up twice
stores nothing twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.domain.events import IST
from algo_trading.engine.ports import BarKey
from algo_trading.services.data_service import WallClock
from algo_trading.services.history_fetch import StoreTopUp
from algo_trading.services.settings import Settings
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator
from tests.support.history import make_bars


class FixedClock:
    def __init__(self, when: dt.datetime) -> None:
        self._ns = int(when.timestamp()) * 1_000_000_000

    def now_ns(self) -> int:
        return self._ns


def test_a_day_is_topped_up_once_for_each_stored_series(tmp_path: Path) -> None:
    root = tmp_path / "market-data" / "historical"
    store = ParquetBarStore(root)
    key = BarKey("NSE", "SBIN-EQ", "FIFTEEN_MINUTE")
    day = dt.date(2025, 3, 4)  # a Tuesday, a trading day
    before = dt.datetime(2025, 3, 3, 9, 15, tzinfo=IST)
    store.write(key, make_bars("SBIN-EQ", int(before.timestamp()) * 10**9, 3, step_s=900))
    config = dataclasses.replace(SimulatorConfig(), tick_interval_s=None)
    with running_simulator(config) as server:
        settings = Settings(data_dir=tmp_path, broker_url=server.base_url)
        # the real clock: the simulator checks the login's TOTP against it; the day asked for
        # is in the past whenever this runs
        topup = StoreTopUp(settings, environ={}, clock=WallClock())
        first = topup(day)
        again = topup(day)
    bars = store.read(key)
    on_day = [
        t for t in bars.ts_ns.tolist() if dt.datetime.fromtimestamp(t / 1e9, IST).date() == day
    ]
    assert len(on_day) == 25  # 09:15 to 15:15, every fifteen minutes
    assert "1 series topped up" in first
    assert "25 new bars" in first
    assert "0 new bars" in again


def test_an_empty_store_has_nothing_to_top_up(tmp_path: Path) -> None:
    topup = StoreTopUp(
        Settings(data_dir=tmp_path),
        environ={},
        clock=FixedClock(dt.datetime(2025, 3, 5, tzinfo=IST)),
    )
    assert "nothing stored yet" in topup(dt.date(2025, 3, 4))
