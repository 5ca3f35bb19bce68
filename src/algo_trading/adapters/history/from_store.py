"""Bars for a backtest from the history store (`--data store:SYM[,SYM...]`, issue #11): the same
`BarSeries` a CSV gives, held to the same session rule."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from algo_trading.adapters.history.bars import BarSeries
from algo_trading.adapters.history.sessions import first_off_session
from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.domain.errors import DataError
from algo_trading.engine.ports import BarKey
from algo_trading.market.calendar import TradingCalendar

__all__ = ["load_from_store"]


def load_from_store(
    store: ParquetBarStore,
    exchange: str,
    symbols: Sequence[str],
    interval: str,
    start_ns: int | None,
    end_ns: int | None,
    *,
    calendar: TradingCalendar | None,
) -> list[BarSeries]:
    out = []
    for symbol in symbols:
        key = BarKey(exchange, symbol, interval)
        if not store.years(key):
            have = sorted({k.symbol for k in store.stored_keys() if k.exchange == exchange})
            listed = ", ".join(have[:10]) or "nothing"
            raise DataError(
                f"store:{symbol}: the history store {store.root} has no {interval} bars of "
                f"{symbol} on {exchange} (it has {listed}); fetch or import them first"
            )
        series = store.read(key, start_ns, end_ns)
        if not len(series):
            raise DataError(f"store:{symbol}: no {interval} bars of {symbol} in the asked range")
        if (np.diff(series.ts_ns) <= 0).any():
            raise DataError(
                f"store:{symbol}: stored start times repeat or go back; run data validate"
            )
        if calendar is not None:
            off = first_off_session(series.ts_ns, calendar)
            if off is not None:
                raise DataError(f"store:{symbol}: bar at {off[1]}; --allow-off-session accepts it")
        out.append(series)
    return out
