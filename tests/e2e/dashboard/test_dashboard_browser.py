"""The dashboard in a real browser against the running paper stack: `algo-trading run` (the
Angel One simulator, the trading service in paper mode, the dashboard) on free loopback ports,
a temporary SQLite database and data folder. Debian's chromium (never a downloaded browser)
driven by Playwright logs in as the trader, places an order through the Controls page's ticket,
waits until the page shows the trading service's answer (sent, with the order id), then visits
every page and saves a screenshot of each under test-artefacts/dashboard/. Fails on any
Streamlit exception or browser console error. Afterwards the order must be in the `orders`
table with the broker's id, and in the simulator's order book."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import AngelOneConfig, AngelOneCredentials
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.adapters.storage.sql import Database
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.dashboard import queries
from algo_trading.services.clock import WallClock
from algo_trading.services.dashboard_demo import seed_candles
from algo_trading.services.users import DEMO_PASSWORD
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
)

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[3]
ARTEFACTS = ROOT / "test-artefacts" / "dashboard"
PAGES = (
    "Portfolio",
    "Orders and trades",
    "Performance",
    "Charts",
    "Backtests",
    "System health",
    "Controls",
)

playwright_sync = pytest.importorskip("playwright.sync_api")


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is absent: apt-get install -y chromium"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    dashboard: str
    simulator: str
    database_url: str
    history: Path


def _wait(what: str, ok: object, proc: subprocess.Popen[bytes], log: Path, s: float) -> None:
    deadline = time.monotonic() + s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"the stack exited ({proc.returncode}) before {what}: {_tail(log)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if ok():  # type: ignore[operator]
                return
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {s} s: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`algo-trading run` on its own ports, database and data folder; stopped by SIGINT."""
    _need_chromium()
    home = tmp_path_factory.mktemp("stack")
    url_db = f"sqlite:///{home / 'paper.db'}"
    sim_port, dash_port, health_port = _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGO_")}
    env |= {
        "ALGO_PROFILE": "dev",
        "ALGO_DATABASE_URL": url_db,
        "ALGO_DATA_DIR": str(home / "var"),
        "ALGO_HEALTH_PORT": str(health_port),
        "ALGO_WARM_UP": "false",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
    }
    log = home / "stack.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "algo_trading.cli.main", "run",
                "--port", str(sim_port),
                "--dashboard-port", str(dash_port),
                "--no-data-service",
            ],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    dashboard = f"http://127.0.0.1:{dash_port}"
    try:
        _wait(
            "the trading service's /healthz",
            lambda: httpx.get(f"http://127.0.0.1:{health_port}/healthz", timeout=2).is_success,
            proc,
            log,
            120,
        )
        _wait(
            "the dashboard",
            lambda: httpx.get(f"{dashboard}/_stcore/health", timeout=2).text == "ok",
            proc,
            log,
            120,
        )
        history = home / "var" / "market-data" / "historical"
        yield Stack(dashboard, f"http://127.0.0.1:{sim_port}", url_db, history)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_place_an_order_against_the_running_paper_stack_and_visit_every_page(
    stack: Stack,
) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(60_000)
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(stack.dashboard)
            page.get_by_role("textbox", name="User name").fill("demo")
            page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Portfolio").wait_for()
            _go(page, "Controls")
            client_order_id = _place_order(page)
            page.screenshot(path=str(ARTEFACTS / "controls-order-answered.png"), full_page=True)
            _seed_chart_candles(stack)
            for title in PAGES:
                _go(page, title)
                assert page.get_by_test_id("stException").count() == 0, title
                if title == "Portfolio":  # the broker's funds, as the trading service recorded
                    page.get_by_text("Available cash (default)").wait_for()
                    page.get_by_text("Margin used").first.wait_for()
                page.screenshot(path=str(ARTEFACTS / f"{_slug(title)}.png"), full_page=True)
        finally:
            browser.close()
    assert not problems, problems
    _funds_recorded(stack)
    broker_order_id = _order_row(stack, client_order_id)
    assert broker_order_id in _simulator_order_ids(stack)


def _go(page: object, title: str) -> None:
    p = page
    p.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()  # type: ignore[attr-defined]
    p.get_by_role("heading", name=title).first.wait_for()  # type: ignore[attr-defined]
    _settle(p)


_RUN = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
_DRAWN = """() =>
    [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every(e => e.querySelector('.main-svg'))
    && [...document.querySelectorAll('[data-testid="stDataFrame"]')]
        .every(e => e.querySelector('canvas'))"""


def _settle(page: object) -> None:
    """Wait until Streamlit has run the page; then, for the screenshot only, give its charts
    and tables (whose code loads lazily) a few seconds to draw (not a failure if they are
    slow: the Portfolio redraws every 2 s on a busy machine)."""
    page.wait_for_function(_RUN, timeout=60_000)  # type: ignore[attr-defined]
    with contextlib.suppress(playwright_sync.TimeoutError):
        page.wait_for_function(_DRAWN, timeout=20_000)  # type: ignore[attr-defined]


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


_ANSWER = re.compile(r"MANUAL_ORDER (\S+): DONE ORDER_(?:SENT|QUEUED) BUY 1 SBIN-EQ as (\S+) \(")


def _place_order(page: object) -> str:
    """A market order for one SBIN-EQ through the ticket; the client order id the trading
    service answered with, once the page shows the answer."""
    p = page  # playwright's Page (untyped here)
    p.get_by_role("textbox", name="Symbol", exact=True).fill("SBIN-EQ")  # type: ignore[attr-defined]
    p.get_by_role("textbox", name="Lots", exact=True).fill("1")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Check order").click()  # type: ignore[attr-defined]
    p.get_by_text("Ready: BUY 1 SBIN-EQ").wait_for()  # type: ignore[attr-defined]
    p.get_by_role("button", name="Send order").click()  # type: ignore[attr-defined]
    answer = p.get_by_text(re.compile(r"MANUAL_ORDER \S+: DONE ")).first  # type: ignore[attr-defined]
    answer.wait_for(timeout=120_000)  # the outcome fragment polls every 2 s
    answer.scroll_into_view_if_needed()  # for the screenshot
    text = str(answer.inner_text())
    found = _ANSWER.search(text)
    assert found is not None, text
    return found.group(2)


def _funds_recorded(stack: Stack) -> None:
    """The trading service recorded the simulator's funds (getRMS) for the dashboard."""
    db = Database(stack.database_url)
    try:
        (funds,) = queries.funds(db)
    finally:
        db.dispose()
    assert funds.account == "default"
    assert funds.available_cash > 0


def _order_row(stack: Stack, client_order_id: str) -> str:
    db = Database(stack.database_url)
    try:
        with db.engine.connect() as conn:
            orders = metadata.tables["orders"]
            row = conn.execute(
                select(orders).where(orders.c.client_order_id == client_order_id)
            ).one()
    finally:
        db.dispose()
    assert (row.strategy, row.symbol, row.side, row.quantity) == ("manual", "SBIN-EQ", "BUY", 1)
    assert row.broker_order_id, "the order reached the broker"
    return str(row.broker_order_id)


def _simulator_order_ids(stack: Stack) -> set[str]:
    ws = stack.simulator.replace("http://", "ws://")
    config = AngelOneConfig(
        rest_base_url=stack.simulator,
        feed_ws_url=ws + "/smart-stream",
        order_ws_url=ws + "/smart-order-update",
        instrument_master_url=stack.simulator + "/OpenAPI_File/files/OpenAPIScripMaster.json",
    )
    http = AngelOneHttp(config)
    session = AngelOneSession(
        http,
        AngelOneCredentials(
            api_key=DEMO_API_KEY,
            client_code=DEMO_CLIENT_CODE,
            mpin=DEMO_MPIN,
            totp_secret=DEMO_TOTP_SECRET,
        ),
        WallClock(),
    )
    try:
        session.login()
        return {row.order_id for row in AngelOneAccount(session).order_book()}
    finally:
        http.close()


def _seed_chart_candles(stack: Stack) -> None:
    """Minute candles through the recorded trades' prices in the stack's history store, as a
    `data fetch` would leave them (the data service is left out), so Charts draws candles: a
    week back, whatever the day of the week."""
    db = Database(stack.database_url)
    try:
        now = time.time_ns()
        seed_candles(db, stack.history, start_ns=now - 7 * 86_400 * 10**9, days=8)
    finally:
        db.dispose()
