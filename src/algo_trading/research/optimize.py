"""Parameter optimisation: an exhaustive grid, or Bayesian search with Optuna's TPE sampler.

Results are ranked by the objective with their full metrics. The Optuna study is stored in the
project's database (its own schema on PostgreSQL, its own file beside SQLite: Optuna keeps an
`alembic_version` table of its own that must not meet ours), so workers on several machines can
share one study by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from algo_trading.backtest.metrics import Metrics
from algo_trading.domain.errors import ConfigError
from algo_trading.research.backends import Backend
from algo_trading.research.evaluate import Trial
from algo_trading.research.objectives import objective_value
from algo_trading.research.space import Constraint, Dimension, grid

__all__ = ["OptimizeResult", "optuna_storage_url", "run_bayes", "run_grid"]


@dataclass
class OptimizeResult:
    objective: str
    method: str
    trials: list[Trial] = field(default_factory=list)

    def ranked(self) -> list[Trial]:
        return sorted(self.trials, key=lambda t: (-t.value, t.number))

    @property
    def best(self) -> Trial:
        return self.ranked()[0]


def _score(objective: str, metrics: dict[str, Any]) -> float:
    return objective_value(objective, Metrics(**metrics))


def run_grid(
    backend: Backend,
    dims: Sequence[Dimension],
    constraints: Sequence[Constraint],
    objective: str,
    progress: Callable[[int], Callable[[], None]] | None = None,
) -> OptimizeResult:
    points = grid(dims, constraints)
    tick = progress(len(points)) if progress else None
    results = backend.map(points, tick)
    trials = [
        Trial(i, dict(p), m, _score(objective, m))
        for i, (p, m) in enumerate(zip(points, results, strict=True))
    ]
    return OptimizeResult(objective, "grid", trials)


def optuna_storage_url(database_url: str) -> str:
    """Where the studies live: a sibling SQLite file, or the `optuna` schema of PostgreSQL."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.split(":///", 1)[1]) if ":///" in database_url else Path("var/x")
        return f"sqlite:///{(path.parent / 'optuna.sqlite3').as_posix()}"
    if database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE SCHEMA IF NOT EXISTS optuna"))
        finally:
            engine.dispose()
        joiner = "&" if "?" in database_url else "?"
        if "search_path" in database_url:
            raise ConfigError(
                "ALGO_DATABASE_URL: sets its own search_path; give the study a --storage"
            )
        return f"{database_url}{joiner}options=-csearch_path%3Doptuna"
    raise ConfigError(
        f"ALGO_DATABASE_URL: cannot hold an Optuna study ({database_url.split(':', 1)[0]})"
    )


def run_bayes(
    backend: Backend,
    dims: Sequence[Dimension],
    constraints: Sequence[Constraint],
    objective: str,
    *,
    trials: int,
    storage_url: str,
    study_name: str,
    seed: int = 42,
    batch: int = 1,
    progress: Callable[[int], Callable[[], None]] | None = None,
) -> OptimizeResult:
    """TPE over the space, `batch` trials asked at a time (one per worker); a point that breaks a
    constraint is told as pruned and does not count towards `trials`."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(storage_url)
    try:
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            load_if_exists=True,
        )
        done = _ask_and_tell(study, backend, dims, constraints, objective, trials, batch, progress)
    finally:
        storage.engine.dispose()  # its pooled connections would outlive the command
    return OptimizeResult(objective, "bayes", done)


def _ask_and_tell(
    study: Any,
    backend: Backend,
    dims: Sequence[Dimension],
    constraints: Sequence[Constraint],
    objective: str,
    trials: int,
    batch: int,
    progress: Callable[[int], Callable[[], None]] | None,
) -> list[Trial]:
    import optuna

    tick = progress(trials) if progress else None
    done: list[Trial] = []
    attempts = 0
    while len(done) < trials:
        attempts += 1
        if attempts > trials * 50:
            raise ConfigError(
                "--constraint: almost no point of the space satisfies the constraints"
            )
        asked: list[tuple[Any, dict[str, int | float]]] = []
        while len(asked) < min(batch, trials - len(done)):
            trial = study.ask()
            params = {d.name: _suggest(trial, d) for d in dims}
            if all(c.holds(params) for c in constraints):
                asked.append((trial, params))
            else:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                attempts += 1
                if attempts > trials * 50:
                    raise ConfigError(
                        "--constraint: almost no point of the space satisfies the constraints"
                    )
        results = backend.map([p for _, p in asked])
        for (trial, params), metrics in zip(asked, results, strict=True):
            value = _score(objective, metrics)
            study.tell(trial, value if math.isfinite(value) else -1e300)
            done.append(Trial(trial.number, params, metrics, value))
            if tick:
                tick()
    return done


def _suggest(trial: Any, d: Dimension) -> int | float:
    if d.integer:
        return int(trial.suggest_int(d.name, int(d.low), int(d.high), step=int(d.step or 1)))
    return float(trial.suggest_float(d.name, float(d.low), float(d.high), step=d.step))
