"""Numbers written by people, read exactly and with bounds: the slow path of the bars loader for
any cell that is not a short plain number (issue #15, point 3).

A cell is a number only in ASCII: `[+-]digits[.digits][e[+-]digits]`, with spaces or tabs
around it allowed. `Decimal` and `int` also read other scripts' digits (`१००`) and underscores
(`1_000`); a price column must not. No step here does work that grows with an exponent, and
no `int` is built from more than 19 digits, so `1e999999999` or a megabyte of digits costs
what reading its text costs.
"""

from __future__ import annotations

import re

__all__ = ["FINER", "NOT_A_NUMBER", "OUT_OF_RANGE", "scaled_int", "show"]

_NUMBER = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# An exponent with more digits than this is astronomically far outside int64 either way.
_EXPONENT_DIGITS = 12

NOT_A_NUMBER = "is not a number"
OUT_OF_RANGE = "is out of range"
FINER = "is finer than the column allows"


def scaled_int(text: str, places: int) -> int | str:
    """`text` × 10**`places` as an exact int64, or the reason it is not one: `NOT_A_NUMBER`
    (with a hint when it has non-ASCII digits), `OUT_OF_RANGE` or `FINER` (a fraction left
    after scaling). Range is judged before fineness: `1e999999999` is out of range."""
    m = _NUMBER.fullmatch(text.strip(" \t"))
    if m is None or not (m.group(2) or m.group(3)):
        if any(ch.isdigit() and not ch.isascii() for ch in text):
            return f"{NOT_A_NUMBER} (digits must be ASCII 0-9)"
        return NOT_A_NUMBER
    sign, whole, frac, exp_text = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    digits = (whole + frac).lstrip("0")
    if not digits:
        return 0
    exponent = places - len(frac) + _exponent(exp_text)
    trimmed = digits.rstrip("0")
    exponent += len(digits) - len(trimmed)
    if len(trimmed) + exponent > 19:  # at least 10**19 > int64
        return OUT_OF_RANGE
    if exponent < 0:
        return FINER
    value: int = int(trimmed) * 10**exponent  # at most 19 digits: cheap
    if sign == "-":
        value = -value
    if not _INT64_MIN <= value <= _INT64_MAX:
        return OUT_OF_RANGE
    return value


def _exponent(text: str | None) -> int:
    if not text:
        return 0
    negative = text.startswith("-")
    magnitude = text.lstrip("+-").lstrip("0")
    if len(magnitude) > _EXPONENT_DIGITS:  # clamp: same verdict, no giant int
        magnitude = "9" * _EXPONENT_DIGITS
    value = int(magnitude or "0")
    return -value if negative else value


def show(text: str, limit: int = 40) -> str:
    """A cell as an error message shows it: quoted, escaped, and cut if long, so a hostile cell
    cannot put a control code or a second line on the user's terminal."""
    cut = text if len(text) <= limit else text[:limit]
    shown = repr(cut)
    return shown if cut is text else f"{shown}… ({len(text):,} characters)"
