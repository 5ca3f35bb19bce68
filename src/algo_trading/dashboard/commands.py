"""The dashboard's only writes: command rows for the trading service, and the audit line of who
asked (DESIGN.md: the dashboard asks, the trading service executes through the same checks and
writes the outcome back on the row).

The payload shapes are the trading service's own (`services.command_payloads`, issue #10 item
7): every payload is checked by the same pydantic models before it is written, so the dashboard
never writes a row the service would refuse for its shape. Values are text; prices are rupees
("1010.50"); the strategy is the row's `strategy` column, not a payload key:

    place       MANUAL_ORDER {symbol, side BUY|SELL, quantity, order_type MARKET|LIMIT|
                              STOPLOSS_LIMIT|STOPLOSS_MARKET, product, price?, trigger_price?}
                              strategy: optional (empty: the manual book)
    modify      MODIFY       {client_order_id, quantity?, price?, trigger_price?}
    cancel      CANCEL       {client_order_id}
    square_off  SQUARE_OFF   {symbol?}            strategy: optional (neither: everything)
    pause       PAUSE        {}                   strategy: required
    resume      RESUME       {}                   strategy: required
    kill        KILL_SWITCH  {reason}
    reset_kill  KILL_RESET   {}

The role is checked here, on the server, for every command (not only by hiding buttons): a
user the store does not call `trader` is refused, the refusal is audited, and no command row
is written. The trading service checks the role again when it executes the row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork
from algo_trading.domain.errors import AlgoTradingError, InvalidInputError
from algo_trading.domain.orders import OrderType
from algo_trading.engine.ports import CommandKind, CommandRecord
from algo_trading.services.command_payloads import parse_payload
from algo_trading.services.users import TRADER, UserStore

__all__ = [
    "ACTIONS",
    "EXCHANGES",
    "ORDER_TYPES",
    "ORDER_TYPE_LABELS",
    "PRODUCTS",
    "SIDES",
    "ActionShape",
    "CommandRefusedError",
    "audit_event",
    "build_payload",
    "submit",
]

SIDES = ("BUY", "SELL")
ORDER_TYPES = tuple(t.value for t in OrderType)
ORDER_TYPE_LABELS = {
    "MARKET": "MARKET",
    "LIMIT": "LIMIT",
    "STOPLOSS_LIMIT": "SL (stop-loss limit)",
    "STOPLOSS_MARKET": "SL-M (stop-loss market)",
}
PRODUCTS = ("INTRADAY", "DELIVERY", "CARRYFORWARD")
EXCHANGES = ("NSE", "BSE", "NFO", "BFO")


@dataclass(frozen=True, slots=True)
class ActionShape:
    kind: CommandKind
    strategy: Literal["required", "optional", "none"]


ACTIONS: Mapping[str, ActionShape] = {
    "place": ActionShape(CommandKind.MANUAL_ORDER, "optional"),
    "modify": ActionShape(CommandKind.MODIFY, "none"),
    "cancel": ActionShape(CommandKind.CANCEL, "none"),
    "square_off": ActionShape(CommandKind.SQUARE_OFF, "optional"),
    "pause": ActionShape(CommandKind.PAUSE, "required"),
    "resume": ActionShape(CommandKind.RESUME, "required"),
    "kill": ActionShape(CommandKind.KILL_SWITCH, "none"),
    "reset_kill": ActionShape(CommandKind.KILL_RESET, "none"),
}


class CommandRefusedError(AlgoTradingError):
    """The dashboard would not write this command (role, or a payload of the wrong shape)."""


def build_payload(action: str, strategy_id: str | None = None, **fields: object) -> dict[str, str]:
    """The payload of `action` from keyword fields (None or empty: left out), checked by the
    trading service's own payload model; InvalidInputError naming what is wrong."""
    shape = ACTIONS.get(action)
    if shape is None:
        raise InvalidInputError(f"unknown command {action!r} (known: {', '.join(ACTIONS)})")
    if shape.strategy == "required" and not strategy_id:
        raise InvalidInputError(f"{action}: a strategy is required")
    if shape.strategy == "none" and strategy_id:
        raise InvalidInputError(f"{action}: acts on the whole account or one order, not a strategy")
    given = {k: str(v) for k, v in fields.items() if v is not None and str(v) != ""}
    checked = parse_payload(shape.kind, given)
    if isinstance(checked, str):
        raise InvalidInputError(checked)
    return given


def submit(
    db: Database,
    users: UserStore,
    user: str,
    action: str,
    payload: Mapping[str, str],
    *,
    now_ns: int,
    strategy_id: str | None = None,
    account: str = "default",
    new_id: Callable[[], str] = lambda: f"dash-{uuid.uuid4().hex}",
) -> str:
    """Write one command row asked for by `user` and its audit line; the command id.

    CommandRefusedError (audited, nothing written to commands) when `user` is not a trader
    now, or when the payload is not `action`'s shape."""
    role = users.role_of(user)
    if role != TRADER:
        _audit_refusal(db, user, action, f"role {role or 'none'} may not {action}", now_ns)
        raise CommandRefusedError(
            f"{user} ({role or 'not a user'}) may not {action}: the trader role is needed"
        )
    try:
        checked = build_payload(action, strategy_id, **payload)
    except InvalidInputError as exc:
        _audit_refusal(db, user, action, str(exc), now_ns)
        raise CommandRefusedError(str(exc)) from None
    shape = ACTIONS[action]
    command_id = new_id()
    record = CommandRecord(
        command_id=command_id,
        kind=shape.kind,
        requested_by=user,
        requested_ns=now_ns,
        payload=checked,
        account=account,
        strategy_id=strategy_id or None,
    )
    with SqlUnitOfWork(db) as uow:
        uow.commands.add(record)
        detail = json.dumps({"strategy": strategy_id, **checked}, sort_keys=True)
        uow.audit.append(user, f"dashboard.{action}", command_id, detail, now_ns)
        uow.commit()
    return command_id


def _audit_refusal(db: Database, user: str, action: str, why: str, now_ns: int) -> None:
    with SqlUnitOfWork(db) as uow:
        uow.audit.append(user[:64], f"dashboard.refused.{action}"[:64], action[:128], why, now_ns)
        uow.commit()


def audit_event(db: Database, user: str, action: str, detail: str, now_ns: int) -> None:
    """An audit line for what is not a command (a login, a logout, a lockout)."""
    with SqlUnitOfWork(db) as uow:
        uow.audit.append(user[:64], f"dashboard.{action}"[:64], "dashboard", detail, now_ns)
        uow.commit()
