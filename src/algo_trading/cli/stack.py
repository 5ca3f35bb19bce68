"""`algo-trading run`: the local stack in one terminal, on the embedded defaults (issue #10,
item 11): the Angel One simulator (always open unless told otherwise) and the trading service
in paper mode with two demo strategies on a few NIFTY 50 stocks, on SQLite under ./var. It
prints each address, the demo credentials and where the logs are; Ctrl-C (or SIGTERM) stops
everything cleanly, exit code 0. `make run` calls it.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.events import IST

__all__ = ["DEMO_CONFIG", "run_command"]

DEMO_CONFIG = """\
# The demo of `algo-trading run` (written by it): paper trading against the simulator it starts.
mode = "paper"

[broker]
kind = "simulator"
url = "http://127.0.0.1:{port}"

[[strategies]]
id = "demo-sma-banks"
strategy = "sma_crossover"
symbols = ["SBIN-EQ", "HDFCBANK-EQ", "ICICIBANK-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 1
interval = "1m"
params = {{ fast = 5, slow = 20, allow_short = true }}

[[strategies]]
id = "demo-ema-it"
strategy = "ema_crossover"
symbols = ["INFY-EQ", "TCS-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 1
interval = "1m"
params = {{ fast = 5, slow = 13 }}

[risk]
max_daily_loss_rupees = 5000
max_order_quantity = 100
"""


class _OneLineCommand(click.Command):
    """Usage errors are one `error:` line and exit code 2, like every other user error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(2)


@click.command("run", cls=_OneLineCommand)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="The simulator's port (0: any free port).",
)
@click.option(
    "--market-hours",
    is_flag=True,
    help="Follow the NSE calendar (sessions, holidays, square-off) instead of always open.",
)
@click.option(
    "--config",
    "config_file",
    default=None,
    metavar="FILE",
    help="A trade config to run instead of the demo (its broker must be this simulator).",
)
def run_command(port: int, market_hours: bool, config_file: str | None) -> None:
    """Start the simulator and the trading service (paper, two demo strategies) until Ctrl-C."""
    from algo_trading.cli.simulator import banner
    from algo_trading.cli.trade import run_service
    from algo_trading.services.settings import load_settings
    from algo_trading.services.simulator_thread import SimulatorThread
    from algo_trading.services.trade_config import load_trade_config
    from algo_trading.simulator.config import SimulatorConfig

    try:
        settings = load_settings()
    except AlgoTradingError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    data_dir = settings.data_dir
    log_file = settings.log_file or str(data_dir / "logs" / "trading.log")
    updates: dict[str, object] = {"log_file": log_file}
    if not settings.is_set("market_always_open"):
        updates["market_always_open"] = not market_hours
    settings = settings.model_copy(update=updates)

    sim = SimulatorThread(SimulatorConfig(port=port, always_open=settings.market_always_open))
    try:
        server = sim.start()
    except AlgoTradingError as exc:
        click.echo(f"error: simulator: {exc}", err=True)
        sys.exit(2)
    try:
        path = Path(config_file) if config_file else data_dir / "demo.toml"
        if config_file is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(DEMO_CONFIG.format(port=server.port), encoding="utf-8")
        settings = settings.model_copy(update={"broker_url": server.base_url})
        try:
            today = dt.datetime.now(IST).date()
            config = load_trade_config(path, today=today, settings=settings)
        except AlgoTradingError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        _print_banner(banner(server), settings, path, log_file)
        # Stop on Ctrl-C or SIGTERM; run_service installs the same handlers while it runs.
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            code = run_service(settings, config)
        except KeyboardInterrupt:  # before the service took the signals over
            code = 0
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        sim.stop()
    click.echo("simulator stopped")
    sys.exit(code)


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _print_banner(lines: list[str], settings: object, config: Path, log_file: str) -> None:
    from algo_trading.adapters.storage.sql import describe_url, parse_database_url
    from algo_trading.services.settings import Settings

    assert isinstance(settings, Settings)  # noqa: S101 - typed loosely to keep imports lazy
    host, port = settings.health_host, settings.health_port
    database = describe_url(parse_database_url(settings.database_url.get_secret_value()))
    click.echo("algo-trading local stack (Ctrl-C stops everything)")
    click.echo("simulator (Angel One SmartAPI):")
    for line in lines:
        click.echo(f"  {line}")
    click.echo("trading service (paper):")
    click.echo(f"  config      {config}")
    click.echo(f"  health      http://{host}:{port}/healthz  http://{host}:{port}/readyz")
    click.echo(f"  metrics     http://{host}:{port}/metrics")
    click.echo(f"  database    {database}")
    click.echo(f"  logs        {log_file} (JSON lines)")
    hours = "always open" if settings.market_always_open else "NSE sessions and holidays"
    click.echo(f"  market      {hours}")
