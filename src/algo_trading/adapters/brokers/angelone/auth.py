"""The SmartAPI session: login with client code, MPIN and TOTP (§1.3), the bearer headers
(§1.2), renewal through generateTokens before the session ends at midnight IST (§1.4, §6.2),
one re-login on an invalid-token answer, logout (§1.6).

Every authenticated REST call of the adapter goes through `AngelOneSession.call`, so the
renewal and the re-login live in one place. Tokens and credentials are kept in objects whose
repr hides them; nothing here logs one.
"""

from __future__ import annotations

import binascii
import datetime as dt
import logging
import threading
from collections.abc import Mapping
from typing import Any

import pyotp

from algo_trading.adapters.brokers.angelone.config import ROUTES, AngelOneCredentials
from algo_trading.adapters.brokers.angelone.errors import (
    AngelOneError,
    MalformedResponseError,
    SessionExpiredError,
)
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp, base_headers
from algo_trading.adapters.brokers.angelone.parsing import login_body
from algo_trading.adapters.logs import register_secret
from algo_trading.domain.errors import ConfigError
from algo_trading.domain.events import IST, ns_to_ist
from algo_trading.engine.ports import Clock

__all__ = ["AngelOneSession", "SessionTokens", "next_midnight_ist_ns", "refresh_due_ns", "totp_at"]

log = logging.getLogger(__name__)

_NS = 1_000_000_000


def next_midnight_ist_ns(ts_ns: int) -> int:
    """Epoch ns of the first 00:00 IST strictly after `ts_ns` (when a session ends, §6.2)."""
    day = ns_to_ist(ts_ns).date() + dt.timedelta(days=1)
    return int(dt.datetime.combine(day, dt.time(0, 0), tzinfo=IST).timestamp()) * _NS


def refresh_due_ns(login_ns: int, margin_s: int) -> int:
    """When a session obtained at `login_ns` must be renewed: `margin_s` before midnight IST,
    or right at midnight when it was obtained inside that margin (a renewal then would only
    extend a session that is about to end anyway)."""
    midnight = next_midnight_ist_ns(login_ns)
    due = midnight - margin_s * _NS
    return due if login_ns < due else midnight


def totp_at(secret: str, ts_ns: int) -> str:
    """The RFC 6238 code (30 s, SHA-1, 6 digits) for the injected clock's time (§1.3)."""
    try:
        return str(pyotp.TOTP(secret).at(ts_ns // _NS))
    except (ValueError, binascii.Error):
        # Never echo the secret: say what is wrong with it and where it comes from.
        raise ConfigError(
            "angelone TOTP secret is not base32 text of at least 112 bits; "
            "copy it again from the SmartAPI portal (Enable TOTP)"
        ) from None


class SessionTokens:
    """The three tokens of a login; repr shows none of them."""

    __slots__ = ("feed_token", "jwt", "refresh_token")

    def __init__(self, jwt: str, refresh_token: str, feed_token: str) -> None:
        self.jwt = jwt
        self.refresh_token = refresh_token
        self.feed_token = feed_token

    def __repr__(self) -> str:
        return "SessionTokens(<hidden>)"


def _tokens(route: str, data: Any) -> SessionTokens:
    if not isinstance(data, dict):
        raise MalformedResponseError(route, "data", "expected an object with the tokens")
    values = []
    for name in ("jwtToken", "refreshToken", "feedToken"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise MalformedResponseError(route, f"data.{name}", "missing or not a string")
        values.append(value.removeprefix("Bearer "))
        register_secret(values[-1], transient=True)  # masked in every log record from now on
    return SessionTokens(*values)


class AngelOneSession:
    """A logged-in SmartAPI session, renewed and re-established by itself.

    Thread-safe: the engine thread, the order-update listener and the market-data callers may
    call at once; only one of them logs in again after an AG8001.
    """

    def __init__(
        self,
        http: AngelOneHttp,
        credentials: AngelOneCredentials,
        clock: Clock,
    ) -> None:
        self.http = http
        self._creds = credentials
        # Masked in every log record of the process, wherever the credentials came from.
        creds = credentials
        for value in (creds.api_key, creds.client_code, creds.mpin, creds.totp_secret):
            register_secret(value.get_secret_value())
        self._clock = clock
        self._lock = threading.RLock()
        self._tokens: SessionTokens | None = None
        self._refresh_due_ns = 0
        self.logins = 0  # how many logins this session made (for health and tests)
        self.refreshes = 0

    def __repr__(self) -> str:
        state = "logged in" if self._tokens is not None else "logged out"
        return f"AngelOneSession({state})"

    @property
    def client_code(self) -> str:
        return self._creds.client_code.get_secret_value()

    @property
    def api_key(self) -> str:
        return self._creds.api_key.get_secret_value()

    @property
    def logged_in(self) -> bool:
        return self._tokens is not None

    def tokens(self) -> SessionTokens:
        """The current tokens, logging in first when there are none (the feed needs them)."""
        with self._lock:
            if self._tokens is None:
                self.login()
            tokens = self._tokens
        if tokens is None:  # login() sets them or raises
            raise RuntimeError("angelone session: login left no tokens")
        return tokens

    def login(self) -> None:
        """Log in afresh with a TOTP for the clock's now (§1.3)."""
        route = ROUTES["login"]
        with self._lock:
            now = self._clock.now_ns()
            code = totp_at(self._creds.totp_secret.get_secret_value(), now)
            register_secret(code, transient=True)
            body = login_body(self.client_code, self._creds.mpin.get_secret_value(), code)
            data = self.http.request(route, headers=self._plain_headers(), body=body)
            self._tokens = _tokens(route.path, data)
            self._refresh_due_ns = refresh_due_ns(now, self.http.config.refresh_margin_s)
            self.logins += 1
        log.info("angelone session started", extra={"route": route.name})

    def refresh(self) -> None:
        """Renew the tokens through generateTokens (§1.4); log in again if that is refused."""
        route = ROUTES["tokens"]
        with self._lock:
            if self._tokens is None:
                self.login()
                return
            now = self._clock.now_ns()
            try:
                data = self.http.request(
                    route,
                    headers=self._auth_headers(self._tokens),
                    body={"refreshToken": self._tokens.refresh_token},
                )
            except AngelOneError as exc:
                log.warning(
                    "angelone token renewal refused (%s); logging in again",
                    exc.code,
                    extra={"route": route.name, "code": exc.code},
                )
                self.login()
                return
            self._tokens = _tokens(route.path, data)
            self._refresh_due_ns = refresh_due_ns(now, self.http.config.refresh_margin_s)
            self.refreshes += 1
        log.info("angelone session renewed", extra={"route": route.name})

    def ensure_fresh(self) -> None:
        """Log in if we never did; renew when the midnight deadline is near."""
        with self._lock:
            if self._tokens is None:
                self.login()
            elif self._clock.now_ns() >= self._refresh_due_ns:
                self.refresh()

    def headers(self) -> dict[str, str]:
        """The §1.2 headers with the current bearer token."""
        return self._auth_headers(self.tokens())

    def _plain_headers(self) -> dict[str, str]:
        return base_headers(self.http.config, self.api_key)

    def _auth_headers(self, tokens: SessionTokens) -> dict[str, str]:
        headers = self._plain_headers()
        headers["Authorization"] = f"Bearer {tokens.jwt}"
        return headers

    def call(
        self, name: str, body: Mapping[str, Any] | None = None, *, path_suffix: str = ""
    ) -> Any:
        """An authenticated call of route `name`: renewed first if due; on an invalid-token
        answer, one re-login and one more try. An AG8001 answer means the gateway refused the
        request, so the second try cannot duplicate anything (§1.7 shape 2)."""
        route = ROUTES[name]
        self.ensure_fresh()
        tokens = self.tokens()
        try:
            return self.http.request(
                route, headers=self._auth_headers(tokens), body=body, path_suffix=path_suffix
            )
        except SessionExpiredError as exc:
            log.warning(
                "angelone session expired on %s (%s); logging in again",
                route.name,
                exc.code,
                extra={"route": route.name, "code": exc.code},
            )
            self._relogin_unless_done(tokens)
        return self.http.request(
            route, headers=self._auth_headers(self.tokens()), body=body, path_suffix=path_suffix
        )

    def send_once(self, name: str, body: Mapping[str, Any]) -> Any:
        """Like `call` but a single attempt even on server trouble: for placeOrder, whose lost
        answer only the order book can settle. Session expiry still re-logs in and retries."""
        route = ROUTES[name]
        self.ensure_fresh()
        tokens = self.tokens()
        try:
            return self.http.send_once(route, headers=self._auth_headers(tokens), body=body)
        except SessionExpiredError:
            self._relogin_unless_done(tokens)
        return self.http.send_once(route, headers=self._auth_headers(self.tokens()), body=body)

    def _relogin_unless_done(self, stale: SessionTokens) -> None:
        with self._lock:
            if self._tokens is stale or self._tokens is None:
                self.login()

    def logout(self) -> None:
        """End the API session (§1.6); the tokens are forgotten even if the call fails."""
        route = ROUTES["logout"]
        with self._lock:
            tokens, self._tokens = self._tokens, None
            if tokens is None:
                return
            self.http.request(
                route, headers=self._auth_headers(tokens), body={"clientcode": self.client_code}
            )
        log.info("angelone session ended", extra={"route": route.name})
