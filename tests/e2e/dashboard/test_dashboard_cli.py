"""`algo-trading dashboard add-user` and the dashboard's refusals at start (issue #12 item 2):
one `error:` line and exit code 2, never a traceback, never a password on the screen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from algo_trading.services.users import CHEAP_HASHER, DEMO_PASSWORD, hash_password, parse_users

ROOT = Path(__file__).resolve().parents[3]


def run(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALGO_")}
    base["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), base.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "algo_trading.cli.main", "dashboard", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=base | {f"ALGO_{k.upper()}": v for k, v in env.items()},
        timeout=120,
        check=False,
    )


def test_add_user_prints_the_line_to_store_and_never_the_password() -> None:
    result = run("add-user", "asha", "--role", "trader", stdin="a long secret phrase\n")
    assert result.returncode == 0, result.stderr
    assert "a long secret phrase" not in result.stdout + result.stderr
    store = parse_users(result.stdout, source="output")
    assert store.role_of("asha") == "trader"
    assert store.verify("asha", "a long secret phrase") is not None


@pytest.mark.parametrize(
    ("args", "password", "fragment"),
    [
        (("add-user", "asha", "--role", "admin"), "a long secret phrase", "role 'admin'"),
        (("add-user", "asha", "--role", "viewer"), "changeme", "well-known default"),
        (("add-user", "as ha", "--role", "viewer"), "a long secret phrase", "user name"),
    ],
)
def test_add_user_refuses_bad_input_on_one_line(
    args: tuple[str, ...], password: str, fragment: str
) -> None:
    result = run(*args, stdin=password + "\n")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert password not in result.stderr


PROD = {"profile": "prod", "database_url": "postgresql://app:Str0ng-and-long@127.0.0.1:1/x"}


@pytest.mark.parametrize(
    ("users", "fragment"),
    [
        ("", "ALGO_DASHBOARD_USERS: the prod profile needs dashboard users"),
        (f"demo:trader:{hash_password(DEMO_PASSWORD, hasher=CHEAP_HASHER)}", "demo user demo"),
        (f"ops:trader:{hash_password('password', hasher=CHEAP_HASHER)}", "default password"),
    ],
)
def test_prod_refuses_to_start_without_real_users(users: str, fragment: str) -> None:
    env = PROD | ({"dashboard_users": users} if users else {})
    result = run(**env)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
