"""Hostile frames on the feed socket get the feed's error frame, never a dropped socket (issue
#15, 2): wrong-typed exchangeType, mode or action, deeply nested or oversized frames, and
hypothesis-spoilt subscribe frames on loopback. Each frame gets tick frames or E1001/E1002 within
`BOUND_S`, the socket stays open, and a valid login still works afterwards."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from hypothesis import given
from hypothesis import strategies as st

from tests.integration.simulator.conftest import Api
from tests.integration.simulator.hostile import (
    BOUND_S,
    fuzz_settings,
    json_values,
    login_still_works,
)

FEED_ERROR_KEYS = {"correlationID", "errorCode", "errorMessage"}


FEED_CASES = [
    ('{"action": 1, "params": {"mode": 1, "tokenList": [{"exchangeType": "1",'
     ' "tokens": ["3045"]}]}}'),
    ('{"action": 1, "params": {"mode": 1, "tokenList": [{"exchangeType": [1],'
     ' "tokens": ["3045"]}]}}'),
    ('{"action": 1, "params": {"mode": 1, "tokenList": [{"exchangeType": {"a": 1},'
     ' "tokens": ["3045"]}]}}'),
    ('{"action": 1, "params": {"mode": 1, "tokenList": [{"exchangeType": true,'
     ' "tokens": ["3045"]}]}}'),
    ('{"action": 1, "params": {"mode": 1, "tokenList": [{"exchangeType": 1.0,'
     ' "tokens": ["3045"]}]}}'),
    '{"action": [1], "params": {"mode": [1], "tokenList": []}}',
    '{"action": 1, "params": {"mode": 1, "tokenList": [{"exchangeType": 1, "tokens": [3045]}]}}',
    '{"correlationID": {"a": [1]}, "action": 1}',
    '{"a":' * 100_000 + "1" + "}" * 100_000,
    "[" * 100_000 + "]" * 100_000,
    '{"action": 1, "params": {"mode": 1, "tokenList": [{"exchangeType": 1, "tokens": ["'
    + "9" * 100_000 + '"]}]}}',
    '{"action": ' + "9" * 100_000 + "}",
    "not json",
    "",
]  # fmt: skip


def _feed_headers(api: Api) -> dict[str, str]:
    return {
        "Authorization": api.jwt,
        "x-api-key": api.config.api_key,
        "x-client-code": api.config.client_code,
        "x-feed-token": api.feed_token,
    }


async def _feed_answers(api: Api, frames: list[str]) -> list[list[Any]]:
    """What the socket sends back to each frame: everything up to the pong of a ping that
    follows it. The socket must stay open through all of them."""
    answers: list[list[Any]] = []
    timeout = aiohttp.ClientTimeout(total=BOUND_S * (len(frames) + 1))
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.ws_connect(api.server.ws_url, headers=_feed_headers(api)) as ws,
    ):
        for text in frames:
            await ws.send_str(text)
            await ws.send_str("ping")
            got: list[Any] = []
            while True:
                msg = await ws.receive(timeout=BOUND_S)
                if msg.type is aiohttp.WSMsgType.TEXT and msg.data == "pong":
                    break
                if msg.type is aiohttp.WSMsgType.TEXT:
                    got.append(json.loads(msg.data))
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    got.append(bytes(msg.data))
                else:
                    got.append(f"socket {msg.type.name}")
                    answers.append(got)
                    return answers
            answers.append(got)
    return answers


def _feed_problems(got: list[Any]) -> str:
    for item in got:
        if isinstance(item, str):
            return item
        if isinstance(item, dict) and (
            set(item) != FEED_ERROR_KEYS or item["errorCode"] not in ("E1001", "E1002")
        ):
            return f"not the feed's error frame: {item!r}"
    return ""


def test_each_bad_feed_frame_gets_e1001_and_the_socket_stays_open(hostile_api: Api) -> None:
    answers = asyncio.run(_feed_answers(hostile_api, FEED_CASES))
    assert len(answers) == len(FEED_CASES), answers[-1]
    for frame, got in zip(FEED_CASES, answers, strict=True):
        assert [a["errorCode"] for a in got if isinstance(a, dict)] == ["E1001"], frame[:80]
        assert _feed_problems(got) == ""


FEED_PATHS = [
    ("action",),
    ("params",),
    ("params", "mode"),
    ("params", "tokenList"),
    ("params", "tokenList", 0),
    ("params", "tokenList", 0, "exchangeType"),
    ("params", "tokenList", 0, "tokens"),
    ("params", "tokenList", 0, "tokens", 0),
    ("correlationID",),
]
odd_values = st.sampled_from([None, True, 1.0, "1", [1], {"1": 1}, [], {}, 2**70, 5]) | json_values


def _spoil(frame: dict[str, Any], path: tuple[str | int, ...], value: Any) -> str:
    """A valid subscribe frame with the value at `path` replaced."""
    node: Any = frame
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return json.dumps(frame)


feed_frames = st.builds(
    lambda mode, exchange, path, value: _spoil(
        {
            "correlationID": "fz",
            "action": 1,
            "params": {"mode": mode, "tokenList": [{"exchangeType": exchange, "tokens": ["3045"]}]},
        },
        path,
        value,
    ),
    st.sampled_from([1, 2, 3]),
    st.sampled_from([1, 3]),
    st.sampled_from(FEED_PATHS),
    odd_values,
)


@fuzz_settings(60)
@given(frames=st.lists(feed_frames, min_size=1, max_size=4))
def test_fuzzed_feed_frames_get_ticks_or_the_error_frame_on_an_open_socket(
    hostile_api: Api, frames: list[str]
) -> None:
    answers = asyncio.run(_feed_answers(hostile_api, frames))
    assert len(answers) == len(frames), answers[-1]
    assert all(_feed_problems(got) == "" for got in answers), answers


def test_after_all_that_a_valid_login_still_works(hostile_api: Api) -> None:
    assert login_still_works(hostile_api)
