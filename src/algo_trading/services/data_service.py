"""The data service (`algo-trading data-service`, issue #11 item 6): live capture, the
scheduled data jobs, and /healthz, /readyz and /metrics on ALGO_DATA_HEALTH_PORT (9181; the
trading service has 9180).

It degrades rather than dies: an unreachable Redis or bucket at start or later is a logged
error, a failing readiness check and a metric, while the loop goes on (the cache answers
misses). A bucket that answered once and then goes away is an outage, not a failure: every
write spills to <data_dir>/spill (checksummed), /readyz stays 200 with the object_store check
saying "degraded", and the store checks upload the spill when S3 is back.
`build_data_service` is the composition root: settings -> adapters -> the service, by plain
calls; nothing here runs at import, and every clock is injected.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from prometheus_client import Gauge

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import (
    AngelOneConfig,
    AngelOneCredentials,
    credentials_from_store,
)
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.instruments import download_scrip_master
from algo_trading.adapters.brokers.angelone.packets import FeedPacket, Mode
from algo_trading.adapters.instruments.master import parse_scrip_master_bytes
from algo_trading.adapters.live import LiveTickWriter
from algo_trading.adapters.objectstore import SpillingObjectStore
from algo_trading.adapters.storage.sql import Database, prepare
from algo_trading.adapters.storage.sql.data_jobs import SqlDataJobs
from algo_trading.domain.errors import AlgoTradingError, ObjectStoreUnavailableError
from algo_trading.domain.instruments import Exchange
from algo_trading.engine.ports import Alert, Cache, Clock, ObjectStore
from algo_trading.market.calendar import calendar_for
from algo_trading.research.reports import scheduled_reports
from algo_trading.services.alerts import build_notifier
from algo_trading.services.capture import (
    AngelOneTickFeed,
    LiveCapture,
    TickFeed,
    parse_capture_list,
    resolve_targets,
)
from algo_trading.services.clock import WallClock
from algo_trading.services.data_jobs import (
    HistoryTopUp,
    archive_day,
    history_topup,
    instrument_master,
)
from algo_trading.services.data_schedule import (
    DataSchedule,
    JobLog,
    ScheduledJob,
    after_close,
    at_ist,
)
from algo_trading.services.data_stores import build_cache, build_object_store, check_cache
from algo_trading.services.health import CheckResult, Health, Heartbeat, MonotonicClock
from algo_trading.services.health_server import HealthServer, HealthServerError
from algo_trading.services.history_sync import pull_history, push_history
from algo_trading.services.live_gate import secret_store_for
from algo_trading.services.metrics import ServiceMetrics
from algo_trading.services.settings import Settings

__all__ = ["DataService", "WallClock", "build_data_service", "data_schedule_jobs"]

log = logging.getLogger(__name__)

FeedFactory = Callable[[Callable[[FeedPacket], None]], TickFeed]


def _put_report(store: ObjectStore, key: str, body: bytes) -> None:
    kind = "text/html; charset=utf-8" if key.endswith(".html") else "application/json"
    store.put(key, body, content_type=kind)


def data_schedule_jobs(
    *,
    fetch_master: Callable[[], bytes],
    store: ObjectStore,
    cache: Cache,
    settings: Settings,
    history: HistoryTopUp | None,
    reports: Callable[[dt.date], str] | None = None,
    history_root: Path | None = None,
) -> list[ScheduledJob]:
    jobs = [
        ScheduledJob(
            "instrument_master",
            at_ist(8, 30, trading_days_only=True),
            instrument_master(fetch_master, store, cache),
        ),
        ScheduledJob("history_topup", after_close(30), history_topup(history), catch_up=True),
        ScheduledJob(
            "archive",
            at_ist(23, 30, trading_days_only=False),
            archive_day(store, settings.logs_path),
            catch_up=True,
        ),
    ]
    if history_root is not None:  # the history store kept in S3 across containers

        def sync(_day: dt.date) -> str:
            return f"{push_history(history_root, store)} history files uploaded"

        jobs.append(ScheduledJob("history_sync", after_close(40), sync, catch_up=True))
    if reports is not None:  # daily, weekly and monthly trading reports (issue #14 item 2)
        jobs.append(ScheduledJob("trading_reports", after_close(45), reports, catch_up=True))
    return jobs


@dataclass
class DataService:
    settings: Settings
    clock: Clock
    cache: Cache
    store: ObjectStore
    schedule: DataSchedule
    health: Health
    heartbeat: Heartbeat
    metrics: ServiceMetrics
    server: HealthServer
    capture: LiveCapture | None = None
    feed_factory: FeedFactory | None = None
    capture_error: str = ""
    poll_s: float = 1.0
    check_every_s: float = 30.0
    monotonic: MonotonicClock = time.monotonic
    closers: list[Callable[[], object]] = field(default_factory=list)
    # the local history store, restored from and kept in the object store (with S3)
    history_root: Path | None = None

    def __post_init__(self) -> None:
        self._store_reached = False  # the store answered once: a later failure is an outage
        self._store_probe = CheckResult.failed("not checked yet")  # the store itself
        self._store_status = CheckResult.failed("not checked yet")  # what readiness says
        self._cache_status = CheckResult.failed("not checked yet")
        self._last_check = float("-inf")
        self.health.add_check("object_store", lambda: self._store_status)
        self.health.add_check("cache", lambda: self._cache_status)
        self.health.add_check("capture", self._capture_check)

    def start(self) -> None:
        """Listen for probes, check the stores (errors are logged; the service runs degraded),
        and start the capture."""
        try:
            self.server.start()
        except HealthServerError as exc:  # the shared server names the trading service's port
            raise HealthServerError(
                str(exc).replace("ALGO_HEALTH_PORT", "ALGO_DATA_HEALTH_PORT")
            ) from None
        self._check_stores()
        if self.history_root is not None:
            try:
                got = pull_history(self.history_root, self.store)
            except AlgoTradingError as exc:  # degraded: the top-up fetches what is missing
                log.error("history store not restored from the object store: %s", exc)
            else:
                log.info("history store: %d files restored from the object store", got)
        if self.capture is not None and self.feed_factory is not None:
            self.capture.start(self.feed_factory(self.capture.on_packet))
            log.info("live capture started: %d instruments", len(self.capture.targets))

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.turn()
            stop.wait(self.poll_s)

    def turn(self) -> None:
        """One loop turn: beat, re-check the stores when due, run the jobs that are due."""
        self.heartbeat.beat()
        if self.monotonic() - self._last_check >= self.check_every_s:
            self._check_stores()
        try:
            self.schedule.run_pending()
        except AlgoTradingError as exc:  # the job record (database) is down: try next turn
            log.error("data jobs: %s", exc)

    def stop(self) -> None:
        if self.capture is not None:
            self.capture.stop()
        self.server.stop()
        for close in self.closers:
            close()

    def _check_stores(self) -> None:
        self._last_check = self.monotonic()
        self._store_status = self._check_object_store()
        self._cache_status = _probe(lambda: check_cache(self.cache), "cache", self._cache_status)

    def _check_object_store(self) -> CheckResult:
        """The store's check; with a spilling store (S3), an outage after the store has once
        answered is degraded but ready while the spill folder takes the writes, and every
        check that finds the store back uploads what was spilled."""
        store = self.store
        status = self._store_probe = _probe(store.check, "object store", self._store_probe)
        if not isinstance(store, SpillingObjectStore):
            return status
        if status.ok:
            self._store_reached = True
            result = store.drain()
            if result.error:
                return self._spilling(store, result.error)
            if result.damaged:
                return CheckResult.passed(
                    f"{len(result.damaged)} spilled objects fail their SHA-256 and stay in "
                    f"{store.spill.root}"
                )
            return status
        store.mark_down(ObjectStoreUnavailableError(status.reason))
        if not self._store_reached:  # never reached: a wrong bucket or endpoint, not an outage
            return status
        return self._spilling(store, status.reason)

    def _spilling(self, store: SpillingObjectStore, reason: str) -> CheckResult:
        try:
            store.check_spill()
        except AlgoTradingError as exc:
            return CheckResult.failed(f"{reason}; and the spill folder fails: {exc}")
        return CheckResult.passed(
            f"degraded: {reason}; {len(store.pending())} objects spilled to {store.spill.root}, "
            "uploaded when it is back"
        )

    def _capture_check(self) -> CheckResult:
        if self.capture is None:
            if self.capture_error:
                return CheckResult.failed(self.capture_error)
            return CheckResult.passed("no instruments configured")
        feed = self.capture.feed
        if feed is None or not feed.state()[0]:
            return CheckResult.failed("feed not connected")
        return CheckResult.passed(
            f"{self.capture.received} ticks, {self.capture.writer.buffered} buffered"
        )


def _probe(check: Callable[[], None], what: str, before: CheckResult) -> CheckResult:
    try:
        check()
    except AlgoTradingError as exc:
        if before.ok or before.reason == "not checked yet":
            log.error("%s unavailable; running degraded: %s", what, exc)
        return CheckResult.failed(str(exc))
    if not before.ok and before.reason != "not checked yet":
        log.info("%s is back", what)
    return CheckResult.passed()


def _watch_spill(store: SpillingObjectStore, metrics: ServiceMetrics) -> None:
    registry = metrics.registry
    Gauge(
        "algo_object_store_spilled",
        "Objects on the local disk waiting for the object store",
        registry=registry,
    ).set_function(lambda: len(store.pending()))
    Gauge(
        "algo_object_store_up",
        "1 unless the object store was unreachable at the last put or check",
        registry=registry,
    ).set_function(lambda: 0 if store.down else 1)


def _broker(settings: Settings, environ: Mapping[str, str], clock: Clock) -> AngelOneSession:
    if settings.broker_kind == "angelone":
        config = AngelOneConfig()
        credentials = credentials_from_store(secret_store_for(settings, environ))
    else:  # the simulator, with its published demo credentials
        from algo_trading.simulator.config import (
            DEMO_API_KEY,
            DEMO_CLIENT_CODE,
            DEMO_MPIN,
            DEMO_TOTP_SECRET,
        )

        base = settings.broker_url.rstrip("/")
        ws = "ws" + base[len("http") :] if base.startswith("http") else base
        config = AngelOneConfig(
            rest_base_url=base,
            feed_ws_url=f"{ws}/smart-stream",
            order_ws_url=f"{ws}/smart-order-update",
            instrument_master_url=f"{base}/OpenAPI_File/files/OpenAPIScripMaster.json",
        )
        credentials = AngelOneCredentials(
            api_key=DEMO_API_KEY,
            client_code=DEMO_CLIENT_CODE,
            mpin=DEMO_MPIN,
            totp_secret=DEMO_TOTP_SECRET,
        )
    return AngelOneSession(AngelOneHttp(config), credentials, clock)


def build_data_service(
    settings: Settings,
    *,
    clock: Clock | None = None,
    monotonic: MonotonicClock = time.monotonic,
    environ: Mapping[str, str] | None = None,
    history: HistoryTopUp | None = None,
    job_log: JobLog | None = None,
) -> DataService:
    """Settings -> the data service. Connects only to the database (migrations, as the
    trading service does); the cache, store and broker are reached at `start()`."""
    import os

    clock = clock or WallClock()
    environ = os.environ if environ is None else environ
    try:
        version = metadata.version("algo-trading")
    except metadata.PackageNotFoundError:
        version = ""
    metrics = ServiceMetrics(instance_id=settings.instance_id, mode="data", version=version)
    heartbeat = Heartbeat(settings.health_stale_after_s, monotonic)
    metrics.watch_heartbeat(heartbeat.age_s)
    health = Health(heartbeat)
    server = HealthServer(
        health, metrics.registry, host=settings.health_host, port=settings.data_health_port
    )
    cache = build_cache(settings, metrics.registry)
    store = build_object_store(settings, spill_dir=Path(settings.data_dir) / "spill")
    if isinstance(store, SpillingObjectStore):
        _watch_spill(store, metrics)
    closers: list[Callable[[], object]] = []
    close_cache = getattr(cache, "close", None)
    if close_cache is not None:
        closers.append(close_cache)
    reports: Callable[[dt.date], str] | None = None
    if job_log is None:
        db = Database(settings.database_url.get_secret_value(), pool_size=2)
        prepare(db, migrate=settings.database_migrate_on_start)
        job_log = SqlDataJobs(db)
        closers.append(db.dispose)
        notify: Callable[[Alert], None] | None = None
        if settings.reports_notify:
            notifier = build_notifier(settings, secrets=secret_store_for(settings, environ))
            notifier.start()
            closers.append(notifier.close)
            notify = notifier.notify
        reports = scheduled_reports(
            db, lambda key, body: _put_report(store, key, body), notify, clock.now_ns
        )
    session = _broker(settings, environ, clock)
    closers.insert(0, session.http.close)
    capture, feed_factory, capture_error = None, None, ""
    pairs = parse_capture_list(settings.capture_instruments)
    if pairs:
        try:
            master = parse_scrip_master_bytes(download_scrip_master(session.http))
            targets = resolve_targets(pairs, master)
        except AlgoTradingError as exc:
            capture_error = f"capture not started: {exc}"
            log.error("%s", capture_error)
        else:
            capture = LiveCapture(
                targets,
                LiveTickWriter(store, node=settings.instance_id),
                cache,
                clock,
                mode=Mode[settings.capture_mode],
                flush_s=settings.capture_flush_s,
                flush_ticks=settings.capture_flush_ticks,
                registry=metrics.registry,
            )
            ws_url = session.http.config.feed_ws_url

            def feed_factory(sink: Callable[[FeedPacket], None]) -> TickFeed:
                return AngelOneTickFeed(ws_url, session, sink)

    history_root = (
        Path(settings.data_dir) / "market-data" / "historical" if settings.s3_bucket else None
    )
    jobs = data_schedule_jobs(
        fetch_master=lambda: download_scrip_master(session.http),
        store=store,
        cache=cache,
        settings=settings,
        history=history,
        reports=reports,
        history_root=history_root,
    )
    schedule = DataSchedule(jobs, job_log, clock, calendar_for(Exchange.NSE), settings.instance_id)
    return DataService(
        settings,
        clock,
        cache,
        store,
        schedule,
        health,
        heartbeat,
        metrics,
        server,
        capture,
        feed_factory,
        capture_error,
        monotonic=monotonic,
        closers=closers,
        history_root=history_root,
    )
