"""A whole simulated trading day in paper mode, end to end over the wire, on PostgreSQL (issue
#10 acceptance): the simulator replays 09:10 to 15:16 IST of one trading day at a fixed speed
(one shared replay clock: no wall-clock date or hour matters), the trading service runs three
strategies on six NIFTY 50 stocks through REST and both WebSockets, and at the end

- the `orders` table equals the simulator's order book (every order the broker has is ours, by
  tag, with the same status, filled quantity and average price; an order the broker never saw
  was refused by our own checks before it was sent),
- the `trades` table equals the simulator's trade book (fill by fill),
- the `positions` table equals the simulator's positions, and every intraday one is flat after
  the cut-off (the service squared off before the broker's own cut-off: the simulator never
  had to),
- the charges booked equal the charges calculator's over the broker's trades.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from algo_trading.adapters.brokers.angelone.config import ROUTE_LIMITS
from algo_trading.adapters.storage.sql import Database
from algo_trading.backtest.charges import RoundTripCharges
from algo_trading.domain.events import IST
from algo_trading.domain.fills import Fill
from algo_trading.domain.ids import ClientOrderId, StrategyId, TradeId
from algo_trading.domain.orders import OrderSide, ProductType
from algo_trading.market import BROKERS
from algo_trading.market.throttle import RateLimit
from algo_trading.services.bootstrap import Plugins, build_trading_service
from algo_trading.services.settings import Settings
from algo_trading.services.simulator_thread import SimulatorThread
from algo_trading.services.trade_config import parse_trade_config
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.orders import Status
from algo_trading.simulator.server import SimulatorServer
from tests.support.alerts import RecordingNotifier
from tests.support.storage import fresh_schema, require_postgres

DAY = dt.date(2025, 11, 4)  # a regular NSE session (market.calendar)
START = dt.time(9, 10)  # pre-open: the service starts before the market
END = dt.time(15, 17)  # after Angel One's 15:15 cash cut-off
SPEED = 640.0  # simulated seconds per real second: the day in about 35 s
NS = 1_000_000_000

CONFIG = """
mode = "paper"
[broker]
kind = "simulator"
url = "URL"

[[strategies]]
id = "sma-banks"
strategy = "sma_crossover"
symbols = ["SBIN-EQ", "HDFCBANK-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 3
interval = "1m"
params = { fast = 5, slow = 20, allow_short = true }

[[strategies]]
id = "ema-it"
strategy = "ema_crossover"
symbols = ["INFY-EQ", "TCS-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 2
interval = "1m"
params = { fast = 8, slow = 21 }

[[strategies]]
id = "rsi-energy"
strategy = "rsi_reversion"
symbols = ["RELIANCE-EQ", "ITC-EQ"]
exchange = "NSE"
product = "intraday"
quantity = 5
interval = "3m"
"""
SYMBOLS = {"SBIN-EQ", "HDFCBANK-EQ", "INFY-EQ", "TCS-EQ", "RELIANCE-EQ", "ITC-EQ"}
_STATUS = {Status.COMPLETE: "FILLED", Status.CANCELLED: "CANCELLED", Status.REJECTED: "REJECTED"}


class ReplayClock:
    """The day's time: `start_ns` plus the elapsed monotonic time times `speed`."""

    def __init__(self, start_ns: int, speed: float) -> None:
        self._start_ns = start_ns
        self._speed = speed
        self._t0 = time.monotonic_ns()

    def now_ns(self) -> int:
        return self._start_ns + int((time.monotonic_ns() - self._t0) * self._speed)


def _at(t: dt.time) -> int:
    return int(dt.datetime.combine(DAY, t, tzinfo=IST).timestamp()) * NS


def _wait(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def day(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Run the day; yields what the checks need: the database rows and the simulator."""
    with fresh_schema(require_postgres()) as url:
        clock = ReplayClock(_at(START), SPEED)
        sim = SimulatorThread(
            SimulatorConfig(
                port=0, clock=clock.now_ns, tick_interval_s=0.05, rate_limits=False, seed=11
            )
        )
        server = sim.start()
        try:
            yield _run_day(url, clock, server, tmp_path)
        finally:
            sim.stop()


def _run_day(url: str, clock: ReplayClock, server: SimulatorServer, folder: Path) -> dict[str, Any]:
    settings = Settings(
        database_url=url,
        health_port=0,
        instance_id="day-test",
        reconcile_every_s=3.0,
        feed_stale_s=15.0,
        # 30 simulated minutes are under 3 real seconds at this speed: room for the closing
        # orders' round trips on a loaded machine before the broker's own cut-off.
        squareoff_lead_s=1800.0,
    )
    config = parse_trade_config(
        CONFIG.replace("URL", server.base_url),
        source="day.toml",
        base_dir=folder,
        today=DAY,
        settings=settings,
    )
    notifier = RecordingNotifier()
    # The simulator takes requests as fast as they come; the client's budgets follow suit.
    fast = {group: (RateLimit(10_000, NS),) for group in ROUTE_LIMITS}
    service = build_trading_service(
        settings, config, Plugins(clock=clock, rate_limits=fast, notifier=notifier)
    )
    runner = threading.Thread(target=service.run, name="trading-day")
    runner.start()
    try:
        _wait(lambda: clock.now_ns() >= _at(END), 60, "the end of the replayed day")
        db = Database(url)
        try:
            _wait(lambda: _all_settled(db), 15, "every order to be settled")
            service.stop()
            runner.join(30)
            assert not runner.is_alive()
            rows = _rows(db)
        finally:
            db.dispose()
    finally:
        service.stop()
        runner.join(30)
    book = server.call(lambda s: list(s.exchange.orders.values()))
    trades = server.call(lambda s: list(s.exchange.trades))
    positions = server.call(
        lambda s: [
            (p.instrument.symbol, p.product, p.net_qty)
            for a in s.exchange.accounts.values()
            for p in a.positions.values()
        ]
    )
    return {
        **rows,
        "book": book,
        "sim_trades": trades,
        "sim_positions": positions,
        "alerts": list(notifier.alerts),
        "service": service,
        "instruments": {i.symbol: i for s in config.strategies for i in s.instruments},
    }


def _paise(value: Any) -> int:
    """A money column read with plain SQL (numeric rupees) in paise, exactly."""
    paise = Decimal(value) * 100
    assert paise == paise.to_integral_value(), value
    return int(paise)


def _all_settled(db: Database) -> bool:
    with db.engine.connect() as conn:
        working = conn.execute(
            text(
                "SELECT count(*) FROM orders WHERE status NOT IN ('FILLED','CANCELLED','REJECTED')"
            )
        ).scalar_one()
    return working == 0


def _rows(db: Database) -> dict[str, Any]:
    with db.engine.connect() as conn:
        orders = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM orders"))]
        trades = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM trades"))]
        positions = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM positions"))]
        runs = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM strategy_runs"))]
    return {"orders": orders, "trades": trades, "positions": positions, "runs": runs}


def test_a_whole_paper_day_leaves_the_database_equal_to_the_brokers_books(
    day: dict[str, Any],
) -> None:
    orders, book = day["orders"], day["book"]
    sent = [o for o in orders if o["broker_order_id"] is not None]
    # A real day: every strategy traded, on at least five symbols.
    assert {o["strategy"] for o in sent} == {"sma-banks", "ema-it", "rsi-energy"}
    assert len({o["symbol"] for o in sent}) >= 5
    assert len(sent) >= 20

    # orders == the order book, by tag: same broker id, status, quantity filled and price.
    untagged = [(o.instrument.symbol, o.text) for o in book if not o.ordertag]
    assert not untagged, f"the broker squared these off itself: {untagged}"
    by_tag = {o.ordertag: o for o in book}
    assert len(by_tag) == len(book), "two broker orders share a tag: a duplicate"
    assert set(by_tag) == {o["tag"] for o in sent}
    for row in sent:
        theirs = by_tag[row["tag"]]
        assert row["broker_order_id"] == theirs.orderid
        assert row["status"] == _STATUS[theirs.status], (row, theirs)
        assert row["filled_quantity"] == theirs.filled
        assert _paise(row["filled_value"]) == theirs.fill_value
        assert row["quantity"] == theirs.quantity
        assert row["side"] == theirs.transactiontype
    # What the broker never saw was refused here, before it was sent, with a stable code.
    for row in orders:
        if row["broker_order_id"] is None:
            assert row["status"] == "REJECTED"
            assert row["rejection_reason"].split(":")[0].isupper()

    # trades == the trade book, fill by fill.
    broker_id = {o["client_order_id"]: o["broker_order_id"] for o in orders}
    ours = {
        (t["trade_id"], broker_id[t["client_order_id"]], t["quantity"], _paise(t["price"]))
        for t in day["trades"]
    }
    theirs_trades = {(t.fillid, t.order.orderid, t.quantity, t.price) for t in day["sim_trades"]}
    assert ours == theirs_trades
    assert len(day["trades"]) == len(day["sim_trades"])

    # positions == the broker's, and every intraday one is flat after the cut-off.
    net: dict[tuple[str, str], int] = defaultdict(int)
    for p in day["positions"]:
        net[(p["symbol"], p["product"])] += p["quantity"]
    broker_net = {
        (s, "INTRADAY" if prod == "INTRADAY" else prod): q for s, prod, q in day["sim_positions"]
    }
    assert {k: v for k, v in net.items() if v} == {k: v for k, v in broker_net.items() if v}
    assert all(v == 0 for (_, product), v in net.items() if product == "INTRADAY")
    assert all(q == 0 for _, _, q in day["sim_positions"])

    # The charges booked equal the calculator's over the broker's own trades.
    calculator = RoundTripCharges(BROKERS["angelone"], day["instruments"])
    expected = 0
    for t in sorted(day["sim_trades"], key=lambda t: (t.ts_ns, t.fillid)):
        fill = Fill(
            TradeId(t.fillid),
            ClientOrderId(t.order.orderid),
            StrategyId("broker"),
            t.order.instrument.symbol,
            OrderSide(t.order.transactiontype),
            t.quantity,
            t.price,
            t.ts_ns,
            ProductType.INTRADAY,
        )
        expected += calculator.charges_paise(fill, None)  # type: ignore[arg-type]
    assert sum(_paise(t["charges"]) for t in day["trades"]) == expected
    assert sum(_paise(o["charges"]) for o in orders) == expected
    assert expected > 0
    assert calculator.charged
    assert all(trip.symbol in SYMBOLS for trip in calculator.charged)

    # Nothing went wrong that a person would have to hear about.
    codes = {a.code for a in day["alerts"]}
    assert "RECONCILIATION_DIFF" not in codes, day["alerts"]
    assert "STRATEGY_ERROR" not in codes, day["alerts"]
    # Each strategy's run is on record, stopped with the service.
    assert sorted((r["strategy"], r["mode"], r["status"]) for r in day["runs"]) == [
        ("ema-it", "paper", "STOPPED"),
        ("rsi-energy", "paper", "STOPPED"),
        ("sma-banks", "paper", "STOPPED"),
    ]
    service = day["service"]
    assert service.counters.squareoffs >= len(SYMBOLS)
    assert service.counters.bars > 0
    assert not service.engine.quarantined()
