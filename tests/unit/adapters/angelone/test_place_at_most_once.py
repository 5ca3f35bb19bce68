"""AngelOneBroker places an order at most once, whatever becomes of the place answer and
whenever the order shows up in the book (issue #9, item 2). The venue here is an in-memory
order book behind a fake session, so hypothesis can try every interleaving in milliseconds;
the same behaviour over HTTP is in tests/integration/angelone/test_at_most_once.py."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.adapters.brokers.angelone.errors import (
    BrokerRejectedError,
    BrokerUnavailableError,
    RateLimitedError,
)
from algo_trading.adapters.brokers.angelone.execution import AngelOneBroker
from algo_trading.domain import ExecutionReport, OrderEvent
from algo_trading.domain.instruments import equity
from algo_trading.engine.reconciliation import ReconcileConfig, Verdict
from algo_trading.market.audit import order_tag
from tests.support.builders import make_order

SECOND = 1_000_000_000
START = 1_750_000_000 * SECOND
LOST = ("timeout_booked", "5xx_booked_late", "5xx_never_booked", "unreadable_booked")
OUTCOMES = ("ok", "rate_limited_then_ok", "refused", *LOST)


@dataclass
class Clock:
    now: int = START

    def now_ns(self) -> int:
        return self.now


@dataclass
class Config:
    retry_attempts: int = 3
    place_lookup_attempts: int = 2


@dataclass
class Http:
    config: Config = field(default_factory=Config)


@dataclass
class FakeVenue:
    """The session's surface that AngelOneBroker uses, over an in-memory order book. The one
    place call has `outcome`; an order booked "late" shows up from the `appear_at`-th book
    read on; `duplicate_at` makes a second order with the same tag show up (another copy of
    the service, or the broker's own double)."""

    outcome: str
    appear_at: int
    duplicate_at: int | None
    http: Http = field(default_factory=Http)
    rows: list[dict[str, Any]] = field(default_factory=list)
    pending: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    place_calls: int = 0
    booked_by_place: int = 0
    reads: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _row(self, body: dict[str, Any]) -> dict[str, Any]:
        n = next(self._ids)
        return {
            "orderid": f"B{n}",
            "uniqueorderid": f"U{n}",
            "ordertag": body["ordertag"],
            "tradingsymbol": body["tradingsymbol"],
            "symboltoken": body["symboltoken"],
            "exchange": body["exchange"],
            "transactiontype": body["transactiontype"],
            "ordertype": body["ordertype"],
            "producttype": body["producttype"],
            "variety": body["variety"],
            "duration": body["duration"],
            "quantity": body["quantity"],
            "price": body["price"],
            "status": "open",
            "filledshares": "0",
        }

    def send_once(self, name: str, body: dict[str, Any]) -> Any:
        assert name == "place"
        self.place_calls += 1
        outcome = self.outcome
        if outcome == "rate_limited_then_ok" and self.place_calls == 1:
            raise RateLimitedError("Access denied because of exceeding access rate")
        if outcome == "refused":
            raise BrokerRejectedError("Invalid quantity", code="AB4008")
        row = self._row(body)
        if outcome != "5xx_never_booked":
            self.booked_by_place += 1
            if outcome == "5xx_booked_late":
                self.pending.append((self.appear_at, row))
            else:
                self.rows.append(row)
        if self.duplicate_at is not None:
            self.pending.append((self.duplicate_at, self._row(body)))
        if outcome in ("timeout_booked", "5xx_booked_late", "5xx_never_booked"):
            raise BrokerUnavailableError("no answer", route="place")
        if outcome == "unreadable_booked":
            return {"script": body["tradingsymbol"]}  # no order id: unreadable
        return {"orderid": row["orderid"], "uniqueorderid": row["uniqueorderid"]}

    def call(self, name: str, body: Any = None, *, path_suffix: str = "") -> Any:
        if name == "order_book":
            self.reads += 1
            due = [r for at, r in self.pending if at <= self.reads]
            self.pending = [(at, r) for at, r in self.pending if at > self.reads]
            self.rows.extend(due)
            return list(self.rows) or None
        if name == "trade_book":
            return None
        if name == "order_details":
            return next(r for r in self.rows if r["uniqueorderid"] == path_suffix)
        if name == "cancel":
            for r in self.rows:
                if r["orderid"] == body["orderid"]:
                    r["status"] = "cancelled"
            return {"orderid": body["orderid"], "uniqueorderid": ""}
        raise AssertionError(f"unexpected call {name}")

    def open_with(self, tag: str) -> list[str]:
        return [r["orderid"] for r in self.rows if r["ordertag"] == tag and r["status"] == "open"]

    def with_tag(self, tag: str) -> int:
        return sum(r["ordertag"] == tag for r in self.rows)


@settings(max_examples=200, deadline=None)
@given(
    outcome=st.sampled_from(OUTCOMES),
    appear_at=st.integers(1, 8),
    duplicate_at=st.one_of(st.none(), st.integers(1, 8)),
    window_s=st.integers(0, 60),
    steps=st.lists(
        st.tuples(st.sampled_from(["poll", "reconcile"]), st.integers(0, 40)), max_size=8
    ),
)
def test_whatever_the_place_answer_and_timing_the_order_is_placed_at_most_once(
    outcome: str,
    appear_at: int,
    duplicate_at: int | None,
    window_s: int,
    steps: list[tuple[str, int]],
) -> None:
    venue = FakeVenue(outcome, appear_at, duplicate_at)
    clock = Clock()
    inst = equity("SBIN-EQ", token=3045)
    config = ReconcileConfig(confirm_window_ns=window_s * SECOND)
    broker = AngelOneBroker(
        venue,  # type: ignore[arg-type]
        lambda _symbol: inst,
        clock,
        sleep=lambda _s: None,
        reconcile_config=config,
    )
    reports: list[ExecutionReport] = []
    broker.connect(reports.append)
    order = make_order("O1", quantity=1)
    order.tag = order_tag(order.strategy_id, order.client_order_id)
    order.apply(OrderEvent.SUBMIT, START)
    broker.submit(order.snapshot())

    events = [r.event for r in reports]
    if outcome in LOST:
        assert OrderEvent.REJECT not in events  # it may be live: never a local reject
    for action, advance_s in steps:
        clock.now += advance_s * SECOND
        if action == "poll":
            broker.poll()
            continue
        before = venue.with_tag(order.tag)
        result = broker.reconcile()
        assert result is not None
        verdicts = {d.verdict for d in result.decisions}
        if before or venue.with_tag(order.tag):
            assert Verdict.NEVER_SENT not in verdicts
        # every broker order carrying our tag beyond one is cancelled while open
        assert len(venue.open_with(order.tag)) <= 1

    clock.now += 3600 * SECOND
    broker.poll()
    assert broker.reconcile() is not None  # the trading service sweeps again, as it always does
    assert broker.unconfirmed() == {}  # past the window, nothing is left in doubt
    assert venue.booked_by_place <= 1
    rate_limited = outcome == "rate_limited_then_ok"
    assert venue.place_calls == (2 if rate_limited else 1)
    events = [r.event for r in reports]
    assert events.count(OrderEvent.ACCEPT) <= 1
    ends = [e for e in events if e in (OrderEvent.CANCEL, OrderEvent.REJECT)]
    assert len(ends) <= 1
    if OrderEvent.CANCEL in events:  # ended here: nothing carrying our tag may still trade
        assert venue.open_with(order.tag) == []
    else:
        assert len(venue.open_with(order.tag)) <= 1
    if outcome in ("ok", "rate_limited_then_ok"):
        assert events[0] is OrderEvent.ACCEPT
    if outcome == "refused":
        assert events == [OrderEvent.REJECT]


def test_an_unreadable_place_answer_is_adopted_from_the_book_not_rejected_nor_resent() -> None:
    venue = FakeVenue("unreadable_booked", appear_at=1, duplicate_at=None)
    clock = Clock()
    inst = equity("SBIN-EQ", token=3045)
    broker = AngelOneBroker(venue, lambda _s: inst, clock, sleep=lambda _s: None)  # type: ignore[arg-type]
    reports: list[ExecutionReport] = []
    broker.connect(reports.append)
    order = make_order("O2", quantity=1)
    order.tag = "t-O2"
    order.apply(OrderEvent.SUBMIT, START)
    broker.submit(order.snapshot())
    assert [r.event for r in reports] == [OrderEvent.ACCEPT]  # found by its tag right away
    assert venue.place_calls == 1


def test_the_same_order_handed_over_twice_is_placed_once() -> None:
    venue = FakeVenue("ok", appear_at=1, duplicate_at=None)
    inst = equity("SBIN-EQ", token=3045)
    broker = AngelOneBroker(venue, lambda _s: inst, Clock(), sleep=lambda _s: None)  # type: ignore[arg-type]
    reports: list[ExecutionReport] = []
    broker.connect(reports.append)
    order = make_order("O3", quantity=1)
    order.tag = "t-O3"
    order.apply(OrderEvent.SUBMIT, START)
    broker.submit(order.snapshot())
    broker.submit(order.snapshot())
    assert (venue.place_calls, venue.with_tag("t-O3")) == (1, 1)
    assert [r.event for r in reports] == [OrderEvent.ACCEPT]


def test_a_poll_with_nothing_sent_or_followed_reads_no_book() -> None:
    # The order-status stream polls on connect: at start that read came just before the
    # start-up recovery's, and the book's one-a-second limit held the start back a second.
    venue = FakeVenue("ok", appear_at=1, duplicate_at=None)
    inst = equity("SBIN-EQ", token=3045)
    broker = AngelOneBroker(venue, lambda _s: inst, Clock(), sleep=lambda _s: None)  # type: ignore[arg-type]
    broker.connect(lambda _r: None)
    broker.poll()
    assert venue.reads == 0
    order = make_order("O4", quantity=1)
    order.tag = "t-O4"
    order.apply(OrderEvent.SUBMIT, START)
    broker.submit(order.snapshot())
    before = venue.reads
    broker.poll()  # something to follow now: the book is read
    assert venue.reads == before + 1
