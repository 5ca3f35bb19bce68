"""Intraday square-off at the broker's cut-off, in the one engine (indian-market.md §2.7)."""

from __future__ import annotations

import datetime as dt

from algo_trading.backtest import BacktestConfig, generate_bars, run_backtest
from algo_trading.domain import Bar, OrderStatus, ProductType, ist_minute
from algo_trading.market.sessions import Broker
from algo_trading.strategy import Strategy

CUTOFF_ANGEL_CASH = 15 * 60 + 15
CUTOFF_ZERODHA_CASH = 15 * 60 + 20


class BuyAtTenAndHold(Strategy):
    """Buys once a day at 10:00 and never sells: only the square-off can close it. Tries to
    buy again at 15:25, after the cut-off."""

    name = "buy_and_hold_intraday"

    def on_bar(self, bar: Bar) -> None:
        minute = ist_minute(bar.ts_ns)
        if minute in (10 * 60, 15 * 60 + 25):
            self.buy()


def _run(product: ProductType, start: dt.date, broker: Broker | None = Broker.ANGEL_ONE):
    bars = generate_bars(375 * 3, symbol="SBIN-EQ", seed=3, start=start)
    strategy = BuyAtTenAndHold(quantity=10, product=product)
    config = BacktestConfig(squareoff_broker=broker)
    return bars, run_backtest(strategy, [bars], config)


def test_intraday_positions_are_closed_at_the_cut_off_bar_open_every_day() -> None:
    bars, run = _run(ProductType.INTRADAY, dt.date(2025, 1, 6))
    sells = [f for f in run.fills if f.side.value == "SELL"]
    assert len(sells) == 3
    for f in sells:
        assert ist_minute(f.ts_ns) == CUTOFF_ANGEL_CASH
        (i,) = [k for k, t in enumerate(bars.ts_ns.tolist()) if t == f.ts_ns]
        assert f.price_paise == int(bars.open[i])
    assert all(t.quantity == 10 for t in run.round_trips)
    assert len(run.round_trips) == 3


def test_intraday_entries_after_the_cut_off_are_refused_with_a_code() -> None:
    _, run = _run(ProductType.INTRADAY, dt.date(2025, 1, 6))
    late = [o for o in run.orders if ist_minute(o.created_ns) == 15 * 60 + 25]
    assert len(late) == 3
    assert all(o.status is OrderStatus.REJECTED for o in late)
    assert all(o.reason.startswith("AFTER_SQUAREOFF_CUTOFF") for o in late)


def test_delivery_positions_are_left_alone_at_the_cut_off() -> None:
    _, run = _run(ProductType.DELIVERY, dt.date(2025, 1, 6))
    assert all(f.side.value == "BUY" for f in run.fills)
    assert len(run.fills) == 6  # 10:00 and 15:25 on each of three days


def test_another_brokers_schedule_moves_the_cut_off() -> None:
    _, run = _run(ProductType.INTRADAY, dt.date(2025, 1, 6), Broker.ZERODHA)
    sells = [f for f in run.fills if f.side.value == "SELL"]
    assert [ist_minute(f.ts_ns) for f in sells] == [CUTOFF_ZERODHA_CASH] * 3


def test_years_outside_the_calendar_use_the_rules_clock_time() -> None:
    _, run = _run(ProductType.INTRADAY, dt.date(2023, 3, 6))
    sells = [f for f in run.fills if f.side.value == "SELL"]
    assert [ist_minute(f.ts_ns) for f in sells] == [CUTOFF_ANGEL_CASH] * 3


def test_no_square_off_when_the_backtest_turns_it_off() -> None:
    _, run = _run(ProductType.INTRADAY, dt.date(2025, 1, 6), None)
    assert all(f.side.value == "BUY" for f in run.fills)
