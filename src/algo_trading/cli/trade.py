"""`algo-trading trade --config FILE [--live] [--check]`: the trading service's command (issue
#10, item 2).

Today it reads and checks everything the service would need at start - the settings, the config
file, the live confirmation and the presence of Angel One's credentials - and stops there: the
service itself (bootstrap, feed, order flow) is not built yet, and this command says so rather
than pretending to trade. Exit codes:
  0  --check, and everything is valid
  2  bad input: the settings, the config file or the live confirmation (one `error:` line)
  3  everything is valid, but the trading service is not available yet; nothing was started
     (a code of its own, so that a script or a container can tell "fix your config" from
     "this build cannot trade yet")
"""

from __future__ import annotations

import datetime as dt
import os
import sys

import click

from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.events import IST

__all__ = ["NOT_AVAILABLE_EXIT_CODE", "trade_command"]

NOT_AVAILABLE_EXIT_CODE = 3


class _OneLineCommand(click.Command):
    """Usage errors are one `error:` line and exit code 2, like every other user error."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(2)


@click.command("trade", cls=_OneLineCommand)
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
    """Run strategies in paper or live trading (the service is not wired yet: validates only)."""
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
    click.echo(
        "error: the trading service is not implemented yet (issue #10): the config is valid, "
        "but nothing was started, connected or sent; use --check to validate only",
        err=True,
    )
    sys.exit(NOT_AVAILABLE_EXIT_CODE)
