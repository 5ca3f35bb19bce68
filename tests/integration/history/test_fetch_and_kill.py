"""`data fetch` against the simulator on loopback, as a user runs it (a real process): killed
with SIGKILL mid-way and restarted, it ends with the same Parquet bytes as a fetch never
interrupted; fetching again stores nothing twice. And the store itself: a writer killed at any
point leaves files a reader can read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.adapters.history.validate import validate_series
from algo_trading.cli.main import cli
from algo_trading.domain.instruments import Exchange
from algo_trading.engine.ports import BarKey
from algo_trading.market.calendar import calendar_for
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator
from tests.support import history_writer_victim as victim

SYMBOLS = "SBIN-EQ,TCS-EQ"
# Three 200-day requests per symbol: many requests, few candles to parse (a loaded machine)
INTERVAL, FROM, TO = "THIRTY_MINUTE", "2024-01-01", "2025-04-30"


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    config = dataclasses.replace(SimulatorConfig(), tick_interval_s=None)
    with running_simulator(config) as server:
        yield server.base_url


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALGO_")}
    env["ALGO_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    return env


def _fetch_args(
    url: str,
    store: Path,
    *extra: str,
    symbols: str = SYMBOLS,
    span: tuple[str, str] = (FROM, TO),
    interval: str = INTERVAL,
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "algo_trading.cli.main",
        "data",
        "fetch",
        "--symbol",
        symbols,
        "--from",
        span[0],
        "--to",
        span[1],
        "--broker-url",
        url,
        "--store",
        str(store),
        "--no-progress",
        "--interval",
        interval,
        *extra,
    ]


def _run(url: str, store: Path, data_dir: Path, *extra: str) -> Result:
    """The same command in this process (a loaded machine pays for each new interpreter)."""
    args = _fetch_args(url, store, *extra)[3:]  # without `python -m algo_trading.cli.main`
    return CliRunner().invoke(cli, args, env={"ALGO_DATA_DIR": str(data_dir)})


def _files(root: Path) -> dict[str, bytes]:
    """Every Parquet file and fetch record of the store, by relative path."""
    paths = [*root.rglob("*.parquet"), *root.rglob("fetched.json")]
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(paths)}


def _wait_for(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_fetch_killed_mid_way_and_restarted_ends_byte_identical(
    broker_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    whole = _run(broker_url, tmp_path / "whole", data_dir)
    assert whole.exit_code == 0, whole.output
    reference = _files(tmp_path / "whole")
    assert len(reference) == 4 + 2  # two symbols, two years each, and their records

    store = tmp_path / "killed"
    proc = subprocess.Popen(
        _fetch_args(broker_url, store),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(data_dir),
    )
    try:
        record = store / "exchange=NSE" / "symbol=SBIN-EQ" / f"interval={INTERVAL}" / "fetched.json"
        _wait_for(record.exists, 60, "the first request's candles to be stored")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, "the fetch ended before it could be killed"
    assert _files(store) != reference, "the kill must come before the fetch is complete"

    resumed = _run(broker_url, store, data_dir)
    assert resumed.exit_code == 0, resumed.output
    assert _files(store) == reference

    again = _run(broker_url, store, data_dir)
    assert again.exit_code == 0, again.output
    assert "nothing to fetch" in again.output
    forced = _run(broker_url, store, data_dir, "--force", "--progress")
    assert forced.exit_code == 0, forced.output
    assert "symbol 2/2 TCS-EQ" in forced.stderr
    assert "6/6 chunks" in forced.stderr
    assert "ETA" in forced.stderr
    assert f"SBIN-EQ:{INTERVAL}: 0 new bars" in forced.output
    assert _files(store) == reference


def test_fetched_minutes_cover_every_session_of_the_calendar(
    broker_url: str, tmp_path: Path
) -> None:
    args = _fetch_args(
        broker_url,
        tmp_path / "store",
        symbols="SBIN",  # a bare equity name finds its -EQ series
        span=("2025-01-01", "2025-02-28"),
        interval="ONE_MINUTE",
    )
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=120, check=False, env=_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    store = ParquetBarStore(tmp_path / "store")
    nse = calendar_for(Exchange.NSE)
    report = validate_series(store, BarKey("NSE", "SBIN-EQ", "ONE_MINUTE"), nse, 5)
    assert report.ok, report.findings
    days = nse.trading_days_between(dt.date(2025, 1, 1), dt.date(2025, 2, 28))
    assert report.bars == 375 * len(days)


@pytest.mark.parametrize("lines_before_kill", [1, 4])
def test_a_writer_killed_at_any_point_leaves_readable_files(
    tmp_path: Path, lines_before_kill: int
) -> None:
    root = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.history_writer_victim", str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert proc.stdout is not None
        for _ in range(lines_before_kill):
            assert proc.stdout.readline().strip()
        proc.send_signal(signal.SIGKILL)  # most likely in the middle of the next write
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    store = ParquetBarStore(root)
    got = store.read(victim.KEY)
    assert len(got) % victim.CHUNK == 0
    assert len(got) >= lines_before_kill * victim.CHUNK
    ref = victim.reference()
    assert np.array_equal(got.ts_ns, ref.ts_ns[: len(got)])
    assert np.array_equal(got.close, ref.close[: len(got)])


def test_an_unknown_symbol_is_one_line_and_exit_code_2(broker_url: str, tmp_path: Path) -> None:
    args = _fetch_args(broker_url, tmp_path / "store", symbols="SBIN-EQ,NOSUCHCO")[3:]
    result = CliRunner().invoke(cli, args, env={"ALGO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --symbol 'NOSUCHCO': the instrument master has no such symbol on NSE\n"
    )
    assert not (tmp_path / "store").exists(), "nothing fetched for the good symbol either"
