"""Faults (issue #10 acceptance): the simulator's injected faults during a trading session,
each at least once: a timeout on place, 5xx answers, rate-limit answers, session expiry and a
dropped feed. Zero duplicate orders, the session recovers by itself (orders settle, the feed
flows again, trading goes on), and an alert for each.

In-process: the engine, the SQL trade log on PostgreSQL, the Angel One adapter over an
`ObservedHttp` against the simulator, the market feed, `services.recovery` (start-up, then
the periodic pass) and `services.broker_watch` (the alerts), driven by a small loop that does
what the service loop does between market events: poll, drain, check, reconcile.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import (
    AngelOneConfig,
    AngelOneCredentials,
    LimitGroup,
)
from algo_trading.adapters.brokers.angelone.execution import AngelOneBroker
from algo_trading.adapters.brokers.angelone.instruments import download_scrip_master
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.adapters.brokers.angelone.ws import FeedClient, SocketOptions
from algo_trading.adapters.instruments.master import parse_scrip_master_bytes
from algo_trading.adapters.storage.sql import Database, SqlTradeLog, SqlUnitOfWork
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import OrderIntent, OrderSide, OrderStatus, OrderType, ProductType
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import Alert
from algo_trading.engine.reconciliation import ReconcileConfig
from algo_trading.market.throttle import RateLimit
from algo_trading.services.broker_watch import (
    BROKER_TIMEOUT,
    BROKER_UNAVAILABLE,
    FEED_DROPPED,
    ORDER_UNCONFIRMED,
    RATE_LIMITED,
    SESSION_EXPIRED,
    BrokerWatch,
    Incidents,
    ObservedHttp,
)
from algo_trading.services.recovery import Recovery, angelone_positions
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
    FaultConfig,
)
from algo_trading.simulator.server import SimulatorServer
from tests.support.victims import broker_account, truth

pytestmark = pytest.mark.slow

NS = 1_000_000_000
ACCOUNT = "faults"
SYMBOLS = ("SBIN-EQ", "INFY-EQ", "TCS-EQ")
WINDOW_S = 1.5


class WallClock:
    def now_ns(self) -> int:
        return time.time_ns()


@dataclass
class Alerts:
    items: list[Alert] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def notify(self, alert: Alert) -> None:
        with self._lock:
            self.items.append(alert)

    def codes(self) -> set[str]:
        with self._lock:
            return {a.code for a in self.items}


class Packets:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, packet: FeedPacket) -> None:
        self.n += 1


class Ids:
    def __init__(self) -> None:
        self._n = itertools.count(1)

    def next_id(self) -> ClientOrderId:
        return ClientOrderId(f"F{next(self._n):06d}")


class Session:
    """The trading process's parts, and the loop between market events."""

    def __init__(self, url: str, sim: SimulatorServer, alerts: Alerts) -> None:
        ws = sim.base_url.replace("http://", "ws://")
        config = AngelOneConfig(
            rest_base_url=sim.base_url,
            feed_ws_url=ws + "/smart-stream",
            order_ws_url=ws + "/smart-order-update",
            instrument_master_url=sim.base_url + "/OpenAPI_File/files/OpenAPIScripMaster.json",
            timeout_s=0.5,
            connect_timeout_s=1.0,
            retry_initial_s=0.02,
            retry_max_s=0.1,
            rate_limits={g: (RateLimit(1000, NS),) for g in LimitGroup},
            place_lookup_attempts=2,
        )
        self.incidents = Incidents()
        self.http = ObservedHttp(config, incidents=self.incidents)
        clock = WallClock()
        creds = AngelOneCredentials(
            api_key=DEMO_API_KEY,
            client_code=DEMO_CLIENT_CODE,
            mpin=DEMO_MPIN,
            totp_secret=DEMO_TOTP_SECRET,
        )
        self.session = AngelOneSession(self.http, creds, clock)
        self.session.login()
        self.master = parse_scrip_master_bytes(download_scrip_master(self.http))
        window = ReconcileConfig(confirm_window_ns=int(WINDOW_S * NS))
        self.broker = AngelOneBroker(
            self.session, self.master.by_symbol, clock, lookup_delay_s=0.2, reconcile_config=window
        )
        self.db = Database(url)
        self.engine = TradingEngine(
            clock,
            self.broker,
            starting_cash_paise=10_00_000_00,
            trade_log=SqlTradeLog(self.db, account=ACCOUNT),
            ids=Ids(),
            raise_strategy_errors=False,
        )
        self.recovery = Recovery(
            self.db,
            self.broker,
            self.engine,
            alerts,
            clock,
            "faults",
            account=ACCOUNT,
            positions=angelone_positions(AngelOneAccount(self.session)),
            config=window,
        )
        self.packets = Packets()
        options = SocketOptions(poll_s=0.02, backoff_initial_s=0.02, backoff_max_s=0.1)
        self.feed = FeedClient(sim.ws_url, self.session, self.packets, options)
        self.watch = BrokerWatch(
            self.incidents,
            alerts,
            clock,
            "faults",
            streams=[self.feed],
            unconfirmed=self.broker.unconfirmed,
            account=ACCOUNT,
        )
        self._last_reconcile = 0.0

    def start(self) -> None:
        self.recovery.recover()
        self.feed.start()
        tokens = [str(self.master.by_symbol(s).token) for s in SYMBOLS]
        self.feed.subscribe(Mode.LTP, {1: tokens})

    def order(self, n: int = 1) -> list[ClientOrderId]:
        out = []
        for i in range(n):
            side = OrderSide.BUY if i % 2 == 0 else OrderSide.SELL
            intent = OrderIntent(
                "faulty",
                SYMBOLS[i % 3],
                side,
                1,
                OrderType.MARKET,
                None,
                None,
                ProductType.INTRADAY,
            )
            out.append(self.engine.submit(intent))
        return out

    def pump(self, seconds: float, until: Callable[[], bool] | None = None) -> bool:
        """The service loop between market events, for `seconds` or until `until()`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.broker.poll()
            self.engine.drain()
            self.watch.check()
            if time.monotonic() - self._last_reconcile > 0.5:
                self._last_reconcile = time.monotonic()
                with contextlib.suppress(AlgoTradingError):  # unreadable books: next time
                    self.recovery.reconcile_once()
            if until is not None and until():
                return True
            time.sleep(0.05)
        return until is None

    def status(self, coid: ClientOrderId) -> OrderStatus:
        return self.engine.orders.orders[coid].status

    def close(self) -> None:
        self.feed.close()
        self.http.close()
        self.db.dispose()


@pytest.fixture
def trading(pg_url: str, simulator: SimulatorServer) -> Iterator[tuple[Session, Alerts]]:
    alerts = Alerts()
    s = Session(pg_url, simulator, alerts)
    s.start()
    yield s, alerts
    s.close()


def _settled(s: Session, coids: list[ClientOrderId]) -> Callable[[], bool]:
    return lambda: all(s.status(c) is not OrderStatus.SUBMITTED for c in coids)


def test_each_injected_fault_is_ridden_out_alerted_and_leaves_no_duplicate(
    trading: tuple[Session, Alerts], simulator: SimulatorServer
) -> None:
    s, alerts = trading
    assert s.pump(10, lambda: s.packets.n > 0), "the feed never flowed"
    # 1. a place that takes longer than our timeout: the answer is lost, the order is not
    s.order(1)  # a fault-free order first: the loop is trading
    simulator.set_faults(FaultConfig(place_order_latency_ms=900))
    slow = s.order(2)
    simulator.set_faults(FaultConfig())
    assert s.pump(15, _settled(s, slow)), "the timed-out places were never settled"
    assert BROKER_TIMEOUT in alerts.codes()  # found in the book at once: adopted, not in doubt

    # 2. 5xx answers: a place answered 503 never reached the book; declared not placed
    simulator.set_faults(FaultConfig(error_rate=1.0, error_status=503))
    failed = s.order(1)
    simulator.set_faults(FaultConfig())
    assert s.pump(15, _settled(s, failed)), "the 503-answered place was never settled"
    assert s.status(failed[0]) is OrderStatus.CANCELLED
    assert {BROKER_UNAVAILABLE, ORDER_UNCONFIRMED} <= alerts.codes()

    # 3. rate-limit answers on half the calls: backed off and sent again
    simulator.set_faults(FaultConfig(rate_limit_rate=0.5))
    limited = s.order(4)
    s.pump(1.0)
    simulator.set_faults(FaultConfig())
    assert s.pump(15, _settled(s, limited))
    assert RATE_LIMITED in alerts.codes()

    # 4. the session expires under us: logged in again, trading goes on
    logins = s.session.logins
    simulator.set_faults(FaultConfig(session_ttl_s=0.3))
    time.sleep(0.5)
    expired = s.order(1)
    s.pump(1.0)
    simulator.set_faults(FaultConfig())
    assert s.pump(15, _settled(s, expired))
    assert s.session.logins > logins
    assert SESSION_EXPIRED in alerts.codes()

    # 5. the feed drops after a few frames: it reconnects and flows again
    connects = s.feed.connects
    simulator.set_faults(FaultConfig(feed_drop_after_frames=3))
    assert s.pump(15, lambda: s.feed.connects > connects + 1), "the feed never reconnected"
    simulator.set_faults(FaultConfig())
    s.pump(0.5)
    before = s.packets.n
    assert s.pump(15, lambda: s.packets.n > before + 5), "the feed did not flow again"
    assert FEED_DROPPED in alerts.codes()

    # self-recovery: after every fault, a plain order goes through
    last = s.order(1)
    assert s.pump(15, _settled(s, last))
    assert s.status(last[0]) in (OrderStatus.OPEN, OrderStatus.FILLED)

    # the books: nothing duplicated, nothing lost, nothing left in doubt
    def nothing_open() -> bool:
        with SqlUnitOfWork(s.db, read_only=True) as uow:
            return not uow.orders.unresolved(ACCOUNT)

    assert s.pump(20, nothing_open), "orders left unresolved"
    account, http = broker_account(simulator.base_url)
    with http:
        found = truth(account, s.db, ACCOUNT)
    assert found.duplicates == {}
    assert found.orders_without_intent == set()
    assert found.missing_fills == set()
    assert found.position_differences() == {}
    assert found.unresolved == []
