"""Feed parsing speed: SmartAPI WebSocket 2.0 packets parsed per second on one core (issue #5).

Prints, best of --repeat runs of --packets packets each, in this one process (pinned to one
CPU where the OS allows it):
* LTP packets/s through `packets.parse_ltp`, the hot path (target >= 500,000/s);
* LTP packets/s through `packets.parse_packet` (a full FeedPacket);
* SNAP_QUOTE packets/s through `packets.parse_packet` (best-five block included);
* DEPTH packets/s through `packets.parse_packet`, for context;
* with --round-trip, the adapter's round-trip overhead over the simulator: median and p99
  latency of getLtpData and getOrderBook through the adapter (`AngelOneMarketData.ltp`,
  `AngelOneAccount.order_book`) and of the same request sent bare with httpx, alternating, in
  one run against one simulator on 127.0.0.1; the difference is the adapter's overhead
  (headers, pacing, retry wrapper, exact JSON parsing, typed rows). The adapter's client-side
  rate limits are lifted for the timing, or it would measure its own pacing.

Packets are built once with `build_packet` over 1,000 distinct tokens (the per-connection
subscription limit, spec §5.1), so the token cache sees a realistic working set.

Run: .venv/bin/python benchmarks/feed_parse.py [--packets N] [--repeat N] [--round-trip]
     [--calls N]
Exits 1 when parse_ltp misses its target.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import (
    ROUTES,
    AngelOneConfig,
    AngelOneCredentials,
    LimitGroup,
)
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.adapters.brokers.angelone.packets import (
    BestFive,
    DepthLevel,
    FeedPacket,
    Mode,
    build_packet,
    parse_ltp,
    parse_packet,
)
from algo_trading.adapters.brokers.angelone.parsing import place_order_body
from algo_trading.market.throttle import NS_PER_SECOND, RateLimit
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator

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
RT_SYMBOL = "SBIN-EQ"
RT_BOOK_ROWS = 20  # resting orders, so the order book has rows to parse
RT_WARMUP = 50


class _WallClock:
    def now_ns(self) -> int:
        return time.time_ns()


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One route's latencies in microseconds, through the adapter and sent bare."""

    route: str
    adapter_us: list[float]
    bare_us: list[float]


def _percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in (0, 1])."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _time_pair(
    adapted: Callable[[], object], bare: Callable[[], httpx.Response], calls: int
) -> tuple[list[float], list[float]]:
    """`calls` timings of each, alternating so that drift hits both alike."""
    for _ in range(RT_WARMUP):
        adapted()
        bare().raise_for_status()
    adapter_us, bare_us = [], []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        adapted()
        t1 = time.perf_counter_ns()
        response = bare()
        t2 = time.perf_counter_ns()
        response.raise_for_status()
        adapter_us.append((t1 - t0) / 1000)
        bare_us.append((t2 - t1) / 1000)
    return adapter_us, bare_us


def _round_trip(calls: int) -> list[RoundTrip]:
    """getLtpData and getOrderBook, through the adapter and bare, against one simulator."""
    sim = SimulatorConfig(always_open=True, tick_interval_s=None, rate_limits=False)
    with running_simulator(sim) as server:
        unpaced = {group: (RateLimit(10**9, NS_PER_SECOND),) for group in LimitGroup}
        config = AngelOneConfig(rest_base_url=server.base_url, rate_limits=unpaced, rate_guard_ms=0)
        credentials = AngelOneCredentials(
            api_key=sim.api_key,
            client_code=sim.client_code,
            mpin=sim.mpin,
            totp_secret=sim.totp_secret,
        )
        inst = server.call(lambda state: state.master.by_symbol(RT_SYMBOL))
        token = str(inst.token)
        with (
            AngelOneHttp(config) as http,
            httpx.Client(base_url=server.base_url, timeout=config.timeout_s) as bare,
        ):
            session = AngelOneSession(http, credentials, _WallClock())
            session.login()
            headers = session.headers()
            market, account = AngelOneMarketData(session), AngelOneAccount(session)
            ltp = market.ltp(inst.exchange.value, inst.symbol, token).ltp_paise
            for i in range(RT_BOOK_ROWS):
                price = (ltp * 97 // 100) // 10 * 10 - 10 * i  # resting, inside the band
                body = place_order_body(
                    variety="NORMAL", symbol=inst.symbol, token=token,
                    exchange=inst.exchange.value, side="BUY", order_type="LIMIT",
                    product="INTRADAY", duration="DAY", quantity=1, price_paise=price,
                    tag=f"rt{i}",
                )  # fmt: skip
                session.call("place", body)
            if len(account.order_book()) != RT_BOOK_ROWS:
                raise RuntimeError("round trip: the resting orders did not all reach the book")
            ltp_body = {"exchange": inst.exchange.value, "tradingsymbol": inst.symbol,
                        "symboltoken": token}  # fmt: skip
            ltp_path, book_path = ROUTES["ltp"].path, ROUTES["order_book"].path
            pairs = [
                (
                    "getLtpData",
                    lambda: market.ltp(inst.exchange.value, inst.symbol, token),
                    lambda: bare.post(ltp_path, headers=headers, json=ltp_body),
                ),
                (
                    f"getOrderBook ({RT_BOOK_ROWS} rows)",
                    account.order_book,
                    lambda: bare.get(book_path, headers=headers),
                ),
            ]
            return [RoundTrip(name, *_time_pair(a, b, calls)) for name, a, b in pairs]


def _print_round_trips(results: Sequence[RoundTrip], calls: int) -> None:
    print(
        f"  round trip over the simulator on 127.0.0.1, {calls:,} calls each, alternating"
        " (adapter rate limits lifted):"
    )
    for r in results:
        a50, a99 = _percentile(r.adapter_us, 0.5), _percentile(r.adapter_us, 0.99)
        b50, b99 = _percentile(r.bare_us, 0.5), _percentile(r.bare_us, 0.99)
        print(f"    {r.route}")
        print(f"      adapter     median {a50:>8,.0f} us   p99 {a99:>8,.0f} us")
        print(f"      bare httpx  median {b50:>8,.0f} us   p99 {b99:>8,.0f} us")
        print(f"      overhead    median {a50 - b50:>8,.0f} us   p99 {a99 - b99:>8,.0f} us")


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
        _print_round_trips(_round_trip(args.calls), args.calls)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
