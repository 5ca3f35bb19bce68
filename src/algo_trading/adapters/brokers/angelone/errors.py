"""Angel One errors, typed by what the caller should do (STYLE.md habit 9).

    AlgoTradingError                (algo_trading.domain.errors)
    └── AngelOneError              -- Angel One said no or failed; keeps .code, .message, .route
        ├── SessionExpiredError    -- AG8001/AG8002/AG8003/AB1010/AB1011/AB8050/AB8051: log in again
        ├── LoginError             -- AB1050/AB7001 (AB1007/AB1000 on login): fix the credentials
        ├── RateLimitedError       -- HTTP 403 "Access denied because of exceeding access
        │                              rate": back off, then try again
        ├── BrokerUnavailableError -- HTTP 5xx, AB1004/AB2000/AB2001, timeouts, WAF pages:
        │                              retry reads only; never blindly re-place an order
        ├── BrokerRejectedError    -- a business refusal (AB1008, AB4008, AG7002, ...): give up
        ├── MalformedResponseError -- a body we cannot read; names the route and the field
        └── MalformedPacketError   -- a WebSocket frame of the wrong length or mode

Codes and shapes: specs/angel-one-smartapi.md §1.7 (envelopes), §1.8 (codes), §6.1 (403).
A message names the route and Angel's code, never a token, a password or a TOTP: the message
text of Angel's own answer is kept, but no request value is ever interpolated into it.
"""

from __future__ import annotations

from algo_trading.domain.errors import AlgoTradingError

__all__ = [
    "LOGIN_ROUTE",
    "AngelOneError",
    "BrokerRejectedError",
    "BrokerUnavailableError",
    "LoginError",
    "MalformedPacketError",
    "MalformedResponseError",
    "RateLimitedError",
    "SessionExpiredError",
    "error_for_code",
]

LOGIN_ROUTE = "/rest/auth/angelbroking/user/v1/loginByPassword"

# §1.8: the session codes, including AB8050/AB8051 (the refresh token is no good either).
_SESSION_CODES = frozenset({"AG8001", "AG8002", "AG8003", "AB1010", "AB8050", "AB8051", "AB1011"})
# §1.3: login failures that a retry with the same input cannot fix.
_LOGIN_CODES = frozenset({"AB1050", "AB7001"})
_LOGIN_ONLY_CODES = frozenset({"AB1007", "AB1000", "AB1001", "AB1002", "AB1032"})
# §1.8: the generic server-side failures; AB9000 is GTT's "internal error".
_UNAVAILABLE_CODES = frozenset({"AB1004", "AB2000", "AB2001", "AB9000"})


class AngelOneError(AlgoTradingError):
    """Angel One refused or failed a call; `code` is Angel's (or "" / "HTTP 403"), `route` ours."""

    def __init__(self, message: str, *, code: str = "", route: str = "") -> None:
        self.code = code
        self.message = message
        self.route = route
        where = route or "angelone"
        what = f"{code} {message}" if code else message
        super().__init__(f"{where}: {what}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, route={self.route!r})"


class SessionExpiredError(AngelOneError):
    """The JWT or the refresh token is invalid or expired: log in again, then retry once."""


class LoginError(AngelOneError):
    """Login refused (wrong MPIN, invalid TOTP, password instead of MPIN): fix the input."""


class RateLimitedError(AngelOneError):
    """HTTP 403 with the plain-text rate-limit answer (§6.1): wait, then try again."""


class BrokerUnavailableError(AngelOneError):
    """Server trouble or no answer: a read may be retried with backoff; a place never is."""


class BrokerRejectedError(AngelOneError):
    """A business refusal (unknown order, bad variety, unregistered IP, ...): do not retry."""


class MalformedResponseError(AngelOneError):
    """A response we cannot read: malformed JSON, a missing field, an unknown value."""

    def __init__(self, route: str, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"field {field!r}: {problem}", code="", route=route)


class MalformedPacketError(AngelOneError):
    """A binary feed frame of the wrong length or an unknown mode (§5.1)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem, code="", route="ws/smart-stream")


def error_for_code(route: str, code: str, message: str) -> AngelOneError:
    """The typed error for Angel's error code on `route` (§1.8, JAVA's taxonomy refined)."""
    if code in _SESSION_CODES:
        return SessionExpiredError(message, code=code, route=route)
    on_login = route.endswith(LOGIN_ROUTE.rsplit("/", 1)[-1])
    if code in _LOGIN_CODES or (on_login and code in _LOGIN_ONLY_CODES):
        return LoginError(message, code=code, route=route)
    if code in _UNAVAILABLE_CODES:
        return BrokerUnavailableError(message, code=code, route=route)
    return BrokerRejectedError(message, code=code, route=route)
