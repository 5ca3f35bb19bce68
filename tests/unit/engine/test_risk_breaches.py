"""The risk manager while the books move, and the kill switch (engine/risk_manager.py,
engine/risk_control.py): a daily loss or a drawdown halts its scope, cancels its open orders,
closes its positions and alerts, each once; the breaker stops new orders after N rejections in M
minutes; the kill switch cancels and flattens everything and holds until a person resets it."""

from __future__ import annotations

from algo_trading.domain import OrderSide, OrderStatus, ProductType
from algo_trading.domain.orders import OrderIntent, OrderType
from algo_trading.engine import SimulatedClock, TradingEngine
from algo_trading.engine.risk import RiskLimits
from tests.support.fakes import FakeBroker, FlatCharges

from .risk_rig import INFY, SBIN, risk_rig

BUY, SELL = OrderSide.BUY, OrderSide.SELL


# --- daily loss ----------------------------------------------------------------------------


def test_a_strategys_daily_loss_halts_cancels_flattens_and_alerts_that_strategy_only() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_daily_loss_paise=1_000_00)})
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.fill(r.order(BUY, 50, strategy="beta"), 100_00)
    alpha_open = r.order(BUY, 10, 95_00)
    beta_open = r.order(BUY, 10, 95_00, strategy="beta")
    r.tick(90_05)  # alpha: -995 rupees, inside the limit
    assert r.manager.halts() == {}
    r.clock.set(r.clock.now_ns() + 10**9)
    r.tick(90_00)  # alpha: -1000 rupees: the limit
    assert [h.code for h in r.manager.halts()["alpha"]] == ["DAILY_LOSS_LIMIT"]
    assert r.status(alpha_open) is OrderStatus.PENDING_CANCEL
    assert r.status(beta_open) is OrderStatus.SUBMITTED
    assert r.submitted_for("alpha")[-1] == ("SELL", SBIN, 100, "MARKET")
    assert [a.details["code"] for a in r.notifier.alerts] == ["DAILY_LOSS_LIMIT"]
    assert r.notifier.alerts[0].strategy == "alpha"
    refused = r.order(BUY, 1)
    assert r.code(refused) == "DAILY_LOSS_LIMIT"
    assert r.code(r.order(BUY, 1, strategy="beta")) == ""
    # the breach acts once, however often it is seen again
    sent = len(r.broker.submitted)
    r.clock.set(r.clock.now_ns() + 10**9)
    r.tick(89_00)
    assert r.engine.evaluate_risk() == []
    assert len(r.broker.submitted) == sent
    assert len(r.notifier.alerts) == 1


def test_the_daily_loss_counts_charges_and_realized_losses() -> None:
    r = risk_rig(
        strategies={"alpha": RiskLimits(max_daily_loss_paise=500_00)},
        charges=FlatCharges(100_00),  # ₹100 a fill
    )
    r.tick(100_00)
    for _ in range(2):  # two round trips losing ₹100 each before charges
        r.fill(r.order(BUY, 100), 100_00)
        r.fill(r.order(SELL, 100), 99_00)
    # -200 on prices, -400 in charges: -600 ≥ 500
    assert [h.code for h in r.manager.halts()["alpha"]] == ["DAILY_LOSS_LIMIT"]


def test_a_loss_halt_ends_with_the_day_and_the_next_days_loss_counts_from_its_start() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_daily_loss_paise=1_000_00)})
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.tick(89_00)
    assert r.manager.halted("alpha") is not None
    r.at("00:01", "2024-01-03")
    r.engine.evaluate_risk()
    assert r.manager.halted("alpha") is None
    r.at("10:00", "2024-01-03")
    assert r.code(r.order(BUY, 1)) == ""


def test_an_account_loss_trips_the_kill_switch() -> None:
    r = risk_rig(RiskLimits(max_daily_loss_paise=2_000_00))
    r.tick(100_00)
    r.tick(1000_00, INFY)
    r.fill(r.order(BUY, 100, strategy="alpha"), 100_00)
    r.fill(r.order(SELL, 10, symbol=INFY, strategy="beta"), 1000_00)
    r.tick(90_00)
    assert not r.engine.kill_switch_active  # -1000
    r.clock.set(r.clock.now_ns() + 10**9)
    r.tick(1100_00, INFY)  # -1000 more
    assert r.engine.kill_switch_active
    assert [a.code for a in r.notifier.alerts] == ["RISK_BREACH", "KILL_SWITCH"]
    # the breach's closing orders went first; the kill switch neither cancels nor repeats them
    assert r.broker.cancelled == []
    assert len(r.broker.submitted) == 4
    assert r.submitted_for("alpha")[-1] == ("SELL", SBIN, 100, "MARKET")
    assert r.submitted_for("beta")[-1] == ("BUY", INFY, 10, "MARKET")
    assert r.code(r.order(BUY, 1, strategy="gamma")) == "KILL_SWITCH"


# --- drawdown ------------------------------------------------------------------------------


def test_a_drawdown_from_the_peak_halts_and_flattens_even_while_in_profit() -> None:
    r = risk_rig(strategies={"alpha": RiskLimits(max_drawdown_paise=1_500_00)})
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.tick(120_00)  # +2000, the peak
    r.clock.set(r.clock.now_ns() + 10**9)
    r.tick(105_05)  # +505: 1495 below the peak
    assert r.manager.halted("alpha") is None
    r.clock.set(r.clock.now_ns() + 10**9)
    r.tick(105_00)  # 1500 below the peak, still 500 up on the day
    assert r.manager.halted("alpha").code == "MAX_DRAWDOWN"  # type: ignore[union-attr]
    assert r.submitted_for("alpha")[-1] == ("SELL", SBIN, 100, "MARKET")
    # a person resets it: trading resumes, the peak starts again from here
    assert [h.code for h in r.manager.reset("alpha", "ops", r.clock.now_ns())] == ["MAX_DRAWDOWN"]
    r.engine.evaluate_risk()
    assert r.manager.halted("alpha") is None
    assert r.code(r.order(BUY, 1)) == ""


def test_an_account_drawdown_is_measured_on_equity() -> None:
    r = risk_rig(RiskLimits(max_drawdown_paise=1_000_00), kill_on=())
    r.tick(100_00)
    r.fill(r.order(BUY, 100), 100_00)
    r.tick(110_00)
    r.clock.set(r.clock.now_ns() + 10**9)
    r.tick(100_00)
    assert r.manager.halted(None).code == "MAX_DRAWDOWN"  # type: ignore[union-attr]
    assert not r.engine.kill_switch_active  # kill_on=(): a halt only
    assert r.code(r.order(BUY, 1, strategy="beta")) == "MAX_DRAWDOWN"


# --- the breaker ---------------------------------------------------------------------------


def test_n_broker_rejections_within_m_minutes_trip_the_breaker() -> None:
    limits = RiskLimits(breaker_rejections=3, breaker_window_minutes=10)
    r = risk_rig(strategies={"alpha": limits})
    r.reject(r.order(BUY, 1))
    r.at("10:05")
    r.reject(r.order(BUY, 1))
    r.at("10:10")  # the first is 10 minutes old: outside the window
    r.reject(r.order(BUY, 1))
    assert r.manager.halted("alpha") is None
    r.at("10:14")
    working = r.order(BUY, 1, 99_00)
    r.reject(r.order(BUY, 1))  # 10:05, 10:10, 10:14
    assert r.manager.halted("alpha").code == "BREAKER"  # type: ignore[union-attr]
    assert r.code(r.order(BUY, 1)) == "BREAKER"
    assert r.code(r.order(BUY, 1, strategy="beta")) == ""
    assert r.status(working) is OrderStatus.SUBMITTED  # a breaker stops new orders only
    assert [a.details["code"] for a in r.notifier.alerts] == ["BREAKER"]
    # until a person resets it; the count starts again
    r.manager.reset("alpha", "ops", r.clock.now_ns())
    r.reject(r.order(BUY, 1))
    assert r.code(r.order(BUY, 1)) == ""


def test_risk_refusals_are_not_broker_rejections_for_the_breaker() -> None:
    limits = RiskLimits(breaker_rejections=2, breaker_window_minutes=10, max_order_quantity=1)
    r = risk_rig(strategies={"alpha": limits})
    for _ in range(5):
        assert r.code(r.order(BUY, 2)) == "MAX_ORDER_QUANTITY"
    assert r.manager.halted("alpha") is None


def test_the_accounts_breaker_counts_every_strategy() -> None:
    r = risk_rig(RiskLimits(breaker_rejections=2, breaker_window_minutes=5))
    r.reject(r.order(BUY, 1, strategy="alpha"))
    r.reject(r.order(BUY, 1, strategy="beta"))
    assert r.code(r.order(BUY, 1, strategy="gamma")) == "BREAKER"
    assert not r.engine.kill_switch_active  # not in the default kill_on


# --- manual halt, kill switch --------------------------------------------------------------


def test_a_person_halts_and_resumes_one_strategy() -> None:
    r = risk_rig()
    r.manager.halt("alpha", "paused from the dashboard", "ops", r.clock.now_ns())
    assert r.code(r.order(BUY, 1)) == "HALTED"
    assert r.code(r.order(BUY, 1, strategy="beta")) == ""
    r.manager.reset("alpha", "ops", r.clock.now_ns())
    assert r.code(r.order(BUY, 1)) == ""


def test_the_kill_switch_cancels_and_flattens_everything_and_holds_until_reset() -> None:
    r = risk_rig()
    r.tick(100_00)
    r.fill(r.order(BUY, 10), 100_00)
    r.fill(r.order(SELL, 8, strategy="beta"), 100_00)
    part = r.order(BUY, 20, 99_00, strategy="beta")
    r.fill(part, 99_00, quantity=5)  # beta: -3
    resting = r.order(SELL, 3, 120_00)
    before = len(r.broker.submitted)
    r.engine.kill_switch("operator pressed it", by="ops")
    assert r.engine.kill_switch_active
    assert r.status(resting) is OrderStatus.PENDING_CANCEL
    assert r.status(part) is OrderStatus.PENDING_CANCEL
    closing = r.broker.submitted[before:]
    assert sorted(
        (o.strategy_id, o.side.value, o.quantity, o.order_type.value) for o in closing
    ) == [
        ("alpha", "SELL", 10, "MARKET"),
        ("beta", "BUY", 3, "MARKET"),
    ]
    assert r.notifier.codes() == ["KILL_SWITCH"]
    assert r.code(r.order(BUY, 1)) == "KILL_SWITCH"
    # the closing orders fill; a fill of the order being cancelled races them
    for o in closing:
        r.fill(o.client_order_id, 100_00)
    r.fill(part, 99_00, quantity=4)  # beta: +4 after the cancel was asked
    assert r.position(strategy="beta") == 4
    r.clock.set(r.clock.now_ns() + 2 * 10**9)
    r.engine.on_timer(r.clock.now_ns())  # the kill switch holds: closed again
    assert r.broker.submitted[-1].side is SELL
    assert r.broker.submitted[-1].quantity == 4
    r.fill(r.broker.submitted[-1].client_order_id, 100_00)
    assert r.position(SBIN) == 0
    # held until a person resets it
    r.clock.set(r.clock.now_ns() + 3600 * 10**9)
    r.engine.on_timer(r.clock.now_ns())
    assert r.engine.kill_switch_active
    r.engine.reset_kill_switch(by="ops")
    assert not r.engine.kill_switch_active
    assert r.notifier.codes() == ["KILL_SWITCH", "KILL_SWITCH_RESET"]
    assert r.code(r.order(BUY, 1)) == ""


def test_the_kill_switch_works_without_a_risk_manager() -> None:
    broker = FakeBroker()
    engine = TradingEngine(SimulatedClock(0), broker, starting_cash_paise=10**9)
    engine.kill_switch("test", by="ops")
    coid = engine.submit(OrderIntent("alpha", SBIN, BUY, 1, OrderType.MARKET))
    assert engine.orders.orders[coid].reason.startswith("KILL_SWITCH")
    assert broker.submitted == []


def test_an_engine_without_a_risk_manager_has_no_risk_timer_once_reset() -> None:
    broker = FakeBroker()
    clock = SimulatedClock(10**18)
    engine = TradingEngine(clock, broker, starting_cash_paise=10**9)
    assert engine.next_timer_ns() is None
    engine.kill_switch("test", by="ops")
    assert engine.next_timer_ns() == 10**18 + 10**9  # the kill switch re-checks it is flat
    engine.reset_kill_switch(by="ops")
    engine.on_timer(clock.now_ns() + 2 * 10**9)
    engine.evaluate_risk()
    assert engine.next_timer_ns() is None


def test_a_closing_order_the_broker_keeps_refusing_is_retried_at_a_falling_pace() -> None:
    r = risk_rig()
    r.tick(100_00)
    r.fill(r.order(BUY, 10), 100_00)
    r.engine.kill_switch("market shut", by="ops")
    r.reject(r.broker.submitted[-1].client_order_id)  # the venue refuses every closing order
    tries = []
    for second in range(1, 40):
        r.clock.set(r.clock.now_ns() + 10**9)
        before = len(r.broker.submitted)
        r.engine.on_timer(r.clock.now_ns())
        if len(r.broker.submitted) > before:
            tries.append(second)
        for o in r.broker.submitted[before:]:
            r.reject(o.client_order_id)
    assert tries == [1, 3, 7, 15, 31]  # 1, 2, 4, 8, 16 s apart after the first refusal


def test_flatten_and_cancel_all_act_on_one_strategy_or_on_all() -> None:
    r = risk_rig()
    r.tick(100_00)
    r.fill(r.order(BUY, 10), 100_00)
    r.fill(r.order(SELL, 4, product=ProductType.DELIVERY), 100_00)  # a second book of alpha
    r.fill(r.order(BUY, 7, strategy="beta"), 100_00)
    alpha_open = r.order(BUY, 1, 90_00)
    beta_open = r.order(BUY, 1, 90_00, strategy="beta")
    assert r.engine.cancel_all("beta") == 1
    assert r.status(beta_open) is OrderStatus.PENDING_CANCEL
    assert r.status(alpha_open) is OrderStatus.SUBMITTED
    before = len(r.broker.submitted)
    r.engine.flatten("alpha")
    assert sorted(
        (o.strategy_id, o.side.value, o.quantity, o.product.value)
        for o in r.broker.submitted[before:]
    ) == [("alpha", "BUY", 4, "DELIVERY"), ("alpha", "SELL", 10, "INTRADAY")]
    r.engine.flatten("alpha")  # the closing orders are working: nothing more to send
    assert len(r.broker.submitted) == before + 2
    r.engine.flatten()
    assert r.broker.submitted[-1].strategy_id == "beta"
    assert r.broker.submitted[-1].side is SELL
    assert r.engine.cancel_all() == 1  # alpha's; the closing orders are left alone
    assert r.status(alpha_open) is OrderStatus.PENDING_CANCEL
