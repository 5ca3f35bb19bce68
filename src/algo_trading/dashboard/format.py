"""How the dashboard shows numbers and times (issue #12 item 3): rupees with Indian grouping
(₹1,23,45,678.90), times in IST, and a colour-blind-safe pair for gains and losses (the
Okabe-Ito blue and vermillion, told apart by people with red-green colour blindness; a sign and
an arrow go with them, so colour is never the only cue)."""

from __future__ import annotations

import datetime as dt

from algo_trading.domain.events import IST
from algo_trading.domain.money import format_rupees

__all__ = [
    "GAIN",
    "LOSS",
    "NEUTRAL",
    "ist",
    "ist_text",
    "pnl_colour",
    "pnl_text",
    "rupees",
]

GAIN = "#0072B2"  # Okabe-Ito blue
LOSS = "#D55E00"  # Okabe-Ito vermillion
NEUTRAL = "#999999"


def rupees(paise: int | None) -> str:
    """₹1,23,45,678.90 (lakh and crore grouping); '-' for nothing."""
    return "-" if paise is None else format_rupees(int(paise))


def pnl_text(paise: int) -> str:
    """A P&L with its direction in words as well as colour: '▲ ₹1,200.00' / '▼ -₹50.00'."""
    arrow = "▲" if paise > 0 else "▼" if paise < 0 else "•"
    return f"{arrow} {format_rupees(paise)}"


def pnl_colour(paise: int) -> str:
    return GAIN if paise > 0 else LOSS if paise < 0 else NEUTRAL


def ist(value: dt.datetime) -> dt.datetime:
    """An aware time in IST (naive times from SQLite are UTC, as the storage writes them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(IST)


def ist_text(value: dt.datetime | None) -> str:
    return "-" if value is None else ist(value).strftime("%d %b %Y %H:%M:%S IST")
