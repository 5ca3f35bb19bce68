"""An S3 outage during a live capture, over HTTP: the data service's own moto server (a free
port on 127.0.0.1) is stopped mid-capture and started again on the same port. The service
keeps running and ready (its object_store check says "degraded"), every tick file written
meanwhile goes to the spill folder on disk (checksummed), not to memory, and when S3 is back
the spill is uploaded: every tick the capture received is in the bucket once, and the spill
folder is empty."""

from __future__ import annotations

import datetime as dt
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
from moto.server import ThreadedMotoServer

from algo_trading.adapters.live.ticks import read_ticks
from algo_trading.adapters.objectstore import SpillingObjectStore
from algo_trading.adapters.objectstore.s3 import S3ObjectStore
from algo_trading.services.data_service import DataService, build_data_service
from algo_trading.services.settings import Settings
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator
from tests.integration.angelone.conftest import MovingClock, wait_for
from tests.support.aws import REGION, isolate_from_aws

DAY = dt.date(2025, 3, 4)


class Moto:
    """moto's S3 server on 127.0.0.1 that can be stopped and started on the same port (its
    buckets live in this process, so they are there again after a restart)."""

    def __init__(self) -> None:
        self.port = 0
        self.server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.port = self.server.get_host_and_port()[1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def moto() -> Iterator[Moto]:
    server = Moto()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _store_check(service: DataService) -> tuple[int, dict[str, Any]]:
    status, body = _get(service.server.url + "/readyz")
    return status, next(c for c in body["checks"] if c["name"] == "object_store")


def test_an_s3_outage_spills_ticks_to_disk_and_uploads_them_when_it_is_back(
    moto: Moto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("ALGO_"):
            monkeypatch.delenv(name)
    isolate_from_aws(monkeypatch, tmp_path)
    clock = MovingClock()  # 2025-03-04 10:00 IST
    config = SimulatorConfig(port=0, clock=clock.now_ns, always_open=True, tick_interval_s=0.02)
    bucket = f"spill-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", region_name=REGION, endpoint_url=moto.endpoint).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    with running_simulator(config) as venue:
        settings = Settings(
            data_dir=tmp_path / "var",
            s3_bucket=bucket,
            s3_region=REGION,
            s3_endpoint_url=moto.endpoint,
            broker_url=venue.base_url,
            capture_instruments="NSE:SBIN-EQ,NSE:INFY-EQ",
            capture_flush_s=0.2,
            data_health_port=0,
        )
        service = build_data_service(settings, clock=clock)
        service.poll_s, service.check_every_s = 0.05, 0.2
        store = service.store
        assert isinstance(store, SpillingObjectStore)
        capture = service.capture
        assert capture is not None
        stop = threading.Event()
        loop = threading.Thread(target=service.run, args=(stop,), daemon=True)
        service.start()
        loop.start()
        try:
            wait_for(lambda: _get(service.server.url + "/readyz")[0] == 200, 20, "ready")
            wait_for(lambda: capture.writer.flushed_ticks > 0, 20, "ticks flushed to S3")

            moto.stop()
            wait_for(lambda: store.down and len(store.pending()) >= 3, 60, "tick files spilled")
            wait_for(
                lambda: _store_check(service)[1]["reason"].startswith("degraded"), 30, "degraded"
            )
            status, check = _store_check(service)
            assert status == 200, check  # degraded, but ready
            assert check["ok"]
            assert check["reason"].startswith("degraded:")
            assert "spilled to" in check["reason"]
            assert _get(service.server.url + "/healthz")[0] == 200
            assert capture.writer.buffered < 2_000  # on disk, not held in memory
            spilled = store.pending()
            tick_files = [k for k in spilled if k.startswith("market-data/live/2025/03/04/ticks-")]
            assert tick_files  # (and whatever else was written meanwhile: reports, archives)
            assert (tmp_path / "var" / "spill" / tick_files[0]).is_file()
            metrics = urllib.request.urlopen(service.server.url + "/metrics", timeout=5).read()  # noqa: S310
            assert b"algo_object_store_up 0.0" in metrics

            moto.start()  # the same port, the same bucket
            wait_for(lambda: not store.pending() and not store.down, 60, "the spill uploaded")
            status, check = _store_check(service)
            assert status == 200
            assert not check["reason"].startswith("degraded")
        finally:
            stop.set()
            loop.join(30)
            service.stop()
    s3 = S3ObjectStore(bucket, region=REGION, endpoint_url=moto.endpoint)
    for key in spilled:
        assert s3.head(key) is not None  # uploaded with its SHA-256 (a get verifies it)
    ticks = sum(
        read_ticks(s3, (d.year, d.month, d.day)).num_rows for d in (DAY, DAY + dt.timedelta(1))
    )
    assert ticks == capture.received  # every tick, once
    assert store.pending() == []
