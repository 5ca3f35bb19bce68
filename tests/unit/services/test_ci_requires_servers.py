"""Issue #10 item 12: under CI=true a test needing PostgreSQL fails when it is unreachable;
elsewhere it skips, saying why."""

from __future__ import annotations

import pytest

from tests.support import storage


def _unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "find_postgres", lambda: (None, "connection refused"))


def test_outside_ci_an_unreachable_postgresql_skips_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _unreachable(monkeypatch)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="unreachable: connection refused"):
        storage.require_postgres()


def test_under_ci_an_unreachable_postgresql_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    _unreachable(monkeypatch)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="unreachable: connection refused"):
        storage.require_postgres()


def test_a_reachable_postgresql_gives_its_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage, "find_postgres", lambda: ("postgresql+psycopg://u@h/db", ""))
    monkeypatch.setenv("CI", "true")
    assert storage.require_postgres() == "postgresql+psycopg://u@h/db"
