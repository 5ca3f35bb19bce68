"""TelegramChannel against a local server that speaks the Bot API's sendMessage: the request's
shape, the answers it must understand (ok, flood control with retry_after, other refusals, a
server that is not the Bot API, no server), and the bot token in no error and no log record."""

from __future__ import annotations

import logging
import traceback

import pytest
from pydantic import SecretStr

from algo_trading.adapters.notify import ChannelError, ChannelThrottledError, TelegramChannel
from algo_trading.adapters.notify.telegram import TELEGRAM_MAX_TEXT
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import Alert, AlertSeverity
from tests.support.alert_servers import BotApi, free_port

T0 = 1_764_660_000 * 1_000_000_000


def channel(api: BotApi, chat_id: str = "-1001234567890", base: str = "") -> TelegramChannel:
    return TelegramChannel(SecretStr(api.token), chat_id, base_url=base or api.base_url)


def kill_switch(text: str = "kill switch pulled by ops: all orders cancelled") -> Alert:
    return Alert(
        "KILL_SWITCH",
        AlertSeverity.CRITICAL,
        text,
        T0,
        strategy="sma-sbin",
        details={"open_orders": "3"},
    )


def test_an_alert_is_one_send_message_with_chat_id_html_text_and_parse_mode(
    bot_api: BotApi,
) -> None:
    ch = channel(bot_api, base=bot_api.base_url + "/")
    ch.send(kill_switch())
    ch.close()

    [(path, body)] = bot_api.requests
    assert path == f"/bot{bot_api.token}/sendMessage"
    assert body["chat_id"] == -1001234567890
    assert body["parse_mode"] == "HTML"
    assert body["text"].startswith("<b>")
    assert "CRITICAL KILL_SWITCH strategy=sma-sbin</b>" in body["text"]
    assert "kill switch pulled by ops" in body["text"]
    assert "open_orders: 3" in body["text"]


def test_a_channel_name_goes_as_text_and_markup_in_an_alert_is_escaped(bot_api: BotApi) -> None:
    ch = channel(bot_api, chat_id="@algo_alerts")
    ch.send(kill_switch("loss <b>5000</b> & rising"))
    ch.close()

    [(_, body)] = bot_api.requests
    assert body["chat_id"] == "@algo_alerts"
    assert "loss &lt;b&gt;5000&lt;/b&gt; &amp; rising" in body["text"]


def test_a_long_alert_fits_telegrams_4096_characters(bot_api: BotApi) -> None:
    ch = channel(bot_api)
    ch.send(kill_switch("x" * 10_000))
    ch.close()

    [(_, body)] = bot_api.requests
    shown = body["text"].replace("<b>", "").replace("</b>", "")
    assert len(shown) <= TELEGRAM_MAX_TEXT
    assert shown.endswith("…")


def test_flood_control_is_a_throttle_error_with_the_servers_retry_after(bot_api: BotApi) -> None:
    bot_api.answer_next(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    ch = channel(bot_api)
    with pytest.raises(ChannelThrottledError) as caught:
        ch.send(kill_switch())
    ch.close()

    assert caught.value.retry_after_s == 7
    assert "429" in str(caught.value)
    assert bot_api.token not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
            "400 Bad Request: chat not found",
            id="chat-not-found",
        ),
        pytest.param(
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
            "401 Unauthorized",
            id="bad-token",
        ),
        pytest.param(
            502, b"<html>Bad Gateway</html>", "HTTP 502, not a Bot API answer", id="proxy"
        ),
    ],
)
def test_a_refusal_is_a_channel_error_naming_the_chat_and_the_reason_never_the_token(
    bot_api: BotApi, status: int, body: dict[str, object] | bytes, expected: str
) -> None:
    bot_api.answer_next(status, body)
    ch = channel(bot_api)
    with pytest.raises(ChannelError) as caught:
        ch.send(kill_switch())
    ch.close()

    assert not isinstance(caught.value, ChannelThrottledError)
    assert expected in str(caught.value)
    assert "-1001234567890" in str(caught.value)
    assert bot_api.token not in "".join(traceback.format_exception(caught.value))


def test_no_server_is_a_channel_error_without_the_url_or_a_chained_httpx_error(
    bot_api: BotApi,
) -> None:
    ch = channel(bot_api, base=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ChannelError) as caught:
        ch.send(kill_switch())
    ch.close()

    assert "ConnectError" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert bot_api.token not in "".join(traceback.format_exception(caught.value))


def test_a_debug_log_of_every_path_carries_no_bot_token(
    bot_api: BotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ch = channel(bot_api)
    ch.send(kill_switch())
    bot_api.answer_next(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}})
    with pytest.raises(ChannelThrottledError):
        ch.send(kill_switch())
    ch.close()
    dead = channel(bot_api, base=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ChannelError):
        dead.send(kill_switch())
    dead.close()

    # The capture saw httpx's own request lines (it logs each URL at INFO), so silence cannot
    # pass for safety.
    assert any(r.name == "httpx" and "sendMessage" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert bot_api.token not in record.getMessage(), record.name
    assert bot_api.token not in caplog.text


@pytest.mark.parametrize("token", ["", "12:ab/cd", "12 34"])
def test_an_empty_or_malformed_token_is_a_config_error_that_does_not_show_it(token: str) -> None:
    with pytest.raises(ConfigError, match="bot token is empty or malformed") as caught:
        TelegramChannel(SecretStr(token), "42")
    assert token not in str(caught.value) or not token
