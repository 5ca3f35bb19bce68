"""Envelope shapes, exact rupee<->paise conversion, request bodies and error typing."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algo_trading.adapters.brokers.angelone.errors import (
    BrokerRejectedError,
    BrokerUnavailableError,
    LoginError,
    MalformedResponseError,
    RateLimitedError,
    SessionExpiredError,
    error_for_code,
)
from algo_trading.adapters.brokers.angelone.parsing import (
    STATUS_MAP,
    cancel_order_body,
    candle_body,
    login_body,
    modify_order_body,
    parse_envelope,
    parse_ltp,
    parse_order_row,
    place_order_body,
    rupees_str,
)
from algo_trading.domain.errors import OrderError
from algo_trading.domain.events import IST
from algo_trading.domain.orders import OrderStatus

R = "/rest/secure/angelbroking/order/v1/getLtpData"
LOGIN = "/rest/auth/angelbroking/user/v1/loginByPassword"
PAISE = st.integers(min_value=0, max_value=10**14)


def _ltp_body(price_text: str) -> bytes:
    data = '{"exchange":"NSE","tradingsymbol":"X","symboltoken":"1","ltp":' + price_text + "}"
    return ('{"status":true,"message":"SUCCESS","errorcode":"","data":' + data + "}").encode()


@given(PAISE)
def test_a_price_sent_as_a_json_float_by_any_server_arrives_as_the_same_paise(p: int) -> None:
    # A server that holds rupees as floats writes repr(float); below 10**15 paise that text is
    # the exact decimal, and reading it through Decimal never meets binary rounding.
    body = _ltp_body(json.dumps(p / 100))
    assert parse_ltp(R, parse_envelope(R, 200, body)).ltp_paise == p


@given(PAISE)
def test_rupee_strings_have_two_decimals_and_read_back_exactly(p: int) -> None:
    text = rupees_str(p)
    assert text.split(".")[1].__len__() == 2
    assert parse_ltp(R, parse_envelope(R, 200, _ltp_body(f'"{text}"'))).ltp_paise == p


def test_495_05_is_49505_paise_and_not_a_float_rounding_of_it() -> None:
    assert parse_ltp(R, parse_envelope(R, 200, _ltp_body("495.05"))).ltp_paise == 49505
    assert rupees_str(49505) == "495.05"
    assert rupees_str(5) == "0.05"
    assert rupees_str(0) == "0.00"


@pytest.mark.parametrize("price", ["495.055", '"495.001"', "true", '"abc"', "null", "[1]"])
def test_a_price_that_is_not_whole_paise_or_not_a_number_names_the_field(price: str) -> None:
    with pytest.raises(MalformedResponseError) as caught:
        parse_ltp(R, parse_envelope(R, 200, _ltp_body(price)))
    assert caught.value.field == "ltp"
    assert R in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            200,
            b'{"status":false,"message":"Something","errorcode":"AB2001","data":null}',
            BrokerUnavailableError,
            "AB2001",
        ),
        (
            503,
            b'{"status":false,"message":"down","errorcode":"","data":null}',
            BrokerUnavailableError,
            "HTTP 503",
        ),
        (500, b'{"oops":1}', BrokerUnavailableError, "HTTP 500"),
        (503, b"Service Unavailable", BrokerUnavailableError, "HTTP 503"),
        (429, b"Too Many Requests", RateLimitedError, "HTTP 429"),
        (404, b"Not Found", BrokerRejectedError, "HTTP 404"),
        (
            200,
            b'{"success":false,"message":"Token Expired","errorCode":"AG8002","data":""}',
            SessionExpiredError,
            "AG8002",
        ),
        (
            200,
            b'{"status":false,"message":"Invalid Order Variety","errorcode":"AB1008"}',
            BrokerRejectedError,
            "AB1008",
        ),
    ],
)
def test_each_failure_shape_is_typed_by_what_the_caller_should_do(
    status: int, body: bytes, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as caught:
        parse_envelope(R, status, body)
    assert getattr(caught.value, "code", None) == code


@pytest.mark.parametrize(
    ("status", "body", "field"),
    [
        (200, b"[1, 2]", "body"),
        (200, b'{"message":"SUCCESS","data":{}}', "status"),
        (200, b'{"status":"maybe","data":{}}', "status"),
        (200, b"OK", "body"),
        (200, b'{"status":true,"data":\xff}', "body"),
        (401, b'{"status":true,"message":"SUCCESS","errorcode":"","data":{}}', "status"),
    ],
)
def test_a_body_that_is_no_envelope_is_malformed_and_names_what(
    status: int, body: bytes, field: str
) -> None:
    with pytest.raises(MalformedResponseError) as caught:
        parse_envelope(R, status, body)
    assert caught.value.field == field
    assert caught.value.route == R


def test_an_unknown_order_status_names_the_route_and_the_field() -> None:
    row = {"orderid": "1", "status": "frozen", "quantity": "1", "price": 1}
    with pytest.raises(MalformedResponseError, match=r"getOrderBook: field 'status'.*frozen"):
        parse_order_row("/rest/secure/angelbroking/order/v1/getOrderBook", row)


def test_every_documented_status_has_a_mapping_and_cancellation_is_terminal() -> None:
    documented = {
        "open",
        "complete",
        "rejected",
        "cancelled",
        "trigger pending",
        "open pending",
        "validation pending",
        "put order req received",
        "modify pending",
        "modify validation pending",
        "modified",
        "not modified",
        "cancel pending",
        "not cancelled",
        "after market order req received",
        "modify after market order req received",
        "cancelled after market order",
    }
    assert set(STATUS_MAP) == documented
    assert STATUS_MAP["cancelled after market order"] is OrderStatus.CANCELLED


@pytest.mark.parametrize(
    ("route", "code", "error"),
    [
        (R, "AG8001", SessionExpiredError),
        (R, "AB8050", SessionExpiredError),
        (R, "AB1010", SessionExpiredError),
        (LOGIN, "AB1050", LoginError),
        (LOGIN, "AB7001", LoginError),
        (LOGIN, "AB1007", LoginError),
        (R, "AB1007", BrokerRejectedError),  # "Order not found" away from login
        (R, "AB1004", BrokerUnavailableError),
        (R, "AB2000", BrokerUnavailableError),
        (R, "AG7002", BrokerRejectedError),
        (R, "AB9999", BrokerRejectedError),  # an unknown code is a refusal, never a retry
    ],
)
def test_angel_codes_map_to_what_the_caller_should_do(
    route: str, code: str, error: type[Exception]
) -> None:
    e = error_for_code(route, code, "text")
    assert type(e) is error
    assert e.code == code
    assert e.route == route
    assert code in str(e)
    assert repr(e) == f"{error.__name__}(code={code!r}, route={route!r})"


def test_a_limit_order_body_is_all_strings_with_rupees_to_two_decimals() -> None:
    body = place_order_body(
        variety="NORMAL",
        symbol="SBIN-EQ",
        token="3045",  # noqa: S106 - an instrument token, not a secret
        exchange="NSE",
        side="BUY",
        order_type="LIMIT",
        product="INTRADAY",
        duration="DAY",
        quantity=150,
        price_paise=49505,
        tag="ATc0ffee01",
    )
    assert body == {
        "variety": "NORMAL",
        "tradingsymbol": "SBIN-EQ",
        "symboltoken": "3045",
        "transactiontype": "BUY",
        "exchange": "NSE",
        "producttype": "INTRADAY",
        "duration": "DAY",
        "ordertype": "LIMIT",
        "quantity": "150",
        "price": "495.05",
        "ordertag": "ATc0ffee01",
    }


def test_a_stop_order_carries_its_trigger_and_a_market_order_a_zero_price() -> None:
    common: dict[str, Any] = {
        "variety": "STOPLOSS",
        "symbol": "S",
        "token": "1",  # an instrument token
        "exchange": "NSE",
        "side": "SELL",
        "product": "INTRADAY",
        "duration": "DAY",
        "quantity": 1,
    }
    stop = place_order_body(
        **common, order_type="STOPLOSS_LIMIT", price_paise=48000, trigger_price_paise=48150
    )
    assert (stop["price"], stop["triggerprice"]) == ("480.00", "481.50")
    market = place_order_body(**common, order_type="MARKET", price_paise=48000)
    assert market["price"] == "0.00"
    assert "triggerprice" not in market


@pytest.mark.parametrize(
    ("quantity", "price", "tag"), [(0, 100, ""), (1, -5, ""), (1, 100, "x" * 20)]
)
def test_an_order_body_that_angel_must_refuse_is_not_built(
    quantity: int, price: int, tag: str
) -> None:
    with pytest.raises(OrderError):
        place_order_body(
            variety="NORMAL",
            symbol="S",
            token="1",  # noqa: S106 - an instrument token, not a secret
            exchange="NSE",
            side="BUY",
            order_type="LIMIT",
            product="INTRADAY",
            duration="DAY",
            quantity=quantity,
            price_paise=price,
            tag=tag,
        )


def test_modify_and_cancel_bodies_name_the_order() -> None:
    body = modify_order_body(
        variety="NORMAL",
        order_id="250913000000101",
        symbol="S",
        token="1",  # noqa: S106 - an instrument token, not a secret
        exchange="NSE",
        order_type="LIMIT",
        product="INTRADAY",
        duration="DAY",
        quantity=2,
        price_paise=10005,
    )
    assert (body["orderid"], body["price"], body["quantity"]) == ("250913000000101", "100.05", "2")
    assert cancel_order_body("NORMAL", "9") == {"variety": "NORMAL", "orderid": "9"}
    assert login_body("A1", "1234", "654321") == {
        "clientcode": "A1",
        "password": "1234",
        "totp": "654321",
    }


def test_a_candle_request_is_written_in_ist_whatever_the_zone_given() -> None:
    start = dt.datetime(2023, 9, 6, 3, 45, tzinfo=dt.UTC)  # 09:15 IST
    end = dt.datetime(2023, 9, 6, 15, 30, tzinfo=IST)
    assert candle_body("NSE", "3045", "ONE_MINUTE", start, end) == {
        "exchange": "NSE",
        "symboltoken": "3045",
        "interval": "ONE_MINUTE",
        "fromdate": "2023-09-06 09:15",
        "todate": "2023-09-06 15:30",
    }


@pytest.mark.parametrize(
    ("interval", "days", "match"),
    [
        ("ONE_MINUTE", 31, "at most 30 days"),
        ("ONE_DAY", -1, "before it starts"),
        ("TWO_MINUTE", 1, "not one of"),
    ],
)
def test_a_candle_request_beyond_the_interval_span_must_be_split_first(
    interval: str, days: int, match: str
) -> None:
    start = dt.datetime(2024, 1, 1, 9, 15, tzinfo=IST)
    with pytest.raises(ValueError, match=match):
        candle_body("NSE", "1", interval, start, start + dt.timedelta(days=days))


def test_a_naive_datetime_is_refused_for_candles() -> None:
    naive = dt.datetime(2024, 1, 1, 9, 15)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        candle_body("NSE", "1", "ONE_DAY", naive, naive)


def test_decimal_amounts_finer_than_a_paisa_round_half_away_from_zero() -> None:
    row = {
        "orderid": "1",
        "status": "complete",
        "quantity": "3",
        "filledshares": "3",
        "price": Decimal("0"),
        "averageprice": Decimal("100.005"),
        "tradingsymbol": "S",
        "exchange": "NSE",
        "transactiontype": "BUY",
        "ordertype": "MARKET",
        "producttype": "INTRADAY",
        "variety": "NORMAL",
        "duration": "DAY",
    }
    assert parse_order_row(R, row).average_price_paise == 10001
