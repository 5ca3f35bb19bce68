"""Generated 1-minute bars for demos, benchmarks and tests: NSE's normal session (09:15 to
15:29 bar opens, 375 bars a day, IST) on NSE's regular trading days where its calendar has the
year (no holiday, weekend or special session), weekdays outside those years; every price on the
0.05 tick. So the loader's session check accepts them. A seeded random walk: the same seed gives
the same bars on every machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from algo_trading.adapters.history import BarSeries
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.instruments import Exchange
from algo_trading.market.calendar import calendar_for

__all__ = ["BARS_PER_DAY", "generate_bars", "write_bars"]

BARS_PER_DAY = 375
_TICK = 5
_SESSION_OPEN_UTC_NS = (3 * 60 + 45) * 60 * 10**9  # 09:15 IST
_NS_PER_DAY = 86_400 * 10**9


def generate_bars(
    n: int,
    *,
    symbol: str = "SYNTH",
    seed: int = 7,
    start: dt.date = dt.date(2024, 1, 1),
    start_price_paise: int = 100_000,
    trend_ticks: int = 1,
) -> BarSeries:
    """`n` bars from `start`. `trend_ticks` is the drift per bar, in ticks, of the slow trending
    regimes (0: a driftless random walk, where no trend-follower should make money)."""
    if n <= 0:
        raise ConfigError(f"generate: number of bars {n} must be positive")
    if start_price_paise <= 0 or start_price_paise % _TICK:
        raise ConfigError(
            f"generate: start price {start_price_paise} paise is not on the 0.05 tick"
        )
    rng = np.random.default_rng(seed)
    days_needed = -(-n // BARS_PER_DAY)
    days = _session_days(start, days_needed)
    day_ns = np.repeat(np.array(days, dtype=np.int64) * _NS_PER_DAY, BARS_PER_DAY)[:n]
    minute = np.tile(np.arange(BARS_PER_DAY, dtype=np.int64), days_needed)[:n]
    ts = day_ns + _SESSION_OPEN_UTC_NS + minute * 60 * 10**9
    # Steps in ticks, with a slow drift that changes sign so trends come and go.
    regime = np.sin(np.arange(n) / 2000.0)
    steps = rng.integers(-3, 4, size=n) + trend_ticks * (
        np.where(regime > 0.3, 1, 0) - np.where(regime < -0.3, 1, 0)
    )
    floor_ticks = start_price_paise // _TICK // 5
    close_t = np.maximum(start_price_paise // _TICK + np.cumsum(steps), floor_ticks)
    open_t = np.empty(n, dtype=np.int64)
    open_t[0] = start_price_paise // _TICK
    open_t[1:] = np.maximum(close_t[:-1] + rng.integers(-1, 2, size=n - 1), floor_ticks)
    high_t = np.maximum(open_t, close_t) + rng.integers(0, 4, size=n)
    low_t = np.maximum(np.minimum(open_t, close_t) - rng.integers(0, 4, size=n), 1)
    volume = rng.integers(100, 50_000, size=n)
    return BarSeries(
        symbol,
        ts,
        open_t * _TICK,
        high_t * _TICK,
        low_t * _TICK,
        close_t * _TICK,
        volume.astype(np.int64),
    )


def _session_days(start: dt.date, count: int) -> list[int]:
    """`count` days from `start` (as days since 1970) with NSE's regular 09:15-15:30 session."""
    calendar = calendar_for(Exchange.NSE)
    days: list[int] = []
    d = start
    while len(days) < count:
        if calendar.first_day <= d <= calendar.last_day:
            regular = calendar.is_trading_day(d) and d not in calendar.special_sessions
        else:  # a year the calendar does not hold: weekdays, as the session check judges them
            regular = d.weekday() < 5
        if regular:
            days.append((d - dt.date(1970, 1, 1)).days)
        d += dt.timedelta(days=1)
    return days


def _rupees_text(paise: np.ndarray) -> pa.Array:
    rupees = pa.array((paise // 100).astype(np.int64)).cast(pa.string())
    cents = pa.array((paise % 100).astype(np.int64) + 100).cast(pa.string())
    return pc.binary_join_element_wise(rupees, pc.utf8_slice_codeunits(cents, 1, 3), ".")


def write_bars(series: BarSeries, path: str | Path) -> Path:
    """Write bars as CSV (ISO 8601 timestamps with +05:30, rupees with two decimals) or Parquet
    (timestamp with time zone, decimal prices). Written to a temporary name, then renamed, so a
    reader never sees half a file."""
    p = Path(path)
    ist = pa.array((series.ts_ns + 19_800 * 10**9) // 10**9, pa.timestamp("s"))
    stamp = pc.binary_join_element_wise(pc.strftime(ist, "%Y-%m-%dT%H:%M:%S"), "+05:30", "")
    tmp = p.with_name(p.name + ".part")
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.suffix.lower() == ".csv":
        table = pa.table(
            {
                "timestamp": stamp,
                **{k: _rupees_text(getattr(series, k)) for k in ("open", "high", "low", "close")},
                "volume": pa.array(series.volume),
            }
        )
        with pa.OSFile(str(tmp), "wb") as out:
            out.write((",".join(table.column_names) + "\n").encode())
            pacsv.write_csv(
                table,
                out,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
            )
    elif p.suffix.lower() in (".parquet", ".pq"):
        dec = pa.decimal128(18, 2)
        table = pa.table(
            {
                "timestamp": pa.array(series.ts_ns, pa.timestamp("ns", "UTC")),
                **{
                    k: _rupees_text(getattr(series, k)).cast(dec)
                    for k in ("open", "high", "low", "close")
                },
                "volume": pa.array(series.volume),
            }
        )
        pq.write_table(table, tmp)
    else:
        raise ConfigError(f"{p}: unknown file type {p.suffix!r} (use .csv or .parquet)")
    tmp.replace(p)
    return p
