"""Secret stores: implementations of `engine.ports.SecretStore`."""

from algo_trading.adapters.secrets.aws import AwsSecretsManagerStore, SecretStoreUnavailableError
from algo_trading.adapters.secrets.env import EnvSecretStore

__all__ = ["AwsSecretsManagerStore", "EnvSecretStore", "SecretStoreUnavailableError"]
