"""`algo-trading simulator`: serve the Angel One SmartAPI simulator until interrupted (issue #5).

The credentials are printed at start on purpose: they are the simulator's demo values (or the
ones the operator chose for it), never a real account's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import click

from algo_trading.simulator import SimulatorConfig, SimulatorServer
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
)

__all__ = ["simulator_command"]


async def _serve(config: SimulatorConfig) -> None:
    server = SimulatorServer(config)
    await server.start()
    click.echo(f"REST        {server.base_url}")
    click.echo(f"feed        {server.ws_url}")
    click.echo(f"order WS    {server.order_ws_url}")
    click.echo(f"scrip master {server.base_url}/OpenAPI_File/files/OpenAPIScripMaster.json")
    click.echo(
        f"credentials api key {config.api_key}  client code {config.client_code}  "
        f"MPIN {config.mpin}  TOTP secret {config.totp_secret}"
    )
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
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
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(config))
