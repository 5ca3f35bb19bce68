"""An object store that spills to the local disk while its own store (S3) is unreachable.

The data service's puts go through it: live tick files, candles, feed gaps, the nightly log
and tick archives, the instrument master, reports. When the store refuses a put because it
cannot be reached (ObjectStoreUnavailableError, after its own retries), the object is written
to a local folder instead (a LocalObjectStore: temporary file, fsync, rename, with its SHA-256
beside it) and the put returns: nothing is lost and nothing waits in memory. From then on puts
go straight to the folder (no retry wait per put) until `drain()` finds the store back.

`drain()` (the service calls it on its store checks) uploads the spilled objects in key order:
each is read back and verified against its SHA-256 (a file damaged on disk is left where it
is and reported, never uploaded), put, checked with a HEAD whose SHA-256 must be the same, and
only then removed from the folder. Idempotent: a crash between the upload and the removal
uploads the same bytes again next time, which changes nothing. A put that reaches the store
removes any spilled copy of its key, so a stale spill never overwrites a newer object.

Reads see both: `get`/`head` answer from the spill for a spilled key (it is the newest value),
`list` merges the spilled keys with the store's (and fails while the store is away, rather
than answer with part of a day).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from algo_trading.adapters.objectstore.local import LocalObjectStore
from algo_trading.domain.errors import (
    ChecksumMismatchError,
    ObjectStoreError,
    ObjectStoreUnavailableError,
)
from algo_trading.engine.ports import ObjectInfo, ObjectStore

__all__ = ["DrainResult", "SpillingObjectStore"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DrainResult:
    uploaded: int
    left: int
    damaged: tuple[str, ...] = ()
    error: str = ""


class SpillingObjectStore:
    def __init__(self, store: ObjectStore, spill: LocalObjectStore) -> None:
        self.store = store
        self.spill = spill
        self._lock = threading.RLock()  # puts and drains of one key never interleave
        self._down = False
        self.spilled_total = 0
        self.uploaded_total = 0
        self.last_error = ""

    def __repr__(self) -> str:
        return f"{self.store!r} (spilling to {self.spill.root})"

    @property
    def down(self) -> bool:
        """Whether the store was unreachable at the last put or drain (puts spill meanwhile)."""
        return self._down

    def pending(self) -> list[str]:
        """The keys waiting in the spill folder."""
        return self.spill.list("")

    # --- writes ------------------------------------------------------------------------------
    def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        with self._lock:
            if not self._down:
                try:
                    info = self.store.put(key, data, content_type=content_type)
                except ObjectStoreUnavailableError as exc:
                    self._went_down(exc)
                else:
                    if self.spill.head(key) is not None:
                        self.spill.delete(key)  # the store has a newer value than the spill
                    return info
            info = self.spill.put(key, data, content_type=content_type)
            self.spilled_total += 1
            return info

    def delete(self, key: str) -> None:
        with self._lock:
            self.spill.delete(key)
            self.store.delete(key)

    def drain(self) -> DrainResult:
        """Upload what was spilled (see the module's docstring); stops at the first object the
        store cannot take, which leaves it and the rest for the next drain."""
        uploaded, damaged = 0, []
        with self._lock:
            keys = self.pending()
            for key in keys:
                try:
                    data = self.spill.get(key)
                except ChecksumMismatchError as exc:
                    damaged.append(key)
                    log.error("spilled object not uploaded: %s", exc)
                    continue
                try:
                    sent = self.store.put(key, data, content_type=self.spill.content_type(key))
                    there = self.store.head(key)
                    if there is None or there.sha256 != sent.sha256:
                        raise ObjectStoreUnavailableError(
                            f"{self.store.uri(key)}: uploaded, but the store does not show it "
                            "with the same SHA-256 yet; kept on disk"
                        )
                except ObjectStoreError as exc:
                    self._went_down(exc)
                    left = len(keys) - uploaded
                    return DrainResult(uploaded, left, tuple(damaged), str(exc))
                self.spill.delete(key)
                uploaded += 1
                self.uploaded_total += 1
            if self._down and not uploaded:  # nothing to send: ask the store itself
                try:
                    self.store.check()
                except ObjectStoreError as exc:
                    self._went_down(exc)
                    return DrainResult(0, len(damaged), tuple(damaged), str(exc))
            if self._down:
                self._down = False
                log.info("object store back: %d spilled objects uploaded", uploaded)
            elif uploaded:
                log.info("%d spilled objects uploaded", uploaded)
        return DrainResult(uploaded, len(damaged), tuple(damaged))

    def mark_down(self, exc: ObjectStoreError) -> None:
        """The store failed a check: spill from now on, without trying it first."""
        with self._lock:
            self._went_down(exc)

    def _went_down(self, exc: ObjectStoreError) -> None:
        self.last_error = str(exc)
        if not self._down:
            self._down = True
            log.error(
                "object store unreachable; spilling to %s until it is back: %s",
                self.spill.root,
                exc,
            )

    # --- reads -------------------------------------------------------------------------------
    def get(self, key: str) -> bytes:
        if self.spill.head(key) is not None:
            return self.spill.get(key)
        return self.store.get(key)

    def head(self, key: str) -> ObjectInfo | None:
        return self.spill.head(key) or self.store.head(key)

    def list(self, prefix: str) -> list[str]:
        return sorted(set(self.store.list(prefix)) | set(self.spill.list(prefix)))

    def uri(self, key: str) -> str:
        return self.store.uri(key)

    def check(self) -> None:
        """The store itself (readiness says whether the service runs on the spill)."""
        self.store.check()

    def check_spill(self) -> None:
        """ObjectStoreUnavailableError unless the spill folder can be written."""
        self.spill.check()
