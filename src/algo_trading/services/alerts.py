"""Builds the trading service's `Notifier` from the settings (issue #10 item 8); the composition
root (`services/bootstrap.py`) calls `build_notifier` once, then `start()`, and `close()` when
it drains.

The log channel is always there; SNS, SMTP and Telegram join when their settings are set. The
SMTP password and the bot token come from the settings, or else from the secret store under
`alert_smtp_password` and `alert_telegram_bot_token`; either way they are registered with the
log redaction before anything can print them.
"""

from __future__ import annotations

from pydantic import SecretStr

from algo_trading.adapters.notify import (
    AlertChannel,
    FanOutNotifier,
    LogChannel,
    RateLimit,
    SmtpChannel,
    SnsChannel,
    TelegramChannel,
)
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Clock, SecretStore
from algo_trading.services.clock import WallClock
from algo_trading.services.settings import Settings, check_alert_settings, env_name

__all__ = ["SMTP_PASSWORD_SECRET", "TELEGRAM_TOKEN_SECRET", "build_notifier"]

SMTP_PASSWORD_SECRET = "alert_smtp_password"  # noqa: S105 - the name asked of the store
TELEGRAM_TOKEN_SECRET = "alert_telegram_bot_token"  # noqa: S105 - a name, not a value


def _secret(value: SecretStr, name: str, secrets: SecretStore | None) -> SecretStr:
    if value.get_secret_value():
        return value
    if secrets is None:
        raise ConfigError(f"{env_name(name)}: not set (nor a secret store to ask for {name})")
    return SecretStr(secrets.get(name))


def _channels(settings: Settings, secrets: SecretStore | None) -> list[AlertChannel]:
    timeout_s = settings.alert_timeout_s
    channels: list[AlertChannel] = [LogChannel()]
    if settings.alert_sns_topic_arn:
        channels.append(
            SnsChannel(
                settings.alert_sns_topic_arn,
                region=settings.alert_sns_region,
                endpoint_url=settings.alert_sns_endpoint_url or None,
                timeout_s=timeout_s,
            )
        )
    if settings.alert_smtp_host:
        password = (
            _secret(settings.alert_smtp_password, SMTP_PASSWORD_SECRET, secrets)
            if settings.alert_smtp_user
            else None
        )
        channels.append(
            SmtpChannel(
                settings.alert_smtp_host,
                settings.alert_smtp_port,
                sender=settings.alert_smtp_from,
                recipients=settings.alert_smtp_recipients,
                username=settings.alert_smtp_user,
                password=password,
                starttls=settings.alert_smtp_starttls,
                timeout_s=timeout_s,
            )
        )
    if settings.alert_telegram_chat_id:
        channels.append(
            TelegramChannel(
                _secret(settings.alert_telegram_bot_token, TELEGRAM_TOKEN_SECRET, secrets),
                settings.alert_telegram_chat_id,
                base_url=settings.alert_telegram_api_url,
                timeout_s=timeout_s,
            )
        )
    return channels


def build_notifier(
    settings: Settings,
    *,
    secrets: SecretStore | None = None,
    clock: Clock | None = None,
) -> FanOutNotifier:
    """The notifier for these settings, not started. ConfigError naming the variable for a
    channel half set up or a credential missing from both the settings and the store."""
    check_alert_settings(settings)
    limit = RateLimit(per_minute=settings.alert_rate_per_minute, burst=settings.alert_rate_burst)
    channels = _channels(settings, secrets)
    return FanOutNotifier(
        # The log is the record of every alert: it is never rate-limited.
        [(c, None if isinstance(c, LogChannel) else limit) for c in channels],
        clock=clock if clock is not None else WallClock(),
        dedupe_window_s=settings.alert_dedupe_window_s,
        queue_size=settings.alert_queue_size,
    )
