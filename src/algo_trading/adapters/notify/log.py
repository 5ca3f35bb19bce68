"""The channel that is always on: one log record per alert, at a level by its severity, with
the code and scope as structured fields (STYLE habit 19), so the JSON logs of the services
carry every alert even when no other channel is configured."""

from __future__ import annotations

import logging

from algo_trading.adapters.notify.channel import render_subject
from algo_trading.engine.ports import Alert, AlertSeverity

__all__ = ["ALERT_LOGGER", "LogChannel"]

ALERT_LOGGER = "algo_trading.alerts"

_LEVELS = {
    AlertSeverity.INFO: logging.INFO,
    AlertSeverity.WARNING: logging.WARNING,
    AlertSeverity.CRITICAL: logging.CRITICAL,
}


class LogChannel:
    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger if logger is not None else logging.getLogger(ALERT_LOGGER)

    def send(self, alert: Alert) -> None:
        fields = {
            "alert_code": alert.code,
            "alert_severity": str(alert.severity),
            "alert_ts_ns": alert.ts_ns,
        }
        for name, value in (
            ("strategy", alert.strategy),
            ("symbol", alert.symbol),
            ("instance", alert.instance),
            ("account", alert.account),
        ):
            if value:
                fields[name] = value
        if alert.details:
            fields["alert_details"] = dict(alert.details)
        self._log.log(_LEVELS[alert.severity], "alert %s", render_subject(alert), extra=fields)

    def close(self) -> None:
        return None
