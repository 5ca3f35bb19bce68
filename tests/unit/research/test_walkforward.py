"""Walk-forward windows and the deflated Sharpe ratio."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.research.walkforward import deflated_sharpe, make_windows

DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(10)]


def test_rolling_windows_keep_their_length_and_tests_follow_each_other() -> None:
    windows = make_windows(DAYS, train_days=4, test_days=2, anchored=False)
    assert [
        (w.train_start.day, w.train_end.day, w.test_start.day, w.test_end.day) for w in windows
    ] == [
        (1, 4, 5, 6),
        (3, 6, 7, 8),
        (5, 8, 9, 10),
    ]


def test_anchored_windows_grow_from_the_first_day() -> None:
    windows = make_windows(DAYS, train_days=4, test_days=3, anchored=True)
    assert [
        (w.train_start.day, w.train_end.day, w.test_start.day, w.test_end.day) for w in windows
    ] == [
        (1, 4, 5, 7),
        (1, 7, 8, 10),
    ]


def test_data_shorter_than_one_window_is_refused() -> None:
    with pytest.raises(ConfigError, match="fewer than one window"):
        make_windows(DAYS, train_days=8, test_days=3, anchored=False)
    with pytest.raises(ConfigError, match="positive"):
        make_windows(DAYS, train_days=0, test_days=3, anchored=False)


def test_the_same_sharpe_is_worth_less_after_more_trials() -> None:
    rng = random.Random(1)
    returns = [0.001 + rng.gauss(0, 0.01) for _ in range(250)]
    few = [rng.gauss(0, 0.03) for _ in range(5)]
    many = few + [rng.gauss(0, 0.03) for _ in range(495)]
    dsr_few, dsr_many = deflated_sharpe(returns, few), deflated_sharpe(returns, many)
    assert dsr_few is not None
    assert dsr_many is not None
    assert 0.0 <= dsr_many < dsr_few <= 1.0


def test_a_strong_edge_found_in_few_trials_survives_deflation() -> None:
    rng = random.Random(2)
    returns = [0.004 + rng.gauss(0, 0.01) for _ in range(500)]
    assert deflated_sharpe(returns, [0.0, 0.01, 0.02]) > 0.95  # type: ignore[operator]


def test_too_little_to_judge_gives_none() -> None:
    assert deflated_sharpe([0.01, 0.02], [0.1, 0.2]) is None
    assert deflated_sharpe([0.01, 0.02, 0.03, 0.0], [0.1]) is None
