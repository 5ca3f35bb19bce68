"""The `algo-trading` command. Thin: parse, call the layers, and turn an AlgoTradingError into
one line on stderr and exit code 2. Only a bug shows a traceback."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from algo_trading import __version__
from algo_trading.adapters.logs import install_logging
from algo_trading.cli.errors import user_errors
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.money import rupees_to_paise

if TYPE_CHECKING:
    from algo_trading.adapters.history import BarSeries
    from algo_trading.market.calendar import TradingCalendar

__all__ = ["main"]


def _params(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param {pair!r}: write it as KEY=VALUE")
        if key.strip() in out:
            raise ConfigError(f"--param {key.strip()!r} is given twice")
        out[key.strip()] = value
    return out


class _LazyGroup(click.Group):
    """Subcommands imported when asked for (or listed by --help): `algo-trading backtest` does
    not pay for the simulator's aiohttp, the dashboard's Streamlit or the research stack."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self._lazy.get(cmd_name)
        if target is not None and cmd_name not in self.commands:
            module, _, attr = target.partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


_SUBCOMMANDS = {
    "charges": "algo_trading.cli.charges:charges_command",
    "dashboard": "algo_trading.cli.dashboard:dashboard_group",
    "data": "algo_trading.cli.data:data_group",
    "data-service": "algo_trading.cli.data_service:data_service_command",
    "db": "algo_trading.cli.db:db_group",
    "simulator": "algo_trading.cli.simulator:simulator_command",
    "run": "algo_trading.cli.stack:run_command",
    "trade": "algo_trading.cli.trade:trade_command",
    "optimize": "algo_trading.cli.research:optimize_command",
    "walk-forward": "algo_trading.cli.research:walk_forward_command",
    "tearsheet": "algo_trading.cli.research:tearsheet_command",
    "report": "algo_trading.cli.research:report_command",
}


@click.group(
    cls=_LazyGroup,
    lazy=_SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="algo-trading")
def cli() -> None:
    """Backtest, paper-trade and run trading strategies on NSE and BSE."""


@cli.command()
@click.option(
    "--strategy",
    "strategy_name",
    required=True,
    help="Built-in name (see `algo-trading strategies`) or FILE.py[:Class].",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Strategy parameter; repeat for more.",
)
@click.option(
    "--data",
    "data_files",
    required=True,
    multiple=True,
    help="CSV or Parquet bars, or store:SYM[,SYM...] for bars from the history store "
    "(with --interval, --from, --to); repeat for more.",
)
@click.option(
    "--interval",
    default="ONE_MINUTE",
    show_default=True,
    help="Interval of store: data (Angel One's name).",
)
@click.option("--exchange", default="NSE", show_default=True, help="Exchange of store: data.")
@click.option("--from", "frm", default=None, help="First day of store: data (YYYY-MM-DD, IST).")
@click.option("--to", "to", default=None, help="Last day of store: data (inclusive).")
@click.option("--store", default=None, help="The history store's folder (see `data --help`).")
@click.option(
    "--adjust",
    "adjust_file",
    default=None,
    help="Corporate-actions CSV (symbol, ex_date, action split|bonus, ratio A:B): adjust "
    "prices and volumes before each ex-date. Off by default.",
)
@click.option(
    "--symbol",
    default=None,
    help="Symbol of the data (default: the file name), "
    "or the one to pick from a file with a symbol column.",
)
@click.option("--quantity", default=1, show_default=True, type=int, help="Units per order.")
@click.option("--cash", default="1000000", show_default=True, help="Starting cash, rupees.")
@click.option(
    "--slippage-ticks",
    default=0,
    show_default=True,
    type=int,
    help="Market and stop fills this many ticks worse.",
)
@click.option(
    "--tick-size",
    default="0.05",
    show_default=True,
    help="Tick size in rupees for symbols without an instrument record.",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Write trades, orders, fills and equity curve as CSV here.",
)
@click.option(
    "--charges",
    "charges_name",
    default="angelone",
    show_default=True,
    help="angelone or zerodha: that broker's schedule and every tax and fee, for the "
    "strategy's product; none: no charges at all (the report says so first).",
)
@click.option(
    "--allow-off-session",
    is_flag=True,
    help="Accept bars outside NSE's sessions (holidays, weekends, before 09:15 or from 15:30 "
    "IST), which are refused by default.",
)
@click.option(
    "--product",
    default=None,
    help="intraday (MIS, squared off at Angel One's cut-off) or delivery (CNC, never short). "
    "Default: the strategy's own: intraday for intraday strategies and any allowed to go "
    "short, else delivery.",
)
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line of results.")
@click.option(
    "--save",
    is_flag=True,
    help="Store the configuration, data fingerprint, metrics and trades in the object store "
    "(backtest-results/YYYY/MM/<run-id>/; ALGO_S3_BUCKET or ALGO_OBJECTS_DIR) and a row in "
    "the database's backtest_runs (ALGO_DATABASE_URL).",
)
@user_errors
def backtest(
    strategy_name: str,
    params: tuple[str, ...],
    data_files: tuple[str, ...],
    symbol: str | None,
    quantity: int,
    cash: str,
    slippage_ticks: int,
    tick_size: str,
    out_dir: str | None,
    charges_name: str,
    allow_off_session: bool,
    product: str | None,
    as_json: bool,
    interval: str,
    exchange: str,
    frm: str | None,
    to: str | None,
    store: str | None,
    adjust_file: str | None,
    save: bool,
) -> None:
    """Run a strategy over historical bars and report its results."""
    from algo_trading.adapters.history import load_bars
    from algo_trading.backtest import (
        BacktestConfig,
        RunLabels,
        build_strategy,
        metrics_of,
        render_text,
        resolve_strategy,
        run_backtest,
        summary,
        write_outputs,
    )
    from algo_trading.backtest.charges import backtest_charges, backtest_product, charges_label
    from algo_trading.domain.instruments import Exchange
    from algo_trading.market.calendar import calendar_for

    if quantity <= 0:
        raise ConfigError(f"--quantity {quantity} must be positive")
    if slippage_ticks < 0:
        raise ConfigError(f"--slippage-ticks {slippage_ticks} must not be negative")
    cash_paise = rupees_to_paise(cash, what="--cash")
    if cash_paise <= 0:
        raise ConfigError(f"--cash {cash} must be positive")
    tick = rupees_to_paise(tick_size, what="--tick-size")
    if tick <= 0:
        raise ConfigError(f"--tick-size {tick_size} must be positive")
    charges = backtest_charges(charges_name)
    product_type = backtest_product(product) if product is not None else None
    raw = _params(params)
    cls = resolve_strategy(strategy_name)
    calendar = None if allow_off_session else calendar_for(Exchange.NSE)
    series = []
    for f in data_files:
        if f.startswith("store:"):
            series.extend(_store_bars(f, interval, exchange, frm, to, store, calendar))
        else:
            series.extend(load_bars(f, symbol if len(data_files) == 1 else None, calendar=calendar))
    if adjust_file is not None:
        from algo_trading.adapters.history.adjust import adjust, load_actions

        actions = load_actions(adjust_file)
        series = [adjust(s, actions, tick) for s in series]
    strategy = build_strategy(cls, raw, quantity=quantity, product=product_type)
    saver = _results_saver() if save else None  # an unreachable store or database: stop now
    started_ns = time.time_ns()
    labels = RunLabels(
        charges=charges_label(charges_name, strategy.product),
        charges_off=charges is None,
        sessions="not checked (--allow-off-session)" if calendar is None else _sessions_checked(),
    )
    run = run_backtest(
        strategy,
        series,
        BacktestConfig(
            cash_paise=cash_paise,
            slippage_ticks=slippage_ticks,
            tick_size_paise=tick,
            charges=charges,
        ),
    )
    m = metrics_of(run)
    if out_dir:
        try:
            write_outputs(run, m, Path(out_dir), labels)
        except OSError as exc:  # a path the user gave that cannot hold files is their input
            raise ConfigError(f"--out {out_dir}: cannot write there: {exc.strerror}") from None
    if as_json:
        click.echo(json.dumps(summary(run, m, labels), separators=(",", ":")))
    else:
        click.echo(render_text(run, m, labels))
    if saver is not None:
        config = {
            "strategy": strategy_name,
            "params": raw,
            "data": list(data_files),
            "symbol": symbol,
            "quantity": quantity,
            "cash": cash,
            "slippage_ticks": slippage_ticks,
            "tick_size": tick_size,
            "charges": charges_name,
            "product": strategy.product.value,
            "allow_off_session": allow_off_session,
        }
        charged = getattr(charges, "charged", ())  # each round trip's charge lines
        saved = saver(run, m, labels, config, series, started_ns, charged)
        click.echo(f"saved as {saved.run_id}: {saved.manifest_uri}", err=as_json)


def _results_saver() -> Any:
    """Check the object store and the database once, before the run; return the function that
    saves a finished run (`services.backtest_results.save_backtest` bound to them)."""
    from algo_trading.adapters.storage.sql import Database, SqlUnitOfWork, prepare
    from algo_trading.services.backtest_results import save_backtest
    from algo_trading.services.data_stores import build_object_store
    from algo_trading.services.settings import load_settings

    settings = load_settings()
    store = build_object_store(settings)
    store.check()
    db = Database(settings.database_url.get_secret_value(), pool_size=1)
    prepare(db, migrate=settings.database_migrate_on_start)

    def save(
        run: Any, m: Any, labels: Any, config: Any, series: Any, started_ns: int, charged: Any
    ) -> Any:
        try:
            return save_backtest(
                run,
                m,
                labels,
                config,
                series,
                store=store,
                uow_factory=lambda: SqlUnitOfWork(db),
                started_ns=started_ns,
                finished_ns=time.time_ns(),
                charged=charged,
            )
        finally:
            db.dispose()

    return save


def _store_bars(
    spec: str,
    interval: str,
    exchange: str,
    frm: str | None,
    to: str | None,
    store: str | None,
    calendar: TradingCalendar | None,
) -> list[BarSeries]:
    """`store:SYM[,SYM...]`: each symbol's bars from the history store over [--from, --to]."""
    from algo_trading.adapters.history.from_store import load_from_store
    from algo_trading.adapters.history.store import ParquetBarStore
    from algo_trading.cli.data import store_root
    from algo_trading.services.history_fetch import check_exchange, check_interval, day_bounds_ns

    names = [n.strip() for n in spec.removeprefix("store:").split(",")]
    if not all(names):
        raise ConfigError(f"--data {spec!r}: name the symbols, like store:SBIN-EQ,TCS-EQ")
    check_interval(interval)
    ex = check_exchange(exchange)
    start_ns, end_ns = day_bounds_ns(frm, to)
    bars = ParquetBarStore(store_root(store))
    return load_from_store(bars, ex.value, names, interval, start_ns, end_ns, calendar=calendar)


def _sessions_checked() -> str:
    from algo_trading.domain.instruments import Exchange
    from algo_trading.market.calendar import calendar_for

    cal = calendar_for(Exchange.NSE)
    return (
        f"every bar inside NSE's sessions (holidays from its calendar for {cal.first_day.year}"
        f"-{cal.last_day.year}; weekdays and hours only outside those years)"
    )


@cli.command()
def strategies() -> None:
    """List the built-in strategies and their parameters."""
    from algo_trading.strategy import BUILTIN_STRATEGIES, describe_params

    for name, cls in BUILTIN_STRATEGIES.items():
        doc = (cls.__module__ and sys.modules[cls.__module__].__doc__) or ""
        # the whole first paragraph, wrapped: a description cut at a line end stops mid-sentence
        first = " ".join(doc.strip().split("\n\n")[0].split())
        click.echo(
            textwrap.fill(f"{name}: {first}", width=100, subsequent_indent="  ")
            if first
            else f"{name}:"
        )
        for pname, ptype, default in describe_params(cls.Params):
            click.echo(f"    {pname} ({ptype}, default {default})")


@cli.command("generate-data")
@click.option("--out", "out_file", required=True, help="CSV or Parquet file to write.")
@click.option("--bars", default=100_000, show_default=True, type=int)
@click.option("--symbol", default="SYNTH", show_default=True)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option(
    "--start",
    default="2025-01-01",
    show_default=True,
    help="First day (YYYY-MM-DD); bars fall on NSE's trading days from it.",
)
@click.option(
    "--trend",
    default=0,
    show_default=True,
    type=int,
    help="Drift per bar in ticks in trending stretches (0: a driftless random walk, where no "
    "strategy has an edge to find).",
)
@user_errors
def generate_data(out_file: str, bars: int, symbol: str, seed: int, start: str, trend: int) -> None:
    """Write generated 1-minute bars on the 0.05 tick, inside NSE's sessions (demos, tests)."""
    from algo_trading.backtest import generate_bars, write_bars

    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        raise ConfigError(f"--start {start!r} is not a date (YYYY-MM-DD)") from None
    series = generate_bars(bars, symbol=symbol, seed=seed, start=first, trend_ticks=trend)
    path = write_bars(series, out_file)
    click.echo(f"wrote {bars:,} bars of {symbol} to {path}")


@cli.command()
@click.option("--bars", default=100_000, show_default=True, type=int)
@click.option("--dir", "work_dir", default="var/demo", show_default=True)
@user_errors
def demo(bars: int, work_dir: str) -> None:
    """Generate a year of bars and backtest an intraday SMA crossover on them with Angel One's
    charges and square-off, with a report."""
    from algo_trading.adapters.history import load_bars
    from algo_trading.backtest import (
        BacktestConfig,
        RunLabels,
        build_strategy,
        generate_bars,
        metrics_of,
        render_text,
        run_backtest,
        write_bars,
        write_outputs,
    )
    from algo_trading.backtest.charges import backtest_charges, charges_label
    from algo_trading.domain.instruments import Exchange
    from algo_trading.domain.orders import ProductType
    from algo_trading.market.calendar import calendar_for
    from algo_trading.strategy import BUILTIN_STRATEGIES

    folder = Path(work_dir)
    data = folder / "SYNTH.csv"
    if not data.exists():
        start = dt.date(2025, 1, 1)
        write_bars(generate_bars(bars, symbol="SYNTH", start=start, trend_ticks=0), data)
        click.echo(f"generated {bars:,} one-minute bars (a driftless random walk) in {data}")
    strategy = build_strategy(
        BUILTIN_STRATEGIES["sma_crossover"], {}, quantity=100, product=ProductType.INTRADAY
    )
    charges = backtest_charges("angelone")
    config = BacktestConfig(charges=charges)
    run = run_backtest(strategy, load_bars(data, calendar=calendar_for(Exchange.NSE)), config)
    labels = RunLabels(
        charges=charges_label("angelone", strategy.product),
        charges_off=False,
        sessions=_sessions_checked(),
    )
    click.echo("SMA crossover 10/30, 100 shares, intraday (squared off at 15:15), Angel One")
    click.echo("charges, on generated data: no edge to find, so the charges are the story.\n")
    m = metrics_of(run)
    write_outputs(run, m, folder / "results", labels)
    click.echo(render_text(run, m, labels))
    click.echo(f"\ntrades, orders, fills and the equity curve are in {folder / 'results'}")


def main() -> None:
    # Warnings and errors on stderr as before, now masked and with the libraries held at INFO.
    install_logging(logging.WARNING)
    cli()


if __name__ == "__main__":
    main()
