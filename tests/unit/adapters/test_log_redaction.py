"""The redaction filter and the project's log handler (issue #15 item 5): every header form a
library prints, `%`-arguments, exception text and extras are masked; values the secret stores
hand out are masked wherever they appear; third-party loggers stay at INFO."""

from __future__ import annotations

import io
import json
import logging
import secrets
import sys
from collections.abc import Iterator, Mapping
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import AngelOneCredentials
from algo_trading.adapters.logs import (
    MASK,
    THIRD_PARTY_LOGGERS,
    RedactingFilter,
    SecretRegistry,
    default_registry,
    install_logging,
    project_handler,
)
from algo_trading.adapters.secrets import AwsSecretsManagerStore, EnvSecretStore
from algo_trading.cli.main import main

JWT = "eyJhbGciOiJIUzUxMiJ9.eyJ1c2VybmFtZSI6IlMxMjM0NTYifQ.c2lnbmF0dXJlLWJ5dGVz"
KEY = "Qz8pLm2vX9aT"  # an API key: nothing about its shape says "secret"
FEED = "0987654321"  # old-style numeric feed token


def _masked(text: str, registry: SecretRegistry | None = None) -> str:
    return (registry or SecretRegistry()).redact(text)


# Every shape a header or a credential field is printed in: websockets' handshake lines, a
# dict's repr, JSON, a tuple of header bytes (h11/httpcore), a query string (§5.1), a URL.
@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"> Authorization: Bearer {JWT}", JWT),
        ("> Authorization: Bearer opaque-token-1234", "opaque-token-1234"),
        (f"authorization:{KEY}", KEY),
        (f"> x-api-key: {KEY}", KEY),
        (f"X-API-KEY={KEY}", KEY),
        (f"> x-feed-token: {FEED}", FEED),
        ("> x-client-code: S1234567", "S1234567"),
        (f"{{'X-PrivateKey': '{KEY}', 'Accept': 'application/json'}}", KEY),
        (f'{{"X-PrivateKey":"{KEY}","X-UserType":"USER"}}', KEY),
        (f"[(b'Authorization', b'Bearer {FEED}abc'), (b'Host', b'x')]", f"{FEED}abc"),
        (f"[(b'x-api-key', b'{KEY}')]", KEY),
        (f"GET /smart-stream?clientCode=S1&feedToken={FEED}&apiKey={KEY} HTTP/1.1", FEED),
        (f"GET /smart-stream?clientCode=S1&feedToken={FEED}&apiKey={KEY} HTTP/1.1", KEY),
        (f'{{"refreshToken": "{KEY}"}}', KEY),
        (f'{{"jwtToken":"Bearer {KEY}","feedToken":"{FEED}"}}', KEY),
        ('{"clientcode":"S1","password":"482913","totp":"551204"}', "482913"),
        ('{"clientcode":"S1","password":"482913","totp":"551204"}', "551204"),
        ("{'password': 'two words', 'user': 'u'}", "words"),
        (f"postgresql://algo:{KEY}@db.internal:5432/algo", KEY),
        (f"token in prose {JWT} and more", JWT),
        (f"Bearer {KEY} somewhere", KEY),
    ],
)
def test_every_printed_form_of_a_credential_is_masked(text: str, secret: str) -> None:
    out = _masked(text)
    assert secret not in out
    assert MASK in out


def test_what_is_not_a_credential_is_left_alone() -> None:
    text = (
        "angelone placeOrder failed (AB1004), retry 2; check the MPIN, TOTP and key; "
        '{"symboltoken": "3045", "quantity": "12", "X-UserType": "USER"} token 3045'
    )
    assert _masked(text) == text


def test_registered_values_are_masked_anywhere_and_short_ones_only_standing_alone() -> None:
    registry = SecretRegistry()
    registry.register("long-secret-value")
    registry.register("4821")  # a 4-digit MPIN
    registry.register("abc")  # too short to be a secret: ignored
    out = registry.redact("x=long-secret-valuelong-secret-value pin 4821, 48210, a4821, abc")
    assert out == f"x={MASK}{MASK} pin {MASK}, 48210, a4821, abc"
    assert len(registry) == 2


def test_transient_values_are_kept_in_a_bounded_window() -> None:
    registry = SecretRegistry(transient_kept=2)
    registry.register("lasting-credential")
    for token in ("token-number-1", "token-number-2", "token-number-3"):
        registry.register(token, transient=True)
    out = registry.redact("lasting-credential token-number-1 token-number-2 token-number-3")
    assert out == f"{MASK} token-number-1 {MASK} {MASK}"


def _record(msg: str, *args: object, **attrs: Any) -> logging.LogRecord:
    record = logging.LogRecord("websockets.client", logging.DEBUG, "x.py", 1, msg, args, None)
    record.__dict__.update(attrs)
    return record


def test_the_filter_masks_the_message_after_its_percent_arguments_are_applied() -> None:
    record = _record("> %s: %s", "x-feed-token", FEED)
    assert RedactingFilter(SecretRegistry()).filter(record)
    assert record.getMessage() == f"> x-feed-token: {MASK}"
    assert record.args is None


def test_the_filter_masks_exception_text_stack_and_extras() -> None:
    registry = SecretRegistry()
    registry.register(KEY)
    try:
        raise ValueError(f"login refused for key {KEY}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, "x.py", 1, "failed", None, sys.exc_info())
    record.stack_info = f"Stack (most recent call last):\n  headers={{'x-api-key': '{KEY}'}}"
    record.__dict__["headers"] = {"Authorization": f"Bearer {JWT}"}
    record.__dict__["route"] = f"login with {KEY}"
    record.__dict__["attempt"] = 2
    RedactingFilter(registry).filter(record)
    text = logging.Formatter().format(record)
    assert KEY not in text
    assert KEY not in (record.exc_text or "")
    assert JWT not in str(record.__dict__["headers"])
    assert KEY not in record.__dict__["route"]
    assert record.__dict__["attempt"] == 2
    assert "ValueError" in text  # the exception is still there, masked


def test_a_message_whose_arguments_do_not_fit_its_format_is_still_masked() -> None:
    record = _record("%s %s %d", f"Bearer {KEY}")  # one argument for three placeholders
    RedactingFilter(SecretRegistry()).filter(record)
    assert KEY not in record.getMessage()


@settings(max_examples=150)
@given(
    secret=st.text(
        alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_", min_size=8
    ),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
)
def test_a_registered_value_never_survives_whatever_surrounds_it(
    secret: str, before: str, after: str
) -> None:
    registry = SecretRegistry()
    registry.register(secret)
    assert secret not in registry.redact(before + secret + after)


@pytest.fixture
def clean_logging() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    levels = {name: logging.getLogger(name).level for name in THIRD_PARTY_LOGGERS}
    yield io.StringIO()
    for handler in [h for h in root.handlers if h not in saved[1]]:
        root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_install_holds_third_party_loggers_at_info_even_when_the_root_is_at_debug(
    clean_logging: io.StringIO,
) -> None:
    install_logging(logging.DEBUG, stream=clean_logging)
    for name in THIRD_PARTY_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() == logging.INFO
    assert not logging.getLogger("websockets.client").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("algo_trading.x").isEnabledFor(logging.DEBUG)
    install_logging("ERROR", stream=clean_logging)
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.ERROR


def test_install_replaces_its_own_handler_and_leaves_others(clean_logging: io.StringIO) -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    install_logging(stream=clean_logging)
    install_logging(stream=clean_logging)
    assert len(root.handlers) == before + 1


def test_an_unknown_level_is_refused_naming_it(clean_logging: io.StringIO) -> None:
    with pytest.raises(ValueError, match="LOUD"):
        install_logging("LOUD", stream=clean_logging)


def test_the_json_handler_writes_one_masked_object_per_record() -> None:
    out = io.StringIO()
    registry = SecretRegistry()
    registry.register(KEY)
    logger = logging.getLogger("algo_trading.test_json_handler")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = project_handler(out, as_json=True, registry=registry)
    logger.addHandler(handler)
    try:
        logger.info("sent %s", f"key {KEY}", extra={"route": "login", "attempt": 1})
        try:
            raise RuntimeError(f"boom {KEY}\nsecond line")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == f"sent key {MASK}"
    assert (first["route"], first["attempt"], first["level"]) == ("login", 1, "INFO")
    assert "RuntimeError" in second["exc"]
    assert KEY not in out.getvalue()


class _FakeSecretsClient:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._text = json.dumps(dict(values))

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, Any]:
        return {"SecretString": self._text}


@pytest.mark.parametrize("kind", ["env", "aws"])
def test_every_value_a_secret_store_hands_out_is_masked_in_the_logs(kind: str) -> None:
    value = secrets.token_urlsafe(16)
    if kind == "env":
        store: Any = EnvSecretStore({"ALGO_ANGELONE_API_KEY": value})
    else:
        client = _FakeSecretsClient({"angelone_api_key": value})
        store = AwsSecretsManagerStore("s", region="ap-south-1", client=client)
    assert value in default_registry().redact(f"before {value}")  # unknown until handed out
    assert store.get("angelone_api_key") == value
    assert default_registry().redact(f"sent {value}!") == f"sent {MASK}!"


def test_a_broker_session_registers_its_credentials_wherever_they_came_from() -> None:
    mpin, key = "".join(secrets.choice("123456789") for _ in range(4)), secrets.token_hex(10)
    creds = AngelOneCredentials(api_key=key, client_code="Z9", mpin=mpin, totp_secret="A" * 32)
    AngelOneSession(cast(Any, None), creds, cast(Any, None))  # no call is made
    assert default_registry().redact(f"mpin {mpin} key {key}.") == f"mpin {MASK} key {MASK}."


def test_the_cli_installs_the_masked_handler_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, clean_logging: io.StringIO
) -> None:
    monkeypatch.setattr(sys, "argv", ["algo-trading", "--version"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0
    root = logging.getLogger()
    assert any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters)
    assert root.level == logging.WARNING
    assert not logging.getLogger("websockets.client").isEnabledFor(logging.INFO)
