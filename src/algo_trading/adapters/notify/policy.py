"""When an alert is sent: de-duplication across channels and a rate limit per channel, both on
the time of an injected clock (issue #10 item 8). Single-threaded objects; the fan-out holds the
locks.

- `Deduplicator`: the first alert of a code and scope goes out; repeats within the window are
  held back and counted, and the next one after the window says how many were held back. A
  repeat more severe than the last one sent goes out at once (a warning that became critical).
- `TokenBucket` and `ChannelLimiter`: a channel sends at most `burst` alerts at once and
  `per_minute` a minute after that. What the limit (or a server's "retry after") holds back is
  counted by code, and one ALERTS_SUPPRESSED summary goes out when the limit lifts. The summary
  takes a token like any alert, so a channel never exceeds its rate, storms included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass

from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity

__all__ = ["ChannelLimiter", "Deduplicator", "RateLimit", "TokenBucket", "format_ts"]

_NS_PER_S = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_S
_SEVERITY_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
_IST = dt.timezone(dt.timedelta(hours=5, minutes=30), "IST")  # India keeps no summer time


def format_ts(ts_ns: int) -> str:
    """Exchange time, to the second: `2026-12-02 09:15:03 IST`."""
    return dt.datetime.fromtimestamp(ts_ns / _NS_PER_S, tz=_IST).strftime("%Y-%m-%d %H:%M:%S %Z")


class Deduplicator:
    """Holds back an alert whose code and scope went out less than `window_s` ago."""

    def __init__(self, window_s: float, *, max_keys: int = 10_000) -> None:
        if window_s < 0:
            raise ValueError(f"dedupe window {window_s} s: must be 0 or more")
        self._window_ns = int(window_s * _NS_PER_S)
        self._max_keys = max_keys
        # key -> (when it last went out, its severity then, repeats held back since)
        self._seen: dict[tuple[str, ...], tuple[int, AlertSeverity, int]] = {}
        self.held_back = 0

    def admit(self, alert: Alert, now_ns: int) -> Alert | None:
        """The alert to send (with `repeats_held_back` in its details when some were), or
        None when it repeats one sent within the window."""
        key = alert.key
        seen = self._seen.get(key)
        if seen is not None:
            sent_ns, severity, repeats = seen
            worse = _SEVERITY_RANK[alert.severity] > _SEVERITY_RANK[severity]
            if now_ns - sent_ns < self._window_ns and not worse:
                self._seen[key] = (sent_ns, severity, repeats + 1)
                self.held_back += 1
                return None
            if repeats:
                details = {**alert.details, "repeats_held_back": str(repeats)}
                alert = dataclasses.replace(alert, details=details)
        self._seen[key] = (now_ns, alert.severity, 0)
        if len(self._seen) > self._max_keys:
            self._forget_before(now_ns - self._window_ns)
        return alert

    def _forget_before(self, cutoff_ns: int) -> None:
        # Keys past their window hold nothing the next alert needs but the repeat count; when
        # even that leaves too many, the oldest go first (memory stays bounded in a storm).
        stale = [k for k, (sent, _, _) in self._seen.items() if sent < cutoff_ns]
        for k in stale:
            del self._seen[k]
        if len(self._seen) > self._max_keys:
            by_age = sorted(self._seen, key=lambda k: self._seen[k][0])
            for k in by_age[: len(self._seen) - self._max_keys]:
                del self._seen[k]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `burst` alerts at once, refilled at `per_minute` a minute."""

    per_minute: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError(
                f"rate limit {self.per_minute}/min, burst {self.burst}: "
                "the rate must be above 0 and the burst at least 1"
            )


class TokenBucket:
    def __init__(self, limit: RateLimit, now_ns: int) -> None:
        self._capacity = float(limit.burst)
        self._per_ns = limit.per_minute / _NS_PER_MINUTE
        self._tokens = self._capacity
        self._at_ns = now_ns

    def _refill(self, now_ns: int) -> None:
        if now_ns > self._at_ns:
            elapsed = now_ns - self._at_ns
            self._tokens = min(self._capacity, self._tokens + elapsed * self._per_ns)
            self._at_ns = now_ns

    def available(self, now_ns: int) -> bool:
        self._refill(now_ns)
        return self._tokens >= 1.0

    def take(self, now_ns: int) -> bool:
        if not self.available(now_ns):
            return False
        self._tokens -= 1.0
        return True


class ChannelLimiter:
    """The rate limit of one channel, and what it held back."""

    def __init__(self, channel: str, limit: RateLimit | None, now_ns: int) -> None:
        self.channel = channel
        self._bucket = TokenBucket(limit, now_ns) if limit is not None else None
        self._paused_until_ns = 0
        self._held: Counter[str] = Counter()
        self._held_severity = AlertSeverity.INFO
        self._held_since_ns = 0
        self._last_summary: tuple[Alert, Counter[str], AlertSeverity, int] | None = None
        self.held_back = 0  # every alert this channel never sent because of a limit

    def admit(self, alert: Alert, now_ns: int) -> list[Alert]:
        """What to send now: a summary of what was held back if the limit just lifted, then
        the alert if a token is left for it."""
        out = self.due(now_ns)
        if self._open(now_ns) and self._take(now_ns):
            out.append(alert)
        else:
            self.hold(alert, now_ns)
        return out

    def due(self, now_ns: int) -> list[Alert]:
        """The summary of what was held back, once the limit has lifted (else nothing)."""
        if not self._held or not self._open(now_ns) or not self._take(now_ns):
            return []
        summary = self._summary(now_ns)
        self._last_summary = (summary, self._held.copy(), self._held_severity, self._held_since_ns)
        self._held.clear()
        self._held_severity = AlertSeverity.INFO
        return [summary]

    def hold(self, alert: Alert, now_ns: int) -> None:
        """Count an alert that did not go out (the limit, or the server said to wait)."""
        last = self._last_summary
        if last is not None and alert is last[0]:
            # The summary itself was refused: what it summed up is held again, as it was.
            self._last_summary = None
            _, held, severity, since_ns = last
            if not self._held:
                self._held_since_ns = since_ns
            self._held.update(held)
            self._held_severity = max(severity, self._held_severity, key=_SEVERITY_RANK.__getitem__)
            return
        if not self._held:
            self._held_since_ns = now_ns
        self._held[alert.code] += 1
        if _SEVERITY_RANK[alert.severity] > _SEVERITY_RANK[self._held_severity]:
            self._held_severity = alert.severity
        self.held_back += 1

    def pause(self, until_ns: int) -> None:
        """Send nothing before `until_ns` (a server's "retry after")."""
        self._paused_until_ns = max(self._paused_until_ns, until_ns)

    @property
    def holding(self) -> int:
        return sum(self._held.values())

    def _open(self, now_ns: int) -> bool:
        return now_ns >= self._paused_until_ns

    def _take(self, now_ns: int) -> bool:
        return self._bucket is None or self._bucket.take(now_ns)

    def _summary(self, now_ns: int) -> Alert:
        total = sum(self._held.values())
        codes = ", ".join(f"{code} x{n}" for code, n in sorted(self._held.items()))
        since = format_ts(self._held_since_ns)
        return Alert(
            code=AlertCode.ALERTS_SUPPRESSED,
            severity=self._held_severity,
            text=f"{total} alert{'s' if total != 1 else ''} suppressed by the {self.channel} "
            f"rate limit since {since}: {codes}",
            ts_ns=now_ns,
            details={"suppressed": str(total), "since": since, "codes": codes},
        )
