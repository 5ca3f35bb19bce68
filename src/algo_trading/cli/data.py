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
    from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
    from algo_trading.adapters.history.store import ParquetBarStore
    from algo_trading.domain.events import IST
    from algo_trading.services import history_fetch as hf
    from algo_trading.services.alerts import WallClock
    from algo_trading.services.live_gate import secret_store_for
    from algo_trading.services.settings import load_settings

    names = _symbols(symbols)
    ex = hf.check_exchange(exchange)
    hf.check_interval(interval)
    now = dt.datetime.now(IST)
    start, end = hf.fetch_range(frm, to, now)
    settings = load_settings()
    kind = broker or settings.broker_kind
    if kind == "inprocess":
        kind = "simulator"
    config = hf.broker_config(kind, broker_url or settings.broker_url)
    root = Path(store) if store else store_root(None)
    creds = hf.credentials_for(kind, lambda: secret_store_for(settings, os.environ))
    clock = WallClock()
    http, session = hf.session_for(config, creds, clock)
    with http:
        master = hf.open_master(http, Path(settings.data_dir) / "instruments" / kind, now.date())
        instruments = hf.resolve_instruments(master, names, ex)
        bars_store = ParquetBarStore(root)
        plan = hf.plan_fetch(bars_store, instruments, interval, start, end, force=force)
        if plan.chunks == 0:
            click.echo("nothing to fetch: every asked span is stored already (--force asks again)")
            return
        show = sys.stderr.isatty() if progress is None else progress
        added = _run(AngelOneMarketData(session), bars_store, plan, clock, show)
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
