"""Live trading needs three things (issue #10, item 2): `mode = "live"` in the file, `--live` or
ALGO_LIVE_CONFIRM=yes, and Angel One's credentials in the secret store. Each missing one stops
the start with one line saying which; credentials are checked for presence through the
SecretStore port only, never kept, never printed."""

from __future__ import annotations

from collections.abc import Mapping

from algo_trading.adapters.brokers.angelone.config import SECRET_NAMES
from algo_trading.adapters.secrets import AwsSecretsManagerStore, EnvSecretStore
from algo_trading.domain.errors import ConfigError
from algo_trading.engine.ports import SecretStore
from algo_trading.services.settings import Settings, env_name
from algo_trading.services.trade_config import TradeConfig

__all__ = ["check_live", "secret_store_for"]


def check_live(
    config: TradeConfig, *, live_flag: bool, settings: Settings, secrets: SecretStore
) -> None:
    """Refuse to go on unless a live config is confirmed and its credentials are there.

    Paper mode needs neither; `--live` on a paper config is refused too, since whoever typed it
    expected real orders. Credentials are asked of the secret store by name and dropped: only
    their presence is checked here (the broker adapter reads them when it logs in)."""
    if config.mode == "paper":
        if live_flag:
            raise ConfigError(
                f'{config.source}: mode = "paper" but --live was given; set mode = "live" to '
                "trade real money, or drop --live"
            )
        return
    if not (live_flag or settings.live_confirmed):
        raise ConfigError(
            f'{config.source}: mode = "live" needs confirmation: add --live or set '
            "ALGO_LIVE_CONFIRM=yes"
        )
    missing: dict[str, str] = {}
    for name in SECRET_NAMES.values():
        try:
            secrets.get(name)
        except ConfigError as exc:
            missing[name] = str(exc)
    if len(missing) == len(SECRET_NAMES) and len(set(missing.values())) == 1:
        # The same answer for every name is about the store itself (an AWS secret that does
        # not exist or may not be read), not about one credential: say that instead.
        raise ConfigError(
            f"{config.source}: live mode needs Angel One credentials, but the secret store "
            f"failed: {next(iter(missing.values()))}"
        )
    if missing:
        raise ConfigError(
            f"{config.source}: live mode needs Angel One credentials; missing from the secret "
            f"store {secrets!r}: {', '.join(missing)}"
        )


def secret_store_for(settings: Settings, environ: Mapping[str, str]) -> SecretStore:
    """The secret store the settings name (the composition root's choice, kept here until
    services/bootstrap.py exists). Building it makes no call."""
    if settings.secrets_backend == "env":
        return EnvSecretStore(environ)
    missing = [
        env_name(f)
        for f in ("secrets_aws_secret_id", "secrets_aws_region")
        if not getattr(settings, f)
    ]
    if missing:
        raise ConfigError(f"ALGO_SECRETS_BACKEND=aws needs {' and '.join(missing)}")
    return AwsSecretsManagerStore(
        settings.secrets_aws_secret_id,
        region=settings.secrets_aws_region,
        endpoint_url=settings.secrets_aws_endpoint_url or None,
    )
