"""The simulated broker and exchange: order book, trade book, matching and accounts.

Matching goes through `matching.BarMatcher.on_tick`, the fill model every simulated venue shares
(DESIGN.md), so a backtest, the paper broker and this simulator fill an order alike. Outside
market hours orders are taken as AMOs and sent to the matcher at the next open (spec §2.2).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.instruments import Exchange, Instrument, InstrumentType
from algo_trading.domain.money import paise_to_decimal
from algo_trading.domain.orders import OrderSide, OrderType, Validity
from algo_trading.market.instruments import InstrumentMaster, InstrumentNotFoundError
from algo_trading.matching import BarMatcher, Match, MatchKind, RestingOrder
from algo_trading.simulator.accounts import Account, RequestError
from algo_trading.simulator.clock import SimClock
from algo_trading.simulator.market import Market, Quote
from algo_trading.simulator.orders import (
    AB_CODES,
    SimOrder,
    SimTrade,
    Status,
    body_int,
    body_paise,
    body_text,
    check_request,
    order_id,
)

__all__ = [
    "EXPIRED_TEXT",
    "INTRADAY_CLOSED_TEXT",
    "SQUAREOFF_CANCEL_TEXT",
    "SQUAREOFF_TEXT",
    "OrderListener",
    "SimExchange",
]

INTRADAY_CLOSED_TEXT = (
    "RMS:Intraday orders are not allowed after the auto square-off time. "
    "Place a DELIVERY or CARRYFORWARD order instead."
)
SQUAREOFF_TEXT = "RMS:Auto square-off of intraday position at the cut-off time"
SQUAREOFF_CANCEL_TEXT = "RMS:Intraday order cancelled at the auto square-off time"
EXPIRED_TEXT = "Order expired at end of day"

OrderListener = Callable[[SimOrder, str], None]  # (order, AB code)
_EXCHANGE_NAMES = frozenset(e.value for e in Exchange)


def _matcher_key(inst: Instrument) -> str:
    return f"{inst.exchange.value}:{inst.token}"


class SimExchange:
    """Every client's orders, trades and account; fills from market ticks."""

    def __init__(
        self,
        master: InstrumentMaster,
        market: Market,
        clock: SimClock,
        starting_funds_paise: int,
        *,
        accept_amo: bool = True,
        max_volume_pct: int | None = 100,
    ) -> None:
        self.master = master
        self.market = market
        self.clock = clock
        self._funds = starting_funds_paise
        self._accept_amo = accept_amo
        self.matcher = BarMatcher(max_volume_pct=max_volume_pct)
        self.orders: dict[str, SimOrder] = {}
        self.by_unique: dict[str, SimOrder] = {}
        self.trades: list[SimTrade] = []
        self.accounts: dict[str, Account] = {}
        self.listeners: list[OrderListener] = []
        self._sequence = 0
        self._fill_sequence = 0

    def account(self, client_code: str) -> Account:
        found = self.accounts.get(client_code)
        if found is None:
            found = self.accounts[client_code] = Account(client_code, self._funds)
        return found

    def _emit(self, order: SimOrder, code: str) -> None:
        for listener in list(self.listeners):
            listener(order, AB_CODES[code])

    # --- placing -------------------------------------------------------------------------------

    def instrument(self, exchange: str, token: str, symbol: str) -> Instrument:
        if exchange not in _EXCHANGE_NAMES:
            raise RequestError("AB1009", f"Symbol Not Found: unknown exchange {exchange[:20]!r}")
        try:
            inst = self.master.by_token(exchange, token)
        except InstrumentNotFoundError:
            raise RequestError("AB1009", "Symbol Not Found") from None
        if symbol and symbol != inst.symbol:
            raise RequestError("AB1009", f"Symbol Not Found: {symbol} is not token {token}")
        return inst

    def place(self, client_code: str, body: Mapping[str, object]) -> SimOrder:
        """Book an order; it may come back rejected (a row with status "rejected")."""
        check_request(body)
        inst = self.instrument(
            body_text(body, "exchange"),
            body_text(body, "symboltoken"),
            body_text(body, "tradingsymbol"),
        )
        now = self.clock.now_ns()
        self._sequence += 1
        order = SimOrder(
            orderid=order_id(self.clock.today(), self._sequence),
            uniqueorderid=str(uuid.uuid4()),
            client_code=client_code,
            instrument=inst,
            variety=body_text(body, "variety"),
            transactiontype=body_text(body, "transactiontype"),
            ordertype=body_text(body, "ordertype"),
            producttype=body_text(body, "producttype"),
            duration=body_text(body, "duration", "DAY") or "DAY",
            price=body_paise(body, "price"),
            triggerprice=body_paise(body, "triggerprice"),
            quantity=body_int(body, "quantity"),
            disclosedquantity=body_int(body, "disclosedquantity"),
            ordertag=body_text(body, "ordertag"),
            status=Status.OPEN_PENDING,
            created_ns=now,
            updated_ns=now,
        )
        if order.transactiontype not in ("BUY", "SELL"):
            raise RequestError("AB1004", "Invalid Transaction Type")
        self.orders[order.orderid] = order
        self.by_unique[order.uniqueorderid] = order
        reason = self._rejection(order)
        if reason:
            self._reject(order, reason)
        elif self.clock.is_open(inst.exchange, now):
            self._emit(order, "open_pending")
            self._send_to_exchange(order)
        else:
            order.status = Status.AMO_RECEIVED
            self._block(order)
            self._emit(order, "amo_received")
        return order

    def _rejection(self, order: SimOrder) -> str:
        """Why the exchange or the RMS refuses this order, or "" (checks in Angel's order)."""
        inst = order.instrument
        exchange_open = self.clock.is_open(inst.exchange)
        if self.clock.in_order_blackout(inst.exchange) or (
            not exchange_open and not self._accept_amo
        ):
            return "Market is closed. Orders are not accepted at this time."
        if inst.instrument_type is InstrumentType.INDEX:
            return f"{inst.symbol} is an index and cannot be traded"
        if order.producttype == "INTRADAY" and self.clock.intraday_closed(inst.exchange):
            return INTRADAY_CLOSED_TEXT
        return self._price_rejection(order) or self._funds_rejection(order)

    def _price_rejection(self, order: SimOrder) -> str:
        inst, tick = order.instrument, order.instrument.tick_size_paise
        if order.quantity <= 0 or order.quantity % inst.lot_size:
            return (
                f"Order quantity {order.quantity} is not a multiple of the lot size {inst.lot_size}"
            )
        needs_price = order.ordertype in ("LIMIT", "STOPLOSS_LIMIT")
        needs_trigger = order.ordertype.startswith("STOPLOSS")
        prices = [("price", order.price)] if needs_price else []
        prices += [("trigger price", order.triggerprice)] if needs_trigger else []
        quote = self.market.get(inst.exchange, str(inst.token))
        for what, price in prices:
            if price <= 0 or price % tick:
                return (
                    f"Invalid {what} {paise_to_decimal(price)}: it must be a multiple of the "
                    f"tick size {paise_to_decimal(tick)}"
                )
            band = None if quote is None else quote.band
            if band is not None and not band.contains(price):
                return (
                    f"Order {what} is beyond the Limit Price Protection range "
                    f"{paise_to_decimal(band.lower_paise)} - {paise_to_decimal(band.upper_paise)}"
                )
        if needs_trigger and quote is not None:
            wrong_side = (
                order.triggerprice <= quote.ltp if order.is_buy else order.triggerprice >= quote.ltp
            )
            if wrong_side:
                side = "higher" if order.is_buy else "lower"
                return (
                    f"Trigger price for stoploss {order.transactiontype.lower()} orders should "
                    f"be {side} than the last traded price"
                )
        return ""

    def _reference_price(self, order: SimOrder) -> int:
        if order.ordertype in ("LIMIT", "STOPLOSS_LIMIT"):
            return order.price
        if order.ordertype == "STOPLOSS_MARKET":
            return order.triggerprice
        quote = self.market.get(order.exchange, str(order.instrument.token))
        return 0 if quote is None else quote.ltp

    def _required(self, order: SimOrder) -> int:
        account = self.account(order.client_code)
        return account.required_for(
            order.instrument,
            order.producttype,
            order.is_buy,
            order.remaining,
            self._reference_price(order),
        )

    def _funds_rejection(self, order: SimOrder) -> str:
        account = self.account(order.client_code)
        required, available = self._required(order), account.available
        if required <= available:
            return ""
        return (
            "Your order has been rejected due to Insufficient Funds. Available funds - Rs. "
            f"{paise_to_decimal(available)} . You require Rs. {paise_to_decimal(required)} funds "
            "to execute this order."
        )

    def _block(self, order: SimOrder) -> None:
        self.account(order.client_code).blocked[order.orderid] = self._required(order)

    def _reject(self, order: SimOrder, reason: str) -> None:
        order.status = Status.REJECTED
        order.text = reason
        order.updated_ns = self.clock.now_ns()
        self.account(order.client_code).blocked.pop(order.orderid, None)
        self._emit(order, "rejected")

    def _send_to_exchange(self, order: SimOrder) -> None:
        """Hand a valid order to the matcher: "open", or "trigger pending" for a stop."""
        now = self.clock.now_ns()
        order.exchangeorderid = f"11{int(order.orderid[-9:]):014d}"
        order.exchange_ns = now
        order.updated_ns = now
        is_stop = order.ordertype.startswith("STOPLOSS")
        order.status = Status.TRIGGER_PENDING if is_stop else Status.OPEN
        self._block(order)
        self.matcher.add(self._resting(order))
        self._emit(order, "trigger_pending" if is_stop else "open")

    def _resting(self, order: SimOrder) -> RestingOrder:
        kind = OrderType(order.ordertype)
        return RestingOrder(
            ClientOrderId(order.orderid),
            _matcher_key(order.instrument),
            OrderSide(order.transactiontype),
            kind,
            order.remaining,
            limit_paise=order.price
            if kind in (OrderType.LIMIT, OrderType.STOPLOSS_LIMIT)
            else None,
            trigger_paise=order.triggerprice if kind.value.startswith("STOPLOSS") else None,
            tick_paise=order.instrument.tick_size_paise,
            validity=Validity(order.duration),
        )

    # --- modify and cancel -----------------------------------------------------------------------

    def _own(self, client_code: str, orderid: str) -> SimOrder:
        order = self.orders.get(orderid)
        if order is None or order.client_code != client_code:
            raise RequestError("AB1013", "Order not found")
        if not order.is_working:
            raise RequestError("AB1004", f"Order {orderid} is {order.status} and cannot be changed")
        return order

    def modify(self, client_code: str, body: Mapping[str, object]) -> SimOrder:
        order = self._own(client_code, body_text(body, "orderid"))
        check_request({**body, "ordertag": ""})
        changed = SimOrder(**{s: getattr(order, s) for s in SimOrder.__slots__})
        changed.ordertype = body_text(body, "ordertype") or order.ordertype
        changed.price = body_paise(body, "price")
        changed.triggerprice = body_paise(body, "triggerprice")
        changed.quantity = body_int(body, "quantity", order.quantity)
        changed.duration = body_text(body, "duration") or order.duration
        if changed.quantity <= order.filled:
            raise RequestError("AB1004", "Modified quantity must exceed the filled quantity")
        self.account(client_code).blocked.pop(order.orderid, None)
        reason = self._price_rejection(changed) or self._funds_rejection(changed)
        if reason:
            self._block(order)
            raise RequestError("AB1004", f"Order modification rejected: {reason}")
        for name in ("ordertype", "price", "triggerprice", "quantity", "duration"):
            setattr(order, name, getattr(changed, name))
        order.updated_ns = self.clock.now_ns()
        self._block(order)
        if order.status == Status.AMO_RECEIVED:
            self._emit(order, "amo_modified")
            return order
        self.matcher.remove(ClientOrderId(order.orderid))
        is_stop = order.ordertype.startswith("STOPLOSS")
        order.status = Status.TRIGGER_PENDING if is_stop else Status.OPEN
        self.matcher.add(self._resting(order))
        self._emit(order, "modified")
        return order

    def cancel(self, client_code: str, orderid: str) -> SimOrder:
        order = self._own(client_code, orderid)
        was_amo = order.status == Status.AMO_RECEIVED
        self.matcher.remove(ClientOrderId(order.orderid))
        self._close(order, Status.CANCELLED, "")
        self._emit(order, "amo_cancelled" if was_amo else "cancelled")
        return order

    def _close(self, order: SimOrder, status: str, text: str) -> None:
        order.cancelled_qty = order.quantity - order.filled
        order.status = status
        order.text = text or order.text
        order.updated_ns = self.clock.now_ns()
        self.account(order.client_code).blocked.pop(order.orderid, None)

    # --- the market moves ------------------------------------------------------------------------

    def release_amos(self, exchange_open: Mapping[Exchange, bool]) -> None:
        """Send waiting AMOs of now-open exchanges to the matcher (09:15 for NSE)."""
        for order in list(self.orders.values()):
            if order.status == Status.AMO_RECEIVED and exchange_open.get(order.exchange, False):
                reason = self._price_rejection(order)
                if reason:
                    self._reject(order, reason)
                else:
                    self._send_to_exchange(order)

    def on_quotes(self, quotes: list[Quote], ts_ns: int) -> None:
        """Match resting orders against each quote's last trade."""
        for quote in quotes:
            key = _matcher_key(quote.instrument)
            if self.matcher.has_orders(key):
                for match in self.matcher.on_tick(key, ts_ns, quote.ltp, quote.last_qty):
                    self._apply(match, ts_ns)

    def _apply(self, match: Match, ts_ns: int) -> None:
        order = self.orders[str(match.client_order_id)]
        if match.kind is MatchKind.TRIGGER:
            order.status = Status.OPEN
            order.updated_ns = ts_ns
            self._emit(order, "open")
            return
        if match.kind is MatchKind.EXPIRE:
            text = "IOC order cancelled: no match" if order.duration == "IOC" else EXPIRED_TEXT
            self._close(order, Status.CANCELLED, text)
            self._emit(order, "cancelled")
            return
        self._fill_sequence += 1
        self.trades.append(
            SimTrade(f"{self._fill_sequence:08d}", order, match.price_paise, match.quantity, ts_ns)
        )
        order.filled += match.quantity
        order.fill_value += match.quantity * match.price_paise
        order.updated_ns = ts_ns
        account = self.account(order.client_code)
        account.blocked.pop(order.orderid, None)
        account.fill(
            order.instrument, order.producttype, order.is_buy, match.quantity, match.price_paise
        )
        if order.remaining == 0:
            order.status = Status.COMPLETE
            self._emit(order, "complete")
        else:
            order.status = Status.OPEN
            self._block(order)
            self._emit(order, "open")

    # --- end of day (driven by day_end.DayKeeper) ----------------------------------------------

    def cancel_by_rms(self, order: SimOrder, text: str) -> None:
        """Close a working order on the broker's own account: square-off or end of day."""
        self.matcher.remove(ClientOrderId(order.orderid))
        self._close(order, Status.CANCELLED, text)
        self._emit(order, "cancelled")

    def square_off(self, client_code: str, inst: Instrument, qty: int, ts_ns: int) -> SimOrder:
        """Book and fill at the last price a MARKET order that flattens an INTRADAY position of
        `qty` units (positive: sell a long), as Angel's RMS does at the cut-off (§2.7)."""
        quote = self.market.get(inst.exchange, str(inst.token))
        price = 0 if quote is None else quote.ltp
        self._sequence += 1
        order = SimOrder(
            orderid=order_id(self.clock.today(), self._sequence),
            uniqueorderid=str(uuid.uuid4()),
            client_code=client_code,
            instrument=inst,
            variety="NORMAL",
            transactiontype="SELL" if qty > 0 else "BUY",
            ordertype="MARKET",
            producttype="INTRADAY",
            duration="DAY",
            price=0,
            triggerprice=0,
            quantity=abs(qty),
            disclosedquantity=0,
            ordertag="",
            status=Status.OPEN,
            created_ns=ts_ns,
            updated_ns=ts_ns,
            text=SQUAREOFF_TEXT,
        )
        order.exchangeorderid = f"11{int(order.orderid[-9:]):014d}"
        order.exchange_ns = ts_ns
        self.orders[order.orderid] = order
        self.by_unique[order.uniqueorderid] = order
        self._emit(order, "open")
        key = _matcher_key(inst)
        self._apply(
            Match(MatchKind.FILL, ClientOrderId(order.orderid), key, abs(qty), price), ts_ns
        )
        return order

    def new_day(self) -> None:
        """A new session (spec §6.2): day orders still working expire, the day's accounts settle,
        and the order and trade books start empty except for AMOs waiting for the open."""
        for order in list(self.orders.values()):
            if order.is_working and order.status != Status.AMO_RECEIVED:
                self.cancel_by_rms(order, EXPIRED_TEXT)
        for account in self.accounts.values():
            account.settle_day(self._ltp)
        self.orders = {k: o for k, o in self.orders.items() if o.status == Status.AMO_RECEIVED}
        self.by_unique = {o.uniqueorderid: o for o in self.orders.values()}
        self.trades = []

    def _ltp(self, inst: Instrument) -> int:
        quote = self.market.get(inst.exchange, str(inst.token))
        return 0 if quote is None else quote.ltp
