"""LTP, quotes in batches of 50, candles split by the maximum span and resumable, and the
instrument master download — against the simulator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.errors import BrokerUnavailableError
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.instruments import load_or_download
from algo_trading.adapters.brokers.angelone.market_data import AngelOneMarketData
from algo_trading.adapters.instruments.master import ScripMasterCache
from algo_trading.domain.events import IST
from algo_trading.market.instruments import InstrumentMaster

from .conftest import with_faults
from .helpers import SYMBOL

_DAY_START = dt.datetime(2025, 1, 1, 9, 15, tzinfo=IST)


def test_ltp_comes_back_in_paise_for_the_asked_token(
    session: AngelOneSession, master: InstrumentMaster
) -> None:
    inst = master.by_symbol(SYMBOL)
    quote = AngelOneMarketData(session).ltp("NSE", inst.symbol, str(inst.token))
    assert quote.token == str(inst.token)
    assert quote.ltp_paise > 0
    assert quote.ltp_paise % inst.tick_size_paise == 0


def test_quotes_for_more_than_50_tokens_go_in_batches_of_50(
    session: AngelOneSession, master: InstrumentMaster
) -> None:
    nse = [str(i.token) for i in master if i.exchange.value == "NSE"][:40]
    nfo = [str(i.token) for i in master if i.exchange.value == "NFO"][:20]
    assert len(nse) + len(nfo) == 60
    results = AngelOneMarketData(session).quotes("LTP", {"NSE": nse, "NFO": nfo})
    assert [len(r.fetched) + len(r.unfetched) for r in results] == [50, 10]
    fetched = {q.token for r in results for q in r.fetched}
    assert fetched == set(nse) | set(nfo)


def test_price_bands_are_the_quotes_circuit_limits_and_none_without_one(
    session: AngelOneSession, master: InstrumentMaster
) -> None:
    stock = master.by_symbol(SYMBOL)
    index = next(i for i in master if i.instrument_type.value == "INDEX")
    bands = AngelOneMarketData(session).price_bands([stock, index])
    band = bands[stock.symbol]
    assert band is not None
    assert 0 < band.lower_paise < band.upper_paise
    assert band.lower_paise % stock.tick_size_paise == 0
    assert bands[index.symbol] is None  # an index has no circuit: quoted 0, no band


def test_one_minute_candles_over_45_days_take_two_requests_and_never_repeat_a_candle(
    session: AngelOneSession, master: InstrumentMaster
) -> None:
    inst = master.by_symbol(SYMBOL)
    download = AngelOneMarketData(session).candles(
        "NSE", str(inst.token), "ONE_MINUTE", _DAY_START, _DAY_START + dt.timedelta(days=45)
    )
    candles = list(download)
    assert download.requests == 2
    stamps = [c[0] for c in candles]
    assert stamps == sorted(set(stamps))
    assert len(candles) > 375 * 25  # a month and a half of 375-minute sessions


def test_a_download_that_fails_part_way_resumes_from_the_last_candle(
    session: AngelOneSession, master: InstrumentMaster, server: Any
) -> None:
    inst = master.by_symbol(SYMBOL)
    end = _DAY_START + dt.timedelta(days=70)
    market = AngelOneMarketData(session)
    download = market.candles("NSE", str(inst.token), "ONE_MINUTE", _DAY_START, end)
    got = []
    with pytest.raises(BrokerUnavailableError):  # noqa: PT012 - the failure comes mid-iteration
        for candle in download:
            got.append(candle)
            if len(got) == 100:
                with_faults(server, error_rate=1.0)
    with_faults(server)
    assert download.requests == 1
    resumed = market.candles("NSE", str(inst.token), "ONE_MINUTE", download.resume_from(), end)
    rest = list(resumed)
    stamps = [c[0] for c in got + rest]
    assert stamps == sorted(set(stamps)), "nothing fetched twice, nothing out of order"
    complete = list(market.candles("NSE", str(inst.token), "ONE_MINUTE", _DAY_START, end))
    assert [c[0] for c in got + rest] == [c[0] for c in complete]


def test_the_instrument_master_is_downloaded_once_per_day_into_the_cache(
    http: AngelOneHttp, tmp_path: Path
) -> None:
    cache = ScripMasterCache(tmp_path)
    day = dt.date(2025, 3, 4)
    first = load_or_download(http, cache, day)
    sent = http.attempts
    second = load_or_download(http, cache, day)
    assert http.attempts == sent
    assert len(first) == len(second) > 50
    assert first.by_symbol(SYMBOL).token == second.by_symbol(SYMBOL).token
