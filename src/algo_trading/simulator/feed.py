"""The market-data WebSocket 2.0 at /smart-stream (spec §5.1).

Authentication on client code and feed token (headers, or query parameters for browsers);
Authorization and API key are optional. Subscriptions are JSON text frames; every tick is one
binary frame built by `packets.build_packet`, so the bytes are exactly what the parser reads.
A fresh subscription gets the current value at once, then one frame per trade.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Container
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from algo_trading.adapters.brokers.angelone.packets import (
    BestFive,
    DepthLevel,
    FeedPacket,
    Mode,
    build_packet,
)
from algo_trading.domain.instruments import Exchange
from algo_trading.simulator.accounts import RequestError
from algo_trading.simulator.market import Quote
from algo_trading.simulator.payload import MAX_FRAME_BYTES, loads_bounded
from algo_trading.simulator.rest import STATE_KEY
from algo_trading.simulator.state import SimState

__all__ = ["FeedHub", "quote_packet"]

MAX_CONNECTIONS = 3
MAX_PAIRS = 1000
_EXCHANGES = {1: Exchange.NSE, 2: Exchange.NFO, 3: Exchange.BSE, 4: Exchange.BFO}
# Pre-2024 index tokens still used on the socket (§5.1): accept both spellings.
_INDEX_ALIASES = {"26000": "99926000", "26009": "99926009", "19000": "99919000"}
_log = logging.getLogger(__name__)
Pair = tuple[int, int, str]  # mode, exchange type, token as the client wrote it
_MAX_TOKEN_CHARS = 32  # scrip-master tokens are at most 8 digits


def quote_packet(quote: Quote, mode: Mode, exchange_type: int, token: str, now_ns: int) -> bytes:
    """The binary frame of `quote` in `mode` (51/123/379/443 bytes)."""
    ts_ns = quote.last_trade_ns or now_ns
    bids, asks = quote.best_bids(), quote.best_asks()
    if mode is Mode.DEPTH:
        deep_bids, deep_asks = quote.best_bids(20), quote.best_asks(20)
        return build_packet(
            FeedPacket(
                mode, exchange_type, token, 0, ts_ns // 1_000_000, 0,
                depth_buy=tuple(DepthLevel(q, p, o) for p, q, o in deep_bids),
                depth_sell=tuple(DepthLevel(q, p, o) for p, q, o in deep_asks),
            )
        )  # fmt: skip
    band = quote.band
    return build_packet(
        FeedPacket(
            mode=mode,
            exchange_type=exchange_type,
            token=token,
            sequence=quote.sequence,
            exchange_ts_ms=ts_ns // 1_000_000,
            ltp_paise=quote.ltp,
            last_traded_qty=quote.last_qty,
            avg_price_paise=quote.avg_price,
            volume=quote.volume,
            total_buy_qty=float(sum(q for _, q, _ in bids)),
            total_sell_qty=float(sum(q for _, q, _ in asks)),
            open_paise=quote.open,
            high_paise=quote.high,
            low_paise=quote.low,
            close_paise=quote.close,
            last_traded_ts_s=ts_ns // 1_000_000_000,
            open_interest=quote.open_interest,
            best_five=tuple(BestFive(True, q, p, o) for p, q, o in bids)
            + tuple(BestFive(False, q, p, o) for p, q, o in asks),
            upper_circuit_paise=band.upper_paise if band else 0,
            lower_circuit_paise=band.lower_paise if band else 0,
            week52_high_paise=quote.week52_high,
            week52_low_paise=quote.week52_low,
        )
    )


@dataclass(eq=False)
class FeedConnection:
    client_code: str
    ws: web.WebSocketResponse
    request: web.Request
    pairs: set[Pair] = field(default_factory=set)
    frames_sent: int = 0


def _error(correlation: object, code: str, message: str) -> str:
    # correlationID is echoed only when it is what the spec says it is: text of <= 10 characters.
    echoed = correlation if isinstance(correlation, str) and len(correlation) <= 10 else ""
    return json.dumps({"correlationID": echoed, "errorCode": code, "errorMessage": message})


def _small_int(value: object, allowed: Container[int]) -> int | None:
    """`value` when it is a JSON integer in `allowed`; `True` and `1.0` are not integers here."""
    return value if type(value) is int and value in allowed else None


def _parse_pairs(msg: object) -> tuple[int, list[Pair]] | None:
    """(action, pairs) of a subscribe/unsubscribe frame, or None when it is malformed."""
    if not isinstance(msg, dict):
        return None
    action = _small_int(msg.get("action"), (0, 1))
    params = msg.get("params")
    if action is None or not isinstance(params, dict):
        return None
    mode = _small_int(params.get("mode"), (1, 2, 3, 4))
    token_list = params.get("tokenList")
    if mode is None or not isinstance(token_list, list) or not token_list:
        return None
    pairs: list[Pair] = []
    for entry in token_list:
        if not isinstance(entry, dict):
            return None
        exchange_type = _small_int(entry.get("exchangeType"), _EXCHANGES)
        tokens = entry.get("tokens")
        if exchange_type is None or not isinstance(tokens, list):
            return None
        if not all(isinstance(t, str) and 0 < len(t) <= _MAX_TOKEN_CHARS for t in tokens):
            return None
        if mode == 4 and exchange_type != 1:
            return None  # 20-level depth is NSE cash only
        pairs += [(mode, exchange_type, t) for t in tokens]
    return action, pairs


class FeedHub:
    """Every open feed connection, and the frames each one is owed."""

    def __init__(self) -> None:
        self.connections: list[FeedConnection] = []

    def _quote(self, state: SimState, pair: Pair) -> Quote | None:
        token = _INDEX_ALIASES.get(pair[2], pair[2])
        return state.market.get(_EXCHANGES[pair[1]], token)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        state = request.app[STATE_KEY]
        q, h = request.query, request.headers
        client = h.get("x-client-code") or q.get("clientCode", "")
        feed_token = h.get("x-feed-token") or q.get("feedToken", "")
        api_key = h.get("x-api-key") or q.get("apiKey")
        why = ""
        if not client:
            why = "Invalid Header - Invalid Client Code"
        elif api_key is not None and api_key != state.auth.api_key:
            why = "Invalid Header - Invalid API Key"
        elif state.auth.by_feed_token(client, feed_token) is None:
            why = "Invalid Header - Invalid Feed Token"
        if why:
            return web.Response(status=401, headers={"x-error-message": why})
        if sum(c.client_code == client for c in self.connections) >= MAX_CONNECTIONS:
            return web.Response(
                status=429, headers={"x-error-message": "Connection limit exceeded"}
            )
        ws = web.WebSocketResponse(autoping=True, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        conn = FeedConnection(client, ws, request)
        self.connections.append(conn)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_text_guarded(state, conn, msg.data)
        except ConnectionResetError:
            pass  # the client left while we answered; its handshake is long answered
        finally:
            self.connections.remove(conn)
        return ws

    async def _on_text_guarded(self, state: SimState, conn: FeedConnection, text: str) -> None:
        """A frame that trips a simulator bug still gets E1001, and the socket stays open."""
        try:
            await self._on_text(state, conn, text)
        except ConnectionResetError:
            raise
        except Exception:
            _log.exception("simulator bug on a feed frame; answered E1001")
            if not conn.ws.closed:
                await conn.ws.send_str(_error("", "E1001", "Invalid Request Payload"))

    async def _on_text(self, state: SimState, conn: FeedConnection, text: str) -> None:
        if text == "ping":
            await conn.ws.send_str("pong")
            return
        try:
            msg = loads_bounded(text, "feed frame")
        except RequestError:
            msg = None
        parsed = _parse_pairs(msg)
        correlation = msg.get("correlationID") if isinstance(msg, dict) else ""
        if parsed is None:
            await conn.ws.send_str(_error(correlation, "E1001", "Invalid Request Payload"))
            return
        action, pairs = parsed
        if action == 0:
            conn.pairs.difference_update(pairs)
            return
        new = [p for p in dict.fromkeys(pairs) if p not in conn.pairs]
        if len(conn.pairs) + len(new) > MAX_PAIRS:
            msg_text = "Invalid Request. Subscription Limit Exceeded"
            await conn.ws.send_str(_error(correlation, "E1002", msg_text))
            return
        conn.pairs.update(new)
        now = state.clock.now_ns()
        for pair in new:
            quote = self._quote(state, pair)
            if quote is not None:
                await self._send(
                    state, conn, quote_packet(quote, Mode(pair[0]), pair[1], pair[2], now)
                )

    async def _send(self, state: SimState, conn: FeedConnection, frame: bytes) -> None:
        if conn.ws.closed:
            return
        limit = state.faults.feed_drop_after_frames
        if limit is not None and conn.frames_sent >= limit:
            await self.drop(conn)
            return
        try:
            await conn.ws.send_bytes(frame)
        except (
            ConnectionResetError
        ):  # the client died (SIGKILL): its socket goes, the market ticks on
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
            return
        conn.frames_sent += 1

    async def drop(self, conn: FeedConnection) -> None:
        """Cut the connection without a closing handshake, as a network failure would."""
        transport = conn.request.transport
        if transport is not None:
            transport.abort()
        await conn.ws.close()

    async def publish(self, state: SimState, quotes: list[Quote]) -> None:
        """One frame per subscribed (token, mode) whose instrument just traded."""
        if not self.connections or not quotes:
            return
        moved = {q.key for q in quotes}
        now = state.clock.now_ns()
        for conn in list(self.connections):
            for pair in sorted(conn.pairs):
                quote = self._quote(state, pair)
                if quote is not None and quote.key in moved:
                    await self._send(
                        state, conn, quote_packet(quote, Mode(pair[0]), pair[1], pair[2], now)
                    )

    async def close_all(self) -> None:
        for conn in list(self.connections):
            await conn.ws.close()
