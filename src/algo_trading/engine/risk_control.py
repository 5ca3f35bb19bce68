"""The engine's hands for the risk layer: the kill switch, cancelling and flattening a scope,
and carrying out what the risk manager's breaches ask for (issue #10 item 5).

Flattening closes each book of the scope at market for what is not already being closed by a
working order of the other side; it is idempotent, so it is run again at each evaluation while
a loss halt or the kill switch holds: a fill that raced a cancel is closed too. A book just
flattened is not sent another closing order within `flatten_retry_ns`, doubled at each try up
to `flatten_retry_max_ns` while the book stays open (a closing order the broker keeps refusing,
the market being shut, is retried at a falling pace, never at the pace of ticks).
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView
from typing import TYPE_CHECKING

from algo_trading.domain.errors import OrderError
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import (
    Order,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    ProductType,
)
from algo_trading.domain.positions import Position
from algo_trading.engine.portfolio import BookKey
from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity, Notifier
from algo_trading.engine.risk import KillSwitchState, RiskGate
from algo_trading.engine.risk_manager import RiskManager
from algo_trading.engine.risk_types import RiskAction, RiskActionKind

if TYPE_CHECKING:  # the engine builds its control; the control never builds an engine
    from algo_trading.engine.engine import TradingEngine
    from algo_trading.engine.order_manager import OrderChange

__all__ = ["NEVER", "RiskControl"]

NEVER = 2**63 - 1


class RiskControl:
    """Owned by one `TradingEngine`; `log` keeps every action carried out, oldest first."""

    def __init__(
        self,
        engine: TradingEngine,
        gate: RiskGate,
        manager: RiskManager | None,
        notifier: Notifier | None,
        *,
        flatten_retry_ns: int = 1_000_000_000,
        flatten_retry_max_ns: int = 60_000_000_000,
    ) -> None:
        self.engine = engine
        self.gate = gate
        self.manager = manager
        self.notifier = notifier
        self.flatten_retry_ns = flatten_retry_ns
        self.flatten_retry_max_ns = flatten_retry_max_ns
        self.interval_ns = manager.evaluate_interval_ns if manager is not None else NEVER
        self.log: list[RiskAction] = []
        self._last_flatten: dict[BookKey, tuple[int, int]] = {}  # book -> (when, tries)
        # the engine's own closing orders (flatten, square-off): never cancelled by a scope's
        # cancel, or the position they close would be closed twice
        self.closing: set[ClientOrderId] = set()
        # When the engine should next call `evaluate` from a tick or its timer (NEVER: no
        # manager and no kill switch, nothing to watch)
        self.next_due_ns = 0 if manager is not None else NEVER
        # called when the kill switch trips or is reset (the service writes it down at once)
        self.on_change: Callable[[], None] | None = None
        self._cancel_restored = False  # a kill switch restored: cancel what recovery adopted

    # --- the kill switch -------------------------------------------------------------------
    def kill(self, reason: str, by: str, now_ns: int) -> None:
        first = self.gate.killed is None
        if first:
            self.gate.killed = KillSwitchState(reason, by, now_ns)
        self.cancel_all(None)
        self.flatten(None, now_ns, force=True)
        self.next_due_ns = min(self.next_due_ns, now_ns + self.flatten_retry_ns)
        if first:
            if self.on_change is not None:
                self.on_change()
            self.log.append(
                RiskAction(RiskActionKind.KILL_SWITCH, "KILL_SWITCH", None, reason, now_ns)
            )
            self._alert(
                AlertCode.KILL_SWITCH.value,
                AlertSeverity.CRITICAL,
                f"kill switch by {by}: {reason}; every order cancelled, every position closed, "
                "new orders refused until reset",
                now_ns,
                {"by": by},
            )

    def reset(self, by: str, now_ns: int) -> bool:
        """Lift the kill switch; False when it was not on. Loss halts of the risk manager
        stay (they are lifted by `RiskManager.reset`)."""
        killed = self.gate.killed
        if killed is None:
            return False
        self.gate.killed = None
        self._cancel_restored = False
        if self.on_change is not None:
            self.on_change()
        if self.manager is None:
            self.next_due_ns = NEVER
        self._alert(
            "KILL_SWITCH_RESET",
            AlertSeverity.WARNING,
            f"kill switch reset by {by} (was on since {killed.since_ns} by {killed.by})",
            now_ns,
            {"by": by},
        )
        return True

    def restore_kill(self, state: KillSwitchState, now_ns: int) -> None:
        """A kill switch that held when the service stopped holds again (no second alert):
        new orders are refused at once; the next evaluation cancels every open order and
        keeps every book flat, as after a trip."""
        if self.gate.killed is not None:
            return
        self.gate.killed = state
        self._cancel_restored = True
        self.next_due_ns = min(self.next_due_ns, now_ns)
        self.log.append(
            RiskAction(
                RiskActionKind.KILL_SWITCH,
                "KILL_SWITCH",
                None,
                f"restored after a restart: {state.reason}",
                now_ns,
            )
        )

    # --- scopes ----------------------------------------------------------------------------
    def cancel_all(self, strategy_id: str | None) -> int:
        """Cancel every open order of the scope (None: all); returns how many were asked."""
        orders = self.engine.orders
        asked = 0
        closing = self.closing
        parent_of = orders.parent_of
        for o in list(orders.open_orders()):
            if strategy_id is not None and o.strategy_id != strategy_id:
                continue
            if o.status is OrderStatus.PENDING_CANCEL or o.client_order_id in closing:
                continue
            parent = parent_of.get(o.client_order_id) if parent_of else None
            if parent is not None and parent.client_order_id in closing:
                continue
            orders.cancel(o.client_order_id)
            asked += 1
        return asked

    def flatten(
        self, strategy_id: str | None, now_ns: int, *, force: bool = False
    ) -> list[ClientOrderId]:
        """Close every book of the scope (None: all) at market, for what working orders of the
        other side do not already close. Without `force`, a book tried too recently (see the
        module's docstring) is left alone."""
        engine = self.engine
        closing: dict[tuple[str, str, ProductType, OrderSide], int] = {}
        for o in engine.orders.open_orders():
            if o.status is OrderStatus.PENDING_CANCEL:
                continue
            k = (o.strategy_id, o.symbol, o.product, o.side)
            closing[k] = closing.get(k, 0) + o.remaining
        sent = []
        tried = self._last_flatten
        for key, pos in list(engine.portfolio.books.items()):
            qty = pos.quantity
            if strategy_id is not None and key.strategy_id != strategy_id:
                continue
            if qty == 0:
                tried.pop(key, None)  # closed: the next breach starts the pace afresh
                continue
            side = OrderSide.SELL if qty > 0 else OrderSide.BUY
            left = abs(qty) - closing.get((key.strategy_id, key.symbol, key.product, side), 0)
            if left <= 0:
                continue
            when, tries = tried.get(key, (-NEVER, 0))
            wait = min(
                self.flatten_retry_ns << min(max(tries - 1, 0), 32), self.flatten_retry_max_ns
            )
            if not force and now_ns - when < wait:
                continue
            tried[key] = (now_ns, tries + 1)
            intent = OrderIntent(
                key.strategy_id, key.symbol, side, left, OrderType.MARKET, None, None, key.product
            )
            sent.append(engine.submit(intent, square_off=True))
        return sent

    # --- a change to a working order -------------------------------------------------------
    def check_change(self, client_order_id: ClientOrderId, change: OrderChange) -> str:
        """The code of the first refusal of the order as it would be after `change` (each
        working child of a parent), judged as a new order for what it leaves to fill, beside
        everything else open; "" when every check passes."""
        engine = self.engine
        now = engine.clock.now_ns()
        for o in engine.orders.children_of(client_order_id):
            if not o.is_working:
                continue
            quantity = o.quantity if change.quantity is None else change.quantity
            if quantity <= o.filled_quantity:
                continue  # the order manager's to refuse (QUANTITY_BELOW_FILLED)
            price = o.price_paise if change.price_paise is None else change.price_paise
            trigger = (
                o.trigger_price_paise
                if change.trigger_price_paise is None
                else change.trigger_price_paise
            )
            try:
                after = _changed(o, quantity, price, trigger, now)
            except OrderError:  # terms no order may carry: the order manager's and the broker's
                continue
            decision = self.gate.check(after, _Without(engine, o))
            if not decision.allowed:
                return decision.code
        return ""

    # --- the manager's actions -------------------------------------------------------------
    def evaluate(self, now_ns: int) -> list[RiskAction]:
        """Ask the manager, carry out what it asks, and keep loss-halted scopes and a killed
        engine flat. Returns the new actions (ALERT ones hold the alert, sent already when
        the engine has a notifier)."""
        manager = self.manager
        actions = manager.evaluate(now_ns, self.engine) if manager is not None else []
        for a in actions:
            self.log.append(a)
            if a.kind is RiskActionKind.CANCEL_OPEN_ORDERS:
                self.cancel_all(a.strategy_id)
            elif a.kind is RiskActionKind.FLATTEN:
                self.flatten(a.strategy_id, now_ns, force=True)
            elif a.kind is RiskActionKind.ALERT and a.alert is not None:
                if self.notifier is not None:
                    self.notifier.notify(a.alert)
            elif a.kind is RiskActionKind.KILL_SWITCH:
                self.kill(f"{a.code} {a.scope}: {a.detail}", "risk", now_ns)
        if manager is not None:
            for scope in manager.flat_scopes():
                self.flatten(scope, now_ns)
        if self.gate.killed is not None:
            if self._cancel_restored:
                self._cancel_restored = False
                self.cancel_all(None)
            self.flatten(None, now_ns)
        step = min(self.interval_ns, self.flatten_retry_ns if self.gate.killed else NEVER)
        self.next_due_ns = NEVER if step == NEVER else now_ns + step
        return actions

    def _alert(
        self,
        code: str,
        severity: AlertSeverity,
        text: str,
        now_ns: int,
        details: dict[str, str],
    ) -> None:
        alert = Alert(
            code, severity, text, now_ns, account=self.engine.portfolio.account, details=details
        )
        self.log.append(RiskAction(RiskActionKind.ALERT, code, None, text, now_ns, alert))
        if self.notifier is not None:
            self.notifier.notify(alert)


def _changed(o: Order, quantity: int, price: int | None, trigger: int | None, now: int) -> Order:
    """The order as it would be after a change, for what it leaves to fill."""
    return Order(
        o.client_order_id,
        o.strategy_id,
        o.symbol,
        o.side,
        quantity - o.filled_quantity,
        o.order_type,
        price,
        trigger,
        o.product,
        o.validity,
        now,
    )


class _Without:
    """The engine as a risk check sees it when `order` is replaced by its changed self: the
    order is not among the open orders nor in the pending quantities."""

    def __init__(self, engine: TradingEngine, order: Order) -> None:
        self._engine = engine
        self._order = order

    def position_quantity(self, symbol: str) -> int:
        return self._engine.position_quantity(symbol)

    def book_quantity(self, strategy_id: str, symbol: str, product: ProductType) -> int:
        return self._engine.book_quantity(strategy_id, symbol, product)

    def cash_paise(self) -> int:
        return self._engine.cash_paise()

    def equity_paise(self) -> int:
        return self._engine.equity_paise()

    def pending_quantity(
        self, strategy_id: str, symbol: str, side: OrderSide, product: ProductType
    ) -> int:
        o = self._order
        pending = self._engine.pending_quantity(strategy_id, symbol, side, product)
        mine = (o.strategy_id, o.symbol, o.side, o.product) == (strategy_id, symbol, side, product)
        return pending - o.remaining if mine else pending

    def instrument(self, symbol: str) -> Instrument:
        return self._engine.instrument(symbol)

    def last_price_paise(self, symbol: str) -> int | None:
        return self._engine.last_price_paise(symbol)

    def working_orders(self) -> list[Order]:
        return [o for o in self._engine.working_orders() if o is not self._order]

    def position_books(self) -> ItemsView[BookKey, Position]:
        return self._engine.position_books()
