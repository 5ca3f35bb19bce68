"""FanOutNotifier with in-memory channels and a clock the test moves: every channel gets each
alert once, a failing or hanging channel harms neither the caller nor the others, limits and
summaries per channel, and no registered secret reaches a channel. Waits are `flush` with a
deadline, never sleeps."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from algo_trading.adapters.logs import MASK, SecretRegistry
from algo_trading.adapters.notify import (
    ChannelError,
    ChannelThrottledError,
    FanOutNotifier,
    RateLimit,
)
from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity

S = 1_000_000_000
T0 = 1_764_660_000 * S
WAIT_S = 10.0


class RecordingChannel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Alert] = []
        self.closed = False

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)

    def close(self) -> None:
        self.closed = True


class FailingChannel(RecordingChannel):
    def send(self, alert: Alert) -> None:
        raise ChannelError(f"{self.name}: server said no")


class BuggyChannel(RecordingChannel):
    def send(self, alert: Alert) -> None:
        raise RuntimeError("a bug in the channel")


class GatedChannel(RecordingChannel):
    """Blocks in `send` until the test opens the gate: a mail server that hangs."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def send(self, alert: Alert) -> None:
        self.entered.set()
        assert self.gate.wait(WAIT_S)
        super().send(alert)


class ThrottlingChannel(RecordingChannel):
    """Answers the first send with "retry after 30 s", like Telegram's flood control."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.refused: list[Alert] = []

    def send(self, alert: Alert) -> None:
        if not self.refused:
            self.refused.append(alert)
            raise ChannelThrottledError("429 Too Many Requests", retry_after_s=30)
        super().send(alert)


def alert(code: str = "FEED_STALE", *, symbol: str = "SBIN-EQ", text: str = "") -> Alert:
    return Alert(code, AlertSeverity.WARNING, text or f"{code} on {symbol}", T0, symbol=symbol)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T0)


@pytest.fixture
def notifiers() -> Iterator[list[FanOutNotifier]]:
    made: list[FanOutNotifier] = []
    yield made
    for notifier in made:
        notifier.close(timeout_s=WAIT_S)


def make(
    made: list[FanOutNotifier],
    clock: SimulatedClock,
    *channels: RecordingChannel,
    limit: RateLimit | None = None,
    **kwargs: object,
) -> FanOutNotifier:
    notifier = FanOutNotifier([(c, limit) for c in channels], clock=clock, **kwargs)
    made.append(notifier)
    notifier.start()
    return notifier


def test_every_channel_gets_each_alert_once_and_a_repeat_is_counted_not_sent(
    clock: SimulatedClock, notifiers: list[FanOutNotifier]
) -> None:
    log, mail = RecordingChannel("log"), RecordingChannel("smtp")
    notifier = make(notifiers, clock, log, mail, dedupe_window_s=60)

    notifier.notify(alert())
    notifier.notify(alert())
    notifier.notify(alert(symbol="INFY-EQ"))
    assert notifier.flush(WAIT_S)

    for channel in (log, mail):
        assert [a.symbol for a in channel.sent] == ["SBIN-EQ", "INFY-EQ"]
    stats = notifier.stats()
    assert stats.duplicates == 1
    assert stats.channels["smtp"].sent == 2


def test_a_failing_channel_is_counted_and_the_others_still_get_the_alert(
    clock: SimulatedClock, notifiers: list[FanOutNotifier]
) -> None:
    good = RecordingChannel("log")
    notifier = make(notifiers, clock, FailingChannel("sns"), BuggyChannel("smtp"), good)

    notifier.notify(alert("KILL_SWITCH"))
    notifier.notify(alert("RISK_BREACH"))
    assert notifier.flush(WAIT_S)

    assert [a.code for a in good.sent] == ["KILL_SWITCH", "RISK_BREACH"]
    stats = notifier.stats()
    assert stats.channels["sns"].failed == 2
    assert stats.channels["smtp"].failed == 2
    assert stats.channels["log"].failed == 0


def test_a_hanging_channel_blocks_neither_the_caller_nor_the_other_channels(
    clock: SimulatedClock, notifiers: list[FanOutNotifier]
) -> None:
    slow, fast = GatedChannel("smtp"), RecordingChannel("telegram")
    notifier = make(notifiers, clock, slow, fast, queue_size=2)

    notifier.notify(alert(symbol="S0"))
    assert slow.entered.wait(WAIT_S)
    # The worker of smtp is stuck in send: its queue takes 2, the rest are dropped, and the
    # caller returns each time.
    for i in range(1, 6):
        notifier.notify(alert(symbol=f"S{i}"))
        assert _wait_until(lambda n=i + 1: len(fast.sent) == n)
    assert notifier.stats().channels["smtp"].dropped == 3

    slow.gate.set()
    assert notifier.flush(WAIT_S)
    assert [a.symbol for a in slow.sent] == ["S0", "S1", "S2"]


def test_the_rate_limit_holds_back_per_channel_and_a_summary_follows_when_it_lifts(
    clock: SimulatedClock, notifiers: list[FanOutNotifier]
) -> None:
    telegram, log = RecordingChannel("telegram"), RecordingChannel("log")
    notifier = FanOutNotifier(
        [(telegram, RateLimit(per_minute=2, burst=2)), (log, None)], clock=clock
    )
    notifiers.append(notifier)
    notifier.start()

    for i in range(5):
        notifier.notify(alert(symbol=f"S{i}"))
    assert notifier.flush(WAIT_S)
    assert len(telegram.sent) == 2
    assert len(log.sent) == 5

    clock.set(T0 + 30 * S)  # one token back at 2 a minute
    assert notifier.flush(WAIT_S)  # no new alert: the idle worker still sends the summary

    assert [a.code for a in telegram.sent] == ["FEED_STALE", "FEED_STALE", "ALERTS_SUPPRESSED"]
    assert telegram.sent[-1].details["suppressed"] == "3"
    assert notifier.stats().channels["telegram"].held_back == 3
    assert notifier.stats().channels["log"].held_back == 0


def test_a_retry_after_holds_the_channel_and_the_refused_alert_is_in_the_summary(
    clock: SimulatedClock, notifiers: list[FanOutNotifier]
) -> None:
    telegram = ThrottlingChannel("telegram")
    notifier = make(notifiers, clock, telegram)

    notifier.notify(alert("KILL_SWITCH"))
    notifier.notify(alert("RISK_BREACH"))
    assert notifier.flush(WAIT_S)
    assert telegram.sent == []

    clock.set(T0 + 30 * S)
    notifier.notify(alert("FEED_STALE"))
    assert notifier.flush(WAIT_S)

    assert [a.code for a in telegram.sent] == [AlertCode.ALERTS_SUPPRESSED, "FEED_STALE"]
    assert telegram.sent[0].details["codes"] == "KILL_SWITCH x1, RISK_BREACH x1"


def test_a_registered_secret_reaches_no_channel(
    clock: SimulatedClock, notifiers: list[FanOutNotifier]
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    registry = SecretRegistry()
    registry.register(secret)
    channel = RecordingChannel("log")
    notifier = make(notifiers, clock, channel, registry=registry)

    notifier.notify(
        Alert(
            "SESSION_EXPIRED",
            AlertSeverity.CRITICAL,
            f"login failed with {secret}",
            T0,
            account=secret,
            details={"answer": f"token={secret}", secret: "as a key"},
        )
    )
    assert notifier.flush(WAIT_S)

    [sent] = channel.sent
    shown = repr(sent)
    assert secret not in shown
    assert MASK in sent.text
    assert sent.account == MASK


def test_notify_never_raises_even_when_the_clock_fails(notifiers: list[FanOutNotifier]) -> None:
    class BrokenClock:
        calls = 0

        def now_ns(self) -> int:
            self.calls += 1
            if self.calls > 1:  # the first call is the lane's construction
                raise OSError("clock gone")
            return T0

    notifier = FanOutNotifier([(RecordingChannel("log"), None)], clock=BrokenClock())
    notifiers.append(notifier)
    notifier.notify(alert())  # must not raise


def test_close_sends_what_is_queued_closes_the_channels_and_later_alerts_are_ignored(
    clock: SimulatedClock,
) -> None:
    channel = RecordingChannel("log")
    notifier = FanOutNotifier([(channel, None)], clock=clock)
    notifier.notify(alert(symbol="before-start"))  # queued until the workers start
    notifier.start()
    notifier.notify(alert(symbol="S1"))

    assert notifier.close(timeout_s=WAIT_S)
    notifier.notify(alert(symbol="after-close"))

    assert [a.symbol for a in channel.sent] == ["before-start", "S1"]
    assert channel.closed


def test_two_channels_with_one_name_are_refused(clock: SimulatedClock) -> None:
    with pytest.raises(ValueError, match="each name once"):
        FanOutNotifier(
            [(RecordingChannel("log"), None), (RecordingChannel("log"), None)], clock=clock
        )


def _wait_until(condition: object, timeout_s: float = WAIT_S) -> bool:
    assert callable(condition)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        threading.Event().wait(0.005)
    return bool(condition())
