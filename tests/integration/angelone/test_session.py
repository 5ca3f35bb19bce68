"""Login, renewal before midnight, re-login after expiry, logout, and secrets kept out of logs
and errors — against the simulator over HTTP."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from algo_trading.adapters.brokers.angelone.auth import AngelOneSession
from algo_trading.adapters.brokers.angelone.config import ROUTES
from algo_trading.adapters.brokers.angelone.errors import LoginError, SessionExpiredError
from algo_trading.adapters.brokers.angelone.http import AngelOneHttp
from algo_trading.domain.events import IST
from algo_trading.simulator.config import SimulatorConfig
from algo_trading.simulator.testing import running_simulator

from .conftest import MovingClock, adapter_config, credentials, with_faults


def test_the_first_call_logs_in_and_returns_the_profile(session: AngelOneSession) -> None:
    profile = session.call("profile")
    assert profile["clientcode"] == session.client_code
    assert session.logins == 1


def test_a_wrong_mpin_is_a_login_error_that_does_not_show_the_mpin(
    http: AngelOneHttp, sim_config: SimulatorConfig, clock: MovingClock
) -> None:
    bad = AngelOneSession(http, credentials(sim_config, mpin="9999"), clock)
    with pytest.raises(LoginError) as info:
        bad.login()
    assert info.value.code == "AB1007"
    assert "9999" not in str(info.value)
    assert "9999" not in repr(bad)


def test_the_session_is_renewed_with_generate_tokens_before_midnight(
    session: AngelOneSession, clock: MovingClock
) -> None:
    session.call("profile")
    old_jwt = session.tokens().jwt
    clock.jump_to(dt.datetime(2025, 3, 4, 23, 56, tzinfo=IST))
    session.call("profile")
    assert session.refreshes == 1
    assert session.logins == 1
    assert session.tokens().jwt != old_jwt


def test_after_midnight_the_refused_renewal_falls_back_to_a_fresh_login(
    session: AngelOneSession, clock: MovingClock
) -> None:
    session.call("profile")
    clock.jump_to(dt.datetime(2025, 3, 5, 9, 0, tzinfo=IST))  # the old session ended at 00:00
    session.call("profile")
    assert session.logins == 2


def test_an_invalid_token_answer_logs_in_again_and_retries_once(
    session: AngelOneSession, server: Any
) -> None:
    session.call("profile")
    server.expire_sessions()
    assert session.call("profile")["clientcode"] == session.client_code
    assert session.logins == 2


def test_sessions_that_expire_on_a_ttl_are_recovered_by_themselves(
    session: AngelOneSession, server: Any, clock: MovingClock
) -> None:
    with_faults(server, session_ttl_s=60)
    session.call("profile")
    clock.jump_to(dt.datetime(2025, 3, 4, 10, 5, tzinfo=IST))
    session.call("funds")
    assert session.logins == 2


def test_logout_ends_the_session_at_the_broker(session: AngelOneSession) -> None:
    session.call("profile")
    stale = session.headers()
    session.logout()
    assert not session.logged_in
    with pytest.raises(SessionExpiredError):
        session.http.request(ROUTES["profile"], headers=stale)


_STANDARD = set(logging.LogRecord("x", 0, "x", 0, "x", None, None).__dict__)


def _logged_text(record: logging.LogRecord) -> str:
    extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
    return f"{record.getMessage()} {extra!r} {record.exc_text or ''}"


def test_no_secret_or_token_reaches_a_log_record_or_a_repr(
    clock: MovingClock, caplog: pytest.LogCaptureFixture
) -> None:
    # Distinctive values, so that a match can only be a leak.
    config = SimulatorConfig(
        port=0,
        clock=clock.now_ns,
        always_open=True,
        tick_interval_s=None,
        mpin="48151623",
        api_key="api-key-4f9c2b",
        totp_secret="KRSXG5CTMVRXEZLUKN2XAZLSNE",  # noqa: S106 - a fake, distinctive on purpose
    )
    caplog.set_level(logging.DEBUG)
    with running_simulator(config) as server, AngelOneHttp(adapter_config(server)) as http:
        session = AngelOneSession(http, credentials(config), clock)
        session.call("profile")
        tokens = session.tokens()
        server.expire_sessions()  # a re-login, with its warnings, is logged too
        session.call("profile")
        second = session.tokens()
        session.logout()
    secrets = [
        config.mpin,
        config.totp_secret,
        config.api_key,
        tokens.jwt,
        tokens.refresh_token,
        tokens.feed_token,
        second.jwt,
        second.refresh_token,
        second.feed_token,
    ]
    logged = [_logged_text(r) for r in caplog.records]
    assert len(logged) >= 2, "logins and the re-login are logged"
    for secret in secrets:
        assert not any(secret in line for line in logged), "a secret reached the logs"
        assert secret not in repr(session)
        assert secret not in repr(tokens)
