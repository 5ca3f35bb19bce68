"""Controls (trader role only): the order ticket, cancel, square off, pause and resume, and the
kill switch with its reset. Each action is a command row; its outcome appears when the trading
service answers. The role is checked here and again when the row is written."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from algo_trading.dashboard import commands, queries
from algo_trading.dashboard.context import REFRESH_S, AppContext
from algo_trading.dashboard.format import rupees
from algo_trading.dashboard.page_support import page_context, show_times
from algo_trading.dashboard.ticket import (
    CheckedTicket,
    TicketInput,
    TicketRefusedError,
    check_modify,
    check_ticket,
)
from algo_trading.services.users import TRADER, Session

__all__ = ["render"]

_OPEN = ("NEW", "SUBMITTED", "OPEN", "TRIGGER_PENDING", "PARTIALLY_FILLED")
_CHECKED = "ticket_checked"
_SENT = "commands_sent"


def _send(
    ctx: AppContext,
    session: Session,
    action: str,
    payload: dict[str, str],
    strategy_id: str | None = None,
) -> None:
    try:
        command_id = commands.submit(
            ctx.db,
            ctx.users,
            session.user,
            action,
            payload,
            now_ns=ctx.now_ns(),
            strategy_id=strategy_id,
        )
    except commands.CommandRefusedError as exc:
        st.error(f"Refused: {exc}")
        return
    st.session_state.setdefault(_SENT, []).append(command_id)
    st.success(f"Sent {action} as command {command_id}; waiting for the trading service.")


def render(ctx: AppContext, session: Session) -> None:
    st.header("Controls")
    if ctx.users.role_of(session.user) != TRADER:
        st.error("Controls are for the trader role; ask an administrator if you need it.")
        return
    _ticket(ctx, session)
    _cancel(ctx, session)
    _modify(ctx, session)
    _square_off(ctx, session)
    _pause_resume(ctx, session)
    _kill(ctx, session)
    st.subheader("Outcomes")
    st.fragment(run_every=REFRESH_S)(lambda: _outcomes(ctx, session))()


def _ticket(ctx: AppContext, session: Session) -> None:
    st.subheader("Order ticket")
    with st.form("ticket"):
        cols = st.columns(4)
        strategy = cols[0].text_input("Strategy", "manual", key="t_strategy")
        symbol = cols[1].text_input("Symbol", placeholder="SBIN-EQ", key="t_symbol")
        exchange = cols[2].selectbox("Exchange", commands.EXCHANGES, key="t_exchange")
        side = cols[3].selectbox("Side", commands.SIDES, key="t_side")
        row = st.columns(5)
        lots = row[0].text_input("Lots", "1", key="t_lots")
        order_type = row[1].selectbox(
            "Type",
            commands.ORDER_TYPES,
            format_func=commands.ORDER_TYPE_LABELS.__getitem__,
            key="t_type",
        )
        product = row[2].selectbox("Product", commands.PRODUCTS, key="t_product")
        price = row[3].text_input("Price ₹ (LIMIT, SL)", key="t_price")
        trigger = row[4].text_input("Trigger ₹ (SL, SL-M)", key="t_trigger")
        checked = st.form_submit_button("Check order")
    if checked:
        st.session_state.pop(_CHECKED, None)
        ticket = TicketInput(
            strategy, symbol, exchange, side, lots, order_type, product, price, trigger
        )
        try:
            checked_ticket = check_ticket(
                ticket, ctx.master, ctx.reference, ctx.limits, today=ctx.today()
            )
        except TicketRefusedError as exc:
            st.error(f"Not sent: {exc}")
            return
        st.session_state[_CHECKED] = checked_ticket
    pending = st.session_state.get(_CHECKED)
    if isinstance(pending, CheckedTicket):
        _confirm_order(ctx, session, pending)


def _confirm_order(ctx: AppContext, session: Session, result: CheckedTicket) -> None:
    st.info(f"Ready: {result.summary()}")
    lines = pd.DataFrame(
        {
            "charge": list(result.charges.lines()),
            "estimate": [rupees(v) for v in result.charges.lines().values()],
        }
    )
    st.dataframe(lines, hide_index=True)
    if result.band is not None:
        st.caption(
            f"Band today: {rupees(result.band.lower_paise)} - {rupees(result.band.upper_paise)}"
        )
    cols = st.columns(2)
    if cols[0].button("Send order", type="primary", key="send_order"):
        st.session_state.pop(_CHECKED, None)
        _send(ctx, session, "place", result.payload, result.strategy_id)
    if cols[1].button("Discard", key="discard_order"):
        st.session_state.pop(_CHECKED, None)
        st.rerun()


def _confirmed(label: str, key: str) -> bool:
    """A checkbox and a button: the action runs only when both say so."""
    sure = st.checkbox(f"I confirm: {label}", key=f"{key}_confirm")
    clicked = st.button(label, key=key)
    if clicked and not sure:
        st.warning("Tick the confirmation first.")
    return clicked and sure


def _cancel(ctx: AppContext, session: Session) -> None:
    st.subheader("Cancel an order")
    open_orders = queries.orders(ctx.db, queries.OrderFilter(statuses=_OPEN, limit=500))
    if open_orders.empty:
        st.caption("No open orders to cancel.")
        return
    choice = st.selectbox(
        "Open order",
        list(open_orders["client_order_id"]),
        format_func=lambda c: _describe(open_orders, c),
        key="cancel_order",
    )
    if _confirmed("Cancel order", "cancel"):
        _send(ctx, session, "cancel", {"client_order_id": choice})


def _modify(ctx: AppContext, session: Session) -> None:
    st.subheader("Modify an order")
    open_orders = queries.orders(ctx.db, queries.OrderFilter(statuses=_OPEN, limit=500))
    if open_orders.empty:
        st.caption("No open orders to modify.")
        return
    choice = st.selectbox(
        "Open order",
        list(open_orders["client_order_id"]),
        format_func=lambda c: _describe(open_orders, c),
        key="modify_order",
    )
    cols = st.columns(2)
    quantity = cols[0].text_input("New quantity (units)", key="modify_quantity")
    price = cols[1].text_input("New price ₹", key="modify_price")
    if not _confirmed("Modify order", "modify"):
        return
    row = open_orders[open_orders["client_order_id"] == choice].iloc[0]
    try:
        changes = check_modify(ctx.master, str(row["symbol"]), quantity, price)
    except TicketRefusedError as exc:
        st.error(f"Not sent: {exc}")
        return
    _send(ctx, session, "modify", {"client_order_id": choice, **changes})


def _describe(frame: pd.DataFrame, client_order_id: str) -> str:
    row = frame[frame["client_order_id"] == client_order_id].iloc[0]
    return f"{client_order_id}: {row['side']} {row['quantity']} {row['symbol']} ({row['status']})"


def _square_off(ctx: AppContext, session: Session) -> None:
    st.subheader("Square off")
    cols = st.columns(2)
    strategy = cols[0].selectbox(
        "Strategy", ["(all)", *queries.strategies(ctx.db)], key="sq_strategy"
    )
    symbol = cols[1].selectbox("Symbol", ["(all)", *queries.symbols(ctx.db)], key="sq_symbol")
    what = "everything" if strategy == symbol == "(all)" else f"{strategy} / {symbol}"
    if _confirmed(f"Square off {what}", "square_off"):
        payload = {} if symbol == "(all)" else {"symbol": symbol}
        _send(ctx, session, "square_off", payload, None if strategy == "(all)" else strategy)


def _pause_resume(ctx: AppContext, session: Session) -> None:
    st.subheader("Pause or resume a strategy")
    names = queries.strategies(ctx.db)
    if not names:
        st.caption("No strategies yet: they appear once the trading service runs one.")
        return
    strategy = st.selectbox("Strategy", names, key="pr_strategy")
    cols = st.columns(2)
    with cols[0]:
        if _confirmed(f"Pause {strategy}", "pause"):
            _send(ctx, session, "pause", {}, strategy)
    with cols[1]:
        if _confirmed(f"Resume {strategy}", "resume"):
            _send(ctx, session, "resume", {}, strategy)


def _kill(ctx: AppContext, session: Session) -> None:
    st.subheader("Kill switch")
    st.caption("Stops all new orders and cancels open ones until it is reset.")
    reason = st.text_input("Reason", key="kill_reason")
    cols = st.columns(2)
    with cols[0]:
        if _confirmed("Trip the kill switch", "kill"):
            if not reason.strip():
                st.error("Give a reason for the kill switch.")
            else:
                _send(ctx, session, "kill", {"reason": reason.strip()})
    with cols[1]:
        if _confirmed("Reset the kill switch", "reset_kill"):
            _send(ctx, session, "reset_kill", {})


def _outcomes(ctx: AppContext, session: Session) -> None:
    sent = list(st.session_state.get(_SENT, []))
    for command_id in reversed(sent[-5:]):
        row = queries.command(ctx.db, command_id)
        if row is None:
            continue
        status = row["status"]
        text = f"{row['kind']} {command_id}: {status}"
        if status == "DONE":
            st.success(f"{text} {row['outcome_code']} {row['outcome_detail']}".strip())
        elif status in ("REFUSED", "FAILED"):
            st.error(f"{text}: {row['outcome_code']} {row['outcome_detail']}".strip())
        else:
            st.info(f"{text}: waiting for the trading service")
    recent = queries.recent_commands(ctx.db, 20)
    if recent.empty:
        st.caption("No commands yet.")
        return
    recent["payload"] = [str(p) for p in recent["payload"]]
    st.dataframe(show_times(recent, ("requested_at", "finished_at")), hide_index=True)


if __name__ == "__main__":
    render(*page_context())
