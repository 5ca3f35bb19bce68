"""The data service's settings: typed, validated, named in one line when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.services.settings import load_settings


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("ALGO_"):
            monkeypatch.delenv(name)


def test_the_embedded_defaults_are_the_local_folder_the_in_process_cache_and_port_9181() -> None:
    settings = load_settings()
    assert settings.objects_path == Path("var") / "objects"
    assert settings.logs_path == Path("var") / "logs"
    assert settings.redis_url.get_secret_value() == ""
    assert settings.s3_bucket == ""
    assert settings.data_health_port == 9181
    assert settings.health_port == 9180


def test_the_objects_folder_follows_the_data_folder_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALGO_DATA_DIR", "/srv/algo")
    assert load_settings().objects_path == Path("/srv/algo/objects")
    monkeypatch.setenv("ALGO_OBJECTS_DIR", "/mnt/objects")
    assert load_settings().objects_path == Path("/mnt/objects")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALGO_S3_BUCKET", "Not_A_Bucket"),
        ("ALGO_S3_ENDPOINT_URL", "ftp://example"),
        ("ALGO_CACHE_TTL_QUOTE_S", "0"),
        ("ALGO_CAPTURE_MODE", "DEPTH"),
        ("ALGO_CAPTURE_FLUSH_TICKS", "0"),
        ("ALGO_DATA_HEALTH_PORT", "70000"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name) as info:
        load_settings()
    assert "\n" not in str(info.value)


def test_the_redis_password_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGO_REDIS_URL", "redis://:hunter2-secret@cache:6379/0")
    settings = load_settings()
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.redis_url)
