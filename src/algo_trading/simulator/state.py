"""Everything one simulator instance knows, built from its config and the package data."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from algo_trading.domain.errors import InvalidInputError
from algo_trading.domain.instruments import Exchange
from algo_trading.domain.money import paise_to_decimal
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.simulator.auth import Authenticator
from algo_trading.simulator.clock import SimClock
from algo_trading.simulator.config import FaultConfig, SimulatorConfig
from algo_trading.simulator.day_end import DayKeeper
from algo_trading.simulator.exchange import SimExchange
from algo_trading.simulator.gtt import GttTrigger, fire_gtt_rules
from algo_trading.simulator.limits import RateLimiter
from algo_trading.simulator.market import Market, Quote
from algo_trading.simulator.reference_prices import load_reference_prices
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
    days: DayKeeper
    gtt_rules: dict[int, dict[str, Any]] = field(default_factory=dict)
    gtt_triggers: dict[int, GttTrigger] = field(default_factory=dict)

    @classmethod
    def build(cls, config: SimulatorConfig) -> SimState:
        clock = SimClock(config)
        records = build_records(clock.today())
        master = build_scrip_master(records)
        reference = {symbol: p.price_paise for symbol, p in load_reference_prices().items()}
        market = Market(master, config.seed, reference)
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
            days=DayKeeper(exchange, market, clock),
        )
        state.set_faults(config.faults)
        return state

    def set_faults(self, faults: FaultConfig) -> None:
        self.faults = faults
        self.auth.session_ttl_s = faults.session_ttl_s

    def open_exchanges(self) -> dict[Exchange, bool]:
        now = self.clock.now_ns()
        return {e: self.clock.is_open(e, now) for e in (Exchange.NSE, Exchange.NFO, Exchange.BSE)}

    def catch_up(self) -> int:
        """Let the day's events the clock has passed happen (square-off, a new session) and
        return now; every tick and every REST call starts here."""
        now = self.clock.now_ns()
        self.days.catch_up(now)
        return now

    def step(self) -> list[Quote]:
        """One market tick: AMOs of open exchanges go in, prices move, orders match, GTT rules
        whose trigger was crossed place their orders."""
        now = self.catch_up()
        opened = self.open_exchanges()
        self.exchange.release_amos(opened)
        moved = self.market.step(now, opened)
        self._match(moved, now)
        return moved

    def force_trade(self, exchange: Exchange, token: str, price_paise: int, qty: int) -> Quote:
        """Make one instrument trade at a chosen price and size, then match (tests, demos).
        The price must be one the exchange could print: positive and on the tick."""
        current = self.market.get(exchange, token)
        if current is None:
            raise InvalidInputError(f"force_trade: no instrument {exchange.value}:{token}")
        tick = current.tick_paise
        if price_paise <= 0 or price_paise % tick:
            raise InvalidInputError(
                f"force_trade {current.instrument.symbol}: price "
                f"{paise_to_decimal(price_paise)} is not a positive multiple of the tick size "
                f"{paise_to_decimal(tick)}"
            )
        now = self.catch_up()
        self.exchange.release_amos(self.open_exchanges())
        quote = self.market.set_trade((exchange, token), price_paise, qty, now)
        self._match([quote], now)
        return quote

    def _match(self, quotes: list[Quote], now: int) -> None:
        self.exchange.on_quotes(quotes, now)
        fire_gtt_rules(self.gtt_rules, self.gtt_triggers, self.exchange, quotes, now)
