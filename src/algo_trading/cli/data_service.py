"""`algo-trading data-service`: run the data service until SIGTERM or SIGINT, or `--check` the
settings, the database, the cache and the object store and exit.

Exit codes: 0 stopped cleanly (or every check passed); 2 bad input or, with `--check`, a
store that cannot be reached (one `error:` line naming it). Without `--check` an unreachable
Redis or bucket is a logged error and the service runs degraded (see /readyz).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click

from algo_trading.cli.errors import user_errors

__all__ = ["data_service_command"]


@click.command("data-service")
@click.option(
    "--check",
    is_flag=True,
    help="Check the settings, the database, the cache (ALGO_REDIS_URL) and the object store "
    "(ALGO_S3_BUCKET or ALGO_OBJECTS_DIR), print what was checked, and exit.",
)
@user_errors
def data_service_command(check: bool) -> None:
    """Live capture, the instrument master, history top-up and nightly archives, with
    /healthz, /readyz and /metrics on ALGO_DATA_HEALTH_PORT (default 9181)."""
    from algo_trading.adapters.logs import install_logging
    from algo_trading.services.clock import WallClock
    from algo_trading.services.data_service import build_data_service
    from algo_trading.services.data_stores import check_cache
    from algo_trading.services.history_fetch import StoreTopUp
    from algo_trading.services.settings import load_settings

    settings = load_settings()
    clock = WallClock()
    # the after-close job tops up every series `algo-trading data fetch` has stored
    topup = StoreTopUp(settings, environ=os.environ, clock=clock)
    service = build_data_service(settings, clock=clock, history=topup)
    if check:
        check_cache(service.cache)
        service.store.check()
        click.echo(f"cache: {getattr(service.cache, 'description', 'in-process')}: ok")
        click.echo(f"object store: {service.store!r}: ok")
        capture = service.capture
        click.echo(
            f"capture: {len(capture.targets)} instruments"
            if capture is not None
            else f"capture: {service.capture_error or 'no instruments configured'}"
        )
        return
    install_logging(logging.INFO, as_json=True)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    service.start()
    click.echo(f"data service: health on {service.server.url}", err=True)
    try:
        service.run(stop)
    finally:
        service.stop()
