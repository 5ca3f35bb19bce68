"""Angel One adapter settings: hosts, timeouts, the route table with its rate limits, and the
credentials (angel-one-smartapi.md §1.1, §2.1, §6.1).

Nothing here reads the environment: the composition root builds an `AngelOneConfig` from the
settings object and `AngelOneCredentials` from the secret store (`credentials_from_store`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import SecretStr

from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import SecretStore
from algo_trading.market.throttle import NS_PER_SECOND, RateLimit

__all__ = [
    "ROUTES",
    "ROUTE_LIMITS",
    "SECRET_NAMES",
    "AngelOneConfig",
    "AngelOneCredentials",
    "LimitGroup",
    "Route",
    "credentials_from_store",
]

_MINUTE = 60 * NS_PER_SECOND
_HOUR = 3600 * NS_PER_SECOND


class LimitGroup(StrEnum):
    """Routes that share one client-side budget; §6.1 counts place+modify+cancel together."""

    LOGIN = "login"
    TOKENS = "tokens"
    PROFILE = "profile"
    LOGOUT = "logout"
    RMS = "rms"
    ORDERS = "orders"
    ORDER_BOOK = "order_book"
    TRADE_BOOK = "trade_book"
    POSITIONS = "positions"
    HOLDINGS = "holdings"
    ALL_HOLDINGS = "all_holdings"
    SEARCH = "search"
    LTP = "ltp"
    QUOTE = "quote"
    ORDER_DETAILS = "order_details"
    CONVERT = "convert"
    GTT_WRITE = "gtt_write"
    GTT_READ = "gtt_read"
    CANDLES = "candles"


def _limits(per_s: int, per_min: int = 0, per_h: int = 0) -> tuple[RateLimit, ...]:
    out = [RateLimit(per_s, NS_PER_SECOND)]
    if per_min:
        out.append(RateLimit(per_min, _MINUTE))
    if per_h:
        out.append(RateLimit(per_h, _HOUR))
    return tuple(out)


ROUTE_LIMITS: Mapping[LimitGroup, tuple[RateLimit, ...]] = {
    LimitGroup.LOGIN: _limits(1),
    LimitGroup.TOKENS: _limits(1, per_h=1000),
    LimitGroup.PROFILE: _limits(3, per_h=1000),
    LimitGroup.LOGOUT: _limits(1),
    LimitGroup.RMS: _limits(2),
    LimitGroup.ORDERS: _limits(9, 500, 1000),
    # "1 each": every book has its own budget of one call a second.
    LimitGroup.ORDER_BOOK: _limits(1),
    LimitGroup.TRADE_BOOK: _limits(1),
    LimitGroup.POSITIONS: _limits(1),
    LimitGroup.HOLDINGS: _limits(1),
    LimitGroup.ALL_HOLDINGS: _limits(1),
    LimitGroup.SEARCH: _limits(1),
    # The Live Market Data page says 1/s for quotes while the table says 10/s (§6.1,
    # unconfirmed); we follow the table and rely on the 403 back-off if the server is stricter.
    LimitGroup.LTP: _limits(10, 500, 5000),
    LimitGroup.QUOTE: _limits(10, 500, 5000),
    LimitGroup.ORDER_DETAILS: _limits(10, 500, 5000),
    LimitGroup.CONVERT: _limits(10, 500, 5000),
    LimitGroup.GTT_WRITE: _limits(9, 500, 5000),
    LimitGroup.GTT_READ: _limits(10, 500, 5000),
    LimitGroup.CANDLES: _limits(3, 180, 5000),
}
"""Client-side budgets per group, as the DOCS table of §6.1 gives them (per client code)."""


@dataclass(frozen=True, slots=True)
class Route:
    """One REST route: its method and path (§2.1), its budget, and whether a failed call may be
    retried. Only reads are retried: a write may have taken effect before the answer was lost."""

    name: str
    method: str
    path: str
    group: LimitGroup
    read: bool
    authenticated: bool = True


def _r(name: str, method: str, path: str, group: LimitGroup, *, read: bool) -> Route:
    return Route(name, method, path, group, read, authenticated=not path.startswith("/rest/auth"))


_SECURE = "/rest/secure/angelbroking"
_G = LimitGroup

ROUTES: Mapping[str, Route] = {
    r.name: r
    for r in (
        _r(
            "login", "POST", "/rest/auth/angelbroking/user/v1/loginByPassword", _G.LOGIN, read=False
        ),
        _r(
            "tokens", "POST", "/rest/auth/angelbroking/jwt/v1/generateTokens", _G.TOKENS, read=False
        ),
        _r("profile", "GET", f"{_SECURE}/user/v1/getProfile", _G.PROFILE, read=True),
        _r("logout", "POST", f"{_SECURE}/user/v1/logout", _G.LOGOUT, read=False),
        _r("funds", "GET", f"{_SECURE}/user/v1/getRMS", _G.RMS, read=True),
        _r("place", "POST", f"{_SECURE}/order/v1/placeOrder", _G.ORDERS, read=False),
        _r("modify", "POST", f"{_SECURE}/order/v1/modifyOrder", _G.ORDERS, read=False),
        _r("cancel", "POST", f"{_SECURE}/order/v1/cancelOrder", _G.ORDERS, read=False),
        _r("order_book", "GET", f"{_SECURE}/order/v1/getOrderBook", _G.ORDER_BOOK, read=True),
        _r("trade_book", "GET", f"{_SECURE}/order/v1/getTradeBook", _G.TRADE_BOOK, read=True),
        _r("order_details", "GET", f"{_SECURE}/order/v1/details/", _G.ORDER_DETAILS, read=True),
        _r("ltp", "POST", f"{_SECURE}/order/v1/getLtpData", _G.LTP, read=True),
        _r("quote", "POST", f"{_SECURE}/market/v1/quote", _G.QUOTE, read=True),
        _r("search", "POST", f"{_SECURE}/order/v1/searchScrip", _G.SEARCH, read=True),
        _r("positions", "GET", f"{_SECURE}/order/v1/getPosition", _G.POSITIONS, read=True),
        _r("convert", "POST", f"{_SECURE}/order/v1/convertPosition", _G.CONVERT, read=False),
        _r("holdings", "GET", f"{_SECURE}/portfolio/v1/getHolding", _G.HOLDINGS, read=True),
        _r(
            "all_holdings",
            "GET",
            f"{_SECURE}/portfolio/v1/getAllHolding",
            _G.ALL_HOLDINGS,
            read=True,
        ),
        # The plain GTT paths of DOCS and JS (§2.1); the simulator serves both forms.
        _r("gtt_create", "POST", f"{_SECURE}/gtt/v1/createRule", _G.GTT_WRITE, read=False),
        _r("gtt_modify", "POST", f"{_SECURE}/gtt/v1/modifyRule", _G.GTT_WRITE, read=False),
        _r("gtt_cancel", "POST", f"{_SECURE}/gtt/v1/cancelRule", _G.GTT_WRITE, read=False),
        _r("gtt_details", "POST", f"{_SECURE}/gtt/v1/ruleDetails", _G.GTT_READ, read=True),
        _r("gtt_list", "POST", f"{_SECURE}/gtt/v1/ruleList", _G.GTT_READ, read=True),
        _r("candles", "POST", f"{_SECURE}/historical/v1/getCandleData", _G.CANDLES, read=True),
    )
}
"""Every route the adapter calls, by our short name (§2.1)."""


@dataclass(frozen=True, slots=True)
class AngelOneConfig:
    """Where Angel One (or the simulator) lives and how patient we are with it (§1.1, §1.2).

    `rate_limits` defaults to the §6.1 table; `retry_*` shape the backoff of read routes;
    `refresh_margin_s` is how long before midnight IST the session is renewed (§6.2).
    """

    rest_base_url: str = "https://apiconnect.angelone.in"
    feed_ws_url: str = "wss://smartapisocket.angelone.in/smart-stream"
    order_ws_url: str = "wss://tns.angelone.in/smart-order-update"
    instrument_master_url: str = (
        "https://margincalculator.angelbroking.com/OpenAPI_File/files/OpenAPIScripMaster.json"
    )
    timeout_s: float = 7.0  # the SDKs' default (§1.1)
    connect_timeout_s: float = 5.0
    master_timeout_s: float = 60.0  # the master is tens of MB (§4)
    local_ip: str = "127.0.0.1"
    public_ip: str = "127.0.0.1"
    mac_address: str = "00:00:00:00:00:00"
    rate_limits: Mapping[LimitGroup, tuple[RateLimit, ...]] = field(
        default_factory=lambda: dict(ROUTE_LIMITS)
    )
    rate_guard_ms: int = 100  # widening of every rate window against network jitter
    retry_attempts: int = 4
    retry_initial_s: float = 0.5
    retry_max_s: float = 8.0
    refresh_margin_s: int = 300
    place_lookup_attempts: int = 3  # order-book look-ups for our tag after a lost answer

    def __post_init__(self) -> None:
        if self.retry_attempts < 1:
            raise ConfigError(f"angelone: retry_attempts={self.retry_attempts} must be >= 1")
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ConfigError("angelone: timeouts must be positive")
        if self.place_lookup_attempts < 1:
            raise ConfigError("angelone: place_lookup_attempts must be >= 1")
        missing = [g.value for g in LimitGroup if g not in self.rate_limits]
        if missing:
            raise ConfigError(f"angelone: rate_limits has no entry for {', '.join(missing)}")


class AngelOneCredentials:
    """The four things a login needs. Every value is a `SecretStr`, so neither `repr` nor a
    log line nor a traceback's locals ever shows one (STYLE habit 19)."""

    __slots__ = ("api_key", "client_code", "mpin", "totp_secret")

    def __init__(self, *, api_key: str, client_code: str, mpin: str, totp_secret: str) -> None:
        for name, value in (
            ("api_key", api_key),
            ("client_code", client_code),
            ("mpin", mpin),
            ("totp_secret", totp_secret),
        ):
            if not value:
                raise ConfigError(f"angelone credentials: {name} is empty")
        self.api_key = SecretStr(api_key)
        self.client_code = SecretStr(client_code)
        self.mpin = SecretStr(mpin)
        self.totp_secret = SecretStr(totp_secret)

    def __repr__(self) -> str:
        return "AngelOneCredentials(api_key=**********, client_code=**********, ...)"


SECRET_NAMES = {
    "api_key": "angelone_api_key",
    "client_code": "angelone_client_code",
    "mpin": "angelone_mpin",
    "totp_secret": "angelone_totp_secret",
}
"""The names asked of the secret store (ALGO_ANGELONE_* in the environment store)."""


def credentials_from_store(store: SecretStore) -> AngelOneCredentials:
    """Read the four credentials from the secret store; a missing one raises its own error."""
    return AngelOneCredentials(**{field_: store.get(name) for field_, name in SECRET_NAMES.items()})
