"""Tick rounding and validation, the dated tick tables and price bands (issue #3 point 2;
indian-market.md §4.1-§4.3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.domain.errors import AlgoTradingError, ConfigError, OrderError
from algo_trading.domain.ids import InstrumentToken
from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType, equity
from algo_trading.domain.orders import OrderSide
from algo_trading.market.prices import (
    PriceBand,
    PriceBandError,
    TickDirection,
    TickError,
    TickKind,
    TickRules,
    band_around,
    check_on_tick,
    expected_tick_paise,
    protective_direction,
    round_to_tick,
    validate_order_price,
)

TICKS = st.sampled_from([1, 5, 10, 20, 50, 100, 500])
PRICES = st.integers(min_value=1, max_value=10**9)
DIRECTIONS = st.sampled_from(list(TickDirection))


def one_line(exc: pytest.ExceptionInfo[AlgoTradingError]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


@given(price=PRICES, tick=TICKS, direction=DIRECTIONS)
def test_rounding_never_produces_an_off_tick_or_non_positive_price(
    price: int, tick: int, direction: TickDirection
) -> None:
    if direction is TickDirection.DOWN and price < tick:
        with pytest.raises(TickError):
            round_to_tick(price, tick, direction)
        return
    rounded = round_to_tick(price, tick, direction)
    assert rounded % tick == 0
    assert rounded > 0


@given(price=PRICES, tick=TICKS)
def test_down_and_up_bracket_the_price_within_one_tick(price: int, tick: int) -> None:
    up = round_to_tick(price, tick, TickDirection.UP)
    assert price <= up < price + tick
    if price >= tick:
        down = round_to_tick(price, tick, TickDirection.DOWN)
        assert price - tick < down <= price


@given(price=st.integers(min_value=500, max_value=10**9), tick=TICKS)
def test_nearest_is_never_more_than_half_a_tick_away(price: int, tick: int) -> None:
    assert 2 * abs(round_to_tick(price, tick) - price) <= tick


@given(price=PRICES, tick=TICKS, direction=DIRECTIONS)
def test_a_price_already_on_the_tick_is_left_alone(
    price: int, tick: int, direction: TickDirection
) -> None:
    on_tick = price * tick
    assert round_to_tick(on_tick, tick, direction) == on_tick


def test_half_a_tick_rounds_up_under_nearest() -> None:
    assert round_to_tick(10_002, 5) == 10_000
    assert round_to_tick(10_003, 5) == 10_005
    assert round_to_tick(1_005, 10) == 1_010


def test_nearest_never_rounds_a_positive_price_to_zero() -> None:
    assert round_to_tick(2, 5) == 5


def test_buys_protect_downwards_and_sells_upwards() -> None:
    # A buy limit at LTP + 0.5 % must not pay more than the protection allows.
    assert protective_direction(OrderSide.BUY) is TickDirection.DOWN
    assert protective_direction(OrderSide.SELL) is TickDirection.UP
    assert round_to_tick(81_234, 5, protective_direction(OrderSide.BUY)) == 81_230
    assert round_to_tick(81_234, 5, protective_direction(OrderSide.SELL)) == 81_235


@pytest.mark.parametrize("price", [0, -5])
def test_a_zero_or_negative_price_is_refused_with_one_line(price: int) -> None:
    with pytest.raises(TickError) as info:
        round_to_tick(price, 5, where="SBIN-EQ limit")
    assert "SBIN-EQ limit" in one_line(info)
    with pytest.raises(TickError):
        check_on_tick(price, 5)


def test_rounding_down_below_one_tick_names_both_values() -> None:
    with pytest.raises(TickError) as info:
        round_to_tick(3, 5, TickDirection.DOWN)
    assert "0.03" in one_line(info)
    assert "0.05" in str(info.value)


def test_a_non_positive_tick_is_refused() -> None:
    with pytest.raises(TickError):
        round_to_tick(100, 0)


def test_check_on_tick_names_the_price_and_the_tick() -> None:
    check_on_tick(81_235, 5)
    with pytest.raises(TickError) as info:
        check_on_tick(81_233, 5, where="SBIN-EQ price")
    assert one_line(info) == "SBIN-EQ price: price 812.33 is not on the 0.05 tick"


def test_tick_errors_are_order_errors_the_cli_can_print() -> None:
    assert issubclass(TickError, OrderError)
    assert issubclass(PriceBandError, OrderError)


def test_order_prices_are_checked_against_the_instruments_own_tick() -> None:
    sbin = equity("SBIN-EQ", "3045", tick_size_paise=10)
    validate_order_price(sbin, 81_230)
    with pytest.raises(TickError) as info:
        validate_order_price(sbin, 81_235)
    assert "SBIN-EQ" in one_line(info)
    option = Instrument(
        "NIFTY01DEC2626000CE",
        Exchange.NFO,
        InstrumentToken("52014"),
        InstrumentType.OPTION,
        tick_size_paise=5,
        lot_size=65,
    )
    validate_order_price(option, 12_345)
    with pytest.raises(TickError):
        validate_order_price(option, 12_344)


def test_an_index_cannot_carry_an_order_price() -> None:
    nifty = Instrument(
        "Nifty 50", Exchange.NSE, InstrumentToken("99926000"), InstrumentType.INDEX, 0
    )
    with pytest.raises(OrderError) as info:
        validate_order_price(nifty, 2_600_000)
    assert "index" in one_line(info)


# --- the tick tables (§4.1) ---------------------------------------------------------------------

BEFORE_1P = dt.date(2024, 6, 7)
AFTER_SLABS = dt.date(2026, 11, 20)
SLABS = TickRules(price_slabs=True)


@pytest.mark.parametrize(
    ("price_rupees", "on", "tick"),
    [
        (249, BEFORE_1P, 5),  # before 2024-06-10 every NSE stock ticked at 0.05
        (249, dt.date(2024, 6, 10), 1),
        (250, dt.date(2024, 6, 10), 5),  # "< 250" is 0.01, so 250 itself is 0.05
        (4_000, AFTER_SLABS, 5),  # slabs off by default: unconfirmed in force
    ],
)
def test_cash_tick_follows_the_2024_rule_by_default(
    price_rupees: int, on: dt.date, tick: int
) -> None:
    assert expected_tick_paise(TickKind.CASH, price_rupees * 100, on) == tick


@pytest.mark.parametrize(
    ("price_rupees", "tick"),
    [(249, 1), (250, 5), (999, 5), (1_000, 10), (5_000, 50), (10_000, 100), (20_000, 500)],
)
def test_price_slab_ticks_apply_only_when_switched_on(price_rupees: int, tick: int) -> None:
    assert expected_tick_paise(TickKind.CASH, price_rupees * 100, AFTER_SLABS, SLABS) == tick
    assert (
        expected_tick_paise(TickKind.STOCK_FUTURE, price_rupees * 100, AFTER_SLABS, SLABS) == tick
    )


def test_price_slabs_do_not_reach_back_before_april_2025() -> None:
    assert expected_tick_paise(TickKind.CASH, 400_000, dt.date(2025, 4, 14), SLABS) == 5


@pytest.mark.parametrize(
    ("level", "tick"), [(15_000, 5), (15_001, 10), (26_000, 10), (30_000, 10), (59_000, 20)]
)
def test_index_future_ticks_follow_the_level_when_slabs_are_on(level: int, tick: int) -> None:
    assert expected_tick_paise(TickKind.INDEX_FUTURE, level * 100, AFTER_SLABS, SLABS) == tick
    assert expected_tick_paise(TickKind.INDEX_FUTURE, level * 100, AFTER_SLABS) == 5


def test_index_options_tick_at_five_paise() -> None:
    assert expected_tick_paise(TickKind.INDEX_OPTION, 2_600_000, AFTER_SLABS, SLABS) == 5


def test_stock_options_below_250_tick_at_one_paisa_from_november_2025() -> None:
    assert expected_tick_paise(TickKind.STOCK_OPTION, 20_000, dt.date(2025, 10, 31)) == 5
    assert expected_tick_paise(TickKind.STOCK_OPTION, 20_000, dt.date(2025, 11, 3)) == 1
    assert expected_tick_paise(TickKind.STOCK_OPTION, 90_000, dt.date(2025, 11, 3)) == 5


def test_stock_futures_followed_cash_only_from_july_2024() -> None:
    assert expected_tick_paise(TickKind.STOCK_FUTURE, 20_000, dt.date(2024, 7, 5)) == 5
    assert expected_tick_paise(TickKind.STOCK_FUTURE, 20_000, dt.date(2024, 7, 8)) == 1


def test_a_non_positive_reference_price_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        expected_tick_paise(TickKind.CASH, 0, AFTER_SLABS)


# --- price bands (§4.2) -------------------------------------------------------------------------


def test_a_band_admits_its_limits_and_refuses_beyond() -> None:
    band = PriceBand(90_000, 110_000)
    assert band.contains(90_000)
    assert band.contains(110_000)
    assert not band.contains(110_005)
    with pytest.raises(PriceBandError) as info:
        band.check(89_995, where="XYZ-EQ buy")
    assert one_line(info) == "XYZ-EQ buy: price 899.95 is outside the band 900.00-1100.00"


def test_a_band_around_the_close_moves_its_limits_inwards_to_the_tick() -> None:
    # 5 % of 123.45 is 6.1725: exact limits 117.2775 and 129.6225
    band = band_around(12_345, 5, 5)
    assert (band.lower_paise, band.upper_paise) == (11_730, 12_960)


def test_a_band_accepts_a_decimal_percent_and_refuses_a_float() -> None:
    band = band_around(100_000, Decimal("3"), 5)  # the closing auction's ±3 %
    assert (band.lower_paise, band.upper_paise) == (97_000, 103_000)
    with pytest.raises(ConfigError):
        band_around(100_000, 3.0, 5)  # type: ignore[arg-type]


@pytest.mark.parametrize("percent", [0, 100, -2])
def test_a_band_percent_outside_zero_to_hundred_is_refused(percent: int) -> None:
    with pytest.raises(ConfigError):
        band_around(100_000, percent, 5)


def test_an_empty_band_is_refused() -> None:
    with pytest.raises(ConfigError):
        PriceBand(110_000, 90_000)


@given(
    base=st.integers(min_value=100, max_value=10**8),
    percent=st.sampled_from([2, 5, 10, 20]),
    tick=TICKS,
)
def test_band_limits_are_on_the_tick_and_inside_the_exact_band(
    base: int, percent: int, tick: int
) -> None:
    exact_low = Decimal(base) * (100 - percent) / 100
    exact_high = Decimal(base) * (100 + percent) / 100
    if exact_high < tick or exact_high - max(exact_low, Decimal(tick)) < tick:
        return  # a band narrower than a tick: not a case the exchange produces
    band = band_around(base, percent, tick)
    assert band.lower_paise % tick == 0
    assert band.upper_paise % tick == 0
    assert exact_low <= band.lower_paise
    assert band.upper_paise <= exact_high
