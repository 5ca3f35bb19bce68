"""The kill switch over the wire (issue #10 item 5 acceptance): the engine, through the Angel One
adapter over HTTP against the simulator on 127.0.0.1, with long and short positions in several
symbols and resting orders; `kill_switch` leaves the simulator itself with no open order and
every position flat within 2 seconds, and new orders are refused until a person resets it.

Here the simulator's market moves by itself (a step every 100 ms), as a venue does."""

from __future__ import annotations

import time
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.domain.orders import (
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    ProductType,
)
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.risk import RiskLimits, RiskManager
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.simulator.config import SimulatorConfig
from tests.support.alerts import RecordingNotifier

from .conftest import MovingClock, wait_for
from .helpers import ltp_paise, make_broker

SYMBOLS = ("SBIN-EQ", "INFY-EQ", "TCS-EQ")


@pytest.fixture
def sim_config(clock: MovingClock) -> SimulatorConfig:
    return SimulatorConfig(port=0, clock=clock.now_ns, always_open=True, tick_interval_s=0.1)


def venue(server: Any) -> tuple[list[str], dict[str, int]]:
    """The simulator's own books, read in its loop (no HTTP, no rate limit): the ids of our
    working orders, and our net quantity per symbol."""

    def read(state: Any) -> tuple[list[str], dict[str, int]]:
        ex = state.exchange
        working = [o.orderid for o in ex.orders.values() if o.is_working]
        account = ex.account(state.config.client_code)
        nets = {p.instrument.symbol: p.net_qty for p in account.positions.values()}
        return working, nets

    result: tuple[list[str], dict[str, int]] = server.call(read)
    return result


def _intent(
    strategy: str,
    symbol: str,
    side: OrderSide,
    quantity: int,
    price_paise: int | None = None,
) -> OrderIntent:
    return OrderIntent(
        strategy,
        symbol,
        side,
        quantity,
        OrderType.MARKET if price_paise is None else OrderType.LIMIT,
        price_paise,
        None,
        ProductType.INTRADAY,
    )


def test_the_kill_switch_cancels_and_flattens_everything_at_the_simulator_within_2_seconds(
    session: AngelOneSession, master: InstrumentMaster, clock: MovingClock, server: Any
) -> None:
    broker, _ = make_broker(session, master, clock)
    notifier = RecordingNotifier()
    manager = RiskManager(RiskLimits(max_order_quantity=1_000))
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=1_00_00_000_00,
        instruments=[master.by_symbol(s) for s in SYMBOLS],
        risk_manager=manager,
        notifier=notifier,
    )
    engine.start()
    account = AngelOneAccount(session)

    def pump() -> None:
        broker.poll()
        engine.on_timer(clock.now_ns())

    # positions: alpha long two symbols, beta short one
    engine.submit(_intent("alpha", "SBIN-EQ", OrderSide.BUY, 7))
    engine.submit(_intent("alpha", "INFY-EQ", OrderSide.BUY, 3))
    engine.submit(_intent("beta", "TCS-EQ", OrderSide.SELL, 2))

    def positions_open() -> bool:
        pump()
        return [engine.position_quantity(s) for s in SYMBOLS] == [7, 3, -2]

    wait_for(positions_open, what="the positions to open")
    # resting orders far from the market, within its band, on both sides
    resting = []
    for strategy, symbol, side, pct in (
        ("alpha", "SBIN-EQ", OrderSide.BUY, 95),
        ("beta", "INFY-EQ", OrderSide.SELL, 105),
        ("beta", "TCS-EQ", OrderSide.BUY, 96),
    ):
        tick = master.by_symbol(symbol).tick_size_paise
        price = ltp_paise(session, master, symbol) * pct // 100 // tick * tick
        resting.append(engine.submit(_intent(strategy, symbol, side, 1, price)))
    last_order_sent = time.monotonic()
    working, nets = venue(server)
    assert len(working) == 3
    assert nets == {"SBIN-EQ": 7, "INFY-EQ": 3, "TCS-EQ": -2}
    # The set-up's six orders spent most of the broker's budget of 9 order actions a second
    # (angel-one-smartapi.md §6.1); the kill's six would wait for it. A session's kill switch
    # meets a budget its last orders spent more than a second ago: so does this one.
    wait_for(lambda: time.monotonic() - last_order_sent > 1.1, what="the order budget")

    started = time.monotonic()
    engine.kill_switch("integration test: everything off", by="test")
    sent_s = time.monotonic() - started  # every cancel and closing order handed to the broker
    closed_at = None
    while time.monotonic() - started < 5.0:
        working, nets = venue(server)
        if not working and not any(nets.values()):
            closed_at = time.monotonic() - started
            break
        time.sleep(0.005)
    assert closed_at is not None, f"still working {working}, positions {nets}"
    assert closed_at < 2.0, f"sent in {sent_s:.3f} s, closed in {closed_at:.3f} s"

    # the engine's books agree once the reports are in, and it refuses new orders until reset
    def engine_flat() -> bool:
        pump()
        return all(engine.position_quantity(s) == 0 for s in SYMBOLS)

    wait_for(engine_flat, what="the engine's books to follow")
    assert all(engine.orders.orders[c].status is OrderStatus.CANCELLED for c in resting)
    refused = engine.submit(_intent("alpha", "SBIN-EQ", OrderSide.BUY, 1))
    assert engine.orders.orders[refused].reason.startswith("KILL_SWITCH")
    assert notifier.codes() == ["KILL_SWITCH"]
    sent_before = len(account.order_book())
    engine.reset_kill_switch(by="test")
    engine.submit(_intent("alpha", "SBIN-EQ", OrderSide.BUY, 1))
    assert len(account.order_book()) == sent_before + 1
    engine.stop()
