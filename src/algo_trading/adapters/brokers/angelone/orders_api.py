"""Our orders in Angel One's terms, and the account's read routes: books, single-order status,
positions, holdings, funds, position conversion and GTT rules (§2.3-§2.15).

Field names stay in `parsing`, except for the GTT and conversion bodies, which `parsing` does
not cover yet (noted for its owner); they are kept together at the bottom of this file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import ROUTES
from algo_trading.adapters.brokers.angelone.errors import MalformedResponseError
from algo_trading.adapters.brokers.angelone.parsing import (
    BrokerFunds,
    BrokerHoldingRow,
    BrokerOrderRow,
    BrokerPositionRow,
    BrokerTradeRow,
    cancel_order_body,
    modify_order_body,
    parse_funds,
    parse_holdings,
    parse_order_ack,
    parse_order_book,
    parse_order_row,
    parse_positions,
    parse_trades,
    place_order_body,
    rupees_str,
)
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import OrderSnapshot, OrderType
from algo_trading.engine.reconciliation import BrokerOrder, BrokerTrade

__all__ = [
    "AngelOneAccount",
    "cancel_body",
    "modify_body",
    "order_rows",
    "place_body",
    "place_ids",
    "reconciliation_books",
    "trade_rows",
]


def place_body(order: OrderSnapshot, inst: Instrument, tag: str, variety: str) -> dict[str, str]:
    """The placeOrder body of an engine order, tagged (§2.3)."""
    return place_order_body(
        variety=variety,
        symbol=inst.symbol,
        token=str(inst.token),
        exchange=inst.exchange.value,
        side=order.side.value,
        order_type=order.order_type.value,
        product=order.product.value,
        duration=order.validity.value,
        quantity=order.quantity,
        price_paise=order.price_paise or 0,
        trigger_price_paise=order.trigger_price_paise or 0,
        tag=tag,
    )


def modify_body(
    order: OrderSnapshot,
    inst: Instrument,
    broker_order_id: str,
    variety: str,
    *,
    quantity: int | None,
    price_paise: int | None,
    trigger_price_paise: int | None,
    order_type: OrderType | None,
) -> dict[str, str]:
    """The whole new order for modifyOrder (§2.4): unchanged fields repeat the original."""
    return modify_order_body(
        variety=variety,
        order_id=broker_order_id,
        symbol=inst.symbol,
        token=str(inst.token),
        exchange=inst.exchange.value,
        order_type=(order_type or order.order_type).value,
        product=order.product.value,
        duration=order.validity.value,
        quantity=quantity if quantity is not None else order.quantity,
        price_paise=price_paise if price_paise is not None else order.price_paise or 0,
        trigger_price_paise=(
            trigger_price_paise
            if trigger_price_paise is not None
            else order.trigger_price_paise or 0
        ),
    )


def cancel_body(variety: str, broker_order_id: str) -> dict[str, str]:
    return cancel_order_body(variety, broker_order_id)


def place_ids(route: str, data: object) -> tuple[str, str]:
    ack = parse_order_ack(route, data)
    return ack.order_id, ack.unique_order_id


def order_rows(route: str, data: object) -> list[BrokerOrderRow]:
    return parse_order_book(route, data)


def trade_rows(route: str, data: object) -> list[BrokerTradeRow]:
    return parse_trades(route, data)


def reconciliation_books(
    rows: Sequence[BrokerOrderRow], fills: Sequence[BrokerTradeRow], now_ns: int
) -> tuple[list[BrokerOrder], list[BrokerTrade]]:
    """The order book and the trade book in reconciliation's terms, each fill with its order's
    tag. A fill's time is `now_ns` (the trade book gives only a time of day); reconciliation
    orders fills by it, ties as listed."""
    tags = {r.order_id: r.tag for r in rows}
    orders = [
        BrokerOrder(r.tag, r.order_id, r.status, r.quantity, r.filled_quantity, r.text)
        for r in rows
    ]
    trades = [
        BrokerTrade(
            f.fill_id,
            tags.get(f.order_id, ""),
            f.order_id,
            f.fill_quantity,
            f.fill_price_paise,
            now_ns,
        )
        for f in fills
    ]
    return orders, trades


class AngelOneAccount:
    """The account's read routes and the non-order writes, each a typed result or error."""

    def __init__(self, session: AngelOneSession) -> None:
        self.session = session

    def _call(self, name: str, body: Mapping[str, Any] | None = None, suffix: str = "") -> Any:
        return self.session.call(name, body, path_suffix=suffix)

    def order_book(self) -> list[BrokerOrderRow]:
        return order_rows(ROUTES["order_book"].path, self._call("order_book"))

    def trade_book(self) -> list[BrokerTradeRow]:
        return trade_rows(ROUTES["trade_book"].path, self._call("trade_book"))

    def order_status(self, unique_order_id: str) -> BrokerOrderRow:
        """One order by its `uniqueorderid` (not `orderid`, §2.7)."""
        route = ROUTES["order_details"]
        return parse_order_row(route.path, self._call(route.name, suffix=unique_order_id))

    def positions(self) -> list[BrokerPositionRow]:
        return parse_positions(ROUTES["positions"].path, self._call("positions"))

    def holdings(self) -> list[BrokerHoldingRow]:
        return parse_holdings(ROUTES["holdings"].path, self._call("holdings"))

    def funds(self) -> BrokerFunds:
        return parse_funds(ROUTES["funds"].path, self._call("funds"))

    def convert_position(
        self,
        *,
        exchange: str,
        symbol: str,
        token: str,
        side: str,
        quantity: int,
        old_product: str,
        new_product: str,
    ) -> None:
        """Move a day position between products (§2.11); success has `data: null`."""
        self._call(
            "convert",
            {
                "exchange": exchange,
                "symboltoken": token,
                "tradingsymbol": symbol,
                "transactiontype": side,
                "quantity": quantity,
                "oldproducttype": old_product,
                "newproducttype": new_product,
                "type": "DAY",
            },
        )

    # --- GTT (§2.15): NSE and BSE, DELIVERY and MARGIN only --------------------------------
    def gtt_create(
        self,
        inst: Instrument,
        *,
        side: str,
        product: str,
        price_paise: int,
        trigger_price_paise: int,
        quantity: int,
        time_period_days: int = 365,
    ) -> str:
        body = {
            "tradingsymbol": inst.symbol,
            "symboltoken": str(inst.token),
            "exchange": inst.exchange.value,
            "transactiontype": side,
            "producttype": product,
            "price": rupees_str(price_paise),
            "qty": str(quantity),
            "triggerprice": rupees_str(trigger_price_paise),
            "disclosedqty": "0",
            "timeperiod": str(time_period_days),
        }
        return _rule_id(ROUTES["gtt_create"].path, self._call("gtt_create", body))

    def gtt_modify(
        self,
        rule_id: str,
        inst: Instrument,
        *,
        price_paise: int,
        trigger_price_paise: int,
        quantity: int,
    ) -> str:
        body = {
            "id": rule_id,
            "symboltoken": str(inst.token),
            "exchange": inst.exchange.value,
            "price": rupees_str(price_paise),
            "qty": str(quantity),
            "triggerprice": rupees_str(trigger_price_paise),
            "disclosedqty": "0",
        }
        return _rule_id(ROUTES["gtt_modify"].path, self._call("gtt_modify", body))

    def gtt_cancel(self, rule_id: str, inst: Instrument) -> str:
        body = {"id": rule_id, "symboltoken": str(inst.token), "exchange": inst.exchange.value}
        return _rule_id(ROUTES["gtt_cancel"].path, self._call("gtt_cancel", body))

    def gtt_list(
        self, statuses: Sequence[str] = ("NEW", "ACTIVE"), page: int = 1, count: int = 50
    ) -> list[Mapping[str, Any]]:
        """Rule objects as sent (§2.15: the sample shows an object, real answers an array)."""
        route = ROUTES["gtt_list"]
        data = self._call(route.name, {"status": list(statuses), "page": page, "count": count})
        if data is None:
            return []
        rows = data if isinstance(data, list) else [data]
        if not all(isinstance(r, dict) for r in rows):
            raise MalformedResponseError(route.path, "data", "rule list holds a non-object")
        return rows


def _rule_id(route: str, data: object) -> str:
    if not isinstance(data, dict) or "id" not in data:
        raise MalformedResponseError(route, "data.id", "is missing")
    return str(data["id"])
