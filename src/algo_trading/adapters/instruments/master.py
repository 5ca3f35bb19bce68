"""Angel One's scrip master (OpenAPIScripMaster.json) from disk, cached once per trading day
(angel-one-smartapi.md §4: a single JSON array of string-valued rows, regenerated daily).

Downloading is the broker adapter's job: it hands the bytes to `ScripMasterCache.get` through
`fetch`, so nothing here opens a connection and tests never download. The day is passed in (the
IST trading day), never read from a clock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from algo_trading.domain.errors import ConfigError, DataError
from algo_trading.market.instruments import InstrumentMaster, build_master

__all__ = ["ScripMasterCache", "load_scrip_master", "parse_scrip_master_bytes"]

_PREFIX = "OpenAPIScripMaster-"
_SUFFIX = ".json"


def parse_scrip_master_bytes(data: bytes, *, source: str = "scrip master") -> InstrumentMaster:
    """The master's raw bytes (as downloaded or read) -> an InstrumentMaster, or DataError."""
    try:
        rows = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{source}: not JSON ({exc})") from None
    if not isinstance(rows, list):
        raise DataError(f"{source}: expected a JSON array of rows, got {type(rows).__name__}")
    return build_master(rows, source=source)


def load_scrip_master(path: str | Path) -> InstrumentMaster:
    """Read and parse a master file; errors name the file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataError(f"{p}: cannot read the scrip master ({exc.strerror})") from None
    return parse_scrip_master_bytes(data, source=str(p))


class ScripMasterCache:
    """One master file per trading day under `folder`; the newest `keep` are kept.

    `get(day, fetch)` loads `day`'s copy if it is there and otherwise calls `fetch()` once for
    fresh bytes, checks them by parsing, and only then writes them (atomically), so a broken
    download never replaces a good file.
    """

    def __init__(self, folder: str | Path, *, keep: int = 3) -> None:
        if keep < 1:
            raise ConfigError(f"scrip master cache: keep={keep} must be at least 1")
        self.folder = Path(folder)
        self.keep = keep

    def path_for(self, day: dt.date) -> Path:
        return self.folder / f"{_PREFIX}{day.isoformat()}{_SUFFIX}"

    def has(self, day: dt.date) -> bool:
        """Whether `day`'s master is cached (if not, it needs a refresh)."""
        return self.path_for(day).is_file()

    def cached_days(self) -> list[dt.date]:
        """Days with a cached master, oldest first."""
        if not self.folder.is_dir():
            return []
        days = []
        for path in self.folder.glob(f"{_PREFIX}*{_SUFFIX}"):
            try:
                days.append(dt.date.fromisoformat(path.name[len(_PREFIX) : -len(_SUFFIX)]))
            except ValueError:
                continue  # not one of ours; leave it alone
        return sorted(days)

    def load(self, day: dt.date) -> InstrumentMaster:
        path = self.path_for(day)
        if not path.is_file():
            raise DataError(f"{path}: no scrip master cached for {day}")
        return load_scrip_master(path)

    def store(self, data: bytes, day: dt.date) -> InstrumentMaster:
        """Check `data` parses, write it as `day`'s master, prune old days; return the master."""
        path = self.path_for(day)
        master = parse_scrip_master_bytes(data, source=f"downloaded master for {day}")
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # Prune the oldest other days; never the one just written, even if it is the oldest.
        others = [d for d in self.cached_days() if d != day]
        for old in others[: max(0, len(others) - (self.keep - 1))]:
            self.path_for(old).unlink(missing_ok=True)
        return master

    def get(self, day: dt.date, fetch: Callable[[], bytes]) -> InstrumentMaster:
        """`day`'s master: from the cache, or fetched, checked and cached once."""
        if self.has(day):
            return self.load(day)
        return self.store(fetch(), day)
