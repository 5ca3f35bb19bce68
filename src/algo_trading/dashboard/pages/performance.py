"""Performance: equity curve, drawdown, daily P&L calendar, returns by month, per-strategy
metrics beside their latest backtest, and charges paid by kind."""

from __future__ import annotations

import hashlib

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from algo_trading.dashboard import analytics, charting, queries
from algo_trading.dashboard.context import AppContext
from algo_trading.dashboard.format import GAIN, LOSS, rupees
from algo_trading.dashboard.page_support import empty_state, page_context, show_money
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.money import rupees_to_paise

__all__ = ["beside_backtests", "render"]

_DIVERGING = [[0.0, LOSS], [0.5, "#F7F7F7"], [1.0, GAIN]]


def render(ctx: AppContext) -> None:
    st.header("Performance")
    daily = queries.daily_pnl(ctx.db)
    if daily.empty:
        empty_state("No trades yet", "start paper trading with `make run`; results appear here")
        return
    capital_text = st.text_input("Capital the returns are measured on (₹)", "1000000", key="cap")
    try:
        capital = rupees_to_paise(capital_text, what="capital")
    except AlgoTradingError:
        capital = 0
    if capital <= 0:
        st.error("capital: enter a positive amount in rupees, e.g. 1000000")
        return
    curve = analytics.equity_curve(daily, capital)
    _equity(curve)
    _calendar(curve)
    _months(daily)
    st.subheader("Per strategy")
    metrics = analytics.strategy_metrics(daily, capital)
    st.dataframe(show_money(metrics, ("net_pnl", "charges")), hide_index=True)
    _beside_backtests(ctx, metrics)
    _charges(ctx)


def _equity(curve: pd.DataFrame) -> None:
    fig = go.Figure(
        go.Scatter(x=curve["day"], y=curve["equity"] / 100, name="Equity (₹)", line={"color": GAIN})
    )
    fig.update_layout(title="Equity", height=320, margin={"t": 40, "b": 20})
    st.plotly_chart(fig, key="equity")
    dd = go.Figure(
        go.Scatter(x=curve["day"], y=curve["drawdown"] * 100, fill="tozeroy", line={"color": LOSS})
    )
    dd.update_layout(title="Drawdown (%)", height=240, margin={"t": 40, "b": 20})
    st.plotly_chart(dd, key="drawdown")


def _calendar(curve: pd.DataFrame) -> None:
    days = pd.to_datetime(curve["day"])
    frame = pd.DataFrame(
        {
            "week": days.dt.strftime("%G-W%V"),
            "weekday": days.dt.strftime("%a"),
            "net": curve["net"] / 100,
            "label": [rupees(int(v)) for v in curve["net"]],
        }
    )
    order = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    grid = frame.pivot_table(index="weekday", columns="week", values="net", aggfunc="sum")
    grid = grid.reindex([d for d in order if d in grid.index])
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=list(grid.columns),
            y=list(grid.index),
            colorscale=_DIVERGING,
            zmid=0,
            colorbar={"title": "₹"},
        )
    )
    fig.update_layout(title="Daily P&L calendar (net of charges)", height=300)
    st.plotly_chart(fig, key="calendar")


def _months(daily: pd.DataFrame) -> None:
    months = analytics.monthly(daily)
    fig = go.Figure(
        go.Bar(
            x=months["month"],
            y=months["net"] / 100,
            marker_color=[GAIN if v >= 0 else LOSS for v in months["net"]],
            text=[rupees(int(v)) for v in months["net"]],
        )
    )
    fig.update_layout(title="Returns by month (net ₹)", height=300)
    st.plotly_chart(fig, key="months")


def _pct(value: object) -> str:
    """A stored backtest ratio (text of a fraction, as the summary keeps it) in percent."""
    try:
        return f"{float(str(value)) * 100:.2f}"
    except ValueError:
        return "-"


def _ratio(value: object) -> str:
    try:
        return f"{float(str(value)):.2f}"
    except ValueError:
        return "-"


def beside_backtests(ctx: AppContext, metrics: pd.DataFrame) -> pd.DataFrame:
    """Each live or paper strategy's figures beside its newest finished backtest: matched by
    the strategy's code (a run's id, such as demo-sma-banks, is not the code a backtest
    records, such as sma_crossover), in the same units (percent, Sharpe as a ratio)."""
    runs = queries.backtest_runs(ctx.db)
    done = runs[runs["status"] == "DONE"] if not runs.empty else runs
    modes = queries.strategy_runs(ctx.db)
    rows = []
    for row in metrics.itertuples():
        strategy = str(row.strategy)
        kind = charting.strategy_kind(strategy, queries.strategy_params(ctx.db, strategy))
        mode = modes[modes["strategy"] == strategy]["mode"]
        bt = done[done["strategy"].isin([strategy, kind])] if not done.empty else done
        summary = bt["summary"].iloc[0] if not bt.empty else {}
        rows.append(
            {
                "strategy": strategy,
                "mode": mode.iloc[0] if not mode.empty else "paper/live",
                "backtest": bt["run_id"].iloc[0] if not bt.empty else "none stored",
                "return %": f"{row.total_return_pct:.2f}",
                "backtest return %": _pct(summary.get("total_return", "-")),
                "max drawdown %": f"{row.max_drawdown_pct:.2f}",
                "backtest max drawdown %": _pct(summary.get("max_drawdown", "-")),
                "sharpe": "-"
                if row.sharpe is None or row.sharpe != row.sharpe
                else f"{row.sharpe:.2f}",
                "backtest sharpe": _ratio(summary.get("sharpe", "-")),
            }
        )
    return pd.DataFrame(rows)


def _beside_backtests(ctx: AppContext, metrics: pd.DataFrame) -> None:
    table = beside_backtests(ctx, metrics)
    st.markdown("**Beside their latest backtest**")
    if table.empty or (table["backtest"] == "none stored").all():
        st.caption(
            "No finished backtest of these strategies: run one with `algo-trading backtest`."
        )
    if not table.empty:
        st.dataframe(table, hide_index=True)


_KIND_NAMES = {
    "brokerage": "Brokerage",
    "stt": "STT/CTT",
    "exchange_charges": "Exchange transaction charges",
    "sebi_fees": "SEBI fee",
    "stamp_duty": "Stamp duty",
    "gst": "GST",
    "dp_charges": "DP charges",
}


@st.cache_data(show_spinner="Charging the recorded trades…", max_entries=8)
def _charges_split(_ctx: AppContext, version: tuple[str, int, int]) -> analytics.ChargesByKind:
    """Every trade replayed once per `version` (database, count, newest id): a second at
    100,000 trades, then free until a trade is written."""
    return analytics.charges_from_trades(queries.trades_for_charges(_ctx.db), _ctx.master)


def _charges(ctx: AppContext) -> None:
    st.subheader("Charges by kind")
    # the whole URL (a schema is in its options), hashed: no password in a cache key
    where = hashlib.sha256(str(ctx.db.url).encode()).hexdigest()
    version = (where, *queries.trades_version(ctx.db))
    split = _charges_split(ctx, version)
    table = pd.DataFrame(
        {
            "kind": [_KIND_NAMES.get(k, k) for k in split.lines],
            "paid": [rupees(v) for v in split.lines.values()],
        }
    )
    total = pd.DataFrame({"kind": ["Total"], "paid": [rupees(split.total_paise)]})
    st.dataframe(pd.concat([table, total], ignore_index=True), hide_index=True)
    note = (
        f"{split.trips} closed round trip(s), each charged by Angel One's schedule and the "
        f"statutory rates of its dates (market.charges), as the trading service charges them; "
        f"the trades recorded {rupees(split.recorded_paise)}."
    )
    if split.open_trips:
        note += f" {split.open_trips} open position(s) pay their charges when they close."
    if split.recorded_paise != split.total_paise:
        note += (
            " The recorded total differs: trades charged under another schedule or before a "
            "restart of the trading service."
        )
    st.caption(note)


if __name__ == "__main__":
    render(page_context()[0])
