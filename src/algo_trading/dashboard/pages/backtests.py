"""Backtests: the stored runs, one run's tearsheet (summary, equity, trades), and two or more
runs compared on one chart."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from algo_trading.dashboard import queries
from algo_trading.dashboard.context import AppContext
from algo_trading.dashboard.format import GAIN
from algo_trading.dashboard.page_support import empty_state, page_context, show_money, show_times

__all__ = ["render"]


def render(ctx: AppContext) -> None:
    st.header("Backtests")
    runs = queries.backtest_runs(ctx.db)
    if runs.empty:
        empty_state(
            "No stored backtests",
            "run one with `algo-trading backtest --strategy sma_crossover --data FILE.csv`",
        )
        return
    listing = runs[["run_id", "strategy", "status", "started_at", "finished_at", "trade_count"]]
    st.dataframe(show_times(listing, ("started_at", "finished_at")), hide_index=True)
    labels = {f"{r.run_id} ({r.strategy})": int(r.id) for r in runs.itertuples()}
    one = st.selectbox("Tearsheet of", list(labels), key="bt_one")
    _tearsheet(ctx, runs, labels[one])
    st.subheader("Compare")
    chosen = st.multiselect("Runs to compare", list(labels), default=list(labels)[:2], key="bt_cmp")
    if len(chosen) >= 2:
        _compare(ctx, runs, [labels[c] for c in chosen])
    else:
        st.caption("Choose two or more runs to compare them.")


def _tearsheet(ctx: AppContext, runs: pd.DataFrame, pk: int) -> None:
    run = runs[runs["id"] == pk].iloc[0]
    summary = run["summary"] or {}
    cols = st.columns(max(1, min(len(summary), 6)))
    for i, (name, value) in enumerate(list(summary.items())[:6]):
        cols[i].metric(str(name), str(value))
    with st.expander("Parameters and full summary"):
        st.json({"params": run["params"], "summary": summary, "results": run["results_uri"]})
    trades = queries.backtest_trades(ctx.db, pk)
    if trades.empty:
        st.caption("This run stored no trades.")
        return
    curve = (trades["pnl"] - trades["charges"]).cumsum() / 100
    fig = go.Figure(go.Scatter(x=trades["executed_at"], y=curve, line={"color": GAIN}))
    fig.update_layout(title="Cumulative net P&L (₹)", height=300)
    st.plotly_chart(fig, key="bt_curve")
    st.dataframe(
        show_times(show_money(trades, ("price", "charges", "pnl")), ("executed_at",)),
        hide_index=True,
    )


def _compare(ctx: AppContext, runs: pd.DataFrame, pks: list[int]) -> None:
    fig = go.Figure()
    rows = []
    for pk in pks:
        run = runs[runs["id"] == pk].iloc[0]
        trades = queries.backtest_trades(ctx.db, pk)
        net = (trades["pnl"] - trades["charges"]).cumsum() / 100 if not trades.empty else []
        fig.add_trace(go.Scatter(x=list(range(len(net))), y=net, name=run["run_id"]))
        rows.append({"run": run["run_id"], "strategy": run["strategy"], **(run["summary"] or {})})
    fig.update_layout(title="Cumulative net P&L by trade (₹)", height=320)
    st.plotly_chart(fig, key="bt_compare")
    st.dataframe(pd.DataFrame(rows).astype(str), hide_index=True)


if __name__ == "__main__":
    render(page_context()[0])
