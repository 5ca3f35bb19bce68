"""The dashboard's read side on SQLite and PostgreSQL: daily P&L by IST day, exact unrealized
P&L from the open lots' cost, and the filters."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from sqlalchemy import insert

from algo_trading.adapters.cache import MemoryCache
from algo_trading.adapters.live.quotes import encode_quote, quote_key
from algo_trading.adapters.storage.sql import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.dashboard import queries
from algo_trading.engine.ports import CacheKind
from tests.integration.dashboard.conftest import unique

UTC = dt.UTC


def _order_and_trade(
    db: Database,
    strategy: str,
    symbol: str,
    side: str,
    qty: int,
    price: int,
    pnl: int,
    when: dt.datetime,
) -> None:
    coid = unique("q")
    order = {
        "client_order_id": coid, "broker_order_id": None, "tag": coid[:20], "account": "default",
        "strategy": strategy, "symbol": symbol, "exchange": "NSE", "product": "INTRADAY",
        "side": side, "order_type": "MARKET", "validity": "DAY", "quantity": qty, "price": None,
        "trigger_price": None, "status": "FILLED", "filled_quantity": qty,
        "filled_value": price * qty, "average_fill_price": Decimal(price).scaleb(-2),
        "charges": 100, "rejection_reason": None, "created_at": when, "updated_at": when,
        "acknowledged_at": when,
    }  # fmt: skip
    trade = {
        "trade_id": unique("t"), "client_order_id": coid, "broker_order_id": None,
        "account": "default", "strategy": strategy, "symbol": symbol, "exchange": "NSE",
        "product": "INTRADAY", "side": side, "quantity": qty, "price": price, "charges": 100,
        "pnl": pnl, "executed_at": when,
    }  # fmt: skip
    with db.engine.begin() as conn:
        conn.execute(insert(metadata.tables["orders"]), order)
        conn.execute(insert(metadata.tables["trades"]), trade)


def test_daily_pnl_falls_on_the_ist_day_and_sums_exactly(database: Database) -> None:
    strategy = unique("days")
    # 19:00 UTC on the 24th is 00:30 IST on the 25th; 18:00 UTC is still the 24th in IST
    _order_and_trade(database, strategy, "SBIN-EQ", "SELL", 1, 1000_05, 12_345,
                     dt.datetime(2026, 7, 24, 19, 0, tzinfo=UTC))  # fmt: skip
    _order_and_trade(database, strategy, "SBIN-EQ", "SELL", 1, 1000_05, -45,
                     dt.datetime(2026, 7, 24, 18, 0, tzinfo=UTC))  # fmt: skip
    daily = queries.daily_pnl(database, strategy)
    assert list(daily["day"]) == [dt.date(2026, 7, 24), dt.date(2026, 7, 25)]
    assert list(daily["pnl"]) == [-45, 12_345]
    assert list(daily["net"]) == [-145, 12_245]


def test_unrealized_pnl_is_mark_times_quantity_less_the_open_cost(database: Database) -> None:
    strategy, symbol = unique("pf"), unique("SYM")
    now = dt.datetime(2026, 7, 24, 5, 0, tzinfo=UTC)
    with database.engine.begin() as conn:
        conn.execute(
            insert(metadata.tables["positions"]),
            {
                "account": "default", "strategy": strategy, "symbol": symbol, "exchange": "NSE",
                "product": "INTRADAY", "quantity": 3, "avg_price": Decimal("100.0333"),
                "cost": 300_10, "realized_pnl": 5_00, "current_price": 99_00,
                "unrealized_pnl": 0, "lots": json.dumps([[1, 100_00], [2, 100_05]]),
                "updated_at": now,
            },
        )  # fmt: skip
    frame = queries.portfolio(database)
    row = frame[frame["strategy"] == strategy].iloc[0]
    assert (row["mark"], row["price_source"]) == (99_00, "stored")  # no trade yet
    _order_and_trade(database, strategy, symbol, "BUY", 1, 101_10, 0, now)
    frame = queries.portfolio(database)
    row = frame[frame["strategy"] == strategy].iloc[0]
    assert (row["mark"], row["price_source"]) == (101_10, "last trade")
    assert row["unrealized_pnl"] == 3 * 101_10 - 300_10
    assert row["total_pnl"] == 5_00 + 3 * 101_10 - 300_10
    # the data service's quote, under its key (EXCHANGE:SYMBOL, services.capture)
    cache = MemoryCache(monotonic=lambda: 0.0)
    cache.put(
        CacheKind.QUOTE,
        quote_key(f"NSE:{symbol}"),
        encode_quote(f"NSE:{symbol}", ltp_paise=102_00, exchange_ts_ms=0, recv_ts_ns=0),
    )
    live = queries.portfolio(database, queries.cache_prices(cache))
    row = live[live["strategy"] == strategy].iloc[0]
    assert (row["mark"], row["price_source"]) == (102_00, "live")


def test_filters_narrow_orders_and_trades(database: Database) -> None:
    f = queries.OrderFilter(strategy="rsi_reversion", side="SELL", limit=50)
    trades = queries.trades(database, f)
    assert not trades.empty
    assert set(trades["strategy"]) == {"rsi_reversion"}
    assert set(trades["side"]) == {"SELL"}
    rejected = queries.orders(database, queries.OrderFilter(statuses=("REJECTED",)))
    assert "DREJ0001" in set(rejected["client_order_id"])
    assert queries.trade_count(database, f) >= len(trades)


def test_margin_used_applies_angel_ones_rates_and_names_unknown_symbols() -> None:
    import pandas as pd

    from algo_trading.dashboard.analytics import margin_used
    from algo_trading.services.trade_config import default_master

    master = default_master(dt.date(2026, 7, 27))
    frame = pd.DataFrame(
        {
            "symbol": ["SBIN-EQ", "TCS-EQ", "NOSUCH-EQ", "INFY-EQ"],
            "exchange": ["NSE"] * 4,
            "product": ["INTRADAY", "DELIVERY", "INTRADAY", "INTRADAY"],
            "quantity": [10, 2, 5, 0],
            "mark": [1000_00, 2000_00, 50_00, 1000_00],
        }
    )
    # intraday 20 % of 10 × ₹1,000; delivery 100 % of 2 × ₹2,000; flat INFY blocks nothing
    assert margin_used(frame, master) == (10 * 1000_00 * 20 // 100 + 2 * 2000_00, 1)
