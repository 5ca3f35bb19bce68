"""What each page script starts with: the context and the session the entry script checked
(checked again here, so a page run on its own still requires a login), and table helpers."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from algo_trading.dashboard.auth import current_session, login_page, logout
from algo_trading.dashboard.context import AppContext, get_context
from algo_trading.dashboard.format import ist_text, rupees
from algo_trading.services.users import Session

__all__ = ["empty_state", "page_context", "show_money", "show_times"]


def page_context() -> tuple[AppContext, Session]:
    ctx = get_context()
    session = current_session(ctx)
    if session is None:  # expired, logged out, or a page reached without the entry script
        login_page(ctx)
        st.stop()
    with st.sidebar:
        st.caption(f"Logged in as **{session.user}** ({session.role})")
        if st.button("Log out", key="logout"):
            logout(ctx, session)
    return ctx, session


def empty_state(what: str, next_step: str) -> None:
    """An empty table says so, and what to do next."""
    st.info(f"{what}: {next_step}")


def show_money(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Paise columns as ₹ text with Indian grouping (a copy; the frame keeps its integers)."""
    out = frame.copy()
    for col in columns:
        if col in out:
            out[col] = [rupees(None if pd.isna(v) else int(v)) for v in out[col]]
    return out


def show_times(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    out = frame.copy()
    for col in columns:
        if col in out:
            out[col] = [ist_text(None if pd.isna(v) else v) for v in out[col]]
    return out
