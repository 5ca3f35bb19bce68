"""The one settings object: defaults, strictness about unknown keys, and production's
refusals, each naming the variable to fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.services.settings import Settings, load_settings

PASSWORD = "Zq9-not-a-default"  # noqa: S105 - a password the output must never show


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.upper().startswith("ALGO_"):
            monkeypatch.delenv(key)


def test_with_nothing_set_the_database_is_a_sqlite_file_in_the_local_data_folder() -> None:
    settings = load_settings()
    assert settings.profile == "dev"
    assert settings.database_url.get_secret_value() == "sqlite:///var/algo_trading.db"
    assert settings.database_migrate_on_start is True


def test_the_data_folder_moves_the_default_database_with_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ALGO_DATA_DIR", str(tmp_path))
    url = load_settings().database_url.get_secret_value()
    assert url == f"sqlite:///{tmp_path}/algo_trading.db"


def test_one_url_chooses_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGO_DATABASE_URL", "postgresql://u@db.internal:5432/algo")
    assert load_settings().database_url.get_secret_value() == (
        "postgresql://u@db.internal:5432/algo"
    )


def test_an_unknown_algo_variable_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGO_DATABSE_URL", "sqlite:///typo.db")
    with pytest.raises(ConfigError, match="unknown setting ALGO_DATABSE_URL"):
        load_settings()


def test_a_value_of_the_wrong_kind_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALGO_PROFILE", "production")
    monkeypatch.setenv("ALGO_DATABASE_POOL_SIZE", "0")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "ALGO_PROFILE:" in str(caught.value)
    assert "ALGO_DATABASE_POOL_SIZE:" in str(caught.value)


def test_production_refuses_sqlite_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGO_PROFILE", "prod")
    with pytest.raises(ConfigError, match=r"^ALGO_DATABASE_URL: production needs PostgreSQL"):
        load_settings()


@pytest.mark.parametrize("password", ["", "postgres", "password", "changeme", None])
def test_production_refuses_a_default_or_missing_database_password(
    monkeypatch: pytest.MonkeyPatch, password: str | None
) -> None:
    creds = "algo" if password is None else f"algo:{password}"
    monkeypatch.setenv("ALGO_PROFILE", "prod")
    monkeypatch.setenv("ALGO_DATABASE_URL", f"postgresql://{creds}@db.internal/algo")
    with pytest.raises(ConfigError, match=r"^ALGO_DATABASE_URL: production refuses"):
        load_settings()


def test_production_accepts_postgresql_with_a_real_password_and_never_shows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALGO_PROFILE", "prod")
    monkeypatch.setenv("ALGO_DATABASE_URL", f"postgresql://algo:{PASSWORD}@db.internal/algo")
    settings = load_settings()
    assert settings.profile == "prod"
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.model_dump())


def test_staging_may_use_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGO_PROFILE", "staging")
    assert load_settings().is_sqlite


def test_settings_are_read_only_once_built() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.profile = "prod"
