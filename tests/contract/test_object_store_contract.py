"""The ObjectStore port (engine/ports.py), one suite for every implementation: the local folder
and S3 over moto's real protocol server on 127.0.0.1 (never a patched boto3)."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from algo_trading.adapters.objectstore import (
    LocalObjectStore,
    RetryPolicy,
    SpillingObjectStore,
    backtest_key,
    live_key,
)
from algo_trading.adapters.objectstore.s3 import S3ObjectStore
from algo_trading.domain.errors import (
    ChecksumMismatchError,
    ConfigError,
    ObjectNotFoundError,
    ObjectStoreUnavailableError,
)
from algo_trading.engine.ports import ObjectStore
from tests.support.aws import REGION, isolate_from_aws, moto_server

FAST = RetryPolicy(attempts=2, initial_s=0.01, max_s=0.02)
Corrupt = Callable[[str, bytes], None]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture(params=["local", "s3", "spilling"])
def store_and_corrupt(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ObjectStore, Corrupt]:
    if request.param == "spilling":  # the data service's wrapper, with its store up
        inner = LocalObjectStore(tmp_path / "objects", FAST)
        spilling = SpillingObjectStore(inner, LocalObjectStore(tmp_path / "spill", FAST))

        def corrupt_inner(key: str, data: bytes) -> None:
            (inner.root / key).write_bytes(data)

        return spilling, corrupt_inner
    if request.param == "local":
        local = LocalObjectStore(tmp_path / "objects", FAST)

        def corrupt_local(key: str, data: bytes) -> None:
            (local.root / key).write_bytes(data)

        return local, corrupt_local
    isolate_from_aws(monkeypatch, tmp_path)
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = f"contract-{uuid.uuid4().hex[:12]}"
    admin = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    admin.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3 = S3ObjectStore(bucket, region=REGION, endpoint_url=endpoint, retry=FAST)

    def corrupt_s3(key: str, data: bytes) -> None:  # bytes replaced, the old checksum kept
        head = admin.head_object(Bucket=bucket, Key=key)
        admin.put_object(Bucket=bucket, Key=key, Body=data, Metadata=head["Metadata"])

    return s3, corrupt_s3


@pytest.fixture
def store(store_and_corrupt: tuple[ObjectStore, Corrupt]) -> ObjectStore:
    return store_and_corrupt[0]


def test_a_put_object_is_read_back_with_its_size_and_sha256(store: ObjectStore) -> None:
    key = live_key(dt.date(2025, 3, 4), "ticks-0001.parquet")
    data = os.urandom(5000)
    info = store.put(key, data)
    assert store.get(key) == data
    assert store.head(key) == info
    assert info.size == 5000
    assert len(info.sha256) == 64
    assert key in store.uri(key)


def test_a_second_put_replaces_the_object_whole(store: ObjectStore) -> None:
    store.put("reports/daily/a.html", b"old" * 1000)
    store.put("reports/daily/a.html", b"new")
    assert store.get("reports/daily/a.html") == b"new"
    head = store.head("reports/daily/a.html")
    assert head is not None
    assert head.size == 3


def test_a_missing_object_is_not_found_and_head_is_none(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError):
        store.get("market-data/historical/none.parquet")
    assert store.head("market-data/historical/none.parquet") is None


def test_list_gives_the_keys_under_a_prefix_sorted(store: ObjectStore) -> None:
    day = dt.date(2025, 3, 4)
    names = ["b.parquet", "a.parquet", "c.parquet"]
    for name in names:
        store.put(live_key(day, name), b"x")
    store.put(live_key(dt.date(2025, 3, 5), "a.parquet"), b"x")
    store.put(backtest_key("run-1", day, "metrics.json"), b"{}")
    assert store.list("market-data/live/2025/03/04/") == [live_key(day, n) for n in sorted(names)]
    assert store.list("backtest-results/2025/03/") == [
        "backtest-results/2025/03/run-1/metrics.json"
    ]
    assert store.list("nothing/") == []


def test_delete_removes_and_is_idempotent(store: ObjectStore) -> None:
    store.put("logs/archived/2025/03/04/app.log.gz", b"x")
    store.delete("logs/archived/2025/03/04/app.log.gz")
    store.delete("logs/archived/2025/03/04/app.log.gz")
    assert store.head("logs/archived/2025/03/04/app.log.gz") is None
    assert store.list("logs/") == []


def test_bytes_changed_behind_the_stores_back_are_refused_as_corrupt(
    store_and_corrupt: tuple[ObjectStore, Corrupt],
) -> None:
    store, corrupt = store_and_corrupt
    store.put("market-data/historical/x.parquet", b"good bytes")
    corrupt("market-data/historical/x.parquet", b"evil bytes")
    with pytest.raises(ChecksumMismatchError, match="SHA-256"):
        store.get("market-data/historical/x.parquet")


@pytest.mark.parametrize("key", ["../escape", "/abs", "a//b", ".hidden/x", "a/../b", "", "a b"])
def test_an_unsafe_key_is_refused_before_any_io(store: ObjectStore, key: str) -> None:
    with pytest.raises(ConfigError, match="object key"):
        store.put(key, b"x")


def test_readers_never_see_half_an_object_while_it_is_rewritten(store: ObjectStore) -> None:
    key = "market-data/live/2025/03/04/ticks.parquet"
    versions = [bytes([i]) * 200_000 for i in range(1, 6)]
    store.put(key, versions[0])
    seen: list[bytes] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(store.get(key))

    reader = threading.Thread(target=read)
    reader.start()
    for v in versions[1:] * 3:
        store.put(key, v)
    stop.set()
    reader.join()
    assert seen
    assert all(s in versions for s in seen)


def test_check_passes_on_a_reachable_store(store: ObjectStore) -> None:
    store.check()


def test_an_unreachable_store_is_one_unavailable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_from_aws(monkeypatch, tmp_path)
    s3 = S3ObjectStore(
        "b", region=REGION, endpoint_url="http://127.0.0.1:9", retry=FAST, timeout_s=1
    )
    with pytest.raises(ObjectStoreUnavailableError, match="unreachable after 2 tries"):
        s3.check()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(ObjectStoreUnavailableError, match="ALGO_OBJECTS_DIR"):
        LocalObjectStore(blocked / "objects", FAST).check()


def test_every_s3_put_asks_for_server_side_encryption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    isolate_from_aws(monkeypatch, tmp_path)
    bucket = f"sse-{uuid.uuid4().hex[:12]}"
    admin = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint)
    admin.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3 = S3ObjectStore(bucket, region=REGION, endpoint_url=moto_endpoint, retry=FAST)
    s3.put("reports/weekly/r.html", b"<html></html>", content_type="text/html")
    assert s3.sse_of("reports/weekly/r.html") == "AES256"
    head = admin.head_object(Bucket=bucket, Key="reports/weekly/r.html")
    assert head["Metadata"]["sha256"] == s3.head("reports/weekly/r.html").sha256  # type: ignore[union-attr]
    with pytest.raises(ObjectStoreUnavailableError, match="does not exist"):
        S3ObjectStore(
            "no-such-bucket-xyz", region=REGION, endpoint_url=moto_endpoint, retry=FAST
        ).check()


def test_the_history_store_goes_up_and_comes_back_whole_and_only_what_changed(
    store: ObjectStore, tmp_path: Path
) -> None:
    """services.history_sync: the local Parquet history store persisted in the object store
    (S3 in production), so a new container restores it."""
    from algo_trading.services.history_sync import pull_history, push_history

    here = tmp_path / "history"
    part = here / "exchange=NSE" / "symbol=SBIN-EQ" / "interval=ONE_MINUTE" / "year=2025"
    part.mkdir(parents=True)
    (part / "bars.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 40)
    (part.parent / "fetched.json").write_text('{"spans": [[1, 2]]}')
    assert push_history(here, store) == 2
    assert push_history(here, store) == 0  # nothing changed: nothing sent
    (part / "bars.parquet").write_bytes(b"PAR1 more bars")
    assert push_history(here, store) == 1
    elsewhere = tmp_path / "new-container"
    assert pull_history(elsewhere, store) == 2
    for path in here.rglob("*"):
        if path.is_file():
            assert (elsewhere / path.relative_to(here)).read_bytes() == path.read_bytes()
    assert pull_history(elsewhere, store) == 0
    assert not list(elsewhere.rglob("*.part"))
