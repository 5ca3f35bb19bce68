"""The payload of each command kind (issue #10 item 7), as pydantic models.

A command row's `payload` is a JSON object whose values are text ("612.35", "10"), so a price
stays exact and the row reads the same in every tool; a JSON integer is read as its digits. Each
kind refuses a key it does not know, and every value is checked on its own: a quantity is a
whole number of units above zero, a price is rupees finer than nothing below a paisa, sides,
order types, products and validities are the exact upper-case names. What needs the running
service (does the symbol trade here, is the order this strategy's) is checked by the processor
and the control. `parse_payload` turns pydantic's report into one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from algo_trading.domain.errors import InvalidInputError
from algo_trading.domain.money import rupees_to_paise
from algo_trading.domain.orders import OrderSide, OrderType, ProductType, Validity
from algo_trading.engine.ports import CommandKind

__all__ = [
    "CancelPayload",
    "EmptyPayload",
    "KillPayload",
    "ModifyPayload",
    "PlacePayload",
    "SquareOffPayload",
    "parse_payload",
]

_WHOLE = re.compile(r"[1-9][0-9]{0,8}")
_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9&_.\-]{0,47}")
_ORDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")


def _quantity(value: object) -> int:
    if not isinstance(value, str) or not _WHOLE.fullmatch(value):
        raise ValueError(f"{value!r} is not a whole number of units above zero")
    return int(value)


def _price(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a price in rupees")
    try:
        paise = rupees_to_paise(value)
    except InvalidInputError as exc:
        raise ValueError(str(exc).removeprefix("price: ")) from None
    if paise <= 0:
        raise ValueError(f"{value!r} is not above zero")
    return paise


def _pattern(regex: re.Pattern[str], what: str) -> Any:
    def check(value: object) -> str:
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


def _name_of(enum: type[Any]) -> Any:
    def check(value: object) -> Any:
        names = [m.value for m in enum]
        if value not in names:
            raise ValueError(f"{value!r} is not one of {', '.join(names)}")
        return enum(value)

    return check


Quantity = Annotated[int, BeforeValidator(_quantity)]
Paise = Annotated[int, BeforeValidator(_price)]
Symbol = Annotated[str, BeforeValidator(_pattern(_SYMBOL, "a trading symbol"))]
OrderId = Annotated[str, BeforeValidator(_pattern(_ORDER_ID, "a client order id"))]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlacePayload(_Payload):
    """MANUAL_ORDER. Prices in rupees as text; the strategy is the row's `strategy` column
    (empty: the manual book)."""

    symbol: Symbol
    side: Annotated[OrderSide, BeforeValidator(_name_of(OrderSide))]
    quantity: Quantity
    order_type: Annotated[OrderType, BeforeValidator(_name_of(OrderType))] = OrderType.MARKET
    price: Paise | None = None
    trigger_price: Paise | None = None
    product: Annotated[ProductType, BeforeValidator(_name_of(ProductType))] = ProductType.INTRADAY
    validity: Annotated[Validity, BeforeValidator(_name_of(Validity))] = Validity.DAY

    @model_validator(mode="after")
    def _prices_fit_the_type(self) -> PlacePayload:
        needs_price = self.order_type in (OrderType.LIMIT, OrderType.STOPLOSS_LIMIT)
        needs_trigger = self.order_type in (OrderType.STOPLOSS_LIMIT, OrderType.STOPLOSS_MARKET)
        if needs_price != (self.price is not None):
            verb = "needs" if needs_price else "takes no"
            raise ValueError(f"a {self.order_type.value} order {verb} price")
        if needs_trigger != (self.trigger_price is not None):
            verb = "needs" if needs_trigger else "takes no"
            raise ValueError(f"a {self.order_type.value} order {verb} trigger_price")
        return self


class ModifyPayload(_Payload):
    """MODIFY: new terms for a working order; at least one of them."""

    client_order_id: OrderId
    quantity: Quantity | None = None
    price: Paise | None = None
    trigger_price: Paise | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> ModifyPayload:
        if self.quantity is None and self.price is None and self.trigger_price is None:
            raise ValueError("give at least one of quantity, price, trigger_price")
        return self


class CancelPayload(_Payload):
    client_order_id: OrderId


class SquareOffPayload(_Payload):
    """SQUARE_OFF: one symbol, or (no symbol) every symbol, of the row's strategy or (no
    strategy) of every strategy."""

    symbol: Symbol | None = None


class KillPayload(_Payload):
    reason: Annotated[str, Field(min_length=1, max_length=200)]


class EmptyPayload(_Payload):
    """PAUSE, RESUME and KILL_RESET take nothing but the row's own columns."""


_MODELS: dict[CommandKind, type[_Payload]] = {
    CommandKind.MANUAL_ORDER: PlacePayload,
    CommandKind.MODIFY: ModifyPayload,
    CommandKind.CANCEL: CancelPayload,
    CommandKind.SQUARE_OFF: SquareOffPayload,
    CommandKind.PAUSE: EmptyPayload,
    CommandKind.RESUME: EmptyPayload,
    CommandKind.KILL_SWITCH: KillPayload,
    CommandKind.KILL_RESET: EmptyPayload,
}


def parse_payload(kind: CommandKind, payload: Mapping[str, str]) -> BaseModel | str:
    """The kind's payload model, or one line saying what is wrong with it."""
    model = _MODELS[kind]
    try:
        return model.model_validate(dict(payload))
    except ValidationError as exc:
        return _one_line(kind, model, exc)


def _one_line(kind: CommandKind, model: type[_Payload], exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(model.model_fields) or "none"
            problems.append(f"key {where!r} is not allowed (allowed: {allowed})")
        elif error["type"] == "missing":
            problems.append(f"key {where!r} is missing")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
    return f"{kind.value} payload: " + "; ".join(problems)
