"""Metrics on hand-built equity curves and round trips; expected figures computed here by hand
or with the standard library, never with the code under test."""

from __future__ import annotations

import itertools
import math
import statistics
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.backtest.metrics import Metrics, compute_metrics
from algo_trading.domain.positions import RoundTrip
from tests.support.builders import ist_ns

START = 100_000
NS_PER_DAY = 86_400 * 10**9


def _metrics(
    times_ns: list[int],
    equity: list[int],
    *,
    exposed: list[bool] | None = None,
    trips: list[RoundTrip] | None = None,
    start: int = START,
    charges: int = 0,
) -> Metrics:
    return compute_metrics(
        np.array(times_ns, dtype=np.int64),
        np.array(equity, dtype=np.int64),
        np.array(exposed if exposed is not None else [False] * len(equity), dtype=np.bool_),
        trips or [],
        start,
        charges,
        len(equity),
    )


def _days(n: int) -> list[int]:
    """One bar a day at 15:29 IST on n consecutive days."""
    return [ist_ns("2024-01-01", "15:29") + k * NS_PER_DAY for k in range(n)]


def _trip(pnl: int, charges: int = 0) -> RoundTrip:
    return RoundTrip(
        symbol="SBIN-EQ",
        direction=1,
        quantity=10,
        entry_ns=0,
        exit_ns=1,
        entry_value_paise=100_000,
        exit_value_paise=100_000 + pnl,
        pnl_paise=pnl,
        charges_paise=charges,
    )


def test_total_return_and_net_pnl_are_final_equity_against_starting_cash() -> None:
    m = _metrics(_days(3), [101_000, 95_000, 112_500], charges=321)

    assert m.total_return == pytest.approx(0.125)
    assert m.final_equity_paise == 112_500
    assert m.net_pnl_paise == 12_500
    assert m.charges_paise == 321
    assert m.bars == 3


def test_cagr_compounds_over_calendar_time_in_years_of_365_25_days() -> None:
    first = ist_ns("2022-01-03", "09:15")
    last = first + round(730.5 * NS_PER_DAY)  # exactly two such years
    m = _metrics([first, last], [START, 121_000])

    assert m.cagr == pytest.approx(0.10)


def test_cagr_is_undefined_on_a_single_bar_and_minus_one_when_equity_is_wiped_out() -> None:
    assert _metrics(_days(1), [110_000]).cagr is None
    assert _metrics(_days(2), [50_000, 0]).cagr == -1.0


def test_sharpe_uses_the_last_equity_of_each_ist_day_annualised_with_root_252() -> None:
    # 2024-01-01T18:00Z is 23:30 IST on the 1st; 19:00Z is 00:30 IST on the 2nd: the same UTC
    # date, two IST trading days. Bars within a day only count through the day's last one.
    times = [
        ist_ns("2024-01-01", "09:15"),
        ist_ns("2024-01-01", "23:30"),
        ist_ns("2024-01-02", "00:30"),
        ist_ns("2024-01-02", "15:29"),
        ist_ns("2024-01-03", "10:00"),
        ist_ns("2024-01-04", "10:00"),
    ]
    equity = [250_000, 102_000, 1, 99_960, 103_959, 104_999]
    daily_closes = [START, 102_000, 99_960, 103_959, 104_999]
    r = [b / a - 1 for a, b in itertools.pairwise(daily_closes)]
    expected = statistics.mean(r) / statistics.stdev(r) * math.sqrt(252)

    m = _metrics(times, equity)

    assert m.sharpe == pytest.approx(expected, rel=1e-12)


def test_sortino_divides_by_the_root_mean_square_of_the_negative_daily_returns() -> None:
    equity = [102_000, 99_960, 103_959, 101_000, 104_999]
    closes = [START, *equity]
    r = [b / a - 1 for a, b in itertools.pairwise(closes)]
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    expected = statistics.mean(r) / downside * math.sqrt(252)

    m = _metrics(_days(5), equity)

    assert m.sortino == pytest.approx(expected, rel=1e-12)
    assert m.sortino != pytest.approx(m.sharpe)


def test_sharpe_is_zero_when_equity_never_moves() -> None:
    m = _metrics(_days(5), [START] * 5)

    assert m.sharpe == 0.0
    assert m.total_return == 0.0


def test_sortino_is_undefined_when_no_day_loses() -> None:
    m = _metrics(_days(4), [101_000, 101_000, 103_000, 110_000])

    assert m.sortino is None
    assert m.sharpe > 0


def test_max_drawdown_is_the_deepest_fall_from_a_running_peak_as_a_fraction_of_it() -> None:
    m = _metrics(_days(6), [100_000, 120_000, 90_000, 110_000, 125_000, 105_000])

    assert m.max_drawdown == pytest.approx(0.25)  # 120,000 -> 90,000


def test_drawdown_duration_runs_from_the_peak_to_the_bar_that_regains_it() -> None:
    # peak on day 1, under water on days 2 and 3, back to the peak exactly on day 4
    m = _metrics(_days(6), [100_000, 120_000, 90_000, 110_000, 120_000, 121_000])

    assert m.max_drawdown_duration_days == pytest.approx(3.0)


def test_drawdown_duration_runs_to_the_last_bar_when_the_peak_is_never_regained() -> None:
    times = [*_days(3)[:2], _days(3)[2] + NS_PER_DAY // 2]  # last bar half a day later
    m = _metrics(times, [110_000, 100_000, 105_000])

    assert m.max_drawdown_duration_days == pytest.approx(2.5)
    assert m.max_drawdown == pytest.approx(10_000 / 110_000)


def test_drawdown_duration_is_that_of_the_longest_drawdown_not_of_the_deepest() -> None:
    # deep and short: 100,000 -> 80,000 and back the next day; shallow and long: 1 % for a week
    equity = [100_000, 80_000, 100_000, 99_000, 99_000, 99_000, 99_000, 99_000, 99_000, 100_500]
    m = _metrics(_days(10), equity)

    assert m.max_drawdown == pytest.approx(0.20)
    assert m.max_drawdown_duration_days == pytest.approx(7.0)  # day 2 to day 9


def test_no_drawdown_when_equity_only_rises() -> None:
    m = _metrics(_days(3), [100_000, 100_000, 100_001])

    assert m.max_drawdown == 0.0
    assert m.max_drawdown_duration_days == 0.0


def test_trade_statistics_use_pnl_net_of_each_round_trips_charges() -> None:
    # the third trip wins 60 paise before charges and loses 20 after them
    trips = [_trip(1_000, charges=100), _trip(-500, charges=50), _trip(60, charges=80)]

    m = _metrics(_days(2), [START, START], trips=trips)

    assert m.trades == 3
    assert m.win_rate == pytest.approx(1 / 3)
    assert m.profit_factor == pytest.approx(900 / 570)
    assert m.avg_trade_paise == 110  # (900 - 550 - 20) / 3
    assert isinstance(m.avg_trade_paise, int)


def test_profit_factor_is_undefined_without_a_losing_trade() -> None:
    m = _metrics(_days(2), [START, START], trips=[_trip(1_000, charges=10), _trip(5)])

    assert m.profit_factor is None
    assert m.win_rate == 1.0


def test_trade_statistics_are_undefined_without_trades() -> None:
    m = _metrics(_days(2), [START, START])

    assert (m.trades, m.win_rate, m.profit_factor, m.avg_trade_paise) == (0, None, None, None)


def test_exposure_is_the_share_of_bar_times_with_a_position_open() -> None:
    m = _metrics(
        _days(8), [START] * 8, exposed=[False, True, True, True, False, True, False, False]
    )

    assert m.exposure == pytest.approx(0.5)


# --- extremes: no overflow, no division by zero, no warning (issue #9, point 9) ----------------

INT64_MAX = 2**63 - 1


def _minutes(n: int) -> list[int]:
    return [ist_ns("2025-01-02", "09:15") + k * 60 * 10**9 for k in range(n)]


def _all_defined_or_none(m: Metrics) -> None:
    for name, value in m.as_dict().items():
        if isinstance(value, float):
            assert math.isfinite(value), (name, value)


def test_a_huge_gain_over_minutes_has_no_cagr_instead_of_an_overflow() -> None:
    # --quantity 100000000 --cash 1000 ended in an OverflowError in (final / start) ** (1 / years)
    m = _metrics(_minutes(3), [START, INT64_MAX // 2, INT64_MAX], start=1_000 * 100)

    assert m.cagr is None
    assert m.total_return == pytest.approx(INT64_MAX / 100_000 - 1)
    _all_defined_or_none(m)


def test_cagr_of_a_big_but_representable_growth_is_computed_in_logs() -> None:
    m = _metrics(_days(366), [START] * 365 + [START * 1000])

    assert m.cagr == pytest.approx(1000 ** (365.25 / 365) - 1, rel=1e-9)


def test_a_total_loss_stops_daily_returns_at_the_day_equity_reached_zero() -> None:
    # equity at zero, then below it: a return on nothing is not defined, nothing divides by 0
    m = _metrics(_days(5), [50_000, 0, -20_000, -20_000, -10_000])

    assert m.cagr == -1.0
    assert m.total_return == pytest.approx(-1.1)
    assert m.max_drawdown == pytest.approx(1.4)  # from the 50,000 peak to -20,000
    returns = [-0.5, -1.0]  # start -> 50,000 -> 0, then no more
    expected = statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(252)
    assert m.sharpe == pytest.approx(expected)
    _all_defined_or_none(m)


def test_equity_negative_from_the_first_day_has_no_ratios_but_no_error() -> None:
    m = _metrics(_days(3), [-5, -6, -7])

    assert m.cagr == -1.0
    assert (m.sharpe, m.sortino) == (None, None)  # one defined return: too few for a ratio
    _all_defined_or_none(m)


def test_a_single_bar_and_no_trades_give_defined_or_absent_figures() -> None:
    m = _metrics(_minutes(1), [START])

    figures = (m.cagr, m.sharpe, m.sortino, m.win_rate, m.profit_factor, m.avg_trade_paise)
    assert figures == (None,) * 6
    assert (m.max_drawdown, m.max_drawdown_duration_days, m.exposure) == (0, 0, 0)


def test_no_bars_at_all_report_the_starting_cash() -> None:
    m = _metrics([], [])

    assert (m.final_equity_paise, m.total_return, m.cagr, m.bars) == (START, 0.0, None, 0)


def test_the_average_trade_is_exact_beyond_float_precision() -> None:
    big = 2**60 + 1
    m = _metrics(_days(2), [START, START], trips=[_trip(big), _trip(big)])

    assert m.avg_trade_paise == big


def test_returns_beyond_float_range_are_absent_not_infinite() -> None:
    # days alternating between a paisa and int64's top: returns of about 9e16 and -1
    equity = [1, INT64_MAX, 1, INT64_MAX, 1]
    m = _metrics(_days(5), equity, start=1)

    _all_defined_or_none(m)


@settings(max_examples=200, database=None)
@given(
    st.lists(st.integers(-(2**63), INT64_MAX), min_size=0, max_size=40),
    st.lists(st.integers(1, 3 * NS_PER_DAY), min_size=40, max_size=40),
    st.integers(1, INT64_MAX),
    st.lists(st.integers(-(2**62), 2**62), max_size=5),
)
def test_any_equity_curve_gives_finite_figures_or_none_without_a_warning(
    equity: list[int], gaps: list[int], start: int, pnls: list[int]
) -> None:
    times = list(itertools.accumulate([ist_ns("2025-01-02", "09:15"), *gaps[: len(equity) - 1]]))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = _metrics(times[: len(equity)], equity, start=start, trips=[_trip(p) for p in pnls])

    _all_defined_or_none(m)
