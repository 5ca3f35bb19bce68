"""`algo-trading db upgrade | downgrade | check`, and the one-line errors for a database that
can't be reached or refuses the password (host and database named, the password never)."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from algo_trading.cli.main import cli

PASSWORD = "s3cret-Hunter2"  # noqa: S105 - a password the output must never show


def _run(url: str, *args: str) -> Result:
    env: dict[str, str | None] = {k: None for k in os.environ if k.upper().startswith("ALGO_")}
    env["ALGO_DATABASE_URL"] = url
    return CliRunner().invoke(cli, ["db", *args], env=env)


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert PASSWORD not in result.output
    return lines[0]


def test_upgrade_check_and_downgrade_report_the_schema_version(empty_url: str) -> None:
    before = _one_line_error(_run(empty_url, "check"))
    assert "no schema yet" in before
    assert "run `algo-trading db upgrade`" in before
    up = _run(empty_url, "upgrade")
    assert up.exit_code == 0, up.output
    assert "to revision 0003" in up.stdout
    checked = _run(empty_url, "check")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines()[1:] == [
        "connection: ok",
        "schema: 0003 (this code needs 0003)",
        "status: up to date",
    ]
    down = _run(empty_url, "downgrade", "base")
    assert down.exit_code == 0, down.output
    assert "run `algo-trading db upgrade`" in _one_line_error(_run(empty_url, "check"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_database_is_one_line_naming_host_and_database() -> None:
    port = _closed_port()
    url = f"postgresql://trader:{PASSWORD}@127.0.0.1:{port}/books"
    line = _one_line_error(_run(url, "check"))
    assert line.startswith(f'error: cannot connect to database "books" on 127.0.0.1:{port}')


class _PasswordRefusingServer:
    """Speaks just enough of the PostgreSQL protocol to ask for a password and refuse it, as a
    server with password authentication does (this machine's PostgreSQL trusts everyone)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.passwords: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                self._refuse(conn)

    def _refuse(self, conn: socket.socket) -> None:
        while True:  # SSL and GSS encryption requests are declined, then comes the startup
            (length,) = struct.unpack("!i", _read(conn, 4))
            body = _read(conn, length - 4)
            if struct.unpack("!i", body[:4])[0] in (80877103, 80877104):
                conn.sendall(b"N")
                continue
            break
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # cleartext password, please
        tag = _read(conn, 1)
        (length,) = struct.unpack("!i", _read(conn, 4))
        if tag == b"p":
            self.passwords.append(_read(conn, length - 4).rstrip(b"\0"))
        fields = (
            b"SFATAL\0VFATAL\0C28P01\0" + b'Mpassword authentication failed for user "trader"\0'
        )
        conn.sendall(b"E" + struct.pack("!i", len(fields) + 5) + fields + b"\0")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


@pytest.fixture
def refusing_server() -> Iterator[_PasswordRefusingServer]:
    server = _PasswordRefusingServer()
    yield server
    server.close()


def test_a_wrong_password_is_one_line_that_never_shows_the_password(
    refusing_server: _PasswordRefusingServer,
) -> None:
    url = f"postgresql://trader:{PASSWORD}@127.0.0.1:{refusing_server.port}/books"
    line = _one_line_error(_run(url, "check"))
    assert line == (
        f'error: cannot connect to database "books" on 127.0.0.1:{refusing_server.port} '
        'as trader: password authentication failed for user "trader"'
    )
    assert refusing_server.passwords == [PASSWORD.encode()]  # it was really sent, and refused


def test_a_sqlite_file_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    line = _one_line_error(_run(f"sqlite:///{blocker}/algo.db", "upgrade"))
    assert line.startswith(f"error: cannot use SQLite database {blocker}/algo.db")


def test_the_installed_command_checks_a_migrated_database(migrated_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALGO_")}
    env["ALGO_DATABASE_URL"] = migrated_url
    done = subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", "db", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "status: up to date"
