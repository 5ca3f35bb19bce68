"""The backtest's charges model: a run's charges are the calculator's totals over its round
trips, to the paisa, through partial fills and flips, and the cash books stay exact."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import pytest

from algo_trading.adapters.history import BarSeries
from algo_trading.backtest import BacktestConfig, BacktestRun, generate_bars, run_backtest
from algo_trading.backtest.charges import (
    RoundTripCharges,
    backtest_charges,
    backtest_product,
)
from algo_trading.domain import (
    ConfigError,
    Exchange,
    Fill,
    Instrument,
    InstrumentToken,
    InstrumentType,
    OrderSide,
    ProductType,
    RoundTrip,
    ns_to_ist,
)
from algo_trading.engine import Portfolio
from algo_trading.market import (
    ANGEL_ONE,
    ZERODHA,
    BrokerSchedule,
    ChargeSegment,
    round_trip_charges,
)
from algo_trading.strategy.builtin.sma_crossover import SmaCrossover, SmaCrossoverParams
from tests.support.builders import ist_ns, make_fill, make_order

BUY, SELL = OrderSide.BUY, OrderSide.SELL
SEGMENT_OF = {
    ProductType.INTRADAY: ChargeSegment.EQUITY_INTRADAY,
    ProductType.DELIVERY: ChargeSegment.EQUITY_DELIVERY,
}


@pytest.fixture(scope="module")
def bars() -> BarSeries:
    return generate_bars(6 * 375, symbol="SBIN-EQ", seed=11, start=dt.date(2025, 3, 3))


def _run(
    bars: BarSeries,
    model: RoundTripCharges,
    product: ProductType,
    *,
    allow_short: bool = False,
    max_volume_pct: int | None = None,
) -> BacktestRun:
    strategy = SmaCrossover(
        SmaCrossoverParams(fast=5, slow=20, allow_short=allow_short),
        quantity=100,
        product=product,
    )
    config = BacktestConfig(charges=model, max_volume_pct=max_volume_pct)
    return run_backtest(strategy, [bars], config)


def _calculator_total(trip: RoundTrip, product: ProductType, broker: BrokerSchedule) -> int:
    """What the calculator says a round trip costs, from the trip alone (one order a side)."""
    entry_day, exit_day = ns_to_ist(trip.entry_ns).date(), ns_to_ist(trip.exit_ns).date()
    buy, sell = trip.entry_value_paise, trip.exit_value_paise
    buy_day, sell_day = entry_day, exit_day
    if trip.direction < 0:
        buy, sell, buy_day, sell_day = sell, buy, exit_day, entry_day
    return round_trip_charges(
        SEGMENT_OF[product], buy, sell, broker=broker, trade_date=buy_day, sell_date=sell_day
    ).total_paise


def _cash_from_fills(start: int, fills: Iterable[Fill]) -> int:
    return start - sum(f.signed_quantity * f.price_paise + f.charges_paise for f in fills)


@pytest.mark.parametrize(
    ("broker", "product"),
    [(ANGEL_ONE, ProductType.INTRADAY), (ZERODHA, ProductType.DELIVERY)],
)
def test_sma_crossover_run_charges_equal_the_calculator_summed_over_its_round_trips(
    bars: BarSeries, broker: BrokerSchedule, product: ProductType
) -> None:
    run = _run(bars, RoundTripCharges(broker), product)
    assert len(run.round_trips) >= 5
    expected = [_calculator_total(t, product, broker) for t in run.round_trips]
    assert run.charges_paise == sum(f.charges_paise for f in run.fills) == sum(expected)
    # Without flips every closing fill belongs to one trip, so each trip carries its own total.
    assert [t.charges_paise for t in run.round_trips] == expected


def test_books_stay_exact_with_charges_debited_at_each_closing_fill(bars: BarSeries) -> None:
    run = _run(bars, RoundTripCharges(ANGEL_ONE), ProductType.INTRADAY)
    open_qty = sum(f.signed_quantity for f in run.fills)
    last_close = int(bars.close[-1])
    cash = _cash_from_fills(run.starting_cash_paise, run.fills)
    assert run.final_equity_paise == cash + open_qty * last_close
    assert run.charges_paise > 0


def test_partial_fills_and_flips_charge_every_closed_trip_once_and_only_once(
    bars: BarSeries,
) -> None:
    model = RoundTripCharges(ANGEL_ONE)
    run = _run(bars, model, ProductType.INTRADAY, allow_short=True, max_volume_pct=1)
    per_order: dict[str, int] = {}
    for f in run.fills:
        per_order[f.client_order_id] = per_order.get(f.client_order_id, 0) + 1
    assert max(per_order.values()) > 1, "the run should have partially filled orders"
    assert any(t.direction < 0 for t in run.round_trips), "the run should go short"
    assert len(model.charged) == len(run.round_trips)
    for trip, charged in zip(run.round_trips, model.charged, strict=True):
        values = (trip.entry_value_paise, trip.exit_value_paise)
        if trip.direction < 0:
            values = values[::-1]
        assert (charged.buy_value_paise, charged.sell_value_paise) == values
        recomputed = round_trip_charges(
            charged.segment,
            charged.buy_value_paise,
            charged.sell_value_paise,
            broker=ANGEL_ONE,
            trade_date=charged.buy_date,
            sell_date=charged.sell_date,
            buy_orders=charged.buy_orders,
            sell_orders=charged.sell_orders,
        )
        assert recomputed == charged.charges
    total = sum(c.charges.total_paise for c in model.charged)
    assert run.charges_paise == sum(f.charges_paise for f in run.fills) == total
    # Each order is counted once for brokerage, however many fills and trips it spans.
    counted = sum(c.buy_orders + c.sell_orders for c in model.charged)
    orders_in_closed_trips = {
        f.client_order_id for f in run.fills if f.ts_ns <= run.round_trips[-1].exit_ns
    }
    assert counted == len(orders_in_closed_trips)


def _feed(model: RoundTripCharges, book: Portfolio, *fills: Fill) -> list[int]:
    charged = []
    for n, fill in enumerate(fills):
        order = make_order(fill.client_order_id, side=fill.side, quantity=fill.quantity)
        amount = model.charges_paise(fill, order)
        charged.append(amount)
        book.apply_fill(dataclasses.replace(fill, charges_paise=amount, trade_id=f"T{n}"))
    return charged


def _fill(side: OrderSide, qty: int, price_rupees: int, order: str, hhmm: str) -> Fill:
    return make_fill(
        side, qty, price_rupees * 100, client_order_id=order, ts_ns=ist_ns("2025-06-02", hhmm)
    )


def test_a_flip_order_closes_one_trip_and_pays_its_brokerage_only_there() -> None:
    model, book = RoundTripCharges(ANGEL_ONE), Portfolio(10**9)
    day = dt.date(2025, 6, 2)
    charged = _feed(
        model,
        book,
        _fill(BUY, 60, 1000, "A", "09:20"),  # order A, two partial fills: long 100
        _fill(BUY, 40, 1001, "A", "09:21"),
        _fill(SELL, 150, 1010, "B", "09:30"),  # order B: closes the long, opens short 50
        _fill(SELL, 50, 1012, "B", "09:31"),  # order B again: short 100
        _fill(BUY, 200, 1005, "C", "10:00"),  # order C: covers the short, opens long 100
        _fill(SELL, 100, 1008, "D", "11:00"),  # order D: flat
    )
    first = round_trip_charges(
        ChargeSegment.EQUITY_INTRADAY,
        60 * 1000_00 + 40 * 1001_00,
        100 * 1010_00,
        broker=ANGEL_ONE,
        trade_date=day,
    )
    second = round_trip_charges(  # B's brokerage was paid in the first trip
        ChargeSegment.EQUITY_INTRADAY,
        100 * 1005_00,
        50 * 1010_00 + 50 * 1012_00,
        broker=ANGEL_ONE,
        trade_date=day,
        sell_orders=0,
    )
    third = round_trip_charges(  # C's brokerage was paid in the second trip
        ChargeSegment.EQUITY_INTRADAY,
        100 * 1005_00,
        100 * 1008_00,
        broker=ANGEL_ONE,
        trade_date=day,
        buy_orders=0,
    )
    assert charged == [0, 0, first.total_paise, 0, second.total_paise, third.total_paise]
    assert second.brokerage_paise == third.brokerage_paise == 20_00
    trips = book.round_trips()
    assert [(t.entry_value_paise, t.exit_value_paise) for t in trips] == [
        (60 * 1000_00 + 40 * 1001_00, 100 * 1010_00),
        (50 * 1010_00 + 50 * 1012_00, 100 * 1005_00),
        (100 * 1005_00, 100 * 1008_00),
    ]
    total = first.total_paise + second.total_paise + third.total_paise
    assert book.charges_paid == sum(t.charges_paise for t in trips) == total
    assert book.cash == book.equity() == 10**9 + book.realized() - total


def test_delivery_fills_on_different_days_take_each_sides_own_date_and_a_dp_charge() -> None:
    model, book = RoundTripCharges(ZERODHA), Portfolio(10**9)
    buy = dataclasses.replace(
        _fill(BUY, 100, 1000, "A", "09:20"),
        product=ProductType.DELIVERY,
        ts_ns=ist_ns("2026-03-31", "10:00"),
    )
    sell = dataclasses.replace(
        _fill(SELL, 100, 1010, "B", "09:20"),
        product=ProductType.DELIVERY,
        ts_ns=ist_ns("2026-04-06", "10:00"),
    )
    charged = _feed(model, book, buy, sell)
    (trip,) = model.charged
    assert (trip.buy_date, trip.sell_date) == (dt.date(2026, 3, 31), dt.date(2026, 4, 6))
    assert trip.segment is ChargeSegment.EQUITY_DELIVERY
    assert trip.charges.dp_paise == 15_34
    assert charged == [0, 238_86]  # §1.4 example 1: the delivery rates did not change


def test_futures_instruments_are_charged_as_futures_whatever_the_product() -> None:
    future = Instrument(
        symbol="NIFTY29DEC26FUT",
        exchange=Exchange.NFO,
        token=InstrumentToken("1"),
        instrument_type=InstrumentType.FUTURE,
        lot_size=65,
    )
    model = RoundTripCharges(ZERODHA, {future.symbol: future})
    fills = [
        make_fill(BUY, 100, 1000_00, symbol=future.symbol, client_order_id="A"),
        make_fill(SELL, 100, 1010_00, symbol=future.symbol, client_order_id="B"),
    ]
    fills = [dataclasses.replace(f, ts_ns=ist_ns("2026-04-06", "10:00")) for f in fills]
    amounts = [model.charges_paise(f, make_order(f.client_order_id, side=f.side)) for f in fills]
    assert amounts == [0, 104_78]  # §1.4 example 3


def test_the_command_line_names_map_to_models_and_products() -> None:
    assert backtest_charges("none") is None
    # "zero" is refused: `charges --broker zero` means zero brokerage with every tax still due
    with pytest.raises(ConfigError, match="--charges 'zero' is not one of angelone, zerodha, none"):
        backtest_charges("zero")
    model = backtest_charges("angelone")
    assert model is not None
    assert model.broker is ANGEL_ONE
    assert backtest_product("delivery") is ProductType.DELIVERY
    with pytest.raises(ConfigError, match="--charges 'upstox' is not one of"):
        backtest_charges("upstox")
    with pytest.raises(ConfigError, match="--product 'nrml' is not one of"):
        backtest_product("nrml")
