"""Wire values of SmartAPI REST bodies, read exactly (spec §2.5, §2.11-§2.13, §3).

Prices on the wire are decimal rupees, as JSON numbers or strings depending on the route
(§8 fact 2); quantities are mostly strings. Bodies are decoded with `parse_float=Decimal`, so
495.05 arrives as Decimal("495.05") and becomes 49505 paise with no float in between. Every
reader names the route and the field in its MalformedResponseError.

A broker answer is untrusted input (issue #15): every number is bounded before it is
converted (ASCII grammar, at most MAX_DIGITS digits, exponent and int64 range checked first),
then converted with integer arithmetic only, so no value can hang, overflow or be rounded
silently. Prices, averages and counts cannot be negative; P&L, balances and net quantity can.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import cast

from algo_trading.adapters.brokers.angelone.errors import MalformedResponseError
from algo_trading.domain.events import IST
from algo_trading.domain.money import paise_to_decimal

__all__ = [
    "INT64_MAX",
    "MAX_DIGITS",
    "MAX_NESTING",
    "MAX_NUMBER_TEXT",
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

# Bounds checked before any arithmetic, so that no wire value costs more than a few
# microseconds (int(Decimal("1e999999999")) never returns) or rounds silently.
INT64_MAX = 2**63 - 1  # every paise and quantity we keep fits a signed int64 (storage, packets)
MAX_DIGITS = 40  # significant digits a wire number may carry: int64 paise (19) + 21 decimals
MAX_NUMBER_TEXT = 64  # characters of a number sent as a string
MAX_NESTING = 32  # the deepest SmartAPI body nests 5 levels (quote depth); refuse far deeper
# A JSON integer literal longer than this is kept as a Decimal, so that the field reader
# refuses it by name instead of json.loads refusing the body (Python's 4300-digit int limit).
_JSON_INT_DIGITS = MAX_DIGITS
# The ASCII grammar of a wire number. Decimal() alone would also take Unicode digits
# ("\u0661\u0662"), underscores ("1_000"), NaN/Infinity and surrounding whitespace.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _json_int(literal: str) -> int | Decimal:
    return int(literal) if len(literal) <= _JSON_INT_DIGITS else Decimal(literal)


def _json_float(literal: str) -> Decimal | str:
    # An exponent past Decimal's own range (1e99999999999999999999) is kept as its text: the
    # field reader then refuses it by name ("is out of range"), as it does the quoted form.
    try:
        return Decimal(literal)
    except InvalidOperation:
        return literal


_CONTAINERS = frozenset({dict, list})  # json.loads builds exactly these, never subclasses


def _deeper_than(doc: object, limit: int) -> bool:
    """Whether containers nest more than `limit` levels, walked level by level (no recursion).

    A node whose values hold no container (most rows) is skipped by a C-level type scan.
    """
    level: list[object] = [doc] if type(doc) in _CONTAINERS else []
    for _ in range(limit):
        if not level:
            return False
        deeper: list[object] = []
        for node in level:
            values = cast("Collection[object]", node.values() if type(node) is dict else node)
            if not _CONTAINERS.isdisjoint(map(type, values)):
                deeper.extend(v for v in values if type(v) in _CONTAINERS)
        level = deeper
    return bool(level)


def loads_exact(route: str, body: bytes | str) -> object:
    """JSON with every non-integer number as an exact Decimal; malformed JSON is typed.

    Refused as a whole ("body"): nesting deeper than MAX_NESTING and anything json.loads
    refuses. Numbers are judged by the field readers, which name the field: NaN and Infinity
    literals arrive as floats, which no reader takes.
    """
    try:
        doc = json.loads(body, parse_float=_json_float, parse_int=_json_int)
    except RecursionError:
        # The C decoder counts its depth against the recursion limit and stops cleanly.
        raise _too_deep(route) from None
    except (ValueError, UnicodeDecodeError):
        raise MalformedResponseError(route, "body", "is not valid JSON") from None
    # Counting openers is a C loop; a body with few of them cannot be deep, so the walk
    # runs only on bodies with many containers (an order book: one per row).
    if isinstance(body, bytes):
        openers = body.count(b"[") + body.count(b"{")
    else:
        openers = body.count("[") + body.count("{")
    if openers > MAX_NESTING and _deeper_than(doc, MAX_NESTING):
        raise _too_deep(route)
    return doc


def _too_deep(route: str) -> MalformedResponseError:
    return MalformedResponseError(route, "body", f"nests deeper than {MAX_NESTING} levels")


def _shown(value: object) -> str:
    """A value for an error message, cut short: a hostile field can be a megabyte long."""
    text = repr(value) if not isinstance(value, Decimal) else repr(str(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _decimal(route: str, row: Row, field: str) -> Decimal | int:
    """The field's exact value: an int, or a finite Decimal within MAX_DIGITS digits."""
    value = row.get(field, _MISSING)
    if value is _MISSING:
        raise MalformedResponseError(route, field, "is missing")
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise MalformedResponseError(route, field, f"is not a number but {type(value).__name__}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT:
            raise MalformedResponseError(
                route, field, f"{_shown(value)} is longer than {MAX_NUMBER_TEXT} characters"
            )
        # "" is what fields not yet known hold (the first order-status frame, §5.2); the DOCS
        # positions sample writes "- 2235.80", with a blank after the sign.
        cleaned = value.replace(" ", "").replace(",", "")
        if not cleaned:
            return 0
        if not _NUMBER.fullmatch(cleaned):
            raise MalformedResponseError(route, field, f"{_shown(value)} is not a number")
        try:
            d = Decimal(cleaned)
        except InvalidOperation:  # an exponent beyond even Decimal's range
            raise MalformedResponseError(route, field, f"{_shown(value)} is out of range") from None
    else:
        d = value
    if not d.is_finite():
        raise MalformedResponseError(route, field, f"{_shown(value)} is not a finite number")
    if len(d.as_tuple().digits) > MAX_DIGITS:
        raise MalformedResponseError(
            route, field, f"{_shown(value)} has more than {MAX_DIGITS} significant digits"
        )
    return d


def _units(route: str, row: Row, field: str, scale: int, *, exact: bool, signed: bool) -> int:
    """The field times 10**scale as an int64, by integer arithmetic only.

    `exact`: a value finer than one unit is refused, else rounded half away from zero.
    `signed`: whether the field may be negative at all.
    """
    value = _decimal(route, row, field)
    if isinstance(value, int):
        sign, coefficient, exponent = (value < 0), abs(value), 0
        if coefficient > INT64_MAX:
            raise MalformedResponseError(route, field, f"{_shown(value)} is out of range")
    else:
        sign_bit, digits, exp = value.as_tuple()
        if not any(digits):
            return 0  # zero, -0, 0E-999999999: no arithmetic needed
        sign, exponent = bool(sign_bit), int(exp)
        if len(digits) + exponent + scale > 19:  # at least 10**19 units: beyond int64
            raise MalformedResponseError(route, field, f"{_shown(row[field])} is out of range")
        if exponent + scale < -MAX_DIGITS:
            # Finer than 10**-40 of a unit: no real price, average or P&L is written so (the
            # issue's 1e-999999999), and rounding it to 0 would hide a broken answer.
            raise MalformedResponseError(route, field, _too_fine(row[field], scale))
        coefficient = int("".join(map(str, digits)))
    if sign and coefficient and not signed:
        raise MalformedResponseError(route, field, f"{_shown(row[field])} cannot be negative")
    shift = exponent + scale  # within [-MAX_DIGITS, 19]: the powers of ten below are small
    units: int
    if shift >= 0:
        factor: int = 10**shift
        units = coefficient * factor
    else:
        divisor: int = 10**-shift
        units, rest = divmod(coefficient, divisor)
        if rest and exact:
            raise MalformedResponseError(route, field, _too_fine(row[field], scale))
        if 2 * rest >= divisor:
            units += 1
    if units > INT64_MAX:
        raise MalformedResponseError(route, field, f"{_shown(row[field])} is out of range")
    return -units if sign else units


def _too_fine(value: object, scale: int) -> str:
    if scale == 0:
        return f"{_shown(value)} is not a whole number"
    return f"{_shown(value)} is finer than one paisa"


def price_paise(route: str, row: Row, field: str) -> int:
    """An exact price in paise: non-negative rupees with at most two decimals."""
    return _units(route, row, field, 2, exact=True, signed=False)


def amount_paise(route: str, row: Row, field: str, *, signed: bool = False) -> int:
    """An average, a P&L or a balance in paise, rounded half away from zero when finer.

    `signed` for P&L, M2M and balances; an average or a last price is never negative.
    """
    return _units(route, row, field, 2, exact=False, signed=signed)


def integer(route: str, row: Row, field: str, *, signed: bool = False) -> int:
    """A quantity or count: an integer given as a number or a string ("150", 150, 150.0).

    `signed` for a net quantity (negative = short); no other count can be negative.
    """
    return _units(route, row, field, 0, exact=True, signed=signed)


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
    ns = ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000
    if not -INT64_MAX <= ns <= INT64_MAX:  # int64 nanoseconds span the years 1677-2262
        raise MalformedResponseError(route, field, f"{when.isoformat()} is out of range")
    return ns


def ist_naive(when: dt.datetime) -> dt.datetime:
    """An aware datetime in IST, for the `yyyy-MM-dd HH:mm` request format (§3)."""
    if when.tzinfo is None:
        raise ValueError(f"{when!r} must be timezone-aware (IST is assumed nowhere)")
    return when.astimezone(IST)
