"""FIFO positions (domain/positions.py): exact realized and unrealized P&L, round trips, and
charges that follow the trip they belong to. The invariants over random fills live in
tests/unit/engine/test_portfolio_properties.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from algo_trading.domain import OrderError, Position, RoundTrip


def test_a_partial_close_realizes_against_the_oldest_lot_first() -> None:
    # The module's own example: average cost would give a fraction of a paisa here.
    pos = Position("X")
    pos.apply_fill(1, 100, 1)
    pos.apply_fill(2, 101, 2)
    assert pos.apply_fill(-1, 102, 3) == 2
    assert (pos.quantity, pos.cost_paise, pos.realized_pnl_paise) == (2, 202, 2)
    assert pos.round_trips == []


def test_a_short_gains_when_the_price_falls() -> None:
    pos = Position("X")
    pos.apply_fill(-10, 500, 1)
    pos.mark(450)
    assert pos.unrealized_pnl_paise == 500
    assert pos.apply_fill(10, 480, 2) == 200
    assert pos.quantity == 0
    assert pos.unrealized_pnl_paise == 0
    assert pos.round_trips[0].direction == -1


def test_unrealized_pnl_follows_the_mark_against_the_open_lots() -> None:
    pos = Position("X")
    pos.apply_fill(3, 1_000, 1)
    pos.apply_fill(2, 1_010, 2)
    pos.mark(1_020)
    assert pos.unrealized_pnl_paise == 5 * 1_020 - (3 * 1_000 + 2 * 1_010)
    assert pos.snapshot().unrealized_pnl_paise == pos.unrealized_pnl_paise


def test_a_flip_closes_the_trip_and_opens_the_other_way_at_the_fill_price() -> None:
    pos = Position("X")
    pos.apply_fill(10, 100, 1, charges_paise=4)
    realized = pos.apply_fill(-15, 110, 2, charges_paise=30)
    assert realized == 100
    assert (pos.quantity, pos.cost_paise) == (-5, -550)
    pos.apply_fill(5, 105, 3, charges_paise=1)
    assert pos.round_trips == [
        RoundTrip("X", 1, 10, 1, 2, 1_000, 1_100, 100, 4 + 20),
        RoundTrip("X", -1, 5, 2, 3, 550, 525, 25, 10 + 1),
    ]


def test_charges_a_flip_cannot_split_evenly_stay_whole_across_the_two_trips() -> None:
    pos = Position("X")
    pos.apply_fill(1, 100, 1)
    pos.apply_fill(-3, 100, 2, charges_paise=10)
    pos.apply_fill(2, 100, 3)
    first, second = pos.round_trips
    assert first.charges_paise + second.charges_paise == 10
    assert first.charges_paise == 10 // 3


def test_adding_to_a_position_grows_one_trip_whose_size_is_the_largest_held() -> None:
    pos = Position("X")
    pos.apply_fill(4, 100, 1)
    pos.apply_fill(6, 102, 2)
    pos.apply_fill(-7, 105, 3)
    pos.apply_fill(-3, 101, 4)
    (trip,) = pos.round_trips
    assert trip.quantity == 10
    assert (trip.entry_ns, trip.exit_ns) == (1, 4)
    assert trip.entry_value_paise == 4 * 100 + 6 * 102
    assert trip.exit_value_paise == 7 * 105 + 3 * 101
    assert trip.pnl_paise == trip.exit_value_paise - trip.entry_value_paise
    assert trip.pnl_paise == pos.realized_pnl_paise


def test_the_average_price_is_shown_in_rupees_and_zero_when_flat() -> None:
    pos = Position("X")
    assert pos.snapshot().avg_price == Decimal(0)
    pos.apply_fill(3, 100, 1)
    pos.apply_fill(3, 101, 2)
    assert pos.snapshot().avg_price == Decimal("1.0050")
    pos.apply_fill(-8, 100, 3)
    assert pos.snapshot().avg_price == Decimal("1.0000")


@pytest.mark.parametrize(("quantity", "price"), [(0, 100), (5, 0), (-5, -100)])
def test_a_fill_of_no_quantity_or_no_price_is_refused_without_changing_the_position(
    quantity: int, price: int
) -> None:
    pos = Position("X")
    pos.apply_fill(2, 100, 1)
    before = pos.snapshot()
    with pytest.raises(OrderError, match="position X"):
        pos.apply_fill(quantity, price, 2, charges_paise=7)
    assert pos.snapshot() == before
    pos.apply_fill(-2, 100, 3)
    assert pos.round_trips[0].charges_paise == 0
