"""The trading service's settings (issue #10, item 1): an instance id made at load from the host
and the process, the broker, the feed's staleness, the live confirmation and the secret store,
each with its ALGO_* name; and Angel One's credentials in the environment are secrets for the
secret store, not unknown settings."""

from __future__ import annotations

import os

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.services import settings as settings_module
from algo_trading.services.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ALGO_"):
            monkeypatch.delenv(key)


def test_defaults_are_the_local_simulator_in_paper_with_nothing_confirmed() -> None:
    settings = load_settings()
    assert settings.broker_kind == "simulator"
    assert settings.broker_url == "http://127.0.0.1:8765"
    assert settings.feed_stale_s == 10.0
    assert not settings.live_confirmed
    assert settings.secrets_backend == "env"


def test_the_instance_id_is_host_and_process_made_when_the_settings_are_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings_module.socket, "gethostname", lambda: "ip-10-0-1-23.ec2.internal")
    assert load_settings().instance_id == f"ip-10-0-1-23-ec2-internal-{os.getpid()}"
    monkeypatch.setattr(settings_module.socket, "gethostname", lambda: "other")
    assert load_settings().instance_id == f"other-{os.getpid()}"


def test_a_hostname_with_nothing_usable_still_gives_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module.socket, "gethostname", lambda: "...")
    assert load_settings().instance_id == f"host-{os.getpid()}"


def test_an_instance_id_can_be_given_and_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGO_INSTANCE_ID", "trader-a")
    assert load_settings().instance_id == "trader-a"
    monkeypatch.setenv("ALGO_INSTANCE_ID", "trader a")
    with pytest.raises(ConfigError, match="ALGO_INSTANCE_ID:"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ALGO_BROKER_KIND", "zerodha"),
        ("ALGO_FEED_STALE_S", "0"),
        ("ALGO_FEED_STALE_S", "soon"),
        ("ALGO_LIVE_CONFIRM", "true"),
        ("ALGO_SECRETS_BACKEND", "vault"),
    ],
)
def test_a_bad_service_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=f"^{variable}:"):
        load_settings()


def test_live_is_confirmed_only_by_yes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGO_LIVE_CONFIRM", "yes")
    assert load_settings().live_confirmed
    monkeypatch.setenv("ALGO_LIVE_CONFIRM", "no")
    assert not load_settings().live_confirmed


def test_angel_one_credentials_in_the_environment_are_not_unknown_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("API_KEY", "CLIENT_CODE", "MPIN", "TOTP_SECRET"):
        monkeypatch.setenv(f"ALGO_ANGELONE_{name}", "not-a-real-value")
    settings = load_settings()
    assert "not-a-real-value" not in repr(settings)


def test_which_settings_came_from_the_environment_is_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not load_settings().is_set("broker_kind")
    monkeypatch.setenv("ALGO_BROKER_KIND", "inprocess")
    assert load_settings().is_set("broker_kind")


def test_the_lease_settings_make_the_keepers_config_and_a_share_spreads_instances(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from algo_trading.services.lease_keeper import LeaseConfig

    default = load_settings()
    config = LeaseConfig.from_ttl(
        default.lease_ttl_s,
        max_owned=default.lease_max_owned,
        overflow_grace_s=default.lease_overflow_grace_s,
    )
    assert (config.ttl_s, config.renew_every_s, config.max_owned) == (10.0, 2.0, None)
    assert default.confirm_window_s == 60.0
    monkeypatch.setenv("ALGO_LEASE_TTL_S", "6")
    monkeypatch.setenv("ALGO_LEASE_MAX_OWNED", "2")
    monkeypatch.setenv("ALGO_LEASE_OVERFLOW_GRACE_S", "10")
    monkeypatch.setenv("ALGO_CONFIRM_WINDOW_S", "3")
    s = load_settings()
    config = LeaseConfig.from_ttl(
        s.lease_ttl_s, max_owned=s.lease_max_owned, overflow_grace_s=s.lease_overflow_grace_s
    )
    assert (config.ttl_s, config.renew_every_s, config.max_owned) == (6.0, 1.2, 2)
    assert config.takeover_s < 30  # a dead instance's strategies move within 30 s
    assert s.confirm_window_s == 3.0


@pytest.mark.parametrize(
    ("name", "value"),
    [("ALGO_LEASE_TTL_S", "60"), ("ALGO_LEASE_MAX_OWNED", "-1"), ("ALGO_CONFIRM_WINDOW_S", "0")],
)
def test_a_lease_setting_out_of_range_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()
