"""`algo-trading data fetch|list|validate|import`: the history store from the command line
(issue #11, item 2). Thin: parse, call the history adapter and the fetch service, print."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from algo_trading.cli.errors import one_line, user_errors
from algo_trading.domain.errors import ConfigError

if TYPE_CHECKING:
    from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
    from algo_trading.adapters.history.store import ParquetBarStore
    from algo_trading.engine.ports import BarKey, Clock
    from algo_trading.market.instruments import InstrumentMaster
    from algo_trading.services.history_fetch import FetchPlan, SymbolPlan

__all__ = ["data_group", "store_root"]


class _OneLine(click.Command):
    """Usage errors are one `error:` line and exit code 2, like every other user error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            click.echo(f"error: {one_line(exc.format_message())}", err=True)
            sys.exit(2)


def store_root(store: str | None) -> Path:
    """--store, or the settings' data folder's `market-data/historical` (the object store's
    layout, DESIGN.md)."""
    if store:
        return Path(store)
    from algo_trading.services.settings import load_settings

    return Path(load_settings().data_dir) / "market-data" / "historical"


_STORE_HELP = "The history store's folder (default: $ALGO_DATA_DIR/market-data/historical)."


@click.group("data")
def data_group() -> None:
    """Download, import, list and check stored candles (the history store)."""


def _symbols(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",")]
    if not all(names):
        raise ConfigError(f"--symbol {text!r}: an empty name in the list")
    if len(set(names)) != len(names):
        raise ConfigError(f"--symbol {text!r}: a symbol is named twice")
    return names


@data_group.command("fetch", cls=_OneLine)
@click.option("--symbol", "symbols", required=True, help="SYM[,SYM...] trading symbols.")
@click.option("--exchange", default="NSE", show_default=True)
@click.option("--interval", default="ONE_MINUTE", show_default=True, help="Angel One's name.")
@click.option("--from", "frm", required=True, help="First day (YYYY-MM-DD, IST) or minute.")
@click.option("--to", "to", required=True, help="Last day (inclusive) or minute.")
@click.option(
    "--broker",
    default=None,
    help="simulator (its demo login) or angelone (credentials from the secret store); "
    "default: ALGO_BROKER_KIND.",
)
@click.option("--broker-url", default=None, help="The simulator's address (ALGO_BROKER_URL).")
@click.option("--store", default=None, help=_STORE_HELP)
@click.option("--force", is_flag=True, help="Ask again for spans already fetched.")
@click.option(
    "--progress/--no-progress", default=None, help="A progress bar (default: on a terminal)."
)
@user_errors
def fetch(
    symbols: str,
    exchange: str,
    interval: str,
    frm: str,
    to: str,
    broker: str | None,
    broker_url: str | None,
    store: str | None,
    force: bool,
    progress: bool | None,
) -> None:
    """Download candles from the broker into the store; resumable and idempotent."""
    from algo_trading.adapters.history.store import ParquetBarStore
    from algo_trading.domain.events import IST
    from algo_trading.services import history_fetch as hf
    from algo_trading.services.clock import WallClock
    from algo_trading.services.settings import load_settings

    names = _symbols(symbols)
    ex = hf.check_exchange(exchange)
    hf.check_interval(interval)
    now = dt.datetime.now(IST)
    start, end = hf.fetch_range(frm, to, now)
    settings = load_settings()
    root = Path(store) if store else store_root(None)
    clock = WallClock()
    with hf.open_broker(
        settings,
        broker=broker,
        broker_url=broker_url,
        environ=os.environ,
        clock=clock,
        today=now.date(),
    ) as remote:
        instruments = hf.resolve_instruments(remote.master, names, ex)
        bars_store = ParquetBarStore(root)
        plan = hf.plan_fetch(bars_store, instruments, interval, start, end, force=force)
        if plan.chunks == 0:
            click.echo("nothing to fetch: every asked span is stored already (--force asks again)")
            return
        show = sys.stderr.isatty() if progress is None else progress
        added = _run(remote.market, bars_store, plan, clock, show)
    for key, new in added.items():
        click.echo(f"{key}: {new:,} new bars")
    click.echo(f"stored in {root}")


def _run(
    market: AngelOneMarketData,
    store: ParquetBarStore,
    plan: FetchPlan,
    clock: Clock,
    show: bool,
) -> dict[BarKey, int]:
    """Run the plan with a progress bar (symbols, chunks, ETA) or one line per symbol."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from algo_trading.services.history_fetch import run_fetch

    n = len(plan.symbols)
    index = {s.key: i for i, s in enumerate(plan.symbols)}
    if not show:

        def line(sym: SymbolPlan, i: int, new: int) -> None:
            if i == len(sym.chunks) - 1:
                click.echo(
                    f"[{index[sym.key] + 1}/{n}] {sym.key.symbol}: {len(sym.chunks)} requests"
                )

        return run_fetch(market, store, plan, now_ns=clock.now_ns(), on_chunk=line)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(f"symbol 1/{n} {plan.symbols[0].key.symbol}", total=plan.chunks)

        def tick(sym: SymbolPlan, i: int, new: int) -> None:
            k = index[sym.key]
            nxt = k + 1 if i == len(sym.chunks) - 1 and k + 1 < n else k
            desc = f"symbol {nxt + 1}/{n} {plan.symbols[nxt].key.symbol}"
            bar.update(task, advance=1, description=desc)

        return run_fetch(market, store, plan, now_ns=clock.now_ns(), on_chunk=tick)


@data_group.command("list", cls=_OneLine)
@click.option("--store", default=None, help=_STORE_HELP)
@user_errors
def list_command(store: str | None) -> None:
    """What the store holds: each series with its first and last bar, bars and years."""
    from algo_trading.adapters.history.store import ParquetBarStore
    from algo_trading.domain.events import ns_to_ist

    root = store_root(store)
    rows = ParquetBarStore(root).series()
    if not rows:
        click.echo(f"the history store {root} is empty")
        return
    click.echo(f"{'series':<40} {'first bar (IST)':<17} {'last bar (IST)':<17} {'bars':>11}  years")
    for s in rows:
        first = ns_to_ist(s.first_ns).strftime("%Y-%m-%d %H:%M")
        last = ns_to_ist(s.last_ns).strftime("%Y-%m-%d %H:%M")
        years = ",".join(str(y) for y in s.years)
        click.echo(f"{one_line(str(s.key)):<40} {first:<17} {last:<17} {s.bars:>11,}  {years}")
        for a, b in s.fetched:
            span = f"{ns_to_ist(a):%Y-%m-%d %H:%M} to {ns_to_ist(b):%Y-%m-%d %H:%M}"
            click.echo(f"{'':<4}fetched whole from the broker: {span}")


@data_group.command("validate", cls=_OneLine)
@click.option("--symbol", "symbols", default=None, help="SYM[,SYM...] (default: every series).")
@click.option("--exchange", default=None, help="Only this exchange.")
@click.option("--interval", default=None, help="Only this interval.")
@click.option(
    "--tick-size",
    default=None,
    help="Tick in rupees for every series, instead of each symbol's tick from the instrument "
    "master (also the tick of a symbol the master lacks; default 0.05).",
)
@click.option(
    "--master",
    "master_file",
    default=None,
    help="Instrument master (Angel One's OpenAPIScripMaster.json) for the tick sizes (default: "
    "the newest one `data fetch` cached under $ALGO_DATA_DIR/instruments, else the NIFTY 50 "
    "reference list the simulator ships).",
)
@click.option("--store", default=None, help=_STORE_HELP)
@user_errors
def validate_command(
    symbols: str | None,
    exchange: str | None,
    interval: str | None,
    tick_size: str | None,
    master_file: str | None,
    store: str | None,
) -> None:
    """Report gaps against the trading calendar, duplicates and impossible bars.
    Exit code 0: clean; 1: problems found; 2: bad input."""
    from algo_trading.adapters.history.store import ParquetBarStore
    from algo_trading.adapters.history.validate import tick_size_for, validate_series
    from algo_trading.domain.instruments import Exchange
    from algo_trading.domain.money import rupees_to_paise
    from algo_trading.market.calendar import calendar_for
    from algo_trading.services.history_fetch import check_exchange, check_interval

    override: int | None = None
    if tick_size is not None:
        override = rupees_to_paise(tick_size, what="--tick-size")
        if override <= 0:
            raise ConfigError(f"--tick-size {tick_size} must be positive")
    root = store_root(store)
    bars = ParquetBarStore(root)
    keys = bars.stored_keys()
    if symbols is not None:
        wanted = _symbols(symbols)
        unknown = [s for s in wanted if s not in {k.symbol for k in keys}]
        if unknown:
            raise ConfigError(
                f"--symbol {unknown[0]!r}: the history store {root} has no such series"
            )
        keys = [k for k in keys if k.symbol in wanted]
    if exchange is not None:
        ex = check_exchange(exchange).value
        keys = [k for k in keys if k.exchange == ex]
    if interval is not None:
        keys = [k for k in keys if k.interval == check_interval(interval)]
    if not keys:
        click.echo(f"nothing to validate in {root}")
        return
    master, master_name = (None, "") if override is not None else _tick_master(master_file)
    if master is not None:
        click.echo(f"tick sizes: {one_line(master_name)}")
    problems = 0
    for key in keys:
        try:
            calendar = calendar_for(Exchange(key.exchange))
        except (ValueError, KeyError):
            calendar = None
        tick = tick_size_for(key, master, master_name=master_name, override_paise=override)
        report = validate_series(bars, key, calendar, tick.paise)
        verdict = "ok" if report.ok else f"{len(report.findings)} finding(s)"
        click.echo(
            f"{one_line(str(key))}: {report.bars:,} bars: {verdict} ({one_line(tick.describe())})"
        )
        for finding in report.findings:
            click.echo(f"    {finding.kind}: {one_line(finding.text)}")
        for note in report.notes:
            click.echo(f"    note: {one_line(note)}")
        problems += 0 if report.ok else 1
    if problems:
        click.echo(f"{problems} of {len(keys)} series have problems")
        sys.exit(1)


def _tick_master(path: str | None) -> tuple[InstrumentMaster, str]:
    """The instrument master `data validate` takes tick sizes from, and its name: --master,
    else the newest master `data fetch` cached, else the simulator's (the NIFTY 50 list)."""
    from algo_trading.adapters.instruments.master import load_scrip_master

    if path is not None:
        return load_scrip_master(path), f"the instrument master {path}"
    from algo_trading.services.settings import load_settings

    folder = Path(load_settings().data_dir) / "instruments"
    cached = sorted(folder.rglob("OpenAPIScripMaster-*.json"), key=lambda p: (p.name, str(p)))
    if cached:
        return load_scrip_master(cached[-1]), f"the instrument master {cached[-1]}"
    from algo_trading.domain.events import ns_to_ist
    from algo_trading.services.clock import WallClock
    from algo_trading.simulator.scripmaster import build_records, build_scrip_master

    today = ns_to_ist(WallClock().now_ns()).date()  # the simulator's derivatives of today
    return (
        build_scrip_master(build_records(today)),
        "the NIFTY 50 reference list (the simulator's master)",
    )


@data_group.command("import", cls=_OneLine)
@click.argument("file")
@click.option(
    "--symbol",
    default=None,
    help="Symbol of the bars (default: a symbol column, or the file name).",
)
@click.option("--exchange", default="NSE", show_default=True)
@click.option("--interval", default="ONE_MINUTE", show_default=True, help="Angel One's name.")
@click.option(
    "--tz", default=None, help="Zone of times written without an offset, like Asia/Kolkata."
)
@click.option(
    "--allow-off-session",
    is_flag=True,
    help="Accept bars outside the exchange's sessions (refused by default).",
)
@click.option("--store", default=None, help=_STORE_HELP)
@user_errors
def import_command(
    file: str,
    symbol: str | None,
    exchange: str,
    interval: str,
    tz: str | None,
    allow_off_session: bool,
    store: str | None,
) -> None:
    """Import a CSV of candles (broker export shapes: any case, date/datetime/timestamp)."""
    from algo_trading.adapters.history.imports import import_csv
    from algo_trading.adapters.history.store import ParquetBarStore
    from algo_trading.adapters.history.validate import off_grid
    from algo_trading.domain.events import ns_to_ist
    from algo_trading.engine.ports import BarKey
    from algo_trading.market.calendar import calendar_for
    from algo_trading.services.history_fetch import check_exchange, check_interval

    check_interval(interval)
    ex = check_exchange(exchange)
    try:
        calendar = None if allow_off_session else calendar_for(ex)
    except KeyError:
        calendar = None
    series = import_csv(file, symbol=symbol, tz=tz, calendar=calendar)
    for s in series:  # every check before the first write: a bad file stores nothing
        grid = off_grid(s.ts_ns, interval, calendar)
        if grid.any():
            i = int(grid.argmax())
            raise ConfigError(
                f"{file}: {s.symbol} bar at {ns_to_ist(int(s.ts_ns[i])).isoformat()} is not on "
                f"the {interval} grid; is --interval right?"
            )
    bars = ParquetBarStore(store_root(store))
    for s in series:
        new = bars.write(BarKey(ex.value, s.symbol, interval), s)
        click.echo(f"{ex.value}:{one_line(s.symbol)}:{interval}: {len(s):,} bars read, {new:,} new")
