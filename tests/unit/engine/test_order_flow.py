"""The way of one order through the order manager: tag, freeze-quantity slicing, risk,
the orders-per-second throttle (held, never dropped) and the audit trail (indian-market.md
§4.9, §5; DESIGN.md "Data flow of one order")."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain import (
    ClientOrderId,
    Exchange,
    Instrument,
    InstrumentToken,
    InstrumentType,
    OrderStatus,
    ProductType,
)
from algo_trading.domain.errors import OrderError
from algo_trading.engine import MemoryAuditLog, SimulatedClock, TradingEngine
from algo_trading.market.audit import ORDER_TAG_MAX_LEN, AuditStage, order_tag
from algo_trading.market.throttle import OrderThrottle
from tests.support.builders import ist_ns
from tests.support.fakes import FakeBroker, RecordingStrategy, RefusingRisk

SECOND = 10**9
NIFTY_FUT = Instrument(
    symbol="NIFTY26NOVFUT",
    exchange=Exchange.NFO,
    token=InstrumentToken("52000"),
    instrument_type=InstrumentType.FUTURE,
    tick_size_paise=10,
    lot_size=65,
    freeze_quantity=1_755,
)


def engine_with(
    *, per_second: int | None = 9, risk: RefusingRisk | None = None
) -> tuple[TradingEngine, FakeBroker, SimulatedClock, MemoryAuditLog, RecordingStrategy]:
    clock = SimulatedClock(ist_ns("2025-01-06", "09:30"))
    broker = FakeBroker()
    audit = MemoryAuditLog()
    engine = TradingEngine(
        clock,
        broker,
        starting_cash_paise=10**12,
        instruments=[NIFTY_FUT],
        risk=risk,
        throttle=None if per_second is None else OrderThrottle(per_second),
        audit=audit,
    )
    strategy = RecordingStrategy(symbols=("SBIN-EQ", NIFTY_FUT.symbol), strategy_id="orb1")
    engine.add_strategy(strategy)
    engine.start()
    return engine, broker, clock, audit, strategy


def test_every_order_reaches_the_broker_with_its_strategy_tag() -> None:
    _engine, broker, _, _, strategy = engine_with()
    coid = strategy.buy(10, "SBIN-EQ")
    (sent,) = broker.submitted
    assert sent.tag == order_tag("orb1", coid)
    assert sent.tag.startswith("orb1-")
    assert len(sent.tag) <= ORDER_TAG_MAX_LEN


def test_orders_beyond_the_limit_are_held_and_sent_when_their_slot_comes() -> None:
    engine, broker, clock, audit, strategy = engine_with(per_second=9)
    ids = [strategy.buy(1, "SBIN-EQ") for _ in range(12)]
    assert [o.client_order_id for o in broker.submitted] == ids[:9]
    held = [engine.orders.orders[i] for i in ids[9:]]
    assert all(o.status is OrderStatus.NEW for o in held)
    # Held orders count as open, so the strategy does not ask again for what is waiting.
    assert len(strategy.open_orders("SBIN-EQ")) == 12
    throttled = [r for r in audit.records if r.stage is AuditStage.THROTTLE]
    assert [r.client_order_id for r in throttled] == ids[9:]
    engine.orders.release(clock.now_ns() + SECOND - 1)
    assert len(broker.submitted) == 9
    engine.orders.release(clock.now_ns() + SECOND)
    assert [o.client_order_id for o in broker.submitted] == ids


def test_a_held_order_cancelled_before_its_slot_is_never_sent() -> None:
    engine, broker, clock, _, strategy = engine_with(per_second=1)
    first = strategy.buy(1, "SBIN-EQ")
    second = strategy.buy(1, "SBIN-EQ")
    strategy.cancel(second)
    engine.orders.release(clock.now_ns() + 5 * SECOND)
    assert [o.client_order_id for o in broker.submitted] == [first]
    assert engine.orders.orders[ClientOrderId(second)].status is OrderStatus.CANCELLED


def test_cancels_count_against_the_same_limit() -> None:
    engine, broker, clock, _, strategy = engine_with(per_second=2)
    a = strategy.buy(1, "SBIN-EQ")
    b = strategy.buy(1, "SBIN-EQ")
    broker.accept(a)
    broker.accept(b)
    engine.drain()
    strategy.cancel(a)
    assert broker.cancelled == []  # two actions already in this second
    engine.orders.release(clock.now_ns() + SECOND)
    assert broker.cancelled == [a]


@settings(max_examples=60, deadline=None)
@given(
    gaps_ms=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=60),
    per_second=st.integers(min_value=1, max_value=10),
)
def test_no_one_second_window_sends_more_than_the_limit(
    gaps_ms: list[int], per_second: int
) -> None:
    engine, broker, clock, _, strategy = engine_with(per_second=per_second)
    sent_at: list[int] = []
    now = clock.now_ns()
    for gap in gaps_ms:
        now += gap * 10**6
        clock.set(now)
        before = len(broker.submitted)
        engine.orders.release(now)
        strategy.buy(1, "SBIN-EQ")
        sent_at += [now] * (len(broker.submitted) - before)
    while engine.orders.held:
        now += 10**6
        before = len(broker.submitted)
        engine.orders.release(now)
        sent_at += [now] * (len(broker.submitted) - before)
    assert len(sent_at) == len(gaps_ms)  # nothing dropped
    for t in sent_at:
        assert sum(1 for u in sent_at if t <= u < t + SECOND) <= per_second


def test_an_order_above_the_freeze_quantity_goes_as_legal_children() -> None:
    _engine, broker, _, audit, strategy = engine_with(per_second=None)
    parent = strategy.buy(65 * 60, NIFTY_FUT.symbol)  # 3,900 units: 1,755 + 1,755 + 390
    sizes = [o.quantity for o in broker.submitted]
    assert sizes == [1_755, 1_755, 390]
    assert all(q % 65 == 0 for q in sizes)
    slices = [r for r in audit.records if r.stage is AuditStage.SLICE]
    assert len(slices) == 3
    assert parent not in {o.client_order_id for o in broker.submitted}
    assert {r.parent_client_order_id for r in slices} == {parent}
    assert {r.client_order_id for r in slices} == {o.client_order_id for o in broker.submitted}
    assert {r.number("parent_quantity") for r in slices} == {3_900}


def test_a_quantity_that_is_not_whole_lots_is_refused_not_raised() -> None:
    engine, broker, _, _audit, strategy = engine_with(per_second=None)
    coid = strategy.buy(4_000, NIFTY_FUT.symbol)
    order = engine.orders.orders[coid]
    assert order.status is OrderStatus.REJECTED
    assert order.reason.startswith("LOT_SIZE")
    assert broker.submitted == []
    assert ("on_order_update", OrderStatus.REJECTED) in [
        (h, getattr(a, "status", None)) for h, a in strategy.calls
    ]


def test_every_decision_is_in_the_audit_trail_in_order() -> None:
    _engine, broker, _, audit, strategy = engine_with(risk=RefusingRisk(code="MAX_QTY"))
    coid = strategy.buy(10, "SBIN-EQ")
    stages = [(r.stage, r.decision_code) for r in audit.records if r.client_order_id == coid]
    assert stages == [(AuditStage.INTENT, "ORDER_REQUESTED"), (AuditStage.RISK, "MAX_QTY")]
    assert broker.submitted == []


def test_an_allowed_order_leaves_intent_risk_and_submit_records() -> None:
    _engine, _, _, audit, strategy = engine_with()
    coid = strategy.buy(10, "SBIN-EQ", product=ProductType.DELIVERY)
    records = [r for r in audit.records if r.client_order_id == coid]
    assert [r.stage for r in records] == [AuditStage.INTENT, AuditStage.RISK, AuditStage.SUBMIT]
    assert Counter(r.order_tag for r in records) == {order_tag("orb1", coid): 3}


def test_a_venue_that_reads_no_tags_gets_none_and_the_order_still_has_its_own() -> None:
    # The backtest's venue says it never reads tags: it is sent none, and each order's tag is
    # worked out when someone reads it, the same as it would have been.
    engine, broker, _, _, strategy = engine_with(per_second=None)
    engine.orders._tag_broker = False  # what InlineSender passes on from SimulatedBroker
    first, second = strategy.buy(10, "SBIN-EQ"), strategy.buy(10, "SBIN-EQ")
    assert [o.tag for o in broker.submitted] == ["", ""]
    assert [engine.orders.orders[c].tag for c in (first, second)] == [
        order_tag("orb1", first),
        order_tag("orb1", second),
    ]


def test_a_strategy_id_no_tag_can_be_made_of_is_refused_before_anything_is_sent() -> None:
    broker = FakeBroker()
    engine = TradingEngine(
        SimulatedClock(ist_ns("2025-01-06", "09:30")), broker, starting_cash_paise=10**9
    )
    bad = RecordingStrategy(symbols=("SBIN-EQ",), strategy_id="--")
    engine.add_strategy(bad)
    engine.start()
    for _ in range(2):  # refused on every order, not only the first
        with pytest.raises(OrderError, match="no letters or digits"):
            bad.buy(10, "SBIN-EQ")
    assert broker.submitted == []
