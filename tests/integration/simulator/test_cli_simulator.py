"""`algo-trading simulator` as an operator runs it: a real process on 127.0.0.1 that prints its
URLs and demo credentials, takes a login with a TOTP of the printed secret, and stops cleanly
(exit code 0, no child left) on SIGINT or SIGTERM; a bad option or a port in use is one `error:`
line, exit 2; credentials other than the demo ones are printed masked."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from algo_trading.cli.simulator import banner
from algo_trading.simulator import SimulatorConfig, SimulatorServer
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
)

LOGIN = "/rest/auth/angelbroking/user/v1/loginByPassword"
DEADLINE_S = 60.0


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "algo_trading.cli.main", "simulator", *args]


class Lines:
    """The process's stdout, read on a thread so that a test can wait for a line with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        stream = proc.stdout
        self._reader = threading.Thread(target=self._read, args=(stream,))
        self._reader.start()

    def _read(self, stream: Iterable[str]) -> None:
        for line in stream:
            self._queue.put(line)

    def join(self) -> None:
        self._reader.join(timeout=DEADLINE_S)

    def wait_for(self, prefix: str) -> str:
        deadline = time.monotonic() + DEADLINE_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line.strip()
        raise AssertionError(f"no line starting {prefix!r} within {DEADLINE_S} s")


@pytest.fixture
def simulator() -> Iterator[tuple[subprocess.Popen[str], Lines]]:
    with subprocess.Popen(
        _command("--port", "0", "--always-open", "--host", "127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        lines = Lines(proc)
        try:
            yield proc, lines
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=DEADLINE_S)
            lines.join()


def _children(pid: int) -> list[str]:
    return [
        child
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_printed_url_and_demo_secret_log_in_and_a_signal_stops_it_with_code_0(
    simulator: tuple[subprocess.Popen[str], Lines], signum: signal.Signals
) -> None:
    proc, lines = simulator
    rest_url = lines.wait_for("REST").split()[-1]
    assert rest_url.startswith("http://127.0.0.1:")
    credentials = lines.wait_for("credentials").split()
    secret = credentials[credentials.index("secret") + 1]
    client_code = credentials[credentials.index("code") + 1]
    api_key = credentials[credentials.index("key") + 1]
    mpin = credentials[credentials.index("MPIN") + 1]

    body = {"clientcode": client_code, "password": mpin, "totp": pyotp.TOTP(secret).now()}
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        rest_url + LOGIN,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-PrivateKey": api_key, "X-UserType": "USER"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=DEADLINE_S) as reply:  # noqa: S310 - loopback
        answer = json.loads(reply.read())
    assert answer["status"] is True, answer
    assert answer["data"]["jwtToken"]
    assert _children(proc.pid) == []  # it serves from one process

    proc.send_signal(signum)
    assert proc.wait(timeout=DEADLINE_S) == 0
    assert lines.wait_for("simulator stopped") == "simulator stopped"
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


@pytest.mark.parametrize(
    ("args", "fact"),
    [
        (("--port", "-1"), "--port"),
        (("--port", "0", "--replay-day", "2026-03-01"), "not a trading day"),
    ],
)
def test_a_bad_option_is_one_error_line_and_exit_code_2(args: tuple[str, ...], fact: str) -> None:
    result = subprocess.run(
        _command(*args),
        capture_output=True,
        text=True,
        check=False,
        timeout=DEADLINE_S,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert fact in result.stderr
    assert result.stdout == ""


def test_a_port_in_use_is_one_error_line_and_exit_code_2() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            _command("--port", str(port), "--always-open"),
            capture_output=True,
            text=True,
            check=False,
            timeout=DEADLINE_S,
        )
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"error: cannot listen on 127.0.0.1:{port}: address already in use\n"
    assert result.stdout == ""


def test_the_banner_prints_demo_credentials_and_masks_chosen_ones() -> None:
    chosen: dict[str, Any] = {
        "api_key": "operator-chosen-api-key-7731",
        "client_code": "A7654321",
        "mpin": "9876",
        "totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    }
    demo_line = banner(SimulatorServer(SimulatorConfig(tick_interval_s=None)))[-1]
    chosen_line = banner(SimulatorServer(SimulatorConfig(tick_interval_s=None, **chosen)))[-1]
    for value in (DEMO_API_KEY, DEMO_CLIENT_CODE, DEMO_MPIN, DEMO_TOTP_SECRET):
        assert value in demo_line.split()
    for value in chosen.values():
        assert value not in chosen_line
    assert chosen_line == (
        "credentials api key ****7731  client code ****  MPIN ****  TOTP secret ****3PXP"
    )
