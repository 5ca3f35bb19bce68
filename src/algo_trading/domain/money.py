"""Exact prices and money: integer paise, converted from text or Decimal at the edges only.

A price is an `int` number of paise (₹1 = 100 paise). Rupee strings are parsed exactly;
floats are refused, because 0.1 + 0.2 is not 0.3 and a trader's P&L must be.
"""

from __future__ import annotations

from decimal import MAX_PREC, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from algo_trading.domain.errors import InvalidInputError

__all__ = [
    "PAISE_PER_RUPEE",
    "format_rupees",
    "paise_to_decimal",
    "round_half_up_paise",
    "rupees_to_paise",
]

PAISE_PER_RUPEE = 100


def rupees_to_paise(value: str | int | Decimal, *, what: str = "price") -> int:
    """Parse rupees ("1234.55", 1234, Decimal("0.05")) into exact paise; refuse floats and
    anything finer than a paisa."""
    if isinstance(value, (bool, float)):
        raise InvalidInputError(f"{what}: give rupees as text or Decimal, not a float ({value!r})")
    if isinstance(value, int):
        return value * PAISE_PER_RUPEE
    try:
        d = Decimal(value.strip()) if isinstance(value, str) else value
    except InvalidOperation:
        raise InvalidInputError(f"{what}: {value!r} is not a number") from None
    if not d.is_finite():
        raise InvalidInputError(f"{what}: {value!r} is not a finite number")
    # The default context keeps 28 digits and would round a longer amount silently.
    with localcontext(prec=MAX_PREC):
        paise = d * PAISE_PER_RUPEE
    if paise != paise.to_integral_value():
        raise InvalidInputError(f"{what}: {value!r} is finer than one paisa")
    return int(paise)


def paise_to_decimal(paise: int) -> Decimal:
    """Rupees as an exact Decimal with two places (for printing and APIs)."""
    return Decimal(paise).scaleb(-2)


def round_half_up_paise(value: Decimal) -> int:
    """Round an amount in paise (possibly fractional) to whole paise, half away from zero,
    the rule contract notes use."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def format_rupees(paise: int) -> str:
    """₹ with Indian digit grouping: 123456789 paise -> "₹12,34,567.89"."""
    sign = "-" if paise < 0 else ""
    rupees, p = divmod(abs(paise), PAISE_PER_RUPEE)
    digits = str(rupees)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups: list[str] = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join([*groups, tail])
    return f"{sign}₹{digits}.{p:02d}"
