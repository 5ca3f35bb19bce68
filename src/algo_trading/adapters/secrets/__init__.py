"""Secret stores: implementations of `engine.ports.SecretStore`."""

from algo_trading.adapters.secrets.env import EnvSecretStore

__all__ = ["EnvSecretStore"]
