"""Split and bonus adjustment: bars before the ex-date scaled to the tick, later bars and other
symbols untouched; a bad corporate-actions file refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from algo_trading.adapters.history.adjust import adjust, load_actions
from algo_trading.domain.errors import DataError
from tests.support.history import ist_ns, make_bars

DAY = 86_400


def _actions(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "actions.csv"
    path.write_text("Symbol,Ex_Date,Action,Ratio\n" + body, encoding="utf-8")
    return path


def test_a_split_divides_earlier_prices_to_the_tick_and_multiplies_volume(tmp_path: Path) -> None:
    bars = make_bars("SBIN-EQ", ist_ns(2025, 1, 6), 4, step_s=DAY, base=100_000)
    actions = load_actions(_actions(tmp_path, "SBIN-EQ,2025-01-08,split,5:1\n"))
    got = adjust(bars, actions, tick_paise=5)
    for i in (0, 1):  # before the ex-date
        for name in ("open", "high", "low", "close"):
            raw = int(getattr(bars, name)[i])
            assert int(getattr(got, name)[i]) == (2 * raw + 25) // 50 * 5  # /5, to 5 paise, half up
        assert got.volume[i] == bars.volume[i] * 5
    for name in ("ts_ns", "open", "high", "low", "close", "volume"):
        assert getattr(got, name)[2:].tolist() == getattr(bars, name)[2:].tolist()


def test_a_one_for_one_bonus_halves_earlier_prices(tmp_path: Path) -> None:
    bars = make_bars("TCS-EQ", ist_ns(2025, 1, 6), 2, step_s=DAY, base=300_000)
    actions = load_actions(_actions(tmp_path, "TCS-EQ,2025-01-07,bonus,1:1\n"))
    got = adjust(bars, actions, tick_paise=5)
    assert got.close[0] == (2 * int(bars.close[0]) + 10) // 20 * 5  # /2, to 5 paise, half up
    assert got.close[1] == bars.close[1]


def test_actions_of_other_symbols_change_nothing(tmp_path: Path) -> None:
    bars = make_bars("SBIN-EQ", ist_ns(2025, 1, 6), 3, step_s=DAY)
    actions = load_actions(_actions(tmp_path, "INFY-EQ,2025-01-08,split,2:1\n"))
    assert adjust(bars, actions, tick_paise=5) is bars


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("SBIN-EQ,2025-13-01,split,2:1", "ex_date '2025-13-01' is not a date"),
        ("SBIN-EQ,2025-01-08,merger,2:1", "action 'merger' is not split or bonus"),
        ("SBIN-EQ,2025-01-08,split,2:0", "ratio '2:0' is not A:B"),
        ("SBIN-EQ,2025-01-08,split,two", "ratio 'two' is not A:B"),
    ],
)
def test_a_bad_row_is_refused_with_its_line(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(DataError, match=f"line 2: {message}"):
        load_actions(_actions(tmp_path, row + "\n"))
