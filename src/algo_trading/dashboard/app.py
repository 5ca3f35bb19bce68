"""The dashboard's entry script (`algo-trading dashboard` runs it with `streamlit run`).

Every run: build (once) the context, check the session, and register only the pages this user
may see (a visitor: the login alone; a viewer: no Controls), then run the chosen page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from algo_trading.dashboard.auth import current_session, login_page
from algo_trading.dashboard.context import get_context
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.services.users import TRADER

__all__ = ["PAGES", "main"]

_HERE = Path(__file__).resolve().parent
# (file under pages/, title, trader only). No icons: a page's icon becomes the favicon, which
# Streamlit fetches from fonts.gstatic.com, and the dashboard must work without the internet.
PAGES = (
    ("portfolio.py", "Portfolio", False),
    ("orders.py", "Orders and trades", False),
    ("performance.py", "Performance", False),
    ("charts.py", "Charts", False),
    ("backtests.py", "Backtests", False),
    ("health.py", "System health", False),
    ("controls.py", "Controls", True),
)


def main() -> None:
    st.set_page_config(page_title="algo-trading", layout="wide")
    try:
        ctx = get_context()
    except AlgoTradingError as exc:
        st.error(f"The dashboard cannot start: {exc}")
        st.stop()
    session = current_session(ctx)
    if session is None:
        st.navigation([st.Page(lambda: login_page(ctx), title="Log in", url_path="login")]).run()
        return
    pages = [
        st.Page(str(_HERE / "pages" / file), title=title)
        for file, title, trader_only in PAGES
        if session.role == TRADER or not trader_only
    ]
    # Each page draws the sidebar's user and logout (page_support.page_context): elements the
    # entry script draws around the navigation are lost on reruns under AppTest.
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
