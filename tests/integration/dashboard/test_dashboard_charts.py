"""Charts: candles from the history store (and today's from the cache), the strategy's own
indicators with its recorded parameters, and its entries and exits from its trades."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from algo_trading.adapters.cache import MemoryCache
from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.adapters.live.candles import LiveCandle
from algo_trading.adapters.live.quotes import candle_key, encode_candle
from algo_trading.adapters.storage.sql import Database
from algo_trading.dashboard import charting, queries
from algo_trading.engine.ports import BarKey, CacheKind
from tests.integration.dashboard.conftest import log_in

_IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
_MIN = 60 * 10**9


def _ns(y: int, mo: int, d: int, hh: int, mm: int) -> int:
    return int(dt.datetime(y, mo, d, hh, mm, tzinfo=_IST).timestamp()) * 10**9


def _figure(at: AppTest) -> dict[str, Any]:
    (chart,) = at.get("plotly_chart")
    return dict(json.loads(chart.proto.spec))


def _values(v: Any) -> np.ndarray[Any, Any]:
    """A trace's array as Plotly sends it: a list, or base64 of a typed array."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.array([np.nan if x is None else x for x in v], dtype="float64")


def _chart(app_env: Callable[..., AppTest], strategy: str, candle: str) -> AppTest:
    at = log_in(app_env(), "viewer")
    at.switch_page("pages/charts.py").run()
    at.selectbox(key="chart_strategy").select(strategy)
    at.selectbox(key="chart_symbol").select("SBIN-EQ")
    at.selectbox(key="chart_interval").select(candle).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_candles_come_from_the_history_store_with_the_strategys_own_averages_and_trades(
    app_env: Callable[..., AppTest], database: Database, data_dir: Path
) -> None:
    at = _chart(app_env, "sma_crossover", "15 minutes")
    traces = {t.get("name"): t for t in _figure(at)["data"]}
    stored = ParquetBarStore(charting.history_root(data_dir)).read(
        BarKey("NSE", "SBIN-EQ", "ONE_MINUTE")
    )
    recent = stored.ts_ns > stored.ts_ns[-1] - 5 * 86_400 * 10**9
    closes = pd.Series(stored.close[recent], index=stored.ts_ns[recent])
    ist_minutes = (closes.index.to_numpy() + 19_800 * 10**9) % (86_400 * 10**9) // _MIN
    buckets = (ist_minutes - 555) // 15  # 09:15 IST is minute 555
    day = (closes.index.to_numpy() + 19_800 * 10**9) // (86_400 * 10**9)
    last_of_bucket = closes.groupby([day, buckets]).last().to_numpy()
    candle = traces["SBIN-EQ"]
    assert candle["type"] == "candlestick"
    assert np.allclose(_values(candle["close"]), last_of_bucket / 100)
    # the SMAs the strategy trades on, with its recorded fast=10, slow=30: a rolling mean
    fast = pd.Series(last_of_bucket).rolling(10).mean() / 100
    drawn = _values(traces["SMA 10 (fast)"]["y"])
    assert np.allclose(drawn, fast.to_numpy(), equal_nan=True)
    assert "SMA 30 (slow)" in traces
    trades = queries.trades_for_chart(database, "SBIN-EQ", "sma_crossover")
    in_window = trades[trades["executed_ns"] >= stored.ts_ns[recent][0] - 15 * _MIN]
    marked = sum(
        len(t["x"])
        for name, t in traces.items()
        if name and name.split(" ")[0] in charting.MARK_KINDS
    )
    assert marked == len(in_window) > 0
    assert any("history store (ONE_MINUTE)" in str(c.value) for c in at.caption)


def test_an_rsi_strategy_gets_its_rsi_beneath_the_price_with_its_levels(
    app_env: Callable[..., AppTest],
) -> None:
    at = _chart(app_env, "rsi_reversion", "5 minutes")
    figure = _figure(at)
    names = [t.get("name") for t in figure["data"]]
    assert "RSI 14" in names
    rsi = next(t for t in figure["data"] if t.get("name") == "RSI 14")
    assert rsi["yaxis"] == "y2"
    levels = sorted(s["y0"] for s in figure["layout"]["shapes"])
    assert levels == [30, 50, 70]


def test_a_symbol_without_stored_candles_gets_an_empty_state(
    app_env: Callable[..., AppTest], data_dir: Path
) -> None:
    at = log_in(app_env(data_dir=str(data_dir / "nowhere")), "viewer")
    at.switch_page("pages/charts.py").run()
    assert not at.exception
    text = "\n".join(str(m.value) for m in at.info)
    assert "No candles of NSE:" in text
    assert "algo-trading data fetch" in text


def test_candles_aggregate_from_the_0915_open_and_by_ist_day() -> None:
    start = _ns(2026, 7, 20, 9, 15)
    ts = np.array([start + i * _MIN for i in range(75)], dtype=np.int64)  # 09:15 to 10:29
    close = np.arange(75, dtype=np.int64) * 5 + 1000_00
    bars = pd.DataFrame(
        {"ts_ns": ts, "open": close - 5, "high": close + 10, "low": close - 20, "close": close}
    )
    hours = charting.aggregate(bars, 60)
    assert list(hours["ts_ns"]) == [start, start + 60 * _MIN]  # 09:15 and 10:15, as Angel's
    first = hours.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        close[0] - 5,
        close[59] + 10,
        close[0] - 20,
        close[59],
    )
    days = charting.aggregate(bars, 0)
    assert list(days["ts_ns"]) == [_ns(2026, 7, 20, 0, 0)]
    assert list(charting.aggregate(bars, 15)["ts_ns"])[:2] == [start, start + 15 * _MIN]


def test_todays_minute_candles_from_the_cache_follow_the_stored_ones(tmp_path: Path) -> None:
    store = ParquetBarStore(tmp_path)
    from algo_trading.adapters.history.bars import BarSeries

    day1 = _ns(2026, 7, 20, 9, 15)
    ts = np.array([day1 + i * _MIN for i in range(3)], dtype=np.int64)
    p = np.array([100_00, 101_00, 102_00], dtype=np.int64)
    store.write(BarKey("NSE", "SBIN-EQ", "ONE_MINUTE"), BarSeries("SBIN-EQ", ts, p, p, p, p, p))
    cache = MemoryCache(monotonic=lambda: 0.0)
    today = _ns(2026, 7, 21, 9, 15)
    for i, price in enumerate((103_00, 104_00)):
        c = LiveCandle("NSE:SBIN-EQ", today + i * _MIN, price, price + 50, price - 50, price, 10, 3)
        cache.put(CacheKind.CANDLE, candle_key(c.symbol, c.start_ns), encode_candle(c))
    old = LiveCandle("NSE:SBIN-EQ", day1, 1, 1, 1, 1, 1, 1)  # already stored: not taken twice
    cache.put(CacheKind.CANDLE, candle_key(old.symbol, old.start_ns), encode_candle(old))
    bars, source = charting.candles(
        store, cache, "NSE", "SBIN-EQ", 1, days=5, now_ns=today + 2 * _MIN
    )
    assert list(bars["close"]) == [100_00, 101_00, 102_00, 103_00, 104_00]
    assert source == "history store (ONE_MINUTE) + cache"


def test_entries_exits_and_reversals_follow_the_position() -> None:
    trades = pd.DataFrame(
        {"side": ["BUY", "BUY", "SELL", "SELL", "SELL", "BUY"], "quantity": [5, 5, 4, 6, 3, 6]}
    )
    kinds = list(charting.entries_and_exits(trades)["kind"])
    assert kinds == ["entry", "entry", "exit", "exit", "entry", "flip"]


def test_the_strategys_code_and_bar_interval_come_from_its_recorded_run() -> None:
    recorded = {"fast": "5", "slow": "20", "_strategy": "sma_crossover", "_bar_minutes": "1"}
    assert charting.strategy_kind("demo-sma-banks", recorded) == "sma_crossover"
    assert charting.strategy_kind("rsi_reversion", {}) == "rsi_reversion"
    assert list(charting.CANDLE_MINUTES.values())[charting.default_candle(recorded)] == 1
    lines = charting.strategy_indicators("sma_crossover", recorded, [100, 200, 300, 400, 500] * 4)
    assert lines is not None
    assert list(lines.overlay) == ["SMA 5 (fast)", "SMA 20 (slow)"]
    assert lines.overlay["SMA 5 (fast)"][:5] == [None, None, None, None, 3.0]
    assert lines.overlay["SMA 20 (slow)"][-1] == 3.0
    assert charting.strategy_indicators("my_strategy.py:Mine", {}, [1, 2]) is None
