"""The risk manager's state across restarts (`risk_state`, migration 0008): the engine's
`RiskStateStore` port. `save` replaces an account's rows in one transaction (a crash leaves
the old state or the new one, never half of each); `day_totals` derives the day's realized
P&L and charges per strategy from the trades table, so they are never stored twice."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.types import Paise, datetime_to_ns, ns_to_datetime
from algo_trading.domain.errors import StorageError
from algo_trading.engine.ports import HaltRecord, KillRecord, RiskState, ScopeState

__all__ = ["SqlRiskState"]

RISK_STATE: Table = metadata.tables["risk_state"]
TRADES: Table = metadata.tables["trades"]
ACCOUNT_SCOPE = ""  # the `strategy` of the account's own row


class SqlRiskState:
    """`RiskStateStore` over a `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self, account: str) -> RiskState:
        query = select(RISK_STATE).where(RISK_STATE.c.account == account)
        try:
            with self._db.read_engine.connect() as c:
                rows = c.execute(query).all()
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc
        scopes = []
        kill = None
        for row in sorted(rows, key=lambda r: r.strategy):
            scopes.append(ScopeState(row.strategy, row.day, row.base, row.peak, _halts(row.halts)))
            if row.strategy == ACCOUNT_SCOPE and row.kill_since is not None:
                kill = KillRecord(
                    row.kill_reason or "", row.kill_by or "", datetime_to_ns(row.kill_since)
                )
        return RiskState(account, tuple(scopes), kill)

    def save_scopes(self, account: str, scopes: Sequence[ScopeState], now_ns: int) -> None:
        now = ns_to_datetime(now_ns)

        def work(c: Connection) -> None:
            for s in scopes:
                values = {
                    "day": s.day,
                    "base": s.base_paise,
                    "peak": s.peak_paise,
                    "halts": json.dumps(
                        [
                            {"code": h.code, "detail": h.detail, "since_ns": h.since_ns, "by": h.by}
                            for h in s.halts
                        ]
                    ),
                    "updated_at": now,
                }
                self._upsert(c, account, s.strategy, values)

        self._write(work)

    def save_kill(self, account: str, kill: KillRecord | None, now_ns: int) -> None:
        values: dict[str, Any] = {
            "kill_reason": None if kill is None else kill.reason,
            "kill_by": None if kill is None else kill.by,
            "kill_since": None if kill is None else ns_to_datetime(kill.since_ns),
            "updated_at": ns_to_datetime(now_ns),
        }
        self._write(lambda c: self._upsert(c, account, ACCOUNT_SCOPE, values))

    @staticmethod
    def _upsert(c: Connection, account: str, strategy: str, values: dict[str, Any]) -> None:
        r = RISK_STATE.c
        where = (r.account == account, r.strategy == strategy)
        if c.execute(update(RISK_STATE).where(*where).values(**values)).rowcount:
            return
        row = {"day": 0, "base": None, "peak": None, "halts": "[]", **values}
        c.execute(insert(RISK_STATE).values(account=account, strategy=strategy, **row))

    def _write(self, work: Callable[[Connection], None]) -> None:
        try:
            with self._db.engine.begin() as c:
                work(c)
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc

    def day_totals(self, account: str, start_ns: int, end_ns: int) -> Mapping[str, tuple[int, int]]:
        t = TRADES.c
        query = (
            select(
                t.strategy,
                func.coalesce(func.sum(t.pnl), 0, type_=Paise()),
                func.coalesce(func.sum(t.charges), 0, type_=Paise()),
            )
            .where(
                t.account == account,
                t.executed_at >= ns_to_datetime(start_ns),
                t.executed_at < ns_to_datetime(end_ns),
            )
            .group_by(t.strategy)
        )
        try:
            with self._db.read_engine.connect() as c:
                return {row[0]: (int(row[1]), int(row[2])) for row in c.execute(query)}
        except (OperationalError, InterfaceError) as exc:
            raise self._db.unavailable(exc) from exc


def _halts(text: str) -> tuple[HaltRecord, ...]:
    try:
        items = json.loads(text or "[]")
        return tuple(
            HaltRecord(str(i["code"]), str(i["detail"]), int(i["since_ns"]), str(i["by"]))
            for i in items
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StorageError(f"risk_state: unreadable halts {text[:80]!r}: {exc}") from None
