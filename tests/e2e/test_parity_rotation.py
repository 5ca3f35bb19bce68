"""Multi-symbol peer parity (issue #9, item 6): a momentum rotation over three symbols with
limit entries, stop-loss exits, market rotations and Angel One's charges. Our engine, a plain
reference venue in integer paise and backtrader agree on every fill, the round trips and the
final equity to the paisa.

The rules are `tests.support.rotation.RotationRules`: decided on the first symbol's bar of each
minute, so orders for the other two symbols are decided on a bar of another symbol. Each must
fill no earlier than its own symbol's next bar, as backtrader and the reference fill it; an
engine that let such an order meet its symbol's bar of the same minute parts from both.

INTRADAY product (a rotation sells a holding in the bar it cancels that holding's stop, which
the DELIVERY rule against selling shares already promised would refuse until the cancel is
confirmed), with the square-off turned off: backtrader has no cut-off, and the rules cancel
their orders at each session's last bar so none lives into the next day.
"""

from __future__ import annotations

import pytest

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import BacktestConfig, run_backtest
from algo_trading.backtest.charges import backtest_charges
from algo_trading.domain.events import Bar
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import OrderSide, OrderSnapshot, ProductType
from algo_trading.strategy.base import Strategy
from tests.support.parity import Outcome, assert_same_outcome
from tests.support.rotation import (
    RotationRules,
    ist_minute,
    reference_rotation,
    run_backtrader_many,
    walk_bars,
)

pytestmark = pytest.mark.slow

DAYS = 40
SYMBOLS = (("ALPHA", 7, 100_000), ("BETA", 8, 50_000), ("GAMMA", 9, 250_000))
CASH_PAISE = 1_000_000_00


class Rotation(Strategy):
    """The rules on our engine."""

    name = "rotation"

    def __init__(self, rules: RotationRules, symbols: tuple[str, ...]) -> None:
        super().__init__(symbols=symbols, product=ProductType.INTRADAY)
        self.rules = rules

    def on_bar(self, bar: Bar) -> None:
        rules = self.rules
        rules.closes[bar.symbol].append(bar.close)
        if bar.symbol != self.symbols[0]:
            return
        for a in rules.decide(ist_minute(bar.ts_ns)):
            if a.kind == "cancel":
                self.cancel(ClientOrderId(str(a.order_id)))
                continue
            send = self.buy if a.is_buy else self.sell
            coid = send(
                a.quantity,
                a.symbol,
                limit_paise=a.price_paise if a.kind == "limit" else None,
                stop_paise=a.price_paise if a.kind == "stop" else None,
            )
            rules.placed(coid, a)

    def on_fill(self, fill: Fill) -> None:
        self.rules.filled(fill.symbol, fill.side is OrderSide.BUY, fill.quantity, fill.price_paise)

    def on_order_update(self, order: OrderSnapshot) -> None:
        if order.remaining == 0 or order.status.value in ("CANCELLED", "REJECTED", "EXPIRED"):
            self.rules.done(order.client_order_id)


def _rules() -> RotationRules:
    return RotationRules([s for s, _, _ in SYMBOLS])


@pytest.fixture(scope="module")
def bars() -> list[BarSeries]:
    return [walk_bars(sym, DAYS, seed, price) for sym, seed, price in SYMBOLS]


@pytest.fixture(scope="module")
def ours(bars: list[BarSeries]) -> Outcome:
    symbols = tuple(s.symbol for s in bars)
    run = run_backtest(
        Rotation(_rules(), symbols),
        bars,
        BacktestConfig(
            cash_paise=CASH_PAISE, charges=backtest_charges("angelone"), squareoff_broker=None
        ),
    )
    assert not [o for o in run.orders if o.status.value == "REJECTED"]
    rows = [(f.ts_ns, f.symbol, f.side.value, f.quantity, f.price_paise) for f in run.fills]
    return Outcome(sorted(rows), len(run.round_trips), run.final_equity_paise)


@pytest.fixture(scope="module")
def reference(bars: list[BarSeries]) -> Outcome:
    return reference_rotation(bars, _rules(), CASH_PAISE)


@pytest.fixture(scope="module")
def peer(bars: list[BarSeries]) -> Outcome:
    return run_backtrader_many(bars, _rules(), CASH_PAISE)


def test_the_run_trades_every_symbol_with_every_kind_of_order_for_parity_to_mean_something(
    bars: list[BarSeries], reference: Outcome
) -> None:
    rows = reference.fills
    assert reference.round_trips > 50
    assert {sym for _, sym, _, _, _ in rows} == {s.symbol for s in bars}
    opens = {
        (s.symbol, t): o
        for s in bars
        for t, o in zip(s.ts_ns.tolist(), s.open.tolist(), strict=True)
    }
    buys = [r for r in rows if r[2] == "BUY"]
    sells = [r for r in rows if r[2] == "SELL"]
    # Limit entries, some at the open (the bar opened through the limit), some at the limit.
    assert 0 < sum(opens[(sym, t)] == p for t, sym, _, _, p in buys) < len(buys)
    # Exits at the open (rotations at market, stops gapped through) and inside the bar (stops).
    assert 0 < sum(opens[(sym, t)] == p for t, sym, _, _, p in sells) < len(sells)


def test_engine_matches_the_reference_fill_for_fill_to_the_paisa(
    ours: Outcome, reference: Outcome
) -> None:
    assert_same_outcome("engine", ours, "reference", reference)


def test_engine_matches_backtrader_fill_for_fill_to_the_paisa(ours: Outcome, peer: Outcome) -> None:
    assert_same_outcome("engine", ours, "backtrader", peer)
