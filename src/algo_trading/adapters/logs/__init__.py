"""Logging for every process: one masked handler, quiet libraries, the registry of values
that must never reach a log (issue #15 item 5), and the fields each service record carries
(instance id, strategy, client order id; issue #10 item 9)."""

from algo_trading.adapters.logs.context import (
    LOG_CONTEXT_FIELDS,
    ContextAdapter,
    ContextFilter,
    current_log_context,
    log_context,
    set_instance_id,
)
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
    "LOG_CONTEXT_FIELDS",
    "MASK",
    "THIRD_PARTY_LOGGERS",
    "ContextAdapter",
    "ContextFilter",
    "JsonFormatter",
    "RedactingFilter",
    "SecretRegistry",
    "current_log_context",
    "default_registry",
    "install_logging",
    "log_context",
    "project_handler",
    "redact",
    "register_secret",
    "set_instance_id",
]
