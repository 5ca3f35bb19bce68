"""Every recorded-style payload in tests/support/angelone_payloads parses as its index says.

The payloads are written from the spec's field tables and wire types (prices as JSON numbers
in order rows, quantities as strings, `data: null` for empty books, the gateway's
success/errorCode shape, the 403 plain text, a WAF page); see their index.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone import errors
from algo_trading.adapters.brokers.angelone.packets import DepthLevel
from algo_trading.adapters.brokers.angelone.parsing import (
    BrokerOrderAck,
    BrokerOrderRow,
    parse_candles,
    parse_envelope,
    parse_funds,
    parse_holdings,
    parse_ltp,
    parse_order_ack,
    parse_order_book,
    parse_order_row,
    parse_positions,
    parse_quote,
    parse_trades,
)
from algo_trading.domain.orders import OrderStatus

PAYLOADS = Path(__file__).parents[3] / "support" / "angelone_payloads"
INDEX: dict[str, dict[str, Any]] = json.loads((PAYLOADS / "index.json").read_text())["payloads"]
OB = "/rest/secure/angelbroking/order/v1/getOrderBook"

PARSERS: dict[str, Callable[[str, object], object]] = {
    "login": lambda route, data: data,
    "order_book": parse_order_book,
    "order_row": parse_order_row,
    "order_ack": parse_order_ack,
    "trades": parse_trades,
    "positions": parse_positions,
    "holdings": parse_holdings,
    "funds": parse_funds,
    "ltp": parse_ltp,
    "quote": lambda route, data: parse_quote(route, data).fetched,
    "candles": parse_candles,
}


def _parse(name: str) -> object:
    entry = INDEX[name]
    route = entry["route"]
    data = parse_envelope(route, entry["http_status"], (PAYLOADS / name).read_bytes())
    parser = entry["expect"].get("parser")
    return data if parser is None else PARSERS[parser](route, data)


def _data(name: str) -> object:
    entry = INDEX[name]
    return parse_envelope(entry["route"], entry["http_status"], (PAYLOADS / name).read_bytes())


def test_every_payload_file_is_in_the_index() -> None:
    on_disk = {p.name for p in PAYLOADS.iterdir()} - {"index.json", "order_update_frame.json"}
    assert on_disk == set(INDEX)


@pytest.mark.parametrize("name", sorted(n for n, e in INDEX.items() if "error" not in e["expect"]))
def test_a_successful_payload_parses_with_its_parser(name: str) -> None:
    result = _parse(name)
    if "count" in INDEX[name]["expect"]:
        assert isinstance(result, (list, tuple))
        assert len(result) == INDEX[name]["expect"]["count"]


@pytest.mark.parametrize("name", sorted(n for n, e in INDEX.items() if "error" in e["expect"]))
def test_a_failing_payload_raises_the_typed_error_with_angels_code(name: str) -> None:
    expect = INDEX[name]["expect"]
    with pytest.raises(errors.AngelOneError) as caught:
        _parse(name)
    assert type(caught.value).__name__ == expect["error"]
    assert caught.value.code == expect["code"]
    assert caught.value.route == INDEX[name]["route"]
    assert INDEX[name]["route"] in str(caught.value)
    if "field" in expect:
        assert isinstance(caught.value, errors.MalformedResponseError)
        assert caught.value.field == expect["field"]


def test_order_book_rows_map_angels_statuses_to_ours() -> None:
    rows = _parse("order_book.json")
    assert isinstance(rows, list)
    assert [(r.raw_status, r.status) for r in rows] == [
        ("complete", OrderStatus.FILLED),
        ("open", OrderStatus.PARTIALLY_FILLED),
        ("rejected", OrderStatus.REJECTED),
        ("trigger pending", OrderStatus.TRIGGER_PENDING),
        ("cancelled", OrderStatus.CANCELLED),
        ("after market order req received", OrderStatus.OPEN),
        ("open pending", OrderStatus.SUBMITTED),
    ]


def test_an_order_row_reads_prices_exactly_from_json_numbers() -> None:
    rows = _parse("order_book.json")
    assert isinstance(rows, list)
    done, partial, _, stop, *_ = rows
    assert done == BrokerOrderRow(
        order_id="250913000000101",
        unique_order_id="05ebf91b-bea4-4a1d-b0f2-4259606570e3",
        tag="ATc0ffee01",
        symbol="SBIN-EQ",
        token="3045",  # noqa: S106 - an instrument token, not a secret
        exchange="NSE",
        side="BUY",
        order_type="LIMIT",
        product="INTRADAY",
        variety="NORMAL",
        duration="DAY",
        quantity=150,
        filled_quantity=150,
        price_paise=49505,
        trigger_price_paise=0,
        average_price_paise=49505,
        status=OrderStatus.FILLED,
        raw_status="complete",
        text="",
        update_time="13-Sep-2025 11:30:51",
    )
    assert (partial.quantity, partial.filled_quantity, partial.price_paise) == (1000, 74, 11235)
    assert (stop.price_paise, stop.trigger_price_paise, stop.side) == (48000, 48150, "SELL")


def test_a_rejected_order_keeps_the_rms_reason() -> None:
    row = _parse("order_details_rejected.json")
    assert isinstance(row, BrokerOrderRow)
    assert row.status is OrderStatus.REJECTED
    assert row.text.startswith("Your order has been rejected due to Insufficient Funds")


def test_an_amo_order_id_is_alphanumeric_text() -> None:
    rows = _parse("order_book.json")
    assert isinstance(rows, list)
    assert rows[5].order_id == "091389e428f2AO"


def test_the_order_status_websocket_frame_carries_a_parsable_order() -> None:
    frame = json.loads((PAYLOADS / "order_update_frame.json").read_text(), parse_float=Decimal)
    row = parse_order_row("ws/order-status", frame["orderData"])
    assert (row.status, row.filled_quantity, row.tag) == (
        OrderStatus.PARTIALLY_FILLED,
        74,
        "ATc0ffee02",
    )


def test_place_and_cancel_acks_give_the_order_ids() -> None:
    assert _parse("place_order_ok.json") == BrokerOrderAck(
        "250913000000101", "05ebf91b-bea4-4a1d-b0f2-4259606570e3"
    )
    assert _parse("cancel_order_ok.json") == BrokerOrderAck(
        "250913000000104", "1c2d3e4f-0000-4000-8000-000000000104"
    )


def test_trade_rows_are_one_per_fill_with_exact_prices_from_strings_or_numbers() -> None:
    trades = _parse("trade_book.json")
    assert isinstance(trades, list)
    assert [(t.order_id, t.fill_id, t.fill_price_paise, t.fill_quantity) for t in trades] == [
        ("250913000000102", "50000101", 11235, 50),
        ("250913000000102", "50000102", 11240, 24),
        ("250913000000101", "50000103", 49505, 150),
    ]


def test_positions_read_signed_quantities_and_round_fractional_averages() -> None:
    positions = _parse("positions.json")
    assert isinstance(positions, list)
    short, option = positions
    assert (short.net_quantity, short.buy_avg_paise, short.ltp_paise) == (-1, 223580, 0)
    # 112.3547 rupees is 11235.47 paise: an average, so rounded to the paisa.
    assert (option.net_quantity, option.buy_avg_paise, option.pnl_paise) == (74, 11235, 5585)


def test_holdings_and_funds_are_in_paise() -> None:
    holdings = _parse("holdings.json")
    assert isinstance(holdings, list)
    (holding,) = holdings
    assert (holding.quantity, holding.average_price_paise, holding.ltp_paise) == (2, 11187, 13015)
    assert (holding.close_paise, holding.pnl_paise, holding.isin) == (12960, 3700, "INE081A01020")
    funds = _parse("funds.json")
    assert funds.available_cash_paise == 1456314  # type: ignore[attr-defined]
    assert funds.net_paise == 999999999900  # type: ignore[attr-defined]
    assert funds.utilised_debits_paise == 233686  # type: ignore[attr-defined]


def test_ltp_accepts_rupees_as_strings_or_as_numbers() -> None:
    quoted, bare = _parse("ltp.json"), _parse("ltp_numbers.json")
    assert (quoted.ltp_paise, quoted.close_paise) == (1910005, 1870050)  # type: ignore[attr-defined]
    assert (bare.ltp_paise, bare.close_paise) == (196115, 194620)  # type: ignore[attr-defined]


def test_a_full_quote_reads_the_real_capture_values_and_the_depth() -> None:
    result = parse_quote(INDEX["quote_full.json"]["route"], _data("quote_full.json"))
    (q,) = result.fetched
    assert (q.ltp_paise, q.avg_price_paise, q.volume, q.total_buy_qty) == (
        196115,
        196995,
        624787,
        158743,
    )
    assert (q.open_paise, q.high_paise, q.low_paise, q.close_paise) == (
        197515,
        197995,
        196025,
        194620,
    )
    assert (q.upper_circuit_paise, q.week52_low_paise) == (214080, 135165)
    assert q.depth_buy[0] == DepthLevel(12, 196110, 2)
    assert q.depth_sell[4] == DepthLevel(7, 196135, 1)
    (missing,) = result.unfetched
    assert (missing.code, missing.message) == ("AB4018", "Symbol token cannot be empty")


def test_candles_become_epoch_ns_of_the_candle_start_and_paise() -> None:
    candles = _parse("candles.json")
    assert isinstance(candles, list)
    # 2023-09-06 11:15 IST is 05:45 UTC: 1693979100 s.
    assert candles[0] == (1693979100 * 10**9, 1957120, 1958060, 1956505, 1957700, 0)
    assert candles[2][5] == 624787


def test_an_empty_book_is_an_empty_list_whether_null_or_missing_holdings() -> None:
    for name in ("order_book_empty.json", "trade_book_empty.json", "positions_empty.json"):
        assert _parse(name) == []
    assert _parse("all_holdings_empty.json") == []
