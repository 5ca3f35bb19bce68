"""The application role's settings (issue 15): a name PostgreSQL takes unquoted, and a
password production will not accept at a default value, never shown."""

from __future__ import annotations

import os

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.services.settings import load_settings

PASSWORD = "Zq9-app-not-a-default"  # noqa: S105 - a password the output must never show
_PROD_URL = "postgresql://owner:Zq9-owner-not-a-default@db.internal/algo"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ALGO_"):
            monkeypatch.delenv(key)


def test_with_nothing_set_no_role_is_managed() -> None:
    settings = load_settings()
    assert settings.database_app_role == ""
    assert settings.database_app_password.get_secret_value() == ""


@pytest.mark.parametrize("name", ["Algo", "1algo", "algo-app", "algo app", "a" * 64, 'x"; --'])
def test_a_role_name_postgresql_would_need_quoted_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv("ALGO_DATABASE_APP_ROLE", name)
    with pytest.raises(ConfigError, match=r"^ALGO_DATABASE_APP_ROLE: "):
        load_settings()


@pytest.mark.parametrize("password", ["postgres", "changeme", "Secret"])
def test_production_refuses_a_default_application_password(
    monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    monkeypatch.setenv("ALGO_PROFILE", "prod")
    monkeypatch.setenv("ALGO_DATABASE_URL", _PROD_URL)
    monkeypatch.setenv("ALGO_DATABASE_APP_ROLE", "algo_app")
    monkeypatch.setenv("ALGO_DATABASE_APP_PASSWORD", password)
    with pytest.raises(ConfigError, match=r"^ALGO_DATABASE_APP_PASSWORD: production refuses"):
        load_settings()


def test_the_application_password_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGO_PROFILE", "prod")
    monkeypatch.setenv("ALGO_DATABASE_URL", _PROD_URL)
    monkeypatch.setenv("ALGO_DATABASE_APP_ROLE", "algo_app")
    monkeypatch.setenv("ALGO_DATABASE_APP_PASSWORD", PASSWORD)
    settings = load_settings()
    assert settings.database_app_password.get_secret_value() == PASSWORD
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.model_dump())
