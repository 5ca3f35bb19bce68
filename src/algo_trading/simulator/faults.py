"""Fault injection on the REST side: latency, 5xx answers and sporadic rate-limit answers.

The faults in force are read on every request, so a test can change them on a running server
(`SimulatorServer.set_faults`). Session expiry lives in auth.py and dropped feed connections in
feed.py; both read the same FaultConfig.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from algo_trading.simulator.rest import STATE_KEY, rate_limited

__all__ = ["fault_middleware"]

_UNTOUCHED = ("/OpenAPI_File/", "/smart-stream", "/smart-order-update")


@web.middleware
async def fault_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith(_UNTOUCHED):
        return await handler(request)
    state = request.app[STATE_KEY]
    faults = state.faults
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    if faults.rate_limit_rate and state.rng.random() < faults.rate_limit_rate:
        return rate_limited()
    if faults.error_rate and state.rng.random() < faults.error_rate:
        return web.Response(status=faults.error_status, text="Internal Server Error")
    return await handler(request)
