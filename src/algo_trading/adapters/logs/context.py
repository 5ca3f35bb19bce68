"""Fields every service log line carries (issue #10 item 9, STYLE habit 19): the instance id,
set once per process, and the strategy and client order id of the work in hand, set per call.

    set_instance_id("trading-2")                     # at start, by the composition root
    with log_context(strategy="sma-sbin", client_order_id=coid):
        log.info("order sent")                       # -> {"instance_id": ..., "strategy": ...}

`ContextFilter` (on the handler `install_logging` installs) copies them onto each record that
does not already carry them through `extra=`, so library records get the instance id too.
The per-call fields live in a ContextVar: each asyncio task and each thread sees its own (a new
thread starts with none); the instance id is one value for the whole process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

__all__ = [
    "LOG_CONTEXT_FIELDS",
    "ContextAdapter",
    "ContextFilter",
    "current_log_context",
    "log_context",
    "set_instance_id",
]

LOG_CONTEXT_FIELDS = ("instance_id", "strategy", "client_order_id")

_instance_id: str | None = None
_call: ContextVar[Mapping[str, str]] = ContextVar(
    "algo_trading_log_context", default=MappingProxyType({})
)


def set_instance_id(instance_id: str | None) -> None:
    """Name this process's instance in every record from now on (None: stop)."""
    global _instance_id  # one value for every thread and task of the process, set at start
    if instance_id is not None and not instance_id.strip():
        raise ValueError("instance id must not be blank")
    _instance_id = instance_id


@contextmanager
def log_context(
    *, strategy: str | None = None, client_order_id: str | None = None
) -> Iterator[None]:
    """Within the block, records carry `strategy` and `client_order_id`; a field left None
    keeps the value of an enclosing block."""
    fields = dict(_call.get())
    if strategy is not None:
        fields["strategy"] = strategy
    if client_order_id is not None:
        fields["client_order_id"] = str(client_order_id)
    token = _call.set(fields)
    try:
        yield
    finally:
        _call.reset(token)


def current_log_context() -> dict[str, str]:
    """The fields a record made here and now would carry."""
    fields = dict(_call.get())
    if _instance_id is not None:
        fields["instance_id"] = _instance_id
    return fields


class ContextFilter(logging.Filter):
    """Adds the context fields to each record that does not set them itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_log_context().items():
            if key not in record.__dict__:
                record.__dict__[key] = value
        return True


class ContextAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger bound to fixed fields (`ContextAdapter(log, {"strategy": "sma-sbin"})`), which
    a call's own `extra=` overrides; the standard adapter would drop the call's `extra`."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs
