"""The in-process simulated broker: the backtest's venue, matching through `matching`.

It acknowledges an order at once (or rejects it: off-tick price, quantity not a multiple of the
lot, and with `buying_power` an order the account cannot carry, `INSUFFICIENT_FUNDS`), then
fills it from the bars (or ticks) the driver shows it, by the shared fill model.
"""

from __future__ import annotations

from collections.abc import Callable

from algo_trading.adapters.brokers.simulated.funds import BuyingPower
from algo_trading.domain.events import Bar, ExecutionReport, execution_report
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import OrderEvent, OrderSnapshot, OrderType
from algo_trading.engine.ports import Clock, ReportSink
from algo_trading.matching import BarMatcher, MatchKind, RestingOrder

__all__ = ["SimulatedBroker"]

_FILL, _TRIGGER, _EXPIRE = MatchKind.FILL, MatchKind.TRIGGER, MatchKind.EXPIRE
_STOPS = frozenset((OrderType.STOPLOSS_LIMIT, OrderType.STOPLOSS_MARKET))
_ACCEPT, _ACCEPT_TRIGGER_PENDING = OrderEvent.ACCEPT, OrderEvent.ACCEPT_TRIGGER_PENDING
_FILL_EVENT = OrderEvent.FILL
_REJECT, _CANCEL, _TRIGGER_EVENT = OrderEvent.REJECT, OrderEvent.CANCEL, OrderEvent.TRIGGER
_MODIFY, _MODIFY_REJECT, _EXPIRE_EVENT = (
    OrderEvent.MODIFY,
    OrderEvent.MODIFY_REJECT,
    OrderEvent.EXPIRE,
)


class SimulatedBroker:
    # This venue never reads `OrderSnapshot.tag` (it names orders by client order id): the
    # engine may send snapshots without one and skip working it out.
    reads_order_tags = False

    def __init__(
        self,
        clock: Clock,
        instrument: Callable[[str], Instrument],
        *,
        slippage_ticks: int = 0,
        max_volume_pct: int | None = None,
        buying_power: BuyingPower | None = None,
    ) -> None:
        self._clock = clock
        self._instrument = instrument
        self._instruments: dict[str, Instrument] = {}  # looked up once per symbol
        self.matcher = BarMatcher(slippage_ticks, max_volume_pct)
        self.buying_power = buying_power
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
        symbol = order.symbol
        inst = self._instruments.get(symbol)
        if inst is None:
            inst = self._instruments[symbol] = self._instrument(symbol)
        # The common case checked inline (this runs for every order of a backtest): prices on
        # the tick and whole lots; `_refusal` words the rare refusal.
        tick = inst.tick_size_paise
        price, trigger = order.price_paise, order.trigger_price_paise
        reason = ""
        if (
            order.quantity % inst.lot_size
            or (tick and price is not None and price % tick)
            or (tick and trigger is not None and trigger % tick)
        ):
            reason = _refusal(order, inst)
        elif self.buying_power is not None:
            reason = self.buying_power.refusal(order, inst)
        sink = self._sink
        if sink is None:
            raise RuntimeError("simulated broker used before connect()")
        if reason:
            sink(execution_report(coid, _REJECT, now, reason=reason))
            return
        self._n += 1
        kind = order.order_type
        sink(
            execution_report(
                coid,
                _ACCEPT_TRIGGER_PENDING if kind in _STOPS else _ACCEPT,
                now,
                f"SIM{self._n:08d}",
            )
        )
        self._quantity[coid] = order.quantity
        self.matcher.add(
            RestingOrder(
                coid,
                symbol,
                order.side,
                kind,
                order.quantity,
                price,
                trigger,
                tick,
                order.validity,
            )
        )

    def cancel(self, client_order_id: ClientOrderId) -> None:
        if self.matcher.remove(client_order_id) is not None:
            if self.buying_power is not None:
                self.buying_power.done(client_order_id)
            self._send(ExecutionReport(client_order_id, _CANCEL, self._clock.now_ns()))

    def modify(
        self,
        client_order_id: ClientOrderId,
        *,
        quantity: int | None = None,
        price_paise: int | None = None,
        trigger_price_paise: int | None = None,
    ) -> None:
        """Change a resting order in place: MODIFY, or MODIFY_REJECT when it is gone (filled
        or cancelled meanwhile), the new terms do not fit it, or (with `buying_power`) the
        account cannot carry them: INSUFFICIENT_FUNDS, as a placement would be refused."""
        now = self._clock.now_ns()
        resting = self.matcher.get(client_order_id)
        filled = 0
        if resting is not None:
            filled = self._quantity.get(client_order_id, resting.remaining) - resting.remaining
        reason = _modify_refusal(resting, filled, quantity, price_paise, trigger_price_paise)
        if resting is not None and not reason and self.buying_power is not None:
            reason = self.buying_power.change_refusal(
                client_order_id,
                resting.order_type,
                resting.remaining if quantity is None else quantity - filled,
                resting.limit_paise if price_paise is None else price_paise,
                resting.trigger_paise if trigger_price_paise is None else trigger_price_paise,
            )
        if resting is None or reason:
            self._send(ExecutionReport(client_order_id, _MODIFY_REJECT, now, reason=reason))
            return
        if quantity is not None:
            resting.remaining = quantity - filled
            self._quantity[client_order_id] = quantity
        if price_paise is not None:
            resting.limit_paise = price_paise
        if trigger_price_paise is not None:
            resting.trigger_paise = trigger_price_paise
        self._send(ExecutionReport(client_order_id, _MODIFY, now))

    def has_orders(self, symbol: str) -> bool:
        return self.matcher.has_orders(symbol)

    def on_bar(self, bar: Bar) -> None:
        """Match resting orders against a bar that just opened (before strategies see it)."""
        matches = self.matcher.on_bar(
            bar.symbol, bar.ts_ns, bar.open, bar.high, bar.low, bar.volume
        )
        if not matches:
            return
        ts = bar.ts_ns
        sink = self._sink
        if sink is None:
            raise RuntimeError("simulated broker used before connect()")
        funds = self.buying_power
        resting = self.matcher.by_id
        for m in matches:
            coid = m.client_order_id
            kind = m.kind
            if kind is _FILL:
                self._trade_n += 1
                if funds is not None:
                    funds.filled(coid, m.quantity, m.price_paise)
                    if coid not in resting:
                        funds.done(coid)
                sink(
                    execution_report(
                        coid,
                        _FILL_EVENT,
                        ts,
                        None,
                        m.quantity,
                        m.price_paise,
                        f"SIMT{self._trade_n:09d}",
                    )
                )
            elif kind is _TRIGGER:
                sink(ExecutionReport(coid, _TRIGGER_EVENT, ts))
            else:
                if funds is not None:
                    funds.done(coid)
                sink(ExecutionReport(coid, _EXPIRE_EVENT, ts))


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
    for label, p in (("price", order.price_paise), ("trigger price", order.trigger_price_paise)):
        if p is not None and not inst.is_on_tick(p):
            return (
                f"{label} {p} paise is not a multiple of the tick "
                f"{inst.tick_size_paise} paise for {inst.symbol}"
            )
    return f"quantity {order.quantity} is not a multiple of the lot size {inst.lot_size}"
