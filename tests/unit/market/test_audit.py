"""Order audit records and the broker order tag (issue #3; angel-one-smartapi.md §1.8 AB4008)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.domain.errors import OrderError
from algo_trading.domain.ids import ClientOrderId, StrategyId
from algo_trading.domain.orders import Order, OrderSide, OrderType
from algo_trading.market.audit import (
    ORDER_TAG_MAX_LEN,
    AuditStage,
    audit_order,
    audit_record,
    order_tag,
)

TS = 1_795_000_000 * 10**9
SID = StrategyId("ema_cross")
COID = ClientOrderId("c1a2b3")


def test_a_short_id_gives_a_readable_tag() -> None:
    assert order_tag("ema_cross", "c1a2b3") == "emacross-c1a2b3"


def test_a_long_id_gives_a_digest_tag_under_twenty_characters() -> None:
    coid = "01J9Z7Q3V2K8XH5M4N6P0R1S2T"
    tag = order_tag("opening_range_breakout", coid)
    assert len(tag) == ORDER_TAG_MAX_LEN
    assert tag.startswith("openin-")
    assert tag == order_tag("opening_range_breakout", coid)  # reconciliation recomputes it
    assert tag != order_tag("opening_range_breakout", coid[:-1] + "U")


def test_an_id_with_other_characters_is_never_sent_raw() -> None:
    tag = order_tag("rsi", "a b/c")
    assert " " not in tag
    assert "/" not in tag


def test_a_strategy_without_letters_or_an_empty_order_id_is_refused() -> None:
    with pytest.raises(OrderError):
        order_tag("__", "c1")
    with pytest.raises(OrderError):
        order_tag("rsi", "")


@given(strategy=st.text(min_size=1, max_size=40), coid=st.text(min_size=1, max_size=60))
def test_every_tag_is_broker_legal(strategy: str, coid: str) -> None:
    if not any(c.isascii() and c.isalnum() for c in strategy):
        return
    tag = order_tag(strategy, coid)
    assert len(tag) < 20
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in tag)


@given(coids=st.lists(st.text(min_size=1, max_size=40), min_size=2, max_size=50, unique=True))
def test_distinct_order_ids_of_one_strategy_get_distinct_tags(coids: list[str]) -> None:
    tags = {order_tag("supertrend", c) for c in coids}
    assert len(tags) == len(coids)


def test_a_record_carries_the_decision_its_numbers_and_the_tag() -> None:
    record = audit_record(
        TS,
        AuditStage.RISK,
        "DAILY_LOSS_LIMIT",
        strategy_id=SID,
        client_order_id=COID,
        symbol="SBIN-EQ",
        side=OrderSide.BUY,
        quantity=10,
        price_paise=81_230,
        numbers={"loss_paise": 612_000, "limit_paise": 500_000},
    )
    assert record.order_tag == "emacross-c1a2b3"
    assert record.number("loss_paise") == 612_000
    assert record.summary() == "RISK DAILY_LOSS_LIMIT: limit_paise=500000, loss_paise=612000"
    with pytest.raises(KeyError):
        record.number("margin_paise")


def test_records_are_immutable_and_equal_for_equal_decisions() -> None:
    def build(numbers: dict[str, int]) -> object:
        return audit_record(
            TS,
            AuditStage.THROTTLE,
            "DELAYED",
            strategy_id=SID,
            client_order_id=COID,
            symbol="SBIN-EQ",
            side=OrderSide.SELL,
            quantity=1,
            numbers=numbers,
        )

    first = build({"send_ns": TS + 5, "wait_ns": 5})
    assert first == build({"wait_ns": 5, "send_ns": TS + 5})
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.decision_code = "OK"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"decision_code": "daily loss"}, "UPPER_SNAKE"),
        ({"ts_ns": -1}, "before the epoch"),
        ({"quantity": -1}, "negative"),
        ({"detail": "two\nlines"}, "one line"),
        ({"numbers": {"Loss": 1}}, "lower_snake"),
        ({"numbers": {"ratio": 0.5}}, "not an integer"),
        ({"numbers": {"flag": True}}, "not an integer"),
    ],
)
def test_a_bad_record_is_refused_with_one_line(changes: dict[str, object], fragment: str) -> None:
    args: dict[str, object] = {
        "ts_ns": TS,
        "stage": AuditStage.INTENT,
        "decision_code": "OK",
        "strategy_id": SID,
        "client_order_id": COID,
        "symbol": "SBIN-EQ",
        "side": OrderSide.BUY,
        "quantity": 1,
    } | changes
    with pytest.raises(OrderError) as info:
        audit_record(**args)  # type: ignore[arg-type]
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_a_record_of_a_slice_names_its_parent() -> None:
    child = Order(
        ClientOrderId("c1a2b3-2"),
        SID,
        "NIFTY29DEC26FUT",
        OrderSide.BUY,
        1_755,
        OrderType.LIMIT,
        price_paise=2_612_340,
    )
    record = audit_order(
        child.snapshot(),
        TS,
        AuditStage.SLICE,
        "SLICED",
        numbers={"slice": 2, "slices": 3, "freeze_units": 1_800},
        parent_client_order_id=COID,
    )
    assert record.parent_client_order_id == COID
    assert (record.quantity, record.price_paise, record.symbol) == (
        1_755,
        2_612_340,
        "NIFTY29DEC26FUT",
    )
    assert record.order_tag == "emacross-c1a2b3-2"
