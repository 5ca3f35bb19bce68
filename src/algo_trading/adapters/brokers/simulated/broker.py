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
