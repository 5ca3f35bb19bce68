"""The process's log handler: one stream handler on the root logger, readable text for the CLI or
one JSON object per line for the services (STYLE habit 19), with every record masked by
`RedactingFilter` and the chattiest libraries held at INFO (issue #15 item 5).

Called once by a composition root (the CLI's `main`, a service's start); importing this module
configures nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from algo_trading.adapters.logs.context import ContextFilter
from algo_trading.adapters.logs.redaction import (
    STANDARD_RECORD_ATTRS,
    RedactingFilter,
    SecretRegistry,
)

__all__ = ["THIRD_PARTY_LOGGERS", "JsonFormatter", "install_logging", "project_handler"]

# Libraries whose DEBUG output carries request headers, bodies or frames: `websockets.client`
# logs every handshake header (the JWT, the API key and the feed token of §5.1), botocore logs
# response bodies (a Secrets Manager answer is the secret). INFO and above only, whatever the
# root level, unless the caller asks for more.
THIRD_PARTY_LOGGERS = (
    "websockets",
    "httpx",
    "httpcore",
    "hpack",
    "aiohttp",
    "asyncio",
    "urllib3",
    "botocore",
    "boto3",
    "s3transfer",
)

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC, ISO 8601), level, logger, message,
    every `extra` field, and the exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in STANDARD_RECORD_ATTRS and key not in out:
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, default=str, ensure_ascii=False)


class _ProjectHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler `install_logging` owns, so a second call replaces it."""


def project_handler(
    stream: TextIO | None = None,
    *,
    as_json: bool = False,
    registry: SecretRegistry | None = None,
) -> logging.Handler:
    """A stream handler with the project's format, the log context's fields (instance id,
    strategy, client order id) and the redaction filter (stderr by default)."""
    handler = _ProjectHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(_TEXT_FORMAT))
    handler.addFilter(ContextFilter())  # instance, strategy, order id: before the masking
    handler.addFilter(RedactingFilter(registry))
    return handler


def install_logging(
    level: int | str = logging.INFO,
    *,
    as_json: bool = False,
    stream: TextIO | None = None,
    third_party_level: int | str = logging.INFO,
    third_party: Iterable[str] = THIRD_PARTY_LOGGERS,
    registry: SecretRegistry | None = None,
) -> logging.Handler:
    """Route every record to one masked stream handler on the root logger at `level`.

    Third-party loggers are set to the higher of `third_party_level` and `level` (a library's
    DEBUG never shows because the root is at DEBUG). Calling it again replaces the handler it
    installed before; other handlers on the root (a test runner's) are left alone. Returns the
    handler, so the caller can remove it.
    """
    root_level = _level(level)
    quiet = max(_level(third_party_level), root_level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ProjectHandler)]:
        root.removeHandler(old)
        old.close()
    handler = project_handler(stream, as_json=as_json, registry=registry)
    root.addHandler(handler)
    root.setLevel(root_level)
    for name in third_party:
        logging.getLogger(name).setLevel(quiet)
    return handler


def _level(level: int | str) -> int:
    value = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    return value
