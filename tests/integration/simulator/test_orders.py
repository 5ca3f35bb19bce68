"""Order lifecycle over real HTTP: matching through the shared BarMatcher, partial fills, stops,
modify and cancel, every rejection reason, AMO, books, positions and funds (spec §2.3-§2.13)."""

from __future__ import annotations

from algo_trading.simulator import running_simulator
from tests.integration.simulator.conftest import Api, FakeClock, ist, make_config

PRICE_TYPES = ("price", "triggerprice", "averageprice", "strikeprice", "squareoff", "stoploss")
QTY_TYPES = ("quantity", "filledshares", "unfilledshares", "lotsize", "cancelsize")


def test_empty_books_answer_data_null(api: Api) -> None:
    for path in ("/order/v1/getOrderBook", "/order/v1/getTradeBook", "/order/v1/getPosition"):
        reply = api.get(path)
        assert reply["status"] is True, path
        assert reply["data"] is None, path


def test_market_order_fills_on_the_next_trade_and_books_carry_angels_wire_types(api: Api) -> None:
    placed = api.place(quantity="10")["data"]
    assert placed["script"] == "SBIN-EQ"
    assert len(placed["orderid"]) == 15
    assert api.order(placed["orderid"])["status"] == "open"
    ltp = api.ltp_paise("SBIN-EQ")
    api.server.force_trade("SBIN-EQ", ltp + 10, 500)
    row = api.order(placed["orderid"])
    assert row["status"] == row["orderstatus"] == "complete"
    assert all(isinstance(row[k], float) for k in PRICE_TYPES)
    assert all(isinstance(row[k], str) for k in QTY_TYPES)
    assert (row["filledshares"], row["unfilledshares"], row["averageprice"]) == (
        "10",
        "0",
        (ltp + 10) / 100,
    )
    trades = api.get("/order/v1/getTradeBook")["data"]
    assert [(t["orderid"], t["fillsize"], t["fillprice"]) for t in trades] == [
        (placed["orderid"], "10", (ltp + 10) / 100)
    ]
    position = api.get("/order/v1/getPosition")["data"][0]
    assert (position["netqty"], position["buyqty"], position["producttype"]) == (
        "10",
        "10",
        "INTRADAY",
    )
    details = api.get(f"/order/v1/details/{placed['uniqueorderid']}")["data"]
    assert details["orderid"] == placed["orderid"]


def test_details_by_orderid_instead_of_uniqueorderid_is_order_not_found(api: Api) -> None:
    placed = api.place()["data"]
    reply = api.get(f"/order/v1/details/{placed['orderid']}")
    assert (reply["status"], reply["errorcode"], reply["data"]) == (False, "AB1007", None)


def test_a_limit_order_fills_partly_by_traded_volume_and_stays_open(api: Api) -> None:
    ltp = api.ltp_paise("SBIN-EQ")
    placed = api.place(ordertype="LIMIT", price=str((ltp - 100) / 100), quantity="100")["data"]
    api.server.force_trade("SBIN-EQ", ltp - 100, 30)
    row = api.order(placed["orderid"])
    assert (row["status"], row["filledshares"], row["unfilledshares"]) == ("open", "30", "70")
    api.server.force_trade("SBIN-EQ", ltp - 200, 500)
    row = api.order(placed["orderid"])
    assert (row["status"], row["filledshares"]) == ("complete", "100")
    # A trade below a buy limit fills at the trade (BarMatcher's gap rule): 30 @ -1.00, 70 @ -2.00.
    assert row["averageprice"] == (ltp - 170) / 100


def test_stop_loss_waits_in_trigger_pending_until_the_trigger_trades(api: Api) -> None:
    ltp = api.ltp_paise("SBIN-EQ")
    placed = api.place(
        variety="STOPLOSS", ordertype="STOPLOSS_MARKET", triggerprice=str((ltp + 200) / 100)
    )["data"]
    assert api.order(placed["orderid"])["status"] == "trigger pending"
    api.server.force_trade("SBIN-EQ", ltp + 100, 500)
    assert api.order(placed["orderid"])["status"] == "trigger pending"
    api.server.force_trade("SBIN-EQ", ltp + 200, 500)
    assert api.order(placed["orderid"])["status"] == "complete"


def test_modify_moves_a_resting_limit_and_cancel_ends_it(api: Api) -> None:
    ltp = api.ltp_paise("SBIN-EQ")
    placed = api.place(ordertype="LIMIT", price=str((ltp - 500) / 100))["data"]
    body = {
        "variety": "NORMAL",
        "orderid": placed["orderid"],
        "ordertype": "LIMIT",
        "producttype": "INTRADAY",
        "duration": "DAY",
        "price": str((ltp - 300) / 100),
        "quantity": "20",
        "tradingsymbol": "SBIN-EQ",
        "symboltoken": "3045",
        "exchange": "NSE",
    }
    modified = api.post("/order/v1/modifyOrder", body)
    assert modified["data"] == {
        "orderid": placed["orderid"],
        "uniqueorderid": placed["uniqueorderid"],
    }
    row = api.order(placed["orderid"])
    assert (row["price"], row["quantity"]) == ((ltp - 300) / 100, "20")
    cancelled = api.post(
        "/order/v1/cancelOrder", {"variety": "NORMAL", "orderid": placed["orderid"]}
    )
    assert cancelled["status"] is True
    assert api.order(placed["orderid"])["status"] == "cancelled"
    again = api.post("/order/v1/cancelOrder", {"variety": "NORMAL", "orderid": placed["orderid"]})
    assert again["status"] is False


def _rejection(api: Api, **fields: str) -> str:
    placed = api.place(**fields)
    assert placed["status"] is True, placed  # Angel books the order, then rejects it
    row = api.order(placed["data"]["orderid"])
    assert row["status"] == "rejected"
    return str(row["text"])


def test_each_exchange_rejection_books_a_rejected_order_with_its_reason(api: Api) -> None:
    ltp = api.ltp_paise("SBIN-EQ")
    off_tick = _rejection(api, ordertype="LIMIT", price=str((ltp + 3) / 100))
    band = _rejection(api, ordertype="LIMIT", price=str(ltp * 2 // 1000 * 10 / 100))
    lot = _rejection(
        api, tradingsymbol="NIFTY30MAR26FUT", symboltoken="35001", exchange="NFO", quantity="1",
        producttype="CARRYFORWARD",
    )  # fmt: skip
    funds = _rejection(api, producttype="DELIVERY", quantity="100000")
    index = _rejection(api, tradingsymbol="Nifty 50", symboltoken="99926000")
    assert "tick size" in off_tick
    assert "Limit Price Protection" in band
    assert "lot size" in lot
    assert funds.startswith("Your order has been rejected due to Insufficient Funds")
    assert "index" in index


def test_request_errors_answer_status_false_without_booking(api: Api) -> None:
    assert api.place(variety="BRACKET")["errorcode"] == "AB1008"
    assert api.place(symboltoken="1")["errorcode"] == "AB1009"
    assert api.place(ordertag="x" * 20)["errorcode"] == "AB4008"
    assert api.place(producttype="CNC")["errorcode"] == "AB1012"
    assert api.get("/order/v1/getOrderBook")["data"] is None


def test_funds_fall_by_the_margin_of_a_position_and_a_reversal_books_the_pnl(api: Api) -> None:
    start = api.get("/user/v1/getRMS")["data"]
    assert all(isinstance(v, str) for v in start.values())
    ltp = api.ltp_paise("SBIN-EQ")
    api.place(quantity="10")
    api.server.force_trade("SBIN-EQ", ltp, 100)
    after_buy = api.get("/user/v1/getRMS")["data"]
    api.place(quantity="10", transactiontype="SELL")
    api.server.force_trade("SBIN-EQ", ltp + 100, 100)
    flat = api.get("/user/v1/getRMS")["data"]
    assert float(after_buy["availablecash"]) < float(start["availablecash"])
    assert flat["m2mrealized"] == "10.00"  # 10 shares × ₹1.00
    position = api.get("/order/v1/getPosition")["data"][0]
    assert (position["netqty"], position["pnl"]) == ("0", "10.00")


def test_orders_out_of_hours_become_amos_and_reach_the_exchange_at_the_open() -> None:
    clock = FakeClock(ist(2026, 3, 2, 18, 0))
    with running_simulator(make_config(clock, always_open=False)) as server:
        api = Api(server, clock)
        api.login()
        placed = api.place()["data"]
        assert api.order(placed["orderid"])["status"] == "after market order req received"
        server.advance(1)
        assert api.order(placed["orderid"])["status"] == "after market order req received"
        clock.set(ist(2026, 3, 4, 9, 20))  # 3 March 2026 is a holiday (Holi)
        api.login()
        server.advance(1)
        assert api.order(placed["orderid"])["status"] == "complete"


def test_orders_in_the_minutes_before_the_open_are_rejected_as_market_closed() -> None:
    clock = FakeClock(ist(2026, 3, 2, 9, 5))
    with running_simulator(make_config(clock, always_open=False)) as server:
        api = Api(server, clock)
        api.login()
        assert "Market is closed" in _rejection(api)


def test_amos_are_rejected_when_the_simulator_does_not_accept_them() -> None:
    clock = FakeClock(ist(2026, 3, 2, 20, 0))
    with running_simulator(make_config(clock, always_open=False, accept_amo=False)) as server:
        api = Api(server, clock)
        api.login()
        assert "Market is closed" in _rejection(api)
