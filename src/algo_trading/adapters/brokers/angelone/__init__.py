"""Angel One SmartAPI: the broker adapter, its pure parsing, and the binary feed codec.

`packets` (WebSocket 2.0 frames), `parsing` (REST envelopes and rows, request bodies) and
`errors` are pure; the HTTP and WebSocket clients live beside them. Protocol facts:
specs/angel-one-smartapi.md.
"""

from algo_trading.adapters.brokers.angelone.errors import (
    AngelOneError,
    BrokerRejectedError,
    BrokerUnavailableError,
    LoginError,
    MalformedPacketError,
    MalformedResponseError,
    RateLimitedError,
    SessionExpiredError,
)

__all__ = [
    "AngelOneError",
    "BrokerRejectedError",
    "BrokerUnavailableError",
    "LoginError",
    "MalformedPacketError",
    "MalformedResponseError",
    "RateLimitedError",
    "SessionExpiredError",
]
