"""Commands from the dashboard, executed by the trading service (issue #10 item 7).

The dashboard (or an operator with psql) writes a PENDING row to `commands`; a trading service
claims it (once, even with several instances: a conditional update under SKIP LOCKED), checks
who asked and what, executes it through a `ServiceControl` (for the engine, `EngineControl`:
orders go through `engine.submit`, the same risk checks as a strategy's), and writes the outcome
back in the row: DONE, REFUSED (a check said no: a stable code and one line) or FAILED
(something outside us failed), with a result (the client order ids it made). Every command
leaves one audit row naming its user. A command that is malformed, names an unknown symbol,
strategy or order, or comes from a user who is not a trader is REFUSED before the control hears
of it, so it changes nothing.

The trading service calls `poll_once()` in its loop (at least once a second) and may block in
`wait(timeout_s)` instead of sleeping: it returns at once when a command is written
(PostgreSQL LISTEN/NOTIFY, migration 0006; SQLite: a new row seen by polling every 0.1 s).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection

from pydantic import BaseModel

from algo_trading.adapters.logs.context import log_context
from algo_trading.adapters.storage.sql.command_signal import CommandSignal
from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.unit_of_work import SqlUnitOfWork
from algo_trading.domain.orders import OrderIntent
from algo_trading.engine.ports import Clock, CommandKind, CommandRecord, UnitOfWork
from algo_trading.services.command_payloads import (
    CancelPayload,
    KillPayload,
    ModifyPayload,
    PlacePayload,
    SquareOffPayload,
    parse_payload,
)
from algo_trading.services.command_ports import (
    MANUAL_STRATEGY,
    TRADER,
    VIEWER,
    Authorizer,
    Outcome,
    ServiceControl,
    Signal,
)
from algo_trading.services.engine_control import EngineControl

__all__ = [
    "MANUAL_STRATEGY",
    "TRADER",
    "VIEWER",
    "Authorizer",
    "CommandProcessor",
    "EngineControl",
    "Outcome",
    "ServiceControl",
    "Signal",
]

log = logging.getLogger(__name__)

_NS_PER_S = 1_000_000_000
_DETAIL_MAX = 500
_CODE_MAX = 64
_SWEEP_EVERY_NS = 5 * _NS_PER_S
# Kinds that act on one strategy and must name it; kinds that act on the whole account and
# must not.
_NEEDS_STRATEGY = frozenset({CommandKind.PAUSE, CommandKind.RESUME})
_ACCOUNT_WIDE = frozenset({CommandKind.KILL_SWITCH, CommandKind.KILL_RESET})
# What every instance must know, whichever one executed it: a strategy's lease may move here
# later, and the kill switch stops the whole account.
_FOLLOWED = (CommandKind.PAUSE, CommandKind.RESUME, CommandKind.KILL_SWITCH, CommandKind.KILL_RESET)


class _Sleep:
    """No notifications: `wait` sleeps until `wake` or the timeout (a unit of work that is
    not a database)."""

    def __init__(self) -> None:
        self._woken = threading.Event()

    def arm(self) -> None:
        return None

    def wait(self, timeout_s: float) -> bool:
        woken = self._woken.wait(max(timeout_s, 0.0))
        self._woken.clear()
        return woken

    def wake(self) -> None:
        self._woken.set()

    def close(self) -> None:
        return None


class CommandProcessor:
    """Claims pending commands and answers each one. `strategies`, when given, returns the
    strategies this instance holds the leases of: it then takes only commands naming one of
    them or none, so an order always goes out under its strategy's current lease."""

    def __init__(
        self,
        store: Database | Callable[[], UnitOfWork],
        control: ServiceControl,
        authorizer: Authorizer,
        clock: Clock,
        instance_id: str,
        *,
        signal: Signal | None = None,
        strategies: Callable[[], Collection[str]] | None = None,
        batch: int = 50,
        stale_after_s: float = 60.0,
        follow: bool = True,
    ) -> None:
        if isinstance(store, Database):
            db = store
            self._uow: Callable[[], UnitOfWork] = lambda: SqlUnitOfWork(db)
            self._signal: Signal = signal if signal is not None else CommandSignal(db)
        else:
            self._uow = store
            self._signal = signal if signal is not None else _Sleep()
        self._control = control
        self._authorizer = authorizer
        self._clock = clock
        self.instance_id = instance_id
        self._strategies = strategies
        self._batch = batch
        self._stale_after_ns = int(stale_after_s * _NS_PER_S)
        self._next_sweep_ns: int | None = None
        self._follow = follow
        self._settled: int | None = None  # None: the state is not restored yet
        self._applied: set[int] = set()  # followed rows above `_settled` already applied
        self.follow_errors: list[str] = []

    # --- the loop's two calls ---------------------------------------------------------------
    def poll_once(self) -> int:
        """Claim and answer pending commands, at most `batch` of them; how many."""
        self._signal.arm()  # before reading: a command written from now on wakes `wait`
        self._sweep()
        if self._follow:
            self._follow_others()
        handled = 0
        while handled < self._batch:
            command = self._claim()
            if command is None:
                break
            self._finish(command, self._answer(command))
            handled += 1
        return handled

    def wait(self, timeout_s: float) -> bool:
        """Block until a command may be waiting (True) or `timeout_s` passed (False)."""
        return self._signal.wait(timeout_s)

    def wake(self) -> None:
        """Make `wait` return now, from another thread (the service is stopping)."""
        self._signal.wake()

    def close(self) -> None:
        self._signal.close()

    # --- storage ----------------------------------------------------------------------------
    def _claim(self) -> CommandRecord | None:
        owned = None if self._strategies is None else {*self._strategies(), MANUAL_STRATEGY}
        with self._uow() as uow:
            command = uow.commands.claim_next(
                self.instance_id,
                self._clock.now_ns(),
                account=self._control.account,
                strategies=owned,
            )
            uow.commit()
        return command

    def _finish(self, command: CommandRecord, outcome: Outcome) -> None:
        now = self._clock.now_ns()
        code = outcome.code[:_CODE_MAX]
        detail = _one_line(outcome.detail)
        with self._uow() as uow:
            uow.commands.finish(
                command.command_id,
                outcome.status,
                code=code,
                detail=detail,
                ts_ns=now,
                result={k: _one_line(v) for k, v in outcome.result.items()},
                worker=self.instance_id,
            )
            uow.audit.append(
                command.requested_by[:64],
                f"COMMAND_{command.kind.value}",
                _subject(command),
                f"{outcome.status.value} {code}" + (f": {detail}" if detail else ""),
                now,
            )
            uow.commit()
        with log_context(
            strategy=command.strategy_id,
            client_order_id=outcome.result.get("client_order_id"),
        ):
            log.info(
                "command %s %s by %s: %s %s %s",
                command.command_id,
                command.kind.value,
                command.requested_by,
                outcome.status.value,
                code,
                detail,
            )

    def _sweep(self) -> None:
        """Fail commands whose service died while executing them (looked for every 5 s)."""
        now = self._clock.now_ns()
        if self._next_sweep_ns is not None and now < self._next_sweep_ns:
            return
        self._next_sweep_ns = now + _SWEEP_EVERY_NS
        with self._uow() as uow:
            for command_id in uow.commands.abandon_stale(now - self._stale_after_ns, now):
                uow.audit.append(
                    self.instance_id[:64],
                    "COMMAND_INTERRUPTED",
                    f"command {command_id}"[:128],
                    "FAILED INTERRUPTED: claimed and never answered",
                    now,
                )
            uow.commit()

    # --- what other instances did ----------------------------------------------------------
    def _follow_others(self) -> None:
        """Apply pauses, resumes and the kill switch that other instances executed; at the
        first call, restore the state the table ends in (a restart keeps a paused strategy
        paused and a tripped kill switch tripped)."""
        with self._uow() as uow:
            settled = uow.commands.settled_through(_FOLLOWED)
            rows = uow.commands.done_after(_FOLLOWED, self._settled or 0)
        if self._settled is None:
            self._restore([record for _, record in rows])
            self._applied = {row_id for row_id, _ in rows}
        else:
            for row_id, record in rows:
                if row_id in self._applied:
                    continue
                self._applied.add(row_id)
                if record.claimed_by != self.instance_id:
                    self._apply(record)
        self._settled = settled
        self._applied = {i for i in self._applied if i > settled}

    def _restore(self, records: list[CommandRecord]) -> None:
        paused: dict[str, bool] = {}
        kill: CommandRecord | None = None
        for record in records:
            if record.kind in _ACCOUNT_WIDE:
                kill = record
            elif record.strategy_id:
                paused[record.strategy_id] = record.kind is CommandKind.PAUSE
        for record in reversed(records):  # each strategy's last word, when it is PAUSE
            if record.strategy_id and paused.pop(record.strategy_id, False):
                self._apply(record)
        if kill is not None and kill.kind is CommandKind.KILL_SWITCH:
            self._apply(kill)

    def _apply(self, record: CommandRecord) -> None:
        if self._authorizer.role_of(record.requested_by) != TRADER:
            return  # a row that claims to be done, from someone who may not act: ignored
        control, sid = self._control, record.strategy_id
        try:
            if record.kind is CommandKind.PAUSE and sid:
                control.pause(sid)
            elif record.kind is CommandKind.RESUME and sid:
                control.resume(sid)
            elif record.kind is CommandKind.KILL_SWITCH:
                control.kill(record.payload.get("reason", ""), record.requested_by)
            elif record.kind is CommandKind.KILL_RESET:
                control.reset_kill(record.requested_by)
        except Exception as exc:  # the loop goes on; the service reports these
            self.follow_errors.append(
                f"command {record.command_id}: {type(exc).__name__}: {_one_line(str(exc))}"
            )
            log.error("following %s", self.follow_errors[-1])

    # --- checks, then the control -----------------------------------------------------------
    def _answer(self, command: CommandRecord) -> Outcome:
        try:
            refusal = self._refusal(command)
            if refusal is not None:
                return refusal
            payload = parse_payload(command.kind, command.payload)
            if isinstance(payload, str):
                return Outcome.refused("MALFORMED", payload)
            return self._execute(command, payload)
        except Exception as exc:  # a bug or an outside failure: the row says so, loop goes on
            return Outcome.failed("ERROR", f"{type(exc).__name__}: {exc}")

    def _refusal(self, command: CommandRecord) -> Outcome | None:
        user = command.requested_by
        role = self._authorizer.role_of(user)
        if role is None:
            return Outcome.refused("UNKNOWN_USER", f"user {user!r} is not known here")
        if role != TRADER:
            return Outcome.refused(
                "NOT_ALLOWED", f"user {user!r} is a {role}; only a trader may give commands"
            )
        sid = command.strategy_id
        if command.kind in _NEEDS_STRATEGY and not sid:
            return Outcome.refused("MALFORMED", f"{command.kind.value} needs a strategy")
        if command.kind in _ACCOUNT_WIDE and sid:
            return Outcome.refused(
                "MALFORMED", f"{command.kind.value} is account-wide; name no strategy ({sid!r})"
            )
        if sid and sid != MANUAL_STRATEGY and not self._control.known_strategy(sid):
            return Outcome.refused("UNKNOWN_STRATEGY", f"strategy {sid!r} does not run here")
        return None

    def _execute(self, command: CommandRecord, payload: BaseModel) -> Outcome:
        control, sid, kind = self._control, command.strategy_id, command.kind
        if isinstance(payload, PlacePayload | SquareOffPayload):
            symbol = payload.symbol
            if symbol is not None and not control.known_symbol(symbol):
                return Outcome.refused("UNKNOWN_SYMBOL", f"symbol {symbol!r} is not traded here")
        if isinstance(payload, PlacePayload):
            intent = OrderIntent(
                sid or MANUAL_STRATEGY,
                payload.symbol,
                payload.side,
                payload.quantity,
                payload.order_type,
                payload.price,
                payload.trigger_price,
                payload.product,
                payload.validity,
            )
            return control.place(intent)
        if isinstance(payload, ModifyPayload):
            return control.modify(
                sid,
                payload.client_order_id,
                quantity=payload.quantity,
                price_paise=payload.price,
                trigger_price_paise=payload.trigger_price,
            )
        if isinstance(payload, CancelPayload):
            return control.cancel(sid, payload.client_order_id)
        if isinstance(payload, SquareOffPayload):
            return control.square_off(sid, payload.symbol)
        if isinstance(payload, KillPayload):
            return control.kill(payload.reason, command.requested_by)
        if kind is CommandKind.PAUSE and sid:
            return control.pause(sid)
        if kind is CommandKind.RESUME and sid:
            return control.resume(sid)
        if kind is CommandKind.KILL_RESET:
            return control.reset_kill(command.requested_by)
        return Outcome.failed("ERROR", f"{kind.value} has no handler")  # pragma: no cover


def _one_line(text: str) -> str:
    return " ".join(text.split())[:_DETAIL_MAX]


def _subject(command: CommandRecord) -> str:
    scope = f" strategy {command.strategy_id}" if command.strategy_id else ""
    return f"command {command.command_id}{scope}"[:128]
