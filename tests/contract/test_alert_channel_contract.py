"""The alert channel contract the fan-out relies on (adapters/notify/channel.py), one suite for
every channel over its real server on loopback: a delivered alert carries its code and text,
a channel whose server is gone raises ChannelError and nothing else (on one line, naming the
channel), and close can be called twice. The Notifier port's promise (never raises) is checked
for the fan-out and the in-memory fake."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr

from algo_trading.adapters.notify import (
    AlertChannel,
    ChannelError,
    FanOutNotifier,
    LogChannel,
    SmtpChannel,
    SnsChannel,
    TelegramChannel,
)
from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.ports import Alert, AlertSeverity, Notifier
from tests.support.alert_servers import (
    REGION,
    BotApi,
    SmtpServer,
    aws_endpoint,
    bot_api,
    delivered,
    fake_aws,
    free_port,
    smtp_plain,
    topic_with_queue,
)
from tests.support.alerts import RecordingNotifier

__all__ = ["aws_endpoint", "bot_api", "fake_aws", "smtp_plain"]

T0 = 1_764_660_000 * 1_000_000_000
Delivered = Callable[[], list[str]]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _log(request: pytest.FixtureRequest) -> tuple[AlertChannel, Delivered]:
    logger = logging.getLogger(f"test.alerts.{uuid.uuid4().hex}")
    logger.setLevel(logging.INFO)
    handler = _Records()
    logger.addHandler(handler)
    return LogChannel(logger), lambda: [r.getMessage() for r in handler.records]


def _sns(request: pytest.FixtureRequest) -> tuple[AlertChannel, Delivered]:
    request.getfixturevalue("fake_aws")
    endpoint: str = request.getfixturevalue("aws_endpoint")
    topic_arn, queue_url = topic_with_queue(endpoint)
    channel = SnsChannel(topic_arn, endpoint_url=endpoint)
    return channel, lambda: [n["Subject"] + n["Message"] for n in delivered(endpoint, queue_url)]


def _smtp(request: pytest.FixtureRequest) -> tuple[AlertChannel, Delivered]:
    server: SmtpServer = request.getfixturevalue("smtp_plain")
    channel = SmtpChannel(
        "127.0.0.1",
        server.port,
        sender="a@example.com",
        recipients=["b@example.com"],
        starttls=False,
    )
    return channel, lambda: [bytes(m.content or b"").decode() for m in server.mailbox.messages]


def _telegram(request: pytest.FixtureRequest) -> tuple[AlertChannel, Delivered]:
    api: BotApi = request.getfixturevalue("bot_api")
    return TelegramChannel(SecretStr(api.token), "42", base_url=api.base_url), lambda: api.texts


WORKING = {"log": _log, "sns": _sns, "smtp": _smtp, "telegram": _telegram}


def _dead(name: str, request: pytest.FixtureRequest) -> AlertChannel:
    gone = f"http://127.0.0.1:{free_port()}"
    if name == "sns":
        request.getfixturevalue("fake_aws")
        arn = f"arn:aws:sns:{REGION}:123456789012:alerts"
        return SnsChannel(arn, endpoint_url=gone, timeout_s=2)
    if name == "smtp":
        return SmtpChannel(
            "127.0.0.1",
            free_port(),
            sender="a@example.com",
            recipients=["b@example.com"],
            starttls=False,
        )
    return TelegramChannel(SecretStr(f"1:{uuid.uuid4().hex}"), "42", base_url=gone)


def alert() -> Alert:
    return Alert(
        "RECONCILIATION_DIFF",
        AlertSeverity.WARNING,
        f"broker has order {uuid.uuid4().hex[:10]} that the database lacks",
        T0,
        account="A1",
    )


@pytest.fixture(params=sorted(WORKING))
def working(request: pytest.FixtureRequest) -> Iterator[tuple[AlertChannel, Delivered]]:
    channel, delivered = WORKING[request.param](request)
    yield channel, delivered
    channel.close()


def test_a_delivered_alert_carries_its_code_and_text(
    working: tuple[AlertChannel, Delivered],
) -> None:
    channel, delivered = working
    sent = alert()
    channel.send(sent)

    [text] = delivered()
    assert sent.code in text
    assert sent.text in text


def test_close_may_be_called_twice(working: tuple[AlertChannel, Delivered]) -> None:
    channel, _ = working
    channel.close()
    channel.close()


@pytest.mark.parametrize("name", ["sns", "smtp", "telegram"])
def test_a_channel_whose_server_is_gone_raises_channel_error_on_one_line(
    name: str, request: pytest.FixtureRequest
) -> None:
    channel = _dead(name, request)
    try:
        with pytest.raises(ChannelError) as caught:
            channel.send(alert())
    finally:
        channel.close()
    assert name in str(caught.value)
    assert "\n" not in str(caught.value)


class _Failing:
    name = "sns"

    def send(self, alert: Alert) -> None:
        raise ChannelError("sns: down")

    def close(self) -> None:
        return None


def _fanout() -> Notifier:
    return FanOutNotifier([(_Failing(), None)], clock=SimulatedClock(T0))


@pytest.mark.parametrize("make", [RecordingNotifier, _fanout], ids=["fake", "fanout"])
def test_notify_returns_without_raising(make: Callable[[], Notifier]) -> None:
    notifier = make()
    for _ in range(3):
        notifier.notify(alert())
    if isinstance(notifier, FanOutNotifier):
        notifier.close(5)
