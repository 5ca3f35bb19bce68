"""Live capture over the simulator's real WebSocket feed on 127.0.0.1, with the cache and the
object store of both set-ups: a private Redis and moto's S3 server, and the embedded defaults
(in-process cache, local folder).

The acceptance run: Redis killed with SIGKILL and started again during the capture, and the
feed dropped by the venue: the capture keeps running, counts one cache outage, publishes to
Redis again once it is back, marks the feed gap, and every tick it received is in the Parquet
files afterwards (none lost, none twice).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from prometheus_client import CollectorRegistry

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.instruments import download_scrip_master
from algo_trading.adapters.brokers.angelone.ws import SocketOptions
from algo_trading.adapters.cache import CacheTtl, MemoryCache
from algo_trading.adapters.cache.redis import RedisCache
from algo_trading.adapters.instruments.master import parse_scrip_master_bytes
from algo_trading.adapters.live import LiveTickWriter, latest_candle, latest_quote
from algo_trading.adapters.live.ticks import read_ticks
from algo_trading.adapters.objectstore import LocalObjectStore, RetryPolicy
from algo_trading.adapters.objectstore.s3 import S3ObjectStore
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Cache, ObjectStore
from algo_trading.services.capture import (
    AngelOneTickFeed,
    LiveCapture,
    parse_capture_list,
    resolve_targets,
)
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator
from tests.integration.angelone.conftest import MovingClock, adapter_config, credentials, wait_for
from tests.support.aws import REGION, isolate_from_aws, moto_server
from tests.support.redis_servers import RedisProcess, private_redis

SYMBOLS = "NSE:SBIN-EQ,NSE:INFY-EQ,NSE:TCS-EQ"


@pytest.fixture
def venue() -> Iterator[tuple[Any, AngelOneSession, Any, MovingClock]]:
    clock = MovingClock()
    config = SimulatorConfig(port=0, clock=clock.now_ns, always_open=True, tick_interval_s=None)
    with running_simulator(config) as server, AngelOneHttp(adapter_config(server)) as http:
        session = AngelOneSession(http, credentials(config), clock)
        master = parse_scrip_master_bytes(download_scrip_master(http))
        yield server, session, master, clock


def _options() -> SocketOptions:
    return SocketOptions(poll_s=0.02, backoff_initial_s=0.01, backoff_max_s=0.05, open_timeout_s=5)


def _all_ticks(store: ObjectStore) -> pa.Table:
    days = {tuple(int(p) for p in k.split("/")[2:5]) for k in store.list("market-data/live/")}
    return pa.concat_tables([read_ticks(store, d) for d in sorted(days)])  # type: ignore[arg-type]


def _capture_through(
    venue: tuple[Any, AngelOneSession, Any, MovingClock],
    store: ObjectStore,
    cache: Cache,
    redis: RedisProcess | None,
) -> None:
    server, session, master, clock = venue
    targets = resolve_targets(parse_capture_list(SYMBOLS), master)
    capture = LiveCapture(
        targets, LiveTickWriter(store), cache, clock, flush_s=0.3, flush_ticks=500, poll_s=0.02
    )
    capture.start(AngelOneTickFeed(server.ws_url, session, capture.on_packet, _options()))
    try:

        def quoted() -> bool:
            server.advance()
            return latest_quote(cache, "NSE:SBIN-EQ") is not None

        wait_for(quoted, what="the first quote in the cache")
        assert latest_candle(cache, "NSE:INFY-EQ") is not None or capture.received > 0

        if redis is not None:
            assert isinstance(cache, RedisCache)
            redis.kill()
            before = capture.received

            def captured_through_the_outage() -> bool:
                server.advance()
                flushed = capture.writer.flushed_ticks > before
                return cache.outages == 1 and capture.received > before + 50 and flushed

            wait_for(captured_through_the_outage, what="ticks flushed during the Redis outage")
            redis.start()  # back, empty

            def republished() -> bool:
                server.advance()
                return latest_quote(cache, "NSE:TCS-EQ") is not None

            wait_for(republished, timeout_s=15, what="quotes in Redis again")
            assert cache.outages == 1  # one outage, one warning

        server.drop_feed()

        def gap_marked() -> bool:
            server.advance()
            return len(capture.gaps) >= 1

        wait_for(gap_marked, what="the feed gap")
        seen = capture.received

        def delivering() -> bool:
            server.advance()
            return capture.received > seen + 10

        wait_for(delivering, what="ticks after the reconnect")
    finally:
        capture.stop()

    ticks = _all_ticks(store)
    assert ticks.num_rows == capture.received
    pairs = set(zip(ticks["token"].to_pylist(), ticks["sequence"].to_pylist(), strict=True))
    assert len(pairs) == ticks.num_rows  # nothing written twice
    assert set(ticks["symbol"].to_pylist()) == {t.symbol for t in targets}
    gap_keys = [k for k in store.list("market-data/live/") if "/gap-" in k]
    assert len(gap_keys) == len(capture.gaps)
    assert any("/candles-" in k for k in store.list("market-data/live/"))


def test_capture_on_the_embedded_defaults_loses_no_tick_through_a_feed_drop(
    venue: Any, tmp_path: Path
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    _capture_through(venue, store, MemoryCache(CacheTtl()), None)


def test_capture_with_redis_killed_and_restarted_and_s3_loses_no_tick(
    venue: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_from_aws(monkeypatch, tmp_path)
    with moto_server() as endpoint, private_redis(tmp_path) as redis:
        bucket = f"capture-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", region_name=REGION, endpoint_url=endpoint).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        store = S3ObjectStore(
            bucket, region=REGION, endpoint_url=endpoint, retry=RetryPolicy(3, 0.01, 0.1)
        )
        cache = RedisCache(redis.url, CacheTtl(), registry=CollectorRegistry(), retry_after_s=0.2)
        try:
            _capture_through(venue, store, cache, redis)
        finally:
            cache.close()


def test_an_unknown_or_malformed_instrument_is_one_config_line(venue: Any) -> None:
    _, _, master, _ = venue
    with pytest.raises(ConfigError, match="NSE:NOPE-EQ"):
        resolve_targets(parse_capture_list("NSE:NOPE-EQ"), master)
    with pytest.raises(ConfigError, match="EXCHANGE:SYMBOL"):
        parse_capture_list("SBIN-EQ")
