"""The fan-out over all four real channels on loopback at once: a secret registered with the
log redaction, placed in an alert's text, scope and details, reaches none of them (the log,
SNS through to a subscriber, the SMTP server, the Bot API server); a channel whose server is
gone does not stop the others; Telegram's flood control holds the channel and a summary
follows when it lifts."""

from __future__ import annotations

import logging
import uuid

import pytest
from pydantic import SecretStr

from algo_trading.adapters.logs import MASK, register_secret
from algo_trading.adapters.notify import (
    ALERT_LOGGER,
    FanOutNotifier,
    LogChannel,
    RateLimit,
    SmtpChannel,
    SnsChannel,
    TelegramChannel,
)
from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.ports import Alert, AlertCode, AlertSeverity
from tests.support.alert_servers import (
    BotApi,
    SmtpServer,
    delivered,
    free_port,
    topic_with_queue,
)

T0 = 1_764_660_000 * 1_000_000_000
WAIT_S = 10.0


@pytest.mark.usefixtures("fake_aws")
def test_a_registered_secret_is_masked_on_every_channel(
    aws_endpoint: str,
    smtp_plain: SmtpServer,
    bot_api: BotApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = f"mpin-{uuid.uuid4().hex}"
    register_secret(secret)
    topic_arn, queue_url = topic_with_queue(aws_endpoint)
    notifier = FanOutNotifier(
        [
            (LogChannel(), None),
            (SnsChannel(topic_arn, endpoint_url=aws_endpoint), None),
            (
                SmtpChannel(
                    "127.0.0.1",
                    smtp_plain.port,
                    sender="algo@example.com",
                    recipients=["trader@example.com"],
                    starttls=False,
                ),
                None,
            ),
            (TelegramChannel(SecretStr(bot_api.token), "42", base_url=bot_api.base_url), None),
        ],
        clock=SimulatedClock(T0),
    )
    caplog.set_level(logging.INFO, logger=ALERT_LOGGER)
    notifier.start()
    notifier.notify(
        Alert(
            "SESSION_EXPIRED",
            AlertSeverity.CRITICAL,
            f"re-login failed: broker answered for MPIN {secret}",
            T0,
            account=secret,
            details={"request": f'{{"password": "{secret}"}}', "echo": secret},
        )
    )
    assert notifier.flush(WAIT_S)
    assert notifier.close(WAIT_S)

    assert notifier.stats().channels["sns"].sent == 1
    [note] = delivered(aws_endpoint, queue_url)
    [mail] = smtp_plain.mailbox.messages
    [telegram_text] = bot_api.texts
    [record] = [r for r in caplog.records if r.name == ALERT_LOGGER]
    seen = {
        "sns": note["Subject"] + note["Message"],
        "smtp": bytes(mail.content or b"").decode(),
        "telegram": telegram_text,
        "log": record.getMessage() + repr(record.__dict__),
    }
    for channel, text in seen.items():
        assert secret not in text, channel
        assert MASK in text, channel


def test_a_dead_channel_does_not_stop_the_others(smtp_plain: SmtpServer, bot_api: BotApi) -> None:
    notifier = FanOutNotifier(
        [
            (
                SmtpChannel(
                    "127.0.0.1",
                    free_port(),
                    sender="algo@example.com",
                    recipients=["trader@example.com"],
                    starttls=False,
                ),
                None,
            ),
            (TelegramChannel(SecretStr(bot_api.token), "42", base_url=bot_api.base_url), None),
        ],
        clock=SimulatedClock(T0),
    )
    notifier.start()
    notifier.notify(Alert("CRASH_RECOVERY", AlertSeverity.WARNING, "restarted; 2 intents", T0))
    assert notifier.flush(WAIT_S)
    notifier.close(WAIT_S)

    assert len(bot_api.texts) == 1
    stats = notifier.stats().channels
    assert (stats["smtp"].failed, stats["telegram"].sent) == (1, 1)


def test_telegram_flood_control_holds_the_channel_and_a_summary_follows(bot_api: BotApi) -> None:
    clock = SimulatedClock(T0)
    bot_api.answer_next(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 20",
            "parameters": {"retry_after": 20},
        },
    )
    notifier = FanOutNotifier(
        [
            (
                TelegramChannel(SecretStr(bot_api.token), "42", base_url=bot_api.base_url),
                RateLimit(per_minute=20, burst=5),
            )
        ],
        clock=clock,
    )
    notifier.start()
    for code in ("KILL_SWITCH", "RISK_BREACH", "FEED_STALE"):
        notifier.notify(Alert(code, AlertSeverity.CRITICAL, f"{code} now", T0))
    assert notifier.flush(WAIT_S)
    assert len(bot_api.requests) == 1  # the refused one; the two after it were held

    clock.set(T0 + 20 * 1_000_000_000)
    assert notifier.flush(WAIT_S)
    notifier.close(WAIT_S)

    assert len(bot_api.requests) == 2
    summary = bot_api.texts[-1]
    assert AlertCode.ALERTS_SUPPRESSED in summary
    assert "3 alerts suppressed by the telegram rate limit" in summary
    assert "FEED_STALE x1, KILL_SWITCH x1, RISK_BREACH x1" in summary
