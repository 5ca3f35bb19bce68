"""Orders and trades: filterable, sortable tables with status, rejection reason and each
order's audit trail (its events and its risk and broker decisions), and CSV export."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from algo_trading.dashboard import queries
from algo_trading.dashboard.context import AppContext
from algo_trading.dashboard.page_support import empty_state, page_context, show_money, show_times

__all__ = ["render"]

_STATUSES = (
    "NEW",
    "SUBMITTED",
    "OPEN",
    "TRIGGER_PENDING",
    "PARTIALLY_FILLED",
    "PENDING_CANCEL",
    "PENDING_MODIFY",
    "FILLED",
    "CANCELLED",
    "REJECTED",
    "EXPIRED",
)
_ORDER_MONEY = ("price", "trigger_price", "charges")
_TRADE_MONEY = ("price", "charges", "pnl")
_ROWS = 2000  # the newest rows shown; the CSV has every row the filter matches


def _filters(ctx: AppContext) -> queries.OrderFilter:
    cols = st.columns(4)
    strategy = cols[0].selectbox("Strategy", ["(all)", *queries.strategies(ctx.db)], key="f_strat")
    symbol = cols[1].selectbox("Symbol", ["(all)", *queries.symbols(ctx.db)], key="f_symbol")
    side = cols[2].selectbox("Side", ["(all)", "BUY", "SELL"], key="f_side")
    statuses = cols[3].multiselect("Order status", _STATUSES, key="f_status")
    return queries.OrderFilter(
        strategy=None if strategy == "(all)" else strategy,
        symbol=None if symbol == "(all)" else symbol,
        side=None if side == "(all)" else side,
        statuses=tuple(statuses),
        limit=_ROWS,
    )


def _sorted(frame: pd.DataFrame, key: str, default: str) -> pd.DataFrame:
    """Sort on the numbers (money columns are still paise here), before they become text."""
    cols = st.columns([3, 1])
    by = cols[0].selectbox(
        "Sort by", list(frame.columns), index=list(frame.columns).index(default), key=f"{key}_by"
    )
    ascending = cols[1].toggle("Ascending", value=False, key=f"{key}_asc")
    return frame.sort_values(by, ascending=ascending, kind="stable")


def _csv(frame: pd.DataFrame) -> bytes:
    text: str = frame.to_csv(index=False)
    return text.encode("utf-8")


def render(ctx: AppContext) -> None:
    st.header("Orders and trades")
    f = _filters(ctx)
    orders_tab, trades_tab = st.tabs(["Orders", "Trades"])
    with orders_tab:
        frame = queries.orders(ctx.db, f)
        if frame.empty:
            empty_state(
                "No orders match", "clear the filters, or start paper trading with `make run`"
            )
        else:
            frame = _sorted(frame, "orders", "created_at")
            shown = show_times(show_money(frame, _ORDER_MONEY), ("created_at", "updated_at"))
            st.dataframe(shown, hide_index=True)
            st.download_button(
                "Download orders (CSV)",
                data=_csv(frame),
                file_name="orders.csv",
                mime="text/csv",
                key="csv_orders",
            )
            _audit_trail(ctx, frame)
    with trades_tab:
        _trades(ctx, f)


def _trades(ctx: AppContext, f: queries.OrderFilter) -> None:
    frame = queries.trades(ctx.db, f)
    if frame.empty:
        empty_state("No trades match", "clear the filters, or start paper trading with `make run`")
        return
    total = queries.trade_count(ctx.db, f)
    st.caption(f"{total:,} trade(s) match; the newest {min(total, _ROWS):,} are shown.")
    frame = _sorted(frame, "trades", "executed_at")
    st.dataframe(show_times(show_money(frame, _TRADE_MONEY), ("executed_at",)), hide_index=True)
    unlimited = queries.OrderFilter(f.strategy, f.symbol, f.statuses, f.side, f.since, 10**9)
    st.download_button(
        "Download trades (CSV)",
        data=lambda: _csv(queries.trades(ctx.db, unlimited)),
        file_name="trades.csv",
        mime="text/csv",
        key="csv_trades",
    )


def _audit_trail(ctx: AppContext, frame: pd.DataFrame) -> None:
    st.subheader("Audit trail")
    choice = st.selectbox(
        "Order",
        list(frame["client_order_id"]),
        key="audit_order",
        help="Every state change, and each check's decision with its numbers",
    )
    if not choice:
        return
    row = frame[frame["client_order_id"] == choice].iloc[0]
    if row["status"] == "REJECTED":
        st.error(f"Rejected: {row['rejection_reason'] or 'no reason recorded'}")
    events = queries.order_events(ctx.db, choice)
    decisions = queries.order_audit(ctx.db, choice)
    left, right = st.columns(2)
    left.markdown("**Events**")
    left.dataframe(show_times(events, ("occurred_at",)), hide_index=True)
    right.markdown("**Decisions**")
    if decisions.empty:
        right.caption("No decisions recorded for this order.")
    else:
        right.dataframe(
            show_times(show_money(decisions, ("price",)), ("occurred_at",)), hide_index=True
        )


if __name__ == "__main__":
    render(page_context()[0])
