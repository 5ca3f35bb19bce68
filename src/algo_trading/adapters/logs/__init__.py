"""Logging for every process: one masked handler, quiet libraries, and the registry of values
that must never reach a log (issue #15 item 5)."""

from algo_trading.adapters.logs.redaction import (
    MASK,
    RedactingFilter,
    SecretRegistry,
    default_registry,
    redact,
    register_secret,
)
from algo_trading.adapters.logs.setup import (
    THIRD_PARTY_LOGGERS,
    JsonFormatter,
    install_logging,
    project_handler,
)

__all__ = [
    "MASK",
    "THIRD_PARTY_LOGGERS",
    "JsonFormatter",
    "RedactingFilter",
    "SecretRegistry",
    "default_registry",
    "install_logging",
    "project_handler",
    "redact",
    "register_secret",
]
