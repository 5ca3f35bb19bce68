"""Alert settings (ALGO_ALERT_*) and `build_notifier`: which channels a configuration makes, a
channel half set up named by its variable, credentials from the settings or the secret store,
production's refusals, and no credential in any message."""

from __future__ import annotations

import os
import uuid

import pytest

from algo_trading.adapters.logs import MASK, redact
from algo_trading.adapters.secrets import EnvSecretStore
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.clock import SimulatedClock
from algo_trading.services.alerts import build_notifier
from algo_trading.services.settings import load_settings

TOPIC = "arn:aws:sns:ap-south-1:123456789012:algo-alerts"
CLOCK = SimulatedClock(0)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ALGO_"):
            monkeypatch.delenv(key)


def token() -> str:
    return f"{uuid.uuid4().int % 10**9}:AA{uuid.uuid4().hex}"


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"ALGO_{name.upper()}", value)


def channels_of(monkeypatch: pytest.MonkeyPatch, **values: str) -> list[str]:
    set_env(monkeypatch, **values)
    notifier = build_notifier(load_settings(), clock=CLOCK)
    names = notifier.channel_names
    notifier.close()
    return names


def test_with_nothing_set_alerts_go_to_the_log_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert channels_of(monkeypatch) == ["log"]


def test_each_channel_joins_when_its_settings_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    names = channels_of(
        monkeypatch,
        alert_sns_topic_arn=TOPIC,
        alert_smtp_host="smtp.example.com",
        alert_smtp_from="algo@example.com",
        alert_smtp_to="a@example.com, b@example.com",
        alert_telegram_chat_id="-1001234567890",
        alert_telegram_bot_token=token(),
    )
    assert names == ["log", "sns", "smtp", "telegram"]
    assert load_settings().alert_smtp_recipients == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        pytest.param({"alert_smtp_to": "a@example.com"}, "ALGO_ALERT_SMTP_HOST", id="to-no-host"),
        pytest.param(
            {"alert_smtp_host": "smtp.example.com", "alert_smtp_to": "a@example.com"},
            "ALGO_ALERT_SMTP_FROM",
            id="host-no-from",
        ),
        pytest.param(
            {"alert_smtp_host": "smtp.example.com", "alert_smtp_from": "algo@example.com"},
            "ALGO_ALERT_SMTP_TO",
            id="host-no-to",
        ),
        pytest.param(
            {
                "alert_smtp_host": "smtp.example.com",
                "alert_smtp_from": "algo@example.com",
                "alert_smtp_to": "a@example.com, trader",
            },
            "ALGO_ALERT_SMTP_TO",
            id="not-an-address",
        ),
        pytest.param(
            {
                "alert_smtp_host": "smtp.example.com",
                "alert_smtp_from": "algo@example.com",
                "alert_smtp_to": "a@example.com",
                "alert_smtp_user": "algo",
                "alert_smtp_starttls": "false",
            },
            "ALGO_ALERT_SMTP_STARTTLS",
            id="login-in-clear",
        ),
        pytest.param({"alert_sns_region": "ap-south-1"}, "ALGO_ALERT_SNS_TOPIC_ARN", id="no-topic"),
        pytest.param({"alert_sns_topic_arn": "algo-alerts"}, "ALGO_ALERT_SNS_TOPIC_ARN", id="arn"),
        pytest.param(
            {"alert_telegram_chat_id": "my chat"}, "ALGO_ALERT_TELEGRAM_CHAT_ID", id="chat-id"
        ),
        pytest.param(
            {"alert_telegram_bot_token": "123:abc"}, "ALGO_ALERT_TELEGRAM_CHAT_ID", id="no-chat"
        ),
        pytest.param({"alert_rate_per_minute": "0"}, "ALGO_ALERT_RATE_PER_MINUTE", id="rate"),
        pytest.param(
            {"alert_telegram_api_url": "api.telegram.org"}, "ALGO_ALERT_TELEGRAM_API_URL", id="url"
        ),
    ],
)
def test_a_channel_half_set_up_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], variable: str
) -> None:
    set_env(monkeypatch, **values)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}:"), message
    assert "\n" not in message


def test_the_bot_token_comes_from_the_secret_store_when_the_settings_have_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = token()
    set_env(monkeypatch, alert_telegram_chat_id="42")
    store = EnvSecretStore({"ALGO_ALERT_TELEGRAM_BOT_TOKEN": value})

    notifier = build_notifier(load_settings(), secrets=store, clock=CLOCK)
    notifier.close()

    assert notifier.channel_names == ["log", "telegram"]
    assert redact(f"url /bot{value}/sendMessage") == f"url /bot{MASK}/sendMessage"


def test_a_token_in_neither_the_settings_nor_the_store_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(monkeypatch, alert_telegram_chat_id="42")
    settings = load_settings()
    with pytest.raises(ConfigError, match=r"^ALGO_ALERT_TELEGRAM_BOT_TOKEN: not set"):
        build_notifier(settings, clock=CLOCK)
    with pytest.raises(ConfigError, match="ALGO_ALERT_TELEGRAM_BOT_TOKEN"):
        build_notifier(settings, secrets=EnvSecretStore({}), clock=CLOCK)


def test_the_smtp_password_is_asked_of_the_store_only_when_a_user_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(
        monkeypatch,
        alert_smtp_host="smtp.example.com",
        alert_smtp_from="algo@example.com",
        alert_smtp_to="a@example.com",
    )
    build_notifier(load_settings(), secrets=EnvSecretStore({}), clock=CLOCK).close()

    set_env(monkeypatch, alert_smtp_user="algo")
    with pytest.raises(ConfigError, match="ALGO_ALERT_SMTP_PASSWORD"):
        build_notifier(load_settings(), secrets=EnvSecretStore({}), clock=CLOCK)


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        pytest.param(
            {"alert_telegram_chat_id": "42", "alert_telegram_api_url": "http://bot.internal"},
            "ALGO_ALERT_TELEGRAM_API_URL",
            id="token-over-http",
        ),
        pytest.param(
            {
                "alert_smtp_host": "smtp.example.com",
                "alert_smtp_from": "algo@example.com",
                "alert_smtp_to": "a@example.com",
                "alert_smtp_user": "algo",
                "alert_smtp_password": "changeme",
            },
            "ALGO_ALERT_SMTP_PASSWORD",
            id="default-password",
        ),
    ],
)
def test_production_refuses_a_token_over_http_and_a_default_smtp_password(
    monkeypatch: pytest.MonkeyPatch, values: dict[str, str], variable: str
) -> None:
    set_env(
        monkeypatch,
        profile="prod",
        database_url="postgresql://algo:Zq9-not-a-default@db.internal:5432/algo",
        **values,
    )
    with pytest.raises(ConfigError, match=rf"^{variable}: production"):
        load_settings()


def test_no_message_or_repr_shows_the_token_or_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret_token, password = token(), f"pw-{uuid.uuid4().hex}"
    set_env(
        monkeypatch,
        alert_telegram_bot_token=secret_token,
        alert_smtp_host="smtp.example.com",
        alert_smtp_from="algo@example.com",
        alert_smtp_to="a@example.com",
        alert_smtp_user="algo",
        alert_smtp_password=password,
    )
    with pytest.raises(ConfigError) as caught:
        load_settings()  # the token without a chat id
    set_env(monkeypatch, alert_telegram_chat_id="42")
    settings = load_settings()
    notifier = build_notifier(settings, clock=CLOCK)
    notifier.close()

    shown = str(caught.value) + repr(settings) + repr(notifier.channel_names)
    assert secret_token not in shown
    assert password not in shown
