"""The process the crash test kills: it places one order through the real order manager and
SQL trade log, against a broker whose books are a JSON-lines file, and stops to be killed.

    python -m tests.support.storage_crash_victim URL BOOK ACCOUNT CLIENT_ORDER_ID STAGE

STAGE `before-send`: inside the broker call, before the broker has anything; prints
INTENT_COMMITTED. STAGE `after-send`: the broker has accepted and filled the order in its
books, and no report has reached us; prints SENT. Then it waits (at most a minute) for the
SIGKILL.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from algo_trading.adapters.storage.sql import Database, SqlTradeLog
from algo_trading.domain import ClientOrderId, OrderSnapshot
from algo_trading.engine import ReportSink
from tests.support.storage import make_manager, submit

__all__ = ["FILL_PRICE_PAISE", "QUANTITY", "SYMBOL", "BookBroker", "main"]

SYMBOL = "CRASH-EQ"
QUANTITY = 10
FILL_PRICE_PAISE = 25_005
_LAST_WORDS_S = 60.0


def _announce(word: str) -> None:
    sys.stdout.write(word + "\n")
    sys.stdout.flush()
    threading.Event().wait(_LAST_WORDS_S)  # the test kills us here
    sys.exit(3)  # nobody did: the test failed to, and reads our exit code


class BookBroker:
    """A venue that accepts and fills at once; its order book and trade book are one file."""

    def __init__(self, book: Path, stage: str) -> None:
        self._book = book
        self._stage = stage

    def connect(self, sink: ReportSink) -> None:
        self._sink = sink

    def submit(self, order: OrderSnapshot) -> None:
        if self._stage == "before-send":
            _announce("INTENT_COMMITTED")
        coid = order.client_order_id
        rows = [
            {
                "kind": "order",
                "tag": order.tag,
                "broker_order_id": f"B-{coid}",
                "status": "FILLED",
                "quantity": order.quantity,
                "filled": order.quantity,
            },
            {
                "kind": "trade",
                "tag": order.tag,
                "broker_order_id": f"B-{coid}",
                "trade_id": f"T-{coid}",
                "quantity": order.quantity,
                "price_paise": FILL_PRICE_PAISE,
                "ts_ns": order.created_ns + 1_000_000,
            },
        ]
        with self._book.open("a", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
            f.flush()
            os.fsync(f.fileno())
        _announce("SENT")

    def cancel(self, client_order_id: ClientOrderId) -> None:
        raise AssertionError("the victim never cancels")


def main(argv: list[str]) -> int:
    url, book, account, coid, stage = argv
    db = Database(url)
    log = SqlTradeLog(db, account=account)
    manager = make_manager(BookBroker(Path(book), stage), log, coid)
    submit(manager, SYMBOL, QUANTITY, strategy="crash")
    return 4  # unreachable when the broker stops us as it should


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
