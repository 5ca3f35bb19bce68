"""Search spaces and constraints: what a trader types, checked against the strategy."""

from __future__ import annotations

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.research.objectives import objective_value
from algo_trading.research.space import grid, parse_constraint, parse_space
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover


def space(*specs: str):  # type: ignore[no-untyped-def]
    return parse_space(specs, SmaCrossover.Params, "sma_crossover")


def test_an_integer_range_is_inclusive_with_its_step() -> None:
    (d,) = space("fast=3:12:3")
    assert d.values() == [3, 6, 9, 12]


def test_an_integer_range_without_a_step_takes_every_integer() -> None:
    (d,) = space("slow=20:23")
    assert d.values() == [20, 21, 22, 23]


def test_a_constraint_keeps_only_the_points_that_satisfy_it() -> None:
    dims = space("fast=5:30:5", "slow=10:30:10")
    points = grid(dims, [parse_constraint("fast<slow", ["fast", "slow"])])
    assert all(p["fast"] < p["slow"] for p in points)
    assert len(points) == sum(1 for f in range(5, 31, 5) for s in (10, 20, 30) if f < s)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("fast=9:3", "reversed"),
        ("fast=3:9:0", "step must be positive"),
        ("fast=3:9:-1", "step must be positive"),
        ("nope=1:3", "no parameter 'nope'"),
        ("fast=1.5:3", "whole number"),
        ("fast=a:3", "not a number"),
        ("fast=1:inf", "finite"),
        ("fast", "KEY=LOW:HIGH"),
        ("fast=1", "KEY=LOW:HIGH"),
        ("allow_short=0:1", "only numbers"),
    ],
)
def test_a_bad_range_is_refused_naming_it(spec: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as info:
        space(spec)
    assert spec.split("=")[0] in str(info.value)


def test_no_space_at_all_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        space()


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="twice"):
        space("fast=1:3", "fast=4:5")


def test_a_constraint_on_an_unsearched_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="'slow' is not a searched parameter"):
        parse_constraint("fast<slow", ["fast"])
    with pytest.raises(ConfigError, match="expected NAME<NAME"):
        parse_constraint("fast<<slow", ["fast", "slow"])


def test_a_grid_where_no_point_satisfies_the_constraints_is_refused() -> None:
    dims = space("fast=30:40:10", "slow=10:20:10")
    with pytest.raises(ConfigError, match="no point"):
        grid(dims, [parse_constraint("fast<slow", ["fast", "slow"])])


def test_an_unknown_objective_is_refused_and_an_undefined_one_ranks_last() -> None:
    from algo_trading.backtest.metrics import Metrics

    m = Metrics(10, 0, 100, 100, 0.0, None, None, None, 0.0, 0.0, None, None, None, 0.0, 0, 0)
    assert objective_value("sharpe", m) == float("-inf")
    assert objective_value("return", m) == 0.0
    with pytest.raises(ConfigError, match="unknown"):
        objective_value("luck", m)
