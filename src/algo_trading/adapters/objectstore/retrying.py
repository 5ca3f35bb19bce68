"""Retries with backoff for object-store calls (tenacity), written once for both stores:
only failures marked transient are retried; the last one is re-raised as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

__all__ = ["RetryPolicy", "Transient", "sha256_hex"]

T = TypeVar("T")


class Transient(Exception):
    """A failure worth another try (a timeout, a 5xx, throttling); wraps the cause."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    initial_s: float = 0.2
    max_s: float = 5.0

    def run(self, action: Callable[[], T]) -> T:
        """`action()`, again after a growing, jittered wait while it raises Transient; the last
        Transient propagates when the attempts are used up."""
        retrying = Retrying(
            retry=retry_if_exception_type(Transient),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.initial_s, max=self.max_s)
            + wait_random(0, self.initial_s),
            reraise=True,
        )
        return retrying(action)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
