"""`algo-trading trade --config FILE [--live] [--check]`: the trading service's command (issue
#10, item 2), and the container's entry point.

It reads and checks everything the service needs at start - the settings, the config file, the
live confirmation and the presence of Angel One's credentials - then builds the service
(`services.bootstrap`) and runs it until Ctrl-C or SIGTERM, which drain it and exit 0. Exit codes:
  0  --check and everything is valid; or the service ran and was stopped by a signal
  2  bad input: the settings, the config file, the live confirmation, or something the config
     names that cannot be reached at start (the database, the broker's login): one `error:` line
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from algo_trading.cli.errors import OneLineCommand
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.events import IST

__all__ = ["run_service", "trade_command"]


@click.command("trade", cls=OneLineCommand)
@click.option(
    "--config",
    "config_file",
    required=True,
    metavar="FILE",
    help="The trade config (TOML); see examples/paper.toml.",
)
@click.option(
    "--live",
    is_flag=True,
    help='Confirm live trading for a config with mode = "live" (or ALGO_LIVE_CONFIRM=yes).',
)
@click.option(
    "--check",
    is_flag=True,
    help="Validate the settings and the config, print what was validated, and exit 0.",
)
def trade_command(config_file: str, live: bool, check: bool) -> None:
    """Run strategies in paper or live trading until Ctrl-C or SIGTERM."""
    from algo_trading.services.live_gate import check_live, secret_store_for
    from algo_trading.services.settings import load_settings
    from algo_trading.services.trade_config import load_trade_config

    try:
        settings = load_settings()
        # The IST trading day picks the session times (and the simulator's contracts) to check.
        today = dt.datetime.now(IST).date()
        config = load_trade_config(config_file, today=today, settings=settings)
        check_live(
            config,
            live_flag=live,
            settings=settings,
            secrets=secret_store_for(settings, os.environ),
        )
    except AlgoTradingError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(config.summary())
    if check:
        return
    sys.exit(run_service(settings, config))


def run_service(settings: object, config: object) -> int:
    """Build and run the service on this thread; SIGINT and SIGTERM stop it cleanly. The exit
    code: 0 after a clean stop, 2 when it could not start (one `error:` line)."""
    from algo_trading.adapters.logs import install_logging
    from algo_trading.services.bootstrap import build_trading_service, default_plugins
    from algo_trading.services.settings import Settings
    from algo_trading.services.trade_config import TradeConfig

    assert isinstance(settings, Settings)  # noqa: S101 - typed loosely to keep imports lazy
    assert isinstance(config, TradeConfig)  # noqa: S101
    stream = None
    if settings.log_file:
        path = Path(settings.log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = path.open("a", encoding="utf-8")
    install_logging(as_json=settings.log_format == "json", stream=stream)
    try:
        service = build_trading_service(settings, config, default_plugins(settings, config))
    except AlgoTradingError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2

    def stop(signum: int, _frame: FrameType | None) -> None:
        service.stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.run()
    except AlgoTradingError as exc:  # the health port taken, the broker gone at start
        click.echo(f"error: {exc}", err=True)
        return 2
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if stream is not None:
            stream.close()
    click.echo("trading service stopped")
    return 0
