"""The order-status WebSocket at /smart-order-update (spec §5.2).

Handshake on `Authorization` (JWT, with or without "Bearer "): 401 for an unknown token, 403 for
an expired one, 429 past three connections per client. The first frame is AB00 with an empty
order; then one frame per order change of that client, in the order the changes happened.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from algo_trading.simulator.orders import AB_CODES, SimOrder
from algo_trading.simulator.payload import MAX_FRAME_BYTES
from algo_trading.simulator.rest import STATE_KEY
from algo_trading.simulator.wire import empty_order_row, order_row

__all__ = ["OrderHub"]

MAX_CONNECTIONS = 3


def frame(client_code: str, code: str, data: dict[str, Any], error: str = "") -> str:
    return json.dumps(
        {
            "user-id": client_code,
            "status-code": "200",
            "order-status": code,
            "error-message": error,
            "orderData": data,
        }
    )


class OrderHub:
    """Open order-status connections, each with its own queue so frames keep their order."""

    def __init__(self) -> None:
        self._queues: dict[asyncio.Queue[str | None], str] = {}
        self._sockets: list[web.WebSocketResponse] = []

    def on_order(self, order: SimOrder, code: str) -> None:
        """Exchange listener: queue the frame for every connection of the order's client."""
        if not self._queues:
            return
        error = order.text if code == AB_CODES["rejected"] else ""
        text = frame(order.client_code, code, order_row(order), error)
        for queue, client in self._queues.items():
            if client == order.client_code:
                queue.put_nowait(text)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        state = request.app[STATE_KEY]
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ").strip()
        session = state.auth.by_jwt(token) if token else None
        if session is None:
            known = token and state.auth.knows(token)
            status, why = (403, "Token expired") if known else (401, "Invalid token")
            return web.Response(status=status, headers={"x-error-message": why})
        client = session.client_code
        if sum(c == client for c in self._queues.values()) >= MAX_CONNECTIONS:
            return web.Response(
                status=429, headers={"x-error-message": "Connection limit breached"}
            )
        ws = web.WebSocketResponse(autoping=True, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queues[queue] = client
        self._sockets.append(ws)
        queue.put_nowait(frame(client, AB_CODES["connected"], empty_order_row()))
        sender = asyncio.create_task(self._send_all(ws, queue))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT and msg.data == "ping":
                    queue.put_nowait("pong")
        finally:
            del self._queues[queue]
            self._sockets.remove(ws)
            queue.put_nowait(None)
            await sender
        return ws

    async def _send_all(self, ws: web.WebSocketResponse, queue: asyncio.Queue[str | None]) -> None:
        while (text := await queue.get()) is not None:
            if not ws.closed:
                try:
                    await ws.send_str(text)
                except ConnectionResetError:
                    return

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
