"""The spilling object store on local folders, its store switched off and on by hand: puts
while the store is away go to the spill folder (on disk, checksummed) and return; reads see
them; a drain uploads each verified object once, keeps a damaged one, and stops at the first
refusal; a put that reaches the store supersedes a spilled copy of its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from algo_trading.adapters.objectstore import LocalObjectStore, RetryPolicy, SpillingObjectStore
from algo_trading.domain.errors import ObjectStoreUnavailableError
from algo_trading.engine.ports import ObjectInfo

FAST = RetryPolicy(attempts=1, initial_s=0.001, max_s=0.001)
KEY = "market-data/live/2025/03/04/ticks-1-node-000001.parquet"


class Switchable(LocalObjectStore):
    """A local store that can be made unreachable, and counts its puts."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, FAST)
        self.up = True
        self.puts = 0

    def _gate(self) -> None:
        if not self.up:
            raise ObjectStoreUnavailableError("s3://bucket: unreachable (test)")

    def put(self, key: str, data: bytes, *, content_type: str = "x") -> ObjectInfo:
        self._gate()
        self.puts += 1
        return super().put(key, data, content_type=content_type)

    def head(self, key: str) -> ObjectInfo | None:
        self._gate()
        return super().head(key)

    def list(self, prefix: str) -> list[str]:
        self._gate()
        return super().list(prefix)

    def check(self) -> None:
        self._gate()
        super().check()


def _stores(tmp_path: Path) -> tuple[Switchable, SpillingObjectStore]:
    inner = Switchable(tmp_path / "s3")
    return inner, SpillingObjectStore(inner, LocalObjectStore(tmp_path / "spill", FAST))


def test_puts_while_the_store_is_away_land_on_disk_and_are_uploaded_once_when_back(
    tmp_path: Path,
) -> None:
    inner, store = _stores(tmp_path)
    inner.up = False
    info = store.put(KEY, b"ticks", content_type="application/vnd.apache.parquet")
    store.put("reports/daily/2025-03-04.json", b"{}", content_type="application/json")
    assert info.sha256 == store.spill.head(KEY).sha256  # type: ignore[union-attr]
    assert store.down
    assert (tmp_path / "spill" / KEY).read_bytes() == b"ticks"
    assert store.get(KEY) == b"ticks"  # readers see the spill
    assert store.pending() == ["market-data/live/2025/03/04/ticks-1-node-000001.parquet",
                               "reports/daily/2025-03-04.json"]  # fmt: skip
    result = store.drain()  # still away: nothing lost, nothing removed
    assert (result.uploaded, result.left) == (0, 2)
    assert result.error
    inner.up = True
    result = store.drain()
    assert (result.uploaded, result.left, result.error) == (2, 0, "")
    assert not store.down
    assert inner.get(KEY) == b"ticks"
    assert inner.content_type(KEY) == "application/vnd.apache.parquet"
    assert store.pending() == []
    puts = inner.puts
    assert store.drain().uploaded == 0  # idempotent: nothing twice
    assert inner.puts == puts


def test_a_damaged_spilled_object_is_kept_and_not_uploaded(tmp_path: Path) -> None:
    inner, store = _stores(tmp_path)
    inner.up = False
    store.put(KEY, b"ticks")
    (tmp_path / "spill" / KEY).write_bytes(b"tick5")  # damaged on disk
    inner.up = True
    result = store.drain()
    assert result.damaged == (KEY,)
    assert inner.head(KEY) is None
    assert store.pending() == [KEY]


def test_a_put_that_reaches_the_store_supersedes_the_spilled_copy(tmp_path: Path) -> None:
    inner, store = _stores(tmp_path)
    inner.up = False
    store.put(KEY, b"old")
    inner.up = True
    assert store.drain().uploaded == 1
    inner.up = False
    store.put(KEY, b"older")  # spilled
    inner.up = True
    store.drain()
    store.put(KEY, b"newest")
    assert store.get(KEY) == b"newest"
    assert store.pending() == []
    assert store.drain().uploaded == 0
    assert inner.get(KEY) == b"newest"


def test_a_store_marked_down_by_a_check_spills_without_trying_it(tmp_path: Path) -> None:
    inner, store = _stores(tmp_path)
    store.mark_down(ObjectStoreUnavailableError("check failed"))
    store.put(KEY, b"x")
    assert inner.puts == 0
    assert store.pending() == [KEY]
    inner.up = False
    with pytest.raises(ObjectStoreUnavailableError):
        store.list("market-data/")  # a partial listing would be worse than none


def test_a_spill_left_by_a_killed_service_is_uploaded_by_the_next_one(tmp_path: Path) -> None:
    inner, store = _stores(tmp_path)
    inner.up = False
    store.put(KEY, b"ticks")
    del store  # the process is gone; its folder stays
    _, again = _stores(tmp_path)  # a new process on the same folders, S3 back
    assert again.pending() == [KEY]
    assert again.drain().uploaded == 1
    assert LocalObjectStore(tmp_path / "s3").get(KEY) == b"ticks"


def test_the_nightly_archive_during_an_outage_keeps_its_logs_and_runs_again_after(
    tmp_path: Path,
) -> None:
    import datetime as dt
    import gzip
    import os

    from algo_trading.domain.events import IST
    from algo_trading.services.data_jobs import archive_day

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "data-service.log").write_text("a day of logs\n")
    noon = dt.datetime(2025, 3, 4, 12, 0, tzinfo=IST).timestamp()
    os.utime(logs / "data-service.log", (noon, noon))
    inner, store = _stores(tmp_path)
    inner.up = False
    job = archive_day(store, logs)
    with pytest.raises(ObjectStoreUnavailableError):  # the ticks need S3's listing: retried
        job(dt.date(2025, 3, 4))
    key = "logs/archived/2025/03/04/data-service.log.gz"
    assert store.pending() == [key]  # the log archive is on disk, not lost
    inner.up = True
    store.drain()
    assert job(dt.date(2025, 3, 4)).startswith("1 log files archived")  # the retry: same bytes
    assert gzip.decompress(inner.get(key)) == b"a day of logs\n"
    assert store.pending() == []
