"""Charts: Plotly candlesticks of a symbol from the history store (topped up with today's minute
candles from the cache), the strategy's own indicators with its recorded parameters, and its
entries and exits marked from the recorded trades."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from algo_trading.dashboard import charting, queries
from algo_trading.dashboard.context import AppContext
from algo_trading.dashboard.format import GAIN, LOSS, NEUTRAL
from algo_trading.dashboard.page_support import empty_state, page_context
from algo_trading.domain.events import IST

__all__ = ["render"]

_LINE_COLOURS = ("#E69F00", "#009E73", "#CC79A7")  # Okabe-Ito orange, green, purple
_MARKERS = {  # (kind, side) -> marker symbol
    ("entry", "BUY"): "triangle-up",
    ("entry", "SELL"): "triangle-down",
    ("exit", "BUY"): "x",
    ("exit", "SELL"): "x",
    ("flip", "BUY"): "star-triangle-up",
    ("flip", "SELL"): "star-triangle-down",
}


def _times(ns: pd.Series | list[int]) -> list[dt.datetime]:
    return [dt.datetime.fromtimestamp(int(t) / 1e9, tz=IST) for t in ns]


def render(ctx: AppContext) -> None:
    st.header("Charts")
    symbols = queries.symbols(ctx.db)
    strategies = queries.strategies(ctx.db)
    if not symbols or not strategies:
        empty_state(
            "Nothing to chart yet", "trades appear here once paper trading runs (`make run`)"
        )
        return
    cols = st.columns(4)
    strategy = cols[0].selectbox("Strategy", strategies, key="chart_strategy")
    symbol = cols[1].selectbox("Symbol", symbols, key="chart_symbol")
    recorded = queries.strategy_params(ctx.db, strategy)
    kind = charting.strategy_kind(strategy, recorded)
    choices = list(charting.CANDLE_MINUTES)
    interval = cols[2].selectbox(
        "Candle", choices, index=charting.default_candle(recorded), key="chart_interval"
    )
    days = int(cols[3].number_input("Days", 1, 365, 5, key="chart_days"))
    trades = queries.trades_for_chart(ctx.db, symbol, strategy)
    exchange = str(trades["exchange"].iloc[-1]) if not trades.empty else "NSE"
    bars, source = (
        charting.candles(
            ctx.history,
            ctx.cache,
            exchange,
            symbol,
            charting.CANDLE_MINUTES[interval],
            days=days,
            now_ns=ctx.now_ns(),
        )
        if ctx.history is not None
        else (pd.DataFrame(), "")
    )
    if bars.empty:
        empty_state(
            f"No candles of {exchange}:{symbol} stored",
            f"fetch them with `algo-trading data fetch --symbol {symbol} --from ... --to ...` "
            "or run the data "
            "service (`make run`)",
        )
        return
    closes = [int(c) for c in bars["close"]]
    lines = charting.strategy_indicators(kind, recorded, closes)
    panel = lines is not None and bool(lines.panel)
    fig = make_subplots(
        rows=2 if panel else 1,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.72, 0.28] if panel else [1.0],
        vertical_spacing=0.04,
    )
    x = _times(bars["ts_ns"])
    fig.add_trace(
        go.Candlestick(
            x=x,
            open=bars["open"] / 100,
            high=bars["high"] / 100,
            low=bars["low"] / 100,
            close=bars["close"] / 100,
            name=symbol,
            increasing_line_color=GAIN,
            decreasing_line_color=LOSS,
        ),
        row=1,
        col=1,
    )
    if lines is not None:
        for colour, (name, values) in zip(_LINE_COLOURS, lines.overlay.items(), strict=False):
            fig.add_trace(
                go.Scatter(x=x, y=values, name=name, line={"color": colour}), row=1, col=1
            )
        for name, values in lines.panel.items():
            fig.add_trace(
                go.Scatter(x=x, y=values, name=name, line={"color": _LINE_COLOURS[0]}),
                row=2,
                col=1,
            )
            for level in lines.levels:
                fig.add_hline(y=level, line={"color": NEUTRAL, "dash": "dot"}, row=2, col=1)
    _marks(fig, trades, int(bars["ts_ns"].iloc[0]))
    fig.update_layout(
        height=600 if panel else 520,
        xaxis_rangeslider_visible=False,
        title=f"{exchange}:{symbol} ({interval}, IST) — {strategy}",
    )
    st.plotly_chart(fig, key="candles")
    described = (
        ", ".join(f"{k}={v}" for k, v in lines.params.items())
        if lines is not None
        else "no indicator drawing for this strategy"
    )
    st.caption(
        f"Candles: {source}. Indicators: {strategy}'s own ({kind}: {described}), over these "
        "candles. "
        "▲/▼ entries, × exits, ★ reversals, from its recorded trades."
    )


def _marks(fig: go.Figure, trades: pd.DataFrame, start_ns: int) -> None:
    if trades.empty:
        return
    marked = charting.entries_and_exits(trades)
    marked = marked[marked["executed_ns"] >= start_ns]
    for (kind, side), marker in _MARKERS.items():
        group = marked[(marked["kind"] == kind) & (marked["side"] == side)]
        if group.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=_times(group["executed_ns"]),
                y=group["price"].astype("int64") / 100,
                mode="markers",
                name=f"{kind} ({side})",
                marker={
                    "symbol": marker,
                    "size": 12,
                    "color": GAIN if side == "BUY" else LOSS,
                    "line": {"width": 1, "color": "#000"},
                },
                text=[
                    f"{q} @ ₹{p / 100:,.2f}"
                    for q, p in zip(group["quantity"], group["price"], strict=True)
                ],
            ),
            row=1,
            col=1,
        )


if __name__ == "__main__":
    render(page_context()[0])
