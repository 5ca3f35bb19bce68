"""Positions with exact P&L: FIFO lots, so realized and unrealized P&L are whole paise.

Average cost would make realized P&L fractional (buy 1 @ ₹1.00 and 2 @ ₹1.01, sell 1: the
average is ₹1.00666…); lots matched first-in first-out keep every figure an integer, which is
also how Indian tax statements match delivery trades. `avg_price_paise` is still shown.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from algo_trading.domain._build import twin
from algo_trading.domain.errors import OrderError

__all__ = ["Position", "PositionSnapshot", "RoundTrip"]


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A closed trade: from flat to flat (or through zero), with its exact realized P&L.

    `entry_value_paise` and `exit_value_paise` are sums of price × quantity, so the average
    prices are exact fractions; `quantity` is the largest absolute size held.
    """

    symbol: str
    direction: int  # +1 long, -1 short
    quantity: int
    entry_ns: int
    exit_ns: int
    entry_value_paise: int
    exit_value_paise: int
    pnl_paise: int
    charges_paise: int


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    symbol: str
    quantity: int
    cost_paise: int  # sum over open lots of price × signed quantity
    realized_pnl_paise: int
    last_price_paise: int

    @property
    def unrealized_pnl_paise(self) -> int:
        return self.quantity * self.last_price_paise - self.cost_paise

    @property
    def avg_price(self) -> Decimal:
        """Average entry price of the open lots in rupees (display only)."""
        if self.quantity == 0:
            return Decimal(0)
        return (Decimal(self.cost_paise) / Decimal(self.quantity) / 100).quantize(Decimal("0.0001"))


_RoundTripTwin = twin(RoundTrip)


class Position:
    """A net position in one symbol: long (quantity > 0), short (< 0) or flat."""

    __slots__ = (
        "_lots",
        "_trip_charges",
        "_trip_entry_ns",
        "_trip_entry_value",
        "_trip_exit_value",
        "_trip_max_qty",
        "_trip_realized",
        "cost_paise",
        "last_price_paise",
        "quantity",
        "realized_pnl_paise",
        "round_trips",
        "symbol",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.quantity = 0
        self.cost_paise = 0
        self.realized_pnl_paise = 0
        self.last_price_paise = 0
        # open lots: [signed quantity, price]; all of one sign
        self._lots: deque[list[int]] = deque()
        self.round_trips: list[RoundTrip] = []
        self._reset_trip(0)

    def _reset_trip(self, ts_ns: int) -> None:
        self._trip_entry_ns = ts_ns
        self._trip_entry_value = 0
        self._trip_exit_value = 0
        self._trip_max_qty = 0
        self._trip_realized = 0
        self._trip_charges = 0

    @property
    def unrealized_pnl_paise(self) -> int:
        return self.quantity * self.last_price_paise - self.cost_paise

    @property
    def open_lots(self) -> tuple[tuple[int, int], ...]:
        """The open FIFO lots, oldest first, as (signed quantity, price paise): what a store
        keeps so that replaying them through `apply_fill` rebuilds this position."""
        return tuple((qty, price) for qty, price in self._lots)

    def mark(self, price_paise: int) -> None:
        self.last_price_paise = price_paise

    def apply_fill(
        self, signed_qty: int, price_paise: int, ts_ns: int, charges_paise: int = 0
    ) -> int:
        """Apply an execution; returns the P&L it realized (paise). Closes lots first-in
        first-out; what is left of the fill opens a position the other way (a flip). The
        fill's charges go to the round trip it closes, split by quantity on a flip."""
        if signed_qty == 0:
            raise OrderError(f"position {self.symbol}: a fill of zero quantity")
        if price_paise <= 0:
            raise OrderError(f"position {self.symbol}: fill price {price_paise} paise <= 0")
        if self.quantity == 0:  # a new round trip: _reset_trip(ts_ns), inlined
            self._trip_entry_ns = ts_ns
            self._trip_entry_value = 0
            self._trip_exit_value = 0
            self._trip_max_qty = 0
            self._trip_realized = 0
            self._trip_charges = 0
        realized = 0
        remaining = signed_qty
        lots = self._lots
        while remaining and lots and (lots[0][0] > 0) != (remaining > 0):
            lot = lots[0]
            take = min(abs(remaining), abs(lot[0]))
            direction = 1 if lot[0] > 0 else -1
            pnl = direction * take * (price_paise - lot[1])
            realized += pnl
            self._trip_realized += pnl
            self._trip_exit_value += take * price_paise
            self.cost_paise -= direction * take * lot[1]
            lot[0] -= direction * take
            remaining += direction * take
            self.quantity -= direction * take
            if lot[0] == 0:
                lots.popleft()
            if self.quantity == 0:
                closed_share = charges_paise * (abs(signed_qty) - abs(remaining)) // abs(signed_qty)
                self._trip_charges += closed_share
                charges_paise -= closed_share
                self._close_trip(direction, ts_ns)
                self._reset_trip(ts_ns)
        self._trip_charges += charges_paise
        if remaining:
            lots.append([remaining, price_paise])
            self.quantity += remaining
            self.cost_paise += remaining * price_paise
            self._trip_entry_value += abs(remaining) * price_paise
            self._trip_max_qty = max(self._trip_max_qty, abs(self.quantity))
        self.realized_pnl_paise += realized
        self.last_price_paise = price_paise
        return realized

    def _close_trip(self, direction: int, ts_ns: int) -> None:
        # Built on a twin (see domain._build): a round trip closes every other fill.
        t = _RoundTripTwin()
        t.symbol = self.symbol
        t.direction = direction
        t.quantity = self._trip_max_qty
        t.entry_ns = self._trip_entry_ns
        t.exit_ns = ts_ns
        t.entry_value_paise = self._trip_entry_value
        t.exit_value_paise = self._trip_exit_value
        t.pnl_paise = self._trip_realized
        t.charges_paise = self._trip_charges
        t.__class__ = RoundTrip
        self.round_trips.append(t)

    def snapshot(self) -> PositionSnapshot:
        return PositionSnapshot(
            symbol=self.symbol,
            quantity=self.quantity,
            cost_paise=self.cost_paise,
            realized_pnl_paise=self.realized_pnl_paise,
            last_price_paise=self.last_price_paise,
        )
