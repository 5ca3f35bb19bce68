"""Real `algo-trading trade --config FILE` processes for the resilience tests: a folder with the
config and the strategy file (`flipper.py`), the environment (PostgreSQL, the account, the
instance id, leases), and the process's JSON log read line by line on a thread."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.types import ns_to_datetime
from tests.support.victims import Lines, Truth, truth

REPO = Path(__file__).resolve().parents[3]
FLIPPER = Path(__file__).with_name("flipper.py")
ORDERS = metadata.tables["orders"]

__all__ = [
    "TradeProcess",
    "config_text",
    "intents_of",
    "order_ids",
    "prepare_folder",
    "trade_env",
    "unresolved",
]


def config_text(sim_url: str, strategies: Mapping[str, tuple[str, ...]], *, active: bool) -> str:
    """A paper config: one flipper per id, on its symbols, trading when `active`."""
    parts = ['mode = "paper"', "[broker]", 'kind = "simulator"', f'url = "{sim_url}"']
    for sid, symbols in strategies.items():
        quoted = ", ".join(f'"{s}"' for s in symbols)
        parts += [
            "[[strategies]]",
            f'id = "{sid}"',
            'strategy = "flipper.py:Flipper"',
            f"symbols = [{quoted}]",
            'exchange = "NSE"',
            'product = "intraday"',
            "quantity = 1",
            f"params = {{ every = 3, active = {'true' if active else 'false'} }}",
        ]
    return "\n".join(parts) + "\n"


def prepare_folder(folder: Path, configs: Mapping[str, str]) -> Path:
    """The service's working folder: the strategy file and each named config."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FLIPPER, folder / "flipper.py")
    for name, text in configs.items():
        (folder / name).write_text(text)
    return folder


def trade_env(db_url: str, *, account: str, instance: str, **extra: str) -> dict[str, str]:
    """The environment of one instance: no ALGO_* of the caller's, PostgreSQL, a fixed
    instance id (a restarted process is the same instance), the market always open, JSON
    logs on stderr, health on any free port."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALGO_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p
    )
    env.update(
        ALGO_DATABASE_URL=db_url,
        ALGO_ACCOUNT=account,
        ALGO_INSTANCE_ID=instance,
        ALGO_MARKET_ALWAYS_OPEN="true",
        ALGO_WARM_UP="false",
        ALGO_HEALTH_PORT="0",
        ALGO_LOG_FORMAT="json",
    )
    env.update(extra)
    return env


class TradeProcess:
    """One `algo-trading trade --config FILE` process; its stderr (the JSON log) in `log`,
    each line parsed in `records()`."""

    def __init__(self, folder: Path, config: str, env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "algo_trading.cli.main", "trade", "--config", config],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        self.log = Lines(self.proc.stderr)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signum)

    def mark(self) -> int:
        """Where the log is now: `wait_for(..., after=mark())` waits for a later line."""
        self.log.drain()
        return len(self.log.seen)

    def wait_for(self, words: str, timeout_s: float, after: int = 0) -> str:
        """The first log line from index `after` on containing `words` (fails the test, with
        the log's tail, when none comes in time or the process ends first)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for line in self.lines(words, after):
                return line
            if self.proc.poll() is not None:
                self.log.join()
                found = self.lines(words, after)
                if found:
                    return found[0]
                tail = "\n".join(self.log.seen[-20:])
                pytest.fail(f"the service ended ({self.proc.returncode}) before {words!r}:\n{tail}")
            if time.monotonic() > deadline:
                tail = "\n".join(self.log.seen[-20:])
                pytest.fail(f"no {words!r} in the service's log within {timeout_s}s:\n{tail}")
            time.sleep(0.02)

    def lines(self, words: str, after: int = 0) -> list[str]:
        self.log.drain()
        return [line for line in list(self.log.seen)[after:] if words in line]

    def records(
        self, where: Callable[[dict[str, Any]], bool] = lambda _r: True
    ) -> list[dict[str, Any]]:
        self.log.drain()
        found = []
        for line in list(self.log.seen):
            if not line.startswith("{"):
                continue
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if where(record):
                    found.append(record)
        return found

    def kill(self) -> int:
        """SIGKILL and reap; the signal that ended it (9), or -exit code."""
        self.signal(signal.SIGKILL)
        return self.reap()

    def reap(self, timeout_s: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self.log.join()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return -code

    def end(self) -> None:
        """Whatever state it is in, gone (SIGCONT first: a stopped process ignores SIGKILL
        until it runs)."""
        if self.proc.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.reap(10)


def unresolved(db: Database, account: str) -> list[str]:
    with SqlUnitOfWork(db, read_only=True) as uow:
        return [o.client_order_id for o in uow.orders.unresolved(account)]


def intents_of(db: Database, account: str, owner: str, since_ns: int) -> list[str]:
    """Client order ids of the intents `owner` (an instance, by its lease) recorded from
    `since_ns` on."""
    with SqlUnitOfWork(db, read_only=True) as uow:
        rows = uow.connection.execute(
            select(ORDERS.c.client_order_id).where(
                ORDERS.c.account == account,
                ORDERS.c.lease_owner == owner,
                ORDERS.c.created_at >= ns_to_datetime(since_ns),
            )
        )
        return [r.client_order_id for r in rows]


def order_ids(db: Database, account: str) -> set[str]:
    """Every intent of the account (each order the service decided to place)."""
    with SqlUnitOfWork(db, read_only=True) as uow:
        rows = uow.connection.execute(
            select(ORDERS.c.client_order_id).where(ORDERS.c.account == account)
        )
        return {r.client_order_id for r in rows}


def settle_then_stop(
    settle: TradeProcess, account: Any, db: Database, account_name: str, *, start_s: float
) -> Truth:
    """The last, non-trading life: wait until its recovery and reconciliation leave nothing in
    doubt (no unresolved intent, no missing fill, positions equal), then SIGTERM it, which
    must exit 0. Returns the books as found then."""
    settle.wait_for("trading service started", start_s)
    deadline = time.monotonic() + 60
    while True:
        found = truth(account, db, account_name)
        if not (found.unresolved or found.missing_fills or found.position_differences()):
            break
        assert time.monotonic() < deadline, f"not settled: {found}"
        time.sleep(0.5)
    settle.signal(signal.SIGTERM)
    assert settle.reap(60) == 0, "\n".join(settle.log.seen[-20:])
    return found
