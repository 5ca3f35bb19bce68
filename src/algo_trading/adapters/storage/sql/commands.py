"""The service's own records: commands from the dashboard, the audit log, strategy runs and
backtest runs (their trades in bulk; the large results go to the object store)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Table, func, insert, or_, select, update

from algo_trading.adapters.storage.sql.bulk import write_backtest_trades
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.adapters.storage.sql.rows import check_fits, command_from_row
from algo_trading.adapters.storage.sql.types import ns_to_datetime
from algo_trading.domain.errors import StorageError
from algo_trading.domain.fills import Fill
from algo_trading.engine.ports import CommandKind, CommandRecord, CommandStatus

__all__ = ["SqlAuditLog", "SqlCommandRepository", "SqlRunRepository"]

COMMANDS: Table = metadata.tables["commands"]
AUDIT: Table = metadata.tables["audit_log"]
STRATEGY_RUNS: Table = metadata.tables["strategy_runs"]
BACKTEST_RUNS: Table = metadata.tables["backtest_runs"]
BACKTEST_TRADES: Table = metadata.tables["backtest_trades"]


class SqlCommandRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, command: CommandRecord) -> None:
        self._c.execute(
            insert(COMMANDS).values(
                command_id=command.command_id,
                kind=command.kind.value,
                account=command.account,
                strategy=command.strategy_id,
                payload=dict(command.payload),
                requested_by=command.requested_by,
                requested_at=ns_to_datetime(command.requested_ns),
                status=command.status.value,
                claimed_by=command.claimed_by,
                outcome_code=command.outcome_code,
                outcome_detail=command.outcome_detail,
            )
        )

    def get(self, command_id: str) -> CommandRecord | None:
        row = self._c.execute(
            select(COMMANDS).where(COMMANDS.c.command_id == command_id)
        ).one_or_none()
        return None if row is None else command_from_row(row._mapping)

    def claim_next(
        self,
        worker: str,
        ts_ns: int,
        *,
        account: str | None = None,
        strategies: Collection[str] | None = None,
    ) -> CommandRecord | None:
        """The oldest pending command, locked; others skip it (PostgreSQL SKIP LOCKED; on
        SQLite the writer already holds the database's write lock). The update is also
        conditional on the row still being PENDING, so it is taken once on any database. A
        row no service can read (an unknown kind, a payload that is not a JSON object) is
        answered REFUSED here, audited, and the next one is taken: it must never stop the
        queue."""
        query = select(COMMANDS).where(COMMANDS.c.status == CommandStatus.PENDING.value)
        if account is not None:
            query = query.where(COMMANDS.c.account == account)
        if strategies is not None:
            query = query.where(
                or_(COMMANDS.c.strategy.is_(None), COMMANDS.c.strategy.in_(sorted(strategies)))
            )
        query = query.order_by(COMMANDS.c.id).limit(1).with_for_update(skip_locked=True)
        when = ns_to_datetime(ts_ns)
        while True:
            row = self._c.execute(query).one_or_none()
            if row is None:
                return None
            taken = self._c.execute(
                update(COMMANDS)
                .where(COMMANDS.c.id == row.id, COMMANDS.c.status == CommandStatus.PENDING.value)
                .values(status=CommandStatus.CLAIMED.value, claimed_by=worker, claimed_at=when)
            )
            if taken.rowcount != 1:
                continue  # another worker took it between our read and our update
            claimed = dict(row._mapping) | {
                "status": CommandStatus.CLAIMED.value,
                "claimed_by": worker,
                "claimed_at": when,
            }
            problem = _unreadable(claimed)
            if not problem:
                return command_from_row(claimed)
            self._refuse_unreadable(claimed, problem, ts_ns)

    def _refuse_unreadable(self, row: Mapping[str, Any], problem: str, ts_ns: int) -> None:
        self._c.execute(
            update(COMMANDS)
            .where(COMMANDS.c.id == row["id"])
            .values(
                status=CommandStatus.REFUSED.value,
                outcome_code="MALFORMED",
                outcome_detail=problem,
                finished_at=ns_to_datetime(ts_ns),
                result={},
            )
        )
        SqlAuditLog(self._c).append(
            str(row["requested_by"])[:64],
            "COMMAND_REFUSED",
            f"command {row['command_id']}"[:128],
            f"MALFORMED: {problem}",
            ts_ns,
        )

    def finish(
        self,
        command_id: str,
        status: CommandStatus,
        *,
        code: str,
        detail: str,
        ts_ns: int,
        result: Mapping[str, str] | None = None,
        worker: str | None = None,
    ) -> None:
        query = update(COMMANDS).where(COMMANDS.c.command_id == command_id)
        if worker is not None:
            query = query.where(
                COMMANDS.c.status == CommandStatus.CLAIMED.value,
                COMMANDS.c.claimed_by == worker,
            )
        row = {"outcome_code": code}
        check_fits(COMMANDS, row)
        outcome = self._c.execute(
            query.values(
                status=status.value,
                outcome_code=code,
                outcome_detail=detail,
                finished_at=ns_to_datetime(ts_ns),
                result=dict(result or {}),
            )
        )
        if outcome.rowcount == 0:
            if worker is not None:
                raise StorageError(
                    f"command {command_id} is unknown or no longer claimed by {worker}"
                )
            raise StorageError(f"command {command_id} is unknown")

    def abandon_stale(self, claimed_before_ns: int, ts_ns: int) -> list[str]:
        stale = (
            self._c.execute(
                select(COMMANDS.c.command_id)
                .where(
                    COMMANDS.c.status == CommandStatus.CLAIMED.value,
                    COMMANDS.c.claimed_at < ns_to_datetime(claimed_before_ns),
                )
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        if stale:
            self._c.execute(
                update(COMMANDS)
                .where(
                    COMMANDS.c.command_id.in_(stale),
                    COMMANDS.c.status == CommandStatus.CLAIMED.value,
                )
                .values(
                    status=CommandStatus.FAILED.value,
                    outcome_code="INTERRUPTED",
                    outcome_detail=(
                        "the service executing it stopped before writing its outcome; it is "
                        "not run again: check the orders before asking again"
                    ),
                    finished_at=ns_to_datetime(ts_ns),
                )
            )
        return list(stale)

    def settled_through(self, kinds: Collection[CommandKind]) -> int:
        """The largest row id up to which every command of these kinds is finished (none
        PENDING or CLAIMED at or below it); 0 when there is none."""
        names = [k.value for k in kinds]
        unfinished = self._c.execute(
            select(func.min(COMMANDS.c.id)).where(
                COMMANDS.c.kind.in_(names),
                COMMANDS.c.status.in_((CommandStatus.PENDING.value, CommandStatus.CLAIMED.value)),
            )
        ).scalar_one()
        if unfinished is not None:
            return int(unfinished) - 1
        newest = self._c.execute(
            select(func.max(COMMANDS.c.id)).where(COMMANDS.c.kind.in_(names))
        ).scalar_one()
        return int(newest or 0)

    def done_after(
        self, kinds: Collection[CommandKind], after_id: int
    ) -> list[tuple[int, CommandRecord]]:
        """DONE commands of these kinds with a row id above `after_id`, oldest first, with
        their row ids (what every instance must follow: pauses, the kill switch)."""
        rows = self._c.execute(
            select(COMMANDS)
            .where(
                COMMANDS.c.kind.in_([k.value for k in kinds]),
                COMMANDS.c.status == CommandStatus.DONE.value,
                COMMANDS.c.id > after_id,
                COMMANDS.c.claimed_by.is_not(None),
            )
            .order_by(COMMANDS.c.id)
        ).all()
        return [
            (int(r.id), command_from_row(r._mapping))
            for r in rows
            if not _unreadable(dict(r._mapping))
        ]


def _unreadable(row: Mapping[str, Any]) -> str:
    """Why a claimed row cannot become a CommandRecord; "" when it can."""
    kind = row["kind"]
    if kind not in {k.value for k in CommandKind}:
        known = ", ".join(k.value for k in CommandKind)
        return f"kind {str(kind)[:32]!r} is not a command (known: {known})"
    if not isinstance(row["payload"], dict):
        return f"payload is a JSON {type(row['payload']).__name__}, not an object"
    return ""


class SqlAuditLog:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def append(self, actor: str, action: str, subject: str, detail: str, ts_ns: int) -> None:
        row = {"actor": actor, "action": action, "subject": subject, "detail": detail}
        check_fits(AUDIT, row)
        self._c.execute(insert(AUDIT).values(occurred_at=ns_to_datetime(ts_ns), **row))


class SqlRunRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def start_strategy_run(
        self, run_id: str, strategy_id: str, mode: str, params: Mapping[str, str], ts_ns: int
    ) -> None:
        self._c.execute(
            insert(STRATEGY_RUNS).values(
                run_id=run_id,
                strategy=strategy_id,
                mode=mode,
                params=dict(params),
                status="RUNNING",
                started_at=ns_to_datetime(ts_ns),
                stop_reason="",
            )
        )

    def stop_strategy_run(self, run_id: str, status: str, reason: str, ts_ns: int) -> None:
        self._c.execute(
            update(STRATEGY_RUNS)
            .where(STRATEGY_RUNS.c.run_id == run_id)
            .values(status=status, stop_reason=reason, stopped_at=ns_to_datetime(ts_ns))
        )

    def start_backtest(
        self, run_id: str, strategy_id: str, params: Mapping[str, str], ts_ns: int
    ) -> None:
        self._c.execute(
            insert(BACKTEST_RUNS).values(
                run_id=run_id,
                strategy=strategy_id,
                params=dict(params),
                status="RUNNING",
                started_at=ns_to_datetime(ts_ns),
                trade_count=0,
                summary={},
            )
        )

    def add_backtest_trades(self, run_id: str, trades: Iterable[tuple[Fill, int]]) -> int:
        run_pk = self._c.execute(
            select(BACKTEST_RUNS.c.id).where(BACKTEST_RUNS.c.run_id == run_id)
        ).scalar_one_or_none()
        if run_pk is None:
            raise StorageError(f"backtest run {run_id} is unknown; start it first")
        start = self._c.execute(
            select(func.count())
            .select_from(BACKTEST_TRADES)
            .where(BACKTEST_TRADES.c.backtest_run_id == run_pk)
        ).scalar_one()
        return write_backtest_trades(self._c, run_pk, start, trades)

    def finish_backtest(
        self,
        run_id: str,
        status: str,
        summary: Mapping[str, str],
        results_uri: str | None,
        ts_ns: int,
    ) -> None:
        count = (
            select(func.count())
            .select_from(BACKTEST_TRADES)
            .where(BACKTEST_TRADES.c.backtest_run_id == BACKTEST_RUNS.c.id)
            .scalar_subquery()
        )
        self._c.execute(
            update(BACKTEST_RUNS)
            .where(BACKTEST_RUNS.c.run_id == run_id)
            .values(
                status=status,
                summary=dict(summary),
                results_uri=results_uri,
                finished_at=ns_to_datetime(ts_ns),
                trade_count=count,
            )
        )
