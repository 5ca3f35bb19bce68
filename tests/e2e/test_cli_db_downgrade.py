"""`algo-trading db downgrade` drops tables with their data, so it never does so by accident
(issue #9, point 10): at a terminal it asks and takes no for an answer; without a terminal it
needs `--yes`, and refuses in one line otherwise."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest


def env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALGO_")}
    env["ALGO_DATABASE_URL"] = url
    return env


def run_db(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", "db", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=env_for(url),
        stdin=subprocess.DEVNULL,
    )


def run_at_a_terminal(url: str, answer: str, *args: str) -> tuple[int, str]:
    """Run `db ARGS` with a pseudo-terminal as its stdin and stdout, answering the prompt."""
    main, side = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "algo_trading.cli.main", "db", *args],
        stdin=side,
        stdout=side,
        stderr=side,
        env=env_for(url),
    )
    os.close(side)
    seen = b""
    deadline = time.monotonic() + 120
    answered = False
    while True:
        ready, _, _ = select.select([main], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no output within the deadline: {seen!r}"
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"Continue?" in seen:
            os.write(main, answer.encode() + b"\n")
            answered = True
    os.close(main)
    return process.wait(timeout=120), seen.decode(errors="replace")


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'books.db'}"
    assert run_db(url, "upgrade").returncode == 0
    return url


def schema_is_current(url: str) -> bool:
    return run_db(url, "check").returncode == 0


def test_without_a_terminal_or_yes_it_refuses_in_one_line_and_drops_nothing(url: str) -> None:
    result = run_db(url, "downgrade", "base")

    assert result.returncode == 2
    assert result.stderr.startswith("error: db downgrade base would drop every table")
    assert "--yes" in result.stderr
    assert result.stderr.count("\n") == 1
    assert schema_is_current(url)


def test_with_yes_it_drops_without_asking(url: str) -> None:
    result = run_db(url, "downgrade", "base", "--yes")

    assert result.returncode == 0, result.stderr
    assert "empty schema" in result.stdout
    assert not schema_is_current(url)


def test_at_a_terminal_it_asks_and_a_no_changes_nothing(url: str) -> None:
    code, screen = run_at_a_terminal(url, "n", "downgrade", "base")

    assert code == 1
    assert "drops every table and all their data. Continue? [y/N]" in screen
    assert "nothing changed" in screen
    assert schema_is_current(url)


def test_at_a_terminal_a_yes_drops(url: str) -> None:
    code, screen = run_at_a_terminal(url, "y", "downgrade", "base")

    assert code == 0, screen
    assert not schema_is_current(url)
