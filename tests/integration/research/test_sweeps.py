"""A sweep gives the same metrics wherever it runs: one by one, on local worker processes, and on
Ray (a local Ray started by the test), and whichever path evaluates it (the vectorised one, the
default for the crossovers, or the event-driven engine). And an Optuna study lives in the
project's database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from algo_trading.backtest import generate_bars
from algo_trading.research.backends import make_backend
from algo_trading.research.evaluate import BacktestSpec, evaluation_path
from algo_trading.research.optimize import optuna_storage_url, run_bayes, run_grid
from algo_trading.research.space import parse_constraint, parse_space
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover
from tests.support.storage import find_postgres, fresh_schema

SPEC = BacktestSpec("sma_crossover", quantity=10)


@pytest.fixture(scope="module")
def series():  # type: ignore[no-untyped-def]
    return [generate_bars(750, symbol="SBIN", seed=11)]


def _dims():  # type: ignore[no-untyped-def]
    return parse_space(["fast=2:21", "slow=5:50:3"], SmaCrossover.Params, "sma_crossover")


def _sweep(backend_name: str, series, spec=SPEC, **kw):  # type: ignore[no-untyped-def]
    backend = make_backend(backend_name, spec, series, **kw)
    try:
        cons = [parse_constraint("fast<slow", ["fast", "slow"])]
        return run_grid(backend, _dims(), cons, "sharpe")
    finally:
        backend.close()


@pytest.fixture(scope="module")
def one_by_one(series):  # type: ignore[no-untyped-def]
    result = _sweep("sequential", series)
    assert len(result.trials) >= 200
    assert len({t.metrics["final_equity_paise"] for t in result.trials}) > 20  # not all alike
    return result


def test_two_hundred_parameter_sets_score_the_same_vectorised_as_on_the_engine(
    series, one_by_one
) -> None:  # type: ignore[no-untyped-def]
    assert evaluation_path(SPEC, series, {"fast": 2, "slow": 5}) == "vectorised"
    engine_spec = BacktestSpec("sma_crossover", quantity=10, engine="event")
    assert evaluation_path(engine_spec, series, {"fast": 2, "slow": 5}).startswith("event")
    engine = _sweep("sequential", series, engine_spec)
    assert [t.params for t in engine.trials] == [t.params for t in one_by_one.trials]
    assert [t.metrics for t in engine.trials] == [t.metrics for t in one_by_one.trials]


@pytest.mark.slow
def test_two_hundred_parameter_sets_score_the_same_on_local_workers(series, one_by_one) -> None:  # type: ignore[no-untyped-def]
    local = _sweep("local", series, workers=2)
    assert [t.metrics for t in local.trials] == [t.metrics for t in one_by_one.trials]


# Ray's own noise, not ours: some releases leave /dev/null handles open in the driver and warn
# about a future default for accelerators; the assertions are about the metrics.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_two_hundred_parameter_sets_score_the_same_on_ray(series, one_by_one) -> None:  # type: ignore[no-untyped-def]
    ray = _sweep("ray", series, workers=2)
    assert [t.metrics for t in ray.trials] == [t.metrics for t in one_by_one.trials]
    assert [t.params for t in ray.ranked()[:10]] == [t.params for t in one_by_one.ranked()[:10]]


def test_an_optuna_study_is_stored_beside_a_sqlite_database_and_resumes(
    series, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url = optuna_storage_url(f"sqlite:///{tmp_path / 'algo.sqlite3'}")
    assert url == f"sqlite:///{(tmp_path / 'optuna.sqlite3').as_posix()}"
    backend = make_backend("sequential", SPEC, series)
    cons = [parse_constraint("fast<slow", ["fast", "slow"])]
    first = run_bayes(backend, _dims(), cons, "return", trials=6, storage_url=url, study_name="s1")
    again = run_bayes(backend, _dims(), cons, "return", trials=4, storage_url=url, study_name="s1")
    assert len(first.trials) == 6
    assert len(again.trials) == 4
    assert all(t.params["fast"] < t.params["slow"] for t in first.trials + again.trials)
    import optuna

    storage = optuna.storages.RDBStorage(url)
    try:
        study = optuna.load_study(study_name="s1", storage=storage)
        complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    finally:
        storage.engine.dispose()
    assert len(complete) == 10


def test_an_optuna_study_on_postgresql_lives_in_its_own_schema(series) -> None:  # type: ignore[no-untyped-def]
    base, why = find_postgres()
    if base is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable: {why}")
        pytest.skip(f"PostgreSQL unreachable: {why}")
    with fresh_schema(base) as db_url:
        import optuna
        import psycopg

        schema = db_url.rsplit("%3D", 1)[1]
        plain = db_url.split("?", 1)[0]
        url = optuna_storage_url(plain)
        assert "search_path%3Doptuna" in url
        name = f"study-{schema}"
        backend = make_backend("sequential", SPEC, series)
        run_bayes(backend, _dims(), [], "return", trials=3, storage_url=url, study_name=name)
        storage = optuna.storages.RDBStorage(url)
        try:
            assert len(optuna.load_study(study_name=name, storage=storage).trials) == 3
            optuna.delete_study(study_name=name, storage=storage)
        finally:
            storage.engine.dispose()
        user = plain.split("://", 1)[1].split("@", 1)[0]
        with psycopg.connect(f"host=127.0.0.1 dbname=test user={user}") as conn:
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema='optuna'"
                )
            }
        assert "trials" in tables
        assert "alembic_version" in tables
