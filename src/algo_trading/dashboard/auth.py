"""The login gate: a visitor without a live session sees only the login form. Sessions live in
Streamlit's per-browser session state and expire; the role is re-read from the user store on
every run, so removing a user or changing a role takes effect at once."""

from __future__ import annotations

import streamlit as st

from algo_trading.dashboard.commands import audit_event
from algo_trading.dashboard.context import AppContext
from algo_trading.services.users import Session

__all__ = ["SESSION_KEY", "current_session", "login_page", "logout"]

SESSION_KEY = "algo_session"


def current_session(ctx: AppContext) -> Session | None:
    raw = st.session_state.get(SESSION_KEY)
    session = ctx.guard.current(raw if isinstance(raw, Session) else None)
    if session is None and raw is not None:
        del st.session_state[SESSION_KEY]
    return session


def login_page(ctx: AppContext) -> None:
    st.title("algo-trading")
    st.caption("Log in to see the portfolio and, as a trader, to act.")
    with st.form("login"):
        name = st.text_input("User name", key="login_user")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if not submitted:
        return
    result = ctx.guard.login(name.strip(), password)
    if result.session is None:
        audit_event(ctx.db, name.strip() or "?", "login_failed", result.reason, ctx.now_ns())
        st.error(result.reason)
        return
    st.session_state[SESSION_KEY] = result.session
    audit_event(ctx.db, result.session.user, "login", result.session.role, ctx.now_ns())
    st.rerun()


def logout(ctx: AppContext, session: Session) -> None:
    audit_event(ctx.db, session.user, "logout", "", ctx.now_ns())
    st.session_state.pop(SESSION_KEY, None)
    st.rerun()
