"""`EngineControl`: the commands' `ServiceControl` over a running `TradingEngine`.

Orders go through `engine.submit`, so a command's order meets the same risk checks, throttle,
intent-before-action and audit as a strategy's, and a refusal comes back as the command's
outcome with the check's own code. Cancel and modify go through the engine's order manager and
only touch an order of the strategy the command names (an order id from another strategy is
refused, not acted on). A pause is the shared `paused` set the trading service reads before it
gives a strategy market data; it holds no orders back by itself. The kill switch and its reset
are the engine's (`kill_switch(reason, by)`, `reset_kill_switch(by)`).

Called from the trading service's loop, on the engine's thread: nothing here locks.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import (
    Order,
    OrderIntent,
    OrderSide,
    OrderStatus,
    OrderType,
    ProductType,
)
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.order_manager import OrderChange
from algo_trading.services.command_ports import MANUAL_STRATEGY, Outcome

__all__ = ["EngineControl"]


class EngineControl:
    """Implements `services.commands.ServiceControl` over one engine. `strategy_ids`: the
    strategies this service runs (default: those added to the engine)."""

    def __init__(
        self,
        engine: TradingEngine,
        paused: set[str],
        *,
        strategy_ids: Collection[str] | None = None,
    ) -> None:
        self.engine = engine
        self.paused = paused
        self._strategy_ids = strategy_ids

    @property
    def account(self) -> str:
        return self.engine.portfolio.account

    def known_symbol(self, symbol: str) -> bool:
        return symbol in self.engine.instruments

    def known_strategy(self, strategy_id: str) -> bool:
        if strategy_id == MANUAL_STRATEGY:
            return True
        if self._strategy_ids is not None:
            return strategy_id in self._strategy_ids
        # the engine lists its strategies nowhere public; a failed one is still known here,
        # so its orders can be cancelled and its books squared off
        strategies: list[Any] = getattr(self.engine, "_strategies", [])
        return any(s.strategy_id == strategy_id for s in strategies)

    # --- orders -----------------------------------------------------------------------------
    def place(self, intent: OrderIntent) -> Outcome:
        if intent.strategy_id in self.paused:
            return Outcome.refused(
                "STRATEGY_PAUSED", f"strategy {intent.strategy_id} is paused; resume it first"
            )
        coid = self.engine.submit(intent)
        orders = self.engine.orders.children_of(coid)
        refused = [o for o in orders if o.status is OrderStatus.REJECTED]
        if refused and len(refused) == len(orders):
            code, _, detail = refused[0].reason.partition(": ")
            return Outcome.refused(code or "REJECTED", detail, client_order_id=coid)
        statuses = sorted({o.status.value for o in orders})
        status = ",".join(statuses)
        if statuses == [OrderStatus.NEW.value]:
            code = "ORDER_QUEUED"  # held by the throttle: it goes when its slot comes
        else:
            code = "ORDER_SENT" if not refused else "ORDER_PARTLY_SENT"
        return Outcome.done(
            code,
            f"{intent.side.value} {intent.quantity} {intent.symbol} as {coid} ({status})",
            client_order_id=coid,
            status=status,
        )

    def _own_orders(self, strategy_id: str | None, client_order_id: str) -> list[Order] | Outcome:
        orders = self.engine.orders.children_of(ClientOrderId(client_order_id))
        if not orders:
            return Outcome.refused("UNKNOWN_ORDER", f"no order {client_order_id} here")
        owner = orders[0].strategy_id
        if strategy_id is not None and owner != strategy_id:
            return Outcome.refused(
                "NOT_THIS_STRATEGY",
                f"order {client_order_id} is strategy {owner}'s, not {strategy_id}'s",
            )
        return orders

    def modify(
        self,
        strategy_id: str | None,
        client_order_id: str,
        *,
        quantity: int | None,
        price_paise: int | None,
        trigger_price_paise: int | None,
    ) -> Outcome:
        orders = self._own_orders(strategy_id, client_order_id)
        if isinstance(orders, Outcome):
            return orders
        inst = self.engine.instrument(orders[0].symbol)
        tick = inst.tick_size_paise
        for what, paise in (("price", price_paise), ("trigger_price", trigger_price_paise)):
            if tick and paise is not None and paise % tick:
                return Outcome.refused(
                    "TICK_SIZE", f"{what} {paise} paise is not a multiple of the tick {tick}"
                )
        if quantity is not None and inst.lot_size > 1 and quantity % inst.lot_size:
            return Outcome.refused(
                "LOT_SIZE", f"quantity {quantity} is not whole lots of {inst.lot_size}"
            )
        change = OrderChange(quantity, price_paise, trigger_price_paise)
        code = self.engine.orders.modify(ClientOrderId(client_order_id), change)
        if code:
            return Outcome.refused(code, f"order {client_order_id} cannot be modified")
        return Outcome.done("MODIFY_SENT", f"order {client_order_id}")

    def cancel(self, strategy_id: str | None, client_order_id: str) -> Outcome:
        orders = self._own_orders(strategy_id, client_order_id)
        if isinstance(orders, Outcome):
            return orders
        if not any(o.is_working or o.status is OrderStatus.NEW for o in orders):
            status = ",".join(sorted({o.status.value for o in orders}))
            return Outcome.refused(
                "NOT_CANCELLABLE", f"order {client_order_id} is {status}: nothing to cancel"
            )
        self.engine.orders.cancel(ClientOrderId(client_order_id))
        return Outcome.done("CANCEL_SENT", f"order {client_order_id}")

    def square_off(self, strategy_id: str | None, symbol: str | None) -> Outcome:
        """Cancel the working orders in scope, then close each non-zero book in scope at
        market under its own product (a DELIVERY long is sold from the holding)."""
        engine = self.engine

        def in_scope(sid: str, sym: str) -> bool:
            return (strategy_id is None or sid == strategy_id) and (symbol is None or sym == symbol)

        cancelled = []
        for o in list(engine.orders.open_orders()):
            if in_scope(o.strategy_id, o.symbol):
                engine.orders.cancel(o.client_order_id)
                cancelled.append(o.client_order_id)
        sent: list[str] = []
        refused: list[str] = []
        for key, pos in list(engine.portfolio.books.items()):
            qty = pos.quantity
            if qty == 0 or not in_scope(key.strategy_id, key.symbol):
                continue
            side = OrderSide.SELL if qty > 0 else OrderSide.BUY
            intent = OrderIntent(
                key.strategy_id,
                key.symbol,
                side,
                abs(qty),
                OrderType.MARKET,
                None,
                None,
                ProductType(key.product),
            )
            coid = engine.submit(intent, square_off=True)
            kids = engine.orders.children_of(coid)
            if kids and all(o.status is OrderStatus.REJECTED for o in kids):
                refused.append(f"{coid} ({kids[0].reason})")
            else:
                sent.append(coid)
        result = {"cancelled": ",".join(cancelled), "orders": ",".join(sent)}
        scope = f"strategy {strategy_id or 'all'}, symbol {symbol or 'all'}"
        if refused:
            return Outcome.refused(
                "SQUARE_OFF_REFUSED", f"{scope}: refused {'; '.join(refused)}", **result
            )
        if not cancelled and not sent:
            return Outcome.done("NOTHING_TO_SQUARE_OFF", scope, **result)
        return Outcome.done(
            "SQUARE_OFF_SENT",
            f"{scope}: {len(cancelled)} orders cancelled, {len(sent)} closing orders",
            **result,
        )

    # --- strategies and the account ---------------------------------------------------------
    def pause(self, strategy_id: str) -> Outcome:
        if strategy_id in self.paused:
            return Outcome.done("ALREADY_PAUSED", f"strategy {strategy_id}")
        self.paused.add(strategy_id)
        return Outcome.done("PAUSED", f"strategy {strategy_id}")

    def resume(self, strategy_id: str) -> Outcome:
        if strategy_id not in self.paused:
            return Outcome.done("NOT_PAUSED", f"strategy {strategy_id}")
        self.paused.discard(strategy_id)
        return Outcome.done("RESUMED", f"strategy {strategy_id}")

    def kill(self, reason: str, by: str) -> Outcome:
        self.engine.kill_switch(reason, by)
        return Outcome.done("KILL_SWITCH_ON", f"by {by}: {reason}")

    def reset_kill(self, by: str) -> Outcome:
        self.engine.reset_kill_switch(by)
        return Outcome.done("KILL_SWITCH_RESET", f"by {by}")
