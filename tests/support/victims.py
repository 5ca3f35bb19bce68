"""Reading a trading process's output line by line, and the truth after a resilience test: the
simulator's books (over HTTP, as Angel One's) against the database's."""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

import pytest
from sqlalchemy import select

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import AngelOneConfig, AngelOneCredentials
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork
from algo_trading.adapters.storage.sql.books import stored_positions
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
)

TRADES = metadata.tables["trades"]
ORDERS = metadata.tables["orders"]


class Lines:
    """A process's stdout, line by line, read on a thread so a test can wait with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self._q: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join(timeout=10)

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._q.put(line.rstrip("\n"))

    def drain(self) -> None:
        while True:
            try:
                line = self._q.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                self.seen.append(line)

    def wait_for(self, prefix: str, timeout_s: float, after: int = 0) -> str:
        """The first line from index `after` on starting with `prefix`."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                for line in self.seen[after:]:
                    if line.startswith(prefix):
                        return line
            left = deadline - time.monotonic()
            if left <= 0:
                tail = "\n".join(self.seen[-15:])
                pytest.fail(f"no {prefix!r} line within {timeout_s}s; last lines:\n{tail}")
            try:
                line = self._q.get(timeout=min(left, 0.05))
            except queue.Empty:
                continue
            with self._lock:
                self.seen.append(line)

    def count(self, prefix: str) -> int:
        self.drain()
        with self._lock:
            return sum(1 for line in self.seen if line.startswith(prefix))

    def lines(self, prefix: str) -> list[str]:
        self.drain()
        with self._lock:
            return [line for line in self.seen if line.startswith(prefix)]


def broker_account(base_url: str) -> tuple[AngelOneAccount, AngelOneHttp]:
    ws = base_url.replace("http://", "ws://")
    config = AngelOneConfig(
        rest_base_url=base_url,
        feed_ws_url=ws + "/smart-stream",
        order_ws_url=ws + "/smart-order-update",
        instrument_master_url=base_url + "/OpenAPI_File/files/OpenAPIScripMaster.json",
        timeout_s=5.0,
        retry_initial_s=0.05,
    )
    http = AngelOneHttp(config)
    creds = AngelOneCredentials(
        api_key=DEMO_API_KEY,
        client_code=DEMO_CLIENT_CODE,
        mpin=DEMO_MPIN,
        totp_secret=DEMO_TOTP_SECRET,
    )

    class Clock:
        def now_ns(self) -> int:
            return time.time_ns()

    session = AngelOneSession(http, creds, Clock())
    session.login()
    return AngelOneAccount(session), http


@dataclass
class Truth:
    """What the books hold at the end, broker's and ours, and what disagrees."""

    broker_tags: Counter[str]
    broker_fills: set[str]
    broker_positions: dict[str, int]
    db_tags: set[str]
    db_fills: set[str]
    db_positions: dict[str, int]
    unresolved: list[str]
    unattributed: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> dict[str, int]:
        return {t: n for t, n in self.broker_tags.items() if n > 1}

    @property
    def missing_fills(self) -> set[str]:
        return self.broker_fills - self.db_fills

    @property
    def orders_without_intent(self) -> set[str]:
        return set(self.broker_tags) - self.db_tags

    def position_differences(self) -> dict[str, tuple[int, int]]:
        symbols = set(self.broker_positions) | set(self.db_positions)
        return {
            s: (self.db_positions.get(s, 0), self.broker_positions.get(s, 0))
            for s in symbols
            if self.db_positions.get(s, 0) != self.broker_positions.get(s, 0)
        }


def truth(account: AngelOneAccount, db: Database, account_name: str) -> Truth:
    book = account.order_book()
    fills = account.trade_book()
    positions: Counter[str] = Counter()
    for row in account.positions():
        positions[row.symbol] += row.net_quantity
    with SqlUnitOfWork(db, read_only=True) as uow:
        conn = uow.connection
        db_tags = {
            r.tag
            for r in conn.execute(select(ORDERS.c.tag).where(ORDERS.c.account == account_name))
        }
        db_fills = {
            r.trade_id
            for r in conn.execute(select(TRADES.c.trade_id).where(TRADES.c.account == account_name))
        }
        unresolved = [str(o.client_order_id) for o in uow.orders.unresolved(account_name)]
    ours: Counter[str] = Counter()
    unattributed = []
    for p in stored_positions(db, account_name):
        ours[p.symbol] += p.quantity
        if p.strategy_id == "unattributed":
            unattributed.append(f"{p.symbol} {p.quantity}")
    return Truth(
        Counter(r.tag for r in book),
        {f.fill_id for f in fills},
        {s: q for s, q in positions.items() if q},
        db_tags,
        db_fills,
        {s: q for s, q in ours.items() if q},
        unresolved,
        unattributed,
    )


__all__ = ["Lines", "Truth", "broker_account", "truth"]
