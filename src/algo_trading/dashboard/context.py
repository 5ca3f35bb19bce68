"""What every page needs, built once per process from the settings (the dashboard's composition
root): the database, the users and login guard, the instrument master and reference prices for
the ticket, and the clock. Importing this module reads nothing; `get_context()` does, once."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.adapters.storage.sql import Database, prepare
from algo_trading.dashboard import queries
from algo_trading.dashboard.charting import history_root
from algo_trading.dashboard.ticket import TicketLimits
from algo_trading.domain.events import IST
from algo_trading.domain.money import rupees_to_paise
from algo_trading.engine.ports import Cache
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.services.data_stores import build_cache
from algo_trading.services.live_gate import secret_store_for
from algo_trading.services.settings import Settings, load_settings
from algo_trading.services.trade_config import default_master
from algo_trading.services.users import LoginGuard, UserStore, load_user_store
from algo_trading.simulator.reference_prices import load_reference_prices

__all__ = ["REFRESH_S", "AppContext", "build_context", "get_context"]

REFRESH_S = 2.0  # the Portfolio's live refresh (issue #12: every 1-2 seconds)


@dataclass
class AppContext:
    settings: Settings
    db: Database
    users: UserStore
    guard: LoginGuard
    master: InstrumentMaster
    reference_prices: dict[str, int]
    limits: TicketLimits
    clock: Callable[[], int]
    prices: queries.PriceSource | None = None  # the cache's live quotes, when one is wired
    cache: Cache | None = None  # the data service's shared cache (quotes, minute candles)
    history: ParquetBarStore | None = None  # the history store (candles for Charts)

    def now_ns(self) -> int:
        return self.clock()

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.clock() / 1e9, tz=IST).date()

    def reference(self, symbol: str) -> int | None:
        """The last trade's price, else the shipped reference close: the band's centre."""
        traded = queries.last_prices(self.db, [symbol]).get(symbol)
        return traded if traded is not None else self.reference_prices.get(symbol)


def build_context(settings: Settings, clock: Callable[[], int] = time.time_ns) -> AppContext:
    """Connect, bring the schema up to date (dev) or insist it is, load users and the master."""
    db = Database(settings.database_url.get_secret_value(), pool_size=settings.database_pool_size)
    prepare(db, migrate=settings.database_migrate_on_start)
    users = load_user_store(settings, secret_store_for(settings, os.environ))
    today = dt.datetime.fromtimestamp(clock() / 1e9, tz=IST).date()
    # only a shared cache (Redis) holds the data service's quotes; the in-process one is empty
    cache = build_cache(settings) if settings.redis_url.get_secret_value() else None
    return AppContext(
        settings=settings,
        db=db,
        users=users,
        guard=LoginGuard.from_settings(users, settings, clock),
        master=default_master(today),
        reference_prices={s: r.price_paise for s, r in load_reference_prices().items()},
        limits=TicketLimits(rupees_to_paise(settings.dashboard_max_order_value, what="limit")),
        clock=clock,
        prices=queries.cache_prices(cache) if cache is not None else None,
        cache=cache,
        history=ParquetBarStore(history_root(settings.data_dir)),
    )


@st.cache_resource(show_spinner=False)
def _cached(fingerprint: str) -> AppContext:
    return build_context(load_settings())


def get_context() -> AppContext:
    """One context per process and configuration (tests change ALGO_* between apps)."""
    fingerprint = "\n".join(
        f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("ALGO_")
    )
    return _cached(fingerprint)
