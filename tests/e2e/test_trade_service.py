"""The trading service as an operator runs it: a real process of `algo-trading trade` against a
simulator (always open), and `algo-trading run` (the local stack of `make run`). It logs in,
reconciles, trades, answers /readyz and /metrics, and SIGTERM or Ctrl-C stop it with exit code
0. The README's full config example is a valid config."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from algo_trading.services.settings import Settings
from algo_trading.services.simulator_thread import SimulatorThread
from algo_trading.services.trade_config import default_master, parse_trade_config
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.server import SimulatorServer

ROOT = Path(__file__).resolve().parents[2]
DAY = __import__("datetime").date(2025, 11, 4)

CONFIG = """
mode = "paper"
[broker]
kind = "simulator"
url = "URL"
[[strategies]]
id = "sma-fast"
strategy = "sma_crossover"
symbols = ["SBIN-EQ", "INFY-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 1
interval = "1m"
params = { fast = 2, slow = 3, allow_short = true }
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALGO_")}
    return {**env, **extra}


def _wait(condition: object, timeout_s: float, what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if proc.poll() is not None:
            _out, err = proc.communicate()
            pytest.fail(f"the process ended ({proc.returncode}) before {what}: {err[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            _out, err = proc.communicate()
            pytest.fail(f"timed out waiting for {what}: {err[-2000:]}")
        time.sleep(0.2)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback only
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    sim = SimulatorThread(SimulatorConfig(port=0, always_open=True, tick_interval_s=0.02))
    server = sim.start()
    try:
        yield server
    finally:
        sim.stop()


def _orders(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_trade_runs_against_the_simulator_and_sigterm_stops_it_with_exit_0(
    simulator: SimulatorServer, tmp_path: Path
) -> None:
    (tmp_path / "paper.toml").write_text(CONFIG.replace("URL", simulator.base_url))
    health = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "algo_trading.cli.main", "trade", "--config", "paper.toml"],
        cwd=tmp_path,
        env=_env(
            ALGO_MARKET_ALWAYS_OPEN="true",
            ALGO_HEALTH_PORT=str(health),
            ALGO_WARM_UP="true",
            ALGO_INSTANCE_ID="e2e-trade",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = f"http://127.0.0.1:{health}/readyz"
        _wait(lambda: _get(ready)[0] == 200, 90, "/readyz to answer 200", proc)
        body = json.loads(_get(ready)[1])
        assert body["status"] == "ready"
        names = {check["name"] for check in body["checks"]}
        assert names >= {"broker_session", "feed", "database", "leases"}
        metrics_url = f"http://127.0.0.1:{health}/metrics"

        def published() -> bool:
            text = _get(metrics_url)[1]
            return 'algo_feed_lag_seconds{feed="market"}' in text and (
                'algo_realised_pnl_rupees{strategy="sma-fast"}' in text
            )

        # Ticks flow: the feed lag and the strategy's P&L are published.
        _wait(published, 60, "the feed lag and the strategy's P&L in /metrics", proc)
        assert _orders(tmp_path / "var" / "algo_trading.db") >= 0
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert "trading service stopped" in out
    assert "Traceback" not in err
    # JSON log lines, each naming this instance.
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines
    assert all(line.get("instance_id") == "e2e-trade" for line in lines if "instance_id" in line)
    assert any(line.get("instance_id") == "e2e-trade" for line in lines)


def test_run_starts_the_local_stack_prints_where_everything_is_and_ctrl_c_stops_it(
    tmp_path: Path,
) -> None:
    health, dashboard, data = _free_port(), _free_port(), _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "algo_trading.cli.main",
            "run",
            "--port",
            "0",
            "--dashboard-port",
            str(dashboard),
            "--data-port",
            str(data),
        ],
        cwd=tmp_path,
        env=_env(ALGO_HEALTH_PORT=str(health), ALGO_WARM_UP="false"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(
            lambda: _get(f"http://127.0.0.1:{health}/healthz")[0] == 200,
            90,
            "/healthz of the stack's service",
            proc,
        )
        # the whole local stack: the data service and the dashboard answer too
        _wait(
            lambda: _get(f"http://127.0.0.1:{data}/healthz")[0] == 200, 90, "the data service", proc
        )
        _wait(
            lambda: _get(f"http://127.0.0.1:{dashboard}/_stcore/health")[0] == 200,
            90,
            "the dashboard",
            proc,
        )
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    for words in (
        "REST        http://127.0.0.1:",
        "credentials api key sim-demo-api-key",
        f"http://127.0.0.1:{health}/metrics",
        "var/logs/trading.log",
        "SQLite database var/algo_trading.db",
        "trading service stopped",
        "simulator stopped",
        f"http://127.0.0.1:{dashboard}",
        "demo / demo-password (trader)",
        "dashboard stopped",
        "data service stopped",
    ):
        assert words in out, out
    assert "Traceback" not in err
    log = (tmp_path / "var" / "logs" / "trading.log").read_text()
    assert "trading service started" in log
    assert (tmp_path / "var" / "demo.toml").exists()


def test_the_readmes_full_config_example_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Trading (`algo-trading trade`)") :]
    text = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = parse_trade_config(
        text,
        source="README.md",
        base_dir=tmp_path,
        today=DAY,
        settings=Settings(),
        master=default_master(DAY),
    )
    assert [s.id for s in config.strategies] == ["sma-banks", "rsi-it"]
    assert config.broker.kind == "simulator"
