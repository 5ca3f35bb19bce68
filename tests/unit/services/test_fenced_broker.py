"""The lease checked at the broker's door: a place from a strategy whose lease was lost is
not sent but rejected here, with its code."""

from __future__ import annotations

from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import OrderEvent
from algo_trading.engine.clock import SimulatedClock
from algo_trading.services.fenced_broker import STALE_LEASE, FencedBroker
from tests.support.builders import make_order
from tests.support.fakes import FakeBroker


def _fenced(owned: set[str]) -> tuple[FencedBroker, FakeBroker, list[ExecutionReport]]:
    inner, reports = FakeBroker(), []
    fenced = FencedBroker(inner, owned.__contains__, SimulatedClock(5), lambda _coid: "test")
    fenced.connect(reports.append)
    return fenced, inner, reports


def test_a_place_goes_out_while_the_lease_is_held() -> None:
    order = make_order()
    fenced, inner, reports = _fenced({order.strategy_id})
    order.apply(OrderEvent.SUBMIT, 1)
    fenced.submit(order.snapshot())
    assert [o.client_order_id for o in inner.submitted] == [order.client_order_id]
    assert reports == []


def test_a_place_after_the_lease_was_lost_is_rejected_here_and_never_sent() -> None:
    order = make_order()
    fenced, inner, reports = _fenced(set())
    order.apply(OrderEvent.SUBMIT, 1)
    fenced.submit(order.snapshot())
    assert inner.submitted == []
    assert [(r.event, r.reason.split(":")[0]) for r in reports] == [
        (OrderEvent.REJECT, STALE_LEASE)
    ]
    fenced.cancel(ClientOrderId("X1"))
    assert inner.cancelled == []
    assert fenced.refused == 2
