"""Masking of secrets in log records (issue #15 item 5; STYLE habit 19).

Four nets, each catching what the others may miss:

- the value after a credential's name, in every shape a library prints a header or a field
  (`Authorization: Bearer …`, `'x-api-key': '…'`, `(b'X-PrivateKey', b'…')`, `"jwtToken":"…"`,
  `?feedToken=…`): Angel One's secret headers are named in spec §1.2 and §5.1;
- anything shaped like a bearer credential or a JWT;
- the password in a URL's user part (`postgresql://user:…@host`);
- every value registered here: what a secret store handed out, the broker's session tokens and
  the one-time codes of a login.

A registered value of fewer than 8 characters (a 4-digit MPIN, a 6-digit TOTP code) is masked
only where it stands alone, not inside a longer word or number, so that it does not eat the
digits of every price and timestamp; one shorter than 4 characters is not a secret worth the
noise and is ignored.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MASK",
    "STANDARD_RECORD_ATTRS",
    "RedactingFilter",
    "SecretRegistry",
    "default_registry",
    "redact",
    "register_secret",
]

MASK = "***"

MIN_SECRET_LEN = 4
_WHOLE_WORD_BELOW = 8
_TRANSIENT_KEPT = 64  # session tokens and TOTP codes: the newest few logins' worth

# Names whose value is a credential. Angel One: Authorization and X-PrivateKey on REST (§1.2);
# Authorization, x-api-key, x-client-code and x-feed-token on the feed socket and clientCode,
# feedToken, apiKey in its query-string form (§5.1); jwtToken, refreshToken, feedToken in the
# login answer and the generateTokens body (§1.3, §1.4); the MPIN travels as `password` and the
# code as `totp`. The client code is the account's login name: not a credential alone, but the
# secret store hands it out with the others and it is masked the same way.
_CREDENTIAL_NAMES = (
    r"authorization|proxy-authorization|x-privatekey|x-private-key|x-api-key|x-feed-token"
    r"|x-client-?code|x-clientcode|x-amz-security-token|x-amz-secret"
    r"|api[-_]?key|private[-_]?key|secret[-_]?key|client[-_]?secret"
    r"|(?:jwt|refresh|feed|access|auth|session|id)[-_]?token|jwt"
    r"|password|passwd|mpin|pin|totp|totp[-_]?secret|otp|client[-_]?code|secret"
)
# name, then how it is joined to its value: `: `, `=`, `': '`, `", "`, `', b'`.
_NAMED_VALUE = re.compile(
    rf"(?P<name>(?<![\w-])(?:{_CREDENTIAL_NAMES})(?![\w-]))"
    # `:` or `=`, quoted or not; a comma only between quotes (a tuple of header bytes), so that
    # prose such as "check the MPIN, TOTP and key" is left alone.
    r"(?P<sep>['\"]?\s*[:=]\s*(?:(?-i:b)?['\"])?|['\"]\s*,\s*(?-i:b)?['\"])"
    r"(?P<scheme>(?:bearer|basic|token)\s+)?"
    # after an opening quote, everything up to the closing one (a value may hold spaces)
    r"(?P<value>(?<=['\"])[^'\"]+|[^\s'\",&;)}\]>]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<scheme>\b(?:bearer|basic)\s+)(?P<value>[\w.~+/=-]{8,})", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
# The password of a URL's user part: postgresql://user:PASSWORD@host/db.
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?=@)", re.I)


def _mask_named(match: re.Match[str]) -> str:
    return f"{match['name']}{match['sep']}{match['scheme'] or ''}{MASK}"


def _mask_bearer(match: re.Match[str]) -> str:
    return f"{match['scheme']}{MASK}"


class SecretRegistry:
    """The values to mask wherever they appear. Thread-safe; registering is cheap and the
    compiled pattern is rebuilt only when a new value arrives.

    Long-lived values (credentials from a secret store) are kept for the life of the process;
    transient ones (session tokens, TOTP codes) in a bounded window, the oldest dropped first,
    so a service that logs in every day does not grow without bound.
    """

    def __init__(self, transient_kept: int = _TRANSIENT_KEPT) -> None:
        self._lock = threading.Lock()
        self._lasting: set[str] = set()
        self._transient: deque[str] = deque(maxlen=transient_kept)
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str, *, transient: bool = False) -> None:
        """Mask `value` from now on (a value under 4 characters is ignored)."""
        value = value.strip()
        if len(value) < MIN_SECRET_LEN:
            return
        with self._lock:
            if value in self._lasting or value in self._transient:
                return
            if transient:
                self._transient.append(value)
            else:
                self._lasting.add(value)
            self._pattern = _compile(self._lasting, self._transient)

    def register_all(self, values: Iterable[str], *, transient: bool = False) -> None:
        for value in values:
            self.register(value, transient=transient)

    def clear(self) -> None:
        """Forget every value (for tests)."""
        with self._lock:
            self._lasting.clear()
            self._transient.clear()
            self._pattern = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._lasting) + len(self._transient)

    def __repr__(self) -> str:
        return f"SecretRegistry({len(self)} values)"

    def redact(self, text: str) -> str:
        """`text` with every registered value, named credential, bearer token and JWT masked."""
        pattern = self._pattern  # one read: a concurrent register swaps it whole
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _NAMED_VALUE.sub(_mask_named, text)
        text = _BEARER.sub(_mask_bearer, text)
        text = _URL_PASSWORD.sub(rf"\g<head>{MASK}", text)
        return _JWT.sub(MASK, text)


def _compile(*groups: Iterable[str]) -> re.Pattern[str] | None:
    values = sorted({v for group in groups for v in group}, key=len, reverse=True)
    if not values:
        return None
    parts = [
        re.escape(v) if len(v) >= _WHOLE_WORD_BELOW else rf"(?<![^\W_]){re.escape(v)}(?![^\W_])"
        for v in values
    ]
    return re.compile("|".join(parts))


_DEFAULT = SecretRegistry()


def default_registry() -> SecretRegistry:
    """The process's registry: secret stores and the broker session feed it, the handlers of
    `install_logging` read it."""
    return _DEFAULT


def register_secret(value: str, *, transient: bool = False) -> None:
    """Mask `value` in every log record of this process from now on."""
    _DEFAULT.register(value, transient=transient)


def redact(text: str) -> str:
    """`text` masked with the process's registry."""
    return _DEFAULT.redact(text)


# Attributes every LogRecord has; anything else came in through `extra=`.
STANDARD_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_PLAIN_TYPES = (int, float, bool, type(None))


class RedactingFilter(logging.Filter):
    """A handler filter that rewrites each record in place with its secrets masked: the
    message with its `%`-arguments applied, the exception's and stack's text, every `extra`.

    On a handler it sees the records of every logger that reach it, third-party ones included
    (a logger's own filters would not see records propagated from its children). The record is
    changed in place, so a handler after this one sees the masked record too.
    """

    def __init__(self, registry: SecretRegistry | None = None) -> None:
        super().__init__()
        self._registry = registry if registry is not None else _DEFAULT

    def filter(self, record: logging.LogRecord) -> bool:
        redact_ = self._registry.redact
        record.msg = redact_(_message_of(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXC_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key in STANDARD_RECORD_ATTRS or isinstance(value, _PLAIN_TYPES):
                continue
            record.__dict__[key] = redact_(value if isinstance(value, str) else repr(value))
        return True


_EXC_FORMATTER = logging.Formatter()


def _message_of(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string must not bypass the masking
        # logging would print the raw arguments to stderr in handleError; show them masked.
        args: Any = record.args
        return f"{record.msg!s} (unformattable arguments: {args!r})"
