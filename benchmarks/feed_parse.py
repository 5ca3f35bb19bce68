"""Feed parsing speed: SmartAPI WebSocket 2.0 packets parsed per second on one core (issue #5).

Prints, best of --repeat runs of --packets packets each, in this one process (pinned to one
CPU where the OS allows it):
* LTP packets/s through `packets.parse_ltp`, the hot path (target >= 500,000/s);
* LTP packets/s through `packets.parse_packet` (a full FeedPacket);
* SNAP_QUOTE packets/s through `packets.parse_packet` (best-five block included);
* DEPTH packets/s through `packets.parse_packet`, for context;
* with --round-trip, the adapter's round-trip overhead over the simulator (see the marked
  section below).

Packets are built once with `build_packet` over 1,000 distinct tokens (the per-connection
subscription limit, spec §5.1), so the token cache sees a realistic working set.

Run: .venv/bin/python benchmarks/feed_parse.py [--packets N] [--repeat N] [--round-trip]
Exits 1 when parse_ltp misses its target.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from algo_trading.adapters.brokers.angelone.packets import (
    BestFive,
    DepthLevel,
    FeedPacket,
    Mode,
    build_packet,
    parse_ltp,
    parse_packet,
)

LTP_TARGET_PER_S = 500_000
TOKENS = 1000


def _packets(mode: Mode, n: int) -> list[bytes]:
    """n packets of one mode cycling over TOKENS tokens, prices moving tick by tick."""
    base = {}
    for i in range(TOKENS):
        token = str(1000 + i)
        if mode is Mode.DEPTH:
            p = FeedPacket(
                mode,
                1,
                token,
                0,
                1734667885562,
                0,
                depth_buy=tuple(DepthLevel(10 + j, 196110 - 5 * j, 1 + j) for j in range(20)),
                depth_sell=tuple(DepthLevel(20 + j, 196115 + 5 * j, 1 + j) for j in range(20)),
            )
        else:
            five = tuple(BestFive(True, 10, 196110 - 5 * j, 2) for j in range(5)) + tuple(
                BestFive(False, 10, 196115 + 5 * j, 2) for j in range(5)
            )
            p = FeedPacket(
                mode, 1, token, i, 1734667800000, 196115 + i, 7, 196995, 624787, 158743.0,
                301219.0, 197515, 197995, 196025, 194620, 1734667800, 0, 0.0,
                five if mode is Mode.SNAP_QUOTE else (),
            )  # fmt: skip
        base[token] = build_packet(p)
    frames = list(base.values())
    return [frames[k % TOKENS] for k in range(n)]


def _rate(parse: Callable[[bytes], object], frames: Sequence[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for frame in frames:
            parse(frame)
        best = min(best, time.perf_counter() - start)
    return len(frames) / best


def _pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


# ---- adapter round-trip overhead over the simulator -------------------------------------------
# CLIENT ENGINEER: fill in `_round_trip`. It should start the simulator with
# `algo_trading.simulator.testing.running_simulator()`, log the adapter in, then time N calls of
# one cheap read (getLtpData) through the adapter and N of the same request sent raw (stdlib
# http.client, same headers and body), and return (adapter_us, raw_us) medians; the overhead is
# their difference. Until then `--round-trip` says it is not measured.
def _round_trip(calls: int) -> tuple[float, float] | None:
    del calls
    return None


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--round-trip", action="store_true", help="also time the adapter over HTTP")
    ap.add_argument("--calls", type=int, default=500, help="round-trip calls to time")
    args = ap.parse_args(argv)

    print(f"feed_parse: {args.packets:,} packets x best of {args.repeat}, {_pin_to_one_core()}")
    ltp, snap = _packets(Mode.LTP, args.packets), _packets(Mode.SNAP_QUOTE, args.packets)
    depth = _packets(Mode.DEPTH, args.packets // 4)
    fast = _rate(parse_ltp, ltp, args.repeat)
    ok = fast >= LTP_TARGET_PER_S
    print(f"  LTP        parse_ltp     {fast:>12,.0f} packets/s  target >= {LTP_TARGET_PER_S:,} "
          f"{'ok' if ok else 'MISSED'}")  # fmt: skip
    print(f"  LTP        parse_packet  {_rate(parse_packet, ltp, args.repeat):>12,.0f} packets/s")
    print(f"  SNAP_QUOTE parse_packet  {_rate(parse_packet, snap, args.repeat):>12,.0f} packets/s")
    print(f"  DEPTH      parse_packet  {_rate(parse_packet, depth, args.repeat):>12,.0f} packets/s")
    if args.round_trip:
        measured = _round_trip(args.calls)
        if measured is None:
            print("  round trip: not measured yet (see _round_trip in this file)")
        else:
            adapter_us, raw_us = measured
            print(
                f"  round trip getLtpData: adapter {adapter_us:,.0f} us, raw {raw_us:,.0f} us,"
                f" overhead {adapter_us - raw_us:,.0f} us per call"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
