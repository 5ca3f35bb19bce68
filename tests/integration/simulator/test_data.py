"""LTP, quotes, search, candles, GTT, holdings and position conversion (§2.9-§2.15, §3)."""

from __future__ import annotations

from tests.integration.simulator.conftest import Api


def test_ltp_answers_numbers_in_rupees_on_both_prefixes(api: Api) -> None:
    body = {"exchange": "NSE", "tradingsymbol": "SBIN-EQ", "symboltoken": "3045"}
    plain = api.post("/order/v1/getLtpData", body)["data"]
    service = api.request(
        "POST", "/order-service/rest/secure/angelbroking/order/v1/getLtpData", body
    )
    assert plain == service.json["data"]
    assert plain["ltp"] == api.ltp_paise("SBIN-EQ") / 100
    assert all(isinstance(plain[k], float) for k in ("open", "high", "low", "close", "ltp"))


def test_quote_modes_fetch_known_tokens_and_list_unknown_ones(api: Api) -> None:
    body = {"mode": "FULL", "exchangeTokens": {"NSE": ["3045", "1"], "NFO": ["35001"]}}
    data = api.post("/market/v1/quote/", body)["data"]
    assert [f["symbolToken"] for f in data["fetched"]] == ["3045", "35001"]
    assert data["unfetched"] == [
        {
            "exchange": "NSE",
            "symbolToken": "1",
            "message": "Symbol Not Found",
            "errorCode": "AB1009",
        }
    ]
    full = data["fetched"][0]
    assert len(full["depth"]["buy"]) == 5
    assert full["depth"]["buy"][0]["price"] < full["ltp"]
    ltp_only = api.post("/market/v1/quote", {"mode": "LTP", "exchangeTokens": {"NSE": ["3045"]}})
    assert set(ltp_only["data"]["fetched"][0]) == {
        "exchange",
        "tradingSymbol",
        "symbolToken",
        "ltp",
    }


def test_search_scrip_matches_substrings_within_an_exchange(api: Api) -> None:
    data = api.post("/order/v1/searchScrip", {"exchange": "NSE", "searchscrip": "SBI"})["data"]
    assert {"exchange": "NSE", "tradingsymbol": "SBIN-EQ", "symboltoken": "3045"} in data
    assert (
        api.post("/order/v1/searchScrip", {"exchange": "NSE", "searchscrip": "ZZZZ"})["data"] == []
    )


def _candles(api: Api, interval: str, start: str, end: str) -> dict[str, object]:
    body = {
        "exchange": "NSE",
        "symboltoken": "3045",
        "interval": interval,
        "fromdate": start,
        "todate": end,
    }
    return dict(api.post("/historical/v1/getCandleData", body))


def test_candles_of_longer_intervals_aggregate_the_minute_candles(api: Api) -> None:
    minutes = _candles(api, "ONE_MINUTE", "2026-02-27 09:15", "2026-02-27 09:19")["data"]
    five = _candles(api, "FIVE_MINUTE", "2026-02-27 09:15", "2026-02-27 09:15")["data"]
    assert isinstance(minutes, list)
    assert isinstance(five, list)
    assert len(minutes) == 5
    assert five == [
        [
            "2026-02-27T09:15:00+05:30",
            minutes[0][1],
            max(m[2] for m in minutes),
            min(m[3] for m in minutes),
            minutes[-1][4],
            sum(m[5] for m in minutes),
        ]
    ]
    days = _candles(api, "ONE_DAY", "2026-02-23 00:00", "2026-03-02 23:59")["data"]
    assert isinstance(days, list)
    # Mon 23 Feb to Fri 27 Feb; today's (2 March) session has not closed at 10:00.
    assert [d[0][:10] for d in days] == [f"2026-02-{d}" for d in (23, 24, 25, 26, 27)]


def test_candles_refuse_a_span_over_the_interval_limit(api: Api) -> None:
    reply = _candles(api, "ONE_MINUTE", "2026-01-01 09:15", "2026-02-27 15:30")
    assert (reply["status"], reply["errorcode"]) == (False, "AB1004")


def test_gtt_rules_are_created_listed_modified_and_cancelled_on_both_prefixes(api: Api) -> None:
    rule = {
        "tradingsymbol": "SBIN-EQ",
        "symboltoken": "3045",
        "exchange": "NSE",
        "transactiontype": "BUY",
        "producttype": "DELIVERY",
        "price": "100",
        "qty": "5",
        "triggerprice": "101",
        "disclosedqty": "0",
    }
    created = api.request(
        "POST", "/gtt-service/rest/secure/angelbroking/gtt/v1/createRule", rule
    ).json["data"]
    rule_id = created["id"]
    api.post("/gtt/v1/modifyRule", {**rule, "id": rule_id, "price": "99.5"})
    details = api.post("/gtt/v1/ruleDetails", {"id": rule_id})["data"]
    assert (details["price"], details["qty"], details["status"]) == (99.5, 5, "NEW")
    api.post("/gtt/v1/cancelRule", {"id": rule_id, "symboltoken": "3045", "exchange": "NSE"})
    listed = api.post("/gtt/v1/ruleList", {"status": ["CANCELLED"], "page": 1, "count": 10})
    assert [r["id"] for r in listed["data"]] == [rule_id]
    bad = api.post("/gtt/v1/createRule", {**rule, "producttype": "INTRADAY"})
    assert bad["errorcode"] == "AB9015"


def test_holdings_of_a_fresh_account_are_empty_in_angels_shapes(api: Api) -> None:
    assert api.get("/portfolio/v1/getHolding")["data"] is None
    all_holding = api.get("/portfolio/v1/getAllHolding")["data"]
    assert all_holding["holdings"] is None
    assert all_holding["totalholding"]["totalholdingvalue"] == 0


def test_convert_position_moves_quantity_between_products(api: Api) -> None:
    api.place(quantity="10")
    api.server.force_trade("SBIN-EQ", api.ltp_paise("SBIN-EQ"), 100)
    body = {
        "exchange": "NSE",
        "symboltoken": "3045",
        "tradingsymbol": "SBIN-EQ",
        "oldproducttype": "INTRADAY",
        "newproducttype": "DELIVERY",
        "transactiontype": "BUY",
        "quantity": 4,
        "type": "DAY",
    }
    assert api.post("/order/v1/convertPosition", body)["data"] is None
    rows = {r["producttype"]: r["netqty"] for r in api.get("/order/v1/getPosition")["data"]}
    assert rows == {"INTRADAY": "6", "DELIVERY": "4"}
    too_many = api.post("/order/v1/convertPosition", {**body, "quantity": 40})
    assert too_many["errorcode"] == "AB1017"
