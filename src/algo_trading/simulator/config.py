"""The simulator's settings: credentials, clock, market and fault injection, all frozen values.

Demo credentials are defaults on purpose (issue #5): the simulator is a test double and a paper
broker, never a place for real secrets.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "DEMO_API_KEY",
    "DEMO_CLIENT_CODE",
    "DEMO_MPIN",
    "DEMO_TOTP_SECRET",
    "FaultConfig",
    "SimulatorConfig",
]

DEMO_API_KEY = "sim-demo-api-key"
DEMO_CLIENT_CODE = "S123456"
DEMO_MPIN = "1234"
DEMO_TOTP_SECRET = "SIMULATORDEMOTOTPSECRETKEY234567"  # noqa: S105 - the published demo secret (issue #5)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Faults injected by configuration; all off by default. Probabilities are in [0, 1] and
    drawn from the simulator's seeded generator, so a run with one seed repeats itself."""

    latency_ms: int = 0  # added to every REST answer
    place_order_latency_ms: int = 0  # added to placeOrder only (client timeouts on place)
    error_rate: float = 0.0  # share of REST calls answered with HTTP `error_status`
    error_status: int = 500
    rate_limit_rate: float = 0.0  # share of REST calls answered with the HTTP 403 text
    session_ttl_s: float | None = None  # sessions expire this long after login (sim clock)
    feed_drop_after_frames: int | None = None  # close a feed socket after this many frames

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultConfig.{name} {value} is not in [0, 1]")
        if self.latency_ms < 0 or self.place_order_latency_ms < 0:
            raise ValueError("FaultConfig latencies must be >= 0 ms")
        if not 500 <= self.error_status <= 599:
            raise ValueError(f"FaultConfig.error_status {self.error_status} is not a 5xx status")


def _wall_clock_ns() -> int:
    return time.time_ns()


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything the simulator is told at start.

    `clock` returns epoch nanoseconds (real time by default; tests inject their own).
    `replay_day` with `replay_speed` runs that IST trading day from its open, `replay_speed`
    simulated seconds per real second. `tick_interval_s` None means the market moves only when
    `SimulatorServer.advance()` is called (tests).
    """

    host: str = "127.0.0.1"
    port: int = 8765
    api_key: str = DEMO_API_KEY
    client_code: str = DEMO_CLIENT_CODE
    mpin: str = DEMO_MPIN
    totp_secret: str = DEMO_TOTP_SECRET
    clock: Callable[[], int] = _wall_clock_ns
    always_open: bool = False
    replay_day: dt.date | None = None
    replay_speed: float = 60.0
    tick_interval_s: float | None = 1.0
    seed: int = 5
    starting_funds_paise: int = 10_00_000_00  # ₹10,00,000
    accept_amo: bool = True
    rate_limits: bool = True
    # Largest share (%) of one tick's traded volume an order may take; the rest fills later.
    max_volume_pct: int | None = 100
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise ValueError(f"SimulatorConfig.port {self.port} is not a TCP port")
        if self.replay_speed <= 0:
            raise ValueError("SimulatorConfig.replay_speed must be positive")
        if self.tick_interval_s is not None and self.tick_interval_s <= 0:
            raise ValueError("SimulatorConfig.tick_interval_s must be positive or None")
        if self.starting_funds_paise < 0:
            raise ValueError("SimulatorConfig.starting_funds_paise must be >= 0")
