"""dashboard/ticket.py and dashboard/commands.py: what the order ticket refuses, and the
payload shapes it writes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from algo_trading.dashboard.commands import ACTIONS, build_payload
from algo_trading.dashboard.ticket import (
    TicketInput,
    TicketLimits,
    TicketRefusedError,
    check_modify,
    check_ticket,
)
from algo_trading.domain.errors import InvalidInputError
from algo_trading.engine.ports import CommandKind
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.services.trade_config import default_master

DAY = dt.date(2026, 7, 27)
REFERENCE = {"SBIN-EQ": 1015_00}
LIMITS = TicketLimits(max_order_value_paise=10_00_000_00)
GOOD = TicketInput("manual", "SBIN-EQ", "NSE", "BUY", "2", "LIMIT", "INTRADAY", "1010.50")


@pytest.fixture(scope="module")
def master() -> InstrumentMaster:
    return default_master(DAY)


def check(master: InstrumentMaster, **changes: str):  # type: ignore[no-untyped-def]
    ticket = dataclasses.replace(GOOD, **changes)
    return check_ticket(ticket, master, REFERENCE.get, LIMITS, today=DAY)


def test_a_valid_limit_order_becomes_the_place_payload_in_paise(master: InstrumentMaster) -> None:
    checked = check(master)
    assert checked.payload == {
        "symbol": "SBIN-EQ",
        "side": "BUY",
        "quantity": "2",
        "order_type": "LIMIT",
        "product": "INTRADAY",
        "price": "1010.50",
    }
    assert checked.strategy_id == "manual"
    assert checked.value_paise == 2 * 1010_50
    assert checked.charges.total_paise > 0  # Angel One's intraday brokerage and taxes
    assert checked.band is not None
    assert checked.band.contains(1010_50)


def test_a_market_order_is_valued_at_the_reference_price(master: InstrumentMaster) -> None:
    checked = check(master, order_type="MARKET", price="")
    assert checked.value_paise == 2 * 1015_00
    assert "price" not in checked.payload


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"lots": "0"}, "lots: at least one lot"),
        ({"lots": "1.5"}, "lots: '1.5' is not a whole number"),
        ({"lots": "-1"}, "not a whole number"),
        ({"price": "1010.55"}, "price: price 1010.55 is not on the 0.10 tick"),
        ({"symbol": "NOPE-EQ"}, "symbol: NOPE-EQ is not in the instrument master on NSE"),
        ({"price": "2000.00"}, "price: price 2000.00 is outside the band"),
        ({"price": ""}, "price: this order type needs a price"),
        ({"order_type": "STOPLOSS_LIMIT"}, "trigger: this order type needs a trigger"),
        ({"order_type": "MARKET"}, "takes no price"),
        ({"price": "1010.505"}, "finer than one paisa"),
        ({"lots": "1000"}, "ORDER_VALUE"),
        ({"strategy_id": "bad name!"}, "strategy:"),
        ({"symbol": "Nifty 50"}, "index"),
    ],
)
def test_bad_tickets_are_refused_naming_the_field(
    master: InstrumentMaster, changes: dict[str, str], fragment: str
) -> None:
    if changes.get("symbol") == "Nifty 50":
        changes = {**changes, "exchange": "NSE"}
    with pytest.raises(TicketRefusedError, match=fragment.replace("(", "\\(")):
        check(master, **changes)


def test_a_market_order_without_any_known_price_is_refused(master: InstrumentMaster) -> None:
    ticket = dataclasses.replace(GOOD, symbol="INFY-EQ", order_type="MARKET", price="")
    with pytest.raises(TicketRefusedError, match="place a LIMIT order"):
        check_ticket(ticket, master, REFERENCE.get, LIMITS, today=DAY)


def test_every_action_maps_to_the_services_command_kind() -> None:
    assert {a: s.kind for a, s in ACTIONS.items()} == {
        "place": CommandKind.MANUAL_ORDER,
        "modify": CommandKind.MODIFY,
        "cancel": CommandKind.CANCEL,
        "square_off": CommandKind.SQUARE_OFF,
        "pause": CommandKind.PAUSE,
        "resume": CommandKind.RESUME,
        "kill": CommandKind.KILL_SWITCH,
        "reset_kill": CommandKind.KILL_RESET,
    }


def test_a_stop_loss_ticket_carries_price_and_trigger_in_rupees(master: InstrumentMaster) -> None:
    checked = check(master, order_type="STOPLOSS_LIMIT", trigger="1011.00")
    assert (checked.payload["price"], checked.payload["trigger_price"]) == ("1010.50", "1011.00")


@pytest.mark.parametrize(
    ("action", "strategy", "fields", "fragment"),
    [
        ("cancel", None, {}, "key 'client_order_id' is missing"),
        ("pause", "a", {"symbol": "x"}, "key 'symbol' is not allowed"),
        ("pause", None, {}, "a strategy is required"),
        ("kill", None, {}, "key 'reason' is missing"),
        ("kill", "a", {"reason": "x"}, "not a strategy"),
        ("modify", None, {"client_order_id": "c", "quantity": "1.5"}, "not a whole number"),
        ("modify", None, {"client_order_id": "c"}, "at least one of quantity"),
        ("launch", None, {}, "unknown command"),
    ],
)
def test_payloads_of_the_wrong_shape_are_refused_by_the_services_models(
    action: str, strategy: str | None, fields: dict[str, str], fragment: str
) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        build_payload(action, strategy, **fields)


def test_square_off_and_reset_need_nothing() -> None:
    assert build_payload("square_off") == {}
    assert build_payload("square_off", "sma", symbol="SBIN-EQ") == {"symbol": "SBIN-EQ"}
    assert build_payload("reset_kill") == {}


def test_modify_checks_lots_and_tick_and_needs_a_change(master: InstrumentMaster) -> None:
    assert check_modify(master, "SBIN-EQ", "20", "1001.10") == {
        "quantity": "20",
        "price": "1001.10",
    }
    assert check_modify(master, "SBIN-EQ", "", "1001.10") == {"price": "1001.10"}
    for quantity, price, fragment in (
        ("", "", "give a new quantity"),
        ("1.5", "", "not a whole number"),
        ("", "1001.15", "not on the 0.10 tick"),
    ):
        with pytest.raises(TicketRefusedError, match=fragment):
            check_modify(master, "SBIN-EQ", quantity, price)


def test_live_prices_come_from_the_data_services_quotes_in_the_cache() -> None:
    from algo_trading.adapters.cache import MemoryCache
    from algo_trading.adapters.live.quotes import encode_quote, quote_key
    from algo_trading.dashboard.queries import cache_prices
    from algo_trading.engine.ports import CacheKind

    cache = MemoryCache(monotonic=lambda: 0.0)  # a fixed time: nothing expires
    cache.put(
        CacheKind.QUOTE,
        quote_key("SBIN-EQ"),
        encode_quote("SBIN-EQ", ltp_paise=1012_30, exchange_ts_ms=0, recv_ts_ns=0),
    )
    cache.put(CacheKind.QUOTE, quote_key("BAD-EQ"), b"not json")
    prices = cache_prices(cache)
    assert prices(["SBIN-EQ", "INFY-EQ", "BAD-EQ"]) == {"SBIN-EQ": 1012_30}
