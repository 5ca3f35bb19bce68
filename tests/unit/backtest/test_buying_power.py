"""Buying power in backtests (issue #9, item 8): the simulated broker refuses an order the
account cannot carry with INSUFFICIENT_FUNDS, as Angel One's RMS would, and the refusal is
recorded like any broker rejection: a REJECTED order with the reason, nothing filled."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import (
    BacktestConfig,
    BacktestRun,
    metrics_of,
    run_backtest,
    write_outputs,
)
from algo_trading.domain.events import Bar
from algo_trading.domain.orders import Order, OrderStatus, ProductType
from algo_trading.market.margins import ANGEL_ONE_MARGINS, MarginRates
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover, SmaCrossoverParams
from tests.support.builders import ist_ns
from tests.support.fakes import FlatCharges, RecordingStrategy

MINUTE_NS = 60 * 10**9
PRICE = 10_000  # ₹100.00 a share


def _series(close: list[int], symbol: str = "A") -> BarSeries:
    n = len(close)
    ts = ist_ns("2024-01-01", "09:15") + np.arange(n, dtype=np.int64) * MINUTE_NS
    c = np.array(close, dtype=np.int64)
    return BarSeries(symbol, ts, c, c + 10, c - 10, c, np.full(n, 1_000_000, np.int64))


def _run(
    act: Callable[[RecordingStrategy, Bar, int], object],
    cash_paise: int,
    close: list[int] | None = None,
    product: ProductType = ProductType.DELIVERY,
    margins: MarginRates | None = ANGEL_ONE_MARGINS,
    charges: int = 0,
) -> BacktestRun:
    count = [0]

    def on_bar(s: RecordingStrategy, bar: Bar) -> None:
        act(s, bar, count[0])
        count[0] += 1

    return run_backtest(
        RecordingStrategy(symbols=("A",), act=on_bar, product=product),
        [_series(close or [PRICE] * 6)],
        BacktestConfig(
            cash_paise=cash_paise,
            margins=margins,
            charges=FlatCharges(charges) if charges else None,
            squareoff_broker=None,
        ),
    )


def _on(k: int, order: Callable[[RecordingStrategy], object]) -> Callable[..., None]:
    def act(s: RecordingStrategy, bar: Bar, i: int) -> None:
        if i == k:
            order(s)

    return act


def _statuses(run: BacktestRun) -> list[tuple[int, OrderStatus]]:
    return [(o.quantity, o.status) for o in run.orders]


def _refused(run: BacktestRun) -> list[Order]:
    return [o for o in run.orders if o.status is OrderStatus.REJECTED]


def test_a_delivery_buy_beyond_the_cash_is_rejected_insufficient_funds_and_nothing_fills() -> None:
    run = _run(_on(0, lambda s: s.buy(11)), cash_paise=10 * PRICE)

    (order,) = _refused(run)
    assert order.reason.startswith("INSUFFICIENT_FUNDS: BUY 11 A DELIVERY needs 110000 paise")
    assert "100000 paise available" in order.reason
    assert run.fills == []
    assert run.final_equity_paise == 10 * PRICE


def test_a_delivery_buy_of_exactly_the_cash_goes_through() -> None:
    run = _run(_on(0, lambda s: s.buy(10)), cash_paise=10 * PRICE)

    assert _statuses(run) == [(10, OrderStatus.FILLED)]


def test_intraday_is_leveraged_five_times_by_default_and_the_leverage_is_configuration() -> None:
    five_x = _run(_on(0, lambda s: s.buy(50)), 10 * PRICE, product=ProductType.INTRADAY)
    beyond = _run(_on(0, lambda s: s.buy(51)), 10 * PRICE, product=ProductType.INTRADAY)
    two_x = _run(
        _on(0, lambda s: s.buy(21)),
        10 * PRICE,
        product=ProductType.INTRADAY,
        margins=MarginRates.from_leverage(intraday=2),
    )

    assert _statuses(five_x) == [(50, OrderStatus.FILLED)]
    assert _statuses(beyond) == [(51, OrderStatus.REJECTED)]
    assert _statuses(two_x) == [(21, OrderStatus.REJECTED)]


def test_an_intraday_short_needs_margin_like_a_long() -> None:
    run = _run(_on(0, lambda s: (s.sell(50), s.sell(1))), 10 * PRICE, product=ProductType.INTRADAY)

    assert _statuses(run) == [(50, OrderStatus.FILLED), (1, OrderStatus.REJECTED)]


def test_working_orders_block_margin_until_they_are_cancelled() -> None:
    def act(s: RecordingStrategy, bar: Bar, i: int) -> None:
        if i == 0:
            s.buy(6, limit_paise=PRICE - 1_000)  # rests: the bars never go that low
            s.buy(6, limit_paise=PRICE - 1_000)  # 6 + 6 shares of ₹90 > ₹1,000
        elif i == 1:
            s.cancel(s.open_orders()[0].client_order_id)
        elif i == 2:
            s.buy(5)

    run = _run(act, cash_paise=10 * PRICE)

    assert _statuses(run) == [
        (6, OrderStatus.CANCELLED),
        (6, OrderStatus.REJECTED),
        (5, OrderStatus.FILLED),
    ]


def test_open_intraday_positions_block_their_margin() -> None:
    def act(s: RecordingStrategy, bar: Bar, i: int) -> None:
        if i == 0:
            s.buy(40)  # blocks 40 x ₹100 x 20 % = ₹800 of ₹1,000
        elif i == 2:
            s.buy(11)  # needs ₹220
        elif i == 3:
            s.buy(10)  # needs ₹200

    run = _run(act, cash_paise=10 * PRICE, product=ProductType.INTRADAY)

    assert _statuses(run) == [
        (40, OrderStatus.FILLED),
        (11, OrderStatus.REJECTED),
        (10, OrderStatus.FILLED),
    ]


def test_an_unrealised_intraday_loss_counts_against_the_funds() -> None:
    # Long 40 at ₹100 intraday: ₹800 of margin blocked, ₹200 free. The price falls to ₹98:
    # ₹80 of unrealised loss leaves ₹120, so 7 more at ₹98 (₹137.20 of margin) no longer fit.
    close = [PRICE, PRICE, PRICE - 200, PRICE - 200, PRICE - 200]

    def buy_then(more: int) -> Callable[..., None]:
        def act(s: RecordingStrategy, bar: Bar, i: int) -> None:
            if i == 0:
                s.buy(40)
            elif i == 2:
                s.buy(more)

        return act

    fits = _run(buy_then(6), 10 * PRICE, close=close, product=ProductType.INTRADAY)
    too_many = _run(buy_then(7), 10 * PRICE, close=close, product=ProductType.INTRADAY)

    assert _statuses(fits) == [(40, OrderStatus.FILLED), (6, OrderStatus.FILLED)]
    assert _statuses(too_many) == [(40, OrderStatus.FILLED), (7, OrderStatus.REJECTED)]


def test_selling_a_delivery_holding_needs_no_funds_even_with_no_cash_left() -> None:
    def act(s: RecordingStrategy, bar: Bar, i: int) -> None:
        if i == 0:
            s.buy(10)  # all the cash; the charges then take the account below zero
        elif i == 2:
            s.sell(10)

    run = _run(act, cash_paise=10 * PRICE, charges=500)

    assert _statuses(run) == [(10, OrderStatus.FILLED), (10, OrderStatus.FILLED)]


def test_a_closing_order_is_never_refused_for_funds() -> None:
    # Short 50 intraday on ₹1,000; the price doubles: the account is far below zero, and
    # the buy that closes the short still goes (a flip's opening part would not).
    close = [PRICE, PRICE, 2 * PRICE, 2 * PRICE, 2 * PRICE, 2 * PRICE]

    def act(s: RecordingStrategy, bar: Bar, i: int) -> None:
        if i == 0:
            s.sell(50)
        elif i == 2:
            s.buy(51)  # closes 50, opens 1: the one it opens cannot be carried
        elif i == 3:
            s.buy(50)

    run = _run(act, cash_paise=10 * PRICE, close=close, product=ProductType.INTRADAY)

    assert _statuses(run) == [
        (50, OrderStatus.FILLED),
        (51, OrderStatus.REJECTED),
        (50, OrderStatus.FILLED),
    ]
    assert run.final_equity_paise == 10 * PRICE - 50 * PRICE


def test_without_margins_the_old_unlimited_behaviour_remains_for_who_asks_for_it() -> None:
    run = _run(_on(0, lambda s: s.buy(1_000)), cash_paise=0, margins=None)

    assert _statuses(run) == [(1_000, OrderStatus.FILLED)]


def test_a_crore_of_stock_on_a_thousand_rupees_is_refused_and_the_run_stays_flat() -> None:
    # `algo-trading backtest --cash 1000 --quantity 10000` bought a crore of stock and reported
    # +1,677,866 %; every entry is now refused and the account never moves.
    rng = np.random.default_rng(3)
    close = (PRICE + np.cumsum(rng.integers(-3, 4, size=2_000)) * 5).tolist()
    run = run_backtest(
        SmaCrossover(SmaCrossoverParams(fast=5, slow=20), symbols=("A",), quantity=10_000),
        [_series(close)],
        BacktestConfig(cash_paise=1_000 * 100),
    )

    assert len(run.orders) > 10
    assert all(o.status is OrderStatus.REJECTED for o in run.orders)
    assert all(o.reason.startswith("INSUFFICIENT_FUNDS") for o in run.orders)
    assert run.fills == []
    assert run.final_equity_paise == 1_000 * 100
    assert set(run.equity_paise.tolist()) == {1_000 * 100}


@pytest.mark.parametrize("quantity", [10_000, 100_000_000])
def test_any_quantity_beyond_the_cash_is_refused_without_an_error(quantity: int) -> None:
    run = _run(_on(0, lambda s: s.buy(quantity)), cash_paise=1_000 * 100)

    assert _statuses(run) == [(quantity, OrderStatus.REJECTED)]


# --- sequences of orders --------------------------------------------------------------------

_ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["buy_limit", "buy_market", "sell_all", "sell_some", "cancel", "wait"]),
        st.integers(1, 40),  # quantity
        st.integers(0, 30),  # ticks below the last close, for a limit
    ),
    min_size=5,
    max_size=40,
)


@settings(max_examples=60)
@given(
    steps=st.lists(st.integers(-40, 40), min_size=40, max_size=40),
    actions=_ACTIONS,
    cash_rupees=st.integers(0, 5_000),
)
def test_a_delivery_account_never_spends_cash_it_does_not_have_and_never_refuses_a_sale(
    steps: list[int], actions: list[tuple[str, int, int]], cash_rupees: int
) -> None:
    # Limit buys (which fill at the limit or better) and sells of shares held, in any order,
    # with cancels: cash after every fill stays >= 0, and no sale is refused for funds.
    close = (PRICE + np.cumsum(np.array(steps, dtype=np.int64)) * 5).tolist()

    def act(s: RecordingStrategy, bar: Bar, i: int) -> None:
        if i >= len(actions):
            return
        kind, qty, below = actions[i]
        held = s.position() - sum(o.remaining for o in s.open_orders() if o.side.value == "SELL")
        if kind == "buy_limit":
            s.buy(qty, limit_paise=bar.close - 5 * below)
        elif kind == "sell_all" and held > 0:
            s.sell(held)
        elif kind == "sell_some" and held > 0:
            s.sell(min(qty, held))
        elif kind == "cancel" and s.open_orders():
            s.cancel(s.open_orders()[0].client_order_id)

    run = _run(act, cash_paise=cash_rupees * 100, close=close)

    cash = cash_rupees * 100
    for f in run.fills:
        cash -= f.signed_quantity * f.price_paise
        assert cash >= 0, f"cash {cash} paise after {f}"
    sells = [o for o in run.orders if o.side.value == "SELL"]
    assert all(o.status is not OrderStatus.REJECTED for o in sells)


@settings(max_examples=60)
@given(steps=st.lists(st.integers(-200, 200), min_size=30, max_size=30), actions=_ACTIONS)
def test_an_intraday_order_that_only_reduces_the_position_is_never_refused(
    steps: list[int], actions: list[tuple[str, int, int]]
) -> None:
    # Prices swing hard against a leveraged book; whatever the funds, an order that only
    # brings the position towards zero goes through.
    close = (PRICE + np.cumsum(np.array(steps, dtype=np.int64)) * 5).tolist()
    reducing: list[str] = []

    def act(s: RecordingStrategy, bar: Bar, i: int) -> None:
        if i >= len(actions):
            return
        kind, qty, _ = actions[i]
        pos = s.position()
        if kind in ("sell_all", "sell_some") and pos and not s.open_orders():
            reducing.append(s.target_position(0 if kind == "sell_all" else pos - pos // 2 or 0))
        elif kind == "buy_market":
            s.buy(qty)
        elif kind == "buy_limit":
            s.sell(qty)

    run = _run(act, cash_paise=2_000 * 100, close=close, product=ProductType.INTRADAY)

    by_id = {o.client_order_id: o for o in run.orders}
    assert all(by_id[c].status is not OrderStatus.REJECTED for c in reducing if c is not None)


def test_the_refusal_shows_in_the_written_orders_as_a_rejected_order_with_its_reason(
    tmp_path: Path,
) -> None:
    run = _run(_on(0, lambda s: s.buy(11)), cash_paise=10 * PRICE)

    write_outputs(run, metrics_of(run), tmp_path)

    with (tmp_path / "orders.csv").open(newline="", encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert row["status"] == "REJECTED"
    assert row["reason"].startswith("INSUFFICIENT_FUNDS: BUY 11 A DELIVERY needs")
    with (tmp_path / "fills.csv").open(newline="", encoding="utf-8") as f:
        assert list(csv.DictReader(f)) == []
