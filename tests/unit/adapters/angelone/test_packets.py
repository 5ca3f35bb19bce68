"""The WebSocket 2.0 packet codec against packets built by hand from the spec's offset tables.

Every packet here is assembled with struct.pack_into at the offsets of
specs/angel-one-smartapi.md §5.1, independently of `build_packet`, so a wrong offset or type in
the codec cannot hide behind the same mistake in the test.
"""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.adapters.brokers.angelone.errors import (
    BrokerRejectedError,
    MalformedPacketError,
    MalformedResponseError,
)
from algo_trading.adapters.brokers.angelone.packets import (
    BestFive,
    DepthLevel,
    ExchangeType,
    FeedPacket,
    Mode,
    build_packet,
    control_error,
    parse_control_message,
    parse_ltp,
    parse_packet,
    subscribe_message,
)

# The real capture of §5.1 (INFY, token 1594, NSE, 20 Dec 2024).
INFY = {"ltp": 196115, "atp": 196995, "volume": 624787, "open": 197515, "high": 197995}
INFY |= {"low": 196025, "close": 194620}
INFY_TOTAL_BUY = 158743.0
EXCHANGE_TS_MS = 1734667800000
LAST_TRADE_TS_S = 1734667800


def _header(size: int, mode: int, token: bytes, seq: int, ts_ms: int, ltp: int) -> bytearray:
    buf = bytearray(size)
    struct.pack_into("<B", buf, 0, mode)
    struct.pack_into("<B", buf, 1, 1)  # exchange type nse_cm
    buf[2 : 2 + len(token)] = token  # the rest of the 25 bytes stays NUL
    struct.pack_into("<q", buf, 27, seq)
    struct.pack_into("<q", buf, 35, ts_ms)
    struct.pack_into("<q", buf, 43, ltp)
    return buf


def _quote(size: int, mode: int) -> bytearray:
    buf = _header(size, mode, b"1594", 9_000_001, EXCHANGE_TS_MS, INFY["ltp"])
    struct.pack_into("<q", buf, 51, 7)  # last traded quantity
    struct.pack_into("<q", buf, 59, INFY["atp"])
    struct.pack_into("<q", buf, 67, INFY["volume"])
    struct.pack_into("<d", buf, 75, INFY_TOTAL_BUY)
    struct.pack_into("<d", buf, 83, 301219.0)
    struct.pack_into("<q", buf, 91, INFY["open"])
    struct.pack_into("<q", buf, 99, INFY["high"])
    struct.pack_into("<q", buf, 107, INFY["low"])
    struct.pack_into("<q", buf, 115, INFY["close"])
    return buf


BUY5 = [(12, 196110, 2), (40, 196105, 3), (105, 196100, 7), (8, 196095, 1), (300, 196090, 4)]
SELL5 = [(25, 196115, 1), (60, 196120, 2), (11, 196125, 1), (90, 196130, 5), (7, 196135, 1)]


def _snap() -> bytearray:
    buf = _quote(379, 3)
    struct.pack_into("<q", buf, 123, LAST_TRADE_TS_S)
    struct.pack_into("<q", buf, 131, 1_234_567)  # open interest
    struct.pack_into("<d", buf, 139, -2.5)  # OI change %
    for i, (flag, (qty, price, orders)) in enumerate(
        [(1, b) for b in BUY5] + [(0, s) for s in SELL5]
    ):
        at = 147 + 20 * i
        struct.pack_into("<h", buf, at, flag)
        struct.pack_into("<q", buf, at + 2, qty)
        struct.pack_into("<q", buf, at + 10, price)
        struct.pack_into("<h", buf, at + 18, orders)
    struct.pack_into("<q", buf, 347, 214080)  # upper circuit
    struct.pack_into("<q", buf, 355, 175160)  # lower circuit
    struct.pack_into("<q", buf, 363, 200645)  # 52-week high
    struct.pack_into("<q", buf, 371, 135165)  # 52-week low
    return buf


def _depth() -> bytearray:
    buf = bytearray(443)
    buf[0], buf[1] = 4, 1
    buf[2:6] = b"1594"
    struct.pack_into("<q", buf, 27, 1734667885562)
    struct.pack_into("<q", buf, 35, 0)  # dummy "packet received time"
    for i in range(20):
        struct.pack_into("<iih", buf, 43 + 10 * i, 100 + i, 196110 - 5 * i, 1 + i)
        struct.pack_into("<iih", buf, 243 + 10 * i, 200 + i, 196115 + 5 * i, 2 + i)
    return buf


def test_an_ltp_packet_is_51_bytes_and_every_field_is_read_from_its_offset() -> None:
    data = bytes(_header(51, 1, b"1594", 42, EXCHANGE_TS_MS, INFY["ltp"]))
    assert parse_packet(data) == FeedPacket(
        Mode.LTP, 1, "1594", sequence=42, exchange_ts_ms=EXCHANGE_TS_MS, ltp_paise=196115
    )


def test_the_fast_path_reads_token_time_and_price_of_the_real_capture() -> None:
    data = bytes(_header(51, 1, b"1594", 42, EXCHANGE_TS_MS, INFY["ltp"]))
    assert parse_ltp(data) == ("1594", EXCHANGE_TS_MS, 196115)
    assert parse_ltp(bytes(_snap())) == ("1594", EXCHANGE_TS_MS, 196115)


def test_a_quote_packet_matches_the_real_capture_sanity_values() -> None:
    p = parse_packet(bytes(_quote(123, 2)))
    assert (p.mode, p.exchange_type, p.token, p.sequence) == (Mode.QUOTE, 1, "1594", 9_000_001)
    assert (p.exchange_ts_ms, p.ltp_paise, p.last_traded_qty) == (EXCHANGE_TS_MS, 196115, 7)
    assert (p.avg_price_paise, p.volume) == (196995, 624787)
    assert (p.total_buy_qty, p.total_sell_qty) == (158743.0, 301219.0)
    assert (p.open_paise, p.high_paise, p.low_paise, p.close_paise) == (
        197515,
        197995,
        196025,
        194620,
    )
    assert p.best_five == ()
    assert p.depth_buy == ()


def test_a_snap_quote_reads_five_buy_then_five_sell_levels_and_the_tail() -> None:
    p = parse_packet(bytes(_snap()))
    assert p.mode is Mode.SNAP_QUOTE
    assert p.ltp_paise == 196115
    assert p.close_paise == 194620
    assert (p.last_traded_ts_s, p.open_interest, p.oi_change_pct) == (1734667800, 1234567, -2.5)
    assert p.best_five == tuple(BestFive(True, *b) for b in BUY5) + tuple(
        BestFive(False, *s) for s in SELL5
    )
    assert (p.upper_circuit_paise, p.lower_circuit_paise) == (214080, 175160)
    assert (p.week52_high_paise, p.week52_low_paise) == (200645, 135165)


def test_a_depth_packet_reads_twenty_levels_a_side_and_the_offset_27_timestamp() -> None:
    p = parse_packet(bytes(_depth()))
    assert (p.mode, p.token, p.sequence, p.exchange_ts_ms, p.ltp_paise) == (
        Mode.DEPTH,
        "1594",
        0,
        1734667885562,
        0,
    )
    assert p.depth_buy == tuple(DepthLevel(100 + i, 196110 - 5 * i, 1 + i) for i in range(20))
    assert p.depth_sell == tuple(DepthLevel(200 + i, 196115 + 5 * i, 2 + i) for i in range(20))


def test_a_full_25_byte_token_has_no_terminating_nul_and_is_read_whole() -> None:
    token = b"9" * 25
    assert parse_ltp(bytes(_header(51, 1, token, 0, 0, 1)))[0] == "9" * 25


def test_bytes_after_the_terminating_nul_are_padding_not_token() -> None:
    buf = _header(51, 1, b"26000\x00junk", 0, 0, 1)
    assert parse_packet(bytes(buf)).token == "26000"  # noqa: S105 - an instrument token


def test_decoded_packets_are_genuine_frozen_dataclasses() -> None:
    p = parse_packet(bytes(_snap()))
    assert type(p) is FeedPacket
    assert type(p.best_five[0]) is BestFive
    assert type(parse_packet(bytes(_depth())).depth_buy[0]) is DepthLevel
    with pytest.raises(AttributeError):
        p.ltp_paise = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.best_five[0].price_paise = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (bytes(_header(51, 1, b"1", 0, 0, 0))[:50], "LTP packet is 50 bytes"),
        (bytes(_header(51, 2, b"1", 0, 0, 0)), "QUOTE packet is 51 bytes"),
        (bytes(_quote(123, 2)) + b"\x00", "QUOTE packet is 124 bytes"),
        (bytes(_snap())[:378], "SNAP_QUOTE packet is 378 bytes"),
        (bytes(_depth())[:442], "DEPTH packet is 442 bytes"),
        (bytes(_header(51, 9, b"1", 0, 0, 0)), "unknown mode 9"),
        (b"pong", "unknown mode 112"),
    ],
)
def test_a_wrong_length_or_an_unknown_mode_is_a_malformed_packet(data: bytes, why: str) -> None:
    with pytest.raises(MalformedPacketError, match=why):
        parse_packet(data)


@pytest.mark.parametrize(
    "data",
    [b"", bytes(50), bytes(_depth()), bytes(_header(51, 0, b"1", 0, 0, 0))],
)
def test_the_fast_path_refuses_short_depth_and_unknown_packets(data: bytes) -> None:
    with pytest.raises(MalformedPacketError):
        parse_ltp(data)


def test_a_token_that_is_not_ascii_is_a_malformed_packet() -> None:
    with pytest.raises(MalformedPacketError, match="not ASCII"):
        parse_packet(bytes(_header(51, 1, b"\xff\xfe", 0, 0, 0)))


def test_build_packet_writes_exactly_the_hand_built_bytes_of_every_mode() -> None:
    for data in (_header(51, 1, b"1594", 42, EXCHANGE_TS_MS, 196115), _quote(123, 2), _snap()):
        assert build_packet(parse_packet(bytes(data))) == bytes(data)
    assert build_packet(parse_packet(bytes(_depth()))) == bytes(_depth())


def test_a_snap_quote_with_fewer_levels_is_padded_buy_side_first() -> None:
    p = FeedPacket(Mode.SNAP_QUOTE, 1, "1594", 1, 2, 3, best_five=(BestFive(False, 5, 100, 1),))
    five = parse_packet(build_packet(p)).best_five
    assert [b.is_buy for b in five] == [True] * 5 + [False] * 5
    assert five[5] == BestFive(False, 5, 100, 1)
    assert five[0] == BestFive(True, 0, 0, 0)


def test_build_packet_refuses_a_token_longer_than_its_field() -> None:
    with pytest.raises(ValueError, match="25-byte"):
        build_packet(FeedPacket(Mode.LTP, 1, "1" * 26, 0, 0, 0))


_i64 = st.integers(-(2**63), 2**63 - 1)
_i32 = st.integers(-(2**31), 2**31 - 1)
_i16 = st.integers(-(2**15), 2**15 - 1)
_f64 = st.floats(allow_nan=False)
_token = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=25)


@st.composite
def feed_packets(draw: st.DrawFn) -> FeedPacket:
    mode = draw(st.sampled_from(Mode))
    ex = draw(st.sampled_from(ExchangeType))
    token = draw(_token)
    if mode is Mode.DEPTH:
        level = st.builds(DepthLevel, _i32, _i32, _i16)
        side = st.lists(level, min_size=20, max_size=20).map(tuple)
        return FeedPacket(
            mode, ex, token, 0, draw(_i64), 0, depth_buy=draw(side), depth_sell=draw(side)
        )
    head = (mode, ex, token, draw(_i64), draw(_i64), draw(_i64))
    if mode is Mode.LTP:
        return FeedPacket(*head)
    ints = draw(st.lists(_i64, min_size=7, max_size=7))
    quote = {
        "last_traded_qty": ints[0],
        "avg_price_paise": ints[1],
        "volume": ints[2],
        "total_buy_qty": draw(_f64),
        "total_sell_qty": draw(_f64),
        "open_paise": ints[3],
        "high_paise": ints[4],
        "low_paise": ints[5],
        "close_paise": ints[6],
    }
    if mode is Mode.QUOTE:
        return FeedPacket(*head, **quote)  # type: ignore[arg-type]
    flags = [True] * 5 + [False] * 5
    five = tuple(BestFive(f, draw(_i64), draw(_i64), draw(_i16)) for f in flags)
    tail = draw(st.lists(_i64, min_size=6, max_size=6))
    return FeedPacket(
        *head,
        **quote,  # type: ignore[arg-type]
        last_traded_ts_s=tail[0],
        open_interest=tail[1],
        oi_change_pct=draw(_f64),
        best_five=five,
        upper_circuit_paise=tail[2],
        lower_circuit_paise=tail[3],
        week52_high_paise=tail[4],
        week52_low_paise=tail[5],
    )


@given(feed_packets())
def test_parsing_a_built_packet_gives_the_packet_back(p: FeedPacket) -> None:
    data = build_packet(p)
    assert parse_packet(data) == p
    assert build_packet(parse_packet(data)) == data


def test_a_subscribe_frame_has_the_documented_shape() -> None:
    text = subscribe_message(1, Mode.LTP, {1: ["10626", "5290"], 5: ["234230"]}, "abcde12345")
    assert json.loads(text) == {
        "correlationID": "abcde12345",
        "action": 1,
        "params": {
            "mode": 1,
            "tokenList": [
                {"exchangeType": 1, "tokens": ["10626", "5290"]},
                {"exchangeType": 5, "tokens": ["234230"]},
            ],
        },
    }


def test_an_unsubscribe_frame_without_correlation_id_omits_it() -> None:
    msg = json.loads(subscribe_message(0, Mode.SNAP_QUOTE, {2: ["58662"]}))
    assert "correlationID" not in msg
    assert msg["action"] == 0
    assert msg["params"]["mode"] == 3


@pytest.mark.parametrize(
    ("action", "mode", "tokens", "corr"),
    [
        (2, Mode.LTP, {1: ["1"]}, ""),
        (1, Mode.LTP, {1: ["1"]}, "x" * 11),
        (1, Mode.DEPTH, {2: ["1"]}, ""),
    ],
)
def test_an_impossible_subscription_is_refused_before_it_is_sent(
    action: int, mode: Mode, tokens: dict[int, list[str]], corr: str
) -> None:
    with pytest.raises(ValueError, match=r"action|correlationID|DEPTH"):
        subscribe_message(action, mode, tokens, corr)


def test_pong_and_error_frames_are_told_apart_and_errors_are_typed() -> None:
    assert parse_control_message("pong") == {"pong": True}
    assert control_error({"pong": True}) is None
    frame = parse_control_message(
        '{"correlationID":"abc","errorCode":"E1002",'
        '"errorMessage":"Invalid Request. Subscription Limit Exceeded"}'
    )
    error = control_error(frame)
    assert isinstance(error, BrokerRejectedError)
    assert error.code == "E1002"


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_a_text_frame_that_is_neither_pong_nor_an_object_is_malformed(text: str) -> None:
    with pytest.raises(MalformedResponseError, match="frame"):
        parse_control_message(text)
