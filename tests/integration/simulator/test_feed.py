"""The WebSocket 2.0 feed over a real socket: auth, subscribe, binary packets decoded by the
adapter's parser, heartbeats, limits and dropped connections (spec §5.1)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from algo_trading.adapters.brokers.angelone.packets import Mode, parse_packet
from algo_trading.simulator import FaultConfig, SimulatorServer
from tests.integration.simulator.conftest import Api

DEADLINE_S = 5.0
SBIN, RELIANCE = "3045", "2885"


def _headers(api: Api) -> dict[str, str]:
    return {
        "Authorization": api.jwt,
        "x-api-key": api.config.api_key,
        "x-client-code": api.config.client_code,
        "x-feed-token": api.feed_token,
    }


def _subscribe(mode: int, tokens: dict[int, list[str]], action: int = 1) -> str:
    token_list = [{"exchangeType": e, "tokens": t} for e, t in tokens.items()]
    return json.dumps(
        {"correlationID": "t1", "action": action, "params": {"mode": mode, "tokenList": token_list}}
    )


def run(body: Callable[[aiohttp.ClientSession], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with aiohttp.ClientSession() as session:
            return await body(session)

    return asyncio.run(main())


def test_bad_feed_token_is_refused_with_401_and_x_error_message(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        headers = {**_headers(api), "x-feed-token": "wrong"}
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(api.server.ws_url, headers=headers)
        assert refused.value.status == 401
        assert refused.value.headers is not None
        assert refused.value.headers["x-error-message"] == "Invalid Header - Invalid Feed Token"

    run(body)


def test_each_mode_sends_a_packet_of_its_exact_size_at_once_and_on_each_trade(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(api.server.ws_url, headers=_headers(api)) as ws:
            sizes = {}
            for mode in (Mode.LTP, Mode.QUOTE, Mode.SNAP_QUOTE, Mode.DEPTH):
                await ws.send_str(_subscribe(int(mode), {1: ["3045"]}))
                msg = await ws.receive(timeout=DEADLINE_S)
                packet = parse_packet(msg.data)
                assert (packet.mode, packet.token, packet.exchange_type) == (mode, "3045", 1)
                sizes[mode] = len(msg.data)
            assert sizes == {Mode.LTP: 51, Mode.QUOTE: 123, Mode.SNAP_QUOTE: 379, Mode.DEPTH: 443}
            ltp = api.ltp_paise("SBIN-EQ")
            api.server.force_trade("SBIN-EQ", ltp + 50, 7)
            seen = {}
            for _ in range(4):
                packet = parse_packet((await ws.receive(timeout=DEADLINE_S)).data)
                seen[packet.mode] = packet
            assert seen[Mode.LTP].ltp_paise == ltp + 50
            quote = seen[Mode.SNAP_QUOTE]
            assert quote.last_traded_qty == 7
            assert quote.high_paise >= ltp + 50
            assert [b.is_buy for b in quote.best_five] == [True] * 5 + [False] * 5
            assert len(seen[Mode.DEPTH].depth_buy) == 20

    run(body)


def test_text_ping_gets_text_pong_and_protocol_ping_gets_pong(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(
            api.server.ws_url, headers=_headers(api), autoping=False
        ) as ws:
            await ws.send_str("ping")
            assert (await ws.receive(timeout=DEADLINE_S)).data == "pong"
            await ws.ping(b"ping")
            msg = await ws.receive(timeout=DEADLINE_S)
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.PONG, b"ping")

    run(body)


def test_query_parameter_auth_and_index_alias_tokens_work(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        url = f"{api.server.ws_url}?clientCode={api.config.client_code}&feedToken={api.feed_token}"
        async with session.ws_connect(url) as ws:
            await ws.send_str(_subscribe(1, {1: ["26000", "99926000"]}))
            tokens = {
                parse_packet((await ws.receive(timeout=DEADLINE_S)).data).token for _ in range(2)
            }
            assert tokens == {"26000", "99926000"}

    run(body)


def test_bad_payload_is_e1001_and_too_many_tokens_is_e1002_keeping_old_ones(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(api.server.ws_url, headers=_headers(api)) as ws:
            await ws.send_str('{"action": 7}')
            assert json.loads((await ws.receive(timeout=DEADLINE_S)).data)["errorCode"] == "E1001"
            await ws.send_str(_subscribe(1, {1: ["3045"]}))
            await ws.receive(timeout=DEADLINE_S)
            await ws.send_str(_subscribe(1, {1: [str(n) for n in range(100000, 101000)]}))
            error = json.loads((await ws.receive(timeout=DEADLINE_S)).data)
            assert error == {
                "correlationID": "t1",
                "errorCode": "E1002",
                "errorMessage": "Invalid Request. Subscription Limit Exceeded",
            }
            api.server.force_trade("SBIN-EQ", api.ltp_paise("SBIN-EQ"), 1)
            assert parse_packet((await ws.receive(timeout=DEADLINE_S)).data).token == SBIN

    run(body)


def test_unsubscribed_tokens_get_no_more_frames(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(api.server.ws_url, headers=_headers(api)) as ws:
            await ws.send_str(_subscribe(1, {1: ["3045", "2885"]}))
            await ws.receive(timeout=DEADLINE_S)
            await ws.receive(timeout=DEADLINE_S)
            await ws.send_str(_subscribe(1, {1: ["3045"]}, action=0))
            await ws.send_str("ping")  # the pong proves the unsubscribe was handled first
            assert (await ws.receive(timeout=DEADLINE_S)).data == "pong"
            api.server.force_trade("SBIN-EQ", api.ltp_paise("SBIN-EQ"), 1)
            api.server.force_trade("RELIANCE-EQ", api.ltp_paise("RELIANCE-EQ"), 1)
            assert parse_packet((await ws.receive(timeout=DEADLINE_S)).data).token == RELIANCE

    run(body)


def test_a_fourth_connection_of_one_client_is_refused(api: Api) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        sockets = [
            await session.ws_connect(api.server.ws_url, headers=_headers(api)) for _ in range(3)
        ]
        try:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(api.server.ws_url, headers=_headers(api))
        finally:
            for ws in sockets:
                await ws.close()
        assert refused.value.status == 429

    run(body)


def test_feed_drop_fault_cuts_the_socket_mid_stream(api: Api, sim: SimulatorServer) -> None:
    sim.set_faults(FaultConfig(feed_drop_after_frames=2))

    async def body(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(api.server.ws_url, headers=_headers(api)) as ws:
            await ws.send_str(_subscribe(1, {1: ["3045"]}))
            await ws.receive(timeout=DEADLINE_S)
            api.server.force_trade("SBIN-EQ", api.ltp_paise("SBIN-EQ"), 1)
            await ws.receive(timeout=DEADLINE_S)
            api.server.force_trade("SBIN-EQ", api.ltp_paise("SBIN-EQ"), 1)
            msg = await ws.receive(timeout=DEADLINE_S)
            assert msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )

    run(body)


def test_drop_feed_cuts_every_connection(api: Api, sim: SimulatorServer) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(api.server.ws_url, headers=_headers(api)) as ws:
            await ws.send_str("ping")
            await ws.receive(timeout=DEADLINE_S)
            sim.drop_feed()
            msg = await ws.receive(timeout=DEADLINE_S)
            assert msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            )

    run(body)
