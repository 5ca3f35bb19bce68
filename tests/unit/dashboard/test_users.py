"""services/users.py: the dashboard's logins, roles, lockout, expiry and the prod profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from algo_trading.domain.errors import ConfigError
from algo_trading.services.settings import Settings
from algo_trading.services.users import (
    CHEAP_HASHER,
    DEMO_PASSWORD,
    LoginGuard,
    Session,
    UserStore,
    check_profile_users,
    demo_store,
    hash_password,
    load_user_store,
    parse_users,
    role_of,
    user_line,
)

S = 1_000_000_000


class FakeClock:
    def __init__(self, now_ns: int = 1_700_000_000 * S) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns


@pytest.fixture(scope="module")
def store() -> UserStore:
    """Cheap hashes (verifying reads the cost from the hash), so the suite stays fast."""
    lines = [
        f"asha:trader:{hash_password('a long trader password', hasher=CHEAP_HASHER)}",
        f"ravi:viewer:{hash_password('a long viewer password', hasher=CHEAP_HASHER)}",
    ]
    return parse_users("\n".join(lines), source="test")


def test_user_line_hashes_with_argon2_and_never_holds_the_password() -> None:
    line = user_line("asha", "trader", "correct horse battery")
    name, role, hashed = line.split(":", 2)
    assert (name, role) == ("asha", "trader")
    assert hashed.startswith("$argon2id$")
    assert "correct horse battery" not in line


@pytest.mark.parametrize(
    ("name", "role", "password", "fragment"),
    [
        ("asha", "admin", "a long password", "role 'admin'"),
        ("as ha", "trader", "a long password", "user name"),
        ("asha", "trader", "changeme", "well-known default"),
        ("asha", "trader", DEMO_PASSWORD, "well-known default"),
        ("asha", "trader", "short", "10+"),
    ],
)
def test_user_line_refuses_bad_input_naming_it(
    name: str, role: str, password: str, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        user_line(name, role, password)


def test_role_of_answers_the_store_and_none_for_strangers(store: UserStore) -> None:
    assert role_of("asha", store) == "trader"
    assert store.role_of("ravi") == "viewer"
    assert store.role_of("mallory") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("asha:trader", "expected NAME:ROLE:ARGON2HASH"),
        ("asha:root:$argon2id$x", "role 'root'"),
        ("asha:trader:plaintext", "not an argon2 hash"),
    ],
)
def test_parse_users_refuses_malformed_lines(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        parse_users(text, source="ALGO_DASHBOARD_USERS")


def test_parse_users_refuses_a_name_listed_twice(store: UserStore) -> None:
    line = user_line("asha", "viewer", "another long password")
    with pytest.raises(ConfigError, match="listed twice"):
        parse_users(f"{line};{line}", source="x")


def test_a_right_password_opens_a_session_that_expires(store: UserStore) -> None:
    clock = FakeClock()
    guard = LoginGuard(store, clock, ttl_s=60)
    result = guard.login("asha", "a long trader password")
    assert result.session is not None
    assert result.session.role == "trader"
    clock.now_ns += 59 * S
    assert guard.current(result.session) == result.session
    clock.now_ns += 1 * S
    assert guard.current(result.session) is None


def test_a_session_takes_the_stores_role_not_the_one_it_claims(store: UserStore) -> None:
    clock = FakeClock()
    guard = LoginGuard(store, clock)
    forged = Session("ravi", "trader", clock(), clock() + 60 * S)
    current = guard.current(forged)
    assert current is not None
    assert current.role == "viewer"
    assert guard.current(Session("mallory", "trader", clock(), clock() + 60 * S)) is None


def test_repeated_failures_lock_the_name_out_until_the_lockout_ends(store: UserStore) -> None:
    clock = FakeClock()
    guard = LoginGuard(store, clock, max_failures=3, lockout_s=600)
    reasons = [guard.login("asha", "wrong").reason for _ in range(3)]
    assert reasons[:2] == ["wrong user name or password"] * 2
    assert "locked" in reasons[2]
    locked = guard.login("asha", "a long trader password")
    assert locked.session is None
    assert "locked for 10 more minute" in locked.reason
    clock.now_ns += 600 * S
    assert guard.login("asha", "a long trader password").session is not None


def test_a_success_clears_the_failure_count(store: UserStore) -> None:
    guard = LoginGuard(store, FakeClock(), max_failures=2)
    guard.login("ravi", "wrong")
    assert guard.login("ravi", "a long viewer password").session is not None
    assert guard.login("ravi", "wrong").reason == "wrong user name or password"


def test_an_unknown_name_gets_the_same_answer_as_a_wrong_password(store: UserStore) -> None:
    guard = LoginGuard(store, FakeClock())
    assert guard.login("nobody", "x").reason == guard.login("asha", "x").reason


def test_dev_without_users_gets_the_demo_logins() -> None:
    store = load_user_store(Settings(profile="dev"), demo=demo_store())
    assert store.role_of("demo") == "trader"
    assert store.role_of("viewer") == "viewer"
    assert store.verify("demo", DEMO_PASSWORD) is not None


def test_staging_without_users_refuses_to_start() -> None:
    with pytest.raises(ConfigError, match="ALGO_DASHBOARD_USERS"):
        load_user_store(Settings(profile="staging"))


def test_prod_refuses_the_demo_user() -> None:
    with pytest.raises(ConfigError, match="demo user demo"):
        check_profile_users(demo_store(), "prod")


def test_prod_refuses_a_default_password() -> None:
    from algo_trading.services.users import User

    weak = UserStore(
        [User("ops", "trader", hash_password("changeme", hasher=CHEAP_HASHER))], source="file"
    )
    with pytest.raises(ConfigError, match="default password \\(users ops\\)"):
        check_profile_users(weak, "prod")


def test_prod_accepts_real_users(store: UserStore) -> None:
    check_profile_users(store, "prod")


def test_users_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "users.txt"
    hashed = hash_password("meera's long password", hasher=CHEAP_HASHER)
    path.write_text(f"# logins\nmeera:viewer:{hashed}\n")
    loaded = load_user_store(Settings(profile="dev", dashboard_users_file=str(path)))
    assert loaded.names() == ["meera"]
    with pytest.raises(ConfigError, match="ALGO_DASHBOARD_USERS_FILE"):
        load_user_store(Settings(profile="dev", dashboard_users_file=str(tmp_path / "none")))
