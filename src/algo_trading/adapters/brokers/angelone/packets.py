"""The SmartAPI WebSocket 2.0 binary feed: parse and build tick packets, exactly (spec §5.1).

Every frame is one tick, little-endian, with a 27-byte header (mode, exchange type, 25-byte
NUL-padded token). Sizes: LTP 51, QUOTE 123, SNAP_QUOTE 379, DEPTH 443 bytes. Prices are int64
paise (for CDE_FO the integers are 1e-7 rupees, §5.1 "Scaling": the `_paise` fields then carry
that raw unit and the caller divides), the exchange timestamp is epoch milliseconds, the
SNAP_QUOTE last-trade timestamp epoch seconds, total buy/sell quantity and OI change float64.

Pure: no I/O. `parse_ltp` is the hot path (one precompiled struct, one unpack, a token cache);
`build_packet` is the exact inverse of `parse_packet`, used by the simulator.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from enum import IntEnum

from algo_trading.adapters.brokers.angelone.errors import (
    AngelOneError,
    BrokerRejectedError,
    MalformedPacketError,
    MalformedResponseError,
)
from algo_trading.adapters.brokers.angelone.parsing_values import loads_exact

__all__ = [
    "DEPTH_LEVELS",
    "PACKET_SIZES",
    "BestFive",
    "DepthLevel",
    "ExchangeType",
    "FeedPacket",
    "Mode",
    "build_packet",
    "control_error",
    "parse_control_message",
    "parse_ltp",
    "parse_packet",
    "subscribe_message",
]


class Mode(IntEnum):
    """Subscription mode, byte 0 of every packet and `params.mode` of a subscribe frame."""

    LTP = 1
    QUOTE = 2
    SNAP_QUOTE = 3
    DEPTH = 4  # 20-level depth, NSE cash only; withdrawn on the real service from 2025-04-25


class ExchangeType(IntEnum):
    """`exchangeType` of a subscription and byte 1 of a packet (§5.1; 7 and 13 from the SDKs)."""

    NSE_CM = 1
    NSE_FO = 2
    BSE_CM = 3
    BSE_FO = 4
    MCX_FO = 5
    NCX_FO = 7
    CDE_FO = 13


@dataclass(frozen=True, slots=True)
class BestFive:
    """A SNAP_QUOTE best-five entry (20 bytes: int16 flag, int64 qty, int64 price, int16 orders)."""

    is_buy: bool
    quantity: int
    price_paise: int
    orders: int


@dataclass(frozen=True, slots=True)
class DepthLevel:
    """One DEPTH level (10 bytes: int32 quantity, int32 price paise, int16 orders)."""

    quantity: int
    price_paise: int
    orders: int


@dataclass(frozen=True, slots=True)
class FeedPacket:
    """One decoded tick. Fields beyond the packet's mode keep their defaults.

    For DEPTH, `exchange_ts_ms` is the offset-27 timestamp, `sequence` and `ltp_paise` are 0,
    and the offset-35 "packet received time" (a dummy, §5.1) is not kept.
    """

    mode: Mode
    exchange_type: int
    token: str
    sequence: int
    exchange_ts_ms: int
    ltp_paise: int
    last_traded_qty: int = 0
    avg_price_paise: int = 0
    volume: int = 0
    total_buy_qty: float = 0.0
    total_sell_qty: float = 0.0
    open_paise: int = 0
    high_paise: int = 0
    low_paise: int = 0
    close_paise: int = 0
    last_traded_ts_s: int = 0
    open_interest: int = 0
    oi_change_pct: float = 0.0
    best_five: tuple[BestFive, ...] = ()
    upper_circuit_paise: int = 0
    lower_circuit_paise: int = 0
    week52_high_paise: int = 0
    week52_low_paise: int = 0
    depth_buy: tuple[DepthLevel, ...] = ()
    depth_sell: tuple[DepthLevel, ...] = ()


# Why these shadow classes: a frozen dataclass's __init__ sets each field through
# object.__setattr__, about 100 ns a field, which made a SNAP_QUOTE cost ~10 µs to decode.
# A plain class with the very same __slots__ assigns fields at normal speed, and CPython
# allows switching `__class__` between classes of identical slot layout, so the parser builds
# the shadow and relabels it: the caller gets a genuine, frozen FeedPacket (tests check
# type, equality and immutability). Only the parser uses them; everyone else uses the
# dataclasses' own constructors.
class _BestFiveShadow:
    __slots__ = BestFive.__slots__

    def __init__(self, is_buy: bool, quantity: int, price_paise: int, orders: int) -> None:
        self.is_buy = is_buy
        self.quantity = quantity
        self.price_paise = price_paise
        self.orders = orders


class _DepthLevelShadow:
    __slots__ = DepthLevel.__slots__

    def __init__(self, quantity: int, price_paise: int, orders: int) -> None:
        self.quantity = quantity
        self.price_paise = price_paise
        self.orders = orders


class _FeedPacketShadow:
    __slots__ = FeedPacket.__slots__

    def __init__(
        self,
        mode: Mode,
        exchange_type: int,
        token: str,
        sequence: int,
        exchange_ts_ms: int,
        ltp_paise: int,
        last_traded_qty: int = 0,
        avg_price_paise: int = 0,
        volume: int = 0,
        total_buy_qty: float = 0.0,
        total_sell_qty: float = 0.0,
        open_paise: int = 0,
        high_paise: int = 0,
        low_paise: int = 0,
        close_paise: int = 0,
        last_traded_ts_s: int = 0,
        open_interest: int = 0,
        oi_change_pct: float = 0.0,
        best_five: tuple[BestFive, ...] = (),
        upper_circuit_paise: int = 0,
        lower_circuit_paise: int = 0,
        week52_high_paise: int = 0,
        week52_low_paise: int = 0,
        depth_buy: tuple[DepthLevel, ...] = (),
        depth_sell: tuple[DepthLevel, ...] = (),
    ) -> None:
        self.mode = mode
        self.exchange_type = exchange_type
        self.token = token
        self.sequence = sequence
        self.exchange_ts_ms = exchange_ts_ms
        self.ltp_paise = ltp_paise
        self.last_traded_qty = last_traded_qty
        self.avg_price_paise = avg_price_paise
        self.volume = volume
        self.total_buy_qty = total_buy_qty
        self.total_sell_qty = total_sell_qty
        self.open_paise = open_paise
        self.high_paise = high_paise
        self.low_paise = low_paise
        self.close_paise = close_paise
        self.last_traded_ts_s = last_traded_ts_s
        self.open_interest = open_interest
        self.oi_change_pct = oi_change_pct
        self.best_five = best_five
        self.upper_circuit_paise = upper_circuit_paise
        self.lower_circuit_paise = lower_circuit_paise
        self.week52_high_paise = week52_high_paise
        self.week52_low_paise = week52_low_paise
        self.depth_buy = depth_buy
        self.depth_sell = depth_sell


# Layouts of §5.1, whole packets in one struct each so that one unpack reads everything.
_HEADER = "<BB25sqqq"  # mode, exchange type, token, sequence, exchange ts ms, ltp
_QUOTE_TAIL = "qqqddqqqq"  # ltq, atp, volume, total buy, total sell, open, high, low, close
_SNAP_TAIL = "qqd" + "hqqh" * 10 + "qqqq"  # ltt s, oi, oi %, best five, circuits, 52-week
DEPTH_LEVELS = 20
_LTP = struct.Struct(_HEADER)
_QUOTE = struct.Struct(_HEADER + _QUOTE_TAIL)
_SNAP = struct.Struct(_HEADER + _QUOTE_TAIL + _SNAP_TAIL)
_DEPTH = struct.Struct("<BB25sqq" + "iih" * (2 * DEPTH_LEVELS))
_LTP_TAIL = struct.Struct("<qq")  # exchange ts, ltp at offset 35: the fast path reads only these

PACKET_SIZES = {
    Mode.LTP: _LTP.size,
    Mode.QUOTE: _QUOTE.size,
    Mode.SNAP_QUOTE: _SNAP.size,
    Mode.DEPTH: _DEPTH.size,
}

_MODES = {int(m): m for m in Mode}
_TOKEN_CACHE: dict[bytes, str] = {}
_TOKEN_CACHE_MAX = 8192  # 3 connections x 1000 tokens (§5.1) fit; a flood can't grow it forever


def _token(raw: bytes) -> str:
    """The 25-byte token field as text: up to the first NUL (the rest is padding)."""
    token = _TOKEN_CACHE.get(raw)
    if token is None:
        end = raw.find(0)
        try:
            token = (raw if end < 0 else raw[:end]).decode("ascii")
        except UnicodeDecodeError:
            raise MalformedPacketError(f"token bytes {raw!r} are not ASCII") from None
        if len(_TOKEN_CACHE) >= _TOKEN_CACHE_MAX:
            _TOKEN_CACHE.clear()
        _TOKEN_CACHE[raw] = token
    return token


# The exact length of a packet parse_ltp reads, by mode byte (-1: not a mode it reads), so
# that the fast path refuses exactly what parse_packet refuses, at the cost of one index.
_LTP_FAST_SIZES = tuple(
    PACKET_SIZES[_MODES[b]] if b in _MODES and _MODES[b] is not Mode.DEPTH else -1
    for b in range(256)
)


def parse_ltp(data: bytes) -> tuple[str, int, int]:
    """(token, exchange_ts_ms, ltp_paise) of an LTP, QUOTE or SNAP_QUOTE packet: the hot path.

    Accepts exactly the frames parse_packet accepts in those modes (length and mode checked)
    and returns the same token, timestamp and price; MalformedPacketError otherwise.
    """
    n = len(data)
    if n < 51 or _LTP_FAST_SIZES[data[0]] != n:
        if n and data[0] == Mode.DEPTH:
            raise MalformedPacketError(f"a {n}-byte DEPTH packet carries no last traded price")
        raise MalformedPacketError(_why(data))
    ts_ms, ltp = _LTP_TAIL.unpack_from(data, 35)
    raw = data[2:27]
    token = _TOKEN_CACHE.get(raw)
    if token is None:
        token = _token(raw)
    return token, ts_ms, ltp


def _why(data: bytes) -> str:
    if not data:
        return "empty packet"
    mode = _MODES.get(data[0])
    if mode is None:
        return f"unknown mode {data[0]} in a {len(data)}-byte packet"
    return f"{mode.name} packet is {len(data)} bytes, expected {PACKET_SIZES[mode]}"


def parse_packet(data: bytes) -> FeedPacket:
    """Decode one binary frame of any mode; MalformedPacketError on a wrong length or mode."""
    n = len(data)
    mode = data[0] if n else 0
    if n == 51 and mode == 1:
        _, ex, raw, seq, ts, ltp = _LTP.unpack(data)
        pkt = _FeedPacketShadow(Mode.LTP, ex, _token(raw), seq, ts, ltp)
    elif n == 123 and mode == 2:
        _, ex, raw, seq, ts, ltp, *q = _QUOTE.unpack(data)
        pkt = _FeedPacketShadow(Mode.QUOTE, ex, _token(raw), seq, ts, ltp, *q)
    elif n == 379 and mode == 3:
        pkt = _parse_snap(data)
    elif n == 443 and mode == 4:
        pkt = _parse_depth(data)
    else:
        raise MalformedPacketError(_why(data))
    pkt.__class__ = FeedPacket  # type: ignore[assignment]  # same slots: see the shadows
    return pkt  # type: ignore[return-value]  # it is a FeedPacket now


def _parse_snap(data: bytes) -> _FeedPacketShadow:
    v = _SNAP.unpack(data)
    # v[15:18] = last-trade ts, OI, OI change; v[18:58] = 10 entries x 4; v[58:62] = tail.
    five = []
    for i in range(18, 58, 4):
        entry = _BestFiveShadow(v[i] == 1, v[i + 1], v[i + 2], v[i + 3])
        entry.__class__ = BestFive  # type: ignore[assignment]
        five.append(entry)
    # v[3:15] is sequence .. close in field order; mypy cannot count a star-argument.
    return _FeedPacketShadow(  # type: ignore[call-arg]
        Mode.SNAP_QUOTE, v[1], _token(v[2]), *v[3:15], v[15], v[16], v[17], tuple(five), *v[58:62]
    )


def _parse_depth(data: bytes) -> _FeedPacketShadow:
    v = _DEPTH.unpack(data)
    levels = []
    for i in range(5, len(v), 3):
        level = _DepthLevelShadow(v[i], v[i + 1], v[i + 2])
        level.__class__ = DepthLevel  # type: ignore[assignment]
        levels.append(level)
    return _FeedPacketShadow(
        Mode.DEPTH,
        v[1],
        _token(v[2]),
        0,
        v[3],
        0,
        depth_buy=tuple(levels[:DEPTH_LEVELS]),  # type: ignore[arg-type]
        depth_sell=tuple(levels[DEPTH_LEVELS:]),  # type: ignore[arg-type]
    )


def _token_bytes(token: str) -> bytes:
    raw = token.encode("ascii")
    if len(raw) > 25:
        raise ValueError(f"token {token!r} is longer than the 25-byte field")
    return raw


def _five_entries(p: FeedPacket) -> list[BestFive]:
    """The 10 entries in wire order: as given when there are 10, else 5 buy then 5 sell padded."""
    if len(p.best_five) == 10:
        return list(p.best_five)
    buys = [b for b in p.best_five if b.is_buy]
    sells = [b for b in p.best_five if not b.is_buy]
    if len(buys) > 5 or len(sells) > 5:
        raise ValueError("best_five holds at most 5 buy and 5 sell entries")
    buys += [BestFive(True, 0, 0, 0)] * (5 - len(buys))
    sells += [BestFive(False, 0, 0, 0)] * (5 - len(sells))
    return buys + sells


def _depth_side(levels: tuple[DepthLevel, ...]) -> list[DepthLevel]:
    if len(levels) > DEPTH_LEVELS:
        raise ValueError(f"a depth side holds at most {DEPTH_LEVELS} levels")
    return list(levels) + [DepthLevel(0, 0, 0)] * (DEPTH_LEVELS - len(levels))


def build_packet(p: FeedPacket) -> bytes:
    """The frame `parse_packet` decodes back to `p` (the simulator's side of §5.1)."""
    raw = _token_bytes(p.token)
    head = (int(p.mode), p.exchange_type, raw, p.sequence, p.exchange_ts_ms, p.ltp_paise)
    if p.mode is Mode.LTP:
        return _LTP.pack(*head)
    quote = (
        p.last_traded_qty,
        p.avg_price_paise,
        p.volume,
        p.total_buy_qty,
        p.total_sell_qty,
        p.open_paise,
        p.high_paise,
        p.low_paise,
        p.close_paise,
    )
    if p.mode is Mode.QUOTE:
        return _QUOTE.pack(*head, *quote)
    if p.mode is Mode.SNAP_QUOTE:
        five: list[int] = []
        for b in _five_entries(p):
            five += (1 if b.is_buy else 0, b.quantity, b.price_paise, b.orders)
        return _SNAP.pack(
            *head,
            *quote,
            p.last_traded_ts_s,
            p.open_interest,
            p.oi_change_pct,
            *five,
            p.upper_circuit_paise,
            p.lower_circuit_paise,
            p.week52_high_paise,
            p.week52_low_paise,
        )
    levels: list[int] = []
    for d in _depth_side(p.depth_buy) + _depth_side(p.depth_sell):
        levels += (d.quantity, d.price_paise, d.orders)
    # Offset 35, the dummy "packet received time", is sent as 0 as in the real capture.
    return _DEPTH.pack(int(p.mode), p.exchange_type, raw, p.exchange_ts_ms, 0, *levels)


def subscribe_message(
    action: int, mode: Mode, tokens: dict[int, list[str]], correlation_id: str = ""
) -> str:
    """The JSON text frame that subscribes (action 1) or unsubscribes (0) tokens (§5.1)."""
    if action not in (0, 1):
        raise ValueError(f"action must be 1 (subscribe) or 0 (unsubscribe), not {action}")
    if len(correlation_id) > 10:
        raise ValueError("correlationID is at most 10 characters")
    if mode is Mode.DEPTH and (set(tokens) - {ExchangeType.NSE_CM}):
        raise ValueError("DEPTH mode is for NSE cash (exchangeType 1) only")
    msg: dict[str, object] = {}
    if correlation_id:
        msg["correlationID"] = correlation_id
    msg["action"] = action
    msg["params"] = {
        "mode": int(mode),
        "tokenList": [
            {"exchangeType": int(ex), "tokens": list(toks)} for ex, toks in tokens.items() if toks
        ],
    }
    return json.dumps(msg, separators=(",", ":"))


def parse_control_message(text: str) -> dict[str, object]:
    """A text frame of the feed: `pong` -> {"pong": True}; a JSON error frame -> its dict."""
    if text.strip().lower() == "pong":
        return {"pong": True}
    try:
        msg = loads_exact("ws/smart-stream", text)  # nesting capped: no RecursionError
    except MalformedResponseError as e:
        raise MalformedResponseError(
            "ws/smart-stream", "frame", f"text frame {e.problem}"
        ) from None
    if not isinstance(msg, dict):
        raise MalformedResponseError("ws/smart-stream", "frame", "text frame is not an object")
    return msg


def control_error(msg: dict[str, object]) -> AngelOneError | None:
    """The typed error a control frame carries (E1001 bad payload, E1002 limit), else None."""
    code = msg.get("errorCode")
    if not code:
        return None
    text = str(msg.get("errorMessage", ""))
    return BrokerRejectedError(text, code=str(code), route="ws/smart-stream")
