"""The adapter's settings: the §6.1 rate-limit table, the route table, credentials that never
show, and the environment secret store."""

from __future__ import annotations

import pytest

from algo_trading.adapters.brokers.angelone.config import (
    ROUTE_LIMITS,
    ROUTES,
    AngelOneConfig,
    AngelOneCredentials,
    LimitGroup,
    credentials_from_store,
)
from algo_trading.adapters.secrets.env import EnvSecretStore
from algo_trading.domain.errors import ConfigError
from algo_trading.market.throttle import NS_PER_SECOND, RateLimit

_S, _MIN, _H = NS_PER_SECOND, 60 * NS_PER_SECOND, 3600 * NS_PER_SECOND


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        (LimitGroup.ORDERS, (RateLimit(9, _S), RateLimit(500, _MIN), RateLimit(1000, _H))),
        (LimitGroup.ORDER_BOOK, (RateLimit(1, _S),)),
        (LimitGroup.TRADE_BOOK, (RateLimit(1, _S),)),
        (LimitGroup.RMS, (RateLimit(2, _S),)),
        (LimitGroup.CANDLES, (RateLimit(3, _S), RateLimit(180, _MIN), RateLimit(5000, _H))),
        (LimitGroup.QUOTE, (RateLimit(10, _S), RateLimit(500, _MIN), RateLimit(5000, _H))),
        (LimitGroup.GTT_WRITE, (RateLimit(9, _S), RateLimit(500, _MIN), RateLimit(5000, _H))),
        (LimitGroup.LOGIN, (RateLimit(1, _S),)),
        (LimitGroup.TOKENS, (RateLimit(1, _S), RateLimit(1000, _H))),
    ],
)
def test_rate_limits_match_the_documented_table(
    group: LimitGroup, expected: tuple[RateLimit, ...]
) -> None:
    assert ROUTE_LIMITS[group] == expected


def test_place_modify_and_cancel_share_one_budget_and_are_not_reads() -> None:
    routes = [ROUTES[name] for name in ("place", "modify", "cancel")]
    assert {r.group for r in routes} == {LimitGroup.ORDERS}
    assert not any(r.read for r in routes)


def test_every_route_has_a_budget_and_only_login_and_tokens_skip_the_bearer() -> None:
    assert all(r.group in ROUTE_LIMITS for r in ROUTES.values())
    assert {n for n, r in ROUTES.items() if not r.authenticated} == {"login", "tokens"}


def test_a_config_without_a_budget_for_some_group_is_refused() -> None:
    limits = dict(ROUTE_LIMITS)
    del limits[LimitGroup.CANDLES]
    with pytest.raises(ConfigError, match="candles"):
        AngelOneConfig(rate_limits=limits)


def test_credentials_repr_and_str_show_no_secret() -> None:
    creds = AngelOneCredentials(
        api_key="key-123",
        client_code="A1234",
        mpin="9876",
        totp_secret="JBSWY3DPEHPK3PXP",  # noqa: S106 - a fake
    )
    for shown in (repr(creds), str(creds), repr(creds.mpin), str(creds.totp_secret)):
        for secret in ("key-123", "A1234", "9876", "JBSWY3DPEHPK3PXP"):
            assert secret not in shown
    assert creds.mpin.get_secret_value() == "9876"


def test_env_store_reads_the_prefixed_variable_and_names_a_missing_one() -> None:
    store = EnvSecretStore({"ALGO_ANGELONE_MPIN": "9876"})
    assert store.get("angelone_mpin") == "9876"
    with pytest.raises(ConfigError, match="ALGO_ANGELONE_TOTP_SECRET") as info:
        store.get("angelone_totp_secret")
    assert "9876" not in str(info.value)


def test_credentials_come_from_the_secret_store() -> None:
    env = {
        "ALGO_ANGELONE_API_KEY": "k",
        "ALGO_ANGELONE_CLIENT_CODE": "A1",
        "ALGO_ANGELONE_MPIN": "1111",
        "ALGO_ANGELONE_TOTP_SECRET": "JBSWY3DPEHPK3PXP",
    }
    creds = credentials_from_store(EnvSecretStore(env))
    assert creds.client_code.get_secret_value() == "A1"
    with pytest.raises(ConfigError, match="ALGO_ANGELONE_MPIN"):
        credentials_from_store(EnvSecretStore({k: v for k, v in env.items() if "MPIN" not in k}))
