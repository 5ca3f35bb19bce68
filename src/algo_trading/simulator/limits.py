"""Angel One's per-endpoint request limits, counted per client code (spec §6.1).

A breach is answered with HTTP 403 and the plain-text body, never JSON (§1.7, 3). Windows are
sliding and measured on the simulator's clock, so a test with a frozen clock sees the limit
deterministically.
"""

from __future__ import annotations

from collections import deque

__all__ = ["ENDPOINT_LIMITS", "RateLimiter", "limit_group"]

_S, _M, _H = 1, 60, 3600
_ORDERS = ((9, _S), (500, _M), (1000, _H))
_DATA = ((10, _S), (500, _M), (5000, _H))
_BOOK = ((1, _S),)

# endpoint name -> ((requests, per seconds), ...); endpoints sharing a tuple object below are
# still counted apart except the order group, which the spec says is cumulative.
ENDPOINT_LIMITS: dict[str, tuple[tuple[int, int], ...]] = {
    "loginByPassword": ((1, _S),),
    "generateTokens": ((1, _S), (1000, _H)),
    "getProfile": ((3, _S), (1000, _H)),
    "logout": ((1, _S),),
    "getRMS": ((2, _S),),
    "orders": _ORDERS,
    "getOrderBook": _BOOK,
    "getPosition": _BOOK,
    "getTradeBook": _BOOK,
    "searchScrip": _BOOK,
    "getHolding": _BOOK,
    "getAllHolding": _BOOK,
    "getLtpData": _DATA,
    "convertPosition": _DATA,
    "details": _DATA,
    "quote": _DATA,
    "gttWrite": ((9, _S), (500, _M), (5000, _H)),
    "gttRead": _DATA,
    "getCandleData": ((3, _S), (180, _M), (5000, _H)),
}
_ORDER_ROUTES = frozenset({"placeOrder", "modifyOrder", "cancelOrder"})
_GTT_WRITE = frozenset({"createRule", "modifyRule", "cancelRule"})
_GTT_READ = frozenset({"ruleDetails", "ruleList"})


def limit_group(endpoint: str) -> str:
    if endpoint in _ORDER_ROUTES:
        return "orders"
    if endpoint in _GTT_WRITE:
        return "gttWrite"
    if endpoint in _GTT_READ:
        return "gttRead"
    return endpoint


class RateLimiter:
    """Sliding-window counters per (client code, endpoint group)."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[int]] = {}

    def admit(self, client_code: str, endpoint: str, now_ns: int) -> bool:
        """Count one request; False when it breaks a limit (and then it is not counted)."""
        group = limit_group(endpoint)
        limits = ENDPOINT_LIMITS.get(group)
        if limits is None:
            return True
        hits = self._hits.setdefault((client_code, group), deque())
        longest = max(seconds for _, seconds in limits) * 1_000_000_000
        while hits and hits[0] <= now_ns - longest:
            hits.popleft()
        for count, seconds in limits:
            since = now_ns - seconds * 1_000_000_000
            if sum(1 for t in hits if t > since) >= count:
                return False
        hits.append(now_ns)
        return True
