"""The history store's persistence in the object store (S3 in production): the Parquet files
under the data folder's `market-data/historical/` are the fast local copy that backtests and the
top-up read and write; the object store's `market-data/historical/` keeps them across
containers. `push` uploads what changed (by SHA-256), `pull` restores what is missing or
different; both are idempotent, and a file is replaced locally only by an atomic rename."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from algo_trading.engine.ports import ObjectStore

__all__ = ["HISTORY_PREFIX", "pull_history", "push_history"]

HISTORY_PREFIX = "market-data/historical/"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _local_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith((".tmp", ".part"))
    )


def push_history(root: Path, store: ObjectStore) -> int:
    """Upload every local history file the object store lacks or holds otherwise; the count."""
    sent = 0
    for path in _local_files(root):
        key = HISTORY_PREFIX + path.relative_to(root).as_posix()
        held = store.head(key)
        if held is not None and held.sha256 == _sha256(path):
            continue
        store.put(key, path.read_bytes())
        sent += 1
    return sent


def pull_history(root: Path, store: ObjectStore) -> int:
    """Restore every stored history file that is missing or different here; the count."""
    got = 0
    for key in store.list(HISTORY_PREFIX):
        relative = key[len(HISTORY_PREFIX) :]
        target = root / relative
        held = store.head(key)
        if held is None or (target.is_file() and _sha256(target) == held.sha256):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        part.write_bytes(store.get(key))  # checked against its SHA-256 by the store
        os.replace(part, target)
        got += 1
    return got
