"""Performance figures from the daily P&L frame (pure pandas; the pages draw them): equity and
drawdown, the calendar and monthly returns, per-strategy metrics (the backtester's set, from
`backtest.metrics`) and the charges by kind of the recorded trades, exact: the trades replayed
through the trading service's own charges model (`backtest.charges.RoundTripCharges` over
`market.charges`), which charges each round trip its calculator total at its closing fill."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from algo_trading.backtest.charges import RoundTripCharges
from algo_trading.backtest.metrics import compute_metrics
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.fills import new_fill
from algo_trading.domain.ids import ClientOrderId, StrategyId, TradeId
from algo_trading.domain.instruments import Instrument
from algo_trading.domain.orders import Order, OrderSide, ProductType
from algo_trading.market import BROKERS
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.market.margins import ANGEL_ONE_MARGINS, margin_basis_paise, margin_pct

__all__ = [
    "ChargesByKind",
    "charges_from_trades",
    "equity_curve",
    "margin_used",
    "monthly",
    "strategy_metrics",
]

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


@dataclass(frozen=True, slots=True)
class ChargesByKind:
    """The lines of the closed round trips (paise, contract-note order), their total, the
    charges the trades recorded, and how many trips are still open (charged at their close)."""

    lines: dict[str, int]
    trips: int
    open_trips: int
    recorded_paise: int

    @property
    def total_paise(self) -> int:
        return sum(self.lines.values())


def charges_from_trades(
    trades: pd.DataFrame, master: InstrumentMaster | None, broker: str = "angelone"
) -> ChargesByKind:
    """Replay `trades` (oldest first: symbol, exchange, product, side, quantity, price,
    executed_ns, client_order_id, trade_id, strategy, charges) through the charges model the
    trading service charges its fills with, and add up the calculator's lines of every closed
    round trip. When the trades were charged by that model, the total equals the recorded
    charges to the paisa."""
    instruments: dict[str, Instrument] = {}
    if master is not None:
        pairs = set(zip(trades["symbol"], trades["exchange"], strict=True))
        for symbol, exchange in sorted((str(s), str(e)) for s, e in pairs):
            try:
                instruments[symbol] = master.by_symbol(symbol, exchange)
            except AlgoTradingError:
                continue
    model = RoundTripCharges(BROKERS[broker], instruments)
    held: dict[str, int] = {}
    sides = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}
    products = {p.value: p for p in ProductType}
    # RoundTripCharges reads the fill alone (its trip, order id, side, value and date); the
    # order argument is the port's shape, so one stands in for all.
    stand_in = Order(ClientOrderId("replay"), StrategyId("replay"), "-", OrderSide.BUY, 1)
    columns = (
        "trade_id",
        "client_order_id",
        "strategy",
        "symbol",
        "side",
        "quantity",
        "price",
        "executed_ns",
        "product",
    )
    for tid, coid, sid, symbol, side, qty, price, ns, product in zip(
        *(trades[c].tolist() for c in columns), strict=True
    ):
        signed = int(qty) if side == "BUY" else -int(qty)
        fill = new_fill(
            TradeId(str(tid)),
            ClientOrderId(str(coid)),
            StrategyId(str(sid)),
            str(symbol),
            sides[str(side)],
            int(qty),
            int(price),
            int(ns),
            products[str(product)],
        )
        model.charges_paise(fill, stand_in)
        held[fill.symbol] = held.get(fill.symbol, 0) + signed
    recorded = int(trades["charges"].astype("int64").sum()) if not trades.empty else 0
    lines: dict[str, int] = {}
    for trip in model.charged:
        for name, paise in trip.charges.lines().items():
            lines[name] = lines.get(name, 0) + paise
    open_trips = sum(1 for q in held.values() if q)
    return ChargesByKind(lines, len(model.charged), open_trips, recorded)


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
