"""Wire values of SmartAPI REST bodies, read exactly (spec §2.5, §2.11-§2.13, §3).

Prices on the wire are decimal rupees, as JSON numbers or strings depending on the route
(§8 fact 2); quantities are mostly strings. Bodies are decoded with `parse_float=Decimal`, so
495.05 arrives as Decimal("495.05") and becomes 49505 paise with no float in between. Every
reader names the route and the field in its MalformedResponseError.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from algo_trading.adapters.brokers.angelone.errors import MalformedResponseError
from algo_trading.domain.events import IST
from algo_trading.domain.money import paise_to_decimal

__all__ = [
    "Row",
    "amount_paise",
    "epoch_ns",
    "integer",
    "loads_exact",
    "price_paise",
    "rupees_str",
    "text",
]

Row = Mapping[str, object]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MISSING = object()


def loads_exact(route: str, body: bytes | str) -> object:
    """JSON with every non-integer number as an exact Decimal; malformed JSON is typed."""
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise MalformedResponseError(route, "body", "is not valid JSON") from None


def _decimal(route: str, row: Row, field: str) -> Decimal:
    value = row.get(field, _MISSING)
    if value is _MISSING:
        raise MalformedResponseError(route, field, "is missing")
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise MalformedResponseError(route, field, f"is not a number but {type(value).__name__}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        d = value
    else:
        # "" is what fields not yet known hold (the first order-status frame, §5.2); the DOCS
        # positions sample writes "- 2235.80", with a blank after the sign.
        cleaned = value.replace(" ", "").replace(",", "")
        if not cleaned:
            return Decimal(0)
        try:
            d = Decimal(cleaned)
        except InvalidOperation:
            raise MalformedResponseError(route, field, f"{value!r} is not a number") from None
    if not d.is_finite():
        raise MalformedResponseError(route, field, f"{value!r} is not a finite number")
    return d


def price_paise(route: str, row: Row, field: str) -> int:
    """An exact price in paise: rupees with at most two decimals (an order or fill price)."""
    paise = _decimal(route, row, field) * 100
    if paise != paise.to_integral_value():
        raise MalformedResponseError(route, field, f"{row[field]!r} is finer than one paisa")
    return int(paise)


def amount_paise(route: str, row: Row, field: str) -> int:
    """An average, a P&L or a balance in paise, rounded half away from zero when finer."""
    paise = _decimal(route, row, field) * 100
    return int(paise.to_integral_value(rounding=ROUND_HALF_UP))


def integer(route: str, row: Row, field: str) -> int:
    """A quantity or count: an integer given as a number or a string ("150", 150, 150.0)."""
    d = _decimal(route, row, field)
    if d != d.to_integral_value():
        raise MalformedResponseError(route, field, f"{row[field]!r} is not a whole number")
    return int(d)


def text(route: str, row: Row, field: str, *, default: str | None = None) -> str:
    """A string field; a number is accepted as its text (the DOCS samples disagree on ids)."""
    value = row.get(field, _MISSING)
    if value is _MISSING or value is None:
        if default is not None:
            return default
        raise MalformedResponseError(route, field, "is missing")
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise MalformedResponseError(route, field, f"is not text but {type(value).__name__}")


def rupees_str(paise: int) -> str:
    """Paise as the rupee string the wire expects, always two decimals: 49505 -> "495.05"."""
    return f"{paise_to_decimal(paise):.2f}"


def epoch_ns(route: str, field: str, when: dt.datetime) -> int:
    """An aware datetime as exact epoch nanoseconds (no float on the way)."""
    if when.tzinfo is None:
        raise MalformedResponseError(route, field, f"{when.isoformat()} has no UTC offset")
    delta = when - _EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000


def ist_naive(when: dt.datetime) -> dt.datetime:
    """An aware datetime in IST, for the `yyyy-MM-dd HH:mm` request format (§3)."""
    if when.tzinfo is None:
        raise ValueError(f"{when!r} must be timezone-aware (IST is assumed nowhere)")
    return when.astimezone(IST)
