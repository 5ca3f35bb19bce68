"""Properties of the risk manager's sequences (engine/risk_manager.py): the breaker trips at the
first rejection that makes N within M minutes, never before; the daily loss halts at the first
moment the day's P&L (cash flows, charges and the mark, counted independently here) reaches
minus the limit, never before, over any sequence of fills and trades."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from algo_trading.domain import OrderEvent, OrderSide
from algo_trading.engine.risk import RiskLimits
from tests.support.fakes import FlatCharges

from .risk_rig import SBIN, risk_rig

MINUTE = 60 * 10**9


@given(
    n=st.integers(1, 5),
    minutes=st.integers(1, 15),
    gaps_s=st.lists(st.integers(0, 60).map(lambda k: k * 15), min_size=1, max_size=25),
)
@example(n=2, minutes=1, gaps_s=[0, 60])  # exactly M minutes apart: not within
@example(n=3, minutes=10, gaps_s=[0, 300, 300, 240])
def test_the_breaker_trips_exactly_when_n_rejections_fall_within_m_minutes(
    n: int, minutes: int, gaps_s: list[int]
) -> None:
    r = risk_rig(
        strategies={"alpha": RiskLimits(breaker_rejections=n, breaker_window_minutes=minutes)}
    )
    times: list[int] = []
    for gap in gaps_s:
        r.clock.set(r.clock.now_ns() + gap * 10**9)
        coid = r.order(OrderSide.BUY, 1)
        if r.code(coid):  # refused: the breaker held it
            assert r.code(coid) == "BREAKER"
            break
        r.reject(coid)
        times.append(r.clock.now_ns())
        expected = len(times) >= n and times[-1] - times[-n] < minutes * MINUTE
        assert (r.manager.halted("alpha") is not None) == expected
        if expected:
            break


_step = st.one_of(
    st.tuples(st.just("tick"), st.integers(50_00, 150_00)),
    st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 50), st.integers(50_00, 150_00)),
)


@given(
    limit_rupees=st.integers(1, 3_000) | st.sampled_from([50, 100, 500, 1_000]),
    charge=st.sampled_from([0, 0, 20_00, 50_00]),
    steps=st.lists(_step, min_size=1, max_size=30),
)
@example(
    limit_rupees=1_000, charge=0, steps=[("buy", 10, 150_00), ("tick", 50_00)]
)  # exactly the limit
def test_the_daily_loss_halts_at_the_first_moment_the_loss_reaches_the_limit(
    limit_rupees: int, charge: int, steps: list[tuple[int | str, ...]]
) -> None:
    limit = limit_rupees * 100
    r = risk_rig(
        strategies={"alpha": RiskLimits(max_daily_loss_paise=limit)}, charges=FlatCharges(charge)
    )
    cash, qty, mark = 0, 0, 0
    for step in steps:
        kind = step[0]
        if kind == "tick":
            mark = int(step[1])
            r.tick(mark)
        else:
            q, price = int(step[1]), int(step[2])
            side = OrderSide.BUY if kind == "buy" else OrderSide.SELL
            coid = r.order(side, q)
            assert r.code(coid) == ""  # never halted before the breach (checked below)
            r.fill(coid, price)
            signed = q if side is OrderSide.BUY else -q
            cash -= signed * price + charge
            qty += signed
            mark = price
        pnl = cash + qty * mark
        halted = r.manager.halted("alpha") is not None
        assert halted == (pnl <= -limit), (pnl, limit)
        if halted:
            # the breach asked for the position to be closed, once
            closing = [o for o in r.broker.submitted if o.symbol == SBIN][-1]
            if qty:
                assert closing.order_type.value == "MARKET"
                assert closing.quantity == abs(qty)
            break


_action = st.one_of(
    st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 60)),
    st.tuples(st.just("fill"), st.integers(0, 10), st.integers(1, 60)),
    st.tuples(st.just("cancel"), st.integers(0, 10)),
)


@given(limit=st.integers(1, 100), actions=st.lists(_action, min_size=1, max_size=40))
@example(limit=50, actions=[("buy", 40), ("buy", 40), ("fill", 0, 40), ("fill", 0, 40)])
@example(
    limit=50, actions=[("sell", 30), ("buy", 20), ("sell", 30), ("fill", 0, 30), ("fill", 1, 30)]
)
def test_no_sequence_of_allowed_orders_and_fills_takes_a_position_past_its_limit(
    limit: int, actions: list[tuple[str | int, ...]]
) -> None:
    """The position limit holds against the worst case (every working order of a side filled),
    so whatever fills, in whatever order, the position stays within it."""
    r = risk_rig(strategies={"alpha": RiskLimits(max_position_quantity=limit)})
    r.tick(100_00)
    working: list[str] = []
    for action in actions:
        kind = action[0]
        if kind in ("buy", "sell"):
            side = OrderSide.BUY if kind == "buy" else OrderSide.SELL
            coid = r.order(side, int(action[1]), 100_00)
            if not r.code(coid):
                r.broker.accept(coid)
                r.engine.drain()
                working.append(coid)
        elif working:
            coid = working[int(action[1]) % len(working)]
            order = r.engine.orders.orders[coid]  # type: ignore[index]
            if kind == "fill":
                r.fill(coid, 100_00, min(int(action[2]), order.remaining))  # type: ignore[arg-type]
            else:
                r.broker.event(coid, OrderEvent.CANCEL)
                r.engine.drain()
            if order.is_terminal:
                working.remove(coid)
        assert abs(r.position(strategy="alpha")) <= limit
