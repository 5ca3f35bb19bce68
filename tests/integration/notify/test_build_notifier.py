"""`services.alerts.build_notifier` from ALGO_ALERT_* settings to servers on loopback: one
alert reaches the SMTP server and the Bot API server the environment names."""

from __future__ import annotations

import os

import pytest

from algo_trading.engine.clock import SimulatedClock
from algo_trading.engine.ports import Alert, AlertSeverity
from algo_trading.services.alerts import build_notifier
from algo_trading.services.settings import load_settings
from tests.support.alert_servers import BotApi, SmtpServer

T0 = 1_764_660_000 * 1_000_000_000


def test_the_settings_wire_every_configured_channel(
    monkeypatch: pytest.MonkeyPatch, smtp_plain: SmtpServer, bot_api: BotApi
) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ALGO_"):
            monkeypatch.delenv(key)
    env = {
        "ALGO_ALERT_SMTP_HOST": "127.0.0.1",
        "ALGO_ALERT_SMTP_PORT": str(smtp_plain.port),
        "ALGO_ALERT_SMTP_STARTTLS": "false",
        "ALGO_ALERT_SMTP_FROM": "algo@example.com",
        "ALGO_ALERT_SMTP_TO": "trader@example.com",
        "ALGO_ALERT_TELEGRAM_CHAT_ID": "42",
        "ALGO_ALERT_TELEGRAM_BOT_TOKEN": bot_api.token,
        "ALGO_ALERT_TELEGRAM_API_URL": bot_api.base_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    notifier = build_notifier(load_settings(), clock=SimulatedClock(T0))
    notifier.start()
    notifier.notify(Alert("STRATEGY_ERROR", AlertSeverity.WARNING, "sma-sbin raised in on_bar", T0))
    assert notifier.flush(10)
    assert notifier.close(10)

    assert notifier.channel_names == ["log", "smtp", "telegram"]
    assert len(smtp_plain.mailbox.messages) == 1
    assert "sma-sbin raised in on_bar" in bot_api.texts[0]
