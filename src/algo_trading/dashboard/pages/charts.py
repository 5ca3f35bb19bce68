"""Charts: Plotly candlesticks for a symbol with the strategy's entries and exits marked.

Candles are built from our own trades' prices (the data service's cache and Parquet store are
not wired to the dashboard yet); a moving average of the closes is drawn as the indicator."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from algo_trading.dashboard import queries
from algo_trading.dashboard.context import AppContext
from algo_trading.dashboard.format import GAIN, LOSS, NEUTRAL, ist
from algo_trading.dashboard.page_support import empty_state, page_context

__all__ = ["candles", "render"]

_INTERVALS = {"5 minutes": "5min", "15 minutes": "15min", "1 hour": "1h", "1 day": "1D"}


def candles(trades: pd.DataFrame, rule: str) -> pd.DataFrame:
    """OHLC in rupees per interval (IST) from trade prices."""
    times = pd.DatetimeIndex([ist(t) for t in trades["executed_at"]])
    prices = pd.Series((trades["price"].astype("int64") / 100).to_numpy(), index=times)
    ohlc = prices.resample(rule).ohlc().dropna()
    return ohlc


def render(ctx: AppContext) -> None:
    st.header("Charts")
    symbols = queries.symbols(ctx.db)
    if not symbols:
        empty_state(
            "Nothing to chart yet", "trades appear here once paper trading runs (`make run`)"
        )
        return
    cols = st.columns(3)
    symbol = cols[0].selectbox("Symbol", symbols, key="chart_symbol")
    interval = cols[1].selectbox("Candle", list(_INTERVALS), index=1, key="chart_interval")
    window = cols[2].number_input("Moving average (candles)", 2, 200, 20, key="chart_ma")
    trades = queries.trades_for_chart(ctx.db, symbol)
    if trades.empty:
        empty_state(f"No trades in {symbol}", "pick another symbol")
        return
    ohlc = candles(trades, _INTERVALS[interval])
    fig = go.Figure(
        go.Candlestick(
            x=ohlc.index,
            open=ohlc["open"],
            high=ohlc["high"],
            low=ohlc["low"],
            close=ohlc["close"],
            name=symbol,
            increasing_line_color=GAIN,
            decreasing_line_color=LOSS,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=ohlc.index,
            y=ohlc["close"].rolling(int(window)).mean(),
            name=f"SMA {window}",
            line={"color": NEUTRAL},
        )
    )
    times = [ist(t) for t in trades["executed_at"]]
    for side, colour, marker in (("BUY", GAIN, "triangle-up"), ("SELL", LOSS, "triangle-down")):
        mask = (trades["side"] == side).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=[t for t, m in zip(times, mask, strict=True) if m],
                y=trades["price"][mask].astype("int64") / 100,
                mode="markers",
                name="entries/exits: " + side,
                marker={
                    "symbol": marker,
                    "size": 11,
                    "color": colour,
                    "line": {"width": 1, "color": "#000"},
                },
                text=trades["strategy"][mask],
            )
        )
    fig.update_layout(
        height=520, xaxis_rangeslider_visible=False, title=f"{symbol} ({interval}, IST)"
    )
    st.plotly_chart(fig, key="candles")


if __name__ == "__main__":
    render(page_context()[0])
