"""A backtest's venue reads no order tags, so the engine sends it none; every order of the run
still carries its own tag when read."""

from __future__ import annotations

from algo_trading.adapters.brokers.simulated import SimulatedBroker
from algo_trading.backtest import build_strategy, generate_bars, run_backtest
from algo_trading.engine.sender import InlineSender
from algo_trading.market.audit import order_tag
from algo_trading.strategy import BUILTIN_STRATEGIES


def test_the_simulated_venue_says_it_reads_no_tags_and_the_sender_passes_it_on() -> None:
    assert SimulatedBroker.reads_order_tags is False
    broker = SimulatedBroker.__new__(SimulatedBroker)
    assert InlineSender(broker).reads_order_tags is False


def test_every_order_of_a_run_reads_its_tag() -> None:
    strategy = build_strategy(BUILTIN_STRATEGIES["sma_crossover"], {}, quantity=10)
    run = run_backtest(strategy, [generate_bars(3_000, seed=3)])
    assert len(run.orders) > 10
    assert all(o.tag == order_tag(o.strategy_id, o.client_order_id) for o in run.orders)
