"""Dashboard render time (issue #12): with 100,000 trades and 200 positions in PostgreSQL, the
Portfolio and the Orders and trades pages render in under 2 seconds.

Prints, for PostgreSQL (the target) and SQLite (the peer, same rows, same run):
* the query + formatting functions each page calls (`queries.portfolio` and totals; the
  filtered orders and trades, their count and the rupee formatting), best and median of
  --repeat;
* the whole page under Streamlit's AppTest (script run, queries, widgets and tables), logged in
  as the demo viewer, best and median of --repeat reruns.

PostgreSQL is the local server (127.0.0.1:5432, database `test`, trust auth; a schema of its
own, dropped at the end) unless --postgres-url names another. Rows are the demo generator's
(services/dashboard_demo.seed_bulk), written in bulk.

Run: .venv/bin/python benchmarks/dashboard_render.py [--trades N] [--positions N] [--repeat N]
Exits 1 when a PostgreSQL page misses the 2 s target.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

import algo_trading.dashboard
from algo_trading.adapters.storage.sql import Database, upgrade
from algo_trading.adapters.storage.sql.types import ns_to_datetime
from algo_trading.dashboard import analytics, queries
from algo_trading.dashboard.format import rupees
from algo_trading.services.dashboard_demo import seed_bulk
from algo_trading.services.users import DEMO_PASSWORD

TARGET_S = 2.0
START_NS = 1_780_000_000_000_000_000
APP = Path(algo_trading.dashboard.__file__).parent / "app.py"


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def _portfolio_functions(db: Database) -> None:
    frame = queries.portfolio(db)
    queries.totals(frame, queries.charges_since(db, ns_to_datetime(START_NS)))
    [rupees(int(v)) for v in frame["total_pnl"]]


def _trades_functions(db: Database) -> None:
    f = queries.OrderFilter(limit=2000)
    orders = queries.orders(db, f)
    trades = queries.trades(db, f)
    queries.trade_count(db, f)
    queries.strategies(db)
    queries.symbols(db)
    for frame, cols in ((orders, ("price", "charges")), (trades, ("price", "charges", "pnl"))):
        for col in cols:
            [rupees(None if v != v or v is None else int(v)) for v in frame[col]]


def _charges_functions(db: Database) -> None:
    """Performance's charges by kind: every trade replayed through the charges model."""
    analytics.charges_from_trades(queries.trades_for_charges(db), None)


def _apptest(url: str, page: str, repeat: int) -> tuple[float, float]:
    from streamlit.testing.v1 import AppTest

    for key in [k for k in os.environ if k.startswith("ALGO_")]:
        del os.environ[key]
    os.environ["ALGO_PROFILE"] = "dev"
    os.environ["ALGO_DATABASE_URL"] = url
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.text_input(key="login_user").input("viewer")
    at.text_input(key="login_password").input(DEMO_PASSWORD)
    next(b for b in at.button if b.label == "Log in").click()
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    if at.exception:
        raise SystemExit(f"{page}: {at.exception[0].value}")
    return _timed(at.run, repeat)


def _measure(name: str, url: str, trades: int, positions: int, repeat: int) -> dict[str, float]:
    db = Database(url)
    try:
        upgrade(db)
        t = time.perf_counter()
        seed_bulk(db, trades=trades, positions=positions, start_ns=START_NS, days=120)
        print(
            f"{name}: wrote {trades:,} trades and {positions} positions in "
            f"{time.perf_counter() - t:.1f} s"
        )
        figures = {}
        for label, fn in (
            ("portfolio functions", lambda: _portfolio_functions(db)),
            ("trades functions", lambda: _trades_functions(db)),
            ("charges by kind (Performance)", lambda: _charges_functions(db)),
        ):
            best, median = _timed(fn, repeat)
            figures[label] = median
            print(f"  {label:<30} best {best:6.3f} s  median {median:6.3f} s")
        for label, page in (
            ("Portfolio page (AppTest)", "portfolio"),
            ("Orders and trades (AppTest)", "orders"),
        ):
            best, median = _apptest(url, page, repeat)
            figures[label] = median
            print(f"  {label:<30} best {best:6.3f} s  median {median:6.3f} s")
        return figures
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    args = parser.parse_args(argv)
    schema = f"bench_dash_{uuid.uuid4().hex[:10]}"
    admin = Database(args.postgres_url)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        pg = _measure(
            "PostgreSQL",
            f"{args.postgres_url}?options=-csearch_path%3D{schema}",
            args.trades,
            args.positions,
            args.repeat,
        )
        with tempfile.TemporaryDirectory() as folder:
            _measure(
                "SQLite (peer)",
                f"sqlite:///{folder}/bench.db",
                args.trades,
                args.positions,
                args.repeat,
            )
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    slow = {k: v for k, v in pg.items() if "AppTest" in k and v >= TARGET_S}
    verdict = "MISSED" if slow else "met"
    print(f"target: each page under {TARGET_S} s on PostgreSQL (median): {verdict}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
