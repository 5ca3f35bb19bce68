"""SnsChannel against moto's real SNS protocol server on 127.0.0.1 (never a patched boto3): what
is published reaches a subscribed SQS queue as SNS delivers it, with a subject SNS accepts;
a missing topic or an unreachable endpoint is a ChannelError naming the topic."""

from __future__ import annotations

import uuid

import pytest

from algo_trading.adapters.notify import ChannelError, SnsChannel
from algo_trading.adapters.notify.sns import SNS_MAX_SUBJECT
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Alert, AlertSeverity
from tests.support.alert_servers import REGION, delivered, free_port, topic_with_queue

pytestmark = pytest.mark.usefixtures("fake_aws")

T0 = 1_764_660_000 * 1_000_000_000


def stale(text: str = "no tick for 45 s while NSE is open; resubscribed") -> Alert:
    return Alert(
        "FEED_STALE",
        AlertSeverity.WARNING,
        text,
        T0,
        symbol="SBIN-EQ",
        instance="trader-2",
        details={"last_tick_age_s": "45"},
    )


def test_an_alert_is_published_with_subject_and_body_and_reaches_a_subscriber(
    aws_endpoint: str,
) -> None:
    topic_arn, queue_url = topic_with_queue(aws_endpoint)
    channel = SnsChannel(topic_arn, endpoint_url=aws_endpoint)  # region from the ARN
    channel.send(stale())
    channel.close()

    [note] = delivered(aws_endpoint, queue_url)
    assert note["TopicArn"] == topic_arn
    subject = note["Subject"]
    assert subject.startswith("[WARNING] FEED_STALE symbol=SBIN-EQ instance=trader-2: no tick")
    assert subject.endswith("...")  # SNS takes under 100 characters
    assert len(subject) <= SNS_MAX_SUBJECT
    assert "no tick for 45 s while NSE is open; resubscribed" in note["Message"]
    assert "last_tick_age_s: 45" in note["Message"]


def test_a_subject_is_kept_to_printable_ascii(aws_endpoint: str) -> None:
    topic_arn, queue_url = topic_with_queue(aws_endpoint)
    SnsChannel(topic_arn, endpoint_url=aws_endpoint).send(stale("loss ₹5,000"))

    [note] = delivered(aws_endpoint, queue_url)
    assert note["Subject"].endswith("loss ?5,000")
    assert "loss ₹5,000" in note["Message"]  # the body is UTF-8


def test_a_missing_topic_is_a_channel_error_naming_it(aws_endpoint: str) -> None:
    arn = f"arn:aws:sns:{REGION}:123456789012:absent-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ChannelError, match=rf"sns topic {arn}: NotFound"):
        SnsChannel(arn, endpoint_url=aws_endpoint).send(stale())


def test_an_unreachable_endpoint_is_a_channel_error() -> None:
    arn = f"arn:aws:sns:{REGION}:123456789012:alerts"
    channel = SnsChannel(arn, endpoint_url=f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(ChannelError, match="EndpointConnectionError"):
        channel.send(stale())


def test_a_topic_that_is_not_an_sns_arn_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not an SNS topic ARN"):
        SnsChannel("alerts", region=REGION)
