"""`algo-trading data-service` as an operator runs it (real processes): `--check` is one line
and exit code 2 for an unreachable Redis (no password shown), 0 when everything answers; the
daemon serves /healthz on its own port and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.redis_servers import private_redis


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGO_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    env["ALGO_DATA_DIR"] = str(tmp_path / "var")
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", "data-service", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env,
    )


def test_check_with_an_unreachable_redis_is_one_line_and_exit_2(tmp_path: Path) -> None:
    port = _free_port()
    url = f"redis://:s3cret-pass@127.0.0.1:{port}/0"
    result = _run(_env(tmp_path, ALGO_REDIS_URL=url), "--check")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"redis://127.0.0.1:{port}/0" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_check_passes_with_redis_and_the_local_store(tmp_path: Path) -> None:
    with private_redis(tmp_path) as redis:
        result = _run(_env(tmp_path, ALGO_REDIS_URL=redis.url), "--check")
    assert result.returncode == 0, result.stderr
    assert "object store: LocalObjectStore" in result.stdout


def test_the_daemon_serves_healthz_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(tmp_path, ALGO_DATA_HEALTH_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "algo_trading.cli.main", "data-service"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status = r.status
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"the service exited: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.1)
        assert status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
