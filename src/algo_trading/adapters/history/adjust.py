"""Split and bonus adjustment of stored (raw) candles from a corporate-actions CSV, applied when
bars are read for a backtest, never to the store (issue #11, item 2; off unless asked).

The CSV has the columns (any case) `symbol`, `ex_date` (YYYY-MM-DD), `action` (`split` or
`bonus`) and `ratio` written `A:B`:
* split A:B: A new shares for every B held (a face value of 10 split to 2 is `5:1`);
* bonus A:B: A bonus shares for every B held (`1:1` doubles the shares).
Each bar that starts before the ex-date (IST) has its prices divided by the factor (A/B for a
split, (A+B)/B for a bonus), rounded to the nearest tick (half up, never below one tick), and
its volume multiplied by the factor (rounded down): the series then reads as if the shares of
the ex-date had always existed. Several actions multiply.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from algo_trading.adapters.history.bars import I64, BarSeries
from algo_trading.adapters.history.numbers import show
from algo_trading.domain.errors import DataError

__all__ = ["CorporateAction", "adjust", "load_actions"]

_IST_NS = 19_800 * 10**9


@dataclass(frozen=True, slots=True)
class CorporateAction:
    symbol: str
    ex_date: dt.date
    factor: Fraction  # shares after / shares before

    @property
    def ex_ns(self) -> int:
        midnight = dt.datetime.combine(self.ex_date, dt.time(0), tzinfo=dt.UTC)
        return int(midnight.timestamp()) * 10**9 - _IST_NS


def load_actions(path: str | Path) -> list[CorporateAction]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read it ({type(exc).__name__})") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise DataError(f"{p}: empty; need columns symbol, ex_date, action, ratio")
    header = ["_".join(c.strip().lower().split()) for c in rows[0]]
    need = ("symbol", "ex_date", "action", "ratio")
    if any(n not in header for n in need):
        raise DataError(
            f"{p}: unknown corporate-actions shape: columns {', '.join(map(show, rows[0]))}; "
            "need symbol, ex_date, action, ratio"
        )
    at = {n: header.index(n) for n in need}
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise DataError(f"{p}, line {line}: {len(row)} cells, the header has {len(header)}")
        out.append(_action(p, line, *(row[at[n]].strip() for n in need)))
    return out


def _action(p: Path, line: int, symbol: str, ex: str, action: str, ratio: str) -> CorporateAction:
    where = f"{p}, line {line}"
    if not symbol:
        raise DataError(f"{where}: symbol is empty")
    try:
        ex_date = dt.date.fromisoformat(ex)
    except ValueError:
        raise DataError(f"{where}: ex_date {show(ex)} is not a date (YYYY-MM-DD)") from None
    a, sep, b = ratio.partition(":")
    if not (sep and a.strip().isdigit() and b.strip().isdigit()) or not int(a) or not int(b):
        raise DataError(f"{where}: ratio {show(ratio)} is not A:B with whole numbers above 0")
    kind = action.lower()
    if kind == "split":
        factor = Fraction(int(a), int(b))
    elif kind == "bonus":
        factor = Fraction(int(a) + int(b), int(b))
    else:
        raise DataError(f"{where}: action {show(action)} is not split or bonus")
    return CorporateAction(symbol, ex_date, factor)


def adjust(series: BarSeries, actions: list[CorporateAction], tick_paise: int) -> BarSeries:
    """`series` with every action of its symbol applied to the bars before its ex-date."""
    mine = [a for a in actions if a.symbol == series.symbol]
    if not mine or not len(series):
        return series
    prices = {n: getattr(series, n).copy() for n in ("open", "high", "low", "close")}
    volume = series.volume.copy()
    # one factor per bar: the product of every action whose ex-date is after the bar's start
    num = np.ones(len(series), dtype=object)
    den = np.ones(len(series), dtype=object)
    for action in mine:
        before = series.ts_ns < action.ex_ns
        num[before] *= action.factor.numerator
        den[before] *= action.factor.denominator
    touched = np.flatnonzero(num != den)
    for name, col in prices.items():
        prices[name] = _divide(col, num, den, touched, tick_paise)
    vol = volume[touched].astype(object) * num[touched] // den[touched]
    volume[touched] = np.asarray(vol, dtype=np.int64)
    return BarSeries(
        series.symbol,
        series.ts_ns,
        prices["open"],
        prices["high"],
        prices["low"],
        prices["close"],
        volume,
    )


def _divide(col: I64, num: np.ndarray, den: np.ndarray, rows: np.ndarray, tick: int) -> I64:
    """price × den / num to the nearest tick, half up, exactly (Python integers)."""
    out = col.copy()
    p = col[rows].astype(object) * den[rows]
    q = num[rows] * tick
    ticks = (2 * p + q) // (2 * q)
    out[rows] = np.maximum(np.asarray(ticks, dtype=np.int64), 1) * tick
    return out
