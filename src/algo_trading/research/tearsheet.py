"""A tearsheet for a backtest (or a live period given as the same run shape): one self-contained
HTML file (Plotly, its JavaScript inlined, no network) and the same figures as JSON.

Figures: equity curve, drawdown, monthly returns (year x month) and yearly returns, rolling Sharpe
(63 trading days), the distribution of trade returns, charges paid by kind, exposure by month,
and the trade list. Money is shown in rupees with Indian grouping; times in IST.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from algo_trading.backtest.charges import ChargedTrip
from algo_trading.backtest.driver import BacktestRun
from algo_trading.backtest.metrics import Metrics
from algo_trading.domain.events import ns_to_ist
from algo_trading.domain.money import format_rupees as inr

__all__ = ["tearsheet_data", "tearsheet_html"]

_ROLLING_DAYS = 63
_IST_NS = 19_800_000_000_000
_DAY_NS = 86_400_000_000_000


def _daily(run: BacktestRun) -> tuple[list[str], list[float]]:
    ts, eq = run.timeline_ns, run.equity_paise
    if not len(eq):
        return [], []
    day = (ts + _IST_NS) // _DAY_NS
    last = np.flatnonzero(np.append(day[1:] != day[:-1], True))
    dates = [ns_to_ist(int(ts[i])).date().isoformat() for i in last]
    closes = [float(run.starting_cash_paise), *(float(eq[i]) for i in last)]
    returns = [b / a - 1 if a > 0 else 0.0 for a, b in itertools.pairwise(closes)]
    return dates, returns


def _compound(returns: list[float]) -> float:
    g = 1.0
    for r in returns:
        g *= 1 + r
    return g - 1


def tearsheet_data(
    run: BacktestRun,
    metrics: Metrics,
    config: dict[str, Any] | None = None,
    charged: Sequence[ChargedTrip] = (),
) -> dict[str, Any]:
    dates, returns = _daily(run)
    monthly: dict[str, list[float]] = defaultdict(list)
    yearly: dict[str, list[float]] = defaultdict(list)
    for d, r in zip(dates, returns, strict=True):
        monthly[d[:7]].append(r)
        yearly[d[:4]].append(r)
    rolling = []
    for i in range(_ROLLING_DAYS, len(returns) + 1):
        window = np.asarray(returns[i - _ROLLING_DAYS : i])
        sd = float(window.std(ddof=1))
        rolling.append(
            {
                "date": dates[i - 1],
                "sharpe": None if sd == 0 else float(window.mean() / sd * math.sqrt(252)),
            }
        )
    equity = run.equity_paise
    peak = np.maximum.accumulate(equity) if len(equity) else equity
    drawdown = (equity / peak - 1.0) if len(equity) else equity
    step = max(1, len(equity) // 2000)  # at most ~2,000 points per curve
    idx = list(range(0, len(equity), step))
    if len(equity) and idx[-1] != len(equity) - 1:
        idx.append(len(equity) - 1)
    times = [ns_to_ist(int(run.timeline_ns[i])).isoformat(timespec="minutes") for i in idx]
    exposure: dict[str, list[bool]] = defaultdict(list)
    for t, e in zip(run.timeline_ns.tolist(), run.exposed.tolist(), strict=True):
        exposure[ns_to_ist(int(t)).strftime("%Y-%m")].append(bool(e))
    charges_by_kind: dict[str, int] = defaultdict(int)
    for trip in charged:
        for kind, paise in trip.charges.lines().items():
            charges_by_kind[kind] += paise
    trades = [
        {
            "symbol": t.symbol,
            "side": "long" if t.direction > 0 else "short",
            "quantity": t.quantity,
            "entry": ns_to_ist(t.entry_ns).isoformat(timespec="minutes"),
            "exit": ns_to_ist(t.exit_ns).isoformat(timespec="minutes"),
            "pnl_paise": t.pnl_paise,
            "charges_paise": t.charges_paise,
            "net_paise": t.pnl_paise - t.charges_paise,
            "return": (t.pnl_paise - t.charges_paise) / t.entry_value_paise
            if t.entry_value_paise
            else None,
        }
        for t in run.round_trips
    ]
    return {
        "config": config or {},
        "metrics": metrics.as_dict(),
        "equity": {"time": times, "paise": [int(equity[i]) for i in idx]},
        "drawdown": {"time": times, "fraction": [float(drawdown[i]) for i in idx]},
        "monthly_returns": {k: _compound(v) for k, v in sorted(monthly.items())},
        "yearly_returns": {k: _compound(v) for k, v in sorted(yearly.items())},
        "rolling_sharpe": rolling,
        "trade_returns": [t["return"] for t in trades if t["return"] is not None],
        "charges_by_kind_paise": dict(charges_by_kind) or {"total": int(run.charges_paise)},
        "exposure_by_month": {k: sum(v) / len(v) for k, v in sorted(exposure.items())},
        "trades": trades,
    }


_UP, _DOWN = "#0072B2", "#D55E00"  # blue and vermilion: told apart with any colour vision


def _figures(data: dict[str, Any]) -> list[tuple[str, Any]]:
    import plotly.graph_objects as go

    layout = {
        "template": "plotly_white",
        "height": 340,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
    }
    figs: list[tuple[str, Any]] = []
    eq = data["equity"]
    figs.append(
        (
            "Equity",
            go.Figure(
                go.Scatter(
                    x=eq["time"],
                    y=[p / 100 for p in eq["paise"]],
                    line={"color": _UP},
                    name="equity (₹)",
                ),
                layout={**layout, "title": "Equity (₹)", "yaxis": {"tickformat": ",.0f"}},
            ),
        )
    )
    dd = data["drawdown"]
    figs.append(
        (
            "Drawdown",
            go.Figure(
                go.Scatter(
                    x=dd["time"],
                    y=[100 * f for f in dd["fraction"]],
                    fill="tozeroy",
                    line={"color": _DOWN},
                ),
                layout={**layout, "title": "Drawdown (%)"},
            ),
        )
    )
    monthly = data["monthly_returns"]
    years = sorted({k[:4] for k in monthly})
    months = [f"{m:02d}" for m in range(1, 13)]
    z = [
        [100 * monthly[f"{y}-{m}"] if f"{y}-{m}" in monthly else None for m in months]
        for y in years
    ]
    figs.append(
        (
            "Monthly returns",
            go.Figure(
                go.Heatmap(
                    z=z,
                    x=[
                        "Jan",
                        "Feb",
                        "Mar",
                        "Apr",
                        "May",
                        "Jun",
                        "Jul",
                        "Aug",
                        "Sep",
                        "Oct",
                        "Nov",
                        "Dec",
                    ],
                    y=years,
                    colorscale=[[0, _DOWN], [0.5, "#FFFFFF"], [1, _UP]],
                    zmid=0,
                    text=[["" if v is None else f"{v:.1f}%" for v in row] for row in z],
                    texttemplate="%{text}",
                ),
                layout={**layout, "title": "Monthly returns (%)"},
            ),
        )
    )
    yearly = data["yearly_returns"]
    figs.append(
        (
            "Yearly returns",
            go.Figure(
                go.Bar(
                    x=list(yearly),
                    y=[100 * v for v in yearly.values()],
                    marker_color=[_UP if v >= 0 else _DOWN for v in yearly.values()],
                ),
                layout={**layout, "title": "Yearly returns (%)"},
            ),
        )
    )
    rs = data["rolling_sharpe"]
    figs.append(
        (
            "Rolling Sharpe",
            go.Figure(
                go.Scatter(
                    x=[r["date"] for r in rs], y=[r["sharpe"] for r in rs], line={"color": _UP}
                ),
                layout={**layout, "title": f"Rolling Sharpe ({_ROLLING_DAYS} trading days)"},
            ),
        )
    )
    figs.append(
        (
            "Trade returns",
            go.Figure(
                go.Histogram(
                    x=[100 * r for r in data["trade_returns"]], marker_color=_UP, nbinsx=50
                ),
                layout={**layout, "title": "Distribution of trade returns (%)"},
            ),
        )
    )
    charges = data["charges_by_kind_paise"]
    figs.append(
        (
            "Charges",
            go.Figure(
                go.Bar(x=list(charges), y=[p / 100 for p in charges.values()], marker_color=_DOWN),
                layout={**layout, "title": "Charges paid by kind (₹)"},
            ),
        )
    )
    exposure = data["exposure_by_month"]
    figs.append(
        (
            "Exposure",
            go.Figure(
                go.Bar(x=list(exposure), y=[100 * v for v in exposure.values()], marker_color=_UP),
                layout={**layout, "title": "Time in the market by month (%)"},
            ),
        )
    )
    return figs


def _metrics_table(metrics: dict[str, Any]) -> str:
    rows = []
    for key, value in metrics.items():
        if key.endswith("_paise") and isinstance(value, int):
            shown = inr(value)
            key = key.removesuffix("_paise")
        elif isinstance(value, float):
            shown = f"{value:.4f}"
        else:
            shown = "n/a" if value is None else str(value)
        rows.append(f"<tr><th>{html.escape(key)}</th><td>{html.escape(shown)}</td></tr>")
    return "<table class='metrics'>" + "".join(rows) + "</table>"


def _trades_table(trades: list[dict[str, Any]], limit: int = 500) -> str:
    columns = ("symbol", "side", "qty", "entry (IST)", "exit (IST)", "P&L", "charges", "net")
    head = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>"
    rows = [
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(c))}</td>"
            for c in (
                t["symbol"],
                t["side"],
                t["quantity"],
                t["entry"],
                t["exit"],
                inr(t["pnl_paise"]),
                inr(t["charges_paise"]),
                inr(t["net_paise"]),
            )
        )
        + "</tr>"
        for t in trades[:limit]
    ]
    more = f"<p>{len(trades) - limit:,} more in the JSON.</p>" if len(trades) > limit else ""
    if not trades:
        return "<p>No closed trades in this run.</p>"
    return f"<table class='trades'>{head}{''.join(rows)}</table>{more}"


def tearsheet_html(data: dict[str, Any], title: str) -> str:
    import plotly.io as pio

    parts = []
    for i, (name, fig) in enumerate(_figures(data)):
        parts.append(f"<section aria-label='{html.escape(name)}'>")
        parts.append(
            pio.to_html(
                fig, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}
            )
        )
        parts.append("</section>")
    style = (
        "body{font-family:system-ui,sans-serif;margin:24px;color:#222}"
        "table{border-collapse:collapse;margin:12px 0}"
        "th,td{padding:4px 10px;border-bottom:1px solid #ddd;"
        "text-align:right}th{text-align:left}"
    )
    config = html.escape(json.dumps(data.get("config", {}), sort_keys=True))
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p><code>{config}</code></p>"
        f"{_metrics_table(data['metrics'])}{''.join(parts)}"
        f"<h2>Trades</h2>{_trades_table(data['trades'])}</body></html>"
    )
