"""Metrics on hand-built equity curves and round trips; expected figures computed here by hand
or with the standard library, never with the code under test."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

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
