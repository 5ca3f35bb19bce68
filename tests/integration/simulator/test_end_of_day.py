"""The simulated broker's day over real HTTP: Angel One's intraday auto square-off at the cut-off
(indian-market.md §2.7), the reset into the next session (books, holdings, carry-forward, funds),
GTT rules that fire (spec §2.15) and the checks on `force_trade`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from algo_trading.domain.errors import InvalidInputError
from algo_trading.domain.instruments import InstrumentType
from algo_trading.simulator import SimulatorServer, running_simulator
from algo_trading.simulator.exchange import (
    INTRADAY_CLOSED_TEXT,
    SQUAREOFF_CANCEL_TEXT,
    SQUAREOFF_TEXT,
)
from tests.integration.simulator.conftest import Api, FakeClock, ist, make_config
from tests.integration.simulator.test_feed import DEADLINE_S, run

MONDAY = (2026, 3, 2)  # a regular NSE day; Tuesday 3 March 2026 is a holiday (Holi)
WEDNESDAY = (2026, 3, 4)  # the next trading day


@pytest.fixture
def day_clock() -> FakeClock:
    return FakeClock(ist(*MONDAY, 15, 0))


@pytest.fixture
def day_sim(day_clock: FakeClock) -> Iterator[SimulatorServer]:
    """A simulator that keeps real session times (no --always-open)."""
    with running_simulator(make_config(day_clock, always_open=False)) as server:
        yield server


@pytest.fixture
def day_api(day_sim: SimulatorServer, day_clock: FakeClock) -> Api:
    client = Api(day_sim, day_clock)
    client.login()
    return client


def _future(api: Api) -> tuple[str, str, int]:
    """(symbol, token, lot size) of the nearest index future in the simulator's master."""
    inst = api.server.call(
        lambda s: next(i for i in s.master if i.instrument_type is InstrumentType.FUTURE)
    )
    return inst.symbol, str(inst.token), inst.lot_size


def _filled_buy(api: Api, symbol: str, token: str, exchange: str, qty: int, product: str) -> int:
    """Buy at market and trade the market through it; returns the fill price (paise)."""
    placed = api.place(
        tradingsymbol=symbol,
        symboltoken=token,
        exchange=exchange,
        quantity=str(qty),
        producttype=product,
    )["data"]
    price = api.ltp_paise(symbol)
    api.server.force_trade(symbol, price, qty * 10)
    assert api.order(placed["orderid"])["status"] == "complete"
    return price


def _rows(api: Api, path: str) -> list[dict[str, Any]]:
    reply = api.get(path)
    assert reply["status"] is True, reply
    return list(reply["data"] or [])


# --- intraday square-off -------------------------------------------------------------------------


def test_cash_cutoff_cancels_working_intraday_orders_and_closes_positions_at_market(
    day_api: Api, day_clock: FakeClock
) -> None:
    async def body(session: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {day_api.jwt}"}
        async with session.ws_connect(day_api.server.order_ws_url, headers=headers) as ws:
            await ws.receive(timeout=DEADLINE_S)  # AB00
            _filled_buy(day_api, "SBIN-EQ", "3045", "NSE", 10, "INTRADAY")
            ltp = day_api.ltp_paise("SBIN-EQ")
            resting = day_api.place(ordertype="LIMIT", price=str((ltp - 500) / 100))["data"]
            delivery = day_api.place(
                ordertype="LIMIT", price=str((ltp - 500) / 100), producttype="DELIVERY"
            )["data"]
            for _ in range(7):  # AB09 AB01 AB05 of the fill, AB09 AB01 of each limit order
                await ws.receive(timeout=DEADLINE_S)

            day_clock.set(ist(*MONDAY, 15, 14))
            assert day_api.order(resting["orderid"])["status"] == "open"
            day_clock.set(ist(*MONDAY, 15, 15))
            book = _rows(day_api, "/order/v1/getOrderBook")

            cancelled = next(r for r in book if r["orderid"] == resting["orderid"])
            assert (cancelled["status"], cancelled["text"]) == ("cancelled", SQUAREOFF_CANCEL_TEXT)
            assert day_api.order(delivery["orderid"])["status"] == "open"
            closing = [r for r in book if r["text"] == SQUAREOFF_TEXT]
            assert [
                (r["transactiontype"], r["ordertype"], r["filledshares"], r["status"])
                for r in closing
            ] == [("SELL", "MARKET", "10", "complete")]
            assert closing[0]["averageprice"] == ltp / 100
            trades = _rows(day_api, "/order/v1/getTradeBook")
            assert [t["transactiontype"] for t in trades] == ["BUY", "SELL"]
            position = _rows(day_api, "/order/v1/getPosition")[0]
            assert (position["netqty"], position["sellqty"]) == ("0", "10")

            frames = [json.loads((await ws.receive(timeout=DEADLINE_S)).data) for _ in range(3)]
            assert [(f["order-status"], f["orderData"]["orderid"]) for f in frames] == [
                ("AB02", resting["orderid"]),
                ("AB01", closing[0]["orderid"]),
                ("AB05", closing[0]["orderid"]),
            ]

    run(body)


def test_after_the_cutoff_a_new_intraday_order_is_rejected_but_delivery_is_taken(
    day_api: Api, day_clock: FakeClock
) -> None:
    day_clock.set(ist(*MONDAY, 15, 16))
    intraday = day_api.place()["data"]
    row = day_api.order(intraday["orderid"])
    assert (row["status"], row["text"]) == ("rejected", INTRADAY_CLOSED_TEXT)
    delivery = day_api.place(producttype="DELIVERY")["data"]
    assert day_api.order(delivery["orderid"])["status"] == "open"


def test_fno_intraday_positions_are_closed_at_1520_not_at_the_cash_cutoff(
    day_api: Api, day_clock: FakeClock
) -> None:
    symbol, token, lot = _future(day_api)
    _filled_buy(day_api, symbol, token, "NFO", lot, "INTRADAY")
    day_clock.set(ist(*MONDAY, 15, 17))
    assert _rows(day_api, "/order/v1/getPosition")[0]["netqty"] == str(lot)
    day_clock.set(ist(*MONDAY, 15, 20))
    assert _rows(day_api, "/order/v1/getPosition")[0]["netqty"] == "0"


def test_a_clock_that_jumps_past_the_cutoff_still_squares_off_once(
    day_api: Api, day_clock: FakeClock
) -> None:
    _filled_buy(day_api, "SBIN-EQ", "3045", "NSE", 10, "INTRADAY")
    day_clock.set(ist(*MONDAY, 15, 25))
    day_api.server.advance(3)
    book = _rows(day_api, "/order/v1/getOrderBook")
    assert sum(r["text"] == SQUAREOFF_TEXT for r in book) == 1


# --- a new session -------------------------------------------------------------------------------


def test_next_session_starts_with_empty_books_holdings_carried_futures_and_settled_funds(
    day_api: Api, day_clock: FakeClock
) -> None:
    start = float(day_api.get("/user/v1/getRMS")["data"]["availablecash"])
    sbin = _filled_buy(day_api, "SBIN-EQ", "3045", "NSE", 10, "DELIVERY")
    symbol, token, lot = _future(day_api)
    future = _filled_buy(day_api, symbol, token, "NFO", lot, "CARRYFORWARD")
    ltp = day_api.ltp_paise("SBIN-EQ")
    day_api.place(ordertype="LIMIT", price=str((ltp - 500) / 100), producttype="DELIVERY")

    day_clock.set(ist(*WEDNESDAY, 9, 0))
    day_api.login()  # Angel's sessions end at midnight (spec §6.2)
    assert day_api.get("/order/v1/getOrderBook")["data"] is None
    assert day_api.get("/order/v1/getTradeBook")["data"] is None

    holdings = _rows(day_api, "/portfolio/v1/getHolding")
    assert [(h["tradingsymbol"], h["quantity"], h["averageprice"]) for h in holdings] == [
        ("SBIN-EQ", 10, sbin / 100)
    ]
    total = day_api.get("/portfolio/v1/getAllHolding")["data"]
    assert total["holdings"] == holdings
    assert total["totalholding"]["totalinvvalue"] == 10 * sbin / 100

    positions = _rows(day_api, "/order/v1/getPosition")
    assert [(p["tradingsymbol"], p["netqty"], p["cfbuyqty"], p["buyqty"]) for p in positions] == [
        (symbol, str(lot), str(lot), "0")
    ]
    assert positions[0]["cfbuyavgprice"] == f"{future / 100:.2f}"

    funds = day_api.get("/user/v1/getRMS")["data"]
    future_margin = lot * future * 15 // 100
    expected = round(start * 100) - 10 * sbin - future_margin
    assert round(float(funds["availablecash"]) * 100) == expected


def test_shares_held_from_earlier_days_can_be_sold_without_margin(
    day_api: Api, day_clock: FakeClock
) -> None:
    _filled_buy(day_api, "SBIN-EQ", "3045", "NSE", 10, "DELIVERY")
    day_clock.set(ist(*WEDNESDAY, 10, 0))
    day_api.login()
    before = day_api.get("/user/v1/getRMS")["data"]["availablecash"]
    sold = day_api.place(transactiontype="SELL", producttype="DELIVERY", quantity="10")["data"]
    assert day_api.order(sold["orderid"])["status"] == "open"
    assert day_api.get("/user/v1/getRMS")["data"]["availablecash"] == before


def test_an_amo_placed_after_the_close_survives_into_the_next_session(
    day_api: Api, day_clock: FakeClock
) -> None:
    day_clock.set(ist(*MONDAY, 18, 0))
    amo = day_api.place(producttype="DELIVERY")["data"]
    day_clock.set(ist(*WEDNESDAY, 9, 0))
    day_api.login()
    rows = _rows(day_api, "/order/v1/getOrderBook")
    assert [(r["orderid"], r["status"]) for r in rows] == [
        (amo["orderid"], "after market order req received")
    ]


# --- GTT -----------------------------------------------------------------------------------------


def _gtt(api: Api, side: str, trigger_paise: int, price_paise: int) -> int:
    reply = api.post(
        "/gtt/v1/createRule",
        {
            "tradingsymbol": "SBIN-EQ",
            "symboltoken": "3045",
            "exchange": "NSE",
            "transactiontype": side,
            "producttype": "DELIVERY",
            "price": str(price_paise / 100),
            "qty": "5",
            "triggerprice": str(trigger_paise / 100),
            "disclosedqty": "0",
        },
    )
    assert reply["status"] is True, reply
    return int(reply["data"]["id"])


def _rule(api: Api, rule_id: int) -> dict[str, Any]:
    return dict(api.post("/gtt/v1/ruleDetails", {"id": rule_id})["data"])


def test_a_gtt_buy_above_the_market_fires_when_the_price_rises_to_its_trigger(api: Api) -> None:
    ltp = api.ltp_paise("SBIN-EQ")
    rule_id = _gtt(api, "BUY", ltp + 100, ltp + 110)
    api.server.force_trade("SBIN-EQ", ltp + 50, 10)
    assert _rule(api, rule_id)["status"] == "NEW"
    assert api.get("/order/v1/getOrderBook")["data"] is None
    api.server.force_trade("SBIN-EQ", ltp + 100, 10)
    assert _rule(api, rule_id)["status"] == "SENTTOEXCHANGE"
    rows = _rows(api, "/order/v1/getOrderBook")
    assert [
        (r["transactiontype"], r["ordertype"], r["producttype"], r["quantity"], r["price"])
        for r in rows
    ] == [("BUY", "LIMIT", "DELIVERY", "5", (ltp + 110) / 100)]
    assert rows[0]["status"] == "open"
    api.server.force_trade("SBIN-EQ", ltp + 100, 10)
    assert len(_rows(api, "/order/v1/getOrderBook")) == 1  # a rule fires once


def test_a_gtt_sell_below_the_market_fires_on_a_fall_and_a_cancelled_rule_never(
    api: Api,
) -> None:
    ltp = api.ltp_paise("SBIN-EQ")
    stop = _gtt(api, "SELL", ltp - 100, ltp - 110)
    cancelled = _gtt(api, "SELL", ltp - 100, ltp - 110)
    api.post("/gtt/v1/cancelRule", {"id": cancelled, "symboltoken": "3045", "exchange": "NSE"})
    api.server.force_trade("SBIN-EQ", ltp - 150, 10)
    assert (_rule(api, stop)["status"], _rule(api, cancelled)["status"]) == (
        "SENTTOEXCHANGE",
        "CANCELLED",
    )
    rows = _rows(api, "/order/v1/getOrderBook")
    assert [(r["transactiontype"], r["price"]) for r in rows] == [("SELL", (ltp - 110) / 100)]


# --- force_trade ---------------------------------------------------------------------------------


@pytest.mark.parametrize("offset_paise", [3, None])
def test_force_trade_refuses_an_off_tick_or_non_positive_price(
    api: Api, offset_paise: int | None
) -> None:
    ltp = api.ltp_paise("SBIN-EQ")
    placed = api.place(ordertype="LIMIT", price=str(ltp / 100))["data"]
    price = 0 if offset_paise is None else ltp + offset_paise
    with pytest.raises(InvalidInputError, match=r"not a positive multiple of the tick size 0\.10"):
        api.server.force_trade("SBIN-EQ", price, 100)
    assert api.ltp_paise("SBIN-EQ") == ltp
    assert api.order(placed["orderid"])["status"] == "open"
