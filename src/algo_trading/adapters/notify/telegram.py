"""Alerts to a Telegram chat through the Bot API's `sendMessage`, the Indian traders' channel.

`POST {base}/bot{token}/sendMessage` with a JSON body of `chat_id`, `text` and `parse_mode`;
the answer is `{"ok": true, "result": Message}` or `{"ok": false, "error_code": N,
"description": "...", "parameters": {"retry_after": S}}`, the last on flood control (429). The
text may hold 1 to 4096 characters after entity parsing; we send HTML with every character of
ours escaped, so nothing in an alert can break the markup.

The bot token is in the URL path, so the URL must never reach a log or an error: the token is
registered with the log redaction, a filter on httpx's logger (which writes every request's
URL at INFO) masks `/bot<token>` in its records, and our errors name the chat and the base URL
only, raised `from None` so that no httpx exception (which holds the request) rides along.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

import httpx
from pydantic import SecretStr

from algo_trading.adapters.logs import MASK, register_secret
from algo_trading.adapters.notify.channel import ChannelError, ChannelThrottledError
from algo_trading.adapters.notify.policy import format_ts
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Alert, AlertSeverity

__all__ = ["DEFAULT_TELEGRAM_API", "TELEGRAM_MAX_TEXT", "TelegramChannel", "telegram_text"]

DEFAULT_TELEGRAM_API = "https://api.telegram.org"
TELEGRAM_MAX_TEXT = 4096
_BOT_PATH = re.compile(r"/bot[^/\s\"']+")
_ICONS = {AlertSeverity.INFO: "ℹ️", AlertSeverity.WARNING: "⚠️", AlertSeverity.CRITICAL: "🚨"}


class _MaskBotPath(logging.Filter):
    """Masks the token in `/bot<token>/method` in a record of httpx's logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            record.msg = _BOT_PATH.sub(f"/bot{MASK}", message)
            record.args = None
        return True


def _mask_httpx_urls() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _MaskBotPath) for f in logger.filters):
        logger.addFilter(_MaskBotPath())


def telegram_text(alert: Alert) -> str:
    """The message as Telegram HTML: a bold first line, then the text and the details."""
    scope = f" {alert.scope}" if alert.scope else ""
    head = f"{_ICONS[alert.severity]} {alert.severity} {alert.code}{scope}"
    lines = [alert.text, f"time: {format_ts(alert.ts_ns)}"]
    lines.extend(f"{k}: {v}" for k, v in sorted(alert.details.items()))
    body = "\n".join(lines)
    # Entities count after parsing, so the limit applies to the unescaped characters.
    room = TELEGRAM_MAX_TEXT - len(head) - 1
    if len(body) > room:
        body = body[: room - 1] + "…"
    return f"<b>{html.escape(head, quote=False)}</b>\n{html.escape(body, quote=False)}"


def _chat_id(value: str) -> int | str:
    """A numeric chat id goes as a number, a channel as `@name`."""
    return int(value) if re.fullmatch(r"-?\d+", value) else value


class TelegramChannel:
    name = "telegram"

    def __init__(
        self,
        bot_token: SecretStr,
        chat_id: str,
        *,
        base_url: str = DEFAULT_TELEGRAM_API,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        token = bot_token.get_secret_value()
        if not token or "/" in token or any(c.isspace() for c in token):
            raise ConfigError("telegram alerts: the bot token is empty or malformed")
        if not chat_id:
            raise ConfigError("telegram alerts: the chat id is empty")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"telegram alerts: API base URL {base_url!r} is not http(s)")
        register_secret(token)
        _mask_httpx_urls()
        self._token = bot_token
        self._chat_id = _chat_id(chat_id)
        self._base_url = base_url.rstrip("/")
        self._client = client if client is not None else httpx.Client(timeout=timeout_s)

    def __repr__(self) -> str:
        return f"TelegramChannel(chat_id={self._chat_id!r}, base_url={self._base_url!r})"

    def _where(self) -> str:
        return f"telegram chat {self._chat_id} via {self._base_url}"

    def send(self, alert: Alert) -> None:
        url = f"{self._base_url}/bot{self._token.get_secret_value()}/sendMessage"
        body = {"chat_id": self._chat_id, "text": telegram_text(alert), "parse_mode": "HTML"}
        try:
            response = self._client.post(url, json=body)
        except httpx.HTTPError as exc:
            # str(exc) of a transport error names the socket problem, not the URL; the
            # exception object itself holds the request, so it is not chained.
            raise ChannelError(f"{self._where()}: {type(exc).__name__}: {exc}") from None
        self._check(response)

    def _check(self, response: httpx.Response) -> None:
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ChannelError(
                f"{self._where()}: HTTP {response.status_code}, not a Bot API answer"
            )
        if answer.get("ok") is True:
            return
        code = answer.get("error_code", response.status_code)
        description = str(answer.get("description", "no description"))[:200]
        parameters = answer.get("parameters")
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        if isinstance(retry_after, int | float) and retry_after >= 0:
            raise ChannelThrottledError(
                f"{self._where()}: {code} {description}", retry_after_s=float(retry_after)
            )
        raise ChannelError(f"{self._where()}: {code} {description}")

    def close(self) -> None:
        self._client.close()
