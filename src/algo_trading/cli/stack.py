"""`algo-trading run`: the local stack in one terminal, on the embedded defaults (issue #10,
item 11): the Angel One simulator (always open unless told otherwise), the trading service
in paper mode with two demo strategies on a few NIFTY 50 stocks, the data service capturing
their ticks, and the dashboard, all on SQLite and the local object store under ./var. It
prints each address, the demo credentials and logins and where the logs are; Ctrl-C (or
SIGTERM) stops everything cleanly, exit code 0. `make run` calls it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType

import click

from algo_trading.cli.errors import OneLineCommand
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


@click.command("run", cls=OneLineCommand)
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
@click.option(
    "--dashboard-port",
    default=8501,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="The dashboard's port (0: any free port).",
)
@click.option(
    "--data-port",
    default=9181,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="The data service's /healthz, /readyz and /metrics port (0: any free port).",
)
@click.option("--no-dashboard", is_flag=True, help="Leave the dashboard out.")
@click.option("--no-data-service", is_flag=True, help="Leave the data service out.")
def run_command(
    port: int,
    market_hours: bool,
    config_file: str | None,
    dashboard_port: int,
    data_port: int,
    no_dashboard: bool,
    no_data_service: bool,
) -> None:
    """Start the simulator, the trading service (paper, two demo strategies), the data service
    and the dashboard until Ctrl-C."""
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
        children = _companions(
            server.base_url,
            config,
            data_dir,
            dashboard_port=None if no_dashboard else dashboard_port or _free_port(),
            data_port=None if no_data_service else data_port or _free_port(),
        )
        # Stop on Ctrl-C or SIGTERM; run_service installs the same handlers while it runs.
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            code = run_service(settings, config)
        except KeyboardInterrupt:  # before the service took the signals over
            code = 0
        finally:
            signal.signal(signal.SIGTERM, previous)
            _stop(children)
    finally:
        sim.stop()
    click.echo("simulator stopped")
    sys.exit(code)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _companions(
    broker_url: str,
    config: object,
    data_dir: Path,
    *,
    dashboard_port: int | None,
    data_port: int | None,
) -> list[tuple[str, subprocess.Popen[bytes]]]:
    """The dashboard and the data service as child processes on the same settings (the
    database and the object store under the data folder), each logging to var/logs/."""
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["ALGO_DATA_DIR"] = str(data_dir)
    env["ALGO_BROKER_URL"] = broker_url
    env.pop("ALGO_HEALTH_PORT", None)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    command = [sys.executable, "-m", "algo_trading.cli.main"]
    if data_port is not None:
        symbols = sorted(
            {f"{i.exchange.value}:{i.symbol}" for sc in config.strategies for i in sc.instruments}  # type: ignore[attr-defined]
        )
        data_env = {
            **env,
            "ALGO_DATA_HEALTH_PORT": str(data_port),
            "ALGO_CAPTURE_INSTRUMENTS": ",".join(symbols),
            "ALGO_LOG_DIR": str(logs),
        }
        children.append(("data service", _spawn([*command, "data-service"], data_env, logs)))
        click.echo("data service (live capture, history top-up, reports):")
        click.echo(f"  health      http://127.0.0.1:{data_port}/healthz  .../readyz  .../metrics")
        click.echo(f"  captures    {', '.join(symbols)} into {data_dir / 'objects'}")
        click.echo(f"  logs        {logs / 'data-service.log'}")
    if dashboard_port is not None:
        args = [*command, "dashboard", "--host", "127.0.0.1", "--port", str(dashboard_port)]
        children.append(("dashboard", _spawn(args, env, logs)))
        click.echo("dashboard:")
        click.echo(f"  address     http://127.0.0.1:{dashboard_port}")
        click.echo("  logins      demo / demo-password (trader), viewer / demo-password (viewer)")
        click.echo(f"  logs        {logs / 'dashboard.log'}")
    return children


def _spawn(args: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    name = "dashboard" if "dashboard" in args else "data-service"
    with (logs / f"{name}.log").open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own command, no shell
            args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _stop(children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _name, child in children:
        if child.poll() is None:
            child.terminate()
    for name, child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        click.echo(f"{name} stopped")


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
