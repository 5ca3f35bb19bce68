"""The order-status WebSocket over a real socket: AB00 first, then a frame per change (§5.2)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from algo_trading.simulator.wire import ORDER_FIELDS
from tests.integration.simulator.conftest import Api
from tests.integration.simulator.test_feed import DEADLINE_S, run


async def _frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return dict(json.loads((await ws.receive(timeout=DEADLINE_S)).data))


def test_first_frame_is_ab00_then_each_order_change_in_order(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {api.jwt}"}
        async with session.ws_connect(api.server.order_ws_url, headers=headers) as ws:
            first = await _frame(ws)
            assert (first["order-status"], first["user-id"], first["status-code"]) == (
                "AB00",
                "S123456",
                "200",
            )
            assert set(first["orderData"]) == set(ORDER_FIELDS)
            placed = api.place(ordertag="strat-1")["data"]
            api.server.force_trade("SBIN-EQ", api.ltp_paise("SBIN-EQ"), 100)
            rejected = api.place(producttype="DELIVERY", quantity="100000")["data"]
            codes = [(await _frame(ws)) for _ in range(4)]
            assert [(f["order-status"], f["orderData"]["orderid"]) for f in codes] == [
                ("AB09", placed["orderid"]),
                ("AB01", placed["orderid"]),
                ("AB05", placed["orderid"]),
                ("AB03", rejected["orderid"]),
            ]
            assert codes[2]["orderData"]["ordertag"] == "strat-1"
            assert codes[2]["orderData"]["filledshares"] == "10"
            assert "Insufficient Funds" in codes[3]["error-message"]

    run(body)


def test_cancel_sends_ab02_and_bare_jwt_is_accepted(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            api.server.order_ws_url, headers={"Authorization": api.jwt}
        ) as ws:
            await _frame(ws)
            ltp = api.ltp_paise("SBIN-EQ")
            placed = api.place(ordertype="LIMIT", price=str((ltp - 500) / 100))["data"]
            api.post("/order/v1/cancelOrder", {"variety": "NORMAL", "orderid": placed["orderid"]})
            codes = [(await _frame(ws))["order-status"] for _ in range(3)]
            assert codes == ["AB09", "AB01", "AB02"]
            await ws.send_str("ping")
            assert (await ws.receive(timeout=DEADLINE_S)).data == "pong"

    run(body)


def test_unknown_token_is_401_and_expired_session_403(api: Api) -> None:
    async def status(session: aiohttp.ClientSession, token: str) -> int:
        try:
            await session.ws_connect(api.server.order_ws_url, headers={"Authorization": token})
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status
        return 101

    async def body(session: aiohttp.ClientSession) -> tuple[int, int]:
        forged = await status(session, "Bearer forged")
        api.server.expire_sessions()
        expired = await status(session, f"Bearer {api.jwt}")
        return forged, expired

    assert run(body) == (401, 403)
