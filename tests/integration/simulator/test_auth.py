"""Login, tokens, sessions and the scrip master over real HTTP (spec §1.3-§1.7, §4, §6.2)."""

from __future__ import annotations

import urllib.parse
import urllib.request

from algo_trading.market.instruments import build_master
from algo_trading.simulator import SimulatorServer
from tests.integration.simulator.conftest import LOGIN, Api, FakeClock, ist


def test_login_with_mpin_and_current_totp_returns_three_tokens_and_echoes_state(
    sim: SimulatorServer, clock: FakeClock
) -> None:
    api = Api(sim, clock)
    body = {"clientcode": "S123456", "password": "1234", "totp": api.totp(), "state": "xyz"}
    reply = api.request("POST", LOGIN, body)
    assert reply.status == 200
    data = reply.json["data"]
    assert reply.json["status"] is True
    assert reply.json["errorcode"] == ""
    assert all(
        isinstance(data[k], str) and data[k] for k in ("jwtToken", "refreshToken", "feedToken")
    )
    assert data["state"] == "xyz"


def test_wrong_totp_mpin_and_password_get_angels_codes(
    sim: SimulatorServer, clock: FakeClock
) -> None:
    api = Api(sim, clock)
    wrong_totp = api.request(
        "POST", LOGIN, {"clientcode": "S123456", "password": "1234", "totp": "000000"}
    )
    wrong_mpin = api.request(
        "POST", LOGIN, {"clientcode": "S123456", "password": "9999", "totp": api.totp()}
    )
    password = api.request(
        "POST", LOGIN, {"clientcode": "S123456", "password": "hunter2", "totp": api.totp()}
    )
    assert (wrong_totp.json["errorcode"], wrong_totp.json["data"]) == ("AB1050", None)
    assert wrong_mpin.json["errorcode"] == "AB1007"
    assert password.json["errorcode"] == "AB7001"
    assert wrong_totp.json["status"] is False


def test_a_totp_from_two_steps_ago_is_refused(sim: SimulatorServer, clock: FakeClock) -> None:
    api = Api(sim, clock)
    old = api.totp()
    clock.advance(61)
    reply = api.request("POST", LOGIN, {"clientcode": "S123456", "password": "1234", "totp": old})
    assert reply.json["errorcode"] == "AB1050"


def test_profile_needs_a_token_and_answers_in_the_gateway_shape_without_one(api: Api) -> None:
    assert api.get("/user/v1/getProfile")["data"]["clientcode"] == "S123456"
    api.jwt = ""
    missing = api.get("/user/v1/getProfile")
    api.jwt = "forged"
    invalid = api.get("/user/v1/getProfile")
    assert missing == {
        "success": False,
        "message": "Token missing",
        "errorCode": "AG8003",
        "data": "",
    }
    assert invalid == {
        "success": False,
        "message": "Invalid Token",
        "errorCode": "AG8001",
        "data": "",
    }


def test_a_get_with_a_raw_json_query_string_is_tolerated(api: Api) -> None:
    query = urllib.parse.quote('{"refreshToken": "x"}', safe="{}:,")
    reply = api.request("GET", f"/rest/secure/angelbroking/user/v1/getProfile?{query}")
    assert reply.json["status"] is True


def test_authorization_without_bearer_prefix_is_accepted(api: Api) -> None:
    req = urllib.request.Request(  # noqa: S310 - loopback http only
        api.server.base_url + "/rest/secure/angelbroking/user/v1/getProfile",
        headers={"Authorization": api.jwt, "X-PrivateKey": api.config.api_key},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
        assert b'"status": true' in resp.read()


def test_logout_ends_the_session(api: Api) -> None:
    assert api.post("/user/v1/logout", {"clientcode": "S123456"}) == {
        "status": True,
        "message": "SUCCESS",
        "errorcode": "",
        "data": "",
    }
    assert api.get("/user/v1/getProfile")["errorCode"] == "AG8001"


def test_generate_tokens_mints_a_working_jwt_and_refuses_an_unknown_refresh_token(api: Api) -> None:
    reply = api.request(
        "POST", "/rest/auth/angelbroking/jwt/v1/generateTokens", {"refreshToken": api.refresh_token}
    ).json
    assert reply["status"] is True
    api.jwt = reply["data"]["jwtToken"]
    assert api.get("/user/v1/getProfile")["status"] is True
    bad = api.request(
        "POST", "/rest/auth/angelbroking/jwt/v1/generateTokens", {"refreshToken": "nope"}
    ).json
    assert bad["errorcode"] == "AB8050"


def test_sessions_end_at_midnight_ist(api: Api, clock: FakeClock) -> None:
    clock.set(ist(2026, 3, 2, 23, 59))
    assert api.get("/user/v1/getProfile")["status"] is True
    clock.set(ist(2026, 3, 3, 0, 0))
    assert api.get("/user/v1/getProfile")["errorCode"] == "AG8001"


def test_scrip_master_is_served_in_the_real_format(sim: SimulatorServer, clock: FakeClock) -> None:
    reply = Api(sim, clock).request("GET", "/OpenAPI_File/files/OpenAPIScripMaster.json")
    rows = reply.json
    assert all(isinstance(v, str) for row in rows for v in row.values())
    ids = {r["symbol"]: r["token"] for r in rows}
    assert ids["SBIN-EQ"] == "3045"
    assert ids["RELIANCE-EQ"] == "2885"
    assert ids["Nifty 50"] == "99926000"
    assert ids["Nifty Bank"] == "99926009"
    master = build_master(rows)
    # 2026-03-31 (the last Tuesday) is a holiday, so the March contracts expire on the 30th.
    assert [f.symbol for f in master.futures("NIFTY")] == ["NIFTY30MAR26FUT", "NIFTY28APR26FUT"]
    assert master.futures("BANKNIFTY")
    chain = master.option_chain("NIFTY", master.futures("NIFTY")[0].expiry)  # type: ignore[arg-type]
    assert len(chain) == 21
    assert all(row.call and row.put for row in chain)
    assert sum(1 for r in rows if r["instrumenttype"] == "") == 50
