"""The `Notifier` the services use: every alert to every channel, de-duplicated, rate-limited
per channel, masked, and never in the caller's way (issue #10 item 8).

`notify` does a dictionary look-up and a non-blocking put per channel, then returns: each
channel has its own bounded queue and worker thread, so a mail server that hangs for its whole
timeout delays neither the trading loop nor Telegram. A full queue drops the alert and counts
it. A channel that raises is logged (its error's type and masked message, never a traceback
that may carry a URL) and counted; the others are not affected. Every text reaches a channel
through the secret registry of adapters/logs. Times come from the injected clock.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from algo_trading.adapters.logs import SecretRegistry, default_registry
from algo_trading.adapters.notify.channel import AlertChannel, ChannelThrottledError
from algo_trading.adapters.notify.policy import ChannelLimiter, Deduplicator, RateLimit
from algo_trading.engine.ports import Alert, Clock

__all__ = ["ChannelStats", "FanOutNotifier", "NotifierStats"]

log = logging.getLogger(__name__)

_NS_PER_S = 1_000_000_000


class _Wake:
    """Queued to make a worker look at its limiter now (flush, close)."""


_WAKE: Final = _Wake()


@dataclass(frozen=True, slots=True)
class ChannelStats:
    sent: int  # alerts and summaries the channel accepted
    failed: int  # sends that raised
    held_back: int  # not sent because of the rate limit or a server's "retry after"
    dropped: int  # the queue was full


@dataclass(frozen=True, slots=True)
class NotifierStats:
    duplicates: int
    channels: Mapping[str, ChannelStats]


class _Lane:
    """One channel, its queue, its limiter and its worker."""

    def __init__(
        self,
        channel: AlertChannel,
        limit: RateLimit | None,
        *,
        clock: Clock,
        registry: SecretRegistry,
        queue_size: int,
        idle_poll_s: float,
    ) -> None:
        self.channel = channel
        self.name = channel.name
        self._clock = clock
        self._registry = registry
        self._idle_poll_s = idle_poll_s
        self.queue: queue.Queue[Alert | _Wake] = queue.Queue(maxsize=queue_size)
        self.limiter = ChannelLimiter(self.name, limit, clock.now_ns())
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"alerts-{self.name}", daemon=True)
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def offer(self, item: Alert | _Wake) -> bool:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            return False
        return True

    def _run(self) -> None:
        while True:
            try:
                item: Alert | _Wake | None = self.queue.get(timeout=self._idle_poll_s)
            except queue.Empty:
                item = None
            try:
                self._handle(item)
            except Exception:  # a bug here must not kill the lane: the next alert still goes
                log.exception("alert channel %s: unexpected error in its worker", self.name)
            finally:
                if item is not None:
                    self.queue.task_done()
            if self.stopping.is_set() and self.queue.empty():
                return

    def _handle(self, item: Alert | _Wake | None) -> None:
        now_ns = self._clock.now_ns()
        if isinstance(item, Alert):
            ready = self.limiter.admit(_redacted(item, self._registry), now_ns)
        else:
            ready = self.limiter.due(now_ns)
        for alert in ready:
            self._deliver(alert, now_ns)

    def _deliver(self, alert: Alert, now_ns: int) -> None:
        try:
            self.channel.send(alert)
        except ChannelThrottledError as exc:
            self.limiter.pause(now_ns + int(exc.retry_after_s * _NS_PER_S))
            self.limiter.hold(alert, now_ns)
            log.warning(
                "alert channel %s: %s; holding alerts for %s s",
                self.name,
                self._registry.redact(str(exc)),
                exc.retry_after_s,
            )
        except Exception as exc:
            # No exc_info: a library's traceback and chained causes may carry a URL or a
            # header; the type and the masked message say what went wrong.
            self.failed += 1
            log.warning(
                "alert channel %s: %s not sent: %s: %s",
                self.name,
                alert.code,
                type(exc).__name__,
                self._registry.redact(str(exc)),
                extra={"alert_channel": self.name, "alert_code": alert.code},
            )
        else:
            self.sent += 1


def _redacted(alert: Alert, registry: SecretRegistry) -> Alert:
    r = registry.redact
    return dataclasses.replace(
        alert,
        text=r(alert.text),
        strategy=r(alert.strategy),
        symbol=r(alert.symbol),
        instance=r(alert.instance),
        account=r(alert.account),
        details={r(k): r(v) for k, v in alert.details.items()},
    )


class FanOutNotifier:
    """Sends each alert to every channel; see the module's docstring for the rules.

    `start()` starts the workers (alerts offered before wait in the queues); `close()` lets
    them send what is queued, within a deadline, and closes the channels. `flush()` waits until
    every queued alert was handled (tests, shutdown).
    """

    def __init__(
        self,
        channels: Sequence[tuple[AlertChannel, RateLimit | None]],
        *,
        clock: Clock,
        dedupe_window_s: float = 300.0,
        queue_size: int = 1000,
        registry: SecretRegistry | None = None,
        idle_poll_s: float = 1.0,
    ) -> None:
        names = [channel.name for channel, _ in channels]
        if len(set(names)) != len(names):
            raise ValueError(f"alert channels {names}: each name once")
        if queue_size < 1:
            raise ValueError(f"alert queue size {queue_size}: must be at least 1")
        self._clock = clock
        self._registry = registry if registry is not None else default_registry()
        self._dedupe = Deduplicator(dedupe_window_s)
        self._lock = threading.Lock()
        self._lanes = [
            _Lane(
                channel,
                limit,
                clock=clock,
                registry=self._registry,
                queue_size=queue_size,
                idle_poll_s=idle_poll_s,
            )
            for channel, limit in channels
        ]
        self._started = False
        self._closed = False

    @property
    def channel_names(self) -> list[str]:
        return [lane.name for lane in self._lanes]

    def start(self) -> None:
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        for lane in self._lanes:
            lane.thread.start()

    def notify(self, alert: Alert) -> None:
        try:
            self._offer(alert)
        except Exception:  # the caller is the trading loop: a notifier bug must not stop it
            log.exception("alerts: could not queue %s", getattr(alert, "code", "an alert"))

    def _offer(self, alert: Alert) -> None:
        with self._lock:
            if self._closed:
                log.warning("alerts: %s arrived after close; not sent", alert.code)
                return
            admitted = self._dedupe.admit(alert, self._clock.now_ns())
            if admitted is None:
                return
            for lane in self._lanes:
                if not lane.offer(admitted):
                    lane.dropped += 1
                    if lane.dropped == 1 or lane.dropped % 100 == 0:
                        log.warning(
                            "alert channel %s: queue full, %d alerts dropped so far",
                            lane.name,
                            lane.dropped,
                        )

    def flush(self, timeout_s: float) -> bool:
        """Wake every worker to send what its limit now allows, and wait until each queue is
        handled; False if that took longer than `timeout_s` (or the workers never started)."""
        if not self._started:
            return False
        deadline = time.monotonic() + timeout_s
        for lane in self._lanes:
            lane.offer(_WAKE)
        return all(_wait_handled(lane.queue, deadline) for lane in self._lanes)

    def close(self, timeout_s: float = 5.0) -> bool:
        """Send what is queued (within `timeout_s` in all), stop the workers, close the
        channels. True when every worker finished in time."""
        with self._lock:
            if self._closed:
                return True
            self._closed = True
            started = self._started
        deadline = time.monotonic() + timeout_s
        finished = True
        for lane in self._lanes:
            lane.stopping.set()
            lane.offer(_WAKE)
        for lane in self._lanes:
            if started:
                lane.thread.join(max(0.0, deadline - time.monotonic()))
                finished = finished and not lane.thread.is_alive()
            try:
                lane.channel.close()
            except Exception as exc:
                log.warning("alert channel %s: close failed: %s", lane.name, type(exc).__name__)
        return finished

    def stats(self) -> NotifierStats:
        with self._lock:
            duplicates = self._dedupe.held_back
        return NotifierStats(
            duplicates=duplicates,
            channels={
                lane.name: ChannelStats(
                    sent=lane.sent,
                    failed=lane.failed,
                    held_back=lane.limiter.held_back,
                    dropped=lane.dropped,
                )
                for lane in self._lanes
            },
        )


def _wait_handled(q: queue.Queue[Alert | _Wake], deadline: float) -> bool:
    # Queue.join() has no timeout; this is the same wait on the same condition, with one.
    with q.all_tasks_done:
        while q.unfinished_tasks:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            q.all_tasks_done.wait(left)
    return True
