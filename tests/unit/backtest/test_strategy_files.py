"""Strategies from a user's Python file: found by path (and class name when there are several),
built with their parameters, and every problem in the file reported as one ConfigError line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from algo_trading.backtest import build_strategy, generate_bars, resolve_strategy, run_backtest
from algo_trading.domain.errors import ConfigError, StrategyError
from algo_trading.strategy import BUILTIN_STRATEGIES

MOMENTUM = """
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from algo_trading.strategy import Strategy


@dataclass(frozen=True)
class MomentumParams:
    lookback: int = 5
    threshold: Decimal = Decimal("0.5")
    allow_short: bool = False


class Momentum(Strategy):
    name = "momentum"
    Params = MomentumParams

    def on_start(self):
        self.fast = self.sma(self.params.lookback)

    def on_bar(self, bar):
        if self.fast.ready and self.position() == 0:
            self.buy()
"""


def write(tmp_path: Path, source: str, name: str = "mine.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def config_error(name_or_file: str) -> str:
    with pytest.raises(ConfigError) as info:
        resolve_strategy(name_or_file)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_builtin_name_resolves_to_the_builtin_class() -> None:
    assert resolve_strategy("rsi_reversion") is BUILTIN_STRATEGIES["rsi_reversion"]


def test_file_with_one_strategy_class_resolves_to_it(tmp_path: Path) -> None:
    cls = resolve_strategy(str(write(tmp_path, MOMENTUM)))
    assert cls.__name__ == "Momentum"
    assert cls.name == "momentum"


def test_imported_strategy_classes_do_not_count_as_the_files_own(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        from algo_trading.strategy import Strategy
        from algo_trading.strategy.builtin import SmaCrossover

        class Faster(SmaCrossover):
            name = "faster"
        """,
    )
    cls = resolve_strategy(str(path))
    assert cls.__name__ == "Faster"


def test_file_with_several_classes_asks_for_file_colon_class(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MOMENTUM + "\n\nclass Reversal(Strategy):\n    name = 'reversal'\n",
    )

    message = config_error(str(path))

    assert str(path) in message
    assert "several (Momentum, Reversal)" in message
    assert "FILE.py:ClassName" in message
    assert resolve_strategy(f"{path}:Reversal").__name__ == "Reversal"


def test_named_class_that_is_not_in_the_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MOMENTUM)
    message = config_error(f"{path}:Reversal")
    assert str(path) in message
    assert "'Reversal'" in message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    message = config_error(str(tmp_path / "gone.py"))
    assert "gone.py" in message
    assert "no such file" in message


def test_unknown_name_lists_the_builtins() -> None:
    message = config_error("smacrossover")
    assert "unknown strategy 'smacrossover'" in message
    assert "sma_crossover" in message


def test_file_without_a_strategy_class_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "class Helper:\n    pass\n")
    message = config_error(str(path))
    assert "no Strategy subclass" in message


def test_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x = 1\n\ndef broken(:\n    pass\n")
    message = config_error(str(path))
    assert f"{path}, line 3" in message
    assert "syntax error" in message


def test_exception_at_import_names_the_file_line_and_exception(tmp_path: Path) -> None:
    path = write(tmp_path, "import math\n\nraise RuntimeError('no model file')\n")
    message = config_error(str(path))
    assert f"{path}, line 3" in message
    assert "RuntimeError while loading: no model file" in message


def test_build_strategy_parses_the_files_own_parameters(tmp_path: Path) -> None:
    cls = resolve_strategy(str(write(tmp_path, MOMENTUM)))

    strategy = build_strategy(
        cls, {"lookback": "8", "threshold": "1.25", "allow_short": "yes"}, quantity=3
    )

    assert strategy.params.lookback == 8
    assert str(strategy.params.threshold) == "1.25"
    assert strategy.params.allow_short is True
    assert strategy.quantity == 3


def test_build_strategy_refuses_unknown_and_mistyped_parameters(tmp_path: Path) -> None:
    cls = resolve_strategy(str(write(tmp_path, MOMENTUM)))

    with pytest.raises(ConfigError) as unknown:
        build_strategy(cls, {"look_back": "8"})
    with pytest.raises(ConfigError) as mistyped:
        build_strategy(cls, {"lookback": "eight"})

    assert "momentum" in str(unknown.value)
    assert "known: lookback, threshold, allow_short" in str(unknown.value)
    assert "lookback='eight' is not an integer" in str(mistyped.value)


def test_constructor_that_raises_is_a_config_error_naming_the_strategy(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        from algo_trading.strategy import Strategy

        class Picky(Strategy):
            name = "picky"

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                raise KeyError("needs a universe")
        """,
    )
    with pytest.raises(ConfigError) as info:
        build_strategy(resolve_strategy(str(path)), {})
    assert "picky" in str(info.value)
    assert "KeyError" in str(info.value)


def test_user_strategy_from_a_file_trades_in_a_backtest(tmp_path: Path) -> None:
    cls = resolve_strategy(str(write(tmp_path, MOMENTUM)))
    run = run_backtest(build_strategy(cls, {}), [generate_bars(500, symbol="SBIN")])
    assert len(run.fills) == 1


def test_on_bar_that_raises_names_the_strategy_the_hook_and_the_bar_time(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        from algo_trading.strategy import Strategy

        class Fragile(Strategy):
            name = "fragile"

            def on_start(self):
                self.bars_seen = 0

            def on_bar(self, bar):
                self.bars_seen += 1
                if self.bars_seen == 3:
                    raise ZeroDivisionError("third bar")
        """,
    )
    strategy = build_strategy(resolve_strategy(str(path)), {})

    with pytest.raises(StrategyError) as info:
        run_backtest(strategy, [generate_bars(10, symbol="SBIN")])

    message = str(info.value)
    assert "'fragile'" in message
    assert "on_bar" in message
    assert "2024-01-01T09:17:00+05:30" in message  # the third bar of the session
    assert "ZeroDivisionError: third bar" in message
