"""One trial: a backtest of the strategy with one parameter set on data loaded once per worker.

`BacktestSpec` is everything but the parameters and the bars (picklable, small); a worker keeps
the bars it was given for every trial it runs, so data crosses a process boundary once per
worker, never once per trial.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import (
    BacktestConfig,
    build_strategy,
    metrics_of,
    resolve_strategy,
    run_backtest,
)
from algo_trading.backtest.charges import (
    ChargedTrip,
    RoundTripCharges,
    backtest_charges,
    backtest_product,
)
from algo_trading.backtest.driver import BacktestRun
from algo_trading.backtest.metrics import Metrics
from algo_trading.domain.errors import ConfigError

__all__ = [
    "ENGINES",
    "BacktestSpec",
    "ResearchRun",
    "Trial",
    "evaluate",
    "evaluation_path",
    "run_one",
]

ENGINES = ("auto", "event")


@dataclass(frozen=True)
class BacktestSpec:
    strategy: str
    quantity: int = 1
    cash_paise: int = 1_000_000 * 100
    charges: str = "angelone"
    product: str | None = None
    slippage_ticks: int = 0
    fixed_params: Mapping[str, str] = field(default_factory=dict)
    # "auto": the vectorised path where it gives the engine's exact answer (research.vectorised),
    # the event-driven engine elsewhere; "event": always the engine.
    engine: str = "auto"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"--engine {self.engine!r} is not one of {', '.join(ENGINES)}")


@dataclass(frozen=True)
class Trial:
    """A parameter set and what it scored."""

    number: int
    params: dict[str, Any]
    metrics: dict[str, Any]
    value: float


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


@dataclass
class ResearchRun:
    """A backtest run and, when charges were on, each round trip's charge lines."""

    run: BacktestRun
    charged: list[ChargedTrip]


def run_one(
    spec: BacktestSpec, series: Sequence[BarSeries], params: Mapping[str, Any]
) -> ResearchRun:
    """The backtest run itself (for tearsheets and walk-forward)."""
    raw = {**spec.fixed_params, **{k: _text(v) for k, v in params.items()}}
    cls = resolve_strategy(spec.strategy)
    product = backtest_product(spec.product) if spec.product else None
    strategy = build_strategy(cls, raw, quantity=spec.quantity, product=product)
    config = BacktestConfig(
        cash_paise=spec.cash_paise,
        slippage_ticks=spec.slippage_ticks,
        charges=backtest_charges(spec.charges),
    )
    run = run_backtest(strategy, list(series), config)
    charged = config.charges.charged if isinstance(config.charges, RoundTripCharges) else []
    return ResearchRun(run, list(charged))


def evaluate(spec: BacktestSpec, series: Sequence[BarSeries], params: Mapping[str, Any]) -> Metrics:
    """The run's metrics: from the vectorised path when it models these settings exactly (the
    same fills, charges and metrics as the engine's, see research.vectorised), else from the
    event-driven engine."""
    from algo_trading.research.vectorised import vector_metrics

    metrics = vector_metrics(spec, series, params)
    if metrics is not None:
        return metrics
    return metrics_of(run_one(spec, series, params).run)


def evaluation_path(
    spec: BacktestSpec, series: Sequence[BarSeries], params: Mapping[str, Any]
) -> str:
    """Which path `evaluate` takes for these: "vectorised", or "event-driven (why)"."""
    from algo_trading.research.vectorised import unsupported

    why = unsupported(spec, series, params)
    return "vectorised" if why is None else f"event-driven ({why})"
