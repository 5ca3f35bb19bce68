"""The Charts page's data: candles from the history store (the data service's Parquet files
under <data_dir>/market-data/historical) topped up with the minute candles the data service
publishes to the cache, the strategy's own indicators over them (strategy.indicators, with
the parameters its run recorded), and its entries and exits from the recorded trades.

Candles are aggregated from the finest stored interval to the one asked for, each bucket
starting at the session open (09:15 IST, as Angel One's candles do); a day is an IST day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.adapters.live.quotes import recent_candles
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.engine.ports import BarKey, Cache
from algo_trading.strategy.builtin.ema_crossover import EmaCrossoverParams
from algo_trading.strategy.builtin.rsi_reversion import RsiReversionParams
from algo_trading.strategy.builtin.sma_crossover import SmaCrossoverParams
from algo_trading.strategy.indicators import EMA, RSI, SMA

__all__ = [
    "CANDLE_MINUTES",
    "MARK_KINDS",
    "Indicators",
    "aggregate",
    "candles",
    "default_candle",
    "entries_and_exits",
    "history_root",
    "strategy_indicators",
    "strategy_kind",
]

CANDLE_MINUTES = {
    "1 minute": 1,
    "5 minutes": 5,
    "15 minutes": 15,
    "1 hour": 60,
    "1 day": 0,
}
"""The Charts page's candle choices in minutes; 0 is a day."""

MARK_KINDS = ("entry", "exit", "flip")
"""What a trade did to the strategy's position (see `entries_and_exits`)."""

_STORED = (  # Angel One's interval names (§3) in minutes, finest first
    ("ONE_MINUTE", 1),
    ("THREE_MINUTE", 3),
    ("FIVE_MINUTE", 5),
    ("TEN_MINUTE", 10),
    ("FIFTEEN_MINUTE", 15),
    ("THIRTY_MINUTE", 30),
    ("ONE_HOUR", 60),
    ("ONE_DAY", 0),
)
_NS_PER_MIN = 60 * 10**9
_NS_PER_DAY = 86_400 * 10**9
_IST_NS = 19_800 * 10**9
_OPEN_MIN = 9 * 60 + 15  # the session opens 09:15 IST
_SESSION_MINUTES = 375
_COLUMNS = ("ts_ns", "open", "high", "low", "close")


def history_root(data_dir: str | Path) -> Path:
    """Where the data service and `algo-trading data fetch` keep the history store."""
    return Path(data_dir) / "market-data" / "historical"


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: np.array([], dtype=np.int64) for c in _COLUMNS})


def candles(
    store: ParquetBarStore,
    cache: Cache | None,
    exchange: str,
    symbol: str,
    minutes: int,
    *,
    days: int,
    now_ns: int,
) -> tuple[pd.DataFrame, str]:
    """(candles of the `days` days up to the newest bar, in paise, ts_ns each bucket's start;
    where they came from). The store's finest interval that makes `minutes`, then the cache's
    minute candles newer than the store's last bar (today's, before the close's top-up).
    Anchored at the newest bar, not the clock: after a holiday the last sessions still show."""
    parts: list[pd.DataFrame] = []
    source = ""
    for name, stored in _STORED:
        if not _divides(stored, minutes):
            continue
        try:
            bars = store.read(BarKey(exchange, symbol, name))
        except (AlgoTradingError, OSError):
            continue
        if len(bars):
            parts.append(
                pd.DataFrame(
                    {
                        "ts_ns": bars.ts_ns,
                        "open": bars.open,
                        "high": bars.high,
                        "low": bars.low,
                        "close": bars.close,
                    }
                )
            )
            source = f"history store ({name})"
            break
    last = int(parts[0]["ts_ns"].iloc[-1]) if parts else None
    if cache is not None:
        newest = now_ns - now_ns % _NS_PER_MIN
        live = [
            c
            for c in recent_candles(cache, f"{exchange}:{symbol}", newest, _SESSION_MINUTES)
            if isinstance(c.get("start_ns"), int) and (last is None or c["start_ns"] > last)
        ]
        if live:
            parts.append(
                pd.DataFrame(
                    {
                        "ts_ns": [int(c["start_ns"]) for c in live],
                        "open": [int(c["open_paise"]) for c in live],
                        "high": [int(c["high_paise"]) for c in live],
                        "low": [int(c["low_paise"]) for c in live],
                        "close": [int(c["close_paise"]) for c in live],
                    }
                )
            )
            source = f"{source} + cache" if source else "cache (today's minute candles)"
    if not parts:
        return _empty(), ""
    bars_all = pd.concat(parts, ignore_index=True)
    anchor = int(bars_all["ts_ns"].iloc[-1])
    recent = bars_all[bars_all["ts_ns"] > anchor - days * _NS_PER_DAY]
    return aggregate(recent.reset_index(drop=True), minutes), source


def _divides(stored: int, minutes: int) -> bool:
    if minutes == 0:
        return True  # any intraday interval, or days, make days
    return stored != 0 and minutes % stored == 0


def aggregate(bars: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """Bars (ts_ns, open, high, low, close) as candles of `minutes` from the 09:15 IST open
    (0: IST days, stamped at 00:00 IST)."""
    if bars.empty:
        return _empty()
    ts = bars["ts_ns"].to_numpy(dtype=np.int64)
    local = ts + _IST_NS
    day = local // _NS_PER_DAY
    if minutes == 0:
        start = day * _NS_PER_DAY - _IST_NS
    else:
        into = (local % _NS_PER_DAY) // _NS_PER_MIN - _OPEN_MIN
        bucket = np.floor_divide(into, minutes) * minutes + _OPEN_MIN
        start = day * _NS_PER_DAY + bucket * _NS_PER_MIN - _IST_NS
    grouped = bars.assign(ts_ns=start).sort_values("ts_ns", kind="stable").groupby("ts_ns")
    out = grouped.agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last")
    )
    return out.reset_index().astype(np.int64)


@dataclass(frozen=True, slots=True)
class Indicators:
    """Lines in rupees per candle (None before an indicator is ready): `overlay` on the price,
    `panel` beneath it (RSI) with its `levels`."""

    overlay: dict[str, list[float | None]]
    panel: dict[str, list[float | None]]
    levels: tuple[int, ...]
    params: dict[str, Any]


_PARAMS: Mapping[str, type] = {
    "sma_crossover": SmaCrossoverParams,
    "ema_crossover": EmaCrossoverParams,
    "rsi_reversion": RsiReversionParams,
}


def strategy_kind(strategy_id: str, recorded: Mapping[str, Any]) -> str:
    """The strategy's code: what its run recorded (`_strategy`, the trade config's `strategy`),
    else its id when that names a built-in."""
    kind = recorded.get("_strategy")
    return str(kind) if isinstance(kind, str) and kind else strategy_id


def default_candle(recorded: Mapping[str, Any]) -> int:
    """The index in CANDLE_MINUTES of the bars the strategy trades on (`_bar_minutes` of its
    run), so its indicators are drawn as it computes them; else 15 minutes."""
    minutes = list(CANDLE_MINUTES.values())
    try:
        wanted = int(str(recorded.get("_bar_minutes", 15)))
    except ValueError:
        wanted = 15
    return minutes.index(wanted) if wanted in minutes else minutes.index(15)


def _params(kind: str, recorded: Mapping[str, Any]) -> dict[str, Any]:
    """The strategy's parameters: its defaults, overridden by what its run recorded (as text)."""
    cls = _PARAMS[kind]
    out: dict[str, Any] = {}
    for f in fields(cls):
        default = getattr(cls(), f.name)
        raw = recorded.get(f.name)
        if raw is None or isinstance(default, bool):
            out[f.name] = default if raw is None else str(raw).lower() == "true"
            continue
        try:
            out[f.name] = type(default)(raw)
        except (TypeError, ValueError):
            out[f.name] = default
    return out


def strategy_indicators(
    kind: str, recorded: Mapping[str, Any], closes: list[int]
) -> Indicators | None:
    """The strategy's indicators over `closes` (paise), computed by its own indicator classes
    with its recorded parameters; None for a strategy this page cannot draw."""
    if kind not in _PARAMS:
        return None
    p = _params(kind, recorded)
    if kind in ("sma_crossover", "ema_crossover"):
        make = SMA if kind == "sma_crossover" else EMA
        label = "SMA" if kind == "sma_crossover" else "EMA"
        lines: dict[str, list[float | None]] = {}
        for role in ("fast", "slow"):
            ind = make(int(p[role]))
            values: list[float | None] = []
            for c in closes:
                ind.update(c)
                values.append(ind.value / 100 if ind.ready else None)
            lines[f"{label} {p[role]} ({role})"] = values
        return Indicators(lines, {}, (), p)
    rsi = RSI(int(p["period"]))
    values = []
    for c in closes:
        rsi.update(c)
        values.append(rsi.value if rsi.ready else None)
    levels = (int(p["oversold"]), int(p["exit_level"]), int(p["overbought"]))
    return Indicators({}, {f"RSI {p['period']}": values}, levels, p)


def entries_and_exits(trades: pd.DataFrame) -> pd.DataFrame:
    """The trades (oldest first: side, quantity, price) with `kind`: an entry opens or adds
    to a position, an exit reduces or closes it, a flip does both."""
    kinds = []
    held = 0
    for side, qty in zip(trades["side"], trades["quantity"], strict=True):
        after = held + (int(qty) if side == "BUY" else -int(qty))
        if held == 0 or ((held > 0) == (after > 0) and abs(after) > abs(held)):
            kinds.append("entry")
        elif after != 0 and (held > 0) != (after > 0):
            kinds.append("flip")
        else:
            kinds.append("exit")
        held = after
    return trades.assign(kind=kinds)
