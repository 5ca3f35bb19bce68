"""The one settings object: typed, read once at start from `ALGO_*` environment variables.

Nothing reads the environment at import; a composition root calls `load_settings()` once and
passes what it needs down. Profiles: `dev` (the default: SQLite under ./var/, migrations at
start), `staging` and `prod`. Production refuses SQLite and default passwords, naming the
variable to fix. An `ALGO_*` variable this object does not know is an error (a typo must not
silently fall back to a default). Secrets are SecretStr: they print as '**********'.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from algo_trading.domain.errors import ConfigError

__all__ = ["DEFAULT_PASSWORDS", "ENV_PREFIX", "Settings", "load_settings"]

ENV_PREFIX = "ALGO_"
DEFAULT_DATABASE_FILE = "algo_trading.db"
DEFAULT_PASSWORDS = frozenset(
    {"", "postgres", "password", "admin", "changeme", "change-me", "secret", "algo", "test"}
)

Profile = Literal["dev", "staging", "prod"]


class Settings(BaseSettings):
    """Every setting, with its environment variable `ALGO_<NAME>`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        env_file=None,
    )

    profile: Profile = "dev"
    data_dir: Path = Field(default=Path("var"), description="local data folder (SQLite, objects)")
    database_url: SecretStr = Field(
        default=SecretStr(""),
        description="sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB; "
        "default: a SQLite file in the data folder",
    )
    database_migrate_on_start: bool = Field(
        default=True,
        description="services apply migrations at start (else they refuse an old schema)",
    )
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_app_role: str = Field(
        default="",
        pattern=r"^([a-z_][a-z0-9_]{0,62})?$",
        description="PostgreSQL role the services connect as; `algo-trading db upgrade` "
        "(run as the schema owner) creates or checks it. Empty: not managed",
    )
    # Health and metrics server (issue #10 item 9). Loopback unless told otherwise: in a
    # container, set 0.0.0.0 so the load balancer's probe and Prometheus can reach it.
    health_host: str = Field(
        default="127.0.0.1",
        pattern=r"^([0-9A-Za-z.-]{1,253}|[0-9A-Fa-f:.]{2,45})$",
        description="address the /healthz, /readyz and /metrics server listens on",
    )
    health_port: int = Field(
        default=9180, ge=0, le=65535, description="its port (0: any free port, logged)"
    )
    health_stale_after_s: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="/healthz answers 503 when the trading loop has not turned for this long",
    )
    database_app_password: SecretStr = Field(
        default=SecretStr(""),
        description="password given to the application role when `db upgrade` creates it "
        "(from the secret store; only its SCRAM hash reaches the server)",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_database(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("database_url"):
            data = dict(data)
            folder = Path(str(data.get("data_dir") or "var"))
            data["database_url"] = f"sqlite:///{(folder / DEFAULT_DATABASE_FILE).as_posix()}"
        return data

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get_secret_value().startswith("sqlite")


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings() -> Settings:
    """Read the environment once; ConfigError on one line naming each variable at fault."""
    known = {env_name(name) for name in Settings.model_fields}
    unknown = sorted(
        k for k in os.environ if k.upper().startswith(ENV_PREFIX) and k.upper() not in known
    )
    if unknown:
        raise ConfigError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{env_name(str(e['loc'][0])) if e['loc'] else ENV_PREFIX + '*'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(problems) from None
    _check_profile(settings)
    return settings


def _check_profile(settings: Settings) -> None:
    if settings.profile != "prod":
        return
    if settings.is_sqlite:
        raise ConfigError(
            f"{env_name('database_url')}: production needs PostgreSQL, not SQLite "
            "(set it to postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
        )
    password = _url_password(settings.database_url.get_secret_value())
    if password is None or password.lower() in DEFAULT_PASSWORDS:
        raise ConfigError(
            f"{env_name('database_url')}: production refuses a missing or default database "
            "password; use the one from the secret store"
        )
    app_password = settings.database_app_password.get_secret_value()
    if app_password and app_password.lower() in DEFAULT_PASSWORDS:
        raise ConfigError(
            f"{env_name('database_app_password')}: production refuses a default password; "
            "use the one from the secret store"
        )


def _url_password(url: str) -> str | None:
    """The password part of scheme://user:password@host/..., without parsing libraries."""
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    creds, at, _ = rest.rpartition("@")
    if not at:
        return None
    _, colon, password = creds.partition(":")
    return unquote(password) if colon else None
