"""`algo-trading simulator`: serve the Angel One SmartAPI simulator until interrupted (issue #5).

The demo credentials are printed at start on purpose, so that a newcomer can log in. A value the
operator chose instead is printed masked (issue #15, 5): the banner goes to terminals and logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys

import click

from algo_trading.cli.errors import OneLineCommand
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.simulator import SimulatorConfig, SimulatorServer
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
)

__all__ = ["simulator_command"]


_DEMO = {
    "api_key": DEMO_API_KEY,
    "client_code": DEMO_CLIENT_CODE,
    "mpin": DEMO_MPIN,
    "totp_secret": DEMO_TOTP_SECRET,
}


def shown(field: str, value: str) -> str:
    """A credential for the banner: the published demo value as it is, any other masked.

    A long value keeps its last four characters so that an operator can tell two keys apart;
    a short one (an MPIN, a client code) shows nothing but its mask."""
    if value == _DEMO[field]:
        return value
    return f"****{value[-4:]}" if len(value) >= 16 else "****"


def banner(server: SimulatorServer) -> list[str]:
    config = server.config
    return [
        f"REST        {server.base_url}",
        f"feed        {server.ws_url}",
        f"order WS    {server.order_ws_url}",
        f"scrip master {server.base_url}/OpenAPI_File/files/OpenAPIScripMaster.json",
        f"credentials api key {shown('api_key', config.api_key)}  "
        f"client code {shown('client_code', config.client_code)}  "
        f"MPIN {shown('mpin', config.mpin)}  "
        f"TOTP secret {shown('totp_secret', config.totp_secret)}",
    ]


async def _serve(config: SimulatorConfig) -> None:
    server = SimulatorServer(config)
    await server.start()
    for line in banner(server):
        click.echo(line)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # either one stops it cleanly, exit code 0
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        click.echo("simulator stopped")


@click.command("simulator", cls=OneLineCommand)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0: any free port.",
)
@click.option("--api-key", envvar="ALGO_SIM_API_KEY", default=DEMO_API_KEY, show_default=True)
@click.option(
    "--client-code", envvar="ALGO_SIM_CLIENT_CODE", default=DEMO_CLIENT_CODE, show_default=True
)
@click.option("--mpin", envvar="ALGO_SIM_MPIN", default=DEMO_MPIN, show_default=True)
@click.option(
    "--totp-secret", envvar="ALGO_SIM_TOTP_SECRET", default=DEMO_TOTP_SECRET, show_default=True
)
@click.option("--always-open", is_flag=True, help="Trade at any hour (tests, demos).")
@click.option(
    "--replay-day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run this trading day from its open instead of real time.",
)
@click.option("--replay-speed", default=60.0, show_default=True, help="Simulated s per real s.")
@click.option("--tick-interval", default=1.0, show_default=True, help="Real seconds per tick.")
@click.option("--seed", default=5, show_default=True, type=int)
def simulator_command(
    host: str,
    port: int,
    api_key: str,
    client_code: str,
    mpin: str,
    totp_secret: str,
    always_open: bool,
    replay_day: dt.datetime | None,
    replay_speed: float,
    tick_interval: float,
    seed: int,
) -> None:
    """Serve Angel One's SmartAPI (REST, feed, order updates) over a simulated NSE market."""
    try:
        config = SimulatorConfig(
            host=host,
            port=port,
            api_key=api_key,
            client_code=client_code,
            mpin=mpin,
            totp_secret=totp_secret,
            always_open=always_open,
            replay_day=replay_day.date() if replay_day else None,
            replay_speed=replay_speed,
            tick_interval_s=tick_interval,
            seed=seed,
        )
    except ValueError as exc:  # SimulatorConfig refuses a value: a user error, not a bug
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(config))
    except AlgoTradingError as exc:  # --replay-day on a holiday, a port in use
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
