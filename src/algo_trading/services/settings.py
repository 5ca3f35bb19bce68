"""The one settings object: typed, read once at start from `ALGO_*` environment variables.

Nothing reads the environment at import; a composition root calls `load_settings()` once and
passes what it needs down. Profiles: `dev` (the default: SQLite under ./var/, migrations at
start), `staging` and `prod`. Production refuses SQLite and default passwords, naming the
variable to fix. An `ALGO_*` variable this object does not know is an error (a typo must not
silently fall back to a default), except the secret store's own names (ALGO_ANGELONE_*), which
are read through the SecretStore port and never land here. Secrets are SecretStr: they print as
'**********'.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from algo_trading.adapters.brokers.angelone.config import SECRET_NAMES
from algo_trading.domain.errors import ConfigError

__all__ = [
    "DEFAULT_PASSWORDS",
    "DEFAULT_SIMULATOR_URL",
    "ENV_PREFIX",
    "BrokerKind",
    "Settings",
    "check_alert_settings",
    "default_instance_id",
    "env_name",
    "load_settings",
]

ENV_PREFIX = "ALGO_"
DEFAULT_DATABASE_FILE = "algo_trading.db"
DEFAULT_PASSWORDS = frozenset(
    {"", "postgres", "password", "admin", "changeme", "change-me", "secret", "algo", "test"}
)

Profile = Literal["dev", "staging", "prod"]
BrokerKind = Literal["simulator", "angelone", "inprocess"]
DEFAULT_SIMULATOR_URL = "http://127.0.0.1:8765"
# What a client order id, a log field and a lease row all carry unescaped (domain/ids.py).
_INSTANCE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,48}$"
_NOT_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def default_instance_id() -> str:
    """`<hostname>-<pid>`: unique among the 2 to 5 copies of the trading service at one time
    (ECS tasks have their own hostnames; two processes on one host differ by pid). Built when
    the settings are loaded, never at import, so a forked worker does not inherit its parent's."""
    host = _NOT_ID_CHARS.sub("-", socket.gethostname()).strip("-")[:40] or "host"
    return f"{host}-{os.getpid()}"


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
    database_password: SecretStr = Field(
        default=SecretStr(""),
        description="the password for a postgresql:// URL that has none (as ECS injects it from "
        "Secrets Manager beside a password-less ALGO_DATABASE_URL)",
    )
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

    # --- alerts (issue #10 item 8): the log always; SNS, SMTP and Telegram each when its
    # first setting (topic, host, chat id) is set. Passwords and the bot token may instead come
    # from the secret store, under the same names without the prefix.
    alert_dedupe_window_s: float = Field(
        default=300.0,
        ge=0,
        description="an alert repeating its code and scope within this "
        "many seconds is held back (and counted in the next one)",
    )
    alert_rate_per_minute: float = Field(
        default=6.0,
        gt=0,
        le=600,
        description="alerts a minute per channel (SNS, SMTP and "
        "Telegram each; the log has no limit); what is held back is summed up when it lifts",
    )
    alert_rate_burst: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="alerts a channel sends at once before the per-minute rate applies",
    )
    alert_queue_size: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="alerts waiting per channel before new ones are dropped (and counted)",
    )
    alert_timeout_s: float = Field(default=10.0, gt=0, le=120, description="per send")
    alert_sns_topic_arn: str = Field(
        default="",
        pattern=r"^(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+)?$",
        max_length=400,
        description="SNS topic for e-mail alerts (its subscribers get each alert)",
    )
    alert_sns_region: str = Field(default="", description="default: the topic ARN's region")
    alert_sns_endpoint_url: str = Field(default="", description="a VPC or local endpoint")
    alert_smtp_host: str = Field(default="", description="SMTP server for e-mail alerts")
    alert_smtp_port: int = Field(default=587, ge=1, le=65535)
    alert_smtp_user: str = Field(default="", description="login, if the server asks for one")
    alert_smtp_password: SecretStr = Field(
        default=SecretStr(""), description="or `alert_smtp_password` in the secret store"
    )
    alert_smtp_from: str = Field(default="", description="sender address")
    alert_smtp_to: str = Field(default="", description="recipients, comma-separated")
    alert_smtp_starttls: bool = Field(default=True, description="upgrade to TLS first")
    alert_telegram_chat_id: str = Field(
        default="",
        pattern=r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})?$",
        description="numeric chat id, or @channelname",
    )
    alert_telegram_bot_token: SecretStr = Field(
        default=SecretStr(""), description="or `alert_telegram_bot_token` in the secret store"
    )
    alert_telegram_api_url: str = Field(
        default="https://api.telegram.org",
        pattern=r"^https?://[^/\s]+(/[^\s]*)?$",
        description="Bot API base URL (a local Bot API server, or a test double)",
    )
    reports_notify: bool = Field(
        default=False,
        description="the data service also sends each scheduled report's summary (daily, "
        "weekly, monthly) through these alert channels: e-mail by SNS or SMTP, Telegram",
    )

    # --- the trading service (issue #10, item 1) ----------------------------------------------
    instance_id: str = Field(
        default="",
        pattern=_INSTANCE_ID_PATTERN,
        description="this copy of the trading service, on its leases and log lines; "
        "default: <hostname>-<pid>, computed at start",
    )
    broker_kind: BrokerKind = Field(
        default="simulator",
        description="broker when the trade config has no [broker] table; "
        "if both are given they must agree",
    )
    broker_url: str = Field(
        default=DEFAULT_SIMULATOR_URL,
        description="the simulator's address when the trade config names none",
    )
    feed_stale_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="a feed without a tick for this long while the market is open is stale: "
        "resubscribed, alerted, and new orders held until it is fresh",
    )
    live_confirm: Literal["", "yes", "no"] = Field(
        default="",
        description="yes: confirms live trading as `--live` does (a config saying "
        'mode = "live" still needs one or the other)',
    )
    # Application metrics for CloudWatch alarms (issue #13 item 4): embedded-metric-format lines
    # on standard output, which the awslogs driver turns into metrics. Off on a laptop.
    metrics_emf: bool = Field(
        default=False, description="write CloudWatch embedded-metric-format lines to stdout"
    )
    metrics_namespace: str = Field(
        default="AlgoTrading/dev",
        pattern=r"^[A-Za-z0-9_./#:-]{1,255}$",
        description="the CloudWatch namespace of those metrics (one per environment)",
    )
    account: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="the trading account's name on every order, trade and position row",
    )
    market_always_open: bool = Field(
        default=False,
        description="trade at any hour, without the calendar's sessions or an intraday "
        "square-off (a simulator started with --always-open: demos, `algo-trading run`)",
    )
    squareoff_lead_s: float = Field(
        default=300.0,
        ge=0,
        le=3600,
        description="the service squares intraday positions off this many seconds before the "
        "broker's cut-off, so the broker never does it (and never charges for it)",
    )
    order_poll_s: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="order-book poll period while the order-status WebSocket is down",
    )
    reconcile_every_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="reconciliation with the broker's books this often (and at start)",
    )
    drain_timeout_s: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="on SIGTERM, wait this long for the orders already handed to the broker",
    )
    leases: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="one lease per strategy in the database, so several instances never run "
        "one strategy twice: on, off, or auto (on with PostgreSQL, off with SQLite)",
    )
    lease_ttl_s: float = Field(
        default=10.0,
        ge=2,
        le=25,
        description="a strategy's lease lives this long unrenewed (renewed every fifth of it): "
        "a dead instance's strategies move within about 1.2 times this",
    )
    lease_max_owned: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="an instance's fair share of strategies (0: no limit); it takes more only "
        "once one has been free for ALGO_LEASE_OVERFLOW_GRACE_S, so several instances spread "
        "the strategies and a survivor still takes them all",
    )
    lease_overflow_grace_s: float = Field(
        default=3.0,
        ge=0,
        le=60,
        description="how long a strategy stays free before an instance at its share takes it",
    )
    confirm_window_s: float = Field(
        default=60.0,
        ge=1,
        le=600,
        description="an intent the broker's books show no trace of this long after it was "
        "sent is declared never placed (reconciliation); shorter only for brokers whose "
        "books show an order at once",
    )
    drain_cancel_open: bool = Field(
        default=False,
        description="on SIGTERM, cancel the open orders (default: keep them working)",
    )
    warm_up: bool = Field(
        default=True,
        description="feed the previous session's candles to the indicators at start",
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="the trading service's log lines"
    )
    log_file: str = Field(
        default="",
        description="append the service's log here instead of stderr (`algo-trading run` "
        "sets var/logs/trading.log)",
    )
    secrets_backend: Literal["env", "aws"] = Field(
        default="env",
        description="where credentials live: env (ALGO_ANGELONE_* variables) or aws "
        "(one Secrets Manager secret holding a JSON object)",
    )
    secrets_aws_secret_id: str = Field(default="", description="the secret's name or ARN")
    secrets_aws_region: str = Field(default="", description="the secret's AWS region")
    secrets_aws_endpoint_url: str = Field(
        default="", description="another Secrets Manager endpoint (tests, VPC endpoints)"
    )

    # --- the data service (issue #11): cache, object store, live capture --------------------
    redis_url: SecretStr = Field(
        default=SecretStr(""),
        description="redis://[:PASSWORD@]HOST:PORT/DB of the shared cache; empty: an "
        "in-process cache (quotes then reach no other process)",
    )
    cache_ttl_quote_s: float = Field(default=120.0, gt=0, le=86400, description="latest quotes")
    cache_ttl_candle_s: float = Field(default=8 * 3600.0, gt=0, le=7 * 86400, description="candles")
    cache_ttl_instruments_s: float = Field(
        default=26 * 3600.0, gt=0, le=7 * 86400, description="the instrument master"
    )
    objects_dir: Path | None = Field(
        default=None, description="local object store folder; default: <data_dir>/objects"
    )
    s3_bucket: str = Field(
        default="",
        pattern=r"^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$",
        description="S3 bucket of the object store; empty: the local folder",
    )
    s3_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._/=-]{0,200}$")
    s3_region: str = Field(default="", pattern=r"^([a-z]{2}(-[a-z]+)+-\d)?$")
    s3_endpoint_url: str = Field(
        default="",
        pattern=r"^(https?://[^/\s]+/?)?$",
        description="another S3 endpoint (tests: moto's server; MinIO; a VPC endpoint)",
    )
    s3_kms_key_id: str = Field(default="", description="SSE-KMS key; empty: SSE-S3 (AES256)")
    data_health_port: int = Field(
        default=9181, ge=0, le=65535, description="the data service's /healthz, /readyz, /metrics"
    )
    capture_instruments: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9:,&_. -]{0,20000}$",
        description="EXCHANGE:SYMBOL,... the data service captures live (up to 3,000)",
    )
    capture_mode: Literal["LTP", "QUOTE", "SNAP_QUOTE"] = Field(default="QUOTE")
    capture_flush_s: float = Field(default=5.0, gt=0, le=3600, description="flush ticks every")
    capture_flush_ticks: int = Field(default=50_000, ge=1, le=10_000_000, description="or every")
    log_dir: Path | None = Field(
        default=None, description="service log files archived nightly; default: <data_dir>/logs"
    )

    # --- the dashboard (issue #12) -------------------------------------------------------------
    dashboard_users: SecretStr = Field(
        default=SecretStr(""),
        description="dashboard logins, one NAME:ROLE:ARGON2HASH per line (or ';'-separated), "
        "as `algo-trading dashboard add-user` prints them; or `dashboard_users` in the secret "
        "store. Empty in dev: the demo logins",
    )
    dashboard_users_file: str = Field(
        default="", description="a file of NAME:ROLE:ARGON2HASH lines instead"
    )
    dashboard_session_ttl_s: float = Field(
        default=8 * 3600.0, gt=0, le=7 * 86400, description="a login lasts this long"
    )
    dashboard_lockout_failures: int = Field(
        default=5, ge=1, le=100, description="failed logins in a row before a lockout"
    )
    dashboard_lockout_s: float = Field(
        default=900.0, gt=0, le=86400, description="how long a locked-out name waits"
    )
    dashboard_health_url: str = Field(
        default="",
        pattern=r"^(https?://[^\s]+)?$",
        description="the trading service's /readyz, shown on System health",
    )
    dashboard_max_order_value: str = Field(
        default="1000000",
        pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$",
        description="rupees: the ticket refuses a larger order (the service checks its own "
        "risk limits again)",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_instance_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("instance_id"):
            data = dict(data)
            data["instance_id"] = default_instance_id()
        return data

    @model_validator(mode="before")
    @classmethod
    def _default_database(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("database_url"):
            data = dict(data)
            folder = Path(str(data.get("data_dir") or "var"))
            data["database_url"] = f"sqlite:///{(folder / DEFAULT_DATABASE_FILE).as_posix()}"
        return data

    @model_validator(mode="after")
    def _fold_database_password(self) -> Settings:
        password = self.database_password.get_secret_value()
        if not password:
            return self
        url = self.database_url.get_secret_value()
        scheme, sep, rest = url.partition("://")
        userinfo, at, host = rest.rpartition("@")
        if not scheme.startswith("postgresql") or not sep or not at or ":" in userinfo:
            raise ValueError(
                "ALGO_DATABASE_PASSWORD: set, but ALGO_DATABASE_URL is not a postgresql:// URL "
                "with a user and no password"
            )
        folded = f"{scheme}://{userinfo}:{quote(password, safe='')}@{host}"
        object.__setattr__(self, "database_url", SecretStr(folded))
        return self

    @property
    def objects_path(self) -> Path:
        return self.objects_dir if self.objects_dir is not None else self.data_dir / "objects"

    @property
    def logs_path(self) -> Path:
        return self.log_dir if self.log_dir is not None else self.data_dir / "logs"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get_secret_value().startswith("sqlite")

    @property
    def alert_smtp_recipients(self) -> list[str]:
        return [a.strip() for a in self.alert_smtp_to.split(",") if a.strip()]

    @property
    def live_confirmed(self) -> bool:
        return self.live_confirm == "yes"

    def is_set(self, field: str) -> bool:
        """Whether `field` came from the environment rather than its default."""
        return field in self.model_fields_set


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings() -> Settings:
    """Read the environment once; ConfigError on one line naming each variable at fault."""
    known = {env_name(name) for name in Settings.model_fields}
    # The environment secret store reads these itself; they are secrets, not settings.
    secrets = {env_name(name) for name in SECRET_NAMES.values()}
    known_or_secret = known | secrets
    unknown = sorted(
        k
        for k in os.environ
        if k.upper().startswith(ENV_PREFIX) and k.upper() not in known_or_secret
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
    check_alert_settings(settings)
    return settings


def check_alert_settings(settings: Settings) -> None:
    """A channel half set up is an error naming the variable to set (an alert that silently
    goes nowhere is the failure this guards against)."""
    _check_smtp(settings)
    if not settings.alert_sns_topic_arn:
        for name in ("alert_sns_region", "alert_sns_endpoint_url"):
            if getattr(settings, name):
                raise ConfigError(
                    f"{env_name('alert_sns_topic_arn')}: not set, but {env_name(name)} is"
                )
    token = settings.alert_telegram_bot_token.get_secret_value()
    if token and not settings.alert_telegram_chat_id:
        raise ConfigError(
            f"{env_name('alert_telegram_chat_id')}: not set, but the bot token is; "
            "set the chat the alerts go to"
        )
    if settings.profile != "prod":
        return
    if settings.alert_telegram_chat_id and not settings.alert_telegram_api_url.startswith(
        "https://"
    ):
        raise ConfigError(
            f"{env_name('alert_telegram_api_url')}: production sends the bot token over https only"
        )
    password = settings.alert_smtp_password.get_secret_value()
    if password and password.lower() in DEFAULT_PASSWORDS:
        raise ConfigError(
            f"{env_name('alert_smtp_password')}: production refuses a default password; "
            "use the one from the secret store"
        )


def _check_smtp(settings: Settings) -> None:
    parts = ("alert_smtp_user", "alert_smtp_from", "alert_smtp_to")
    if not settings.alert_smtp_host:
        stray = [env_name(name) for name in parts if getattr(settings, name)]
        if stray:
            raise ConfigError(f"{env_name('alert_smtp_host')}: not set, but {stray[0]} is")
        return
    if not settings.alert_smtp_from or not settings.alert_smtp_recipients:
        missing = "alert_smtp_from" if not settings.alert_smtp_from else "alert_smtp_to"
        raise ConfigError(
            f"{env_name(missing)}: e-mail alerts through {settings.alert_smtp_host} need a "
            "sender and at least one recipient"
        )
    addresses = [("alert_smtp_from", settings.alert_smtp_from)]
    addresses += [("alert_smtp_to", a) for a in settings.alert_smtp_recipients]
    for name, address in addresses:
        local, at, domain = address.partition("@")
        if not (local and at and domain) or any(c.isspace() for c in address):
            raise ConfigError(f"{env_name(name)}: {address!r} is not an e-mail address")
    if settings.alert_smtp_user and not settings.alert_smtp_starttls:
        raise ConfigError(
            f"{env_name('alert_smtp_starttls')}: a login to {settings.alert_smtp_host} without "
            "STARTTLS would send the password in clear"
        )


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
