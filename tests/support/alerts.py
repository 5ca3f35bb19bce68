"""An in-memory Notifier for tests of code that raises alerts (the risk manager, the feed
watchdog, reconciliation): it keeps every alert, in order."""

from __future__ import annotations

import threading

from algo_trading.engine.ports import Alert

__all__ = ["RecordingNotifier"]


class RecordingNotifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alerts: list[Alert] = []

    def notify(self, alert: Alert) -> None:
        with self._lock:
            self._alerts.append(alert)

    @property
    def alerts(self) -> list[Alert]:
        with self._lock:
            return list(self._alerts)

    def codes(self) -> list[str]:
        return [a.code for a in self.alerts]
