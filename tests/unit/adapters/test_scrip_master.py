"""The scrip master on disk: loading, and a cache refreshed once per trading day by a date passed
in; the download is a function the test supplies, so nothing goes to the network (issue #3)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from algo_trading.adapters.instruments import (
    ScripMasterCache,
    load_scrip_master,
    parse_scrip_master_bytes,
)
from algo_trading.domain.errors import ConfigError, DataError
from algo_trading.domain.ids import InstrumentToken

SAMPLE = Path(__file__).parents[2] / "support" / "data" / "scrip_master_sample.json"
DAY = dt.date(2026, 11, 20)


class CountingFetch:
    """Stands in for the broker adapter's download."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return self.data


def test_the_sample_master_loads_from_disk() -> None:
    master = load_scrip_master(SAMPLE)
    assert master.by_symbol("SBIN-EQ").token == InstrumentToken("3045")
    assert master.source == str(SAMPLE)


def test_a_missing_file_is_a_data_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(DataError) as info:
        load_scrip_master(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"<html>Request Rejected</html>", "not JSON"),
        (b'{"a": 1}', "JSON array"),
        (b"\xff", "not JSON"),
    ],
)
def test_bytes_that_are_not_a_master_are_refused(data: bytes, fragment: str) -> None:
    with pytest.raises(DataError) as info:
        parse_scrip_master_bytes(data, source="download")
    assert str(info.value).startswith("download: ")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_the_first_request_of_a_day_fetches_and_later_ones_read_the_cache(tmp_path: Path) -> None:
    cache = ScripMasterCache(tmp_path / "masters")
    fetch = CountingFetch(SAMPLE.read_bytes())
    assert not cache.has(DAY)
    first = cache.get(DAY, fetch)
    second = cache.get(DAY, fetch)
    assert fetch.calls == 1
    assert cache.has(DAY)
    assert len(first) == len(second)
    assert second.by_token("NSE", "99926000").symbol == "Nifty 50"


def test_a_new_day_fetches_again(tmp_path: Path) -> None:
    cache = ScripMasterCache(tmp_path)
    fetch = CountingFetch(SAMPLE.read_bytes())
    cache.get(DAY, fetch)
    cache.get(DAY + dt.timedelta(days=1), fetch)
    assert fetch.calls == 2
    assert cache.cached_days() == [DAY, DAY + dt.timedelta(days=1)]


def test_a_broken_download_never_replaces_a_good_file(tmp_path: Path) -> None:
    cache = ScripMasterCache(tmp_path)
    cache.store(SAMPLE.read_bytes(), DAY)
    with pytest.raises(DataError):
        cache.store(b"Access denied because of exceeding access rate", DAY)
    assert cache.load(DAY).by_symbol("RELIANCE-EQ").token == InstrumentToken("2885")
    assert [p.name for p in tmp_path.iterdir()] == [cache.path_for(DAY).name]


def test_only_the_newest_days_are_kept(tmp_path: Path) -> None:
    cache = ScripMasterCache(tmp_path, keep=2)
    data = SAMPLE.read_bytes()
    for offset in range(4):
        cache.store(data, DAY + dt.timedelta(days=offset))
    assert cache.cached_days() == [DAY + dt.timedelta(days=2), DAY + dt.timedelta(days=3)]
    # An older day asked for later (a backtest) is kept, not pruned the moment it is written.
    cache.store(data, DAY)
    assert DAY in cache.cached_days()
    assert len(cache.cached_days()) == 2


def test_loading_a_day_that_is_not_cached_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        ScripMasterCache(tmp_path).load(DAY)
    assert "2026-11-20" in str(info.value)


def test_files_that_are_not_dated_masters_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "OpenAPIScripMaster-latest.json").write_text("[]", encoding="utf-8")
    assert ScripMasterCache(tmp_path).cached_days() == []
    assert ScripMasterCache(tmp_path / "absent").cached_days() == []


def test_keeping_no_days_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        ScripMasterCache(tmp_path, keep=0)
