"""Scheduled trading reports: what paper and live trading did in a day, a week or a month.

P&L by strategy and by symbol, charges, win rate, the biggest winners and losers, and the risk
events (refusals by stable code), from the `trades` and `order_audit` tables. Written as JSON and
as one HTML page under `reports/daily|weekly|monthly/` of the object store (or any folder); the
data service's schedule calls `write_report` after the close. Optionally (off by default: no
`notify` given) each report's summary also goes to the alert channels (`engine.ports.Notifier`:
e-mail through SNS or SMTP, Telegram) as an INFO alert `REPORT_DAILY|WEEKLY|MONTHLY` naming the
stored objects.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, select

from algo_trading.adapters.storage.sql.database import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST
from algo_trading.domain.money import format_rupees as inr
from algo_trading.engine.ports import Alert, AlertSeverity

__all__ = [
    "KINDS",
    "Period",
    "build_report",
    "load_rows",
    "period_of",
    "render_html",
    "report_alert",
    "write_report",
]

Kind = Literal["daily", "weekly", "monthly"]
KINDS: tuple[Kind, ...] = ("daily", "weekly", "monthly")
_TOP = 5


@dataclass(frozen=True)
class Period:
    kind: Kind
    first: dt.date
    last: dt.date  # inclusive

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return self.first.isoformat()
        if self.kind == "weekly":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first:%Y-%m}"

    def bounds_utc(self) -> tuple[dt.datetime, dt.datetime]:
        start = dt.datetime.combine(self.first, dt.time(0), tzinfo=IST)
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(0), tzinfo=IST)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def period_of(kind: str, day: dt.date) -> Period:
    """The IST day, the ISO week (Monday to Sunday) or the month that holds `day`."""
    if kind == "daily":
        return Period("daily", day, day)
    if kind == "weekly":
        monday = day - dt.timedelta(days=day.weekday())
        return Period("weekly", monday, monday + dt.timedelta(days=6))
    if kind == "monthly":
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return Period("monthly", first, following - dt.timedelta(days=1))
    raise ConfigError(f"--kind {kind!r} is unknown (known: {', '.join(KINDS)})")


def load_rows(db: Database, period: Period) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The period's trades and risk refusals, as plain dicts."""
    trades_t = metadata.tables["trades"]
    audit_t = metadata.tables["order_audit"]
    start, end = period.bounds_utc()
    with db.read_engine.connect() as conn:
        trades = [
            dict(r._mapping)
            for r in conn.execute(
                select(trades_t)
                .where(and_(trades_t.c.executed_at >= start, trades_t.c.executed_at < end))
                .order_by(trades_t.c.executed_at, trades_t.c.id)
            )
        ]
        refusals = [
            dict(r._mapping)
            for r in conn.execute(
                select(audit_t).where(
                    and_(
                        audit_t.c.occurred_at >= start,
                        audit_t.c.occurred_at < end,
                        audit_t.c.stage == "risk",
                        audit_t.c.decision_code != "OK",
                    )
                )
            )
        ]
    return trades, refusals


def _ist(when: dt.datetime) -> str:
    """SQLite hands naive UTC datetimes back; PostgreSQL aware ones."""
    aware = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    return aware.astimezone(IST).isoformat(timespec="seconds")


def build_report(
    period: Period, trades: Iterable[Mapping[str, Any]], refusals: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The report's figures (pure): money in paise, executions that realized P&L count as the
    closed trades for the win rate and the winners and losers."""
    by_strategy: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_symbol: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    closing: list[dict[str, Any]] = []
    count = 0
    for t in trades:
        count += 1
        net = int(t["pnl"]) - int(t["charges"])
        for book, key in ((by_strategy, t["strategy"]), (by_symbol, t["symbol"])):
            book[key]["executions"] += 1
            book[key]["pnl_paise"] += int(t["pnl"])
            book[key]["charges_paise"] += int(t["charges"])
            book[key]["net_paise"] += net
        if int(t["pnl"]) != 0:
            closing.append(
                {
                    "strategy": t["strategy"],
                    "symbol": t["symbol"],
                    "side": t["side"],
                    "quantity": int(t["quantity"]),
                    "executed_at": _ist(t["executed_at"]),
                    "net_paise": net,
                }
            )
    wins = [c for c in closing if c["net_paise"] > 0]
    ranked = sorted(closing, key=lambda c: c["net_paise"])
    codes = Counter(str(r["decision_code"]) for r in refusals)
    pnl = sum(v["pnl_paise"] for v in by_strategy.values())
    charges = sum(v["charges_paise"] for v in by_strategy.values())
    return {
        "kind": period.kind,
        "period": period.label,
        "first_day": period.first.isoformat(),
        "last_day": period.last.isoformat(),
        "executions": count,
        "pnl_paise": pnl,
        "charges_paise": charges,
        "net_paise": pnl - charges,
        "closed_trades": len(closing),
        "win_rate": len(wins) / len(closing) if closing else None,
        "by_strategy": {k: dict(v) for k, v in sorted(by_strategy.items())},
        "by_symbol": {k: dict(v) for k, v in sorted(by_symbol.items())},
        "biggest_winners": [c for c in reversed(ranked) if c["net_paise"] > 0][:_TOP],
        "biggest_losers": [c for c in ranked if c["net_paise"] < 0][:_TOP],
        "risk_events": dict(sorted(codes.items())),
    }


def _table(title: str, rows: Mapping[str, Mapping[str, int]]) -> str:
    if not rows:
        return ""
    head = "<tr><th></th><th>executions</th><th>P&amp;L</th><th>charges</th><th>net</th></tr>"
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{v['executions']}</td><td>{inr(v['pnl_paise'])}</td>"
        f"<td>{inr(v['charges_paise'])}</td><td>{inr(v['net_paise'])}</td></tr>"
        for k, v in rows.items()
    )
    return f"<h2>{html.escape(title)}</h2><table>{head}{body}</table>"


def _list(title: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return ""
    body = "".join(
        f"<li>{html.escape(c['executed_at'])} {html.escape(c['strategy'])} "
        f"{html.escape(c['symbol'])} "
        f"{html.escape(c['side'])} {c['quantity']}: {inr(c['net_paise'])}</li>"
        for c in items
    )
    return f"<h2>{html.escape(title)}</h2><ul>{body}</ul>"


def render_html(report: Mapping[str, Any]) -> str:
    win = report["win_rate"]
    summary = (
        f"<p>{report['executions']} executions, {report['closed_trades']} closed trades, "
        f"win rate {'n/a' if win is None else f'{win:.0%}'}. P&amp;L {inr(report['pnl_paise'])}, "
        f"charges {inr(report['charges_paise'])}, "
        f"net <strong>{inr(report['net_paise'])}</strong>.</p>"
    )
    events = report["risk_events"]
    risk = (
        "<h2>Risk events</h2><ul>"
        + "".join(f"<li>{html.escape(k)}: {v}</li>" for k, v in events.items())
        + "</ul>"
        if events
        else "<p>No risk refusals.</p>"
    )
    empty = "" if report["executions"] else "<p>No trades in this period.</p>"
    title = f"Trading report {report['kind']} {report['period']}"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:system-ui,sans-serif;margin:24px}}"
        "table{border-collapse:collapse}"
        "th,td{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}"
        f"</style></head><body><h1>{html.escape(title)}</h1>{summary}{empty}"
        f"{_table('By strategy', report['by_strategy'])}{_table('By symbol', report['by_symbol'])}"
        f"{_list('Biggest winners', report['biggest_winners'])}"
        f"{_list('Biggest losers', report['biggest_losers'])}{risk}</body></html>"
    )


def write_report(put: Callable[[str, bytes], None], report: Mapping[str, Any]) -> list[str]:
    """Store the report's JSON and HTML under reports/<kind>/<period>.*; returns the keys.
    Idempotent: the same period written again replaces the same two objects."""
    base = f"reports/{report['kind']}/{report['period']}"
    keys = [f"{base}.json", f"{base}.html"]
    put(keys[0], json.dumps(report, indent=1, sort_keys=True).encode("utf-8"))
    put(keys[1], render_html(report).encode("utf-8"))
    return keys


def report_alert(report: Mapping[str, Any], keys: Iterable[str], ts_ns: int) -> Alert:
    """The report's summary as an INFO alert for the e-mail (SNS, SMTP) and chat channels. Its
    code is per kind (REPORT_DAILY, ...): the daily, weekly and monthly reports of one evening
    are three alerts, not repeats of one that de-duplication would hold back."""
    win = report["win_rate"]
    events = report["risk_events"]
    text = (
        f"{report['kind']} trading report {report['period']}: {report['executions']} executions, "
        f"{report['closed_trades']} closed trades, win rate "
        f"{'n/a' if win is None else f'{win:.0%}'}, net {inr(report['net_paise'])} "
        f"(P&L {inr(report['pnl_paise'])}, charges {inr(report['charges_paise'])}), "
        f"{sum(events.values())} risk refusals"
    )
    details: dict[str, str] = {"stored": ", ".join(keys)}
    for label, items in (("best", report["biggest_winners"]), ("worst", report["biggest_losers"])):
        if items:
            c = items[0]
            details[label] = f"{c['strategy']} {c['symbol']} {inr(c['net_paise'])}"
    return Alert(
        f"REPORT_{str(report['kind']).upper()}", AlertSeverity.INFO, text, ts_ns, details=details
    )


def scheduled_reports(
    db: Database,
    put: Callable[[str, bytes], None],
    notify: Callable[[Alert], None] | None = None,
    now_ns: Callable[[], int] | None = None,
) -> Callable[[dt.date], str]:
    """The data service's after-close job: the day's report, and the week's and the month's so
    far (rewritten each trading day, so the last one of a period is its whole report). With
    `notify` (a Notifier's `notify`; off by default) each report's summary is sent too, stamped
    with `now_ns` (the service's clock)."""
    if notify is not None and now_ns is None:
        raise ConfigError("reports: sending them needs the clock that stamps the alerts")

    def run(day: dt.date) -> str:
        written = []
        for kind in KINDS:
            period = period_of(kind, day)
            trades, refusals = load_rows(db, period)
            report = build_report(period, trades, refusals)
            written.append(f"{kind} {period.label}: {report['executions']} executions")
            keys = write_report(put, report)
            if notify is not None and now_ns is not None:
                notify(report_alert(report, keys, now_ns()))
        return "; ".join(written)

    return run
