"""What the hostile-input tests share (issue #15, 2): raw requests on loopback, the check of
one answer, the time bound and hypothesis strategies for JSON values a client might send."""

from __future__ import annotations

import http.client
import json
import time

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.integration.simulator.conftest import Api

BOUND_S = 5.0  # every answer, however hostile the request, comes within this
NORMAL_KEYS = {"status", "message", "errorcode", "data"}
GATEWAY_KEYS = {"success", "message", "errorCode", "data"}


class Raw:
    """Requests as bytes on loopback, with a good client's headers unless a case overrides them."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def send(
        self, method: str, path: str, body: bytes, headers: tuple[tuple[str, str], ...] = ()
    ) -> tuple[int, bytes, http.client.HTTPMessage, float]:
        sent = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-UserType": "USER",
            "X-SourceID": "WEB",
            "X-PrivateKey": self.api.config.api_key,
            "Authorization": f"Bearer {self.api.jwt}",
        }
        for key, value in headers:
            sent[key] = value
        sent = {k: v for k, v in sent.items() if v}
        conn = http.client.HTTPConnection("127.0.0.1", self.api.server.port, timeout=BOUND_S)
        started = time.monotonic()
        try:
            conn.request(method, path, body=body if method == "POST" else None, headers=sent)
            reply = conn.getresponse()
            data = reply.read()
        finally:
            conn.close()
        return reply.status, data, reply.headers, time.monotonic() - started


def problems(status: int, data: bytes, headers: http.client.HTTPMessage, took_s: float) -> str:
    """What is wrong with one answer to a hostile request ("" when nothing is)."""
    server = headers.get("Server", "")
    if "python" in server.lower() or "aiohttp" in server.lower():
        return f"Server header advertises {server!r}"
    if took_s > BOUND_S:
        return f"took {took_s:.1f} s"
    if status == 403 and data.startswith(b"Access denied"):
        return ""
    if status != 200:
        return f"HTTP {status}: {data[:200]!r}"
    try:
        answer = json.loads(data)
    except ValueError:
        return f"not JSON: {data[:200]!r}"
    if not isinstance(answer, dict) or set(answer) not in (NORMAL_KEYS, GATEWAY_KEYS):
        return f"not an envelope: {data[:200]!r}"
    if answer.get("errorcode") == "AB2001":  # every route validates: the guard is for bugs
        return f"an exception reached the last-resort guard: {data[:200]!r}"
    return ""


def error_code(data: bytes) -> str:
    """The error code of either envelope shape ("" on success)."""
    answer = json.loads(data)
    return str(answer.get("errorcode") or answer.get("errorCode") or "")


NUMBER_TEXTS = [
    "1.0e999", "1e999999", "-1e999999", "1e-999999999", "NaN", "-Infinity", "0x10", "1_000",
    "\u0661\u0662", "\uff11\uff12", " 12 ", "12.345", "-0", "9" * 5000, "1." + "0" * 5000,
    "800", "800.05", "1", "0", "-5", "", "1e2", "3045", "NSE", "LIMIT", "BUY", "DELIVERY",
    "ONE_MINUTE", "2026-03-02 09:15", "NEW", "FORALL",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(NUMBER_TEXTS),
    st.sampled_from(NUMBER_TEXTS),
    st.sampled_from(NUMBER_TEXTS),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def fuzz_settings(examples: int) -> settings:
    """Bounded in examples; no per-example deadline (a slow moment on a shared machine is not a
    bug), the time bound is on each request instead."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def login_still_works(api: Api) -> bool:
    fresh = Api(api.server, api.clock)
    return bool(fresh.login()["status"]) and fresh.get("/user/v1/getProfile")["status"] is True
