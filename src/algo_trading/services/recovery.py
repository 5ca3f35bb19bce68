"""Start-up recovery and the every-minute reconciliation pass (issue #10, item 4): one code path.

Before any strategy runs (and before trading a strategy taken over from another instance),
`Recovery.recover()` brings this process and the database to the broker's truth:

1. load the local books: the orders the database has as possibly live at the broker
   (`unresolved`), their booked trade ids, and the position books;
2. read the broker's order book and trade book (a failure raises: nothing may trade on a
   half-read book, the caller retries);
3. decide every order with `engine.reconciliation.reconcile`, grouped by tag: adopt what the
   broker has (ACKNOWLEDGED, booking the fills we missed), close what it never had after the
   window (NEVER_SENT), keep SUBMITTED what is still inside it (UNCONFIRMED), and see
   duplicates and late appearances (DUPLICATE, ADOPTED_LATE), whose extra orders the broker
   cancels;
4. apply the decisions' reports through the engine's order manager, so every change goes
   through the lifecycle table and the trade log (the database), and hand every order still
   working to the broker adapter to follow (`follow`: nothing is sent);
5. compare the account's positions per symbol and product with the broker's, and repair a
   difference the fills do not explain into an `unattributed` book (never a strategy's own);
6. load the position books into the engine's portfolio, and alert: CRASH_RECOVERY when
   start-up found anything to repair, RECONCILIATION_DIFF for each order verdict that needs
   a person and each position difference seen on two passes in a row.

`reconcile_once()` is the same pass while trading (every minute, on the engine's thread):
reports go through `engine.report` + `engine.drain` so the strategies hear of what changed,
and a position difference is alerted, and repaired, only when two passes in a row see the
same one (a fill in flight between the two reads is not a difference: alerting it at first
sight made false alarms in the paper-day test).

Nothing here places an order: an order is placed at most once (DESIGN.md).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.adapters.storage.sql.books import (
    StoredPosition,
    orders_by_tags,
    stored_positions,
)
from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.unit_of_work import SqlUnitOfWork
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId, StrategyId, TradeId
from algo_trading.domain.orders import (
    TERMINAL_STATES,
    Order,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    ProductType,
)
from algo_trading.domain.positions import Position
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.portfolio import BookKey, Portfolio
from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity, Clock, Notifier
from algo_trading.engine.reconciliation import (
    BrokerOrder,
    BrokerTrade,
    CancelAction,
    Decision,
    ReconcileConfig,
    Verdict,
    reconcile,
)

__all__ = [
    "UNATTRIBUTED",
    "BrokerPositions",
    "PositionDiff",
    "Recovery",
    "RecoveryBroker",
    "RecoveryReport",
    "angelone_positions",
    "recover",
]

log = logging.getLogger(__name__)

UNATTRIBUTED = "unattributed"  # the book a position difference no fill explains is put in
SymbolKey = tuple[str, ProductType]
BrokerPositions = Callable[[], Mapping[SymbolKey, tuple[int, int]]]
"""The broker's net position per (symbol, product): (signed quantity, a price in paise to
book a repair at, e.g. its average or last price). Raises when the book cannot be read."""


class RecoveryBroker(Protocol):
    """What recovery needs of a broker adapter (AngelOneBroker has all three)."""

    def books(self) -> tuple[list[BrokerOrder], list[BrokerTrade]]:
        """The order book and trade book; raises when either cannot be read."""
        ...

    def follow(self, order: OrderSnapshot, *, sent_ns: int, trade_ids: Iterable[str] = ()) -> None:
        """Track an order sent before (by another process), sending nothing."""
        ...

    def execute(self, actions: Sequence[CancelAction]) -> None:
        """Cancel broker orders reconciliation names (duplicates, late appearances)."""
        ...


@dataclass(frozen=True, slots=True)
class PositionDiff:
    symbol: str
    product: ProductType
    ours: int  # the account's net quantity in the database, over every strategy
    broker: int

    def __str__(self) -> str:
        return f"{self.symbol} {self.product.value}: ours {self.ours}, broker {self.broker}"


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What one pass found and did."""

    kind: str  # "startup", "takeover" or "periodic"
    orders_checked: int
    verdicts: Mapping[str, int]
    fills_booked: int
    cancels_sent: int
    followed: int  # orders loaded from the database and handed to the adapter to follow
    position_diffs: tuple[PositionDiff, ...] = ()
    positions_repaired: tuple[PositionDiff, ...] = ()
    unresolved: tuple[str, ...] = ()  # notes of UNRESOLVED decisions: a person looks
    alerts: tuple[Alert, ...] = field(default=())
    # the differences the pass before saw too: only these are alerted (a fill in flight
    # shows as a difference for one pass, and is gone at the next)
    positions_standing: tuple[PositionDiff, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the pass found anything to repair (the books did not already agree)."""
        moved = sum(n for v, n in self.verdicts.items() if v not in _QUIET)
        return bool(
            moved
            or self.fills_booked
            or self.cancels_sent
            or self.position_diffs
            or self.unresolved
        )


_QUIET = {Verdict.IN_SYNC.value, Verdict.UNCONFIRMED.value, Verdict.SENT.value}


class Recovery:
    """One per trading process: the database's and the broker's books for one account.

    The service calls `recover()` once at start before any strategy runs (all the strategies
    it owns) and again with `strategies=` for each strategy whose lease it gains; then
    `reconcile_once()` every minute, on the engine's own thread (it applies reports)."""

    def __init__(
        self,
        database: Database,
        broker: RecoveryBroker,
        engine: TradingEngine,
        notifier: Notifier,
        clock: Clock,
        instance_id: str,
        *,
        account: str = "default",
        positions: BrokerPositions | None = None,
        config: ReconcileConfig | None = None,
        cash_from_books: bool = True,
    ) -> None:
        """`cash_from_books`: the engine's starting cash is the day's opening cash, so the
        loaded books' realized P&L and open cost move it; False when the service seeded it
        from the broker's live funds, which already include them."""
        self._cash_from_books = cash_from_books
        self._db = database
        self._broker = broker
        self._engine = engine
        self._notifier = notifier
        self._clock = clock
        self._instance = instance_id
        self._account = account
        self._positions = positions
        self._config = config or ReconcileConfig()
        self._followed: set[ClientOrderId] = set()
        self._last_diffs: frozenset[PositionDiff] = frozenset()
        self._busy: set[str] = set()  # symbols with an order working, at this pass
        self._busy_before: set[str] = set()  # and at the one before

    # --- the two entry points ---------------------------------------------------------------
    def recover(self, strategies: Collection[str] | None = None) -> RecoveryReport:
        """Start-up (all strategies, `strategies=None`) or a takeover (those strategies):
        settle their orders with the broker, then load their books into the engine."""
        kind = "startup" if strategies is None else "takeover"
        report = self._pass(kind, strategies, live=False)
        self._load_books(strategies)
        return report

    def reconcile_once(self, strategies: Collection[str] | None = None) -> RecoveryReport:
        """The every-minute pass while trading, for the orders of `strategies` (with
        several instances: the ones this instance owns; None: every strategy)."""
        return self._pass("periodic", strategies, live=True)

    # --- one pass -----------------------------------------------------------------------------
    def _pass(self, kind: str, strategies: Collection[str] | None, *, live: bool) -> RecoveryReport:
        if live:
            self._engine.drain()  # what the adapter already reported goes first
        pending, loaded = self._pending(strategies)
        broker_orders, broker_trades = self._broker.books()  # raises: nothing half-read
        late = self._late(pending, broker_orders, strategies)
        for order in late:
            if self._register(order):
                loaded.add(order.client_order_id)
        pending.extend(late)
        known = self._trade_ids([o.client_order_id for o in pending])
        now = self._clock.now_ns()
        result = reconcile(
            [o.snapshot() for o in pending],
            broker_orders,
            broker_trades,
            known,
            now_ns=now,
            config=self._config,
        )
        fills = self._apply(result.decisions, live=live)
        self._broker.execute(result.actions)
        followed = self._follow([o for o in pending if o.client_order_id in loaded])
        unresolved = tuple(
            f"{d.client_order_id}: {d.note}"
            for d in result.decisions
            if d.verdict is Verdict.UNRESOLVED
        )
        diffs, repaired, standing = self._check_positions(now)
        report = RecoveryReport(
            kind,
            len(pending),
            dict(Counter(d.verdict.value for d in result.decisions)),
            fills,
            len(result.actions),
            followed,
            diffs,
            repaired,
            unresolved,
            positions_standing=standing,
        )
        alerts = self._alerts(report, result.decisions, now)
        for alert in alerts:
            self._notifier.notify(alert)
        log.info(
            "recovery (%s): %d orders checked %s, %d fills booked, %d cancels, %d followed, "
            "%d position differences",
            kind,
            len(pending),
            report.verdicts,
            fills,
            len(result.actions),
            followed,
            len(diffs),
            extra={"instance": self._instance},
        )
        return replace(report, alerts=tuple(alerts))

    def _alerts(
        self, report: RecoveryReport, decisions: Sequence[Decision], now: int
    ) -> list[Alert]:
        diff, critical = AlertCode.RECONCILIATION_DIFF, AlertSeverity.CRITICAL
        alerts = [
            self._alert(diff, critical, d.alert, now, d.client_order_id)
            for d in decisions
            if d.alert
        ]
        alerts.extend(self._alert(diff, critical, note, now) for note in report.unresolved)
        for d in report.positions_standing:
            fixed = (
                "; repaired into the unattributed book" if d in report.positions_repaired else ""
            )
            text = f"position differs from the broker's: {d}{fixed}"
            alerts.append(self._alert(diff, critical, text, now, symbol=d.symbol))
        if report.kind != "periodic" and report.changed:
            verdicts = ", ".join(f"{v}={n}" for v, n in sorted(report.verdicts.items()))
            text = (
                f"{report.kind} recovery repaired the books: {report.orders_checked} orders "
                f"checked ({verdicts}), {report.fills_booked} fills booked, "
                f"{report.cancels_sent} broker orders cancelled, "
                f"{len(report.position_diffs)} position differences"
            )
            alerts.insert(
                0, self._alert(AlertCode.CRASH_RECOVERY, AlertSeverity.WARNING, text, now)
            )
        return alerts

    def _alert(
        self,
        code: AlertCode,
        severity: AlertSeverity,
        text: str,
        now: int,
        client_order_id: str = "",
        *,
        symbol: str = "",
    ) -> Alert:
        details = {"client_order_id": client_order_id} if client_order_id else {}
        return Alert(
            code,
            severity,
            text,
            now,
            symbol=symbol,
            instance=self._instance,
            account=self._account,
            details=details,
        )

    def _register(self, order: Order) -> bool:
        """Put an order read from the database into the engine's order manager (so reports
        for it apply); False when the engine already holds it (its copy is fresher)."""
        manager = self._engine.orders
        coid = order.client_order_id
        if coid in manager.orders:
            return False
        manager.orders[coid] = order
        if order.status not in TERMINAL_STATES:
            manager.working[coid] = order
        return True

    def _pending(
        self, strategies: Collection[str] | None
    ) -> tuple[list[Order], set[ClientOrderId]]:
        """The orders that may be live at the broker: this process's own (the engine's copy,
        the freshest) and the database's unresolved ones, which are registered with the
        engine (their ids returned as `loaded`)."""
        manager = self._engine.orders
        with SqlUnitOfWork(self._db, read_only=True) as uow:
            stored = uow.orders.unresolved(self._account)
        self._busy = {o.symbol for o in stored} | {o.symbol for o in manager.working.values()}
        wanted = None if strategies is None else set(strategies)
        pending: list[Order] = []
        loaded: set[ClientOrderId] = set()
        for order in stored:
            if wanted is not None and order.strategy_id not in wanted:
                continue
            if self._register(order):
                loaded.add(order.client_order_id)
            pending.append(manager.orders[order.client_order_id])
        seen = {o.client_order_id for o in pending}
        for order in list(manager.working.values()):
            if order.client_order_id in seen or order.status is OrderStatus.NEW:
                continue
            if wanted is None or order.strategy_id in wanted:
                pending.append(order)
        return pending, loaded

    def _late(
        self,
        pending: Sequence[Order],
        broker_orders: Sequence[BrokerOrder],
        strategies: Collection[str] | None,
    ) -> list[Order]:
        """Orders closed here without a broker id (declared not placed) that the broker's
        book now shows: reconciliation adopts them late, books their fills, cancels them."""
        ours = {o.tag or o.client_order_id for o in pending}
        tags = {b.tag for b in broker_orders if b.tag and b.tag not in ours}
        if not tags:
            return []
        wanted = None if strategies is None else set(strategies)
        manager = self._engine.orders
        late = []
        for order in orders_by_tags(self._db, self._account, tags):
            closed_here = order.status in TERMINAL_STATES and order.broker_order_id is None
            if closed_here and (wanted is None or order.strategy_id in wanted):
                late.append(manager.orders.get(order.client_order_id, order))
        return late

    def _trade_ids(self, coids: Sequence[ClientOrderId]) -> set[str]:
        if not coids:
            return set()
        with SqlUnitOfWork(self._db, read_only=True) as uow:
            return uow.trades.trade_ids(coids)

    def _apply(self, decisions: Sequence[Decision], *, live: bool) -> int:
        """Feed each decision's reports to the engine's order manager (which writes the
        database); returns how many fills were booked. While trading they go through the
        engine's queue, so the portfolio and the strategies hear of them too."""
        engine = self._engine
        manager = engine.orders
        booked = 0
        for decision in decisions:
            for report in decision.reports:
                if live:
                    engine.report(report)
                    booked += report.fill_quantity > 0
                else:
                    result = manager.apply(report)
                    booked += result is not None and result[1] is not None
            if decision.reports:
                manager.resolve_quarantine(decision.client_order_id)
        if live:
            engine.drain()
        return booked

    def _follow(self, loaded: Sequence[Order]) -> int:
        """Hand the orders loaded from the database and still working to the adapter, with
        the trades already booked for them (the adapter reports only new ones)."""
        working = [
            o
            for o in loaded
            if o.status not in TERMINAL_STATES and o.client_order_id not in self._followed
        ]
        if not working:
            return 0
        with SqlUnitOfWork(self._db, read_only=True) as uow:
            for order in working:
                coid = order.client_order_id
                trade_ids = {f.trade_id for f in uow.trades.for_order(coid)}
                self._broker.follow(order.snapshot(), sent_ns=order.updated_ns, trade_ids=trade_ids)
                self._followed.add(coid)
        return len(working)

    # --- positions ----------------------------------------------------------------------------
    def _check_positions(
        self, now: int
    ) -> tuple[tuple[PositionDiff, ...], tuple[PositionDiff, ...], tuple[PositionDiff, ...]]:
        """(the differences seen, those repaired, those the pass before saw too)."""
        if self._positions is None:
            return (), (), ()
        theirs = self._positions()
        ours: Counter[SymbolKey] = Counter()
        for p in stored_positions(self._db, self._account):
            ours[(p.symbol, p.product)] += p.quantity
        diffs = tuple(
            PositionDiff(sym, prod, ours[(sym, prod)], theirs.get((sym, prod), (0, 0))[0])
            for sym, prod in sorted(set(ours) | set(theirs))
            if ours[(sym, prod)] != theirs.get((sym, prod), (0, 0))[0]
        )
        seen_before, self._last_diffs = self._last_diffs, frozenset(diffs)
        busy, self._busy_before = self._busy | self._busy_before, self._busy
        # A fill in flight (ours, or another instance's) shows as a difference for a moment:
        # only one that two passes in a row agree on, with no order of the account's working
        # in that symbol at either pass, is repaired; the others are alerted.
        standing = tuple(d for d in diffs if d in seen_before)
        to_repair = tuple(d for d in standing if d.symbol not in busy)
        repaired = tuple(d for d in to_repair if self._repair(d, theirs, now))
        return diffs, repaired, standing

    def _repair(
        self, diff: PositionDiff, theirs: Mapping[SymbolKey, tuple[int, int]], now: int
    ) -> bool:
        """Book what no fill explains into the unattributed book, at the broker's price."""
        price = theirs.get((diff.symbol, diff.product), (0, 0))[1]
        delta = diff.broker - diff.ours
        if price <= 0 or delta == 0:
            return False
        fill = Fill(
            trade_id=TradeId(f"recon-{now}"),
            client_order_id=ClientOrderId(f"recon-{now}"),
            strategy_id=StrategyId(UNATTRIBUTED),
            symbol=diff.symbol,
            side=OrderSide.BUY if delta > 0 else OrderSide.SELL,
            quantity=abs(delta),
            price_paise=price,
            ts_ns=now,
            product=diff.product,
        )
        exchange = self._engine.instrument(diff.symbol).exchange.value
        with SqlUnitOfWork(self._db) as uow:
            uow.positions.apply_fill(fill, account=self._account, exchange=exchange)
            uow.audit.append(
                self._instance,
                "recovery.position_repair",
                f"position:{diff.symbol}",
                str(diff),
                now,
            )
            uow.commit()
        self._last_diffs = self._last_diffs - {diff}
        return True

    # --- the engine's books --------------------------------------------------------------------
    def _load_books(self, strategies: Collection[str] | None) -> None:
        """Replace the engine's position books (all, or these strategies') with the database's,
        keeping the portfolio's invariant: cash = start + realized - cost of open lots."""
        portfolio = self._engine.portfolio
        for stored in stored_positions(self._db, self._account, strategies):
            if stored.strategy_id == UNATTRIBUTED:
                continue  # not a strategy's: it stays in the database for a person
            _load_book(portfolio, self._account, stored, cash=self._cash_from_books)


def _load_book(portfolio: Portfolio, account: str, stored: StoredPosition, *, cash: bool) -> None:
    key = BookKey(account, stored.strategy_id, stored.symbol, stored.exchange, stored.product)
    old = portfolio.books.get(key)
    pos = Position(stored.symbol)
    for qty, price in stored.lots:
        pos.apply_fill(qty, price, 0)
    pos.realized_pnl_paise = stored.realized_pnl_paise
    marks = portfolio.by_symbol.setdefault(stored.symbol, [])
    if old is not None:
        pos.last_price_paise = old.last_price_paise
        if cash:
            portfolio.cash -= old.realized_pnl_paise - old.cost_paise
        net = portfolio.net_of(stored.strategy_id)
        net[stored.symbol] = net.get(stored.symbol, 0) - old.quantity
        marks[:] = [pos if m is old else m for m in marks]  # in place: handlers hold the list
    else:
        if marks:
            pos.last_price_paise = marks[0].last_price_paise
        marks.append(pos)
    portfolio.books[key] = pos
    if cash:
        portfolio.cash += stored.realized_pnl_paise - pos.cost_paise
    net = portfolio.net_of(stored.strategy_id)
    net[stored.symbol] = net.get(stored.symbol, 0) + pos.quantity


def recover(
    database: Database,
    broker: RecoveryBroker,
    engine: TradingEngine,
    notifier: Notifier,
    clock: Clock,
    instance_id: str,
    *,
    account: str = "default",
    strategies: Collection[str] | None = None,
    positions: BrokerPositions | None = None,
    config: ReconcileConfig | None = None,
) -> tuple[Recovery, RecoveryReport]:
    """Start-up recovery in one call: the `Recovery` (keep it for `reconcile_once` and
    takeovers) and what the start-up pass found."""
    recovery = Recovery(
        database,
        broker,
        engine,
        notifier,
        clock,
        instance_id,
        account=account,
        positions=positions,
        config=config,
    )
    return recovery, recovery.recover(strategies)


def angelone_positions(account: AngelOneAccount) -> BrokerPositions:
    """Angel One's position book (getPosition, §2.11) as recovery reads it: net quantity
    per (symbol, product), with the last price (else the average of the open side) to book
    a repair at. Rows of products the engine does not trade (MARGIN, BO) are left out."""

    def read() -> dict[SymbolKey, tuple[int, int]]:
        book: dict[SymbolKey, tuple[int, int]] = {}
        for row in account.positions():
            try:
                product = ProductType(row.product)
            except ValueError:
                continue
            side_avg = row.buy_avg_paise if row.net_quantity > 0 else row.sell_avg_paise
            price = row.ltp_paise or side_avg
            qty, _ = book.get((row.symbol, product), (0, 0))
            book[(row.symbol, product)] = (qty + row.net_quantity, price)
        return book

    return read
