"""Reading what a client sends, safely: one bounded JSON reader and typed field readers (issue #15).

The simulator faces clients we did not write, so no request may cost unbounded work or raise
anything but `RequestError` (Angel One's envelope). Every REST body and every feed frame goes
through `loads_bounded`: a known charset, at most `MAX_BODY_BYTES`, nesting at most `MAX_DEPTH`,
numbers of at most `MAX_NUMBER_CHARS` characters with a small exponent, no NaN or Infinity.
Every field goes through `body_text`, `body_int` or `body_paise`, which accept only the JSON types
Angel One's SDKs send and check a number's text before converting it.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from algo_trading.domain.errors import InvalidInputError
from algo_trading.domain.money import rupees_to_paise
from algo_trading.simulator.accounts import RequestError

__all__ = [
    "BAD_PAYLOAD",
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MAX_FRAME_BYTES",
    "body_int",
    "body_paise",
    "body_text",
    "decode_body",
    "loads_bounded",
]

BAD_PAYLOAD = "AB1004"  # Angel One's generic "Something Went Wrong" (spec §1.8)
MAX_BODY_BYTES = 256 * 1024  # the largest real request (a 50-token quote) is under 4 KiB
# A WebSocket frame up to this size gets a reasoned E1001 when it is too big for loads_bounded;
# a larger one is closed with 1009 (message too big), as RFC 6455 has it.
MAX_FRAME_BYTES = 4 * MAX_BODY_BYTES
MAX_DEPTH = 16  # the deepest real body (quote's exchangeTokens, a feed tokenList) is 4
MAX_NUMBER_CHARS = 40
MAX_EXPONENT = 30
MAX_TEXT_CHARS = 512
MAX_INT = 10**15  # above any quantity, id or page a client can mean; far below int64
MAX_RUPEES = Decimal(10**9)  # above any listed price (MRF trades near ₹1.5 lakh)

# Charsets a JSON body may come in (RFC 8259 §8.1 names UTF-8; the others are what clients send
# by mistake and can still be read exactly). Text-to-text codecs such as rot13 are not charsets.
_CHARSETS = frozenset(
    {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "ascii"}
    | {"latin-1", "iso8859-1"}
)
_STRUCTURE = re.compile(r'[\\"\[\]{}]')
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,16}(?:\.0*)?", re.ASCII)
_DECIMAL_TEXT = re.compile(r"\+?[0-9]{1,15}(?:\.[0-9]{0,15})?(?:[eE][+-]?[0-9]{1,2})?", re.ASCII)


class _Refused(Exception):
    """A JSON number out of bounds, raised from inside `json.loads` and turned into AB1004."""


def decode_body(raw: bytes, charset: str | None) -> str:
    """The text of a body in its declared charset (UTF-8 when none, a BOM allowed)."""
    name = (charset or "utf-8").strip().lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise RequestError(
            BAD_PAYLOAD, f"Invalid request payload: unknown charset {name!r}"
        ) from None
    if codec not in _CHARSETS:
        raise RequestError(BAD_PAYLOAD, f"Invalid request payload: charset {name!r} not accepted")
    try:
        return raw.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        raise RequestError(
            BAD_PAYLOAD, f"Invalid request payload: not {name} at byte {exc.start}"
        ) from None


def _depth_within(text: str, limit: int) -> bool:
    """Whether no array or object nests deeper than `limit`, counted outside strings.

    Checked before parsing, so a 100k-deep body costs one linear scan, not a recursion."""
    depth = 0
    in_string = False
    skip = -1
    for match in _STRUCTURE.finditer(text):
        pos, char = match.start(), match.group()
        if in_string:
            if pos == skip:
                continue
            if char == "\\":
                skip = pos + 1  # the escaped character is never structure
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"an integer of {len(text)} characters")
    return int(text)


def _number(text: str) -> Decimal:
    """JSON fractions and exponents as exact Decimals (never floats), bounded first."""
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters")
    value = Decimal(text)
    if abs(value.adjusted()) > MAX_EXPONENT:  # 0e999999 too: int() of it is not free
        raise _Refused(f"the number {text} is out of range")
    return value


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not a JSON number")


def loads_bounded(text: str, what: str = "request payload") -> Any:
    """`json.loads` with every bound of this module; any refusal is a RequestError AB1004."""
    if len(text) > MAX_BODY_BYTES:
        raise RequestError(BAD_PAYLOAD, f"Invalid {what}: larger than {MAX_BODY_BYTES} characters")
    if not _depth_within(text, MAX_DEPTH):
        raise RequestError(BAD_PAYLOAD, f"Invalid {what}: nested deeper than {MAX_DEPTH}")
    try:
        return json.loads(text, parse_int=_int, parse_float=_number, parse_constant=_constant)
    except _Refused as exc:
        raise RequestError(BAD_PAYLOAD, f"Invalid {what}: {exc}") from None
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
        raise RequestError(BAD_PAYLOAD, f"Invalid {what}: not JSON") from None


def _refuse(code: str, key: str, why: str) -> RequestError:
    return RequestError(code, f"Invalid {key}: {why}")


def body_text(
    body: Mapping[str, object], key: str, default: str = "", *, code: str = BAD_PAYLOAD
) -> str:
    """A text field; a JSON number is taken as its text (clients send tokens both ways)."""
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _refuse(code, key, f"expected text, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > MAX_TEXT_CHARS:
        raise _refuse(code, key, f"longer than {MAX_TEXT_CHARS} characters")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a JSON escape
            raise _refuse(code, key, "not valid Unicode") from None
    return text


def body_int(
    body: Mapping[str, object], key: str, default: int = 0, *, code: str = BAD_PAYLOAD
) -> int:
    """A whole number sent as a JSON number or as ASCII digits ("10" or "10.0"), |n| <= 10**15."""
    value = body.get(key, default)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise _refuse(code, key, "expected a whole number, got a boolean")
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise _refuse(code, key, f"{value} is not a whole number")
        value = int(value)  # bounded: loads_bounded refused large exponents
    if isinstance(value, str):
        text = value.strip()
        if not _INT_TEXT.fullmatch(text):
            raise _refuse(code, key, f"{text[:40]!r} is not a whole number")
        value = int(text.split(".")[0])
    if not isinstance(value, int):
        raise _refuse(code, key, f"expected a whole number, got {type(value).__name__}")
    if abs(value) > MAX_INT:
        raise _refuse(code, key, f"{value} is out of range")
    return value


def body_paise(body: Mapping[str, object], key: str, *, code: str = BAD_PAYLOAD) -> int:
    """Rupees as sent (str "194.50" or a JSON number) to exact paise; 0 when absent.

    The text is checked (ASCII digits, at most 15 of them each side, an exponent of two digits)
    before it becomes a Decimal, so "1e999999" or a 5,000-digit price is refused, not computed;
    negative amounts, amounts above ₹10^9 and amounts finer than a paisa are refused too."""
    value = body.get(key, "0")
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise _refuse(code, key, f"expected rupees, got {type(value).__name__}")
    text = str(value).strip()
    if not _DECIMAL_TEXT.fullmatch(text):
        raise _refuse(code, key, f"{text[:40]!r} is not an amount in rupees")
    try:
        rupees = Decimal(text)
    except InvalidOperation:  # the pattern admits only valid Decimal text; kept for safety
        raise _refuse(code, key, f"{text!r} is not an amount in rupees") from None
    if rupees > MAX_RUPEES:
        raise _refuse(code, key, f"{text} is out of range")
    try:
        return rupees_to_paise(rupees, what=key)
    except InvalidInputError as exc:
        raise _refuse(code, key, str(exc)) from None
