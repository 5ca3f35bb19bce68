"""Dated index lot sizes and freeze quantities, lot checks and order slicing (issue #3 point 3;
indian-market.md §4.5, §4.9)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.domain.errors import ConfigError, OrderError
from algo_trading.market.lots import (
    FREEZE_LIMITS,
    LOT_REVISIONS,
    FreezeLimit,
    check_lot_multiple,
    freeze_limit,
    freeze_quantity,
    index_lot_size,
    max_order_quantity,
    slice_order,
)

d = dt.date


@pytest.mark.parametrize(
    ("underlying", "expiry", "lot"),
    [
        ("NIFTY", d(2024, 10, 31), 25),
        ("NIFTY", d(2025, 3, 27), 75),
        ("NIFTY", d(2025, 12, 30), 75),
        ("NIFTY", d(2026, 1, 6), 65),
        ("BANKNIFTY", d(2025, 6, 26), 30),
        ("BANKNIFTY", d(2025, 7, 31), 35),
        ("BANKNIFTY", d(2026, 1, 27), 30),
        ("FINNIFTY", d(2026, 1, 27), 60),
        ("MIDCPNIFTY", d(2025, 9, 30), 140),
        ("MIDCPNIFTY", d(2026, 11, 23), 120),
        ("NIFTYNXT50", d(2026, 11, 23), 25),
        ("SENSEX", d(2026, 11, 26), 20),
        ("BANKEX", d(2026, 11, 26), 30),
    ],
)
def test_lot_size_is_the_one_in_force_for_the_contracts_expiry(
    underlying: str, expiry: dt.date, lot: int
) -> None:
    assert index_lot_size(underlying, expiry) == lot


def test_nifty_went_25_75_65_in_fourteen_months() -> None:
    lots = [index_lot_size("NIFTY", e) for e in (d(2024, 11, 14), d(2025, 2, 27), d(2026, 1, 27))]
    assert lots == [25, 75, 65]


def test_a_contract_listed_either_side_of_the_november_2024_revision_is_not_guessed() -> None:
    # Weekly and monthly contracts listed before 2024-11-20 kept 25 to expiry; new ones had 75.
    with pytest.raises(ConfigError) as info:
        index_lot_size("NIFTY", d(2024, 12, 26))
    assert "25 or 75" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_long_dated_contract_keeps_the_old_lot_until_its_conversion_day() -> None:
    march_quarterly = d(2026, 3, 30)
    assert index_lot_size("NIFTY", march_quarterly, on=d(2025, 12, 30), long_dated=True) == 75
    assert index_lot_size("NIFTY", march_quarterly, on=d(2025, 12, 31), long_dated=True) == 65
    assert index_lot_size("NIFTY", march_quarterly) == 65


def test_a_long_dated_contract_without_a_trading_day_is_refused() -> None:
    with pytest.raises(ConfigError):
        index_lot_size("NIFTY", d(2026, 3, 30), long_dated=True)


def test_an_expiry_before_the_table_or_an_unknown_index_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        index_lot_size("NIFTY", d(2024, 5, 30))
    assert "master" in str(info.value)
    with pytest.raises(ConfigError) as info:
        index_lot_size("NIFTYIT", d(2026, 1, 27))
    assert "NIFTYIT" in str(info.value)


def test_every_lot_row_is_positive_and_each_index_starts_at_the_same_day() -> None:
    assert all(r.lot_size > 0 for r in LOT_REVISIONS)
    firsts = {
        min(r.first_expiry for r in LOT_REVISIONS if r.underlying == u)
        for u in {r.underlying for r in LOT_REVISIONS}
    }
    assert len(firsts) == 1


@pytest.mark.parametrize(
    ("underlying", "on", "units"),
    [
        ("BANKNIFTY", d(2025, 9, 15), 900),
        ("BANKNIFTY", d(2025, 11, 3), 600),
        ("BANKNIFTY", d(2025, 11, 2), 600),  # the unread October circular: the smaller neighbour
        ("FINNIFTY", d(2026, 3, 2), 1200),
        ("FINNIFTY", d(2026, 3, 1), 1800),
        ("NIFTY", d(2026, 11, 24), 1800),  # the latest row carries forward
        ("MIDCPNIFTY", d(2026, 4, 1), 2800),
        ("SENSEX", d(2026, 11, 26), 1000),
        ("BANKEX", d(2026, 11, 26), 900),
    ],
)
def test_freeze_quantity_is_the_one_in_force_on_the_day(
    underlying: str, on: dt.date, units: int
) -> None:
    assert freeze_quantity(underlying, on) == units


def test_unread_freeze_months_are_marked_unconfirmed() -> None:
    assert not freeze_limit("BANKNIFTY", d(2025, 10, 15)).confirmed
    assert not freeze_limit("NIFTYNXT50", d(2026, 6, 15)).confirmed
    assert freeze_limit("NIFTY", d(2026, 6, 15)).confirmed


def test_freeze_before_the_table_or_for_an_unknown_index_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        freeze_quantity("NIFTY", d(2025, 6, 30))
    with pytest.raises(ConfigError):
        freeze_quantity("SBIN", d(2026, 6, 30))


def test_a_custom_freeze_table_can_be_given() -> None:
    table = (FreezeLimit("NIFTY", d(2026, 11, 2), 1_755, "test"),)
    assert freeze_quantity("NIFTY", d(2026, 11, 20), table) == 1_755


def test_every_freeze_row_is_positive() -> None:
    assert all(r.units > 0 for r in FREEZE_LIMITS)


# --- lots and slicing ---------------------------------------------------------------------------


def test_the_largest_nifty_order_is_27_lots() -> None:
    assert max_order_quantity(65, 1_800) == 1_755


def test_a_freeze_below_one_lot_is_refused() -> None:
    with pytest.raises(OrderError):
        max_order_quantity(65, 60)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (100, "quantity 100 is not a multiple of the lot size 65"),
        (0, "quantity 0 is not positive"),
        (-65, "quantity -65 is not positive"),
    ],
)
def test_a_quantity_that_is_not_whole_lots_is_refused_with_one_line(
    quantity: int, message: str
) -> None:
    with pytest.raises(OrderError) as info:
        check_lot_multiple(quantity, 65, where="NIFTY29DEC26FUT")
    assert str(info.value) == f"NIFTY29DEC26FUT: {message}"
    with pytest.raises(OrderError):
        slice_order(quantity, 65, 1_800)


def test_a_nifty_parent_of_4000_units_is_not_whole_lots() -> None:
    with pytest.raises(OrderError):
        slice_order(4_000, 65, 1_800)


def test_a_parent_is_cut_into_full_children_and_the_remainder_last() -> None:
    assert slice_order(65 * 60, 65, 1_800) == [1_755, 1_755, 390]
    assert slice_order(1_755, 65, 1_800) == [1_755]
    assert slice_order(65, 65, 1_800) == [65]


def test_slices_beyond_the_cap_are_refused_with_the_count() -> None:
    with pytest.raises(OrderError) as info:
        slice_order(1_755 * 11, 65, 1_800, max_slices=10)
    assert "needs 11 slices" in str(info.value)
    assert slice_order(1_755 * 10, 65, 1_800, max_slices=10) == [1_755] * 10


def test_a_slice_cap_below_one_is_refused() -> None:
    with pytest.raises(OrderError):
        slice_order(65, 65, 1_800, max_slices=0)


@given(
    lot=st.integers(min_value=1, max_value=1_000),
    lots=st.integers(min_value=1, max_value=500),
    freeze_lots=st.integers(min_value=1, max_value=60),
    freeze_extra=st.integers(min_value=0, max_value=999),
)
def test_sliced_orders_sum_to_the_parent_and_never_exceed_the_freeze(
    lot: int, lots: int, freeze_lots: int, freeze_extra: int
) -> None:
    freeze = freeze_lots * lot + freeze_extra % lot
    quantity = lots * lot
    children = slice_order(quantity, lot, freeze)
    assert sum(children) == quantity
    assert all(0 < child <= freeze and child % lot == 0 for child in children)
    # As few children as the freeze allows.
    largest = freeze - freeze % lot
    assert len(children) == -(-quantity // largest)
