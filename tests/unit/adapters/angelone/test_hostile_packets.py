"""Hostile feed frames (issue #15, item 1): the fast path refuses what parse_packet refuses.

`parse_ltp` is the hot path of the feed; it used to check only "at least 51 bytes, mode 1-3",
so a truncated QUOTE or an oversized LTP frame gave a price that `parse_packet` refuses.
Every frame here is fed to both: they agree, or both raise MalformedPacketError, within a
bound. Text frames (`parse_control_message`) get the same treatment with nesting and junk.
"""

from __future__ import annotations

import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.adapters.brokers.angelone.errors import (
    MalformedPacketError,
    MalformedResponseError,
)
from algo_trading.adapters.brokers.angelone.packets import (
    PACKET_SIZES,
    Mode,
    parse_control_message,
    parse_ltp,
    parse_packet,
)

BOUND_S = 1.0
SIZES = sorted(set(PACKET_SIZES.values()))


def _frame(mode: int, size: int, token: bytes = b"1594", ltp: int = 196115) -> bytes:
    buf = bytearray(size)
    head = struct.pack("<BB25sqqq", mode % 256, 1, token, 7, 1734667800000, ltp)
    buf[: min(size, len(head))] = head[:size]
    return bytes(buf)


def _outcome(parse: object, data: bytes) -> object:
    start = time.perf_counter()
    error: MalformedPacketError | None = None
    try:
        result: object = parse(data)  # type: ignore[operator]
    except MalformedPacketError as e:
        result, error = MalformedPacketError, e
    assert time.perf_counter() - start < BOUND_S
    assert error is None or error.route == "ws/smart-stream"
    return result


def _agree(data: bytes) -> None:
    fast, full = _outcome(parse_ltp, data), _outcome(parse_packet, data)
    if full is MalformedPacketError or full.mode is Mode.DEPTH:  # type: ignore[attr-defined]
        assert fast is MalformedPacketError, f"parse_ltp read {fast} from a refused frame"
    else:
        assert fast == (full.token, full.exchange_ts_ms, full.ltp_paise)  # type: ignore[attr-defined]


# Every mode byte that matters against every length near every packet size: truncated by
# one, exact, oversized by one, and the sizes of the other modes.
EDGE_FRAMES = [
    _frame(mode, size + delta)
    for mode in (0, 1, 2, 3, 4, 5, 255)
    for size in SIZES
    for delta in (-1, 0, 1)
] + [b"", b"\x01", _frame(1, 27), _frame(1, 50), _frame(2, 51), _frame(3, 123), _frame(1, 4096)]


@pytest.mark.parametrize("data", EDGE_FRAMES, ids=lambda d: f"mode{d[:1].hex()}-{len(d)}B")
def test_the_fast_path_and_the_full_parser_agree_on_every_length_and_mode(data: bytes) -> None:
    _agree(data)


@settings(max_examples=400)
@given(
    mode=st.one_of(st.integers(1, 4), st.integers(0, 255)),
    size=st.one_of(
        st.sampled_from(SIZES).flatmap(lambda s: st.integers(s - 3, s + 3)), st.integers(0, 600)
    ),
    tail=st.binary(max_size=600),
    ltp=st.integers(-(2**63), 2**63 - 1),
    token=st.binary(max_size=25),
)
def test_random_frames_are_read_alike_by_both_parsers_or_refused_by_both(
    mode: int, size: int, tail: bytes, ltp: int, token: bytes
) -> None:
    frame = bytearray(_frame(mode, size, token, ltp))
    n = min(len(tail), max(size - 51, 0))
    frame[51 : 51 + n] = tail[:n]
    _agree(bytes(frame))


@settings(max_examples=200)
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_give_a_tick_or_a_malformed_packet_error(data: bytes) -> None:
    _agree(data)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        "NaN",
        "\ud800",
        "{" + '"a":1,' * 10_000,
        '"' + "x" * 1_000_000,
        "",
    ],
    ids=["deep-list", "deep-object", "nan", "lone-surrogate", "unclosed", "long", "empty"],
)
def test_a_hostile_text_frame_is_a_malformed_response_naming_the_frame(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(MalformedResponseError) as caught:
        parse_control_message(text)
    assert time.perf_counter() - start < BOUND_S
    assert caught.value.field == "frame"
