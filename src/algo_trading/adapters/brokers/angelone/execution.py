"""Angel One as the engine's `Broker` (engine/ports.py): orders placed with a tag derived from
our client order id, each placed at most once, and the broker's order updates turned into
`ExecutionReport`s.

Placement (issue #9, item 2): a placeOrder whose answer is lost (timeout, dropped connection,
5xx, an unreadable body) may still have reached Angel One, so it is never sent again and never
reported as a REJECT. The order stays SUBMITTED and is recorded as unconfirmed (`unconfirmed()`);
the order book is read for its tag (`place_lookup_attempts` reads, `lookup_delay_s` apart) and
an order found is adopted. Later the order stream, `poll()` or `reconcile()` adopt it however
late it appears; `reconcile()` declares it not placed only after the reconciliation window with
no trace (a CANCEL report), and if it appears after that, books its fills, cancels it at the
broker and says so at error level. A 403 rate-limit answer or an AG8001 refused the request
outright (§1.7), so those are sent again after the back-off or the re-login. A business refusal
becomes a REJECT report; nothing here raises into the engine.

Updates come from the order-status WebSocket (`on_order_update`) or from `poll()`; both feed
one state machine per order that emits only the transitions the engine's table allows. Fills
come from the trade book, one report per fill id, so a fill is never reported twice. Broker
orders are grouped by tag in `reconcile()`: a second order carrying one of our tags is a
DUPLICATE, logged at error level and cancelled while open (engine/reconciliation.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from algo_trading.adapters.brokers.angelone import orders_api
from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import ROUTES
from algo_trading.adapters.brokers.angelone.errors import (
    AngelOneError,
    BrokerUnavailableError,
    MalformedResponseError,
    RateLimitedError,
)
from algo_trading.adapters.brokers.angelone.parsing import (
    BrokerOrderRow,
    BrokerTradeRow,
    parse_order_row,
)
from algo_trading.domain.events import ExecutionReport
from algo_trading.domain.ids import BrokerOrderId, ClientOrderId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import OrderEvent, OrderSnapshot, OrderStatus, OrderType
from algo_trading.engine.ports import Clock, ReportSink
from algo_trading.engine.reconciliation import (
    BrokerOrder,
    BrokerTrade,
    CancelAction,
    Decision,
    ReconcileConfig,
    Reconciliation,
    Verdict,
    reconcile,
)
from algo_trading.market.audit import order_tag

__all__ = ["AngelOneBroker", "BookRows"]

BookRows = tuple[Sequence[BrokerOrderRow], Sequence[BrokerTradeRow]]
"""The order book's and the trade book's rows as read once (`AngelOneBroker.read_books`)."""

log = logging.getLogger(__name__)

_S = OrderStatus
_TERMINAL = frozenset({_S.FILLED, _S.CANCELLED, _S.REJECTED, _S.EXPIRED})
_STOPS = (OrderType.STOPLOSS_LIMIT, OrderType.STOPLOSS_MARKET)


@dataclass(slots=True)
class _Tracked:
    """What we told the engine about one order, so only legal transitions are emitted."""

    order: OrderSnapshot
    instrument: Instrument
    tag: str
    state: OrderStatus = _S.SUBMITTED
    broker_order_id: str | None = None
    unique_order_id: str | None = None
    filled: int = 0
    trade_ids: set[str] = field(default_factory=set)
    cancel_wanted: bool = False
    sent_ns: int = 0  # when placeOrder went out: the reconciliation window counts from here
    unconfirmed: bool = False  # the place answer was lost: it may or may not be at the broker


class AngelOneBroker:
    """The `Broker` port over SmartAPI REST plus the order-status stream.

    `instrument(symbol)` gives the exchange and token an order needs (the instrument master).
    Calls block the calling thread for the HTTP round trip; reports go to the sink, which the
    engine drains on its own thread.
    """

    def __init__(
        self,
        session: AngelOneSession,
        instrument: Callable[[str], Instrument],
        clock: Clock,
        *,
        variety: str = "NORMAL",
        lookup_delay_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        reconcile_config: ReconcileConfig | None = None,
    ) -> None:
        self.session = session
        self._instrument = instrument
        self._clock = clock
        self._variety = variety
        self._lookup_delay_s = lookup_delay_s
        self._sleep = sleep
        self._reconcile_config = reconcile_config or ReconcileConfig()
        self._sink: ReportSink | None = None
        self._lock = threading.RLock()
        self._orders: dict[ClientOrderId, _Tracked] = {}
        self._by_tag: dict[str, ClientOrderId] = {}
        self.place_requests = 0  # placeOrder calls sent (tests check nothing is sent twice)
        self.alerts: list[str] = []  # what reconciliation found that a person must see
        self._alerted: set[tuple[str, ...]] = set()  # each finding is raised once, not per sweep
        self.errors: list[AngelOneError] = []  # typed errors met while following orders

    # --- the Broker port -------------------------------------------------------------------
    def connect(self, sink: ReportSink) -> None:
        self._sink = sink

    def submit(self, order: OrderSnapshot) -> None:
        coid = order.client_order_id
        try:
            inst = self._instrument(order.symbol)
        except Exception as exc:  # the resolver's own error type is not ours to know
            self._emit(coid, OrderEvent.REJECT, reason=f"UNKNOWN_INSTRUMENT: {exc}")
            return
        tag = order.tag or order_tag(order.strategy_id, coid)
        tracked = _Tracked(order, inst, tag, sent_ns=self._clock.now_ns())
        if not self._track(tracked):
            return
        body = orders_api.place_body(order, inst, tag, self._variety)
        try:
            data = self._place_once(body)
            order_id, unique_id = orders_api.place_ids(ROUTES["place"].path, data)
        except (BrokerUnavailableError, MalformedResponseError) as exc:
            self._answer_lost(tracked, exc)
            return
        except AngelOneError as exc:
            log.warning(
                "angelone place of %s refused: %s",
                coid,
                exc,
                extra={"client_order_id": coid, "code": exc.code},
            )
            self._on_refusal(tracked, exc)
            return
        self._acknowledge(tracked, order_id, unique_id)
        self.refresh(coid)

    def follow(self, order: OrderSnapshot, *, sent_ns: int, trade_ids: Iterable[str] = ()) -> None:
        """Follow an order sent before a restart, as the database has it, without sending
        anything: the stream, `poll()` and `reconcile()` take it from here. One still
        SUBMITTED without a broker id is unconfirmed, its window counting from `sent_ns`."""
        inst = self._instrument(order.symbol)
        bid = order.broker_order_id
        tracked = _Tracked(
            order,
            inst,
            order.tag or order_tag(order.strategy_id, order.client_order_id),
            state=order.status,
            broker_order_id=bid,
            filled=order.filled_quantity,
            trade_ids=set(trade_ids),
            sent_ns=sent_ns,
            unconfirmed=bid is None and order.status is _S.SUBMITTED,
        )
        self._track(tracked)

    def _track(self, tracked: _Tracked) -> bool:
        """Register an order; False (and nothing sent) when its id or tag is already known:
        the same order handed over twice must not reach the broker twice."""
        coid = tracked.order.client_order_id
        with self._lock:
            known = self._by_tag.get(tracked.tag) or (coid if coid in self._orders else None)
            if known is None:
                self._orders[coid] = tracked
                self._by_tag[tracked.tag] = coid
                return True
        log.error(
            "angelone: %s (tag %s) is already known as %s; not sent again",
            coid,
            tracked.tag,
            known,
            extra={"client_order_id": coid},
        )
        return False

    def cancel(self, client_order_id: ClientOrderId) -> None:
        tracked = self._orders.get(client_order_id)
        if tracked is None or tracked.state in _TERMINAL:
            return
        if tracked.broker_order_id is None:
            tracked.cancel_wanted = True  # sent once the placement is acknowledged
            return
        try:
            self.session.call(
                "cancel", orders_api.cancel_body(self._variety, tracked.broker_order_id)
            )
        except AngelOneError as exc:
            # Usually "already complete or cancelled"; the book will say which.
            log.warning("angelone cancel of %s refused: %s", client_order_id, exc)
            self.errors.append(exc)
        self.refresh(client_order_id)

    # --- more order actions ----------------------------------------------------------------
    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
        order_type: OrderType | None = None,
    ) -> None:
        """Change a working order (§2.4); raises the typed error when Angel One refuses."""
        tracked = self._orders.get(client_order_id)
        if tracked is None or tracked.broker_order_id is None:
            raise BrokerUnavailableError(
                f"order {client_order_id} has no broker order id yet",
                code="",
                route=ROUTES["modify"].path,
            )
        body = orders_api.modify_body(
            tracked.order,
            tracked.instrument,
            tracked.broker_order_id,
            self._variety,
            quantity=quantity,
            price_paise=price_paise,
            trigger_price_paise=trigger_price_paise,
            order_type=order_type,
        )
        self.session.call("modify", body)
        self.refresh(client_order_id)

    def refresh(self, client_order_id: ClientOrderId) -> None:
        """Ask for one order's status (§2.7) and apply it; errors are logged, not raised."""
        tracked = self._orders.get(client_order_id)
        if tracked is None or tracked.unique_order_id is None:
            return
        route = ROUTES["order_details"]
        try:
            data = self.session.call(route.name, path_suffix=tracked.unique_order_id)
            self.apply_row(parse_order_row(route.path, data))
        except AngelOneError as exc:
            self._record(exc)

    def poll(self) -> None:
        """Bring every working order up to date from the order book (and the trade book when
        something was filled). Used without the order stream and after it reconnects. When an
        order is in doubt (unconfirmed, duplicated, or closed here and now in the book), the
        same book is reconciled too, so a poll loop alone settles it. With no order sent or
        followed yet there is nothing to bring up to date: the book is not read (it is rate
        limited, and start-up recovery reads it next)."""
        with self._lock:
            if not self._orders:
                return
        try:
            rows = self._order_rows()
        except AngelOneError as exc:
            self._record(exc)
            return
        for row in rows:
            self.apply_row(row)
        if self._in_doubt(rows):
            self._reconcile(rows)

    def on_order_update(self, payload: Mapping[str, Any]) -> None:
        """One order-status WebSocket frame's `orderData` (§5.2)."""
        try:
            row = parse_order_row("ws/smart-order-update", payload)
        except AngelOneError as exc:
            self._record(exc)
            return
        self.apply_row(row)

    def working(self) -> list[ClientOrderId]:
        with self._lock:
            return [c for c, t in self._orders.items() if t.state not in _TERMINAL]

    def unconfirmed(self) -> dict[ClientOrderId, int]:
        """Orders whose place answer was lost and that no book has shown yet, with the time
        each was sent: SUBMITTED for the engine, possibly live at the broker."""
        with self._lock:
            return {
                c: t.sent_ns
                for c, t in self._orders.items()
                if t.unconfirmed and t.broker_order_id is None and t.state is _S.SUBMITTED
            }

    # --- reconciliation by tag (engine/reconciliation.py) --------------------------------
    def read_books(self) -> BookRows:
        """The order book's and the trade book's rows, each read once; raises the typed error
        when either cannot be read. One reconciliation round hands the same rows to
        `reconcile(rows)` and `books(rows)`, so a minute reads each book once."""
        return self._order_rows(), self._trade_rows()

    def books(self, rows: BookRows | None = None) -> tuple[list[BrokerOrder], list[BrokerTrade]]:
        """The order book and the trade book in reconciliation's terms (for reconciling the
        database's orders at start); raises the typed error when either cannot be read, since
        a half-read book would make an order that is there look never placed. `rows`: books
        already read (`read_books`)."""
        order_rows, trade_rows = rows if rows is not None else self.read_books()
        return orders_api.reconciliation_books(order_rows, trade_rows, self._clock.now_ns())

    def reconcile(self, rows: BookRows | None = None) -> Reconciliation | None:
        """Settle our unconfirmed, declared-not-placed and duplicated orders from the books:
        adopt what appeared, declare not placed what stayed absent past the window, cancel
        extra orders carrying our tags. None when the books could not be read. `rows`: books
        already read this round (`read_books`), not read again."""
        if rows is not None:
            return self._reconcile(rows[0], rows[1])
        try:
            order_rows = self._order_rows()
        except AngelOneError as exc:
            self._record(exc)
            return None
        return self._reconcile(order_rows)

    def _order_rows(self) -> list[BrokerOrderRow]:
        route = ROUTES["order_book"]
        return orders_api.order_rows(route.path, self.session.call(route.name))

    def _trade_rows(self) -> list[BrokerTradeRow]:
        route = ROUTES["trade_book"]
        return orders_api.trade_rows(route.path, self.session.call(route.name))

    def _in_doubt(self, rows: Sequence[BrokerOrderRow]) -> bool:
        tags = Counter(r.tag for r in rows)
        with self._lock:
            return any(
                t.unconfirmed or tags[t.tag] > 1 or (t.broker_order_id is None and tags[t.tag])
                for t in self._orders.values()
            )

    def _reconcile(
        self,
        book_rows: Sequence[BrokerOrderRow],
        trade_rows: Sequence[BrokerTradeRow] | None = None,
    ) -> Reconciliation | None:
        if trade_rows is not None:
            fills = trade_rows
        else:
            try:
                fills = self._trade_rows()
            except AngelOneError as exc:
                self._record(exc)
                return None
        now = self._clock.now_ns()
        orders, trades = orders_api.reconciliation_books(book_rows, fills, now)
        counts = Counter(o.tag for o in orders)
        with self._lock:
            watched = [
                t for t in self._orders.values() if t.broker_order_id is None or counts[t.tag] > 1
            ]
            ours = [self._snapshot(t) for t in watched]
            known = {i for t in watched for i in t.trade_ids}
            sent = {t.order.client_order_id: t.sent_ns for t in watched}
        result = reconcile(
            ours, orders, trades, known, now_ns=now, config=self._reconcile_config, sent_ns=sent
        )
        rows_by_id = {r.order_id: r for r in book_rows}
        for decision in result.decisions:
            tracked = self._orders[decision.client_order_id]
            if decision.alert and self._first_time(decision):
                self.alerts.append(decision.alert)
                log.error(
                    "angelone reconciliation: %s",
                    decision.alert,
                    extra={"client_order_id": decision.client_order_id},
                )
            if decision.verdict is Verdict.NEVER_SENT:
                self._declare_not_placed(tracked, decision.note)
            elif decision.verdict is Verdict.UNRESOLVED:
                log.error("angelone reconciliation: %s", decision.note)
            elif decision.broker_order_id is not None and tracked.broker_order_id is None:
                self._adopt(tracked, decision.broker_order_id, rows_by_id)
        self.execute(result.actions)
        return result

    def _first_time(self, decision: Decision) -> bool:
        key = (
            decision.client_order_id,
            decision.verdict.value,
            decision.broker_order_id or "",
            *sorted(d.broker_order_id for d in decision.duplicates),
        )
        new = key not in self._alerted
        self._alerted.add(key)
        return new

    def execute(self, actions: Sequence[CancelAction]) -> None:
        """Carry out reconciliation's cancels of broker orders by their broker id."""
        for action in actions:
            log.warning(
                "angelone: cancelling broker order %s: %s",
                action.broker_order_id,
                action.reason,
                extra={"client_order_id": action.client_order_id},
            )
            try:
                self.session.call(
                    "cancel", orders_api.cancel_body(self._variety, action.broker_order_id)
                )
            except AngelOneError as exc:
                self._record(exc)  # already complete or cancelled: the next look will say

    def _snapshot(self, tracked: _Tracked) -> OrderSnapshot:
        """The order as this adapter has reported it to the engine."""
        bid = tracked.broker_order_id
        return replace(
            tracked.order,
            status=tracked.state,
            broker_order_id=None if bid is None else BrokerOrderId(bid),
            filled_quantity=tracked.filled,
            tag=tracked.tag,
            updated_ns=tracked.sent_ns,
        )

    def _declare_not_placed(self, tracked: _Tracked, note: str) -> None:
        with self._lock:
            if tracked.state is not _S.SUBMITTED or tracked.broker_order_id is not None:
                return
            tracked.state = _S.CANCELLED
            tracked.unconfirmed = False
        log.warning(
            "angelone: %s declared not placed: %s",
            tracked.order.client_order_id,
            note,
            extra={"client_order_id": tracked.order.client_order_id},
        )
        self._emit(tracked.order.client_order_id, OrderEvent.CANCEL, reason=note)

    def _adopt(
        self, tracked: _Tracked, broker_order_id: str, rows: Mapping[str, BrokerOrderRow]
    ) -> None:
        """Take `broker_order_id` as this order. One closed here as not placed keeps its end
        and gets its late fills only; the engine books fills in a terminal state."""
        row = rows.get(broker_order_id)
        if row is None:
            return
        if tracked.state in _TERMINAL:
            with self._lock:
                tracked.broker_order_id = broker_order_id
                tracked.unique_order_id = row.unique_order_id
            self._sync_fills(tracked)
        else:
            self.apply_row(row)

    # --- placement -------------------------------------------------------------------------
    def _place_once(self, body: Mapping[str, Any]) -> Any:
        """placeOrder's `data`. Sent again only after an answer proving the request never
        reached the order system: the 403 rate-limit text (and AG8001, inside `send_once`)."""
        attempts = self.session.http.config.retry_attempts
        for attempt in range(1, attempts + 1):
            self.place_requests += 1
            try:
                return self.session.send_once("place", body)
            except RateLimitedError:
                if attempt == attempts:
                    raise
                self._sleep(self._lookup_delay_s * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _answer_lost(self, tracked: _Tracked, exc: AngelOneError) -> None:
        """The place may be live at Angel One: keep it SUBMITTED, unconfirmed, and look."""
        coid = tracked.order.client_order_id
        with self._lock:
            tracked.unconfirmed = True
        log.warning(
            "angelone place of %s: answer lost (%s); unconfirmed until the order book shows "
            "tag %s, never placed again",
            coid,
            exc.code or type(exc).__name__,
            tracked.tag,
            extra={"client_order_id": coid},
        )
        self._find_in_book(tracked)

    def _find_in_book(self, tracked: _Tracked) -> bool:
        """Look for the order's tag in the order book; adopt it when exactly one order has it
        (two are a duplicate, which `reconcile` settles and reports)."""
        for n in range(self.session.http.config.place_lookup_attempts):
            if n:
                self._sleep(self._lookup_delay_s)
            try:
                rows = self._order_rows()
            except AngelOneError as exc:
                self._record(exc)
                continue
            mine = [r for r in rows if r.tag == tracked.tag]
            if len(mine) > 1:
                log.error("angelone: %d orders carry tag %s", len(mine), tracked.tag)
                return False
            if mine:
                self.apply_row(mine[0])  # adopts it unless the broker still has it pending
                if tracked.broker_order_id is not None:
                    return True
        return False

    def _acknowledge(self, tracked: _Tracked, order_id: str, unique_id: str | None) -> None:
        with self._lock:
            if tracked.broker_order_id is None:
                tracked.broker_order_id = order_id
            tracked.unconfirmed = False
            if unique_id and tracked.unique_order_id is None:
                tracked.unique_order_id = unique_id
            if tracked.state is _S.SUBMITTED:
                stop = tracked.order.order_type in _STOPS
                tracked.state = _S.TRIGGER_PENDING if stop else _S.OPEN
                event = OrderEvent.ACCEPT_TRIGGER_PENDING if stop else OrderEvent.ACCEPT
                self._emit(tracked.order.client_order_id, event, broker_order_id=order_id)
            cancel = tracked.cancel_wanted
            tracked.cancel_wanted = False
        if cancel:
            self.cancel(tracked.order.client_order_id)

    def _on_refusal(self, tracked: _Tracked, exc: AngelOneError) -> None:
        with self._lock:
            if tracked.state is not _S.SUBMITTED:
                return
            tracked.state = _S.REJECTED
        reason = f"{exc.code} {exc.message}".strip()
        self._emit(tracked.order.client_order_id, OrderEvent.REJECT, reason=reason)

    # --- following an order ----------------------------------------------------------------
    def apply_row(self, row: BrokerOrderRow) -> None:
        """Apply one order row (book, details or stream) to the order it belongs to."""
        with self._lock:
            coid = self._by_tag.get(row.tag)
            tracked = self._orders.get(coid) if coid is not None else None
            if tracked is None:
                return  # not one of ours (a manual order, another strategy's process)
            if tracked.broker_order_id not in (None, row.order_id):
                log.error("angelone: tag %s on a second order %s", row.tag, row.order_id)
                return
        if row.filled_quantity > tracked.filled:
            self._sync_fills(tracked)
        with self._lock:
            self._advance(tracked, row)

    def _advance(self, tracked: _Tracked, row: BrokerOrderRow) -> None:
        coid = tracked.order.client_order_id
        status = row.status
        if tracked.state in _TERMINAL or status is _S.SUBMITTED:
            return
        if tracked.broker_order_id is None and status is not _S.REJECTED:
            self._acknowledge(tracked, row.order_id, row.unique_order_id)
        tracked.unique_order_id = tracked.unique_order_id or row.unique_order_id
        tracked.broker_order_id = tracked.broker_order_id or row.order_id
        if status is _S.OPEN and tracked.state is _S.TRIGGER_PENDING:
            tracked.state = _S.OPEN
            self._emit(coid, OrderEvent.TRIGGER)
        elif status in (_S.CANCELLED, _S.EXPIRED):
            tracked.state = status
            event = OrderEvent.CANCEL if status is _S.CANCELLED else OrderEvent.EXPIRE
            self._emit(coid, event, reason=row.text)
        elif status is _S.REJECTED and tracked.state is not _S.PARTIALLY_FILLED:
            tracked.state = _S.REJECTED
            self._emit(coid, OrderEvent.REJECT, broker_order_id=row.order_id, reason=row.text)

    def _sync_fills(self, tracked: _Tracked) -> None:
        """Report the trade book's new fills of this order, once per fill id."""
        try:
            trades = self._trade_rows()
        except AngelOneError as exc:
            self._record(exc)
            return
        with self._lock:
            for trade in trades:
                if trade.order_id != tracked.broker_order_id or trade.fill_id in tracked.trade_ids:
                    continue
                tracked.trade_ids.add(trade.fill_id)
                tracked.filled += trade.fill_quantity
                whole = tracked.filled >= tracked.order.quantity
                if tracked.state not in _TERMINAL:  # a late fill is reported, the end stays
                    tracked.state = _S.FILLED if whole else _S.PARTIALLY_FILLED
                self._emit(
                    tracked.order.client_order_id,
                    OrderEvent.FILL if whole else OrderEvent.PARTIAL_FILL,
                    broker_order_id=tracked.broker_order_id,
                    fill_quantity=trade.fill_quantity,
                    fill_price_paise=trade.fill_price_paise,
                    trade_id=trade.fill_id,
                )

    # --- plumbing --------------------------------------------------------------------------
    def _emit(self, coid: str, event: OrderEvent, **fields: Any) -> None:
        if self._sink is None:
            raise RuntimeError("AngelOneBroker used before connect()")
        self._sink(ExecutionReport(coid, event, self._clock.now_ns(), **fields))

    def _record(self, exc: AngelOneError) -> None:
        self.errors.append(exc)
        log.warning("angelone: %s", exc, extra={"route": exc.route, "code": exc.code})
