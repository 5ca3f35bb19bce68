"""The simulator's scrip master, in the real OpenAPIScripMaster.json format (spec §4).

Cash and index rows come from the shipped NIFTY 50 list (shared/data/README.md); near-month
NIFTY and BANKNIFTY futures and a small monthly option chain around the money are generated for
the simulated day. Every value is a JSON string, as in Angel's file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from importlib import resources

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.instruments import Exchange
from algo_trading.market.calendar import calendar_for
from algo_trading.market.instruments import InstrumentMaster, build_master
from algo_trading.market.lots import index_lot_size

__all__ = [
    "INDEX_LEVELS_PAISE",
    "OPTION_STRIKES_EACH_SIDE",
    "build_records",
    "build_scrip_master",
    "monthly_expiry",
]

# Where the generated chains are centred; the market starts its index paths here too.
INDEX_LEVELS_PAISE = {"NIFTY": 25_000_00, "BANKNIFTY": 55_000_00, "SENSEX": 82_000_00}
_STRIKE_STEP_PAISE = {"NIFTY": 50_00, "BANKNIFTY": 100_00}
_FUTURE_TICK_PAISE = {"NIFTY": 10, "BANKNIFTY": 20}
_FALLBACK_LOT = {"NIFTY": 75, "BANKNIFTY": 35}
OPTION_STRIKES_EACH_SIDE = 10
_TUESDAY_EXPIRIES_FROM = dt.date(2025, 9, 1)  # NSE moved index expiries to Tuesday (Sep 2025)
_FIRST_FUTURE_TOKEN = 35001
_FIRST_OPTION_TOKEN = 40001


def _shipped_rows() -> list[dict[str, str]]:
    text = (
        resources.files("algo_trading.simulator")
        .joinpath("data/nifty50-angelone.csv")
        .read_text(encoding="utf-8")
    )
    rows = []
    for line in csv.DictReader(io.StringIO(text)):
        is_index = line["instrument_type"] == "AMXIDX"
        rows.append(
            {
                "token": line["token"],
                "symbol": line["symbol"],
                "name": line["name"],
                "expiry": "",
                "strike": "0.000000" if is_index else "-1.000000",
                "lotsize": line["lot_size"],
                "instrumenttype": line["instrument_type"],
                "exch_seg": line["exchange"],
                "tick_size": line["tick_size_paise"],
            }
        )
    return rows


def monthly_expiry(year: int, month: int) -> dt.date:
    """The last Tuesday (Thursday before Sep 2025) of the month, moved back over holidays."""
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    weekday = 1 if last >= _TUESDAY_EXPIRIES_FROM else 3
    day = last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    calendar = calendar_for(Exchange.NSE)
    try:
        if not calendar.is_trading_day(day):
            day = calendar.previous_trading_day(day, regular_only=True)
    except ConfigError:
        pass  # outside the calendar's years: keep the weekday rule
    return day


def _near_expiries(today: dt.date, count: int) -> list[dt.date]:
    out: list[dt.date] = []
    year, month = today.year, today.month
    while len(out) < count:
        expiry = monthly_expiry(year, month)
        if expiry >= today:
            out.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _lot(name: str, expiry: dt.date) -> int:
    try:
        return index_lot_size(name, expiry)
    except ConfigError:
        return _FALLBACK_LOT[name]


def _derivative(
    token: int, symbol: str, name: str, expiry: dt.date, **fields: str
) -> dict[str, str]:
    return {
        "token": str(token),
        "symbol": symbol,
        "name": name,
        "expiry": expiry.strftime("%d%b%Y").upper(),
        "strike": fields.get("strike", "-1.000000"),
        "lotsize": str(_lot(name, expiry)),
        "instrumenttype": fields["kind"],
        "exch_seg": "NFO",
        "tick_size": fields["tick"],
    }


def _derivative_rows(today: dt.date) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    future_token, option_token = _FIRST_FUTURE_TOKEN, _FIRST_OPTION_TOKEN
    expiries = _near_expiries(today, 2)
    for name, step in _STRIKE_STEP_PAISE.items():
        for expiry in expiries:
            code = expiry.strftime("%d%b%y").upper()
            tick = f"{_FUTURE_TICK_PAISE[name]}.000000"
            rows.append(
                _derivative(
                    future_token, f"{name}{code}FUT", name, expiry, kind="FUTIDX", tick=tick
                )
            )
            future_token += 1
        expiry = expiries[0]
        code = expiry.strftime("%d%b%y").upper()
        atm = INDEX_LEVELS_PAISE[name] // step * step
        for i in range(-OPTION_STRIKES_EACH_SIDE, OPTION_STRIKES_EACH_SIDE + 1):
            strike = atm + i * step
            for right in ("CE", "PE"):
                rows.append(
                    _derivative(
                        option_token,
                        f"{name}{code}{strike // 100}{right}",
                        name,
                        expiry,
                        kind="OPTIDX",
                        tick="5.000000",
                        strike=f"{strike}.000000",  # strike × 100, i.e. paise (spec §4)
                    )
                )
                option_token += 1
    return rows


def build_records(today: dt.date) -> list[dict[str, str]]:
    """The master's rows for `today`: the shipped cash and index rows, then derivatives."""
    return _shipped_rows() + _derivative_rows(today)


def build_scrip_master(records: list[dict[str, str]]) -> InstrumentMaster:
    return build_master(records, source="simulator scrip master")
