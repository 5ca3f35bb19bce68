"""Performance figures from the daily P&L frame (pure pandas; the pages draw them): equity and
drawdown, the calendar and monthly returns, per-strategy metrics (the backtester's set, from
`backtest.metrics`) and charges by kind estimated from turnover with Angel One's schedule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from algo_trading.backtest.metrics import compute_metrics
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.instruments import Exchange, InstrumentType
from algo_trading.domain.orders import ProductType
from algo_trading.market import ANGEL_ONE, ChargeSegment
from algo_trading.market.charges import round_trip_charges
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.market.margins import ANGEL_ONE_MARGINS, margin_basis_paise, margin_pct

__all__ = ["charges_by_kind", "equity_curve", "margin_used", "monthly", "strategy_metrics"]

_NS_PER_DAY = 86_400 * 10**9


def equity_curve(daily: pd.DataFrame, capital_paise: int) -> pd.DataFrame:
    """Per day: net P&L, equity (capital + cumulative net) and drawdown from the running peak."""
    per_day = daily.groupby("day", as_index=False)["net"].sum().sort_values("day")
    per_day["equity"] = capital_paise + per_day["net"].cumsum()
    peak = per_day["equity"].cummax()
    per_day["drawdown"] = (per_day["equity"] - peak) / peak.where(peak > 0, 1)
    return per_day


def monthly(daily: pd.DataFrame) -> pd.DataFrame:
    frame = daily.assign(month=[f"{d:%Y-%m}" for d in daily["day"]])
    return frame.groupby("month", as_index=False)["net"].sum()


def strategy_metrics(daily: pd.DataFrame, capital_paise: int) -> pd.DataFrame:
    """One row per strategy: the backtester's metrics over its daily equity."""
    rows: list[dict[str, Any]] = []
    for strategy, group in daily.groupby("strategy", sort=True):
        curve = equity_curve(group, capital_paise)
        days = [dt.datetime.combine(d, dt.time(15, 30)) for d in curve["day"]]
        timeline = np.array(
            [int(d.replace(tzinfo=dt.UTC).timestamp()) * 10**9 for d in days], dtype=np.int64
        )
        equity = curve["equity"].to_numpy(dtype=np.int64)
        m = compute_metrics(
            timeline,
            equity,
            np.ones(len(equity), dtype=np.bool_),
            [],
            capital_paise,
            int(group["charges"].sum()),
            len(equity),
        )
        winning = int((group["net"] > 0).sum())
        rows.append(
            {
                "strategy": strategy,
                "days": len(curve),
                "trades": int(group["trades"].sum()),
                "net_pnl": int(group["net"].sum()),
                "charges": int(group["charges"].sum()),
                "total_return_pct": round(m.total_return * 100, 2),
                "sharpe": None if m.sharpe is None else round(m.sharpe, 2),
                "sortino": None if m.sortino is None else round(m.sortino, 2),
                "max_drawdown_pct": round(m.max_drawdown * 100, 2),
                "winning_days_pct": round(100 * winning / len(curve), 1) if len(curve) else None,
            }
        )
    return pd.DataFrame(rows)


def _segment(
    master: InstrumentMaster | None, symbol: str, exchange: str, product: str
) -> ChargeSegment:
    if exchange in ("NFO", "BFO"):
        kind = None
        if master is not None:
            try:
                kind = master.by_symbol(symbol, exchange).instrument_type
            except AlgoTradingError:
                kind = None
        return ChargeSegment.OPTIONS if kind is InstrumentType.OPTION else ChargeSegment.FUTURES
    return ChargeSegment.EQUITY_DELIVERY if product == "DELIVERY" else ChargeSegment.EQUITY_INTRADAY


def charges_by_kind(turnover: pd.DataFrame, master: InstrumentMaster | None) -> dict[str, int]:
    """Brokerage, STT, exchange, SEBI, stamp, GST, DP (paise) of the recorded turnover, from
    today's rates: an estimate of how the recorded total splits."""
    totals: dict[str, int] = {}
    if turnover.empty:
        return totals
    keys = ["strategy", "symbol", "exchange", "product"]
    for (_, symbol, exchange, product), group in turnover.groupby(keys, sort=False):
        sides = {row.side: (int(row.value), int(row.orders)) for row in group.itertuples()}
        buy, buy_orders = sides.get("BUY", (0, 0))
        sell, sell_orders = sides.get("SELL", (0, 0))
        try:
            lines = round_trip_charges(
                _segment(master, str(symbol), str(exchange), str(product)),
                buy,
                sell,
                exchange=Exchange(str(exchange)),
                broker=ANGEL_ONE,
                buy_orders=buy_orders,
                sell_orders=sell_orders,
            ).lines()
        except (AlgoTradingError, ValueError):
            continue
        for name, paise in lines.items():
            totals[name] = totals.get(name, 0) + paise
    return totals


def margin_used(positions: pd.DataFrame, master: InstrumentMaster) -> tuple[int, int]:
    """(paise, positions not priced) the open positions block at their marks, by Angel One's
    margin rates (market.margins; F&O rates are placeholders there). A symbol the master does
    not know is counted as not priced, never guessed."""
    total = unknown = 0
    open_rows = positions[positions["quantity"] != 0] if not positions.empty else positions
    for row in open_rows.itertuples():
        try:
            inst = master.by_symbol(str(row.symbol), str(row.exchange))
            product = ProductType(str(row.product))
        except (AlgoTradingError, ValueError):
            unknown += 1
            continue
        is_buy = int(row.quantity) > 0
        basis = margin_basis_paise(inst, is_buy, int(row.mark))
        pct = margin_pct(ANGEL_ONE_MARGINS, inst, product, is_buy)
        total += basis * abs(int(row.quantity)) * pct // 100
    return total, unknown
