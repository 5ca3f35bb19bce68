"""System health: each trading instance's leases (its heartbeat is the lease renewal), the
service's readiness when its /readyz address is configured, the database, the command queue,
throttled and refused orders, and the audit log."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import streamlit as st

from algo_trading.dashboard import queries
from algo_trading.dashboard.context import AppContext
from algo_trading.dashboard.page_support import empty_state, page_context, show_times
from algo_trading.domain.errors import AlgoTradingError

__all__ = ["readiness", "render"]


def readiness(url: str, timeout_s: float = 1.5) -> tuple[bool, str]:
    """(ready, what it said) from a service's /readyz; never raises."""
    try:
        response = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return False, f"unreachable: {type(exc).__name__}"
    return response.status_code == 200, response.text[:2000]


def render(ctx: AppContext) -> None:
    st.header("System health")
    cols = st.columns(3)
    started = time.perf_counter()
    try:
        ctx.db.ping()
        cols[0].success(
            f"Database: {ctx.db.description}, {1000 * (time.perf_counter() - started):.0f} ms"
        )
    except AlgoTradingError as exc:
        cols[0].error(f"Database: {exc}")
    url = ctx.settings.dashboard_health_url
    if url:
        ok, said = readiness(url)
        (cols[1].success if ok else cols[1].error)(
            f"Trading service {'ready' if ok else 'NOT ready'}"
        )
        with cols[1].expander("What /readyz said"):
            st.code(said)
    else:
        cols[1].info("Readiness: set ALGO_DASHBOARD_HEALTH_URL to the trading service's /readyz")
    cols[2].metric("Commands waiting", queries.pending_commands(ctx.db))
    st.caption("Cache: none is wired to the dashboard; marks come from the last trades.")

    st.subheader("Instances and leases")
    leases = queries.leases(ctx.db)
    if leases.empty:
        empty_state("No leases", "no trading service has started; start one with `make run`")
    else:
        now = dt.datetime.fromtimestamp(ctx.now_ns() / 1e9, tz=dt.UTC)
        leases["state"] = [
            "released" if owner is None else "held" if expires > now else "EXPIRED"
            for owner, expires in zip(leases["owner"], leases["expires_at"], strict=True)
        ]
        st.dataframe(
            show_times(leases, ("acquired_at", "renewed_at", "expires_at")), hide_index=True
        )
    st.subheader("Strategy runs")
    runs = queries.strategy_runs(ctx.db)
    if runs.empty:
        st.caption("No strategy has run yet.")
    else:
        st.dataframe(show_times(runs, ("started_at", "stopped_at")), hide_index=True)
    st.subheader("Recent refusals and errors (risk, throttle, broker)")
    refusals = queries.recent_refusals(ctx.db)
    if refusals.empty:
        st.caption("Nothing refused recently.")
    else:
        throttled = int(refusals["decision_code"].str.contains("THROTTL").sum())
        st.caption(f"{throttled} of the last {len(refusals)} refusals were throttling.")
        st.dataframe(show_times(refusals, ("occurred_at",)), hide_index=True)
    st.subheader("Audit log")
    st.dataframe(show_times(queries.audit_log(ctx.db), ("occurred_at",)), hide_index=True)


if __name__ == "__main__":
    render(page_context()[0])
