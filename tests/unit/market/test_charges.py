"""The charges calculator against indian-market.md §1: the worked examples of §1.4 to the paisa,
the same trades on Angel One's schedule (worked by hand below), the published calculator vector
of §1.3, the rounding rules, the dated rates of §7, BSE, and invariants over any trade."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.domain import Exchange, InvalidInputError
from algo_trading.market import (
    ANGEL_ONE,
    BROKERS,
    STATUTORY_RATES,
    ZERO_BROKERAGE,
    ZERODHA,
    BrokerSchedule,
    ChargeBreakdown,
    ChargeSegment,
    rates_on,
    round_trip_charges,
)

DELIVERY = ChargeSegment.EQUITY_DELIVERY
INTRADAY = ChargeSegment.EQUITY_INTRADAY
FUTURES = ChargeSegment.FUTURES
OPTIONS = ChargeSegment.OPTIONS

# §1.4: buy 100 @ ₹1,000, sell 100 @ ₹1,010 (options: premium), in paise.
BUY = 100 * 1000_00
SELL = 100 * 1010_00
SINCE_2026_04 = dt.date(2026, 4, 1)


def lines(b: ChargeBreakdown) -> tuple[int, ...]:
    return (
        b.brokerage_paise,
        b.stt_paise,
        b.exchange_paise,
        b.sebi_paise,
        b.stamp_paise,
        b.gst_paise,
        b.dp_paise,
    )


# (brokerage, STT, exchange, SEBI, stamp, GST, DP, total): the table at the end of §1.4.
ZERODHA_EXAMPLES = [
    (DELIVERY, (0, 201_00, 6_17, 20, 15_00, 1_15, 15_34), 238_86),
    (INTRADAY, (40_00, 25_00, 6_17, 20, 3_00, 8_35, 0), 82_72),
    (FUTURES, (40_00, 51_00, 3_68, 20, 2_00, 7_90, 0), 104_78),
    (OPTIONS, (40_00, 152_00, 71_42, 20, 3_00, 20_09, 0), 286_71),
]


@pytest.mark.parametrize(("segment", "expected", "total"), ZERODHA_EXAMPLES)
def test_worked_examples_of_section_1_4_match_to_the_paisa_on_zerodha(
    segment: ChargeSegment, expected: tuple[int, ...], total: int
) -> None:
    result = round_trip_charges(segment, BUY, SELL, broker=ZERODHA, trade_date=SINCE_2026_04)
    assert lines(result) == expected
    assert result.total_paise == total


# Angel One's schedule (§1.2) on the same four trades, worked by hand from the published rates;
# the statutory lines (STT, exchange, SEBI, stamp) are those of §1.4.
# 1 Delivery: brokerage per order = lower of ₹20 or 0.1 %, at least ₹2:
#   buy 0.1 % × 1,00,000 = ₹100 -> ₹20; sell 0.1 % × 1,01,000 = ₹101 -> ₹20; ₹40.00.
#   GST 18 % × (40 + 6.17 + 0.20) = 18 % × 46.37 = ₹8.3466 -> ₹8.35.
#   DP ₹20 + 18 % = ₹23.60.
#   Total 40 + 201 + 6.17 + 0.20 + 15.00 + 8.35 + 23.60 = ₹294.32.
# 2 Intraday: lower of ₹20 or 0.03 % (₹30, ₹30.30) -> ₹20 + ₹20, as Zerodha: ₹82.72.
# 3 Futures: ₹20 flat per order -> ₹40, equal to Zerodha's capped ₹20 + ₹20: ₹104.78.
# 4 Options: ₹20 flat per order -> ₹40, as Zerodha: ₹286.71.
ANGEL_EXAMPLES = [
    (DELIVERY, (40_00, 201_00, 6_17, 20, 15_00, 8_35, 23_60), 294_32),
    (INTRADAY, (40_00, 25_00, 6_17, 20, 3_00, 8_35, 0), 82_72),
    (FUTURES, (40_00, 51_00, 3_68, 20, 2_00, 7_90, 0), 104_78),
    (OPTIONS, (40_00, 152_00, 71_42, 20, 3_00, 20_09, 0), 286_71),
]


@pytest.mark.parametrize(("segment", "expected", "total"), ANGEL_EXAMPLES)
def test_the_same_trades_on_angel_ones_schedule_match_the_hand_computation(
    segment: ChargeSegment, expected: tuple[int, ...], total: int
) -> None:
    result = round_trip_charges(segment, BUY, SELL, broker=ANGEL_ONE, trade_date=SINCE_2026_04)
    assert lines(result) == expected
    assert result.total_paise == total


def test_angel_one_delivery_brokerage_has_a_two_rupee_minimum_per_order() -> None:
    # Buy 1 @ ₹100, sell 1 @ ₹101: 0.1 % is ₹0.10 and ₹0.101, so ₹2 + ₹2 = ₹4.00.
    # STT ₹0.10 -> ₹0 and ₹0.101 -> ₹0. Exchange 0.00307 % × 201 = ₹0.0061707 -> ₹0.01.
    # SEBI ₹0.000201 -> ₹0.00. Stamp 0.015 % × 100 = ₹0.015 -> ₹0.02 (half-up).
    # GST 18 % × 4.01 = ₹0.7218 -> ₹0.72. DP ₹23.60. Total ₹28.35.
    result = round_trip_charges(DELIVERY, 100_00, 101_00, broker=ANGEL_ONE)
    assert lines(result) == (4_00, 0, 1, 0, 2, 72, 23_60)
    assert result.total_paise == 28_35


def test_angel_one_delivery_brokerage_is_a_tenth_of_a_percent_between_the_bounds() -> None:
    # Buy 10 @ ₹1,000 and sell 10 @ ₹1,010: 0.1 % is ₹10 and ₹10.10, inside ₹2..₹20.
    result = round_trip_charges(DELIVERY, 10 * 1000_00, 10 * 1010_00, broker=ANGEL_ONE)
    assert result.brokerage_paise == 20_10


def test_the_published_calculator_vector_reproduces_at_2021_to_2023_rates() -> None:
    # §1.3: intraday buy 400 @ ₹1,000, sell 400 @ ₹1,100, NSE 0.00345 %: ₹204.39.
    # Brokerage 20 + 20; STT 0.025 % × 4,40,000 = ₹110; exchange 0.00345 % × 8,40,000 = ₹28.98;
    # SEBI ₹0.84; stamp 0.003 % × 4,00,000 = ₹12; GST 18 % × 69.82 = ₹12.5676 -> ₹12.57.
    result = round_trip_charges(
        INTRADAY, 400 * 1000_00, 400 * 1100_00, broker=ZERODHA, trade_date=dt.date(2022, 6, 15)
    )
    assert lines(result) == (40_00, 110_00, 28_98, 84, 12_00, 12_57, 0)
    assert result.total_paise == 204_39


def test_stt_rounds_to_the_rupee_half_up_on_a_fifty_paise_tie() -> None:
    # Intraday STT 0.025 % of the sell: ₹2,02,000 -> ₹50.50 -> ₹51; ₹2,01,960 -> ₹50.49 -> ₹50.
    tie = round_trip_charges(INTRADAY, 100_00, 202_000_00, trade_date=SINCE_2026_04)
    below = round_trip_charges(INTRADAY, 100_00, 201_960_00, trade_date=SINCE_2026_04)
    assert tie.stt_paise == 51_00
    assert below.stt_paise == 50_00


def test_delivery_stt_is_rounded_on_each_side_separately() -> None:
    # Buy ₹1,00,200 -> ₹100.20 -> ₹100; sell ₹1,00,300 -> ₹100.30 -> ₹100: ₹200, where one
    # rounding of the combined ₹200.50 would give ₹201 (§1.3: separate contract notes).
    result = round_trip_charges(DELIVERY, 100_200_00, 100_300_00)
    assert result.stt_paise == 200_00


def test_gst_is_taken_on_the_rounded_lines_and_never_on_stt_or_stamp() -> None:
    result = round_trip_charges(OPTIONS, BUY, SELL, trade_date=SINCE_2026_04)
    taxable = result.brokerage_paise + result.exchange_paise + result.sebi_paise
    assert result.gst_paise == (taxable * 18 + 50) // 100


def test_a_2025_futures_trade_pays_the_2024_stt_rate_of_two_hundredths_percent() -> None:
    # 0.02 % × 1,01,000 = ₹20.20 -> ₹20 (at the 2026 rate it is ₹51).
    result = round_trip_charges(FUTURES, BUY, SELL, trade_date=dt.date(2025, 6, 2))
    assert result.stt_paise == 20_00
    assert result.total_paise == 104_78 - 51_00 + 20_00


def test_options_before_october_2024_pay_the_older_stt_and_exchange_rates() -> None:
    # STT 0.0625 % × 1,01,000 = ₹63.125 -> ₹63; NSE 0.0495 % × 2,01,000 = ₹99.495 -> ₹99.50.
    result = round_trip_charges(OPTIONS, BUY, SELL, trade_date=dt.date(2024, 9, 30))
    assert result.stt_paise == 63_00
    assert result.exchange_paise == 99_50


def test_each_side_takes_the_rates_of_its_own_trade_date() -> None:
    # Futures bought on 2026-03-31 (STT 0.02 %) and sold on 2026-04-01 (0.05 %): the sell
    # side pays 0.05 % × 1,01,000 = ₹50.50 -> ₹51.
    result = round_trip_charges(
        FUTURES, BUY, SELL, trade_date=dt.date(2026, 3, 31), sell_date=dt.date(2026, 4, 1)
    )
    assert result.stt_paise == 51_00


def test_no_date_means_the_newest_row_of_the_rate_table() -> None:
    assert rates_on(None) is STATUTORY_RATES[-1]
    assert round_trip_charges(FUTURES, BUY, SELL) == round_trip_charges(
        FUTURES, BUY, SELL, trade_date=STATUTORY_RATES[-1].effective_from
    )


def test_the_rate_rows_are_in_date_order_and_each_applies_from_its_first_day() -> None:
    dates = [row.effective_from for row in STATUTORY_RATES]
    assert dates == sorted(set(dates))
    for earlier, row in itertools.pairwise(STATUTORY_RATES):
        assert rates_on(row.effective_from) is row
        assert rates_on(row.effective_from - dt.timedelta(days=1)) is earlier


def test_a_trade_before_the_first_rate_row_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="no rates for 2020-06-30"):
        round_trip_charges(INTRADAY, BUY, SELL, trade_date=dt.date(2020, 6, 30))


def test_bse_cash_defaults_to_group_a_rates() -> None:
    # Exchange 0.00375 % × 2,01,000 = ₹7.5375 -> ₹7.54; GST 18 % × 7.74 = ₹1.3932 -> ₹1.39.
    # Total 201 + 7.54 + 0.20 + 15 + 1.39 + 15.34 = ₹240.47.
    result = round_trip_charges(DELIVERY, BUY, SELL, exchange=Exchange.BSE)
    assert lines(result) == (0, 201_00, 7_54, 20, 15_00, 1_39, 15_34)
    assert result.total_paise == 240_47


def test_bse_z_group_pays_a_tenth_of_a_percent() -> None:
    result = round_trip_charges(DELIVERY, BUY, SELL, exchange=Exchange.BSE, bse_class="Z")
    assert result.exchange_paise == 201_00


def test_bse_futures_pay_no_exchange_charge() -> None:
    # GST 18 % × (40 + 0 + 0.20) = ₹7.236 -> ₹7.24; total 40 + 51 + 0.20 + 2 + 7.24 = ₹100.44.
    result = round_trip_charges(FUTURES, BUY, SELL, exchange=Exchange.BFO)
    assert lines(result) == (40_00, 51_00, 0, 20, 2_00, 7_24, 0)
    assert result.total_paise == 100_44


def test_bse_options_default_to_sensex_rates_and_stock_options_are_cheaper() -> None:
    # SENSEX 0.0325 % × 2,01,000 = ₹65.325 -> ₹65.33; GST 18 % × 105.53 = ₹18.9954 -> ₹19.00.
    sensex = round_trip_charges(OPTIONS, BUY, SELL, exchange=Exchange.BSE)
    assert lines(sensex) == (40_00, 152_00, 65_33, 20, 3_00, 19_00, 0)
    stock = round_trip_charges(OPTIONS, BUY, SELL, exchange=Exchange.BSE, bse_class="STOCK")
    assert stock.exchange_paise == 10_05  # 0.005 % × 2,01,000 = ₹10.05


def test_zero_brokerage_leaves_only_the_statutory_lines() -> None:
    # §1.4 delivery without brokerage or DP: the contract-note figure ₹223.52.
    delivery = round_trip_charges(DELIVERY, BUY, SELL, broker=ZERO_BROKERAGE)
    assert lines(delivery) == (0, 201_00, 6_17, 20, 15_00, 1_15, 0)
    assert delivery.total_paise == 223_52
    # Intraday: GST 18 % × 6.37 = ₹1.1466 -> ₹1.15; 25 + 6.17 + 0.20 + 3 + 1.15 = ₹35.52.
    assert round_trip_charges(INTRADAY, BUY, SELL, broker=ZERO_BROKERAGE).total_paise == 35_52


def test_each_executed_order_pays_its_own_brokerage() -> None:
    # Three intraday orders a side: lower of 3 × ₹20 or 0.03 % of the side's value.
    small = round_trip_charges(INTRADAY, BUY, SELL, buy_orders=3, sell_orders=3)
    assert small.brokerage_paise == 30_00 + 30_30
    large = round_trip_charges(INTRADAY, 10 * BUY, 10 * SELL, buy_orders=3, sell_orders=3)
    assert large.brokerage_paise == 60_00 + 60_00
    options = round_trip_charges(OPTIONS, BUY, SELL, buy_orders=2, sell_orders=5)
    assert options.brokerage_paise == 7 * 20_00


def test_a_side_with_no_orders_pays_no_brokerage_but_every_tax() -> None:
    result = round_trip_charges(OPTIONS, BUY, SELL, buy_orders=0)
    assert result.brokerage_paise == 20_00
    assert result.stamp_paise == 3_00


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"buy_value_paise": -1}, "must not be negative"),
        ({"buy_orders": -1}, "must not be negative"),
        ({"exchange": Exchange.NFO}, "NFO trades derivatives"),
        ({"bse_class": "A"}, "given for an NSE trade"),
        ({"exchange": Exchange.BSE, "bse_class": "Q"}, "unknown BSE scrip group 'Q'"),
    ],
)
def test_impossible_inputs_are_refused_with_a_message_naming_them(
    kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "segment": DELIVERY,
        "buy_value_paise": BUY,
        "sell_value_paise": SELL,
        **kwargs,
    }
    with pytest.raises(InvalidInputError, match=message):
        round_trip_charges(**args)  # type: ignore[arg-type]


@given(
    segment=st.sampled_from(list(ChargeSegment)),
    exchange=st.sampled_from([Exchange.NSE, Exchange.BSE]),
    broker=st.sampled_from(list(BROKERS.values())),
    buy=st.integers(min_value=0, max_value=10**13),
    sell=st.integers(min_value=0, max_value=10**13),
    buy_orders=st.integers(min_value=0, max_value=50),
    sell_orders=st.integers(min_value=0, max_value=50),
    day=st.dates(min_value=dt.date(2020, 7, 1), max_value=dt.date(2030, 12, 31)),
)
def test_the_total_is_the_sum_of_the_lines_and_no_line_is_negative(
    segment: ChargeSegment,
    exchange: Exchange,
    broker: BrokerSchedule,
    buy: int,
    sell: int,
    buy_orders: int,
    sell_orders: int,
    day: dt.date,
) -> None:
    result = round_trip_charges(
        segment,
        buy,
        sell,
        exchange=exchange,
        broker=broker,
        trade_date=day,
        buy_orders=buy_orders,
        sell_orders=sell_orders,
    )
    assert result.total_paise == sum(lines(result))
    assert all(line >= 0 for line in lines(result))
    assert result.stt_paise % 100 == 0  # whole rupees
    taxable = result.brokerage_paise + result.exchange_paise + result.sebi_paise
    assert result.gst_paise == (taxable * 18 + 50) // 100


def _decimal_reference(
    segment: ChargeSegment,
    buy: int,
    sell: int,
    exchange: Exchange,
    broker: BrokerSchedule,
    buy_date: dt.date,
    sell_date: dt.date,
    buy_orders: int,
    sell_orders: int,
    bse_class: str | None,
) -> tuple[int, ...]:
    """The calculator as §1.3 words it, in Decimal at 60 digits (how it was first written):
    the integer arithmetic of round_trip_charges must give the same paise on every line."""
    from decimal import ROUND_HALF_UP, Decimal, localcontext

    def paisa(x: Decimal) -> int:
        return int(x.to_integral_value(rounding=ROUND_HALF_UP))

    def rupee(x: Decimal) -> int:
        return int(x.scaleb(-2).to_integral_value(rounding=ROUND_HALF_UP)) * 100

    def exchange_rate(rates: object) -> Decimal:
        r = rates  # StatutoryRates
        if exchange is Exchange.NSE:
            return r.nse_exchange[segment]  # type: ignore[attr-defined,no-any-return]
        if segment is FUTURES:
            return r.bse_futures  # type: ignore[attr-defined,no-any-return]
        if segment is OPTIONS:
            return r.bse_option_classes[bse_class or "SENSEX"]  # type: ignore[attr-defined,no-any-return]
        return r.bse_cash_groups[bse_class or "A"]  # type: ignore[attr-defined,no-any-return]

    br, sr = rates_on(buy_date), rates_on(sell_date)
    with localcontext(prec=60):
        b, s = Decimal(buy), Decimal(sell)
        brokerage = paisa(broker.brokerage(segment, buy, buy_orders)) + paisa(
            broker.brokerage(segment, sell, sell_orders)
        )
        stt = rupee(br.stt[segment].buy * b) + rupee(sr.stt[segment].sell * s)
        exch = paisa(exchange_rate(br) * b + exchange_rate(sr) * s)
        sebi = paisa(br.sebi * b + sr.sebi * s)
        stamp = paisa(br.stamp_buy[segment] * b)
        gst = paisa(sr.gst * (brokerage + exch + sebi))
        dp = 0
        if segment is DELIVERY and sell > 0:
            dp = paisa(broker.dp_charge_paise * (1 + sr.gst))
    return (brokerage, stt, exch, sebi, stamp, gst, dp)


_RATE_DAYS = [row.effective_from for row in STATUTORY_RATES]


@given(
    st.sampled_from(list(ChargeSegment)),
    st.integers(0, 10**13),
    st.integers(0, 10**13),
    st.sampled_from([Exchange.NSE, Exchange.BSE]),
    st.sampled_from(list(BROKERS.values())),
    st.sampled_from(_RATE_DAYS),
    st.integers(0, 3),
    st.integers(0, 4),
    st.integers(0, 4),
    st.sampled_from([None, "Z", "A"]),
)
def test_the_integer_calculator_equals_the_decimal_one_on_every_line(
    segment: ChargeSegment,
    buy: int,
    sell: int,
    exchange: Exchange,
    broker: BrokerSchedule,
    first_day: dt.date,
    later_rows: int,
    buy_orders: int,
    sell_orders: int,
    bse_class: str | None,
) -> None:
    # values up to ₹10 crore and beyond, on every rate row, each side on its own row
    i = _RATE_DAYS.index(first_day)
    sell_day = _RATE_DAYS[min(i + later_rows, len(_RATE_DAYS) - 1)]
    if exchange is Exchange.NSE or segment is FUTURES:
        bse_class = None
    if segment is OPTIONS and bse_class is not None:
        bse_class = "SENSEX"
    got = round_trip_charges(
        segment,
        buy,
        sell,
        exchange=exchange,
        broker=broker,
        trade_date=first_day,
        sell_date=sell_day,
        buy_orders=buy_orders,
        sell_orders=sell_orders,
        bse_class=bse_class,
    )
    want = _decimal_reference(
        segment, buy, sell, exchange, broker, first_day, sell_day, buy_orders, sell_orders,
        bse_class,
    )  # fmt: skip
    assert lines(got) == want
