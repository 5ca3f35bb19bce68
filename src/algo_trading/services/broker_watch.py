"""Alerts for the broker's faults the adapter rides out by itself (issue #10, item 8 and the
Faults acceptance): a timeout or a 5xx answer, a rate-limit answer, an expired session, a
dropped feed, a place whose answer was lost.

The adapter already recovers from each (it retries reads, never re-places an order, logs in
again, reconnects the feed, and leaves a lost place to reconciliation); a person should still
hear that it happened. `ObservedHttp` is the adapter's HTTP client, counting each failed
attempt by kind as it passes (every attempt goes through `send_once`, retries included);
`BrokerWatch.check()`, called by the service every second or so, turns what was counted since
the last check, the feed's reconnects and newly unconfirmed orders into one alert per kind
(the notifier then de-duplicates and rate-limits them).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from algo_trading.adapters.brokers.angelone.config import Route
from algo_trading.adapters.brokers.angelone.errors import (
    BrokerUnavailableError,
    RateLimitedError,
    SessionExpiredError,
)
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.adapters.brokers.angelone.ws import StreamClient
from algo_trading.domain.ids import ClientOrderId
from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity, Clock, Notifier

__all__ = [
    "BROKER_TIMEOUT",
    "BROKER_UNAVAILABLE",
    "FEED_DROPPED",
    "ORDER_UNCONFIRMED",
    "RATE_LIMITED",
    "BrokerWatch",
    "Incidents",
    "ObservedHttp",
]

BROKER_TIMEOUT = "BROKER_TIMEOUT"  # no answer in time (a place so answered is unconfirmed)
BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE"  # a 5xx answer or a refused connection
RATE_LIMITED = "RATE_LIMITED"  # the 403 rate-limit answer (§6.1): backed off and sent again
FEED_DROPPED = "FEED_DROPPED"  # a WebSocket closed under us and was reconnected
ORDER_UNCONFIRMED = "ORDER_UNCONFIRMED"  # a place's answer lost: reconciliation settles it
SESSION_EXPIRED = AlertCode.SESSION_EXPIRED.value  # an invalid-token answer: logged in again


class Incidents:
    """Failed broker calls by kind, with the last route and message of each; thread-safe
    (the engine's thread, the stream threads and the recovery pass all call the broker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.last: dict[str, str] = {}

    def add(self, kind: str, detail: str) -> None:
        with self._lock:
            self.counts[kind] += 1
            self.last[kind] = detail

    def snapshot(self) -> tuple[Counter[str], dict[str, str]]:
        with self._lock:
            return Counter(self.counts), dict(self.last)


class ObservedHttp(AngelOneHttp):
    """AngelOneHttp that counts each failed attempt by kind into `incidents`."""

    def __init__(self, *args: Any, incidents: Incidents, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.incidents = incidents

    def send_once(
        self,
        route: Route,
        *,
        headers: Mapping[str, str],
        body: Mapping[str, Any] | None = None,
        path_suffix: str = "",
    ) -> Any:
        try:
            return super().send_once(route, headers=headers, body=body, path_suffix=path_suffix)
        except SessionExpiredError as exc:
            self.incidents.add(SESSION_EXPIRED, f"{route.name}: {exc.code}")
            raise
        except RateLimitedError:
            self.incidents.add(RATE_LIMITED, route.name)
            raise
        except BrokerUnavailableError as exc:
            kind = BROKER_TIMEOUT if exc.code == "TIMEOUT" else BROKER_UNAVAILABLE
            self.incidents.add(kind, f"{route.name}: {exc.code or 'no code'}")
            raise


_TEXT = {
    BROKER_TIMEOUT: "{n} Angel One call(s) got no answer in time (last: {last}); "
    "reads were retried, a place so lost is left to reconciliation",
    BROKER_UNAVAILABLE: "{n} Angel One call(s) failed with a server error (last: {last}); "
    "reads were retried, a place so answered is left to reconciliation",
    RATE_LIMITED: "{n} Angel One call(s) were rate-limited (last: {last}); backed off and sent "
    "again",
    SESSION_EXPIRED: "the Angel One session expired {n} time(s) (last: {last}); logged in again",
}


class BrokerWatch:
    """One alert per kind of fault seen since the last `check()`."""

    def __init__(
        self,
        incidents: Incidents,
        notifier: Notifier,
        clock: Clock,
        instance_id: str,
        *,
        streams: Sequence[StreamClient] = (),
        unconfirmed: Callable[[], Mapping[ClientOrderId, int]] | None = None,
        account: str = "",
    ) -> None:
        self._incidents = incidents
        self._notifier = notifier
        self._clock = clock
        self._instance = instance_id
        self._streams = list(streams)
        self._unconfirmed = unconfirmed
        self._account = account
        self._seen: Counter[str] = Counter()
        self._connects = {id(s): 0 for s in self._streams}
        self._told_unconfirmed: set[ClientOrderId] = set()

    def check(self) -> list[Alert]:
        """Alert what happened since the last check; returns the alerts sent."""
        now = self._clock.now_ns()
        counts, last = self._incidents.snapshot()
        alerts = []
        for kind, text in _TEXT.items():
            new = counts[kind] - self._seen[kind]
            if new > 0:
                alerts.append(self._alert(kind, text.format(n=new, last=last.get(kind, "")), now))
        self._seen = counts
        for stream in self._streams:
            connects, before = stream.connects, self._connects[id(stream)]
            self._connects[id(stream)] = connects
            if before and connects > before:  # the first handshake is not a drop
                text = (
                    f"the {stream.name} WebSocket dropped and reconnected {connects - before} "
                    "time(s); subscriptions restored"
                )
                alerts.append(self._alert(FEED_DROPPED, text, now))
        if self._unconfirmed is not None:
            pending = set(self._unconfirmed())
            new_ids = sorted(pending - self._told_unconfirmed)
            self._told_unconfirmed &= pending
            self._told_unconfirmed |= set(new_ids)
            if new_ids:
                text = (
                    f"{len(new_ids)} order(s) placed without an answer ({', '.join(new_ids[:5])}"
                    f"{'...' if len(new_ids) > 5 else ''}): never placed again; "
                    "reconciliation adopts or closes them"
                )
                alerts.append(self._alert(ORDER_UNCONFIRMED, text, now))
        for alert in alerts:
            self._notifier.notify(alert)
        return alerts

    def _alert(self, code: str, text: str, now: int) -> Alert:
        return Alert(
            code,
            AlertSeverity.WARNING,
            text,
            now,
            instance=self._instance,
            account=self._account,
        )
