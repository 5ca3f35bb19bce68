"""The risk manager before an order (engine/risk_manager.py, engine/risk_rules.py): each rule
refuses with its own stable code, in the strategy's scope and in the account's, the broker never
hears of a refused order, and the order just inside each limit goes."""

from __future__ import annotations

import datetime as dt

import pytest

from algo_trading.domain import OrderSide, OrderStatus, ProductType
from algo_trading.domain.orders import OrderIntent, OrderType
from algo_trading.engine import (
    MemoryAuditLog,
    MemoryTradeLog,
    SimulatedClock,
    StrategyView,
    TradingEngine,
)
from algo_trading.engine.order_manager import OrderChange
from algo_trading.engine.risk import RiskCode, RiskLimits, RiskManager
from algo_trading.market.prices import PriceBand
from tests.support.fakes import FakeBroker

from .risk_rig import FUT, INFY, NIFTY, SBIN, RiskRig, risk_rig

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def refused(r: RiskRig, coid: str, code: RiskCode) -> None:
    assert r.code(coid) == code.value  # type: ignore[arg-type]
    assert coid not in {o.client_order_id for o in r.broker.submitted}


def went(r: RiskRig, coid: str) -> None:
    assert r.code(coid) == ""  # type: ignore[arg-type]
    assert coid in {o.client_order_id for o in r.broker.submitted}


# --- the market's rules --------------------------------------------------------------------


def test_a_price_off_the_tick_is_refused_with_tick_size() -> None:
    r = risk_rig(RiskLimits())
    refused(r, r.order(BUY, 1, 100_02), RiskCode.TICK_SIZE)  # SBIN's tick is 5 paise
    refused(r, r.order(SELL, 1, 100_00, trigger_paise=100_03), RiskCode.TICK_SIZE)
    went(r, r.order(BUY, 1, 100_05))


def test_a_quantity_that_is_not_whole_lots_is_refused_with_lot_size() -> None:
    r = risk_rig(RiskLimits())
    refused(r, r.order(BUY, 30, symbol=FUT, product=ProductType.CARRYFORWARD), RiskCode.LOT_SIZE)
    went(r, r.order(BUY, 50, symbol=FUT, product=ProductType.CARRYFORWARD))


def test_an_index_is_not_tradable() -> None:
    r = risk_rig(RiskLimits())
    refused(r, r.order(BUY, 1, symbol=NIFTY), RiskCode.NOT_TRADABLE)


def test_a_price_outside_the_days_band_is_refused_with_price_band() -> None:
    r = risk_rig(RiskLimits())
    r.manager.set_price_band(SBIN, PriceBand(90_00, 110_00))
    refused(r, r.order(BUY, 1, 110_05), RiskCode.PRICE_BAND)
    refused(r, r.order(SELL, 1, 89_95), RiskCode.PRICE_BAND)
    went(r, r.order(BUY, 1, 110_00))  # the band is inclusive
    r.manager.set_price_band(SBIN, None)
    went(r, r.order(BUY, 1, 110_05))


# --- price distance ------------------------------------------------------------------------


def test_a_price_too_far_from_the_last_trade_is_refused_with_price_distance() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_price_distance_bps=250)})
    r.tick(100_00)
    refused(r, r.order(BUY, 1, 102_55), RiskCode.PRICE_DISTANCE)
    refused(r, r.order(SELL, 1, 97_45), RiskCode.PRICE_DISTANCE)
    went(r, r.order(BUY, 1, 102_50))  # exactly 2.5 %
    went(r, r.order(SELL, 1, 97_50))
    went(r, r.order(BUY, 1))  # a market order carries no price to judge
    went(r, r.order(BUY, 1, strategy="beta", price_paise=150_00))  # beta has no such limit


def test_the_distance_follows_the_last_trade() -> None:
    r = risk_rig(RiskLimits(max_price_distance_bps=100))
    r.tick(100_00)
    refused(r, r.order(BUY, 1, 105_00), RiskCode.PRICE_DISTANCE)
    r.tick(104_50)
    went(r, r.order(BUY, 1, 105_00))


def test_a_priced_order_before_any_trade_is_seen_has_no_reference_price() -> None:
    r = risk_rig(RiskLimits(max_price_distance_bps=250))
    refused(r, r.order(BUY, 1, 100_00), RiskCode.NO_REFERENCE_PRICE)


# --- order size ----------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["strategy", "account"])
def test_an_order_above_the_maximum_quantity_is_refused(scope: str) -> None:
    limits = RiskLimits(max_order_quantity=100)
    r = risk_rig(limits) if scope == "account" else risk_rig(strategies={"alpha": limits})
    coid = r.order(BUY, 101)
    refused(r, coid, RiskCode.MAX_ORDER_QUANTITY)
    assert f"{scope}" in r.engine.orders.orders[coid].reason
    went(r, r.order(BUY, 100))


@pytest.mark.parametrize("scope", ["strategy", "account"])
def test_an_order_above_the_maximum_value_is_refused(scope: str) -> None:
    limits = RiskLimits(max_order_value_paise=10_000_00)  # ₹10,000
    r = risk_rig(limits) if scope == "account" else risk_rig(strategies={"alpha": limits})
    refused(r, r.order(BUY, 101, 100_00), RiskCode.MAX_ORDER_VALUE)
    went(r, r.order(BUY, 100, 100_00))
    # a market order is valued at the last trade; before one there is nothing to value it by
    refused(r, r.order(BUY, 1), RiskCode.NO_REFERENCE_PRICE)
    r.tick(200_00)
    refused(r, r.order(BUY, 51), RiskCode.MAX_ORDER_VALUE)
    went(r, r.order(BUY, 50))


# --- positions and exposure ----------------------------------------------------------------


def test_a_position_above_the_maximum_quantity_is_refused_counting_working_orders() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_position_quantity=100)})
    r.tick(100_00)
    r.fill(r.order(BUY, 60), 100_00)
    working = r.order(BUY, 30, 99_00)
    refused(r, r.order(BUY, 11), RiskCode.MAX_POSITION_QUANTITY)  # 60 + 30 + 11
    went(r, r.order(BUY, 10))
    # the other side: from +60 a sell of 160 would leave -100 at worst, within; 161 not
    refused(r, r.order(SELL, 161), RiskCode.MAX_POSITION_QUANTITY)
    went(r, r.order(SELL, 160))
    assert r.status(working) is OrderStatus.SUBMITTED


def test_the_accounts_position_limit_counts_every_strategy() -> None:
    r = risk_rig(RiskLimits(max_position_quantity=100))
    r.tick(100_00)
    r.fill(r.order(BUY, 70, strategy="alpha"), 100_00)
    refused(r, r.order(BUY, 31, strategy="beta"), RiskCode.MAX_POSITION_QUANTITY)
    went(r, r.order(BUY, 30, strategy="beta"))


def test_an_order_that_only_reduces_a_position_over_the_limit_still_goes() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_position_quantity=100)})
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.manager.strategy_limits["alpha"] = RiskLimits(max_position_quantity=50)  # tightened
    refused(r, r.order(BUY, 1), RiskCode.MAX_POSITION_QUANTITY)
    went(r, r.order(SELL, 40))


def test_a_position_above_the_maximum_value_is_refused() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_position_value_paise=50_000_00)})
    r.tick(100_00)
    r.fill(r.order(BUY, 400), 100_00)
    refused(r, r.order(BUY, 101, 100_00), RiskCode.MAX_POSITION_VALUE)  # 501 × ₹100
    went(r, r.order(BUY, 100, 100_00))


def test_gross_exposure_sums_every_symbol_of_the_scope() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_gross_exposure_paise=100_000_00)})
    r.tick(100_00, SBIN)
    r.tick(1500_00, INFY)
    r.fill(r.order(BUY, 500, symbol=SBIN), 100_00)  # ₹50,000
    r.fill(r.order(SELL, 20, symbol=INFY), 1500_00)  # ₹30,000 short counts as exposure
    # a buy of INFY first reduces its short: only the part beyond flat adds exposure
    went(r, r.order(BUY, 20, symbol=INFY))
    refused(r, r.order(BUY, 201, symbol=SBIN), RiskCode.MAX_GROSS_EXPOSURE)  # 50k+30k+20.1k
    went(r, r.order(BUY, 200, symbol=SBIN, strategy="beta"))  # beta has no such limit


def test_the_accounts_gross_exposure_counts_every_strategy() -> None:
    r = risk_rig(RiskLimits(max_gross_exposure_paise=100_000_00))
    r.tick(100_00, SBIN)
    r.tick(1000_00, INFY)
    r.fill(r.order(BUY, 600, strategy="alpha"), 100_00)
    refused(r, r.order(BUY, 41, strategy="beta", symbol=INFY), RiskCode.MAX_GROSS_EXPOSURE)
    went(r, r.order(BUY, 40, strategy="beta", symbol=INFY))
    # the account nets its strategies within a symbol: beta's sell takes alpha's long down
    went(r, r.order(SELL, 600, strategy="beta", symbol=SBIN))


def test_open_orders_above_the_maximum_are_refused_per_strategy_and_account() -> None:
    r = risk_rig(RiskLimits(max_open_orders=3), {"alpha": RiskLimits(max_open_orders=2)})
    first = r.order(BUY, 1, 90_00)
    went(r, r.order(BUY, 1, 90_00))
    refused(r, r.order(BUY, 1, 90_00), RiskCode.MAX_OPEN_ORDERS)
    went(r, r.order(BUY, 1, 90_00, strategy="beta"))
    refused(r, r.order(BUY, 1, 90_00, strategy="beta"), RiskCode.MAX_OPEN_ORDERS)  # account: 3
    r.fill(first, 90_00)
    went(r, r.order(BUY, 1, 90_00))


# --- the trading window --------------------------------------------------------------------


def test_orders_outside_the_strategys_window_are_refused_except_reducing_ones() -> None:
    window = RiskLimits(trading_start=dt.time(9, 30), trading_end=dt.time(15, 0))
    r = risk_rig(strategies={"alpha": window}, hhmm="09:29")
    refused(r, r.order(BUY, 1), RiskCode.OUTSIDE_TRADING_WINDOW)
    went(r, r.order(BUY, 1, strategy="beta"))  # beta has no window
    r.at("09:30")
    opened = r.order(BUY, 10)
    went(r, opened)
    r.fill(opened, 100_00)
    r.at("15:00")
    refused(r, r.order(BUY, 1), RiskCode.OUTSIDE_TRADING_WINDOW)
    refused(r, r.order(SELL, 11), RiskCode.OUTSIDE_TRADING_WINDOW)  # would open a short
    went(r, r.order(SELL, 10))  # closing the position is not new risk


def test_the_accounts_window_holds_every_strategy() -> None:
    r = risk_rig(RiskLimits(trading_end=dt.time(15, 10)), hhmm="15:10")
    refused(r, r.order(BUY, 1, strategy="beta"), RiskCode.OUTSIDE_TRADING_WINDOW)


# --- the engine's own closing orders -------------------------------------------------------


def test_the_square_off_passes_limits_that_would_refuse_a_strategys_order() -> None:
    limits = RiskLimits(max_order_quantity=5, trading_end=dt.time(15, 0))
    r = risk_rig(strategies={"alpha": RiskLimits()})
    r.fill(r.order(BUY, 10), 100_00)
    r.manager.strategy_limits["alpha"] = limits
    r.at("15:20")
    [coid] = r.engine.square_off(SBIN)
    went(r, coid)


def test_every_refusal_is_counted_by_its_code() -> None:
    r = risk_rig(RiskLimits(max_order_quantity=1))
    r.order(BUY, 2)
    r.order(BUY, 3)
    r.order(BUY, 1, 100_01)
    assert r.manager.refusals == {"MAX_ORDER_QUANTITY": 2, "TICK_SIZE": 1}


def test_a_buy_that_closes_a_short_outside_the_window_goes() -> None:
    window = RiskLimits(trading_start=dt.time(9, 30), trading_end=dt.time(15, 0))
    r = risk_rig(strategies={"alpha": window}, hhmm="10:00")
    r.fill(r.order(SELL, 10), 100_00)
    r.at("15:05")
    refused(r, r.order(BUY, 11), RiskCode.OUTSIDE_TRADING_WINDOW)
    went(r, r.order(BUY, 10))


def test_a_refusal_is_recorded_in_the_audit_trail_and_the_trade_log_with_its_code() -> None:
    audit = MemoryAuditLog()
    log = MemoryTradeLog()
    manager = RiskManager(RiskLimits(max_order_quantity=5))
    engine = TradingEngine(
        SimulatedClock(0),
        FakeBroker(),
        starting_cash_paise=10**9,
        risk_manager=manager,
        audit=audit,
        trade_log=log,
    )
    coid = engine.submit(OrderIntent("alpha", SBIN, BUY, 6, OrderType.MARKET))
    [risk] = [a for a in audit.records if a.stage.value == "RISK"]
    assert (risk.client_order_id, risk.decision_code) == (coid, "MAX_ORDER_QUANTITY")
    assert risk.detail == "account: quantity=6, limit=5"
    assert log.order_events == [(coid, "REJECT", "REJECTED", 0)]


# --- a change to a working order -----------------------------------------------------------


def test_a_change_is_checked_as_the_order_would_be_after_it() -> None:
    limits = RiskLimits(max_price_distance_bps=250, max_position_quantity=100)
    r = risk_rig(strategies={"alpha": limits})
    r.tick(100_00)
    coid = r.order(BUY, 50, 99_00)
    r.broker.accept(coid)
    r.engine.drain()
    assert r.engine.modify(coid, OrderChange(price_paise=90_00)) == "PRICE_DISTANCE"
    assert r.engine.modify(coid, OrderChange(price_paise=99_05, quantity=101)) == (
        "MAX_POSITION_QUANTITY"
    )
    # the order is not counted twice: 100 in all is within the limit
    assert r.engine.modify(coid, OrderChange(price_paise=99_05, quantity=100)) == ""
    assert r.broker.modified == [(coid, 100, 99_05, None)]


def test_no_change_goes_while_the_kill_switch_holds() -> None:
    r = risk_rig()
    coid = r.order(BUY, 5, 99_00)
    r.broker.accept(coid)
    r.engine.drain()
    r.engine.kill_switch("stop", by="ops")
    assert r.engine.modify(coid, OrderChange(price_paise=99_50)) == "KILL_SWITCH"


def test_a_strategys_change_goes_through_the_checks_and_a_halt_refuses_it() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_order_quantity=10)})
    coid = r.order(BUY, 5, 99_00)
    r.broker.accept(coid)
    r.engine.drain()
    ctx = StrategyView(r.engine, "alpha")  # what the strategy's own modify goes through
    r.manager.halt("alpha", "paused", "ops", r.clock.now_ns())
    assert ctx.modify_order(coid, price_paise=99_50) == "HALTED"
    r.manager.reset("alpha", "ops", r.clock.now_ns())
    assert ctx.modify_order(coid, quantity=11) == "MAX_ORDER_QUANTITY"
    assert ctx.modify_order(coid, quantity=10) == ""
    assert r.broker.modified == [(coid, 10, None, None)]
