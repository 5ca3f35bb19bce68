"""The dashboard's logins (issue #12 item 2): users with argon2 password hashes, their roles, a
lockout after repeated failures, and sessions that expire.

Users come from configuration or the secret store as `NAME:ROLE:ARGON2HASH` lines (what
`algo-trading dashboard add-user` prints); no password is ever stored or logged. The dev
profile with no users configured gets the demo logins (printed by `make run`); staging and
production refuse to start without users, and production refuses the demo names and any user
whose password is one of the well-known defaults. Roles: `viewer` sees, `trader` also acts;
`UserStore.role_of` is what every action checks on the server side.

Times are epoch nanoseconds from a clock passed in, so tests drive lockouts and expiry.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import CHEAPEST

from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import SecretStore
from algo_trading.services.settings import DEFAULT_PASSWORDS, Settings, env_name

__all__ = [
    "CHEAP_HASHER",
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "ROLES",
    "TRADER",
    "VIEWER",
    "LoginGuard",
    "LoginResult",
    "Session",
    "User",
    "UserStore",
    "check_profile_users",
    "demo_store",
    "hash_password",
    "load_user_store",
    "parse_users",
    "role_of",
    "user_line",
]

VIEWER = "viewer"
TRADER = "trader"
ROLES = (VIEWER, TRADER)
# The demo logins of `make run` (dev only): the trader acts, the viewer only looks.
DEMO_USERS = {"demo": TRADER, "viewer": VIEWER}
DEMO_PASSWORD = "demo-password"  # noqa: S105 - the published demo login, refused in prod
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_NS = 1_000_000_000

_hasher = PasswordHasher()
# The demo password is published, so its hash need not be costly; verifying reads the
# parameters from each hash, so real users keep the full cost.
CHEAP_HASHER = PasswordHasher.from_parameters(CHEAPEST)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs as long as a wrong
    password (made on first use, not at import)."""
    return _hasher.hash("no such user")


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash (argon2-cffi's defaults, RFC 9106's second recommendation)."""
    if not password:
        raise ConfigError("the password is empty")
    return (hasher or _hasher).hash(password)


def user_line(name: str, role: str, password: str) -> str:
    """The `NAME:ROLE:HASH` line to store for a new user."""
    _check_name(name, "user name")
    _check_role(role, f"user {name}")
    if password.lower() in DEFAULT_PASSWORDS or password == DEMO_PASSWORD:
        raise ConfigError(f"user {name}: that password is a well-known default; choose another")
    if len(password) < 10:
        raise ConfigError(f"user {name}: the password has {len(password)} characters; use 10+")
    return f"{name}:{role}:{hash_password(password)}"


def _check_name(name: str, where: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(f"{where} {name!r}: use 1-64 letters, digits or . _ @ -")


def _check_role(role: str, where: str) -> None:
    if role not in ROLES:
        raise ConfigError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    password_hash: str = field(repr=False)


class UserStore:
    """Who may log in, and with which role."""

    def __init__(self, users: Iterable[User], *, source: str) -> None:
        self.source = source
        self._users: dict[str, User] = {}
        for user in users:
            if user.name in self._users:
                raise ConfigError(f"{source}: user {user.name} is listed twice")
            self._users[user.name] = user

    def __len__(self) -> int:
        return len(self._users)

    def names(self) -> list[str]:
        return sorted(self._users)

    def role_of(self, user: str) -> str | None:
        """The role of `user`, or None for a name that is not (or no longer) a user."""
        found = self._users.get(user)
        return None if found is None else found.role

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password matches; None otherwise (unknown names take as long)."""
        user = self._users.get(name)
        try:
            _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user

    def default_password_users(self) -> list[str]:
        """Users whose password is a well-known default or the demo password."""
        weak = [*sorted(DEFAULT_PASSWORDS - {""}), DEMO_PASSWORD]
        return [
            u.name
            for u in self._users.values()
            if any(self.verify(u.name, candidate) for candidate in weak)
        ]


def role_of(user: str, store: UserStore) -> str | None:
    """The role `store` gives `user` (None: not a user); the commands processor's check."""
    return store.role_of(user)


def parse_users(text: str, *, source: str) -> UserStore:
    """`NAME:ROLE:HASH` lines (newlines or `;`), blank lines and `#` comments skipped."""
    users = []
    for number, raw in enumerate(re.split(r"[;\n]", text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep1, rest = line.partition(":")
        role, sep2, hashed = rest.partition(":")
        where = f"{source} entry {number}"
        if not (sep1 and sep2):
            raise ConfigError(f"{where}: expected NAME:ROLE:ARGON2HASH")
        _check_name(name, where)
        _check_role(role, where)
        if not hashed.startswith("$argon2"):
            raise ConfigError(f"{where}: user {name}'s hash is not an argon2 hash")
        users.append(User(name, role, hashed))
    return UserStore(users, source=source)


def demo_store() -> UserStore:
    """The demo logins of `make run`: `demo` (trader) and `viewer`, password DEMO_PASSWORD."""
    hashed = hash_password(DEMO_PASSWORD, hasher=CHEAP_HASHER)
    return UserStore(
        [User(name, role, hashed) for name, role in DEMO_USERS.items()], source="demo logins"
    )


def load_user_store(
    settings: Settings, secrets: SecretStore | None = None, *, demo: UserStore | None = None
) -> UserStore:
    """The users the settings name: ALGO_DASHBOARD_USERS, else ALGO_DASHBOARD_USERS_FILE, else
    `dashboard_users` in an AWS secret store, else (dev only) the demo logins. Refuses what
    the profile forbids (`check_profile_users`)."""
    store = _configured(settings, secrets)
    if store is None:
        if settings.profile != "dev":
            raise ConfigError(
                f"{env_name('dashboard_users')}: the {settings.profile} profile needs dashboard "
                "users (make them with `algo-trading dashboard add-user NAME --role ROLE`)"
            )
        store = demo or demo_store()
    check_profile_users(store, settings.profile)
    return store


def _configured(settings: Settings, secrets: SecretStore | None) -> UserStore | None:
    text = settings.dashboard_users.get_secret_value()
    if text.strip():
        return parse_users(text, source=env_name("dashboard_users"))
    if settings.dashboard_users_file:
        path = Path(settings.dashboard_users_file)
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ConfigError(f"{env_name('dashboard_users_file')} {path}: {why}") from None
        return parse_users(content, source=str(path))
    if secrets is not None and settings.secrets_backend == "aws":
        return parse_users(secrets.get("dashboard_users"), source="secret dashboard_users")
    return None


def check_profile_users(store: UserStore, profile: str) -> None:
    """Production refuses the demo names and any default password (naming the users)."""
    if profile != "prod":
        return
    demo_names = sorted(set(store.names()) & set(DEMO_USERS))
    if demo_names:
        raise ConfigError(
            f"{store.source}: production refuses the demo user {', '.join(demo_names)}"
        )
    weak = store.default_password_users()
    if weak:
        raise ConfigError(
            f"{store.source}: production refuses a default password (users {', '.join(weak)})"
        )
    if len(store) == 0:
        raise ConfigError(f"{store.source}: no users; production needs at least one")


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in user until `expires_ns`; the role is read again for each action."""

    user: str
    role: str
    started_ns: int
    expires_ns: int

    def expired(self, now_ns: int) -> bool:
        return now_ns >= self.expires_ns


@dataclass(frozen=True, slots=True)
class LoginResult:
    session: Session | None
    reason: str = ""  # why not, for the login form (never says whether the name exists)


@dataclass(slots=True)
class _Failures:
    count: int = 0
    locked_until_ns: int = 0


class LoginGuard:
    """Checks passwords, locks a name out for `lockout_s` after `max_failures` failures in a
    row, and opens sessions of `ttl_s`. Shared by every browser session of one process (the
    lockout is per process: a restart clears it)."""

    def __init__(
        self,
        store: UserStore,
        clock: Callable[[], int],
        *,
        max_failures: int = 5,
        lockout_s: float = 900.0,
        ttl_s: float = 8 * 3600.0,
    ) -> None:
        self.store = store
        self._clock = clock
        self._max = max_failures
        self._lockout_ns = int(lockout_s * _NS)
        self._ttl_ns = int(ttl_s * _NS)
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, store: UserStore, settings: Settings, clock: Callable[[], int]
    ) -> LoginGuard:
        return cls(
            store,
            clock,
            max_failures=settings.dashboard_lockout_failures,
            lockout_s=settings.dashboard_lockout_s,
            ttl_s=settings.dashboard_session_ttl_s,
        )

    def now_ns(self) -> int:
        return self._clock()

    def login(self, name: str, password: str) -> LoginResult:
        now = self._clock()
        with self._lock:
            state = self._failures.get(name)
            if state is not None and state.locked_until_ns > now:
                minutes = -(-(state.locked_until_ns - now) // (60 * _NS))
                return LoginResult(
                    None,
                    f"too many failed logins for {name}: locked for {minutes} more minute(s)",
                )
        user = self.store.verify(name, password)
        with self._lock:
            if user is None:
                state = self._failures.setdefault(name, _Failures())
                state.count += 1
                if state.count >= self._max:
                    state.count = 0
                    state.locked_until_ns = now + self._lockout_ns
                    return LoginResult(
                        None, f"too many failed logins for {name}: locked, try again later"
                    )
                return LoginResult(None, "wrong user name or password")
            self._failures.pop(name, None)
        return LoginResult(Session(user.name, user.role, now, now + self._ttl_ns))

    def current(self, session: Session | None) -> Session | None:
        """`session` if it has not expired and its user still has a role (re-read now)."""
        if session is None or session.expired(self._clock()):
            return None
        role = self.store.role_of(session.user)
        if role is None:
            return None
        return session if role == session.role else _with_role(session, role)


def _with_role(session: Session, role: str) -> Session:
    return Session(session.user, role, session.started_ns, session.expires_ns)
