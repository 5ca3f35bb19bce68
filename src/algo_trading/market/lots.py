"""Index F&O lot sizes and freeze quantities as dated tables, and order slicing
(indian-market.md §4.5, §4.9, §7).

A lot is a property of the contract, not of the underlying: a revision applies to contracts by
expiry, and long-dated contracts listed earlier convert on a set day. Take the lot from the day's
instrument master (Angel `lotsize`) whenever you have it; these tables serve backtests without one
and cross-check the master. Freeze quantities are in units and change by monthly circular.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from algo_trading.domain.errors import ConfigError, OrderError

__all__ = [
    "FREEZE_LIMITS",
    "LOT_REVISIONS",
    "LOT_TABLE_STARTS",
    "FreezeLimit",
    "LotRevision",
    "check_lot_multiple",
    "freeze_limit",
    "freeze_quantity",
    "index_lot_size",
    "max_order_quantity",
    "slice_order",
]

_d = dt.date


@dataclass(frozen=True, slots=True)
class LotRevision:
    """From `first_expiry` on, contracts on `underlying` trade in lots of `lot_size`.

    `mixed_until`: the revision applied to contracts *listed* after it, so contracts expiring in
    [first_expiry, mixed_until] carry either lot depending on their listing day; the table refuses
    to guess there. `long_dated_converted_eod`: quarterly and half-yearly contracts listed earlier
    kept the previous lot up to and including this day's close.
    """

    underlying: str
    lot_size: int
    first_expiry: dt.date
    source: str
    mixed_until: dt.date | None = None
    long_dated_converted_eod: dt.date | None = None
    confirmed: bool = True


LOT_TABLE_STARTS = _d(2024, 9, 1)
"""Earliest expiry the lot table covers: after NSE's April-2024 revision had reached every series
(FINNIFTY 25 and MIDCPNIFTY 50 from the August-2024 weeklies, Zerodha bulletin 2024-04-02);
earlier contracts need the master of their day."""

# 2024-11-20 (SEBI/HO/MRD/TPD-1/P/CIR/2024/132): new lots for contracts introduced from that day;
# existing weekly and monthly contracts kept theirs to expiry, and the last of those (the January
# 2025 monthlies, listed before 2024-11-20) expired by 2025-01-31 (Business Standard 2024-10-19;
# share.market FAQ 2024-11 for the conversion days of long-dated contracts).
_NOV24 = _d(2024, 11, 20)
_NOV24_MIXED = _d(2025, 1, 31)
_NOV24_SRC = "SEBI 2024-10-01 circular 2024/132; NSE circular 2024-10-18"
# January-2026 expiries (NSE/FAOP/70616, 2025-10-03): weekly and monthly from the Jan-2026 series,
# quarterly and half-yearly converted at 2025-12-30 EOD.
_JAN26 = _d(2026, 1, 1)
_JAN26_LD = _d(2025, 12, 30)
_JAN26_SRC = "NSE/FAOP/70616 (2025-10-03)"
# July-2025 monthly (announced 2025-03-28); when long-dated contracts converted is not in the spec.
_JUL25 = _d(2025, 7, 1)
_JUL25_SRC = "NSE revision announced 2025-03-28"

LOT_REVISIONS: tuple[LotRevision, ...] = (
    LotRevision("NIFTY", 25, LOT_TABLE_STARTS, "NSE, lot before 2024-11-20"),
    LotRevision("NIFTY", 75, _NOV24, _NOV24_SRC, _NOV24_MIXED, _d(2024, 12, 26)),
    LotRevision("NIFTY", 65, _JAN26, _JAN26_SRC, None, _JAN26_LD),
    LotRevision("BANKNIFTY", 15, LOT_TABLE_STARTS, "NSE, lot before 2024-11-20"),
    LotRevision("BANKNIFTY", 30, _NOV24, _NOV24_SRC, _NOV24_MIXED, _d(2024, 12, 24)),
    LotRevision("BANKNIFTY", 35, _JUL25, _JUL25_SRC),
    LotRevision("BANKNIFTY", 30, _JAN26, _JAN26_SRC, None, _JAN26_LD),
    LotRevision("FINNIFTY", 25, LOT_TABLE_STARTS, "NSE, lot before 2024-11-20"),
    LotRevision("FINNIFTY", 65, _NOV24, _NOV24_SRC, _NOV24_MIXED),
    LotRevision("FINNIFTY", 60, _JAN26, _JAN26_SRC, None, _JAN26_LD),
    LotRevision("MIDCPNIFTY", 50, LOT_TABLE_STARTS, "NSE, lot before 2024-11-20"),
    LotRevision("MIDCPNIFTY", 120, _NOV24, _NOV24_SRC, _NOV24_MIXED),
    LotRevision("MIDCPNIFTY", 140, _JUL25, _JUL25_SRC),
    LotRevision("MIDCPNIFTY", 120, _JAN26, _JAN26_SRC, None, _JAN26_LD),
    LotRevision("NIFTYNXT50", 10, LOT_TABLE_STARTS, "NSE, lot before 2024-11-20"),
    LotRevision("NIFTYNXT50", 25, _NOV24, _NOV24_SRC, _NOV24_MIXED),
    # BSE. SENSEX 20 after BSE's 2025-09-30 revision is implied by its freeze (1,000 = 50 lots),
    # not read from the notice: unconfirmed (indian-market.md §9).
    LotRevision("SENSEX", 10, LOT_TABLE_STARTS, "BSE, lot before 2024-11-20"),
    LotRevision("SENSEX", 20, _NOV24, _NOV24_SRC, _NOV24_MIXED, _d(2024, 12, 27)),
    LotRevision("BANKEX", 15, LOT_TABLE_STARTS, "BSE, lot before 2024-11-20"),
    LotRevision("BANKEX", 30, _NOV24, _NOV24_SRC, _NOV24_MIXED),
    LotRevision("SENSEX50", 25, LOT_TABLE_STARTS, "BSE, lot before 2024-11-20"),
    LotRevision("SENSEX50", 60, _NOV24, _NOV24_SRC, _NOV24_MIXED),
    # Reported by ICICI Direct with the June-2025 changes; first expiry assumed to be July 2025
    # like NSE's, and BSE's 2025-09-30 revision may have changed it again.
    LotRevision("SENSEX50", 75, _JUL25, "ICICI Direct 2025; Zerodha lot page", confirmed=False),
)


def index_lot_size(
    underlying: str,
    expiry: dt.date,
    *,
    on: dt.date | None = None,
    long_dated: bool = False,
    table: tuple[LotRevision, ...] = LOT_REVISIONS,
) -> int:
    """Units per lot of the index contract on `underlying` expiring on `expiry` (§4.5).

    For a quarterly or half-yearly contract pass `long_dated=True` and the trading day `on`: it
    kept the previous lot until its conversion day's close. Raises ConfigError for an unknown
    underlying, an expiry before the table starts, or an expiry whose lot depended on the
    listing day.
    """
    rows = sorted((r for r in table if r.underlying == underlying), key=lambda r: r.first_expiry)
    if not rows:
        known = sorted({r.underlying for r in table})
        raise ConfigError(f"lot size: no table for {underlying!r}; known: {', '.join(known)}")
    index = max((i for i, r in enumerate(rows) if r.first_expiry <= expiry), default=-1)
    if index < 0:
        raise ConfigError(
            f"lot size: {underlying} table starts with expiries on {rows[0].first_expiry}, "
            f"not {expiry}; take the lot from that day's instrument master"
        )
    row = rows[index]
    if row.mixed_until is not None and expiry <= row.mixed_until:
        raise ConfigError(
            f"lot size: {underlying} contracts expiring {expiry} carried "
            f"{rows[index - 1].lot_size} or {row.lot_size} by listing day; use the master"
        )
    if long_dated and index > 0:
        converted = row.long_dated_converted_eod
        if on is None or converted is None:
            raise ConfigError(
                f"lot size: {underlying} long-dated contract expiring {expiry} needs the trading "
                "day and a known conversion day; use the master"
            )
        if on <= converted:
            return rows[index - 1].lot_size
    return row.lot_size


@dataclass(frozen=True, slots=True)
class FreezeLimit:
    """From `effective` on, one order in `underlying`'s contracts may carry at most `units`.

    `confirmed=False` marks a month the spec could not read; the value is then the smaller of
    its neighbours, which is always a legal order size.
    """

    underlying: str
    effective: dt.date
    units: int
    source: str
    confirmed: bool = True


def _nse_month(
    effective: dt.date,
    values: tuple[int, int, int, int, int],
    source: str,
    unread: frozenset[str] = frozenset(),
) -> tuple[FreezeLimit, ...]:
    names = ("BANKNIFTY", "NIFTY", "FINNIFTY", "MIDCPNIFTY", "NIFTYNXT50")
    return tuple(
        FreezeLimit(
            name, effective, units, _UNREAD if name in unread else source, name not in unread
        )
        for name, units in zip(names, values, strict=True)
    )


_CIRC = "NSE monthly freeze circular (CIRC)"
_UNREAD = "circular not read; the smaller of the neighbouring months"
_ALL_NSE = frozenset({"BANKNIFTY", "NIFTY", "FINNIFTY", "MIDCPNIFTY", "NIFTYNXT50"})
# Columns: BANKNIFTY, NIFTY, FINNIFTY, MIDCPNIFTY, NIFTYNXT50 (indian-market.md §4.9).
FREEZE_LIMITS: tuple[FreezeLimit, ...] = (
    *_nse_month(_d(2025, 7, 1), (600, 1800, 1800, 2800, 600), _CIRC),
    *_nse_month(_d(2025, 8, 1), (600, 1800, 1800, 2800, 600), _CIRC),
    *_nse_month(_d(2025, 9, 1), (900, 1800, 1800, 2800, 600), _CIRC),
    # FAOP70530 was not summarised: the smaller of September's and November's values.
    *_nse_month(_d(2025, 10, 1), (600, 1800, 1800, 2800, 600), _CIRC, _ALL_NSE),
    *_nse_month(_d(2025, 11, 3), (600, 1800, 1800, 2800, 600), _CIRC),
    *_nse_month(_d(2025, 12, 1), (600, 1800, 1200, 2800, 600), _CIRC),
    *_nse_month(_d(2026, 1, 1), (600, 1800, 1200, 2800, 600), _CIRC),
    *_nse_month(_d(2026, 2, 1), (600, 1800, 1800, 2800, 600), _CIRC),
    *_nse_month(_d(2026, 3, 2), (600, 1800, 1200, 2800, 600), _CIRC),
    *_nse_month(_d(2026, 4, 1), (900, 1800, 1800, 2800, 600), _CIRC),
    *_nse_month(_d(2026, 5, 4), (900, 1800, 1800, 2800, 600), _CIRC),
    *_nse_month(_d(2026, 6, 1), (900, 1800, 1800, 2800, 600), _CIRC, frozenset({"NIFTYNXT50"})),
    *_nse_month(_d(2026, 7, 1), (600, 1800, 1800, 2800, 600), _CIRC),
    *_nse_month(_d(2026, 8, 1), (600, 1800, 1800, 2800, 600), _CIRC),
    # BSE, as reported in February 2026; earlier values are not in the spec.
    FreezeLimit("SENSEX", _d(2026, 2, 1), 1000, "ICICI Direct FAQ, Feb 2026"),
    FreezeLimit("BANKEX", _d(2026, 2, 1), 900, "ICICI Direct FAQ, Feb 2026"),
)


def freeze_limit(
    underlying: str, on: dt.date, table: tuple[FreezeLimit, ...] = FREEZE_LIMITS
) -> FreezeLimit:
    """The freeze row in force on trading day `on`; the latest row carries forward until the next
    circular is added. Stock F&O freezes come per contract from the exchange file, not here."""
    rows = [r for r in table if r.underlying == underlying]
    if not rows:
        known = sorted({r.underlying for r in table})
        raise ConfigError(
            f"freeze quantity: no table for {underlying!r}; known: {', '.join(known)}"
        )
    in_force = [r for r in rows if r.effective <= on]
    if not in_force:
        first = min(r.effective for r in rows)
        raise ConfigError(f"freeze quantity: {underlying} table starts {first}, not {on}")
    return max(in_force, key=lambda r: r.effective)


def freeze_quantity(
    underlying: str, on: dt.date, table: tuple[FreezeLimit, ...] = FREEZE_LIMITS
) -> int:
    """Units one order may carry at most in `underlying`'s contracts on `on` (§4.9)."""
    return freeze_limit(underlying, on, table).units


def check_lot_multiple(quantity: int, lot_size: int, *, where: str = "order") -> None:
    """Raise OrderError unless `quantity` is a positive whole number of lots."""
    if lot_size <= 0:
        raise OrderError(f"{where}: lot size {lot_size} is not positive")
    if quantity <= 0:
        raise OrderError(f"{where}: quantity {quantity} is not positive")
    if quantity % lot_size:
        raise OrderError(
            f"{where}: quantity {quantity} is not a multiple of the lot size {lot_size}"
        )


def max_order_quantity(lot_size: int, freeze_qty: int, *, where: str = "order") -> int:
    """The largest legal single order: whole lots not above the freeze (1,800 / 65 -> 1,755)."""
    if lot_size <= 0 or freeze_qty <= 0:
        raise OrderError(f"{where}: lot {lot_size} and freeze {freeze_qty} must be positive")
    largest = freeze_qty - freeze_qty % lot_size
    if largest == 0:
        raise OrderError(f"{where}: freeze quantity {freeze_qty} is below one lot of {lot_size}")
    return largest


def slice_order(
    quantity: int,
    lot_size: int,
    freeze_qty: int,
    *,
    max_slices: int | None = None,
    where: str = "order",
) -> list[int]:
    """Split a parent F&O quantity into child orders: each whole lots and at most the freeze,
    summing to the parent (§4.9). Children are as large as allowed, the remainder last.

    Every child is its own order for brokerage, the throttle and the audit trail. `max_slices`
    caps the split (Zerodha allows 10 through its API); a parent needing more raises OrderError.
    """
    if max_slices is not None and max_slices < 1:
        raise OrderError(f"{where}: slice cap {max_slices} is below one")
    check_lot_multiple(quantity, lot_size, where=where)
    largest = max_order_quantity(lot_size, freeze_qty, where=where)
    full, rest = divmod(quantity, largest)
    children = [largest] * full + ([rest] if rest else [])
    if max_slices is not None and len(children) > max_slices:
        raise OrderError(
            f"{where}: quantity {quantity} needs {len(children)} slices of at most {largest}, "
            f"more than the cap of {max_slices}"
        )
    return children
