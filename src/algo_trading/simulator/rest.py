"""The REST side of the simulator: Angel One's routes, headers, envelopes and errors (spec §1-§3).

Every handler answers HTTP 200 with the normal envelope, business errors included (§1.7, 1);
token problems use the gateway shape (§1.7, 2); a breached limit is HTTP 403 plain text (§6.1).
GET requests may carry a raw-JSON query string (the Python SDK does, §2.19): it is ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from algo_trading.simulator.accounts import RequestError
from algo_trading.simulator.auth import Session
from algo_trading.simulator.payload import (
    BAD_PAYLOAD,
    MAX_BODY_BYTES,
    body_text,
    decode_body,
    loads_bounded,
)
from algo_trading.simulator.state import SimState
from algo_trading.simulator.wire import RATE_LIMIT_TEXT, envelope, failure, gateway_error

__all__ = ["STATE_KEY", "Body", "Handler", "json_body", "rate_limited", "secure"]

STATE_KEY = web.AppKey("simulator_state", SimState)
Body = dict[str, Any]
Handler = Callable[[SimState, Session, Body, web.Request], Awaitable[Any]]
SECURE = "/rest/secure/angelbroking"


def rate_limited() -> web.Response:
    return web.Response(status=403, text=RATE_LIMIT_TEXT, content_type="text/plain")


async def json_body(request: web.Request) -> Body:
    """The JSON object of a POST (empty for GET, whatever its query string says), read by the
    one bounded reader (payload.py); anything else is a RequestError AB1004."""
    if request.method != "POST":
        return {}
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise RequestError(
            BAD_PAYLOAD, f"Invalid request payload: larger than {MAX_BODY_BYTES} bytes"
        ) from None
    except web.RequestPayloadError:  # a Content-Encoding the body does not match
        raise RequestError(BAD_PAYLOAD, "Invalid request payload: cannot be decoded") from None
    text = decode_body(raw, request.charset)
    if not text.strip():
        return {}
    parsed = loads_bounded(text)
    if not isinstance(parsed, dict):
        raise RequestError(BAD_PAYLOAD, "Invalid request payload: not a JSON object")
    return parsed


def _api_key_refused(state: SimState, request: web.Request) -> web.Response | None:
    """Angel One's gateway wants the app's key on every call, login included (spec §1.2)."""
    if request.headers.get("X-PrivateKey") == state.auth.api_key:
        return None
    return web.json_response(gateway_error("AG8004", "Invalid or missing api key"))


def secure(
    endpoint: str, handler: Handler, *, bad_body_code: str = BAD_PAYLOAD
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Authenticate (Authorization with or without "Bearer ", and the API key), apply the
    endpoint's limit, run the handler and wrap its data in the envelope; a RequestError becomes
    status false. A body that is not a JSON object gets `bad_body_code` (GTT has its own)."""

    async def route(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE_KEY]
        authorization = request.headers.get("Authorization", "")
        if not authorization.strip():
            return web.json_response(gateway_error("AG8003", "Token missing"))
        session = state.auth.by_jwt(authorization)
        if session is None:
            return web.json_response(gateway_error("AG8001", "Invalid Token"))
        refused = _api_key_refused(state, request)
        if refused is not None:
            return refused
        if state.config.rate_limits and not state.limiter.admit(
            session.client_code, endpoint, state.clock.now_ns()
        ):
            return rate_limited()
        state.catch_up()  # a square-off or a new session the clock has passed shows at once
        try:
            body = await json_body(request)
        except RequestError as exc:
            return web.json_response(failure(bad_body_code, exc.message))
        try:
            data = await handler(state, session, body, request)
        except RequestError as exc:
            return web.json_response(failure(exc.code, exc.message))
        if isinstance(data, web.StreamResponse):
            return data
        return web.json_response(envelope(data))

    return route


async def _login(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    try:
        body = await json_body(request)
        client_code = body_text(body, "clientcode")
        if state.config.rate_limits and not state.limiter.admit(
            client_code, "loginByPassword", state.clock.now_ns()
        ):
            return rate_limited()
        refused = _api_key_refused(state, request)
        if refused is not None:
            return refused
        session = state.auth.login(
            client_code, body_text(body, "password"), body_text(body, "totp")
        )
    except RequestError as exc:
        return web.json_response(failure(exc.code, exc.message))
    data = {
        "jwtToken": session.jwt,
        "refreshToken": session.refresh_token,
        "feedToken": session.feed_token,
    }
    if "state" in body:
        data["state"] = body["state"]
    return web.json_response(envelope(data))


async def _generate_tokens(request: web.Request) -> web.StreamResponse:
    """generateTokens authenticates by the refresh token: the JWT may be the expiring one."""
    state = request.app[STATE_KEY]
    refused = _api_key_refused(state, request)
    if refused is not None:
        return refused
    try:
        body = await json_body(request)
        session = state.auth.refresh(body_text(body, "refreshToken"))
        if state.config.rate_limits and not state.limiter.admit(
            session.client_code, "generateTokens", state.clock.now_ns()
        ):
            return rate_limited()
    except RequestError as exc:
        return web.json_response(failure(exc.code, exc.message))
    return web.json_response(
        envelope(
            {
                "jwtToken": session.jwt,
                "refreshToken": session.refresh_token,
                "feedToken": session.feed_token,
            }
        )
    )


async def _profile(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    return {
        "clientcode": session.client_code,
        "name": "Simulated Trader",
        "email": "",
        "mobileno": "",
        "exchanges": ["NSE", "BSE", "NFO"],
        "products": ["DELIVERY", "INTRADAY", "MARGIN", "CARRYFORWARD"],
        "lastlogintime": "",
        "brokerid": "B2C",
    }


async def _logout(state: SimState, session: Session, body: Body, request: web.Request) -> Any:
    state.auth.logout(session)
    return ""


async def _scrip_master(request: web.Request) -> web.StreamResponse:
    """The instrument master, unauthenticated, one JSON array of all-string rows (spec §4)."""
    return web.json_response(request.app[STATE_KEY].records)


def auth_routes() -> list[web.RouteDef]:
    return [
        web.post("/rest/auth/angelbroking/user/v1/loginByPassword", _login),
        web.post("/rest/auth/angelbroking/jwt/v1/generateTokens", _generate_tokens),
        web.get(f"{SECURE}/user/v1/getProfile", secure("getProfile", _profile)),
        web.post(f"{SECURE}/user/v1/logout", secure("logout", _logout)),
        web.get("/OpenAPI_File/files/OpenAPIScripMaster.json", _scrip_master),
    ]
