"""The instrument master download (§4): a plain unauthenticated GET of one JSON array, cached
once per IST trading day by `adapters.instruments.master.ScripMasterCache`, which checks the
bytes parse before it keeps them.
"""

from __future__ import annotations

import datetime as dt

from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.instruments.master import ScripMasterCache
from algo_trading.market.instruments import InstrumentMaster

__all__ = ["download_scrip_master", "load_or_download"]


def download_scrip_master(http: AngelOneHttp) -> bytes:
    """The master's bytes from the configured URL, retried like any read."""
    config = http.config
    return http.get_bytes(config.instrument_master_url, timeout_s=config.master_timeout_s)


def load_or_download(http: AngelOneHttp, cache: ScripMasterCache, day: dt.date) -> InstrumentMaster:
    """`day`'s master from the cache, downloading it once when the day is not cached yet."""
    return cache.get(day, lambda: download_scrip_master(http))
