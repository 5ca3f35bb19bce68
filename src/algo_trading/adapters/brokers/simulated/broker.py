"""The in-process simulated broker: the backtest's venue, matching through `matching`.

It acknowledges an order at once (or rejects it: off-tick price, quantity not a multiple of the
lot), then fills it from the bars (or ticks) the driver shows it, by the shared fill model.
"""

from __future__ import annotations

from collections.abc import Callable

from algo_trading.domain.events import Bar, ExecutionReport
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import OrderEvent, OrderSnapshot, OrderType
from algo_trading.engine.ports import Clock, ReportSink
from algo_trading.matching import BarMatcher, MatchKind, RestingOrder

__all__ = ["SimulatedBroker"]

_KIND_EVENT = {MatchKind.TRIGGER: OrderEvent.TRIGGER, MatchKind.EXPIRE: OrderEvent.EXPIRE}


class SimulatedBroker:
    def __init__(
        self,
        clock: Clock,
        instrument: Callable[[str], Instrument],
        *,
        slippage_ticks: int = 0,
        max_volume_pct: int | None = None,
    ) -> None:
        self._clock = clock
        self._instrument = instrument
        self.matcher = BarMatcher(slippage_ticks, max_volume_pct)
        self._sink: ReportSink | None = None
        self._n = 0
        self._trade_n = 0
        self._quantity: dict[ClientOrderId, int] = {}  # as ordered (or modified): for modify

    def connect(self, sink: ReportSink) -> None:
        self._sink = sink

    def _send(self, report: ExecutionReport) -> None:
        if self._sink is None:
            raise RuntimeError("simulated broker used before connect()")
        self._sink(report)

    def submit(self, order: OrderSnapshot) -> None:
        now = self._clock.now_ns()
        coid = order.client_order_id
        inst = self._instrument(order.symbol)
        reason = _refusal(order, inst)
        if reason:
            self._send(ExecutionReport(coid, OrderEvent.REJECT, now, reason=reason))
            return
        self._n += 1
        stop = order.order_type in (OrderType.STOPLOSS_LIMIT, OrderType.STOPLOSS_MARKET)
        event = OrderEvent.ACCEPT_TRIGGER_PENDING if stop else OrderEvent.ACCEPT
        self._send(ExecutionReport(coid, event, now, broker_order_id=f"SIM{self._n:08d}"))
        self._quantity[coid] = order.quantity
        self.matcher.add(
            RestingOrder(
                coid,
                order.symbol,
                order.side,
                order.order_type,
                order.quantity,
                order.price_paise,
                order.trigger_price_paise,
                inst.tick_size_paise,
                order.validity,
            )
        )

    def cancel(self, client_order_id: ClientOrderId) -> None:
        if self.matcher.remove(client_order_id) is not None:
            self._send(ExecutionReport(client_order_id, OrderEvent.CANCEL, self._clock.now_ns()))

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None:
        """Change a resting order in place: MODIFY, or MODIFY_REJECT when it is gone (filled
        or cancelled meanwhile) or the new terms do not fit it."""
        now = self._clock.now_ns()
        resting = self.matcher.get(client_order_id)
        filled = 0
        if resting is not None:
            filled = self._quantity.get(client_order_id, resting.remaining) - resting.remaining
        reason = _modify_refusal(resting, filled, quantity, price_paise, trigger_price_paise)
        if resting is None or reason:
            self._send(
                ExecutionReport(client_order_id, OrderEvent.MODIFY_REJECT, now, reason=reason)
            )
            return
        if quantity is not None:
            resting.remaining = quantity - filled
            self._quantity[client_order_id] = quantity
        if price_paise is not None:
            resting.limit_paise = price_paise
        if trigger_price_paise is not None:
            resting.trigger_paise = trigger_price_paise
        self._send(ExecutionReport(client_order_id, OrderEvent.MODIFY, now))

    def has_orders(self, symbol: str) -> bool:
        return self.matcher.has_orders(symbol)

    def on_bar(self, bar: Bar) -> None:
        """Match resting orders against a bar that just opened (before strategies see it)."""
        matches = self.matcher.on_bar(
            bar.symbol, bar.ts_ns, bar.open, bar.high, bar.low, bar.volume
        )
        ts = bar.ts_ns
        for m in matches:
            if m.kind is MatchKind.FILL:
                self._trade_n += 1
                self._send(
                    ExecutionReport(
                        m.client_order_id,
                        OrderEvent.FILL,
                        ts,
                        fill_quantity=m.quantity,
                        fill_price_paise=m.price_paise,
                        trade_id=f"SIMT{self._trade_n:09d}",
                    )
                )
            else:
                self._send(ExecutionReport(m.client_order_id, _KIND_EVENT[m.kind], ts))


def _modify_refusal(
    resting: RestingOrder | None,
    filled: int,
    quantity: int | None,
    price_paise: int | None,
    trigger_price_paise: int | None,
) -> str:
    if resting is None:
        return "ORDER_NOT_OPEN: filled, cancelled or unknown"
    if quantity is not None and quantity <= filled:
        return f"quantity {quantity} is not above what has filled"
    if price_paise is not None and (resting.limit_paise is None or price_paise <= 0):
        return "a new price for an order without a limit price"
    if trigger_price_paise is not None and (
        resting.trigger_paise is None or resting.triggered or trigger_price_paise <= 0
    ):
        return "a new trigger for an order with no trigger pending"
    for price in (price_paise, trigger_price_paise):
        if price is not None and price % resting.tick_paise:
            return f"price {price} paise is not a multiple of the tick {resting.tick_paise} paise"
    return ""


def _refusal(order: OrderSnapshot, inst: Instrument) -> str:
    for label, price in (
        ("price", order.price_paise),
        ("trigger price", order.trigger_price_paise),
    ):
        if price is not None and not inst.is_on_tick(price):
            return (
                f"{label} {price} paise is not a multiple of the tick "
                f"{inst.tick_size_paise} paise for {inst.symbol}"
            )
    if order.quantity % inst.lot_size:
        return f"quantity {order.quantity} is not a multiple of the lot size {inst.lot_size}"
    return ""
