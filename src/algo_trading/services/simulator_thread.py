"""The Angel One simulator on a thread of this process: the `inprocess` broker kind and the
local stack (`algo-trading run`) start it here, and stop it when they stop."""

from __future__ import annotations

import asyncio
import threading

from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.server import SimulatorServer

__all__ = ["SimulatorThread"]


class SimulatorThread:
    """A SimulatorServer with its own event loop on a daemon thread."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.server: SimulatorServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 30.0) -> SimulatorServer:
        """Listen (ConfigError when the port is taken) and return the running server."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="simulator", daemon=True)
        thread.start()
        server = SimulatorServer(self.config)
        try:
            asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=timeout_s)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout_s)
            loop.close()
            raise
        self.server, self._loop, self._thread = server, loop, thread
        return server

    def stop(self, timeout_s: float = 30.0) -> None:
        server, loop, thread = self.server, self._loop, self._thread
        self.server = self._loop = self._thread = None
        if server is None or loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=timeout_s)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout_s)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
