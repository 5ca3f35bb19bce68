"""The dashboard's only writes: command rows for the trading service, and the audit line of who
asked (DESIGN.md: the dashboard asks, the trading service executes through the same checks and
writes the outcome back on the row).

Every payload shape lives here, in `ACTIONS`, so the service's processor and this module agree
in one place. Values are text (CommandRecord: a price stays exact), every payload carries its
`action`, and prices are integer paise:

    place       MANUAL_ORDER {action, strategy_id, symbol, exchange, side BUY|SELL, quantity,
                  order_type MARKET|LIMIT|SL|SL-M, product, price_paise?, trigger_paise?}
    modify      MANUAL_ORDER {action, client_order_id, quantity?, price_paise?, trigger_paise?}
    cancel      CANCEL       {action, client_order_id}
    square_off  SQUARE_OFF   {action, strategy_id?, symbol?}   (neither: everything)
    pause       PAUSE        {action, strategy_id}
    resume      RESUME       {action, strategy_id}
    kill        KILL_SWITCH  {action, reason}
    reset_kill  KILL_SWITCH  {action}

The role is checked here, on the server, for every command (not only by hiding buttons): a
user the store does not call `trader` is refused, the refusal is audited, and no command row
is written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork
from algo_trading.domain.errors import AlgoTradingError, InvalidInputError
from algo_trading.engine.ports import CommandKind, CommandRecord
from algo_trading.services.users import TRADER, UserStore

__all__ = [
    "ACTIONS",
    "ORDER_TYPES",
    "PRODUCTS",
    "SIDES",
    "ActionShape",
    "CommandRefusedError",
    "audit_event",
    "build_payload",
    "submit",
]

SIDES = ("BUY", "SELL")
ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
PRODUCTS = ("INTRADAY", "DELIVERY", "CARRYFORWARD")
EXCHANGES = ("NSE", "BSE", "NFO", "BFO")


@dataclass(frozen=True, slots=True)
class ActionShape:
    kind: CommandKind
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    strategy_key: str | None = None  # the payload key that also fills the row's strategy


ACTIONS: Mapping[str, ActionShape] = {
    "place": ActionShape(
        CommandKind.MANUAL_ORDER,
        ("strategy_id", "symbol", "exchange", "side", "quantity", "order_type", "product"),
        ("price_paise", "trigger_paise"),
        "strategy_id",
    ),
    "modify": ActionShape(
        CommandKind.MANUAL_ORDER,
        ("client_order_id",),
        ("quantity", "price_paise", "trigger_paise"),
    ),
    "cancel": ActionShape(CommandKind.CANCEL, ("client_order_id",)),
    "square_off": ActionShape(CommandKind.SQUARE_OFF, (), ("strategy_id", "symbol"), "strategy_id"),
    "pause": ActionShape(CommandKind.PAUSE, ("strategy_id",), (), "strategy_id"),
    "resume": ActionShape(CommandKind.RESUME, ("strategy_id",), (), "strategy_id"),
    "kill": ActionShape(CommandKind.KILL_SWITCH, ("reason",)),
    "reset_kill": ActionShape(CommandKind.KILL_SWITCH, ()),
}

_CHOICES = {"side": SIDES, "order_type": ORDER_TYPES, "product": PRODUCTS, "exchange": EXCHANGES}
_POSITIVE_INTS = ("quantity", "price_paise", "trigger_paise")


class CommandRefusedError(AlgoTradingError):
    """The dashboard would not write this command (role, or a payload of the wrong shape)."""


def build_payload(action: str, **fields: object) -> dict[str, str]:
    """The payload of `action` from keyword fields (None: left out), checked against its shape."""
    shape = ACTIONS.get(action)
    if shape is None:
        raise InvalidInputError(f"unknown command {action!r} (known: {', '.join(ACTIONS)})")
    given = {k: str(v) for k, v in fields.items() if v is not None and str(v) != ""}
    unknown = sorted(set(given) - set(shape.required) - set(shape.optional))
    if unknown:
        raise InvalidInputError(f"{action}: unexpected field {', '.join(unknown)}")
    missing = [k for k in shape.required if k not in given]
    if missing:
        raise InvalidInputError(f"{action}: {', '.join(missing)} is required")
    for key, choices in _CHOICES.items():
        if key in given and given[key] not in choices:
            raise InvalidInputError(f"{action}: {key} {given[key]!r} is not one of {choices}")
    for key in _POSITIVE_INTS:
        if key in given and not (given[key].isdigit() and int(given[key]) > 0):
            raise InvalidInputError(f"{action}: {key} {given[key]!r} is not a positive integer")
    if action == "place":
        _check_place_prices(given)
    return {"action": action, **given}


def _check_place_prices(given: Mapping[str, str]) -> None:
    kind = given["order_type"]
    if kind in ("LIMIT", "SL") and "price_paise" not in given:
        raise InvalidInputError(f"place: a {kind} order needs price_paise")
    if kind in ("SL", "SL-M") and "trigger_paise" not in given:
        raise InvalidInputError(f"place: a {kind} order needs trigger_paise")
    if kind == "MARKET" and ("price_paise" in given or "trigger_paise" in given):
        raise InvalidInputError("place: a MARKET order carries no price")


def submit(
    db: Database,
    users: UserStore,
    user: str,
    action: str,
    payload: Mapping[str, str],
    *,
    now_ns: int,
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
    fields = {k: v for k, v in payload.items() if k != "action"}
    try:
        checked = build_payload(action, **fields)
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
        strategy_id=checked.get(shape.strategy_key) if shape.strategy_key else None,
    )
    with SqlUnitOfWork(db) as uow:
        uow.commands.add(record)
        uow.audit.append(
            user, f"dashboard.{action}", command_id, json.dumps(checked, sort_keys=True), now_ns
        )
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
