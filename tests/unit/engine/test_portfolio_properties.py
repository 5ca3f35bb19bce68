"""The portfolio's books (engine/portfolio.py over domain/positions.py) for any sequence of fills
and marks: the accounting identity holds to the paisa, and FIFO P&L, round trips and charges
agree with a deliberately naive reference that moves one unit at a time."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain import OrderError, OrderSide, RoundTrip
from algo_trading.engine import Portfolio
from tests.support.builders import make_fill

SYMBOLS = ("SBIN-EQ", "INFY-EQ", "TCS-EQ")
TICK = 5


@dataclass
class RefTrip:
    direction: int
    entry_ns: int
    quantity: int = 0
    exit_ns: int = 0
    entry_value: int = 0
    exit_value: int = 0
    pnl: int = 0
    charges: int = 0


@dataclass
class RefBook:
    """One symbol, one unit at a time: the entry price of each unit held, oldest first."""

    units: deque[int] = field(default_factory=deque)
    sign: int = 0
    realized: int = 0
    last: int = 0
    trip: RefTrip | None = None
    trips: list[RefTrip] = field(default_factory=list)

    @property
    def quantity(self) -> int:
        return self.sign * len(self.units)

    @property
    def cost(self) -> int:
        return self.sign * sum(self.units)

    def fill(self, signed_qty: int, price: int, ts_ns: int, charges: int) -> None:
        step = 1 if signed_qty > 0 else -1
        total = abs(signed_qty)
        for done in range(1, total + 1):
            if self.units and self.sign != step:
                pnl = self.sign * (price - self.units.popleft())
                self.realized += pnl
                assert self.trip is not None
                self.trip.pnl += pnl
                self.trip.exit_value += price
                if not self.units:  # flat: the trip ends, taking its share of the charges
                    share = charges * done // total
                    charges -= share
                    self.trip.charges += share
                    self.trip.exit_ns = ts_ns
                    self.trips.append(self.trip)
                    self.trip = None
                    self.sign = 0
            else:
                if not self.units:
                    self.sign = step
                    self.trip = RefTrip(step, ts_ns)
                assert self.trip is not None
                self.units.append(price)
                self.trip.entry_value += price
                self.trip.quantity = max(self.trip.quantity, len(self.units))
        if self.trip is not None:
            self.trip.charges += charges
        self.last = price


Op = tuple[str, int, int, int, int]  # (kind, symbol index, signed quantity, price, charges)

FILL = st.tuples(
    st.just("fill"),
    st.integers(0, len(SYMBOLS) - 1),
    st.integers(-40, 40).filter(bool),
    st.integers(1, 2_000).map(lambda ticks: ticks * TICK),
    st.integers(0, 60),
)
MARK = st.tuples(
    st.just("mark"),
    st.integers(0, len(SYMBOLS) - 1),
    st.just(0),
    st.integers(1, 2_000).map(lambda ticks: ticks * TICK),
    st.just(0),
)
OPS = st.lists(st.one_of(FILL, FILL, MARK), max_size=60)


def book(portfolio: Portfolio, refs: dict[str, RefBook], op: Op, ts_ns: int) -> None:
    kind, which, signed_qty, price, charges = op
    symbol = SYMBOLS[which]
    if kind == "mark":
        portfolio.mark(symbol, price)
        if symbol in refs:
            refs[symbol].last = price
        return
    side = OrderSide.BUY if signed_qty > 0 else OrderSide.SELL
    fill = make_fill(
        side, abs(signed_qty), price, symbol=symbol, charges_paise=charges, ts_ns=ts_ns
    )
    portfolio.apply_fill(fill)
    refs.setdefault(symbol, RefBook()).fill(signed_qty, price, ts_ns, charges)


@settings(max_examples=250, deadline=None)
@given(ops=OPS, starting_cash=st.integers(0, 10**12))
def test_cash_plus_market_value_is_starting_cash_plus_pnl_less_charges_after_every_step(
    ops: list[Op], starting_cash: int
) -> None:
    portfolio = Portfolio(starting_cash)
    refs: dict[str, RefBook] = {}
    cash = starting_cash
    for ts_ns, op in enumerate(ops, start=1):
        book(portfolio, refs, op, ts_ns)
        if op[0] == "fill":
            cash -= op[2] * op[3] + op[4]
        assert portfolio.cash == cash
        assert portfolio.market_value() == sum(r.quantity * r.last for r in refs.values())
        assert portfolio.cash + portfolio.market_value() == (
            starting_cash + portfolio.realized() + portfolio.unrealized() - portfolio.charges_paid
        )
        assert portfolio.equity() == portfolio.cash + portfolio.market_value()


@settings(max_examples=250, deadline=None)
@given(ops=OPS, closing_prices=st.lists(st.integers(1, 2_000), min_size=3, max_size=3))
def test_fifo_pnl_and_round_trips_match_a_unit_by_unit_reference(
    ops: list[Op], closing_prices: list[int]
) -> None:
    portfolio = Portfolio(0)
    refs: dict[str, RefBook] = {}
    for ts_ns, op in enumerate(ops, start=1):
        book(portfolio, refs, op, ts_ns)
    for symbol, ref in refs.items():
        pos = portfolio.by_symbol[symbol][0]
        assert (pos.quantity, pos.cost_paise) == (ref.quantity, ref.cost)
        assert pos.realized_pnl_paise == ref.realized
        assert pos.unrealized_pnl_paise == ref.quantity * ref.last - ref.cost
    # Close whatever is open, so that every fill belongs to a finished round trip.
    ts_ns = len(ops) + 1
    for which, symbol in enumerate(SYMBOLS):
        if symbol in refs and refs[symbol].quantity:
            price = closing_prices[which] * TICK
            op = ("fill", which, -refs[symbol].quantity, price, which + 1)
            book(portfolio, refs, op, ts_ns)
            ts_ns += 1
    for symbol, ref in refs.items():
        trips = portfolio.by_symbol[symbol][0].round_trips
        assert trips == [_round_trip(symbol, t) for t in ref.trips]
        assert sum(t.pnl_paise for t in trips) == portfolio.by_symbol[symbol][0].realized_pnl_paise
    trips = portfolio.round_trips()
    assert sum(t.pnl_paise for t in trips) == portfolio.realized()
    assert sum(t.charges_paise for t in trips) == portfolio.charges_paid
    assert [t.exit_ns for t in trips] == sorted(t.exit_ns for t in trips)


def _round_trip(symbol: str, t: RefTrip) -> RoundTrip:
    return RoundTrip(
        symbol=symbol,
        direction=t.direction,
        quantity=t.quantity,
        entry_ns=t.entry_ns,
        exit_ns=t.exit_ns,
        entry_value_paise=t.entry_value,
        exit_value_paise=t.exit_value,
        pnl_paise=t.pnl,
        charges_paise=t.charges,
    )


@settings(max_examples=200, deadline=None)
@given(
    held=st.integers(-50, 50).filter(bool),
    beyond=st.integers(1, 50),
    charges=st.integers(0, 1_000),
)
def test_the_charges_of_a_flipping_fill_are_split_between_the_two_trips_and_sum_to_the_fill(
    held: int, beyond: int, charges: int
) -> None:
    portfolio = Portfolio(0)
    flip = -(held + (beyond if held > 0 else -beyond))
    for signed, fee in ((held, 0), (flip, charges), (-(held + flip), 0)):
        side = OrderSide.BUY if signed > 0 else OrderSide.SELL
        portfolio.apply_fill(make_fill(side, abs(signed), 1_000, charges_paise=fee))
    first, second = portfolio.by_symbol["SBIN-EQ"][0].round_trips
    assert first.direction == -second.direction
    assert first.charges_paise + second.charges_paise == charges
    assert first.charges_paise == charges * abs(held) // abs(flip)


@pytest.mark.parametrize(("quantity", "price"), [(0, 1_000), (5, 0)])
def test_a_refused_fill_leaves_cash_and_charges_as_they_were(quantity: int, price: int) -> None:
    # Regression: cash and charges moved before the position refused the fill.
    portfolio = Portfolio(100_000)
    with pytest.raises(OrderError):
        portfolio.apply_fill(make_fill(OrderSide.BUY, quantity, price, charges_paise=20))
    assert (portfolio.cash, portfolio.charges_paid) == (100_000, 0)
    assert portfolio.equity() == 100_000


def test_a_mark_for_a_symbol_never_traded_opens_no_position() -> None:
    portfolio = Portfolio(0)
    portfolio.mark("SBIN-EQ", 1_000)
    assert portfolio.books == {}
    assert portfolio.market_value() == 0
