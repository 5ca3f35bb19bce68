"""The data service as one process would run it, over real servers on 127.0.0.1: the simulator
(feed and scrip master), a private Redis that is killed and restarted, moto's S3 server, and
SQLite for the job record; its clock is the simulator's (a fixed trading day that moves), so
the schedule is driven by jumping it, never by the wall clock's date."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from algo_trading.adapters.live.ticks import read_ticks
from algo_trading.adapters.objectstore.s3 import S3ObjectStore
from algo_trading.adapters.storage.sql import Database
from algo_trading.adapters.storage.sql.data_jobs import SqlDataJobs
from algo_trading.domain.events import IST
from algo_trading.engine.ports import CacheKind
from algo_trading.services.data_jobs import INSTRUMENT_MASTER_CACHE_KEY
from algo_trading.services.data_service import DataService, build_data_service
from algo_trading.services.settings import Settings
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator
from tests.integration.angelone.conftest import MovingClock, wait_for
from tests.support.alert_servers import BotApi
from tests.support.aws import REGION, isolate_from_aws, moto_server
from tests.support.redis_servers import private_redis

DAY = dt.date(2025, 3, 4)


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _check(service: DataService, name: str) -> dict[str, Any]:
    _, body = _get(service.server.url + "/readyz")
    return next(c for c in body["checks"] if c["name"] == name)


@pytest.fixture
def no_algo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("ALGO_"):
            monkeypatch.delenv(name)
    isolate_from_aws(monkeypatch, tmp_path)


class Running:
    def __init__(self, service: DataService) -> None:
        self.service = service
        self.stop = threading.Event()
        self.thread = threading.Thread(target=service.run, args=(self.stop,), daemon=True)

    def __enter__(self) -> DataService:
        self.service.start()
        self.thread.start()
        return self.service

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)
        self.service.stop()


@pytest.fixture
def venue() -> Iterator[tuple[Any, MovingClock]]:
    clock = MovingClock()  # 2025-03-04 10:00 IST, a Tuesday
    config = SimulatorConfig(port=0, clock=clock.now_ns, always_open=True, tick_interval_s=0.02)
    with running_simulator(config) as server:
        yield server, clock


def test_the_service_captures_runs_its_jobs_and_rides_out_a_redis_outage(
    venue: tuple[Any, MovingClock], tmp_path: Path, no_algo_env: None
) -> None:
    server, clock = venue
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "data-service.log").write_text('{"msg":"a day of logs"}\n')
    noon = dt.datetime(2025, 3, 4, 12, 0, tzinfo=IST).timestamp()
    os.utime(logs / "data-service.log", (noon, noon))
    with moto_server() as endpoint, private_redis(tmp_path) as redis:
        bucket = f"data-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        settings = Settings(
            data_dir=tmp_path / "var",
            log_dir=logs,
            redis_url=redis.url,
            s3_bucket=bucket,
            s3_region=REGION,
            s3_endpoint_url=endpoint,
            broker_url=server.base_url,
            capture_instruments="NSE:SBIN-EQ,NSE:INFY-EQ",
            capture_flush_s=0.3,
            data_health_port=0,
        )
        service = build_data_service(settings, clock=clock)
        service.poll_s, service.check_every_s = 0.05, 0.2
        db = Database(settings.database_url.get_secret_value())
        jobs = SqlDataJobs(db)
        store = S3ObjectStore(bucket, region=REGION, endpoint_url=endpoint)
        with Running(service):
            wait_for(lambda: _get(service.server.url + "/readyz")[0] == 200, 20, "ready")
            assert _get(service.server.url + "/healthz")[0] == 200
            # 10:00 on a trading day: the 08:30 master is due; yesterday's jobs catch up
            wait_for(
                lambda: (r := jobs.get("instrument_master", DAY)) is not None and r.status == "DONE"
            )
            assert store.head("market-data/instruments/2025/03/04/scrip-master.json") is not None
            assert service.cache.get(CacheKind.INSTRUMENTS, INSTRUMENT_MASTER_CACHE_KEY)
            yesterday = DAY - dt.timedelta(days=1)
            wait_for(
                lambda: (r := jobs.get("archive", yesterday)) is not None and r.status == "DONE"
            )
            record = jobs.get("history_topup", yesterday)
            assert record is not None
            assert record.detail.startswith("skipped")
            capture = service.capture
            assert capture is not None
            wait_for(lambda: capture.writer.flushed_ticks > 0, 20, "ticks flushed to S3")

            redis.kill()
            wait_for(lambda: not _check(service, "cache")["ok"], 20, "the cache check failing")
            before = capture.received
            wait_for(lambda: capture.received > before + 20, 20, "capture during the outage")
            assert _get(service.server.url + "/healthz")[0] == 200  # alive, degraded
            redis.start()
            wait_for(lambda: _get(service.server.url + "/readyz")[0] == 200, 20, "ready again")

            clock.jump_to(dt.datetime(2025, 3, 4, 23, 31, tzinfo=IST))
            wait_for(lambda: (r := jobs.get("archive", DAY)) is not None and r.status == "DONE", 30)
            assert jobs.get("history_topup", DAY) is not None
        db.dispose()
        archived = store.get("logs/archived/2025/03/04/data-service.log.gz")
        assert gzip.decompress(archived) == b'{"msg":"a day of logs"}\n'
        assert store.head("market-data/live/2025/03/04/day-ticks.parquet") is not None
        stored = sum(
            read_ticks(store, (d.year, d.month, d.day)).num_rows
            for d in (DAY, DAY + dt.timedelta(days=1))
        )
        assert stored == capture.received  # every tick, none twice, through the outage


def test_an_unreachable_bucket_leaves_the_service_running_and_not_ready(
    venue: tuple[Any, MovingClock], tmp_path: Path, no_algo_env: None
) -> None:
    server, clock = venue
    settings = Settings(
        data_dir=tmp_path / "var",
        s3_bucket="no-such-bucket",
        s3_region=REGION,
        s3_endpoint_url="http://127.0.0.1:9",
        broker_url=server.base_url,
        data_health_port=0,
    )
    service = build_data_service(settings, clock=clock)
    service.poll_s = 0.05
    with Running(service):
        wait_for(lambda: not _check(service, "object_store")["ok"], 30, "the store check failing")
        assert "s3://no-such-bucket" in _check(service, "object_store")["reason"]
        assert _get(service.server.url + "/healthz")[0] == 200
        assert _get(service.server.url + "/readyz")[0] == 503
        beats = service.heartbeat.age_s()
        assert beats < settings.health_stale_after_s


@pytest.mark.parametrize("notify", [True, False])
def test_the_reports_job_sends_each_summary_through_the_alert_channels_only_when_asked(
    venue: tuple[Any, MovingClock],
    tmp_path: Path,
    no_algo_env: None,
    bot_api: BotApi,
    notify: bool,
) -> None:
    """ALGO_REPORTS_NOTIFY (off by default): the trading_reports job also sends the daily, weekly
    and monthly summaries to the alert channels (here Telegram's Bot API on loopback)."""
    server, clock = venue
    settings = Settings(
        data_dir=tmp_path / "var",
        log_dir=tmp_path / "logs",
        broker_url=server.base_url,
        data_health_port=0,
        reports_notify=notify,
        alert_telegram_bot_token=bot_api.token,
        alert_telegram_chat_id="-1001",
        alert_telegram_api_url=bot_api.base_url,
    )
    service = build_data_service(settings, clock=clock)
    try:
        [job] = [j for j in service.schedule.jobs if j.name == "trading_reports"]
        assert "daily" in job.action(DAY)
        if notify:
            wait_for(lambda: len(bot_api.texts) >= 3, 20, "three reports sent")
            texts = "\n".join(bot_api.texts)
            for kind in ("REPORT_DAILY", "REPORT_WEEKLY", "REPORT_MONTHLY"):
                assert kind in texts
        else:
            assert bot_api.texts == []
    finally:
        service.stop()
