"""E-mail (and whatever else subscribes) through an AWS SNS topic: the seed's path.

One `Publish` per alert with `TopicArn`, `Subject` and `Message`. SNS takes a subject of under
100 characters with no line breaks or control characters, and a message of at most 256 KB
(SNS Publish API reference); the subject is kept to printable ASCII, which every e-mail
client shows. Constructing the channel makes no call; the boto3 client is made on the first
send (STYLE habit 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from algo_trading.adapters.notify.channel import ChannelError, render_body, render_subject
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Alert

__all__ = ["SNS_MAX_MESSAGE_BYTES", "SNS_MAX_SUBJECT", "SnsChannel", "region_of", "sns_subject"]

SNS_MAX_SUBJECT = 99  # "less than 100 characters"
SNS_MAX_MESSAGE_BYTES = 256 * 1024


class _SnsClient(Protocol):
    def publish(self, **kwargs: Any) -> Mapping[str, Any]: ...


def sns_subject(alert: Alert) -> str:
    """The alert's one-line subject as SNS accepts it: printable ASCII, under 100 characters."""
    text = "".join(c if " " <= c <= "~" else "?" for c in render_subject(alert))
    if len(text) > SNS_MAX_SUBJECT:
        text = text[: SNS_MAX_SUBJECT - 3].rstrip() + "..."
    return text


def _message(alert: Alert) -> str:
    body = render_body(alert)
    raw = body.encode("utf-8")
    if len(raw) <= SNS_MAX_MESSAGE_BYTES:
        return body
    cut = raw[: SNS_MAX_MESSAGE_BYTES - 64].decode("utf-8", errors="ignore")
    return cut + "\n[truncated]\n"


def region_of(topic_arn: str) -> str:
    """`arn:aws:sns:REGION:ACCOUNT:NAME` -> REGION ('' when the ARN has another shape)."""
    parts = topic_arn.split(":")
    return parts[3] if len(parts) == 6 and parts[0] == "arn" and parts[2] == "sns" else ""


class SnsChannel:
    name = "sns"

    def __init__(
        self,
        topic_arn: str,
        *,
        region: str = "",
        endpoint_url: str | None = None,
        timeout_s: float = 10.0,
        client: _SnsClient | None = None,
    ) -> None:
        region = region or region_of(topic_arn)
        if not region_of(topic_arn):
            raise ConfigError(
                f"sns alerts: topic {topic_arn!r} is not an SNS topic ARN "
                "(arn:aws:sns:REGION:ACCOUNT:NAME)"
            )
        self._topic_arn = topic_arn
        self._region = region
        self._endpoint_url = endpoint_url
        self._timeout_s = timeout_s
        self._client = client

    def __repr__(self) -> str:
        return f"SnsChannel(topic_arn={self._topic_arn!r}, region={self._region!r})"

    def _make_client(self) -> _SnsClient:
        config = Config(
            connect_timeout=self._timeout_s,
            read_timeout=self._timeout_s,
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        client: _SnsClient = boto3.client(
            "sns", region_name=self._region, endpoint_url=self._endpoint_url, config=config
        )
        return client

    def send(self, alert: Alert) -> None:
        if self._client is None:
            self._client = self._make_client()
        try:
            self._client.publish(
                TopicArn=self._topic_arn, Subject=sns_subject(alert), Message=_message(alert)
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "unknown"))
            raise ChannelError(f"sns topic {self._topic_arn}: {code}") from None
        except BotoCoreError as exc:
            raise ChannelError(
                f"sns topic {self._topic_arn} (region {self._region}): {type(exc).__name__}: {exc}"
            ) from None

    def close(self) -> None:
        client, self._client = self._client, None
        closer = getattr(client, "close", None)
        if callable(closer):
            closer()
