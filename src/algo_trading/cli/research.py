"""`algo-trading optimize`, `walk-forward` and `tearsheet` (issue #14): sweeps, out-of-sample
checks and reports over the backtester. Every bad input is one `error:` line and exit code 2."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from algo_trading.cli.errors import OneLineCommand, user_errors
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.money import rupees_to_paise

__all__ = ["optimize_command", "report_command", "tearsheet_command", "walk_forward_command"]


def _load(data_files: Sequence[str], allow_off_session: bool) -> list[Any]:
    from algo_trading.adapters.history import load_bars
    from algo_trading.domain.instruments import Exchange
    from algo_trading.market.calendar import calendar_for

    calendar = None if allow_off_session else calendar_for(Exchange.NSE)
    series = []
    for f in data_files:
        series.extend(load_bars(f, None, calendar=calendar))
    if not series:
        raise ConfigError("--data: no bars")
    return series


def _spec(
    strategy: str,
    quantity: int,
    cash: str,
    charges: str,
    product: str | None,
    fixed: Sequence[str],
    engine: str = "auto",
) -> Any:
    from algo_trading.backtest.charges import CHARGES_CHOICES
    from algo_trading.research.evaluate import BacktestSpec

    if quantity <= 0:
        raise ConfigError(f"--quantity {quantity} must be positive")
    cash_paise = rupees_to_paise(cash, what="--cash")
    if cash_paise <= 0:
        raise ConfigError(f"--cash {cash} must be positive")
    if charges not in CHARGES_CHOICES:
        raise ConfigError(f"--charges {charges!r} is unknown (known: {', '.join(CHARGES_CHOICES)})")
    params: dict[str, str] = {}
    for pair in fixed:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param {pair!r}: write it as KEY=VALUE")
        params[key.strip()] = value
    return BacktestSpec(strategy, quantity, cash_paise, charges, product, 0, params, engine)


def _paths_line(spec: Any, series: Any, points: Sequence[Mapping[str, Any]]) -> str:
    """Which path evaluated the trials, e.g. "evaluated: 200 vectorised"."""
    from collections import Counter

    from algo_trading.research.evaluate import evaluation_path

    counts = Counter(evaluation_path(spec, series, p) for p in points)
    return "evaluated: " + "; ".join(f"{n} {path}" for path, n in counts.items())


def _space(strategy: str, space: Sequence[str], constraints: Sequence[str]) -> tuple[Any, Any]:
    from algo_trading.backtest import resolve_strategy
    from algo_trading.research.space import parse_constraint, parse_space

    cls = resolve_strategy(strategy)
    dims = parse_space(space, cls.Params, getattr(cls, "name", cls.__name__))
    names = [d.name for d in dims]
    return dims, [parse_constraint(c, names) for c in constraints]


def _progress(label: str) -> Callable[[int], Callable[[], None]]:
    from tqdm import tqdm

    def start(total: int) -> Callable[[], None]:
        bar = tqdm(total=total, desc=label, unit="trial", leave=False, dynamic_ncols=True)

        def tick() -> None:
            bar.update(1)
            if bar.n >= total:
                bar.close()

        return tick

    return start


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


_common = [
    click.option("--strategy", "strategy", required=True, help="Built-in name or FILE.py[:Class]."),
    click.option(
        "--data",
        "data_files",
        required=True,
        multiple=True,
        help="CSV or Parquet bars; repeat for more symbols.",
    ),
    click.option(
        "--space",
        "space",
        multiple=True,
        metavar="KEY=LOW:HIGH[:STEP]",
        help="A searched parameter; repeat.",
    ),
    click.option(
        "--constraint", "constraints", multiple=True, metavar="A<B", help="e.g. fast<slow; repeat."
    ),
    click.option(
        "--param", "fixed", multiple=True, metavar="KEY=VALUE", help="A fixed parameter; repeat."
    ),
    click.option(
        "--objective",
        default="sharpe",
        show_default=True,
        help="sharpe, sortino, return, cagr, calmar, profit_factor, net_pnl or win_rate.",
    ),
    click.option(
        "--backend",
        default="local",
        show_default=True,
        help="sequential, local (all cores) or ray.",
    ),
    click.option(
        "--workers",
        default=None,
        type=int,
        help="Worker processes or Ray actors (default: the cores).",
    ),
    click.option(
        "--ray-address", default=None, help="A Ray cluster (HOST:PORT); default: a local Ray."
    ),
    click.option("--quantity", default=1, show_default=True, type=int),
    click.option("--cash", default="1000000", show_default=True, help="Starting cash, rupees."),
    click.option(
        "--charges", default="angelone", show_default=True, help="angelone, zerodha or none."
    ),
    click.option("--product", default=None, help="intraday or delivery (default: the strategy's)."),
    click.option("--allow-off-session", is_flag=True, help="Accept bars outside NSE's sessions."),
    click.option(
        "--engine",
        "engine_path",
        default="auto",
        show_default=True,
        help="auto: the vectorised path where it is exact (sma/ema crossover, long only, one "
        "symbol), the event-driven engine elsewhere; event: always the engine.",
    ),
]


def _with_common(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_common):
        fn = option(fn)
    return fn


def _check_backend(backend: str, workers: int | None, ray_address: str | None) -> None:
    from algo_trading.research.backends import BACKENDS, check_ray_address

    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r} is unknown (known: {', '.join(BACKENDS)})")
    if workers is not None and workers <= 0:
        raise ConfigError(f"--workers {workers} must be positive")
    if ray_address and backend != "ray":
        raise ConfigError("--ray-address needs --backend ray")
    if ray_address:
        check_ray_address(ray_address)


@click.command("optimize", cls=OneLineCommand)
@_with_common
@click.option(
    "--method", default="grid", show_default=True, help="grid (every point) or bayes (Optuna TPE)."
)
@click.option(
    "--trials", default=100, show_default=True, type=int, help="Trials for --method bayes."
)
@click.option(
    "--study",
    default=None,
    help="Optuna study name (bayes); shared by workers on several machines.",
)
@click.option(
    "--top", default=10, show_default=True, type=int, help="Rows of the ranking to print."
)
@click.option("--json", "as_json", is_flag=True, help="Print every trial as JSON instead.")
@user_errors
def optimize_command(
    strategy: str,
    data_files: tuple[str, ...],
    space: tuple[str, ...],
    constraints: tuple[str, ...],
    fixed: tuple[str, ...],
    objective: str,
    backend: str,
    workers: int | None,
    ray_address: str | None,
    quantity: int,
    cash: str,
    charges: str,
    product: str | None,
    allow_off_session: bool,
    engine_path: str,
    method: str,
    trials: int,
    study: str | None,
    top: int,
    as_json: bool,
) -> None:
    """Search a strategy's parameters for the best objective."""
    from algo_trading.research.backends import make_backend
    from algo_trading.research.objectives import OBJECTIVES
    from algo_trading.research.optimize import optuna_storage_url, run_bayes, run_grid

    if objective not in OBJECTIVES:
        raise ConfigError(f"--objective {objective!r} is unknown (known: {', '.join(OBJECTIVES)})")
    if method not in ("grid", "bayes"):
        raise ConfigError(f"--method {method!r} is unknown (known: grid, bayes)")
    if trials <= 0:
        raise ConfigError(f"--trials {trials} must be positive")
    _check_backend(backend, workers, ray_address)
    spec = _spec(strategy, quantity, cash, charges, product, fixed, engine_path)
    dims, cons = _space(strategy, space, constraints)
    series = _load(data_files, allow_off_session)
    engine = make_backend(backend, spec, series, workers=workers, ray_address=ray_address)
    try:
        if method == "grid":
            result = run_grid(engine, dims, cons, objective, progress=_progress("grid"))
        else:
            from algo_trading.services.settings import load_settings

            url = optuna_storage_url(load_settings().database_url.get_secret_value())
            name = study or f"{strategy}-{objective}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
            result = run_bayes(
                engine,
                dims,
                cons,
                objective,
                trials=trials,
                storage_url=url,
                study_name=name,
                batch=getattr(engine, "workers", 1),
                progress=_progress("bayes"),
            )
    finally:
        engine.close()
    ranked = result.ranked()
    if as_json:
        click.echo(json.dumps([t.__dict__ for t in ranked], default=_json_default))
        return
    click.echo(f"{len(ranked)} trials ({result.method}, {backend}), ranked by {objective}:")
    click.echo("  " + _paths_line(spec, series, [t.params for t in ranked]))
    for t in ranked[:top]:
        m = t.metrics
        shown = ", ".join(f"{k}={v}" for k, v in t.params.items())
        click.echo(
            f"  {objective}={t.value:.4f}  {shown}  trades={m['trades']} "
            f"return={m['total_return']:.4%} max_dd={m['max_drawdown']:.2%}"
        )


@click.command("walk-forward", cls=OneLineCommand)
@_with_common
@click.option("--train-days", required=True, type=int, help="Trading days per training window.")
@click.option("--test-days", required=True, type=int, help="Trading days per test window.")
@click.option(
    "--anchored", is_flag=True, help="Training windows grow from the start (default: rolling)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@user_errors
def walk_forward_command(
    strategy: str,
    data_files: tuple[str, ...],
    space: tuple[str, ...],
    constraints: tuple[str, ...],
    fixed: tuple[str, ...],
    objective: str,
    backend: str,
    workers: int | None,
    ray_address: str | None,
    quantity: int,
    cash: str,
    charges: str,
    product: str | None,
    allow_off_session: bool,
    engine_path: str,
    train_days: int,
    test_days: int,
    anchored: bool,
    as_json: bool,
) -> None:
    """Choose parameters in sample, judge them out of sample, window after window."""
    from algo_trading.research.backends import make_backend
    from algo_trading.research.objectives import OBJECTIVES
    from algo_trading.research.walkforward import walk_forward

    if objective not in OBJECTIVES:
        raise ConfigError(f"--objective {objective!r} is unknown (known: {', '.join(OBJECTIVES)})")
    _check_backend(backend, workers, ray_address)
    spec = _spec(strategy, quantity, cash, charges, product, fixed, engine_path)
    dims, cons = _space(strategy, space, constraints)
    series = _load(data_files, allow_off_session)
    result = walk_forward(
        lambda part: make_backend(backend, spec, part, workers=workers, ray_address=ray_address),
        spec,
        series,
        dims,
        cons,
        objective,
        train_days=train_days,
        test_days=test_days,
        anchored=anchored,
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "objective": objective,
                    "windows": [w.__dict__ for w in result.windows],
                    "mean_gap": result.mean_gap,
                    "deflated_sharpe": result.deflated_sharpe,
                    "warning": result.warning,
                    "equity_final_paise": result.equity_paise[-1] if result.equity_paise else None,
                },
                default=lambda v: v.__dict__ if hasattr(v, "__dict__") else _json_default(v),
            )
        )
        return
    for w in result.windows:
        shown = ", ".join(f"{k}={v}" for k, v in w.best_params.items())
        click.echo(
            f"train {w.window.train_start}..{w.window.train_end}  "
            f"test {w.window.test_start}..{w.window.test_end}  {shown}  "
            f"in-sample {objective}={w.in_sample:.3f}  "
            f"out-of-sample {objective}={w.out_of_sample:.3f}"
        )
    gap = result.mean_gap
    click.echo(
        f"mean in-sample minus out-of-sample {objective}: {'n/a' if gap is None else f'{gap:.3f}'}"
    )
    if result.equity_paise:
        from algo_trading.domain.money import format_rupees as inr

        click.echo(
            f"stitched out-of-sample equity: {inr(result.equity_paise[-1])} "
            f"(from {inr(spec.cash_paise)})"
        )
    if result.windows:
        sweeps = _paths_line(spec, series, [w.best_params for w in result.windows])
        click.echo(f"in-sample sweeps {sweeps}; out-of-sample runs: the event-driven engine")
    if result.warning:
        click.echo(f"warning: {result.warning}")


@click.command("tearsheet", cls=OneLineCommand)
@click.option("--strategy", required=True, help="Built-in name or FILE.py[:Class].")
@click.option("--data", "data_files", required=True, multiple=True, help="CSV or Parquet bars.")
@click.option("--param", "fixed", multiple=True, metavar="KEY=VALUE")
@click.option("--quantity", default=1, show_default=True, type=int)
@click.option("--cash", default="1000000", show_default=True)
@click.option("--charges", default="angelone", show_default=True)
@click.option("--product", default=None)
@click.option("--allow-off-session", is_flag=True)
@click.option("--out", "out", required=True, help="The HTML file to write (its .json beside it).")
@user_errors
def tearsheet_command(
    strategy: str,
    data_files: tuple[str, ...],
    fixed: tuple[str, ...],
    quantity: int,
    cash: str,
    charges: str,
    product: str | None,
    allow_off_session: bool,
    out: str,
) -> None:
    """Backtest once and write its tearsheet (one self-contained HTML file, and JSON)."""
    from algo_trading.backtest import metrics_of
    from algo_trading.research.evaluate import run_one
    from algo_trading.research.tearsheet import tearsheet_data, tearsheet_html

    target = Path(out)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out {out}: name an .html file")
    if not target.parent.is_dir():
        raise ConfigError(f"--out {out}: the folder {target.parent} does not exist")
    spec = _spec(strategy, quantity, cash, charges, product, fixed)
    series = _load(data_files, allow_off_session)
    done = run_one(spec, series, {})
    config = {
        "strategy": strategy,
        "params": dict(spec.fixed_params),
        "quantity": quantity,
        "cash_paise": spec.cash_paise,
        "charges": charges,
        "product": product,
        "data": [Path(f).name for f in data_files],
        "data_fingerprint": _fingerprint(series),
    }
    data = tearsheet_data(done.run, metrics_of(done.run), config, done.charged)
    _atomic(target.with_suffix(".json"), json.dumps(data, default=_json_default, indent=1))
    _atomic(target, tearsheet_html(data, f"{strategy} tearsheet"))
    click.echo(f"wrote {target} and {target.with_suffix('.json')} (the event-driven engine's run)")


def _fingerprint(series: Sequence[Any]) -> str:
    import hashlib

    h = hashlib.sha256()
    for s in series:
        h.update(s.symbol.encode())
        for column in (s.ts_ns, s.open, s.high, s.low, s.close, s.volume):
            h.update(column.tobytes())
    return h.hexdigest()


def _atomic(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


@click.command("report", cls=OneLineCommand)
@click.option("--kind", default="daily", show_default=True, help="daily, weekly or monthly.")
@click.option(
    "--date", "day", default=None, help="A day of the period (YYYY-MM-DD); default: today (IST)."
)
@click.option(
    "--out",
    "out",
    default=None,
    help="Folder to write reports/<kind>/ under; default: the local object store.",
)
@user_errors
def report_command(kind: str, day: str | None, out: str | None) -> None:
    """Write the trading report (P&L, charges, win rate, risk events) of a day, week or month."""
    from algo_trading.adapters.storage.sql.database import Database
    from algo_trading.domain.events import IST
    from algo_trading.research.reports import build_report, load_rows, period_of, write_report
    from algo_trading.services.settings import load_settings

    try:
        when = dt.date.fromisoformat(day) if day else dt.datetime.now(IST).date()
    except ValueError:
        raise ConfigError(f"--date {day!r}: expected YYYY-MM-DD") from None
    period = period_of(kind, when)
    settings = load_settings()
    root = Path(out) if out else settings.data_dir / "objects"
    db = Database(settings.database_url.get_secret_value())
    try:
        trades, refusals = load_rows(db, period)
    finally:
        db.dispose()
    report = build_report(period, trades, refusals)

    def put(key: str, body: bytes) -> None:
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        part.write_bytes(body)
        os.replace(part, target)

    for key in write_report(put, report):
        click.echo(f"wrote {root / key}")
