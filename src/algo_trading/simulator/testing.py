"""Run a simulator for a test: its own event loop in a background thread, a free port."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.server import SimulatorServer

__all__ = ["running_simulator"]


@contextmanager
def running_simulator(config: SimulatorConfig | None = None) -> Iterator[SimulatorServer]:
    """Start a simulator on 127.0.0.1 and a free port; stop it and its loop on exit."""
    config = dataclasses.replace(config or SimulatorConfig(), host="127.0.0.1", port=0)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="simulator", daemon=True)
    thread.start()
    server = SimulatorServer(config)
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=30)
        yield server
    finally:
        try:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
