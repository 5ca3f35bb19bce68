"""What every alert channel shares: the protocol the fan-out drives, its two errors, and the
plain-text rendering of an alert (a subject line and a body) that e-mail and the log use.

A channel's `send` blocks and may raise; only the fan-out's worker threads call it, so the
trading loop never waits on a mail server. Errors are typed by what the fan-out should do:

    ChannelError               -- this alert did not go out on this channel (logged, counted)
    └── ChannelThrottledError  -- the server said to wait `retry_after_s`: hold alerts until then

Their messages name the channel and its server, never a credential, a token or a URL that
carries one.
"""

from __future__ import annotations

from typing import Protocol

from algo_trading.adapters.notify.policy import format_ts
from algo_trading.domain.errors import AlgoTradingError
from algo_trading.engine.ports import Alert

__all__ = [
    "AlertChannel",
    "ChannelError",
    "ChannelThrottledError",
    "render_body",
    "render_subject",
]


class ChannelError(AlgoTradingError):
    """The channel could not deliver this alert; the next one is tried as usual."""


class ChannelThrottledError(ChannelError):
    """The server asked us to wait before sending again."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AlertChannel(Protocol):
    @property
    def name(self) -> str:
        """Short and stable (`log`, `sns`, `smtp`, `telegram`): the metrics' label."""
        ...

    def send(self, alert: Alert) -> None:
        """Deliver one alert, already redacted; ChannelError when it did not go out."""
        ...

    def close(self) -> None: ...


def render_subject(alert: Alert) -> str:
    """`[CRITICAL] KILL_SWITCH strategy=sma-sbin: text`, on one line."""
    scope = f" {alert.scope}" if alert.scope else ""
    return f"[{alert.severity}] {alert.code}{scope}: {alert.text}"


def render_body(alert: Alert) -> str:
    lines = [
        f"{alert.severity} {alert.code}",
        alert.text,
        "",
        f"time: {format_ts(alert.ts_ns)}",
    ]
    for name, value in (
        ("strategy", alert.strategy),
        ("symbol", alert.symbol),
        ("instance", alert.instance),
        ("account", alert.account),
    ):
        if value:
            lines.append(f"{name}: {value}")
    lines.extend(f"{key}: {value}" for key, value in sorted(alert.details.items()))
    return "\n".join(lines) + "\n"
