"""A process killed with SIGKILL between "intent committed" and "sent", and between "sent"
and "acknowledged", leaves rows from which reconciliation rebuilds the truth."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork
from algo_trading.domain import ClientOrderId, OrderEvent, OrderStatus, ProductType, StrategyId
from algo_trading.engine.reconciliation import (
    BrokerOrder,
    BrokerTrade,
    NeverSentPolicy,
    Verdict,
    reconcile,
)
from tests.support.fakes import FakeBroker
from tests.support.storage import make_manager
from tests.support.storage_crash_victim import FILL_PRICE_PAISE, QUANTITY, SYMBOL

REPO = Path(__file__).resolve().parents[3]
RECONCILED_AT_NS = 1_800_000_000_000_000_000
DEADLINE_S = 30.0


def _kill_at(word: str, argv: list[str]) -> int:
    """Start the victim, wait (with a deadline) until it says `word`, SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.storage_crash_victim", *argv],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + DEADLINE_S
            line = ""
            while not line and time.monotonic() < deadline and proc.poll() is None:
                if sel.select(timeout=0.5):
                    line = proc.stdout.readline().strip()
        if line != word:
            proc.kill()
            proc.wait()
            pytest.fail(f"the victim said {line!r}, not {word!r}: {proc.stderr.read()}")
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def _broker_books(book: Path) -> tuple[list[BrokerOrder], list[BrokerTrade]]:
    orders, trades = [], []
    lines = book.read_text(encoding="utf-8").splitlines() if book.exists() else []
    for row in map(json.loads, lines):
        if row["kind"] == "order":
            orders.append(
                BrokerOrder(
                    row["tag"],
                    row["broker_order_id"],
                    OrderStatus(row["status"]),
                    row["quantity"],
                    row["filled"],
                )
            )
        else:
            trades.append(
                BrokerTrade(
                    row["trade_id"],
                    row["tag"],
                    row["broker_order_id"],
                    row["quantity"],
                    row["price_paise"],
                    row["ts_ns"],
                )
            )
    return orders, trades


def _reconcile_and_apply(database: Database, account: str, book: Path) -> Verdict:
    """What the trading service does at start: find what may have been sent, ask the
    broker's books, and apply the decisions through the order manager."""
    with SqlUnitOfWork(database) as uow:
        pending = uow.orders.unresolved(account)
        known = uow.trades.trade_ids([o.client_order_id for o in pending])
    assert len(pending) == 1
    order = pending[0]
    assert (order.status, order.broker_order_id) == (OrderStatus.SUBMITTED, None)
    result = reconcile(
        [order.snapshot()],
        *_broker_books(book),
        known,
        policy=NeverSentPolicy.CANCEL,
        now_ns=RECONCILED_AT_NS,
    )
    manager = make_manager(FakeBroker(), SqlTradeLog(database, account=account))
    manager.orders[order.client_order_id] = manager.working[order.client_order_id] = order
    (decision,) = result.decisions
    for report in decision.reports:
        manager.apply(report)
    return decision.verdict


@pytest.fixture
def crash(
    migrated_url: str, tmp_path: Path, unique: Callable[[str], str]
) -> Callable[[str, str], tuple[str, str, Path]]:
    def run(stage: str, word: str) -> tuple[str, str, Path]:
        account, coid, book = unique("acct-"), unique("X"), tmp_path / "broker-book.jsonl"
        code = _kill_at(word, [migrated_url, str(book), account, coid, stage])
        assert code == -signal.SIGKILL
        return account, coid, book

    return run


def test_killed_after_the_intent_and_before_the_send_the_order_is_closed_as_never_sent(
    crash: Callable[[str, str], tuple[str, str, Path]], database: Database
) -> None:
    account, coid, book = crash("before-send", "INTENT_COMMITTED")
    assert _reconcile_and_apply(database, account, book) is Verdict.NEVER_SENT
    with SqlUnitOfWork(database) as uow:
        order = uow.orders.get(ClientOrderId(coid))
        events = uow.orders.events(ClientOrderId(coid))
        trades = uow.trades.for_order(ClientOrderId(coid))
        left = uow.orders.unresolved(account)
    assert order is not None
    assert order.status is OrderStatus.CANCELLED
    assert events == [
        (OrderEvent.SUBMIT, OrderStatus.SUBMITTED),
        (OrderEvent.CANCEL, OrderStatus.CANCELLED),
    ]
    assert (trades, left) == ([], [])


def test_killed_after_the_send_and_before_the_acknowledgement_the_fill_is_rebuilt(
    crash: Callable[[str, str], tuple[str, str, Path]], database: Database
) -> None:
    account, coid, book = crash("after-send", "SENT")
    assert _reconcile_and_apply(database, account, book) is Verdict.ACKNOWLEDGED
    with SqlUnitOfWork(database) as uow:
        order = uow.orders.get(ClientOrderId(coid))
        events = uow.orders.events(ClientOrderId(coid))
        trades = uow.trades.for_order(ClientOrderId(coid))
        pos = uow.positions.get(account, StrategyId("crash"), SYMBOL, ProductType.INTRADAY)
    assert order is not None
    assert (order.status, order.broker_order_id, order.filled_quantity) == (
        OrderStatus.FILLED,
        f"B-{coid}",
        QUANTITY,
    )
    assert [e for e, _ in events] == [OrderEvent.SUBMIT, OrderEvent.ACCEPT, OrderEvent.FILL]
    assert [(t.trade_id, t.quantity, t.price_paise) for t in trades] == [
        (f"T-{coid}", QUANTITY, FILL_PRICE_PAISE)
    ]
    assert pos is not None
    assert (pos.quantity, pos.cost_paise) == (QUANTITY, QUANTITY * FILL_PRICE_PAISE)
