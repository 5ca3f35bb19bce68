"""The dashboard in a real browser: Debian's chromium (never a downloaded browser) driven by
Playwright, against `algo-trading dashboard` on a SQLite database of demo rows. Logs in, visits
every page, places an order through the ticket, and saves a screenshot of each page under
test-artefacts/dashboard/. Fails on any Streamlit exception or browser console error."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from algo_trading.adapters.storage.sql import Database, upgrade
from algo_trading.adapters.storage.sql.models import metadata
from algo_trading.services.dashboard_demo import seed_demo
from algo_trading.services.users import DEMO_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[3]
ARTEFACTS = ROOT / "test-artefacts" / "dashboard"
NOW_NS = 1_785_000_000_000_000_000
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


def _wait_until_healthy(url: str, proc: subprocess.Popen[bytes], deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the dashboard exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the dashboard did not answer at {url} within {deadline_s} s")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    _need_chromium()
    url_db = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.db'}"
    db = Database(url_db)
    try:
        upgrade(db)
        seed_demo(db, now_ns=NOW_NS)
    finally:
        db.dispose()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALGO_")}
    env |= {
        "ALGO_PROFILE": "dev",
        "ALGO_DATABASE_URL": url_db,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "algo_trading.cli.main", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, proc, 90)
        yield url, url_db
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_log_in_visit_every_page_and_place_an_order(dashboard: tuple[str, str]) -> None:
    url, url_db = dashboard
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(30_000)
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
                ),
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(url)
            page.get_by_role("textbox", name="User name").fill("demo")
            page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.get_by_role("heading", name="Portfolio").wait_for()
            for title in PAGES:
                page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
                page.get_by_role("heading", name=title).first.wait_for()
                _settle(page)
                assert page.get_by_test_id("stException").count() == 0, title
                page.screenshot(path=str(ARTEFACTS / f"{_slug(title)}.png"), full_page=True)
            command_id = _place_order(page)
            page.screenshot(path=str(ARTEFACTS / "controls-order-sent.png"), full_page=True)
        finally:
            browser.close()
    assert not problems, problems
    db = Database(url_db)
    try:
        with db.engine.connect() as conn:
            commands = metadata.tables["commands"]
            row = conn.execute(select(commands).where(commands.c.command_id == command_id)).one()
    finally:
        db.dispose()
    assert (row.kind, row.status, row.requested_by) == ("MANUAL_ORDER", "PENDING", "demo")
    assert row.payload["symbol"] == "SBIN-EQ"


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
    page.wait_for_function(_RUN, timeout=30_000)  # type: ignore[attr-defined]
    with contextlib.suppress(playwright_sync.TimeoutError):
        page.wait_for_function(_DRAWN, timeout=20_000)  # type: ignore[attr-defined]


def _slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def _place_order(page: object) -> str:
    p = page  # playwright's Page (untyped here)
    p.get_by_role("textbox", name="Symbol", exact=True).fill("SBIN-EQ")  # type: ignore[attr-defined]
    p.get_by_role("textbox", name="Lots", exact=True).fill("1")  # type: ignore[attr-defined]
    p.get_by_role("textbox", name="Price ₹ (LIMIT, SL)").fill("1010.00")  # type: ignore[attr-defined]
    p.get_by_test_id("stSelectbox").filter(has_text="Type").click()  # type: ignore[attr-defined]
    p.get_by_role("option", name="LIMIT", exact=True).click()  # type: ignore[attr-defined]
    p.get_by_role("button", name="Check order").click()  # type: ignore[attr-defined]
    p.get_by_text("Ready: BUY 1 SBIN-EQ").wait_for()  # type: ignore[attr-defined]
    p.get_by_role("button", name="Send order").click()  # type: ignore[attr-defined]
    sent = p.get_by_text("waiting for the trading service").first  # type: ignore[attr-defined]
    sent.wait_for()
    text = p.get_by_text("Sent place as command").inner_text()  # type: ignore[attr-defined]
    return str(text.split("command ", 1)[1].split(";", 1)[0])
