"""Logins, tokens and sessions (spec §1.3-§1.6, §6.2).

The password field carries the MPIN and the TOTP is RFC 6238 (SHA-1, 30 s, 6 digits) from the
configured base32 secret, checked with one step of tolerance either side. Tokens are opaque but
JWT-shaped; a session ends at the next midnight IST, at logout, after the fault TTL, or when a
test expires it.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass

import pyotp

from algo_trading.simulator.accounts import RequestError
from algo_trading.simulator.clock import SimClock, ist_midnight_after_ns
from algo_trading.simulator.config import SimulatorConfig

__all__ = ["Authenticator", "Session"]

_NS = 1_000_000_000


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(slots=True)
class Session:
    client_code: str
    jwt: str
    refresh_token: str
    feed_token: str
    created_ns: int
    expires_ns: int
    ended: bool = False


class Authenticator:
    """Credentials of the one configured client, and every session issued to it."""

    def __init__(self, config: SimulatorConfig, clock: SimClock) -> None:
        self._config = config
        self._clock = clock
        self._totp = pyotp.TOTP(config.totp_secret)
        self._by_jwt: dict[str, Session] = {}
        self._by_refresh: dict[str, Session] = {}
        self.session_ttl_s: float | None = None

    @property
    def api_key(self) -> str:
        return self._config.api_key

    def _token(self, client_code: str, kind: str, now_ns: int) -> str:
        head = _b64({"alg": "HS512", "typ": "JWT"})
        body = _b64({"username": client_code, "token_type": kind, "iat": now_ns // _NS})
        return f"{head}.{body}.{secrets.token_urlsafe(32)}"

    def _issue(self, client_code: str) -> Session:
        now = self._clock.now_ns()
        session = Session(
            client_code=client_code,
            jwt=self._token(client_code, "trade_access_token", now),
            refresh_token=self._token(client_code, "refresh_token", now),
            feed_token=self._token(client_code, "feed_token", now),
            created_ns=now,
            expires_ns=ist_midnight_after_ns(now),
        )
        self._by_jwt[session.jwt] = session
        self._by_refresh[session.refresh_token] = session
        return session

    def login(self, client_code: str, password: str, totp: str) -> Session:
        """loginByPassword: MPIN in `password`, a current TOTP in `totp` (§1.3)."""
        if client_code != self._config.client_code:
            raise RequestError("AB1007", "Login Id or password is invalid")
        if password != self._config.mpin:
            if not password.isdigit():
                raise RequestError(
                    "AB7001", "LoginbyPassword is not allowed. Please switch to Login by MPIN now."
                )
            raise RequestError("AB1007", "Login Id or password is invalid")
        now_s = self._clock.now_ns() // _NS
        if not totp or not self._totp.verify(totp, for_time=now_s, valid_window=1):
            raise RequestError("AB1050", "Invalid totp")
        return self._issue(client_code)

    def _live(self, session: Session | None) -> Session | None:
        if session is None or session.ended:
            return None
        now = self._clock.now_ns()
        ttl = self.session_ttl_s
        if now >= session.expires_ns or (ttl is not None and now >= session.created_ns + ttl * _NS):
            return None
        return session

    def by_jwt(self, authorization: str) -> Session | None:
        """The live session of an Authorization header value, with or without "Bearer "."""
        token = authorization.removeprefix("Bearer ").strip()
        return self._live(self._by_jwt.get(token))

    def knows(self, authorization: str) -> bool:
        """Whether this JWT was ever issued here (an expired one is known, a forged one not)."""
        return authorization.removeprefix("Bearer ").strip() in self._by_jwt

    def by_feed_token(self, client_code: str, feed_token: str) -> Session | None:
        for session in self._by_jwt.values():
            if session.feed_token == feed_token and session.client_code == client_code:
                return self._live(session)
        return None

    def refresh(self, refresh_token: str) -> Session:
        """generateTokens (§1.4): a new set for a live refresh token; the old JWT stays valid."""
        session = self._by_refresh.get(refresh_token)
        if session is None:
            raise RequestError("AB8050", "Invalid Refresh Token")
        if self._live(session) is None:
            raise RequestError("AB8051", "Refresh Token Expired")
        return self._issue(session.client_code)

    def logout(self, session: Session) -> None:
        session.ended = True

    def expire_all(self) -> None:
        """End every session now (the session-expiry fault)."""
        for session in self._by_jwt.values():
            session.ended = True
