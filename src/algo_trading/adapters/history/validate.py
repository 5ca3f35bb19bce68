"""`data validate`: what is wrong with a stored series (issue #11, item 2).

Read from the files as they are (no merge, no de-duplication), so a file written by something
else, or damaged, shows what it holds:
* gaps: a trading day of the exchange's calendar between the series' first and last day with
  no bar, or with bars missing from its continuous session (runs of missing start times);
* duplicates: a start time stored more than once; start times out of order;
* impossible bars: high below low, open or close outside [low, high], a price not positive or
  not on the tick, a negative volume;
* off-grid or off-session bars: a start time that is not on the interval's grid from the open
  of that day's session (09:15 IST; a Muhurat or other special session from its own open, as
  the calendar has it; 00:00 IST for daily candles) or outside the session.

Days the calendar cannot judge (a special session whose hours are not tabled) are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from algo_trading.adapters.history.bars import I64, BarSeries
from algo_trading.adapters.history.sessions import session_window
from algo_trading.adapters.history.store import ParquetBarStore
from algo_trading.domain.errors import InvalidInputError
from algo_trading.domain.events import ns_to_ist
from algo_trading.engine.ports import BarKey
from algo_trading.market.calendar import TradingCalendar
from algo_trading.market.instruments import InstrumentMaster

__all__ = [
    "INTERVAL_MINUTES",
    "Finding",
    "SeriesReport",
    "TickSize",
    "off_grid",
    "tick_size_for",
    "validate_series",
]

INTERVAL_MINUTES: Mapping[str, int] = {
    "ONE_MINUTE": 1,
    "THREE_MINUTE": 3,
    "FIVE_MINUTE": 5,
    "TEN_MINUTE": 10,
    "FIFTEEN_MINUTE": 15,
    "THIRTY_MINUTE": 30,
    "ONE_HOUR": 60,
    "ONE_DAY": 0,  # one candle a day, stamped 00:00 IST (angel-one-smartapi.md §3)
}
"""Angel One's candle intervals (§3) in minutes; 0 for daily candles."""

_NS = 10**9
_MINUTE_NS = 60 * _NS
_DAY_NS = 86_400 * _NS
_IST_NS = 19_800 * _NS
_OPEN_MINUTE = 9 * 60 + 15
_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: its kind (gap, duplicate, order, impossible, grid, session) and a line."""

    kind: str
    text: str


@dataclass(slots=True)
class SeriesReport:
    key: BarKey
    bars: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.findings if f.kind == kind)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True, slots=True)
class TickSize:
    """The tick a series' prices must be on, and where it came from (said in the report)."""

    paise: int
    source: str

    def describe(self) -> str:
        return f"tick {_rupees(self.paise)} from {self.source}"


def tick_size_for(
    key: BarKey,
    master: InstrumentMaster | None,
    *,
    master_name: str = "the instrument master",
    override_paise: int | None = None,
    fallback_paise: int = 5,
) -> TickSize:
    """`key`'s tick: `override_paise` when given (--tick-size), else the instrument master's
    tick for the symbol on its exchange, else `fallback_paise` (a symbol the master lacks,
    an index with no tick)."""
    if override_paise is not None:
        return TickSize(override_paise, "--tick-size")
    if master is not None:
        try:
            inst = master.by_symbol(key.symbol, key.exchange)
        except InvalidInputError:
            inst = None
        if inst is not None and inst.tick_size_paise > 0:
            return TickSize(inst.tick_size_paise, master_name)
        why = "not in" if inst is None else "without a tick in"
        return TickSize(fallback_paise, f"the default ({key.symbol} {why} {master_name})")
    return TickSize(fallback_paise, "the default (no instrument master)")


def _stamp(ts_ns: int) -> str:
    return ns_to_ist(int(ts_ns)).strftime("%Y-%m-%d %H:%M IST")


def _rupees(paise: int) -> str:
    return f"{Decimal(int(paise)).scaleb(-2)}"


def off_grid(
    ts_ns: I64, interval: str, calendar: TradingCalendar | None = None
) -> npt.NDArray[np.bool_]:
    """Which start times are not on `interval`'s grid: from the day's open (09:15 IST; with a
    `calendar`, the open of that day's session, so a Muhurat session's grid starts at its own
    open), or at 00:00 IST for daily candles."""
    step = INTERVAL_MINUTES[interval]
    local = ts_ns + _IST_NS
    if local.size and not step:
        return np.asarray(local % _DAY_NS != 0)
    if not step:
        return np.zeros(0, dtype=bool)
    minute = (local % _DAY_NS) // _MINUTE_NS
    opens: npt.NDArray[np.int64] | int = _OPEN_MINUTE
    if calendar is not None and local.size:
        days, inverse = np.unique(local // _DAY_NS, return_inverse=True)
        anchors = np.full(len(days), _OPEN_MINUTE, dtype=np.int64)
        for k, number in enumerate(days.tolist()):
            window = session_window(calendar, _EPOCH + dt.timedelta(days=number))
            if not isinstance(window, str):
                anchors[k] = ((window[0] + _IST_NS) % _DAY_NS) // _MINUTE_NS
        opens = anchors[inverse.reshape(-1)]
    return np.asarray(((local % _MINUTE_NS) != 0) | ((minute - opens) % step != 0))


def validate_series(
    store: ParquetBarStore,
    key: BarKey,
    calendar: TradingCalendar | None,
    tick_paise: int,
) -> SeriesReport:
    report = SeriesReport(key)
    parts = [store.read_raw(key, year) for year in store.years(key)]
    if not parts:
        report.notes.append("nothing stored")
        return report
    ts = np.concatenate([p.ts_ns for p in parts])
    s = BarSeries(
        key.symbol, ts, *(np.concatenate([getattr(p, c) for p in parts]) for c in _PRICE_VOL)
    )
    report.bars = len(ts)
    if not len(ts):
        return report
    report.first_ns, report.last_ns = int(ts.min()), int(ts.max())
    _order_and_duplicates(s, report)
    _impossible(s, tick_paise, report)
    if key.interval not in INTERVAL_MINUTES:
        report.notes.append(f"interval {key.interval} unknown: grid and gaps not checked")
        return report
    grid = off_grid(ts, key.interval, calendar)
    for i in np.flatnonzero(grid)[:_SHOW].tolist():
        report.findings.append(
            Finding("grid", f"{_stamp(ts[i])}: not on the {key.interval} grid of the session")
        )
    if calendar is None:
        report.notes.append(f"no trading calendar for {key.exchange}: gaps not checked")
        return report
    _gaps(np.unique(ts[~grid]), key.interval, calendar, report)
    return report


_PRICE_VOL = ("open", "high", "low", "close", "volume")
_SHOW = 20  # findings of one kind listed in full; the rest are counted


def _more(report: SeriesReport, kind: str, total: int) -> None:
    if total > _SHOW:
        report.findings.append(Finding(kind, f"... and {total - _SHOW:,} more {kind} findings"))


def _order_and_duplicates(s: BarSeries, report: SeriesReport) -> None:
    d = np.diff(s.ts_ns)
    back = np.flatnonzero(d < 0)
    for j in back[:_SHOW].tolist():
        report.findings.append(
            Finding("order", f"{_stamp(s.ts_ns[j + 1])} is stored after {_stamp(s.ts_ns[j])}")
        )
    _more(report, "order", len(back))
    values, counts = np.unique(s.ts_ns, return_counts=True)
    dup = np.flatnonzero(counts > 1)
    for k in dup[:_SHOW].tolist():
        report.findings.append(
            Finding("duplicate", f"{_stamp(values[k])} is stored {int(counts[k])} times")
        )
    _more(report, "duplicate", len(dup))


def _impossible(s: BarSeries, tick: int, report: SeriesReport) -> None:
    checks: list[tuple[npt.NDArray[np.bool_], str]] = []
    for name in ("open", "high", "low", "close"):
        col = getattr(s, name)
        checks.append((col <= 0, f"{name} {{{name}}} is not positive"))
    checks.append((s.high < s.low, "high {high} is below low {low}"))
    for name in ("open", "close"):
        col = getattr(s, name)
        checks.append(
            (
                (col < s.low) | (col > s.high),
                f"{name} {{{name}}} is outside [low {{low}}, high {{high}}]",
            )
        )
    for name in ("open", "high", "low", "close"):
        col = getattr(s, name)
        checks.append((col % tick != 0, f"{name} {{{name}}} is not on the {_rupees(tick)} tick"))
    checks.append((s.volume < 0, "volume {volume} is negative"))
    bad_rows = np.zeros(len(s), dtype=bool)
    for mask, _ in checks:
        bad_rows |= mask
    rows = np.flatnonzero(bad_rows)
    for i in rows[:_SHOW].tolist():
        values = {n: _rupees(getattr(s, n)[i]) for n in ("open", "high", "low", "close")}
        values["volume"] = str(int(s.volume[i]))
        why = "; ".join(text.format(**values) for mask, text in checks if mask[i])
        report.findings.append(Finding("impossible", f"{_stamp(s.ts_ns[i])}: {why}"))
    _more(report, "impossible", len(rows))


def _gaps(ts: I64, interval: str, calendar: TradingCalendar, report: SeriesReport) -> None:
    """Missing start times on each trading day from the first stored day to the last."""
    step = INTERVAL_MINUTES[interval]
    days = (ts + _IST_NS) // _DAY_NS
    first, last = int(days[0]), int(days[-1])
    expected: list[I64] = []
    unknown = 0
    for number in range(first, last + 1):
        date = _EPOCH + dt.timedelta(days=number)
        window = session_window(calendar, date)
        if isinstance(window, str):
            if "whose hours" in window:
                unknown += 1
            continue
        if not step:
            expected.append(np.asarray([number * _DAY_NS - _IST_NS], dtype=np.int64))
        else:
            expected.append(np.arange(window[0], window[1], step * _MINUTE_NS, dtype=np.int64))
    if unknown:
        report.notes.append(f"{unknown} special session(s) without tabled hours not checked")
    want = np.concatenate(expected) if expected else np.zeros(0, dtype=np.int64)
    missing = np.setdiff1d(want, ts, assume_unique=True)
    extra = np.setdiff1d(ts, want, assume_unique=True)
    for i in extra[:_SHOW].tolist():
        report.findings.append(Finding("session", f"{_stamp(i)}: outside the exchange's sessions"))
    _more(report, "session", len(extra))
    if not len(missing):
        return
    gap_step = (step or 1440) * _MINUTE_NS
    breaks = np.flatnonzero(np.diff(missing) != gap_step) + 1
    runs = np.split(missing, breaks)
    for run in runs[:_SHOW]:
        a, b = int(run[0]), int(run[-1])
        n = len(run)
        what = "bar" if n == 1 else "bars"
        if not step:
            text = f"{ns_to_ist(a):%Y-%m-%d}" + ("" if n == 1 else f" to {ns_to_ist(b):%Y-%m-%d}")
            report.findings.append(Finding("gap", f"{text}: {n} daily {what} missing"))
        elif a == b:
            report.findings.append(Finding("gap", f"{_stamp(a)}: 1 bar missing"))
        else:
            report.findings.append(
                Finding("gap", f"{_stamp(a)} to {ns_to_ist(b):%H:%M} IST: {n} {what} missing")
            )
    _more(report, "gap", len(runs))
