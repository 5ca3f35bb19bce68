"""Alert channels (implementations behind `engine.ports.Notifier`) and the fan-out that joins
them: the log always; e-mail through AWS SNS or SMTP, and Telegram, when configured."""

from algo_trading.adapters.notify.channel import (
    AlertChannel,
    ChannelError,
    ChannelThrottledError,
    render_body,
    render_subject,
)
from algo_trading.adapters.notify.fanout import ChannelStats, FanOutNotifier, NotifierStats
from algo_trading.adapters.notify.log import ALERT_LOGGER, LogChannel
from algo_trading.adapters.notify.policy import ChannelLimiter, Deduplicator, RateLimit
from algo_trading.adapters.notify.smtp import SmtpChannel
from algo_trading.adapters.notify.sns import SnsChannel
from algo_trading.adapters.notify.telegram import DEFAULT_TELEGRAM_API, TelegramChannel

__all__ = [
    "ALERT_LOGGER",
    "DEFAULT_TELEGRAM_API",
    "AlertChannel",
    "ChannelError",
    "ChannelLimiter",
    "ChannelStats",
    "ChannelThrottledError",
    "Deduplicator",
    "FanOutNotifier",
    "LogChannel",
    "NotifierStats",
    "RateLimit",
    "SmtpChannel",
    "SnsChannel",
    "TelegramChannel",
    "render_body",
    "render_subject",
]
