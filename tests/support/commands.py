"""Fakes for the command processor: an in-memory unit of work holding commands and the audit
log (the same promises as `SqlCommandRepository`), a recording control, and a user table."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from algo_trading.domain.orders import OrderIntent
from algo_trading.engine.ports import CommandKind, CommandRecord, CommandStatus
from algo_trading.services.commands import Outcome

__all__ = ["FakeControl", "MemoryCommandStore", "Users", "command"]

T0 = 1_700_000_000_000_000_000


def command(
    command_id: str,
    kind: CommandKind,
    payload: Mapping[str, str] | None = None,
    *,
    by: str = "asha",
    strategy: str | None = None,
    account: str = "default",
    ts_ns: int = T0,
) -> CommandRecord:
    return CommandRecord(
        command_id, kind, by, ts_ns, dict(payload or {}), account=account, strategy_id=strategy
    )


class MemoryCommandStore:
    """Commands and audit rows in lists; `uow()` gives a unit of work over them whose
    changes stay unless an exception leaves its block (enough for the processor's use)."""

    def __init__(self) -> None:
        self.rows: dict[str, CommandRecord] = {}
        self.claimed_at: dict[str, int] = {}
        self.audit: list[tuple[str, str, str, str, int]] = []

    def add(self, record: CommandRecord) -> None:
        self.rows[record.command_id] = record

    def uow(self) -> _Uow:
        return _Uow(self)

    # --- CommandRepository ---
    def get(self, command_id: str) -> CommandRecord | None:
        return self.rows.get(command_id)

    def claim_next(
        self,
        worker: str,
        ts_ns: int,
        *,
        account: str | None = None,
        strategies: Collection[str] | None = None,
    ) -> CommandRecord | None:
        for cid, row in self.rows.items():
            if row.status is not CommandStatus.PENDING:
                continue
            if account is not None and row.account != account:
                continue
            if strategies is not None and row.strategy_id not in (None, *strategies):
                continue
            taken = replace(row, status=CommandStatus.CLAIMED, claimed_by=worker)
            self.rows[cid] = taken
            self.claimed_at[cid] = ts_ns
            return taken
        return None

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
        row = self.rows[command_id]
        if worker is not None and (
            row.status is not CommandStatus.CLAIMED or row.claimed_by != worker
        ):
            raise AssertionError(f"{command_id} is not claimed by {worker}")
        self.rows[command_id] = replace(
            row,
            status=status,
            outcome_code=code,
            outcome_detail=detail,
            updated_ns=ts_ns,
            result=dict(result or {}),
        )

    def abandon_stale(self, claimed_before_ns: int, ts_ns: int) -> list[str]:
        stale = [
            cid
            for cid, row in self.rows.items()
            if row.status is CommandStatus.CLAIMED and self.claimed_at[cid] < claimed_before_ns
        ]
        for cid in stale:
            self.rows[cid] = replace(
                self.rows[cid], status=CommandStatus.FAILED, outcome_code="INTERRUPTED"
            )
        return stale

    def settled_through(self, kinds: Collection[CommandKind]) -> int:
        last = 0
        for row_id, row in enumerate(self.rows.values(), start=1):
            if row.kind not in kinds:
                continue
            if row.status in (CommandStatus.PENDING, CommandStatus.CLAIMED):
                return row_id - 1
            last = row_id
        return last

    def done_after(
        self, kinds: Collection[CommandKind], after_id: int
    ) -> list[tuple[int, CommandRecord]]:
        return [
            (row_id, row)
            for row_id, row in enumerate(self.rows.values(), start=1)
            if row_id > after_id
            and row.kind in kinds
            and row.status is CommandStatus.DONE
            and row.claimed_by is not None
        ]

    # --- AuditLog ---
    def append(self, actor: str, action: str, subject: str, detail: str, ts_ns: int) -> None:
        self.audit.append((actor, action, subject, detail, ts_ns))


class _Uow:
    def __init__(self, store: MemoryCommandStore) -> None:
        self.commands = store
        self.audit = store

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the command processor has no business with uow.{name}")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None


class Users:
    """An Authorizer from a dict of user -> role."""

    def __init__(self, **roles: str) -> None:
        self.roles = roles

    def role_of(self, user: str) -> str | None:
        return self.roles.get(user)


class FakeControl:
    """Records every call; answers DONE unless told otherwise (`answer`, or `boom` to raise)."""

    def __init__(
        self,
        *,
        symbols: Collection[str] = ("SBIN-EQ", "INFY-EQ"),
        strategies: Collection[str] = ("sma-sbin", "ema-infy"),
        account: str = "default",
    ) -> None:
        self.symbols = set(symbols)
        self.strategies = set(strategies)
        self._account = account
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.answer: Outcome | None = None
        self.boom: Exception | None = None

    @property
    def account(self) -> str:
        return self._account

    def known_symbol(self, symbol: str) -> bool:
        return symbol in self.symbols

    def known_strategy(self, strategy_id: str) -> bool:
        return strategy_id in self.strategies

    def _call(self, name: str, *args: Any) -> Outcome:
        self.calls.append((name, args))
        if self.boom is not None:
            raise self.boom
        return self.answer or Outcome.done(name.upper())

    def place(self, intent: OrderIntent) -> Outcome:
        return self._call("place", intent)

    def modify(
        self,
        strategy_id: str | None,
        client_order_id: str,
        *,
        quantity: int | None,
        price_paise: int | None,
        trigger_price_paise: int | None,
    ) -> Outcome:
        return self._call(
            "modify", strategy_id, client_order_id, quantity, price_paise, trigger_price_paise
        )

    def cancel(self, strategy_id: str | None, client_order_id: str) -> Outcome:
        return self._call("cancel", strategy_id, client_order_id)

    def square_off(self, strategy_id: str | None, symbol: str | None) -> Outcome:
        return self._call("square_off", strategy_id, symbol)

    def pause(self, strategy_id: str) -> Outcome:
        return self._call("pause", strategy_id)

    def resume(self, strategy_id: str) -> Outcome:
        return self._call("resume", strategy_id)

    def kill(self, reason: str, by: str) -> Outcome:
        return self._call("kill", reason, by)

    def reset_kill(self, by: str) -> Outcome:
        return self._call("reset_kill", by)
