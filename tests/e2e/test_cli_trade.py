"""`algo-trading trade --config FILE [--live] [--check]` as a user meets it: a real process and
real files. A bad config, a live run without confirmation or credentials, a bad setting: one
`error:` line naming the file and the key, exit code 2, no traceback, and nothing sent - every
config here points its broker at a loopback listener that must see no connection at all.

A valid config exits 0 with --check; without it the service starts, and a broker it cannot
reach at start is one `error:` line and exit 2 as well (tests/e2e/test_trade_service.py runs
it against a simulator). The processes run side by side, since each mostly imports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.trade_configs import BAD_CONFIGS, EXAMPLE, edited

# One bad config of each kind through the real command (the loader's tests take every case).
CLI_CASES = (
    "toml-syntax",
    "unknown-top-level-key",
    "unknown-broker-key",
    "credential-in-the-file",
    "unknown-strategy-key",
    "unknown-strategy-risk-key",
    "unknown-strategy",
    "strategy-file-missing",
    "unknown-parameter",
    "parameter-quoted-number",
    "parameters-impossible-together",
    "symbol-not-in-master",
    "index-is-not-tradable",
    "unknown-exchange",
    "unknown-product",
    "quantity-zero",
    "quantity-quoted",
    "interval-in-seconds",
    "id-with-a-space",
    "id-twice",
    "mode-missing",
    "strategies-a-table-not-an-array",
    "url-plain-http-to-another-host",
    "url-with-credentials",
    "angelone-in-paper-mode",
    "limit-negative",
    "limit-finer-than-a-paisa",
    "daily-loss-above-capital",
    "window-before-the-open",
    "breaker-without-its-window",
)
FAKE_CREDENTIALS = {
    "ALGO_ANGELONE_API_KEY": "test-api-key-not-real",
    "ALGO_ANGELONE_CLIENT_CODE": "T0000",
    "ALGO_ANGELONE_MPIN": "0000",
    "ALGO_ANGELONE_TOTP_SECRET": "TESTTOTPSECRETNOTREAL234567ABCDE",
}
LIVE = edited('kind = "simulator"', 'kind = "angelone"', edited('mode = "paper"', 'mode = "live"'))
LIVE = LIVE.replace('url = "http://127.0.0.1:8765"', "")


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLOSED_PORT = _closed_port()


class Listener:
    """A loopback TCP port that counts the connections made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@dataclass(frozen=True)
class Run:
    text: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def run_trade(folder: Path, name: str, run: Run, port: int) -> subprocess.CompletedProcess[str]:
    config = folder / f"{name}.toml"
    config.write_text(run.text.replace("127.0.0.1:8765", f"127.0.0.1:{port}"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALGO_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "algo_trading.cli.main",
            "trade",
            "--config",
            config.name,
            *run.args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=folder,
        env={**env, **run.env},
    )


RUNS: dict[str, Run] = {name: Run(BAD_CONFIGS[name].text) for name in CLI_CASES}
RUNS |= {
    "live-unconfirmed": Run(LIVE, (), FAKE_CREDENTIALS),
    "live-without-credentials": Run(LIVE, ("--live",), {"ALGO_ANGELONE_API_KEY": "k-not-real"}),
    "live-flag-on-paper": Run(EXAMPLE, ("--live", "--check")),
    "live-confirmed-by-environment": Run(
        LIVE, ("--check",), {**FAKE_CREDENTIALS, "ALGO_LIVE_CONFIRM": "yes"}
    ),
    "valid-check": Run(EXAMPLE, ("--check",)),
    "broker-unreachable": Run(
        EXAMPLE.replace("127.0.0.1:8765", f"127.0.0.1:{CLOSED_PORT}"),
        (),
        {"ALGO_HEALTH_PORT": "0", "ALGO_WARM_UP": "false"},
    ),
    "unknown-setting": Run(EXAMPLE, ("--check",), {"ALGO_BROKR_KIND": "simulator"}),
    "missing-file": Run(EXAMPLE, ("--config", "nowhere.toml")),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("trade")
    listener = Listener()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {
                name: pool.submit(run_trade, folder, name, run, listener.port)
                for name, run in RUNS.items()
            }
            done: dict[str, object] = {name: f.result() for name, f in futures.items()}
    finally:
        listener.close()
    done["connections"] = listener.connections
    return done


def one_error_line(result: object) -> str:
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("name", CLI_CASES)
def test_a_bad_config_is_one_line_naming_the_key_and_exit_2(
    results: dict[str, object], name: str
) -> None:
    case = BAD_CONFIGS[name]
    line = one_error_line(results[name])
    where = f"error: {name}.toml: {case.path}: " if case.path else f"error: {name}.toml: "
    assert line.startswith(where), line
    for word in case.words:
        assert word in line, f"{word!r} not in {line!r}"
    if case.secret:
        assert case.secret not in line


def test_at_least_25_kinds_of_bad_config_go_through_the_real_command() -> None:
    assert len(set(CLI_CASES)) >= 25


def test_live_without_confirmation_says_how_to_confirm(results: dict[str, object]) -> None:
    line = one_error_line(results["live-unconfirmed"])
    assert 'mode = "live" needs confirmation: add --live or set ALGO_LIVE_CONFIRM=yes' in line


def test_live_without_credentials_names_the_missing_ones_only(
    results: dict[str, object],
) -> None:
    line = one_error_line(results["live-without-credentials"])
    assert line.endswith("angelone_client_code, angelone_mpin, angelone_totp_secret")
    assert "k-not-real" not in line


def test_live_flag_on_a_paper_config_is_refused(results: dict[str, object]) -> None:
    assert 'mode = "paper" but --live was given' in one_error_line(results["live-flag-on-paper"])


def test_a_confirmed_live_config_with_credentials_is_valid(results: dict[str, object]) -> None:
    result = results["live-confirmed-by-environment"]
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 0, result.stderr
    assert "valid: live mode, broker angelone" in result.stdout
    assert all(v not in result.stdout + result.stderr for v in FAKE_CREDENTIALS.values())


def test_check_validates_the_issues_example_and_exits_0(results: dict[str, object]) -> None:
    result = results["valid-check"]
    assert isinstance(result, subprocess.CompletedProcess)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("valid-check.toml: valid: paper mode, broker simulator")


def test_without_check_a_broker_it_cannot_reach_is_one_line_and_exit_2(
    results: dict[str, object],
) -> None:
    result = results["broker-unreachable"]
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.returncode == 2, result.stderr
    assert "valid: paper mode" in result.stdout
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert f"127.0.0.1:{CLOSED_PORT}" in errors[0]


def test_an_unknown_setting_is_one_line_and_exit_2(results: dict[str, object]) -> None:
    assert "unknown setting ALGO_BROKR_KIND" in one_error_line(results["unknown-setting"])


def test_a_missing_file_is_one_line_and_exit_2(results: dict[str, object]) -> None:
    line = one_error_line(results["missing-file"])
    assert line.startswith("error: nowhere.toml: cannot read the config file")


def test_nothing_was_sent_to_the_broker(results: dict[str, object]) -> None:
    assert results["connections"] == 0
