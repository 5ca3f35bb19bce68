"""The simulator's HTTP server: REST, the feed and the order-status socket on one aiohttp port.

`start()` and `stop()` run on the server's event loop. The synchronous helpers (`advance`,
`force_trade`, `expire_sessions`, `drop_feed`, `set_faults`, `call`) are for another thread, a
test or a demo driver, and hand their work to that loop; state changes only on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.instruments import Exchange
from algo_trading.simulator.config import FaultConfig, SimulatorConfig
from algo_trading.simulator.faults import fault_middleware
from algo_trading.simulator.feed import FeedHub
from algo_trading.simulator.guard import (
    hide_parser_error_version,
    hide_server_version,
    last_resort_middleware,
)
from algo_trading.simulator.order_ws import OrderHub
from algo_trading.simulator.payload import MAX_BODY_BYTES
from algo_trading.simulator.rest import STATE_KEY, auth_routes
from algo_trading.simulator.rest_data import data_routes
from algo_trading.simulator.rest_orders import order_routes
from algo_trading.simulator.state import SimState

__all__ = ["SimulatorServer"]

T = TypeVar("T")
_log = logging.getLogger(__name__)


class SimulatorServer:
    """Angel One SmartAPI over HTTP and WebSocket, backed by a simulated market."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.state = SimState.build(config)
        self.feed = FeedHub()
        self.order_updates = OrderHub()
        self.state.exchange.listeners.append(self.order_updates.on_order)
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.port = config.port

    def _app(self) -> web.Application:
        # The last-resort guard is outermost: a fault or a bug anywhere still gets the envelope.
        app = web.Application(
            middlewares=[last_resort_middleware, fault_middleware], client_max_size=MAX_BODY_BYTES
        )
        app.on_response_prepare.append(hide_server_version)
        app[STATE_KEY] = self.state
        app.add_routes(auth_routes() + order_routes() + data_routes())
        app.router.add_get("/smart-stream", self.feed.handle)
        app.router.add_get("/smart-order-update", self.order_updates.handle)
        return app

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        hide_parser_error_version()
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as exc:  # port in use, address not ours: the operator's to fix
            await self._runner.cleanup()
            self._runner = None
            # asyncio's strerror repeats the address; the errno's own text is the reason.
            why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            raise ConfigError(
                f"cannot listen on {self.config.host}:{self.config.port}: {why}"
            ) from None
        server = site._server  # aiohttp exposes the bound port only here
        if isinstance(server, asyncio.base_events.Server) and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        if self.config.tick_interval_s is not None:
            self._ticker = asyncio.create_task(self._tick_forever(self.config.tick_interval_s))
        _log.info("simulator listening on %s", self.base_url)

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self.feed.close_all()
        await self.order_updates.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/smart-stream"

    @property
    def order_ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/smart-order-update"

    async def _tick_forever(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            await self.advance_async(1)

    async def advance_async(self, ticks: int = 1) -> None:
        """Move the market `ticks` steps: orders match and feed frames go out."""
        for _ in range(ticks):
            await self.feed.publish(self.state, self.state.step())

    async def force_trade_async(self, symbol: str, price_paise: int, qty: int) -> None:
        inst = self.state.master.by_symbol(symbol)
        quote = self.state.force_trade(Exchange(inst.exchange), str(inst.token), price_paise, qty)
        await self.feed.publish(self.state, [quote])

    async def drop_feed_async(self) -> None:
        for conn in list(self.feed.connections):
            await self.feed.drop(conn)

    # --- for other threads (tests, demo drivers) -------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the simulator is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def call(self, fn: Callable[[SimState], T]) -> T:
        """Run `fn(state)` on the server's loop and return its result (reads and tweaks)."""

        async def run() -> T:
            return fn(self.state)

        return self._run(run())

    def advance(self, ticks: int = 1) -> None:
        self._run(self.advance_async(ticks))

    def force_trade(self, symbol: str, price_paise: int, qty: int) -> None:
        """Make `symbol` trade `qty` at `price_paise` now, matching orders and feeding frames."""
        self._run(self.force_trade_async(symbol, price_paise, qty))

    def expire_sessions(self) -> None:
        self.call(lambda state: state.auth.expire_all())

    def drop_feed(self) -> None:
        self._run(self.drop_feed_async())

    def set_faults(self, faults: FaultConfig) -> None:
        self.call(lambda state: state.set_faults(faults))
