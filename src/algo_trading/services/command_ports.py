"""The commands' vocabulary (issue #10 item 7): what a command may make the service do
(`ServiceControl`), who may ask (`Authorizer`), and what became of it (`Outcome`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from algo_trading.domain.orders import OrderIntent
from algo_trading.engine.ports import CommandStatus

__all__ = [
    "MANUAL_STRATEGY",
    "TRADER",
    "VIEWER",
    "Authorizer",
    "Outcome",
    "ServiceControl",
    "Signal",
]

TRADER = "trader"
VIEWER = "viewer"
MANUAL_STRATEGY = "manual"  # the book of orders a person placed without naming a strategy


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a command: its status, a stable code, one line, and what it made."""

    status: CommandStatus
    code: str
    detail: str = ""
    result: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def done(cls, code: str, detail: str = "", **result: str) -> Outcome:
        return cls(CommandStatus.DONE, code, detail, result)

    @classmethod
    def refused(cls, code: str, detail: str, **result: str) -> Outcome:
        return cls(CommandStatus.REFUSED, code, detail, result)

    @classmethod
    def failed(cls, code: str, detail: str, **result: str) -> Outcome:
        return cls(CommandStatus.FAILED, code, detail, result)


class Authorizer(Protocol):
    def role_of(self, user: str) -> str | None:
        """ "viewer" or "trader"; None for a user nobody knows. Only a trader may act."""
        ...


class ServiceControl(Protocol):
    """What a command may make the trading service do. Each call answers with an Outcome and
    raises only for a bug or an outside failure (the processor records FAILED)."""

    @property
    def account(self) -> str: ...

    def known_symbol(self, symbol: str) -> bool: ...

    def known_strategy(self, strategy_id: str) -> bool: ...

    def place(self, intent: OrderIntent) -> Outcome: ...

    def modify(
        self,
        strategy_id: str | None,
        client_order_id: str,
        *,
        quantity: int | None,
        price_paise: int | None,
        trigger_price_paise: int | None,
    ) -> Outcome: ...

    def cancel(self, strategy_id: str | None, client_order_id: str) -> Outcome: ...

    def square_off(self, strategy_id: str | None, symbol: str | None) -> Outcome: ...

    def pause(self, strategy_id: str) -> Outcome: ...

    def resume(self, strategy_id: str) -> Outcome: ...

    def kill(self, reason: str, by: str) -> Outcome: ...

    def reset_kill(self, by: str) -> Outcome: ...


class Signal(Protocol):
    def arm(self) -> None: ...

    def wait(self, timeout_s: float) -> bool: ...

    def wake(self) -> None: ...

    def close(self) -> None: ...
