"""The instrument master: Angel scrip-master records -> instruments with the right units, look-ups
and the derivatives helpers (issue #3 point 2; angel-one-smartapi.md §4).

The sample master (tests/support/data/scrip_master_sample.json) follows the spec's field list;
SBIN-EQ, RELIANCE-EQ, HDFCBANK-EQ and the index tokens are real (shared/data), derivative tokens
are made up. Its expiries are those of late 2026: NSE on Tuesdays (23 Nov because the 24th is a
holiday), BSE on Thursdays.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from algo_trading.domain.errors import ConfigError, DataError, InvalidInputError
from algo_trading.domain.ids import InstrumentToken
from algo_trading.domain.instruments import Exchange, InstrumentType, OptionRight
from algo_trading.market.instruments import (
    InstrumentMaster,
    InstrumentNotFoundError,
    build_master,
    parse_expiry,
    parse_scrip_record,
)

SAMPLE = Path(__file__).parents[2] / "support" / "data" / "scrip_master_sample.json"
d = dt.date


def sample_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return rows


@pytest.fixture(scope="module")
def master() -> InstrumentMaster:
    return build_master(sample_rows(), source="sample")


def row(**overrides: str) -> dict[str, str]:
    base = {
        "token": "52014",
        "symbol": "NIFTY01DEC2626000CE",
        "name": "NIFTY",
        "expiry": "01DEC2026",
        "strike": "2600000.000000",
        "lotsize": "65",
        "instrumenttype": "OPTIDX",
        "exch_seg": "NFO",
        "tick_size": "5.000000",
    }
    return base | overrides


def test_an_option_row_reads_strike_x100_as_paise_and_tick_in_paise() -> None:
    option = parse_scrip_record(row())
    assert option is not None
    assert option.strike_paise == 2_600_000  # ₹26,000
    assert option.tick_size_paise == 5  # ₹0.05
    assert option.lot_size == 65
    assert option.expiry == d(2026, 12, 1)
    assert option.option_right is OptionRight.CALL
    assert option.exchange is Exchange.NFO
    assert option.instrument_type is InstrumentType.OPTION


def test_cash_rows_keep_the_masters_tick_and_have_no_strike(master: InstrumentMaster) -> None:
    sbin = master.by_symbol("SBIN-EQ")
    assert (sbin.token, sbin.exchange, sbin.tick_size_paise, sbin.lot_size) == (
        "3045",
        Exchange.NSE,
        10,
        1,
    )
    assert sbin.strike_paise is None
    assert sbin.expiry is None
    assert master.by_token("NSE", "2885").symbol == "RELIANCE-EQ"


def test_index_rows_are_indices_with_no_tick(master: InstrumentMaster) -> None:
    nifty = master.by_token(Exchange.NSE, "99926000")
    assert nifty.symbol == "Nifty 50"
    assert nifty.instrument_type is InstrumentType.INDEX
    assert nifty.tick_size_paise == 0
    assert master.index("SENSEX").token == InstrumentToken("99919000")
    assert master.index("SENSEX").exchange is Exchange.BSE


def test_rows_of_segments_we_do_not_trade_are_skipped_and_counted(master: InstrumentMaster) -> None:
    assert master.skipped == 1  # the MCX crude future
    assert len(master) == len(sample_rows()) - 1
    assert parse_scrip_record(row(exch_seg="MCX", instrumenttype="FUTCOM")) is None


def test_a_symbol_not_in_the_master_is_a_typed_one_line_error(master: InstrumentMaster) -> None:
    with pytest.raises(InstrumentNotFoundError) as info:
        master.by_symbol("TATAMOTORS-EQ")
    assert str(info.value) == "sample: no symbol 'TATAMOTORS-EQ'"
    assert issubclass(InstrumentNotFoundError, InvalidInputError)
    with pytest.raises(InstrumentNotFoundError):
        master.by_symbol("SBIN-EQ", Exchange.BSE)
    with pytest.raises(InstrumentNotFoundError):
        master.by_token("NFO", "3045")


def test_a_symbol_on_two_exchanges_needs_the_exchange_named() -> None:
    on_bfo = row(exch_seg="BFO", token="9")  # noqa: S106 - an instrument token, not a secret
    both = build_master([row(), on_bfo])
    with pytest.raises(InstrumentNotFoundError) as info:
        both.by_symbol("NIFTY01DEC2626000CE")
    assert "BFO, NFO" in str(info.value)
    assert both.by_symbol("NIFTY01DEC2626000CE", "BFO").token == InstrumentToken("9")
    with pytest.raises(ConfigError):
        both.expiries("NIFTY")


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"strike": "abc"}, "strike 'abc' is not a number"),
        ({"strike": "2600000.500000"}, "is not a whole number"),
        ({"strike": "-1.000000"}, "option strike"),
        ({"symbol": "NIFTY01DEC2626000XX"}, "CE or PE"),
        ({"expiry": "2026-12-01"}, "not DDMMMYYYY"),
        ({"expiry": "31FEB2026"}, "not a calendar date"),
        ({"expiry": ""}, "does not fit a OPTION row"),
        ({"token": "12a"}, "not numeric"),
        ({"lotsize": "0"}, "lot size 0"),
        ({"tick_size": "0.000000"}, "tick size 0"),
    ],
)
def test_a_malformed_row_is_a_data_error_naming_the_row_and_the_field(
    overrides: dict[str, str], fragment: str
) -> None:
    with pytest.raises(DataError) as info:
        build_master(
            [
                row(
                    token="1",  # noqa: S106 - an instrument token
                    symbol="SBIN-EQ",
                    instrumenttype="",
                    exch_seg="NSE",
                    expiry="",
                    strike="-1.000000",
                    lotsize="1",
                ),
                row(**overrides),
            ],
            source="master.json",
        )
    message = str(info.value)
    assert message.startswith("master.json row 2")
    assert fragment in message
    assert "\n" not in message


def test_a_missing_field_is_named() -> None:
    bad = row()
    del bad["tick_size"]
    with pytest.raises(DataError) as info:
        parse_scrip_record(bad, where="row 7")
    assert str(info.value) == "row 7: field 'tick_size' is missing or not a string"


def test_a_token_listed_twice_is_refused() -> None:
    with pytest.raises(DataError) as info:
        build_master([row(), row(symbol="NIFTY01DEC2626000PE")])
    assert "token 52014 on NFO listed twice" in str(info.value)


def test_expiry_months_are_read_without_the_locale() -> None:
    assert parse_expiry("26NOV2026") == d(2026, 11, 26)
    assert parse_expiry("03sep2026") == d(2026, 9, 3)
    assert parse_expiry("") is None


# --- derivatives helpers ------------------------------------------------------------------------


def test_the_monthly_expiry_is_the_last_listed_in_its_month(master: InstrumentMaster) -> None:
    # 24 Nov 2026 is a holiday, so November's NIFTY monthly is Monday the 23rd.
    assert master.monthly_expiries("NIFTY") == [d(2026, 11, 23), d(2026, 12, 29), d(2027, 1, 25)]
    assert master.current_monthly_expiry("NIFTY", d(2026, 11, 20)) == d(2026, 11, 23)
    assert master.current_monthly_expiry("NIFTY", d(2026, 11, 23)) == d(2026, 11, 23)
    assert master.current_monthly_expiry("NIFTY", d(2026, 11, 24)) == d(2026, 12, 29)


def test_the_weekly_expiry_is_the_nearest_option_expiry(master: InstrumentMaster) -> None:
    assert master.current_weekly_expiry("NIFTY", d(2026, 11, 20)) == d(2026, 11, 23)
    assert master.current_weekly_expiry("NIFTY", d(2026, 11, 24)) == d(2026, 12, 1)
    assert master.current_weekly_expiry("SENSEX", d(2026, 11, 27)) == d(2026, 12, 3)
    assert master.current_monthly_expiry("SENSEX", d(2026, 11, 27)) == d(2026, 12, 31)


def test_an_index_with_monthly_options_only_has_no_weekly_expiry(master: InstrumentMaster) -> None:
    with pytest.raises(InstrumentNotFoundError) as info:
        master.current_weekly_expiry("BANKNIFTY", d(2026, 11, 20))
    assert "no weekly options" in str(info.value)


def test_no_expiry_after_the_last_listed_is_an_error(master: InstrumentMaster) -> None:
    with pytest.raises(InstrumentNotFoundError):
        master.current_monthly_expiry("NIFTY", d(2027, 2, 1))
    with pytest.raises(InstrumentNotFoundError):
        master.expiries("TCS")


def test_futures_come_nearest_first(master: InstrumentMaster) -> None:
    assert [f.symbol for f in master.futures("BANKNIFTY")] == [
        "BANKNIFTY23NOV26FUT",
        "BANKNIFTY29DEC26FUT",
    ]
    assert master.futures("BANKNIFTY")[0].tick_size_paise == 20


def test_the_option_chain_pairs_calls_and_puts_by_strike(master: InstrumentMaster) -> None:
    chain = master.option_chain("NIFTY", d(2026, 12, 1))
    assert [r.strike_paise for r in chain] == [2_600_000, 2_610_000]
    assert chain[0].call is not None
    assert chain[0].call.symbol == "NIFTY01DEC2626000CE"
    assert chain[0].put is not None
    assert chain[0].put.option_right is OptionRight.PUT
    assert chain[1].put is None  # an unlisted leg stays empty rather than borrowed
    with pytest.raises(InstrumentNotFoundError):
        master.option_chain("NIFTY", d(2026, 12, 8))


@pytest.mark.parametrize(
    ("spot_rupees", "atm_rupees"),
    [(26_040, 26_000), (26_051, 26_100), (26_050, 26_000), (25_000, 25_900), (27_000, 26_100)],
)
def test_the_atm_strike_is_the_listed_strike_nearest_the_spot(
    master: InstrumentMaster, spot_rupees: int, atm_rupees: int
) -> None:
    assert master.atm_strike("NIFTY", d(2026, 11, 23), spot_rupees * 100) == atm_rupees * 100


def test_the_atm_strike_of_a_bse_index_uses_its_own_exchange(master: InstrumentMaster) -> None:
    assert master.atm_strike("SENSEX", d(2026, 11, 26), 8_512_345, "BFO") == 8_500_000


def test_a_non_positive_spot_is_refused(master: InstrumentMaster) -> None:
    with pytest.raises(InvalidInputError):
        master.atm_strike("NIFTY", d(2026, 11, 23), 0)


def test_stock_derivatives_are_indexed_by_their_underlying(master: InstrumentMaster) -> None:
    sbin_call = master.option_chain("SBIN", d(2026, 12, 29))[0].call
    assert sbin_call is not None
    assert sbin_call.strike_paise == 90_000  # ₹900, stored as "90000.000000"
    assert sbin_call.lot_size == 750


def test_an_unknown_exchange_is_a_typed_error(master: InstrumentMaster) -> None:
    with pytest.raises(InvalidInputError) as info:
        master.by_token("NSX", "3045")
    assert "unknown exchange 'NSX'" in str(info.value)
