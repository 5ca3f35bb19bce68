"""A feed client killed mid-frame (SIGKILL: its socket resets under the send) must not stop the
simulator's ticker: the send is dropped with that connection, the other clients keep their
frames. Before the fix the ConnectionResetError ended the ticker task, and the market froze."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from algo_trading.simulator.feed import FeedConnection, FeedHub


class _Ws:
    def __init__(self, dead: bool) -> None:
        self.closed = False
        self.dead = dead
        self.frames: list[bytes] = []

    async def send_bytes(self, frame: bytes) -> None:
        if self.dead:
            raise ConnectionResetError("Cannot write to closing transport")
        self.frames.append(frame)


class _Transport:
    aborted = False

    def abort(self) -> None:
        self.aborted = True


def _conn(dead: bool) -> tuple[FeedConnection, _Ws, _Transport]:
    ws, transport = _Ws(dead), _Transport()
    request: Any = SimpleNamespace(transport=transport)
    return FeedConnection("S1", ws, request), ws, transport  # type: ignore[arg-type]


def test_a_reset_socket_is_aborted_and_the_next_client_still_gets_its_frame() -> None:
    hub = FeedHub()
    state: Any = SimpleNamespace(faults=SimpleNamespace(feed_drop_after_frames=None))
    dead, _, dead_transport = _conn(dead=True)
    alive, alive_ws, _ = _conn(dead=False)

    async def send_both() -> None:
        await hub._send(state, dead, b"frame")
        await hub._send(state, alive, b"frame")

    asyncio.run(send_both())
    assert dead_transport.aborted
    assert dead.frames_sent == 0
    assert alive_ws.frames == [b"frame"]
