"""The health server's settings (issue #10 item 9): loopback by default, each value checked
and named by its variable."""

from __future__ import annotations

import os

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.services.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ALGO_"):
            monkeypatch.delenv(key)


def test_the_health_server_listens_on_loopback_by_default() -> None:
    settings = load_settings()
    assert settings.health_host == "127.0.0.1"
    assert settings.health_port == 9180
    assert settings.health_stale_after_s == 15.0


def test_host_port_and_staleness_come_from_their_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALGO_HEALTH_HOST", "0.0.0.0")  # noqa: S104 - what a container sets
    monkeypatch.setenv("ALGO_HEALTH_PORT", "0")
    monkeypatch.setenv("ALGO_HEALTH_STALE_AFTER_S", "2.5")
    settings = load_settings()
    assert (settings.health_host, settings.health_port) == ("0.0.0.0", 0)  # noqa: S104
    assert settings.health_stale_after_s == 2.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALGO_HEALTH_PORT", "65536"),
        ("ALGO_HEALTH_PORT", "-1"),
        ("ALGO_HEALTH_PORT", "http"),
        ("ALGO_HEALTH_HOST", "127.0.0.1:9180/x"),
        ("ALGO_HEALTH_HOST", ""),
        ("ALGO_HEALTH_STALE_AFTER_S", "0"),
    ],
)
def test_a_bad_value_is_one_error_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=f"^{name}: "):
        load_settings()
