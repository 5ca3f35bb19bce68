"""A trading process for the crash, instances and faults tests (issue #10): the real engine,
SQL trade log (fenced by a lease keeper when `--leases`) and Angel One adapter against the
simulator over HTTP, with `services.recovery` run at start before any order, exactly as the
service runs it. It trades MARKET orders of one share on a few symbols until it is killed.

    python -m tests.support.trading_victim --db URL --sim URL --account A --instance I \
        --strategies s1,s2 [--leases] [--mode run|settle]

stdout, one line each, flushed: `READY <json recovery report>` after recovery,
`ORDER <client order id>` after each submit, `ALERT <code> <text>` for each alert,
`GAINED <strategy> <epoch>` / `LOST <strategy>` for lease changes, and in settle mode
`SETTLED <json>` once no intent is unresolved (then exit 0).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import (
    AngelOneConfig,
    AngelOneCredentials,
    LimitGroup,
)
from algo_trading.adapters.brokers.angelone.execution import AngelOneBroker
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.instruments import download_scrip_master
from algo_trading.adapters.brokers.angelone.orders_api import AngelOneAccount
from algo_trading.adapters.instruments.master import parse_scrip_master_bytes
from algo_trading.adapters.storage.sql import Database, SqlLeases, SqlTradeLog, SqlUnitOfWork
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.domain.ids import ClientOrderId
from algo_trading.domain.orders import OrderIntent, OrderSide, OrderType, ProductType
from algo_trading.engine.engine import TradingEngine
from algo_trading.engine.ports import Alert, LeaseToken
from algo_trading.engine.reconciliation import ReconcileConfig
from algo_trading.market.instruments import InstrumentMaster
from algo_trading.market.throttle import RateLimit
from algo_trading.services.fenced_broker import FencedBroker
from algo_trading.services.lease_keeper import LeaseConfig, LeaseKeeper
from algo_trading.services.recovery import Recovery, RecoveryReport, angelone_positions
from algo_trading.services.shutdown import EngineDrain, ShutdownSignal, drain
from algo_trading.simulator.config import (
    DEMO_API_KEY,
    DEMO_CLIENT_CODE,
    DEMO_MPIN,
    DEMO_TOTP_SECRET,
)

__all__ = ["SYMBOLS", "main"]

SYMBOLS = ("SBIN-EQ", "INFY-EQ", "TCS-EQ")
NS = 1_000_000_000
_OUT = threading.Lock()


def say(*words: object) -> None:
    with _OUT:
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()


class WallClock:
    def now_ns(self) -> int:
        return time.time_ns()


class PrintNotifier:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)
        say("ALERT", alert.code, alert.text)


class Ids:
    """Unique across restarts: a random run prefix, then a counter."""

    def __init__(self, instance: str) -> None:
        self._prefix = f"{instance[:3]}{os.urandom(3).hex()}"
        self._n = itertools.count(1)

    def next_id(self) -> ClientOrderId:
        return ClientOrderId(f"{self._prefix}{next(self._n):05d}")


def _fast_limits() -> dict[LimitGroup, tuple[RateLimit, ...]]:
    """The simulator runs without its rate limits here; the client's own are opened up so a
    restart is not throttled by the last life's calls (the faults test covers rate limits)."""
    return {g: (RateLimit(1000, NS),) for g in LimitGroup}


def _session(sim: str, timeout_s: float) -> tuple[AngelOneSession, AngelOneHttp]:
    ws = sim.replace("http://", "ws://")
    config = AngelOneConfig(
        rest_base_url=sim,
        feed_ws_url=ws + "/smart-stream",
        order_ws_url=ws + "/smart-order-update",
        instrument_master_url=sim + "/OpenAPI_File/files/OpenAPIScripMaster.json",
        timeout_s=timeout_s,
        connect_timeout_s=2.0,
        retry_initial_s=0.05,
        retry_max_s=0.5,
        rate_limits=_fast_limits(),
        place_lookup_attempts=1,
    )
    # plain HTTP to the simulator: no CA bundle to load at every start (a tenth of a second)
    http = AngelOneHttp(config, transport=httpx.HTTPTransport(verify=False))
    creds = AngelOneCredentials(
        api_key=DEMO_API_KEY,
        client_code=DEMO_CLIENT_CODE,
        mpin=DEMO_MPIN,
        totp_secret=DEMO_TOTP_SECRET,
    )
    return AngelOneSession(http, creds, WallClock()), http


def _report_json(report: RecoveryReport) -> str:
    return json.dumps(
        {
            "kind": report.kind,
            "orders_checked": report.orders_checked,
            "verdicts": dict(report.verdicts),
            "fills_booked": report.fills_booked,
            "cancels_sent": report.cancels_sent,
            "followed": report.followed,
            "position_diffs": [str(d) for d in report.position_diffs],
            "unresolved": list(report.unresolved),
        }
    )


class Victim:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.clock = WallClock()
        self.db = Database(args.db)
        self.session, self.http = _session(args.sim, args.timeout_s)
        self.session.login()
        master = _MASTERS.get(args.master)
        if master is None:
            raw = Path(args.master).read_bytes() if args.master else b""
            master = parse_scrip_master_bytes(raw or download_scrip_master(self.http))
        self.broker = AngelOneBroker(
            self.session,
            master.by_symbol,
            self.clock,
            lookup_delay_s=0.05,
            reconcile_config=ReconcileConfig(confirm_window_ns=int(args.confirm_window_s * NS)),
        )
        self.strategies = args.strategies.split(",")
        self.keeper: LeaseKeeper | None = None
        if args.leases:
            self.keeper = LeaseKeeper(
                SqlLeases(self.db),
                args.instance,
                self.strategies,
                self.clock,
                config=LeaseConfig(
                    ttl_s=args.lease_ttl_s,
                    renew_every_s=args.lease_ttl_s / 5,
                    max_owned=args.max_owned or None,
                    overflow_grace_s=args.overflow_grace_s,
                ),
                on_gained=self._gained,
                on_lost=self._lost,
            )
        # --stale-fence: a process that never learns it lost a lease (its clock check broken):
        # its intents carry the last token it was given, and only the database's fence
        # (migration 0005) stands between it and the broker.
        self.tokens: dict[str, LeaseToken] = {}
        fence = None if self.keeper is None else self.keeper.token
        if self.keeper is not None and args.stale_fence:
            fence = self.tokens.get
        self.log = SqlTradeLog(self.db, account=args.account, fence=fence)
        engine_broker: Any = self.broker
        if self.keeper is not None and not args.stale_fence:
            # the lease checked once more at the broker's door (services/fenced_broker.py)
            engine_broker = FencedBroker(
                self.broker, self.keeper.owns, self.clock, self._strategy_of
            )
        self.engine = TradingEngine(
            self.clock,
            engine_broker,
            starting_cash_paise=10_00_000_00,
            trade_log=self.log,
            ids=Ids(args.instance),
            raise_strategy_errors=False,
        )
        self.notifier = PrintNotifier()
        self.recovery = Recovery(
            self.db,
            self.broker,
            self.engine,
            self.notifier,
            self.clock,
            args.instance,
            account=args.account,
            positions=angelone_positions(AngelOneAccount(self.session)) if args.positions else None,
            config=ReconcileConfig(confirm_window_ns=int(args.confirm_window_s * NS)),
        )
        self.lock = threading.RLock()  # the engine is single-threaded: the keeper's callbacks wait
        self.trading: set[str] = set()

    def _strategy_of(self, client_order_id: ClientOrderId) -> str | None:
        order = self.engine.orders.orders.get(client_order_id)
        return None if order is None else order.strategy_id

    # --- leases ---------------------------------------------------------------------------
    def _gained(self, strategy_id: str, token: LeaseToken) -> None:
        with self.lock:
            report = self.recovery.recover([strategy_id])  # before trading it
            self.tokens[strategy_id] = token
            self.trading.add(strategy_id)
        say("GAINED", strategy_id, token.epoch, _report_json(report))

    def _lost(self, strategy_id: str, why: str) -> None:
        with self.lock:
            if not self.args.stale_fence:
                self.trading.discard(strategy_id)
        say("LOST", strategy_id, why.replace(" ", "_"))

    # --- the life -------------------------------------------------------------------------
    def start(self) -> None:
        if self.keeper is None:
            report = self.recovery.recover(None)
            self.trading = set(self.strategies)
            say("READY", _report_json(report))
        else:
            self.keeper.start()  # recovers each strategy as it is gained
            say("READY", "{}")

    def run(self, shutdown: ShutdownSignal | None = None) -> int:
        rng = random.Random(self.args.seed)
        last_reconcile = last_poll = time.monotonic()
        while shutdown is None or not shutdown.requested.is_set():
            with self.lock:
                owned = sorted(self.trading)
                for strategy in owned:
                    stale_ok = self.args.stale_fence
                    if self.keeper is not None and not stale_ok and not self.keeper.owns(strategy):
                        continue
                    self._order(strategy, rng)
                self.engine.drain()
                now = time.monotonic()
                if now - last_poll >= 0.5:
                    self.broker.poll()
                    self.engine.drain()
                    last_poll = now
                if now - last_reconcile >= self.args.reconcile_every_s:
                    self._reconcile(owned)
                    last_reconcile = now
            time.sleep(self.args.order_every_s)
        assert shutdown is not None
        return self._drain(shutdown)

    def _drain(self, shutdown: ShutdownSignal) -> int:
        """SIGTERM: no new orders (the loop above has stopped), open orders kept or
        cancelled, leases released, exit 0 within the stop timeout."""
        keeper = self.keeper

        def release() -> list[str]:
            return [] if keeper is None else keeper.stop(release=True)

        with self.lock:
            report = drain(
                EngineDrain(self.engine, self.broker.poll),
                cancel_open=self.args.drain_cancel_open,
                deadline_monotonic=shutdown.deadline(),
                release_leases=release,
            )
        say(
            "DRAINED",
            json.dumps(
                {"released": list(report.leases_released), "still_open": list(report.still_open)}
            ),
        )
        return 0

    def _order(self, strategy: str, rng: random.Random) -> None:
        symbol = rng.choice(SYMBOLS)
        side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
        intent = OrderIntent(
            strategy, symbol, side, 1, OrderType.MARKET, None, None, ProductType.INTRADAY
        )
        try:
            coid = self.engine.submit(intent)
        except AlgoTradingError as exc:  # the fence said no: this instance lost the lease
            say("REFUSED", strategy, type(exc).__name__)
            return
        say("ORDER", coid, strategy)

    def _reconcile(self, owned: list[str]) -> RecoveryReport | None:
        try:
            return self.recovery.reconcile_once(owned if self.keeper is not None else None)
        except AlgoTradingError as exc:  # the books could not be read: next time
            say("RECONCILE_FAILED", type(exc).__name__)
            return None

    def settle(self, timeout_s: float) -> int:
        """Reconcile until no intent is unresolved (the window lets unconfirmed ones close)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            report = self._reconcile(self.strategies if self.keeper is not None else [])
            with SqlUnitOfWork(self.db, read_only=True) as uow:
                left = uow.orders.unresolved(self.args.account)
            if report is not None and not left:
                say("SETTLED", _report_json(report))
                return 0
            time.sleep(0.5)
        say("NOT_SETTLED", len(left))
        return 5


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--sim", required=True)
    p.add_argument("--account", required=True)
    p.add_argument("--instance", required=True)
    p.add_argument("--strategies", default="s1,s2")
    p.add_argument("--mode", choices=("run", "settle"), default="run")
    p.add_argument("--leases", action="store_true")
    p.add_argument("--lease-ttl-s", type=float, default=10.0)
    p.add_argument("--positions", action="store_true")
    p.add_argument("--max-owned", type=int, default=0)
    p.add_argument("--overflow-grace-s", type=float, default=3.0)
    p.add_argument("--drain-cancel-open", action="store_true")
    p.add_argument("--stale-fence", action="store_true")
    p.add_argument("--stop-timeout-s", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--order-every-s", type=float, default=0.01)
    p.add_argument("--reconcile-every-s", type=float, default=2.0)
    p.add_argument("--confirm-window-s", type=float, default=2.0)
    p.add_argument("--timeout-s", type=float, default=1.0)
    p.add_argument("--master", default="", help="the scrip master, downloaded once by the test")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _parse(argv)
    victim = Victim(args)
    if args.mode == "settle":
        victim.recovery.recover(None)
        return victim.settle(30.0)
    shutdown = ShutdownSignal(stop_timeout_s=args.stop_timeout_s)
    shutdown.install()
    victim.start()
    return victim.run(shutdown)  # returns only after SIGTERM/SIGINT and the drain


def positions_of(rows: list[Mapping[str, Any]]) -> dict[str, int]:
    return {r["symbol"]: r["quantity"] for r in rows}


_MASTERS: dict[str, InstrumentMaster] = {}  # parsed once in the zygote, inherited by forks


def zygote(base: list[str]) -> int:
    """Imports once, then forks a fresh life per `spawn [ARGS]` line on stdin (so fifty
    restarts do not pay fifty interpreter starts): prints `SPAWNED <pid>`; `reap <pid>`
    waits for that child and prints `REAPED <pid> <signal or -exit code>`. The child is a
    separate process like any other: the test SIGKILLs it by its pid."""
    args = _parse(base)
    if args.master:
        _MASTERS[args.master] = parse_scrip_master_bytes(Path(args.master).read_bytes())
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "spawn":
            pid = os.fork()
            if pid == 0:  # the child: one life of the trading process
                code = 1
                try:
                    code = main(base + words[1:])
                finally:
                    os._exit(code)
            say("SPAWNED", pid)
        elif words[0] == "reap":
            _, status = os.waitpid(int(words[1]), 0)
            killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else -os.WEXITSTATUS(status)
            say("REAPED", words[1], killed)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        sys.exit(zygote(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
