"""Application metrics for CloudWatch alarms, as embedded-metric-format (EMF) log lines.

In ECS the awslogs driver ships a service's standard output to CloudWatch Logs, which turns each
EMF line into metric data points: no PutMetricData calls, no credentials, nothing lost when the
API is slow. The names here are the ones `infra/modules/monitoring` alarms on (a test reads both);
the same figures stay on `/metrics` for Prometheus. Off unless `ALGO_METRICS_EMF=true`.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from typing import TextIO

__all__ = ["APP_METRICS", "EmfEmitter", "emf_line"]

APP_METRICS: dict[str, str] = {
    "DailyLossLimitHit": "Count",
    "OrderRejections": "Count",
    "FeedStaleSeconds": "Seconds",
    "ReconciliationDifferences": "Count",
}
"""Metric name -> CloudWatch unit: what the alarms of infra/modules/monitoring watch."""


def emf_line(namespace: str, service: str, name: str, value: float, timestamp_ms: int) -> str:
    """One EMF document (one metric, dimension Service), as a single JSON line."""
    unit = APP_METRICS.get(name)
    if unit is None:
        raise ValueError(f"unknown application metric {name!r} (known: {', '.join(APP_METRICS)})")
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [["Service"]],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        "Service": service,
        name: value,
    }
    return json.dumps(document, separators=(",", ":"))


class EmfEmitter:
    """Writes EMF lines for one service; thread-safe (a line is never interleaved)."""

    def __init__(
        self,
        namespace: str,
        service: str,
        clock_ns: Callable[[], int],
        stream: TextIO | None = None,
    ) -> None:
        self._namespace = namespace
        self._service = service
        self._clock_ns = clock_ns
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, name: str, value: float = 1) -> None:
        line = emf_line(self._namespace, self._service, name, value, self._clock_ns() // 1_000_000)
        stream = self._stream if self._stream is not None else sys.stdout
        with self._lock:
            stream.write(line + "\n")
            stream.flush()
