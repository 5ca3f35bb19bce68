"""Portfolio: positions per strategy with live marks, realized and unrealized P&L and totals,
refreshed in a fragment every REFRESH_S seconds (not a full page rerun)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from algo_trading.dashboard import analytics, queries
from algo_trading.dashboard.context import REFRESH_S, AppContext
from algo_trading.dashboard.format import ist_text, pnl_text, rupees
from algo_trading.dashboard.page_support import empty_state, page_context, show_money
from algo_trading.domain.events import IST

__all__ = ["render", "render_funds", "render_positions"]

_MONEY = ("cost", "realized_pnl", "mark", "unrealized_pnl", "total_pnl")


def render_positions(ctx: AppContext) -> None:
    """The live part: one read of positions and marks, the totals and the table."""
    frame = queries.portfolio(ctx.db, ctx.prices)
    start_of_day = dt.datetime.fromtimestamp(ctx.now_ns() / 1e9, tz=IST).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    totals = queries.totals(frame, queries.charges_since(ctx.db, start_of_day))
    margin, unpriced = analytics.margin_used(frame, ctx.master)
    cols = st.columns(3)
    cols[0].metric("Total P&L", pnl_text(totals.total_paise))
    cols[1].metric("Realized", pnl_text(totals.realized_paise))
    cols[2].metric("Unrealized", pnl_text(totals.unrealized_paise))
    cols = st.columns(3)
    cols[0].metric("Gross exposure", rupees(totals.gross_exposure_paise))
    cols[1].metric(
        "Margin used (estimate)",
        rupees(margin),
        help="Angel One's margin rates on the open positions at their marks"
        + (f"; {unpriced} position(s) not in the instrument master" if unpriced else ""),
    )
    cols[2].metric("Charges today", rupees(totals.charges_today_paise))
    render_funds(ctx)
    st.caption(
        f"{totals.open_positions} open position(s). Updated {ist_text(_now(ctx))}; marks: live "
        "price from the cache where there is one, else the last trade. ▲ blue is a gain, "
        "▼ orange a loss."
    )
    if frame.empty:
        empty_state(
            "No positions yet",
            "start paper trading with `make run` (or place an order from Controls as a trader)",
        )
        return
    for strategy, group in frame.groupby("strategy", sort=True):
        subtotal = sum(int(x) for x in group["total_pnl"])
        st.markdown(f"**{strategy}** — P&L {pnl_text(subtotal)}")
        table = show_money(group.drop(columns=["strategy", "avg_price"]), _MONEY)
        table["avg_price"] = [f"₹{v}" for v in group["avg_price"]]
        st.dataframe(
            table[
                [
                    "symbol",
                    "exchange",
                    "product",
                    "quantity",
                    "avg_price",
                    "mark",
                    "price_source",
                    "realized_pnl",
                    "unrealized_pnl",
                    "total_pnl",
                ]
            ],
            hide_index=True,
        )


def render_funds(ctx: AppContext) -> None:
    """The broker's funds per account as the trading service last read them (getRMS)."""
    readings = queries.funds(ctx.db)
    if not readings:
        st.info(
            "Funds: not recorded yet. The trading service records the broker's funds at its "
            "start and every reconciliation (start it with `make run` or `algo-trading trade`)."
        )
        return
    for f in readings:
        cols = st.columns(4)
        cols[0].metric(f"Available cash ({f.account})", rupees(f.available_cash))
        cols[1].metric(
            "Margin used",
            rupees(f.utilised_debits),
            help="The broker's utilised debits (getRMS)",
        )
        cols[2].metric("Net", rupees(f.net), help="The broker's net funds (getRMS)")
        cols[3].metric("Collateral", rupees(f.collateral))
        when = dt.datetime.fromtimestamp(f.recorded_ns / 1e9, tz=dt.UTC)
        st.caption(f"Funds of {f.account} from the broker at {ist_text(when)}.")


def _now(ctx: AppContext) -> dt.datetime:
    return dt.datetime.fromtimestamp(ctx.now_ns() / 1e9, tz=dt.UTC)


def render(ctx: AppContext) -> None:
    st.header("Portfolio")
    st.fragment(run_every=REFRESH_S)(lambda: render_positions(ctx))()


if __name__ == "__main__":
    render(page_context()[0])
