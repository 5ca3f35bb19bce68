"""The last line of defence of the HTTP server: no HTTP 500, no version in the `Server` header.

Every route validates its input (payload.py), so an exception reaching `last_resort_middleware`
is a simulator bug (except a client that leaves mid-request, logged at DEBUG). The client
still gets Angel One's envelope (AB2001, "Internal Error") and the bug is logged with its
traceback, as the real gateway answers a client and keeps serving.
(The WebSocket handlers guard themselves after their handshake: no HTTP answer can follow it.)
aiohttp's default `Server: Python/3.x aiohttp/3.x` tells a scanner which CVEs to try; the real
gateway names no versions, and neither does the simulator.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web, web_response

from algo_trading.simulator.wire import failure

__all__ = [
    "SERVER_NAME",
    "hide_parser_error_version",
    "hide_server_version",
    "last_resort_middleware",
]

SERVER_NAME = "SmartAPI-simulator"
_log = logging.getLogger(__name__)


@web.middleware
async def last_resort_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise  # aiohttp's own answers (404, 405): deliberate, never a 500
    except ConnectionResetError:
        # The client left mid-request (killed, or timed out and closed): nobody is there to
        # answer, and it is no bug of ours. aiohttp closes the transport when this propagates.
        _log.debug("client left mid-request on %s %s", request.method, request.path)
        raise
    except Exception:
        _log.exception("simulator bug on %s %s; answered AB2001", request.method, request.path)
        return web.json_response(failure("AB2001", "Internal Error, Please try after sometime"))


async def hide_server_version(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs before aiohttp fills in its default Server header."""
    response.headers[hdrs.SERVER] = SERVER_NAME


def hide_parser_error_version() -> None:
    """The 400 aiohttp's HTTP parser answers to a malformed request never reaches the app, so
    no signal can set its header; its default is a module constant. Replacing it is the one
    patch of a library internal here (every aiohttp server of this process then says
    SERVER_NAME); the test on a malformed request fails if aiohttp moves the constant."""
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]  # re-exported name
