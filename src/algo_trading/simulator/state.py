"""Everything one simulator instance knows, built from its config (no I/O, no event loop)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from algo_trading.domain.instruments import Exchange
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.simulator.auth import Authenticator
from algo_trading.simulator.clock import SimClock
from algo_trading.simulator.config import FaultConfig, SimulatorConfig
from algo_trading.simulator.exchange import SimExchange
from algo_trading.simulator.limits import RateLimiter
from algo_trading.simulator.market import Market, Quote
from algo_trading.simulator.scripmaster import build_records, build_scrip_master

__all__ = ["SimState"]


@dataclass
class SimState:
    config: SimulatorConfig
    clock: SimClock
    records: list[dict[str, str]]
    master: InstrumentMaster
    market: Market
    exchange: SimExchange
    auth: Authenticator
    limiter: RateLimiter
    faults: FaultConfig
    rng: random.Random
    gtt_rules: dict[int, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, config: SimulatorConfig) -> SimState:
        clock = SimClock(config)
        records = build_records(clock.today())
        master = build_scrip_master(records)
        market = Market(master, config.seed)
        exchange = SimExchange(
            master,
            market,
            clock,
            config.starting_funds_paise,
            accept_amo=config.accept_amo,
            max_volume_pct=config.max_volume_pct,
        )
        state = cls(
            config=config,
            clock=clock,
            records=records,
            master=master,
            market=market,
            exchange=exchange,
            auth=Authenticator(config, clock),
            limiter=RateLimiter(),
            faults=config.faults,
            rng=random.Random(config.seed),
        )
        state.set_faults(config.faults)
        return state

    def set_faults(self, faults: FaultConfig) -> None:
        self.faults = faults
        self.auth.session_ttl_s = faults.session_ttl_s

    def open_exchanges(self) -> dict[Exchange, bool]:
        now = self.clock.now_ns()
        return {e: self.clock.is_open(e, now) for e in (Exchange.NSE, Exchange.NFO, Exchange.BSE)}

    def step(self) -> list[Quote]:
        """One market tick: AMOs of open exchanges go in, prices move, orders match."""
        now = self.clock.now_ns()
        opened = self.open_exchanges()
        self.exchange.release_amos(opened)
        moved = self.market.step(now, opened)
        self.exchange.on_quotes(moved, now)
        return moved

    def force_trade(self, exchange: Exchange, token: str, price_paise: int, qty: int) -> Quote:
        """Make one instrument trade at a chosen price and size, then match (tests, demos)."""
        now = self.clock.now_ns()
        self.exchange.release_amos(self.open_exchanges())
        quote = self.market.set_trade((exchange, token), price_paise, qty, now)
        self.exchange.on_quotes([quote], now)
        return quote
