"""The object store as a local folder (the embedded default: ./var/objects).

An object is a plain file at `<root>/<key>` (so pyarrow or a person can read it), and its
SHA-256 and size are in `<root>/.meta/<key>.json`. A put writes both to temporary files in
their folders, fsyncs them, then renames the data over the old object and the metadata after
it: a reader sees a whole old or a whole new file, never half of one. A reader that lands
between the two renames sees new bytes and the old checksum; `get` then reads again (with the
retry policy) and only reports ChecksumMismatchError when the pair stays inconsistent, which
is real corruption.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from algo_trading.adapters.objectstore.layout import check_key
from algo_trading.adapters.objectstore.retrying import RetryPolicy, Transient, sha256_hex
from algo_trading.domain.errors import (
    ChecksumMismatchError,
    ObjectNotFoundError,
    ObjectStoreError,
    ObjectStoreUnavailableError,
)
from algo_trading.engine.ports import ObjectInfo

__all__ = ["LocalObjectStore"]

T = TypeVar("T")
_META = ".meta"
_TORN_PAUSES_S = (0.0, 0.001, 0.002, 0.005, 0.01, 0.02)  # 38 ms in all, per attempt
_FATAL = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT, errno.ENOTDIR}


class _Torn(Exception):
    """Data and metadata disagree; maybe a put in between its two renames: read again."""


class LocalObjectStore:
    def __init__(self, root: str | os.PathLike[str], retry: RetryPolicy | None = None) -> None:
        self.root = Path(root)
        self._retry = retry or RetryPolicy(attempts=4, initial_s=0.01, max_s=0.2)

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _meta(self, key: str) -> Path:
        return self.root / _META / f"{check_key(key)}.json"

    def uri(self, key: str) -> str:
        return self._path(key).absolute().as_uri()

    def check(self) -> None:
        probe = self.root / _META / f".probe-{uuid.uuid4().hex}"
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            raise ObjectStoreUnavailableError(
                f"object folder {self.root}: cannot write there ({exc.strerror or exc}); "
                "fix ALGO_OBJECTS_DIR"
            ) from None

    def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        info = ObjectInfo(check_key(key), len(data), sha256_hex(data))
        meta = json.dumps(
            {"sha256": info.sha256, "size": info.size, "content_type": content_type}
        ).encode()

        def attempt() -> ObjectInfo:
            try:
                data_tmp = _write_temp(self._path(key), data)
                meta_tmp = _write_temp(self._meta(key), meta)
                os.replace(data_tmp, self._path(key))
                os.replace(meta_tmp, self._meta(key))
            except OSError as exc:
                if exc.errno in _FATAL:
                    raise self._unavailable(key, exc) from None
                raise Transient(exc) from exc
            return info

        return self._run(key, attempt)

    def get(self, key: str) -> bytes:
        path, meta_path = self._path(key), self._meta(key)

        def attempt() -> bytes:
            try:
                meta = json.loads(meta_path.read_bytes())
                data = path.read_bytes()
            except FileNotFoundError:
                if path.exists() or meta_path.exists():
                    raise Transient(_Torn(key)) from None
                raise ObjectNotFoundError(f"{self.uri(key)}: no such object") from None
            except (OSError, ValueError) as exc:
                raise Transient(exc) from exc
            digest = sha256_hex(data)
            if digest == meta.get("sha256"):
                return data
            # A put that finished between the two reads: the bytes are the new object's, and
            # so is the metadata now. A put caught between its two renames settles within
            # moments, so the pair is read again a few times, briefly, before this attempt
            # counts as torn (the retry policy is for I/O failures, and a busy writer could
            # outlast its few tries); only a pair that stays apart is corrupt.
            for pause in _TORN_PAUSES_S:
                try:
                    again = json.loads(meta_path.read_bytes())
                    if digest == again.get("sha256"):
                        return data
                    time.sleep(pause)
                    data = path.read_bytes()
                    meta = json.loads(meta_path.read_bytes())
                except FileNotFoundError:
                    raise Transient(_Torn(key)) from None
                except (OSError, ValueError) as exc:
                    raise Transient(exc) from exc
                digest = sha256_hex(data)
                if digest == meta.get("sha256"):
                    return data
            raise Transient(_Torn(key))

        try:
            return self._run(key, attempt)
        except Transient as exc:
            if isinstance(exc.cause, _Torn):
                raise ChecksumMismatchError(
                    f"{self.uri(key)}: its bytes do not match the SHA-256 stored with it "
                    "(corrupt or written outside the store); not used"
                ) from None
            raise

    def head(self, key: str) -> ObjectInfo | None:
        try:
            meta = json.loads(self._meta(key).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ObjectStoreError(f"{self.uri(key)}: metadata unreadable ({exc})") from None
        if not self._path(key).exists():
            return None
        return ObjectInfo(key, int(meta["size"]), str(meta["sha256"]))

    def content_type(self, key: str) -> str:
        """The content type the object was put with (octet-stream if none was recorded)."""
        try:
            meta = json.loads(self._meta(key).read_bytes())
        except FileNotFoundError:
            raise ObjectNotFoundError(f"{self.uri(key)}: no such object") from None
        except (OSError, ValueError) as exc:
            raise ObjectStoreError(f"{self.uri(key)}: metadata unreadable ({exc})") from None
        return str(meta.get("content_type") or "application/octet-stream")

    def list(self, prefix: str) -> list[str]:
        keys = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = Path(dirpath).relative_to(self.root).as_posix()
            base = "" if rel == "." else rel + "/"
            if not (base.startswith(prefix) or prefix.startswith(base)):
                dirnames[:] = []
                continue
            keys += [
                base + f
                for f in filenames
                if not f.startswith(".") and (base + f).startswith(prefix)
            ]
        return sorted(keys)

    def delete(self, key: str) -> None:
        for path in (self._path(key), self._meta(key)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _run(self, key: str, attempt: Callable[[], T]) -> T:
        try:
            return self._retry.run(attempt)
        except Transient as exc:
            if isinstance(exc.cause, _Torn):
                raise
            cause = exc.cause
            reason = cause.strerror if isinstance(cause, OSError) else None
            raise ObjectStoreUnavailableError(
                f"{self.uri(key)}: failed after {self._retry.attempts} tries "
                f"({reason or type(cause).__name__})"
            ) from None

    def _unavailable(self, key: str, exc: OSError) -> ObjectStoreUnavailableError:
        return ObjectStoreUnavailableError(
            f"{self.uri(key)}: cannot write ({exc.strerror or exc}); check ALGO_OBJECTS_DIR"
        )


def _write_temp(target: Path, data: bytes) -> Path:
    """`data` in a new hidden file beside `target`, flushed to disk."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".tmp-{uuid.uuid4().hex}-{target.name}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp
