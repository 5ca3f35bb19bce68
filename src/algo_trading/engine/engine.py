"""The trading engine: one event loop for backtest, paper and live.

Drivers push market data in (`on_bar`, `on_tick`); brokers push execution reports in
(`report`, safe to call from another thread: a deque append). Reports are applied before the
next market event reaches a strategy, so a strategy always sees its fills first. What differs
between modes is only the clock, the data source, the broker and the sender handed in.

Time drives the engine in every mode: bars, ticks and `on_timer` all release the orders the
throttle holds, so a held order goes when its slot comes even when no market data does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, ItemsView, Iterable
from dataclasses import replace
from typing import NamedTuple

from algo_trading.domain.errors import ConfigError, DuplicateOrderError, StrategyError
from algo_trading.domain.events import Bar, ExecutionReport, Tick
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Instrument, equity
from algo_trading.domain.orders import (
    TERMINAL_STATES,
    Order,
    OrderEvent,
    OrderIntent,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    ProductType,
)
from algo_trading.domain.positions import Position
from algo_trading.engine.context import StrategyView
from algo_trading.engine.order_manager import NoCharges, OrderChange, OrderManager, SequentialIds
from algo_trading.engine.portfolio import BookKey, Portfolio
from algo_trading.engine.ports import (
    Broker,
    ChargesModel,
    Clock,
    IdGenerator,
    Notifier,
    OrderAuditLog,
    OrderSender,
    TradeLog,
)
from algo_trading.engine.risk import AllowAll, RiskCheck, RiskGate, RiskManager
from algo_trading.engine.risk_control import NEVER, RiskControl
from algo_trading.engine.risk_types import RiskAction
from algo_trading.engine.sender import InlineSender
from algo_trading.market.audit import OrderAuditRecord
from algo_trading.market.throttle import OrderThrottle
from algo_trading.strategy.base import Strategy

__all__ = ["InlineRoute", "MemoryAuditLog", "MemoryTradeLog", "TradingEngine"]

# The base class's hooks do nothing: a strategy that keeps them is not called (nor is a
# snapshot made for it) on each report, which is most of a backtest's reports.
_NO_ON_FILL = Strategy.on_fill
_NO_ON_ORDER_UPDATE = Strategy.on_order_update


class InlineRoute(NamedTuple):
    """What the one-strategy bar handler works with (`TradingEngine.inline_route`)."""

    # [(the strategy's indicator updates then its on_bar, the strategy)]: one entry
    routes: list[tuple[tuple[Callable[[Bar], None], ...], Strategy]]
    books: list[Position]  # the symbol's books, marked at each bar's close
    queue: deque[ExecutionReport]  # reports waiting for `drain`
    drain: Callable[[], None]
    failed: Callable[[Strategy, str, Exception, str], None]


# Each event's and status's text, read from a dict: an enum's `.value` is a slow property.
_VALUE: dict[object, str] = {e: e.value for e in (*OrderEvent, *OrderStatus)}
_SUBMIT = OrderEvent.SUBMIT  # read once: an enum member is a slow lookup in a function


class MemoryTradeLog:
    """Keeps order events and fills in lists (a backtest's log), with the TradeLog port's
    promises: a taken client order id refused, a trade id counted once."""

    def __init__(self) -> None:
        self.order_events: list[tuple[str, str, str, int]] = []
        self.fills: list[Fill] = []
        self._order_ids: set[str] = set()
        self._trade_ids: set[str] = set()

    def record_order(self, order: object, event: object) -> None:
        o = order  # Order; typed loosely to stay cheap
        coid = o.client_order_id  # type: ignore[attr-defined]
        if event is _SUBMIT and coid in self._order_ids:
            raise DuplicateOrderError(
                f"client order id {coid} is already taken; this order was not recorded "
                "and must not be sent"
            )
        self._order_ids.add(coid)
        self.order_events.append(
            (coid, _VALUE[event], _VALUE[o.status], o.updated_ns)  # type: ignore[attr-defined]
        )

    def record_fill(self, fill: Fill) -> None:
        if fill.trade_id in self._trade_ids:
            return  # already booked (a replayed report): count it once
        self._trade_ids.add(fill.trade_id)
        self.fills.append(fill)


class MemoryAuditLog:
    """Keeps every order decision in a list (a backtest's audit trail)."""

    def __init__(self) -> None:
        self.records: list[OrderAuditRecord] = []

    def record(self, record: OrderAuditRecord) -> None:
        self.records.append(record)


class TradingEngine:
    """One event loop for every mode; implements `RiskView` for the risk checks. Each
    strategy gets its own `StrategyView`, never this object."""

    def __init__(
        self,
        clock: Clock,
        broker: Broker,
        *,
        starting_cash_paise: int,
        instruments: Iterable[Instrument] = (),
        risk: RiskCheck | None = None,
        trade_log: TradeLog | None = None,
        ids: IdGenerator | None = None,
        charges: ChargesModel | None = None,
        raise_strategy_errors: bool = True,
        throttle: OrderThrottle | None = None,
        audit: OrderAuditLog | None = None,
        sender: OrderSender | None = None,
        account: str = "default",
        risk_manager: RiskManager | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.clock = clock
        self.broker = broker
        self.portfolio = Portfolio(starting_cash_paise, account)
        self.trade_log = trade_log if trade_log is not None else MemoryTradeLog()
        # the kill switch, then `risk`, then the risk manager (engine/risk.py)
        self.risk_gate = RiskGate(risk or AllowAll(), risk_manager)
        self.risk_manager = risk_manager
        self.last_prices: dict[str, int] = {}  # symbol -> last trade price seen in a tick
        self.orders = OrderManager(
            sender if sender is not None else InlineSender(broker),
            clock,
            ids or SequentialIds(),
            self.risk_gate,
            self.trade_log,
            charges or NoCharges(),
            throttle,
            audit,
        )
        self.instruments = {i.symbol: i for i in instruments}
        self._exchange = {sym: i.exchange.value for sym, i in self.instruments.items()}
        self.raise_strategy_errors = raise_strategy_errors
        self.strategy_errors: list[StrategyError] = []
        self._strategies: list[Strategy] = []
        self._by_id: dict[str, Strategy] = {}
        # strategy id -> (the strategy, whether it has its own on_fill, its own
        # on_order_update), only for a strategy with either: `drain` tells no other one of a
        # report (the base class's hooks do nothing). Worked out when the strategy is added
        # and again at start, after its on_start.
        self._hooked: dict[str, tuple[Strategy, bool, bool]] = {}
        # symbol -> [(the strategy's indicator updates then its on_bar, the strategy)]
        self._bar_routes: dict[str, list[tuple[tuple[Callable[[Bar], None], ...], Strategy]]] = {}
        self._queue: deque[ExecutionReport] = deque()
        self._handlers: dict[str, Callable[[Bar], None]] = {}
        self._started = False
        self.risk_control = RiskControl(self, self.risk_gate, risk_manager, notifier)
        if risk_manager is not None:
            risk_manager.bind(self, clock)
        # `report` is this append and nothing else: the broker is handed the append itself,
        # a Python call less on each of a backtest's reports
        broker.connect(self._queue.append)

    # --- set-up ---------------------------------------------------------------------------
    def add_strategy(self, strategy: Strategy) -> None:
        if self._started:
            raise ConfigError("add strategies before the engine starts")
        if strategy.strategy_id in self._by_id:
            raise ConfigError(f"two strategies share the id {strategy.strategy_id!r}")
        if not strategy.symbols:
            raise ConfigError(f"strategy {strategy.strategy_id}: no symbols to trade")
        strategy.bind(StrategyView(self, strategy.strategy_id))
        self._strategies.append(strategy)
        self._by_id[strategy.strategy_id] = strategy
        self._note_hooks(strategy)

    def start(self) -> None:
        self._started = True
        for s in list(self._strategies):
            self._call(s, "on_start", s.on_start)
        for s in self._strategies:
            if s.strategy_id in self._by_id:
                self._note_hooks(s)
        for s in self._strategies:
            for sym in s.symbols:
                calls = s.bar_calls(sym)
                self._bar_routes.setdefault(sym, []).append((calls, s))

    def _note_hooks(self, strategy: Strategy) -> None:
        on_fill = getattr(strategy.on_fill, "__func__", None) is not _NO_ON_FILL
        on_update = getattr(strategy.on_order_update, "__func__", None) is not _NO_ON_ORDER_UPDATE
        if on_fill or on_update:
            self._hooked[strategy.strategy_id] = (strategy, on_fill, on_update)
        else:
            self._hooked.pop(strategy.strategy_id, None)

    def stop(self) -> None:
        self.drain()
        for s in self._strategies:
            self._call(s, "on_stop", s.on_stop)
        self.drain()

    # --- events in ------------------------------------------------------------------------
    def report(self, report: ExecutionReport) -> None:
        """A broker report; applied at the next drain. (What the broker is connected to
        in `__init__` is the queue's append itself: keep the two the same.)"""
        self._queue.append(report)

    def on_timer(self, now_ns: int) -> None:
        """The clock reached `now_ns`: send what the throttle held for now, and apply the
        reports that came in. A live service calls this at `next_timer_ns()`."""
        if self.orders.held:
            self.orders.release(now_ns)
        if self._queue:
            self.drain()
        if now_ns >= self.risk_control.next_due_ns:
            self.risk_control.evaluate(now_ns)

    def next_timer_ns(self) -> int | None:
        """When `on_timer` next has work to do (a held order's slot, the risk checks' next
        round); None when nothing waits."""
        release = self.orders.next_release_ns(self.clock.now_ns())
        risk = self.risk_control.next_due_ns
        if risk == NEVER:
            return release
        return risk if release is None else min(release, risk)

    def on_bar(self, bar: Bar) -> None:
        handler = self._handlers.get(bar.symbol)
        if handler is None:
            handler = self.bar_handler(bar.symbol)
        handler(bar)

    def bar_handler(self, symbol: str) -> Callable[[Bar], None]:
        """The function that takes `symbol`'s bars: release held orders, apply pending
        reports, mark the symbol's books, update each strategy's indicators and call its
        on_bar, then apply what that caused. A closure over everything it touches, because
        it runs for every bar."""
        handler = self._handlers.get(symbol)
        if handler is not None:
            return handler
        routes = self._bar_routes.setdefault(symbol, [])
        queue = self._queue
        drain = self.drain
        failed = self._strategy_failed
        held = self.orders.held
        release = self.orders.release
        # the symbol's books, in the list the portfolio appends a new book to
        books = self.portfolio.by_symbol.setdefault(symbol, [])

        def on_bar(bar: Bar) -> None:
            if held:
                release(bar.ts_ns)
            if queue:
                drain()
            for pos in books:
                pos.last_price_paise = bar.close
            for calls, strategy in routes:
                try:
                    for call in calls:
                        call(bar)
                except Exception as exc:  # user code: stop this strategy only
                    failed(strategy, "on_bar", exc, bar.time.isoformat())
            if queue:
                drain()

        def on_bar_one_strategy(bar: Bar) -> None:
            # The same as on_bar for the common case of one strategy on the symbol, without
            # the loop over strategies (routes[0] is re-read: a failure replaces it).
            if held:
                release(bar.ts_ns)
            if queue:
                drain()
            for pos in books:
                pos.last_price_paise = bar.close
            calls, strategy = routes[0]
            try:
                for call in calls:
                    call(bar)
            except Exception as exc:  # user code: stop this strategy only
                failed(strategy, "on_bar", exc, bar.time.isoformat())
            if queue:
                drain()

        handler = on_bar_one_strategy if self._started and len(routes) == 1 else on_bar
        self._handlers[symbol] = handler
        return handler

    def inline_route(self, symbol: str) -> InlineRoute | None:
        """What `bar_handler(symbol)` works with when one strategy takes the symbol's bars,
        for a feed loop that does the handler's work inline (the backtest driver: a Python
        call less per bar); None otherwise (call the handler). The loop must do exactly what
        `on_bar_one_strategy` does, in its order, and re-read `routes[0]` at every bar."""
        self.bar_handler(symbol)
        routes = self._bar_routes.get(symbol)
        if not self._started or routes is None or len(routes) != 1:
            return None
        return InlineRoute(
            routes,
            self.portfolio.by_symbol.setdefault(symbol, []),
            self._queue,
            self.drain,
            self._strategy_failed,
        )

    def on_tick(self, tick: Tick) -> None:
        if self.orders.held:
            self.orders.release(tick.ts_ns)
        if self._queue:
            self.drain()
        self.portfolio.mark(tick.symbol, tick.ltp_paise)
        self.last_prices[tick.symbol] = tick.ltp_paise
        if tick.ts_ns >= self.risk_control.next_due_ns:
            self.risk_control.evaluate(tick.ts_ns)
        for s in self._strategies:
            if tick.symbol in s.symbols:
                self._call(s, "on_tick", s.on_tick, tick)
        if self._queue:
            self.drain()

    def drain(self) -> None:
        """Apply every queued broker report, telling the strategies as it goes. A report the
        books cannot take never raises here: the order manager quarantines its order."""
        queue = self._queue
        apply = self.orders.apply
        parent_of = self.orders.parent_of
        exchanges = self._exchange
        manager = self.risk_manager
        hooked = self._hooked
        while queue:
            result = apply(queue.popleft())
            if result is None:
                continue
            order, fill = result
            if manager is not None:
                manager.on_report(order, fill)
            if fill is not None:
                sym = order.symbol
                self.portfolio.apply_fill(fill, exchanges.get(sym) or self._exchange_of(sym))
            entry = hooked.get(order.strategy_id) if hooked else None
            if entry is None:
                continue  # no strategy with a hook of its own to tell
            strategy, on_fill, on_update = entry
            parent = parent_of.get(order.client_order_id) if parent_of else None
            if fill is not None and on_fill:
                seen = (
                    fill
                    if parent is None
                    else replace(fill, client_order_id=parent.client_order_id)
                )
                self._call(strategy, "on_fill", strategy.on_fill, seen)
            if on_update:
                snap = order.snapshot() if parent is None else parent.snapshot()
                self._call(
                    strategy, "on_order_update", lambda s=strategy, o=snap: s.on_order_update(o)
                )
        if manager is not None and manager.dirty:
            self.risk_control.evaluate(self.clock.now_ns())

    def square_off(self, symbol: str) -> list[ClientOrderId]:
        """The intraday cut-off for `symbol` has come: cancel its working INTRADAY orders and
        close each strategy's INTRADAY book in it at market (indian-market.md §2.7). Other
        products' books of the symbol are not netted against it: they stay as they are."""
        for o in list(self.orders.open_orders()):
            if o.symbol == symbol and o.product is ProductType.INTRADAY:
                self.orders.cancel(o.client_order_id)
        sent = []
        for key, pos in list(self.portfolio.books.items()):
            if key.symbol != symbol or key.product is not ProductType.INTRADAY:
                continue
            qty = pos.quantity
            if qty == 0:
                continue
            side = OrderSide.SELL if qty > 0 else OrderSide.BUY
            intent = OrderIntent(
                key.strategy_id,
                symbol,
                side,
                abs(qty),
                OrderType.MARKET,
                None,
                None,
                ProductType.INTRADAY,
            )
            sent.append(self.submit(intent, square_off=True))
        return sent

    # --- books ----------------------------------------------------------------------------
    def _exchange_of(self, symbol: str) -> str:
        exchange = self._exchange.get(symbol)
        if exchange is None:
            exchange = self._exchange[symbol] = self.instrument(symbol).exchange.value
        return exchange

    def book_key(self, strategy_id: str, symbol: str, product: ProductType) -> BookKey:
        return BookKey(
            self.portfolio.account, strategy_id, symbol, self._exchange_of(symbol), product
        )

    # --- RiskView -------------------------------------------------------------------------
    def position_quantity(self, symbol: str) -> int:
        return self.portfolio.symbol_quantity(symbol)

    def book_quantity(self, strategy_id: str, symbol: str, product: ProductType) -> int:
        portfolio = self.portfolio
        exchange = self._exchange.get(symbol) or self._exchange_of(symbol)
        pos = portfolio.by_tuple.get((portfolio.account, strategy_id, symbol, exchange, product))
        return 0 if pos is None else pos.quantity

    def cash_paise(self) -> int:
        return self.portfolio.cash

    def equity_paise(self) -> int:
        return self.portfolio.equity()

    def pending_quantity(
        self, strategy_id: str, symbol: str, side: OrderSide, product: ProductType
    ) -> int:
        orders = self.orders
        if not orders.working and not orders.held:
            return 0  # the common case when an order is checked: nothing else is open
        return sum(
            o.remaining
            for o in orders.open_orders()
            if o.strategy_id == strategy_id
            and o.symbol == symbol
            and o.side is side
            and o.product is product
        )

    # --- orders ---------------------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument:
        inst = self.instruments.get(symbol)
        if inst is None:
            inst = self.instruments[symbol] = equity(symbol)
        return inst

    def submit(self, intent: OrderIntent, *, square_off: bool = False) -> ClientOrderId:
        """Check and send an order (sliced above the freeze quantity); the id returned names
        it, the parent's when sliced. A refusal is told to the strategy at once."""
        inst = self.instruments.get(intent.symbol)  # `instrument` inlined: every order
        if inst is None:
            inst = self.instrument(intent.symbol)
        if square_off:  # the engine's own closing order: past every limit and the kill switch
            self.risk_gate.exempt = True
        try:
            coid, made = self.orders.create(
                intent, self, inst.freeze_quantity, inst.lot_size, square_off=square_off
            )
        finally:
            self.risk_gate.exempt = False
        if square_off:
            self.risk_control.closing.add(coid)
        strategy = self._by_id.get(intent.strategy_id)
        if strategy is not None and made[0].status in TERMINAL_STATES:  # refused: tell it now
            parent = self.orders.parents.get(coid)
            snap = made[0].snapshot() if parent is None else parent.snapshot()
            if parent is None or not parent.is_working:
                self._call(strategy, "on_order_update", strategy.on_order_update, snap)
        return coid

    def open_order_snapshots(
        self, strategy_id: str, symbol: str | None = None
    ) -> list[OrderSnapshot]:
        """A strategy's orders not yet done, as it sees them: a sliced order once."""
        parent_of = self.orders.parent_of
        snaps: list[OrderSnapshot] = []
        seen: set[ClientOrderId] = set()
        for o in self.orders.open_orders():
            if o.strategy_id != strategy_id or (symbol is not None and o.symbol != symbol):
                continue
            parent = parent_of.get(o.client_order_id) if parent_of else None
            if parent is None:
                snaps.append(o.snapshot())
            elif parent.client_order_id not in seen:
                seen.add(parent.client_order_id)
                snaps.append(parent.snapshot())
        return snaps

    def quarantined(self) -> list[ClientOrderId]:
        """Orders whose reports the books could not take, waiting for reconciliation."""
        return list(self.orders.quarantined)

    # --- risk: the kill switch, scopes, the manager's view (engine/risk_control.py) --------
    def kill_switch(self, reason: str, by: str) -> None:
        """Cancel every open order, close every position at market, and refuse every new
        order with KILL_SWITCH until `reset_kill_switch`. Safe to call again."""
        self.risk_control.kill(reason, by, self.clock.now_ns())

    def reset_kill_switch(self, by: str) -> None:
        """A person lifts the kill switch; new orders go through the checks again."""
        self.risk_control.reset(by, self.clock.now_ns())

    @property
    def kill_switch_active(self) -> bool:
        return self.risk_gate.killed is not None

    def cancel_all(self, strategy_id: str | None = None) -> int:
        """Cancel every open order of one strategy (None: of all); how many were asked."""
        return self.risk_control.cancel_all(strategy_id)

    def flatten(self, strategy_id: str | None = None) -> list[ClientOrderId]:
        """Close every position of one strategy (None: all) at market, every product."""
        return self.risk_control.flatten(strategy_id, self.clock.now_ns(), force=True)

    def modify(self, client_order_id: ClientOrderId, change: OrderChange) -> str:
        """Ask for new terms on a working order, through the risk checks as the order would
        be after the change; "" when asked, else the stable code of the refusal."""
        refusal = self.risk_control.check_change(client_order_id, change)
        return refusal or self.orders.modify(client_order_id, change)

    def evaluate_risk(self, now_ns: int | None = None) -> list[RiskAction]:
        """Run the continuous risk checks now and carry out what they ask (the engine does
        this itself on fills, rejections, ticks and its timer)."""
        return self.risk_control.evaluate(self.clock.now_ns() if now_ns is None else now_ns)

    def last_price_paise(self, symbol: str) -> int | None:
        price = self.last_prices.get(symbol)
        if price is None:
            books = self.portfolio.by_symbol.get(symbol)
            if books and books[0].last_price_paise:
                return books[0].last_price_paise
        return price

    def working_orders(self) -> list[Order]:
        return self.orders.open_orders()

    def position_books(self) -> ItemsView[BookKey, Position]:
        return self.portfolio.books.items()

    # --- user code ------------------------------------------------------------------------
    def _call(self, strategy: Strategy, hook: str, fn: Callable[..., None], *args: object) -> None:
        if strategy.strategy_id not in self._by_id:
            return  # stopped after an earlier error
        try:
            fn(*args)
        except Exception as exc:  # user code: stop this strategy only
            self._strategy_failed(strategy, hook, exc, "")

    def _strategy_failed(self, strategy: Strategy, hook: str, exc: Exception, where: str) -> None:
        if isinstance(exc, StrategyError):
            error = exc
        else:
            error = StrategyError(strategy.strategy_id, hook, exc, where)
        self.strategy_errors.append(error)
        self._by_id.pop(strategy.strategy_id, None)
        self._hooked.pop(strategy.strategy_id, None)
        for routes in self._bar_routes.values():
            # Keep the length: a bar handler may be iterating this list now, and removing an
            # entry would make it skip the next strategy for this bar.
            routes[:] = [((), s) if s is strategy else (c, s) for c, s in routes]
        if self.raise_strategy_errors:
            raise error from exc
