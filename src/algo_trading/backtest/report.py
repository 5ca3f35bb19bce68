"""Turn a run into its outputs: metrics, a JSON summary, a readable report, and CSV files of
trades, orders and the equity curve (each written whole or not at all).

CSV outputs are opened in spreadsheets, and a text cell that starts with `=`, `+`, `-`, `@`, a
tab or a carriage return is run there as a formula (CSV injection): a symbol or a strategy's
order reason can come from a user's file or code. Every text cell is written with a leading `'`
in that case, which spreadsheets show as text. Numeric columns (quantities, rupees) are written
from our integers as numbers, never escaped: a negative P&L stays `-12.50`, a number.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from algo_trading.backtest.driver import BacktestRun
from algo_trading.backtest.metrics import Metrics, compute_metrics
from algo_trading.domain.events import ns_to_ist
from algo_trading.domain.money import format_rupees

__all__ = ["RunLabels", "escape_cell", "metrics_of", "render_text", "summary", "write_outputs"]


@dataclass(frozen=True)
class RunLabels:
    """What the command knows about a run that the run itself does not: how it was charged and
    whether its bars were checked against the exchange's sessions."""

    charges: str = "not stated"
    charges_off: bool = False
    sessions: str = "not stated"


def metrics_of(run: BacktestRun) -> Metrics:
    return compute_metrics(
        run.timeline_ns,
        run.equity_paise,
        run.exposed,
        run.round_trips,
        run.starting_cash_paise,
        run.charges_paise,
        run.bars,
    )


def _rupees(paise: int | None) -> float | None:
    return None if paise is None else float(Decimal(paise).scaleb(-2))


def _ratio(x: float | None, places: int = 6) -> float | None:
    return None if x is None else round(x, places)


def _json_value(value: Any) -> Any:
    """A parameter as JSON types it: numbers as numbers (a Decimal when a float holds it
    exactly, else its text), booleans as booleans, anything else as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        as_float = float(value)
        exact = math.isfinite(as_float) and Decimal(repr(as_float)) == value
        return as_float if exact else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def params_of(run: BacktestRun) -> dict[str, Any]:
    return {k: _json_value(v) for k, v in vars(run.strategy.params).items()}


def summary(run: BacktestRun, m: Metrics, labels: RunLabels | None = None) -> dict[str, Any]:
    """The JSON object of the CLI contract: rupees as numbers, ratios as fractions, parameters
    with their types."""
    labels = labels or RunLabels()
    return {
        "strategy": run.strategy.name,
        "params": params_of(run),
        "symbols": run.symbols,
        "bars": m.bars,
        "trades": m.trades,
        "fills": len(run.fills),
        "orders": len(run.orders),
        "starting_cash": _rupees(m.starting_cash_paise),
        "final_equity": _rupees(m.final_equity_paise),
        "net_pnl": _rupees(m.net_pnl_paise),
        "total_return": _ratio(m.total_return, 8),
        "cagr": _ratio(m.cagr),
        "sharpe": _ratio(m.sharpe),
        "sortino": _ratio(m.sortino),
        "max_drawdown": _ratio(m.max_drawdown),
        "max_drawdown_duration_days": _ratio(m.max_drawdown_duration_days, 3),
        "win_rate": _ratio(m.win_rate),
        "profit_factor": _ratio(m.profit_factor),
        "avg_trade": _rupees(m.avg_trade_paise),
        "exposure": _ratio(m.exposure),
        "charges": _rupees(m.charges_paise),
        "charges_schedule": labels.charges,
        "charges_off": labels.charges_off,
        "sessions": labels.sessions,
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.2f} %"


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def render_text(run: BacktestRun, m: Metrics, labels: RunLabels | None = None) -> str:
    """The readable report; with charges off, its first line says so before any figure."""
    labels = labels or RunLabels()
    first, last = ns_to_ist(int(run.timeline_ns[0])), ns_to_ist(int(run.timeline_ns[-1]))
    rows = [
        ("Strategy", f"{run.strategy.name} {params_of(run)}"),
        ("Symbols", ", ".join(run.symbols)),
        ("Period (IST)", f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"),
        ("Bars", f"{m.bars:,}"),
        ("Starting cash", format_rupees(m.starting_cash_paise)),
        ("Final equity", format_rupees(m.final_equity_paise)),
        ("Net P&L", format_rupees(m.net_pnl_paise)),
        ("Total return", _pct(m.total_return)),
        ("CAGR", _pct(m.cagr)),
        ("Sharpe (daily, ann.)", _num(m.sharpe)),
        ("Sortino (daily, ann.)", _num(m.sortino)),
        ("Max drawdown", f"{_pct(m.max_drawdown)} over {m.max_drawdown_duration_days:.1f} days"),
        ("Trades (round trips)", str(m.trades)),
        ("Win rate", _pct(m.win_rate)),
        ("Profit factor", _num(m.profit_factor)),
        ("Average trade", "n/a" if m.avg_trade_paise is None else format_rupees(m.avg_trade_paise)),
        ("Exposure", _pct(m.exposure)),
        ("Charges", labels.charges),
        ("Charges paid", format_rupees(m.charges_paise)),
        ("Sessions", labels.sessions),
    ]
    width = max(len(k) for k, _ in rows)
    table = "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
    if labels.charges_off:
        return (
            "CHARGES OFF (--charges none): no brokerage, tax or fee is in these figures; "
            "real trading pays them.\n" + table
        )
    return table


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(cell: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, with a leading `'`; any other cell
    (a number: int or Decimal) as it is."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([escape_cell(h) for h in header])
    w.writerows([escape_cell(c) for c in row] for row in rows)
    return buf.getvalue()


def _money(paise: int) -> Decimal:
    """Rupees as a number cell: a Decimal, so the CSV escape leaves it (and its sign) alone."""
    return Decimal(paise).scaleb(-2)


def iso(ts_ns: int) -> str:
    return ns_to_ist(ts_ns).isoformat()


def write_outputs(
    run: BacktestRun, m: Metrics, out_dir: Path, labels: RunLabels | None = None
) -> list[Path]:
    """trades.csv, orders.csv, fills.csv, equity.csv and summary.json in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "trades.csv": _csv(
            [
                "symbol",
                "direction",
                "quantity",
                "entry_time",
                "exit_time",
                "entry_value",
                "exit_value",
                "pnl",
                "charges",
                "net_pnl",
            ],
            [
                [
                    t.symbol,
                    "LONG" if t.direction > 0 else "SHORT",
                    t.quantity,
                    iso(t.entry_ns),
                    iso(t.exit_ns),
                    _money(t.entry_value_paise),
                    _money(t.exit_value_paise),
                    _money(t.pnl_paise),
                    _money(t.charges_paise),
                    _money(t.pnl_paise - t.charges_paise),
                ]
                for t in run.round_trips
            ],
        ),
        "orders.csv": _csv(
            [
                "client_order_id",
                "symbol",
                "side",
                "order_type",
                "quantity",
                "price",
                "trigger_price",
                "product",
                "status",
                "filled_quantity",
                "created",
                "updated",
                "reason",
            ],
            [
                [
                    o.client_order_id,
                    o.symbol,
                    o.side.value,
                    o.order_type.value,
                    o.quantity,
                    "" if o.price_paise is None else _money(o.price_paise),
                    "" if o.trigger_price_paise is None else _money(o.trigger_price_paise),
                    o.product.value,
                    o.status.value,
                    o.filled_quantity,
                    iso(o.created_ns),
                    iso(o.updated_ns),
                    o.reason,
                ]
                for o in run.orders
            ],
        ),
        "fills.csv": _csv(
            [
                "trade_id",
                "client_order_id",
                "symbol",
                "side",
                "quantity",
                "price",
                "time",
                "charges",
            ],
            [
                [
                    f.trade_id,
                    f.client_order_id,
                    f.symbol,
                    f.side.value,
                    f.quantity,
                    _money(f.price_paise),
                    iso(f.ts_ns),
                    _money(f.charges_paise),
                ]
                for f in run.fills
            ],
        ),
        "equity.csv": _csv(
            ["time", "equity"],
            [
                [iso(t), _money(e)]
                for t, e in zip(run.timeline_ns.tolist(), run.equity_paise.tolist(), strict=True)
            ],
        ),
        "summary.json": json.dumps(summary(run, m, labels), indent=2) + "\n",
    }
    written = []
    for name, text in files.items():
        path = out_dir / name
        _atomic_write(path, text)
        written.append(path)
    return written
