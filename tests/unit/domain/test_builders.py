"""The hot path's builders (domain._build): what they make is the frozen class itself, equal
to what its constructor makes, and as frozen."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from algo_trading.domain.events import ExecutionReport, execution_report
from algo_trading.domain.fills import Fill, new_fill
from algo_trading.domain.ids import ClientOrderId, StrategyId, TradeId
from algo_trading.domain.orders import (
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderSnapshot,
    OrderType,
    ProductType,
    Validity,
    new_intent,
)
from algo_trading.domain.positions import Position, RoundTrip
from tests.support.builders import make_order


def _same_as_constructed(built: object, constructed: object) -> None:
    assert type(built) is type(constructed)
    assert built == constructed
    assert hash(built) == hash(constructed)
    assert pickle.loads(pickle.dumps(built)) == constructed  # noqa: S301 - our own bytes
    field = dataclasses.fields(built)[0].name  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(built, field, "changed")
    assert dataclasses.replace(built) == constructed  # type: ignore[type-var]


def test_a_built_report_is_an_execution_report() -> None:
    _same_as_constructed(
        execution_report("O1", OrderEvent.FILL, 5, "B1", 10, 9_000, "T1", "why"),
        ExecutionReport("O1", OrderEvent.FILL, 5, "B1", 10, 9_000, "T1", "why"),
    )
    _same_as_constructed(
        execution_report("O1", OrderEvent.ACCEPT, 5), ExecutionReport("O1", OrderEvent.ACCEPT, 5)
    )


def test_a_built_fill_is_a_fill() -> None:
    args = (
        TradeId("T1"),
        ClientOrderId("O1"),
        StrategyId("s"),
        "SBIN-EQ",
        OrderSide.SELL,
        3,
        9_005,
        7,
        ProductType.DELIVERY,
        42,
    )
    _same_as_constructed(new_fill(*args), Fill(*args))
    _same_as_constructed(new_fill(*args[:8]), Fill(*args[:8]))


def test_a_built_intent_is_an_order_intent() -> None:
    args = (
        "s",
        "SBIN-EQ",
        OrderSide.BUY,
        5,
        OrderType.STOPLOSS_LIMIT,
        10_000,
        9_950,
        ProductType.DELIVERY,
        Validity.IOC,
    )
    _same_as_constructed(new_intent(*args), OrderIntent(*args))


def test_an_order_snapshot_is_built_field_for_field() -> None:
    order = make_order("O7", quantity=5, price_paise=10_000)
    order.tag = "t-O7"
    snap = order.snapshot()
    constructed = OrderSnapshot(
        **{f.name: getattr(order, f.name) for f in dataclasses.fields(OrderSnapshot)}
    )
    _same_as_constructed(snap, constructed)
    assert snap.tag == "t-O7"
    assert order.snapshot(with_tag=False) == dataclasses.replace(constructed, tag="")


def test_a_closed_round_trip_is_a_round_trip() -> None:
    pos = Position("SBIN-EQ")
    pos.apply_fill(10, 1_000, 1)
    pos.apply_fill(-10, 1_100, 2, charges_paise=7)
    (trip,) = pos.round_trips
    _same_as_constructed(trip, RoundTrip("SBIN-EQ", 1, 10, 1, 2, 10_000, 11_000, 1_000, 7))
